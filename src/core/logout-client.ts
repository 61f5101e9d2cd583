// Calls the IAM Identity Center portal `Logout` API: one bounded, retried, de-duplicated call per token.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { classifyResponse, requestIdOf, type RetryKind, type UpstreamOutcome } from './classify.js';
import { DeadlineSweep } from './deadlines.js';
import { checkConfiguredRegion, normaliseSessionRegion, regionalEndpoint, type EndpointVariant } from './endpoint.js';
import { describeValue, PortalRequestError, SignOutConfigError } from './errors.js';
import { PortalGate } from './portal-gate.js';
import { RecentResults, tokenDigest } from './recent-results.js';
import { backoffMs, isTransientError, retryAfterHintMs, RetryQuota } from './retry.js';
import { printable } from './scrub.js';
import { checkAccessToken, type TokenInfo } from './token.js';
import { sendLogout, type PortalAnswer, type PortalBase } from './transport.js';
import { createWarner } from './warnings.js';

export { MAX_ERROR_BODY_BYTES } from './transport.js';

export interface LogoutClientOptions {
  /**
   * The IAM Identity Center region used when the session does not carry one, e.g. `eu-west-1`.
   * Required unless `endpoint` is given.
   */
  readonly region?: string | undefined;
  /**
   * Send Logout to this base URL instead of the regional endpoint (a proxy, a VPC endpoint, the
   * fake portal in tests). A region stored in the session is then ignored. Cannot be combined with
   * `useFipsEndpoint` or `useDualstackEndpoint`. Default: the regional endpoint of the region.
   */
  readonly endpoint?: string | URL | undefined;
  /** Use the FIPS endpoint of the region. Default `false`. */
  readonly useFipsEndpoint?: boolean | undefined;
  /** Use the dual-stack (IPv6) endpoint of the region. Default `false`. */
  readonly useDualstackEndpoint?: boolean | undefined;
  /** Deadline for the whole call, retries and waits included, in milliseconds. Default `3000`. */
  readonly timeoutMs?: number | undefined;
  /** Time allowed to open a connection to the portal, in milliseconds. Default `1000`. */
  readonly connectTimeoutMs?: number | undefined;
  /** Attempts in all, as the SDKs' standard retry mode. Default `3`; `1` disables retries. */
  readonly maxAttempts?: number | undefined;
  /** Upper bound on requests in flight per portal host; the rest wait their turn. Default `16`. */
  readonly maxConnections?: number | undefined;
  /** Upper bound on distinct Logout calls in progress; past it, calls fail fast as unavailable. Default `1000`. */
  readonly maxPending?: number | undefined;
  /**
   * Upper bound on any wait the portal (or a proxy in front of it) asks for, in milliseconds: the
   * throttle window during which no call is sent, and the `Retry-After` announced to the browser.
   * One odd `Retry-After: 86400` must not lock every user out for a day. Default `60000`.
   */
  readonly maxRetryAfterMs?: number | undefined;
  /**
   * Without a `dispatcher`: send through the proxy that `HTTPS_PROXY` / `HTTP_PROXY` name (either
   * case), except for hosts `NO_PROXY` lists, as the AWS CLI and SDKs do. `false` always connects
   * directly. Read when the client is created. Default `true`.
   */
  readonly proxyFromEnvironment?: boolean | undefined;
  /**
   * An undici dispatcher to send requests through (a `ProxyAgent`, an `Agent` with a custom CA, a
   * `MockAgent`). Default: an own keep-alive `Agent` (through the environment's proxy, see
   * `proxyFromEnvironment`), closed by `close()`.
   */
  readonly dispatcher?: Dispatcher | undefined;
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

/** True when the environment names a proxy for outgoing requests. */
function environmentProxy(): boolean {
  return PROXY_VARIABLES.some((name) => (process.env[name] ?? '') !== '');
}

/** The token to revoke, and optionally the region it belongs to (it wins over the configured one). */
export type LogoutInput = TokenInfo;

/** Why a call ended without an HTTP answer from the portal, where that matters. */
export type LogoutReason =
  | 'invalid_token'
  | 'invalid_region'
  | 'connection_error'
  | 'malformed_response'
  | 'deadline'
  | 'throttle_gate'
  | 'overloaded';

/** What happened to one Logout call, after retries. Never contains the token. */
export interface LogoutResult {
  readonly outcome: UpstreamOutcome;
  /** The last HTTP status the portal answered with, if it answered at all. */
  readonly upstreamStatus: number | undefined;
  /** The portal's error name, cleaned as the SDKs clean it (token removed, escaped, bounded). */
  readonly errorName: string | undefined;
  /** The portal's error message (token removed, escaped, bounded). */
  readonly message: string | undefined;
  /** The portal's request id (token removed, escaped, bounded). */
  readonly requestId: string | undefined;
  /** HTTP requests made (0 when the call was refused locally or by the throttle gate). */
  readonly attempts: number;
  readonly durationMs: number;
  /** The wait the portal asked for (throttled or unavailable), in milliseconds, capped by `maxRetryAfterMs`. */
  readonly retryAfterMs: number | undefined;
  readonly reason: LogoutReason | undefined;
  /** True when this caller joined a call already in flight for the same token, or one just made. */
  readonly shared: boolean;
  /** The failure behind an answer-less call (`unavailable`, `timeout`, `bad_response`). */
  readonly cause: PortalRequestError | undefined;
}

export interface LogoutClient {
  /** Revokes the token. Never rejects for upstream failures: the result says what happened. */
  logout(input: LogoutInput): Promise<LogoutResult>;
  /** The deadline of one call, in milliseconds (`timeoutMs`). */
  readonly timeoutMs: number;
  /** The base URL Logout goes to for `region` (or the configured region). */
  endpointFor(region?: string): string;
  /** Closes the connections of the client's own dispatcher (not of an injected one). */
  close(): Promise<void>;
}

/** Test seams; not part of the public API. */
export interface LogoutClientInternals {
  readonly random?: () => number;
  readonly now?: () => number;
}

const DEFAULTS = {
  timeoutMs: 3000,
  connectTimeoutMs: 1000,
  maxAttempts: 3,
  maxConnections: 16,
  maxPending: 1000,
  maxRetryAfterMs: 60_000,
} as const;

// undici takes 100 ms and more to load; importing this package must not cost that. It is loaded in
// the background when a client that needs its own Agent is created, well before the first sign-out.
let undici: Promise<typeof import('undici')> | undefined;
function loadUndici(): Promise<typeof import('undici')> {
  return (undici ??= import('undici'));
}

/** The throttle window announced when the portal throttles without naming a wait. */
export const DEFAULT_THROTTLE_WINDOW_MS = 1000;
// A token just revoked (or refused) is answered from memory for this long: other tabs of the same
// session that read the token just before the session ended must not call the portal again.
const RECENT_TTL_MS = 60_000;
const RECENT_MAX = 10_000;
// Strings from the portal are cut to these lengths before anyone sees them.
const MAX_NAME_LENGTH = 100;
const MAX_MESSAGE_LENGTH = 300;
const MAX_REQUEST_ID_LENGTH = 200;

function positiveInteger(option: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new SignOutConfigError(
      option,
      `\`${option}\` must be a whole number from 1 to ${String(max)}; got ${describeValue(value)}.`,
    );
  }
  return value;
}

