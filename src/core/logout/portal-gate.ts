// What every attempt at one portal origin passes first: the throttle window the portal announced, and a free connection.

import type { DeadlineSweep, Expiring } from './deadlines.js';

/** Why an attempt may not go out. */
export type GateRefusal = 'throttled' | 'deadline';

interface Waiter {
  readonly deadline: number;
  readonly resolve: (refusal: GateRefusal | undefined) => void;
}

/**
 * One portal origin's gate. While the portal's throttle window is open, nothing is sent to it and
 * every caller, waiting or new, is told at once. Otherwise at most `slots` requests are in flight
 * and the rest wait their turn in order, each checking the window again when its turn comes.
 */
export class PortalGate implements Expiring {
  /** End of the throttle window, on the `now` clock (milliseconds since the epoch). */
  private closedUntil = 0;
  private busy = 0;
  private readonly waiting: Waiter[] = [];
  /**
   * The earliest deadline of those waiting (`performance.now()`), while any wait: the gate is on
   * the sweep as one entry for all its waiters, not one entry (and one closure) for each.
   */
  deadline = Infinity;

  constructor(
    private readonly slots: number,
    private readonly sweep: DeadlineSweep,
    private readonly now: () => number,
    /** Told when the window closes or moves later (so other instances can be told too). */
    private readonly onClose?: (ms: number) => void,
  ) {}

  /** Milliseconds left in the throttle window (0 when open). */
  remaining(): number {
    return Math.max(0, this.closedUntil - this.now());
  }

  /** When the throttle window ends, on the `now` clock. */
  get until(): number {
    return this.closedUntil;
  }

  /**
   * Closes the gate for `ms` from now (or keeps a later end), and tells everyone waiting. `heard`:
   * the window was heard from another instance, so it is not passed back.
   */
  close(ms: number, heard = false): void {
    const until = this.now() + ms;
    if (until <= this.closedUntil) return;
    this.closedUntil = until;
    if (!heard) this.onClose?.(ms);
    this.untrack();
    for (const waiter of this.waiting.splice(0)) waiter.resolve('throttled');
  }

  /** The sweep found the earliest deadline passed: those waiting past theirs are told. */
  expire(): void {
    const now = performance.now();
    let earliest = Infinity;
    let kept = 0;
    for (const waiter of this.waiting) {
      if (waiter.deadline <= now) {
        waiter.resolve('deadline');
        continue;
      }
      this.waiting[kept++] = waiter;
      earliest = Math.min(earliest, waiter.deadline);
    }
    this.waiting.length = kept;
    if (kept === 0) this.untrack();
    else this.deadline = earliest;
  }

  private untrack(): void {
    if (this.deadline === Infinity) return;
    this.deadline = Infinity;
    this.sweep.untrack(this);
  }

  /**
   * Waits for a connection slot. Gives (at once, or through a promise when it must wait)
   * `undefined` when the attempt may go out (then call
   * `release()` when it ends), or why it may not. `ownWindowUntil`: a retry may pass the end of the
   * window its own answer opened, so a clock tick early does not cost it its turn.
   */
  acquire(deadline: number, ownWindowUntil = 0): GateRefusal | undefined | Promise<GateRefusal | undefined> {
    // Answered at once when it can be (the usual case: a free slot), so no promise is made for it.
    if (this.closedUntil > ownWindowUntil && this.remaining() > 0) return 'throttled';
    if (performance.now() >= deadline) return 'deadline';
    if (this.busy < this.slots) {
      this.busy++;
      return undefined;
    }
    return new Promise((resolve) => {
      this.waiting.push({ deadline, resolve });
      if (deadline < this.deadline) {
        if (this.deadline === Infinity) this.sweep.track(this);
        this.deadline = deadline;
      }
    });
  }

  /** Frees a slot: the next waiter gets it, unless the window closed meanwhile. */
  release(): void {
    const now = performance.now();
    for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
      if (this.waiting.length === 0) this.untrack();
      if (next.deadline <= now) {
        next.resolve('deadline');
        continue;
      }
      // The slot passes straight on; the window needs no second look (close() empties the queue).
      next.resolve(undefined);
      return;
    }
    this.busy--;
  }
}
