// The framework-neutral sign-out: a plain description of the request and its session in, a plain
// answer out, in named steps: pre-checks, how the session ends, token, revoke, end the session,
// destination, decide, answer.

import type { IncomingHttpHeaders } from 'node:http';
import { describeSecret, describeValue, isInstance } from '../errors.js';
import { createLogoutClient, type LogoutClient, type LogoutResult } from '../logout/client.js';
import { bySweep, DeadlineSweep } from '../logout/deadlines.js';
import { createWarner, type Warn } from '../warnings.js';
import { Answers, baseHeaders, UnusableHookResult, type AnswerContext } from './answers.js';
import { clearingHeader, createCookieClearer, sentMoreThanOnce, type CookieToClear } from './cookies.js';
import { backgroundRequest, checkCrossSite, normaliseOrigin, originOf } from './cross-site.js';
import { RouteEvents, signOutEvent } from './events.js';
import { negotiateFormat, type ResponseFormat } from './negotiate.js';
import { decide, endsSession, localDecision, sessionNotEnded, type Decision, type UpstreamReport } from './outcomes.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import {
  firstValue,
  type AnswerHeader,
  type SessionBinding,
  type SessionCookie,
  type SignOutAnswer,
  type SignOutCore,
  type SignOutRequest,
} from './request.js';
import { parseBody, type MaybePromise, type RequestBody } from './body.js';
import { BoundedMemo } from './memo.js';
import { vetReturnTo, type ReturnToDecision } from './return-to.js';
import { signInElsewhere, tokenFromGetter, tokenFromSession, type ReadToken } from './stored-sign-in.js';
import type { TokenInfo } from '../token.js';
import type { RevocationQueue } from '../revocation/queue.js';
import { endElsewhere, type Elsewhere, type EverywhereReport } from '../everywhere/elsewhere.js';
import { kindOfThrown, printable, withoutToken } from '../scrub.js';
import { guardBypassed } from '../session-guard.js';

// Relative paths are vetted against this when the request names no host: only the path is kept.
const PLACEHOLDER_ORIGIN = 'http://app.invalid';

const MISSING_SESSION_DETAIL =
  'No session was found on the request: the session middleware (express-session, cookie-session, koa-session, @fastify/session, @fastify/secure-session) must be mounted before the sign-out route, with a cookie `path` that covers the route’s (express-session does not run at all on a path outside its cookie’s), or its store could not load the session. Nothing was changed. (An app without such a middleware gives both `getToken` and `endSession`.)';

/** What one sign-out knows once its pre-checks have passed. */
interface Exchange<Req> {
  readonly request: SignOutRequest<Req>;
  readonly format: ResponseFormat;
  readonly headers: AnswerHeader[];
  readonly origin: () => string;
  /** Where the browser goes next, worked out once (see `destination`). */
  redirectTo?: MaybePromise<string>;
  /** The token read, once read: kept out of what an app's error says. */
  token: string | undefined;
}

function formatFor(accept: string): ResponseFormat {
  return negotiateFormat({ accept });
}

/** The app's origin for a `protocol://host` key. */
function appOriginOf(key: string): string {
  const at = key.indexOf('://');
  return originOf(key.slice(0, at), key.slice(at + 3)) ?? PLACEHOLDER_ORIGIN;
}

// Bodies longer than this are parsed every time: what is remembered stays small.
const MAX_REMEMBERED_BODY = 1024;

/** A body keyed `type \n text`, parsed; null when it is malformed. */
function parseKeyedBody(key: string): object | null {
  const at = key.indexOf('\n');
  return parseBody({ type: key.slice(0, at) as 'form' | 'json', text: key.slice(at + 1) }) ?? null;
}

/** A stored token as text, where it is one (a sign-in of the wrong shape holds anything). */
function textOf(token: unknown): string | undefined {
  return typeof token === 'string' ? token : undefined;
}

function normaliseOrNull(sent: string): string | null {
  return normaliseOrigin(sent) ?? null;
}

/** Tells the session middleware that the route changed nothing (see `SessionBinding.unchanged`). */
function refusedHere(session: SessionBinding): void {
  if (session.kind === 'supported') session.unchanged?.();
}

/** How the session ends (`end()`, called as a method: a session binding may be one), or why it cannot. */
type Ending = SessionEnd | { readonly refused: Decision };
type SessionEnd = { end(): Promise<void>; abandoned?(): void };

/** The session store, or a hook of the app's, did not answer within what the route waits (`timeoutMs`). */
class NoAnswerInTime extends Error {
  override readonly name = 'NoAnswerInTime';

  constructor(readonly ms: number) {
    super(`no answer within ${String(ms)} ms`);
  }
}

/** How a hook failed, where the route itself found it failing (a bad result, no answer in time). */
function routeFailure(error: unknown): string | undefined {
  if (isInstance(error, UnusableHookResult)) return `returned ${error.message}`;
  if (isInstance(error, NoAnswerInTime)) return `did not answer within ${String(error.ms)} ms`;
  return undefined;
}

