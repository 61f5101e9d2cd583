// Behaviour that exists only because of Express and its session middlewares (documented exceptions).

import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, ssoSignOut, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { ADAPTERS } from '../helpers/adapters.js';
import { cookieHeaderFrom, setCookies } from '../helpers/cookies.js';
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

  it('frames every answer by its length in bytes, its head written once: pages, problem documents, a HEAD', async () => {
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    // A head the app set before the route is replaced by the answer's own length.
    app.use('/signout', (_req, res, next) => {
      res.setHeader('content-length', '999');
      next();
    });
    // A client of its own: the throttle gate this test opens is not the other tests'.
    const own = createLogoutClient({ endpoint: portal.url });
    app.all('/signout', ssoSignOut({ client: own }));
    app.post('/test/signin', (req, res) => {
      Object.assign(req.session, { sso: { accessToken: portal.issueToken() } });
      res.end();
    });
    const signedIn = async () => cookieHeaderFrom(await request(app).post('/test/signin').expect(200));
    portal.setDefault({ kind: 'throttle', retryAfter: 1 });
    // Pages and problem documents carry non-ASCII text (’, …): the length counts bytes.
    for (const accept of ['text/html', 'application/json']) {
      const res = await request(app)
        .post('/signout')
        .set('Cookie', await signedIn())
        .set('Accept', accept)
        .expect(429);
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
      expect(res.text.length).toBeGreaterThan(0);
    }
    // HEAD is refused (405) with the length its page would have, and no body.
    const head = await request(app)
      .head('/signout')
      .set('Cookie', await signedIn())
      .expect(405);
    expect(head.headers['transfer-encoding']).toBeUndefined();
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.text).toBeFalsy();
    await own.close();
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

    function app(genid?: () => string) {
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
      a.all('/signout', ssoSignOut({ client }));
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

    it('clears a stale session cookie the store no longer knows', async () => {
      const a = app();
      const cookie = cookieHeaderFrom(await request(a).post('/in').expect(200));
      const other = app();
      // Another instance with its own (empty) store: the cookie is stale there.
      const res = await request(other).post('/signout').set('Cookie', cookie).expect(303);
      expect([...setCookies(res).keys()]).toEqual(['portal.sid']);
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
