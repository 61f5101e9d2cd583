// The integrator who mounts it wrong: middleware order, no session middleware, the wrong adapter, no
// path, options a header cannot carry. Each gets a clear error or is passed on; none is told
// "signed out" while the session lives, and no request crashes the process.

import Router from '@koa/router';
import cookieSession from 'cookie-session';
import express5 from 'express';
import session from 'express-session';
import express4 from 'express4';
import Koa from 'koa';
import Koa2 from 'koa2';
import mount from 'koa-mount';
import koaSession from 'koa-session';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogoutClient,
  guardSessionStore,
  ssoSignOut as expressSignOut,
  SignOutConfigError,
  type LogoutClient,
  type SignOutEvent,
} from 'sso-signout';
import { guardSessionStore as guardKoaStore, ssoSignOut as koaSignOut } from 'sso-signout/koa';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { isSignedIn, signInWithToken } from './helpers/flows.js';
import { ADAPTERS } from './helpers/adapters.js';
import { applySetCookies, cookieHeaderFrom, setCookies } from './helpers/cookies.js';

let portal: FakePortal;
let client: LogoutClient;
const warnings: { code: string | undefined; message: string }[] = [];
const onWarning = (w: Error & { code?: string }) => warnings.push({ code: w.code, message: w.message });
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  portal = await startFakePortal();
  process.on('warning', onWarning);
  process.on('unhandledRejection', onUnhandled);
});
beforeEach(() => {
  client = createLogoutClient({ endpoint: portal.url });
  warnings.length = 0;
});
afterEach(async () => {
  portal.reset();
  await client.close();
});
afterAll(async () => {
  process.off('warning', onWarning);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
  await portal.close();
});

/** Process warnings are emitted on the next tick. */
async function warningsSoFar(): Promise<typeof warnings> {
  await new Promise((resolve) => setImmediate(resolve));
  return warnings;
}

type AnyRecord = Record<string, unknown>;

function koaListener(app: {
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}): RequestListener {
  const callback = app.callback();
  return (req, res) => {
    void callback(req, res);
  };
}

/** Both Express majors, for the mounting cases that differ between them. */
const EXPRESS_VERSIONS = [
  ['Express 5', express5],
  ['Express 4', express4],
] as const;

const signIn = (app: RequestListener) => signInWithToken(app, portal);
const signedIn = isSignedIn;

function expressRoutes(app: express5.Express, express: typeof express5): void {
  app.post('/test/signin', express.json(), (req, res) => {
    (req as unknown as { session: AnyRecord }).session.sso = { accessToken: (req.body as AnyRecord).accessToken };
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    const s = (req as unknown as { session?: AnyRecord | null }).session;
    res.json({ signedIn: s?.sso !== undefined });
  });
}

async function readJson(req: IncomingMessage): Promise<AnyRecord> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as AnyRecord;
}

function koaRoutes(): Router {
  const router = new Router();
  router.post('/test/signin', async (ctx) => {
    const body = await readJson(ctx.req);
    (ctx.session as unknown as AnyRecord).sso = { accessToken: body.accessToken };
    ctx.body = { ok: true };
  });
  router.get('/me', (ctx) => {
    const s = ctx.session as unknown as AnyRecord | null;
    ctx.body = { signedIn: s?.sso !== undefined };
  });
  return router;
}

