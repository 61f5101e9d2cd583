// Fastify specifics: the plugin and the handler as Fastify mounts them, what a misconfiguring
// integrator does (a hook, a not-found handler, no form parser, the session plugin after the
// route, another framework's route), delegate mode through Fastify's own error handlers, proxy
// trust, and signing out everywhere with @fastify/session on a shared Redis store.

import fastifyCookie, { Signer } from '@fastify/cookie';
import formbody from '@fastify/formbody';
import fastifySecureSession from '@fastify/secure-session';
import fastifySession from '@fastify/session';
import Router from '@koa/router';
import { RedisStore } from 'connect-redis';
import express from 'express';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type RedisClientType } from 'redis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ssoSignOut as expressSignOut } from 'sso-signout';
import {
  createLogoutClient,
  redisSessionIndex,
  sessionIdOf,
  SignOutConfigError,
  SignOutError,
  ssoSignOut,
  ssoSignOutPlugin,
  type LogoutClient,
  type SignOutEvent,
} from 'sso-signout/fastify';
import { createSignOutHandler } from 'sso-signout/fetch';
import { guardSessionStore as guardKoaStore, ssoSignOut as koaSignOut } from 'sso-signout/koa';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { applySetCookies, cookieHeaderFrom, setCookies } from '../helpers/cookies.js';
import { sharedRedisUrl } from '../helpers/redis.js';
import { warningCodesDuring, warningsDuring } from '../helpers/warnings.js';

type AnyRecord = Record<string, unknown>;
const SECRET = 'a session secret of at least thirty-two characters';

let portal: FakePortal;
let client: LogoutClient;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  portal = await startFakePortal();
  client = createLogoutClient({ endpoint: portal.url, timeoutMs: 2000, maxAttempts: 1 });
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  portal.reset();
});
afterAll(async () => {
  await client.close();
  await portal.close();
});

/** A Fastify app with @fastify/session, `POST /in` to sign in, `GET /me`; `mount` adds the route. */
async function fastifyApp(
  mount: (app: FastifyInstance) => unknown,
  options: {
    readonly trustProxy?: boolean;
    readonly sessionFirst?: boolean;
    /** More of @fastify/session's options (its signer, say). */
    readonly session?: Record<string, unknown>;
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ trustProxy: options.trustProxy === true });
  apps.push(app);
  const sessions = async () => {
    await app.register(fastifyCookie);
    await app.register(fastifySession, {
      secret: SECRET,
      cookieName: 'portal.sid',
      cookie: { secure: false },
      ...options.session,
    });
  };
  if (options.sessionFirst !== false) await sessions();
  app.post('/in', (req, reply) => {
    (req.session as unknown as AnyRecord).sso = { accessToken: (req.body as AnyRecord).accessToken };
    return reply.send({ ok: true });
  });
  app.get('/me', (req, reply) => {
    const s = req.session as unknown as AnyRecord | null;
    return reply.send({ signedIn: s?.sso !== undefined });
  });
  await mount(app);
  if (options.sessionFirst === false) await sessions();
  await app.ready();
  return app;
}

async function signIn(app: FastifyInstance, token = portal.issueToken()): Promise<string> {
  return cookieHeaderFrom(await request(app.server).post('/in').send({ accessToken: token }).expect(200));
}

async function signedIn(app: FastifyInstance, cookie: string): Promise<boolean> {
  const res = await request(app.server).get('/me').set('Cookie', cookie).expect(200);
  return (res.body as { signedIn: boolean }).signedIn;
}

/** What a browser sends when its user presses the sign-out button. */
function browserSignOut(app: FastifyInstance, cookie: string, path = '/signout') {
  return request(app.server)
    .post(path)
    .set('Cookie', cookie)
    .set('Sec-Fetch-Site', 'same-origin')
    .set('Accept', 'text/html')
    .type('form')
    .send('return_to=/bye');
}

