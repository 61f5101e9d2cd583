// One bound for work on something that may not answer (Redis, a session store): its result, or a
// rejection once `ms` have gone by. The work itself is not stopped; only the wait for it.

import { describeValue, isInstance } from './errors.js';

/**
 * Runs `act` once this process has read what has arrived: the one rule for acting on a bound that
 * has been reached. A busy app (one turn of its event loop longer than the bound) finds the bound's
 * timer due and the answer waiting in its socket at the same time, and Node runs timers before it
 * reads sockets. Waiting one `setImmediate` (after the loop's I/O phase) lets an answer that came in
 * time settle first: under load, a Redis that answered in a millisecond must not be reported as
 * failing, nor a portal's timely answer called a timeout. The price: a reached bound is acted on up
 * to one turn of the loop later. The immediate is never unref'd: Node's loop would then wait in its
 * I/O phase for the next event, however late, before it ran it.
 */
export function afterArrivedReads(act: () => void): void {
  setImmediate(act);
}

/**
 * `timeout`: the message of the rejection, or the error to reject with (made only if the bound is
 * reached). `unref`: the bound alone does not keep the process alive (the work has to). The bound
 * is judged by {@link afterArrivedReads}.
 */
export function within<T>(work: Promise<T>, ms: number, timeout: string | (() => Error), unref = false): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const late = (): void => {
      if (!settled) reject(typeof timeout === 'string' ? new Error(timeout) : timeout());
    };
    const timer = setTimeout(() => {
      afterArrivedReads(late);
    }, ms);
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
        reject(isInstance(error, Error) ? error : new Error(describeValue(error)));
      },
    );
  });
}
