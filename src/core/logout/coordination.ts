// What sign-outs share: the one call in flight per token, the results just heard for dead tokens,
// and each portal's gate. In one process here; a shared store can stand behind the same interface so
// that many app instances share them too.

import type { DeadlineSweep } from './deadlines.js';
import { PortalGate } from './portal-gate.js';
import { RecentResults } from './recent-results.js';
import type { LogoutResult } from './types.js';

// A token just revoked (or refused) is answered from memory for this long: other tabs of the same
// session that read the token just before the session ended must not call the portal again.
const RECENT_TTL_MS = 60_000;
const RECENT_MAX = 10_000;

/**
 * The seam between one call and everything concurrent with it. Keys are token digests (never a
 * token); origins are portal origins.
 */
export interface Coordination {
  /**
   * The one call for `key`. Joins the call already in flight for it, or answers from the result
   * remembered for it, or else asks `admit` (the gate, the load limit) and runs `call`, remembering
   * the result when it proves the token dead. Results that were not this caller's own say `shared`.
   */
  once(key: string, admit: () => LogoutResult | undefined, call: () => Promise<LogoutResult>): Promise<LogoutResult>;
  /** The gate of a portal origin: its throttle window and connection slots. */
  gate(origin: string): PortalGate;
  /** Distinct calls in flight. */
  readonly pending: number;
}

/** Only results that prove a token dead are worth remembering: they are worth nothing to anyone. */
function worthRemembering(result: LogoutResult): boolean {
  return result.outcome === 'revoked' || result.outcome === 'rejected';
}

/** Coordination within this process. */
export class LocalCoordination implements Coordination {
  private readonly inFlight = new Map<string, Promise<LogoutResult>>();
  private readonly recent: RecentResults<LogoutResult>;
  private readonly gates = new Map<string, PortalGate>();

  constructor(
    private readonly slots: number,
    private readonly sweep: DeadlineSweep,
    private readonly now: () => number,
  ) {
    this.recent = new RecentResults<LogoutResult>(RECENT_TTL_MS, RECENT_MAX, now);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  gate(origin: string): PortalGate {
    let gate = this.gates.get(origin);
    if (gate === undefined) {
      gate = new PortalGate(this.slots, this.sweep, this.now);
      this.gates.set(origin, gate);
    }
    return gate;
  }

  once(key: string, admit: () => LogoutResult | undefined, call: () => Promise<LogoutResult>): Promise<LogoutResult> {
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