describe('the plugin', () => {
  it('registers the route on its path below the prefix, and reads form bodies with no parser in the app', async () => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { prefix: '/auth', path: '/signout', client }));
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const res = await request(app.server)
      .post('/auth/signout')
      .set('Cookie', cookie)
      .set('Sec-Fetch-Site', 'same-origin')
      .type('form')
      .send('return_to=/bye')
      .expect(303);
    expect(res.headers.location).toBe('/bye');
    expect(portal.isActive(token)).toBe(false);
    expect(await signedIn(app, applySetCookies(cookie, res))).toBe(false);
    // The route is at its path only.
    await request(app.server).post('/signout').expect(404);
  });

  it('answers a request line in absolute form, for which @fastify/session starts no session, without warning the app: nothing changed', async () => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { client }));
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const warnings = await warningsDuring(async () => {
      // Anyone can send one; the once-per-route warning must stay for a real mistake in the setup.
      const { status, body } = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: 'http://elsewhere.example/signout',
            headers: { cookie, accept: 'application/json' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => {
              resolve({ status: res.statusCode, body: text });
            });
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(500);
      expect(JSON.parse(body)).toMatchObject({ code: 'session_missing', signedOut: false });
      expect((JSON.parse(body) as AnyRecord).detail).toContain('absolute form');
    });
    expect(warnings.map((w) => w.code)).not.toContain('SSO_SIGNOUT_SESSION_MISSING');
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(app, cookie)).toBe(true);
  });

  it('does not warn about a form parser, which it does not need', async () => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { client }));
    const warnings = await warningsDuring(async () => {
      const cookie = await signIn(app);
      await browserSignOut(app, cookie).expect(303);
    });
    expect(warnings.map((w) => w.code)).not.toContain('SSO_SIGNOUT_NO_FORM_PARSER');
  });

  it('leaves the app’s own body parsing as it was outside the route', async () => {
    const app = await fastifyApp(async (a) => {
      await a.register(ssoSignOutPlugin, { client });
      a.post('/echo', (req, reply) => reply.send({ body: req.body }));
    });
    const echoed = await request(app.server).post('/echo').send({ a: 1 }).expect(200);
    expect(echoed.body).toEqual({ body: { a: 1 } });
    // No form parser in the app: Fastify refuses forms elsewhere, as it did before.
    await request(app.server).post('/echo').type('form').send('a=1').expect(415);
  });

  it('takes the app’s form parser when it has one, and reads a JSON body itself', async () => {
    const app = await fastifyApp(async (a) => {
      await a.register(formbody);
      await a.register(ssoSignOutPlugin, { client });
    });
    const cookie = await signIn(app);
    await request(app.server)
      .post('/signout')
      .set('Cookie', cookie)
      .type('form')
      .send('return_to=/from-form')
      .expect(303)
      .expect('location', '/from-form');
    const cookie2 = await signIn(app);
    await request(app.server)
      .post('/signout')
      .set('Cookie', cookie2)
      .set('Accept', 'text/html')
      .send({ return_to: '/from-json' })
      .expect(303)
      .expect('location', '/from-json');
  });

  it.each([
    [{ path: 'signout' }, 'path'],
    [{ path: 42 }, 'path'],
    [{ regoin: 'eu-west-1' }, 'regoin'],
    [{ destination: 'javascript:alert(1)' }, 'destination'],
  ])('refuses bad options (%j) when the app starts, naming the option', async (options, option) => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyCookie);
    void app.register(ssoSignOutPlugin, { client, ...(options as object) } as never);
    const error: unknown = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SignOutConfigError);
    expect((error as SignOutConfigError).option).toBe(option);
  });
});

