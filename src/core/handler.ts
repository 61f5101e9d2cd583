// The framework-neutral sign-out: takes a plain description of the request and its session, returns a plain answer.

import { channel } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import { clearingHeader, type CookieToClear } from './cookies.js';
import { checkCrossSite } from './cross-site.js';
import { describeValue, SignOutError, type SignOutErrorCode } from './errors.js';
import { createLogoutClient, type LogoutClient, type LogoutResult } from './logout-client.js';
import { negotiateFormat, type ResponseFormat } from './negotiate.js';
import { decide, endsSession, ROWS, type Decision, type UpstreamReport } from './outcomes.js';
import {
  resolveOptions,
  type ResolvedOptions,
  type SignOutEvent,
  type SignOutResult,
  type TokenInfo,
} from './options.js';
import { htmlPage, problemJson, type PageActions } from './render.js';
import { vetReturnTo } from './return-to.js';
import { printable } from './scrub.js';
import { createWarner, type Warn } from './warnings.js';

/** How the adapter found the request's session. */
export type SessionBinding =
  /** No session middleware ran before the route; `detail` says what the adapter saw. */
  | { readonly kind: 'none'; readonly detail?: string | undefined }
  /** A session object from a middleware the adapter does not know how to end. */
  | { readonly kind: 'unknown'; readonly data: unknown }
  | {
      readonly kind: 'supported';
      readonly data: unknown;
      /** The cookies that carry the session, with the attributes they were set with. */
      readonly cookies: () => readonly CookieToClear[];
      readonly end: () => Promise<void>;
    };

/** The request as an adapter describes it to the core. */
export interface SignOutRequest<Req> {
  readonly native: Req;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /**
   * The app's own origin (`scheme://host[:port]`), trusting proxy headers only where the app does.
   * Asked for only when a check needs it.
   */
  readonly origin: () => string | undefined;
  /**
   * When the request carries `X-Forwarded-Proto`/`-Host` that the app does not trust: how to trust
   * them in this framework (e.g. `app.set('trust proxy', …)`). Undefined otherwise.
   */
  readonly untrustedProxyHint?: () => string | undefined;
  /** Path and query the request was made to, used as the retry form's action. */
  readonly url: string;
  readonly query: (name: string) => unknown;
  /**
   * The parsed body (read on demand; `undefined` when there is none), read within `timeoutMs` when
   * the adapter has to read it itself.
   */
  readonly body: (timeoutMs: number) => Promise<unknown>;
  readonly session: SessionBinding;
}

/** The answer the adapter sends, or hands on (`delegate`) in error-delegation mode. */
export interface SignOutAnswer {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string | undefined;
  readonly delegate: SignOutError | undefined;
  readonly result: SignOutResult;
}

export interface SignOutCore<Req> {
  handle(request: SignOutRequest<Req>): Promise<SignOutAnswer>;
  /**
   * The answer to a request the route cannot serve as set up (mounted in the wrong framework): a
   * `500` that says what to fix. Nothing is read, called or changed.
   */
  misconfigured(code: 'wrong_adapter', detail: string, headers: IncomingHttpHeaders, native: unknown): SignOutAnswer;
  /** This route's once-only process warnings. */
  readonly warn: Warn;
  readonly client: LogoutClient;
  readonly options: ResolvedOptions<Req>;
}

function headerRecord(headers: readonly (readonly [string, string])[]): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const existing = record[name];
    if (existing === undefined) record[name] = name === 'set-cookie' ? [value] : value;
    else record[name] = Array.isArray(existing) ? [...existing, value] : `${existing}, ${value}`;
  }
  return record;
}

// Relative paths are vetted against this when the request names no host: only the path is kept.
const PLACEHOLDER_ORIGIN = 'http://app.invalid';
const MAX_EVENT_VALUE = 200;
// A content type an app's render function returns must be one a header can carry.
const HEADER_VALUE = /^[\t\x20-\x7e]+$/;

/**
 * Diagnostics channels: every event on `sso-signout:event`, every typed error the route answers
 * or hands on with on `sso-signout:error`. Published only while someone subscribes.
 */
const eventChannel = channel('sso-signout:event');
const errorChannel = channel('sso-signout:error');

/** Every string of an event escaped and bounded: an event is a log line waiting to happen. */
function printableEvent(event: SignOutEvent): SignOutEvent {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    clean[key] = typeof value === 'string' ? printable(value, MAX_EVENT_VALUE) : value;
  }
  return clean as unknown as SignOutEvent;
}

