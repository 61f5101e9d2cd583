// Shared sign-out state on a real Redis: app instances (here, Logout clients with connections of
// their own) that share one call per token, the results just heard and each portal's throttle window;
// no token in clear in Redis; and a Redis that is slow, paused or gone costs no sign-out its answer.

import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogoutClient,
  createRevocationWorker,
  redisSharedState,
  ssoSignOut,
  type LogoutClient,
  type RedisSharedStateOptions,
  type SharedState,
  type SharedStateEvent,
} from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { sharedRedisUrl, startRedis, type RedisServer } from './helpers/redis.js';
import { warningCodesDuring } from './helpers/warnings.js';
import { busyFor } from './helpers/busy.js';
import { ioRedis, nodeRedis, type Connection } from './helpers/redis-clients.js';

const SECRET = 'a test secret of more than thirty-two bytes';

const CLIENTS = [
  { name: 'node-redis v5', connect: nodeRedis },
  { name: 'ioredis v5', connect: ioRedis },
] as const;

let portal: FakePortal;
let redisUrl: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [portal, redisUrl] = await Promise.all([startFakePortal(), sharedRedisUrl()]);
});
afterEach(async () => {
  portal.reset();
  // Last opened, first closed: connections before the server they talk to.
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await (portal as FakePortal | undefined)?.close();
});

/** An app instance's Logout client on the shared state under `prefix`, with a connection of its own. */
async function instance(
  connect: (url: string) => Promise<Connection>,
  prefix: string,
  options: Partial<RedisSharedStateOptions> & { timeoutMs?: number; maxAttempts?: number; url?: string } = {},
): Promise<{ client: LogoutClient; connection: Connection; shared: SharedState }> {
  const { timeoutMs = 3000, maxAttempts = 3, url = redisUrl, ...rest } = options;
  const connection = await connect(url);
  const shared = redisSharedState({ client: connection.client, secret: SECRET, prefix, ...rest });
  const client = createLogoutClient({ endpoint: portal.url, sharedState: shared, timeoutMs, maxAttempts });
  closers.push(
    () => client.close(),
    () => connection.close(),
  );
  return { client, connection, shared };
}

/** A Redis of this test's own, an app's connection to it (`connect`), and one to steer it (`admin`). */
async function privateRedis(
  connect: (url: string) => Promise<Connection> = nodeRedis,
): Promise<{ connection: Connection; admin: Connection; url: string }> {
  const own: RedisServer = await startRedis();
  closers.push(() => own.stop());
  const admin = await nodeRedis(own.url);
  const connection = await connect(own.url);
  closers.push(
    () => admin.close(),
    () => connection.close(),
  );
  return { connection, admin, url: own.url };
}

const freshPrefix = () => `sso-signout-test:${randomUUID()}:`;

/** Every key under the prefix, and its value. */
async function dump(connection: Connection, prefix: string): Promise<string> {
  const keys = await connection.keys(`${prefix}*`);
  const values = await Promise.all(keys.map((key) => connection.get(key)));
  return keys.map((key, i) => `${key} = ${values[i] ?? ''}`).join('\n');
}