describe('registered wrong', () => {
  /** What `ready()` rejects with, and whether anything escaped as an uncaught exception meanwhile. */
  async function readyError(
    register: (app: FastifyInstance) => void,
  ): Promise<{ error: unknown; uncaught: unknown[] }> {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.prependListener('uncaughtException', onUncaught);
    try {
      const app = Fastify({ pluginTimeout: 2000 });
      apps.push(app);
      await app.register(fastifyCookie);
      register(app);
      const error: unknown = await app.ready().then(
        () => undefined,
        (e: unknown) => e,
      );
      return { error, uncaught };
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  }

  it('rejects ready(), with no uncaught exception, for a path the app already routes or a plugin registered twice', async () => {
    for (const register of [
      (app: FastifyInstance) => {
        app.post('/signout', () => 'taken');
        void app.register(ssoSignOutPlugin, { client });
      },
      (app: FastifyInstance) => {
        void app.register(ssoSignOutPlugin, { client });
        void app.register(ssoSignOutPlugin, { client });
      },
    ]) {
      const { error, uncaught } = await readyError(register);
      expect(uncaught).toEqual([]);
      expect((error as { code?: unknown }).code).toBe('FST_ERR_DUPLICATED_ROUTE');
    }
  });

  it('rejects ready() naming the plugin when the handler factory is registered as a plugin', async () => {
    const { error, uncaught } = await readyError((app) => {
      void app.register(ssoSignOut as never, { path: '/signout', client } as never);
    });
    expect(uncaught).toEqual([]);
    expect(error).toBeInstanceOf(SignOutConfigError);
    expect((error as SignOutConfigError).reason).toBe('misuse');
    expect((error as Error).message).toContain('app.register(ssoSignOutPlugin');
  });

  it.each([
    ['wrapped in fastify-plugin', (fp: (plugin: never) => never) => fp(ssoSignOutPlugin as never)],
    [
      'called from a fastify-plugin wrapper',
      (fp: (plugin: never) => never) =>
        fp(((instance: never, options: never, done: never) => {
          ssoSignOutPlugin(instance, options, done);
        }) as never),
    ],
  ])('signs out, and leaves the app’s own body parsers as they were, with the plugin %s', async (how, wrap) => {
    const { default: fp } = await import('fastify-plugin');
    const plugin = wrap(fp);
    // Wrapped itself, it still takes its `prefix` (Fastify applies none to a wrapped plugin); a
    // wrapper of the app's own is the app's to give one.
    const path = how === 'wrapped in fastify-plugin' ? '/auth/signout' : '/signout';
    try {
      const app = await fastifyApp((a) => {
        void a.register(plugin, { client, prefix: '/auth' } as never);
        a.post('/api/echo', (req) => req.body);
      });
      const res = await request(app.server).post('/api/echo').send({ hello: 'world' }).expect(200);
      expect(res.body).toEqual({ hello: 'world' });
      const token = portal.issueToken();
      const cookie = await signIn(app, token);
      await browserSignOut(app, cookie, path).expect(303);
      expect(portal.isActive(token)).toBe(false);
    } finally {
      // fastify-plugin marks the function it is given: unmarked, for the tests after this one.
      Reflect.deleteProperty(ssoSignOutPlugin, Symbol.for('skip-override'));
    }
  });

  it('answers 500 naming the plugin, signing nobody out, when the plugin is mounted as a handler', async () => {
    const app = await fastifyApp((a) => a.all('/signout', ssoSignOutPlugin as never));
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const res = await request(app.server).post('/signout').set('Cookie', cookie).expect(500);
    expect(res.text).toContain('ssoSignOutPlugin is a plugin');
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(app, cookie)).toBe(true);
  });
});

describe('a refusal with a session cookie planted first', () => {
  it('writes no session cookie, and leaves the session on the request for the app’s own hooks and error handler', async () => {
    const seen: string[] = [];
    const app = await fastifyApp(async (a) => {
      await a.register(formbody);
      // The app's own code after the route: it reads the session on every answer.
      a.addHook('onResponse', (req, _reply, done) => {
        seen.push((req.session as unknown) === null ? 'no session' : 'session');
        done();
      });
      a.setErrorHandler((error, req, reply) => {
        const s = req.session as unknown as AnyRecord;
        void reply.code((error as { statusCode?: number }).statusCode ?? 500).send({ signedIn: s.sso !== undefined });
      });
      a.all('/signout', ssoSignOut({ client, delegateErrors: true }));
    });
    const cookie = await signIn(app);
    for (const [label, send] of [
      ['planted cookie (400)', () => browserSignOut(app, `portal.sid=planted; ${cookie}`)],
      [
        'cross-site (403)',
        () => browserSignOut(app, `portal.sid=planted; ${cookie}`).set('Sec-Fetch-Site', 'cross-site'),
      ],
      ['GET (405)', () => request(app.server).get('/signout').set('Cookie', `portal.sid=planted; ${cookie}`)],
    ] as const) {
      const res = await send();
      expect({
        label,
        status: res.status >= 400 && res.status < 500,
        touched: setCookies(res).has('portal.sid'),
      }).toEqual({
        label,
        status: true,
        touched: false,
      });
      expect(res.body, label).toEqual({ signedIn: false });
    }
    expect(seen).toEqual(['session', 'session', 'session', 'session']);
    expect(await signedIn(app, cookie)).toBe(true);
  });
});

it('the koa-session guard under @fastify/session: an error naming the Fastify entry, no crash', async () => {
  const app = Fastify();
  apps.push(app);
  const sessions = new Map<string, unknown>();
  const koaStore = {
    get: (key: string) => Promise.resolve(sessions.get(key)),
    set: (key: string, value: unknown) => Promise.resolve(void sessions.set(key, value)),
    destroy: (key: string) => Promise.resolve(void sessions.delete(key)),
  };
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SECRET,
    cookie: { secure: false },
    store: guardKoaStore(koaStore),
  });
  app.post('/in', (req, reply) => {
    (req.session as unknown as AnyRecord).sso = { accessToken: 'aoa-x' };
    return reply.send({ ok: true });
  });
  const res = await app.inject({ method: 'POST', url: '/in' });
  expect(res.statusCode).toBe(500);
  expect(res.json<{ message: string }>().message).toContain('for @fastify/session the one from "sso-signout/fastify"');
});

