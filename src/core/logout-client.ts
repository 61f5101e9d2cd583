// Calls the IAM Identity Center portal `Logout` API: one bounded, retried, de-duplicated call per token.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent, Dispatcher } from 'undici';
import { classifyResponse, requestIdOf, type UpstreamOutcome } from './classify.js';
import { isValidRegion, portalEndpoint, type EndpointVariant } from './endpoint.js';
import { describeValue, SignOutConfigError } from './errors.js';
import { backoffMs, errorCodeOf, isTransientError, retryAfterHintMs } from './retry.js';
import { checkAccessToken } from './token.js';
import { VERSION } from './version.js';

export interface LogoutClientOptions {
  /**
   * The IAM Identity Center region used when the session does not carry one, e.g. `eu-west-1`.
   * Required unless `endpoint` is given.
   */
  readonly region?: string | undefined;
  /**
   * Send Logout to this base URL instead of the regional endpoint (a proxy, a VPC endpoint, the
   * fake portal in tests). Cannot be combined with `useFipsEndpoint` or `useDualstackEndpoint`.
   * Default: the regional endpoint of the region.
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
  /** Upper bound on open connections per portal host. Default `16`. */
  readonly maxConnections?: number | undefined;
  /** Upper bound on distinct Logout calls in progress; past it, calls fail fast as unavailable. Default `1000`. */
  readonly maxPending?: number | undefined;
  /**
   * An undici dispatcher to send requests through (a `ProxyAgent`, an `Agent` with a custom CA, a
   * `MockAgent`). Default: an own keep-alive `Agent`, closed by `close()`.
   */
  readonly dispatcher?: Dispatcher | undefined;
}

/** The token to revoke, and optionally the region it belongs to (it wins over the configured one). */
export interface LogoutInput {
  readonly accessToken: string;
  readonly region?: string | undefined;
}

/** Why a call ended without an HTTP answer from the portal, where that matters. */
export type LogoutReason =
  | 'invalid_token'
  | 'connection_error'
  | 'malformed_response'
  | 'deadline'
  | 'throttle_gate'
  | 'overloaded'
  | 'invalid_region';

/** What happened to one Logout call, after retries. Never contains the token. */
export interface LogoutResult {
  readonly outcome: UpstreamOutcome;
  /** The last HTTP status the portal answered with, if it answered at all. */
  readonly upstreamStatus: number | undefined;
  /** The portal's error name, cleaned as the SDKs clean it, e.g. `UnauthorizedException`. */
  readonly errorName: string | undefined;
  /** The portal's error message (bounded, control characters removed). */
  readonly message: string | undefined;
  readonly requestId: string | undefined;
  /** HTTP requests made (0 when the call was refused locally or by the throttle gate). */
  readonly attempts: number;
  readonly durationMs: number;
  /** The wait the portal asked for (throttled or unavailable), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  readonly reason: LogoutReason | undefined;
  /** True when this caller joined a call already in flight for the same token. */
  readonly shared: boolean;
  /** The low-level failure behind `unavailable` or `timeout`. */
  readonly cause: Error | undefined;
}

export interface LogoutClient {
  /** Revokes the token. Never rejects for upstream failures: the result says what happened. */
  logout(input: LogoutInput): Promise<LogoutResult>;
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
} as const;

// undici takes 100 ms and more to load; importing this package must not cost that. It is loaded in
// the background when a client that needs its own Agent is created, well before the first sign-out.
let undici: Promise<typeof import('undici')> | undefined;
function loadUndici(): Promise<typeof import('undici')> {
  return (undici ??= import('undici'));
}

/** Error bodies are read up to this many bytes; the SDK's longest real error body is far shorter. */
export const MAX_ERROR_BODY_BYTES = 8192;
// When the portal throttles without saying how long to wait, this is the window we announce.
const DEFAULT_THROTTLE_WINDOW_MS = 1000;
// A token just revoked (or refused) is answered from memory for this long: other tabs of the same
// session that read the token just before the session ended must not call the portal again.
const RECENT_TTL_MS = 60_000;
const RECENT_MAX = 10_000;

class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
  readonly code = 'SSO_SIGNOUT_DEADLINE';
  constructor(ms: number) {
    super(`the Logout deadline of ${String(ms)} ms was reached`);
  }
}

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

function booleanOption(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new SignOutConfigError(option, `\`${option}\` must be true or false; got ${describeValue(value)}.`);
  }
  return value;
}

