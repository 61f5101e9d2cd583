// The Express adapter: translates an Express request into the core's terms and the core's answer back.

import type { NextFunction, Request, Response } from 'express';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parsedOrRead, type MaybePromise, type RequestBody } from './core/route/body.js';
import {
  cookiePathCovers,
  cookiePathDetail,
  repeatedSignedCookieName,
  signedSessionCookieName,
  takeBackSessionCookies,
} from './core/route/cookies.js';
import {
  callbackStoreAccess,
  destroyLeftSession,
  readsAs,
  storedUnder,
  storeFailure,
} from './core/everywhere/callback-store.js';
import type { SessionStoreAccess } from './core/everywhere/elsewhere.js';
import type { SignOutOptions } from './core/route/options.js';
import { answerForeignCall, foreignCall } from './core/route/foreign.js';
import { ALREADY_ANSWERED } from './core/warnings.js';
import {
  endNodeResponse,
  firstValue,
  holdsAppData,
  nodeHeaderWriter,
  pathOfTarget,
  queryField,
  writeHeaders,
  type SessionBinding,
  type SessionCookie,
  type SignOutRequest,
} from './core/route/request.js';
import { createSignOutCore } from './core/route/route.js';
import { assertFactoryCall } from './core/validate.js';

/**
 * The slice of an Express request the adapter reads, typed structurally so Express 4 and 5 both fit.
 * Internal: the public types are Express's own.
 */
interface ExpressLikeRequest extends IncomingMessage {
  readonly protocol: string;
  readonly originalUrl?: string;
  /** The mount path of the router or `app.use` that led here (Express sets it). */
  readonly baseUrl?: string;
  /** The path below `baseUrl`. */
  readonly path?: string;
  /** The route that matched (set by `app.all`, `app.post`, `router.route`, …). */
  readonly route?: unknown;
  readonly query?: unknown;
  body?: unknown;
  session?: unknown;
  sessionID?: string;
  sessionStore?: unknown;
  sessionOptions?: unknown;
  /** The response (Express sets it). */
  readonly res?: ServerResponse;
  readonly app?: { get(setting: string): unknown };
}

/** An Express middleware (also what `app.all`, `app.use` and routers take). */
export type SignOutMiddleware<Req extends Request = Request> = (req: Req, res: Response, next: NextFunction) => void;

/**
 * Options of the Express route. `getToken`, `endSession` and `render` receive Express's own
 * `Request` (with `import 'sso-signout/express-session'`, `req.session.sso` is typed too).
 */
export type ExpressSignOutOptions<Req extends Request = Request> = SignOutOptions<Req>;

type TrustFn = (address: string | undefined, hop: number) => unknown;

/** Whether the app trusts the peer that sent this request as its proxy (`trust proxy`): any truthy answer, as Express takes it. */
function trusted(req: ExpressLikeRequest): boolean {
  const trust = req.app?.get('trust proxy fn') as TrustFn | undefined;
  // A request made up in a test may have no socket.
  const socket = req.socket as IncomingMessage['socket'] | undefined;
  return Boolean(trust?.(socket?.remoteAddress, 0));
}

// Express 5's rule for `req.host` (which Express 4 lacks): `X-Forwarded-Host` counts only when the
// app trusts the proxy that sent it. Worked out from the headers the adapter already holds, so a
// request without it reads nothing more of `req`: on Node 20 and 22 every property read on an
// Express request is a slow lookup of its own (the README's "Where the gap lies"). The scheme is
// Express's own `req.protocol`, which an app may have redefined.
function hostOf(req: ExpressLikeRequest, headers: IncomingHttpHeaders): string | undefined {
  const forwarded = firstValue(headers['x-forwarded-host']);
  // Its first hop, as Express takes it (empty, so no host, when the list starts with a comma).
  const host =
    forwarded !== undefined && forwarded !== '' && trusted(req)
      ? forwarded.split(',', 1)[0]?.trim()
      : firstValue(headers.host);
  return host === '' ? undefined : host;
}

interface ExpressSessionLike {
  cookie?: {
    path?: string;
    domain?: string;
    secure?: boolean | 'auto';
    httpOnly?: boolean;
    sameSite?: boolean | 'lax' | 'strict' | 'none';
    partitioned?: boolean;
  };
  readonly id?: string;
  destroy(callback: (error?: unknown) => void): void;
}

