// Sign out everywhere, on a real Redis: one user signed in from three browsers across two app
// instances (Express + express-session + connect-redis, Koa + koa-session + koa-redis); one sign-out
// ends all three sessions and revokes three tokens, through the revocation queue where the portal
// fails, and keeps a session whose token nothing could take.

import Router from '@koa/router';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import Koa from 'koa';
import koaSession from 'koa-session';
import redisStore from 'koa-redis';
import { randomBytes, randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { createClient, type RedisClientType } from 'redis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardSessionStore as guardExpressStore, ssoSignOut as expressSignOut } from 'sso-signout';
import {
  createLogoutClient,
  redisRevocationQueue,
  redisSessionIndex,
  type LogoutClient,
  type RevocationQueue,
  type SessionIndex,
  type SignOutEvent,
} from 'sso-signout';
import { guardSessionStore as guardKoaStore, sessionIdOf, ssoSignOut as koaSignOut } from 'sso-signout/koa';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { cookieHeaderFrom } from './helpers/cookies.js';
import { sharedRedisUrl } from './helpers/redis.js';
import { warningsDuring } from './helpers/warnings.js';

const SECRET = 'a test secret of more than thirty-two bytes';

let portal: FakePortal;
let redis: RedisClientType;
let client: LogoutClient;
const closing: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  portal = await startFakePortal();
  redis = createClient({ url: await sharedRedisUrl() });
  await redis.connect();
  client = createLogoutClient({ endpoint: portal.url, timeoutMs: 1000, maxAttempts: 1 });
});
afterAll(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
  await client.close();
  await redis.quit();
  await portal.close();
});

interface Setup {
  readonly index: SessionIndex;
  readonly queue?: RevocationQueue | undefined;
  readonly events: SignOutEvent[];
  readonly prefix: string;
  /** Whose sessions a sign-out ends (default: the session's `user`). */
  readonly userOf?: (session: { user?: string }) => unknown;
  /** The app keeps its sign-in at `auth.token` and reads it with `getToken` (and `everywhere.tokenOf`). */
  readonly custom?: boolean;
  /** With `custom`, the app's `everywhere.tokenOf` in place of one that reads `auth.token`. */
  readonly tokenOf?: (session: Record<string, unknown>) => unknown;
  /** The session store is wrapped in `guardSessionStore`, as the README advises. */
  readonly guarded: boolean;
}

/** Where a session keeps its sign-in, and the route options that read it there. */
function layout(setup: Setup) {
  const store = (s: Record<string, unknown>, accessToken: string): void => {
    if (setup.custom === true) s.auth = { token: accessToken };
    else s.sso = { accessToken };
  };
  const read = (s: unknown): string | undefined => (s as { auth?: { token?: string } } | null)?.auth?.token;
  const options =
    setup.custom === true ? { getToken: (native: unknown) => read((native as { session: unknown }).session) } : {};
  const tokenOf =
    setup.custom === true ? { tokenOf: (setup.tokenOf ?? read) as (s: Record<string, unknown>) => string } : {};
  return { store, options, tokenOf };
}

const userOf = (setup: Setup, session: unknown): string | undefined =>
  (setup.userOf ?? ((s: { user?: string }) => s.user))(session as { user?: string }) as string | undefined;

/** The store, wrapped in the guard when the setup asks for it. */
function guardedIf<S>(guarded: boolean, store: S, guard: (store: S) => S): S {
  return guarded ? guard(store) : store;
}

