// The Fastify adapter: translates a Fastify request into the core's terms and the core's answer back.

import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { describeValue } from './core/errors.js';
import {
  callbackStoreAccess,
  destroyLeftSession,
  readsAs,
  storedUnder,
  storeFailure,
} from './core/everywhere/callback-store.js';
import { readSmallBody, type MaybePromise, type RequestBody } from './core/route/body.js';
import { repeatedSignedCookieName, signedSessionCookieName } from './core/route/cookies.js';
import { answerForeignCall, foreignCall } from './core/route/foreign.js';
import { ALREADY_ANSWERED } from './core/warnings.js';
import type { SignOutOptions } from './core/route/options.js';
import {
  headerOf,
  holdsAppData,
  queryField,
  replyHeaderWriter,
  writeHeaders,
  type SessionBinding,
  type SessionCookie,
  type SignOutCore,
} from './core/route/request.js';
import { createSignOutCore } from './core/route/route.js';
import { assertFactoryCall, configError } from './core/validate.js';

/**
 * Options of the Fastify route. `getToken`, `endSession` and `render` receive Fastify's own
 * `FastifyRequest`.
 */
export type FastifySignOutOptions<Req extends FastifyRequest = FastifyRequest> = SignOutOptions<Req>;

/** A Fastify route handler: `app.all('/signout', ssoSignOut(…))`. */
export type FastifySignOutHandler<Req extends FastifyRequest = FastifyRequest> = (
  request: Req,
  reply: FastifyReply,
) => Promise<FastifyReply | undefined>;

/** Options of {@link ssoSignOutPlugin}: the route's options, and the path to register it on. */
export interface FastifySignOutPluginOptions<
  Req extends FastifyRequest = FastifyRequest,
> extends FastifySignOutOptions<Req> {
  /** The path of the route, below the plugin's `prefix`. Default `/signout`. */
  readonly path?: string | undefined;
}

/** The last entry of a comma-separated header: the one Fastify reads when it trusts the proxy. */
function lastEntry(value: string): string {
  return value.slice(value.lastIndexOf(',') + 1).trim();
}

// X-Forwarded-* the app does not trust: Fastify reads them (its last entries) only for a trusted
// peer, so a header whose value it did not take was not trusted.
function untrustedProxyHint(request: FastifyRequest): string | undefined {
  const proto = headerOf(request.raw, 'x-forwarded-proto');
  const host = headerOf(request.raw, 'x-forwarded-host');
  if (proto === undefined && host === undefined) return undefined;
  const used =
    (proto === undefined || request.protocol === lastEntry(proto)) &&
    (host === undefined || request.host === lastEntry(host));
  return used ? undefined : "Fastify({ trustProxy: … }) with the proxy's address or hop count";
}

/** @fastify/secure-session's session: a proxy over its data, deleted by `delete()`. */
interface SecureSessionLike {
  readonly deleted: boolean;
  data(): Record<string, unknown>;
  delete(): void;
}

/** @fastify/session's session: kept in a store by id, ended by `destroy()`. */
interface FastifySessionLike {
  readonly sessionId?: unknown;
  readonly cookie?: {
    readonly path?: string | null;
    readonly domain?: string | null;
    readonly secure?: boolean | 'auto' | null;
    readonly httpOnly?: boolean;
    readonly sameSite?: boolean | 'lax' | 'strict' | 'none' | null;
    readonly partitioned?: boolean;
  };
  destroy(): Promise<void>;
}

interface SessionRequest {
  session?: unknown;
  readonly sessionStore?: unknown;
}

const FASTIFY_SESSION_DEFAULT_NAME = 'sessionId';

function isSecureSession(value: object): value is SecureSessionLike {
  const s = value as Partial<SecureSessionLike>;
  return typeof s.data === 'function' && typeof s.delete === 'function' && typeof s.deleted === 'boolean';
}

/** @fastify/session's own in-memory store (a plain `Store` over a Map): no other instance sees it. */
function isFastifyMemoryStore(store: unknown): boolean {
  const s = store as { constructor?: { name?: unknown }; store?: unknown } | null | undefined;
  return s?.constructor?.name === 'Store' && s.store instanceof Map;
}