function booleanOption(option: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new SignOutConfigError(option, `\`${option}\` must be true or false; got ${describeValue(value)}.`);
  }
  return value;
}

function parseEndpoint(endpoint: string | URL): PortalBase {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new SignOutConfigError('endpoint', `\`endpoint\` is not a URL: ${describeValue(endpoint)}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SignOutConfigError('endpoint', `\`endpoint\` must be an http(s) URL; got "${url.protocol}".`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new SignOutConfigError(
      'endpoint',
      '`endpoint` must be a base URL without credentials, query or fragment, e.g. "https://sso-proxy.internal".',
    );
  }
  // The operation path is appended to the endpoint's own path, as the SDKs do.
  return { origin: url.origin, path: `${url.pathname.replace(/\/+$/, '')}/logout` };
}

function result(partial: Partial<LogoutResult> & Pick<LogoutResult, 'outcome'>): LogoutResult {
  return {
    upstreamStatus: undefined,
    errorName: undefined,
    message: undefined,
    requestId: undefined,
    attempts: 0,
    durationMs: 0,
    retryAfterMs: undefined,
    reason: undefined,
    shared: false,
    cause: undefined,
    ...partial,
  };
}

/** Where a call goes: the portal base for the token's region, or why there is none. */
type Destination = { readonly base: PortalBase } | { readonly refused: LogoutReason };

