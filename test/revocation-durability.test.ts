// Durability of the revocation queue, with processes and a Redis that fail for real: the portal is
// down while 200 sessions end (each token queued, none in clear in Redis); the worker process working
// the queue is killed (SIGKILL) in the middle of its retries; Redis, persisting to an append-only
// file, is restarted; the portal comes back; another worker process revokes every one of the 200.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, expect, it } from 'vitest';
import { createLogoutClient, redisRevocationQueue } from 'sso-signout';
import { startFakePortal } from 'sso-signout/testing';
import { ADAPTERS } from './helpers/adapters.js';
import { applySetCookies } from './helpers/cookies.js';
import { isSignedIn, signInWithToken } from './helpers/flows.js';
import { startRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const SIGN_OUTS = 200;
const WORKER = fileURLToPath(new URL('./helpers/revocation-worker.mjs', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly events: { type: string; [key: string]: unknown }[];
  readonly output: () => string;
}

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: WorkerProcess['events'] = [];
  let output = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as WorkerProcess['events'][number]);
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  await until(() => events.some((e) => e.type === 'ready') || child.exitCode !== null, 15_000);
  if (child.exitCode !== null) throw new Error(`worker exited: ${output}`);
  return { child, events, output: () => output };
}

it('revokes every token queued while the portal was down, through a killed worker and a restarted Redis', async () => {
  const redis = await startRedis({ appendOnly: true });
  cleanups.push(() => redis.stop());
  const portal = await startFakePortal();
  cleanups.push(() => portal.close());
  const env = {
    REDIS_URL: redis.url,
    QUEUE_SECRET: randomBytes(32).toString('base64url'),
    QUEUE_KEY: randomBytes(32).toString('base64url'),
    QUEUE_PREFIX: 'durability',
    SSO_ENDPOINT: portal.url,
  };

  // The app: its sessions end although the portal is down; each token goes to the queue.
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  connection.on('error', () => undefined);
  cleanups.push(() => {
    connection.disconnect();
    return Promise.resolve();
  });
  const queued: string[] = [];
  const queue = redisRevocationQueue({
    connection,
    secret: env.QUEUE_SECRET,
    encryptionKeys: [{ id: 'k1', key: env.QUEUE_KEY }],
    prefix: env.QUEUE_PREFIX,
    // The first sign-outs meet a Redis still opening its append-only file.
    operationTimeoutMs: 2000,
    onEvent: (event) => {
      if (event.type === 'revocation_queued') queued.push(event.digest);
    },
  });
  cleanups.push(() => queue.close());
  const client = createLogoutClient({ endpoint: portal.url, timeoutMs: 1000, maxAttempts: 1 });
  cleanups.push(() => client.close());
  const adapter = ADAPTERS[0];
  if (adapter === undefined) throw new Error('no adapter');
  const app = adapter.build(client, { signOut: { endSessionOnFailure: true, revocationQueue: queue } });

  const tokens: string[] = [];
  const browsers: { cookie: string; after: string }[] = [];
  for (let i = 0; i < SIGN_OUTS; i++) {
    const { token, cookie } = await signInWithToken(app, portal);
    tokens.push(token);
    browsers.push({ cookie, after: '' });
  }
  portal.setDefault({ kind: 'status', status: 503 });
  for (const browser of browsers) {
    const res = await request(app).post('/signout').set('Accept', 'application/json').set('Cookie', browser.cookie);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ signedOut: true });
    browser.after = applySetCookies(browser.cookie, res);
  }
  expect(new Set(queued).size).toBe(SIGN_OUTS);
  for (const browser of browsers.slice(0, 5)) expect(await isSignedIn(app, browser.after)).toBe(false);

  // Every key and value in Redis, in any shape: no token in clear.
  const everything: string[] = [];
  for (const key of await connection.keys('*')) {
    const type = await connection.type(key);
    const value =
      type === 'string'
        ? await connection.get(key)
        : type === 'hash'
          ? await connection.hgetall(key)
          : type === 'list'
            ? await connection.lrange(key, 0, -1)
            : type === 'zset'
              ? await connection.zrange(key, 0, -1)
              : type === 'set'
                ? await connection.smembers(key)
                : type === 'stream'
                  ? await connection.xrange(key, '-', '+')
                  : '';
    everything.push(key, JSON.stringify(value));
  }
  const dump = everything.join('\n');
  expect(dump.length).toBeGreaterThan(SIGN_OUTS * 100);
  for (const token of tokens) expect(dump).not.toContain(token);

  // Worker A works the queue while the portal still fails, and is killed in the middle of its retries.
  const a = await startWorker(env);
  await until(() => portal.calls.length >= 2 * SIGN_OUTS, 30_000);
  a.child.kill('SIGKILL');
  await once(a.child, 'exit');
  expect(a.events.filter((e) => e.type === 'revocation_done')).toHaveLength(0);

  // Redis goes down and comes back from its append-only file; then the portal is back.
  await redis.restart();
  portal.setDefault('real');
  const callsBefore = portal.calls.length;

  // Worker B takes over what A left: waiting, delayed, and the jobs A held when it died (stalled).
  const b = await startWorker(env);
  await until(() => tokens.every((token) => !portal.isActive(token)), 60_000);
  const revokedAfter = portal.calls.slice(callsBefore).filter((call) => call.status === 200);
  expect(new Set(revokedAfter.map((call) => call.token))).toEqual(new Set(tokens));
  await until(() => b.events.filter((e) => e.type === 'revocation_done').length >= SIGN_OUTS, 10_000);
  expect(b.events.filter((e) => e.type === 'revocation_dead_lettered')).toHaveLength(0);
  expect(b.output()).not.toMatch(/aoa-/);
}, 120_000);
