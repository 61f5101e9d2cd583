// The operator's proxy: with HTTPS_PROXY / HTTP_PROXY set and no dispatcher given, Logout goes
// through the one its scheme names (as curl and the AWS CLI do), except for NO_PROXY hosts or with proxyFromEnvironment: false.
// The proxy is a real one on loopback that tunnels CONNECT and forwards absolute-form requests, and
// records what passed through it (kept in memory: it carries the token, as any proxy does).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { REFUSED_URL } from './helpers/refused.js';

let portal: FakePortal;
let proxy: Proxy;
const saved = new Map<string, string | undefined>();
const clients: LogoutClient[] = [];
const VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];

beforeAll(async () => {
  [portal, proxy] = await Promise.all([startFakePortal(), startProxy()]);
  for (const name of VARIABLES) saved.set(name, process.env[name]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const [name, value] of saved) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  proxy.seen.length = 0;
  portal.reset();
});
afterAll(async () => {
  await Promise.all([portal.close(), proxy.close()]);
});

function environment(values: Record<string, string>): void {
  for (const name of VARIABLES) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, values);
}

function client(options: { proxyFromEnvironment?: boolean } = {}): LogoutClient {
  const c = createLogoutClient({ endpoint: portal.url, ...options });
  clients.push(c);
  return c;
}

describe('the environment’s proxy', () => {
  it.each(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY'])('goes through the proxy %s names', async (variable) => {
    // The fake portal is plain HTTP; HTTPS_PROXY alone covers https targets only.
    environment(
      variable === 'HTTPS_PROXY' ? { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url } : { [variable]: proxy.url },
    );
    const token = portal.issueToken();
    const result = await client().logout({ accessToken: token });
    expect(result.outcome).toBe('revoked');
    expect(portal.isActive(token)).toBe(false);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen[0]).toMatch(new RegExp(new URL(portal.url).host));
    expect(proxy.carriedLogout()).toBe(true);
  });

  it('picks the proxy by the endpoint’s scheme, as curl and the AWS CLI do', async () => {
    // Nothing listens on port 9: only where the attempt went matters.
    const https = (): LogoutClient => {
      const c = createLogoutClient({ endpoint: 'https://127.0.0.1:9', timeoutMs: 1000, maxAttempts: 1 });
      clients.push(c);
      return c;
    };
    environment({ HTTP_PROXY: proxy.url });
    expect((await https().logout({ accessToken: 'aoa-scheme' })).outcome).toBe('unavailable');
    expect(proxy.seen).toEqual([]);
    environment({ HTTPS_PROXY: proxy.url });
    await https().logout({ accessToken: 'aoa-scheme' });
    expect(proxy.seen[0]).toBe('CONNECT 127.0.0.1:9');
    proxy.seen.length = 0;
    // The plain-http fake portal, with only an https proxy named: direct.
    const token = portal.issueToken();
    expect((await client().logout({ accessToken: token })).outcome).toBe('revoked');
    expect(proxy.seen).toEqual([]);
  });

  it('says the proxy refused the tunnel, with its status, when it answers CONNECT with 403', async () => {
    environment({ HTTPS_PROXY: proxy.url });
    proxy.refuseTunnels(403);
    try {
      const c = createLogoutClient({ endpoint: 'https://127.0.0.1:9', timeoutMs: 1000 });
      clients.push(c);
      const result = await c.logout({ accessToken: 'aoa-refused' });
      expect(result).toMatchObject({ outcome: 'unavailable', reason: 'proxy_refused', attempts: 1 });
      expect(result.cause?.message).toContain('(403)');
      expect(result.cause?.message).not.toContain('aoa-refused');
    } finally {
      proxy.refuseTunnels(undefined);
    }
  });

  it('closes within a deadline even when the proxy never answers CONNECT', async () => {
    environment({ HTTPS_PROXY: proxy.url });
    proxy.refuseTunnels('hang');
    try {
      const c = createLogoutClient({ endpoint: 'https://127.0.0.1:9', timeoutMs: 300 });
      const result = await c.logout({ accessToken: 'aoa-hang' });
      expect(result.outcome).toBe('timeout');
      const started = performance.now();
      await c.close();
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      proxy.refuseTunnels(undefined);
    }
  });

  // Proxies undici alone would reconnect to without end, thousands of times a second, past the
  // deadline and after the answer: each is a connection failure, retried as one, and then nothing.
  it.each([
    {
      proxying: 'closes CONNECT unanswered',
      refusal: 'close',
      https: true,
      says: 'the proxy closed the connection before the tunnel was open',
      tunnels: 3,
    },
    {
      proxying: 'answers CONNECT 100 Continue and no more',
      refusal: 'continue',
      https: true,
      says: 'the proxy closed the connection before the tunnel was open',
      tunnels: 3,
    },
    // A plain-http endpoint: nothing (no TLS) stands between the stray bytes and undici's parser,
    // which drops each connection before a request went through it. Three tunnels per attempt.
    {
      proxying: 'opens tunnels that speak first and close',
      refusal: 'speaks-first',
      https: false,
      says: 'tunnels in a row closed before carrying a request',
      tunnels: 12,
    },
  ] as const)('fails fast, and stops, when the proxy $proxying', async ({ refusal, https, says, tunnels }) => {
    environment(https ? { HTTPS_PROXY: proxy.url } : { HTTP_PROXY: proxy.url });
    proxy.refuseTunnels(refusal);
    try {
      const c = createLogoutClient({ endpoint: https ? 'https://127.0.0.1:9' : portal.url, timeoutMs: 3000 });
      clients.push(c);
      const started = performance.now();
      const result = await c.logout({ accessToken: portal.issueToken() });
      expect(result).toMatchObject({ outcome: 'unavailable', reason: 'connection_error', attempts: 3 });
      expect(result.cause?.code).toBe('ECONNRESET');
      expect(result.cause?.message).toContain(says);
      expect(performance.now() - started).toBeLessThan(2000);
      const seen = proxy.seen.length;
      expect(seen).toBeLessThanOrEqual(tunnels);
      // Nothing goes on after the answer.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(proxy.seen.length).toBe(seen);
    } finally {
      proxy.refuseTunnels(undefined);
    }
  });

  it('connects directly to a host NO_PROXY lists', async () => {
    environment({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result.outcome).toBe('revoked');
    expect(proxy.seen).toEqual([]);
  });

  it('connects directly with proxyFromEnvironment: false', async () => {
    environment({ HTTP_PROXY: proxy.url });
    const result = await client({ proxyFromEnvironment: false }).logout({ accessToken: portal.issueToken() });
    expect(result.outcome).toBe('revoked');
    expect(proxy.seen).toEqual([]);
  });

  it('answers 503 with the cause code when the proxy is down, never a false "revoked"', async () => {
    environment({ HTTP_PROXY: REFUSED_URL });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'connection_error' });
    expect(result.cause?.code).toBe('ECONNREFUSED');
    expect(portal.calls).toHaveLength(0);
  });

  it('refuses a proxyFromEnvironment that is not a boolean', () => {
    expect(() =>
      createLogoutClient({ endpoint: portal.url, proxyFromEnvironment: 'no' as unknown as boolean }),
    ).toThrow(/`proxyFromEnvironment` must be true or false/);
  });
});
