// The upstream or proxy that lies: it echoes the token, names nothing on a 401, throttles under
// another status, asks for absurd waits, and answers storms of sign-outs with 429 or 503. The route
// must stay truthful (`rejected` only on the portal's own words), leak nothing, and stay bounded.

import request from 'supertest';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLogoutClient,
  SignOutError,
  type LogoutClient,
  type LogoutClientOptions,
  type SignOutEvent,
} from 'sso-signout';
import { startFakePortal, type FakePortal, type PortalCall, type PortalReply } from 'sso-signout/testing';
import { createLogoutClient as createWithInternals } from '../../src/core/logout/client.js';
import { ADAPTERS } from '../helpers/adapters.js';
import { applySetCookies, cookieHeaderFrom } from '../helpers/cookies.js';

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

function client(options: Partial<LogoutClientOptions> = {}): LogoutClient {
  const c = createWithInternals({ endpoint: portal.url, ...options }, { random: () => 0 });
  clients.push(c);
  return c;
}

/** True when `text` holds the token or any run of 12 of its characters (a cut echo leaks too). */
function leaks(text: string, token: string): boolean {
  for (let i = 0; i + 12 <= token.length; i++) if (text.includes(token.slice(i, i + 12))) return true;
  return false;
}

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f]/;

/** Ways to echo the token back, each a function of the call that carries it. */
const ECHOES: readonly [string, (call: PortalCall) => PortalReply][] = [
  ['as the error type', (c) => ({ kind: 'status', status: 401, errorType: c.token ?? '' })],
  [
    'after a modelled error type',
    (c) => ({ kind: 'status', status: 401, errorType: `com.amazonaws.switchboard.portal#${c.token ?? ''}` }),
  ],
  [
    'as the request id',
    (c) => ({
      kind: 'status',
      status: 401,
      errorType: 'UnauthorizedException',
      headers: { 'x-amzn-requestid': c.token ?? '' },
    }),
  ],
  [
    'as a part of the request id',
    (c) => ({
      kind: 'status',
      status: 429,
      headers: { 'x-amzn-request-id': `req-${(c.token ?? '').slice(5, 45)}-end` },
    }),
  ],
  [
    'in the message',
    (c) => ({ kind: 'status', status: 400, body: JSON.stringify({ message: `bad token ${c.token ?? ''}` }) }),
  ],
  [
    'in __type and Message',
    (c) => ({
      kind: 'status',
      status: 503,
      body: JSON.stringify({ __type: `x#${c.token ?? ''}`, Message: (c.token ?? '').repeat(20) }),
    }),
  ],
  [
    'in bytes that are not HTTP',
    (c) => ({ kind: 'raw', bytes: `HTTP/1.1 4O1 ${c.token ?? ''}\r\nx-amzn-errortype: ${c.token ?? ''}\r\n\r\n` }),
  ],
  [
    'in a header with control characters',
    (c) => ({
      kind: 'raw',
      bytes: `HTTP/1.1 401 Unauthorized\r\nx-amzn-errortype: Unauthorized\u001b[2J${c.token ?? ''}\r\ncontent-length: 0\r\n\r\n`,
    }),
  ],
];