class MemoryKoaStore {
  readonly data = new Map<string, unknown>();
  get(key: string): unknown {
    return this.data.get(key);
  }
  set(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  destroy(key: string): void {
    this.data.delete(key);
  }
}

interface MisorderedApp {
  readonly name: string;
  build(onEvent: (e: SignOutEvent) => void): RequestListener;
}

// The session middleware mounted after the sign-out route: sign-in and /me still work.
const SESSION_AFTER_ROUTE: readonly MisorderedApp[] = [
  ...EXPRESS_VERSIONS.flatMap(([label, express]) => [
    {
      name: `${label} + express-session after the route`,
      build: (onEvent: (e: SignOutEvent) => void) => {
        const app = express();
        app.all('/signout', expressSignOut({ client, onEvent }));
        app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
        expressRoutes(app as express5.Express, express);
        return app;
      },
    },
    {
      name: `${label} + cookie-session after the route`,
      build: (onEvent: (e: SignOutEvent) => void) => {
        const app = express();
        app.all('/signout', expressSignOut({ client, onEvent }));
        app.use(cookieSession({ name: 'sess', keys: ['k'] }));
        expressRoutes(app as express5.Express, express);
        return app;
      },
    },
  ]),
  ...(
    [
      ['Koa 3', Koa],
      ['Koa 2', Koa2],
    ] as const
  ).flatMap(([label, KoaClass]) =>
    [false, true].map((external) => ({
      name: `${label} + koa-session (${external ? 'store' : 'cookie'}) after the router`,
      build: (onEvent: (e: SignOutEvent) => void) => {
        const app = new KoaClass();
        app.keys = ['k'];
        const signOut = new Router();
        signOut.all('/signout', koaSignOut({ client, onEvent }) as never);
        app.use(signOut.routes());
        app.use(
          koaSession({ key: 'sess', ...(external ? { store: new MemoryKoaStore() } : {}) } as never, app as never),
        );
        app.use(koaRoutes().routes());
        return koaListener(app);
      },
    })),
  ),
];

describe.each(SESSION_AFTER_ROUTE)('$name', (misordered) => {
  it('answers 500 session_missing, calling and changing nothing, and warns once', async () => {
    const events: SignOutEvent[] = [];
    const app = misordered.build((e) => events.push(e));
    const { token, cookie } = await signIn(app);
    expect(await signedIn(app, cookie)).toBe(true);
    const json = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
    expect(json.status).toBe(500);
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(json.text) as AnyRecord;
    expect(body).toMatchObject({ code: 'session_missing', signedOut: false });
    expect(String(body.detail)).toMatch(/before the (sign-out route|router)/);
    const html = await request(app).post('/signout').set('Cookie', cookie).expect(500);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).not.toMatch(/signed out\./i);
    for (const res of [json, html]) expect(setCookies(res).size).toBe(0);
    expect(portal.calls).toHaveLength(0);
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(app, cookie)).toBe(true);
    expect(events.map((e) => (e.type === 'signout' ? e.code : e.type))).toEqual(['session_missing', 'session_missing']);
    const mine = (await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_SESSION_MISSING');
    expect(mine).toHaveLength(1);
  });
});

describe('no session middleware at all', () => {
  const bare: [string, () => RequestListener][] = [
    [
      'Express 5',
      () => {
        const app = express5();
        app.all('/signout', expressSignOut({ client }));
        return app;
      },
    ],
    [
      'Express 4',
      () => {
        const app = express4();
        app.all('/signout', expressSignOut({ client }));
        return app;
      },
    ],
    [
      'Koa 3',
      () => {
        const app = new Koa();
        const router = new Router();
        router.all('/signout', koaSignOut({ client }) as never);
        app.use(router.routes());
        return koaListener(app);
      },
    ],
  ];
  it.each(bare)('%s: answers 500 session_missing, never "signed out"', async (_name, build) => {
    const res = await request(build()).post('/signout').set('Accept', 'application/json').expect(500);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'session_missing', signedOut: false });
    expect(portal.calls).toHaveLength(0);
  });

  it('works without one when the app gives both getToken and endSession', async () => {
    const token = portal.issueToken();
    let ended = false;
    const app = express5();
    app.all(
      '/signout',
      expressSignOut({
        client,
        getToken: () => token,
        endSession: () => {
          ended = true;
        },
      }),
    );
    await request(app).post('/signout').expect(303);
    expect(ended).toBe(true);
    expect(portal.isActive(token)).toBe(false);
  });

  it('still refuses with only getToken: there is no session to end', async () => {
    const app = express5();
    app.all('/signout', expressSignOut({ client, getToken: () => 'aoa-x' }));
    const res = await request(app).post('/signout').set('Accept', 'application/json').expect(500);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'session_missing', signedOut: false });
    expect(portal.calls).toHaveLength(0);
  });
});

