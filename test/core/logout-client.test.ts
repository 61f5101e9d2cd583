// The Logout client against the fake portal: retries, deadline, single flight, throttle gate, bounds.

import { inspect } from 'node:util';
import { Agent, MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLogoutClient,
  portalEndpoint,
  SignOutConfigError,
  type LogoutClient,
  type LogoutClientOptions,
} from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { createLogoutClient as createWithInternals } from '../../src/core/logout/client.js';
import { warningsDuring } from '../helpers/warnings.js';
import { REFUSED_URL } from '../helpers/refused.js';
import { busyFor, serverElsewhere } from '../helpers/busy.js';

let portal: FakePortal;
const open: LogoutClient[] = [];

beforeAll(async () => {
  portal = await startFakePortal();
});
afterEach(async () => {
  portal.reset();
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await portal.close();
});

/** A client whose backoff waits are zero, so retries cost no wall-clock time. */
function client(options: Partial<LogoutClientOptions> = {}): LogoutClient {
  const c = createWithInternals({ endpoint: portal.url, ...options }, { random: () => 0 });
  open.push(c);
  return c;
}

describe('retries', () => {
  it('retries transient 5xx answers, 3 attempts in all, then succeeds', async () => {
    portal.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const token = portal.issueToken();
    const result = await client().logout({ accessToken: token });
    expect(result).toMatchObject({ outcome: 'revoked', attempts: 3, upstreamStatus: 200 });
    expect(portal.calls.map((c) => c.status)).toEqual([500, 503, 200]);
    expect(portal.isActive(token)).toBe(false);
  });

  it('gives up after maxAttempts and reports the last answer', async () => {
    portal.setDefault({ kind: 'status', status: 502 });
    const result = await client({ maxAttempts: 2 }).logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'unavailable', attempts: 2, upstreamStatus: 502 });
  });

  it.each([
    ['401', 'unauthorized' as const, 'rejected'],
    ['400', 'invalid-request' as const, 'rejected'],
  ])('never retries %s', async (_label, reply, outcome) => {
    portal.setDefault(reply);
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome, attempts: 1 });
    expect(portal.calls).toHaveLength(1);
  });

  it.each([301, 302, 307, 308])('never follows a %i and never retries it', async (status) => {
    portal.enqueue({ kind: 'redirect', status, location: `${portal.url}/elsewhere` });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'bad_response', upstreamStatus: status, attempts: 1 });
    expect(portal.calls.map((c) => c.path)).toEqual(['/logout']);
  });

  it('does not retry 501 (not transient) and reports it as a bad answer', async () => {
    portal.setDefault({ kind: 'status', status: 501 });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'bad_response', attempts: 1 });
  });

  it('retries connection resets and reports the connection error', async () => {
    portal.setDefault('reset');
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'unavailable', attempts: 3, reason: 'connection_error' });
    expect(result.cause).toBeInstanceOf(Error);
  });

  it('retries refused connections (ECONNREFUSED)', async () => {
    const url = REFUSED_URL;
    const result = await client({ endpoint: url }).logout({ accessToken: 'aoa-token' });
    expect(result).toMatchObject({ outcome: 'unavailable', attempts: 3, reason: 'connection_error' });
    expect(inspect(result.cause)).toMatch(/ECONNREFUSED/);
  });

  it('does not retry an answer that is not HTTP', async () => {
    portal.setDefault('garbage');
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'bad_response', attempts: 1, reason: 'malformed_response' });
  });
});

