// The app's own origin, which a browser's `Origin` is compared against, is Express's own: the route
// works out the scheme and host from the socket and the headers itself (reading `req` as little as
// it can), so it is checked here against Express's `req.protocol` and Express 5's `req.host` over
// generated requests, trust settings and proxies' headers, on Express 4 and 5, over HTTP and HTTPS.

import express from 'express';
import express4 from 'express4';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, ssoSignOut, type LogoutClient, type SignOutEvent } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { originOf } from '../../src/core/route/cross-site.js';
import { warningsDuring } from '../helpers/warnings.js';

const tls = {
  cert: readFileSync(new URL('../helpers/tls/cert.pem', import.meta.url)),
  key: readFileSync(new URL('../helpers/tls/key.pem', import.meta.url)),
};
// The certificate is checked against its own CA; its name cannot match every generated Host.
const agent = new Agent({ connect: { ca: tls.cert, checkServerIdentity: () => undefined } });

// The origin the route takes when the request names none it can use.
const PLACEHOLDER = 'http://app.invalid';
// Never the app's: every request is refused, and the event says which origin it expected.
const FOREIGN = 'https://never.example';

/** Express 5's `req.host` (the host and port, trusting X-Forwarded-Host as `trust proxy` says), for Express 4 too. */
function host5(req: unknown): string | undefined {
  return Reflect.get(express.request, 'host', req);
}

/** `scheme://host` as an origin, or the placeholder: the mapping the route uses, given Express's scheme and host. */
function expressOrigin(protocol: string, host: string | undefined): string {
  return originOf(protocol, host) ?? PLACEHOLDER;
}

// Express takes any truthy answer of a trust function as trust, and any falsy one as none.
type Trust = boolean | number | string | ((address: string, hop: number) => unknown);
const TRUST: Trust[] = [
  false,
  true,
  'loopback',
  '127.0.0.1',
  '10.0.0.0/8',
  'uniquelocal',
  1,
  2,
  (address, hop) => hop === 0 && address.endsWith('127.0.0.1'),
  (address) => /^(::ffff:)?127\./.exec(address),
  (address) => (address.endsWith('127.0.0.1') ? 1 : 0),
  () => 'yes',
  () => '',
  () => null,
];
const PROTOS = ['https', 'http', 'HTTPS', 'https, http', 'http,https', ',https', ' , ', 'wss', 'https ,http', ''];
const HOSTS = [
  'a.example',
  'a.example:8443',
  'A.Example:443',
  'a.example, b.example',
  ',b.example',
  'a.example ,b.example',
  '[::1]:8080',
  'xn--bcher-kva.example',
  'bad host',
  '',
];

interface Served {
  readonly name: string;
  readonly url: string;
  readonly app: express.Express;
  /** Per request: what the route expected, and what Express says. */
  readonly seen: { route: string | undefined; express: string | undefined }[];
  readonly server: http.Server;
}

let portal: FakePortal;
let client: LogoutClient;
const served: Served[] = [];

beforeAll(async () => {
  portal = await startFakePortal();
  client = createLogoutClient({ endpoint: portal.url });
  const makers = [
    ['Express 5', express as unknown as () => express.Express],
    ['Express 4', express4 as unknown as () => express.Express],
  ] as const;
  for (const [version, make] of makers) {
    for (const scheme of ['http', 'https'] as const) {
      const seen: Served['seen'] = [];
      const app = make();
      app.all(
        '/signout',
        ssoSignOut({
          client,
          onEvent: (event: SignOutEvent, req) => {
            if (event.type !== 'refused') return;
            seen.push({ route: event.expectedOrigin, express: expressOrigin(req.protocol, host5(req)) });
          },
        }),
      );
      const server = scheme === 'https' ? https.createServer(tls, app) : http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      served.push({
        name: `${version} over ${scheme.toUpperCase()}`,
        url: `${scheme}://127.0.0.1:${port}`,
        app,
        seen,
        server,
      });
    }
  }
});

afterAll(async () => {
  for (const s of served) s.server.close();
  await agent.close();
  await client.close();
  await portal.close();
});

describe("the app's own origin is Express's", () => {
  it.each(['Express 5 over HTTP', 'Express 5 over HTTPS', 'Express 4 over HTTP', 'Express 4 over HTTPS'])(
    'on %s, over generated requests, trust settings and forwarded headers',
    async (name) => {
      const s = served.find((x) => x.name === name) as Served;
      const absent = fc.constant(undefined);
      const request$ = fc.record({
        trust: fc.constantFrom(...TRUST),
        proto: fc.oneof(absent, fc.constantFrom(...PROTOS)),
        forwardedHost: fc.oneof(absent, fc.constantFrom(...HOSTS)),
        host: fc.constantFrom('app.example', 'app.example:3000', 'APP.example:443', '[::1]:3000', '127.0.0.1'),
      });
      // The route warns once that forwarded headers come from a proxy the app does not trust.
      await warningsDuring(async () => {
        await fc.assert(
          fc.asyncProperty(request$, async ({ trust, proto, forwardedHost, host }) => {
            s.app.set('trust proxy', trust);
            const headers: Record<string, string> = { host, origin: FOREIGN, accept: 'application/json' };
            if (proto !== undefined) headers['x-forwarded-proto'] = proto;
            if (forwardedHost !== undefined) headers['x-forwarded-host'] = forwardedHost;
            s.seen.length = 0;
            const res = await request(`${s.url}/signout`, { method: 'POST', headers, dispatcher: agent });
            await res.body.dump();
            expect(res.statusCode).toBe(403);
            expect(s.seen).toHaveLength(1);
            const [seen] = s.seen;
            expect(seen?.route).toBe(seen?.express);
          }),
          { numRuns: 250 },
        );
      });
    },
  );

  it('is https over TLS, and http over plain TCP, when no trusted proxy says otherwise', async () => {
    const origins: (string | undefined)[] = [];
    for (const s of served) {
      s.app.set('trust proxy', false);
      s.seen.length = 0;
      const res = await request(`${s.url}/signout`, {
        method: 'POST',
        headers: { host: 'app.example', origin: FOREIGN },
        dispatcher: agent,
      });
      await res.body.dump();
      origins.push(s.seen[0]?.route);
    }
    expect(origins).toEqual(['http://app.example', 'https://app.example', 'http://app.example', 'https://app.example']);
  });

  it("follows an app's own `req.protocol` (one that honours `Forwarded: proto=https`, say)", async () => {
    for (const make of [express, express4] as unknown as (() => express.Express)[]) {
      const app = make();
      const base = Object.getPrototypeOf(app.request) as object;
      Object.defineProperty(app.request, 'protocol', {
        get(this: express.Request) {
          const proto = /proto=(\w+)/.exec(this.get('forwarded') ?? '')?.[1];
          return proto ?? (Reflect.get(base, 'protocol', this) as string);
        },
      });
      const events: SignOutEvent[] = [];
      app.all('/signout', ssoSignOut({ client, onEvent: (event) => events.push(event) }));
      const server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const send = async (origin: string) => {
          const res = await request(`http://127.0.0.1:${port}/signout`, {
            method: 'POST',
            headers: { host: 'app.example', forwarded: 'proto=https', origin, accept: 'application/json' },
          });
          await res.body.dump();
          return res.statusCode;
        };
        // No session: the same-origin request gets past the cross-site check to the session's absence.
        expect(await send('https://app.example')).toBe(500);
        expect(await send('http://app.example')).toBe(403);
        expect(events.map((e) => e.type === 'refused' && e.expectedOrigin)).toContain('https://app.example');
      } finally {
        server.close();
      }
    }
  });
});
