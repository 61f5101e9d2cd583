// One harness per framework and session middleware, so the behaviour suite is written once for all.

import Router from '@koa/router';
import cookieSession from 'cookie-session';
import express5 from 'express';
import session from 'express-session';
import express4 from 'express4';
import Koa from 'koa';
import Koa2 from 'koa2';
import koaSession from 'koa-session';
import fastifyCookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import fastifySecureSession from '@fastify/secure-session';
import fastifySession from '@fastify/session';
import { getRequestListener } from '@hono/node-server';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Hono, type Context as HonoContext } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import {
  ssoSignOut as expressSignOut,
  type CookieToClear,
  type LogoutClient,
  type SignOutError,
  type SignOutOptions,
  type TokenInfo,
} from 'sso-signout';
import type { Context } from 'koa';
import { ssoSignOut as koaSignOut } from 'sso-signout/koa';
import {
  ssoSignOut as fastifySignOut,
  ssoSignOutPlugin as fastifySignOutPlugin,
  type FastifySignOutOptions,
} from 'sso-signout/fastify';
import { createSignOutHandler, type FetchSignOutOptions } from 'sso-signout/fetch';

type AnyRecord = Record<string, unknown>;

/** Route options, generic over the framework's request (tests only use what every adapter has). */
export type RouteOptions = Omit<SignOutOptions<unknown>, 'client' | keyof import('sso-signout').LogoutClientOptions>;

export interface BuildOptions {
  readonly signOut?: RouteOptions;
  /** Attributes for the session middleware's cookie. */
  readonly sessionCookie?: AnyRecord;
  /** Trust `X-Forwarded-*` from loopback (Express `trust proxy`, Koa `app.proxy`). */
  readonly trustProxy?: boolean;
  /** A middleware before the route sets this `Vary` header. */
  readonly presetVary?: string;
  /** An error handler answers `err.status` with body `custom`, after calling `onError`. */
  readonly catchErrors?: (err: unknown) => void;
  /** The session store's destroy fails (`true`) or never answers (`'hangs'`) (server-side stores only). */
  readonly failingDestroy?: boolean | 'hangs';
  /** The session store to use instead of an in-memory one (an express-session or koa-session store). */
  readonly store?: unknown;
  /** More session middleware options (`resave`, `rolling`, …). */
  readonly sessionOptions?: AnyRecord;
  /** A `GET /slow` route that waits for `release`, then (with `modify`) changes the session. */
  readonly slow?: { readonly entered: () => void; readonly release: Promise<void>; readonly modify: boolean };
}

export interface Adapter {
  readonly name: string;
  readonly framework: 'express' | 'koa' | 'fastify' | 'fetch';
  /**
   * The route finds the session middleware's session itself (every adapter but fetch, where the
   * app's `getToken` and `endSession` are the session), and can tell a session it cannot end.
   */
  readonly detectsSessions: boolean;
  /** The app's body parser reads a form before the route runs (Fastify behind @fastify/formbody). */
  readonly parsesBodyFirst: boolean;
  readonly sessionCookie: string;
  /** Session data lives server-side: a replayed old cookie is worthless after sign-out. */
  readonly serverSide: boolean;
  /** The session middleware writes a `.sig` companion cookie. */
  readonly sigCookie: boolean;
  /** The session middleware clears its cookie itself, with its own options. */
  build(client: LogoutClient, options?: BuildOptions): RequestListener;
  /** An app whose own middleware puts a session object on the request that the route cannot end. */
  buildWithForeignSession(client: LogoutClient, data: AnyRecord, signOut?: RouteOptions): RequestListener;
  /** An app with no session middleware at all, for custom getToken/endSession. */
  buildBare(client: LogoutClient, signOut: RouteOptions): RequestListener;
  /** A request header, read from the framework's native request (for getToken/endSession tests). */
  header(native: unknown, name: string): string | undefined;
  /** Removes the sign-in from the session, as an app's `endSession` hook would (adapters that detect sessions). */
  removeSignIn(native: unknown): void;
  /** Ends the session, as an app's `endSession` hook would (adapters that detect sessions). */
  endSessionIn(native: unknown): Promise<void>;
  /** Sets the request's session to null, as a hook may (adapters that detect sessions). */
  setSessionNull(native: unknown): void;
  /**
   * Takes the sign-in out in a way that keeps the session under its id or cookie, as a hook may:
   * saved and reloaded, replaced by an object holding the app's own user, or regenerated in place.
   */
  keepSessionAnew(native: unknown): Promise<void>;
  /**
   * Regenerates the session under a new id, as a hook may, with the app's `user` carried over or
   * not (koa-session's `regenerate` carries everything over); false where the middleware has no
   * regenerate of that kind (cookie-session, @fastify/secure-session, the fetch handler).
   */
  regenerateIn(native: unknown, carryUser: boolean): Promise<boolean>;
}

