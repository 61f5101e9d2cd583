// Concurrency: many tabs, requests in flight during sign-out (session resurrection), and app
// instances sharing a real Redis session store.

import { RedisStore } from 'connect-redis';
import session from 'express-session';
import redisStore from 'koa-redis';
import type { RequestListener } from 'node:http';
import { createClient, type RedisClientType } from 'redis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, guardSessionStore, type LogoutClient } from 'sso-signout';
import { guardSessionStore as guardKoaStore, type KoaSessionStoreLike } from 'sso-signout/koa';
import { guardSessionStore as guardFastifyStore } from 'sso-signout/fastify';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { isSignedIn, signInWithToken } from './helpers/flows.js';
import { ADAPTERS, type Adapter, type BuildOptions } from './helpers/adapters.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { warningCodesDuring } from './helpers/warnings.js';

let portal: FakePortal;
let client: LogoutClient;
let redis: RedisServer;
const redisClients: RedisClientType[] = [];
const koaStores: { quit(): Promise<unknown> }[] = [];

// Its own redis-server on a free port, not the shared one: a test here counts the server's write
// commands, which other test files running at the same time would add to.
beforeAll(async () => {
  [portal, redis] = await Promise.all([startFakePortal(), startRedis()]);
  client = createLogoutClient({ endpoint: portal.url });
});
afterEach(() => {
  portal.reset();
});
afterAll(async () => {
  await Promise.all(redisClients.map((c) => c.quit()));
  await Promise.all(koaStores.map((s) => s.quit()));
  await client.close();
  // Missing when beforeAll failed (no redis-server, say): its error is the one to read.
  await (portal as FakePortal | undefined)?.close();
  await (redis as RedisServer | undefined)?.stop();
});

const express = ADAPTERS.find((a) => a.name === 'Express 5 + express-session') as Adapter;
const koa = ADAPTERS.find((a) => a.name === 'Koa 3 + koa-session (external store)') as Adapter;
const fastify = ADAPTERS.find((a) => a.name.startsWith('Fastify 5 + @fastify/session')) as Adapter;

async function connectRedisStore(): Promise<session.Store> {
  const c: RedisClientType = createClient({ url: redis.url });
  await c.connect();
  redisClients.push(c);
  return new RedisStore({ client: c, prefix: 'sess:' });
}

function koaRedisStore(): KoaSessionStoreLike {
  const store = redisStore({ url: redis.url }) as KoaSessionStoreLike & { quit(): Promise<unknown> };
  koaStores.push(store);
  return store;
}

const signIn = (app: RequestListener) => signInWithToken(app, portal);
const signedIn = isSignedIn;

describe('several tabs signing out at once', () => {
  it.each([express, koa])('makes one upstream call for one token ($name)', async (adapter) => {
    const app = adapter.build(client);
    const { cookie, token } = await signIn(app);
    portal.pause();
    const tabs = Promise.all(
      Array.from({ length: 12 }, () =>
        request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json'),
      ),
    );
    await portal.waitForCalls(1);
    portal.resume();
    const answers = await tabs;
    expect(portal.calls).toHaveLength(1);
    expect(answers.every((a) => a.status === 200 && (a.body as { signedOut: boolean }).signedOut)).toBe(true);
    expect(portal.isActive(token)).toBe(false);
    expect(await signedIn(app, cookie)).toBe(false);
  });
});

/**
 * A slow request of the session is in flight while the session signs out; then it finishes.
 * Returns whether the old cookie works again afterwards.
 */
async function resurrects(adapter: Adapter, options: BuildOptions & { modify: boolean }): Promise<boolean> {
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const app = adapter.build(client, { ...options, slow: { entered, release: released, modify: options.modify } });
  const { cookie } = await signIn(app);
  const slow = request(app)
    .get('/slow')
    .set('Cookie', cookie)
    .then((r) => r);
  await inside;
  const out = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(200);
  expect((out.body as { signedOut: boolean }).signedOut).toBe(true);
  expect(await signedIn(app, cookie)).toBe(false);
  release();
  await slow;
  return signedIn(app, cookie);
}

