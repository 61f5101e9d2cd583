// One harness per framework and session middleware, so the behaviour suite is written once for all.

import Router from '@koa/router';
import cookieSession from 'cookie-session';
import express5 from 'express';
import session from 'express-session';
import express4 from 'express4';
import Koa from 'koa';
import Koa2 from 'koa2';
import koaSession from 'koa-session';
import type { IncomingMessage, RequestListener } from 'node:http';
import { ssoSignOut as expressSignOut, type LogoutClient, type SignOutOptions } from 'sso-signout';
import type { Context } from 'koa';
import { ssoSignOut as koaSignOut } from 'sso-signout/koa';

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
  /** The session store's destroy fails (server-side stores only). */
  readonly failingDestroy?: boolean;
  /** The session store to use instead of an in-memory one (an express-session or koa-session store). */
  readonly store?: unknown;
  /** More session middleware options (`resave`, `rolling`, …). */
  readonly sessionOptions?: AnyRecord;
  /** A `GET /slow` route that waits for `release`, then (with `modify`) changes the session. */
  readonly slow?: { readonly entered: () => void; readonly release: Promise<void>; readonly modify: boolean };
}

export interface Adapter {
  readonly name: string;
  readonly framework: 'express' | 'koa';
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
  };
}

// ---------------------------------------------------------------- Koa

class MemoryKoaStore {
  readonly data = new Map<string, unknown>();
  failDestroy = false;
  get(key: string): unknown {
    return this.data.get(key);
  }
  set(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  destroy(key: string): void {
    if (this.failDestroy) throw failingStoreDestroy();
    this.data.delete(key);
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
      if (memory !== undefined && options.failingDestroy === true) memory.failDestroy = true;
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
  };
}

export const ADAPTERS: readonly Adapter[] = [
  expressAdapter('Express 5 + express-session', express5, 'express-session'),
  expressAdapter('Express 4 + express-session', express4, 'express-session'),
  expressAdapter('Express 5 + cookie-session', express5, 'cookie-session'),
  expressAdapter('Express 4 + cookie-session', express4, 'cookie-session'),
  koaAdapter('Koa 3 + koa-session (external store)', Koa, true),
  koaAdapter('Koa 2 + koa-session (cookie)', Koa2, false),
];