/**
 * A store frozen for a while (a Redis stalled), as `failingDestroy: 'hangs'` makes it: from its
 * destroy, which never answers, every other operation waits three seconds before it is carried out.
 */
class Stall {
  private until = 0;
  begin(): void {
    this.until = performance.now() + 3000;
  }
  on(): boolean {
    return performance.now() < this.until;
  }
  after(operation: () => void): void {
    const wait = this.until - performance.now();
    if (wait <= 0) operation();
    else setTimeout(operation, wait);
  }
}

function failingStoreDestroy(): Error {
  return new Error('store down');
}

// ---------------------------------------------------------------- Express

function expressAdapter(name: string, express: typeof express5, kind: 'express-session' | 'cookie-session'): Adapter {
  const cookieName = kind === 'express-session' ? 'portal.sid' : 'portal';
  return {
    name,
    framework: 'express',
    detectsSessions: true,
    parsesBodyFirst: false,
    sessionCookie: cookieName,
    serverSide: kind === 'express-session',
    sigCookie: kind === 'cookie-session',
    build(client, options = {}) {
      const app = express();
      if (options.trustProxy === true) app.set('trust proxy', 'loopback');
      if (kind === 'express-session') {
        const store = (options.store as session.Store | undefined) ?? new session.MemoryStore();
        if (options.failingDestroy === true) {
          store.destroy = (_sid, callback) => {
            callback?.(failingStoreDestroy());
          };
        }
        if (options.failingDestroy === 'hangs') {
          const stall = new Stall();
          // The MemoryStore's own methods, bound, for the stalled versions to call once it thaws.
          const set = store.set.bind(store);
          const get = store.get.bind(store);
          const touch = store.touch?.bind(store);
          store.destroy = () => {
            stall.begin();
          };
          store.set = (...args) => {
            stall.after(() => {
              set(...args);
            });
          };
          store.get = (...args) => {
            stall.after(() => {
              get(...args);
            });
          };
          if (touch !== undefined) {
            store.touch = (...args) => {
              stall.after(() => {
                touch(...args);
              });
            };
          }
        }
        app.use(
          session({
            name: cookieName,
            secret: 'test secret',
            resave: false,
            saveUninitialized: false,
            store,
            cookie: { sameSite: 'lax', ...options.sessionCookie },
            ...options.sessionOptions,
          }),
        );
      } else {
        app.use(cookieSession({ name: cookieName, keys: ['test key'], sameSite: 'lax', ...options.sessionCookie }));
      }
      if (options.presetVary !== undefined) {
        const vary = options.presetVary;
        app.use((_req, res, next) => {
          res.setHeader('Vary', vary);
          next();
        });
      }
      app.post('/test/signin', express.json({ limit: '2mb' }), (req, res) => {
        const body = req.body as AnyRecord;
        const s = (req as unknown as { session: AnyRecord }).session;
        s.sso = 'sso' in body ? body.sso : { accessToken: body.accessToken, region: body.region };
        Object.assign(s, body.extra);
        res.json({ ok: true });
      });
      app.get('/me', (req, res) => {
        const s = (req as unknown as { session?: AnyRecord | null }).session;
        res.json({ signedIn: s?.sso !== undefined && s.sso !== null });
      });
      if (options.slow !== undefined) {
        const slow = options.slow;
        app.get('/slow', (req, res) => {
          slow.entered();
          void slow.release.then(() => {
            const s = (req as unknown as { session?: AnyRecord | null }).session;
            if (slow.modify && s) s.visits = Number(s.visits ?? 0) + 1;
            res.json({ ok: true });
          });
        });
      }
      app.all('/signout', expressSignOut({ client, destination: '/signed-out', ...options.signOut }));
      if (options.catchErrors !== undefined) {
        const onError = options.catchErrors;
        app.use((err: unknown, _req: unknown, res: express5.Response, _next: unknown) => {
          onError(err);
          res.status((err as { status: number }).status).send('custom');
        });
      }
      return app;
    },
    buildWithForeignSession(client, data, signOut) {
      const app = express();
      app.use((req, _res, next) => {
        (req as unknown as { session: AnyRecord }).session = data;
        next();
      });
      app.all('/signout', expressSignOut({ client, ...signOut }));
      return app;
    },
    buildBare(client, signOut) {
      const app = express();
      app.all('/signout', expressSignOut({ client, ...signOut }));
      return app;
    },
    header(native, headerName) {
      const value = (native as IncomingMessage).headers[headerName];
      return Array.isArray(value) ? value[0] : value;
    },
    removeSignIn(native) {
      delete (native as { session: AnyRecord }).session.sso;
    },
    async endSessionIn(native) {
      const req = native as { session: (AnyRecord & { destroy?: (done: (error?: unknown) => void) => void }) | null };
      const { session } = req;
      // express-session's destroy; cookie-session's session set to null.
      if (typeof session?.destroy === 'function') {
        await new Promise<void>((resolve, reject) => {
          session.destroy?.((error) => {
            if (error === undefined || error === null) resolve();
            else reject(error instanceof Error ? error : new Error('the store failed'));
          });
        });
      } else req.session = null;
    },
    setSessionNull(native) {
      (native as { session: unknown }).session = null;
    },
    async keepSessionAnew(native) {
      const req = native as { session: AnyRecord & Record<'save' | 'reload', (done: (e?: unknown) => void) => void> };
      if (kind === 'cookie-session') {
        (req as { session: unknown }).session = { user: 'ada' };
        return;
      }
      delete req.session.sso;
      for (const step of ['save', 'reload'] as const) {
        await new Promise<void>((resolve, reject) => {
          req.session[step]((error) => {
            if (error === undefined || error === null) resolve();
            else reject(new Error(`the store failed to ${step}`));
          });
        });
      }
    },
    async regenerateIn(native, carryUser) {
      if (kind === 'cookie-session') return false;
      const req = native as { session: AnyRecord & { regenerate: (done: (e?: unknown) => void) => void } };
      const user = req.session.user;
      await new Promise<void>((resolve, reject) => {
        req.session.regenerate((error) => {
          if (error === undefined || error === null) resolve();
          else reject(new Error('the store failed to regenerate'));
        });
      });
      if (carryUser) req.session.user = user;
      return true;
    },
  };
}

