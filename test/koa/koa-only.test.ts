// Koa specifics: factory misuse, and delegate mode through Koa's own error handling.

import Router from '@koa/router';
import Koa from 'koa';
import koaSession from 'koa-session';
import { createRequire } from 'node:module';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createLogoutClient, type LogoutClient, type SignOutEvent } from 'sso-signout';
import { SignOutError, ssoSignOut } from 'sso-signout/koa';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { cookieHeaderFrom } from '../helpers/cookies.js';
import { warningCodesDuring } from '../helpers/warnings.js';
import { signedOutToDefault } from '../helpers/unreadable-destination.js';

let portal: FakePortal;
let client: LogoutClient;
beforeAll(async () => {
  portal = await startFakePortal();
  client = createLogoutClient({ endpoint: portal.url });
});
afterAll(async () => {
  await client.close();
  await portal.close();
});

/**
 * Koa with koa-session (cookie mode, or on `store`), `middleware` before the rest, `GET /in` to
 * sign in, and the route.
 */
function koaApp(route: Parameters<typeof ssoSignOut>[0], middleware: Koa.Middleware[] = [], store?: object) {
  const app = new Koa();
  app.keys = ['k'];
  app.use(koaSession({ key: 'sess', ...(store === undefined ? {} : { store: store as never }) }, app));
  for (const m of middleware) app.use(m);
  app.use(async (ctx, next) => {
    if (ctx.path === '/in/me') {
      ctx.body = (ctx.session as { sso?: unknown } | null)?.sso === undefined ? 'signed out' : 'signed in';
      return;
    }
    if (ctx.path === '/in') {
      (ctx.session as unknown as Record<string, unknown>).sso = { accessToken: portal.issueToken() };
      ctx.body = 'ok';
      return;
    }
    await next();
  });
  const router = new Router();
  router.all('/signout', ssoSignOut(route) as never);
  app.use(router.routes());
  return app;
}

/** The route in delegate mode, errors handed to `onError`. */
function delegatingApp(routeClient: LogoutClient, onError: (err: unknown) => void) {
  const app = koaApp({ client: routeClient, delegateErrors: true });
  app.on('error', onError);
  return app.callback();
}

async function signedInCookie(app: ReturnType<typeof delegatingApp>): Promise<string> {
  return cookieHeaderFrom(await request(app).get('/in').expect(200));
}