const EXPRESS_SESSION_DEFAULT_NAME = 'connect.sid';
// cookie-session's cookie, when its `name` option is not given.
const COOKIE_SESSION_DEFAULT_NAME = 'session';

/**
 * express-session does not expose its cookie's name: it is the cookie holding this session's id
 * signed the express-session way (`s:` + id + `.` + signature).
 */
function expressSessionCookieName(headers: IncomingHttpHeaders, sessionId: string | undefined): string | undefined {
  return signedSessionCookieName(firstValue(headers.cookie), sessionId, 's:');
}

/**
 * Drops, from what is set on `res` from now on, the cookie express-session writes for session `id`
 * (its value `s:` + id + `.` + signature). express-session sets it with the response's own
 * `setHeader` as the headers go out.
 */
function withoutSessionCookie(res: ServerResponse, id: string): void {
  const carries = `s:${id}.`;
  const setHeader = res.setHeader.bind(res);
  res.setHeader = function setHeaderWithoutSession(name, value) {
    if (name.toLowerCase() !== 'set-cookie') return setHeader(name, value);
    const all = Array.isArray(value) ? value.map(String) : [String(value)];
    const kept = all.filter((cookie) => {
      const at = cookie.indexOf('=');
      const end = cookie.indexOf(';', at);
      const raw = cookie.slice(at + 1, end === -1 ? undefined : end);
      return !safeDecode(raw).startsWith(carries);
    });
    return setHeader(name, kept);
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function sessionBinding(req: ExpressLikeRequest, headers: IncomingHttpHeaders): SessionBinding {
  const session = req.session as ExpressSessionLike | null | undefined;
  // express-session: a session that can be destroyed, its store on the request. Told first, as the
  // common case (cookie-session's session has no `destroy`, even where both middlewares are mounted).
  if (typeof session?.destroy === 'function' && req.sessionStore !== undefined) {
    // express-session runs wherever the request's path merely starts with its cookie's path, so a
    // cookie set for `/sign` gives `/signout` a fresh, empty session: the browser never sends the
    // cookie there (paths match at a `/`), and the session it holds is not this one.
    const cookiePath = session.cookie?.path;
    if (cookiePath !== undefined && cookiePath !== '/') {
      const requestPath = pathOf(req);
      if (!cookiePathCovers(cookiePath, requestPath)) {
        return { kind: 'none', detail: cookiePathDetail(cookiePath, requestPath) };
      }
    }
    return new ExpressSessionBinding(req, session, headers);
  }
  // cookie-session: `req.sessionOptions` is its mark.
  if (req.sessionOptions !== null && typeof req.sessionOptions === 'object') {
    return cookieSessionBinding(req, req.sessionOptions, session);
  }
  if (session === undefined || session === null) return { kind: 'none' };
  return { kind: 'unknown', data: session, current: () => req.session };
}

/** Whether `value` is a session express-session made (it saves, reloads and destroys it). */
function isExpressSession(value: unknown): value is ExpressSessionLike {
  // A value that cannot even be read (a revoked Proxy an app's hook left) is no session.
  return readsAs(value, (v) => typeof (v as { save?: unknown }).save === 'function');
}

/** express-session's session in the core's terms (one object per sign-out: its parts are methods, not closures). */
class ExpressSessionBinding {
  readonly kind = 'supported';
  /** Its cookie, found once: the route asks before the session ends and again to clear it. */
  private found: SessionCookie[] | undefined;

  constructor(
    private readonly req: ExpressLikeRequest,
    readonly data: ExpressSessionLike,
    private readonly headers: IncomingHttpHeaders,
  ) {}

  current(): unknown {
    return this.req.session;
  }

  /**
   * Still this session (neither destroyed nor set to null), or one regenerated (another id) that the
   * hook gave the app's data again: the user is still signed in to the app under the new id.
   */
  sessionLives(): boolean {
    const now = this.req.session;
    // Anything but a session of express-session's in its place (`{}`, `false`) is the session
    // cleared: it is ended as one set to null is (see `commitEnded`).
    if (!isExpressSession(now)) return false;
    return this.req.sessionID === this.data.id || holdsAppData(now);
  }

  /**
   * After an app's `endSession` that left the request without its session: the store's copy is
   * destroyed now. express-session destroys a session set to null only with `unset: 'destroy'`, and
   * only once the answer is out; a hook that did not wait for `destroy` has its destroy made again,
   * and waited for.
   */
  commitEnded(): Promise<void> {
    return destroyLeftSession(this.req, this.data.id, isExpressSession);
  }

  /**
   * A refusal changes nothing: express-session's cookie for this session is not written when the
   * response goes out (with `rolling`, it would write again, for its path, the cookie of a session
   * planted first: another user's, in place of the user's own). The session and its id stay on the
   * request for the app's own code.
   */
  unchanged(): void {
    const { res, sessionID } = this.req;
    // The cookie of the session the request came with; one a hook regenerated is the app's to send.
    if (res !== undefined && sessionID !== undefined && sessionID === this.data.id)
      withoutSessionCookie(res, sessionID);
    // Something else in its place (a hook that cleared it and did not finish): express-session
    // could not save it, and would hang the response. Without a session, it leaves the store alone.
    if (!isExpressSession(this.req.session)) this.req.session = null;
  }

  cookies(): SessionCookie[] {
    if (this.found !== undefined) return this.found;
    const c = this.data.cookie ?? {};
    const detectedName = expressSessionCookieName(this.headers, this.req.sessionID);
    this.found = [
      {
        detectedName,
        repeatedName: repeatedSignedCookieName(firstValue(this.headers.cookie), 's:'),
        defaultName: EXPRESS_SESSION_DEFAULT_NAME,
        path: c.path,
        domain: c.domain,
        secure: c.secure === true,
        httpOnly: c.httpOnly,
        sameSite: c.sameSite,
        partitioned: c.partitioned,
      },
    ];
    return this.found;
  }

  middlewareStore(): unknown {
    return this.req.sessionStore;
  }

  stored(): { id: string | undefined; store: SessionStoreAccess | undefined } {
    return { id: this.req.sessionID, store: callbackStoreAccess(this.req.sessionStore) };
  }

  /**
   * What the store still holds under this request's session id: express-session writes a destroy to
   * its store at once, so a session the request no longer has but the store still holds was not
   * ended (a hook that did not wait for the store, a store that failed, a session set to null).
   */
  stillStored(): Promise<unknown> {
    // The session the request came with: regenerated, it has another id, and its store's destroy of
    // the old one may have failed.
    return storedUnder(this.req, this.data.id);
  }

  end(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.data.destroy((error) => {
        if (error === undefined || error === null) resolve();
        else reject(storeFailure(error));
      });
    });
  }
}

