// Your app's sign-out, tested against the fake portal: revoked when it works, kept when IAM Identity Center throttles.
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ssoSignOut } from 'sso-signout';
import 'sso-signout/express-session';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';

// Your app, pointed at the fake portal instead of IAM Identity Center.
function buildApp(portalUrl: string) {
  const app = express();
  app.use(session({ secret: 'test', resave: false, saveUninitialized: false }));
  app.post('/test-login/:token', (req, res) => {
    req.session.sso = { accessToken: req.params.token };
    res.end();
  });
  app.all('/signout', ssoSignOut({ endpoint: portalUrl, destination: '/bye' }));
  return app;
}

let portal: FakePortal;
beforeAll(async () => {
  portal = await startFakePortal();
});
afterAll(async () => {
  await portal.close();
});

async function signedInUser() {
  const app = buildApp(portal.url);
  const token = portal.issueToken();
  const login = await request(app).post(`/test-login/${token}`);
  return { app, token, cookie: login.headers['set-cookie'] as unknown as string[] };
}

it('revokes the SSO token and redirects', async () => {
  const { app, token, cookie } = await signedInUser();
  await request(app).post('/signout').set('Cookie', cookie).expect(303).expect('Location', '/bye');
  expect(portal.isActive(token)).toBe(false);
});

it('keeps the user signed in when IAM Identity Center throttles', async () => {
  const { app, token, cookie } = await signedInUser();
  portal.enqueue({ kind: 'throttle', retryAfter: 30 });
  await request(app).post('/signout').set('Cookie', cookie).expect(429).expect('Retry-After', '30');
  expect(portal.isActive(token)).toBe(true);
});
