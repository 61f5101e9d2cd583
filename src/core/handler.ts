// The framework-neutral sign-out: takes a plain description of the request and its session, returns a plain answer.

import { channel } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import { clearingHeader, type CookieToClear } from './cookies.js';
import { checkCrossSite } from './cross-site.js';
import { describeValue, SignOutError, type SignOutErrorCode } from './errors.js';
import { createLogoutClient, type LogoutClient, type LogoutResult } from './logout-client.js';
import { negotiateFormat, type ResponseFormat } from './negotiate.js';
import {
  DEFAULT_UNAVAILABLE_RETRY_AFTER_S,
  FAILURE_CODE,
  ROWS,
  failureDetail,
  retryAfterSeconds,
  type UpstreamReport,
} from './outcomes.js';
import {
  resolveOptions,
  type ResolvedOptions,
  type SignOutEvent,
  type SignOutResult,
  type TokenInfo,
} from './options.js';
import { htmlPage, problemJson, type PageActions } from './render.js';
import { vetReturnTo } from './return-to.js';

/** How the adapter found the request's session. */
export type SessionBinding =
  | { readonly kind: 'none' }
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
  /** Path and query the request was made to, used as the retry form's action. */
  readonly url: string;
  readonly query: (name: string) => unknown;
  /** The parsed body (read on demand; `undefined` when there is none). */
  readonly body: () => Promise<unknown>;
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

/**
 * Diagnostics channels: every event on `sso-signout:event`, every typed error the route answers
 * or hands on with on `sso-signout:error`. Published only while someone subscribes.
 */
const eventChannel = channel('sso-signout:event');
const errorChannel = channel('sso-signout:error');

// Once per hook and process: a failing hook warns without flooding the log.
const warnedHooks = new Set<string>();
function warnOnce(hook: string, error: unknown): void {
  if (warnedHooks.has(hook)) return;
  warnedHooks.add(hook);
  process.emitWarning(
    `sso-signout: the \`${hook}\` hook threw (${error instanceof Error ? error.name : typeof error}); ignored.`,
    {
      code: 'SSO_SIGNOUT_HOOK_FAILED',
    },
  );
}

type ReadToken = { readonly kind: 'none' } | { readonly kind: 'token'; readonly token: TokenInfo };

// The default location: `session.sso = { accessToken, region }`. Wrong shapes are passed on as they
// are, so the client refuses them as an unusable token instead of crashing here.
function tokenFromSession(data: unknown): ReadToken {
  if (data === null || typeof data !== 'object') return { kind: 'none' };
  const sso = (data as { sso?: unknown }).sso;
  if (sso === undefined || sso === null) return { kind: 'none' };
  if (typeof sso !== 'object') return { kind: 'token', token: { accessToken: sso as string } };
  const { accessToken, region } = sso as { accessToken?: unknown; region?: unknown };
  if (accessToken === undefined || accessToken === null || accessToken === '') return { kind: 'none' };
  return {
    kind: 'token',
    token: { accessToken: accessToken as string, region: region === null ? undefined : (region as string | undefined) },
  };
}

function normaliseToken(value: unknown): ReadToken {
  if (value === undefined || value === null || value === '') return { kind: 'none' };
  if (typeof value === 'string') return { kind: 'token', token: { accessToken: value } };
  if (typeof value === 'object') return tokenFromSession({ sso: value });
  return { kind: 'token', token: { accessToken: value as string } };
}

/**
 * Creates the framework-neutral sign-out. Options are validated here, once.
 */