// Setting cookie-session's session to null makes it delete its cookie (and the `.sig` companion)
// with the options it set them with.
function cookieSessionName(options: object): string {
  const name = (options as { name?: unknown }).name;
  return typeof name === 'string' ? name : COOKIE_SESSION_DEFAULT_NAME;
}

function cookieSessionBinding(req: ExpressLikeRequest, options: object, session: unknown): SessionBinding {
  const cookiePath = (options as { path?: unknown }).path;
  const requestPath = pathOf(req);
  if (typeof cookiePath === 'string' && !cookiePathCovers(cookiePath, requestPath)) {
    return { kind: 'none', detail: cookiePathDetail(cookiePath, requestPath) };
  }
  return {
    kind: 'supported',
    data: session ?? undefined,
    current: () => req.session,
    // Its one cookie holds the session: a replacement is written there; only null ends it.
    sessionLives: () => req.session !== null && req.session !== undefined,
    cookies: () => [],
    cookieName: () => cookieSessionName(options),
    end: () => {
      req.session = null;
      return Promise.resolve();
    },
    // A refusal changes nothing: what the `cookies` library wrote when it read a value planted first
    // (its `.sig` deleted or signed anew) is taken back, and the session, as loaded, counts as
    // unchanged when the answer goes out, whatever the app wrote to it (cookie-session's "rolling"
    // pattern would write back a session planted first, for the user's path).
    unchanged: () => {
      const name = cookieSessionName(options);
      if (req.res !== undefined) takeBackSessionCookies(req.res, [name, `${name}.sig`]);
      // A hook that set it to null and was not waited for: put back, or its cookie would be deleted.
      if ((req.session === null || req.session === undefined) && session !== null && typeof session === 'object') {
        req.session = session;
      }
      const loaded: unknown = req.session;
      if (loaded !== null && typeof loaded === 'object') {
        Object.defineProperty(loaded, 'isChanged', { value: false, configurable: true });
      }
    },
  };
}