/**
 * One sign-out route. Options are checked once, when it is made; `handle` is the per-request path.
 */
export class SignOutRoute<Req> implements SignOutCore<Req> {
  readonly options: ResolvedOptions<Req>;
  readonly client: LogoutClient;
  readonly warn: Warn = createWarner();
  private readonly events: RouteEvents<Req>;
  private readonly answers: Answers<Req>;
  private readonly clearing = createCookieClearer();
  /** The one timer bounding every session's end, store read and app hook in flight. */
  private readonly sweep = new DeadlineSweep();
  private readonly noAnswer = (): Error => new NoAnswerInTime(this.client.timeoutMs);
  private readonly listedCookies: readonly string[];
  // What browsers send again and again, worked out once: the Accept header's format, the app's
  // origin, the Origin header's origin, the return_to's Location. Each is a URL parse or a
  // negotiation that showed in the profile of browser-shaped sign-outs.
  private readonly formats = new BoundedMemo<ResponseFormat>(64);
  private readonly appOrigins = new BoundedMemo<string>(64);
  private readonly sentOrigins = new BoundedMemo<string | null>(256);
  private readonly returnTos = new BoundedMemo<ReturnToDecision>(256);
  private readonly bodies = new BoundedMemo<object | null>(256);
  /** An `Origin` header's origin, through the memory. */
  /** Warns once per hook that a hook of the app failed, and what the route did instead. */
  private readonly hookFailed = (hook: string, error: unknown, instead = 'ignored'): void => {
    const what = routeFailure(error) ?? `threw (${kindOfThrown(error)})`;
    this.warn('SSO_SIGNOUT_HOOK_FAILED', `the \`${hook}\` hook ${what}; ${instead}.`, hook);
  };
  private readonly normaliseSent = (sent: string): string | undefined =>
    this.sentOrigins.get(sent, normaliseOrNull) ?? undefined;
  /** A `return_to` vetted for an app origin, keyed `origin \n value`. */
  private readonly vetKeyed = (key: string): ReturnToDecision => {
    const at = key.indexOf('\n');
    return vetReturnTo(key.slice(at + 1), key.slice(0, at), this.options.allowedReturnToOrigins);
  };

  constructor(rawOptions: unknown) {
    this.options = resolveOptions<Req>(rawOptions);
    this.client = this.options.client ?? createLogoutClient(this.options.clientOptions);
    this.events = new RouteEvents(this.options.onEvent, this.hookFailed);
    this.listedCookies = this.options.clearCookies.map((cookie) => clearingHeader(cookie));
    this.answers = new Answers(this.options, this.events, this.hookFailed, (work) => this.bounded(work));
  }

  async handle(request: SignOutRequest<Req>): Promise<SignOutAnswer> {
    const exchange: Exchange<Req> = {
      request,
      format: this.format(request),
      headers: baseHeaders(),
      origin: this.originOnce(request),
      token: undefined,
    };
    const refusal = this.preCheck(exchange);
    if (refusal !== undefined) return this.refuse(exchange, refusal);
    const ending = this.ending(request);
    if ('refused' in ending) return this.local(exchange, ending.refused, undefined);
    this.noticeBypassedGuard(request.session);
    let read: ReadToken;
    try {
      // The steps that need not wait (the token is in the session, no hook takes it) are not
      // awaited: each await is a microtask and an allocation per sign-out.
      const reading = this.readToken(request);
      read = reading instanceof Promise ? await reading : reading;
    } catch (cause) {
      return this.unread(exchange, cause);
    }

    if (read.kind === 'none') this.noticeNoSignIn(request);
    else exchange.token = textOf(read.token.accessToken);
    // Whose sessions to end everywhere: read while this session still holds its user.
    const elsewhere = this.options.everywhere === undefined ? undefined : await this.elsewhereOf(request, read);
    const logout = read.kind === 'token' ? await this.client.logout(read.token) : undefined;
    // A wait Logout named is counted from now: the steps after it (the session's end, a body still
    // arriving) take some of it.
    const answeredAt = performance.now();
    const upstream: UpstreamReport = logout?.outcome ?? 'skipped';
    if (upstream === 'not_sent') this.warnUnusable(logout);
    const handedOver = this.handOver(exchange, read, upstream, logout);
    const endLocal = typeof handedOver === 'boolean' ? handedOver : await handedOver;
    let everywhere: EverywhereReport | undefined;
    if (endLocal) {
      const failure = await this.endSession(exchange, ending, upstream, logout);
      if (failure !== undefined) return failure;
      if (elsewhere !== undefined) everywhere = await elsewhere();
    }
    const destination = this.destination(exchange);
    const redirectTo = typeof destination === 'string' ? destination : await destination;
    const context: AnswerContext = {
      headers: exchange.headers,
      format: exchange.format,
      redirectTo,
      upstream,
      logout,
      everywhere,
    };
    const notHandedOver = !endLocal && this.options.endSessionOnFailure && read.kind === 'token';
    const decision = decide(upstream, logout, endLocal, exchange.format, notHandedOver, performance.now() - answeredAt);
    const answer = this.answers.answer(request, decision, context);
    return this.reported(request, answer instanceof Promise ? await answer : answer, logout);
  }

