// The operator's proxy: with HTTPS_PROXY / HTTP_PROXY set and no dispatcher given, Logout goes
// through it (as the AWS CLI's does), except for NO_PROXY hosts or with proxyFromEnvironment: false.
// The proxy is a real one on loopback that tunnels CONNECT and forwards absolute-form requests, and
// records what passed through it (kept in memory: it carries the token, as any proxy does).

import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';

interface Proxy {
  readonly url: string;
  /** `CONNECT host:port` targets and absolute-form request lines, in order. */
  readonly seen: string[];
  /** Whether any tunnel carried a Logout request. */
  carriedLogout(): boolean;
  close(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const seen: string[] = [];
  const tunnelled: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const target = new URL(req.url ?? '');
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket) => {
    seen.push(`CONNECT ${req.url ?? ''}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      client.on('data', (chunk: Buffer) => tunnelled.push(chunk.toString('latin1').split('\r\n', 1)[0] ?? ''));
      client.pipe(upstream).pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    seen,
    carriedLogout: () =>
      tunnelled.some((line) => line.startsWith('POST /logout')) || seen.some((l) => l.includes('/logout')),
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

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
    const gone = await startProxy();
    const url = gone.url;
    await gone.close();
    environment({ HTTP_PROXY: url });
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
