// One bound for work on something that may not answer (Redis, a session store): its result, or a
// rejection once `ms` have gone by. The work itself is not stopped; only the wait for it.

import { describeValue } from './errors.js';

/**
 * `timeout`: the message of the rejection, or the error to reject with (made only if the bound is
 * reached). `unref`: the bound alone does not keep the process alive (the work has to).
 *
 * The bound is judged once this process has read what has arrived: a busy app (one turn of its
 * event loop longer than `ms`) finds the timer due and the answer waiting in its socket at the same
 * time, and Node runs timers before it reads sockets. The rejection waits for that read (one
 * `setImmediate`, after the loop's I/O phase), so an answer that came in time is not taken for a
 * late one: under load, a Redis that answered in a millisecond must not be reported as failing.
 */
export function within<T>(work: Promise<T>, ms: number, timeout: string | (() => Error), unref = false): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const late = (): void => {
      if (!settled) reject(typeof timeout === 'string' ? new Error(timeout) : timeout());
    };
    // The immediate is never unref'd: Node's loop would then wait in its I/O phase for the next
    // event, however late, before it ran the immediate.
    const timer = setTimeout(() => setImmediate(late), ms);
    if (unref) timer.unref();
    work.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(describeValue(error)));
      },
    );
  });
}
