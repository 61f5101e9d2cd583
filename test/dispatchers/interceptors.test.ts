// An app's dispatcher composed with undici's own retry interceptor (or a RetryAgent) or its
// responseError interceptor, from undici 7 and from undici 8: the portal's answer those turn into
// an error (RequestRetryError, ResponseError) is read as the portal's answer, not as a failed
// connection. A 429 closes the throttle gate for the wait it names, a 401 UnauthorizedException
// proves the token dead, a 5xx is the portal unavailable with its status; nothing the error holds
// but the answer (its message, the request's options) reaches a result.

import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogoutClient, LogoutResult } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { createLogoutClient } from '../../src/core/logout/client.js';

const require = createRequire(import.meta.url);

type Interceptor = (dispatch: Dispatcher['dispatch']) => Dispatcher['dispatch'];

interface RetryOptions {
  readonly maxRetries?: number;
  readonly minTimeout?: number;
  readonly maxTimeout?: number;
  readonly methods?: readonly string[];
}

/** What these tests take from one undici: its Agent, RetryAgent and the two interceptors. */
interface Undici {
  readonly Agent: new () => Dispatcher;
  readonly RetryAgent: new (agent: Dispatcher, options?: RetryOptions) => Dispatcher;
  readonly interceptors: {
    readonly retry: (options?: RetryOptions) => Interceptor;
    readonly responseError: () => Interceptor;
  };
}

/**
 * undici 8 on any Node: its index does not load on a Node older than it asks for (its decompress
 * interceptor needs zstd, from Node 22.15), while its Agent, RetryAgent and these interceptors do,
 * from their own files (the package has no export map).
 */
function undici8(): Undici {
  try {
    return require('undici8') as Undici;
  } catch {
    return {
      Agent: require('undici8/lib/dispatcher/agent.js') as Undici['Agent'],
      RetryAgent: require('undici8/lib/dispatcher/retry-agent.js') as Undici['RetryAgent'],
      interceptors: {
        retry: require('undici8/lib/interceptor/retry.js') as Undici['interceptors']['retry'],
        responseError: require('undici8/lib/interceptor/response-error.js') as Undici['interceptors']['responseError'],
      },
    };
  }
}

// Small and few: a POST is not sent again by default, so these only bound a misstep.
const RETRY: RetryOptions = { maxRetries: 1, minTimeout: 5, maxTimeout: 20 };

let portal: FakePortal;
const open: LogoutClient[] = [];
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  portal = await startFakePortal();
});
afterEach(async () => {
  portal.reset();
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(dispatchers.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await portal.close();
});

/** A client through `dispatcher`, its backoff waits zero so that its own retries cost no time. */
function client(dispatcher: Dispatcher, maxAttempts?: number): LogoutClient {
  dispatchers.push(dispatcher);
  const c = createLogoutClient({ endpoint: portal.url, dispatcher, maxAttempts }, { random: () => 0 });
  open.push(c);
  return c;
}

/** Everything a result shows, as text: what must never hold the token. */
function shown(result: LogoutResult): string {
  return `${JSON.stringify(result)}\n${inspect(result, { depth: 10, showHidden: true })}`;
}

/**
 * An interceptor that writes the request's options, token and all, into any error it sees: what
 * an app's own interceptor may do. Outermost, it sees what undici's interceptors make.
 */
const leaky: Interceptor = (dispatch) => (options, handler) =>
  dispatch(options, {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onResponseStart: (controller, status, headers, message) =>
      handler.onResponseStart?.(controller, status, headers, message),
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, error) => {
      Object.assign(error, { options, message: `${error.message} (${JSON.stringify(options.headers)})` });
      handler.onResponseError?.(controller, error);
    },
  });