// ---------------------------------------------------------------- Koa

class MemoryKoaStore {
  readonly data = new Map<string, unknown>();
  failDestroy: boolean | 'hangs' = false;
  /** Destroys asked for. */
  destroys = 0;
  private readonly stall = new Stall();
  get(key: string): Promise<unknown> {
    return new Promise((resolve) => {
      this.stall.after(() => {
        resolve(this.data.get(key));
      });
    });
  }
  set(key: string, value: unknown): Promise<void> {
    return new Promise((resolve) => {
      this.stall.after(() => {
        this.data.set(key, value);
        resolve();
      });
    });
  }
  destroy(key: string): Promise<void> {
    this.destroys++;
    if (this.failDestroy === 'hangs') {
      this.stall.begin();
      return new Promise<never>(() => undefined);
    }
    if (this.failDestroy) return Promise.reject(failingStoreDestroy());
    this.data.delete(key);
    return Promise.resolve();
  }
}

async function readJson(req: IncomingMessage): Promise<AnyRecord> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as AnyRecord;
}

type KoaApp = InstanceType<typeof Koa>;

// Koa's callback returns a promise it handles itself; Node wants a plain listener.
function listener(app: KoaApp): RequestListener {
  const callback = app.callback();
  return (req, res) => {
    void callback(req, res);
  };
}