function checkRegion(option: string, region: unknown): string | undefined {
  if (region === undefined) return undefined;
  if (typeof region !== 'string' || !isValidRegion(region)) {
    throw new SignOutConfigError(
      option,
      `\`${option}\` must be an AWS region name such as "us-east-1"; got ${describeValue(region)}.`,
    );
  }
  if (region.startsWith('fips-') || region.endsWith('-fips')) {
    throw new SignOutConfigError(
      option,
      `\`${option}\` is "${region}": name the plain region and set \`useFipsEndpoint: true\` instead.`,
    );
  }
  return region;
}

interface Base {
  readonly origin: string;
  readonly path: string;
}

function parseEndpoint(endpoint: string | URL): Base {
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

function isParseError(error: unknown): boolean {
  const code = errorCodeOf(error);
  return (error instanceof Error && error.name === 'HTTPParserError') || (code?.startsWith('HPE_') ?? false);
}

/** Removes every occurrence of the token from text the portal sent back. */
function scrub(text: string | undefined, token: string): string | undefined {
  return text === undefined || !text.includes(token) ? text : text.split(token).join('[redacted]');
}

// Endpoints are derived once per region seen, not per call.
function regionalBases(defaultRegion: string, variant: EndpointVariant): (sessionRegion: string | undefined) => Base {
  const cache = new Map<string, Base>();
  return (sessionRegion) => {
    const chosen = sessionRegion ?? defaultRegion;
    let base = cache.get(chosen);
    if (base === undefined) {
      base = { origin: portalEndpoint(chosen, variant), path: '/logout' };
      cache.set(chosen, base);
    }
    return base;
  };
}

type RawHeaders = readonly (Buffer | string)[];

// undici hands headers over raw (name, value, name, value, …); the classifier wants them by name.
function headersOf(raw: RawHeaders): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer | string).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer | string).toString('latin1');
    const existing = headers[name];
    headers[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return headers;
}

/** How often in-flight calls are checked against their deadline. */
const SWEEP_MS = 10;

interface InFlightAttempt {
  readonly deadline: number;
  readonly expire: () => void;
}

interface AttemptAnswer {
  readonly status: number;
  readonly outcome: UpstreamOutcome;
  readonly errorName: string | undefined;
  readonly message: string | undefined;
  readonly requestId: string | undefined;
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
  const region = checkRegion('region', options.region);
  const useFips = booleanOption('useFipsEndpoint', options.useFipsEndpoint);
  const useDualStack = booleanOption('useDualstackEndpoint', options.useDualstackEndpoint);
  if (options.endpoint !== undefined && (useFips || useDualStack)) {
    const variant = useFips ? 'useFipsEndpoint' : 'useDualstackEndpoint';
    throw new SignOutConfigError(
      variant,
      `a custom \`endpoint\` cannot be combined with \`${variant}\`: point \`endpoint\` at the variant you want.`,
    );
  }
  let baseFor: (sessionRegion: string | undefined) => Base;
  if (options.endpoint !== undefined) {
    const fixed = parseEndpoint(options.endpoint);
    baseFor = () => fixed;
  } else if (region !== undefined) {
    baseFor = regionalBases(region, { useFips, useDualStack });
  } else {
    throw new SignOutConfigError(
      'region',
      'set `region` (the IAM Identity Center region, e.g. "us-east-1") or `endpoint`: without either there is nowhere to send Logout.',
    );
  }
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
  if (options.dispatcher !== undefined && typeof (options.dispatcher as { request?: unknown }).request !== 'function') {
    throw new SignOutConfigError('dispatcher', '`dispatcher` must be an undici Dispatcher (Agent, Pool, ProxyAgent…).');
  }
  let ownDispatcher: Agent | undefined;
  let dispatcher: Dispatcher | undefined = options.dispatcher;
  const dispatcherReady: Promise<Dispatcher> =
    dispatcher !== undefined
      ? Promise.resolve(dispatcher)
      : loadUndici().then(({ Agent }) => {
          ownDispatcher = new Agent({
            connections: maxConnections,
            connect: { timeout: connectTimeoutMs },
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          });
          dispatcher = ownDispatcher;
          return ownDispatcher;
        });
  // A failed load surfaces on the first call (as a connection error), not as an unhandled rejection.
  dispatcherReady.catch(() => undefined);
  const random = internals.random ?? Math.random;
  const now = internals.now ?? Date.now;