describe.each(CLIENTS)('shared state through $name', ({ connect }) => {
  it('the same token signed out through two instances at once makes one upstream call', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([instance(connect, prefix), instance(connect, prefix)]);
    const token = portal.issueToken();
    portal.setDefault({ kind: 'real', delayMs: 150 });
    const [first, second] = await Promise.all([
      a.client.logout({ accessToken: token }),
      // A moment later, so the first holds the lease.
      new Promise((resolve) => setTimeout(resolve, 30)).then(() => b.client.logout({ accessToken: token })),
    ]);
    expect(portal.calls).toHaveLength(1);
    expect(first).toMatchObject({ outcome: 'revoked', shared: false, attempts: 1 });
    expect(second).toMatchObject({ outcome: 'revoked', shared: true, attempts: 0, upstreamStatus: 200 });
    expect(portal.isActive(token)).toBe(false);
  });

  it('a result heard by one instance answers the others without a call', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([instance(connect, prefix), instance(connect, prefix)]);
    const token = portal.issueToken();
    portal.setDefault('real');
    expect(await a.client.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked' });
    // The leader's answer is written after its caller has it.
    await expect.poll(() => a.connection.keys(`${prefix}result:*`)).toHaveLength(1);
    expect(await b.client.logout({ accessToken: token })).toMatchObject({
      outcome: 'revoked',
      shared: true,
      attempts: 0,
    });
    expect(portal.calls).toHaveLength(1);
    const ttl = await a.connection.pttl((await a.connection.keys(`${prefix}result:*`))[0] as string);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('a refused token is remembered as refused; a failure is not remembered', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([
      instance(connect, prefix, { maxAttempts: 1 }),
      instance(connect, prefix, { maxAttempts: 1 }),
    ]);
    portal.enqueue('unauthorized');
    expect(await a.client.logout({ accessToken: 'aoa-dead' })).toMatchObject({ outcome: 'rejected' });
    await expect.poll(() => a.connection.keys(`${prefix}result:*`)).toHaveLength(1);
    expect(await b.client.logout({ accessToken: 'aoa-dead' })).toMatchObject({ outcome: 'rejected', shared: true });

    portal.enqueue({ kind: 'status', status: 500, errorType: 'InternalServerException' });
    expect(await a.client.logout({ accessToken: 'aoa-failing' })).toMatchObject({
      outcome: 'unavailable',
    });
    portal.setDefault('ok');
    expect(await b.client.logout({ accessToken: 'aoa-failing' })).toMatchObject({ outcome: 'revoked', shared: false });
  });

  it('a 429 heard by one instance closes the portal to the others for its Retry-After', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([
      instance(connect, prefix, { maxAttempts: 1 }),
      instance(connect, prefix, { maxAttempts: 1 }),
    ]);
    portal.enqueue({ kind: 'throttle', retryAfter: 2 });
    expect(await a.client.logout({ accessToken: 'aoa-one' })).toMatchObject({ outcome: 'throttled' });
    await expect.poll(() => a.connection.keys(`${prefix}gate:*`)).toHaveLength(1);
    const gated = await b.client.logout({ accessToken: 'aoa-two' });
    expect(gated).toMatchObject({ outcome: 'throttled', reason: 'throttle_gate', attempts: 0 });
    expect(gated.retryAfterMs).toBeGreaterThan(1000);
    expect(gated.retryAfterMs).toBeLessThanOrEqual(2000);
    expect(portal.calls).toHaveLength(1);
    // Closed on the second instance itself now: a third token is refused without asking Redis.
    expect(await b.client.logout({ accessToken: 'aoa-three' })).toMatchObject({ reason: 'throttle_gate' });
    expect(portal.calls).toHaveLength(1);
  });

  it('a 429 heard by one instance holds back the retry another instance was waiting to make', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([
      instance(connect, prefix, { maxAttempts: 1 }),
      instance(connect, prefix, { maxAttempts: 3 }),
    ]);
    const [mine, theirs] = [portal.issueToken(), portal.issueToken()];
    // B's call fails (a busy portal answers some 503, some 429), and B waits to retry it.
    portal.setDefault((call) =>
      call.token === mine
        ? { kind: 'status', status: 503, errorType: 'ServiceUnavailableException', delayMs: 150 }
        : { kind: 'throttle', retryAfter: 5 },
    );
    const retrying = b.client.logout({ accessToken: mine });
    await expect.poll(() => portal.calls.length, { interval: 5 }).toBe(1);
    // Meanwhile A hears a 429: the window is in Redis when A answers.
    expect(await a.client.logout({ accessToken: theirs })).toMatchObject({ outcome: 'throttled' });
    const result = await retrying;
    // B's retry stays within A's window: what B's own attempt heard stands.
    expect(result).toMatchObject({ outcome: 'unavailable', upstreamStatus: 503, attempts: 1 });
    expect(portal.calls.filter((c) => c.token === mine)).toHaveLength(1);
    // And B's gate is closed: its next sign-out is answered without a call.
    expect(await b.client.logout({ accessToken: portal.issueToken() })).toMatchObject({ reason: 'throttle_gate' });
    expect(portal.calls).toHaveLength(2);
  });

  it('a call’s own retry after its own 429 still passes the window it opened, written back to Redis', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { maxAttempts: 3 });
    const token = portal.issueToken();
    portal.enqueue({ kind: 'throttle' });
    portal.setDefault('real');
    expect(await b.client.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', attempts: 2 });
    expect(await b.connection.keys(`${prefix}gate:*`)).toHaveLength(1);
  });

  it('a leader that died holding the lease is taken over once the lease expires', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix);
    const token = portal.issueToken();
    portal.setDefault('real');
    // What an instance killed mid-call leaves: its lease, which expires.
    const digest = b.shared.digest(`${portal.url}/logout`, token);
    await b.connection.set(`${prefix}lease:${digest}`, 'lease-of-a-dead-instance', 400);
    const started = performance.now();
    const result = await b.client.logout({ accessToken: token });
    expect(result).toMatchObject({ outcome: 'revoked', shared: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(portal.calls).toHaveLength(1);
  });

  it('a follower whose leader outlasts its deadline answers timeout at the deadline', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { timeoutMs: 300 });
    const digest = b.shared.digest(`${portal.url}/logout`, 'aoa-led-elsewhere');
    await b.connection.set(`${prefix}lease:${digest}`, 'lease-of-a-slow-instance', 5000);
    const started = performance.now();
    const result = await b.client.logout({ accessToken: 'aoa-led-elsewhere' });
    const took = performance.now() - started;
    expect(result).toMatchObject({ outcome: 'timeout', reason: 'deadline', shared: true });
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(1000);
    expect(portal.calls).toHaveLength(0);
  });

  it.each([false, true])(
    'a lease set late by a begin that timed out is freed by its leader: the next tab is answered, not kept waiting (after a failover: %s)',
    async (failover) => {
      const { connection, admin, url } = await privateRedis(connect);
      const prefix = freshPrefix();
      const shared = redisSharedState({ client: connection.client, secret: SECRET, prefix, operationTimeoutMs: 30 });
      const a = createLogoutClient({ endpoint: portal.url, sharedState: shared, timeoutMs: 3000 });
      closers.push(() => a.close());
      // Scripts loaded first, so the stall below holds back the begin itself.
      await a.logout({ accessToken: 'aoa-warm-up' });
      const b = await instance(connect, prefix, { url, timeoutMs: 3000 });
      if (failover) {
        // A Redis that has just taken over: its script cache empty, until an instance's begin
        // loads that script again (the finish script is not loaded yet).
        await admin.raw(['SCRIPT', 'FLUSH']);
        await b.shared.begin('a-digest', portal.url, {
          lease: 'a-lease',
          leaseMs: 1000,
          maxGateMs: 60_000,
          withinMs: 1000,
        });
      }
      const token = portal.issueToken();
      portal.setDefault({ kind: 'real', delayMs: 100 });
      // A stall longer than the operation bound: A's begin times out, A calls alone, and the lease
      // its begin sets lands after it gave up.
      // (Longer than the call, so that A's finish is held back by it too.)
      await admin.raw(['CLIENT', 'PAUSE', '300', 'ALL']);
      expect(await a.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked' });
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Another tab, on another instance: answered from A's result, not after waiting out a lease.
      const started = performance.now();
      expect(await b.client.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', shared: true });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(portal.calls.filter((c) => c.token === token)).toHaveLength(1);
    },
  );

  it('a leader whose link rests after another operation failed still writes its answer: the tab following it on another instance is answered at once', async () => {
    const prefix = freshPrefix();
    const connection = await connect(redisUrl);
    closers.push(() => connection.close());
    // A's link to Redis, which stalls while `stalledUntil` has not passed (a blip on that link only).
    let stalledUntil = 0;
    const blipping = {
      sendCommand: async (args: readonly string[]) => {
        const wait = stalledUntil - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        return connection.raw([...args]);
      },
    };
    const sharedA = redisSharedState({
      client: blipping,
      secret: SECRET,
      prefix,
      operationTimeoutMs: 30,
      retryAfterFailureMs: 10_000,
    });
    const a = createLogoutClient({ endpoint: portal.url, sharedState: sharedA, timeoutMs: 3000 });
    closers.push(() => a.close());
    const b = await instance(connect, prefix, { timeoutMs: 3000 });
    const token = portal.issueToken();
    portal.setDefault({ kind: 'real', delayMs: 300 });
    const started = performance.now();
    const leading = a.logout({ accessToken: token });
    await expect.poll(() => connection.keys(`${prefix}lease:*`), { interval: 5 }).toHaveLength(1);
    const following = b.client.logout({ accessToken: token });
    // While A calls the portal, another of its operations meets the blip: A's link rests 10 s.
    stalledUntil = performance.now() + 100;
    expect(await sharedA.poll('another-digest', 'another-lease', 1000)).toEqual({ kind: 'unavailable' });
    expect(await leading).toMatchObject({ outcome: 'revoked', shared: false });
    expect(await following).toMatchObject({ outcome: 'revoked', shared: true });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(portal.calls.filter((c) => c.token === token)).toHaveLength(1);
    await expect.poll(() => connection.keys(`${prefix}lease:*`)).toHaveLength(0);
  });

  it('keeps no token in clear: every key and value is free of the tokens signed out', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([instance(connect, prefix), instance(connect, prefix)]);
    const tokens = Array.from({ length: 20 }, () => portal.issueToken());
    portal.setDefault((call) => (call.token?.endsWith('0') === true ? { kind: 'throttle', retryAfter: 0 } : 'real'));
    await Promise.all(
      tokens.flatMap((accessToken) => [a.client.logout({ accessToken }), b.client.logout({ accessToken })]),
    );
    await expect.poll(() => a.connection.keys(`${prefix}result:*`)).not.toHaveLength(0);
    const everything = await dump(a.connection, prefix);
    expect(everything).not.toBe('');
    for (const token of tokens) expect(everything).not.toContain(token);
    // Nor its unkeyed digest: the keys are HMACs with the app's secret.
    const { createHash } = await import('node:crypto');
    for (const token of tokens) {
      expect(everything).not.toContain(
        createHash('sha256').update(`${portal.url}/logout\n${token}`).digest('base64url'),
      );
    }
  });

  it('instances with different secrets do not share (and cannot read each other’s keys)', async () => {
    const prefix = freshPrefix();
    const a = await instance(connect, prefix);
    const b = await instance(connect, prefix, { secret: 'another secret of more than thirty-two bytes' });
    const token = portal.issueToken();
    portal.setDefault('real');
    await a.client.logout({ accessToken: token });
    await expect.poll(() => a.connection.keys(`${prefix}result:*`)).toHaveLength(1);
    expect(await b.client.logout({ accessToken: token })).toMatchObject({ outcome: 'rejected', shared: false });
    expect(portal.calls).toHaveLength(2);
  });

  it('a gate in Redis longer than any instance writes (or without a TTL) is cut to maxRetryAfterMs', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { timeoutMs: 300 });
    // A gate written by something else, for a day: no longer than maxRetryAfterMs (60 s) counts.
    await b.connection.set(`${prefix}gate:${portal.url}`, '1', 86_400_000);
    const gated = await b.client.logout({ accessToken: 'aoa-gated' });
    expect(gated).toMatchObject({ outcome: 'throttled', reason: 'throttle_gate' });
    expect(gated.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await b.connection.pttl(`${prefix}gate:${portal.url}`)).toBeLessThanOrEqual(60_000);
    // A gate with no TTL at all is cut too: it can close the portal no longer than that either.
    await b.connection.raw(['SET', `${prefix}gate:${portal.url}`, '1']);
    const other = await instance(connect, prefix, { timeoutMs: 300 });
    expect(await other.client.logout({ accessToken: 'aoa-untimed-gate' })).toMatchObject({ reason: 'throttle_gate' });
    const cut = await b.connection.pttl(`${prefix}gate:${portal.url}`);
    expect(cut).toBeGreaterThan(0);
    expect(cut).toBeLessThanOrEqual(60_000);
    expect(portal.calls).toHaveLength(0);
  });

  it('a lease in Redis longer than any instance writes is cut to the lease length', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { timeoutMs: 300 });
    const digest = b.shared.digest(`${portal.url}/logout`, 'aoa-held');
    await b.connection.set(`${prefix}lease:${digest}`, 'lease-held-for-an-hour', 3_600_000);
    expect(await b.client.logout({ accessToken: 'aoa-held' })).toMatchObject({ outcome: 'timeout', shared: true });
    // The deadline (300 ms) + 1 s, less what has passed since.
    expect(await b.connection.pttl(`${prefix}lease:${digest}`)).toBeLessThanOrEqual(1300);
    expect(portal.calls).toHaveLength(0);
  });

  it.each([
    ['not a result', '{"outcome":"signed-out-honest"}'],
    ['a well-formed result no instance signed', '{"outcome":"revoked","upstreamStatus":200}'],
    ['a result signed with another secret', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.{"outcome":"revoked"}'],
  ])('a value in Redis that is %s is ignored, not trusted', async (_, forged) => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix);
    const token = portal.issueToken();
    const digest = b.shared.digest(`${portal.url}/logout`, token);
    await b.connection.set(`${prefix}result:${digest}`, forged, 60_000);
    portal.setDefault('real');
    expect(await b.client.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', shared: false });
    expect(portal.calls).toHaveLength(1);
    expect(portal.isActive(token)).toBe(false);
    // The real answer replaces the forged one.
    await expect.poll(async () => (await b.connection.get(`${prefix}result:${digest}`)) !== forged).toBe(true);
  });

  it('a result signed for one token and copied to another token’s key is not trusted for it', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { maxAttempts: 1 });
    const [dead, live] = [portal.issueToken(), portal.issueToken()];
    portal.setDefault('real');
    expect(await b.client.logout({ accessToken: dead })).toMatchObject({ outcome: 'revoked' });
    const scope = `${portal.url}/logout`;
    const signed = `${prefix}result:${b.shared.digest(scope, dead)}`;
    await expect.poll(() => b.connection.get(signed)).not.toBeNull();
    // Whoever can write to Redis copies a genuine, signed "revoked" to the live token's key.
    await b.connection.set(
      `${prefix}result:${b.shared.digest(scope, live)}`,
      (await b.connection.get(signed)) as string,
      60_000,
    );
    const result = await b.client.logout({ accessToken: live });
    expect(result).toMatchObject({ outcome: 'revoked', shared: false, attempts: 1 });
    expect(portal.calls).toHaveLength(2);
    expect(portal.isActive(live)).toBe(false);
  });

  it('a leader’s answer for its followers, copied to the token’s remembered result, is not trusted', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { maxAttempts: 1 });
    const token = portal.issueToken();
    const digest = b.shared.digest(`${portal.url}/logout`, token);
    portal.enqueue({ kind: 'status', status: 503, errorType: 'ServiceUnavailableException' });
    expect(await b.client.logout({ accessToken: token })).toMatchObject({ outcome: 'unavailable' });
    await expect.poll(() => b.connection.keys(`${prefix}outcome:${digest}:*`)).toHaveLength(1);
    const [outcomeKey] = await b.connection.keys(`${prefix}outcome:${digest}:*`);
    // Whoever can write to Redis makes the genuine, signed "unavailable" the token's remembered result.
    await b.connection.set(
      `${prefix}result:${digest}`,
      (await b.connection.get(outcomeKey as string)) as string,
      3_600_000,
    );
    portal.setDefault('real');
    expect(await b.client.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', shared: false });
    expect(portal.isActive(token)).toBe(false);
  });

  it('a foreign value in a token’s result key lets its call past neither the throttle window nor the one call per token', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { timeoutMs: 300, maxAttempts: 1 });
    const scope = `${portal.url}/logout`;
    const forged = '{"outcome":"signed-out-honest"}';
    // Another instance's 429 closed the portal for 30 s.
    await b.connection.set(`${prefix}gate:${portal.url}`, '1', 30_000);
    await b.connection.set(`${prefix}result:${b.shared.digest(scope, 'aoa-gated')}`, forged, 60_000);
    expect(await b.client.logout({ accessToken: 'aoa-gated' })).toMatchObject({
      outcome: 'throttled',
      reason: 'throttle_gate',
      attempts: 0,
    });
    // Another instance (this one's gate is closed now) while another instance holds the call for a token.
    await b.connection.raw(['DEL', `${prefix}gate:${portal.url}`]);
    const c = await instance(connect, prefix, { timeoutMs: 300, maxAttempts: 1 });
    const digest = b.shared.digest(scope, 'aoa-led');
    await b.connection.set(`${prefix}result:${digest}`, forged, 60_000);
    await b.connection.set(`${prefix}lease:${digest}`, 'lease-of-another-instance', 5000);
    expect(await c.client.logout({ accessToken: 'aoa-led' })).toMatchObject({ outcome: 'timeout', shared: true });
    expect(portal.calls).toHaveLength(0);
  });

  it('a sign-out that waits for another instance and then calls itself keeps to one deadline', async () => {
    const prefix = freshPrefix();
    const b = await instance(connect, prefix, { timeoutMs: 1000 });
    // A dead instance's lease, expiring half-way through the deadline; then a portal that hangs.
    const digest = b.shared.digest(`${portal.url}/logout`, 'aoa-late');
    await b.connection.set(`${prefix}lease:${digest}`, 'lease-of-a-dead-instance', 500);
    portal.setDefault('hang');
    const started = performance.now();
    const result = await b.client.logout({ accessToken: 'aoa-late' });
    const took = performance.now() - started;
    expect(result).toMatchObject({ outcome: 'timeout' });
    expect(took).toBeLessThan(1200);
    expect(result.durationMs).toBeLessThan(1200);
  });
});

