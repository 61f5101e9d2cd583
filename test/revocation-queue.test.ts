// The durable revocation queue on a real Redis (BullMQ): a session that ends while the portal fails
// hands its token to the queue, sealed; a worker revokes it once the portal is back, honours a
// throttle, drops what is too old and dead-letters what cannot be worked; a queue that cannot take the
// token keeps the session. Through every adapter, with node-redis and ioredis.

import { Redis as IORedis } from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { MockAgent } from 'undici';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogoutClient,
  createRevocationWorker,
  redisRevocationQueue,
  SignOutConfigError,
  type RedisRevocationQueueOptions,
  type RevocationEvent,
  type RevocationQueue,
  type RevocationWorker,
  type RevocationWorkerOptions,
} from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { ADAPTERS } from './helpers/adapters.js';
import { applySetCookies } from './helpers/cookies.js';
import { isSignedIn, signInWithToken } from './helpers/flows.js';
import { sharedRedisUrl, startRedis } from './helpers/redis.js';
import { warningCodesDuring } from './helpers/warnings.js';
import { dump, ioRedis as ioRedisWith, nodeRedis, type Connection } from './helpers/redis-clients.js';

// BullMQ's workers need ioredis with maxRetriesPerRequest: null.
const ioRedis = (url: string): Promise<Connection> => ioRedisWith(url, { maxRetriesPerRequest: null });
import { until } from './helpers/until.js';

const SECRET = 'a test secret of more than thirty-two bytes';
const KEY_A = { id: 'key-a', key: randomBytes(32).toString('base64url') };
const KEY_B = { id: 'key-b', key: randomBytes(32) };

const CLIENTS = [
  { name: 'ioredis v5', connect: ioRedis },
  { name: 'node-redis v5', connect: nodeRedis },
] as const;

let portal: FakePortal;
let redisUrl: string;
const toClose: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  portal = await startFakePortal();
  redisUrl = await sharedRedisUrl();
});
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close().catch(() => undefined);
  portal.reset();
});
afterAll(async () => {
  await portal.close();
});

function worker(queue: RevocationQueue, options: Partial<RevocationWorkerOptions> = {}): RevocationWorker {
  const w = createRevocationWorker({
    queue,
    clientOptions: { endpoint: portal.url, timeoutMs: 1000, maxAttempts: 1 },
    backoffMs: 20,
    maxBackoffMs: 100,
    ...options,
  });
  toClose.push(() => w.close());
  return w;
}

