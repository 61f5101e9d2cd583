// Logout CSRF: the full matrix of method × Origin × Sec-Fetch-Site, on both frameworks, proxy trusted or not.

import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient, type SignOutEvent } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { onePerFramework } from '../helpers/adapters.js';
import { cookieHeaderFrom } from '../helpers/cookies.js';

let portal: FakePortal;
let client: LogoutClient;
beforeAll(async () => {
  portal = await startFakePortal();
  client = createLogoutClient({ endpoint: portal.url });
});
afterEach(() => {
  portal.reset();
});
afterAll(async () => {
  await client.close();
  await portal.close();
});

const HOST = 'portal.example.com';
const ORIGINS = {
  same: `http://${HOST}`,
  other: 'https://evil.example',
  null: 'null',
  absent: undefined,
} as const;
const FETCH_SITES = [undefined, 'same-origin', 'same-site', 'none', 'cross-site'] as const;
const METHODS = ['POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

type OriginKind = keyof typeof ORIGINS;
const MATRIX = METHODS.flatMap((method) =>
  (Object.keys(ORIGINS) as OriginKind[]).flatMap((origin) => FETCH_SITES.map((site) => ({ method, origin, site }))),
);

function expectedStatus(method: string, origin: OriginKind, site: (typeof FETCH_SITES)[number]): number {
  if (method !== 'POST' && method !== 'GET') return 405;
  if (site === 'cross-site' || origin === 'other') return 403;
  // `Origin: null` comes from same-origin forms on no-referrer pages, and from sandboxed frames:
  // only the browser's own Sec-Fetch-Site tells them apart.
  if (origin === 'null' && site !== 'same-origin') return 403;
  // Another origin of the same site (a sibling subdomain) that sends no Origin (a GET navigation,
  // an <img>): its origin cannot be checked against the allowed ones.
  if (origin === 'absent' && site === 'same-site') return 403;
  return 303;
}

const FRAMEWORKS = onePerFramework();

describe.each(FRAMEWORKS)('cross-site matrix on $name', (adapter) => {
  it.each(MATRIX)('$method, Origin $origin, Sec-Fetch-Site $site', async ({ method, origin, site }) => {
    const app = adapter.build(client, { signOut: { allowGet: true } });
    const token = portal.issueToken();
    const signin = await request(app).post('/test/signin').send({ accessToken: token }).expect(200);
    const verb = method.toLowerCase() as 'post';
    let req = request(app)[verb]('/signout').set('Host', HOST).set('Cookie', cookieHeaderFrom(signin));
    if (ORIGINS[origin] !== undefined) req = req.set('Origin', ORIGINS[origin]);
    if (site !== undefined) req = req.set('Sec-Fetch-Site', site);
    const res = await req;
    const status = expectedStatus(method, origin, site);
    expect(res.status).toBe(status);
    // A refusal calls nothing and changes nothing; an acceptance revokes.
    expect(portal.calls).toHaveLength(status === 303 ? 1 : 0);
    expect(portal.isActive(token)).toBe(status !== 303);
    if (status === 405) expect(res.headers.allow).toBe('GET, POST');
  });
});

// A browser too old to send Fetch Metadata sends no `Origin` on a GET either: a cross-site `<img>` or
// link then says where it came from only in its `Referer`.
const REFERERS = [
  { referer: `http://${HOST}/reports?id=7`, site: undefined, status: 303 },
  { referer: 'https://evil.example/page', site: undefined, status: 403 },
  { referer: 'https://partner.example/', site: undefined, status: 303 },
  { referer: 'not a url', site: undefined, status: 303 },
  // Fetch Metadata, where sent, is the browser's own word: the Referer is not read then.
  { referer: 'https://evil.example/page', site: 'same-origin', status: 303 },
] as const;

describe.each(FRAMEWORKS)('no Origin and no Fetch Metadata on $name', (adapter) => {
  it.each(REFERERS.flatMap((row) => (['GET', 'POST'] as const).map((method) => ({ method, ...row }))))(
    '$method with Referer $referer and Sec-Fetch-Site $site: $status',
    async ({ method, referer, site, status }) => {
      const events: SignOutEvent[] = [];
      const app = adapter.build(client, {
        signOut: { allowGet: true, allowedOrigins: ['https://partner.example'], onEvent: (e) => events.push(e) },
      });
      const token = portal.issueToken();
      const signin = await request(app).post('/test/signin').send({ accessToken: token }).expect(200);
      const verb = method.toLowerCase() as 'post';
      let req = request(app)[verb]('/signout').set('Host', HOST).set('Cookie', cookieHeaderFrom(signin));
      req = req.set('Referer', referer);
      if (site !== undefined) req = req.set('Sec-Fetch-Site', site);
      const res = await req;
      expect(res.status).toBe(status);
      expect(portal.isActive(token)).toBe(status !== 303);
      if (status === 403) {
        expect(portal.calls).toHaveLength(0);
        expect(events).toContainEqual(expect.objectContaining({ type: 'refused', reason: 'referer_mismatch' }));
      }
    },
  );
});

describe.each(FRAMEWORKS)('forwarded headers on $name', (adapter) => {
  const forged = { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', Origin: 'https://evil.example' };

  it('lets no forwarded header pick the origin compared against when the proxy is not trusted', async () => {
    const app = adapter.build(client, { trustProxy: false });
    const res = await request(app)
      .post('/signout')
      .set('Host', HOST)
      .set('Accept', 'application/json')
      .set(forged)
      .expect(403);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'cross_site_request' });
  });

  it('still accepts the real origin when forwarded headers are sent but not trusted', async () => {
    const app = adapter.build(client, { trustProxy: false });
    await request(app)
      .post('/signout')
      .set('Host', HOST)
      .set({ 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', Origin: `http://${HOST}` })
      .expect(303);
  });

  it('compares against the forwarded origin when the app trusts its proxy', async () => {
    const app = adapter.build(client, { trustProxy: true });
    await request(app).post('/signout').set('Host', 'internal:8080').set(forged).expect(303);
    // The trusted proxy said https: the app's own origin is https, so http is another origin.
    await request(app)
      .post('/signout')
      .set('Host', HOST)
      .set({ 'X-Forwarded-Proto': 'https', Origin: `http://${HOST}` })
      .expect(403);
  });

  describe('behind a TLS-terminating proxy the app does not trust', () => {
    const warnings: { code: string | undefined; message: string }[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push({ code: w.code, message: w.message });
    beforeEach(() => {
      warnings.length = 0;
      process.on('warning', onWarning);
    });
    afterEach(() => {
      process.off('warning', onWarning);
    });

    it('says in the event which origin it saw and which it expected, and warns once how to trust the proxy', async () => {
      const events: SignOutEvent[] = [];
      const app = adapter.build(client, { trustProxy: false, signOut: { onEvent: (e) => events.push(e) } });
      for (let i = 0; i < 2; i++) {
        await request(app)
          .post('/signout')
          .set('Host', 'portal.internal:8080')
          .set({ 'X-Forwarded-Host': HOST, 'X-Forwarded-Proto': 'https', Origin: `https://${HOST}` })
          .expect(403);
      }
      expect(events[0]).toMatchObject({
        type: 'refused',
        code: 'cross_site_request',
        reason: 'origin_mismatch',
        origin: `https://${HOST}`,
        expectedOrigin: 'http://portal.internal:8080',
      });
      await new Promise((resolve) => setImmediate(resolve));
      const mine = warnings.filter((w) => w.code === 'SSO_SIGNOUT_UNTRUSTED_FORWARDED');
      expect(mine).toHaveLength(1);
      expect(mine[0]?.message).toContain(
        {
          express: "app.set('trust proxy'",
          koa: 'app.proxy = true',
          fastify: 'Fastify({ trustProxy',
          fetch: 'the `origin` option',
        }[adapter.framework],
      );
    });

    it('does not warn when the app trusts the proxy', async () => {
      const app = adapter.build(client, { trustProxy: true });
      await request(app)
        .post('/signout')
        .set('Host', 'portal.internal:8080')
        .set({ 'X-Forwarded-Host': HOST, 'X-Forwarded-Proto': 'https', Origin: `https://${HOST}` })
        .expect(303);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.code === 'SSO_SIGNOUT_UNTRUSTED_FORWARDED')).toEqual([]);
    });
  });
});