describe('the wrong adapter for the framework', () => {
  it.each([
    ['app.use', (app: Koa) => app.use(expressSignOut({ client }) as never)],
    [
      'router.all',
      (app: Koa) => {
        const router = new Router();
        router.all('/signout', expressSignOut({ client }) as never);
        app.use(router.routes());
      },
    ],
  ])(
    'the Express route in a Koa app (%s) answers 500 naming sso-signout/koa, and the process lives on',
    async (_how, mountIt) => {
      const app = new Koa();
      app.keys = ['k'];
      app.use(koaSession({ key: 'sess' }, app as never));
      mountIt(app);
      const listener = koaListener(app);
      for (let i = 0; i < 3; i++) {
        const res = await request(listener).post('/signout').set('Accept', 'application/json').expect(500);
        const body = JSON.parse(res.text) as AnyRecord;
        expect(body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
        expect(String(body.detail)).toContain('sso-signout/koa');
      }
      const html = await request(listener).post('/signout').expect(500);
      expect(html.text).toContain('sso-signout/koa');
      expect(portal.calls).toHaveLength(0);
      expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_WRONG_ADAPTER')).toHaveLength(1);
    },
  );

  it.each(EXPRESS_VERSIONS)(
    'the Koa route in %s answers 500 naming sso-signout, never a bare TypeError',
    async (_name, express) => {
      for (const mountIt of [
        (app: express5.Express) => app.all('/signout', koaSignOut({ client }) as never),
        (app: express5.Express) => app.use(koaSignOut({ client }) as never),
      ]) {
        const app = express() as express5.Express;
        app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
        mountIt(app);
        const res = await request(app).post('/signout').set('Accept', 'application/json').expect(500);
        const body = JSON.parse(res.text) as AnyRecord;
        expect(body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
        expect(String(body.detail)).toContain('from "sso-signout"');
        expect(res.text).not.toContain('TypeError');
      }
      expect(portal.calls).toHaveLength(0);
    },
  );
});

describe('mounted without a path', () => {
  it('Express app.use(ssoSignOut()) signs nobody out on other paths: requests pass on, and it warns once', async () => {
    const app = express5();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use(expressSignOut({ client }));
    expressRoutes(app, express5);
    app.post('/comments', (_req, res) => res.status(201).json({ posted: true }));
    app.get('/', (_req, res) => res.send('home'));
    const { token, cookie } = await signIn(app);
    await request(app).post('/comments').set('Cookie', cookie).expect(201);
    await request(app).get('/').set('Cookie', cookie).expect(200, 'home');
    // Not even its own path: mounted nowhere, it is the route of nothing.
    await request(app).post('/signout').set('Cookie', cookie).expect(404);
    expect(portal.calls).toHaveLength(0);
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(app, cookie)).toBe(true);
    expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_NOT_ROUTED')).toHaveLength(1);
  });

  it.each(EXPRESS_VERSIONS)(
    '%s app.use("/signout", …) answers that path only, passing on the paths below it without a warning',
    async (_name, express) => {
      const app = express();
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      app.use('/signout', expressSignOut({ client }));
      expressRoutes(app, express);
      const { cookie } = await signIn(app);
      await request(app).post('/signout/deeper').set('Cookie', cookie).expect(404);
      expect(await signedIn(app, cookie)).toBe(true);
      expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_NOT_ROUTED')).toHaveLength(0);
      await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(await signedIn(app, cookie)).toBe(false);
    },
  );

  it.each(EXPRESS_VERSIONS)(
    '%s router.use(ssoSignOut()) in a router mounted on /auth signs nobody out under /auth, and warns',
    async (_name, express) => {
      const app = express();
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      const router = express.Router();
      router.use(expressSignOut({ client }));
      router.post('/profile', (_req, res) => res.send('saved'));
      app.use('/auth', router);
      expressRoutes(app, express);
      const { cookie } = await signIn(app);
      await request(app).post('/auth/profile').set('Cookie', cookie).expect(200, 'saved');
      expect(await signedIn(app, cookie)).toBe(true);
      expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_NOT_ROUTED')).toHaveLength(1);
    },
  );

  function koaApp(mountIt: (app: Koa) => void): RequestListener {
    const app = new Koa();
    app.keys = ['k'];
    app.use(koaSession({ key: 'sess' }, app as never));
    mountIt(app);
    const routes = koaRoutes();
    routes.post('/comments', (ctx) => {
      ctx.status = 201;
      ctx.body = { posted: true };
    });
    app.use(routes.routes());
    return koaListener(app);
  }

  it.each([
    ['app.use(ssoSignOut())', (app: Koa) => app.use(koaSignOut({ client }) as never)],
    [
      'router.use(ssoSignOut())',
      (app: Koa) => {
        const router = new Router();
        router.use(koaSignOut({ client }) as never);
        router.get('/unrelated', (ctx) => {
          ctx.body = 'x';
        });
        app.use(router.routes());
      },
    ],
  ])('Koa %s signs nobody out: requests pass on, and it warns once', async (how, mountIt) => {
    const app = koaApp(mountIt);
    const { token, cookie } = await signIn(app);
    await request(app).post('/comments').set('Cookie', cookie).expect(201);
    await request(app).get('/').set('Cookie', cookie).expect(404);
    // A router runs its `use` middleware only for paths one of its routes matches.
    await request(app)
      .get('/unrelated')
      .set('Cookie', cookie)
      .expect(how.startsWith('router') ? 200 : 404);
    expect(portal.calls).toHaveLength(0);
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(app, cookie)).toBe(true);
    expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_NOT_ROUTED')).toHaveLength(1);
  });

  it('Koa with koa-mount answers the mounted path only, passing a request below it on without a warning', async () => {
    const app = koaApp((koa) => koa.use(mount('/signout', koaSignOut({ client }) as never)));
    const { cookie } = await signIn(app);
    await request(app).post('/signout/deeper').set('Cookie', cookie).expect(404);
    expect(await signedIn(app, cookie)).toBe(true);
    expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_NOT_ROUTED')).toHaveLength(0);
    const res = await request(app).post('/signout').set('Cookie', cookie).expect(303);
    expect(await signedIn(app, applySetCookies(cookie, res))).toBe(false);
  });
});

