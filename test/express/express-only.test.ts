// Behaviour that exists only because of Express and its session middlewares (documented exceptions).

import cookieSession from 'cookie-session';
import express from 'express';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import session from 'express-session';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createLogoutClient, guardSessionStore, ssoSignOut, type LogoutClient, type SignOutEvent } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { ADAPTERS } from '../helpers/adapters.js';
import { cookieHeaderFrom, setCookies } from '../helpers/cookies.js';
import { signedOutToDefault } from '../helpers/unreadable-destination.js';
import { warningCodesDuring } from '../helpers/warnings.js';

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

describe('Express only', () => {
  it.each([
    ['ids with a dot', () => `u1.${randomUUID()}`],
    ['short ids', () => randomUUID().slice(0, 8)],
  ])('refuses a cookie planted before the user’s own, whatever its genid makes (%s)', async (_label, genid) => {
    const app = express();
    app.use(session({ secret: 's', name: 'sid', genid, resave: false, saveUninitialized: false }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: req.query.token } });
      res.end();
    });
    app.get('/test/me', (req, res) => {
      res.json({ signedIn: (req.session as { sso?: unknown }).sso !== undefined });
    });
    app.all('/signout', ssoSignOut({ client }));
    const token = portal.issueToken();
    const cookie = cookieHeaderFrom(await request(app).post(`/test/signin?token=${token}`).expect(200));
    const res = await request(app)
      .post('/signout')
      .set('Cookie', `sid=s%3Ajunk; ${cookie}`)
      .set('Accept', 'application/json')
      .expect(400);
    expect(res.body).toMatchObject({ code: 'session_ambiguous', signedOut: false });
    expect(portal.isActive(token)).toBe(true);
    expect((await request(app).get('/test/me').set('Cookie', cookie)).body).toEqual({ signedIn: true });
  });

  it('does nothing, and says so, when a handler before it has already answered', async () => {
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: req.query.token } });
      res.end();
    });
    app.get('/test/me', (req, res) => {
      res.json({ signedIn: (req.session as { sso?: unknown }).sso !== undefined });
    });
    const events: SignOutEvent[] = [];
    const errors: unknown[] = [];
    // The app's own handler answers, then passes the request on.
    app.post('/signout', (_req, res, next) => {
      res.redirect(303, '/');
      next();
    });
    app.all('/signout', ssoSignOut({ client, onEvent: (event) => void events.push(event) }));
    app.use((error: unknown, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
      errors.push(error);
      next(error);
    });
    const token = portal.issueToken();
    const cookie = cookieHeaderFrom(await request(app).post(`/test/signin?token=${token}`).expect(200));
    const warned = await warningCodesDuring(async () => {
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(303);
      expect(res.headers.location).toBe('/');
      await new Promise((resolve) => setTimeout(resolve, 100));
    });
    expect(warned).toContain('SSO_SIGNOUT_ALREADY_ANSWERED');
    expect({ events, errors, calls: portal.calls.length, active: portal.isActive(token) }).toEqual({
      events: [],
      errors: [],
      calls: 0,
      active: true,
    });
    expect((await request(app).get('/test/me').set('Cookie', cookie)).body).toEqual({ signedIn: true });
  });

  it('passes on, changing nothing, a response whose headers the app has flushed before it', async () => {
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: req.query.token } });
      res.end();
    });
    app.post('/signout', (_req, res, next) => {
      res.status(202).setHeader('content-type', 'text/plain');
      res.flushHeaders();
      next();
    });
    app.all('/signout', ssoSignOut({ client }));
    // The app's own handler after it ends what it began.
    app.post('/signout', (_req, res) => {
      res.end('the app ends it');
    });
    const token = portal.issueToken();
    const cookie = cookieHeaderFrom(await request(app).post(`/test/signin?token=${token}`).expect(200));
    const res = await request(app).post('/signout').set('Cookie', cookie).expect(202);
    expect(res.text).toBe('the app ends it');
    expect(portal.isActive(token)).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });

  describe('an endSession hook under express-session, checked against the store', () => {
    /** An app whose endSession hook is `end`, with a store whose destroy fails when `failing`. */
    const appWith = (end: (req: express.Request) => void, failing: boolean) => {
      const store = new session.MemoryStore();
      if (failing) {
        store.destroy = (_sid, callback) => {
          callback?.(new Error('store down'));
        };
      }
      const app = express();
      app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
      app.post('/test/signin', (req, res) => {
        Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
        res.end();
      });
      app.get('/test/me', (req, res) => {
        res.json({ signedIn: (req.session as { sso?: unknown }).sso !== undefined });
      });
      app.all('/signout', ssoSignOut({ client, endSession: end }));
      return app;
    };
    const destroyUnwaited = (req: express.Request) => {
      req.session.destroy(() => undefined);
    };
    const setToNull = (req: express.Request) => {
      (req as { session: unknown }).session = null;
    };

    for (const [name, end] of [
      ['destroys without waiting', destroyUnwaited],
      [
        'sets the session to null (which express-session destroys only with `unset: destroy`, after the answer)',
        setToNull,
      ],
    ] as const) {
      it(`answers 500 session_error, never "signed out", when the hook ${name}, and the store fails`, async () => {
        const app = appWith(end, true);
        const cookie = cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
        const warned = await warningCodesDuring(async () => {
          const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
          expect(res.status).toBe(500);
          expect(JSON.parse(res.text)).toMatchObject({ code: 'session_error', signedOut: false });
        });
        expect(warned).toContain('SSO_SIGNOUT_SESSION_NOT_ENDED');
        // The old cookie still opens the session: the answer was the truth.
        expect((await request(app).get('/test/me').set('Cookie', cookie).expect(200)).body).toEqual({ signedIn: true });
      });
    }

    it.each([
      ['keep', undefined],
      ['destroy', 'destroy'],
    ] as const)(
      'signs out when the hook sets the session to null (`unset: %s`), destroying the stored session before the answer, whatever getToken still reads',
      async (_label, unset) => {
        const store = new session.MemoryStore();
        const app = express();
        app.use(session({ secret: 's', resave: false, saveUninitialized: false, store, ...(unset ? { unset } : {}) }));
        let copy: string | undefined;
        app.post('/test/signin', (req, res) => {
          Object.assign(req.session, { auth: { token: portal.issueToken() } });
          res.end();
        });
        app.all(
          '/signout',
          ssoSignOut({
            client,
            // A copy the request keeps, as passport's `req.user` does.
            getToken: (req) => (copy ??= (req.session as { auth?: { token: string } } | null)?.auth?.token),
            endSession: setToNull,
          }),
        );
        const cookie = cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
        const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
        expect(res.status).toBe(200);
        expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
        const held = await new Promise<number>((resolve) => {
          store.length((_error, length) => {
            resolve(length ?? 0);
          });
        });
        expect(held).toBe(0);
      },
    );

    it('signs out when the hook destroys without waiting and the store has deleted it', async () => {
      const app = appWith(destroyUnwaited, false);
      const cookie = cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
      const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
      expect((await request(app).get('/test/me').set('Cookie', cookie).expect(200)).body).toEqual({ signedIn: false });
    });
  });

  it('reads a form body that body-parser (Express 4) left unread as {}', async () => {
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    // body-parser marks any body it did not parse as {}, without reading the stream.
    app.use((req, _res, next) => {
      (req as unknown as { body: object }).body = {};
      next();
    });
    app.all('/signout', ssoSignOut({ client }));
    const res = await request(app).post('/signout').type('form').send({ return_to: '/kept' }).expect(303);
    expect(res.headers.location).toBe('/kept');
  });

  it('signs out to the default destination when the app’s query parser throws, the session ended and the answer truthful', async () => {
    const app = express();
    app.set('query parser', (query: string) => {
      if (query.includes('[')) throw new URIError('the app’s query parser refuses this query');
      return Object.fromEntries(new URLSearchParams(query));
    });
    const store = new session.MemoryStore();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
      res.end();
    });
    app.all('/signout', ssoSignOut({ client, destination: '/bye' }));
    const cookie = cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
    const res = await request(app).post('/signout?return_to[=/x').set('Cookie', cookie).expect(303);
    expect(res.headers.location).toBe('/bye');
    expect(portal.calls).toHaveLength(1);
    expect(
      await new Promise((resolve) => {
        store.length((_error, n) => {
          resolve(n);
        });
      }),
    ).toBe(0);
  });

  it('signs out, tells onEvent and hands nothing on when the client leaves mid-body and the app’s trust proxy function then throws', async () => {
    const app = express();
    // Throws for a request whose socket has gone (no remote address).
    app.set('trust proxy', (ip: string) => ip.startsWith('10.'));
    const store = new session.MemoryStore();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
      res.end();
    });
    const events: SignOutEvent[] = [];
    app.all('/signout', ssoSignOut({ client, onEvent: (event) => events.push(event) }));
    const handedOn: unknown[] = [];
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      handedOn.push(error);
      res.status(500).end();
    });
    const cookie = cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
    portal.setDefault({ kind: 'ok', delayMs: 300 });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const req = http.request({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        method: 'POST',
        // No Origin (a client that is not a browser): the app's origin is first needed to vet return_to.
        path: '/signout?return_to=%2Fq',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': 18 },
      });
      req.on('error', () => undefined);
      req.write('retur');
      await portal.waitForCalls(1);
      req.destroy();
      await vi.waitFor(
        () => {
          expect(events.map((event) => event.type)).toContain('signout');
        },
        { timeout: 5000 },
      );
      expect(events.find((event) => event.type === 'signout')).toMatchObject({ signedOut: true, upstream: 'revoked' });
      expect(handedOn).toEqual([]);
      expect(
        await new Promise((resolve) => {
          store.length((_error, n) => {
            resolve(n);
          });
        }),
      ).toBe(0);
    } finally {
      server.close();
    }
  });

  it('signs out to the default destination when reading req.body throws (an app’s getter), the answer truthful', async () => {
    const app = express();
    const store = new session.MemoryStore();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
      res.end();
    });
    app.use('/signout', (req, _res, next) => {
      Object.defineProperty(req, 'body', {
        get() {
          throw new Error('the app’s body getter');
        },
      });
      next();
    });
    const events: SignOutEvent[] = [];
    app.all('/signout', ssoSignOut({ client, destination: '/bye', onEvent: (event) => events.push(event) }));
    const cookie = cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
    const res = await signedOutToDefault(app, cookie, events);
    expect(setCookies(res).get('connect.sid')?.value).toBe('');
  });

  describe("a stray `req.sessionOptions` (cookie-session's mark) set by another middleware", () => {
    function app(stray: unknown, store = new session.MemoryStore()) {
      const a = express();
      a.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
      a.use((req, _res, next) => {
        (req as unknown as { sessionOptions: unknown }).sessionOptions = stray;
        next();
      });
      a.post('/test/signin', (req, res) => {
        Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
        res.end();
      });
      a.all('/signout', ssoSignOut({ client }));
      return a;
    }

    it.each([{}, null])('does not hide express-session: %j', async (stray) => {
      const store = new session.MemoryStore();
      const a = app(stray, store);
      const signIn = await request(a).post('/test/signin').expect(200);
      const cookie = cookieHeaderFrom(signIn);
      const stored = () =>
        new Promise<number>((resolve) => {
          store.length((_error, n) => {
            resolve(n ?? 0);
          });
        });
      expect(await stored()).toBe(1);
      const res = await request(a).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(200);
      expect(JSON.parse(res.text)).toMatchObject({ signedOut: true, upstream: 'revoked' });
      // Signed out means gone from the store, not only forgotten by cookie-session's rules.
      expect(await stored()).toBe(0);
    });
  });

  describe('framing its answers, whatever other middleware did to the response', () => {
    // A client of its own: the throttle gate these tests open is not the other tests'. One attempt:
    // these tests are about framing, and a retry after a random backoff could land on the deadline
    // (a 504 instead of the 429 they frame).
    let own: LogoutClient;
    beforeAll(() => {
      own = createLogoutClient({ endpoint: portal.url, maxAttempts: 1 });
    });
    afterAll(async () => {
      await own.close();
    });

    function app(before?: express.RequestHandler, render?: (result: { format: string }) => string | undefined) {
      const a = express();
      a.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      a.post('/test/signin', (req, res) => {
        Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
        res.end();
      });
      if (before !== undefined) a.use('/signout', before);
      a.all('/signout', ssoSignOut({ client: own, render }));
      return a;
    }
    const signedIn = async (a: express.Express) => cookieHeaderFrom(await request(a).post('/test/signin').expect(200));

    it('by their length in bytes (pages and problem documents with non-ASCII text), over a Content-Length set before the route', async () => {
      const a = app(
        (_req, res, next) => {
          res.setHeader('content-length', '999');
          next();
        },
        // A page of the app's own, in a language with more bytes than characters.
        ({ format }) => (format === 'html' ? '<p>Déconnexion différée… réessayez’</p>' : undefined),
      );
      portal.setDefault({ kind: 'throttle', retryAfter: 1 });
      for (const accept of ['text/html', 'application/json']) {
        const res = await request(a)
          .post('/signout')
          .set('Cookie', await signedIn(a))
          .set('Accept', accept)
          .expect(429);
        expect(res.headers['transfer-encoding']).toBeUndefined();
        expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
        expect(res.text.length).toBeGreaterThan(0);
      }
      expect(
        (
          await request(a)
            .post('/signout')
            .set('Cookie', await signedIn(a))
            .expect(429)
        ).text,
      ).toContain('Déconnexion');
      const plain = await request(a)
        .post('/signout')
        .set('Cookie', await signedIn(a));
      expect(plain.headers['content-length']).toBe(String(Buffer.byteLength(plain.text)));
      // HEAD is refused (405) with the length its page would have, and no body.
      const head = await request(a).head('/signout').expect(405);
      expect(head.headers['transfer-encoding']).toBeUndefined();
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      expect(head.text).toBeFalsy();
    });

    it('chunked, when the app asked for Transfer-Encoding: chunked, and readable by fetch', async () => {
      const a = app((_req, res, next) => {
        res.setHeader('transfer-encoding', 'chunked');
        next();
      });
      const server = a.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as AddressInfo;
        const res = await fetch(`http://127.0.0.1:${String(port)}/signout`);
        expect(res.status).toBe(405);
        expect(res.headers.get('content-length')).toBeNull();
        expect(await res.text()).toMatch(/Sign out/);
      } finally {
        server.close();
      }
    });

    it('by what is finally sent when a wrapper of res.end changes the body, and the connection stays usable', async () => {
      const a = app((_req, res, next) => {
        const end = res.end.bind(res) as (...args: unknown[]) => unknown;
        res.end = ((chunk: unknown, ...rest: unknown[]) =>
          end(typeof chunk === 'string' ? `${chunk}<!--footer-->` : chunk, ...rest)) as typeof res.end;
        next();
      });
      const server = a.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const { port } = server.address() as AddressInfo;
        // Two answers on one kept-alive connection: the second is read only if the first was framed right.
        for (let i = 0; i < 2; i++) {
          const { status, body, length } = await new Promise<{
            status: number | undefined;
            body: string;
            length: string | undefined;
          }>((resolve, reject) => {
            http
              .get(`http://127.0.0.1:${String(port)}/signout`, { agent }, (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (chunk: string) => (text += chunk));
                res.on('end', () => {
                  resolve({ status: res.statusCode, body: text, length: res.headers['content-length'] });
                });
              })
              .on('error', reject);
          });
          expect(status).toBe(405);
          expect(body.endsWith('<!--footer-->')).toBe(true);
          expect(Number(length)).toBe(Buffer.byteLength(body));
        }
      } finally {
        agent.destroy();
        server.close();
      }
    });
  });

  it('finds the express-session cookie by the session id it carries, whatever its name', async () => {
    const adapter = ADAPTERS.find((a) => a.name === 'Express 5 + express-session');
    if (adapter === undefined) throw new Error('no express-session adapter');
    const app = adapter.build(client);
    const signin = await request(app).post('/test/signin').send({ accessToken: portal.issueToken() }).expect(200);
    const cookie = cookieHeaderFrom(signin);
    expect(cookie.startsWith('portal.sid=')).toBe(true);
    const res = await request(app).post('/signout').set('Cookie', `other=s%3Anope.x; ${cookie}`).expect(303);
    expect(setCookies(res).get('portal.sid')?.value).toBe('');
    expect(setCookies(res).has('connect.sid')).toBe(false);
    expect(setCookies(res).has('other')).toBe(false);
  });

  describe('which cookie express-session set, without sessionCookieName', () => {
    let n = 0;
    // Session ids in the full base64 alphabet: `+`, `/` and `=` are percent-encoded in the cookie.
    const base64Ids = () => `${Buffer.from(`id-${String(n++)}-\u00ff\u00fe>?`).toString('base64')}+/=`;

    function app(genid?: () => string, signOut: { sessionCookieName?: string } = {}) {
      const a = express();
      a.use(
        session({
          name: 'portal.sid',
          secret: 'test secret',
          resave: false,
          saveUninitialized: false,
          ...(genid === undefined ? {} : { genid }),
        }),
      );
      a.post('/in', (req, res) => {
        (req.session as unknown as Record<string, unknown>).sso = { accessToken: portal.issueToken() };
        res.send('ok');
      });
      a.all('/signout', ssoSignOut({ client, ...signOut }));
      return a;
    }

    it('clears the right cookie for 50 ids with +, / and = in them', async () => {
      const a = app(base64Ids);
      for (let i = 0; i < 50; i++) {
        const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
        expect(cookie).toMatch(/%2B|%2F|%3D/);
        const res = await request(a).post('/signout').set('Cookie', `theme=dark; ${cookie}`).expect(303);
        expect(setCookies(res).get('portal.sid')?.value, cookie).toBe('');
        expect([...setCookies(res).keys()]).toEqual(['portal.sid']);
      }
    });

    it('clears the cookie that carries the session too when sessionCookieName names another, and warns', async () => {
      const warned = await warningCodesDuring(async () => {
        const a = express();
        a.use(session({ name: 'portal.sid', secret: 'test secret', resave: false, saveUninitialized: false }));
        a.post('/in', (req, res) => {
          (req.session as unknown as Record<string, unknown>).sso = { accessToken: portal.issueToken() };
          res.send('ok');
        });
        a.all('/signout', ssoSignOut({ client, sessionCookieName: 'connect.sid' }));
        const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
        const res = await request(a).post('/signout').set('Cookie', cookie).expect(303);
        expect(setCookies(res).get('portal.sid')?.value).toBe('');
        expect(setCookies(res).get('connect.sid')?.value).toBe('');
      });
      expect(warned).toContain('SSO_SIGNOUT_COOKIE_NAME_MISMATCH');
    });

    it('clears no cookie on a guess: a stale session cookie the store no longer knows is cleared by its configured name', async () => {
      const a = app();
      const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
      // Another instance with its own (empty) store: the cookie is stale there, and looks the same
      // as an app's own cookie signed by cookie-parser. Not taken for the session's: the default name is cleared.
      const res = await request(app()).post('/signout').set('Cookie', cookie).expect(303);
      expect([...setCookies(res).keys()]).toEqual(['connect.sid']);
      const named = await request(app(undefined, { sessionCookieName: 'portal.sid' }))
        .post('/signout')
        .set('Cookie', cookie)
        .expect(303);
      expect([...setCookies(named).keys()]).toEqual(['portal.sid']);
    });

    it("refuses a planted copy of a custom-named session cookie, beside an app's own signed cookie", async () => {
      const a = app();
      const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
      const signedPrefs = `prefs=${encodeURIComponent('s:dark.' + 'A'.repeat(43))}`;
      // The planted value fails to unsign: express-session starts a fresh session, so no cookie
      // carries its id, and two names are signed its way. The repeated one is the session's.
      const res = await request(a)
        .post('/signout')
        .set('Cookie', `portal.sid=planted; ${cookie}; ${signedPrefs}`)
        .set('Accept', 'application/json')
        .expect(400);
      expect(res.body).toMatchObject({ code: 'session_ambiguous', signedOut: false });
      expect(res.body.detail).toContain('more than one cookie named portal.sid');
    });

    it("leaves an app's own signed cookie alone on a sign-out with no session cookie", async () => {
      const signedPrefs = `prefs=${encodeURIComponent('s:dark.' + 'A'.repeat(43))}`;
      const res = await request(app()).post('/signout').set('Cookie', signedPrefs).expect(303);
      expect(setCookies(res).has('prefs')).toBe(false);
    });

    it('ignores a cookie whose name no server could set, and still answers the row cleanly', async () => {
      const a = app();
      const forged = `a b=s%3Aabc.${'A'.repeat(43)}`;
      const anonymous = await request(a).post('/signout').set('Cookie', forged).expect(303);
      expect(anonymous.headers['cache-control']).toBe('no-store');
      const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
      const res = await request(a)
        .post('/signout')
        .set('Cookie', `${forged}; ${cookie}`)
        .set('Accept', 'application/json')
        .expect(200);
      expect(res.body).toMatchObject({ signedOut: true, upstream: 'revoked' });
      expect([...setCookies(res).keys()]).toEqual(['portal.sid']);
    });

    it('tells the session cookie from another signed cookie by the session id', async () => {
      const a = app();
      const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
      const signedOther = `prefs=${encodeURIComponent('s:dark.' + 'A'.repeat(43))}`;
      const res = await request(a).post('/signout').set('Cookie', `${signedOther}; ${cookie}`).expect(303);
      expect([...setCookies(res).keys()]).toEqual(['portal.sid']);
    });
  });
});