  /** The answer when the token could not be read: nothing changes. */
  private unread(exchange: Exchange<Req>, cause: unknown): Promise<SignOutAnswer> {
    if (this.options.getToken !== undefined) {
      this.hookFailed('getToken', cause, 'sign-outs are answered 500 session_error, and nothing changes');
    }
    // The getter's error may quote the token it was reading: the one at `sso`, if any, is kept out of it.
    const { session } = exchange.request;
    const atSso = tokenFromSession(session.kind === 'none' ? undefined : session.data);
    if (atSso.kind === 'token') exchange.token = textOf(atSso.token.accessToken);
    const unread = localDecision('session_error', 'The sign-in token could not be read from the session.');
    return this.local(exchange, unread, cause);
  }

  misconfigured(code: 'wrong_adapter', detail: string, headers: IncomingHttpHeaders, native: unknown): SignOutAnswer {
    const answer = this.answers.misconfigured(code, detail, headers);
    // The hook gets what the framework handed over: not the request type the route was made for.
    if (this.events.listened) this.events.emit(signOutEvent(answer.result, undefined), native as Req);
    return answer;
  }

  private format(request: SignOutRequest<Req>): ResponseFormat {
    const accept = request.headers.accept;
    if (typeof accept !== 'string') return negotiateFormat(request.headers);
    return this.formats.get(accept, formatFor);
  }

  /** The app's own origin, worked out once and only when a check needs it. */
  private originOnce(request: SignOutRequest<Req>): () => string {
    let appOrigin: string | undefined;
    return () => {
      if (appOrigin !== undefined) return appOrigin;
      const { protocol, host } = request.address();
      appOrigin = this.appOrigins.get(`${protocol}://${host ?? ''}`, appOriginOf);
      const hint = request.untrustedProxyHint?.();
      if (hint !== undefined) {
        this.warn(
          'SSO_SIGNOUT_UNTRUSTED_FORWARDED',
          `a sign-out request carries X-Forwarded-Proto/-Host from a proxy the app does not trust, so its own origin is taken as ${appOrigin} and browsers behind that proxy are refused as cross-site. If the app runs behind that proxy, trust it: ${hint}.`,
        );
      }
      return appOrigin;
    };
  }

  // Step 1: checks before anything changes.
  private preCheck({ request, origin }: Exchange<Req>): Decision | undefined {
    const { options } = this;
    const method = request.method.toUpperCase();
    if (!options.methods.has(method)) {
      const event = { type: 'refused', code: 'method_not_allowed', status: 405, method: request.method } as const;
      this.events.emit({ ...event, reason: undefined, origin: undefined, expectedOrigin: undefined }, request.native);
      return localDecision('method_not_allowed', `Sign out with ${options.allowHeader}.`);
    }
    const crossSite = checkCrossSite(request.headers, origin, options.allowedOrigins, this.normaliseSent);
    if (!crossSite.ok) {
      const event = { type: 'refused', code: 'cross_site_request', status: 403, method: request.method } as const;
      this.events.emit(
        { ...event, reason: crossSite.reason, origin: firstValue(request.headers.origin), expectedOrigin: origin() },
        request.native,
      );
      return localDecision('cross_site_request', 'Sign-out requests from other sites are refused.');
    }
    // Only a GET can be one: a browser prefetches, prerenders and embeds nothing else.
    const background = method === 'GET' ? backgroundRequest(request.headers) : undefined;
    if (background === undefined) return undefined;
    const event = { type: 'refused', code: 'background_request', status: 403, method: request.method } as const;
    this.events.emit(
      { ...event, reason: background, origin: firstValue(request.headers.origin), expectedOrigin: undefined },
      request.native,
    );
    return localDecision(
      'background_request',
      'A sign-out link is followed, not prefetched, prerendered or embedded: this request changed nothing.',
    );
  }

  private async refuse(exchange: Exchange<Req>, refusal: Decision): Promise<SignOutAnswer> {
    refusedHere(exchange.request.session);
    if (refusal.code === 'method_not_allowed') exchange.headers.push(['allow', this.options.allowHeader]);
    const answer = await this.answers.answer(exchange.request, refusal, {
      headers: exchange.headers,
      format: exchange.format,
      redirectTo: this.options.destination,
      upstream: 'not_called',
      logout: undefined,
    });
    this.events.publishError(answer.result.error);
    return answer;
  }

  /**
   * Step 7: where the browser goes next, worked out once, when an answer needs it: on the common
   * path, last, once the session has ended. Nothing waits for it then (a body slow to arrive delays
   * only the answer), and under Express the request's body is cheaper to read: express-session's
   * `destroy` deletes `req.session`, after which V8 looks the request's properties up in a
   * dictionary its caches can answer; before, on Node 20 and 22, every request has a hidden class
   * of its own and each read of its body's stream state misses V8's caches (the README's "Where
   * the gap lies").
   */
  private destination(exchange: Exchange<Req>): MaybePromise<string> {
    return (exchange.redirectTo ??= this.readDestination(exchange));
  }