it('does nothing, and says so, when a hook before it has written the reply itself', async () => {
  const app = await fastifyApp((a) => {
    a.addHook('preHandler', (req, reply, done) => {
      // Its head and a first chunk written, the rest to come.
      if (req.url === '/signout') {
        reply.raw.writeHead(200, { 'content-type': 'text/plain' }).write('the app’s own ');
        setTimeout(() => reply.raw.end('answer'), 100);
      }
      done();
    });
    return a.register(ssoSignOutPlugin, { client, destination: '/bye' });
  });
  const token = portal.issueToken();
  const cookie = await signIn(app, token);
  const warned = await warningCodesDuring(async () => {
    const res = await browserSignOut(app, cookie).expect(200);
    expect(res.text).toBe('the app’s own answer');
  });
  expect(warned).toContain('SSO_SIGNOUT_ALREADY_ANSWERED');
  expect(portal.isActive(token)).toBe(true);
  expect(await signedIn(app, cookie)).toBe(true);
});

describe('@fastify/session with a signer of its own', () => {
  // A signer of the app's: HMAC-SHA-256 in hex, which neither cookie-signature nor @fastify/cookie writes.
  const hexSigner = {
    sign: (value: string) => `${value}.${createHmac('sha256', SECRET).update(value).digest('hex')}`,
    unsign: (signed: string) => {
      const at = signed.lastIndexOf('.');
      const value = signed.slice(0, at);
      const valid = at > 0 && hexSigner.sign(value) === signed;
      return { valid, renew: false, value: valid ? value : null };
    },
  };
  // Another of the app's: Node's plain base64, its `=` padding kept.
  const paddedSigner = {
    sign: (value: string) => `${value}.${createHmac('sha256', SECRET).update(value).digest('base64')}`,
    unsign: (signed: string) => {
      const at = signed.lastIndexOf('.');
      const value = signed.slice(0, at);
      const valid = at > 0 && paddedSigner.sign(value) === signed;
      return { valid, renew: false, value: valid ? value : null };
    },
  };
  const signers: readonly (readonly [string, Record<string, unknown>])[] = [
    ["algorithm: 'sha512'", { algorithm: 'sha512' }],
    ["algorithm: 'md5'", { algorithm: 'md5' }],
    ["@fastify/cookie's Signer with SHA-384", { secret: new Signer([SECRET], 'sha384') }],
    ['an HMAC in hex', { secret: hexSigner }],
    ['an HMAC in padded base64', { secret: paddedSigner }],
    ["cookiePrefix: 's:' (express-session's cookies)", { cookiePrefix: 's:' }],
    ['a cookie name with a colon (app:sid)', { cookieName: 'app:sid' }],
    ['an idGenerator whose ids hold a dot', { idGenerator: () => `v1.${randomUUID()}` }],
  ];

  it.each(signers)('refuses a cookie planted first (%s), and signs out with the user’s own', async (_label, signer) => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { client, destination: '/bye' }), {
      session: signer,
    });
    const name = typeof signer.cookieName === 'string' ? signer.cookieName : 'portal.sid';
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const refused = await browserSignOut(app, `${name}=planted-by-a-sibling; ${cookie}`)
      .set('Accept', 'application/json')
      .expect(400);
    expect(refused.body).toMatchObject({ code: 'session_ambiguous', signedOut: false });
    expect(portal.isActive(token)).toBe(true);
    expect(await signedIn(app, cookie)).toBe(true);

    const res = await browserSignOut(app, cookie).expect(303);
    expect(setCookies(res).get(name)?.value).toBe('');
    expect(portal.isActive(token)).toBe(false);
    expect(await signedIn(app, cookie)).toBe(false);
  });
});

describe('a refusal on @fastify/secure-session', () => {
  it('writes no session cookie, though the app writes to the session on every request', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifySecureSession, { cookieName: 'ss', key: Buffer.alloc(32, 7) } as never);
    // The app's own "rolling" session: written on every request.
    app.addHook('preHandler', (req, _reply, done) => {
      (req.session as unknown as { set(k: string, v: unknown): void }).set('seen', Date.now());
      done();
    });
    app.post('/in', (req, reply) => {
      (req.session as unknown as { set(k: string, v: unknown): void }).set('sso', { accessToken: portal.issueToken() });
      return reply.send({ ok: true });
    });
    await app.register(ssoSignOutPlugin, { client, sessionCookieName: 'ss' });
    await app.ready();
    const cookie = cookieHeaderFrom(await request(app.server).post('/in').send({}).expect(200));
    for (const send of [
      () => browserSignOut(app, cookie).set('Sec-Fetch-Site', 'cross-site'),
      () => request(app.server).get('/signout').set('Cookie', cookie),
      () => browserSignOut(app, `ss=planted; ${cookie}`),
    ]) {
      const res = await send();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(setCookies(res).has('ss')).toBe(false);
    }
  });
});

