// The Koa adapter: translates a Koa context into the core's terms and the core's answer back.

import type { Context, Next } from 'koa';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionStoreAccess } from './core/everywhere/elsewhere.js';
import { parsedOrRead, type MaybePromise, type RequestBody } from './core/route/body.js';
import { cookiePathCovers, cookiePathDetail, takeBackSessionCookies } from './core/route/cookies.js';
import type { SignOutOptions } from './core/route/options.js';
import { answerForeignCall, foreignCall } from './core/route/foreign.js';
import { ALREADY_ANSWERED } from './core/warnings.js';
import { pathOfTarget, queryField, writeHeaders, type SessionBinding } from './core/route/request.js';
import { createSignOutCore } from './core/route/route.js';
import { assertFactoryCall } from './core/validate.js';

/**
 * The slice of a Koa context the adapter reads and writes, typed structurally so Koa 2 and 3 both
 * fit. Internal: the public types are Koa's own.
 */
interface KoaLikeContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly url: string;
  readonly originalUrl?: string;
  /** `http` or `https`, honouring `X-Forwarded-Proto` only when `app.proxy` is set. */
  readonly protocol: string;
  /** Host and port, honouring `X-Forwarded-Host` only when `app.proxy` is set. */
  readonly host: string;
  readonly query?: unknown;
  readonly request: { readonly body?: unknown };
  readonly app: { readonly proxy: boolean };
  /** False once the app has taken the response over from Koa. */
  readonly respond?: boolean;
  session?: unknown;
  readonly sessionOptions?: unknown;
  status: number;
  body: unknown;
  length: number | undefined;
  set(field: string, value: string): void;
  append(field: string, value: string): void;
}

/** A Koa middleware (also what routers and koa-mount take). */
export type KoaSignOutMiddleware<Ctx extends Context = Context> = (ctx: Ctx, next: Next) => Promise<void>;

/**
 * Options of the Koa route. `getToken`, `endSession` and `render` receive Koa's own `Context` (with
 * `import 'sso-signout/koa-session'`, `ctx.session.sso` is typed too).
 */
export type KoaSignOutOptions<Ctx extends Context = Context> = SignOutOptions<Ctx>;

interface KoaSessionLike {
  toJSON?: () => Record<string, unknown>;
}

/**
 * Whether koa-session's middleware has started on this request. koa-session defines `ctx.session`
 * on the app's context prototype as soon as it is created, so the getter works even when its
 * middleware is mounted after the route, where nothing it does is ever committed. Its middleware
 * opens the per-request session state first thing: an own symbol-keyed object of the context
 * that points back at it.
 */
function koaSessionStarted(ctx: KoaLikeContext): KoaContextSession | undefined {
  for (const key of Object.getOwnPropertySymbols(ctx)) {
    const value: unknown = (ctx as unknown as Record<symbol, unknown>)[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      (value as { ctx?: unknown }).ctx === ctx &&
      typeof (value as { commit?: unknown }).commit === 'function'
    ) {
      return value as KoaContextSession;
    }
  }
  return undefined;
}

/** koa-session's per-request state: with an external store, the store and this session's key. */
interface KoaContextSession {
  readonly store?: {
    get?: (key: string, maxAge?: unknown, options?: unknown) => unknown;
    destroy?: (key: string, options?: unknown) => unknown;
  };
  externalKey?: string | undefined;
  /** koa-session's state: `undefined` while the request has not touched the session, when its own commit does nothing. */
  session?: unknown;
  commit(): Promise<void>;
}

/**
 * koa-session's external store (koa-redis, …) as the route uses it, called as koa-session calls it
 * (`get(key, maxAge, { rolling, ctx })`, `destroy(key, { ctx })`): a store may need them, and
 * `guardSessionStore` checks them. Other sessions are read without rolling, so reading them does
 * not lengthen them.
 */