describe('options a header cannot carry as written', () => {
  describe.each(ADAPTERS)('$name', (adapter) => {
    it('encodes a non-ASCII destination at construction and signs out with it, cookies cleared', async () => {
      const app = adapter.build(client, { signOut: { destination: '/登出?q=é' } });
      const { token, cookie } = await signIn(app);
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(res.headers.location).toBe('/%E7%99%BB%E5%87%BA?q=%C3%A9');
      expect(portal.isActive(token)).toBe(false);
      expect(await signedIn(app, applySetCookies(cookie, res))).toBe(false);
    });
  });

  it('encodes a non-ASCII absolute destination (IDN host, path)', async () => {
    const app = ADAPTERS[0]?.build(client, { signOut: { destination: 'https://bücher.example/ä' } }) as RequestListener;
    const res = await request(app).post('/signout').expect(303);
    expect(res.headers.location).toBe('https://xn--bcher-kva.example/%C3%A4');
  });

  it.each([
    ['a cookie name with a non-ASCII letter', { clearCookies: ['séssion'] }, /clearCookies/],
    ['a cookie name with a semicolon', { clearCookies: ['a;b'] }, /clearCookies/],
    // Browsers would refuse these clearing headers: the cookie would stay.
    [
      'a SameSite=None cookie without secure',
      { clearCookies: [{ name: 'x', sameSite: 'none' as const }] },
      /SameSite=None/,
    ],
    ['a Partitioned cookie without secure', { clearCookies: [{ name: 'x', partitioned: true }] }, /Partitioned/],
    ['a cookie path without a leading /', { clearCookies: [{ name: 'x', path: 'app' }] }, /does not start with "\/"/],
    ['a session cookie name with a blank', { sessionCookieName: 'a b' }, /sessionCookieName/],
    ['a destination with a line break', { destination: '/ok\r\nx: 1' }, /destination/],
    ['a destination with a backslash', { destination: '/\\evil.example' }, /destination/],
    ['a destination that resolves to //', { destination: '/./%2Fevil.example' }, /destination/],
  ])('refuses %s when the route is created', (_label, options, message) => {
    expect(() => expressSignOut({ client, ...options })).toThrow(SignOutConfigError);
    expect(() => koaSignOut({ client, ...options })).toThrow(message);
  });

  it('keeps its own content type when render returns one a header cannot carry, after the session ended', async () => {
    const adapter = ADAPTERS.find((a) => a.name.startsWith('Koa 2')) ?? ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(client, {
      signOut: { render: () => ({ body: '<p>bye</p>', contentType: 'text/html; charset=ütf-8' }) },
    });
    const { cookie } = await signIn(app);
    portal.enqueue('unauthorized');
    const res = await request(app).post('/signout').set('Cookie', cookie).expect(401);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(await signedIn(app, applySetCookies(cookie, res))).toBe(false);
    const warned = (await warningsSoFar()).find((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED');
    // It returned something unusable; it did not throw.
    expect(warned?.message).toContain('the `render` hook returned a value that is neither');
    expect(warned?.message).not.toContain('threw');
  });

  it('sends the built-in body, within the deadline and warning, when render never settles', async () => {
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const quick = createLogoutClient({ endpoint: portal.url, timeoutMs: 300 });
    try {
      const app = adapter.build(quick, { signOut: { render: () => new Promise<never>(() => undefined) } });
      const { cookie } = await signIn(app);
      portal.enqueue('unauthorized');
      const started = performance.now();
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'text/html').expect(401);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(res.text).toContain('<!doctype html>');
      const warned = (await warningsSoFar()).find(
        (w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED' && w.message.includes('`render`'),
      );
      expect(warned?.message).toContain('the `render` hook did not answer within 300 ms; the built-in body is sent');
    } finally {
      await quick.close();
    }
  });

  it.each(['/logout', '/logout/', '/sso/LOGOUT'])(
    'refuses an endpoint that is the Logout URL itself (%s): the route appends /logout',
    (path) => {
      const attempt = () => expressSignOut({ endpoint: `https://sso-proxy.internal${path}` });
      expect(attempt).toThrow(SignOutConfigError);
      expect(attempt).toThrow(
        /base URL, and the route appends \/logout itself: give "https:\/\/sso-proxy\.internal(\/sso)?"/,
      );
    },
  );
});

describe('more ways to mount it wrong', () => {
  it('Express: a catch-all route that passes on before app.use(ssoSignOut()) signs nobody out', async () => {
    for (const express of [express5, express4]) {
      const app = express() as express5.Express;
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      expressRoutes(app, express);
      app.all(express === express5 ? '/{*any}' : '*', (_req, _res, next) => {
        next();
      });
      app.use(expressSignOut({ client }));
      app.post('/api/save', (_req, res) => res.json({ saved: true }));
      const { token, cookie } = await signIn(app);
      await request(app).post('/api/save').set('Cookie', cookie).expect(200, { saved: true });
      expect(portal.isActive(token)).toBe(true);
      expect(await signedIn(app, cookie)).toBe(true);
    }
  });

  it('Koa: app.use(ssoSignOut()) after a router signs nobody out on a path a route has for another method', async () => {
    const app = new Koa();
    app.keys = ['k'];
    app.use(koaSession({ key: 'sess' }, app as never));
    const routes = koaRoutes();
    routes.get('/', (ctx) => {
      ctx.body = 'home';
    });
    routes.all(/\/pass\/.*/, async (_ctx, next) => {
      await next();
    });
    app.use(routes.routes());
    app.use(koaSignOut({ client }) as never);
    const listener = koaListener(app);
    const { token, cookie } = await signIn(listener);
    await request(listener).post('/').set('Cookie', cookie);
    await request(listener).post('/pass/anything').set('Cookie', cookie);
    expect(portal.calls).toHaveLength(0);
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(listener, cookie)).toBe(true);
  });

  describe.each([
    [
      'cookie-session',
      () => {
        const app = express5();
        app.use(cookieSession({ name: 'sess', keys: ['k'], path: '/app' }));
        app.all('/signout', expressSignOut({ client }));
        return app;
      },
    ],
    [
      'koa-session (cookie)',
      () => {
        const app = new Koa();
        app.keys = ['k'];
        app.use(koaSession({ key: 'sess', path: '/app' } as never, app as never));
        const router = new Router();
        router.all('/signout', koaSignOut({ client }) as never);
        app.use(router.routes());
        return koaListener(app);
      },
    ],
    [
      'koa-session (store)',
      () => {
        const app = new Koa();
        app.keys = ['k'];
        app.use(koaSession({ key: 'sess', path: '/app', store: new MemoryKoaStore() } as never, app as never));
        const router = new Router();
        router.all('/signout', koaSignOut({ client }) as never);
        app.use(router.routes());
        return koaListener(app);
      },
    ],
  ])('%s with a cookie path that leaves the route out', (_name, build) => {
    it('answers 500 session_missing naming the cookie path, not "signed out"', async () => {
      const res = await request(build()).post('/signout').set('Accept', 'application/json').expect(500);
      const body = JSON.parse(res.text) as AnyRecord;
      expect(body).toMatchObject({ code: 'session_missing', signedOut: false });
      expect(String(body.detail)).toContain('"/app"');
    });
  });

  describe.each(EXPRESS_VERSIONS)('%s + express-session with a cookie path', (_label, express) => {
    function app(cookiePath: string, routePath: string): express5.Express {
      const a = express();
      a.use(session({ secret: 's', resave: false, saveUninitialized: false, cookie: { path: cookiePath } }));
      a.post(`${cookiePath}/test/signin`, express.json(), (req, res) => {
        (req as unknown as { session: AnyRecord }).session.sso = { accessToken: (req.body as AnyRecord).accessToken };
        res.json({ ok: true });
      });
      a.get(`${cookiePath}/me`, (req, res) => {
        res.json({ signedIn: (req as unknown as { session: AnyRecord }).session.sso !== undefined });
      });
      a.all(routePath, expressSignOut({ client }));
      return a;
    }
    async function signInUnder(a: express5.Express, cookiePath: string): Promise<{ token: string; cookie: string }> {
      const token = portal.issueToken();
      const res = await request(a).post(`${cookiePath}/test/signin`).send({ accessToken: token }).expect(200);
      return { token, cookie: cookieHeaderFrom(res) };
    }

    // express-session runs on every path that starts with its cookie's path as a string, but a
    // browser sends the cookie only where the path matches at a "/": "/sign" is not sent to "/signout".
    it.each([
      ['/sign', '/signout'],
      ['/auth', '/authn/signout'],
    ])(
      '%s, the route at %s (the browser sends no cookie there): 500 session_missing, nothing changed',
      async (cookiePath, routePath) => {
        const a = app(cookiePath, routePath);
        const { token, cookie } = await signInUnder(a, cookiePath);
        const res = await request(a).post(routePath).set('Accept', 'application/json').expect(500);
        const body = JSON.parse(res.text) as AnyRecord;
        expect(body).toMatchObject({ code: 'session_missing', signedOut: false });
        expect(String(body.detail)).toContain(`"${cookiePath}"`);
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(portal.calls).toHaveLength(0);
        expect(portal.isActive(token)).toBe(true);
        const me = await request(a).get(`${cookiePath}/me`).set('Cookie', cookie).expect(200);
        expect(me.body).toEqual({ signedIn: true });
      },
    );

    it('/auth, the route at /auth/signout, asked for in absolute form (POST http://host/auth/signout): signed out', async () => {
      const a = app('/auth', '/auth/signout');
      const { token, cookie } = await signInUnder(a, '/auth');
      const server = a.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      try {
        const status = await new Promise<number | undefined>((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: `http://127.0.0.1:${port}/auth/signout`,
              headers: { cookie },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode);
            },
          );
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(303);
        expect(portal.isActive(token)).toBe(false);
      } finally {
        server.close();
      }
    });

    it.each([
      ['/auth', '/auth/signout'],
      ['/auth/', '/auth/signout'],
      ['/signout', '/signout'],
    ])('%s, the route at %s (the browser sends the cookie): signed out', async (cookiePath, routePath) => {
      const a = app(cookiePath, routePath);
      const { token, cookie } = await signInUnder(a, cookiePath);
      const res = await request(a).post(routePath).set('Cookie', cookie).expect(303);
      expect(String(res.headers['set-cookie'])).toContain(`connect.sid=; Max-Age=0; Path=${cookiePath};`);
      expect(portal.isActive(token)).toBe(false);
      const me = await request(a).get(`${cookiePath}/me`).set('Cookie', cookie).expect(200);
      expect(me.body).toEqual({ signedIn: false });
    });
  });

  it('an async onEvent that rejects is warned about, and does not end the process', async () => {
    const app = express5();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    // An async hook where the type asks for a plain one: what this test is about.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    app.all('/signout', expressSignOut({ client, onEvent: () => Promise.reject(new Error('log sink down')) }));
    await request(app).get('/signout').expect(405);
    await request(app).post('/signout').expect(303);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED')).toHaveLength(1);
    // The file's afterAll also checks that no rejection went unhandled.
  });

  describe.each(ADAPTERS)('$name', (adapter) => {
    it('an async onEvent that rejects, on a refused anonymous request and on a sign-out, is warned about and ends nothing', async () => {
      const rejecting = () => Promise.reject(new Error('log sink down'));
      // An async hook where the type asks for a plain one: what this test is about.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      const app = adapter.build(client, { signOut: { onEvent: rejecting } });
      // Anyone can send this: a cross-site POST with no cookie.
      await request(app).post('/signout').set('Origin', 'https://evil.example').expect(403);
      const { token, cookie } = await signIn(app);
      await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(portal.isActive(token)).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
      expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED')).toHaveLength(1);
      // The file's afterAll also checks that no rejection went unhandled.
      expect(unhandled).toEqual([]);
    });
  });

  it("an onEvent whose promise is another realm's (a vm context, a test runner's) that rejects is warned about too", async () => {
    const { runInNewContext } = await import('node:vm');
    const app = express5();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    const rejecting = () => runInNewContext('Promise.reject(new Error("log sink down"))') as unknown;
    app.all('/signout', expressSignOut({ client, onEvent: rejecting }));
    await request(app).post('/signout').set('Origin', 'https://evil.example').expect(403);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED')).toHaveLength(1);
    expect(unhandled).toEqual([]);
  });

  it("warns once per route: a second route's failing hook is warned about too", async () => {
    const failing = () => {
      throw new Error('log sink down');
    };
    const app = express5();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.all('/signout', expressSignOut({ client, onEvent: failing }));
    app.all('/admin/signout', expressSignOut({ client, onEvent: failing }));
    for (const path of ['/signout', '/signout', '/admin/signout', '/admin/signout']) {
      await request(app).post(path).expect(303);
    }
    const hooks = (await warningsSoFar()).filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED');
    expect(hooks).toHaveLength(2);
  });

  it.each([
    ['{ body } with no content type', { body: '<p>x</p>' }],
    ['a content type of null', { body: '<p>x</p>', contentType: null }],
    ['a number as the body', { body: 42, contentType: 'text/html' }],
  ])('render returning %s gets the built-in body and the truthful status', async (_label, rendered) => {
    const adapter = ADAPTERS.find((a) => a.name.startsWith('Koa 2')) ?? ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(client, { signOut: { render: () => rendered as never } });
    const { cookie } = await signIn(app);
    portal.enqueue('unauthorized');
    const res = await request(app).post('/signout').set('Cookie', cookie).expect(401);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('had already ended');
    expect(await signedIn(app, applySetCookies(cookie, res))).toBe(false);
  });

  it.each([
    ['an object without accessToken', { token: 'aoa-x' }],
    ['an array', ['aoa-x']],
    ['a String object', new String('aoa-x')],
    ['an empty string', ''],
  ])('getToken returning %s answers sso_token_unusable, never "no token"', async (_label, value) => {
    const app = express5();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.all('/signout', expressSignOut({ client, getToken: () => value as never }));
    const res = await request(app).post('/signout').set('Accept', 'application/json').expect(500);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_token_unusable', signedOut: false });
    expect(portal.calls).toHaveLength(0);
  });
});