describe.each(CLIENTS)('the revocation queue with $name', ({ connect }) => {
  async function setup(
    queueOptions: Partial<RedisRevocationQueueOptions> = {},
  ): Promise<{ queue: RevocationQueue; events: RevocationEvent[]; conn: Connection; prefix: string }> {
    const conn = await connect(redisUrl);
    toClose.push(() => conn.close());
    const prefix = `sso-signout-test-${randomUUID()}`;
    const events: RevocationEvent[] = [];
    const queue = redisRevocationQueue({
      connection: conn.client,
      secret: SECRET,
      encryptionKeys: [KEY_A],
      prefix,
      onEvent: (event) => events.push(event),
      ...queueOptions,
    });
    toClose.push(() => queue.close());
    return { queue, events, conn, prefix };
  }

  describe.each(ADAPTERS)('signed out through $name', (adapter) => {
    it('ends the session while the portal fails, queues the token sealed, and a worker revokes it once the portal is back', async () => {
      const { queue, events, conn, prefix } = await setup();
      const client = createLogoutClient({ endpoint: portal.url, timeoutMs: 1000, maxAttempts: 1 });
      toClose.push(() => client.close());
      const app = adapter.build(client, { signOut: { endSessionOnFailure: true, revocationQueue: queue } });
      const { token, cookie } = await signInWithToken(app, portal);
      portal.setDefault({ kind: 'status', status: 503 });

      const res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', cookie);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'sso_unavailable', signedOut: true });
      // The browser's cookies after the answer (a cookie session is ended by clearing its cookie).
      expect(await isSignedIn(app, applySetCookies(cookie, res))).toBe(false);
      if (adapter.serverSide) expect(await isSignedIn(app, cookie)).toBe(false);
      expect(portal.isActive(token)).toBe(true);
      expect(events.map((e) => e.type)).toEqual(['revocation_queued']);
      // Sealed: neither the token nor any part of it is in Redis.
      const stored = await dump(conn, `${prefix}:*`);
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(token.slice(4, 24));
      expect(stored).toContain((events[0] as { digest: string }).digest);

      portal.setDefault('real');
      worker(queue);
      await until(() => !portal.isActive(token));
      await until(() => events.some((e) => e.type === 'revocation_done'));
      expect(events.at(-1)).toMatchObject({ type: 'revocation_done', outcome: 'revoked', attempts: 1 });
      // A revoked token's job goes, ciphertext and all.
      await until(async () => !/\bkid\b/.test(await dump(conn, `${prefix}:*`)));
    });
  });

  it('queues a token once, however often it is handed over', async () => {
    const { queue, events, conn, prefix } = await setup();
    const token = portal.issueToken();
    await queue.enqueue({ accessToken: token });
    await queue.enqueue({ accessToken: token });
    await queue.enqueue({ accessToken: token, region: 'eu-west-1' });
    const digests = new Set(events.map((e) => (e as { digest?: string }).digest));
    expect(digests.size).toBe(1);
    const stored = await dump(conn, `${prefix}:*`);
    expect(stored.match(/\bkid\b/g)).toHaveLength(1);
  });

  it('counts a token the portal already forgot as done (401 is proof it is dead)', async () => {
    const { queue, events } = await setup();
    const token = portal.issueToken();
    portal.revoke(token);
    await queue.enqueue({ accessToken: token });
    worker(queue);
    await until(() => events.some((e) => e.type === 'revocation_done'));
    expect(events.at(-1)).toMatchObject({ type: 'revocation_done', outcome: 'rejected' });
    expect(portal.calls).toHaveLength(1);
  });

  it('retries a failing portal with backoff until it revokes, and honours a throttle on every worker', async () => {
    const { queue, events } = await setup();
    const token = portal.issueToken();
    portal.enqueue(
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500 },
      { kind: 'throttle', retryAfter: 1 },
    );
    await queue.enqueue({ accessToken: token });
    const started = Date.now();
    worker(queue, { concurrency: 2 });
    worker(queue, { concurrency: 2 });
    await until(() => !portal.isActive(token));
    const retries = events.filter((e) => e.type === 'revocation_retry');
    expect(retries.map((e) => (e as { outcome: string }).outcome)).toEqual(['unavailable', 'unavailable', 'throttled']);
    // What is left of the one-second window when the gate is read.
    expect((retries.at(-1) as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(900);
    expect((retries.at(-1) as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(1000);
    // The throttle's one second was waited out before the call that revoked it.
    const calls = portal.calls;
    expect(calls).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('drops a token queued longer ago than maxAgeMs without calling the portal, and says so', async () => {
    const { queue, events } = await setup();
    await queue.enqueue({ accessToken: portal.issueToken() });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    worker(queue, { maxAgeMs: 1000 });
    await until(() => events.some((e) => e.type === 'revocation_dropped'));
    expect(events.at(-1)).toMatchObject({ type: 'revocation_dropped', reason: 'too_old' });
    expect(portal.calls).toHaveLength(0);
  });

  it('queues a token handed over again after its job was dead-lettered, and revokes it then', async () => {
    const { queue, events } = await setup({ attempts: 1 });
    portal.setDefault({ kind: 'status', status: 503 });
    const token = portal.issueToken();
    await queue.enqueue({ accessToken: token });
    worker(queue);
    await until(() => events.some((e) => e.type === 'revocation_dead_lettered'));
    // Another session still holding the token signs out while the portal still fails.
    await queue.enqueue({ accessToken: token });
    expect(events.filter((e) => e.type === 'revocation_queued')).toHaveLength(2);
    portal.setDefault('real');
    await until(() => !portal.isActive(token));
    await until(() => events.some((e) => e.type === 'revocation_done'));
  });

  it('dead-letters what its attempts could not revoke, and a token whose key is no longer listed', async () => {
    const { queue, events, conn } = await setup({ attempts: 2 });
    portal.setDefault({ kind: 'status', status: 503 });
    await queue.enqueue({ accessToken: portal.issueToken() });
    // The same queue, read by a worker that no longer lists key-a.
    const rotated = redisRevocationQueue({
      connection: conn.client,
      secret: SECRET,
      encryptionKeys: [KEY_B],
      prefix: queue.prefix,
      name: queue.name,
      attempts: 2,
      onEvent: (event) => events.push(event),
    });
    toClose.push(() => rotated.close());
    worker(queue);
    await until(() => events.some((e) => e.type === 'revocation_dead_lettered'));
    expect(events.find((e) => e.type === 'revocation_dead_lettered')).toMatchObject({
      reason: 'unavailable',
      attempts: 2,
    });
    expect(portal.calls).toHaveLength(2);

    await rotated.enqueue({ accessToken: 'aoa-another-token' });
    const sealedWithB = events.filter((e) => e.type === 'revocation_queued').length;
    expect(sealedWithB).toBe(2);
    // key-b is unknown to the first queue's worker: the job is left for a worker that lists it, and
    // dead-lettered once its attempts are spent with none taking it.
    await until(() => events.filter((e) => e.type === 'revocation_dead_lettered').length === 2);
    expect(events.filter((e) => e.type === 'revocation_dead_lettered').at(-1)).toMatchObject({
      reason: 'unknown_key',
      attempts: 2,
    });
    expect(events.filter((e) => e.type === 'revocation_retry' && e.outcome === 'unknown_key')).toHaveLength(2);
    expect(portal.calls).toHaveLength(2);
  });

  it('a key rotation rolled out instance by instance loses no token: a job sealed with the new key waits for a worker that lists it', async () => {
    // The instance still on the old keys runs the only worker at first.
    const { queue: old, events } = await setup({ attempts: 10 });
    const warnings = await warningCodesDuring(async () => {
      const oldWorker = worker(old, { backoffMs: 100, maxBackoffMs: 200 });
      // An instance already deployed with the new key first seals with it.
      const conn = await connect(redisUrl);
      toClose.push(() => conn.close());
      const renewed = redisRevocationQueue({
        connection: conn.client,
        secret: SECRET,
        encryptionKeys: [KEY_B, KEY_A],
        prefix: old.prefix,
        name: old.name,
      });
      toClose.push(() => renewed.close());
      const token = portal.issueToken();
      portal.setDefault('real');
      await renewed.enqueue({ accessToken: token });
      await until(() => events.some((e) => e.type === 'revocation_retry' && e.outcome === 'unknown_key'));
      expect(portal.isActive(token)).toBe(true);
      // The new instance's worker starts: it revokes the token the old one could not open.
      // The deploy reaches the last instance: its old worker stops (while it runs, it may keep taking
      // the job back first), and the new instance's worker takes the job.
      await oldWorker.close();
      worker(renewed, { onEvent: (event) => events.push(event) });
      await until(() => !portal.isActive(token));
      await until(() => events.some((e) => e.type === 'revocation_done'));
    });
    expect(events.filter((e) => e.type === 'revocation_dead_lettered')).toEqual([]);
    expect(portal.calls).toHaveLength(1);
    expect(warnings).toContain('SSO_SIGNOUT_QUEUE_UNKNOWN_KEY');
  });
});

describe('when the queue cannot take the token', () => {
  it('keeps the session and says so, within the queue bound, when Redis is gone', async () => {
    const redis = await startRedis();
    const client = new IORedis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 200 });
    client.on('error', () => undefined);
    toClose.push(() => {
      client.disconnect();
      return Promise.resolve();
    });
    toClose.push(() => redis.stop());
    const events: RevocationEvent[] = [];
    const queue = redisRevocationQueue({
      connection: client,
      secret: SECRET,
      encryptionKeys: [KEY_A],
      operationTimeoutMs: 200,
      onEvent: (event) => events.push(event),
    });
    const logout = createLogoutClient({ endpoint: portal.url, timeoutMs: 500, maxAttempts: 1 });
    toClose.push(() => logout.close());
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(logout, { signOut: { endSessionOnFailure: true, revocationQueue: queue } });
    const { token, cookie } = await signInWithToken(app, portal);
    await redis.stop();
    portal.setDefault({ kind: 'status', status: 503 });

    const started = performance.now();
    let res: request.Response | undefined;
    const warnings = await warningCodesDuring(async () => {
      res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', cookie);
    });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(res?.status).toBe(503);
    expect(res?.body).toMatchObject({ code: 'sso_unavailable', signedOut: false });
    expect((res?.body as { detail: string }).detail).toMatch(/could not be handed over for a later revocation/);
    expect(warnings).toContain('SSO_SIGNOUT_QUEUE_FAILED');
    expect(events.some((e) => e.type === 'revocation_queue_failed')).toBe(true);
    expect(JSON.stringify(events)).not.toContain(token);
    expect(await isSignedIn(app, cookie)).toBe(true);
  });

  it('hands the token to onUnrevokedToken when the queue fails, and ends the session then', async () => {
    const redis = await startRedis();
    const client = new IORedis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 200 });
    client.on('error', () => undefined);
    toClose.push(() => {
      client.disconnect();
      return Promise.resolve();
    });
    toClose.push(() => redis.stop());
    const queue = redisRevocationQueue({
      connection: client,
      secret: SECRET,
      encryptionKeys: [KEY_A],
      operationTimeoutMs: 100,
    });
    const logout = createLogoutClient({ endpoint: portal.url, timeoutMs: 500, maxAttempts: 1 });
    toClose.push(() => logout.close());
    const handed: string[] = [];
    const adapter = ADAPTERS[ADAPTERS.length - 1];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(logout, {
      signOut: {
        endSessionOnFailure: true,
        revocationQueue: queue,
        onUnrevokedToken: (t) => {
          handed.push(t.accessToken);
        },
      },
    });
    const { token, cookie } = await signInWithToken(app, portal);
    await redis.stop();
    portal.setDefault({ kind: 'status', status: 503 });
    const res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', cookie);
    expect(res.body).toMatchObject({ signedOut: true });
    expect(handed).toEqual([token]);
    expect(await isSignedIn(app, applySetCookies(cookie, res))).toBe(false);
  });
});

// Never connected: these queues are made and refused, not used.
const connection = new IORedis({ lazyConnect: true, maxRetriesPerRequest: null });

describe('configuration', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['no keys', { encryptionKeys: [] }, 'missing', /at least one/],
    ['a short key', { encryptionKeys: [{ id: 'k', key: randomBytes(16) }] }, 'invalid_value', /32 bytes/],
    ['a key id with a colon', { encryptionKeys: [{ id: 'a:b', key: randomBytes(32) }] }, 'invalid_value', /id/],
    ['a key listed twice', { encryptionKeys: [KEY_A, KEY_A] }, 'conflict', /twice/],
    ['a short secret', { secret: 'short' }, 'out_of_range', /32 bytes/],
    ['no connection', { connection: undefined }, 'missing', /Redis client/],
    ['a typo', { encryptionKey: [KEY_A] }, 'unknown_option', /Did you mean `encryptionKeys`/],
  ];
  it.each(cases)('refuses %s', (_name, change, reason, message) => {
    const make = (): unknown =>
      redisRevocationQueue({ connection, secret: SECRET, encryptionKeys: [KEY_A], ...change });
    expect(make).toThrow(SignOutConfigError);
    expect(make).toThrow(message);
    try {
      make();
    } catch (error) {
      expect((error as SignOutConfigError).reason).toBe(reason);
    }
  });

  it('refuses, as a configuration error, a client BullMQ cannot use', () => {
    const prefixed = new IORedis({ lazyConnect: true, keyPrefix: 'app:', maxRetriesPerRequest: null });
    const make = (): unknown => redisRevocationQueue({ connection: prefixed, secret: SECRET, encryptionKeys: [KEY_A] });
    expect(make).toThrow(SignOutConfigError);
    expect(make).toThrow(/BullMQ cannot use this connection/);
  });

  it('refuses endSessionOnFailure with neither a queue nor a hook, and a queue that is not one', () => {
    const client = createLogoutClient({ endpoint: portal.url });
    toClose.push(() => client.close());
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    expect(() => adapter.build(client, { signOut: { endSessionOnFailure: true } })).toThrow(/revocationQueue/);
    expect(() =>
      adapter.build(client, { signOut: { endSessionOnFailure: true, revocationQueue: {} as RevocationQueue } }),
    ).toThrow(/redisRevocationQueue/);
  });

  it('refuses a worker without a queue of its own making, or with both a client and client options', async () => {
    expect(() => createRevocationWorker({} as RevocationWorkerOptions)).toThrow(/queue/);
    // Something shaped like a queue is not one: its keys are not there to open jobs with.
    const lookalike = { name: 'q', prefix: 'p', enqueue: () => Promise.resolve(), close: () => Promise.resolve() };
    expect(() => createRevocationWorker({ queue: lookalike })).toThrow(/redisRevocationQueue/);
    const conn = await ioRedis(redisUrl);
    toClose.push(() => conn.close());
    const queue = redisRevocationQueue({ connection: conn.client, secret: SECRET, encryptionKeys: [KEY_A] });
    toClose.push(() => queue.close());
    const client = createLogoutClient({ endpoint: portal.url });
    toClose.push(() => client.close());
    expect(() => createRevocationWorker({ queue, client, clientOptions: { endpoint: portal.url } })).toThrow(
      /not both/,
    );
  });

  it('refuses a revocationQueue that nothing would use, and a secret that is also the key', () => {
    const client = createLogoutClient({ endpoint: portal.url });
    toClose.push(() => client.close());
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const queue = redisRevocationQueue({ connection, secret: SECRET, encryptionKeys: [KEY_A] });
    toClose.push(() => queue.close());
    expect(() => adapter.build(client, { signOut: { revocationQueue: queue } })).toThrow(/endSessionOnFailure/);
    const same = randomBytes(32);
    expect(() => redisRevocationQueue({ connection, secret: same, encryptionKeys: [{ id: 'k', key: same }] })).toThrow(
      /must differ/,
    );
  });
});