describe('guardSessionStore over a store whose delete never answers', () => {
  it('answers signed out once the marker is written: the session is over behind it', async () => {
    // A store whose destroy never calls back (a Redis that stalls on DEL, say), behind the guard.
    class StalledDelete extends session.MemoryStore {
      override destroy(): void {
        // never answers
      }
    }
    const a = express();
    a.use(
      session({
        secret: 'test secret',
        resave: false,
        saveUninitialized: false,
        store: guardSessionStore(new StalledDelete()),
      }),
    );
    a.post('/in', (req, res) => {
      (req.session as unknown as Record<string, unknown>).sso = { accessToken: portal.issueToken() };
      res.send('ok');
    });
    a.get('/me', (req, res) => {
      res.json({ signedIn: (req.session as unknown as Record<string, unknown>).sso !== undefined });
    });
    a.all('/signout', ssoSignOut({ client }));
    const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
    const started = performance.now();
    const res = await request(a).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(200);
    // Well within the route's own bound (3 s), past which it would answer 500 "not signed out".
    expect(performance.now() - started).toBeLessThan(1500);
    expect(res.body).toMatchObject({ signedOut: true, upstream: 'revoked' });
    // The old cookie, replayed, opens nothing.
    expect((await request(a).get('/me').set('Cookie', cookie).expect(200)).body).toEqual({ signedIn: false });
  });
});