type ReadToken = { readonly kind: 'none' } | { readonly kind: 'token'; readonly token: TokenInfo };

/**
 * A stored sign-in as the client takes it. Anything but a string token or an object with one is
 * passed on as it is, for the client to refuse as unusable (`not_sent`, a clear 500): a sign-in of
 * the wrong shape (`{ access_token }`, `{}`, `['…']`) must not pass for "no token" and skip the
 * revocation without a word.
 */
function signInOf(value: unknown): ReadToken {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const { accessToken, region } = value as { accessToken?: unknown; region?: unknown };
    return {
      kind: 'token',
      token: {
        accessToken: accessToken as string,
        region: region === null ? undefined : (region as string | undefined),
      },
    };
  }
  return { kind: 'token', token: { accessToken: value as string } };
}

// The default location: `session.sso = { accessToken, region }` (or the token alone). Only a
// session with nothing at `sso` (absent or null) holds no token.
function tokenFromSession(data: unknown): ReadToken {
  if (data === null || typeof data !== 'object') return { kind: 'none' };
  const sso = (data as { sso?: unknown }).sso;
  return sso === undefined || sso === null ? { kind: 'none' } : signInOf(sso);
}

// What `getToken` returned: undefined or null for no token.
function normaliseToken(value: unknown): ReadToken {
  return value === undefined || value === null ? { kind: 'none' } : signInOf(value);
}

const MISSING_SESSION_DETAIL =
  'No session was found on the request: the session middleware (express-session, cookie-session, koa-session) must be mounted before the sign-out route, or its store could not load the session. Nothing was changed. (An app without such a middleware gives both `getToken` and `endSession`.)';

/**
 * Creates the framework-neutral sign-out. Options are validated here, once.
 */