function secureSessionBinding(request: FastifyRequest, session: SecureSessionLike): SessionBinding {
  return {
    kind: 'supported',
    data: session.data(),
    // Deleted, the session still answers reads until the response is sent: it has no sign-in then.
    current: () => {
      const now = (request as unknown as SessionRequest).session;
      return readsAs(now, (v) => isSecureSession(v) && !v.deleted) ? (now as SecureSessionLike).data() : null;
    },
    // Its one cookie holds the session: whatever is still on the request is written there (its
    // `regenerate` empties the session but keeps it); only `delete()` ends it.
    sessionLives: () => {
      const now = (request as unknown as SessionRequest).session;
      // Anything but its own session deleted: written back by its onSend as it stands, if at all.
      return now !== null && now !== undefined && !readsAs(now, (v) => isSecureSession(v) && v.deleted);
    },
    // A session set to null is one its onSend leaves alone, cookie and all: deleted instead.
    commitEnded: () => {
      const own = request as unknown as SessionRequest;
      if (own.session === null || own.session === undefined) {
        own.session = session;
        session.delete();
      }
      return Promise.resolve();
    },
    // It clears its own cookie (with its own options) when the response is sent. Its name is not
    // guessed (its \`cookieName\` option is not exposed): \`sessionCookieName\` gives it.
    cookies: () => [],
    end: () => {
      session.delete();
      return Promise.resolve();
    },
    // A refusal changes nothing: a session that stays unchanged, whatever the app writes to it, is
    // one its onSend does not write (it would write one decrypted with a retired key anew, or the
    // session of a cookie planted first, for its path).
    unchanged: () => {
      // What a hook left that is not its session (`{}`, a revoked Proxy its onSend would throw on) is
      // replaced by the session as it was read.
      const own = request as unknown as SessionRequest;
      if (own.session !== null && own.session !== undefined && !readsAs(own.session, isSecureSession)) {
        own.session = session;
      }
      Object.defineProperty(session, 'changed', { get: () => false, set: () => undefined, configurable: true });
    },
  };
}

const NOT_STARTED =
  "@fastify/session started no session for this request: its cookie's path does not cover the sign-out route's. Give the session cookie a path that covers it (`cookie: { path: '/' }`).";

const ABSOLUTE_FORM =
  'The request names its target in absolute form (`POST http://host/path`), for which @fastify/session starts no session, so this request cannot see its session. Browsers send the path alone.';

/** Whether `value` is a session @fastify/session made (it has its id). */
function isFastifySession(value: unknown): value is { readonly sessionId: string } {
  // A value that cannot even be read (a revoked Proxy an app's hook left) is no session.
  return readsAs(value, (v) => typeof (v as { sessionId?: unknown }).sessionId === 'string');
}

/**
 * After an app's `endSession`: whether @fastify/session's session lives on. Reloaded, it is the same
 * (the same id); regenerated, it has another id and lives on only if the hook gave it the app's data
 * again. Anything else in its place (`{}`, `false`) is the session cleared, ended as one set to null.
 */
function sessionLivesOn(request: FastifyRequest, id: string | undefined): boolean {
  const now = (request as unknown as SessionRequest).session;
  if (!isFastifySession(now)) return false;
  return now.sessionId === id || holdsAppData(now);
}

function fastifySessionBinding(request: FastifyRequest, session: FastifySessionLike): SessionBinding {
  const id = typeof session.sessionId === 'string' ? session.sessionId : undefined;
  let found: SessionCookie[] | undefined;
  return {
    kind: 'supported',
    data: session,
    current: () => (request as unknown as SessionRequest).session,
    sessionLives: () => sessionLivesOn(request, id),
    // Set to null, @fastify/session neither destroys it in its store nor touches its cookie.
    commitEnded: () => destroyLeftSession(request, id, isFastifySession),
    // The session the request came with, by its id: a regenerate whose destroy failed leaves it.
    stillStored: () => storedUnder(request, id),
    // Found once: the route asks before the session ends and again to clear it.
    cookies: () => {
      if (found !== undefined) return found;
      const c = session.cookie ?? {};
      const header = headerOf(request.raw, 'cookie');
      // The signed id, after `cookiePrefix` if given (`s:` shares express-session's cookies).
      const detectedName = signedSessionCookieName(header, id, '') ?? signedSessionCookieName(header, id, 's:');
      found = [
        {
          detectedName,
          repeatedName: repeatedSignedCookieName(header, ''),
          defaultName: FASTIFY_SESSION_DEFAULT_NAME,
          path: c.path ?? undefined,
          domain: c.domain ?? undefined,
          secure: c.secure === true,
          httpOnly: c.httpOnly,
          sameSite: c.sameSite ?? undefined,
          partitioned: c.partitioned,
        },
      ];
      return found;
    },
    middlewareStore: () => (request as unknown as SessionRequest).sessionStore,
    stored: () => {
      const store = (request as unknown as SessionRequest).sessionStore;
      return { id, store: callbackStoreAccess(store, isFastifyMemoryStore(store)) };
    },
    end: () =>
      session.destroy().catch((error: unknown) => {
        throw storeFailure(error);
      }),
    // The route stopped waiting for the store: without a session on the request, @fastify/session's
    // own onSend neither saves it (`rolling`, its default, would wait on the store again, holding the
    // answer) nor touches its cookie.
    abandoned: () => {
      (request as unknown as SessionRequest).session = null;
    },
    // A refusal changes nothing. @fastify/session's onSend would clear a cookie of its name that does
    // not carry the session (with one planted first, the user's own), or write again, for its path,
    // the cookie of a session planted first (another user's). A session without an encrypted id is
    // one it leaves alone; the session itself stays on the request for the app's hooks.
    unchanged: () => {
      Object.defineProperty(session, 'encryptedSessionId', { value: undefined, configurable: true });
    },
  };
}