/** One instance of an Express app: sessions in Redis, sign-in records the session in the index. */
function expressInstance(setup: Setup): RequestListener {
  const app = express();
  app.use(
    session({
      name: 'portal.sid',
      secret: 'the session secret',
      resave: false,
      saveUninitialized: false,
      store: guardedIf(
        setup.guarded,
        new RedisStore({ client: redis, prefix: `${setup.prefix}sess:` }),
        guardExpressStore,
      ),
    }),
  );
  app.post('/signin', express.json(), (req, res, next) => {
    const { user, accessToken } = req.body as { user: string; accessToken: string };
    const s = req.session as unknown as Record<string, unknown>;
    s.user = user;
    layout(setup).store(s, accessToken);
    setup.index.add(user, req.sessionID).then(() => res.json({ ok: true }), next);
  });
  app.get('/me', (req, res) => {
    const s = req.session as unknown as { sso?: unknown; auth?: unknown };
    res.json({ signedIn: s.sso !== undefined || s.auth !== undefined });
  });
  app.post(
    '/signout/everywhere',
    expressSignOut({
      client,
      ...layout(setup).options,
      everywhere: { sessionIndex: setup.index, user: (req) => userOf(setup, req.session), ...layout(setup).tokenOf },
      ...(setup.queue === undefined ? {} : { endSessionOnFailure: true, revocationQueue: setup.queue }),
      onEvent: (event) => setup.events.push(event),
    }),
  );
  return app;
}

/** One instance of a Koa app: koa-session with koa-redis, the same way. */
function koaInstance(setup: Setup): RequestListener {
  const app = new Koa();
  app.keys = ['the session secret'];
  const store = redisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }) as {
    quit(): Promise<unknown>;
  };
  closing.push(() => store.quit());
  app.use(
    koaSession(
      {
        key: 'portal',
        store: guardedIf(setup.guarded, store as never, guardKoaStore),
        prefix: `${setup.prefix}koa:`,
      },
      app,
    ),
  );
  const router = new Router();
  router.post('/signin', async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const { user, accessToken } = JSON.parse(Buffer.concat(chunks).toString()) as { user: string; accessToken: string };
    // A new session id at sign-in, as an app should: the index must list the new one.
    await (ctx.session as unknown as { regenerate(): Promise<void> }).regenerate();
    const s = ctx.session as unknown as Record<string, unknown>;
    s.user = user;
    layout(setup).store(s, accessToken);
    await setup.index.add(user, sessionIdOf(ctx) as string);
    ctx.body = { ok: true };
  });
  router.get('/me', (ctx) => {
    const s = ctx.session as unknown as { sso?: unknown; auth?: unknown } | null;
    ctx.body = { signedIn: s?.sso !== undefined || s?.auth !== undefined };
  });
  router.post(
    '/signout/everywhere',
    koaSignOut({
      client,
      ...layout(setup).options,
      everywhere: { sessionIndex: setup.index, user: (ctx) => userOf(setup, ctx.session), ...layout(setup).tokenOf },
      ...(setup.queue === undefined ? {} : { endSessionOnFailure: true, revocationQueue: setup.queue }),
      onEvent: (event) => setup.events.push(event),
    }),
  );
  app.use(router.routes());
  const callback = app.callback();
  return (req, res) => {
    void callback(req, res);
  };
}

const FRAMEWORKS = [
  { name: 'Express + express-session + connect-redis', instance: expressInstance, guarded: false },
  { name: 'Koa + koa-session + koa-redis', instance: koaInstance, guarded: false },
  // The guard checks that its store is called as its session middleware calls it: the other
  // sessions are read and ended that way too.
  {
    name: 'Express + express-session + connect-redis behind guardSessionStore',
    instance: expressInstance,
    guarded: true,
  },
  { name: 'Koa + koa-session + koa-redis behind guardSessionStore', instance: koaInstance, guarded: true },
];

async function signIn(app: RequestListener, user: string, accessToken: string): Promise<string> {
  const res = await request(app).post('/signin').send({ user, accessToken }).expect(200);
  return cookieHeaderFrom(res);
}

async function signedIn(app: RequestListener, cookie: string): Promise<boolean> {
  const res = await request(app).get('/me').set('Cookie', cookie).expect(200);
  return (res.body as { signedIn: boolean }).signedIn;
}