describe('throttling', () => {
  it('retries a 429 after the wait it names, when that fits the deadline', async () => {
    portal.enqueue({ kind: 'throttle', amzRetryAfterMs: 5 });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'revoked', attempts: 2 });
  });

  it('stops at once when the named wait would pass the deadline, reporting that wait', async () => {
    portal.setDefault({ kind: 'throttle', retryAfter: 10 });
    const result = await client({ timeoutMs: 2000 }).logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'throttled', attempts: 1, upstreamStatus: 429 });
    // What is left of the 10 s window when the answer is given: a millisecond may have passed.
    expect(result.retryAfterMs).toBeGreaterThan(9_900);
    expect(result.retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  it('reads Retry-After as an HTTP date', async () => {
    portal.setDefault({ kind: 'throttle', retryAfter: new Date(Date.now() + 60_000) });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result.retryAfterMs).toBeGreaterThan(55_000);
    expect(result.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('prefers x-amz-retry-after (milliseconds) over Retry-After', async () => {
    portal.setDefault({ kind: 'throttle', retryAfter: 1, amzRetryAfterMs: 45_000 });
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result.retryAfterMs).toBe(45_000);
  });

  it('gates further calls to that portal for the announced window', async () => {
    const c = client();
    portal.enqueue({ kind: 'throttle', retryAfter: 20 });
    await c.logout({ accessToken: portal.issueToken() });
    const gated = await c.logout({ accessToken: portal.issueToken() });
    expect(gated).toMatchObject({ outcome: 'throttled', attempts: 0, reason: 'throttle_gate' });
    expect(gated.retryAfterMs).toBeGreaterThan(18_000);
    expect(portal.calls).toHaveLength(1);
  });

  it('opens the gate again once the window has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const c = client();
      portal.enqueue({ kind: 'throttle', retryAfter: 20 });
      await c.logout({ accessToken: portal.issueToken() });
      vi.setSystemTime(Date.now() + 21_000);
      const token = portal.issueToken();
      expect(await c.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', attempts: 1 });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the deadline', () => {
  it('ends a hanging call at the deadline as a timeout', async () => {
    portal.setDefault('hang');
    const started = Date.now();
    const result = await client({ timeoutMs: 150 }).logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'timeout', reason: 'deadline', attempts: 1 });
    // Loose bound: the portal never answers, so only the deadline can have ended the call.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('is ended by its own deadline only: undici’s coarse timers never end a hanging call before it, as a connection error sent again', async () => {
    portal.setDefault('hang');
    const c = client({ timeoutMs: 800 });
    // Sequential, as a user's clicks come: each starts at another point of undici's timer tick.
    for (let i = 0; i < 6; i++) {
      const before = portal.calls.length;
      const result = await c.logout({ accessToken: portal.issueToken() });
      expect({ i, outcome: result.outcome, reason: result.reason, calls: portal.calls.length - before }).toEqual({
        i,
        outcome: 'timeout',
        reason: 'deadline',
        calls: 1,
      });
    }
  });

  it('ends a slow answer at the deadline too', async () => {
    portal.setDefault({ kind: 'ok', delayMs: 2000 });
    const result = await client({ timeoutMs: 100 }).logout({ accessToken: portal.issueToken() });
    expect(result.outcome).toBe('timeout');
  });

  it('holds when the dispatcher throws as the call is cancelled: every call still ends as a timeout, nothing is thrown into the process', async () => {
    // An injected dispatcher that never answers, and whose cancel throws (a buggy custom
    // dispatcher, or one already closed). The deadline settles the call before cancelling it.
    const aborts: unknown[] = [];
    const stalling = {
      dispatch(_options: unknown, handler: { onRequestStart?: (controller: unknown, context: unknown) => void }) {
        handler.onRequestStart?.(
          {
            abort(reason: unknown) {
              aborts.push(reason);
              throw new Error('this dispatcher cannot cancel');
            },
            pause() {},
            resume() {},
            aborted: false,
            paused: false,
          },
          {},
        );
        return true;
      },
      close: () => Promise.resolve(),
      destroy: () => Promise.resolve(),
    };
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.prependListener('uncaughtException', onUncaught);
    try {
      const c = client({ timeoutMs: 100, dispatcher: stalling as unknown as LogoutClientOptions['dispatcher'] });
      const results = await Promise.all([1, 2, 3].map(() => c.logout({ accessToken: portal.issueToken() })));
      for (const result of results) expect(result).toMatchObject({ outcome: 'timeout', reason: 'deadline' });
      expect(aborts).toHaveLength(3);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('is refused when it is not a positive whole number of milliseconds', () => {
    for (const timeoutMs of [0, -1, 1.5, Number.NaN, '3000']) {
      expect(() => createLogoutClient({ endpoint: portal.url, timeoutMs: timeoutMs as number })).toThrow(/`timeoutMs`/);
    }
  });
});

describe('a busy app', () => {
  it('an answer that came in time while the app was busy past the deadline is heard, not called a timeout', async () => {
    // The portal in a process of its own: it answers while this one is busy.
    const elsewhere = await serverElsewhere('ok');
    const agent = new Agent();
    try {
      const endpoint = `http://127.0.0.1:${String(elsewhere.port)}`;
      // A first call, with time to spare on a loaded machine, opens the connection the measured
      // call takes: that one is a single round trip.
      const warm = createLogoutClient({ endpoint, timeoutMs: 5000, dispatcher: agent });
      const c = createLogoutClient({ endpoint, timeoutMs: 50, dispatcher: agent });
      open.push(warm, c);
      expect(await warm.logout({ accessToken: 'aoa-busy-warm' })).toMatchObject({ outcome: 'revoked' });
      const pending = c.logout({ accessToken: 'aoa-busy' });
      // Once the request is out, the app is busy from before the answer (30 ms) to past the
      // deadline (50 ms): when it frees up, the deadline's sweep and the answer are both due.
      // (Busy from the loop's check phase: its timers phase, next, is the one that would expire the call.)
      await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setImmediate(resolve));
      busyFor(300);
      expect(await pending).toMatchObject({ outcome: 'revoked', attempts: 1 });
    } finally {
      await agent.close();
      await elsewhere.close();
    }
  });
});

describe('single flight', () => {
  it('shares one upstream call between concurrent sign-outs of the same token', async () => {
    const c = client();
    const token = portal.issueToken();
    portal.pause();
    const results = Promise.all(Array.from({ length: 8 }, () => c.logout({ accessToken: token })));
    await portal.waitForCalls(1);
    portal.resume();
    const all = await results;
    expect(portal.calls).toHaveLength(1);
    expect(all.every((r) => r.outcome === 'revoked')).toBe(true);
    expect(all.filter((r) => r.shared)).toHaveLength(7);
  });

  it('makes separate calls for different tokens', async () => {
    const c = client();
    await Promise.all([c.logout({ accessToken: portal.issueToken() }), c.logout({ accessToken: portal.issueToken() })]);
    expect(portal.calls).toHaveLength(2);
  });

  it('answers a token revoked in the last minute from memory, then calls again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const c = client();
      const token = portal.issueToken();
      await c.logout({ accessToken: token });
      const again = await c.logout({ accessToken: token });
      expect(again).toMatchObject({ outcome: 'revoked', shared: true, attempts: 0 });
      expect(portal.calls).toHaveLength(1);
      vi.setSystemTime(Date.now() + 61_000);
      expect(await c.logout({ accessToken: token })).toMatchObject({ outcome: 'rejected', shared: false, attempts: 1 });
      expect(portal.calls).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never remembers a failure: the next sign-out tries again', async () => {
    const c = client({ maxAttempts: 1 });
    const token = portal.issueToken();
    portal.enqueue({ kind: 'status', status: 503 });
    expect(await c.logout({ accessToken: token })).toMatchObject({ outcome: 'unavailable' });
    expect(await c.logout({ accessToken: token })).toMatchObject({ outcome: 'revoked', attempts: 1 });
  });

  it('fails fast as overloaded past maxPending distinct calls', async () => {
    const c = client({ maxPending: 2 });
    portal.pause();
    const first = [c.logout({ accessToken: portal.issueToken() }), c.logout({ accessToken: portal.issueToken() })];
    const third = await c.logout({ accessToken: portal.issueToken() });
    expect(third).toMatchObject({ outcome: 'unavailable', reason: 'overloaded', attempts: 0 });
    await portal.waitForCalls(2);
    portal.resume();
    await Promise.all(first);
  });
});

describe('what is read from the portal', () => {
  it('reads at most 8 KiB of an error body', async () => {
    const huge = JSON.stringify({ message: 'x'.repeat(1024 * 1024) });
    portal.enqueue({ kind: 'status', status: 400, errorType: 'InvalidRequestException', body: huge });
    const result = await client().logout({ accessToken: portal.issueToken() });
    // The JSON was cut off, so there is no message; the header still names the error.
    expect(result).toMatchObject({ outcome: 'rejected', errorName: 'InvalidRequestException', message: undefined });
  });

  it('keeps a short message and the request id', async () => {
    portal.enqueue('unauthorized');
    const result = await client().logout({ accessToken: portal.issueToken() });
    expect(result.message).toBe('Session token not found or invalid');
    expect(result.requestId).toBe(portal.calls[0]?.requestId);
  });

  it('scrubs the token from anything the portal echoes back', async () => {
    const token = portal.issueToken();
    portal.enqueue({ kind: 'status', status: 401, body: JSON.stringify({ message: `bad token ${token}` }) });
    const result = await client().logout({ accessToken: token });
    expect(result.message).toBe('bad token [redacted]');
    expect(inspect(result, { depth: 10 })).not.toContain(token);
  });

  it.each(['reset', 'garbage', 'hang', 'throttle', 'unauthorized'] as const)(
    'keeps the token out of the result of a %s answer, cause included',
    async (reply) => {
      const token = portal.issueToken();
      portal.setDefault(reply);
      const result = await client({ timeoutMs: 200 }).logout({ accessToken: token });
      expect(inspect(result, { depth: 20, showHidden: true })).not.toContain(token);
      expect(JSON.stringify(result)).not.toContain(token);
    },
  );

  it('appends /logout to a custom endpoint path', async () => {
    portal.enqueue('ok');
    const result = await client({ endpoint: `${portal.url}/sso-proxy/` }).logout({ accessToken: portal.issueToken() });
    expect(result.outcome).toBe('revoked');
    expect(portal.calls[0]?.path).toBe('/sso-proxy/logout');
  });
});

describe('tokens and regions', () => {
  it.each([
    ['empty', ''],
    ['CR LF', 'a\r\nb'],
    ['NUL', 'a\u0000b'],
    ['space', 'a b'],
    ['non-ASCII', 'é'],
    ['too long', 'a'.repeat(8193)],
  ])('refuses an %s token locally and sends nothing', async (_label, accessToken) => {
    const result = await client().logout({ accessToken });
    // Not sent, so not called dead either: the portal said nothing about it.
    expect(result).toMatchObject({ outcome: 'not_sent', reason: 'invalid_token', attempts: 0 });
    expect(portal.calls).toHaveLength(0);
  });

  function mocked(): MockAgent {
    const agent = new MockAgent();
    agent.disableNetConnect();
    return agent;
  }

  it('sends to the region the session names, else the configured one', async () => {
    const agent = mocked();
    agent
      .get('https://portal.sso.eu-central-1.amazonaws.com')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(200, '');
    agent
      .get('https://portal.sso.us-west-2.amazonaws.com')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(401, '', { headers: { 'x-amzn-errortype': 'UnauthorizedException' } });
    const c = createLogoutClient({ region: 'us-west-2', dispatcher: agent });
    expect(await c.logout({ accessToken: 'aoa1', region: 'eu-central-1' })).toMatchObject({ outcome: 'revoked' });
    expect(await c.logout({ accessToken: 'aoa2' })).toMatchObject({ outcome: 'rejected' });
    agent.assertNoPendingInterceptors();
    expect(c.endpointFor('cn-north-1')).toBe('https://portal.sso.cn-north-1.amazonaws.com.cn');
    await agent.close();
  });

  it('uses the FIPS and dual-stack hosts when asked', async () => {
    const agent = mocked();
    agent
      .get('https://portal.sso-fips.us-east-1.api.aws')
      .intercept({ path: '/logout', method: 'POST' })
      .reply(200, '');
    const c = createLogoutClient({
      region: 'us-east-1',
      useFipsEndpoint: true,
      useDualstackEndpoint: true,
      dispatcher: agent,
    });
    expect(await c.logout({ accessToken: 'aoa1' })).toMatchObject({ outcome: 'revoked' });
    await agent.close();
  });

  it.each(['evil.example/x', 'a'.repeat(64), 42, 'us_east_1', '-us-east-1'])(
    'refuses a session region %j that cannot name a host: not sent, and not called dead',
    async (region) => {
      const agent = mocked();
      const c = createLogoutClient({ region: 'us-east-1', dispatcher: agent });
      const result = await c.logout({ accessToken: 'aoa1', region: region as string });
      expect(result).toMatchObject({ outcome: 'not_sent', reason: 'invalid_region', attempts: 0 });
      await agent.close();
    },
  );

  it.each([
    ['EU-WEST-1', 'https://portal.sso.eu-west-1.amazonaws.com'],
    ['  eu-west-1 ', 'https://portal.sso.eu-west-1.amazonaws.com'],
    ['CN-NORTH-1', 'https://portal.sso.cn-north-1.amazonaws.com.cn'],
    ['fips-us-east-1', 'https://portal.sso-fips.us-east-1.amazonaws.com'],
    ['us-east-1-fips', 'https://portal.sso-fips.us-east-1.amazonaws.com'],
    ['fips-us-gov-west-1', 'https://portal.sso.us-gov-west-1.amazonaws.com'],
    ['aws-fips', 'https://portal.sso-fips.us-east-1.amazonaws.com'],
  ])('normalises the session region %j as the SDK does and sends to %s', async (region, host) => {
    const agent = mocked();
    agent.get(host).intercept({ path: '/logout', method: 'POST' }).reply(200, '');
    const c = createLogoutClient({ region: 'eu-central-1', dispatcher: agent });
    expect(await c.logout({ accessToken: 'aoa1', region })).toMatchObject({ outcome: 'revoked', attempts: 1 });
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('ignores the session region, however odd, when the endpoint is fixed', async () => {
    for (const region of ['evil.example/x', 'eu-west-1', 42]) {
      const result = await client().logout({ accessToken: portal.issueToken(), region: region as string });
      expect(result).toMatchObject({ outcome: 'revoked', attempts: 1 });
    }
    expect(portal.calls.map((c) => c.path)).toEqual(['/logout', '/logout', '/logout']);
  });
});

describe('configuration', () => {
  it.each([
    [{}, /set `region`/],
    [{ region: 'us east 1' }, /`region` must be an AWS region .*; got "us east 1"\. Did you mean "us-east-1"\?/],
    [{ region: 'eu-west' }, /got "eu-west"\. Did you mean "eu-west-1" or "eu-west-2" or "eu-west-3"\?/],
    [{ region: 'us-east-1a' }, /Did you mean "us-east-1"/],
    [{ region: 'EU-WEST-1' }, /Did you mean "eu-west-1"/],
    [{ region: 'mars-north-1' }, /Regions look like "us-east-1"/],
    [{ region: 42 }, /got 42/],
    [{ region: 'fips-us-east-1' }, /useFipsEndpoint: true/],
    [{ endpoint: 'not a url' }, /`endpoint` is not a URL/],
    [{ endpoint: 'ftp://x.example' }, /http\(s\)/],
    [{ endpoint: 'https://user:pw@x.example' }, /without credentials/],
    [{ region: 'us-east-1', useFipsEndpoint: 'yes' }, /`useFipsEndpoint` must be true or false/],
    [{ region: 'us-east-1', maxAttempts: 0 }, /`maxAttempts`/],
    [{ region: 'us-east-1', dispatcher: {} }, /`dispatcher`/],
  ])('refuses %j', (options, message) => {
    expect(() => createLogoutClient(options as LogoutClientOptions)).toThrow(message);
  });
});

describe('regions', () => {
  it('accepts a region newer than its table when it fits a partition, and warns once', async () => {
    const seen = await warningsDuring(async () => {
      const c = createLogoutClient({ region: 'ap-southeast-9' });
      expect(c.endpointFor()).toBe('https://portal.sso.ap-southeast-9.amazonaws.com');
      await c.close();
    });
    expect(seen).toEqual([expect.objectContaining({ code: 'SSO_SIGNOUT_UNKNOWN_REGION' })]);
    expect(seen[0]?.message).toContain('ap-southeast-9');
  });

  it.each(['us-isof-west-1', 'eu-central-3', 'ap-east-3', 'mx-central-2', 'eusc-de-west-1'])(
    'takes %s as a region newer than its table',
    (region) => {
      expect(portalEndpoint(region)).toMatch(new RegExp(`^https://portal\\.sso\\.${region}\\.`));
    },
  );

  it.each([
    ['eu-wset-1', 'eu-west-1'],
    ['us-esat-1', 'us-east-1'],
    ['eu-westt-1', 'eu-west-1'],
    ['eu-wets-1', 'eu-west-1'],
    ['eu-west-01', 'eu-west-1'],
    ['ap-southest-1', 'ap-southeast-1'],
    ['ue-west-1', 'us-west-1'],
  ])('refuses the typo %s and suggests %s', (region, suggestion) => {
    expect(() => createLogoutClient({ region })).toThrow(new RegExp(`Did you mean .*"${suggestion}"`));
    expect(() => portalEndpoint(region)).toThrow(SignOutConfigError);
  });

  it('portalEndpoint takes the client’s option names and checks its input', () => {
    expect(portalEndpoint('us-east-1')).toBe('https://portal.sso.us-east-1.amazonaws.com');
    expect(portalEndpoint('us-east-1', { useFipsEndpoint: true })).toBe(
      'https://portal.sso-fips.us-east-1.amazonaws.com',
    );
    expect(portalEndpoint('us-east-1', { useDualstackEndpoint: true })).toBe('https://portal.sso.us-east-1.api.aws');
    expect(() => portalEndpoint('eu-west')).toThrow(/Did you mean "eu-west-1"/);
    expect(() => portalEndpoint('us-east-1', { useFipsEndpoint: 'yes' as unknown as boolean })).toThrow(
      /`useFipsEndpoint` must be true or false/,
    );
  });
});