describe.each(ADAPTERS)('an upstream echoing the token, on $name', (adapter) => {
  it.each(ECHOES)('%s: the token reaches no answer, header, event, channel or error', async (_label, echo) => {
    const events: SignOutEvent[] = [];
    const errors: unknown[] = [];
    const channelled: unknown[] = [];
    const tokens: string[] = [];
    const listen = (message: unknown) => channelled.push(message);
    subscribe('sso-signout:event', listen);
    subscribe('sso-signout:error', listen);
    try {
      portal.setDefault(echo);
      for (const delegate of [false, true]) {
        const app = adapter.build(client(), {
          signOut: { onEvent: (e) => events.push(e), delegateErrors: delegate },
          catchErrors: (err) => errors.push(err),
        });
        for (const accept of ['application/json', 'text/html']) {
          const token = portal.issueToken();
          const signin = await request(app).post('/test/signin').send({ accessToken: token }).expect(200);
          const cookie = cookieHeaderFrom(signin);
          const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', accept);
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(leaks(res.text, token), 'body').toBe(false);
          expect(leaks(JSON.stringify(res.headers), token), 'headers').toBe(false);
          tokens.push(token);
        }
        const seen = [
          JSON.stringify(events),
          ...channelled.map((m) => inspect(m, { depth: 10, showHidden: true })),
          ...errors.map((e) =>
            [(e as Error).message, JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })].join('\n'),
          ),
        ].join('\n');
        for (const token of tokens) expect(leaks(seen, token), 'events, channels, errors').toBe(false);
        expect(
          RAW_CONTROL.test(
            JSON.stringify(
              events.map((e) =>
                Object.values(e)
                  .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))
                  .join(' '),
              ),
            ),
          ),
        ).toBe(false);
      }
      expect(events.length).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => e instanceof SignOutError)).toBe(true);
    } finally {
      unsubscribe('sso-signout:event', listen);
      unsubscribe('sso-signout:error', listen);
    }
  });
});

describe('the Logout client against echoes', () => {
  it.each(ECHOES)('%s: the result holds no run of the token, nor a raw control character', async (_label, echo) => {
    portal.setDefault(echo);
    const token = portal.issueToken();
    const result = await client({ maxAttempts: 1 }).logout({ accessToken: token });
    const text = [JSON.stringify(result), inspect(result, { depth: 20, showHidden: true })].join('\n');
    expect(leaks(text, token)).toBe(false);
    for (const field of [result.errorName, result.message, result.requestId, result.cause?.message]) {
      if (field !== undefined) expect(RAW_CONTROL.test(field)).toBe(false);
    }
  });

  it('escapes a line break in an error name instead of passing it on', async () => {
    portal.enqueue({ kind: 'status', status: 418, body: JSON.stringify({ __type: 'Bad\nName\u001b[31m' }) });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result.errorName).toBe('Bad\\nName\\u001b[31m');
  });

  it('bounds what it keeps of a long message', async () => {
    portal.enqueue({
      kind: 'status',
      status: 400,
      errorType: 'InvalidRequestException',
      body: JSON.stringify({ message: 'x'.repeat(5000) }),
    });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result.message?.length).toBeLessThanOrEqual(301);
  });
});

interface Lie {
  readonly reply: PortalReply;
  readonly status: number;
  readonly code: string;
  readonly signedOut: boolean;
  readonly calls: number;
}

