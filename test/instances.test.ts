// Two instances of the example app (two processes), one fake portal, one Redis: they behave as one
// app. A session signed in on one is signed out through the other; the same token signed out through
// both at once makes one upstream call; a 429 heard by one closes the portal to the other.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { sharedRedisUrl } from './helpers/redis.js';
import { startExampleServer, type ExampleServer } from './helpers/example-server.js';

type Instance = ExampleServer & { readonly url: string };

async function startInstance(server: string, env: Record<string, string>): Promise<Instance> {
  const started = await startExampleServer(server, env);
  const { url } = started;
  if (url === undefined) throw new Error(`the example app did not start:\n${started.output()}`);
  return { ...started, url };
}

async function signIn(instance: Instance, accessToken: string, user = 'developer'): Promise<string> {
  const res = await fetch(new URL('/dev/signin', instance.url), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ accessToken, user }).toString(),
  });
  expect(res.status).toBe(303);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0])
    .join('; ');
}

async function signedIn(instance: Instance, cookie: string): Promise<boolean> {
  const res = await fetch(new URL('/me', instance.url), { headers: { cookie } });
  return ((await res.json()) as { signedIn: boolean }).signedIn;
}

function signOut(instance: Instance, cookie: string): Promise<Response> {
  return fetch(new URL('/signout', instance.url), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, accept: 'application/json' },
  });
}

const SERVERS = [
  { framework: 'Express', server: fileURLToPath(new URL('../example-app/server.js', import.meta.url)) },
  { framework: 'Koa', server: fileURLToPath(new URL('../example-app/koa-server.js', import.meta.url)) },
  { framework: 'Fastify', server: fileURLToPath(new URL('../example-app/fastify-server.js', import.meta.url)) },
];

describe.each(SERVERS)('two instances of the $framework example app on one Redis', ({ server }) => {
  let portal: FakePortal;
  let redisUrl: string;
  let prefix: string;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    [portal, redisUrl] = await Promise.all([startFakePortal(), sharedRedisUrl()]);
    prefix = `sso-signout-test:${randomUUID()}:`;
    const env = {
      SSO_ENDPOINT: portal.url,
      SSO_DEV_SIGNIN: '1',
      SESSION_SECRET: 'the session secret both instances share',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
    };
    [a, b] = await Promise.all([startInstance(server, env), startInstance(server, env)]);
  }, 30_000);
  afterEach(() => {
    portal.reset();
  });
  afterAll(async () => {
    for (const instance of [a as Instance | undefined, b as Instance | undefined]) await instance?.stop();
    await (portal as FakePortal | undefined)?.close();
  });

  it('print that they share Redis', () => {
    for (const instance of [a, b]) {
      expect(instance.output()).toContain(`Sessions and sign-out state: Redis at redis://`);
      expect(instance.output()).toContain(`keys under "${prefix}"`);
    }
  });

  it('a session signed in on one is signed out through the other, and is gone on both', async () => {
    const token = portal.issueToken();
    portal.setDefault('real');
    const cookie = await signIn(a, token);
    expect(await signedIn(b, cookie)).toBe(true);
    const res = await signOut(b, cookie);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ signedOut: true, upstream: 'revoked' });
    expect(await signedIn(a, cookie)).toBe(false);
    expect(await signedIn(b, cookie)).toBe(false);
    expect(portal.isActive(token)).toBe(false);
  });

  it('one user signed in from three browsers across both is signed out everywhere by one request', async () => {
    const tokens = [portal.issueToken(), portal.issueToken(), portal.issueToken()];
    const laptop = await signIn(a, tokens[0] as string, 'ada');
    const phone = await signIn(b, tokens[1] as string, 'ada');
    const tablet = await signIn(a, tokens[2] as string, 'ada');
    const colleague = await signIn(b, portal.issueToken(), 'grace');
    const res = await fetch(new URL('/signout/everywhere', b.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: phone, accept: 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ signedOut: true, everywhere: { found: 2, ended: 2, kept: 0, failed: 0 } });
    for (const token of tokens) expect(portal.isActive(token)).toBe(false);
    for (const instance of [a, b]) {
      for (const cookie of [laptop, phone, tablet]) expect(await signedIn(instance, cookie)).toBe(false);
      expect(await signedIn(instance, colleague)).toBe(true);
    }
    expect(a.output() + b.output()).toContain('everywhere=');
  });

  it('the same token signed out through both at once makes one upstream call', async () => {
    const token = portal.issueToken();
    // Two browsers of one user, one on each instance, holding the same SSO token.
    const [onA, onB] = await Promise.all([signIn(a, token), signIn(b, token)]);
    portal.setDefault({ kind: 'real', delayMs: 300 });
    const answers = await Promise.all([signOut(a, onA), signOut(b, onB)]);
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { signedOut: boolean; upstream: string }[];
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(bodies).toEqual([
      expect.objectContaining({ signedOut: true, upstream: 'revoked' }),
      expect.objectContaining({ signedOut: true, upstream: 'revoked' }),
    ]);
    expect(portal.calls).toHaveLength(1);
    expect(await signedIn(a, onA)).toBe(false);
    expect(await signedIn(b, onB)).toBe(false);
  });

  it('a 429 heard by one instance closes the portal to the other', async () => {
    const [first, second] = await Promise.all([signIn(a, portal.issueToken()), signIn(b, portal.issueToken())]);
    portal.setDefault({ kind: 'throttle', retryAfter: 3 });
    const throttled = await signOut(a, first);
    expect(throttled.status).toBe(429);
    const calls = portal.calls.length;
    expect(calls).toBeGreaterThanOrEqual(1);
    const gated = await signOut(b, second);
    expect(gated.status).toBe(429);
    expect(Number(gated.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(gated.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    // The second instance sent nothing: the window the first heard holds for both.
    expect(portal.calls).toHaveLength(calls);
    expect(await signedIn(b, second)).toBe(true);
  });

  it('keeps no token in clear in Redis: sessions hold it (as any session store would), sign-out state does not', async () => {
    const token = portal.issueToken();
    portal.setDefault('real');
    await signOut(b, await signIn(a, token));
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    try {
      const keys = await redis.keys(`${prefix}sso:*`);
      expect(keys.length).toBeGreaterThan(0);
      // Strings (the sign-out state) and sets (the index of each user's sessions).
      const values = await Promise.all(
        keys.map(async (key) =>
          (await redis.type(key)) === 'set' ? (await redis.sMembers(key)).join(',') : redis.get(key),
        ),
      );
      expect(`${keys.join('\n')}\n${values.join('\n')}`).not.toContain(token);
    } finally {
      await redis.quit();
    }
  });
});