function koaAdapter(name: string, KoaClass: typeof Koa, external: boolean): Adapter {
  const cookieName = 'portal.sess';
  return {
    name,
    framework: 'koa',
    detectsSessions: true,
    parsesBodyFirst: false,
    sessionCookie: cookieName,
    serverSide: external,
    sigCookie: true,
    build(client, options = {}) {
      const app: KoaApp = new KoaClass();
      app.keys = ['test key'];
      if (options.trustProxy === true) app.proxy = true;
      if (options.catchErrors !== undefined) {
        const onError = options.catchErrors;
        app.use(async (ctx, next) => {
          try {
            await next();
          } catch (err) {
            onError(err);
            ctx.status = (err as { status: number }).status;
            ctx.body = 'custom';
          }
        });
      }
      const memory = external ? new MemoryKoaStore() : undefined;
      if (memory !== undefined && options.failingDestroy !== undefined) memory.failDestroy = options.failingDestroy;
      const store = options.store ?? memory;
      app.use(
        koaSession(
          {
            key: cookieName,
            sameSite: 'lax',
            ...(store === undefined ? {} : { store }),
            ...options.sessionCookie,
            ...options.sessionOptions,
          } as Parameters<typeof koaSession>[0],
          app as never,
        ),
      );
      if (options.presetVary !== undefined) {
        const vary = options.presetVary;
        app.use(async (ctx, next) => {
          ctx.set('Vary', vary);
          await next();
        });
      }
      const router = new Router();
      router.post('/test/signin', async (ctx) => {
        const body = await readJson(ctx.req);
        (ctx.session as unknown as AnyRecord).sso =
          'sso' in body ? body.sso : { accessToken: body.accessToken, region: body.region };
        Object.assign(ctx.session as unknown as AnyRecord, body.extra);
        ctx.body = { ok: true };
      });
      router.get('/me', (ctx) => {
        const s = ctx.session as unknown as AnyRecord | null;
        ctx.body = { signedIn: s?.sso !== undefined && s.sso !== null };
      });
      if (options.slow !== undefined) {
        const slow = options.slow;
        router.get('/slow', async (ctx) => {
          const s = ctx.session as unknown as AnyRecord | null;
          slow.entered();
          await slow.release;
          if (slow.modify && s) s.visits = Number(s.visits ?? 0) + 1;
          ctx.body = { ok: true };
        });
      }
      router.all('/signout', koaSignOut({ client, destination: '/signed-out', ...options.signOut }) as never);
      app.use(router.routes());
      return listener(app);
    },
    buildWithForeignSession(client, data, signOut) {
      const app: KoaApp = new KoaClass();
      app.use(async (ctx, next) => {
        (ctx as unknown as { session: AnyRecord }).session = data;
        await next();
      });
      const router = new Router();
      router.all('/signout', koaSignOut({ client, ...signOut }) as never);
      app.use(router.routes());
      return listener(app);
    },
    buildBare(client, signOut) {
      const app: KoaApp = new KoaClass();
      const router = new Router();
      router.all('/signout', koaSignOut({ client, ...signOut }) as never);
      app.use(router.routes());
      return listener(app);
    },
    header(native, headerName) {
      const value = (native as Context).req.headers[headerName];
      return Array.isArray(value) ? value[0] : value;
    },
    removeSignIn(native) {
      delete (native as { session: AnyRecord }).session.sso;
    },
    endSessionIn(native) {
      (native as { session: AnyRecord | null }).session = null;
      return Promise.resolve();
    },
    setSessionNull(native) {
      (native as { session: unknown }).session = null;
    },
    keepSessionAnew(native) {
      (native as { session: unknown }).session = { user: 'ada' };
      return Promise.resolve();
    },
    async regenerateIn(native) {
      const session = (native as { session: AnyRecord & { regenerate: () => Promise<void> } }).session;
      delete session.sso;
      await session.regenerate();
      return true;
    },
  };
}

