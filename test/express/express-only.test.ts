// Behaviour that exists only because of Express and its session middlewares (documented exceptions).

import express from 'express';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, ssoSignOut, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { ADAPTERS } from '../helpers/adapters.js';
import { cookieHeaderFrom, setCookies } from '../helpers/cookies.js';

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
    // body-parser marks any body it did not parse as {}, without reading the stream.
    app.use((req, _res, next) => {
      (req as unknown as { body: object }).body = {};
      next();
    });
    app.all('/signout', ssoSignOut({ client }));
    const res = await request(app).post('/signout').type('form').send({ return_to: '/kept' }).expect(303);
    expect(res.headers.location).toBe('/kept');
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
});
