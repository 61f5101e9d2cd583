// One timer for every deadline in flight: a sweep that runs only while something waits on one.

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
    const now = performance.now();
    for (const entry of this.entries) if (entry.deadline <= now) entry.expire();
  }
}