/** Picks the portal for a call: the fixed endpoint, or the session's region, else the configured one. */
function destinations(
  options: LogoutClientOptions,
  region: string | undefined,
  variant: EndpointVariant,
): (sessionRegion: unknown) => Destination {
  if (options.endpoint !== undefined) {
    // A fixed endpoint is where every call goes: the session's region has no say.
    const fixed = { base: parseEndpoint(options.endpoint) };
    return () => fixed;
  }
  if (region === undefined) {
    throw new SignOutConfigError(
      'region',
      'set `region` (the IAM Identity Center region, e.g. "us-east-1") or `endpoint`: without either there is nowhere to send Logout.',
    );
  }
  // Endpoints are derived once per region seen, not per call.
  const cache = new Map<string, Destination>();
  const regional = (name: string, fips: boolean): Destination => {
    const key = `${name}\n${String(fips)}`;
    let found = cache.get(key);
    if (found === undefined) {
      found = {
        base: { origin: regionalEndpoint(name, { ...variant, useFips: variant.useFips || fips }), path: '/logout' },
      };
      if (cache.size < 1000) cache.set(key, found);
    }
    return found;
  };
  const configured = regional(region, false);
  return (sessionRegion) => {
    if (sessionRegion === undefined || sessionRegion === null || sessionRegion === '') return configured;
    const normal = normaliseSessionRegion(sessionRegion);
    // A region that is not a host label names no portal: the token is not sent anywhere.
    if (normal === undefined) return { refused: 'invalid_region' };
    return regional(normal.region, normal.fips);
  };
}

/** What one attempt came back with, strings already made safe to show. */
interface Attempt {
  readonly answer: PortalAnswer | undefined;
  readonly error: PortalRequestError | undefined;
  readonly outcome: UpstreamOutcome;
  readonly retry: RetryKind | undefined;
  readonly errorName: string | undefined;
  readonly message: string | undefined;
  readonly requestId: string | undefined;
  /** The wait the portal named, capped. */
  readonly hintMs: number | undefined;
}

/**
 * Creates a client for the portal's Logout API.
 *
 * @example
 * const client = createLogoutClient({ region: 'eu-west-1', timeoutMs: 3000 });
 * const result = await client.logout({ accessToken });
 * if (result.outcome === 'revoked') { ... }
 */