export function createSignOutCore<Req>(rawOptions: unknown): SignOutCore<Req> {
  const options = resolveOptions<Req>(rawOptions);
  const client = options.client ?? createLogoutClient(options.clientOptions);

  const listened = (): boolean => options.onEvent !== undefined || eventChannel.hasSubscribers;

  function emit(event: SignOutEvent): void {
    if (eventChannel.hasSubscribers) eventChannel.publish(event);
    if (options.onEvent === undefined) return;
    try {
      options.onEvent(event);
    } catch (error) {
      warnOnce('onEvent', error);
    }
  }

  async function destinationFor(request: SignOutRequest<Req>, appOrigin: () => string): Promise<string> {
    const field = options.returnToParam;
    if (field === undefined) return options.destination;
    const body = await request.body();
    let wanted: unknown =
      body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
    if (wanted === undefined) wanted = request.query(field);
    if (wanted === undefined || wanted === '') return options.destination;
    const decision = vetReturnTo(wanted, appOrigin(), options.allowedReturnToOrigins);
    if (decision.ok) return decision.location;
    emit({
      type: 'return_to_rejected',
      reason: decision.reason,
      value: (typeof wanted === 'string' ? wanted : describeValue(wanted)).slice(0, MAX_EVENT_VALUE),
    });
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
    request: SignOutRequest<Req>,
    fallback: () => [string, string],
  ): Promise<[string, string]> {
    if (options.render !== undefined) {
      try {
        const rendered = await options.render(result, request.native);
        if (typeof rendered === 'string') return [rendered, 'text/html; charset=utf-8'];
        if (rendered !== undefined) return [rendered.body, rendered.contentType];
      } catch (error) {
        warnOnce('render', error);
      }
    }
    return fallback();
  }

  // Pre-check refusals: nothing was called, nothing was changed.
  async function refuse(
    request: SignOutRequest<Req>,
    code: 'method_not_allowed' | 'cross_site_request',
    format: ResponseFormat,
    reason: string | undefined,
    detail: string,
  ): Promise<SignOutAnswer> {
    const row = ROWS[code];
    const error = new SignOutError(code, { status: row.status, title: row.title, detail, signedOut: false });
    emit({ type: 'refused', code, status: row.status, method: request.method, reason });
    if (errorChannel.hasSubscribers) errorChannel.publish(error);
    const headers = baseHeaders();
    if (code === 'method_not_allowed') headers.push(['allow', options.allowHeader]);
    return answerFor(request, error, headers, format, options.destination, undefined);
  }

  async function answerFor(
    request: SignOutRequest<Req>,
    error: SignOutError,
    headers: [string, string][],
    format: ResponseFormat,
    redirectTo: string,
    upstream: UpstreamReport | undefined,
  ): Promise<SignOutAnswer> {
    if (error.retryAfter !== undefined) headers.push(['retry-after', String(error.retryAfter)]);
    const result: SignOutResult = {
      code: error.code,
      status: error.status,
      signedOut: error.signedOut,
      upstream: upstream ?? 'not_called',
      redirectTo,
      format,
      retryAfter: error.retryAfter,
      requestId: error.requestId,
      error,
    };
    if (options.delegateErrors) {
      error.headers = headerRecord(headers);
      return { status: error.status, headers, body: undefined, delegate: error, result };
    }
    const kept = !error.signedOut && upstream !== undefined && upstream !== 'not_called';
    const actions: PageActions = {
      continueTo: error.signedOut ? redirectTo : undefined,
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
    const [body, contentType] = await renderBody(result, request, () =>
      format === 'json'
        ? [problemJson(error, options.problemTypeBase, redirectTo), 'application/problem+json']
        : [htmlPage(error.title, error.message, actions), 'text/html; charset=utf-8'],
    );
    headers.push(['content-type', contentType]);
    return { status: error.status, headers, body, delegate: undefined, result };
  }

  function cookiesOf(session: SessionBinding): CookieToClear[] {
    const list: CookieToClear[] = [];
    if (session.kind === 'supported') list.push(...session.cookies());
    if (options.sessionCookieName !== undefined && !list.some((c) => c.name === options.sessionCookieName)) {
      list.push({ name: options.sessionCookieName });
    }
    list.push(...options.clearCookies);
    return list;
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
      attempts: logout?.attempts ?? 0,
      durationMs: logout?.durationMs ?? 0,
      requestId: logout?.requestId,
      shared: logout?.shared ?? false,
    };
  }

  function reported(answer: SignOutAnswer, logout: LogoutResult | undefined): SignOutAnswer {
    if (listened()) emit(signOutEvent(answer.result, logout));
    if (answer.result.error !== undefined && errorChannel.hasSubscribers) errorChannel.publish(answer.result.error);
    return answer;
  }

  function sessionFailure(
    code: 'session_unsupported' | 'session_error',
    detail: string,
    cause: unknown,
    logout?: LogoutResult,
  ): SignOutError {
    const row = ROWS[code];
    return new SignOutError(code, {
      status: row.status,
      title: row.title,
      detail,
      signedOut: false,
      requestId: logout?.requestId,
      upstreamStatus: logout?.upstreamStatus,
      cause,
    });
  }

  async function handle(request: SignOutRequest<Req>): Promise<SignOutAnswer> {
    const format = negotiateFormat(request.headers);
    const method = request.method.toUpperCase();
    if (!options.methods.has(method)) {
      return refuse(request, 'method_not_allowed', format, undefined, `Sign out with ${options.allowHeader}.`);
    }
    let appOrigin: string | undefined;
    const origin = (): string => (appOrigin ??= request.origin() ?? PLACEHOLDER_ORIGIN);
    const crossSite = checkCrossSite(request.headers, origin, options.allowedOrigins);
    if (!crossSite.ok) {
      return refuse(
        request,
        'cross_site_request',
        format,
        crossSite.reason,
        'Sign-out requests from other sites are refused.',
      );
    }
    const redirectTo = await destinationFor(request, origin);
    const session = request.session;

    // Work out how the session ends before anything is called, so a setup that cannot end it
    // changes nothing.
    let end: (() => Promise<void>) | undefined;
    if (options.endSession !== undefined) {
      const custom = options.endSession;
      end = async () => {
        await custom(request.native);
      };
    } else if (session.kind === 'supported') {
      end = session.end;
    } else if (session.kind === 'unknown') {
      const error = sessionFailure(
        'session_unsupported',
        'This app keeps sessions in a way sso-signout cannot end by itself; give the `endSession` option.',
        undefined,
      );
      return reported(await answerFor(request, error, baseHeaders(), format, redirectTo, undefined), undefined);
    }

    let read: ReadToken;
    try {
      read =
        options.getToken === undefined
          ? tokenFromSession(session.kind === 'none' ? undefined : session.data)
          : normaliseToken(await options.getToken(request.native));
    } catch (cause) {
      const error = sessionFailure('session_error', 'The sign-in token could not be read from the session.', cause);
      return reported(await answerFor(request, error, baseHeaders(), format, redirectTo, undefined), undefined);
    }

    const logout = read.kind === 'token' ? await client.logout(read.token) : undefined;
    const upstream = logout?.outcome ?? 'skipped';
    const succeeded = upstream === 'revoked' || upstream === 'skipped' || upstream === 'rejected';
    const failureCode: SignOutErrorCode | undefined =
      upstream === 'revoked' || upstream === 'skipped' ? undefined : FAILURE_CODE[upstream];
    let endLocal = succeeded || options.endSessionOnFailure;

    const headers = baseHeaders();
    const failureFor = (signedOut: boolean): SignOutError | undefined => {
      if (failureCode === undefined || logout === undefined) return undefined;
      const row = ROWS[failureCode];
      const retryAfter =
        failureCode === 'sso_throttled'
          ? retryAfterSeconds(logout.retryAfterMs, 1)
          : failureCode === 'sso_unavailable'
            ? retryAfterSeconds(logout.retryAfterMs, DEFAULT_UNAVAILABLE_RETRY_AFTER_S)
            : undefined;
      return new SignOutError(failureCode, {
        status: row.status,
        title: row.title,
        detail: failureDetail(logout, failureCode, signedOut),
        signedOut,
        retryAfter,
        requestId: logout.requestId,
        upstreamStatus: logout.upstreamStatus,
        cause: logout.cause,
      });
    };

    if (endLocal && !succeeded && read.kind === 'token' && options.onUnrevokedToken !== undefined) {
      // The token outlives the session: hand it over first, and keep the session if that fails.
      const pending = failureFor(true) as SignOutError;
      try {
        await options.onUnrevokedToken(read.token, {
          code: pending.code,
          status: pending.status,
          signedOut: true,
          upstream,
          redirectTo,
          format,
          retryAfter: pending.retryAfter,
          requestId: pending.requestId,
          error: pending,
        });
      } catch (cause) {
        warnOnce('onUnrevokedToken', cause);
        endLocal = false;
      }
    }

    if (endLocal) {
      const cookies = cookiesOf(session);
      try {
        await end?.();
      } catch (cause) {
        const error = sessionFailure(
          'session_error',
          upstream === 'revoked'
            ? 'The SSO session was ended, but this app’s session could not be ended.'
            : 'This app’s session could not be ended.',
          cause,
          logout,
        );
        return reported(await answerFor(request, error, headers, format, redirectTo, upstream), logout);
      }
      for (const cookie of cookies) headers.push(['set-cookie', clearingHeader(cookie)]);
      if (options.clearSiteData !== undefined) headers.push(['clear-site-data', options.clearSiteData]);
    }

    const failure = failureFor(endLocal);
    let answer: SignOutAnswer;
    if (failure !== undefined) {
      answer = await answerFor(request, failure, headers, format, redirectTo, upstream);
    } else {
      const result: SignOutResult = {
        code: 'signed_out',
        status: format === 'json' ? 200 : 303,
        signedOut: true,
        upstream,
        redirectTo,
        format,
        retryAfter: undefined,
        requestId: logout?.requestId,
        error: undefined,
      };
      if (format === 'json') {
        headers.push(['content-type', 'application/json; charset=utf-8']);
        answer = {
          status: 200,
          headers,
          body: JSON.stringify({ signedOut: true, upstream, redirectTo }),
          delegate: undefined,
          result,
        };
      } else {
        headers.push(['location', redirectTo], ['content-type', 'text/plain; charset=utf-8']);
        answer = {
          status: 303,
          headers,
          body: `Signed out. Redirecting to ${redirectTo}`,
          delegate: undefined,
          result,
        };
      }
    }
    return reported(answer, logout);
  }

  return { handle, client, options };
}