describe('a Redis that fails', () => {
  it('a Redis that never answers costs each sign-out at most the operation bound, and says so once', async () => {
    // A Redis that hangs: paused for longer than the test.
    const { connection, admin } = await privateRedis(ioRedis);
    await admin.raw(['CLIENT', 'PAUSE', '5000', 'ALL']);
    const events: SharedStateEvent[] = [];
    const shared = redisSharedState({
      client: connection.client,
      secret: SECRET,
      operationTimeoutMs: 40,
      onEvent: (event) => events.push(event),
    });
    const client = createLogoutClient({ endpoint: portal.url, sharedState: shared });
    closers.push(() => client.close());
    portal.setDefault('ok');
    const outcomes: string[] = [];
    const timed: number[] = [];
    const codes = await warningCodesDuring(async () => {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        outcomes.push((await client.logout({ accessToken: `aoa-hang-${String(i)}` })).outcome);
        timed.push(performance.now() - started);
      }
    });
    expect(outcomes).toEqual(['revoked', 'revoked', 'revoked', 'revoked', 'revoked']);
    // The first waits out the bound; the rest find Redis resting and do not ask.
    expect(timed[0]).toBeGreaterThanOrEqual(35);
    expect(timed[0]).toBeLessThan(1000);
    for (const t of timed.slice(1)) expect(t).toBeLessThan(35);
    expect(codes).toEqual(['SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE']);
    expect(events).toEqual([
      {
        type: 'shared_state_unavailable',
        code: 'SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE',
        operation: 'begin',
        error: 'timeout',
      },
    ]);
    expect(portal.calls).toHaveLength(5);
    await admin.raw(['CLIENT', 'UNPAUSE']);
  });

  it('a Redis that is gone: sign-outs answer from the portal, and nothing claims a call it did not make', async () => {
    const own: RedisServer = await startRedis();
    const connection = await ioRedis(own.url);
    closers.push(() => connection.close());
    const events: SharedStateEvent[] = [];
    const shared = redisSharedState({ client: connection.client, secret: SECRET, onEvent: (e) => events.push(e) });
    const client = createLogoutClient({ endpoint: portal.url, sharedState: shared, timeoutMs: 1000, maxAttempts: 1 });
    closers.push(() => client.close());
    await own.stop();
    portal.enqueue('ok', 'unauthorized', { kind: 'status', status: 503, errorType: 'ServiceUnavailableException' });
    const started = performance.now();
    const results = await Promise.all(['aoa-1', 'aoa-2', 'aoa-3'].map((accessToken) => client.logout({ accessToken })));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(results.map((r) => r.outcome).sort()).toEqual(['rejected', 'revoked', 'unavailable']);
    expect(events.map((e) => e.type)).toEqual(['shared_state_unavailable']);
  });

  it('a paused Redis: sign-outs go on alone, and the shared state is used again once it answers', async () => {
    const { connection, admin } = await privateRedis();
    const events: SharedStateEvent[] = [];
    const shared = redisSharedState({
      client: connection.client,
      secret: SECRET,
      operationTimeoutMs: 30,
      retryAfterFailureMs: 100,
      onEvent: (e) => events.push(e),
    });
    const client = createLogoutClient({ endpoint: portal.url, sharedState: shared });
    closers.push(() => client.close());
    portal.setDefault('ok');
    await admin.raw(['CLIENT', 'PAUSE', '300', 'ALL']);
    expect(await client.logout({ accessToken: 'aoa-paused' })).toMatchObject({ outcome: 'revoked' });
    expect(events.map((e) => e.type)).toEqual(['shared_state_unavailable']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await client.logout({ accessToken: 'aoa-back' })).toMatchObject({ outcome: 'revoked' });
    expect(events.map((e) => e.type)).toEqual(['shared_state_unavailable', 'shared_state_restored']);
    // Both results are shared: the one heard while Redis was paused is written once Redis takes it
    // (its begin was sent, so its lease may have landed late, and is freed with it).
    await expect.poll(() => admin.keys('sso-signout:result:*')).toHaveLength(2);
  });
});