describe('guardSessionStore from the wrong entry point', () => {
  it('the koa-session guard under express-session: a clear error through the store callback, no crash', async () => {
    const app = express5();
    const store = guardKoaStore(new session.MemoryStore() as never) as unknown as session.Store;
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
    expressRoutes(app, express5);
    const errors: string[] = [];
    app.use((err: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      errors.push(err.message);
      if (!res.headersSent) res.status(500).end();
    });
    // express-session saves after the answer is written, and hands the store's error to next().
    await request(app).post('/test/signin').send({ accessToken: 'aoa-x' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.join('\n')).toContain('for express-session use `guardSessionStore` from "sso-signout"');
  });

  it('the express-session guard under koa-session: a clear error, no crash', async () => {
    const app = new Koa();
    app.keys = ['k'];
    const errors: Error[] = [];
    app.on('error', (err: Error) => errors.push(err));
    app.use(koaSession({ key: 'sess', store: guardSessionStore(new session.MemoryStore()) as never }, app as never));
    app.use(koaRoutes().routes());
    const listener = koaListener(app);
    await request(listener).post('/test/signin').send({ accessToken: 'aoa-x' }).expect(500);
    expect(errors.map((e) => e.message).join('\n')).toContain('from "sso-signout/koa"');
  });

  it('refuses a marker lifetime no date can hold', () => {
    expect(() => guardSessionStore(new session.MemoryStore(), { ttlMs: Number.MAX_SAFE_INTEGER })).toThrow(/ttlMs/);
    expect(() => guardSessionStore(new session.MemoryStore(), { ttlMs: Infinity })).toThrow(/got Infinity/);
  });
});
