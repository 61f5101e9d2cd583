// The retry policy of the SDKs' standard mode, inside one deadline, behind the portal's gate.

import { setTimeout as sleep } from 'node:timers/promises';
import { attemptLogout, type Attempt, type AttemptContext } from './attempt.js';
import { backoffMs, type RetryQuota } from './backoff.js';
import type { Coordination } from './coordination.js';
import type { PortalGate } from './portal-gate.js';
import type { PortalBase } from './transport.js';
import { logoutResult, type LogoutReason, type LogoutResult } from './types.js';

/** The throttle window announced when the portal throttles without naming a wait. */
export const DEFAULT_THROTTLE_WINDOW_MS = 1000;

export interface PolicyContext extends AttemptContext {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly quota: RetryQuota;
  readonly random: () => number;
}

/** Where one call stands between its attempts. */
interface CallState {
  readonly started: number;
  readonly deadline: number;
  attempts: number;
  last: Attempt | undefined;
  lastRetryCost: number | undefined;
  /** The end of the throttle window this call's own last answer opened. */
  ownWindowUntil: number;
}

// The gate's window after a throttled answer: the wait the portal named (a short one is honoured),
// or 1 s when it named none; at most the cap. A throttled answer that asks for no wait at all
// (`Retry-After: 0`, a date already past) names none: with a window of nothing, a storm would go
// straight through the gate.
function throttleWindow(context: PolicyContext, hintMs: number | undefined): number {
  const named = hintMs !== undefined && hintMs > 0 ? hintMs : DEFAULT_THROTTLE_WINDOW_MS;
  return Math.min(named, context.maxRetryAfterMs);
}

/** Calls Logout for one token: attempts and retries until an answer stands or the deadline (`performance.now()`) comes. */
export async function callWithRetries(
  context: PolicyContext,
  gate: PortalGate,
  base: PortalBase,
  token: string,
  deadline = performance.now() + context.timeoutMs,
  /** Looks, before a retry, for a throttle window heard elsewhere (another instance). */
  elsewhere?: Pick<Coordination, 'beforeRetry'>,
): Promise<LogoutResult> {
  // Started when the sign-out did (a call made after waiting for another instance has less time).
  const started = deadline - context.timeoutMs;
  const state: CallState = {
    started,
    deadline,
    attempts: 0,
    last: undefined,
    lastRetryCost: undefined,
    ownWindowUntil: 0,
  };
  for (let retry = 0; ; retry++) {
    const acquired = gate.acquire(state.deadline, state.ownWindowUntil);
    const refusal = acquired instanceof Promise ? await acquired : acquired;
    if (refusal !== undefined) {
      if (state.last === undefined || refusal === 'deadline') return refused(state, gate, refusal);
      // Another call's answer closed the gate while this one waited to retry: what this call last
      // heard stands, and it waits no longer.
      break;
    }
    state.attempts++;
    // attemptLogout never rejects.
    const last = await attemptLogout(context, base, token, state.deadline);
    heard(context, gate, state, last);
    const wait = nextWait(context, state, last, retry);
    if (wait === undefined) break;
    await sleep(wait);
    const looked = elsewhere?.beforeRetry(base.origin, state.deadline);
    if (looked !== undefined) await looked;
  }
  return finish(context, state, gate);
}

/** An attempt's answer, heard: recorded, and its connection slot given back. */
function heard(context: PolicyContext, gate: PortalGate, state: CallState, last: Attempt): void {
  try {
    state.last = last;
    // Closed before the slot is passed on: the next caller in line must already see it. This
    // call's own retry may pass the window it opened; everyone else is answered at once.
    if (last.retry === 'throttling') {
      gate.close(throttleWindow(context, last.hintMs));
      state.ownWindowUntil = gate.until;
    }
  } finally {
    gate.release();
  }
}

/** How long to wait before the next attempt, or undefined when this answer stands. */
function nextWait(context: PolicyContext, state: CallState, last: Attempt, retry: number): number | undefined {
  if (last.outcome === 'timeout' || last.retry === undefined || state.attempts >= context.maxAttempts) return undefined;
  const backoff = backoffMs(retry, last.retry === 'throttling', context.random);
  // After a named wait, the retries of every caller the portal throttled must not land together.
  const wait = last.hintMs === undefined ? backoff : last.hintMs + backoff;
  // Never wait past the deadline: answer now with what the portal said.
  if (performance.now() + wait >= state.deadline) return undefined;
  const cost = context.quota.take(last.retry === 'throttling');
  if (cost === undefined) return undefined;
  state.lastRetryCost = cost;
  return wait;
}

function refused(state: CallState, gate: PortalGate, refusal: 'throttled' | 'deadline'): LogoutResult {
  return logoutResult({
    outcome: refusal === 'deadline' ? 'timeout' : 'throttled',
    reason: refusal === 'deadline' ? 'deadline' : 'throttle_gate',
    retryAfterMs: refusal === 'throttled' ? gate.remaining() : undefined,
    attempts: state.attempts,
    durationMs: performance.now() - state.started,
    upstreamStatus: state.last?.answer?.status,
    requestId: state.last?.requestId,
  });
}

function reasonOf(last: Attempt): LogoutReason | undefined {
  if (last.error === undefined) return undefined;
  if (last.error.failure === 'deadline') return 'deadline';
  if (last.error.failure === 'malformed_response') return 'malformed_response';
  return last.error.failure === 'proxy_refused' ? 'proxy_refused' : 'connection_error';
}

function finish(context: PolicyContext, state: CallState, gate: PortalGate): LogoutResult {
  const last = state.last as Attempt;
  if (last.outcome === 'revoked') context.quota.succeeded(state.lastRetryCost);
  let retryAfterMs: number | undefined;
  if (last.outcome === 'throttled') {
    // The gate closed when the answer was heard (for a throttling name on a non-429 too, whose
    // outcome may be another); the wait announced is what is left of its window.
    gate.close(throttleWindow(context, last.hintMs));
    retryAfterMs = gate.remaining();
  } else if (last.outcome === 'unavailable') {
    retryAfterMs = last.hintMs;
  }
  return logoutResult({
    outcome: last.outcome,
    upstreamStatus: last.answer?.status,
    errorName: last.errorName,
    message: last.message,
    requestId: last.requestId,
    attempts: state.attempts,
    durationMs: performance.now() - state.started,
    retryAfterMs,
    reason: reasonOf(last),
    cause: last.error,
  });
}