const EXPRESS_VARIANTS = [
  { name: 'resave false, the slow request changes the session', sessionOptions: { resave: false }, modify: true },
  { name: 'resave true', sessionOptions: { resave: true }, modify: false },
  { name: 'rolling, the slow request changes the session', sessionOptions: { rolling: true }, modify: true },
  { name: 'rolling, the slow request only reads', sessionOptions: { rolling: true, resave: false }, modify: false },
];

describe('session resurrection: express-session', () => {
  const stores = [
    { store: 'MemoryStore', make: () => Promise.resolve<session.Store>(new session.MemoryStore()) },
    { store: 'connect-redis', make: connectRedisStore },
  ];
  const unguarded: Record<string, boolean> = {};

  describe.each(stores)('$store', ({ store, make }) => {
    it.each(EXPRESS_VARIANTS)('without the guard: $name', async ({ name, sessionOptions, modify }) => {
      unguarded[`${store}: ${name}`] = await resurrects(express, { store: await make(), sessionOptions, modify });
    });

    it.each(EXPRESS_VARIANTS)('with guardSessionStore, stays signed out: $name', async ({ sessionOptions, modify }) => {
      const guarded = guardSessionStore(await make());
      expect(await resurrects(express, { store: guarded, sessionOptions, modify })).toBe(false);
    });
  });

  it('shows the hazard is real: express-session alone writes a signed-out session back', () => {
    expect(unguarded).toMatchObject({
      'MemoryStore: resave false, the slow request changes the session': true,
      'MemoryStore: resave true': true,
      'connect-redis: resave false, the slow request changes the session': true,
      'connect-redis: resave true': true,
    });
  });
});

describe('session resurrection: koa-session', () => {
  const KOA_VARIANTS = [
    { name: 'the slow request changes the session', sessionOptions: {}, modify: true },
    { name: 'rolling', sessionOptions: { rolling: true }, modify: false },
  ];

  it.each(KOA_VARIANTS)('without the guard, koa-redis: $name', async ({ sessionOptions, modify }) => {
    const result = await resurrects(koa, { store: koaRedisStore(), sessionOptions, modify });
    // The hazard exists for a changed session; a rolling one is written back too.
    expect(result).toBe(true);
  });

  it.each(KOA_VARIANTS)(
    'with guardSessionStore, koa-redis stays signed out: $name',
    async ({ sessionOptions, modify }) => {
      expect(await resurrects(koa, { store: guardKoaStore(koaRedisStore()), sessionOptions, modify })).toBe(false);
    },
  );
});

describe('session resurrection: @fastify/session', () => {
  // @fastify/session saves a changed session when its answer is sent, and (rolling, its default)
  // sets its cookie again: the same hazard, and the express-session guard, whose store
  // interface it shares, answers it.
  const FASTIFY_VARIANTS = [
    { name: 'the slow request changes the session', sessionOptions: {}, modify: true },
    { name: 'rolling, the slow request only reads', sessionOptions: { rolling: true }, modify: false },
  ];

  it.each(FASTIFY_VARIANTS)('without the guard, connect-redis: $name', async ({ sessionOptions, modify }) => {
    const result = await resurrects(fastify, { store: await connectRedisStore(), sessionOptions, modify });
    // A changed session is saved back; a rolling one is saved back even when only read.
    expect(result).toBe(true);
  });

  it.each(FASTIFY_VARIANTS)(
    'with guardSessionStore from sso-signout/fastify, connect-redis stays signed out: $name',
    async ({ sessionOptions, modify }) => {
      const guarded = guardFastifyStore(await connectRedisStore());
      expect(await resurrects(fastify, { store: guarded, sessionOptions, modify })).toBe(false);
    },
  );
});

