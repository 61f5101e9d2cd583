// One timer for every deadline in flight: a sweep that runs only while something waits on one.

import { afterArrivedReads } from '../within.js';

/** Something that must end at `deadline` (on the `performance.now()` clock) if it has not already. */
export interface Expiring {
  readonly deadline: number;
  expire(): void;
}

/** How often waiting work is checked against its deadline. */
const SWEEP_MS = 10;

/**
 * Deadlines enforced by one sweep instead of a timer and an AbortController per request: both
 * showed up in the profile of a busy sign-out route.
 */
export class DeadlineSweep {
  private readonly entries = new Set<Expiring>();
  private timer: NodeJS.Timeout | undefined;
  /** An expiry is pending, after the loop's next read. */
  private judging = false;

  track(entry: Expiring): void {
    this.entries.add(entry);
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        this.sweep();
      }, SWEEP_MS);
      this.timer.unref();
    }
  }

  untrack(entry: Expiring): void {
    this.entries.delete(entry);
  }

  // The timer stops on the first tick that finds nothing to watch, not when the last entry goes: a
  // route whose calls come one at a time would otherwise make and clear a timer for every call.
  private sweep(): void {
    if (this.entries.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.judging) return;
    // Expired once the loop has read what has arrived: a portal's answer that came in time settles
    // its call (and untracks it) first, and is not called a timeout.
    this.judging = true;
    afterArrivedReads(() => {
      this.expireDue();
    });
  }

  private expireDue(): void {
    this.judging = false;
    const now = performance.now();
    for (const entry of this.entries) if (entry.deadline <= now) entry.expire();
  }
}

/**
 * `work`'s result, or a rejection with `late()` once `deadline` (`performance.now()`) has passed,
 * judged by `sweep`: no timer of its own. The work itself is not stopped; only the wait for it.
 */
export function bySweep<T>(sweep: DeadlineSweep, work: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Expiring = {
      deadline,
      expire: () => {
        sweep.untrack(entry);
        reject(late());
      },
    };
    sweep.track(entry);
    work.then(
      (value) => {
        sweep.untrack(entry);
        resolve(value);
      },
      (error: unknown) => {
        sweep.untrack(entry);
        // Passed on as it came (an app's hook may throw anything): its value is the cause reported.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}
