// The Logout client's public face: its options, what it takes, what it answers.

import type { Dispatcher } from 'undici';
import type { PortalRequestError } from '../errors.js';
import type { TokenInfo } from '../token.js';
import type { UpstreamOutcome } from './classify.js';
import type { SharedState } from './shared-state.js';

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
  /**
   * State shared with the app's other instances (made by `redisSharedState`): the one call per
   * token, the results just heard and each portal's throttle window hold across instances. Default:
   * this process's own.
   */
  readonly sharedState?: SharedState | undefined;
}

/** The token to revoke, and optionally the region it belongs to (it wins over the configured one). */
export type LogoutInput = TokenInfo;

/** Why a call ended without an HTTP answer from the portal, where that matters. */
export type LogoutReason =
  | 'invalid_token'
  | 'invalid_region'
  /** The injected dispatcher is tied to another portal's origin (an undici Pool or Client). */
  | 'dispatcher_origin'
  | 'connection_error'
  | 'proxy_refused'
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
  /**
   * The configured `region` (undefined with a fixed `endpoint`): a token queued for later is queued
   * with it, so a worker configured elsewhere revokes it in the right region.
   */
  readonly region: string | undefined;
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

/** A result with every field not given empty: the one way results are made. */
export function logoutResult(partial: Partial<LogoutResult> & Pick<LogoutResult, 'outcome'>): LogoutResult {
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