const SECURE_SESSION_NAMED =
  '@fastify/secure-session is registered, but this request has no `request.session`: with a `sessionName` of its own, give `getToken` and `endSession` that read and delete `request[sessionName]` (and list its cookie in `clearCookies` if `endSession` does not delete it).';

function sessionBinding(request: FastifyRequest): SessionBinding {
  const own = request as unknown as SessionRequest;
  const session = own.session;
  if (session === undefined || session === null || typeof session !== 'object') {
    const secureSession =
      typeof (request.server as { decodeSecureSession?: unknown }).decodeSecureSession === 'function';
    return secureSession && session === undefined ? { kind: 'none', detail: SECURE_SESSION_NAMED } : { kind: 'none' };
  }
  if (isSecureSession(session)) return secureSessionBinding(request, session);
  if ('sessionStore' in own && own.sessionStore !== undefined) {
    const candidate = session as Partial<FastifySessionLike>;
    if (typeof candidate.destroy === 'function') return fastifySessionBinding(request, session as FastifySessionLike);
    // Outside its cookie's path, @fastify/session leaves a plain empty object; it does so too for a
    // request line in absolute form (`POST http://host/signout`), whose target it compares as it is.
    if (Object.keys(session).length === 0) {
      return request.raw.url?.startsWith('/') === false
        ? { kind: 'none', detail: ABSOLUTE_FORM, byRequest: true }
        : { kind: 'none', detail: NOT_STARTED };
    }
  }
  return { kind: 'unknown', data: session, current: () => own.session };
}

// A parser the app registered (@fastify/formbody, Fastify's own JSON one) left the body parsed;
// else the stream is unread and read here.
function bodyOf(request: FastifyRequest, timeoutMs: number): MaybePromise<RequestBody | undefined> {
  const parsed = request.body;
  return parsed === undefined || parsed === null ? readSmallBody(request.raw, timeoutMs) : { parsed };
}

const NOT_ROUTED =
  'the Fastify sign-out route runs as a hook or a not-found handler, so it would sign out on every path: it passes those requests on and signs nobody out. Register it as a route: app.all("/signout", ssoSignOut(…)), or app.register(ssoSignOutPlugin, { path: "/signout", … }).';

const NO_FORM_PARSER =
  'this Fastify app has no parser for form bodies (unless a catch-all parser of its own takes them), so Fastify answers the form posts browsers send to the sign-out route with 415 before the route runs. Register the route with the plugin, which reads them itself: app.register(ssoSignOutPlugin, { path: "/signout", … }); or register @fastify/formbody.';

const NOT_AN_ERROR_HANDLER =
  'the Fastify sign-out route is set as an error handler (app.setErrorHandler): it hands every error on to the error handler above it and signs nobody out. Register it as a route: app.all("/signout", ssoSignOut(…)).';

/**
 * A call that is not Fastify routing a request to the route: a hook's (which also gets `done`, an
 * `onSend` hook the payload too), a not-found handler's (every unknown path), an error handler's
 * (`(error, request, reply)`). Nobody is signed out: the request goes on (a not-found one answered
 * `404`), an error to the error handler above. A routed call whose reply a hook already sent or
 * wrote to changes nothing either. Undefined for a routed call to answer.
 */
function misrouted<Req>(
  core: SignOutCore<Req>,
  request: FastifyRequest,
  reply: FastifyReply,
  argumentCount: number,
): { readonly result: FastifyReply | undefined } | undefined {
  if (argumentCount <= 2 && !request.is404) {
    // A hook before it answered, or wrote to the raw response: no answer could say what was done.
    if (!reply.sent && !reply.raw.headersSent) return undefined;
    core.warn('SSO_SIGNOUT_ALREADY_ANSWERED', ALREADY_ANSWERED);
    return { result: reply };
  }
  const error: unknown = request;
  if (error instanceof Error && argumentCount === 3) {
    core.warn('SSO_SIGNOUT_NOT_ROUTED', NOT_AN_ERROR_HANDLER, 'error handler');
    throw error;
  }
  core.warn('SSO_SIGNOUT_NOT_ROUTED', NOT_ROUTED);
  if (!request.is404) return { result: undefined };
  return { result: reply.code(404).send({ message: 'Not Found', error: 'Not Found', statusCode: 404 }) };
}