  /**
   * The vetted `return_to` of the body or the query, or the configured destination. Nothing may
   * fail once the session has ended: a destination that cannot be worked out (the app's body
   * getter, query parser or `trust proxy` function throws, say on a request whose client has gone)
   * is the configured one.
   */
  private readDestination(exchange: Exchange<Req>): MaybePromise<string> {
    const { returnToParam: field, destination } = this.options;
    if (field === undefined) return destination;
    try {
      const body = exchange.request.body(this.client.timeoutMs);
      if (!(body instanceof Promise)) return this.vetDestination(exchange, field, body);
      return body.then((read) => this.vetDestination(exchange, field, read)).catch(() => destination);
    } catch {
      return destination;
    }
  }

  /** The vetted `return_to` of the body (or else the query) once read. */
  private vetDestination({ request, origin }: Exchange<Req>, field: string, body: RequestBody | undefined): string {
    const { options } = this;
    const fields = body === undefined ? undefined : 'parsed' in body ? body.parsed : this.parsedBody(body);
    let wanted: unknown =
      fields !== null && typeof fields === 'object' ? (fields as Record<string, unknown>)[field] : undefined;
    if (wanted === undefined) wanted = request.query(field);
    if (wanted === undefined || wanted === '') return options.destination;
    const decision =
      typeof wanted === 'string'
        ? this.returnTos.get(`${origin()}\n${wanted}`, this.vetKeyed)
        : vetReturnTo(wanted, origin(), options.allowedReturnToOrigins);
    if (decision.ok) return decision.location;
    const value = typeof wanted === 'string' ? wanted : describeValue(wanted);
    this.events.emit({ type: 'return_to_rejected', reason: decision.reason, value }, request.native);
    return options.destination;
  }

  /** A body read as text, parsed once per distinct small body (a page's sign-out form is always the same). */
  private parsedBody(body: { readonly type: 'form' | 'json'; readonly text: string }): object | undefined {
    if (body.text.length > MAX_REMEMBERED_BODY) return parseBody(body);
    return this.bodies.get(`${body.type}\n${body.text}`, parseKeyedBody) ?? undefined;
  }

  // Step 2: how the session ends, worked out before anything is called, so a setup that cannot end
  // it changes nothing.
  private ending(request: SignOutRequest<Req>): Ending {
    const { session } = request;
    const { endSession, getToken } = this.options;
    if (session.kind === 'none' && (endSession === undefined || getToken === undefined)) {
      const detail = session.detail === undefined ? MISSING_SESSION_DETAIL : `${session.detail} Nothing was changed.`;
      if (session.byRequest !== true) {
        this.warn('SSO_SIGNOUT_SESSION_MISSING', `no session on a sign-out request. ${detail}`);
      }
      return { refused: localDecision('session_missing', detail) };
    }
    const ambiguous = this.sentTwice(request, session);
    if (ambiguous !== undefined) return { refused: localDecision('session_ambiguous', ambiguous) };
    if (endSession !== undefined) {
      const middleware = session.kind === 'supported' ? session : undefined;
      return {
        end: () => this.endThroughHook(request, endSession),
        abandoned: () => middleware?.abandoned?.(),
      };
    }
    if (session.kind === 'supported') return session;
    const detail = 'This app keeps sessions in a way sso-signout cannot end by itself; give the `endSession` option.';
    return { refused: localDecision('session_unsupported', detail) };
  }

  /**
   * Why the request's session cannot be told from another, when the request sends its cookie twice:
   * the middleware read the first, which may be one another origin of the site planted (an empty
   * session, or the planter's own), while the user's own session, and its sign-in, is the other.
   */
  private sentTwice(request: SignOutRequest<Req>, session: SessionBinding): string | undefined {
    const header = firstValue(request.headers.cookie);
    // Without a session middleware (the app's hooks end its session), the name the app gives.
    const [cookie] = session.kind === 'supported' ? session.cookies() : [];
    let twice = cookie?.repeatedName;
    if (twice === undefined) {
      const detected = session.kind === 'supported' ? session.cookieName?.() : undefined;
      const configured = this.options.sessionCookieName;
      // The middleware's own name is checked as well as the app's `sessionCookieName`: a setting
      // that names another cookie must not turn the check off for the one that carries the session.
      const own = cookie === undefined ? detected : (cookie.detectedName ?? configured ?? cookie.defaultName);
      twice = this.sentMoreThanOnce(header, configured, detected !== undefined);
      if (twice === undefined && own !== configured) twice = this.sentMoreThanOnce(header, own, detected !== undefined);
    }
    if (twice === undefined) return undefined;
    return `This browser sent more than one cookie named ${twice} (another site of this domain, or a page on plain HTTP, may have set one), so it cannot be told which session is yours. Nothing was signed out: neither session was ended, and the SSO sign-in was not.`;
  }

