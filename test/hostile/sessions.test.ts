// Session payloads of the wrong shape, and tokens no header may carry: a clear answer, never a crash or a send.

import request from 'supertest';
import { MockAgent } from 'undici';
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

interface Shape {
  /** The answer: a success row's upstream report, or an error code. */
  readonly answer: string;
  readonly status: number;
  readonly signedOut: boolean;
  /** Whether the portal is called. */
  readonly called: boolean;
}

const skipped: Shape = { answer: 'skipped', status: 200, signedOut: true, called: false };
// A value no header can carry is never sent, and never called dead: the session stays.
const unusable: Shape = { answer: 'sso_token_unusable', status: 500, signedOut: false, called: false };
// Sent, and the portal says the token is unknown.
const rejected: Shape = { answer: 'sso_token_rejected', status: 401, signedOut: true, called: true };

// What is stored as session.sso, and what the sign-out must answer. Only nothing at all (absent or
// null) is "no token"; a sign-in of the wrong shape is never taken for one.
const SHAPES: readonly [string, unknown, Shape][] = [
  ['null', null, skipped],
  ['a snake_case field', { access_token: 'aoa-token' }, unusable],
  ['an empty string', '', unusable],
  ['false', false, unusable],
  ['a number', 42, unusable],
  ['true', true, unusable],
  ['an array', ['a', 'b'], unusable],
  ['an empty object', {}, unusable],
  ['a null token', { accessToken: null }, unusable],
  ['an empty token', { accessToken: '' }, unusable],
  ['an object token', { accessToken: { nested: 'x' } }, unusable],
  ['an array token', { accessToken: ['aoa1'] }, unusable],
  // With a fixed endpoint (as here) the session's region has no say: the token is sent.
  ['a number region', { accessToken: 'aoa-token', region: 42 }, rejected],
  ['a host as region', { accessToken: 'aoa-token', region: 'evil.example/x' }, rejected],
  ['a region and no token', { region: 'us-east-1' }, unusable],
  ['a token with a header break', { accessToken: 'aoa\r\nx-amz-evil: 1' }, unusable],
  ['a token with a NUL', { accessToken: 'aoa\u0000' }, unusable],
  ['a non-ASCII token', { accessToken: 'aoa\u00e9\u4e2d' }, unusable],
  ['a string as the whole sso value', 'aoa-plain-string', rejected],
];

describe.each(ADAPTERS.filter((a) => a.serverSide))('wrong-shaped sessions on $name', (adapter) => {
  it.each(SHAPES)('session.sso as %s', async (_label, sso, expected) => {
    const app = adapter.build(client);
    const signin = await request(app).post('/test/signin').send({ sso }).expect(200);
    const cookie = cookieHeaderFrom(signin);
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
    expect(res.status).toBe(expected.status);
    const body = JSON.parse(res.text) as { upstream?: string; code?: string; signedOut: boolean };
    expect(expected.status === 200 ? body.upstream : body.code).toBe(expected.answer);
    expect(body.signedOut).toBe(expected.signedOut);
    expect(portal.calls.length > 0).toBe(expected.called);
    const me = await request(app).get('/me').set('Cookie', cookie).expect(200);
    expect((me.body as { signedIn: boolean }).signedIn).toBe(!expected.signedOut);
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
      .expect(500);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_token_unusable', signedOut: false });
    expect(portal.calls).toHaveLength(0);
  });
});

describe.each(ADAPTERS.filter((a) => a.serverSide))('regions stored in the session, on $name', (adapter) => {
  function regional(): { agent: MockAgent; client: LogoutClient } {
    const agent = new MockAgent();
    agent.disableNetConnect();
    return { agent, client: createLogoutClient({ region: 'us-west-2', dispatcher: agent }) };
  }

  it.each([
    ['EU-WEST-1', 'https://portal.sso.eu-west-1.amazonaws.com'],
    [' eu-west-1 ', 'https://portal.sso.eu-west-1.amazonaws.com'],
    ['fips-us-east-1', 'https://portal.sso-fips.us-east-1.amazonaws.com'],
    ['us-east-1-fips', 'https://portal.sso-fips.us-east-1.amazonaws.com'],
  ])('sends to the region %j names, normalised as the SDK does', async (region, host) => {
    const { agent, client: regionalClient } = regional();
    agent.get(host).intercept({ path: '/logout', method: 'POST' }).reply(200, '');
    const app = adapter.build(regionalClient);
    const signin = await request(app).post('/test/signin').send({ accessToken: 'aoa-regional', region }).expect(200);
    await request(app).post('/signout').set('Cookie', cookieHeaderFrom(signin)).expect(303);
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('never calls a token dead that it did not send: a region that names no host keeps the session', async () => {
    const { agent, client: regionalClient } = regional();
    const app = adapter.build(regionalClient);
    const signin = await request(app)
      .post('/test/signin')
      .send({ accessToken: 'aoa-regional', region: 'evil.example/x' })
      .expect(200);
    const cookie = cookieHeaderFrom(signin);
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(500);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'sso_token_unusable', signedOut: false });
    expect(String(body.detail)).toContain('region');
    const me = await request(app).get('/me').set('Cookie', cookie).expect(200);
    expect((me.body as { signedIn: boolean }).signedIn).toBe(true);
    await agent.close();
  });
});
