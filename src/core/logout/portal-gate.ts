// What every attempt at one portal origin passes first: the throttle window the portal announced, and a free connection.

import type { DeadlineSweep, Expiring } from './deadlines.js';

/** Why an attempt may not go out. */
export type GateRefusal = 'throttled' | 'deadline';

interface Waiter extends Expiring {
  readonly resolve: (refusal: GateRefusal | undefined) => void;
}

/**
 * One portal origin's gate. While the portal's throttle window is open, nothing is sent to it and
 * every caller, waiting or new, is told at once. Otherwise at most `slots` requests are in flight
 * and the rest wait their turn in order, each checking the window again when its turn comes.
 */
export class PortalGate {
  /** End of the throttle window, on the `now` clock (milliseconds since the epoch). */
  private closedUntil = 0;
  private busy = 0;
  private readonly waiting: Waiter[] = [];

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
    for (const waiter of this.waiting.splice(0)) {
      this.sweep.untrack(waiter);
      waiter.resolve('throttled');
    }
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
      const waiter: Waiter = {
        deadline,
        resolve,
        expire: () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          this.sweep.untrack(waiter);
          resolve('deadline');
        },
      };
      this.waiting.push(waiter);
      this.sweep.track(waiter);
    });
  }

  /** Frees a slot: the next waiter gets it, unless the window closed meanwhile. */
  release(): void {
    const now = performance.now();
    for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
      this.sweep.untrack(next);
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