  /**
   * `name` when the request sends it more than once, or (a middleware that signs its cookie in a
   * `.sig` companion, as cookie-session and koa-session do, reads the first of each: a planted
   * signature makes the session as unreadable as a planted value) its companion.
   */
  private sentMoreThanOnce(header: string | undefined, name: string | undefined, signed: boolean): string | undefined {
    if (name === undefined) return undefined;
    if (sentMoreThanOnce(header, name)) return name;
    if (signed && sentMoreThanOnce(header, `${name}.sig`)) return `${name}.sig`;
    return undefined;
  }

  /** The name a session cookie is known by: the app's `sessionCookieName`, the one detected, or the middleware's default. */
  private nameOf(cookie: SessionCookie): string {
    return this.options.sessionCookieName ?? cookie.detectedName ?? cookie.defaultName;
  }

  /**
   * The app's `endSession`, then the check that the session has ended. A hook that throws has its
   * answer follow the session: one the hook had ended (and then failed on something else) is ended.
   */
  private async endThroughHook(request: SignOutRequest<Req>, endSession: (req: Req) => unknown): Promise<void> {
    try {
      await endSession(request.native);
    } catch (error) {
      const { session } = request;
      if (session.kind !== 'supported' || session.sessionLives()) {
        this.hookFailed('endSession', error, 'the sign-out is answered 500 session_error');
        throw error;
      }
      this.hookFailed('endSession', error, 'the session had ended all the same, so the sign-out is answered as one');
    }
    await this.checkEnded(request);
  }

  /**
   * After the app's `endSession`: a session middleware's session that lives on, or still holds a
   * sign-in, was not ended (a hook that forgot to, took only the token out, or returned before it
   * had), so the answer must not say so.
   */
  private async checkEnded(request: SignOutRequest<Req>): Promise<void> {
    const { session } = request;
    if (session.kind === 'none') return;
    if (session.kind === 'supported' && session.sessionLives()) {
      this.warn(
        'SSO_SIGNOUT_SESSION_NOT_ENDED',
        "the `endSession` hook returned, but the request still has its session (under its id or cookie, or regenerated with the app's data carried over): taking the sign-in (or the app's own fields) out of it leaves the session, and whatever else in it marks the user as signed in, usable. End the session itself (destroy it or set it to null) before the hook returns or its promise settles.",
      );
      throw new Error('endSession returned, but the session lives on');
    }
    if (session.kind === 'supported') await this.commitEnded(session);
    if (!(await this.stillSignedIn(request, session.current()))) return;
    this.warn(
      'SSO_SIGNOUT_SESSION_NOT_ENDED',
      "the `endSession` hook returned, but the request's session still holds the sign-in (`session.sso`, or where `getToken` finds the token): end it there (destroy the session or set it to null) before the hook returns or its promise settles.",
    );
    throw new Error('endSession returned, but the session still holds the sign-in');
  }

  /**
   * What the hook left for the session middleware to do (koa-session's removal of a session set to
   * null, express-session's destroy of one), done now, within the bound, not after the answer.
   */
  private async commitEnded(session: SessionBinding & { kind: 'supported' }): Promise<void> {
    try {
      await session.commitEnded?.();
    } catch (error) {
      this.warn(
        'SSO_SIGNOUT_SESSION_NOT_ENDED',
        "the `endSession` hook left the request without its session, but the session store could not remove it (a `destroy` not waited for fails the same way): the session is kept. Wait for the store's answer in the hook to see its error.",
      );
      throw error;
    }
  }

  /**
   * Whether the request's session (as it is now) still holds a sign-in: in `session.sso`, in the
   * store under the ended session's id, or, where no middleware can say the session has ended,
   * where the app's `getToken` read the token (asked again). A getter that can no longer read the
   * session (it is gone) finds none.
   */
  private async stillSignedIn(request: SignOutRequest<Req>, current: unknown): Promise<boolean> {
    if (tokenFromSession(current).kind === 'token') return true;
    // Set to null, regenerated (whose store's destroy of the old one may have failed), or cleared:
    // the store says whether it still holds the session the request came with.
    if (await this.storeStillSignedIn(request.session)) return true;
    // A session its middleware has ended or replaced took its sign-in with it: `getToken`, asked
    // again, may read a copy the request still carries (passport's `req.user`, say).
    if (request.session.kind === 'supported') return false;
    if (this.options.getToken === undefined) return false;
    try {
      return (await this.readToken(request)).kind === 'token';
    } catch {
      return false;
    }
  }