/**
 * The handler over a core. `readsBodies`: registered by the plugin, which leaves every body to the
 * route, so the app's form parser does not matter.
 */
function handlerOf<Req extends FastifyRequest>(
  core: SignOutCore<Req>,
  readsBodies: boolean,
): FastifySignOutHandler<Req> {
  let checkedParsers = readsBodies;
  return async function signOutHandler(request: Req, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // Express calls a handler with (req, res, next), Koa with (ctx, next), Hono or Next.js with a
    // Request: answer them, never throw into a framework that may not catch a rejected promise.
    const foreign = foreignCall('fastify', request, reply);
    if (foreign !== undefined) return answerForeignCall(core, 'fastify', foreign) as FastifyReply | undefined;
    const passed = misrouted(core, request, reply, arguments.length);
    if (passed !== undefined) return passed.result;
    if (!checkedParsers) {
      checkedParsers = true;
      if (!request.server.hasContentTypeParser('application/x-www-form-urlencoded')) {
        core.warn('SSO_SIGNOUT_NO_FORM_PARSER', NO_FORM_PARSER);
      }
    }
    let bodyRead: { readonly body: MaybePromise<RequestBody | undefined> } | undefined;
    const answer = await core.handle({
      native: request,
      method: request.method,
      headers: request.raw.headers,
      address: () => ({ protocol: request.protocol, host: request.host }),
      untrustedProxyHint: () => untrustedProxyHint(request),
      url: request.url,
      query: (name) => queryField(request.query, name),
      body: (timeoutMs) => (bodyRead ??= { body: bodyOf(request, timeoutMs) }).body,
      session: sessionBinding(request),
    });
    writeHeaders(answer.headers, replyHeaderWriter(reply));
    if (answer.delegate !== undefined) {
      // The headers are on the reply, as Express has them before next(err), so an app's own error
      // handler keeps them. Fastify's default handler sets `err.headers` again: without Set-Cookie,
      // which would be written twice, and with the Vary the reply has.
      const vary = reply.getHeader('vary');
      throw answer.delegate.withHeaders({
        'set-cookie': undefined,
        ...(vary === undefined ? {} : { vary: String(vary) }),
      });
    }
    return reply.code(answer.status).send(answer.body);
  };
}

/**
 * Creates the sign-out route handler for Fastify 5: register it on its path with `app.all`, so other
 * methods get a truthful `405`. It reads a form body itself only where the app has a parser that
 * lets it through (`@fastify/formbody`); {@link ssoSignOutPlugin} needs none.
 *
 * @example
 * import Fastify from 'fastify';
 * import fastifyCookie from '@fastify/cookie';
 * import fastifySession from '@fastify/session';
 * import formbody from '@fastify/formbody';
 * import { ssoSignOut } from 'sso-signout/fastify';
 *
 * const app = Fastify();
 * await app.register(fastifyCookie);
 * await app.register(fastifySession, { secret: process.env.SESSION_SECRET ?? '' });
 * await app.register(formbody);
 * app.all('/signout', ssoSignOut({ region: 'eu-west-1', destination: '/signed-out' }));
 */
export function ssoSignOut<Req extends FastifyRequest = FastifyRequest>(
  options?: FastifySignOutOptions<Req>,
): FastifySignOutHandler<Req> {
  // Registered as a plugin (`app.register(ssoSignOut, { … })`): Fastify's `ready()` rejects with this.
  // (Read from `arguments`: a rest parameter would show in the factory's public signature.)
  // eslint-disable-next-line prefer-rest-params
  const done: unknown = arguments[2];
  if (arguments.length === 3 && typeof done === 'function' && isFastifyInstance(options)) {
    (done as (error: Error) => void)(configError('options', 'misuse', FACTORY_AS_PLUGIN));
    return undefined as unknown as FastifySignOutHandler<Req>;
  }
  assertFactoryCall(options, arguments.length, 2, 'app.all("/signout", ssoSignOut({ region: "us-east-1" }))');
  return handlerOf(createSignOutCore<Req>(options), false);
}

function isFastifyInstance(value: unknown): boolean {
  const v = value as { register?: unknown; decorate?: unknown } | null | undefined;
  return typeof v?.register === 'function' && typeof v.decorate === 'function';
}