describe('the handler', () => {
  it('signs out through app.all with @fastify/formbody, and answers other methods 405', async () => {
    const app = await fastifyApp(async (a) => {
      await a.register(formbody);
      a.all('/signout', ssoSignOut({ client }));
    });
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const res = await browserSignOut(app, cookie).expect(303);
    expect(res.headers.location).toBe('/bye');
    expect(setCookies(res).get('portal.sid')?.value).toBe('');
    expect(portal.isActive(token)).toBe(false);
    const put = await request(app.server).put('/signout').set('Accept', 'application/json').expect(405);
    expect(put.headers.allow).toBe('POST');
  });

  it('warns once, naming the plugin and @fastify/formbody, when the app has no form parser (Fastify answers forms 415)', async () => {
    const app = await fastifyApp((a) => a.all('/signout', ssoSignOut({ client })));
    const warnings = await warningsDuring(async () => {
      const cookie = await signIn(app);
      await request(app.server).post('/signout').type('form').send('return_to=/x').expect(415);
      // A request that Fastify lets through: the route can see the app has no form parser.
      for (let i = 0; i < 2; i++) await request(app.server).post('/signout').set('Cookie', cookie).expect(303);
    });
    const mine = warnings.filter((w) => w.code === 'SSO_SIGNOUT_NO_FORM_PARSER');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.message).toContain('ssoSignOutPlugin');
    expect(mine[0]?.message).toContain('@fastify/formbody');
  });

  it('catches app.all(path, ssoSignOut) instead of app.all(path, ssoSignOut())', () => {
    const call = ssoSignOut as unknown as (...args: unknown[]) => unknown;
    expect(() => call({ headers: {}, method: 'POST', raw: {} }, { send: () => undefined })).toThrow(
      /ssoSignOut is a factory/,
    );
  });

  it('reads the session id @fastify/session keeps the session under (sessionIdOf)', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyCookie);
    await app.register(fastifySession, { secret: SECRET, cookie: { secure: false } });
    app.get('/id', (req, reply) => {
      (req.session as unknown as AnyRecord).seen = true;
      return reply.send({ id: sessionIdOf(req), sessionId: (req.session as unknown as AnyRecord).sessionId });
    });
    await app.ready();
    const res = await request(app.server).get('/id').expect(200);
    const body = res.body as { id: string; sessionId: string };
    expect(body.id).toBe(body.sessionId);
    expect(body.id).toMatch(/^\S{16,}$/);
    expect(sessionIdOf({} as FastifyRequest)).toBeUndefined();
  });
});

describe('mounted where it would see every request', () => {
  it('as a hook it signs nobody out: requests pass on, and it warns once', async () => {
    const events: SignOutEvent[] = [];
    const app = await fastifyApp((a) => {
      a.addHook('preHandler', ssoSignOut({ client, onEvent: (e) => events.push(e) }));
      a.post('/comments', (_req, reply) => reply.code(201).send({ posted: true }));
    });
    const token = portal.issueToken();
    let cookie = '';
    const warnings = await warningsDuring(async () => {
      // The hook sees every request: the sign-in too.
      cookie = await signIn(app, token);
      for (let i = 0; i < 3; i++) {
        await request(app.server).post('/comments').set('Cookie', cookie).send({}).expect(201);
      }
    });
    expect(warnings.filter((w) => w.code === 'SSO_SIGNOUT_NOT_ROUTED')).toHaveLength(1);
    expect(await signedIn(app, cookie)).toBe(true);
    expect(portal.isActive(token)).toBe(true);
    expect(portal.calls).toHaveLength(0);
    expect(events).toEqual([]);
  });

  it('as the not-found handler it signs nobody out on unknown paths: 404, and a warning', async () => {
    const app = await fastifyApp((a) => a.setNotFoundHandler(ssoSignOut({ client })));
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const warnings = await warningsDuring(async () => {
      await request(app.server).post('/nothing-here').set('Cookie', cookie).expect(404);
    });
    expect(warnings.map((w) => w.code)).toContain('SSO_SIGNOUT_NOT_ROUTED');
    expect(await signedIn(app, cookie)).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });
});

