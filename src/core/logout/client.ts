// Calls the IAM Identity Center portal `Logout` API: one bounded, retried, de-duplicated call per token.

import { describeValue } from '../errors.js';
import { checkAccessToken } from '../token.js';
import { configError } from '../validate.js';
import { createWarner } from '../warnings.js';
import { RetryQuota } from './backoff.js';
import { LocalCoordination, SharedCoordination, type Coordination } from './coordination.js';
import { DeadlineSweep } from './deadlines.js';
import { holdDispatcher } from './dispatcher.js';
import { resolveClientOptions, type ClientSettings } from './options.js';
import { callWithRetries, type PolicyContext } from './policy.js';
import {
  logoutResult,
  type LogoutClient,
  type LogoutClientInternals,
  type LogoutClientOptions,
  type LogoutInput,
  type LogoutResult,
} from './types.js';

export type {
  LogoutClient,
  LogoutClientInternals,
  LogoutClientOptions,
  LogoutInput,
  LogoutReason,
  LogoutResult,
} from './types.js';
export { MAX_ERROR_BODY_BYTES } from './transport.js';

/** What concurrent calls share: in this process, or through the shared state across instances. */
function coordinationOf(settings: ClientSettings, sweep: DeadlineSweep, now: () => number): Coordination {
  if (settings.sharedState === undefined) return new LocalCoordination(settings.maxConnections, sweep, now);
  return new SharedCoordination(
    settings.sharedState,
    settings.timeoutMs,
    settings.maxRetryAfterMs,
    settings.maxConnections,
    sweep,
    now,
  );
}

/** Logout for one token: checked, sent to its portal, once for every caller of that token. */
function logoutThrough(
  settings: ClientSettings,
  coordination: Coordination,
  context: PolicyContext,
): (input: LogoutInput) => Promise<LogoutResult> {
  return (input) => {
    const token = checkAccessToken(input.accessToken);
    if (token === undefined) return Promise.resolve(logoutResult({ outcome: 'not_sent', reason: 'invalid_token' }));
    const destination = settings.destinationFor(input.region);
    if ('refused' in destination) {
      return Promise.resolve(logoutResult({ outcome: 'not_sent', reason: destination.refused }));
    }
    const { base } = destination;
    const gate = coordination.gate(base.origin);
    const admit = (): LogoutResult | undefined => {
      const gated = gate.remaining();
      if (gated > 0) return logoutResult({ outcome: 'throttled', retryAfterMs: gated, reason: 'throttle_gate' });
      if (coordination.pending >= settings.maxPending)
        return logoutResult({ outcome: 'unavailable', reason: 'overloaded' });
      return undefined;
    };
    const key = coordination.key(`${base.origin}${base.path}`, token);
    return coordination.once(key, base.origin, admit, (deadline) =>
      callWithRetries(context, gate, base, token, deadline, coordination),
    );
  };
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
  const settings = resolveClientOptions(options);
  if (settings.newerRegion !== undefined) {
    createWarner()(
      'SSO_SIGNOUT_UNKNOWN_REGION',
      `region "${settings.newerRegion}" fits an AWS partition but is newer than this package's region table; if sign-outs fail with sso_unavailable, check the name.`,
    );
  }
  const now = internals.now ?? Date.now;
  const sweep = new DeadlineSweep();
  const dispatcher = holdDispatcher(settings);
  const context: PolicyContext = {
    dispatcher: dispatcher.get,
    sweep,
    now,
    random: internals.random ?? Math.random,
    quota: new RetryQuota(),
    timeoutMs: settings.timeoutMs,
    maxAttempts: settings.maxAttempts,
    maxRetryAfterMs: settings.maxRetryAfterMs,
  };
  const logout = logoutThrough(settings, coordinationOf(settings, sweep, now), context);

  return {
    logout,
    timeoutMs: settings.timeoutMs,
    region: settings.region,
    endpointFor(sessionRegion?: string): string {
      const destination = settings.destinationFor(sessionRegion);
      if ('refused' in destination) {
        throw configError('region', 'invalid_value', `${describeValue(sessionRegion)} is not an AWS region name.`);
      }
      return `${destination.base.origin}${destination.base.path.replace(/\/logout$/, '')}`;
    },
    close: () => dispatcher.close(),
  };
}