/** An Express request in the core's terms (one object per sign-out: its parts are methods, not closures). */
class ExpressSignOutRequest<Req> implements SignOutRequest<Req> {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly session: SessionBinding;
  /** The body, read at most once. */
  private read: { readonly body: MaybePromise<RequestBody | undefined> } | undefined;

  constructor(
    readonly native: Req,
    private readonly req: ExpressLikeRequest,
  ) {
    this.method = req.method ?? 'GET';
    this.headers = req.headers;
    this.session = sessionBinding(req, this.headers);
  }

  /** Read only for an answer that needs it (the retry form's action), as every part of `req`. */
  get url(): string {
    return urlOf(this.req);
  }

  address(): { protocol: string; host: string | undefined } {
    return { protocol: this.req.protocol, host: hostOf(this.req, this.headers) };
  }

  untrustedProxyHint(): string | undefined {
    return untrustedProxyHint(this.req, this.headers);
  }

  query(name: string): unknown {
    return queryField(this.req.query, name);
  }

  body(timeoutMs: number): MaybePromise<RequestBody | undefined> {
    return (this.read ??= { body: parsedOrRead(this.req.body, this.req, timeoutMs, this.headers) }).body;
  }
}

const NOT_ROUTED =
  'the sign-out route was mounted without a path (`app.use(ssoSignOut(…))`), or is called from a function of the app\'s (`(req, res, next) => signOut(req, res, next)`), so it passes every request on and signs nobody out. Mount the middleware itself on its path: app.all("/signout", ssoSignOut(…)) or app.use("/signout", ssoSignOut(…)); work of the app\'s own goes in a middleware before it.';

/**
 * Whether Express routed this request to the sign-out route: a route (`app.all('/signout', …)`,
 * `router.post(…)`), or `app.use('/signout', …)` for that exact path. Mounted with no path, the
 * middleware would see every request of the app; it must sign nobody out then.
 */
function routing(req: ExpressLikeRequest, self: unknown): 'here' | 'below' | 'unrouted' {
  // `req.route` stays set after a route calls next() (a catch-all `app.all('*', …)` before us): it
  // counts only when the route is one that lists this middleware.
  const stack: unknown = (req.route as { stack?: unknown } | undefined)?.stack;
  if (Array.isArray(stack) && stack.some((layer: { handle?: unknown }) => layer.handle === self)) return 'here';
  if (typeof req.baseUrl !== 'string' || req.baseUrl === '') return 'unrouted';
  if (req.path === '/') return 'here';
  // A request below the mount path (`/signout/x` for `app.use('/signout', …)`) is simply not this
  // route's; but a router's `use` without a path, in a router mounted on `/auth`, sees every
  // request under `/auth`: that is the route mounted without a path.
  return mountedWithoutPath(req, self) ? 'unrouted' : 'below';
}

interface RouterLayer {
  readonly handle?: { readonly stack?: unknown };
  /** Express 5 (router 2): mounted on "/" by `use` without a path. */
  readonly slash?: boolean;
  /** Express 4: the same. */
  readonly regexp?: { readonly fast_slash?: boolean };
}

/** Whether the app's routers hold this middleware in a layer `use` made without a path. */
function mountedWithoutPath(req: ExpressLikeRequest, self: unknown): boolean {
  const app = req.app as { _router?: { stack?: unknown }; router?: { stack?: unknown } } | undefined;
  // Express 4 keeps its router in `_router` (its `app.router` throws); Express 5 in `router`.
  const find = (stack: unknown, depth: number): RouterLayer | undefined => {
    if (!Array.isArray(stack) || depth > 8) return undefined;
    for (const layer of stack as RouterLayer[]) {
      if (layer.handle === self) return layer;
      const inner = find(layer.handle?.stack, depth + 1);
      if (inner !== undefined) return inner;
    }
    return undefined;
  };
  const layer = find((app?._router ?? app?.router)?.stack, 0);
  return layer !== undefined && (layer.slash === true || layer.regexp?.fast_slash === true);
}