describe.each(FRAMEWORKS)('signing out everywhere ($name)', ({ instance, guarded }) => {
  function setup(
    queue?: RevocationQueue,
    more: Partial<Setup> = {},
  ): Setup & { a: RequestListener; b: RequestListener } {
    const prefix = `sso-signout-test:${randomUUID()}:`;
    const index = redisSessionIndex({ client: redis, secret: SECRET, prefix });
    const base: Setup = { index, queue, events: [], prefix, guarded, ...more };
    return { ...base, a: instance(base), b: instance(base) };
  }

  it('ends every session of the user on both instances and revokes every token', async () => {
    const s = setup();
    const tokens = [portal.issueToken(), portal.issueToken(), portal.issueToken()];
    const laptop = await signIn(s.a, 'ada', tokens[0] as string);
    const phone = await signIn(s.b, 'ada', tokens[1] as string);
    const tablet = await signIn(s.a, 'ada', tokens[2] as string);
    // Someone else, who must stay signed in.
    const other = portal.issueToken();
    const bob = await signIn(s.b, 'bob', other);

    const res = await request(s.b).post('/signout/everywhere').set('Accept', 'application/json').set('Cookie', phone);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      signedOut: true,
      upstream: 'revoked',
      everywhere: { found: 2, ended: 2, kept: 0, failed: 0 },
    });
    for (const token of tokens) expect(portal.isActive(token)).toBe(false);
    for (const [app, cookie] of [
      [s.a, laptop],
      [s.b, laptop],
      [s.a, tablet],
      [s.b, phone],
    ] as const) {
      expect(await signedIn(app, cookie)).toBe(false);
    }
    expect(portal.isActive(other)).toBe(true);
    expect(await signedIn(s.a, bob)).toBe(true);
    expect(await s.index.sessions('ada')).toEqual([]);
    expect(s.events.at(-1)).toMatchObject({ type: 'signout', everywhere: { ended: 2 } });
    expect(JSON.stringify(s.events)).not.toMatch(/aoa/);
  });

  it('queues the tokens the portal could not revoke, and keeps a session whose token nothing took', async () => {
    const connection = createClient({ url: await sharedRedisUrl() });
    await connection.connect();
    closing.push(() => connection.quit());
    const queue = redisRevocationQueue({
      connection,
      secret: SECRET,
      encryptionKeys: [{ id: 'k', key: randomBytes(32) }],
      prefix: `sso-signout-test-${randomUUID()}`,
    });
    closing.push(() => queue.close());
    const withQueue = setup(queue);
    const withoutQueue = setup();
    for (const [s, expected] of [
      [withQueue, { code: 'sso_unavailable', signedOut: true, everywhere: { found: 1, ended: 1, kept: 0 } }],
      [withoutQueue, { code: 'sso_unavailable', signedOut: false }],
    ] as const) {
      const first = await signIn(s.a, 'ada', portal.issueToken());
      await signIn(s.b, 'ada', portal.issueToken());
      portal.setDefault({ kind: 'status', status: 503 });
      const res = await request(s.a).post('/signout/everywhere').set('Accept', 'application/json').set('Cookie', first);
      portal.setDefault('real');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject(expected);
      // Without a queue this session is kept (its token is not revoked), and so nothing else ends.
      expect(await signedIn(s.a, first)).toBe(!expected.signedOut);
    }
  });

  it("reads the other sessions' sign-ins where the app keeps them (getToken with everywhere.tokenOf)", async () => {
    const s = setup(undefined, { custom: true });
    const tokens = [portal.issueToken(), portal.issueToken()];
    const laptop = await signIn(s.a, 'ada', tokens[0] as string);
    const phone = await signIn(s.b, 'ada', tokens[1] as string);
    const res = await request(s.b).post('/signout/everywhere').set('Accept', 'application/json').set('Cookie', phone);
    expect(res.body).toMatchObject({ upstream: 'revoked', everywhere: { found: 1, ended: 1, kept: 0 } });
    for (const token of tokens) expect(portal.isActive(token)).toBe(false);
    expect(await signedIn(s.a, laptop)).toBe(false);
  });

  // The app's `tokenOf` reads another session's stored data as `getToken` reads the request's: sync or
  // async, and a hook that throws (quoting that session's token, say) or hangs is warned about, leaves
  // that session as it was, and takes nothing from the request's own sign-out.
  it.each([
    {
      name: 'async',
      tokenOf: (s: Record<string, unknown>) => Promise.resolve((s.auth as { token: string }).token),
      report: { ended: 1, failed: 0, kept: 0 },
      warned: undefined,
    },
    {
      name: 'throwing an error that quotes the token',
      tokenOf: (s: Record<string, unknown>) => {
        throw new Error(`cannot read ${JSON.stringify(s)}`);
      },
      report: { ended: 0, failed: 1, kept: 0 },
      warned: ['SSO_SIGNOUT_HOOK_FAILED', 'threw (Error)'] as const,
    },
    {
      name: 'rejecting with the token as its reason',
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what an app may reject with
      tokenOf: (s: Record<string, unknown>) => Promise.reject((s.auth as { token: string }).token),
      report: { ended: 0, failed: 1, kept: 0 },
      warned: ['SSO_SIGNOUT_HOOK_FAILED', 'threw (string)'] as const,
    },
    {
      name: 'throwing an error whose name getter throws, quoting the token',
      tokenOf: (s: Record<string, unknown>) => {
        const error = new Error('failed');
        Object.defineProperty(error, 'name', {
          get() {
            throw new Error(`no name: ${JSON.stringify(s)}`);
          },
        });
        throw error;
      },
      report: { ended: 0, failed: 1, kept: 0 },
      warned: ['SSO_SIGNOUT_HOOK_FAILED', 'threw (an Error)'] as const,
    },
    {
      name: 'throwing a revoked Proxy',
      tokenOf: () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        throw proxy as Error;
      },
      report: { ended: 0, failed: 1, kept: 0 },
      warned: ['SSO_SIGNOUT_HOOK_FAILED', 'threw (an unreadable value)'] as const,
    },
    {
      name: 'never answering',
      tokenOf: () => new Promise(() => undefined),
      report: { ended: 0, failed: 1, kept: 0 },
      warned: ['SSO_SIGNOUT_HOOK_FAILED', 'did not answer within 1000 ms'] as const,
    },
    {
      name: 'returning what is no sign-in',
      tokenOf: () => 42,
      report: { ended: 0, failed: 0, kept: 1 },
      warned: ['SSO_SIGNOUT_TOKEN_UNUSABLE', 'could not be sent'] as const,
    },
  ])("everywhere.tokenOf $name: the request's own sign-out stands, truthfully", async ({ tokenOf, report, warned }) => {
    const s = setup(undefined, { custom: true, tokenOf });
    const [own, other] = [portal.issueToken(), portal.issueToken()];
    const laptop = await signIn(s.a, 'ada', other);
    const phone = await signIn(s.b, 'ada', own);
    let res: request.Response | undefined;
    const warnings = await warningsDuring(async () => {
      res = await request(s.b).post('/signout/everywhere').set('Accept', 'application/json').set('Cookie', phone);
    });
    expect(res?.status).toBe(200);
    expect(res?.body).toMatchObject({ signedOut: true, upstream: 'revoked', everywhere: { found: 1, ...report } });
    expect(portal.isActive(own)).toBe(false);
    expect(await signedIn(s.b, phone)).toBe(false);
    // The other session ends exactly when the report says so, its token with it.
    expect(await signedIn(s.a, laptop)).toBe(report.ended === 0);
    expect(portal.isActive(other)).toBe(report.ended === 0);
    expect(s.events.at(-1)).toMatchObject({ type: 'signout', everywhere: report });
    if (warned === undefined) expect(warnings).toEqual([]);
    else
      expect(warnings.filter((w) => w.code === warned[0]).map((w) => w.message)).toEqual([
        expect.stringContaining(warned[1]),
      ]);
    expect(JSON.stringify([res?.body, res?.headers, warnings, s.events])).not.toContain(other);
  });

  it('ends nothing for a request with no sign-in, whatever the user hook says', async () => {
    const s = setup(undefined, { userOf: () => 'ada' });
    const token = portal.issueToken();
    const laptop = await signIn(s.a, 'ada', token);
    const res = await request(s.b).post('/signout/everywhere').set('Accept', 'application/json');
    expect(res.body).toMatchObject({ signedOut: true, upstream: 'skipped' });
    expect(res.body).not.toHaveProperty('everywhere');
    expect(await signedIn(s.a, laptop)).toBe(true);
    expect(portal.isActive(token)).toBe(true);
  });

  it('works through a long index a thousand at a time, saying how many it left, and the next request finishes it', async () => {
    const s = setup();
    const token = portal.issueToken();
    const laptop = await signIn(s.a, 'ada', token);
    // 1,100 sessions that have since expired, and a record that is not a session: ids that sort before
    // any a session middleware makes, so the live session comes last.
    for (let i = 0; i < 1100; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => s.index.add('ada', `!a-stale-${String(i + j).padStart(5, '0')}`)),
      );
    }
    const garbage = `!b-garbage-${randomUUID()}`;
    await s.index.add('ada', garbage);
    // Where connect-redis (under its prefix) and koa-redis (the key as it is) would read it.
    await redis.set(`${s.prefix}sess:${garbage}`, '5', { EX: 60 });
    await redis.set(garbage, '5', { EX: 60 });
    const first = await request(s.b)
      .post('/signout/everywhere')
      .set('Accept', 'application/json')
      .set('Cookie', await signIn(s.b, 'ada', portal.issueToken()));
    const report = (first.body as { everywhere: Record<string, number> }).everywhere;
    expect(report).toMatchObject({ found: 1102, gone: 1000, ended: 0 });
    expect(report.failed).toBe(102);
    expect(await signedIn(s.a, laptop)).toBe(true);
    const second = await request(s.b)
      .post('/signout/everywhere')
      .set('Accept', 'application/json')
      .set('Cookie', await signIn(s.b, 'ada', portal.issueToken()));
    expect((second.body as { everywhere: unknown }).everywhere).toMatchObject({
      found: 102,
      gone: 100,
      ended: 1,
      failed: 1,
    });
    expect(await signedIn(s.a, laptop)).toBe(false);
    expect(portal.isActive(token)).toBe(false);
    // The record that is not a session was not destroyed on a guess.
    expect(await redis.get(`${s.prefix}sess:${garbage}`)).toBe('5');
    expect(await redis.get(garbage)).toBe('5');
  });

  // A profile holding the token under a name that says nothing of it, as the app may keep one.
  const profileOf = (session: { user?: string }) => ({
    name: session.user,
    sso: (session as { sso?: { accessToken?: string } }).sso?.accessToken,
  });
  it.each([
    ['a number', () => 42, 'the `everywhere.user` hook returned 42 instead'],
    ['an object holding the token', profileOf, 'the `everywhere.user` hook returned an object instead'],
    [
      'a symbol described by the token',
      (session: { user?: string }) => Symbol(profileOf(session).sso),
      'the `everywhere.user` hook returned a value of type symbol instead',
    ],
  ] as const)(
    'warns about a user hook that returns %s, naming only what it is, and signs out this session only',
    async (_label, hook, said) => {
      const s = setup(undefined, { userOf: hook });
      const token = portal.issueToken();
      const cookie = await signIn(s.a, 'ada', token);
      const other = await signIn(s.b, 'ada', portal.issueToken());
      const warnings = await warningsDuring(async () => {
        await request(s.a).post('/signout/everywhere').set('Cookie', cookie).expect(303);
      });
      const failed = warnings.filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.message).toContain(said);
      expect(failed[0]?.message).not.toContain(token);
      expect(await signedIn(s.b, other)).toBe(true);
    },
  );

  it.each(['sessions', 'remove'] as const)(
    'answers within the deadline when an index of the app’s own never answers its %s()',
    async (hung) => {
      const s = setup();
      const never = (): Promise<never> => new Promise<never>(() => undefined);
      const index: SessionIndex = {
        add: (user, id) => s.index.add(user, id),
        sessions: hung === 'sessions' ? never : (user) => s.index.sessions(user),
        remove: hung === 'remove' ? never : (user, ids) => s.index.remove(user, ids),
      };
      const app = instance({ ...s, index });
      const cookie = await signIn(app, 'ada', portal.issueToken());
      const other = await signIn(s.b, 'ada', portal.issueToken());
      const started = performance.now();
      const res = await request(app)
        .post('/signout/everywhere')
        .set('Accept', 'application/json')
        .set('Cookie', cookie)
        .expect(200);
      // The client's deadline is 1 s: the index's wait is bounded by it.
      expect(performance.now() - started).toBeLessThan(2500);
      expect(res.body).toMatchObject({ signedOut: true });
      expect(await signedIn(app, cookie)).toBe(false);
      if (hung === 'sessions') {
        expect(res.body.everywhere).toMatchObject({ found: 0, failed: 1 });
        expect(await signedIn(s.b, other)).toBe(true);
      } else {
        // The sessions were ended; only forgetting them waited in vain.
        expect(res.body.everywhere).toMatchObject({ found: 1, ended: 1 });
        expect(await signedIn(s.b, other)).toBe(false);
      }
    },
  );

  it('signs out this session only when the app names no user', async () => {
    const s = setup();
    const cookie = await signIn(s.a, 'ada', portal.issueToken());
    const other = await signIn(s.b, 'ada', portal.issueToken());
    const app = instance({ ...s, userOf: () => undefined });
    const res = await request(app).post('/signout/everywhere').set('Accept', 'application/json').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('everywhere');
    expect(await signedIn(s.a, cookie)).toBe(false);
    expect(await signedIn(s.b, other)).toBe(true);
  });
});

