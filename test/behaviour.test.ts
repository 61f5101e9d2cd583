// The contract's §2, row by row, written once and run against every adapter (Express 4/5 with
// express-session and cookie-session, Koa 2/3 with koa-session).

import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Pool } from 'undici';
import { inspect } from 'node:util';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
} from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLogoutClient,
  SignOutError,
  type LogoutClient,
  type LogoutClientOptions,
  type SignOutEvent,
} from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { ADAPTERS, type BuildOptions, type RouteOptions } from './helpers/adapters.js';
import { applySetCookies, cookieHeaderFrom, setCookies } from './helpers/cookies.js';
import { warningCodesDuring, warningsDuring } from './helpers/warnings.js';
import { REFUSED_URL } from './helpers/refused.js';

let portal: FakePortal;
const clients: LogoutClient[] = [];
beforeAll(async () => {
  portal = await startFakePortal();
});
afterEach(async () => {
  portal.reset();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await portal.close();
});

const JSON_ACCEPT = 'application/json';

function client(options: Omit<LogoutClientOptions, 'endpoint'> = {}, endpoint = portal.url): LogoutClient {
  const c = createLogoutClient({ endpoint, ...options });
  clients.push(c);
  return c;
}

async function signIn(app: RequestListener, body: Record<string, unknown>): Promise<string> {
  const res = await request(app).post('/test/signin').send(body).expect(200);
  const cookie = cookieHeaderFrom(res);
  if (cookie === '') throw new Error('sign-in set no cookie');
  return cookie;
}

async function isSignedIn(app: RequestListener, cookie: string): Promise<boolean> {
  const res = await request(app).get('/me').set('Cookie', cookie).expect(200);
  return (res.body as { signedIn: boolean }).signedIn;
}

interface SignedInOptions extends BuildOptions {
  readonly client?: Omit<LogoutClientOptions, 'endpoint'>;
}

/**
 * Where a browser posts a page's retry form: its `action`, or without one the page's own URL (the
 * fetch handler leaves it out, since a framework may have rewritten the request's URL).
 */
function retryTarget(html: string, pageUrl: string): string | undefined {
  const form = /<form method="post"(?: action="([^"]+)")?>/.exec(html);
  return form === null ? undefined : (form[1] ?? pageUrl);
}