// What Fastify itself passes to a plugin besides its own options.
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'] as const;

function pluginOptions(value: unknown): { readonly path: string; readonly route: Record<string, unknown> } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError('options', 'not_an_object', `options must be an object; got ${describeValue(value)}.`);
  }
  const route = Object.fromEntries(
    Object.entries(value).filter(
      ([name]) => name !== 'path' && !(REGISTER_OPTIONS as readonly string[]).includes(name),
    ),
  );
  const path = (value as { path?: unknown }).path ?? '/signout';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw configError('path', 'wrong_type', `\`path\` must be a path starting with "/"; got ${describeValue(path)}.`);
  }
  return { path, route };
}

// A body parser that leaves the stream unread, for the route to read itself within its bounds.
function leaveUnread(_request: FastifyRequest, _payload: unknown, done: (error: null, body?: unknown) => void): void {
  done(null, undefined);
}

/**
 * A Fastify plugin that registers the sign-out route on `path` (default `/signout`, below the
 * registration's `prefix`) for every method Fastify's `all` routes (a method outside it, such as
 * `PROPFIND`, gets Fastify's `404`). Inside it, request bodies are left to the route,
 * which reads form and JSON bodies itself (16 KiB at most): no body parser is needed, and the app's
 * parsers stay as they are elsewhere. Register it after the session plugin.
 *
 * @example
 * await app.register(fastifyCookie);
 * await app.register(fastifySession, { secret: process.env.SESSION_SECRET ?? '' });
 * await app.register(ssoSignOutPlugin, { path: '/signout', region: 'eu-west-1', destination: '/signed-out' });
 */
export const ssoSignOutPlugin: FastifyPluginCallback<FastifySignOutPluginOptions> = function ssoSignOutPlugin(
  fastify: FastifyInstance,
  options: FastifySignOutPluginOptions,
  done: (error?: Error) => void,
): void {
  // Mounted as a route's handler (`app.all('/signout', ssoSignOutPlugin)`): Fastify answers 500 with this.
  if (typeof done !== 'function') throw configError('options', 'misuse', PLUGIN_AS_HANDLER);
  try {
    const parsed = pluginOptions(options);
    const handler = handlerOf(createSignOutCore<FastifyRequest>(parsed.route as FastifySignOutOptions), true);
    // In a context of its own even when the plugin is not (wrapped in fastify-plugin, it runs in the
    // app's): bodies are left to the route here, and nowhere else.
    // fastify-plugin marks the function it wraps, and Fastify then applies no `prefix` to it: the
    // route's context takes it instead.
    const wrapped = (ssoSignOutPlugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] === true;
    const prefix = (options as { prefix?: unknown }).prefix;
    const own: { prefix?: string } = wrapped && typeof prefix === 'string' ? { prefix } : {};
    void fastify.register((context: FastifyInstance, _options: unknown, registered: (error?: Error) => void) => {
      try {
        context.removeAllContentTypeParsers();
        context.addContentTypeParser('*', leaveUnread);
        context.all(parsed.path, handler);
      } catch (error) {
        // A path the app already routes: Fastify reports it from ready(), never as uncaught.
        registered(error as Error);
        return;
      }
      registered();
    }, own);
  } catch (error) {
    // A bad option: Fastify reports it from `ready()` / `listen()`, as it does a plugin's own errors,
    // never as an uncaught exception.
    done(error as Error);
    return;
  }
  done();
};

const PLUGIN_AS_HANDLER =
  'ssoSignOutPlugin is a plugin: register it with app.register(ssoSignOutPlugin, { path: "/signout", … }), or mount the handler app.all("/signout", ssoSignOut({ … })).';

const FACTORY_AS_PLUGIN =
  'ssoSignOut makes a route handler, not a plugin: register the plugin with app.register(ssoSignOutPlugin, { path: "/signout", … }), or mount app.all("/signout", ssoSignOut({ … })).';

/**
 * The id @fastify/session keeps this request's session under in its store: what to give
 * `sessionIndex.add` at sign-in. Read it after `request.session.regenerate()`. Undefined without
 * @fastify/session.
 *
 * @example
 * await request.session.regenerate();
 * request.session.set('sso', { accessToken });
 * await sessionIndex.add(user, sessionIdOf(request));
 */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const session = (request as unknown as SessionRequest).session as { sessionId?: unknown } | null | undefined;
  const id = session?.sessionId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export { guardSessionStore } from './core/session-guard.js';
export type { ExpressSessionStoreLike } from './core/session-guard.js';
export * from './common-exports.js';