it('refuses an everywhere option that is not one, and getToken without everywhere.tokenOf', () => {
  expect(() => expressSignOut({ client, everywhere: {} as never })).toThrow(/everywhere/);
  // An index of the app's own that can list a user's sessions but not forget them: refused when the
  // route is made, not found out after a sign-out has ended the session.
  const listsOnly = { sessions: () => Promise.resolve([]) };
  expect(() => expressSignOut({ client, everywhere: { sessionIndex: listsOnly as never, user: () => 'ada' } })).toThrow(
    /everywhere/,
  );
  const sessionIndex = redisSessionIndex({ client: redis, secret: SECRET });
  expect(() =>
    expressSignOut({ client, getToken: () => undefined, everywhere: { sessionIndex, user: () => 'ada' } }),
  ).toThrow(/everywhere.tokenOf/);
  expect(() => redisSessionIndex({ client: redis, secret: 'short' })).toThrow(/32 bytes/);
});

it('refuses an everywhere key it does not know, naming the one meant: a misspelt tokenOf is not left unread', () => {
  const sessionIndex = redisSessionIndex({ client: redis, secret: SECRET });
  const everywhere = { sessionIndex, user: () => 'ada', tokenof: () => undefined };
  expect(() => expressSignOut({ client, everywhere: everywhere as never })).toThrow(
    expect.objectContaining({
      name: 'SignOutConfigError',
      option: 'everywhere.tokenof',
      reason: 'unknown_option',
      message: expect.stringContaining('Did you mean `tokenOf`?') as string,
    }),
  );
  // Told as the unknown key it is, not as a missing sessionIndex.
  expect(() => koaSignOut({ client, everywhere: { index: sessionIndex, user: () => 'ada' } as never })).toThrow(
    expect.objectContaining({
      option: 'everywhere.index',
      reason: 'unknown_option',
      message: expect.stringContaining('Known options of `everywhere`: sessionIndex, user, tokenOf.') as string,
    }),
  );
});

it('refuses, with a clear error and no write, session ids the index cannot hold', async () => {
  const prefix = `sso-signout-test:${randomUUID()}:`;
  const index = redisSessionIndex({ client: redis, secret: SECRET, prefix });
  await index.add('ada', 'kept-id-0123456789');
  await expect(index.remove('ada', 'kept-id-0123456789' as never)).rejects.toThrow(
    /session ids to remove must be an array of ids; got a value of type string$/,
  );
  for (const id of ['a\r\nb', 'a\u0000b', 'a\u0085b', ''])
    await expect(index.add('ada', id)).rejects.toThrow(/no control character/);
  await expect(index.remove('ada', ['kept-id-0123456789', 'x\ny'])).rejects.toThrow(/no control character/);
  expect(await index.sessions('ada')).toEqual(['kept-id-0123456789']);
  expect(await redis.keys(`${prefix}*`)).toHaveLength(1);
});
