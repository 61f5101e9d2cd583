// Session payloads of the wrong shape, and tokens no header may carry: a clear answer, never a crash or a send.

import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { ADAPTERS } from '../helpers/adapters.js';
import { cookieHeaderFrom } from '../helpers/cookies.js';

let portal: FakePortal;
let client: LogoutClient;
beforeAll(async () => {
  portal = await startFakePortal();
});
// A client per test: a client remembers tokens it just saw revoked or refused.
beforeEach(() => {
  client = createLogoutClient({ endpoint: portal.url, maxAttempts: 1 });
});
afterEach(async () => {
  portal.reset();
  await client.close();
});
afterAll(async () => {
  await portal.close();
});

// [what is stored as session.sso, the upstream report, the status, whether the portal is called]
const SHAPES: readonly [string, unknown, string, number, boolean][] = [
  ['a number', 42, 'rejected', 401, false],
  ['true', true, 'rejected', 401, false],
  ['an array', ['a', 'b'], 'skipped', 200, false],
  ['an empty object', {}, 'skipped', 200, false],
  ['a null token', { accessToken: null }, 'skipped', 200, false],
  ['an empty token', { accessToken: '' }, 'skipped', 200, false],
  ['an object token', { accessToken: { nested: 'x' } }, 'rejected', 401, false],
  ['an array token', { accessToken: ['aoa1'] }, 'rejected', 401, false],
  ['a number region', { accessToken: 'aoa-token', region: 42 }, 'rejected', 401, false],
  ['a host as region', { accessToken: 'aoa-token', region: 'evil.example/x' }, 'rejected', 401, false],
  ['a region and no token', { region: 'us-east-1' }, 'skipped', 200, false],
  ['a token with a header break', { accessToken: 'aoa\r\nx-amz-evil: 1' }, 'rejected', 401, false],
  ['a token with a NUL', { accessToken: 'aoa\u0000' }, 'rejected', 401, false],
  ['a non-ASCII token', { accessToken: 'aoa\u00e9\u4e2d' }, 'rejected', 401, false],
  ['a string as the whole sso value', 'aoa-plain-string', 'rejected', 401, true],
];

describe.each(ADAPTERS.filter((a) => a.serverSide))('wrong-shaped sessions on $name', (adapter) => {
  it.each(SHAPES)('session.sso as %s', async (_label, sso, upstream, status, called) => {
    const app = adapter.build(client);
    const signin = await request(app).post('/test/signin').send({ sso }).expect(200);
    const cookie = cookieHeaderFrom(signin);
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
    expect(res.status).toBe(status);
    const body = JSON.parse(res.text) as { upstream?: string; code?: string; signedOut: boolean };
    if (status === 200) expect(body.upstream).toBe(upstream);
    else expect(body.code).toBe('sso_token_rejected');
    expect(body.signedOut).toBe(true);
    expect(portal.calls.length > 0).toBe(called);
    const me = await request(app).get('/me').set('Cookie', cookie).expect(200);
    expect((me.body as { signedIn: boolean }).signedIn).toBe(false);
  });

  it('refuses a megabyte token locally without sending it', async () => {
    const app = adapter.build(client);
    const signin = await request(app)
      .post('/test/signin')
      .send({ accessToken: 'a'.repeat(1024 * 1024) })
      .expect(200);
    const res = await request(app)
      .post('/signout')
      .set('Cookie', cookieHeaderFrom(signin))
      .set('Accept', 'application/json')
      .expect(401);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_token_rejected', signedOut: true });
    expect(portal.calls).toHaveLength(0);
  });
});