function storeAccess(contextSession: KoaContextSession, ctx: KoaLikeContext): SessionStoreAccess | undefined {
  const store = contextSession.store;
  if (typeof store?.get !== 'function' || typeof store.destroy !== 'function') return undefined;
  const { get, destroy } = store as Required<NonNullable<KoaContextSession['store']>>;
  const maxAge = (ctx.sessionOptions as { maxAge?: unknown } | undefined)?.maxAge;
  return {
    get: (id) => Promise.resolve(get.call(store, id, maxAge, { rolling: false, ctx })),
    destroy: async (id) => {
      await destroy.call(store, id, { ctx });
    },
  };
}

// koa-session's cookie, when its `key` option is not given.
const KOA_SESSION_DEFAULT_KEY = 'koa.sess';

const KOA_SESSION_NOT_STARTED =
  'koa-session is set up for this app, but its middleware has not run for this request: app.use(session(…, app)) must come before the router that mounts the sign-out route.';

function koaSessionKey(ctx: KoaLikeContext): string {
  const key = (ctx.sessionOptions as { key?: unknown } | undefined)?.key;
  return typeof key === 'string' ? key : KOA_SESSION_DEFAULT_KEY;
}

/**
 * A refusal changes nothing: koa-session's commit after the answer does nothing (no rolling cookie
 * of a session planted first, whatever the app reads or writes after the route), and what the
 * `cookies` library wrote when it read a value planted first (its `.sig` deleted or signed anew) is
 * taken back. The session stays as it was loaded, for the app's hooks to read.
 */
function leftAsItWas(ctx: KoaLikeContext, contextSession: KoaContextSession): void {
  contextSession.commit = () => Promise.resolve();
  const key = koaSessionKey(ctx);
  takeBackSessionCookies(ctx.res, [key, `${key}.sig`]);
}

/** koa-session's session, once started and seen at this path, in the core's terms. */
function koaSessionBinding(ctx: KoaLikeContext, contextSession: KoaContextSession): SessionBinding {
  // With an external store, koa-session's own commit would destroy the session in the store again
  // (holding the answer until the store has answered, and turning a failure into Koa's bare 500).
  // Once the route has removed it, koa-session forgets its key: its commit then only clears the
  // cookie again. Once the route has stopped waiting for the store, koa-session is told the session
  // was never touched: its commit does nothing (no save, no cookie). Cookie mode has no store.
  const removed = (): void => {
    if (contextSession.store !== undefined) contextSession.externalKey = undefined;
  };
  const untouched = (): void => {
    if (contextSession.store !== undefined) contextSession.session = undefined;
  };
  // koa-session's removal of the session set to null, made now rather than when the answer goes out.
  const commitRemoval = async (): Promise<void> => {
    await contextSession.commit();
    removed();
  };
  return {
    kind: 'supported',
    data: ctx.session ?? undefined,
    current: () => ctx.session,
    // A replacement keeps its key (or cookie), `regenerate()` its data: only null ends a session.
    sessionLives: () => ctx.session !== null && ctx.session !== undefined,
    cookies: () => [],
    cookieName: () => koaSessionKey(ctx),
    middlewareStore: () => contextSession.store,
    stored: () => ({ id: contextSession.externalKey, store: storeAccess(contextSession, ctx) }),
    end: async () => {
      const current = ctx.session as KoaSessionLike | null | undefined;
      ctx.session = null;
      // Commit the removal now: a store that fails is then reported, not discovered after the
      // answer is written, and the cookie clearing is on the response before any error is
      // thrown (Koa's error handler keeps only the error's own headers).
      if (current === null || current === undefined) return;
      try {
        await commitRemoval();
      } catch (error) {
        // Put the session back as it was, so koa-session neither retries the removal nor
        // drops the cookie of a session that still exists.
        ctx.session = current.toJSON?.() ?? {};
        throw error;
      }
    },
    // The route stopped waiting for the store: koa-session's own commit must neither wait on it
    // again (holding the answer) nor drop the cookie of a session that may still exist.
    abandoned: untouched,
    unchanged: () => {
      leftAsItWas(ctx, contextSession);
    },
    // An app's endSession that set the session to null: its removal from the store, made now.
    commitEnded: async () => {
      if (contextSession.store === undefined || contextSession.session !== false) return;
      try {
        await commitRemoval();
      } catch (error) {
        untouched();
        throw error;
      }
    },
  };
}