const html401 = '<!doctype html><html><body><h1>401 Authorization Required</h1><hr>nginx</body></html>';
const LIES: readonly [string, Lie][] = [
  [
    'a proxy’s HTML 401',
    {
      reply: { kind: 'status', status: 401, body: html401 },
      status: 502,
      code: 'sso_bad_response',
      signedOut: false,
      calls: 1,
    },
  ],
  [
    'a WAF’s 400 page',
    {
      reply: { kind: 'status', status: 400, body: '<html>Request blocked</html>' },
      status: 502,
      code: 'sso_bad_response',
      signedOut: false,
      calls: 1,
    },
  ],
  [
    'a bare 401',
    { reply: { kind: 'status', status: 401 }, status: 502, code: 'sso_bad_response', signedOut: false, calls: 1 },
  ],
  [
    'a gateway’s 401 AccessDeniedException',
    {
      reply: { kind: 'status', status: 401, errorType: 'AccessDeniedException' },
      status: 502,
      code: 'sso_bad_response',
      signedOut: false,
      calls: 1,
    },
  ],
  [
    'a 400 ThrottlingException',
    {
      reply: { kind: 'status', status: 400, errorType: 'ThrottlingException' },
      status: 429,
      code: 'sso_throttled',
      signedOut: false,
      calls: 3,
    },
  ],
  [
    'a 403 SlowDown in the body',
    {
      reply: { kind: 'status', status: 403, body: '{"__type":"SlowDown"}' },
      status: 429,
      code: 'sso_throttled',
      signedOut: false,
      calls: 3,
    },
  ],
  [
    'a 400 RequestTimeoutException',
    {
      reply: { kind: 'status', status: 400, errorType: 'RequestTimeoutException' },
      status: 503,
      code: 'sso_unavailable',
      signedOut: false,
      calls: 3,
    },
  ],
  [
    'a 400 naming UnauthorizedException followed by a no-break space (latin-1 0xA0), which is not a blank',
    {
      reply: {
        kind: 'raw',
        bytes: 'HTTP/1.1 400 X\r\nx-amzn-errortype: UnauthorizedException\u00a0\r\ncontent-length: 2\r\n\r\n{}',
      },
      status: 502,
      code: 'sso_bad_response',
      signedOut: false,
      calls: 1,
    },
  ],
  [
    'a 503 that names UnauthorizedException',
    {
      reply: { kind: 'status', status: 503, errorType: 'UnauthorizedException' },
      status: 401,
      code: 'sso_token_rejected',
      signedOut: true,
      calls: 3,
    },
  ],
  [
    'a 404 that names InvalidRequestException',
    {
      reply: { kind: 'status', status: 404, body: '{"code":"InvalidRequestException"}' },
      status: 401,
      code: 'sso_token_rejected',
      signedOut: true,
      calls: 1,
    },
  ],
];

describe.each(ADAPTERS)('statuses that lie, on $name', (adapter) => {
  it.each(LIES)('%s', async (_label, lie) => {
    const app = adapter.build(client());
    const token = portal.issueToken();
    const cookie = cookieHeaderFrom(await request(app).post('/test/signin').send({ accessToken: token }).expect(200));
    portal.setDefault(lie.reply);
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
    expect(res.status).toBe(lie.status);
    expect(JSON.parse(res.text)).toMatchObject({ code: lie.code, signedOut: lie.signedOut });
    expect(portal.calls).toHaveLength(lie.calls);
    const after = applySetCookies(cookie, res);
    const me = await request(app).get('/me').set('Cookie', after).expect(200);
    expect((me.body as { signedIn: boolean }).signedIn).toBe(!lie.signedOut);
    if (lie.code === 'sso_throttled') {
      // The throttle window the last answer opened: the next sign-out is answered at once.
      portal.reset();
      await request(app).post('/signout').set('Cookie', after).expect(429);
      expect(portal.calls).toHaveLength(0);
    } else if (!lie.signedOut) {
      // Not remembered as dead: the next sign-out asks the portal again.
      portal.reset();
      portal.setDefault('real');
      await request(app).post('/signout').set('Cookie', after).expect(303);
      expect(portal.calls).toHaveLength(1);
      expect(portal.isActive(token)).toBe(false);
    }
  });

  it('hands the token over when the app ends sessions on failure and a proxy’s 401 names nothing', async () => {
    const handed: unknown[] = [];
    const app = adapter.build(client(), {
      signOut: { endSessionOnFailure: true, onUnrevokedToken: (t) => void handed.push(t) },
    });
    const token = portal.issueToken();
    const cookie = cookieHeaderFrom(await request(app).post('/test/signin').send({ accessToken: token }).expect(200));
    portal.setDefault({ kind: 'status', status: 401, body: html401 });
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(502);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_bad_response', signedOut: true });
    expect(handed).toEqual([{ accessToken: token, region: undefined }]);
    expect(portal.isActive(token)).toBe(true);
  });
});

