// What sign-outs share: the one call in flight per token, the results just heard for dead tokens,
// and each portal's gate. In one process here; a shared store can stand behind the same interface so
// that many app instances share them too.

import { nodeCrypto } from '../lazy-require.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeadlineSweep } from './deadlines.js';
import { PortalGate } from './portal-gate.js';
import { RecentResults, tokenDigest } from './recent-results.js';
import { provesTokenDead } from './classify.js';
import type { SharedResult, SharedState } from './shared-state.js';
import { logoutResult, type LogoutResult } from './types.js';
import { within } from '../within.js';

// A token just revoked (or refused) is answered from memory for this long: other tabs of the same
// session that read the token just before the session ended must not call the portal again.
const RECENT_TTL_MS = 60_000;
const RECENT_MAX = 10_000;

/**
 * The seam between one call and everything concurrent with it. Keys are token digests (never a
 * token); origins are portal origins.
 */
export interface Coordination {
  /** The key a token is known by for a portal (`scope`): a digest, never the token. */
  key(scope: string, token: string): string;
  /**
   * The one call for `key`. Joins the call already in flight for it, or answers from the result
   * remembered for it, or else asks `admit` (the gate, the load limit) and runs `call`, remembering
   * the result when it proves the token dead. Results that were not this caller's own say `shared`.
   * `call` is given the sign-out's deadline when time has already gone on waiting for others.
   */
  once(key: string, origin: string, admit: () => LogoutResult | undefined, call: LogoutCall): Promise<LogoutResult>;
  /** The gate of a portal origin: its throttle window and connection slots. */
  gate(origin: string): PortalGate;
  /**
   * Before a retry to `origin`: a throttle window heard elsewhere meanwhile closes its gate here
   * too. Undefined when there is nothing to look at; never rejects.
   */
  beforeRetry(origin: string, deadline: number): Promise<void> | undefined;
  /** Distinct calls in flight. */
  readonly pending: number;
}

/** Makes the Logout call, by `deadline` (`performance.now()`) when given, else within its own deadline. */
export type LogoutCall = (deadline?: number) => Promise<LogoutResult>;

/** Only results that prove a token dead are worth remembering: they are worth nothing to anyone. */
function worthRemembering(result: LogoutResult): boolean {
  return provesTokenDead(result.outcome);
}

/** Throttle windows whose ends are this close are one window, read at two moments. */
const SAME_WINDOW_MS = 100;

/** Coordination within this process. */
export class LocalCoordination implements Coordination {
  private readonly inFlight = new Map<string, Promise<LogoutResult>>();
  private readonly recent: RecentResults<LogoutResult>;
  private readonly gates = new Map<string, PortalGate>();

  constructor(
    private readonly slots: number,
    private readonly sweep: DeadlineSweep,
    private readonly now: () => number,
    /** Told when a portal's throttle window closes here. */
    private readonly onGateClosed?: (origin: string, ms: number) => void,
  ) {
    this.recent = new RecentResults<LogoutResult>(RECENT_TTL_MS, RECENT_MAX, now);
  }