// ---------------------------------------------------------------- Fastify

type FastifyApp = FastifyInstance;

/**
 * A Node listener over a Fastify app: Fastify's own request handler (from `serverFactory`), called
 * once the app is ready. An app that fails to start answers 500 with the error's message.
 */
function fastifyListener(make: (serverFactory: FastifyServerFactory) => FastifyApp): RequestListener {
  let route: RequestListener | undefined;
  const app = make((handler) => {
    route = handler;
    return createServer();
  });
  const ready = app.ready();
  return (req, res) => {
    ready.then(
      () => {
        route?.(req, res);
      },
      (error: unknown) => {
        res.statusCode = 500;
        res.end((error as Error).message);
      },
    );
  };
}
type FastifyServerFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server;

/** A store in @fastify/session's (and express-session's) callback interface, in memory. */
class MemoryCallbackStore {
  readonly data = new Map<string, unknown>();
  failDestroy: boolean | 'hangs' = false;
  private readonly stall = new Stall();
  set(id: string, value: unknown, callback: (error?: unknown) => void): void {
    if (this.stall.on()) {
      this.stall.after(() => {
        this.set(id, value, callback);
      });
      return;
    }
    this.data.set(id, JSON.parse(JSON.stringify(value)));
    callback();
  }
  get(id: string, callback: (error: unknown, value?: unknown) => void): void {
    this.stall.after(() => {
      callback(null, this.data.get(id));
    });
  }
  destroy(id: string, callback: (error?: unknown) => void): void {
    if (this.failDestroy === 'hangs') {
      this.stall.begin();
      return;
    }
    if (this.failDestroy) {
      callback(failingStoreDestroy());
      return;
    }
    this.data.delete(id);
    callback();
  }
}

const FASTIFY_SECRET = 'a test secret that is long enough';
const SECURE_SESSION_KEY = Buffer.alloc(32, 7);