describe('Koa only', () => {
  describe.each([
    ['cookie mode', () => undefined],
    ['a store', () => new Map<string, unknown>()],
  ])('an endSession hook that does not end the session, in %s', (_mode, makeStore) => {
    it.each([
      [
        'sets it to null, then never settles',
        (ctx: Koa.Context) => {
          ctx.session = null;
          return new Promise<never>(() => undefined);
        },
      ],
      [
        'replaces it with an empty one',
        (ctx: Koa.Context) => {
          (ctx as { session: unknown }).session = {};
        },
      ],
    ])('%s: answered 500 session_error, and the session is left as it was', async (_label, endSession) => {
      const map = makeStore();
      const store =
        map === undefined
          ? undefined
          : {
              get: (key: string) => map.get(key),
              set: (key: string, value: unknown) => void map.set(key, value),
              destroy: (key: string) => void map.delete(key),
            };
      const short = createLogoutClient({ endpoint: portal.url, timeoutMs: 400 });
      onTestFinished(() => short.close());
      const app = koaApp({ client: short, endSession: endSession }, [], store).callback();
      const cookie = cookieHeaderFrom(await request(app).get('/in').expect(200));
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'session_error', signedOut: false });
      // Nothing written over the session's cookie, and the session still there under it.
      expect(res.headers['set-cookie'] ?? []).toEqual([]);
      const me = await request(app).get('/in/me').set('Cookie', cookie);
      expect(me.text).toBe('signed in');
    });
  });

  it.each([
    [
      'answers itself and passes the request on',
      (async (ctx, next) => {
        if (ctx.path === '/signout') {
          ctx.respond = false;
          ctx.res.writeHead(303, { location: '/' }).end();
        }
        await next();
      }) as Koa.Middleware,
    ],
    [
      'takes the response over and passes the request on',
      (async (ctx, next) => {
        if (ctx.path === '/signout') {
          ctx.respond = false;
          setTimeout(() => ctx.res.writeHead(204).end(), 50);
        }
        await next();
      }) as Koa.Middleware,
    ],
  ])('does nothing, and says so, when a middleware before it %s', async (_label, before) => {
    const events: SignOutEvent[] = [];
    const app = koaApp({ client, onEvent: (event) => void events.push(event) }, [before]);
    const server = app.callback();
    const cookie = cookieHeaderFrom(await request(server).get('/in').expect(200));
    const calls = portal.calls.length;
    const warned = await warningCodesDuring(async () => {
      const res = await request(server).post('/signout').set('Cookie', cookie);
      expect([303, 204]).toContain(res.status);
    });
    expect(warned).toContain('SSO_SIGNOUT_ALREADY_ANSWERED');
    expect(events).toEqual([]);
    expect(portal.calls.length).toBe(calls);
  });

  it('catches app.use(ssoSignOut) instead of app.use(ssoSignOut())', () => {
    const ctx = { req: {}, res: {}, request: {} };
    const call = ssoSignOut as unknown as (...args: unknown[]) => unknown;
    expect(() => call(ctx, () => Promise.resolve())).toThrow(/ssoSignOut is a factory/);
  });

  it('throws the typed error in delegate mode; Koa’s default handler answers with its status and headers', async () => {
    const errors: unknown[] = [];
    const app = delegatingApp(client, (err) => errors.push(err));
    const cookie = await signedInCookie(app);
    portal.enqueue('unauthorized');
    const rejected = await request(app).post('/signout').set('Cookie', cookie).expect(401);
    expect(rejected.text).toContain('already ended');
    const cookie2 = await signedInCookie(app);
    portal.enqueue({ kind: 'throttle', retryAfter: 6 });
    const res = await request(app).post('/signout').set('Cookie', cookie2).expect(429);
    expect(res.headers['retry-after']).toBe('6');
    expect(res.headers['cache-control']).toBe('no-store');
    // Koa shows the message of an error with `expose`.
    expect(res.text).toContain('throttling');
    // Koa emits every error; its default logger stays quiet for errors with `expose`, as ours have.
    expect(errors.map((e) => (e as SignOutError).code)).toEqual(['sso_token_rejected', 'sso_throttled']);
    expect(errors.every((e) => e instanceof SignOutError && e.expose)).toBe(true);
  });

  it('delegate mode with Koa’s default handler still clears a cookie-mode session on a signedOut: true answer', async () => {
    // A client of its own: the shared one's throttle gate is closed by the test before.
    const own = createLogoutClient({ endpoint: portal.url });
    const app = delegatingApp(own, () => undefined);
    const jar = await signedInCookie(app);
    portal.enqueue('unauthorized');
    const res = await request(app).post('/signout').set('Cookie', jar).expect(401);
    const cleared = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
    expect(cleared.some((c) => c.startsWith('sess=;') && /expires=Thu, 01 Jan 1970/i.test(c))).toBe(true);
    expect(cleared.some((c) => c.startsWith('sess.sig=') && /expires=Thu, 01 Jan 1970/i.test(c))).toBe(true);
    await own.close();
  });

  it('exports the same error class as the main entry point', async () => {
    const main = await import('sso-signout');
    expect(SignOutError).toBe(main.SignOutError);
  });
});

// Loaded without its types: they add `body` to every Koa request of the program, src/ included.
const { bodyParser } = createRequire(import.meta.url)('@koa/bodyparser') as {
  bodyParser: (options: { enableTypes: string[] }) => Koa.Middleware;
};