export function createSignOutCore<Req>(rawOptions: unknown): SignOutCore<Req> {
  const options = resolveOptions<Req>(rawOptions);
  const client = options.client ?? createLogoutClient(options.clientOptions);
  const warn = createWarner();

  const listened = (): boolean => options.onEvent !== undefined || eventChannel.hasSubscribers;

  function hookFailed(hook: string, error: unknown): void {
    warn(
      'SSO_SIGNOUT_HOOK_FAILED',
      `the \`${hook}\` hook threw (${error instanceof Error ? error.name : typeof error}); ignored.`,
      hook,
    );
  }

  function emit(raw: SignOutEvent, native: Req): void {
    const event = printableEvent(raw);
    if (eventChannel.hasSubscribers) eventChannel.publish(event);
    if (options.onEvent === undefined) return;
    try {
      // An async hook returns a promise: its rejection must not go unhandled (that ends the process).
      const returned = options.onEvent(event, native);
      if (returned instanceof Promise) {
        returned.catch((error: unknown) => {
          hookFailed('onEvent', error);
        });
      }
    } catch (error) {
      hookFailed('onEvent', error);
    }
  }

  function publishError(error: SignOutError | undefined): void {
    if (error !== undefined && errorChannel.hasSubscribers) errorChannel.publish(error);
  }

  async function destinationFor(request: SignOutRequest<Req>, appOrigin: () => string): Promise<string> {
    const field = options.returnToParam;
    if (field === undefined) return options.destination;
    const body = await request.body(client.timeoutMs);
    let wanted: unknown =
      body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
    if (wanted === undefined) wanted = request.query(field);
    if (wanted === undefined || wanted === '') return options.destination;
    const decision = vetReturnTo(wanted, appOrigin(), options.allowedReturnToOrigins);
    if (decision.ok) return decision.location;
    emit(
      {
        type: 'return_to_rejected',
        reason: decision.reason,
        value: typeof wanted === 'string' ? wanted : describeValue(wanted),
      },
      request.native,
    );
    return options.destination;
  }

  function baseHeaders(): [string, string][] {
    return [
      ['cache-control', 'no-store'],
      ['vary', 'Accept'],
    ];
  }

  async function renderBody(
    result: SignOutResult,
    native: Req,
    fallback: () => [string, string],
  ): Promise<[string, string]> {
    if (options.render !== undefined) {
      try {
        const rendered = await options.render(result, native);
        if (typeof rendered === 'string') return [rendered, 'text/html; charset=utf-8'];
        if (rendered !== undefined) {
          const { body, contentType } = rendered as { body?: unknown; contentType?: unknown };
          if (typeof body === 'string' && typeof contentType === 'string' && HEADER_VALUE.test(contentType)) {
            return [body, contentType];
          }
          throw new TypeError('render returned a body without a string body and a valid content type');
        }
      } catch (error) {
        hookFailed('render', error);
      }
    }
    return fallback();
  }

  function typedError(decision: Decision, logout: LogoutResult | undefined, cause?: unknown): SignOutError {
    return new SignOutError(decision.code as SignOutErrorCode, {
      status: decision.status,
      title: decision.title,
      detail: decision.detail,
      signedOut: decision.signedOut,
      retryAfter: decision.retryAfter,
      requestId: logout?.requestId,
      upstreamStatus: logout?.upstreamStatus,
      cause: cause ?? logout?.cause,
    });
  }

  /** The one place a SignOutResult is made. */
  function resultOf(
    decision: Decision,
    upstream: UpstreamReport,
    redirectTo: string,
    format: ResponseFormat,
    logout: LogoutResult | undefined,
    error: SignOutError | undefined,
  ): SignOutResult {
    return {
      code: decision.code,
      status: decision.status,
      signedOut: decision.signedOut,
      upstream,
      redirectTo,
      format,
      retryAfter: decision.retryAfter,
      requestId: logout?.requestId,
      error,
    };
  }

  /** The answer for a decision: a redirect or JSON for the success rows, a page or problem otherwise. */
  async function answerFor(
    request: SignOutRequest<Req>,
    decision: Decision,
    context: {
      readonly headers: [string, string][];
      readonly format: ResponseFormat;
      readonly redirectTo: string;
      readonly upstream: UpstreamReport;
      readonly logout: LogoutResult | undefined;
      readonly cause?: unknown;
    },
  ): Promise<SignOutAnswer> {
    const { headers, format, redirectTo, upstream, logout } = context;
    if (decision.code === 'signed_out') {
      const result = resultOf(decision, upstream, redirectTo, format, logout, undefined);
      if (format === 'json') {
        headers.push(['content-type', 'application/json; charset=utf-8']);
        const body = JSON.stringify({ signedOut: true, upstream, redirectTo });
        return { status: decision.status, headers, body, delegate: undefined, result };
      }
      headers.push(['location', redirectTo], ['content-type', 'text/plain; charset=utf-8']);
      const body = `Signed out. Redirecting to ${redirectTo}`;
      return { status: decision.status, headers, body, delegate: undefined, result };
    }
    const error = typedError(decision, logout, context.cause);
    if (error.retryAfter !== undefined) headers.push(['retry-after', String(error.retryAfter)]);
    const result = resultOf(decision, upstream, redirectTo, format, logout, error);
    if (options.delegateErrors) {
      error.headers = headerRecord(headers);
      return { status: error.status, headers, body: undefined, delegate: error, result };
    }
    const kept = !error.signedOut && upstream !== 'not_called' && upstream !== 'skipped';
    const actions: PageActions = {
      continueTo: error.signedOut ? redirectTo : undefined,
      home: options.appHome,
      retryAfter: error.retryAfter,
      retry:
        kept && options.methods.has('POST')
          ? {
              // One leading slash: a request-target like `//host/signout` must not become a
              // protocol-relative form action.
              action: `/${request.url.replace(/^[/\\]+/, '')}`,
              returnTo: redirectTo === options.destination ? undefined : redirectTo,
              field: options.returnToParam ?? 'return_to',
            }
          : undefined,
    };
    const [body, contentType] = await renderBody(result, request.native, () =>
      format === 'json'
        ? [problemJson(error, options.problemTypeBase, redirectTo), 'application/problem+json']
        : [htmlPage(error.title, error.message, actions), 'text/html; charset=utf-8'],
    );
    headers.push(['content-type', contentType]);
    return { status: error.status, headers, body, delegate: undefined, result };
  }

  /** A row with no upstream call: refusals and setups that cannot work. Nothing was changed. */
  function localDecision(code: SignOutErrorCode, detail: string): Decision {
    const row = ROWS[code];
    return { code, status: row.status, signedOut: false, retryAfter: undefined, title: row.title, detail };
  }

  function signOutEvent(result: SignOutResult, logout: LogoutResult | undefined): SignOutEvent {
    return {
      type: 'signout',
      code: result.code,
      status: result.status,
      signedOut: result.signedOut,
      upstream: result.upstream,
      upstreamStatus: logout?.upstreamStatus,
      errorName: logout?.errorName,
      reason: logout?.reason,
      causeCode: logout?.cause?.code,
      attempts: logout?.attempts ?? 0,
      durationMs: Math.round((logout?.durationMs ?? 0) * 10) / 10,
      requestId: logout?.requestId,
      shared: logout?.shared ?? false,
    };
  }

  function reported(answer: SignOutAnswer, logout: LogoutResult | undefined, native: Req): SignOutAnswer {
    if (listened()) emit(signOutEvent(answer.result, logout), native);
    publishError(answer.result.error);
    return answer;
  }

  // Step 1: checks before anything changes.
  function preCheck(request: SignOutRequest<Req>, origin: () => string): Decision | undefined {
    const method = request.method.toUpperCase();
    if (!options.methods.has(method)) {
      const event = { type: 'refused', code: 'method_not_allowed', status: 405, method: request.method } as const;
      emit({ ...event, reason: undefined, origin: undefined, expectedOrigin: undefined }, request.native);
      return localDecision('method_not_allowed', `Sign out with ${options.allowHeader}.`);
    }
    const crossSite = checkCrossSite(request.headers, origin, options.allowedOrigins);
    if (!crossSite.ok) {
      const sent: string | string[] | undefined = request.headers.origin;
      emit(
        {
          type: 'refused',
          code: 'cross_site_request',
          status: 403,
          method: request.method,
          reason: crossSite.reason,
          origin: typeof sent === 'string' ? sent : sent?.[0],
          expectedOrigin: origin(),
        },
        request.native,
      );
      return localDecision('cross_site_request', 'Sign-out requests from other sites are refused.');
    }
    return undefined;
  }

  // Step 3: how the session ends, worked out before anything is called, so a setup that cannot end
  // it changes nothing.
  function sessionEnding(
    request: SignOutRequest<Req>,
  ): { readonly end: () => Promise<void> } | { readonly refused: Decision } {
    const session = request.session;
    if (session.kind === 'none' && (options.endSession === undefined || options.getToken === undefined)) {
      const detail = session.detail === undefined ? MISSING_SESSION_DETAIL : `${session.detail} Nothing was changed.`;
      warn('SSO_SIGNOUT_SESSION_MISSING', `no session on a sign-out request. ${detail}`);
      return { refused: localDecision('session_missing', detail) };
    }
    if (options.endSession !== undefined) {
      const custom = options.endSession;
      return {
        end: async () => {
          await custom(request.native);
        },
      };
    }
    if (session.kind === 'supported') return { end: session.end };
    return {
      refused: localDecision(
        'session_unsupported',
        'This app keeps sessions in a way sso-signout cannot end by itself; give the `endSession` option.',
      ),
    };
  }

  // Step 4: the token, from the app's getter or the session.
  async function readToken(request: SignOutRequest<Req>): Promise<ReadToken> {
    if (options.getToken !== undefined) return normaliseToken(await options.getToken(request.native));
    return tokenFromSession(request.session.kind === 'none' ? undefined : request.session.data);
  }

  /**
   * The `Set-Cookie` values that clear the session's cookies and the app's listed ones, written
   * before the session ends: nothing may fail after it has. A detected cookie whose name or
   * attributes cannot be written (read from a hostile `Cookie` header, say) is skipped: no session
   * middleware could have set it.
   */
  function clearingHeaders(session: SessionBinding): string[] {
    const list: CookieToClear[] = [];
    if (session.kind === 'supported') list.push(...session.cookies());
    if (options.sessionCookieName !== undefined && !list.some((c) => c.name === options.sessionCookieName)) {
      list.push({ name: options.sessionCookieName });
    }
    const written: string[] = [];
    for (const cookie of list) {
      try {
        written.push(clearingHeader(cookie));
      } catch {
        // skipped, see above
      }
    }
    // The app's own list was validated when the route was created.
    for (const cookie of options.clearCookies) written.push(clearingHeader(cookie));
    return written;
  }

  async function handle(request: SignOutRequest<Req>): Promise<SignOutAnswer> {
    const format = negotiateFormat(request.headers);
    let appOrigin: string | undefined;
    const origin = (): string => {
      if (appOrigin === undefined) {
        appOrigin = request.origin() ?? PLACEHOLDER_ORIGIN;
        const hint = request.untrustedProxyHint?.();
        if (hint !== undefined) {
          warn(
            'SSO_SIGNOUT_UNTRUSTED_FORWARDED',
            `a sign-out request carries X-Forwarded-Proto/-Host from a proxy the app does not trust, so its own origin is taken as ${appOrigin} and browsers behind that proxy are refused as cross-site. If the app runs behind that proxy, trust it: ${hint}.`,
          );
        }
      }
      return appOrigin;
    };
    const headers = baseHeaders();
    const local = (decision: Decision, redirectTo: string, cause?: unknown): Promise<SignOutAnswer> =>
      answerFor(request, decision, { headers, format, redirectTo, upstream: 'not_called', logout: undefined, cause });

    const refusal = preCheck(request, origin);
    if (refusal !== undefined) {
      if (refusal.code === 'method_not_allowed') headers.push(['allow', options.allowHeader]);
      const answer = await local(refusal, options.destination);
      publishError(answer.result.error);
      return answer;
    }

    // Step 2: where the browser goes next.
    const redirectTo = await destinationFor(request, origin);

    const ending = sessionEnding(request);
    if ('refused' in ending) return reported(await local(ending.refused, redirectTo), undefined, request.native);

    let read: ReadToken;
    try {
      read = await readToken(request);
    } catch (cause) {
      const decision = localDecision('session_error', 'The sign-in token could not be read from the session.');
      return reported(await local(decision, redirectTo, cause), undefined, request.native);
    }

    // Step 5: revoke.
    const logout = read.kind === 'token' ? await client.logout(read.token) : undefined;
    const upstream: UpstreamReport = logout?.outcome ?? 'skipped';
    if (upstream === 'not_sent') {
      warn(
        'SSO_SIGNOUT_TOKEN_UNUSABLE',
        `a sign-in stored in a session could not be sent to IAM Identity Center (${logout?.reason ?? 'unknown'}): check what the app stores as the access token and region.`,
      );
    }

    // Step 6: whether the local session ends, and with what.
    let endLocal = endsSession(upstream, options.endSessionOnFailure);
    const failed = upstream !== 'revoked' && upstream !== 'skipped' && upstream !== 'rejected';
    if (endLocal && failed && read.kind === 'token' && options.onUnrevokedToken !== undefined) {
      // The token outlives the session: hand it over first, and keep the session if that fails.
      const pending = decide(upstream, logout, true, format);
      const error = typedError(pending, logout);
      try {
        await options.onUnrevokedToken(read.token, resultOf(pending, upstream, redirectTo, format, logout, error));
      } catch (cause) {
        hookFailed('onUnrevokedToken', cause);
        endLocal = false;
      }
    }

    // Step 7: end the session and clear its cookies.
    if (endLocal) {
      const cookies = clearingHeaders(request.session);
      try {
        await ending.end();
      } catch (cause) {
        const decision = localDecision(
          'session_error',
          upstream === 'revoked'
            ? 'The SSO session was ended, but this app’s session could not be ended.'
            : 'This app’s session could not be ended.',
        );
        const answer = await answerFor(request, decision, { headers, format, redirectTo, upstream, logout, cause });
        return reported(answer, logout, request.native);
      }
      for (const cookie of cookies) headers.push(['set-cookie', cookie]);
      if (options.clearSiteData !== undefined) headers.push(['clear-site-data', options.clearSiteData]);
    }

    // Step 8: answer.
    const decision = decide(upstream, logout, endLocal, format);
    const answer = await answerFor(request, decision, { headers, format, redirectTo, upstream, logout });
    return reported(answer, logout, request.native);
  }

  function misconfigured(
    code: 'wrong_adapter',
    detail: string,
    requestHeaders: IncomingHttpHeaders,
    native: unknown,
  ): SignOutAnswer {
    const format = negotiateFormat(requestHeaders);
    const decision = localDecision(code, detail);
    const error = typedError(decision, undefined);
    const headers = baseHeaders();
    const [body, contentType] =
      format === 'json'
        ? [problemJson(error, options.problemTypeBase, undefined), 'application/problem+json']
        : [htmlPage(error.title, error.message, { home: options.appHome }), 'text/html; charset=utf-8'];
    headers.push(['content-type', contentType]);
    const result = resultOf(decision, 'not_called', options.destination, format, undefined, error);
    // The hook gets what the framework handed over: not the request type the route was made for.
    if (listened()) emit(signOutEvent(result, undefined), native as Req);
    publishError(error);
    return { status: error.status, headers, body, delegate: undefined, result };
  }

  return { handle, misconfigured, warn, client, options };
}