describe('cookie-session: a refusal with a session cookie planted first', () => {
  /** cookie-session signing with `keys`, extending every session as its README shows, and the route. */
  function appWith(keys: string[]) {
    const app = express();
    app.use(cookieSession({ name: 'portal', keys }));
    // cookie-session's README: "extending the session expiration" by writing to it on every request.
    const sessionOf = (req: unknown) => (req as { session?: Record<string, unknown> | null }).session;
    app.use((req, _res, next) => {
      const s = sessionOf(req);
      if (s !== null && s !== undefined) s.nowInMinutes = Math.floor(Date.now() / 60e3);
      next();
    });
    app.get('/in', (req, res) => {
      (sessionOf(req) as Record<string, unknown>).sso = { accessToken: portal.issueToken() };
      res.end('ok');
    });
    // A client of its own: no other test's throttle window is open on it.
    const own = createLogoutClient({ endpoint: portal.url });
    onTestFinished(() => own.close());
    app.all('/signout', ssoSignOut({ client: own }));
    return app;
  }

  it.each([
    ['a value that does not match its signature', false],
    ['a session signed with the key before the rotation', true],
  ])('%s: no session cookie is written or cleared, and the user still signs out', async (_label, rotated) => {
    const app = appWith(['new key', 'old key']);
    const cookie = cookieHeaderFrom(await request(app).get('/in').expect(200));
    const first = rotated
      ? cookieHeaderFrom(
          await request(appWith(['old key']))
            .get('/in')
            .expect(200),
        )
      : 'portal=e30=';
    const res = await request(app).post('/signout').set('Cookie', `${first}; ${cookie}`).expect(400);
    expect([...setCookies(res).keys()].filter((n) => n === 'portal' || n === 'portal.sig')).toEqual([]);
    await request(app).post('/signout').set('Cookie', cookie).expect(303);
  });
});

