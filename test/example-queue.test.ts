// The example app with SSO_END_SESSION_ON_FAILURE=1 on Redis: a sign-out while the portal fails ends
// the session and queues the token; the worker in the app's process revokes it once the portal is back.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { sharedRedisUrl } from './helpers/redis.js';
import { startExampleServer, type ExampleServer } from './helpers/example-server.js';
import { until } from './helpers/until.js';

const SERVERS = [
  { framework: 'Express', server: fileURLToPath(new URL('../example-app/server.js', import.meta.url)) },
  { framework: 'Koa', server: fileURLToPath(new URL('../example-app/koa-server.js', import.meta.url)) },
  { framework: 'Fastify', server: fileURLToPath(new URL('../example-app/fastify-server.js', import.meta.url)) },
  { framework: 'Hono', server: fileURLToPath(new URL('../example-app/hono-server.js', import.meta.url)) },
];

describe.each(SERVERS)('the $framework example app with SSO_END_SESSION_ON_FAILURE=1', ({ server }) => {
  let portal: FakePortal;
  let app: ExampleServer & { readonly url: string };

  beforeAll(async () => {
    [portal] = await Promise.all([startFakePortal()]);
    const started = await startExampleServer(server, {
      SSO_ENDPOINT: portal.url,
      SSO_DEV_SIGNIN: '1',
      SSO_END_SESSION_ON_FAILURE: '1',
      SESSION_SECRET: 'the session secret of this test instance',
      REDIS_URL: await sharedRedisUrl(),
      REDIS_PREFIX: `sso-signout-test:${randomUUID()}:`,
    });
    if (started.url === undefined) throw new Error(`the example app did not start:\n${started.output()}`);
    app = { ...started, url: started.url };
  }, 30_000);
  afterAll(async () => {
    await (app as typeof app | undefined)?.stop();
    await (portal as FakePortal | undefined)?.close();
  });

  it('ends the session while the portal fails, and revokes the token from the queue once it is back', async () => {
    expect(app.output()).toContain('the token waits in the revocation queue');
    const token = portal.issueToken();
    const signIn = await fetch(new URL('/dev/signin', app.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ accessToken: token }).toString(),
    });
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';', 1)[0])
      .join('; ');
    portal.setDefault({ kind: 'status', status: 503 });
    const res = await fetch(new URL('/signout', app.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, accept: 'application/json' },
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'sso_unavailable', signedOut: true });
    const me = await fetch(new URL('/me', app.url), { headers: { cookie } });
    expect(await me.json()).toEqual({ signedIn: false });
    expect(portal.isActive(token)).toBe(true);

    portal.setDefault('real');
    await until(() => !portal.isActive(token), 15_000);
    await until(() => app.output().includes('"revocation_done"'), 5000);
    expect(app.output()).not.toContain(token);
  }, 30_000);
});

it('refuses SSO_END_SESSION_ON_FAILURE=1 without REDIS_URL, saying what to set', async () => {
  const server = fileURLToPath(new URL('../example-app/server.js', import.meta.url));
  const started = await startExampleServer(server, { SSO_END_SESSION_ON_FAILURE: '1', REDIS_URL: '' });
  const [code] = await started.exited;
  expect(code).toBe(1);
  expect(started.output()).toMatch(/SSO_END_SESSION_ON_FAILURE=1 .* set REDIS_URL/);
});