  key(scope: string, token: string): string {
    return tokenDigest(scope, token);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  gate(origin: string): PortalGate {
    let gate = this.gates.get(origin);
    if (gate === undefined) {
      const { onGateClosed } = this;
      gate = new PortalGate(
        this.slots,
        this.sweep,
        this.now,
        onGateClosed === undefined
          ? undefined
          : (ms) => {
              onGateClosed(origin, ms);
            },
      );
      this.gates.set(origin, gate);
    }
    return gate;
  }

  beforeRetry(): undefined {
    return undefined;
  }

  once(key: string, _origin: string, admit: () => LogoutResult | undefined, call: LogoutCall): Promise<LogoutResult> {
    const existing = this.inFlight.get(key);
    if (existing !== undefined) return existing.then((r) => ({ ...r, shared: true }));
    const known = this.recent.get(key);
    if (known !== undefined) return Promise.resolve({ ...known, attempts: 0, durationMs: 0, shared: true });
    const refused = admit();
    if (refused !== undefined) return Promise.resolve(refused);
    const pending = call().then(
      (r) => {
        this.inFlight.delete(key);
        // Kept without its cause (an error object is worth nothing to the next caller, and holds memory).
        if (worthRemembering(r)) this.recent.set(key, r.cause === undefined ? r : { ...r, cause: undefined });
        return r;
      },
      (error: unknown) => {
        this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, pending);
    return pending;
  }
}

// A follower looks for its leader's answer this often.
const POLL_MS = 20;
// A lease outlives its leader's deadline by this much: the leader's answer is written after it.
const LEASE_SLACK_MS = 1000;

function fromShared(result: SharedResult, durationMs: number): LogoutResult {
  return logoutResult({ ...result, attempts: 0, durationMs, shared: true });
}

/**
 * Coordination across app instances: this process's own first (its call in flight, its memory, its
 * gate and load limit), then the shared state: the result another instance heard, the throttle
 * window another instance was given, or the lease on the one call for the token. Whenever the shared
 * state does not answer, this process goes on alone.
 */
export class SharedCoordination implements Coordination {
  private readonly local: LocalCoordination;
  /** The last throttle window written to Redis (never rejects; bounded by the operation timeout). */
  private gateWritten: Promise<void> = Promise.resolve();

  constructor(
    private readonly shared: SharedState,
    private readonly timeoutMs: number,
    /** The longest throttle window this client keeps (`maxRetryAfterMs`): longer ones read from Redis are cut. */
    private readonly maxGateMs: number,
    slots: number,
    sweep: DeadlineSweep,
    now: () => number,
  ) {
    this.local = new LocalCoordination(slots, sweep, now, (origin, ms) => {
      this.gateWritten = shared.closeGate(origin, ms);
    });
  }

  get pending(): number {
    return this.local.pending;
  }

  key(scope: string, token: string): string {
    return this.shared.digest(scope, token);
  }

  gate(origin: string): PortalGate {
    return this.local.gate(origin);
  }

  once(key: string, origin: string, admit: () => LogoutResult | undefined, call: LogoutCall): Promise<LogoutResult> {
    return this.local.once(key, origin, admit, () => this.acrossInstances(key, origin, call));
  }

  beforeRetry(origin: string, deadline: number): Promise<void> | undefined {
    const { shared } = this;
    if (shared.gateRemaining === undefined) return undefined;
    const gate = this.local.gate(origin);
    return shared.gateRemaining(origin, this.maxGateMs, deadline - performance.now()).then(
      (ms) => {
        // A window ending no later than the one known here (give or take a write's time) is that
        // window: this call's own answer, written back, which its own retry may pass.
        if (ms !== undefined && ms > gate.remaining() + SAME_WINDOW_MS) gate.close(ms, true);
      },
      () => undefined,
    );
  }

  // One deadline for the whole sign-out: time spent on Redis or waiting for another instance's
  // answer is taken from the call this instance may still have to make.
  private async acrossInstances(key: string, origin: string, call: LogoutCall): Promise<LogoutResult> {
    const started = performance.now();
    const deadline = started + this.timeoutMs;
    const leaseMs = this.timeoutMs + LEASE_SLACK_MS;
    for (;;) {
      // Taken, or tried for: a lease set after its answer was given up waiting for is still this call's.
      const lease = nodeCrypto().randomUUID();
      const withinMs = deadline - performance.now();
      const begun = await this.shared.begin(key, origin, { lease, leaseMs, maxGateMs: this.maxGateMs, withinMs });
      switch (begun.kind) {
        case 'unavailable':
          // Alone, but the answer is still written back when Redis takes it: it frees the lease that
          // may have been set all the same, and tells whoever waits on it.
          return this.lead(key, lease, leaseMs, deadline, call);
        case 'result':
          return fromShared(begun.result, performance.now() - started);
        case 'gated': {
          // Another instance's answer closed the window: closed here too (no longer than this
          // client keeps one), and no call goes out.
          const windowMs = Math.min(begun.remainingMs, this.maxGateMs);
          this.local.gate(origin).close(windowMs, true);
          return logoutResult({ outcome: 'throttled', reason: 'throttle_gate', retryAfterMs: windowMs });
        }
        case 'leader':
          return this.lead(key, lease, leaseMs, deadline, call);
        case 'follower': {
          const followed = await this.follow(key, begun.lease, deadline, started, () => call(deadline));
          // The leader went without an answer (its lease expired): this call may lead now.
          if (followed !== undefined) return followed;
        }
      }
    }
  }

  private async lead(key: string, lease: string, leaseMs: number, deadline: number, call: LogoutCall) {
    const result = await call(deadline);
    // A throttled answer is given once the other instances can see the window it opened (the next
    // sign-out, wherever it lands, must not call the portal), but no later than the deadline: a slow
    // Redis gets the window written after the answer.
    if (result.outcome === 'throttled') await this.windowWritten(deadline);
    const remember = worthRemembering(result) ? RECENT_TTL_MS : 0;
    // Not waited for: the answer to this sign-out is known; followers find it when it lands.
    void this.shared.finish(key, lease, result, remember, leaseMs);
    return result;
  }

  /** Waits for the last throttle window to be written to Redis, until `deadline` at most. */
  private async windowWritten(deadline: number): Promise<void> {
    const left = deadline - performance.now();
    if (left <= 0) return;
    await within(this.gateWritten, left, 'deadline', true).catch(() => undefined);
  }

  /** The leader's result; a timeout at the deadline; undefined when the leader is gone without one. */
  private async follow(
    key: string,
    lease: string,
    deadline: number,
    started: number,
    call: () => Promise<LogoutResult>,
  ): Promise<LogoutResult | undefined> {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) {
        return logoutResult({ outcome: 'timeout', reason: 'deadline', shared: true, durationMs: this.timeoutMs });
      }
      await sleep(Math.min(POLL_MS, left));
      const polled = await this.shared.poll(key, lease, deadline - performance.now());
      if (polled.kind === 'result') return fromShared(polled.result, performance.now() - started);
      if (polled.kind === 'gone') return undefined;
      // Redis stopped answering: this process goes on alone.
      if (polled.kind === 'unavailable') return call();
    }
  }
}