function fastifyAdapter(name: string, kind: '@fastify/session' | '@fastify/secure-session'): Adapter {
  const cookieName = kind === '@fastify/session' ? 'portal.sid' : 'portal';
  const sessionOf = (request: FastifyRequest) => (request as unknown as { session: AnyRecord | null }).session;
  const setField = (request: FastifyRequest, key: string, value: unknown) => {
    const session = sessionOf(request) as AnyRecord & { set?: (k: string, v: unknown) => void };
    if (kind === '@fastify/secure-session') session.set?.(key, value);
    else session[key] = value;
  };
  const setSignIn = (request: FastifyRequest, value: unknown) => {
    setField(request, 'sso', value);
  };
  const registerSession = async (app: FastifyApp, options: BuildOptions) => {
    await app.register(fastifyCookie);
    if (kind === '@fastify/session') {
      const store = (options.store as MemoryCallbackStore | undefined) ?? new MemoryCallbackStore();
      if (options.failingDestroy !== undefined) store.failDestroy = options.failingDestroy;
      await app.register(fastifySession, {
        secret: FASTIFY_SECRET,
        cookieName,
        saveUninitialized: false,
        store: store as never,
        cookie: { secure: false, sameSite: 'lax', ...options.sessionCookie },
        ...options.sessionOptions,
      });
    } else {
      await app.register(fastifySecureSession, {
        key: SECURE_SESSION_KEY,
        cookieName,
        cookie: { path: '/', httpOnly: true, sameSite: 'lax', ...options.sessionCookie },
        ...options.sessionOptions,
      } as never);
    }
  };
  // One adapter registers the plugin (no body parser), the other the handler behind @fastify/formbody.
  const registerRoute = async (app: FastifyApp, signOut: RouteOptions & { client: LogoutClient }) => {
    if (kind === '@fastify/session') {
      await app.register(fastifySignOutPlugin, { path: '/signout', ...(signOut as FastifySignOutOptions) });
    } else {
      await app.register(formbody);
      app.all('/signout', fastifySignOut(signOut as FastifySignOutOptions));
    }
  };
  return {
    name,
    framework: 'fastify',
    detectsSessions: true,
    parsesBodyFirst: kind === '@fastify/secure-session',
    sessionCookie: cookieName,
    serverSide: kind === '@fastify/session',
    sigCookie: false,
    build(client, options = {}) {
      return fastifyListener((serverFactory) => {
        const app = Fastify({ serverFactory, trustProxy: options.trustProxy === true ? 'loopback' : false });
        if (options.catchErrors !== undefined) {
          const onError = options.catchErrors;
          app.setErrorHandler((err, _request, reply) => {
            onError(err);
            return reply.code((err as { status: number }).status).send('custom');
          });
        }
        void app.register(
          async (scope) => {
            await registerSession(scope, options);
            if (options.presetVary !== undefined) {
              const vary = options.presetVary;
              scope.addHook('onRequest', async (_request, reply) => {
                reply.header('Vary', vary);
              });
            }
            scope.post('/test/signin', { bodyLimit: 4 * 1024 * 1024 }, (request, reply) => {
              const body = request.body as AnyRecord;
              setSignIn(request, 'sso' in body ? body.sso : { accessToken: body.accessToken, region: body.region });
              for (const [key, value] of Object.entries((body.extra ?? {}) as AnyRecord)) setField(request, key, value);
              return reply.send({ ok: true });
            });
            scope.get('/me', (request, reply) => {
              const s = sessionOf(request);
              return reply.send({ signedIn: s?.sso !== undefined && s.sso !== null });
            });
            if (options.slow !== undefined) {
              const slow = options.slow;
              scope.get('/slow', async (request) => {
                const s = sessionOf(request);
                slow.entered();
                await slow.release;
                if (slow.modify && s) s.visits = Number(s.visits ?? 0) + 1;
                return { ok: true };
              });
            }
            await registerRoute(scope, { client, destination: '/signed-out', ...options.signOut });
          },
          { encapsulate: false } as never,
        );
        return app;
      });
    },
    buildWithForeignSession(client, data, signOut) {
      return fastifyListener((serverFactory) => {
        const app = Fastify({ serverFactory });
        app.decorateRequest('session', null as never);
        app.addHook('onRequest', (request, _reply, done) => {
          (request as unknown as { session: AnyRecord }).session = data;
          done();
        });
        void app.register((scope) => registerRoute(scope, { client, ...signOut }));
        return app;
      });
    },
    buildBare(client, signOut) {
      return fastifyListener((serverFactory) => {
        const app = Fastify({ serverFactory });
        void app.register((scope) => registerRoute(scope, { client, ...signOut }));
        return app;
      });
    },
    header(native, headerName) {
      const value = (native as FastifyRequest).headers[headerName];
      return Array.isArray(value) ? value[0] : value;
    },
    removeSignIn(native) {
      const session = sessionOf(native as FastifyRequest) as AnyRecord & { set?: (k: string, v: unknown) => void };
      if (kind === '@fastify/secure-session') session.set?.('sso', undefined);
      else delete session.sso;
    },
    async endSessionIn(native) {
      const session = sessionOf(native as FastifyRequest) as { delete?: () => void; destroy?: () => Promise<void> };
      if (kind === '@fastify/secure-session') session.delete?.();
      else await session.destroy?.();
    },
    setSessionNull(native) {
      (native as { session: unknown }).session = null;
    },
    async keepSessionAnew(native) {
      const session = sessionOf(native as FastifyRequest) as AnyRecord & {
        regenerate?: () => void;
        save?: () => Promise<void>;
        reload?: () => Promise<void>;
      };
      if (kind === '@fastify/secure-session') {
        session.regenerate?.();
        return;
      }
      delete session.sso;
      await session.save?.();
      await session.reload?.();
    },
    async regenerateIn(native, carryUser) {
      if (kind === '@fastify/secure-session') return false;
      const session = sessionOf(native as FastifyRequest) as { regenerate: (keys?: string[]) => Promise<void> };
      await session.regenerate(carryUser ? ['user'] : undefined);
      return true;
    },
  };
}