describe('as an error handler', () => {
  it('hands every error on to Fastify’s own handler, signs nobody out, and warns', async () => {
    const app = await fastifyApp((a) => {
      a.setErrorHandler(ssoSignOut({ client }) as never);
      a.get('/boom', () => {
        throw Object.assign(new Error('boom'), { statusCode: 418 });
      });
    });
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const warnings = await warningsDuring(async () => {
      const res = await request(app.server).get('/boom').set('Cookie', cookie).expect(418);
      expect(res.body).toMatchObject({ statusCode: 418, message: 'boom' });
    });
    expect(warnings.map((w) => w.code)).toContain('SSO_SIGNOUT_NOT_ROUTED');
    expect(await signedIn(app, cookie)).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });
});

describe('a misconfigured app', () => {
  it('with the session plugin in a sibling scope, not the route’s: 500 session_missing, nothing changed', async () => {
    const app = Fastify();
    apps.push(app);
    // Registered inside a plugin of its own (as @fastify/session is not meant to be), its hooks
    // cover that plugin's routes only.
    await app.register(async (scope) => {
      await scope.register(fastifyCookie);
      await scope.register(fastifySession, { secret: SECRET, cookieName: 'portal.sid', cookie: { secure: false } });
      scope.post('/in', (req, reply) => {
        (req.session as unknown as AnyRecord).sso = { accessToken: (req.body as AnyRecord).accessToken };
        return reply.send({ ok: true });
      });
    });
    await app.register(ssoSignOutPlugin, { client });
    await app.ready();
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const warnings = await warningsDuring(async () => {
      const res = await request(app.server)
        .post('/signout')
        .set('Cookie', cookie)
        .set('Accept', 'application/json')
        .expect(500);
      expect(res.body).toMatchObject({ code: 'session_missing', signedOut: false });
      expect(String((res.body as AnyRecord).detail)).toContain('@fastify/session');
      expect(setCookies(res).size).toBe(0);
    });
    expect(warnings.map((w) => w.code)).toContain('SSO_SIGNOUT_SESSION_MISSING');
    expect(portal.isActive(token)).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });

  it('with @fastify/secure-session under a session name of its own: 500 session_missing saying what to give', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifySecureSession, { sessionName: 'portal', key: Buffer.alloc(32, 3) } as never);
    await app.register(ssoSignOutPlugin, { client });
    await app.ready();
    const res = await request(app.server).post('/signout').set('Accept', 'application/json').expect(500);
    expect(res.body).toMatchObject({ code: 'session_missing', signedOut: false });
    expect(String((res.body as AnyRecord).detail)).toContain('`sessionName`');
    expect(portal.calls).toHaveLength(0);
  });

  it('with a session cookie whose path does not cover the route: 500 session_missing naming the path', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyCookie);
    await app.register(fastifySession, { secret: SECRET, cookie: { secure: false, path: '/app' } });
    await app.register(ssoSignOutPlugin, { client });
    await app.ready();
    const res = await request(app.server).post('/signout').set('Accept', 'application/json').expect(500);
    expect(res.body).toMatchObject({ code: 'session_missing', signedOut: false });
    expect(String((res.body as AnyRecord).detail)).toContain("cookie's path");
  });

  it.each([
    ['the Express route', () => expressSignOut({ client }), 'sso-signout/fastify'],
    ['the Koa route', () => koaSignOut({ client }), 'sso-signout/fastify'],
    [
      'the fetch handler',
      () => createSignOutHandler({ client, getToken: () => undefined, endSession: () => undefined }),
      'sso-signout/fastify',
    ],
  ])(
    'with %s mounted: 500 wrong_adapter naming the Fastify entry, and the process lives on',
    async (_name, make, entry) => {
      const app = await fastifyApp((a) => a.all('/signout', make() as never));
      const token = portal.issueToken();
      const cookie = await signIn(app, token);
      for (const accept of ['application/json', 'text/html']) {
        const res = await request(app.server).post('/signout').set('Cookie', cookie).set('Accept', accept).expect(500);
        expect(res.text).toContain(entry);
        if (accept === 'application/json') expect(res.body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
      }
      expect(await signedIn(app, cookie)).toBe(true);
      expect(portal.calls).toHaveLength(0);
    },
  );

  it("the Express route in a Fastify app whose reply is decorated with Node's setHeader and end: still wrong_adapter", async () => {
    const app = await fastifyApp((a) => {
      a.decorateReply('setHeader', function (this: { header(n: string, v: string): void }, n: string, v: string) {
        this.header(n, v);
      });
      a.decorateReply('end', function (this: { send(b?: unknown): void }, body?: unknown) {
        this.send(body);
      });
      a.all('/signout', expressSignOut({ client }) as never);
    });
    const token = portal.issueToken();
    const cookie = await signIn(app, token);
    const res = await request(app.server)
      .post('/signout')
      .set('Cookie', cookie)
      .set('Accept', 'application/json')
      .expect(500);
    expect(res.body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
    expect(await signedIn(app, cookie)).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });

  it('the Fastify route in Express and in Koa: 500 wrong_adapter naming the right entry', async () => {
    const ex = express();
    ex.all('/signout', ssoSignOut({ client }) as never);
    const inExpress = await request(ex).post('/signout').set('Accept', 'application/json').expect(500);
    expect(inExpress.body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
    expect(String((inExpress.body as AnyRecord).detail)).toContain('from "sso-signout"');

    const koa = new Koa();
    const router = new Router();
    router.all('/signout', ssoSignOut({ client }) as never);
    koa.use(router.routes());
    const inKoa = await request(koa.callback()).post('/signout').set('Accept', 'application/json').expect(500);
    expect(String((inKoa.body as AnyRecord).detail)).toContain('sso-signout/koa');
    expect(portal.calls).toHaveLength(0);
  });
});

describe('in a Web-standard framework', () => {
  it.each([
    ['Fastify', () => ssoSignOut({ client })],
    ['Express', () => expressSignOut({ client })],
    ['Koa', () => koaSignOut({ client })],
  ])(
    'the %s route, in Hono or called with a Request, answers 500 wrong_adapter naming sso-signout/fetch',
    async (_name, make) => {
      const route = make() as unknown as (...args: unknown[]) => unknown;
      const app = new Hono();
      app.all('/signout', route as never);
      const inHono = await app.request('/signout', { method: 'POST', headers: { accept: 'application/json' } });
      expect(inHono.status).toBe(500);
      const body = (await inHono.json()) as AnyRecord;
      expect(body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
      expect(String(body.detail)).toContain('sso-signout/fetch');
      // Next.js: export const POST = route.
      const direct = (await route(new Request('http://app.test/signout', { method: 'POST' }))) as Response;
      expect(direct.status).toBe(500);
      expect(await direct.text()).toContain('sso-signout/fetch');
      expect(portal.calls).toHaveLength(0);
    },
  );
});

describe('delegate mode', () => {
  it('throws the typed error; Fastify’s default handler answers its status with each header once', async () => {
    const app = await fastifyApp(async (a) => {
      a.addHook('onRequest', async (_req, reply) => {
        reply.header('Vary', 'Origin');
      });
      await a.register(ssoSignOutPlugin, { client, delegateErrors: true });
    });
    const cookie = await signIn(app);
    portal.enqueue('unauthorized');
    const res = await request(app.server)
      .post('/signout')
      .set('Cookie', cookie)
      .set('Accept', 'application/json')
      .expect(401);
    expect(res.body).toMatchObject({ statusCode: 401, code: 'sso_token_rejected' });
    const raw = res.headers['set-cookie'] as unknown as string[];
    expect(raw.filter((c) => c.startsWith('portal.sid='))).toHaveLength(1);
    expect(res.headers.vary).toBe('Origin, Accept');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await signedIn(app, applySetCookies(cookie, res))).toBe(false);
  });

  it('an app’s own error handler gets the SignOutError with the headers already on the reply', async () => {
    const seen: unknown[] = [];
    // A client of its own: the throttle window it learns must not hold back the other tests.
    const own = createLogoutClient({ endpoint: portal.url, timeoutMs: 2000, maxAttempts: 1 });
    const app = await fastifyApp(async (a) => {
      a.setErrorHandler((err, _req, reply) => {
        seen.push(err);
        return reply.code(503).send('ours');
      });
      await a.register(ssoSignOutPlugin, { client: own, delegateErrors: true });
    });
    const cookie = await signIn(app);
    portal.enqueue({ kind: 'throttle', retryAfter: 7 });
    const res = await request(app.server).post('/signout').set('Cookie', cookie).expect(503);
    expect(res.text).toBe('ours');
    expect(res.headers['retry-after']).toBe('7');
    expect(seen[0]).toBeInstanceOf(SignOutError);
    expect(seen[0]).toMatchObject({ code: 'sso_throttled', status: 429, signedOut: false });
    expect(await signedIn(app, cookie)).toBe(true);
    await own.close();
  });
});

describe('behind a proxy', () => {
  const forwarded = { 'X-Forwarded-Host': 'portal.example.com', 'X-Forwarded-Proto': 'https' };

  it('honours trustProxy for the origin check', async () => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { client }), { trustProxy: true });
    const cookie = await signIn(app);
    await request(app.server)
      .post('/signout')
      .set('Cookie', cookie)
      .set(forwarded)
      .set('Origin', 'https://portal.example.com')
      .expect(303);
  });

  it('without trustProxy refuses the forwarded origin, and says how to trust the proxy', async () => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { client }));
    const cookie = await signIn(app);
    const warnings = await warningsDuring(async () => {
      const res = await request(app.server)
        .post('/signout')
        .set('Cookie', cookie)
        .set(forwarded)
        .set('Origin', 'https://portal.example.com')
        .set('Accept', 'application/json')
        .expect(403);
      expect(res.body).toMatchObject({ code: 'cross_site_request', signedOut: false });
    });
    const mine = warnings.filter((w) => w.code === 'SSO_SIGNOUT_UNTRUSTED_FORWARDED');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.message).toContain('trustProxy');
    expect(await signedIn(app, cookie)).toBe(true);
  });

  it('warns about an untrusted X-Forwarded-Host even when X-Forwarded-Proto matches the connection', async () => {
    const app = await fastifyApp((a) => a.register(ssoSignOutPlugin, { client }));
    const warnings = await warningsDuring(async () => {
      await request(app.server)
        .post('/signout')
        .set({ 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': 'public.example:8080' })
        .set('Origin', 'http://public.example:8080')
        .expect(403);
    });
    expect(warnings.map((w) => w.code)).toContain('SSO_SIGNOUT_UNTRUSTED_FORWARDED');
  });
});