  const inFlight = new Map<string, Promise<LogoutResult>>();
  // Only tokens the portal revoked or refused are kept here: dead tokens, worth nothing to anyone.
  const recent = new Map<string, { readonly result: LogoutResult; readonly until: number }>();

  function remember(key: string, r: LogoutResult): void {
    if (r.outcome !== 'revoked' && r.outcome !== 'rejected') return;
    if (recent.size >= RECENT_MAX) {
      const oldest = recent.keys().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
    recent.set(key, { result: { ...r, cause: undefined }, until: now() + RECENT_TTL_MS });
  }

  function recalled(key: string): LogoutResult | undefined {
    const entry = recent.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now()) {
      recent.delete(key);
      return undefined;
    }
    return { ...entry.result, attempts: 0, durationMs: 0, shared: true };
  }
  const throttledUntil = new Map<string, number>();

  // Deadlines are enforced by one sweep over the calls in flight, not a timer and an
  // AbortController per call: the sweep runs only while something is in flight.
  const attempts = new Set<InFlightAttempt>();
  let sweeper: NodeJS.Timeout | undefined;
  function sweep(): void {
    const t = performance.now();
    for (const entry of attempts) if (entry.deadline <= t) entry.expire();
  }
  function track(entry: InFlightAttempt): void {
    attempts.add(entry);
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
  }
  function untrack(entry: InFlightAttempt): void {
    attempts.delete(entry);
    if (attempts.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  // One HTTP request through undici's low-level handler interface: the status, the headers and at
  // most MAX_ERROR_BODY_BYTES of an error body, with no stream in between.
  async function attempt(base: Base, token: string, deadline: number): Promise<AttemptAnswer> {
    const target = dispatcher ?? (await dispatcherReady);
    return new Promise<AttemptAnswer>((resolve, reject) => {
      let status = 0;
      let rawHeaders: RawHeaders = [];
      const chunks: Buffer[] = [];
      let size = 0;
      let abort: ((reason: Error) => void) | undefined;
      let aborted: Error | undefined;
      let settled = false;
      const succeeded = (): boolean => status >= 200 && status < 300;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        untrack(entry);
        return true;
      };
      const answer = (): void => {
        if (!settle()) return;
        const headers = headersOf(rawHeaders);
        const classified = classifyResponse(
          status,
          headers,
          succeeded() ? '' : Buffer.concat(chunks, size).toString('utf8'),
        );
        resolve({
          status,
          ...classified,
          message: scrub(classified.message, token),
          requestId: requestIdOf(headers),
          hintMs: retryAfterHintMs(headers, now()),
        });
      };
      const fail = (error: Error): void => {
        if (settle()) reject(error);
      };
      const stop = (reason: Error): void => {
        aborted = reason;
        abort?.(reason);
      };
      const entry: InFlightAttempt = {
        deadline,
        expire: () => {
          // The status line of a 2xx already said the token is revoked; its (empty) body changes nothing.
          if (succeeded()) answer();
          else fail(new DeadlineReached(timeoutMs));
          stop(new DeadlineReached(timeoutMs));
        },
      };
      track(entry);
      try {
        target.dispatch(
          {
            origin: base.origin,
            path: base.path,
            method: 'POST',
            headers: { 'x-amz-sso_bearer_token': token, 'content-length': '0', 'user-agent': `sso-signout/${VERSION}` },
            body: null,
          },
          /* eslint-disable @typescript-eslint/no-deprecated --
             The classic handler interface: undici 7's newer one (onRequestStart, …) is not
             understood by every dispatcher (MockAgent calls these methods directly). */
          {
            onConnect(abortRequest: (reason: Error) => void) {
              abort = abortRequest;
              // Expired while queued for a connection: cancel it now that it can be.
              if (aborted !== undefined) abortRequest(aborted);
            },
            onHeaders(statusCode: number, raw: RawHeaders) {
              status = statusCode;
              rawHeaders = raw;
              return true;
            },
            onData(chunk: Buffer) {
              if (succeeded()) return true;
              const room = MAX_ERROR_BODY_BYTES - size;
              chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
              size += Math.min(chunk.length, room);
              if (size < MAX_ERROR_BODY_BYTES) return true;
              // Enough of the body to classify it; the rest may be endless. This closes the connection.
              answer();
              stop(new Error('error body read up to its bound'));
              return false;
            },
            onComplete() {
              answer();
            },
            onError(error: Error) {
              if (succeeded()) answer();
              else fail(error);
            },
          },
          /* eslint-enable @typescript-eslint/no-deprecated */
        );
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  async function call(base: Base, token: string): Promise<LogoutResult> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    let attempts = 0;
    let last: AttemptAnswer | undefined;
    let lastError: Error | undefined;
    for (let retry = 0; ; retry++) {
      attempts++;
      last = undefined;
      lastError = undefined;
      try {
        last = await attempt(base, token, deadline);
      } catch (error) {
        if (error instanceof DeadlineReached) {
          return result({
            outcome: 'timeout',
            attempts,
            durationMs: performance.now() - started,
            reason: 'deadline',
            cause: error,
          });
        }
        lastError = error instanceof Error ? error : new Error(String(error));
      }
      const throttled = last?.outcome === 'throttled';
      const retryable =
        throttled || last?.outcome === 'unavailable' || (lastError !== undefined && isTransientError(lastError));
      if (!retryable || attempts >= maxAttempts) break;
      const wait = Math.max(backoffMs(retry, throttled, random), last?.hintMs ?? 0);
      // Never wait past the deadline: answer now with what the portal said.
      if (performance.now() + wait >= deadline) break;
      await sleep(wait);
    }
    const durationMs = performance.now() - started;
    if (last === undefined) {
      return result({
        // Bytes that are not HTTP are an answer, just not one we understand.
        outcome: isParseError(lastError) ? 'bad_response' : 'unavailable',
        attempts,
        durationMs,
        reason: isParseError(lastError) ? 'malformed_response' : 'connection_error',
        cause: lastError,
      });
    }
    return result({
      outcome: last.outcome,
      upstreamStatus: last.status,
      errorName: last.errorName,
      message: last.message,
      requestId: last.requestId,
      attempts,
      durationMs,
      retryAfterMs:
        last.outcome === 'throttled'
          ? (last.hintMs ?? DEFAULT_THROTTLE_WINDOW_MS)
          : last.outcome === 'unavailable'
            ? last.hintMs
            : undefined,
    });
  }

  function gateResult(origin: string): LogoutResult | undefined {
    const until = throttledUntil.get(origin);
    if (until === undefined) return undefined;
    const left = until - now();
    if (left <= 0) {
      throttledUntil.delete(origin);
      return undefined;
    }
    return result({ outcome: 'throttled', retryAfterMs: left, reason: 'throttle_gate' });
  }

  function logout(input: LogoutInput): Promise<LogoutResult> {
    const token = checkAccessToken(input.accessToken);
    if (token === undefined) {
      return Promise.resolve(result({ outcome: 'rejected', reason: 'invalid_token' }));
    }
    const sessionRegion: unknown = input.region ?? undefined;
    if (sessionRegion !== undefined && (typeof sessionRegion !== 'string' || !isValidRegion(sessionRegion))) {
      // A region that is not a DNS label cannot name a portal host: the stored sign-in is unusable.
      return Promise.resolve(result({ outcome: 'rejected', reason: 'invalid_region' }));
    }
    const base = baseFor(sessionRegion);
    const gated = gateResult(base.origin);
    if (gated !== undefined) return Promise.resolve(gated);
    const key = `${base.origin}${base.path}\n${token}`;
    const existing = inFlight.get(key);
    if (existing !== undefined) return existing.then((r) => ({ ...r, shared: true }));
    const known = recalled(key);
    if (known !== undefined) return Promise.resolve(known);
    if (inFlight.size >= maxPending) {
      return Promise.resolve(result({ outcome: 'unavailable', reason: 'overloaded' }));
    }
    const pending = call(base, token).then((r) => {
      if (r.outcome === 'throttled' && r.retryAfterMs !== undefined) {
        throttledUntil.set(base.origin, now() + r.retryAfterMs);
      }
      remember(key, r);
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
    endpointFor(sessionRegion?: string): string {
      const base = baseFor(sessionRegion);
      return `${base.origin}${base.path.replace(/\/logout$/, '')}`;
    },
    async close(): Promise<void> {
      if (options.dispatcher !== undefined) return;
      await dispatcherReady.catch(() => undefined);
      await ownDispatcher?.close();
    },
  };
}