// ---------------------------------------------------------------- fetch (Hono)

/** A Node listener over a Hono app, through @hono/node-server. */
function listenerOf(app: { fetch: (request: Request) => Response | Promise<Response> }): RequestListener {
  const listener = getRequestListener(app.fetch);
  return (req, res) => {
    void listener(req, res);
  };
}

/** Hono's cookie options from the express-style attributes the tests give. */
function honoCookieOptions(attributes: AnyRecord): Parameters<typeof setCookie>[3] {
  const sameSite = attributes.sameSite;
  return {
    path: attributes.path as string | undefined,
    domain: attributes.domain as string | undefined,
    secure: attributes.secure as boolean | undefined,
    httpOnly: attributes.httpOnly as boolean | undefined,
    partitioned: attributes.partitioned as boolean | undefined,
    sameSite:
      typeof sameSite === 'string'
        ? ((sameSite.charAt(0).toUpperCase() + sameSite.slice(1)) as 'Lax' | 'Strict' | 'None')
        : undefined,
  } as Parameters<typeof setCookie>[3];
}

/** The request as a proxy-aware app sees it: its URL from `X-Forwarded-Proto` and `-Host`. */
function forwarded(request: Request): Request {
  const url = new URL(request.url);
  const proto = request.headers.get('x-forwarded-proto');
  const host = request.headers.get('x-forwarded-host');
  if (proto !== null) url.protocol = `${proto}:`;
  if (host !== null) {
    // Setting a host without a port keeps the URL's own port: clear it first.
    url.port = '';
    url.host = host;
  }
  // Taken into the URL, as a proxy-aware middleware takes them: they are not for the route.
  const headers = new Headers(request.headers);
  headers.delete('x-forwarded-proto');
  headers.delete('x-forwarded-host');
  return new Request(url, { method: request.method, headers, body: request.body, duplex: 'half' });
}

interface HonoSession {
  readonly id: string;
  readonly data: AnyRecord;
}
type HonoEnv = { Variables: { session: HonoSession | undefined } };

/**
 * Hono on @hono/node-server, with the kind of session a Hono app keeps itself: an id in a cookie,
 * the data in a server-side map, read by a middleware into `c.get('session')`. The route is the
 * fetch handler, given `getToken` and `endSession` over that session and the cookie to clear.
 */