describe('a client or a Redis that answers in its own way', () => {
  it('a node-redis client set to answer bytes shares state as one answering strings does', async () => {
    const { RESP_TYPES, createClient } = await import('redis');
    const prefix = freshPrefix();
    const bytes = createClient({
      url: redisUrl,
      socket: { reconnectStrategy: false },
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
    });
    bytes.on('error', () => undefined);
    await bytes.connect();
    closers.push(() => bytes.quit());
    const events: SharedStateEvent[] = [];
    const a = await instance(nodeRedis, prefix, { maxAttempts: 1 });
    const shared = redisSharedState({ client: bytes, secret: SECRET, prefix, onEvent: (e) => events.push(e) });
    const b = createLogoutClient({ endpoint: portal.url, sharedState: shared, maxAttempts: 1 });
    closers.push(() => b.close());
    portal.enqueue({ kind: 'throttle', retryAfter: 30 });
    expect(await a.client.logout({ accessToken: 'aoa-one' })).toMatchObject({ outcome: 'throttled' });
    expect(await b.logout({ accessToken: 'aoa-two' })).toMatchObject({ outcome: 'throttled', reason: 'throttle_gate' });
    expect(portal.calls).toHaveLength(1);
    // And a result written through it is read back through it (by clients whose own gate is open).
    await a.connection.raw(['DEL', `${prefix}gate:${portal.url}`]);
    const [writer, reader] = [1, 2].map(() => createLogoutClient({ endpoint: portal.url, sharedState: shared }));
    closers.push(
      () => (writer as LogoutClient).close(),
      () => (reader as LogoutClient).close(),
    );
    const token = portal.issueToken();
    portal.setDefault('real');
    expect(await writer?.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', shared: false });
    await expect.poll(() => a.connection.keys(`${prefix}result:*`)).toHaveLength(1);
    expect(await reader?.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', shared: true });
    expect(portal.calls).toHaveLength(2);
    expect(events).toEqual([]);
  });

  it.each([
    ['numbers', [1, 2]],
    ['an empty list', []],
    ['bytes no script answers', [Buffer.from([0xff, 0x00, 0x41])]],
  ])('a client whose script replies are %s counts as failing, and says so', async (_, reply) => {
    const events: SharedStateEvent[] = [];
    const client = { sendCommand: () => Promise.resolve(reply) };
    const shared = redisSharedState({ client, secret: SECRET, onEvent: (e) => events.push(e) });
    const logout = createLogoutClient({ endpoint: portal.url, sharedState: shared });
    closers.push(() => logout.close());
    portal.setDefault('ok');
    const codes = await warningCodesDuring(async () => {
      expect(await logout.logout({ accessToken: 'aoa-numbers' })).toMatchObject({ outcome: 'revoked' });
    });
    expect(codes).toContain('SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE');
    expect(events).toMatchObject([{ type: 'shared_state_unavailable', operation: 'begin' }]);
  });

  it('a throttled answer waits for its window to reach a slow Redis no longer than the deadline', async () => {
    const { connection, admin } = await privateRedis();
    const shared = redisSharedState({ client: connection.client, secret: SECRET, operationTimeoutMs: 3000 });
    const client = createLogoutClient({ endpoint: portal.url, sharedState: shared, timeoutMs: 1000, maxAttempts: 1 });
    closers.push(() => client.close());
    // The portal answers 429 at 600 ms; Redis stops answering for 2.5 s as the call goes out.
    portal.setDefault(() => {
      void admin.raw(['CLIENT', 'PAUSE', '2500', 'ALL']);
      return { kind: 'throttle', retryAfter: 30, delayMs: 600 };
    });
    const started = performance.now();
    const result = await client.logout({ accessToken: 'aoa-throttled' });
    const took = performance.now() - started;
    expect(result).toMatchObject({ outcome: 'throttled' });
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(1150);
    // The window still lands once Redis answers again.
    await expect.poll(() => admin.keys('sso-signout:gate:*'), { timeout: 5000 }).toHaveLength(1);
  });
});

/** Two instances of an app on one Redis, each waiting 50 ms for it, with one attempt and a 3 s deadline. */
function twoInstances(connection: Connection, prefix: string): [LogoutClient, LogoutClient] {
  const make = () => {
    const shared = redisSharedState({ client: connection.client, secret: SECRET, prefix, operationTimeoutMs: 50 });
    const client = createLogoutClient({ endpoint: portal.url, sharedState: shared, timeoutMs: 3000, maxAttempts: 1 });
    closers.push(() => client.close());
    return client;
  };
  return [make(), make()];
}

describe('a throttle window heard while Redis stalls', () => {
  it('still reaches every instance once Redis answers, though Redis had not loaded the script yet', async () => {
    // A Redis of its own, fresh: the script that writes the window is not in its cache, so its first
    // run is answered NOSCRIPT, after the stall, when the instance that heard the 429 has stopped waiting.
    const { connection, admin } = await privateRedis();
    const prefix = freshPrefix();
    const [a, b] = twoInstances(connection, prefix);
    portal.setDefault(() => {
      void admin.raw(['CLIENT', 'PAUSE', '300', 'ALL']);
      return { kind: 'throttle', retryAfter: 20 };
    });
    expect(await a.logout({ accessToken: 'aoa-stalled-window' })).toMatchObject({ outcome: 'throttled' });
    await expect.poll(() => admin.keys(`${prefix}gate:*`), { timeout: 3000 }).toHaveLength(1);
    const gated = await b.logout({ accessToken: 'aoa-after-stall' });
    expect(gated).toMatchObject({ outcome: 'throttled', reason: 'throttle_gate', attempts: 0 });
    expect(portal.calls).toHaveLength(1);
  });
});

describe('a claim that Redis answers NOSCRIPT only after its instance has gone on alone', () => {
  it('is not made again later: it would hold a lease nobody finishes, and another instance would follow it', async () => {
    const { connection, admin } = await privateRedis();
    const prefix = freshPrefix();
    const [a, b] = twoInstances(connection, prefix);
    portal.enqueue({ kind: 'status', status: 503 });
    portal.setDefault('ok');
    // A fresh Redis (no script loaded yet) stalls as the first instance claims the call.
    await admin.raw(['CLIENT', 'PAUSE', '300', 'ALL']);
    expect(await a.logout({ accessToken: 'aoa-late-claim' })).toMatchObject({ outcome: 'unavailable' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await admin.keys(`${prefix}lease:*`)).toEqual([]);
    expect(await b.logout({ accessToken: 'aoa-late-claim' })).toMatchObject({ outcome: 'revoked', attempts: 1 });
    expect(portal.calls).toHaveLength(2);
  });
});

describe('a throttle window that Redis takes only after it has passed', () => {
  it('is not written then: the next sign-out, wherever it lands, calls the portal', async () => {
    const { connection, admin } = await privateRedis();
    const prefix = freshPrefix();
    const [a, b] = twoInstances(connection, prefix);
    let calls = 0;
    portal.setDefault(() => {
      calls++;
      if (calls > 1) return 'ok';
      // Redis stalls for longer than the window the portal names.
      void admin.raw(['CLIENT', 'PAUSE', '1500', 'ALL']);
      return { kind: 'throttle', retryAfter: 1 };
    });
    expect(await a.logout({ accessToken: 'aoa-window-first' })).toMatchObject({ outcome: 'throttled' });
    await new Promise((resolve) => setTimeout(resolve, 1800));
    expect(await admin.keys(`${prefix}gate:*`)).toEqual([]);
    expect(await b.logout({ accessToken: 'aoa-window-after' })).toMatchObject({ outcome: 'revoked', attempts: 1 });
  });
});

describe('an app too busy to read its sockets at once', () => {
  it.each(CLIENTS)(
    'an answer $name got while the app was busy past the bound is not taken for a Redis that failed',
    async ({ connect }) => {
      const prefix = freshPrefix();
      const events: SharedStateEvent[] = [];
      const { client } = await instance(connect, prefix, { operationTimeoutMs: 30, onEvent: (e) => events.push(e) });
      portal.setDefault('ok');
      // The first sign-out loads the scripts; the one measured is one round trip to Redis.
      await client.logout({ accessToken: 'aoa-busy-warm' });
      const codes = await warningCodesDuring(async () => {
        const pending = client.logout({ accessToken: 'aoa-busy' });
        // Redis answers at once; the app reads the answer only once it is free, 300 ms later, when
        // the bound's timer is due too.
        await new Promise((resolve) => setImmediate(resolve));
        busyFor(300);
        expect(await pending).toMatchObject({ outcome: 'revoked', shared: false });
      });
      expect(codes).toEqual([]);
      expect(events).toEqual([]);
    },
  );
});

describe('redisSharedState options', () => {
  it.each([
    [{ secret: SECRET }, 'client', 'missing'],
    [{ client: {}, secret: SECRET }, 'client', 'wrong_type'],
    [{ client: { call: () => Promise.resolve() } }, 'secret', 'missing'],
    [{ client: { call: () => Promise.resolve() }, secret: 'short' }, 'secret', 'out_of_range'],
    [{ client: { call: () => Promise.resolve() }, secret: 42 }, 'secret', 'wrong_type'],
    [{ client: { call: () => Promise.resolve() }, secret: SECRET, prefx: 'x' }, 'prefx', 'unknown_option'],
    [
      { client: { call: () => Promise.resolve() }, secret: SECRET, operationTimeoutMs: 0 },
      'operationTimeoutMs',
      'out_of_range',
    ],
    [{ client: { call: () => Promise.resolve() }, secret: SECRET, onEvent: 'log' }, 'onEvent', 'wrong_type'],
  ])('%o is refused on `%s` (%s)', (options, option, reason) => {
    expect(() => redisSharedState(options as never)).toThrow(expect.objectContaining({ option, reason }));
  });

  it('names the option a typo meant, and refuses a sharedState not made by redisSharedState', () => {
    expect(() =>
      redisSharedState({ client: { call: () => Promise.resolve() }, secret: SECRET, prefx: 'x' } as never),
    ).toThrow(/Did you mean `prefix`\?/);
    expect(() => ssoSignOut({ endpoint: 'http://127.0.0.1:1', sharedState: { client: {} } as never })).toThrow(
      /`sharedState` must be made by redisSharedState/,
    );
    expect(() => ssoSignOut({ endpoint: 'http://127.0.0.1:1', sharedStat: {} } as never)).toThrow(
      /Did you mean `sharedState`\?/,
    );
  });

  it('refuses a Redis Cluster client at once', async () => {
    const { Cluster } = await import('ioredis');
    const { createCluster } = await import('redis');
    const io = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const node = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    for (const client of [io, node]) {
      expect(() => redisSharedState({ client, secret: SECRET })).toThrow(
        expect.objectContaining({
          option: 'client',
          reason: 'invalid_value',
          message: expect.stringMatching(/Cluster/),
        }),
      );
    }
    io.disconnect();
  });

  it('a client that answers something other than a script reply counts as failing, and says so', async () => {
    const events: SharedStateEvent[] = [];
    const shared = redisSharedState({
      client: { call: () => Promise.resolve('OK') },
      secret: SECRET,
      onEvent: (e) => events.push(e),
    });
    const client = createLogoutClient({ endpoint: portal.url, sharedState: shared });
    closers.push(() => client.close());
    portal.setDefault('ok');
    const codes = await warningCodesDuring(async () => {
      expect(await client.logout({ accessToken: 'aoa-odd-reply' })).toMatchObject({ outcome: 'revoked' });
    });
    expect(codes).toEqual(['SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE']);
    expect(events).toEqual([
      expect.objectContaining({ operation: 'begin', error: expect.stringMatching(/unexpected reply/) }),
    ]);
  });

  it.each(['999999999999999', 'Infinity', 'NaN', '-5', '2.5'])(
    "a throttle window of %s in Redis's answer counts as failing: it closes no gate here, and says so",
    async (window) => {
      const events: SharedStateEvent[] = [];
      let begins = 0;
      // A client that answers `begin` once with that window, then as a healthy Redis does.
      const call = (...args: string[]): Promise<unknown> => {
        const begin = String(args[4]).includes(':gate:');
        if (begin) begins++;
        return Promise.resolve(begin && begins === 1 ? ['gated', window] : begin ? ['leader'] : ['ok']);
      };
      const shared = redisSharedState({
        client: { call },
        secret: SECRET,
        retryAfterFailureMs: 0,
        onEvent: (e) => events.push(e),
      });
      const client = createLogoutClient({ endpoint: portal.url, sharedState: shared });
      closers.push(() => client.close());
      portal.setDefault('ok');
      await warningCodesDuring(async () => {
        expect(await client.logout({ accessToken: 'aoa-odd-window' })).toMatchObject({ outcome: 'revoked' });
        // Another user right after: the portal is not closed to them.
        expect(await client.logout({ accessToken: 'aoa-next-user' })).toMatchObject({ outcome: 'revoked' });
      });
      expect(portal.calls).toHaveLength(2);
      expect(events[0]).toMatchObject({ type: 'shared_state_unavailable', operation: 'begin' });
      expect(String((events[0] as { error?: unknown }).error)).toMatch(/unexpected reply gated/);
    },
  );

  it('an onEvent listener that throws or rejects changes nothing', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      for (const onEvent of [
        () => {
          throw new Error('log sink down');
        },
        () => Promise.reject(new Error('log sink down')),
      ]) {
        const shared = redisSharedState({
          client: { call: () => Promise.reject(new Error('down')) },
          secret: SECRET,
          // An async listener: TypeScript lets an app pass one where a void function is expected.
          // eslint-disable-next-line @typescript-eslint/no-misused-promises
          onEvent,
        });
        const client = createLogoutClient({ endpoint: portal.url, sharedState: shared });
        closers.push(() => client.close());
        portal.setDefault('ok');
        await warningCodesDuring(async () => {
          expect(await client.logout({ accessToken: 'aoa-listener' })).toMatchObject({ outcome: 'revoked' });
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('shows nothing of the secret when logged, serialised or quoted in an error, and its functions work taken apart', async () => {
    const connection = await nodeRedis(redisUrl);
    closers.push(() => connection.close());
    const shared = redisSharedState({ client: connection.client, secret: SECRET });
    const bytes = Buffer.from(SECRET);
    // The secret as text, as hex (how a Buffer is inspected) and as a list of bytes (its JSON).
    const forms = [SECRET, bytes.toString('hex').slice(0, 16), bytes.subarray(0, 6).join(',')];
    let quoted = '';
    try {
      createRevocationWorker({ queue: shared as never });
    } catch (error) {
      quoted = `${String(error)} ${JSON.stringify(error)}`;
    }
    expect(quoted).toContain('must be the queue');
    const shown = [inspect(shared, { depth: Infinity, showHidden: true }), JSON.stringify(shared), quoted].join('\n');
    for (const form of forms) expect(shown.replace(/ /g, '')).not.toContain(form.replace(/ /g, ''));
    // Taken apart or spread into a wrapper, as an app may do to watch it.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- taken apart on purpose
    const { digest } = shared;
    expect(digest('scope', 'token')).toBe(shared.digest('scope', 'token'));
    const closed: number[] = [];
    const watched: SharedState = {
      ...shared,
      closeGate: (origin, ms) => (closed.push(ms), shared.closeGate(origin, ms)),
    };
    const client = createLogoutClient({ endpoint: portal.url, sharedState: watched, maxAttempts: 1 });
    closers.push(() => client.close());
    expect((await client.logout({ accessToken: portal.issueToken() })).outcome).toBe('revoked');
  });

  it('never puts the secret in an error', () => {
    try {
      redisSharedState({ client: {}, secret: SECRET });
    } catch (error) {
      expect(JSON.stringify(error)).not.toContain(SECRET);
      expect(String(error)).not.toContain(SECRET);
    }
  });
});