function sessionBinding(ctx: KoaLikeContext): SessionBinding {
  // koa-session: `ctx.sessionOptions` is its mark (checked with `in`: reading it would start the
  // session state and hide a missing middleware). Setting the session to null makes it destroy the
  // store entry (external stores) and delete its cookie and `.sig` companion with its own options.
  if ('sessionOptions' in ctx) {
    const contextSession = koaSessionStarted(ctx);
    if (contextSession === undefined) return { kind: 'none', detail: KOA_SESSION_NOT_STARTED };
    const cookiePath = (ctx.sessionOptions as { path?: unknown } | undefined)?.path;
    const requestPath = pathOfTarget(ctx.originalUrl ?? ctx.url);
    if (typeof cookiePath === 'string' && !cookiePathCovers(cookiePath, requestPath)) {
      return { kind: 'none', detail: cookiePathDetail(cookiePath, requestPath) };
    }
    return koaSessionBinding(ctx, contextSession);
  }
  const session = ctx.session;
  if (session === undefined || session === null) return { kind: 'none' };
  return { kind: 'unknown', data: session, current: () => ctx.session };
}

function bodyOf(ctx: KoaLikeContext, timeoutMs: number): MaybePromise<RequestBody | undefined> {
  return parsedOrRead(ctx.request.body, ctx.req, timeoutMs);
}

/** The slice of @koa/router's and koa-mount's routing state the route reads. */
interface RouterLayer {
  readonly methods?: readonly string[];
  readonly stack?: readonly unknown[];
}
interface RoutedContext {
  readonly matched?: readonly RouterLayer[];
  readonly mountPath?: string;
  readonly path?: string;
}

/** Whether the app took the response over before the route: no answer could say what was done. */
function takenOver(ctx: KoaLikeContext): boolean {
  return ctx.respond === false || ctx.res.headersSent;
}

const NOT_ROUTED =
  'the Koa sign-out route was mounted without a path (`app.use(ssoSignOut(…))` or `router.use(…)`), or is called from a function of the app\'s (`(ctx, next) => signOut(ctx, next)`), so it passes every request on and signs nobody out. Mount the middleware itself on its path with a router: router.all("/signout", ssoSignOut(…)), or with koa-mount; work of the app\'s own goes in a middleware before it.';

/**
 * Whether this request was routed to the sign-out route: a @koa/router (or koa-router) route that
 * lists it, or koa-mount at exactly its path (`below` it, the request is another's). Mounted with no
 * path, the middleware would see every request of the app; it must sign nobody out then.
 */
function routing(ctx: KoaLikeContext, self: unknown): 'here' | 'below' | 'unrouted' {
  const routed = ctx as unknown as RoutedContext;
  const layers: readonly RouterLayer[] = Array.isArray(routed.matched) ? routed.matched : [];
  const isRoute = (layer: RouterLayer): boolean => Array.isArray(layer.methods) && layer.methods.length > 0;
  // Only a route layer that lists this middleware: another route matching the path (for another
  // method, or passing on with next()) says nothing about this one.
  if (layers.some((layer) => isRoute(layer) && Array.isArray(layer.stack) && layer.stack.includes(self))) return 'here';
  // koa-mount: its path is the route's; a request below it (`/signout/x`) is simply not the route's.
  if (typeof routed.mountPath === 'string') return routed.path === '/' ? 'here' : 'below';
  return 'unrouted';
}

/**
 * Creates the sign-out route for Koa 2 and 3. Mount it on its path with a router (or koa-mount);
 * mounted without one (`app.use(ssoSignOut())`) it passes every request on and warns once,
 * signing nobody out.
 *
 * @example
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import session from 'koa-session';
 * import { ssoSignOut } from 'sso-signout/koa';
 *
 * const app = new Koa();
 * app.keys = [process.env.SESSION_KEY];
 * app.use(session({ key: 'portal.sess' }, app));
 * const router = new Router();
 * router.all('/signout', ssoSignOut({ region: 'eu-west-1', destination: '/signed-out' }));
 * app.use(router.routes());
 */
