// The two steps of a browser's session most suites need: sign in at a test app's `/test/signin`, and ask its `/me`.

import type { RequestListener } from 'node:http';
import request from 'supertest';
import type { FakePortal } from 'sso-signout/testing';
import { cookieHeaderFrom } from './cookies.js';

/** Signs in with a fresh token the portal issued; returns the token and the browser's Cookie header. */
export async function signInWithToken(
  app: RequestListener,
  portal: FakePortal,
): Promise<{ token: string; cookie: string }> {
  const token = portal.issueToken();
  const res = await request(app).post('/test/signin').send({ accessToken: token }).expect(200);
  return { token, cookie: cookieHeaderFrom(res) };
}

/** What the app's `/me` says for this Cookie header. */
export async function isSignedIn(app: RequestListener, cookie: string): Promise<boolean> {
  const res = await request(app).get('/me').set('Cookie', cookie).expect(200);
  return (res.body as { signedIn: boolean }).signedIn;
}