  /**
   * Whether the store still holds the session the request came with, with its sign-in, once the
   * request no longer has it: a hook that did not wait for the store's destroy, a store that failed
   * it (a `regenerate` whose destroy failed leaves it there under its old id), or a session set to
   * null (express-session then never destroys it). A store that cannot say, or not in time, is taken
   * to hold it.
   */
  private async storeStillSignedIn(session: SessionBinding): Promise<boolean> {
    if (session.kind !== 'supported' || session.stillStored === undefined) return false;
    try {
      const kept = await this.bounded(session.stillStored());
      // With the app's getToken, the sign-in may be anywhere in the session: any session still stored counts.
      if (this.options.getToken !== undefined) return kept !== undefined && kept !== null;
      return tokenFromSession(kept).kind === 'token';
    } catch {
      return true;
    }
  }

  /**
   * Work on the session store or a hook of the app's (`getToken`, `endSession`, `everywhere.user`,
   * `onUnrevokedToken`, `render`),
   * bounded like everything the route waits on by `timeoutMs`: a store or a hook that never answers
   * must not hold the browser for ever.
   */
  private bounded<T>(work: T | PromiseLike<T>): Promise<T> {
    // A hook may return a value, a promise or a thenable: all are waited for alike.
    return bySweep(this.sweep, Promise.resolve(work), performance.now() + this.client.timeoutMs, this.noAnswer);
  }

  // Step 3: the token, from the app's getter or the session.
  private readToken(request: SignOutRequest<Req>): MaybePromise<ReadToken> {
    const { getToken } = this.options;
    if (getToken !== undefined) return this.bounded(getToken(request.native)).then(tokenFromGetter);
    return tokenFromSession(request.session.kind === 'none' ? undefined : request.session.data);
  }

  /**
   * Signing out everywhere: the user of this session and where its other sessions are, read before
   * it ends; the step that ends them once it has. Undefined when this session holds no sign-in (an
   * anonymous request ends nobody's sessions), names no user, or has no store the route can reach.
   */
  private async elsewhereOf(
    request: SignOutRequest<Req>,
    read: ReadToken,
  ): Promise<(() => Promise<EverywhereReport>) | undefined> {
    if (read.kind !== 'token') return undefined;
    const everywhere = this.options.everywhere as NonNullable<ResolvedOptions<Req>['everywhere']>;
    const user = await this.userOf(everywhere, request.native);
    if (user === undefined) return undefined;
    const { session } = request;
    const stored = session.kind === 'supported' ? session.stored?.() : undefined;
    if (stored?.store === undefined) {
      this.warn(
        'SSO_SIGNOUT_EVERYWHERE_UNSUPPORTED',
        'signing out everywhere needs sessions kept in a store the route can reach (express-session, or koa-session with an external store such as koa-redis); this session only is signed out.',
      );
      return undefined;
    }
    if (stored.store.local === true) {
      this.warn(
        'SSO_SIGNOUT_EVERYWHERE_LOCAL_STORE',
        "signing out everywhere reaches only this process's sessions: express-session's MemoryStore is not shared with other instances. Sessions listed in the index but not found here are left listed, for the instance that holds them.",
      );
    }
    const e: Elsewhere = {
      index: everywhere.sessionIndex,
      store: stored.store,
      client: this.client,
      tokenOf: (data) => this.otherSignIn(everywhere, data),
      unusable: (result) => {
        this.warnUnusable(result);
      },
      handOver: (token) =>
        this.options.revocationQueue === undefined
          ? Promise.resolve(false)
          : this.queue(this.options.revocationQueue, token).then(
              () => true,
              () => false,
            ),
      timeoutMs: this.client.timeoutMs,
    };
    return () => endElsewhere(e, user, stored.id);
  }

  /** A store given to `guardSessionStore` that the session middleware uses itself, not the guard made of it: told once. */
  private noticeBypassedGuard(session: SessionBinding): void {
    if (session.kind !== 'supported' || !guardBypassed(session.middlewareStore?.())) return;
    this.warn(
      'SSO_SIGNOUT_GUARD_BYPASSED',
      'the session middleware uses a store that was given to `guardSessionStore`, not the guarded store `guardSessionStore` returned: a request in flight during a sign-out can still write the signed-out session back. Give the session middleware the store `guardSessionStore(store)` returns.',
    );
  }

  /**
   * The sign-in another session of the user holds: at `sso`, or what the app's `everywhere.tokenOf`
   * (sync or async, bounded as every hook) reads. Undefined when that hook failed: warned, and the
   * session is left as it is, the hook's error (which may quote that session's token) going nowhere.
   */
  private async otherSignIn(
    everywhere: NonNullable<ResolvedOptions<Req>['everywhere']>,
    data: object,
  ): Promise<ReadToken | undefined> {
    const { tokenOf } = everywhere;
    if (tokenOf === undefined) return tokenFromSession(data);
    try {
      return tokenFromGetter(await this.bounded(tokenOf(data as Record<string, unknown>)));
    } catch (error) {
      this.hookFailed('everywhere.tokenOf', error, 'that session is left as it was (counted as failed)');
      return undefined;
    }
  }