/** A queue of its own on the shared Redis (ioredis), with the events it tells. */
async function freshQueue(): Promise<{ queue: RevocationQueue; events: RevocationEvent[] }> {
  const conn = await ioRedis(redisUrl);
  toClose.push(() => conn.close());
  const events: RevocationEvent[] = [];
  const queue = redisRevocationQueue({
    connection: conn.client,
    secret: SECRET,
    encryptionKeys: [KEY_A],
    prefix: `sso-signout-test-${randomUUID()}`,
    onEvent: (event) => events.push(event),
  });
  toClose.push(() => queue.close());
  return { queue, events };
}

describe('what the review of the queue broke, kept fixed', () => {
  it('shows no key or secret when the queue is logged or serialised', async () => {
    const conn = await ioRedis(redisUrl);
    toClose.push(() => conn.close());
    const key = randomBytes(32);
    const queue = redisRevocationQueue({ connection: conn.client, secret: SECRET, encryptionKeys: [{ id: 'k', key }] });
    toClose.push(() => queue.close());
    const shown = `${JSON.stringify(queue)}\n${inspect(queue, { depth: null, showHidden: true })}`;
    for (const form of [key.toString('hex'), key.toString('base64'), [...key].join(','), SECRET]) {
      expect(shown).not.toContain(form);
    }
    expect(shown).not.toContain(key.toString('hex').slice(0, 16));
  });

  it('gives apps with different secrets on one Redis queues of their own by default', async () => {
    const conn = await ioRedis(redisUrl);
    toClose.push(() => conn.close());
    const a = redisRevocationQueue({ connection: conn.client, secret: SECRET, encryptionKeys: [KEY_A] });
    const b = redisRevocationQueue({ connection: conn.client, secret: `${SECRET} of b`, encryptionKeys: [KEY_B] });
    toClose.push(
      () => a.close(),
      () => b.close(),
    );
    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(/^sso-signout-revocations-/);
  });

  it('ends the session of a token no request could carry (nothing can revoke it), and says so', async () => {
    const { queue, events } = await freshQueue();
    const client = createLogoutClient({ endpoint: portal.url, timeoutMs: 1000, maxAttempts: 1 });
    toClose.push(() => client.close());
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(client, { signOut: { endSessionOnFailure: true, revocationQueue: queue } });
    const res0 = await request(app)
      .post('/test/signin')
      .send({ accessToken: `aoa\u00e9${'x'.repeat(20)}` });
    const cookie = applySetCookies('', res0);
    const res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', cookie);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 'sso_token_unusable', signedOut: true });
    expect(events).toMatchObject([{ type: 'revocation_dropped', reason: 'unusable_token' }]);
    expect(portal.calls).toHaveLength(0);
  });

  it("queues a token with the route's region, so a worker configured for another revokes it where it lives", async () => {
    const { queue, events } = await freshQueue();
    const routeAgent = new MockAgent();
    routeAgent.disableNetConnect();
    routeAgent
      .get('https://portal.sso.eu-west-1.amazonaws.com')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(503, '');
    const routeClient = createLogoutClient({ region: 'eu-west-1', dispatcher: routeAgent, maxAttempts: 1 });
    toClose.push(() => routeClient.close());
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(routeClient, { signOut: { endSessionOnFailure: true, revocationQueue: queue } });
    const { cookie } = await signInWithToken(app, portal);
    const res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', cookie);
    expect(res.body).toMatchObject({ signedOut: true });

    // The worker's own region is us-east-1; only eu-west-1 answers.
    const workerAgent = new MockAgent();
    workerAgent.disableNetConnect();
    workerAgent
      .get('https://portal.sso.eu-west-1.amazonaws.com')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(200, '');
    const w = createRevocationWorker({
      queue,
      clientOptions: { region: 'us-east-1', dispatcher: workerAgent, maxAttempts: 1 },
      backoffMs: 20,
    });
    toClose.push(() => w.close());
    await until(() => events.some((e) => e.type === 'revocation_done'));
    expect(events.find((e) => e.type === 'revocation_done')).toMatchObject({ outcome: 'revoked' });
  });

  it('stops waiting for a Redis that is gone: ready() rejects and close() returns, both in bounded time', async () => {
    const redis = await startRedis();
    const client = new IORedis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    toClose.push(() => {
      client.disconnect();
      return Promise.resolve();
    });
    await redis.stop();
    const queue = redisRevocationQueue({ connection: client, secret: SECRET, encryptionKeys: [KEY_A] });
    const w = createRevocationWorker({ queue, clientOptions: { endpoint: portal.url }, waitMs: 300 });
    const started = performance.now();
    await expect(w.ready()).rejects.toThrow(/no Redis within 300 ms/);
    await w.close();
    expect(performance.now() - started).toBeLessThan(3000);
    void queue.close().catch(() => undefined);
  });

  it('escapes and bounds what a forged job id puts in an event, and warns about a job it cannot open', async () => {
    const { queue, events } = await freshQueue();
    // Anyone who can write to Redis can add a job by hand.
    const conn = await ioRedis(redisUrl);
    toClose.push(() => conn.close());
    const { Queue } = await import('bullmq');
    const raw = new Queue(queue.name, { connection: conn.client as IORedis, prefix: queue.prefix });
    toClose.push(() => raw.close());
    // (BullMQ itself refuses only ':' in an id.)
    const forgedId = `x\n{"type" "revocation_done"}\u001b[31m\u202e${'y'.repeat(5000)}`;
    await raw.add(
      'revoke',
      { token: { v: 1, kid: 'key-a', iv: 'AA', tag: 'AA', data: 'AA' }, queuedAt: Date.now() },
      { jobId: forgedId },
    );
    const warnings = await warningCodesDuring(async () => {
      worker(queue);
      await until(() => events.some((e) => e.type === 'revocation_dead_lettered'));
    });
    const event = events.find((e) => e.type === 'revocation_dead_lettered') as { digest: string; reason: string };
    expect(event.reason).toBe('undecryptable');
    // 200 characters and the ellipsis that says it was cut.
    expect(event.digest.length).toBeLessThanOrEqual(201);
    // eslint-disable-next-line no-control-regex -- the point is that none are there
    expect(event.digest).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    expect(warnings).toContain('SSO_SIGNOUT_QUEUE_UNKNOWN_KEY');
    expect(portal.calls).toHaveLength(0);
  });
});