export function ssoSignOut<Ctx extends Context = Context>(options?: KoaSignOutOptions<Ctx>): KoaSignOutMiddleware<Ctx> {
  assertFactoryCall(options, arguments.length, 2, 'router.all("/signout", ssoSignOut({ region: "us-east-1" }))');
  const core = createSignOutCore<Ctx>(options);

  return async function signOutMiddleware(native, next) {
    // Express calls a middleware with (req, res, next), Fastify a handler with (request, reply),
    // Hono or Next.js with a Request: answer them, never throw into a framework that may not catch
    // a rejected promise (Express 4).
    const foreign = foreignCall('koa', native, next);
    // A Web-standard framework takes the answer as the handler's return value.
    if (foreign !== undefined) return answerForeignCall(core, 'koa', foreign) as undefined;
    const ctx = native as unknown as KoaLikeContext;
    const routed = routing(ctx, signOutMiddleware);
    if (routed !== 'here') {
      if (routed === 'unrouted') core.warn('SSO_SIGNOUT_NOT_ROUTED', NOT_ROUTED);
      await next();
      return;
    }
    if (takenOver(ctx)) {
      core.warn('SSO_SIGNOUT_ALREADY_ANSWERED', ALREADY_ANSWERED);
      return;
    }
    let bodyRead: { readonly body: MaybePromise<RequestBody | undefined> } | undefined;
    const answer = await core.handle({
      native,
      method: ctx.method,
      headers: ctx.req.headers,
      address: () => ({ protocol: ctx.protocol, host: ctx.host }),
      untrustedProxyHint: () =>
        ctx.app.proxy ||
        (ctx.req.headers['x-forwarded-proto'] === undefined && ctx.req.headers['x-forwarded-host'] === undefined)
          ? undefined
          : 'app.proxy = true (and app.proxyIpHeader or maxIpsCount as the proxy needs)',
      url: ctx.originalUrl ?? ctx.url,
      query: (name) => queryField(ctx.query, name),
      body: (timeoutMs) => (bodyRead ??= { body: bodyOf(ctx, timeoutMs) }).body,
      session: sessionBinding(ctx),
    });
    writeHeaders(answer.headers, ctx);
    if (answer.delegate !== undefined) {
      // Koa's default error handler drops every header but the error's own: carry the cookie
      // clearing (the session middleware's included) along with it.
      const cookies = ctx.res.getHeader('set-cookie');
      if (cookies === undefined) throw answer.delegate;
      throw answer.delegate.withHeaders({ 'set-cookie': Array.isArray(cookies) ? cookies : [String(cookies)] });
    }
    if (answer.body === undefined) {
      // A null body (set before the status, which it would otherwise turn into 204) makes Koa send
      // none at all, rather than its "See Other" text.
      ctx.body = null;
      ctx.status = answer.status;
      // Framed by its length (Koa 3 does this itself, Koa 2 does not): without it Node must close
      // the connection to end the answer.
      ctx.length = 0;
      return;
    }
    ctx.status = answer.status;
    ctx.body = answer.body;
  };
}

/**
 * The id koa-session keeps this request's session under in its external store: what to give
 * `sessionIndex.add` at sign-in. Read it after `ctx.session.regenerate()` (`ctx.session.externalKey`
 * still names the old one then). Undefined without koa-session's middleware or an external store.
 *
 * @example
 * await ctx.session.regenerate();
 * ctx.session.sso = { accessToken };
 * await sessionIndex.add(user, sessionIdOf(ctx));
 */
export function sessionIdOf(ctx: Context): string | undefined {
  const key = koaSessionStarted(ctx as unknown as KoaLikeContext)?.externalKey;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

export { guardKoaSessionStore as guardSessionStore } from './core/session-guard.js';
export type { KoaSessionStoreLike } from './core/session-guard.js';
export * from './common-exports.js';