  /**
   * A sign-out with no token to revoke, from a session that looks as if it holds one where the route
   * does not look (`ssoToken`, `SSO`, `accessToken`, `passport.user.accessToken`, `tokens.access_token`;
   * or at `sso` while \`getToken\` found nothing):
   * the Logout call is skipped, and the SSO session lives on, so the app is told once.
   */
  private noticeNoSignIn(request: SignOutRequest<Req>): void {
    const { session } = request;
    if (session.kind === 'none' || session.data === null || typeof session.data !== 'object') return;
    if (this.options.getToken !== undefined) {
      if (tokenFromSession(session.data).kind !== 'token') return;
      this.warn(
        'SSO_SIGNOUT_SIGN_IN_NOT_READ',
        '`getToken` found no token, but the session holds one at `sso`: no Logout call was made, so the SSO session stays signed in. Read the token where the app keeps it.',
      );
      return;
    }
    const key = signInElsewhere(session.data);
    if (key === undefined) return;
    this.warn(
      'SSO_SIGNOUT_SIGN_IN_NOT_READ',
      `a session with nothing at \`sso\` holds \`${printable(key, 64)}\`: the route reads the sign-in from \`session.sso\` (\`{ accessToken, region }\`), or from \`getToken\`. No Logout call was made, so the SSO session stays signed in.`,
    );
  }

  /** The user the app names for this request, or undefined (warned about when the hook misbehaves). */
  private async userOf(
    everywhere: NonNullable<ResolvedOptions<Req>['everywhere']>,
    native: Req,
  ): Promise<string | undefined> {
    let user: unknown;
    try {
      user = await this.bounded(everywhere.user(native));
    } catch (error) {
      this.hookFailed('everywhere.user', error, 'this session only is signed out');
      return undefined;
    }
    if (user === undefined || user === null) return undefined;
    if (typeof user === 'string' && user !== '') return user;
    // Only what kind of value: an object (or a symbol's description) may hold the session's token.
    const what =
      typeof user === 'number' || typeof user === 'boolean'
        ? describeValue(user)
        : user === ''
          ? 'an empty string'
          : describeSecret(user);
    const unusable = new UnusableHookResult(`${what} instead of a user's id`);
    this.hookFailed('everywhere.user', unusable, 'this session only is signed out');
    return undefined;
  }

  private warnUnusable(logout: LogoutResult | undefined): void {
    this.warn(
      'SSO_SIGNOUT_TOKEN_UNUSABLE',
      logout?.reason === 'dispatcher_origin'
        ? "a sign-in stored in a session names a region whose portal the app's `dispatcher` (an undici Pool or Client, tied to one origin) does not send to, so its token was not sent: give an Agent to sign out of several regions."
        : `a sign-in stored in a session could not be sent to IAM Identity Center (${logout?.reason ?? 'unknown'}): check what the app stores as the access token and region.`,
    );
  }

  /**
   * Step 5: whether the local session ends. On the failure rows it ends only with
   * `endSessionOnFailure`, and only once the revocation queue or `onUnrevokedToken` has taken the token.
   */
  private handOver(
    exchange: Exchange<Req>,
    read: ReadToken,
    upstream: UpstreamReport,
    logout: LogoutResult | undefined,
  ): MaybePromise<boolean> {
    const endLocal = endsSession(upstream, this.options.endSessionOnFailure);
    const failed = upstream !== 'revoked' && upstream !== 'skipped' && upstream !== 'rejected';
    if (!endLocal || !failed || read.kind !== 'token') return endLocal;
    return this.giveUnrevoked(exchange, read.token, upstream, logout);
  }

  /** Queues a token with the region it was sent to: the worker may be configured for another. */
  private queue(revocationQueue: RevocationQueue, token: TokenInfo): Promise<void> {
    return revocationQueue.enqueue({ ...token, region: token.region ?? this.client.region });
  }

  /** The token outlives the session: hand it over first (the queue, else the hook), and keep the session if neither takes it. */
  private async giveUnrevoked(
    exchange: Exchange<Req>,
    token: TokenInfo,
    upstream: UpstreamReport,
    logout: LogoutResult | undefined,
  ): Promise<boolean> {
    const { revocationQueue, onUnrevokedToken } = this.options;
    if (revocationQueue !== undefined) {
      try {
        await this.queue(revocationQueue, token);
        return true;
      } catch (cause) {
        this.warn(
          'SSO_SIGNOUT_QUEUE_FAILED',
          `the revocation queue could not take a token (${kindOfThrown(cause)}); ${onUnrevokedToken === undefined ? 'the session is kept' : '`onUnrevokedToken` is tried'}.`,
        );
      }
    }
    if (onUnrevokedToken === undefined) return false;
    const context = await this.contextOf(exchange, upstream, logout);
    const pending = decide(upstream, logout, true, exchange.format);
    const error = this.answers.typedError(pending, context);
    try {
      await this.bounded(onUnrevokedToken(token, this.answers.resultOf(pending, context, error)));
      return true;
    } catch (cause) {
      this.hookFailed('onUnrevokedToken', cause, 'the session is kept');
      return false;
    }
  }