describe.each([
  ['undici 7', (): Undici => require('undici') as Undici],
  ['undici 8', undici8],
])('an Agent of %s', (_label, load) => {
  const undici = load();
  const { Agent, RetryAgent, interceptors } = undici;
  const composed = {
    'with the retry interceptor': (): Dispatcher => new Agent().compose(interceptors.retry(RETRY)),
    'in a RetryAgent': (): Dispatcher => new RetryAgent(new Agent(), RETRY),
    'with the responseError interceptor': (): Dispatcher => new Agent().compose(interceptors.responseError()),
  };

  describe.each(Object.entries(composed))('%s', (_how, make) => {
    it('reads a 429 as throttled for the wait it names, and the next call meets the closed gate', async () => {
      const c = client(make());
      portal.setDefault({ kind: 'throttle', retryAfter: 30 });
      const token = portal.issueToken();
      const first = await c.logout({ accessToken: token });
      expect(first).toMatchObject({ outcome: 'throttled', upstreamStatus: 429, attempts: 1, reason: undefined });
      expect(first.cause).toBeUndefined();
      // What is left of the 30 s window when the answer is given: a little time may have passed.
      expect(first.retryAfterMs).toBeGreaterThan(29_000);
      expect(first.retryAfterMs).toBeLessThanOrEqual(30_000);
      const gated = await c.logout({ accessToken: portal.issueToken() });
      expect(gated).toMatchObject({ outcome: 'throttled', attempts: 0, reason: 'throttle_gate' });
      expect(gated.retryAfterMs).toBeGreaterThan(28_000);
      expect(portal.calls).toHaveLength(1);
      expect(shown(first)).not.toContain(token);
    });

    it('reads a 503 as the portal unavailable with its status, and retries it as its own', async () => {
      portal.setDefault({ kind: 'status', status: 503 });
      const result = await client(make()).logout({ accessToken: portal.issueToken() });
      expect(result).toMatchObject({ outcome: 'unavailable', upstreamStatus: 503, attempts: 3, reason: undefined });
      expect(result.cause).toBeUndefined();
      expect(portal.calls).toHaveLength(3);
    });

    it('reads a 401 UnauthorizedException as the token rejected', async () => {
      portal.setDefault('unauthorized');
      const result = await client(make()).logout({ accessToken: portal.issueToken() });
      expect(result).toMatchObject({
        outcome: 'rejected',
        upstreamStatus: 401,
        errorName: 'UnauthorizedException',
        attempts: 1,
        reason: undefined,
      });
    });
  });

  it('with the retry interceptor sending POST again: the last answer it had is read', async () => {
    const c = client(new Agent().compose(interceptors.retry({ ...RETRY, methods: ['POST'] })), 1);
    portal.setDefault({ kind: 'status', status: 502 });
    const result = await c.logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'unavailable', upstreamStatus: 502, attempts: 1, reason: undefined });
    // The interceptor's own second try, within the one attempt.
    expect(portal.calls).toHaveLength(2);
  });

  describe('with the responseError interceptor, the body it read', () => {
    const make = (): Dispatcher => new Agent().compose(interceptors.responseError());

    it('names the error and gives its message, the token scrubbed from them', async () => {
      const token = portal.issueToken();
      portal.setDefault({
        kind: 'status',
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          __type: 'com.amazonaws.switchboard.portal#InvalidRequestException',
          message: `Invalid token ${token}`,
        }),
      });
      const result = await client(make()).logout({ accessToken: token });
      expect(result).toMatchObject({ outcome: 'rejected', upstreamStatus: 400, errorName: 'InvalidRequestException' });
      expect(result.message).toMatch(/^Invalid token /);
      expect(shown(result)).not.toContain(token);
    });

    it('is read up to the bound a body on the wire is read to: the same answer as without the interceptor', async () => {
      const reply = {
        kind: 'status',
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'x'.repeat(20_000), __type: 'InvalidRequestException' }),
      } as const;
      portal.setDefault(reply);
      const plain = await client(new Agent()).logout({ accessToken: portal.issueToken() });
      const through = await client(make()).logout({ accessToken: portal.issueToken() });
      // Cut at its bound, the body's name is past the cut: neither reads it.
      expect(plain).toMatchObject({ outcome: 'bad_response', upstreamStatus: 400, errorName: undefined });
      expect(through).toMatchObject({
        outcome: plain.outcome,
        upstreamStatus: plain.upstreamStatus,
        errorName: plain.errorName,
        message: plain.message,
      });
    });

    it.each([
      ['a JSON string holding error JSON', '"{\\"__type\\":\\"UnauthorizedException\\"}"', 401],
      ['a JSON string holding a throttling name', '"{\\"__type\\":\\"ThrottlingException\\"}"', 400],
      ['JSON that does not parse', '{"__type":"UnauthorizedException"', 401],
      ['a JSON number', '7', 401],
      ['JSON null', 'null', 401],
    ])('is %s: the same answer as without the interceptor', async (_label, body, status) => {
      portal.setDefault({ kind: 'status', status, headers: { 'content-type': 'application/json' }, body });
      const plain = await client(new Agent()).logout({ accessToken: portal.issueToken() });
      const through = await client(make()).logout({ accessToken: portal.issueToken() });
      expect(plain).toMatchObject({ outcome: 'bad_response', upstreamStatus: status });
      expect(through).toMatchObject({
        outcome: plain.outcome,
        upstreamStatus: plain.upstreamStatus,
        errorName: plain.errorName,
        message: plain.message,
      });
    });
  });

  it('nothing but the answer reaches a result, whatever else the error carries', async () => {
    const c = client(new Agent().compose(interceptors.responseError(), leaky));
    const token = portal.issueToken();
    portal.setDefault({ kind: 'throttle', retryAfter: 30 });
    const throttled = await c.logout({ accessToken: token });
    expect(throttled).toMatchObject({ outcome: 'throttled', upstreamStatus: 429, reason: undefined });
    expect(shown(throttled)).not.toContain(token);
    // A failure that carries no answer is the library's own error, made without the message.
    const failing = client(new Agent().compose(leaky));
    portal.setDefault('reset');
    const reset = await failing.logout({ accessToken: token });
    expect(reset).toMatchObject({ outcome: 'unavailable', reason: 'connection_error' });
    expect(shown(reset)).not.toContain(token);
  });
});