describe('absurd wait hints', () => {
  it.each([
    ['Retry-After: 86400', { 'retry-after': '86400' }, 60],
    ['Retry-After: 99999999999999999999', { 'retry-after': '99999999999999999999' }, 60],
    ['x-amz-retry-after: 1e12 ms', { 'x-amz-retry-after': '1000000000000' }, 60],
    ['an HTTP date in the year 9999', { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' }, 60],
    ['Retry-After: -5 (no hint at all)', { 'retry-after': '-5' }, 1],
    ['Retry-After: soon (no hint at all)', { 'retry-after': 'soon' }, 1],
  ])('%s: announces at most the cap, and the gate opens after it', async (_label, headers, seconds) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const c = client();
      portal.setDefault({ kind: 'status', status: 429, headers });
      const first = await c.logout({ accessToken: portal.issueToken() });
      expect(first.outcome).toBe('throttled');
      expect(Math.ceil((first.retryAfterMs ?? 0) / 1000)).toBe(seconds);
      const gated = await c.logout({ accessToken: portal.issueToken() });
      expect(gated).toMatchObject({ outcome: 'throttled', reason: 'throttle_gate', attempts: 0 });
      vi.setSystemTime(Date.now() + seconds * 1000 + 1);
      portal.setDefault('real');
      expect(await c.logout({ accessToken: portal.issueToken() })).toMatchObject({ outcome: 'revoked', attempts: 1 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes a lower cap from maxRetryAfterMs, for the gate and for Retry-After', async () => {
    const adapter = ADAPTERS[0];
    if (adapter === undefined) throw new Error('no adapter');
    const app = adapter.build(client({ maxRetryAfterMs: 5000 }));
    const cookie = cookieHeaderFrom(
      await request(app).post('/test/signin').send({ accessToken: portal.issueToken() }).expect(200),
    );
    portal.setDefault({ kind: 'throttle', retryAfter: 86400 });
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(429);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(res.text)).toMatchObject({ retryAfter: 5, signedOut: false });
  });

  it('caps a 503’s Retry-After too', async () => {
    portal.setDefault({ kind: 'status', status: 503, headers: { 'retry-after': '86400' } });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'unavailable', retryAfterMs: 60_000, attempts: 1 });
  });

  it('refuses a maxRetryAfterMs that is not a positive whole number', () => {
    expect(() => createLogoutClient({ endpoint: portal.url, maxRetryAfterMs: 0 })).toThrow(/maxRetryAfterMs/);
    expect(() => createLogoutClient({ endpoint: portal.url, maxRetryAfterMs: 1.5 })).toThrow(/maxRetryAfterMs/);
  });

  it('gates only the portal that throttled, not another region’s', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('https://portal.sso.eu-west-1.amazonaws.com')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(429, '', { headers: { 'retry-after': '30' } });
    agent
      .get('https://portal.sso.us-east-1.amazonaws.com')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(200, '');
    const c = createLogoutClient({ region: 'us-east-1', dispatcher: agent, maxAttempts: 1 });
    expect(await c.logout({ accessToken: 'aoa1', region: 'eu-west-1' })).toMatchObject({ outcome: 'throttled' });
    expect(await c.logout({ accessToken: 'aoa2', region: 'eu-west-1' })).toMatchObject({ reason: 'throttle_gate' });
    expect(await c.logout({ accessToken: 'aoa3' })).toMatchObject({ outcome: 'revoked', attempts: 1 });
    await agent.close();
  });
});