describe('koa-session with an external store', () => {
  /** A store that counts destroys; `second` is what a destroy after the first does. */
  function countingStore(second: 'fails' | 'hangs' | 'works') {
    const data = new Map<string, unknown>();
    let destroys = 0;
    const store = {
      get: (key: string) => Promise.resolve(data.get(key)),
      set: (key: string, value: unknown) => {
        data.set(key, value);
        return Promise.resolve();
      },
      destroy: (key: string): Promise<void> => {
        destroys++;
        if (destroys > 1 && second === 'fails') return Promise.reject(new Error('store down'));
        if (destroys > 1 && second === 'hangs') return new Promise<never>(() => undefined);
        data.delete(key);
        return Promise.resolve();
      },
    };
    return { store, data, destroys: () => destroys };
  }

  /** The app of these tests on `store`, as a request listener. */
  const appOn = (store: object, options: Parameters<typeof ssoSignOut>[0]) => koaApp(options, [], store).callback();
  /** Signs a browser in on `app`, then signs it out, asking for JSON. */
  async function signInAndOut(app: ReturnType<typeof appOn>) {
    const cookie = cookieHeaderFrom(await request(app).get('/in').expect(200));
    return request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').timeout(3000);
  }
  const nullingHook = {
    getToken: (ctx: Koa.Context) => (ctx.session as { sso?: { accessToken: string } } | null)?.sso,
    endSession: (ctx: Koa.Context) => {
      ctx.session = null;
    },
  };

  it('removes a session an endSession hook set to null once, before the answer, and clears its cookie', async () => {
    const { store, data, destroys } = countingStore('hangs');
    const app = appOn(store, { endpoint: portal.url, timeoutMs: 500, ...nullingHook });
    const res = await signInAndOut(app);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
    expect(data.size).toBe(0);
    expect(destroys()).toBe(1);
    expect(String(res.headers['set-cookie'])).toContain('sess=;');
  });

  it('answers 500 session_error within the deadline when the store never answers the removal an endSession hook asked for', async () => {
    const { store, data } = countingStore('works');
    store.destroy = () => new Promise<never>(() => undefined);
    const app = appOn(store, { endpoint: portal.url, timeoutMs: 300, ...nullingHook });
    const res = await signInAndOut(app);
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'session_error', signedOut: false });
    expect(data.size).toBe(1);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  for (const second of ['works', 'fails', 'hangs'] as const) {
    it(`destroys the session once, so a second destroy that ${second} cannot change the answer`, async () => {
      const { store, data, destroys } = countingStore(second);
      const app = appOn(store, { endpoint: portal.url, timeoutMs: 500 });
      const res = await signInAndOut(app);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
      expect(data.size).toBe(0);
      expect(destroys()).toBe(1);
    });
  }
});

describe('a body parser that leaves a form unread', () => {
  it('reads the form itself when @koa/bodyparser, set for JSON only, left ctx.request.body as {} (as on Express)', async () => {
    const events: SignOutEvent[] = [];
    // A client of its own: the throttle gate the tests above open is not this test's.
    const own = createLogoutClient({ endpoint: portal.url });
    onTestFinished(() => own.close());
    const app = koaApp({ client: own, destination: '/bye', onEvent: (event) => events.push(event) }, [
      bodyParser({ enableTypes: ['json'] }),
    ]);
    const listener = app.callback();
    /** Where a signed-in browser is sent after posting `return_to` as a form, or as JSON. */
    const sentTo = async (returnTo: string, type: 'form' | 'json' = 'form') => {
      const cookie = cookieHeaderFrom(await request(listener).get('/in').expect(200));
      const res = await request(listener)
        .post('/signout')
        .set('Cookie', cookie)
        .type(type)
        .send({ return_to: returnTo });
      expect(res.status).toBe(303);
      return res.headers.location;
    };
    expect(await sentTo('/after')).toBe('/after');
    expect(await sentTo('//evil.example')).toBe('/bye');
    expect(events).toContainEqual(expect.objectContaining({ type: 'return_to_rejected', value: '//evil.example' }));
    // A JSON body the parser did read is taken as it parsed it.
    expect(await sentTo('/json', 'json')).toBe('/json');
  });

  it('signs out to the default destination when reading ctx.request.body throws (an app’s getter)', async () => {
    const events: SignOutEvent[] = [];
    const own = createLogoutClient({ endpoint: portal.url });
    onTestFinished(() => own.close());
    const throwingBody: Koa.Middleware = async (ctx, next) => {
      Object.defineProperty(ctx.request, 'body', {
        get() {
          throw new Error('the app’s body getter');
        },
      });
      await next();
    };
    const listener = koaApp({ client: own, destination: '/bye', onEvent: (event) => events.push(event) }, [
      throwingBody,
    ]).callback();
    const cookie = cookieHeaderFrom(await request(listener).get('/in').expect(200));
    await signedOutToDefault(listener, cookie, events);
  });
});