function honoAdapter(name: string): Adapter {
  const cookieName = 'portal.sid';
  return {
    name,
    framework: 'fetch',
    detectsSessions: false,
    parsesBodyFirst: false,
    sessionCookie: cookieName,
    serverSide: true,
    sigCookie: false,
    build(client, options = {}) {
      const sessions = new Map<string, AnyRecord>();
      const app = new Hono<HonoEnv>();
      const attributes = { path: '/', httpOnly: true, sameSite: 'lax', ...options.sessionCookie } as AnyRecord;
      if (options.catchErrors !== undefined) {
        const onError = options.catchErrors;
        app.onError((err) => {
          onError(err);
          const headers = new Headers();
          for (const [k, v] of Object.entries((err as SignOutError).headers)) {
            for (const one of typeof v === 'string' ? [v] : v) headers.append(k, one);
          }
          return new Response('custom', { status: (err as unknown as { status: number }).status, headers });
        });
      }
      app.use(async (c, next) => {
        const id = getCookie(c, cookieName);
        const data = id === undefined ? undefined : sessions.get(id);
        c.set('session', id !== undefined && data !== undefined ? { id, data } : undefined);
        await next();
      });
      if (options.presetVary !== undefined) {
        // The app's own Vary, joined with the route's when the answer goes out.
        const vary = options.presetVary;
        app.use(async (c, next) => {
          await next();
          const ours = c.res.headers.get('vary');
          c.res.headers.set('vary', ours === null ? vary : `${vary}, ${ours}`);
        });
      }
      app.post('/test/signin', async (c) => {
        const body = await c.req.json<AnyRecord>();
        const id = randomUUID();
        sessions.set(id, { sso: 'sso' in body ? body.sso : { accessToken: body.accessToken, region: body.region } });
        setCookie(c, cookieName, id, honoCookieOptions(attributes));
        return c.json({ ok: true });
      });
      app.get('/me', (c) => {
        const sso = c.get('session')?.data.sso;
        return c.json({ signedIn: sso !== undefined && sso !== null });
      });
      if (options.slow !== undefined) {
        const slow = options.slow;
        app.get('/slow', async (c) => {
          const s = c.get('session');
          slow.entered();
          await slow.release;
          if (slow.modify && s) s.data.visits = Number(s.data.visits ?? 0) + 1;
          return c.json({ ok: true });
        });
      }
      const signOut = createSignOutHandler<HonoContext<HonoEnv>>({
        client,
        destination: '/signed-out',
        getToken: (_request, c) => c.get('session')?.data.sso as TokenInfo | undefined,
        endSession: (_request, c) => {
          const s = c.get('session');
          if (s === undefined) return;
          if (options.failingDestroy === 'hangs') return new Promise<never>(() => undefined);
          if (options.failingDestroy === true) throw failingStoreDestroy();
          sessions.delete(s.id);
        },
        ...(options.signOut as Partial<FetchSignOutOptions<HonoContext<HonoEnv>>>),
        clearCookies: [
          { name: cookieName, ...(attributes as Omit<CookieToClear, 'name'>) },
          ...(options.signOut?.clearCookies ?? []),
        ],
      });
      app.all('/signout', (c) => signOut(options.trustProxy === true ? forwarded(c.req.raw) : c.req.raw, c));
      return listenerOf(app);
    },
    buildWithForeignSession() {
      throw new Error('a fetch handler has no session middleware to detect');
    },
    buildBare(client, signOut) {
      const app = new Hono();
      const handler = createSignOutHandler({ client, ...(signOut as FetchSignOutOptions) });
      app.all('/signout', (c) => handler(c.req.raw, c));
      return listenerOf(app);
    },
    header(native, headerName) {
      return (native as Request).headers.get(headerName) ?? undefined;
    },
    removeSignIn() {
      throw new Error('a fetch handler has no session middleware');
    },
    endSessionIn() {
      throw new Error('a fetch handler has no session middleware');
    },
    setSessionNull() {
      throw new Error('a fetch handler has no session middleware');
    },
    keepSessionAnew() {
      throw new Error('a fetch handler has no session middleware');
    },
    regenerateIn() {
      return Promise.resolve(false);
    },
  };
}

/** The first adapter of each framework: for suites that vary what the framework does, not the session middleware. */
export function onePerFramework(): readonly Adapter[] {
  return ADAPTERS.filter((a, i, all) => all.findIndex((b) => b.framework === a.framework) === i);
}

export const ADAPTERS: readonly Adapter[] = [
  expressAdapter('Express 5 + express-session', express5, 'express-session'),
  expressAdapter('Express 4 + express-session', express4, 'express-session'),
  expressAdapter('Express 5 + cookie-session', express5, 'cookie-session'),
  expressAdapter('Express 4 + cookie-session', express4, 'cookie-session'),
  koaAdapter('Koa 3 + koa-session (external store)', Koa, true),
  koaAdapter('Koa 2 + koa-session (cookie)', Koa2, false),
  fastifyAdapter('Fastify 5 + @fastify/session (plugin)', '@fastify/session'),
  fastifyAdapter('Fastify 5 + @fastify/secure-session (handler, @fastify/formbody)', '@fastify/secure-session'),
  honoAdapter('fetch handler in Hono'),
];
