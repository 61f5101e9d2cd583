// A failing portal, case by case, each mapped to its row of the contract; then nothing is left behind.

import { Agent } from 'undici';
import request from 'supertest';
import type { RequestListener } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient, type LogoutClientOptions } from 'sso-signout';
import { startFakePortal, type FakePortal, type PortalReply } from 'sso-signout/testing';
import { ADAPTERS } from './helpers/adapters.js';
import { cookieHeaderFrom } from './helpers/cookies.js';
import { REFUSED_URL } from './helpers/refused.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let portal: FakePortal;
let baseline: Map<string, number>;
const agents: Agent[] = [];
const clients: LogoutClient[] = [];

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  baseline = resourceCounts();
  portal = await startFakePortal();
});

afterEach(() => {
  portal.reset();
});

afterAll(async () => {
  // Every call has settled: no request is still running or queued on any dispatcher.
  for (const agent of agents) {
    for (const [origin, stats] of Object.entries(agent.stats)) {
      expect({ origin, running: stats.running, pending: stats.pending }).toEqual({ origin, running: 0, pending: 0 });
    }
  }
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(agents.map((a) => a.close()));
  await portal.close();
  // Closed sockets and servers release their handles a few turns of the event loop later; a real
  // leak never does. (Polled with setImmediate, which adds no timer of its own.)
  const kinds = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
  const open = () => kinds.map((kind) => ({ kind, open: resourceCounts().get(kind) ?? 0 }));
  const expected = kinds.map((kind) => ({ kind, open: baseline.get(kind) ?? 0 }));
  for (let turn = 0; turn < 20_000 && JSON.stringify(open()) !== JSON.stringify(expected); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(open()).toEqual(expected);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const DEADLINE_MS = 800;

function client(options: Partial<LogoutClientOptions> = {}): LogoutClient {
  const dispatcher = new Agent({ connections: 8 });
  agents.push(dispatcher);
  const c = createLogoutClient({ endpoint: portal.url, timeoutMs: DEADLINE_MS, dispatcher, ...options });
  clients.push(c);
  return c;
}

interface Expected {
  readonly status: number;
  readonly code: string | undefined;
  readonly signedOut: boolean;
}

const REVOKED: Expected = { status: 200, code: undefined, signedOut: true };
const REJECTED: Expected = { status: 401, code: 'sso_token_rejected', signedOut: true };
const THROTTLED: Expected = { status: 429, code: 'sso_throttled', signedOut: false };
const UNAVAILABLE: Expected = { status: 503, code: 'sso_unavailable', signedOut: false };
const TIMEOUT: Expected = { status: 504, code: 'sso_timeout', signedOut: false };
const BAD: Expected = { status: 502, code: 'sso_bad_response', signedOut: false };

const html = '<!doctype html><html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>';
const inFiveSeconds = () => new Date(Date.now() + 5000);

interface Case {
  readonly name: string;
  readonly replies: readonly PortalReply[] | (() => readonly PortalReply[]);
  readonly expected: Expected;
  readonly retryAfter?: readonly [number, number];
  readonly calls?: number;
}

const CASES: readonly Case[] = [
  {
    name: 'reset before the response (every attempt)',
    replies: ['reset', 'reset', 'reset'],
    expected: UNAVAILABLE,
    calls: 3,
  },
  {
    name: 'reset during an error response',
    replies: Array(3).fill({ kind: 'reset-during', status: 500 }),
    expected: UNAVAILABLE,
  },
  {
    name: 'reset during the body of a 200',
    replies: [{ kind: 'reset-during', status: 200 }],
    expected: REVOKED,
    calls: 1,
  },
  { name: 'slow headers, in time', replies: [{ kind: 'real', delayMs: 200 }], expected: REVOKED },
  { name: 'slow headers, past the deadline', replies: [{ kind: 'real', delayMs: 5000 }], expected: TIMEOUT, calls: 1 },
  {
    name: 'slow body, in time',
    replies: [
      {
        kind: 'slow-body',
        status: 401,
        chunks: 3,
        intervalMs: 50,
        body: '{"__type":"UnauthorizedException","message":"gone"}',
      },
    ],
    expected: REJECTED,
  },
  {
    name: 'slow body, in time, a 401 that names no error (not the portal’s words)',
    replies: [{ kind: 'slow-body', status: 401, chunks: 3, intervalMs: 50, body: '{"message":"gone"}' }],
    expected: BAD,
    calls: 1,
  },
  {
    name: 'slow body, past the deadline',
    replies: [{ kind: 'slow-body', status: 500, chunks: 10, intervalMs: 300 }],
    expected: TIMEOUT,
  },
  { name: 'hang past the deadline', replies: ['hang'], expected: TIMEOUT, calls: 1 },
  {
    name: 'an endless body on a 400 that names no error (read bounded)',
    replies: [{ kind: 'endless-body', status: 400 }],
    expected: BAD,
    calls: 1,
  },
  {
    name: 'an endless body on a 500 (read bounded)',
    replies: Array(3).fill({ kind: 'endless-body', status: 500 }),
    expected: UNAVAILABLE,
  },
  {
    name: 'malformed JSON on a 401 (no error name can be read)',
    replies: [{ kind: 'status', status: 401, body: '{"message": "unterminated' }],
    expected: BAD,
    calls: 1,
  },
  { name: 'malformed JSON on a 200', replies: [{ kind: 'status', status: 200, body: '{{{' }], expected: REVOKED },
  {
    name: 'an HTML error page from a proxy (502)',
    replies: Array(3).fill({ kind: 'status', status: 502, body: html }),
    expected: UNAVAILABLE,
    calls: 3,
  },
  {
    name: 'an HTML error page from a proxy (403)',
    replies: [{ kind: 'status', status: 403, body: html }],
    expected: BAD,
    calls: 1,
  },
  {
    name: 'a 302 (never followed)',
    replies: [{ kind: 'redirect', status: 302, location: '/elsewhere' }],
    expected: BAD,
    calls: 1,
  },
  { name: 'bytes that are not HTTP', replies: ['garbage'], expected: BAD, calls: 1 },
  ...[500, 502, 503, 504].map((status) => ({
    name: `a ${String(status)} storm`,
    replies: Array<PortalReply>(3).fill({ kind: 'status', status }),
    expected: UNAVAILABLE,
    calls: 3,
  })),
  {
    name: 'a 503 storm that ends in time',
    replies: [{ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, 'real'],
    expected: REVOKED,
    calls: 3,
  },
  {
    name: '429 with Retry-After in seconds',
    replies: [{ kind: 'throttle', retryAfter: 4 }],
    expected: THROTTLED,
    retryAfter: [4, 4],
    calls: 1,
  },
  {
    name: '429 with Retry-After as an HTTP date',
    replies: () => [{ kind: 'throttle', retryAfter: inFiveSeconds() }],
    expected: THROTTLED,
    retryAfter: [4, 5],
    calls: 1,
  },
  {
    name: '429 with x-amz-retry-after in milliseconds, in time',
    replies: [{ kind: 'throttle', amzRetryAfterMs: 20 }],
    expected: REVOKED,
    calls: 2,
  },
  {
    name: '429 with x-amz-retry-after in milliseconds, too long',
    replies: [{ kind: 'throttle', amzRetryAfterMs: 2500 }],
    expected: THROTTLED,
    retryAfter: [3, 3],
    calls: 1,
  },
  {
    name: '429 asking for a wait longer than the deadline (announced capped at 60 s)',
    replies: [{ kind: 'throttle', retryAfter: 3600 }],
    expected: THROTTLED,
    retryAfter: [60, 60],
    calls: 1,
  },
];

const SERVER_SIDE = ADAPTERS.filter((a) => a.serverSide);

describe.each(SERVER_SIDE)('a failing portal, on $name', (adapter) => {
  async function signedIn(app: RequestListener) {
    const token = portal.issueToken();
    const res = await request(app).post('/test/signin').send({ accessToken: token }).expect(200);
    return { token, cookie: cookieHeaderFrom(res) };
  }

  async function signedInNow(app: RequestListener, cookie: string) {
    const res = await request(app).get('/me').set('Cookie', cookie).expect(200);
    return (res.body as { signedIn: boolean }).signedIn;
  }

  it.each(CASES)('$name', async ({ replies, expected, retryAfter, calls }) => {
    const app = adapter.build(client());
    const { cookie, token } = await signedIn(app);
    portal.enqueue(...(typeof replies === 'function' ? replies() : replies));
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json');
    const body = JSON.parse(res.text) as { code?: string; signedOut: boolean; retryAfter?: number };
    expect({ status: res.status, code: body.code, signedOut: body.signedOut }).toEqual(expected);
    expect(res.headers['cache-control']).toBe('no-store');
    if (retryAfter !== undefined) {
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(retryAfter[0]);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(retryAfter[1]);
      expect(body.retryAfter).toBe(Number(res.headers['retry-after']));
    }
    if (calls !== undefined) expect(portal.calls).toHaveLength(calls);
    // The session is usable exactly when the answer says it was not signed out.
    expect(await signedInNow(app, cookie)).toBe(!expected.signedOut);
    if (expected === REVOKED) expect(portal.isActive(token)).toBe(false);
  });

  it('answers 503 when the portal refuses connections', async () => {
    const app = adapter.build(client({ endpoint: REFUSED_URL }));
    const { cookie } = await signedIn(app);
    const res = await request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json').expect(503);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'sso_unavailable', signedOut: false });
    expect(await signedInNow(app, cookie)).toBe(true);
  });

  it('stays up through 40 concurrent sign-outs in a 500 storm, each answered 503', async () => {
    const app = adapter.build(client({ maxAttempts: 2 }));
    const users = await Promise.all(Array.from({ length: 40 }, () => signedIn(app)));
    portal.setDefault({ kind: 'status', status: 500 });
    const answers = await Promise.all(
      users.map(({ cookie }) => request(app).post('/signout').set('Cookie', cookie).set('Accept', 'application/json')),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(503));
    portal.setDefault('real');
    for (const { cookie } of users.slice(0, 5)) expect(await signedInNow(app, cookie)).toBe(true);
  });
});