describe('a refusal with a session cookie planted first, whatever the app does with the session after it', () => {
  /** A client of its own: no other test's throttle window is open on it. */
  function ownClient(): LogoutClient {
    const own = createLogoutClient({ endpoint: portal.url });
    onTestFinished(() => own.close());
    return own;
  }

  /** koa-session with `rolling`, signing with `keys`, the route's hooks and a later middleware reading and writing the session. */
  function appWith(keys: string[], store: object | undefined) {
    const app = new Koa();
    app.keys = keys;
    const session = (ctx: Koa.Context) => ctx.session as unknown as Record<string, unknown> | null;
    app.use(koaSession({ key: 'sess', rolling: true, ...(store === undefined ? {} : { store: store as never }) }, app));
    // The app's own work after every answer: it reads the session, and writes to it.
    app.use(async (ctx, next) => {
      await next();
      const s = session(ctx);
      if (s !== null) s.seen = Date.now();
    });
    app.use(async (ctx, next) => {
      if (ctx.path !== '/in') {
        await next();
        return;
      }
      const s = session(ctx) as Record<string, unknown>;
      s.sso = { accessToken: portal.issueToken() };
      ctx.body = 'ok';
    });
    const router = new Router();
    const who = (native: unknown): string => {
      const user = session(native as Koa.Context)?.user;
      return typeof user === 'string' ? user : 'guest';
    };
    router.all(
      '/signout',
      ssoSignOut({
        client: ownClient(),
        onEvent: (_event, native) => who(native),
        render: (result, native) => `<p>${String(result.status)}</p><p>${who(native)}</p>`,
      }) as never,
    );
    app.use(router.routes());
    return app.callback();
  }

  const stores = [
    ['cookie', () => undefined],
    [
      'external store',
      () => {
        const kept = new Map<string, unknown>();
        return {
          get: (key: string) => kept.get(key),
          set: (key: string, value: unknown) => void kept.set(key, value),
          destroy: (key: string) => void kept.delete(key),
        };
      },
    ],
  ] as const;

  it.each(
    stores.flatMap(([mode, store]) =>
      (['a value that does not match its signature', 'a session signed with the key before the rotation'] as const).map(
        (planted) => [mode, planted, store] as const,
      ),
    ),
  )('koa-session (%s), %s: no session cookie is written or cleared', async (_mode, planted, store) => {
    const shared = store();
    const app = appWith(['new key', 'old key'], shared);
    const cookie = cookieHeaderFrom(await request(app).get('/in').expect(200));
    let first = 'sess=planted';
    if (planted !== 'a value that does not match its signature') {
      // The planter's own session, from before the key rotation: its signature is under the old key.
      const before = appWith(['old key'], shared);
      first = cookieHeaderFrom(await request(before).get('/in').expect(200));
    }
    const res = await request(app).post('/signout').set('Cookie', `${first}; ${cookie}`).expect(400);
    expect(res.text).toContain('guest');
    const written = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
    expect(written.filter((c) => c.startsWith('sess=') || c.startsWith('sess.sig='))).toEqual([]);
    // The user's own cookie, as it was, still signs in (and out).
    await request(app).post('/signout').set('Cookie', cookie).expect(303);
  });
});