describe('express-session: after a refusal, the session and its id stay the app’s', () => {
  it('an error handler that regenerates the session on a refusal ends the old one, with its token', async () => {
    const store = new session.MemoryStore();
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, rolling: true, store }));
    app.get('/in', (req, res) => {
      (req.session as unknown as Record<string, unknown>).sso = { accessToken: portal.issueToken() };
      res.end('ok');
    });
    const own = createLogoutClient({ endpoint: portal.url });
    onTestFinished(() => own.close());
    app.all('/signout', ssoSignOut({ client: own, delegateErrors: true }));
    const regenerated: (string | undefined)[] = [];
    app.use((error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const before = req.sessionID;
      req.session.regenerate(() => {
        regenerated.push(before);
        res.status((error as { status: number }).status).end();
      });
    });
    const cookie = cookieHeaderFrom(await request(app).get('/in').expect(200));
    const held = () =>
      new Promise<number>((resolve) => {
        store.length((_e, n) => {
          resolve(n ?? 0);
        });
      });
    expect(await held()).toBe(1);
    await request(app).post('/signout').set('Cookie', cookie).set('Origin', 'https://evil.example').expect(403);
    expect(regenerated).toHaveLength(1);
    expect(regenerated[0]).toMatch(/.+/);
    // The old session, with its token, is gone from the store.
    const all = await new Promise<Record<string, unknown>>((resolve) => {
      store.all((_e, o) => {
        resolve(o ?? {});
      });
    });
    expect(Object.keys(all)).not.toContain(regenerated[0]);
  });
});