describe('two app instances sharing one Redis session store', () => {
  it('express-session + connect-redis: a sign-out on one is refused on the other at once', async () => {
    const [storeA, storeB] = await Promise.all([connectRedisStore(), connectRedisStore()]);
    const a = express.build(client, { store: guardSessionStore(storeA) });
    const b = express.build(client, { store: guardSessionStore(storeB) });
    const { cookie, token } = await signIn(a);
    expect(await signedIn(b, cookie)).toBe(true);
    await request(b).post('/signout').set('Cookie', cookie).expect(303);
    expect(portal.isActive(token)).toBe(false);
    expect(await signedIn(a, cookie)).toBe(false);
    expect(await signedIn(b, cookie)).toBe(false);
  });

  it('koa-session + koa-redis: a sign-out on one is refused on the other at once', async () => {
    const a = koa.build(client, { store: guardKoaStore(koaRedisStore()) });
    const b = koa.build(client, { store: guardKoaStore(koaRedisStore()) });
    const { cookie, token } = await signIn(a);
    expect(await signedIn(b, cookie)).toBe(true);
    await request(b).post('/signout').set('Cookie', cookie).expect(303);
    expect(portal.isActive(token)).toBe(false);
    expect(await signedIn(a, cookie)).toBe(false);
    expect(await signedIn(b, cookie)).toBe(false);
  });

  it('keeps the revoked marker in Redis with a TTL, not forever', async () => {
    const store = await connectRedisStore();
    const app = express.build(client, { store: guardSessionStore(store, { ttlMs: 60_000, prefix: 'ttl-check:' }) });
    const { cookie } = await signIn(app);
    await request(app).post('/signout').set('Cookie', cookie).expect(303);
    const c = redisClients[redisClients.length - 1] as RedisClientType;
    const keys = await c.keys('sess:ttl-check:*');
    expect(keys).toHaveLength(1);
    const ttl = await c.ttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});

describe('a store that cannot delete a signed-out session (a Redis user without DEL, say)', () => {
  const NOPERM = 'NOPERM this user has no permissions to run the del command';

  it.each([
    [
      'express-session + connect-redis',
      async () => {
        const noDelete = Object.create(await connectRedisStore()) as session.Store;
        noDelete.destroy = (_sid, callback) => callback?.(new Error(NOPERM));
        return express.build(client, { store: guardSessionStore(noDelete) });
      },
    ],
    [
      'koa-session + koa-redis',
      () => {
        const noDelete = Object.create(koaRedisStore()) as KoaSessionStoreLike;
        noDelete.destroy = () => Promise.reject(new Error(NOPERM));
        return Promise.resolve(koa.build(client, { store: guardKoaStore(noDelete) }));
      },
    ],
  ])(
    '%s: signed out behind the marker, the answer says so, later requests work, the operator is told',
    async (_name, build) => {
      const app = await build();
      const { cookie, token } = await signIn(app);
      const warned = await warningCodesDuring(async () => {
        const res = await request(app)
          .post('/signout')
          .set('Accept', 'application/json')
          .set('Cookie', cookie)
          .expect(200);
        expect(res.body).toMatchObject({ signedOut: true, upstream: 'revoked' });
        expect(portal.isActive(token)).toBe(false);
        // What the answer said is true: the session cannot be read again, and reading it (the guard
        // tries to delete it again, and fails again) is no error.
        expect(await signedIn(app, cookie)).toBe(false);
        expect(await signedIn(app, cookie)).toBe(false);
      });
      expect(warned).toContain('SSO_SIGNOUT_GUARD_DELETE_FAILED');
    },
  );

  it('keeps the session, and says so, when the marker itself cannot be written', async () => {
    const store = await connectRedisStore();
    const readOnly = Object.create(store) as session.Store;
    const realSet = store.set.bind(store);
    let frozen = false;
    readOnly.set = (sid, data, callback) => {
      if (frozen) callback?.(new Error('READONLY'));
      else realSet(sid, data, callback);
    };
    const app = express.build(client, { store: guardSessionStore(readOnly) });
    const { cookie } = await signIn(app);
    frozen = true;
    const res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', cookie).expect(500);
    expect(res.body).toMatchObject({ code: 'session_error', signedOut: false });
    expect(await signedIn(app, cookie)).toBe(true);
  });
});

describe("a guarded store's listings (all, length, ids) show sessions, not signed-out users", () => {
  /** Lists a callback store's method by callback, and (where it answers without one) by promise. */
  const listed = (store: session.Store, method: 'all' | 'length' | 'ids'): Promise<unknown> =>
    new Promise((resolve, reject) => {
      (store as unknown as Record<string, (cb: (e: Error | null, v: unknown) => void) => void>)[method]?.((e, v) => {
        if (e) reject(e);
        else resolve(v);
      });
    });
  const idsIn = (all: unknown): string[] =>
    Array.isArray(all)
      ? all.map((s) => (s as { id: string }).id).sort()
      : Object.keys(all as Record<string, unknown>).sort();

  it.each([
    ['MemoryStore', () => Promise.resolve(new session.MemoryStore() as session.Store)],
    ['connect-redis', connectRedisStore],
    [
      'connect-redis that cannot delete (the session stays behind its marker)',
      async () => {
        const noDelete = Object.create(await connectRedisStore()) as session.Store;
        noDelete.destroy = (_sid, callback) => callback?.(new Error('NOPERM'));
        return noDelete;
      },
    ],
  ])('%s', async (name, make) => {
    const store = await make();
    // connect-redis keeps every test's sessions in one Redis: start from none.
    if (name.startsWith('connect-redis')) await new Promise((resolve) => store.clear?.(resolve));
    const guarded = guardSessionStore(store);
    const app = express.build(client, { store: guarded });
    const ada = await signIn(app);
    const [adaId] = idsIn(await listed(guarded, 'all'));
    await signIn(app);
    const bobId = idsIn(await listed(guarded, 'all')).find((id) => id !== adaId);
    expect(await listed(guarded, 'length')).toBe(2);
    await request(app).post('/signout').set('Cookie', ada.cookie).expect(303);
    // The store itself holds the marker (and, where its delete failed, the session behind it).
    expect(await listed(store, 'length')).toBe(name.includes('cannot delete') ? 3 : 2);
    expect(idsIn(await listed(guarded, 'all'))).toEqual([bobId]);
    expect(await listed(guarded, 'length')).toBe(1);
    if (name.startsWith('connect-redis')) {
      expect(await listed(guarded, 'ids')).toEqual([bobId]);
      // connect-redis answers by promise when no callback is given: so does the guard.
      const byPromise = guarded as unknown as { all(): Promise<unknown>; length(): Promise<number> };
      expect(idsIn(await byPromise.all())).toEqual([bobId]);
      expect(await byPromise.length()).toBe(1);
    }
  });
});

describe('a guarded store, as the app uses it besides its session middleware', () => {
  const call = (store: session.Store, method: 'set' | 'destroy' | 'all' | 'length' | 'clear', ...args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      (store as unknown as Record<string, (...a: unknown[]) => void>)[method]?.(
        ...args,
        (e: Error | null, v: unknown) => {
          if (e) reject(e);
          else resolve(v);
        },
      );
    });
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() };

  it("lists a session whose own id starts with the guard's prefix, and hides only markers", async () => {
    const store = new session.MemoryStore();
    const guarded = guardSessionStore(store, { prefix: 'x' });
    for (const id of ['xavier', 'yves', 'zoe']) await call(guarded, 'set', id, { cookie, user: id });
    await call(guarded, 'destroy', 'zoe');
    expect(Object.keys((await call(store, 'all')) as object).sort()).toEqual(['xavier', 'xzoe', 'yves']);
    expect(Object.keys((await call(guarded, 'all')) as object).sort()).toEqual(['xavier', 'yves']);
    expect(await call(guarded, 'length')).toBe(2);
  });

  it("clears the store itself through the guard (MemoryStore's clear replaces its map)", async () => {
    const store = new session.MemoryStore();
    const guarded = guardSessionStore(store);
    await call(guarded, 'set', 'ada', { cookie, user: 'ada' });
    await call(guarded, 'clear');
    expect(await call(store, 'length')).toBe(0);
    expect(await call(guarded, 'length')).toBe(0);
  });
});