describe('sign out everywhere with @fastify/session on a shared Redis store', () => {
  let redis: RedisClientType;
  beforeAll(async () => {
    redis = createClient({ url: await sharedRedisUrl() });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('ends the user’s sessions on two instances and revokes each token', async () => {
    const prefix = `fastify-everywhere:${randomUUID()}:`;
    const index = redisSessionIndex({ client: redis, prefix: `${prefix}index:`, secret: SECRET });
    const instance = async () => {
      const app = Fastify();
      apps.push(app);
      await app.register(fastifyCookie);
      await app.register(fastifySession, {
        secret: SECRET,
        cookieName: 'portal.sid',
        cookie: { secure: false },
        store: new RedisStore({ client: redis, prefix: `${prefix}sess:` }),
      });
      app.post('/in', async (req, reply) => {
        const { user, accessToken } = req.body as { user: string; accessToken: string };
        const regenerate = req.session.regenerate.bind(req.session) as () => Promise<void>;
        await regenerate();
        const s = req.session as unknown as AnyRecord;
        s.user = user;
        s.sso = { accessToken };
        await index.add(user, sessionIdOf(req) as string);
        return reply.send({ ok: true });
      });
      app.get('/me', (req, reply) => reply.send({ signedIn: (req.session as unknown as AnyRecord).sso !== undefined }));
      await app.register(ssoSignOutPlugin, {
        client,
        everywhere: { sessionIndex: index, user: (req) => (req.session as unknown as { user?: string }).user },
      });
      await app.ready();
      return app;
    };
    const [a, b] = [await instance(), await instance()];
    const tokens = [portal.issueToken(), portal.issueToken(), portal.issueToken()];
    const cookies = [
      cookieHeaderFrom(await request(a.server).post('/in').send({ user: 'ana', accessToken: tokens[0] }).expect(200)),
      cookieHeaderFrom(await request(b.server).post('/in').send({ user: 'ana', accessToken: tokens[1] }).expect(200)),
      cookieHeaderFrom(await request(b.server).post('/in').send({ user: 'ana', accessToken: tokens[2] }).expect(200)),
    ];
    const res = await request(a.server)
      .post('/signout')
      .set('Cookie', cookies[0] as string)
      .set('Accept', 'application/json')
      .expect(200);
    expect(res.body).toMatchObject({ signedOut: true, upstream: 'revoked' });
    expect((res.body as AnyRecord).everywhere).toMatchObject({ ended: 2, failed: 0 });
    for (const token of tokens) expect(portal.isActive(token)).toBe(false);
    for (const [i, cookie] of cookies.entries()) {
      const app = i === 0 ? a : b;
      expect(await signedIn(app, cookie)).toBe(false);
    }
  });
});