describe.each(ADAPTERS)('$name', (adapter) => {
  const cookieName = adapter.sessionCookie;
  const build = (options: SignedInOptions = {}) => adapter.build(client(options.client), options);

  async function signedIn(options: SignedInOptions = {}) {
    const events: SignOutEvent[] = [];
    const app = build({ ...options, signOut: { onEvent: (e) => events.push(e), ...options.signOut } });
    const token = portal.issueToken();
    const cookie = await signIn(app, { accessToken: token });
    return { app, token, cookie, events };
  }

  /** Whether the browser that received `res` is still signed in. */
  async function stillSignedIn(app: RequestListener, cookie: string, res: { readonly headers: IncomingHttpHeaders }) {
    return isSignedIn(app, applySetCookies(cookie, res));
  }

  function expectSessionCookieCleared(res: request.Response) {
    const cleared = setCookies(res).get(cookieName);
    expect(cleared, 'session cookie cleared').toBeDefined();
    expect(cleared?.value).toBe('');
    expect(cleared?.attrs.get('path')).toBe('/');
    expect(cleared?.attrs.get('expires')).toMatch(/1970/);
    if (adapter.sigCookie) {
      expect(setCookies(res).get(`${cookieName}.sig`)?.attrs.get('expires')).toMatch(/1970/);
    }
  }

  function expectNoCookieCleared(res: request.Response) {
    for (const [, c] of setCookies(res)) expect(c.value).not.toBe('');
  }

  describe('upstream 2xx: revoked', () => {
    it('ends the session, clears its cookie and redirects a browser with 303', async () => {
      const { app, token, cookie, events } = await signedIn();
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(res.headers.location).toBe('/signed-out');
      expect(res.headers['cache-control']).toBe('no-store');
      // An empty answer, framed by its length: not chunked.
      expect(res.headers['content-length']).toBe('0');
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expectSessionCookieCleared(res);
      expect(portal.calls).toHaveLength(1);
      expect(portal.calls[0]?.token).toBe(token);
      expect(portal.isActive(token)).toBe(false);
      expect(await stillSignedIn(app, cookie, res)).toBe(false);
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'signout',
          code: 'signed_out',
          upstream: 'revoked',
          upstreamStatus: 200,
          attempts: 1,
        }),
      );
    });

    it('answers a JSON client 200 { signedOut, upstream: "revoked", redirectTo }', async () => {
      const { app, cookie } = await signedIn();
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ signedOut: true, upstream: 'revoked', redirectTo: '/signed-out' });
      expectSessionCookieCleared(res);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    if (adapter.serverSide) {
      it('leaves the old session cookie useless even when replayed', async () => {
        const { app, cookie } = await signedIn();
        await request(app).post('/signout').set('Cookie', cookie).expect(303);
        expect(await isSignedIn(app, cookie)).toBe(false);
      });
    }
  });

  describe('no session, or no token in it: skipped', () => {
    it('redirects without calling the portal when there is no session', async () => {
      const app = build();
      const res = await request(app).post('/signout').expect(303);
      expect(res.headers.location).toBe('/signed-out');
      expect(portal.calls).toHaveLength(0);
    });

    it('answers JSON upstream "skipped" when the session holds no token, and ends it', async () => {
      const app = build();
      const cookie = await signIn(app, { sso: null });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(200);
      expect(res.body).toEqual({ signedOut: true, upstream: 'skipped', redirectTo: '/signed-out' });
      expect(portal.calls).toHaveLength(0);
      expectSessionCookieCleared(res);
    });
  });

  describe.each([
    ['401 UnauthorizedException', 'unauthorized' as const],
    ['400 InvalidRequestException', 'invalid-request' as const],
  ])('upstream %s: the token is dead', (_label, reply) => {
    it('ends the session and answers a browser 401 with a page that says so', async () => {
      const { app, cookie, token } = await signedIn();
      portal.enqueue(reply);
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(401);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('signed out');
      expect(res.text).toContain('had already ended');
      expect(res.text).toContain('href="/signed-out"');
      expect(res.text).not.toContain(token);
      expectSessionCookieCleared(res);
      expect(await stillSignedIn(app, cookie, res)).toBe(false);
      expect(portal.calls).toHaveLength(1);
    });

    it('answers a JSON client 401 problem+json sso_token_rejected, signedOut true', async () => {
      const { app, cookie } = await signedIn();
      portal.enqueue(reply);
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect(body).toMatchObject({
        status: 401,
        code: 'sso_token_rejected',
        signedOut: true,
        redirectTo: '/signed-out',
      });
      expect(body.type).toBe('urn:sso-signout:problem:sso_token_rejected');
      expect(typeof body.title).toBe('string');
      expect(typeof body.detail).toBe('string');
      expect(body.requestId).toBe(portal.calls[0]?.requestId);
    });
  });

  it('treats a token already revoked at the portal as rejected (real portal behaviour)', async () => {
    const { app, cookie, token } = await signedIn();
    portal.revoke(token);
    const res = await request(app).post('/signout').set('Cookie', cookie).expect(401);
    expect(await stillSignedIn(app, cookie, res)).toBe(false);
  });

  describe('upstream 429 TooManyRequestsException: throttled', () => {
    it('keeps the session and answers a browser 429 with Retry-After and a retry button', async () => {
      const { app, cookie, token } = await signedIn();
      portal.enqueue({ kind: 'throttle', retryAfter: 7 });
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(429);
      expect(res.headers['retry-after']).toBe('7');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(retryTarget(res.text, '/signout')).toBe('/signout');
      expect(res.text).toContain('<button type="submit">');
      expectNoCookieCleared(res);
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
      expect(portal.isActive(token)).toBe(true);
      // Retry-After of 7 s is past the deadline: no retry was made.
      expect(portal.calls).toHaveLength(1);
    });

    it('answers a JSON client 429 problem+json sso_throttled with retryAfter, signedOut false', async () => {
      const { app, cookie } = await signedIn();
      portal.enqueue({ kind: 'throttle', retryAfter: 7 });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(429);
      expect(JSON.parse(res.text)).toMatchObject({
        status: 429,
        code: 'sso_throttled',
        retryAfter: 7,
        signedOut: false,
      });
    });

    it('answers 429 at once, without calling the portal, inside the announced window', async () => {
      const { app, cookie } = await signedIn();
      portal.enqueue({ kind: 'throttle', retryAfter: 30 });
      await request(app).post('/signout').set('Cookie', cookie).expect(429);
      const again = await request(app).post('/signout').set('Cookie', cookie).expect(429);
      expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(30);
      expect(portal.calls).toHaveLength(1);
    });

    it('the retry button completes the sign-out once the announced window has passed', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const { app, cookie, token } = await signedIn();
        portal.enqueue({ kind: 'throttle', retryAfter: 30 });
        const first = await request(app).post('/signout').set('Cookie', cookie).expect(429);
        const action = retryTarget(first.text, '/signout');
        expect(action).toBe('/signout');
        const click = () =>
          request(app)
            .post(action ?? '')
            .set('Cookie', cookie)
            .type('form')
            .send({});
        await click().expect(429);
        expect(portal.calls).toHaveLength(1);
        vi.setSystemTime(Date.now() + 31_000);
        const done = await click().expect(303);
        expect(portal.calls).toHaveLength(2);
        expect(portal.isActive(token)).toBe(false);
        expect(await stillSignedIn(app, cookie, done)).toBe(false);
      } finally {
        vi.useRealTimers();
      }
    });

    it('retries a throttled call within the deadline and succeeds', async () => {
      const { app, cookie, events } = await signedIn();
      portal.enqueue({ kind: 'throttle', amzRetryAfterMs: 1 }, { kind: 'throttle', amzRetryAfterMs: 1 });
      await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(portal.calls.map((c) => c.status)).toEqual([429, 429, 200]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'signout', attempts: 3, upstream: 'revoked' }));
    });
  });

  describe.each([500, 502, 503, 504])('upstream %i: unavailable', (status) => {
    it('keeps the session and answers 503 with Retry-After (problem+json sso_unavailable)', async () => {
      const { app, cookie, token } = await signedIn({ client: { maxAttempts: 1 } });
      portal.enqueue({ kind: 'status', status, body: '{"message":"boom"}' });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(res.text)).toMatchObject({ status: 503, code: 'sso_unavailable', signedOut: false });
      expectNoCookieCleared(res);
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
      expect(portal.isActive(token)).toBe(true);
    });
  });

  it('retries 5xx answers (3 attempts in all) and reports the last failure', async () => {
    const { app, cookie, events } = await signedIn();
    portal.setDefault({ kind: 'status', status: 503 });
    const res = await request(app).post('/signout').set('Cookie', cookie).expect(503);
    expect(res.text).toMatch(/<form method="post"/);
    expect(portal.calls).toHaveLength(3);
    expect(events).toContainEqual(expect.objectContaining({ type: 'signout', attempts: 3, upstreamStatus: 503 }));
  });

  it('answers 503 when the connection is reset, after retrying', async () => {
    const { app, cookie } = await signedIn();
    portal.setDefault('reset');
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(503);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_unavailable', signedOut: false });
    expect(portal.calls).toHaveLength(3);
    expect(await stillSignedIn(app, cookie, res)).toBe(true);
  });

  it('answers 503 when the portal refuses connections, and the event names the cause', async () => {
    const events: SignOutEvent[] = [];
    const app = adapter.build(client({ maxAttempts: 2 }, REFUSED_URL), { signOut: { onEvent: (e) => events.push(e) } });
    const cookie = await signIn(app, { accessToken: portal.issueToken() });
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(503);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_unavailable', signedOut: false });
    expect(await stillSignedIn(app, cookie, res)).toBe(true);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'signout', reason: 'connection_error', causeCode: 'ECONNREFUSED', attempts: 2 }),
    );
  });

  it('hands onEvent the framework’s request, and durationMs to a tenth of a millisecond', async () => {
    const seen: [SignOutEvent, string | undefined][] = [];
    const app = adapter.build(client(), {
      signOut: { onEvent: (e, native) => seen.push([e, adapter.header(native, 'x-request-id')]) },
    });
    const cookie = await signIn(app, { accessToken: portal.issueToken() });
    await request(app).post('/signout').set('Cookie', cookie).set('x-request-id', 'req-42').expect(303);
    const [event, requestId] = seen.find(([e]) => e.type === 'signout') ?? [];
    expect(requestId).toBe('req-42');
    expect(event).toMatchObject({ type: 'signout', upstream: 'revoked', causeCode: undefined });
    const duration = (event as { durationMs: number }).durationMs;
    expect(duration).toBeGreaterThan(0);
    expect(Math.round(duration * 10)).toBeCloseTo(duration * 10, 9);
  });

  describe('deadline reached', () => {
    it('keeps the session and answers 504 (problem+json sso_timeout) within the deadline', async () => {
      const { app, cookie, token } = await signedIn({ client: { timeoutMs: 300 } });
      portal.enqueue('hang');
      const started = Date.now();
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(504);
      // Loose bound: the point is "not the portal's pace", not a timing measurement.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(JSON.parse(res.text)).toMatchObject({ status: 504, code: 'sso_timeout', signedOut: false });
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
      expect(portal.isActive(token)).toBe(true);
    });

    it('answers a browser 504 with a retry button', async () => {
      const { app, cookie } = await signedIn({ client: { timeoutMs: 200 } });
      portal.enqueue('hang');
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(504);
      expect(retryTarget(res.text, '/signout')).toBe('/signout');
    });
  });

  describe('any other upstream answer: 502 sso_bad_response', () => {
    it('never follows a redirect', async () => {
      const { app, cookie } = await signedIn();
      portal.enqueue({ kind: 'redirect', location: `${portal.url}/followed` });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(502);
      expect(JSON.parse(res.text)).toMatchObject({ status: 502, code: 'sso_bad_response', signedOut: false });
      expect(portal.calls.map((c) => c.path)).toEqual(['/logout']);
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
    });

    it.each([403, 404, 418])('answers 502 to an unexpected %i', async (status) => {
      const { app, cookie } = await signedIn();
      portal.enqueue({ kind: 'status', status, body: '<html>proxy error</html>' });
      await request(app).post('/signout').set('Cookie', cookie).expect(502);
      expect(portal.calls).toHaveLength(1);
    });

    it('answers 502 to bytes that are not HTTP', async () => {
      const { app, cookie } = await signedIn();
      portal.enqueue('garbage');
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(502);
      expect(res.text).toMatch(/<form method="post"/);
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
    });
  });

  describe('endSessionOnFailure', () => {
    it('ends the session on a failure row, keeps the status, and hands over the token', async () => {
      const handed: { accessToken: string; code: string }[] = [];
      const { app, cookie, token } = await signedIn({
        signOut: {
          endSessionOnFailure: true,
          onUnrevokedToken: (t, result) => {
            handed.push({ accessToken: t.accessToken, code: result.code });
          },
        },
      });
      portal.enqueue({ kind: 'throttle', retryAfter: 9 });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(429);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_throttled', signedOut: true, retryAfter: 9 });
      expect(JSON.parse(res.text).detail).toContain('signed out of this app');
      expectSessionCookieCleared(res);
      expect(await stillSignedIn(app, cookie, res)).toBe(false);
      expect(handed).toEqual([{ accessToken: token, code: 'sso_throttled' }]);
    });

    it('keeps the session when the token cannot be handed over', async () => {
      const { app, cookie } = await signedIn({
        signOut: {
          endSessionOnFailure: true,
          onUnrevokedToken: () => {
            throw new Error('queue down');
          },
        },
      });
      portal.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(503);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_unavailable', signedOut: false });
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
    });
  });

  if (adapter.detectsSessions) {
    describe('a session cookie sent twice', () => {
      // Another origin of the site (a sibling subdomain, a page on plain HTTP) can set a cookie of the
      // session's name for a longer path: the browser sends it first, and the middleware reads it.
      const planted = `${cookieName}=tossed`;

      it.each([
        ['a planted value', () => Promise.resolve(planted)],
        [
          "another user's session",
          async (app: RequestListener) => {
            const other = await signIn(app, { accessToken: portal.issueToken() });
            // Its session cookie (and signature) first, as the browser sends a longer path's.
            return other
              .split('; ')
              .filter((pair) => pair.startsWith(`${cookieName}=`) || pair.startsWith(`${cookieName}.sig=`))
              .join('; ');
          },
        ],
      ])('refuses %s before the user’s own, changing nothing', async (_label, first) => {
        // @fastify/secure-session does not expose its \`cookieName\`: the app names it, as here.
        const named = adapter.name.includes('secure-session') ? { sessionCookieName: cookieName } : {};
        // `rolling`: the middlewares that take it would write a session's cookie on every answer.
        const { app, cookie, token, events } = await signedIn({ signOut: named, sessionOptions: { rolling: true } });
        const before = await first(app);
        const res = await request(app)
          .post('/signout')
          .set('Cookie', `${before}; ${cookie}`)
          .set('Accept', JSON_ACCEPT)
          .expect(400);
        expect(JSON.parse(res.text)).toMatchObject({ code: 'session_ambiguous', signedOut: false });
        expect(JSON.parse(res.text).detail).toContain(`more than one cookie named ${cookieName}`);
        expect(portal.calls).toHaveLength(0);
        expect(portal.isActive(token)).toBe(true);
        // The route ended no session, and neither did the middleware after the answer: no cookie of
        // the session's name was cleared or written again (cookie-session's and koa-session's
        // `cookies` delete the signature of a value planted first, @fastify/session clears a cookie
        // that does not carry its session, or writes again the one of a session planted first),
        // which would delete the user's own, or put the planter's session in its place.
        const touched = [...setCookies(res).keys()].filter((n) => n === cookieName || n === `${cookieName}.sig`);
        expect(touched).toEqual([]);
        expect(await stillSignedIn(app, cookie, res)).toBe(true);
        expect(events).toContainEqual(expect.objectContaining({ type: 'signout', code: 'session_ambiguous' }));
      });

      // @fastify/secure-session does not expose its cookie's name: `sessionCookieName` is all there is.
      if (!adapter.name.includes('secure-session')) {
        it('refuses a planted value before the user’s own when sessionCookieName names another cookie', async () => {
          const { app, cookie, token } = await signedIn({ signOut: { sessionCookieName: 'not.the.session' } });
          const res = await request(app)
            .post('/signout')
            .set('Cookie', `${planted}; ${cookie}`)
            .set('Accept', JSON_ACCEPT)
            .expect(400);
          expect(JSON.parse(res.text)).toMatchObject({ code: 'session_ambiguous', signedOut: false });
          expect(JSON.parse(res.text).detail).toContain(`more than one cookie named ${cookieName}`);
          expect(portal.isActive(token)).toBe(true);
          expect(await stillSignedIn(app, cookie, res)).toBe(true);
        });

        it('warns of a sessionCookieName that names another cookie, and still signs out', async () => {
          const { app, cookie, token } = await signedIn({ signOut: { sessionCookieName: 'not.the.session' } });
          let res: request.Response | undefined;
          const warned = await warningCodesDuring(async () => {
            res = await request(app).post('/signout').set('Cookie', cookie).expect(303);
          });
          expect(warned).toContain('SSO_SIGNOUT_COOKIE_NAME_MISMATCH');
          expect(portal.isActive(token)).toBe(false);
          expect(setCookies(res!).get('not.the.session')?.value).toBe('');
          expect(await stillSignedIn(app, cookie, res!)).toBe(false);
        });
      }

      if (adapter.sigCookie) {
        it('refuses a planted signature before the user’s own, changing nothing', async () => {
          const { app, cookie, token } = await signedIn();
          const res = await request(app)
            .post('/signout')
            .set('Cookie', `${cookieName}.sig=${'A'.repeat(27)}; ${cookie}`)
            .set('Accept', JSON_ACCEPT)
            .expect(400);
          expect(JSON.parse(res.text)).toMatchObject({ code: 'session_ambiguous', signedOut: false });
          expect(portal.isActive(token)).toBe(true);
          expect(setCookies(res).has(`${cookieName}.sig`)).toBe(false);
          expect(await stillSignedIn(app, cookie, res)).toBe(true);
        });
      }

      it.each([
        ['a cross-site sign-out (403)', 'post', { origin: 'https://evil.example' }],
        ['a GET (405)', 'get', {}],
      ] as const)(
        'leaves the user’s own cookie as it was after %s with one planted first',
        async (_label, method, headers) => {
          const named = adapter.name.includes('secure-session') ? { sessionCookieName: cookieName } : {};
          const { app, cookie, token } = await signedIn({ signOut: named });
          const agent = request(app);
          const res = await (method === 'get' ? agent.get('/signout') : agent.post('/signout'))
            .set(headers)
            .set('Cookie', `${planted}; ${adapter.sigCookie ? `${cookieName}.sig=${'A'.repeat(27)}; ` : ''}${cookie}`);
          expect([403, 405]).toContain(res.status);
          const touched = [...setCookies(res).keys()].filter((n) => n === cookieName || n === `${cookieName}.sig`);
          expect(touched).toEqual([]);
          expect(await stillSignedIn(app, cookie, res)).toBe(true);
          expect(portal.isActive(token)).toBe(true);
        },
      );

      it('refuses a planted value whose name has blanks before its `=` (which cookie parsers trim)', async () => {
        const { app, cookie, token } = await signedIn(
          adapter.name.includes('secure-session') ? { signOut: { sessionCookieName: cookieName } } : {},
        );
        const res = await request(app)
          .post('/signout')
          .set('Cookie', `${cookieName} \t=tossed; ${cookie}`)
          .set('Accept', JSON_ACCEPT)
          .expect(400);
        expect(JSON.parse(res.text)).toMatchObject({ code: 'session_ambiguous', signedOut: false });
        expect(portal.isActive(token)).toBe(true);
      });

      it('refuses a decoy holding the planter’s session id under another name, sent before the planter’s own cookie and the user’s', async () => {
        const named = adapter.name.includes('secure-session') ? { sessionCookieName: cookieName } : {};
        const { app, cookie, token } = await signedIn({ signOut: named });
        const other = await signIn(app, { accessToken: portal.issueToken() });
        const otherPair = other.split('; ').find((pair) => pair.startsWith(`${cookieName}=`)) ?? '';
        const otherValue = otherPair.slice(cookieName.length + 1);
        // The planter's id, "signed" with nothing: a cookie-name finder that stops at the id takes it.
        const decoy = `a=${otherValue.slice(0, otherValue.lastIndexOf('.') + 1)}x`;
        const res = await request(app)
          .post('/signout')
          .set('Cookie', `${decoy}; ${otherPair}; ${cookie}`)
          .set('Accept', JSON_ACCEPT)
          .expect(400);
        expect(JSON.parse(res.text)).toMatchObject({ code: 'session_ambiguous', signedOut: false });
        expect(portal.isActive(token)).toBe(true);
        expect(await stillSignedIn(app, cookie, res)).toBe(true);
      });

      it('signs out a user whose browser sends an app cookie twice, its values signed-looking but not a session’s', async () => {
        const { app, cookie, token } = await signedIn();
        const hex = 'ab'.repeat(32);
        const twice = [`prefs=v1.${randomUUID()}`, `prefs=v1.${randomUUID()}`, `t=t.${hex}`, `t=t.${hex}`].join('; ');
        await request(app).post('/signout').set('Cookie', `${twice}; ${cookie}`).expect(303);
        expect(portal.isActive(token)).toBe(false);
      });

      it('still signs out a cookie header that names the session once, among look-alike names and values', async () => {
        const { app, cookie, token } = await signedIn();
        const lookAlikes = `x${cookieName}=1; ${cookieName}x=2; other=${cookieName}=3`;
        await request(app).post('/signout').set('Cookie', `${lookAlikes}; ${cookie}`).expect(303);
        expect(portal.isActive(token)).toBe(false);
      });
    });
  }

  describe('checks before anything changes', () => {
    it.each(['GET', 'PUT', 'DELETE', 'PATCH'])(
      'refuses %s with 405 and Allow: POST, calling nothing',
      async (method) => {
        const { app, cookie } = await signedIn();
        const res = await request(app)[method.toLowerCase() as 'get'](`/signout`).set('Cookie', cookie).expect(405);
        expect(res.headers.allow).toBe('POST');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(portal.calls).toHaveLength(0);
        expect(await stillSignedIn(app, cookie, res)).toBe(true);
      },
    );

    it('accepts GET when allowGet is set, still checking the origin', async () => {
      const { app, cookie } = await signedIn({ signOut: { allowGet: true } });
      await request(app).get('/signout').set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').expect(403);
      expect(portal.calls).toHaveLength(0);
      const res = await request(app)
        .get('/signout')
        .set('Cookie', cookie)
        .set('Sec-Fetch-Site', 'same-origin')
        .expect(303);
      expect(await stillSignedIn(app, cookie, res)).toBe(false);
      const put = await request(app).put('/signout').expect(405);
      expect(put.headers.allow).toBe('GET, POST');
    });

    it.each([
      ['a speculation-rules prefetch', { 'Sec-Purpose': 'prefetch' }, 'prefetch'],
      ['a speculation-rules prerender', { 'Sec-Purpose': 'prefetch;prerender' }, 'prefetch'],
      ['a <link rel=prefetch> (Safari)', { Purpose: 'prefetch' }, 'prefetch'],
      ['a Firefox prefetch', { 'X-Moz': 'prefetch' }, 'prefetch'],
      ['a link preview', { 'X-Purpose': 'preview' }, 'prefetch'],
      [
        "Next.js's <Link> prefetch (App Router)",
        { 'Next-Router-Prefetch': '1', RSC: '1', 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' },
        'prefetch',
      ],
      ["Next.js's <Link> prefetch (Pages Router)", { 'X-Middleware-Prefetch': '1' }, 'prefetch'],
      [
        'a same-origin <img src=/signout>',
        { 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' },
        'embedded',
      ],
      ['an <img crossorigin>', { 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'image' }, 'embedded'],
      ['a module script', { 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'script' }, 'embedded'],
      ['a font', { 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'font' }, 'embedded'],
      ['an <object>', { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'object' }, 'embedded'],
    ])('with allowGet, refuses %s with 403 background_request, changing nothing', async (_label, headers, reason) => {
      const { app, cookie, token, events } = await signedIn({ signOut: { allowGet: true } });
      const res = await request(app)
        .get('/signout')
        .set('Cookie', cookie)
        .set('Accept', JSON_ACCEPT)
        .set(headers)
        .expect(403);
      expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: 'background_request', signedOut: false });
      // Nothing cleared (a session middleware may still refresh its own cookie).
      expect(String(res.headers['set-cookie'])).not.toContain('1970');
      expect(portal.calls).toHaveLength(0);
      expect(portal.isActive(token)).toBe(true);
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
      expect(events).toContainEqual(expect.objectContaining({ type: 'refused', code: 'background_request', reason }));
      // The same link, followed by the user: signed out.
      const followed = await request(app)
        .get('/signout')
        .set('Cookie', cookie)
        .set({ 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' })
        .expect(303);
      expect(portal.isActive(token)).toBe(false);
      expect(await stillSignedIn(app, cookie, followed)).toBe(false);
    });

    it.each([
      ['a link followed in a frame', { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'iframe' }],
      ["a fetch() of the app's own script", { 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' }],
      ["a same-origin fetch() of the app's own script", { 'Sec-Fetch-Mode': 'same-origin', 'Sec-Fetch-Dest': 'empty' }],
      ['a Next.js navigation (not a prefetch)', { RSC: '1', 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' }],
    ])('with allowGet, takes %s', async (_label, headers) => {
      const { app, cookie, token } = await signedIn({ signOut: { allowGet: true } });
      await request(app)
        .get('/signout')
        .set('Cookie', cookie)
        .set({ 'Sec-Fetch-Site': 'same-origin', ...headers })
        .expect(303);
      expect(portal.isActive(token)).toBe(false);
    });

    it("takes a POST the app's own script sends in no-cors mode: only a GET is prefetched or embedded", async () => {
      const { app, cookie, token } = await signedIn({ signOut: { allowGet: true } });
      await request(app)
        .post('/signout')
        .set('Cookie', cookie)
        .set({ 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'empty' })
        .expect(303);
      expect(portal.isActive(token)).toBe(false);
    });

    it.each([
      ['another site', { Origin: 'https://evil.example' }],
      ['a sandboxed frame', { Origin: 'null' }],
      ['a malformed Origin', { Origin: 'not a url' }],
      // No browser sends these; none is reduced to the origin it names.
      ['an Origin with a user in it', { Origin: 'http://evil@portal.example.com' }],
      ['an Origin with a path', { Origin: 'http://portal.example.com/signout' }],
      ['an Origin with a query', { Origin: 'http://portal.example.com?x' }],
      ['an Origin with a fragment', { Origin: 'http://portal.example.com#x' }],
      ['an Origin with an empty user', { Origin: 'http://@portal.example.com' }],
      ['an Origin with an empty query', { Origin: 'http://portal.example.com?' }],
      ['an Origin with a dot segment', { Origin: 'http://portal.example.com/.' }],
      ['an Origin ending in a backslash', { Origin: 'http://portal.example.com\\' }],
      ['an Origin with a backslash path', { Origin: 'http://portal.example.com\\x' }],
      ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
      ['a same-origin Origin with Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site', Origin: 'SELF' }],
    ])('refuses a request from %s with 403, calling nothing', async (_label, headers) => {
      const { app, cookie, token, events } = await signedIn();
      let req = request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
      for (const [name, value] of Object.entries(headers)) {
        req = req.set('Host', 'portal.example.com').set(name, value === 'SELF' ? 'http://portal.example.com' : value);
      }
      const res = await req.expect(403);
      expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: 'cross_site_request', signedOut: false });
      expect(portal.calls).toHaveLength(0);
      expect(portal.isActive(token)).toBe(true);
      expect(await stillSignedIn(app, cookie, res)).toBe(true);
      expect(events).toContainEqual(expect.objectContaining({ type: 'refused', code: 'cross_site_request' }));
    });

    it('accepts its own Origin, an allowed Origin, same-origin fetch metadata, and no headers at all', async () => {
      const { app } = await signedIn({ signOut: { allowedOrigins: ['https://admin.example.com'] } });
      await request(app)
        .post('/signout')
        .set('Host', 'portal.example.com')
        .set('Origin', 'http://portal.example.com')
        .expect(303);
      await request(app)
        .post('/signout')
        .set('Host', 'portal.example.com:80')
        .set('Origin', 'http://portal.example.com')
        .expect(303);
      await request(app).post('/signout').set('Origin', 'https://admin.example.com').expect(303);
      await request(app).post('/signout').set('Sec-Fetch-Site', 'same-origin').expect(303);
      await request(app)
        .post('/signout')
        .set('Origin', 'https://admin.example.com')
        .set('Sec-Fetch-Site', 'same-site')
        .expect(303);
      await request(app).post('/signout').expect(303);
    });
  });

  describe('the destination', () => {
    it.each([
      ['a form field', (r: request.Test) => r.type('form').send({ return_to: '/reports?id=7' })],
      ['a JSON field', (r: request.Test) => r.send({ return_to: '/reports?id=7' })],
      ['the query', (r: request.Test) => r],
    ])('honours a same-site path in %s', async (label, withField) => {
      const { app, cookie } = await signedIn();
      const path = label === 'the query' ? '/signout?return_to=%2Freports%3Fid%3D7' : '/signout';
      const res = await withField(request(app).post(path).set('Cookie', cookie)).expect(303);
      expect(res.headers.location).toBe('/reports?id=7');
    });

    it.each([
      '//evil.example/',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/%2F%2Fevil.example',
      '/ok\r\nSet-Cookie: x=1',
      'evil.example',
    ])('falls back to the default for %j and reports it', async (value) => {
      const { app, cookie, events } = await signedIn();
      const res = await request(app)
        .post('/signout')
        .set('Cookie', cookie)
        .type('form')
        .send({ return_to: value })
        .expect(303);
      expect(res.headers.location).toBe('/signed-out');
      // Reported with its control characters escaped: the event may become a log line.
      const reported = value.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
      expect(events).toContainEqual(expect.objectContaining({ type: 'return_to_rejected', value: reported }));
    });

    it('allows an absolute URL on an allowlisted origin', async () => {
      const { app, cookie } = await signedIn({ signOut: { allowedReturnToOrigins: ['https://home.example.com'] } });
      const res = await request(app)
        .post('/signout')
        .set('Cookie', cookie)
        .set('Accept', JSON_ACCEPT)
        .send({ return_to: 'https://home.example.com/bye' })
        .expect(200);
      expect(res.body.redirectTo).toBe('https://home.example.com/bye');
    });

    /**
     * A sign-out posted over a socket of its own whose form body (`return_to=/reports?id=7`) arrives in
     * two parts: four bytes at once, the rest when `rest()` is called.
     */
    async function trickling(app: RequestListener, cookie: string, accept = 'text/html') {
      const server = createServer(app).listen(0, '127.0.0.1');
      await once(server, 'listening');
      const body = `return_to=${encodeURIComponent('/reports?id=7')}`;
      const req = httpRequest({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        method: 'POST',
        path: '/signout',
        headers: { cookie, accept, 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
      });
      const answered = (async () => {
        try {
          const [res] = (await once(req, 'response')) as [IncomingMessage];
          let text = '';
          for await (const chunk of res) text += String(chunk);
          return { status: res.statusCode, headers: res.headers, text };
        } finally {
          server.close();
        }
      })();
      req.write(body.slice(0, 4));
      return { rest: () => req.end(body.slice(4)), answered };
    }

    it('does not wait for a form body still arriving: Logout is called first, and the answer honours the body once it has come', async () => {
      const { app, token, cookie } = await signedIn();
      const posted = await trickling(app, cookie);
      if (adapter.parsesBodyFirst) {
        // The app's body parser holds the request until the body has come: nothing can start sooner.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(portal.calls).toHaveLength(0);
      } else {
        // The portal hears the Logout while most of the body has not been sent.
        await portal.waitForCalls(1);
      }
      posted.rest();
      await portal.waitForCalls(1);
      expect(portal.calls[0]?.token).toBe(token);
      const res = await posted.answered;
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/reports?id=7');
      expect(await stillSignedIn(app, cookie, res)).toBe(false);
    });

    it('counts the Retry-After it announces from the portal’s answer, however long the body then takes', async () => {
      const { app, cookie } = await signedIn({ client: { maxAttempts: 1 } });
      portal.enqueue({ kind: 'throttle', retryAfter: 2 });
      const posted = await trickling(app, cookie, JSON_ACCEPT);
      if (!adapter.parsesBodyFirst) await portal.waitForCalls(1);
      await new Promise((resolve) => setTimeout(resolve, 1300));
      posted.rest();
      const res = await posted.answered;
      expect(res.status).toBe(429);
      // Of the portal's 2 s window, at most 0.7 s was left once the body had come; where the app's
      // parser held the request until then, the portal was asked after it, and its window is whole.
      const left = adapter.parsesBodyFirst ? 2 : 1;
      expect(res.headers['retry-after']).toBe(String(left));
      expect(JSON.parse(res.text)).toMatchObject({ retryAfter: left, signedOut: false });
    });

    it('keeps the vetted destination in the retry form of a 429 page', async () => {
      const { app, cookie } = await signedIn();
      portal.enqueue({ kind: 'throttle', retryAfter: 9 });
      const res = await request(app)
        .post('/signout')
        .set('Cookie', cookie)
        .type('form')
        .send({ return_to: '/x?a=1&b=2' });
      expect(res.status).toBe(429);
      expect(res.text).toContain('<input type="hidden" name="return_to" value="/x?a=1&amp;b=2">');
    });
  });

  describe('cookies and headers', () => {
    it('clears the extra cookies the app lists, with their attributes', async () => {
      const { app, cookie } = await signedIn({
        signOut: { clearCookies: ['XSRF-TOKEN', { name: 'prefs', path: '/app', sameSite: 'strict', httpOnly: true }] },
      });
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(303);
      const cleared = setCookies(res);
      expect(cleared.get('XSRF-TOKEN')?.attrs.get('path')).toBe('/');
      expect(cleared.get('prefs')?.attrs.get('path')).toBe('/app');
      expect(cleared.get('prefs')?.attrs.get('samesite')).toBe('Strict');
      expect(cleared.get('prefs')?.attrs.has('httponly')).toBe(true);
    });

    it('sends Clear-Site-Data only when the session ended', async () => {
      const { app, cookie } = await signedIn({ signOut: { clearSiteData: true } });
      portal.enqueue({ kind: 'throttle', retryAfter: 9 });
      const kept = await request(app).post('/signout').set('Cookie', cookie).expect(429);
      expect(kept.headers['clear-site-data']).toBeUndefined();
      const { app: app2, cookie: cookie2 } = await signedIn({ signOut: { clearSiteData: ['cache', 'cookies'] } });
      const ended = await request(app2).post('/signout').set('Cookie', cookie2).expect(303);
      expect(ended.headers['clear-site-data']).toBe('"cache", "cookies"');
    });

    it('clears the session cookie with the attributes it was set with', async () => {
      // A Secure cookie is not set over plain HTTP: sign in through a trusted proxy that saw HTTPS.
      const app = build({
        sessionCookie: { path: '/', sameSite: 'strict', secure: true, partitioned: true, domain: 'portal.example.com' },
        trustProxy: true,
      });
      const token = portal.issueToken();
      const signin = await request(app)
        .post('/test/signin')
        .set('X-Forwarded-Proto', 'https')
        .set('Host', 'portal.example.com')
        .send({ accessToken: token })
        .expect(200);
      expect(setCookies(signin).get(cookieName)?.attrs.has('secure')).toBe(true);
      const res = await request(app)
        .post('/signout')
        .set('X-Forwarded-Proto', 'https')
        .set('Host', 'portal.example.com')
        .set('Origin', 'https://portal.example.com')
        .set('Cookie', cookieHeaderFrom(signin))
        .expect(303);
      const cleared = setCookies(res).get(cookieName);
      expect(cleared?.value).toBe('');
      expect(cleared?.attrs.get('domain')).toBe('portal.example.com');
      expect(cleared?.attrs.get('path')).toBe('/');
      expect(cleared?.attrs.has('secure')).toBe(true);
      expect(cleared?.attrs.get('samesite')?.toLowerCase()).toBe('strict');
      expect(cleared?.attrs.has('partitioned')).toBe(true);
      expect(portal.isActive(token)).toBe(false);
    });
  });

  describe('apps that take over', () => {
    it('hands failures to next(err) with a typed error, after setting the headers', async () => {
      let seen: unknown;
      const { app, cookie, token } = await signedIn({
        signOut: { delegateErrors: true },
        catchErrors: (err) => {
          seen = err;
        },
      });
      portal.enqueue({ kind: 'throttle', retryAfter: 5 });
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(429);
      expect(res.text).toBe('custom');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(seen).toBeInstanceOf(SignOutError);
      const err = seen as SignOutError;
      expect(err).toMatchObject({
        code: 'sso_throttled',
        status: 429,
        retryAfter: 5,
        signedOut: false,
        upstreamStatus: 429,
      });
      expect(err.requestId).toBe(portal.calls[0]?.requestId);
      expect(inspect(err, { depth: 10 })).not.toContain(token);
      expect(JSON.stringify(err)).not.toContain(token);
      expect(err.message).not.toContain(token);
    });

    // A getter's error is told without the token the session holds at `sso`: where no session middleware
    // is there to read (a fetch handler), the route knows no token to keep out of it.
    const quotingHooks = [
      [
        'endSession',
        (quoted: () => string) => ({
          endSession: () => {
            throw Object.assign(new Error(`could not end the session of ${quoted()}`), { code: 'E_APP' });
          },
        }),
      ],
      [
        'endSession',
        (quoted: () => string) => ({
          endSession: () => {
            // The token deeper in: a nested cause, an aggregate's errors, an own field.
            throw new Error('store failed', {
              cause: new AggregateError([new Error(`for ${quoted()}`)], 'all failed', {
                cause: Object.assign(new Error('inner'), { detail: quoted() }),
              }),
            });
          },
        }),
      ],
      [
        'endSession',
        (quoted: () => string) => ({
          endSession: () => {
            throw Object.assign(new Error('store failed'), { name: `StoreError(${quoted()})` });
          },
        }),
      ],
      [
        'endSession',
        (quoted: () => string) => ({
          endSession: () => {
            // Twelve causes deep, and behind an inspect of its own that shows none of it.
            let error = new Error(`innermost ${quoted()}`);
            for (let i = 0; i < 12; i++) error = new Error(`level ${String(i)}`, { cause: error });
            throw Object.assign(error, { [inspect.custom]: () => 'nothing to see' });
          },
        }),
      ],
      [
        'endSession',
        (quoted: () => string) => ({
          endSession: () => {
            // eslint-disable-next-line @typescript-eslint/only-throw-error -- an app may throw anything
            throw `a string with ${quoted()}`;
          },
        }),
      ],
      [
        'getToken',
        (quoted: () => string) => ({
          getToken: () => {
            throw new TypeError(`could not read ${quoted()}`);
          },
        }),
      ],
    ] as const;
    it.each(adapter.detectsSessions ? quotingHooks : quotingHooks.slice(0, 5))(
      'tells an app’s own %s error that quotes the token as its cause without the token',
      async (hook, hooks) => {
        let seen: unknown;
        let quoted = '';
        const { app, cookie, token } = await signedIn({
          signOut: { delegateErrors: true, ...hooks(() => quoted) },
          catchErrors: (err) => {
            seen = err;
          },
        });
        quoted = token;
        const warned = await warningsDuring(async () => {
          await request(app).post('/signout').set('Cookie', cookie);
        });
        expect(warned.map((w) => w.message).join('\n')).not.toContain(token);
        expect(seen, hook).toBeInstanceOf(SignOutError);
        const err = seen as SignOutError;
        expect(err.code).toBe('session_error');
        expect(inspect(err, { depth: 10 })).not.toContain(token);
        expect(JSON.stringify(err)).not.toContain(token);
        expect(err.cause).toBeInstanceOf(Error);
        expect(inspect(err.cause, { depth: 10, showHidden: true })).not.toContain(token);
        expect((err.cause as Error).name).toMatch(
          hook === 'getToken' ? /^TypeError$/ : /^(Error|StoreError\(\[redacted\]\))$/,
        );
      },
    );

    it('hands on a typed error, not a crash, when an app’s error cannot even be shown (its stack getter throws)', async () => {
      let seen: unknown;
      const { app, cookie } = await signedIn({
        signOut: {
          delegateErrors: true,
          endSession: () => {
            const error = new Error('store failed');
            Object.defineProperty(error, 'stack', {
              get() {
                throw new Error('no stack for you');
              },
            });
            throw error;
          },
        },
        catchErrors: (err) => {
          seen = err;
        },
      });
      await request(app).post('/signout').set('Cookie', cookie);
      expect(seen).toBeInstanceOf(SignOutError);
      expect((seen as SignOutError).code).toBe('session_error');
    });

    it('hands on a cause a logger can show without the token: its own inspect, a getter or toJSON that throws quoting it', async () => {
      let token = '';
      const quoting = () => new Error(`cannot show ${token}`);
      // Each thrown as an Error would be, whatever it is.
      const causes: Record<string, () => Error> = {
        'its own inspect throws': () =>
          Object.assign(new Error('store failed'), {
            [inspect.custom]: () => {
              throw quoting();
            },
          }),
        'a getter throws': () =>
          Object.defineProperty(new Error('store failed'), 'detail', {
            enumerable: true,
            get: () => {
              throw quoting();
            },
          }),
        'its toJSON throws': () =>
          Object.assign(new Error('store failed'), {
            toJSON: () => {
              throw quoting();
            },
          }),
        'a plain object whose getter throws': () =>
          ({
            get detail(): string {
              throw quoting();
            },
          }) as unknown as Error,
      };
      for (const [what, cause] of Object.entries(causes)) {
        // A getToken of an app without a session the route reads knows no token to look for (README).
        for (const hook of adapter.detectsSessions
          ? (['getToken', 'endSession'] as const)
          : (['endSession'] as const)) {
          let seen: unknown;
          const fail = () => Promise.reject(cause());
          const {
            app,
            cookie,
            token: issued,
          } = await signedIn({
            signOut: { delegateErrors: true, [hook]: fail },
            catchErrors: (err) => {
              seen = err;
            },
          });
          token = issued;
          await request(app).post('/signout').set('Cookie', cookie);
          expect(seen, `${hook}, ${what}`).toBeInstanceOf(SignOutError);
          // What a logger does with the error: none of it throws, and none of it holds the token.
          const logged = [inspect(seen), inspect(seen, { depth: 10, showHidden: true }), JSON.stringify(seen)];
          logged.push(inspect((seen as SignOutError).cause), JSON.stringify((seen as SignOutError).cause));
          expect(logged.join('\n'), `${hook}, ${what}`).not.toContain(token);
        }
      }
    });

    it('repeats no run of the token as the name of an error a hook threw', async () => {
      // A token of letters only, so that its runs look like the words of a class's name.
      const token = `aoa${'QwErTyUiOpAsDfGhJkLzXcVbNm'.repeat(4)}`;
      const app = build({
        signOut: {
          endSession: () => {
            throw Object.assign(new Error('failed'), { name: `${token.slice(3, 23)}Exception` });
          },
        },
      });
      const cookie = await signIn(app, { accessToken: token });
      const warned = await warningsDuring(async () => {
        await request(app).post('/signout').set('Cookie', cookie);
      });
      const failed = warned.filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED');
      expect(failed.map((w) => w.message)).toEqual([expect.stringContaining('threw (an Error)')]);
      expect(failed[0]?.message).not.toContain(token.slice(3, 15));
    });

    it('adds to a Vary header the app set, in both modes', async () => {
      for (const delegateErrors of [false, true]) {
        const { app, cookie } = await signedIn({
          signOut: { delegateErrors },
          presetVary: 'Origin',
          catchErrors: () => undefined,
        });
        portal.enqueue({ kind: 'throttle', retryAfter: 9 });
        const res = await request(app).post('/signout').set('Cookie', cookie).expect(429);
        expect(res.headers.vary).toBe('Origin, Accept');
      }
    });

    it('still redirects on success in delegate mode', async () => {
      const { app, cookie } = await signedIn({ signOut: { delegateErrors: true }, catchErrors: () => undefined });
      await request(app).post('/signout').set('Cookie', cookie).expect(303);
    });

    it('uses the render function for the body and keeps the truthful status', async () => {
      const { app, cookie } = await signedIn({
        signOut: {
          render: (result) =>
            result.code === 'sso_unavailable' ? `<p>custom ${String(result.retryAfter)}</p>` : undefined,
        },
      });
      portal.setDefault({ kind: 'status', status: 502 });
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(503);
      expect(res.text).toMatch(/^<p>custom \d+<\/p>$/);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
    });
  });

  describe('tokens', () => {
    const badTokens: [string, unknown][] = [
      ['a CR LF', 'abc\r\nx-injected: 1'],
      ['a NUL', 'abc\u0000def'],
      ['non-ASCII', 'tøken'],
      ['a space', 'abc def'],
      ['8193 characters', 'a'.repeat(8193)],
      ['a number', 12345],
      ['an object', { nested: true }],
    ];
    // A megabyte fits in a server-side session, not in a cookie.
    if (adapter.serverSide) badTokens.push(['a megabyte', 'a'.repeat(1024 * 1024)]);
    it.each(badTokens)(
      'refuses a token with %s locally: nothing sent, never called dead, session kept (500 sso_token_unusable)',
      async (_label, accessToken) => {
        const app = build();
        const cookie = await signIn(app, { sso: { accessToken } });
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        expect(body).toMatchObject({ code: 'sso_token_unusable', signedOut: false });
        expect(body.detail).toContain('no access token that can be sent');
        expect(portal.calls).toHaveLength(0);
        expect(await stillSignedIn(app, cookie, res)).toBe(true);
      },
    );

    it("sends nothing through a Pool made for another region's portal: session kept, the detail and the warning name the dispatcher", async () => {
      // A Pool sends every request to the origin it was made for: an eu-west-1 token would go to
      // us-east-1's portal, whose 401 would read as a dead token.
      const pool = new Pool('https://portal.sso.us-east-1.amazonaws.com');
      const tiedClient = createLogoutClient({ region: 'us-east-1', dispatcher: pool });
      clients.push(tiedClient);
      const app = adapter.build(tiedClient, {});
      const cookie = await signIn(app, { sso: { accessToken: portal.issueToken(), region: 'eu-west-1' } });
      let res: request.Response | undefined;
      const codes = await warningCodesDuring(async () => {
        res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
      });
      const body = JSON.parse(String(res?.text)) as Record<string, unknown>;
      expect(body).toMatchObject({ code: 'sso_token_unusable', signedOut: false });
      expect(body.detail).toContain('`dispatcher` is tied to another origin');
      expect(codes).toContain('SSO_SIGNOUT_TOKEN_UNUSABLE');
      expect(await stillSignedIn(app, cookie, res as request.Response)).toBe(true);
      await pool.close();
    });

    it('ends the session with an unusable token only when the app takes the token over', async () => {
      const handed: unknown[] = [];
      const app = build({
        signOut: { endSessionOnFailure: true, onUnrevokedToken: (token) => void handed.push(token) },
      });
      const cookie = await signIn(app, { sso: { accessToken: 'abc\r\ndef' } });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_token_unusable', signedOut: true });
      expect(handed).toEqual([{ accessToken: 'abc\r\ndef', region: undefined }]);
      expect(portal.calls).toHaveLength(0);
      expect(await stillSignedIn(app, cookie, res)).toBe(false);
    });

    it('never puts the token in events', async () => {
      const { app, cookie, token, events } = await signedIn();
      portal.enqueue('unauthorized');
      await request(app).post('/signout').set('Cookie', cookie).expect(401);
      expect(events.length).toBeGreaterThan(0);
      expect(JSON.stringify(events)).not.toContain(token);
    });
  });

  describe('session middlewares and custom sessions', () => {
    if (adapter.detectsSessions) {
      it('refuses, changing nothing, a session it cannot end without endSession', async () => {
        const events: SignOutEvent[] = [];
        const app = adapter.buildWithForeignSession(
          client(),
          { sso: { accessToken: 'aoa-x' } },
          { onEvent: (e) => events.push(e) },
        );
        const res = await request(app).post('/signout').set('Accept', JSON_ACCEPT).expect(500);
        expect(JSON.parse(res.text)).toMatchObject({ code: 'session_unsupported', signedOut: false });
        expect(portal.calls).toHaveLength(0);
        expect(events).toEqual([
          expect.objectContaining({ type: 'signout', code: 'session_unsupported', attempts: 0 }),
        ]);
      });
    }

    it('uses custom getToken and endSession', async () => {
      const token = portal.issueToken();
      const store = new Map([['u1', token]]);
      const app = adapter.buildBare(client(), {
        getToken: (native) => store.get(String(adapter.header(native, 'x-user'))),
        endSession: (native) => {
          store.delete(String(adapter.header(native, 'x-user')));
        },
        clearCookies: ['sid'],
      });
      const res = await request(app).post('/signout').set('x-user', 'u1').expect(303);
      expect(store.size).toBe(0);
      expect(portal.isActive(token)).toBe(false);
      expect(setCookies(res).get('sid')?.value).toBe('');
    });

    it('answers 500 session_error, changing nothing, when getToken throws', async () => {
      const app = build({
        signOut: {
          getToken: () => {
            throw new Error('token vault down');
          },
        },
      });
      const cookie = await signIn(app, { accessToken: portal.issueToken() });
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'session_error', signedOut: false });
      expect(portal.calls).toHaveLength(0);
      // Nothing cleared (a rolling session middleware may still refresh its cookie).
      expectNoCookieCleared(res);
      expect(await isSignedIn(app, cookie)).toBe(true);
    });

    it('answers within the deadline when a hook of the app’s never settles (or throws), warning which', async () => {
      const never = (): Promise<never> => new Promise<never>(() => undefined);
      const cases = [
        // No token read: nothing is called, nothing changes.
        { hook: 'getToken', signOut: { getToken: never }, status: 500, code: 'session_error' },
        // The session's end not reached: the session is kept.
        { hook: 'endSession', signOut: { endSession: never }, status: 500, code: 'session_error' },
        {
          hook: 'endSession (throws)',
          signOut: {
            endSession: () => {
              throw new Error('session store down');
            },
          },
          status: 500,
          code: 'session_error',
        },
        // The token not handed over: the session is kept.
        {
          hook: 'onUnrevokedToken',
          signOut: { endSessionOnFailure: true, onUnrevokedToken: never },
          status: 503,
          code: 'sso_unavailable',
        },
      ] as const;
      for (const { hook, signOut, status, code } of cases) {
        const app = build({ client: { timeoutMs: 300, maxAttempts: 1 }, signOut });
        const cookie = await signIn(app, { accessToken: portal.issueToken() });
        // Logout fails for the hand-over's case; it succeeds otherwise, so the session's end is tried.
        if (hook === 'onUnrevokedToken') portal.enqueue({ kind: 'status', status: 503 });
        const started = performance.now();
        let res: request.Response | undefined;
        const warned = await warningCodesDuring(async () => {
          res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
        });
        expect(res?.status, hook).toBe(status);
        expect(JSON.parse(res?.text ?? '{}'), hook).toMatchObject({ code, signedOut: false });
        expect(performance.now() - started, hook).toBeLessThan(2000);
        expect(warned, hook).toContain('SSO_SIGNOUT_HOOK_FAILED');
        expect(await isSignedIn(app, cookie), hook).toBe(true);
        portal.reset();
      }
    });

    it('answers as usual, and warns without the token, when a hook throws what cannot even be read', async () => {
      // An Error whose `name` getter throws, quoting the token; a revoked Proxy, which cannot even be
      // asked whether it is an Error. Telling either must not throw from the route.
      let token = '';
      const unreadables: Record<string, () => Error> = {
        'a name getter that throws': () => {
          const error = new Error('failed');
          Object.defineProperty(error, 'name', {
            get() {
              throw new Error(`no name: ${token}`);
            },
          });
          return error;
        },
        'a revoked Proxy': () => {
          const { proxy, revoke } = Proxy.revocable({}, {});
          revoke();
          return proxy as Error;
        },
      };
      const cases = [
        {
          hook: 'getToken',
          signOut: (e: () => Error) => ({ getToken: () => Promise.reject(e()) }),
          status: 500,
          kept: true,
        },
        {
          hook: 'endSession',
          signOut: (e: () => Error) => ({
            endSession: () => {
              throw e();
            },
          }),
          status: 500,
          kept: true,
        },
        {
          hook: 'onUnrevokedToken',
          signOut: (e: () => Error) => ({
            endSessionOnFailure: true,
            onUnrevokedToken: () => Promise.reject(e()),
          }),
          status: 503,
          kept: true,
        },
        {
          hook: 'onEvent',
          signOut: (e: () => Error) => ({
            onEvent: () => {
              throw e();
            },
          }),
          status: 200,
          kept: false,
        },
        {
          hook: 'onEvent',
          signOut: (e: () => Error) => ({ onEvent: () => Promise.reject(e()) }),
          status: 200,
          kept: false,
        },
        {
          hook: 'render',
          signOut: (e: () => Error) => ({
            render: () => {
              throw e();
            },
          }),
          status: 429,
          kept: true,
        },
      ] as const;
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        for (const [kind, unreadable] of Object.entries(unreadables)) {
          for (const { hook, signOut, status, kept } of cases) {
            const app = build({ client: { timeoutMs: 300, maxAttempts: 1 }, signOut: signOut(unreadable) });
            token = portal.issueToken();
            const cookie = await signIn(app, { accessToken: token });
            if (hook === 'onUnrevokedToken') portal.enqueue({ kind: 'status', status: 503 });
            // render is asked for an error's body.
            if (hook === 'render') portal.enqueue('throttle');
            let res: request.Response | undefined;
            const warned = await warningsDuring(async () => {
              res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
            });
            const what = `${hook}, ${kind}`;
            expect(res?.status, what).toBe(status);
            expect(JSON.parse(res?.text ?? '{}'), what).toMatchObject({ signedOut: !kept });
            const failed = warned.filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED').map((w) => w.message);
            expect(failed, what).toEqual([expect.stringContaining(`\`${hook}\` hook threw (`)]);
            expect(JSON.stringify([warned, res?.text, res?.headers]), what).not.toContain(token);
            // The browser's cookies after the answer; and a session kept in a store ends with it.
            expect(await isSignedIn(app, res === undefined ? cookie : applySetCookies(cookie, res)), what).toBe(kept);
            if (kept || adapter.serverSide) expect(await isSignedIn(app, cookie), what).toBe(kept);
            portal.reset();
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).toEqual([]);
    });

    if (adapter.detectsSessions) {
      it('answers truthfully when an endSession hook sets the session to null and never settles: the old cookie opens the session exactly when the answer says it was kept', async () => {
        const app = build({
          client: { timeoutMs: 300, maxAttempts: 1 },
          signOut: {
            endSession: (native) => {
              adapter.setSessionNull(native);
              return new Promise<never>(() => undefined);
            },
          },
        });
        const cookie = await signIn(app, { accessToken: portal.issueToken() });
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
        const { signedOut } = JSON.parse(res.text) as { signedOut: boolean };
        expect(signedOut).toBe(false);
        // Both the cookie the browser holds after the answer and the one it sent open the session.
        expect(await stillSignedIn(app, cookie, res)).toBe(true);
        expect(await isSignedIn(app, cookie)).toBe(true);
      });

      it('warns once when the sign-in is kept where the route does not look, and never for a session without one', async () => {
        const app = build();
        const token = portal.issueToken();
        // A fresh, anonymous session (a second click) holds nothing that looks like a sign-in, nor
        // does one holding flags and times whose names mention SSO.
        const flags = await signIn(app, {
          sso: null,
          extra: {
            ssoEnabled: false,
            lastSsoCheck: 0,
            prefs: { sso: { remember: true, lastAccessTokenAt: 0 } },
            // Words that only hold the letters, and a field about a token rather than the token.
            user: { associations: 'team-a', lessons: 'ten', title: 'professor' },
            tokenInfo: { accessTokenExpiresAt: '2030-01-01T00:00:00Z' },
          },
        });
        const quiet = await warningCodesDuring(async () => {
          await request(app).post('/signout').expect(303);
          await request(app).post('/signout').set('Cookie', flags).expect(303);
        });
        expect(quiet).not.toContain('SSO_SIGNOUT_SIGN_IN_NOT_READ');
        const cookie = await signIn(app, { sso: null, extra: { ssoToken: token } });
        const warned = await warningCodesDuring(async () => {
          await request(app).post('/signout').set('Cookie', cookie).expect(303);
        });
        expect(warned).toContain('SSO_SIGNOUT_SIGN_IN_NOT_READ');
        expect(portal.calls).toHaveLength(0);
      });

      it.each([
        ['passport.user.accessToken', (token: string) => ({ passport: { user: { id: 'ada', accessToken: token } } })],
        ['tokens.access_token', (token: string) => ({ tokens: { access_token: token, token_type: 'Bearer' } })],
        ['user.sso', (token: string) => ({ user: { name: 'ada', sso: { accessToken: token } } })],
        // A token used as a key: the path shows its place, not the key.
        ['cache.[…].ssoToken', (token: string) => ({ cache: { [token]: { ssoToken: token } } })],
        ['grants.[…].accessToken', (token: string) => ({ grants: { ['fe1d'.repeat(8)]: { accessToken: token } } })],
        ['auth.sso_access_token_v2', (token: string) => ({ auth: { sso_access_token_v2: token } })],
        ['accessTokens', (token: string) => ({ accessTokens: [token] })],
      ] as const)('warns when the sign-in is kept nested at %s', async (path, shape) => {
        const app = build();
        const token = portal.issueToken();
        const cookie = await signIn(app, { sso: null, extra: shape(token) });
        const warned = await warningsDuring(async () => {
          await request(app).post('/signout').set('Cookie', cookie).expect(303);
        });
        const notRead = warned.filter((w) => w.code === 'SSO_SIGNOUT_SIGN_IN_NOT_READ');
        expect(notRead).toHaveLength(1);
        expect(notRead[0]?.message).toContain(`holds \`${path}\``);
        expect(notRead[0]?.message).not.toContain(token);
        expect(portal.calls).toHaveLength(0);
      });

      it('warns when getToken finds nothing while the session holds a sign-in at sso', async () => {
        const app = build({ signOut: { getToken: () => undefined } });
        const token = portal.issueToken();
        const cookie = await signIn(app, { accessToken: token });
        const warned = await warningCodesDuring(async () => {
          await request(app).post('/signout').set('Cookie', cookie).expect(303);
        });
        expect(warned).toContain('SSO_SIGNOUT_SIGN_IN_NOT_READ');
        expect(portal.isActive(token)).toBe(true);
      });
    }

    if (adapter.detectsSessions) {
      it('answers 500 session_error, never "signed out", when an endSession hook leaves the sign-in in the session', async () => {
        const warned = await warningCodesDuring(async () => {
          const app = build({ signOut: { endSession: () => undefined } });
          const cookie = await signIn(app, { accessToken: portal.issueToken() });
          const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
          expect(JSON.parse(res.text)).toMatchObject({ code: 'session_error', signedOut: false });
          expect(await isSignedIn(app, cookie)).toBe(true);
        });
        expect(warned).toContain('SSO_SIGNOUT_SESSION_NOT_ENDED');
      });
    }

    if (adapter.detectsSessions) {
      describe('an endSession hook beside a getToken that reads the token elsewhere', () => {
        // The app's own place for the token (here by user, named in a header), read by its getToken.
        const vault = new Map<string, string>();
        const hooks = (endSession: (native: unknown, user: string) => void | Promise<void>): RouteOptions => ({
          getToken: (native) => {
            const found = vault.get(String(adapter.header(native, 'x-user')));
            if (found === 'unreadable') throw new Error('the session is gone');
            return found;
          },
          endSession: (native) => endSession(native, String(adapter.header(native, 'x-user'))),
        });

        it('answers 500 session_error, never "signed out", while getToken still finds the token', async () => {
          const token = portal.issueToken();
          vault.set('u-kept', token);
          const warned = await warningCodesDuring(async () => {
            // The hook ends `sso` only; the token stays where getToken reads it.
            const app = build({
              signOut: hooks((native) => {
                adapter.removeSignIn(native);
              }),
            });
            const cookie = await signIn(app, { accessToken: token });
            const res = await request(app)
              .post('/signout')
              .set('Cookie', cookie)
              .set('x-user', 'u-kept')
              .set('Accept', JSON_ACCEPT)
              .expect(500);
            expect(JSON.parse(res.text)).toMatchObject({ code: 'session_error', signedOut: false });
          });
          expect(warned).toContain('SSO_SIGNOUT_SESSION_NOT_ENDED');
          expect(vault.get('u-kept')).toBe(token);
        });

        it('signs out once the hook has ended the session, whatever getToken still reads', async () => {
          // The vault keeps the token, as passport's `req.user` keeps its copy for the rest of the
          // request: a session its middleware has ended took the sign-in with it.
          for (const [user, after] of [
            ['u-removed', undefined],
            ['u-unreadable', 'unreadable'],
            ['u-copied', 'kept'],
          ] as const) {
            vault.set(user, portal.issueToken());
            const app = build({
              signOut: hooks(async (native, named) => {
                await adapter.endSessionIn(native);
                if (after === undefined) vault.delete(named);
                else if (after === 'unreadable') vault.set(named, after);
              }),
            });
            const cookie = await signIn(app, { accessToken: 'aoa-unused' });
            const res = await request(app)
              .post('/signout')
              .set('Cookie', cookie)
              .set('x-user', user)
              .set('Accept', JSON_ACCEPT);
            expect(res.status, user).toBe(200);
            expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
            expect(await isSignedIn(app, applySetCookies(cookie, res))).toBe(false);
          }
        });
      });
    }

    if (adapter.detectsSessions) {
      it('answers 500 session_error, never "signed out", when an endSession hook takes the sign-in out but keeps the session', async () => {
        // The app's own mark of a signed-in user stays in the session, and so does the session's cookie.
        const app = build({
          signOut: {
            endSession: (native) => {
              adapter.removeSignIn(native);
            },
          },
        });
        const token = portal.issueToken();
        const cookie = await signIn(app, { accessToken: token });
        let res: request.Response | undefined;
        const warned = await warningCodesDuring(async () => {
          res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
        });
        expect(JSON.parse(res!.text)).toMatchObject({ code: 'session_error', signedOut: false });
        expect(portal.isActive(token)).toBe(false);
        expect(warned).toContain('SSO_SIGNOUT_SESSION_NOT_ENDED');
        expectNoCookieCleared(res!);
      });

      it('answers 500 session_error when an endSession hook keeps the session under its id or cookie (saved and reloaded, replaced, regenerated in place)', async () => {
        const app = build({ signOut: { endSession: (native) => adapter.keepSessionAnew(native) } });
        const token = portal.issueToken();
        const cookie = await signIn(app, { accessToken: token, extra: { user: 'ada' } });
        let res: request.Response | undefined;
        const warned = await warningCodesDuring(async () => {
          res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
        });
        expect(res!.status).toBe(500);
        expect(JSON.parse(res!.text)).toMatchObject({ code: 'session_error', signedOut: false });
        expect(warned).toContain('SSO_SIGNOUT_SESSION_NOT_ENDED');
      });

      it.each([
        ['an empty object', () => ({})],
        ['false', () => false],
        ['0', () => 0],
        ['a Map', () => new Map()],
        ['an object with no prototype', () => Object.create(null) as object],
        [
          'a revoked Proxy',
          () => {
            const { proxy, revoke } = Proxy.revocable({}, {});
            revoke();
            return proxy;
          },
        ],
        [
          'a Proxy whose every read throws',
          () =>
            new Proxy(
              {},
              {
                get() {
                  throw new Error('unreadable');
                },
                getPrototypeOf() {
                  throw new Error('unreadable');
                },
              },
            ),
        ],
      ])(
        'answers truthfully when an endSession hook puts %s where the session was: signed out only if the old cookie opens nothing',
        async (_label, value) => {
          const app = build({
            client: { timeoutMs: 1000 },
            signOut: {
              endSession: (native) => {
                (native as { session: unknown }).session = value();
              },
            },
          });
          const cookie = await signIn(app, { accessToken: portal.issueToken(), extra: { user: 'ada' } });
          const res = await request(app)
            .post('/signout')
            .set('Cookie', cookie)
            .set('Accept', JSON_ACCEPT)
            .timeout(5000);
          // The route's own answer, never the framework's.
          expect(res.status === 200 || res.status === 500, res.text).toBe(true);
          const { signedOut } = JSON.parse(res.text) as { signedOut: boolean };
          expect(typeof signedOut, res.text).toBe('boolean');
          // The browser's old cookie, replayed as it was (whatever the answer set).
          expect(await isSignedIn(app, cookie)).toBe(!signedOut);
        },
      );

      it('answers truthfully when an endSession hook regenerates the session and its store fails to destroy the old one', async () => {
        const hook = { regenerates: true };
        const app = build({
          failingDestroy: true,
          signOut: {
            endSession: async (native) => {
              // The store's failure swallowed, as an app that only wants a fresh session may.
              hook.regenerates = await adapter.regenerateIn(native, false).catch(() => true);
            },
          },
        });
        const cookie = await signIn(app, { accessToken: portal.issueToken(), extra: { user: 'ada' } });
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
        if (!hook.regenerates) return;
        const { signedOut } = JSON.parse(res.text) as { signedOut: boolean };
        // The browser's old cookie, replayed as it was.
        expect(await isSignedIn(app, cookie)).toBe(!signedOut);
      });

      it('answers by what a regenerated session holds: signed out when it is empty, 500 when the app’s user came along', async () => {
        for (const carryUser of [false, true]) {
          const hook = { regenerates: true };
          const app = build({
            signOut: {
              endSession: async (native) => {
                hook.regenerates = await adapter.regenerateIn(native, carryUser);
              },
            },
          });
          const cookie = await signIn(app, { accessToken: portal.issueToken(), extra: { user: 'ada' } });
          let res: request.Response | undefined;
          const warned = await warningCodesDuring(async () => {
            res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
          });
          if (!hook.regenerates) continue;
          // koa-session's regenerate carries the whole session over: the user with it.
          const carried = carryUser || adapter.name.includes('koa-session');
          expect(res!.status, `carry user: ${String(carryUser)}`).toBe(carried ? 500 : 200);
          expect(JSON.parse(res!.text)).toMatchObject({ signedOut: !carried });
          if (carried) expect(warned).toContain('SSO_SIGNOUT_SESSION_NOT_ENDED');
          else expect(await isSignedIn(app, cookie)).toBe(false);
        }
      });

      it('signs out through an endSession hook that sets the session to null: the old cookie opens nothing', async () => {
        const app = build({
          signOut: {
            endSession: (native) => {
              adapter.setSessionNull(native);
            },
          },
        });
        const cookie = await signIn(app, { accessToken: portal.issueToken() });
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(200);
        expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
        expect(await isSignedIn(app, applySetCookies(cookie, res))).toBe(false);
        // A session kept in a store is gone from it: the cookie the browser had opens nothing.
        if (adapter.serverSide) expect(await isSignedIn(app, cookie)).toBe(false);
      });

      it('signs out through an endSession hook that ends the session, then throws: the answer follows the session', async () => {
        const app = build({
          signOut: {
            endSession: async (native) => {
              await adapter.endSessionIn(native);
              throw new Error('the audit log is down');
            },
          },
        });
        const cookie = await signIn(app, { accessToken: portal.issueToken() });
        let res: request.Response | undefined;
        const warned = await warningCodesDuring(async () => {
          res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT);
        });
        expect(res!.status).toBe(200);
        expect(JSON.parse(res!.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
        expect(warned).toContain('SSO_SIGNOUT_HOOK_FAILED');
        expect(await isSignedIn(app, applySetCookies(cookie, res!))).toBe(false);
      });

      it('signs out through an endSession hook that ends the session', async () => {
        const app = build({ signOut: { endSession: (native) => adapter.endSessionIn(native) } });
        const cookie = await signIn(app, { accessToken: portal.issueToken() });
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(200);
        expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
        expect(await isSignedIn(app, applySetCookies(cookie, res))).toBe(false);
      });
    }

    if (adapter.serverSide) {
      it('answers 500 session_error, signedOut false, when the store cannot destroy the session', async () => {
        const app = build({ failingDestroy: true });
        const cookie = await signIn(app, { accessToken: portal.issueToken() });
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        expect(body).toMatchObject({ code: 'session_error', signedOut: false });
        expect(body.detail).toContain('SSO session was ended');
        expect(await isSignedIn(app, cookie)).toBe(true);
      });

      it('says what became of the SSO session when the store cannot destroy the session', async () => {
        const handed: string[] = [];
        const app = build({
          failingDestroy: true,
          signOut: { endSessionOnFailure: true, onUnrevokedToken: (t) => void handed.push(t.accessToken) },
        });
        const cases = [
          { reply: 'unauthorized', says: 'The SSO session had already ended, but' },
          { reply: 'throttle', says: 'handed over to be revoked later' },
        ] as const;
        for (const { reply, says } of cases) {
          const token = portal.issueToken();
          const cookie = await signIn(app, { accessToken: token });
          portal.enqueue(reply, reply, reply);
          const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
          const body = JSON.parse(res.text) as Record<string, unknown>;
          expect(body).toMatchObject({ code: 'session_error', signedOut: false });
          expect(body.detail).toContain(says);
          expect(body.detail).toContain('this app’s session could not be ended');
          expect(await isSignedIn(app, cookie)).toBe(true);
          portal.reset();
        }
        expect(handed).toHaveLength(1);
      });

      it('answers 500 session_error within the deadline, keeping the session, when the store never answers its destroy', async () => {
        const app = build({ failingDestroy: 'hangs', client: { timeoutMs: 300 } });
        const token = portal.issueToken();
        const cookie = await signIn(app, { accessToken: token });
        const started = performance.now();
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', JSON_ACCEPT).expect(500);
        const took = performance.now() - started;
        const body = JSON.parse(res.text) as Record<string, unknown>;
        expect(body).toMatchObject({ code: 'session_error', signedOut: false });
        expect(body.detail).toContain('did not end within 300 ms');
        expect(took).toBeGreaterThanOrEqual(290);
        // Well before the store thaws (3 s): nothing after the bound waited on it.
        expect(took).toBeLessThan(2500);
        expect(portal.isActive(token)).toBe(false);
        expectNoCookieCleared(res);
        expect(await isSignedIn(app, cookie)).toBe(true);
      });
    }
  });
});