describe('storms', () => {
  // A deadline well past every retry a storm can make (a named 1 s wait, twice, plus backoff): on a
  // loaded machine an attempt started near a 3 s deadline can be answered after it, and that
  // sign-out would be a timeout rather than the throttled answer these tests are about.
  const STORM_TIMEOUT_MS = 8000;
  function arrivals(reply: PortalReply): number[] {
    const times: number[] = [];
    portal.setDefault(() => {
      times.push(performance.now());
      return reply;
    });
    return times;
  }

  it('a 429 storm with Retry-After: 1 makes well under one call per sign-out and answers most at once', async () => {
    const times = arrivals({ kind: 'throttle', retryAfter: 1 });
    const c = createLogoutClient({ endpoint: portal.url, maxConnections: 16, timeoutMs: STORM_TIMEOUT_MS });
    clients.push(c);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.logout({ accessToken: `aoa-storm-${String(i)}` })),
    );
    expect(results.every((r) => r.outcome === 'throttled')).toBe(true);
    // One wave per connection slot; a retry only by a call whose own answer opened the window last.
    expect(portal.calls.length).toBeLessThanOrEqual(2 * 16);
    expect(results.filter((r) => r.attempts === 0).length).toBeGreaterThanOrEqual(200 - 16);
    // Any retry waited out the named second.
    const retries = times.slice(16);
    for (const at of retries) expect(at - Math.max(...times.slice(0, 16))).toBeGreaterThanOrEqual(900);
  });

  it('a retry after a named wait waits that long plus a jittered backoff', async () => {
    const gaps: number[] = [];
    for (const random of [0, 0.9]) {
      portal.reset();
      const times = arrivals({ kind: 'throttle', amzRetryAfterMs: 200 });
      const c = createWithInternals({ endpoint: portal.url, maxAttempts: 2 }, { random: () => random });
      clients.push(c);
      await c.logout({ accessToken: portal.issueToken() });
      expect(times).toHaveLength(2);
      gaps.push((times[1] as number) - (times[0] as number));
    }
    // 200 ms named, plus random() × 500 ms (the throttling backoff of a first retry).
    expect(gaps[0]).toBeGreaterThanOrEqual(195);
    expect(gaps[1]).toBeGreaterThanOrEqual(195 + 0.9 * 500);
  });

  it('a 429 storm that names no wait (the portal’s usual throttle) also answers nearly everyone at once', async () => {
    portal.setDefault('throttle');
    // Real jitter: with every backoff pinned at 0, each call's retry would go out before the other
    // answers of its wave close the gate on it.
    const c = createLogoutClient({ endpoint: portal.url, maxConnections: 16, timeoutMs: STORM_TIMEOUT_MS });
    clients.push(c);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.logout({ accessToken: `aoa-nohint-${String(i)}` })),
    );
    expect(results.every((r) => r.outcome === 'throttled')).toBe(true);
    // The first wave of 16, and at most a few of its own retries.
    expect(portal.calls.length).toBeLessThanOrEqual(2 * 16);
    expect(results.filter((r) => r.attempts === 0).length).toBeGreaterThanOrEqual(200 - 16);
  });

  it.each([
    ['Retry-After: 0', { 'retry-after': '0' }],
    ['a date in the past', { 'retry-after': 'Thu, 01 Jan 2015 00:00:00 GMT' }],
  ])('%s names no wait: the gate closes for the usual 1 s, not for nothing', async (_label, headers) => {
    portal.setDefault({ kind: 'status', status: 429, headers });
    const c = client({ maxAttempts: 1 });
    const first = await c.logout({ accessToken: portal.issueToken() });
    expect(first.outcome).toBe('throttled');
    expect(first.retryAfterMs).toBeGreaterThan(900);
    expect(first.retryAfterMs).toBeLessThanOrEqual(1000);
    portal.setDefault('real');
    expect(await c.logout({ accessToken: portal.issueToken() })).toMatchObject({
      outcome: 'throttled',
      reason: 'throttle_gate',
      attempts: 0,
    });
  });

  it('a short named wait (x-amz-retry-after: 1) is honoured: the portal asked to be called again that soon', async () => {
    portal.setDefault({ kind: 'status', status: 429, headers: { 'x-amz-retry-after': '1' } });
    const c = client({ maxAttempts: 1 });
    const first = await c.logout({ accessToken: portal.issueToken() });
    expect(first.outcome).toBe('throttled');
    expect(first.retryAfterMs).toBeLessThanOrEqual(1);
    portal.setDefault('real');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await c.logout({ accessToken: portal.issueToken() })).toMatchObject({ outcome: 'revoked', attempts: 1 });
  });

  it.each([
    ['Retry-After: 0', { 'retry-after': '0' }, 2 * 16],
    ['a date in the past', { 'retry-after': 'Thu, 01 Jan 2015 00:00:00 GMT' }, 2 * 16],
    // A wait this short is the portal asking to be called again that soon, and is honoured: each
    // call of the first wave may retry after it, as the SDK does (3 attempts).
    ['x-amz-retry-after: 1', { 'x-amz-retry-after': '1' }, 3 * 16],
    ['x-amz-retry-after: 20', { 'x-amz-retry-after': '20' }, 3 * 16],
    ['Retry-After: 0.001', { 'retry-after': '0.001' }, 3 * 16],
  ])(
    'a 429 storm naming %s stays bounded: no sign-out waiting for a connection is sent',
    async (_label, headers, most) => {
      portal.setDefault({
        kind: 'status',
        status: 429,
        headers: { 'x-amzn-errortype': 'ThrottlingException', ...headers },
      });
      const c = createLogoutClient({ endpoint: portal.url, maxConnections: 16, timeoutMs: STORM_TIMEOUT_MS });
      clients.push(c);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => c.logout({ accessToken: `aoa-zero-${String(i)}` })),
      );
      expect(results.every((r) => r.outcome === 'throttled')).toBe(true);
      expect(portal.calls.length).toBeLessThanOrEqual(most);
      expect(results.filter((r) => r.attempts === 0).length).toBeGreaterThanOrEqual(200 - 16);
    },
  );

  it('a 2xx with a body that never ends is answered at its status line, not at the deadline', async () => {
    portal.setDefault({ kind: 'endless-body', status: 200 });
    const result = await client({ timeoutMs: 5000 }).logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'revoked', attempts: 1 });
    expect(result.durationMs).toBeLessThan(2500);
  });

  it.each([
    ['a Content-Length and no body yet', 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n'],
    ['a chunked body with no chunk yet', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n'],
    ['an HTTP/1.0 body read until a close that never comes', 'HTTP/1.0 200 OK\r\n\r\n'],
  ])('a 2xx with %s is answered at its status line, and holds no connection', async (_label, head) => {
    // A portal whose 2xx status line comes at once and whose body never starts, the connection kept open.
    const sockets = new Set<Socket>();
    let calls = 0;
    const stalled = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        const requests = chunk.toString('latin1').split('POST ').length - 1;
        calls += requests;
        for (let i = 0; i < requests; i++) socket.write(head);
      });
    });
    stalled.listen(0, '127.0.0.1');
    await once(stalled, 'listening');
    try {
      const endpoint = `http://127.0.0.1:${String((stalled.address() as AddressInfo).port)}`;
      const c = createLogoutClient({ endpoint, timeoutMs: 3000, maxConnections: 4 });
      clients.push(c);
      const started = performance.now();
      const first = await c.logout({ accessToken: 'aoa-stalled-body' });
      expect(first).toMatchObject({ outcome: 'revoked', attempts: 1 });
      expect(performance.now() - started).toBeLessThan(1000);
      // Ten times the connections, at once: none waits for a connection a stalled body holds.
      const wave = await Promise.all(
        Array.from({ length: 40 }, (_, i) => c.logout({ accessToken: `aoa-stalled-${String(i)}` })),
      );
      expect(wave.every((r) => r.outcome === 'revoked')).toBe(true);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(calls).toBe(41);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });

  it.each([
    ['a Content-Length longer than the body', 'content-length: 100\r\n\r\n{"mess'],
    ['a chunked body cut inside a chunk', 'transfer-encoding: chunked\r\n\r\n40\r\n{"message":"Rate'],
    ['no body at all', 'content-length: 40\r\n\r\n'],
  ])(
    'a 429 whose connection breaks in its body (%s) is throttled, by its status as the SDK reads it, and closes the gate',
    async (_label, rest) => {
      // Even a header naming a dead token is not read from an answer that broke off.
      const head = 'HTTP/1.1 429 Too Many Requests\r\nretry-after: 30\r\nx-amzn-errortype: UnauthorizedException\r\n';
      let calls = 0;
      const sockets = new Set<Socket>();
      const breaking = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('data', () => {
          calls++;
          socket.write(head + rest, () => socket.resetAndDestroy());
        });
      });
      breaking.listen(0, '127.0.0.1');
      await once(breaking, 'listening');
      try {
        const endpoint = `http://127.0.0.1:${String((breaking.address() as AddressInfo).port)}`;
        const c = createLogoutClient({ endpoint, timeoutMs: 5000, maxConnections: 16 });
        clients.push(c);
        const first = await c.logout({ accessToken: 'aoa-broken-429' });
        expect(first).toMatchObject({ outcome: 'throttled', upstreamStatus: 429, retryAfterMs: 30_000 });
        expect(first.attempts).toBe(1);
        expect(calls).toBe(1);
        // The window it named is closed: a storm after it makes no call.
        const storm = await Promise.all(
          Array.from({ length: 200 }, (_, i) => c.logout({ accessToken: `aoa-broken-${String(i)}` })),
        );
        expect(storm.every((r) => r.outcome === 'throttled' && r.attempts === 0)).toBe(true);
        expect(calls).toBe(1);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => breaking.close(resolve));
      }
    },
  );

  it('a 401 whose connection breaks in its body is a connection failure, retried as the SDK retries one', async () => {
    let calls = 0;
    const breaking = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', () => {
        calls++;
        const head =
          'HTTP/1.1 401 Unauthorized\r\nx-amzn-errortype: UnauthorizedException\r\ncontent-length: 90\r\n\r\n{';
        socket.write(head, () => socket.resetAndDestroy());
      });
    });
    breaking.listen(0, '127.0.0.1');
    await once(breaking, 'listening');
    try {
      const endpoint = `http://127.0.0.1:${String((breaking.address() as AddressInfo).port)}`;
      const c = createLogoutClient({ endpoint, timeoutMs: 5000 });
      clients.push(c);
      const result = await c.logout({ accessToken: 'aoa-broken-401' });
      // Not "rejected": the answer that would have said so never arrived whole.
      expect(result).toMatchObject({ outcome: 'unavailable', attempts: 3 });
      expect(calls).toBe(3);
    } finally {
      await new Promise((resolve) => breaking.close(resolve));
    }
  });

  it('reads a name past blanks around the header value, as Node’s parser does', async () => {
    portal.setDefault({
      kind: 'raw',
      bytes: 'HTTP/1.1 401 X\r\nx-amzn-errortype: UnauthorizedException \t\r\ncontent-length: 0\r\n\r\n',
    });
    expect(await client().logout({ accessToken: portal.issueToken() })).toMatchObject({
      outcome: 'rejected',
      errorName: 'UnauthorizedException',
    });
  });

  it('a 503 storm spends the retry quota, not three calls per sign-out', async () => {
    portal.setDefault({ kind: 'status', status: 503 });
    const c = client({ maxConnections: 16 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.logout({ accessToken: `aoa-503-${String(i)}` })),
    );
    expect(results.every((r) => r.outcome === 'unavailable')).toBe(true);
    // 200 first attempts, and as many retries as a quota of 500 at 14 each pays for.
    expect(portal.calls.length).toBe(200 + Math.floor(500 / 14));
  });

  it('checks the gate for calls queued for a connection: none is sent once the portal throttles', async () => {
    portal.setDefault(() => ({ kind: 'throttle', retryAfter: 30 }));
    portal.pause();
    const c = client({ maxConnections: 2 });
    const pending = Array.from({ length: 10 }, (_, i) => c.logout({ accessToken: `aoa-queued-${String(i)}` }));
    await portal.waitForCalls(2);
    portal.resume();
    const results = await Promise.all(pending);
    expect(portal.calls).toHaveLength(2);
    expect(results.filter((r) => r.reason === 'throttle_gate')).toHaveLength(8);
  });
});