describe('a store given to guardSessionStore but used without its guard', () => {
  it.each([
    ['express-session', express, () => Promise.resolve(new session.MemoryStore()), guardSessionStore],
    ['koa-session', koa, () => Promise.resolve(koaRedisStore()), guardKoaStore],
    ['@fastify/session', fastify, connectRedisStore, guardFastifyStore],
  ] as const)(
    '%s: the sign-out works, and the app is told once that the guard protects nothing',
    async (_name, adapter, make, guard) => {
      const store = await make();
      const unused = (guard as (store: never) => unknown)(store as never);
      const app = adapter.build(client, { store });
      for (let i = 0; i < 2; i++) {
        const { cookie, token } = await signIn(app);
        const codes = await warningCodesDuring(async () => {
          await request(app).post('/signout').set('Cookie', cookie).expect(303);
        });
        expect(portal.isActive(token)).toBe(false);
        expect(codes.filter((code) => code === 'SSO_SIGNOUT_GUARD_BYPASSED')).toHaveLength(i === 0 ? 1 : 0);
      }
      // The guard itself, given to the middleware, is not told about.
      const guarded = adapter.build(client, { store: unused });
      const { cookie } = await signIn(guarded);
      const codes = await warningCodesDuring(async () => {
        await request(guarded).post('/signout').set('Cookie', cookie).expect(303);
      });
      expect(codes).not.toContain('SSO_SIGNOUT_GUARD_BYPASSED');
    },
  );
});