/** Path and query of the request as the browser sent it (the mount path included). */
function urlOf(req: ExpressLikeRequest): string {
  return req.originalUrl ?? req.url ?? '/';
}

/** The path of the request as the browser sent it (the mount path included), without the query. */
function pathOf(req: ExpressLikeRequest): string {
  return pathOfTarget(urlOf(req));
}

// X-Forwarded-* the app does not trust, and how to trust them in Express.
function untrustedProxyHint(req: ExpressLikeRequest, headers: IncomingHttpHeaders): string | undefined {
  if (headers['x-forwarded-proto'] === undefined && headers['x-forwarded-host'] === undefined) {
    return undefined;
  }
  return trusted(req)
    ? undefined
    : "app.set('trust proxy', …) with the proxy's address or hop count (see Express's \"behind proxies\" guide)";
}

/**
 * Creates the sign-out route for Express 4 and 5. Mount it on its path, with `app.all` so other
 * methods get a truthful `405` instead of a `404`. Mounted without a path (`app.use(ssoSignOut())`)
 * it passes every request on to `next()` and warns once, signing nobody out.
 *
 * @example
 * import express from 'express';
 * import session from 'express-session';
 * import { ssoSignOut } from 'sso-signout';
 *
 * const app = express();
 * app.use(session({ secret: process.env.SESSION_SECRET, resave: false, saveUninitialized: false }));
 * app.all('/signout', ssoSignOut({ region: 'eu-west-1', destination: '/signed-out' }));
 */
export function ssoSignOut<Req extends Request = Request>(
  options?: ExpressSignOutOptions<Req>,
): SignOutMiddleware<Req> {
  assertFactoryCall(options, arguments.length, 3, 'app.all("/signout", ssoSignOut({ region: "us-east-1" }))');
  const core = createSignOutCore<Req>(options);

  return function signOutMiddleware(native, res, next) {
    // Koa calls a middleware with (ctx, next), Fastify a handler with (request, reply), Hono or
    // Next.js with a Request: answer them (synchronously, which all accept), never crash them.
    const foreign = foreignCall('express', native, res);
    // A Web-standard framework takes the answer as the handler's return value.
    if (foreign !== undefined) return answerForeignCall(core, 'express', foreign) as undefined;
    const req = native as unknown as ExpressLikeRequest;
    const routed = routing(req, signOutMiddleware);
    if (routed !== 'here') {
      if (routed === 'unrouted') core.warn('SSO_SIGNOUT_NOT_ROUTED', NOT_ROUTED);
      next();
      return;
    }
    if (res.headersSent) {
      // No answer could say what was done: nothing is done. A response still open (its headers
      // flushed, its body to come) is passed on for the app to end.
      core.warn('SSO_SIGNOUT_ALREADY_ANSWERED', ALREADY_ANSWERED);
      if (!res.writableEnded) next();
      return;
    }
    core.handle(new ExpressSignOutRequest(native, req)).then((answer) => {
      // Caught here rather than by one more promise: writing a header can still throw (a header
      // another middleware already sent).
      try {
        writeHeaders(answer.headers, nodeHeaderWriter(res));
        if (answer.delegate !== undefined) {
          next(answer.delegate);
          return;
        }
        endNodeResponse(res, answer);
      } catch (error) {
        next(error);
      }
    }, next);
  };
}

/**
 * The id express-session keeps this request's session under in its store (`req.sessionID`): what to
 * give `sessionIndex.add` at sign-in. Undefined without express-session.
 *
 * @example
 * req.session.regenerate(() => {
 *   req.session.sso = { accessToken };
 *   void sessionIndex.add(user, sessionIdOf(req));
 * });
 */
export function sessionIdOf(req: Request): string | undefined {
  const id = (req as unknown as ExpressLikeRequest).sessionID;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export { guardSessionStore } from './core/session-guard.js';
export type { ExpressSessionStoreLike } from './core/session-guard.js';
export * from './common-exports.js';