export function createLogoutClient(options: LogoutClientOptions, internals: LogoutClientInternals = {}): LogoutClient {
  const region = options.region;
  if (region !== undefined && checkConfiguredRegion('region', region) === 'newer') {
    createWarner()(
      'SSO_SIGNOUT_UNKNOWN_REGION',
      `region "${region}" fits an AWS partition but is newer than this package's region table; if sign-outs fail with sso_unavailable, check the name.`,
    );
  }
  const useFips = booleanOption('useFipsEndpoint', options.useFipsEndpoint);
  const useDualStack = booleanOption('useDualstackEndpoint', options.useDualstackEndpoint);
  if (options.endpoint !== undefined && (useFips || useDualStack)) {
    const variant = useFips ? 'useFipsEndpoint' : 'useDualstackEndpoint';
    throw new SignOutConfigError(
      variant,
      `a custom \`endpoint\` cannot be combined with \`${variant}\`: point \`endpoint\` at the variant you want.`,
    );
  }
  const destinationFor = destinations(options, region, { useFips, useDualStack });
  const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs, 600_000);
  const connectTimeoutMs = positiveInteger(
    'connectTimeoutMs',
    options.connectTimeoutMs,
    Math.min(DEFAULTS.connectTimeoutMs, timeoutMs),
    600_000,
  );
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts, DEFAULTS.maxAttempts, 10);
  const maxConnections = positiveInteger('maxConnections', options.maxConnections, DEFAULTS.maxConnections, 10_000);
  const maxPending = positiveInteger('maxPending', options.maxPending, DEFAULTS.maxPending, 1_000_000);
  const maxRetryAfterMs = positiveInteger(
    'maxRetryAfterMs',
    options.maxRetryAfterMs,
    DEFAULTS.maxRetryAfterMs,
    86_400_000,
  );
  if (options.dispatcher !== undefined && typeof (options.dispatcher as { request?: unknown }).request !== 'function') {
    throw new SignOutConfigError('dispatcher', '`dispatcher` must be an undici Dispatcher (Agent, Pool, ProxyAgent…).');
  }
  const proxied = booleanOption('proxyFromEnvironment', options.proxyFromEnvironment, true) && environmentProxy();
  let ownDispatcher: Dispatcher | undefined;
  let dispatcher: Dispatcher | undefined = options.dispatcher;
  const dispatcherReady: Promise<Dispatcher> =
    dispatcher !== undefined
      ? Promise.resolve(dispatcher)
      : loadUndici().then(({ Agent, EnvHttpProxyAgent }) => {
          const agentOptions = {
            connections: maxConnections,
            connect: { timeout: connectTimeoutMs },
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          };
          // The proxy agent reads HTTP(S)_PROXY and NO_PROXY itself; a plain Agent costs less when
          // there is no proxy to go through.
          ownDispatcher = proxied ? new EnvHttpProxyAgent(agentOptions) : new Agent(agentOptions);
          dispatcher = ownDispatcher;
          return ownDispatcher;
        });
  // A failed load surfaces on the first call (as a connection error), not as an unhandled rejection.
  dispatcherReady.catch(() => undefined);
  const random = internals.random ?? Math.random;
  const now = internals.now ?? Date.now;

  const sweep = new DeadlineSweep();
  const quota = new RetryQuota();
  const gates = new Map<string, PortalGate>();
  const gateOf = (origin: string): PortalGate => {
    let gate = gates.get(origin);
    if (gate === undefined) {
      gate = new PortalGate(maxConnections, sweep, now);
      gates.set(origin, gate);
    }
    return gate;
  };
  const inFlight = new Map<string, Promise<LogoutResult>>();
  // Only tokens the portal revoked or refused are kept here: dead tokens, worth nothing to anyone.
  const recent = new RecentResults<LogoutResult>(RECENT_TTL_MS, RECENT_MAX, now);
  const capHint = (ms: number | undefined): number | undefined =>
    ms === undefined ? undefined : Math.min(ms, maxRetryAfterMs);
  // The gate's window after a throttled answer: the wait the portal named (a short one is honoured:
  // it asked to be called again that soon), or 1 s when it named none; never past the cap.
  const throttleWindow = (hintMs: number | undefined): number =>
    Math.min(hintMs ?? DEFAULT_THROTTLE_WINDOW_MS, maxRetryAfterMs);

  async function attempt(base: PortalBase, token: string, deadline: number): Promise<Attempt> {
    let answer: PortalAnswer;
    try {
      answer = await sendLogout(dispatcher ?? (await dispatcherReady), base, token, deadline, sweep);
    } catch (error) {
      const own =
        error instanceof PortalRequestError
          ? error
          : new PortalRequestError('connection', 'the request to the portal failed');
      const outcome: UpstreamOutcome =
        own.failure === 'deadline' ? 'timeout' : own.failure === 'malformed_response' ? 'bad_response' : 'unavailable';
      return {
        answer: undefined,
        error: own,
        outcome,
        retry: own.failure === 'connection' && isTransientError(own) ? 'transient' : undefined,
        errorName: undefined,
        message: undefined,
        requestId: undefined,
        hintMs: undefined,
      };
    }
    const meaning = classifyResponse(answer.status, answer.headers, answer.body, answer.complete);
    const requestId = requestIdOf(answer.headers);
    // Everything the portal said is scrubbed here, once: nothing downstream sees it raw.
    return {
      answer,
      error: undefined,
      ...meaning,
      errorName: meaning.errorName === undefined ? undefined : printable(meaning.errorName, MAX_NAME_LENGTH, token),
      message: meaning.message === undefined ? undefined : printable(meaning.message, MAX_MESSAGE_LENGTH, token),
      requestId: requestId === undefined ? undefined : printable(requestId, MAX_REQUEST_ID_LENGTH, token),
      hintMs: meaning.retry === undefined ? undefined : capHint(retryAfterHintMs(answer.headers, now())),
    };
  }

  // The retry policy of the SDKs' standard mode, inside one deadline, behind the portal's gate.
  async function call(base: PortalBase, token: string): Promise<LogoutResult> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    const gate = gateOf(base.origin);
    let attempts = 0;
    let last: Attempt | undefined;
    let lastRetryCost: number | undefined;
    // The end of the throttle window this call's own last answer opened.
    let ownWindowUntil = 0;
    for (let retry = 0; ; retry++) {
      const refusal = await gate.acquire(deadline, ownWindowUntil);
      if (refusal !== undefined) {
        if (last === undefined || refusal === 'deadline') {
          return result({
            outcome: refusal === 'deadline' ? 'timeout' : 'throttled',
            reason: refusal === 'deadline' ? 'deadline' : 'throttle_gate',
            retryAfterMs: refusal === 'throttled' ? gate.remaining() : undefined,
            attempts,
            durationMs: performance.now() - started,
            upstreamStatus: last?.answer?.status,
            requestId: last?.requestId,
          });
        }
        // Another call's answer closed the gate while this one waited to retry: what this call
        // last heard stands, and it waits no longer.
        break;
      }
      attempts++;
      try {
        last = await attempt(base, token, deadline);
        // Closed before the slot is passed on: the next caller in line must already see it. This
        // call's own retry may pass the window it opened; everyone else is answered at once.
        if (last.retry === 'throttling') {
          gate.close(throttleWindow(last.hintMs));
          ownWindowUntil = gate.until;
        }
      } finally {
        gate.release();
      }
      if (last.outcome === 'timeout' || last.retry === undefined || attempts >= maxAttempts) break;
      const backoff = backoffMs(retry, last.retry === 'throttling', random);
      // After a named wait, the retries of every caller the portal throttled must not land together.
      const wait = last.hintMs === undefined ? backoff : last.hintMs + backoff;
      // Never wait past the deadline: answer now with what the portal said.
      if (performance.now() + wait >= deadline) break;
      const cost = quota.take(last.retry === 'throttling');
      if (cost === undefined) break;
      lastRetryCost = cost;
      await sleep(wait);
    }
    return finish(last, attempts, started, gate, lastRetryCost);
  }

  function finish(
    last: Attempt,
    attempts: number,
    started: number,
    gate: PortalGate,
    lastRetryCost: number | undefined,
  ): LogoutResult {
    if (last.outcome === 'revoked') quota.succeeded(lastRetryCost);
    let retryAfterMs: number | undefined;
    if (last.outcome === 'throttled') {
      // The gate closed when the answer was heard (for a throttling name on a non-429 too, whose
      // outcome may be another); the wait announced is what is left of its window.
      gate.close(throttleWindow(last.hintMs));
      retryAfterMs = gate.remaining();
    } else if (last.outcome === 'unavailable') {
      retryAfterMs = last.hintMs;
    }
    const reason: LogoutReason | undefined =
      last.error === undefined
        ? undefined
        : last.error.failure === 'deadline'
          ? 'deadline'
          : last.error.failure === 'malformed_response'
            ? 'malformed_response'
            : 'connection_error';
    return result({
      outcome: last.outcome,
      upstreamStatus: last.answer?.status,
      errorName: last.errorName,
      message: last.message,
      requestId: last.requestId,
      attempts,
      durationMs: performance.now() - started,
      retryAfterMs,
      reason,
      cause: last.error,
    });
  }

  function logout(input: LogoutInput): Promise<LogoutResult> {
    const token = checkAccessToken(input.accessToken);
    if (token === undefined) {
      return Promise.resolve(result({ outcome: 'not_sent', reason: 'invalid_token' }));
    }
    const destination = destinationFor(input.region);
    if ('refused' in destination) return Promise.resolve(result({ outcome: 'not_sent', reason: destination.refused }));
    const { base } = destination;
    const key = tokenDigest(`${base.origin}${base.path}`, token);
    const existing = inFlight.get(key);
    if (existing !== undefined) return existing.then((r) => ({ ...r, shared: true }));
    const known = recent.get(key);
    if (known !== undefined) return Promise.resolve({ ...known, attempts: 0, durationMs: 0, shared: true });
    const gated = gateOf(base.origin).remaining();
    if (gated > 0) {
      return Promise.resolve(result({ outcome: 'throttled', retryAfterMs: gated, reason: 'throttle_gate' }));
    }
    if (inFlight.size >= maxPending) {
      return Promise.resolve(result({ outcome: 'unavailable', reason: 'overloaded' }));
    }
    const pending = call(base, token).then((r) => {
      if (r.outcome === 'revoked' || r.outcome === 'rejected') recent.set(key, { ...r, cause: undefined });
      return r;
    });
    inFlight.set(key, pending);
    const cleanup = (): void => {
      inFlight.delete(key);
    };
    pending.then(cleanup, cleanup);
    return pending;
  }

  return {
    logout,
    timeoutMs,
    endpointFor(sessionRegion?: string): string {
      const destination = destinationFor(sessionRegion);
      if ('refused' in destination) {
        throw new SignOutConfigError('region', `${describeValue(sessionRegion)} is not an AWS region name.`);
      }
      return `${destination.base.origin}${destination.base.path.replace(/\/logout$/, '')}`;
    },
    async close(): Promise<void> {
      if (options.dispatcher !== undefined) return;
      await dispatcherReady.catch(() => undefined);
      await ownDispatcher?.close();
    },
  };
}