describe('sign-outs with no stored session', () => {
  const WRITES = ['set', 'setex', 'psetex', 'getset', 'mset', 'del', 'unlink', 'expire', 'pexpire', 'hset'];

  /** Write commands the Redis server has run so far, from INFO commandstats. */
  async function writesSoFar(c: RedisClientType): Promise<number> {
    const info = await c.info('commandstats');
    let total = 0;
    for (const match of info.matchAll(/^cmdstat_([a-z]+):calls=(\d+)/gm)) {
      if (WRITES.includes(match[1] as string)) total += Number(match[2]);
    }
    return total;
  }

  async function redisClient(): Promise<RedisClientType> {
    const c: RedisClientType = createClient({ url: redis.url });
    await c.connect();
    redisClients.push(c);
    return c;
  }

  it.each([
    ['express-session + connect-redis', express, () => connectRedisStore().then((s) => guardSessionStore(s))],
    ['koa-session + koa-redis', koa, () => Promise.resolve(guardKoaStore(koaRedisStore()))],
  ] as const)(
    'write nothing to a guarded store (%s): no cookie, or a cookie the store forgot',
    async (_name, adapter, makeStore) => {
      const c = await redisClient();
      const app = adapter.build(client, { store: await makeStore() });
      // Cookies of real sessions, then forgotten by the store (expired, say).
      const forgotten: string[] = [];
      for (let i = 0; i < 20; i++) forgotten.push((await signIn(app)).cookie);
      await c.flushDb();
      const keys = await c.dbSize();
      const before = await writesSoFar(c);
      for (let i = 0; i < 100; i++) await request(app).post('/signout').expect(303);
      for (const cookie of forgotten) await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(await writesSoFar(c)).toBe(before);
      expect(await c.dbSize()).toBe(keys);
      expect(portal.calls).toHaveLength(0);
    },
  );

  it.each([
    ['express-session + connect-redis', express, () => connectRedisStore().then((s) => guardSessionStore(s))],
    ['koa-session + koa-redis', koa, () => Promise.resolve(guardKoaStore(koaRedisStore()))],
  ] as const)('a replayed signed-out cookie costs reads, not writes (%s)', async (_name, adapter, makeStore) => {
    const c = await redisClient();
    const app = adapter.build(client, { store: await makeStore() });
    const { cookie } = await signIn(app);
    await request(app).post('/signout').set('Cookie', cookie).expect(303);
    const before = await writesSoFar(c);
    for (let i = 0; i < 20; i++) expect(await signedIn(app, cookie)).toBe(false);
    expect(await writesSoFar(c)).toBe(before);
  });

  it('still marks a session the store held', async () => {
    const c = await redisClient();
    const app = express.build(client, { store: guardSessionStore(await connectRedisStore(), { prefix: 'held:' }) });
    const { cookie } = await signIn(app);
    await request(app).post('/signout').set('Cookie', cookie).expect(303);
    expect(await c.keys('sess:held:*')).toHaveLength(1);
  });
});
