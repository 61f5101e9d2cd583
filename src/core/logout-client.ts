// Calls the IAM Identity Center portal `Logout` API: one bounded, retried, de-duplicated call per token.

import { createHash } from 'node:crypto';
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

async function readBounded(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = limit - size;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.length, room);
    if (size >= limit) {
      // Stop reading: the rest is not needed and may be endless. This closes the connection.
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
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
  // Keyed by a digest, so the tokens themselves are not kept once their call is over.
  const recent = new Map<string, { readonly result: LogoutResult; readonly until: number }>();

  function remember(digest: string, r: LogoutResult): void {
    if (r.outcome !== 'revoked' && r.outcome !== 'rejected') return;
    if (recent.size >= RECENT_MAX) {
      const oldest = recent.keys().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
    recent.set(digest, { result: { ...r, cause: undefined }, until: now() + RECENT_TTL_MS });
  }

  function recalled(digest: string): LogoutResult | undefined {
    const entry = recent.get(digest);
    if (entry === undefined) return undefined;
    if (entry.until <= now()) {
      recent.delete(digest);
      return undefined;
    }
    return { ...entry.result, attempts: 0, durationMs: 0, shared: true };
  }
  const throttledUntil = new Map<string, number>();

  async function attempt(base: Base, token: string, signal: AbortSignal): Promise<AttemptAnswer> {
    const response = await (dispatcher ?? (await dispatcherReady)).request({
      origin: base.origin,
      path: base.path,
      method: 'POST',
      headers: {
        'x-amz-sso_bearer_token': token,
        'content-length': '0',
        'user-agent': `sso-signout/${VERSION}`,
      },
      signal,
    });
    const headers = response.headers;
    let text = '';
    if (response.statusCode >= 200 && response.statusCode < 300) {
      // The status line already says the token is revoked; a body cut short (it is empty by
      // contract) changes nothing about that.
      await response.body.dump({ limit: MAX_ERROR_BODY_BYTES }).catch(() => undefined);
    } else {
      text = await readBounded(response.body, MAX_ERROR_BODY_BYTES);
    }
    const classified = classifyResponse(response.statusCode, headers, text);
    return {
      status: response.statusCode,
      ...classified,
      message: scrub(classified.message, token),
      requestId: requestIdOf(headers),
      hintMs: retryAfterHintMs(headers, now()),
    };
  }

  async function call(base: Base, token: string): Promise<LogoutResult> {
    const started = now();
    const deadline = started + timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(new DeadlineReached(timeoutMs));
    }, timeoutMs);
    let attempts = 0;
    let last: AttemptAnswer | undefined;
    let lastError: Error | undefined;
    try {
      for (let retry = 0; ; retry++) {
        attempts++;
        last = undefined;
        lastError = undefined;
        try {
          last = await attempt(base, token, controller.signal);
        } catch (error) {
          if (controller.signal.aborted) {
            return result({
              outcome: 'timeout',
              attempts,
              durationMs: now() - started,
              reason: 'deadline',
              cause: controller.signal.reason as Error,
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
        if (now() + wait >= deadline) break;
        try {
          await sleep(wait, undefined, { signal: controller.signal });
        } catch {
          break;
        }
      }
    } finally {
      clearTimeout(timer);
    }
    const durationMs = now() - started;
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
    const digest = createHash('sha256').update(key).digest('base64url');
    const known = recalled(digest);
    if (known !== undefined) return Promise.resolve(known);
    if (inFlight.size >= maxPending) {
      return Promise.resolve(result({ outcome: 'unavailable', reason: 'overloaded' }));
    }
    const pending = call(base, token).then((r) => {
      if (r.outcome === 'throttled' && r.retryAfterMs !== undefined) {
        throttledUntil.set(base.origin, now() + r.retryAfterMs);
      }
      remember(digest, r);
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