  // Step 6: end the session and clear its cookies; the answer when the session could not be ended.
  private async endSession(
    exchange: Exchange<Req>,
    ending: SessionEnd,
    upstream: UpstreamReport,
    logout: LogoutResult | undefined,
  ): Promise<SignOutAnswer | undefined> {
    const { request, headers } = exchange;
    const cookies = this.clearingHeaders(request.session);
    try {
      await this.bounded(ending.end());
    } catch (cause) {
      const timedOut = isInstance(cause, NoAnswerInTime) ? cause.ms : undefined;
      if (timedOut !== undefined) ending.abandoned?.();
      if (this.options.endSession !== undefined) {
        // A session the app's hook did not end (or not in time) is left as the middleware read it, so
        // "kept" holds: koa-session would write what the hook left (a cookie cleared, an empty session).
        refusedHere(request.session);
        // A hook's throw was told of where it threw; its silence is told here.
        if (timedOut !== undefined) this.hookFailed('endSession', cause, 'the sign-out is answered 500 session_error');
      }
      const context = await this.contextOf(exchange, upstream, logout, cause);
      const answer = await this.answers.answer(request, sessionNotEnded(upstream, timedOut), context);
      return this.reported(request, answer, logout);
    }
    for (const cookie of cookies) headers.push(['set-cookie', cookie]);
    if (this.options.clearSiteData !== undefined) headers.push(['clear-site-data', this.options.clearSiteData]);
    return undefined;
  }

  /**
   * The `Set-Cookie` values that clear the session's cookies and the app's listed ones, written
   * before the session ends: nothing may fail after it has. A detected cookie whose name or
   * attributes cannot be written (read from a hostile `Cookie` header, say) is skipped: no session
   * middleware could have set it.
   */
  private clearingHeaders(session: SessionBinding): string[] {
    const configured = this.options.sessionCookieName;
    const written: string[] = [];
    const clear = (name: string, attributes: Omit<CookieToClear, 'name'>): void => {
      try {
        written.push(this.clearing(name, attributes));
      } catch {
        // skipped, see above
      }
    };
    const cookies = session.kind === 'supported' ? session.cookies() : [];
    for (const cookie of cookies) {
      clear(this.nameOf(cookie), cookie);
      if (configured !== undefined && cookie.detectedName !== undefined && cookie.detectedName !== configured) {
        // The cookie that carries this very session has another name: clear it too, and say so.
        clear(cookie.detectedName, cookie);
        this.warnNameMismatch(configured, cookie.detectedName);
      }
    }
    // A middleware that clears its own cookie (cookie-session, koa-session) under another name.
    const own = session.kind === 'supported' ? session.cookieName?.() : undefined;
    if (configured !== undefined && cookies.length === 0 && own !== undefined && own !== configured) {
      this.warnNameMismatch(configured, own);
    }
    // A configured name with no session cookie to take attributes from: cleared with the defaults,
    // unless the app lists it with its own.
    if (
      configured !== undefined &&
      cookies.length === 0 &&
      !this.options.clearCookies.some((c) => c.name === configured)
    ) {
      written.push(this.clearing(configured, {}));
    }
    // The app's own list, checked and written when the route was made.
    written.push(...this.listedCookies);
    return written;
  }

  private warnNameMismatch(configured: string, own: string): void {
    this.warn(
      'SSO_SIGNOUT_COOKIE_NAME_MISMATCH',
      `sessionCookieName is "${configured}", but this session came in a cookie named "${own}"; both are cleared. Set sessionCookieName to the session middleware's cookie name, or leave it out to have it detected.`,
    );
  }

  /** The answer when the route stopped before Logout: nothing was called. */
  private async local(exchange: Exchange<Req>, decision: Decision, cause: unknown): Promise<SignOutAnswer> {
    refusedHere(exchange.request.session);
    const context = await this.contextOf(exchange, 'not_called', undefined, cause);
    return this.reported(exchange.request, await this.answers.answer(exchange.request, decision, context));
  }

  /** What an answer off the common path is about, with where the browser goes next. */
  private async contextOf(
    exchange: Exchange<Req>,
    upstream: UpstreamReport,
    logout: LogoutResult | undefined,
    cause?: unknown,
  ): Promise<AnswerContext> {
    const { headers, format, token } = exchange;
    return {
      headers,
      format,
      redirectTo: await this.destination(exchange),
      upstream,
      logout,
      cause: withoutToken(cause, token),
    };
  }

  // Step 8: tell about it.
  private reported(request: SignOutRequest<Req>, answer: SignOutAnswer, logout?: LogoutResult): SignOutAnswer {
    if (this.events.listened) this.events.emit(signOutEvent(answer.result, logout), request.native);
    this.events.publishError(answer.result.error);
    return answer;
  }
}

/** Creates the framework-neutral sign-out. Options are validated here, once. */
export function createSignOutCore<Req>(rawOptions: unknown): SignOutCore<Req> {
  return new SignOutRoute<Req>(rawOptions);
}
