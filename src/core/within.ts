// One bound for work on something that may not answer (Redis, a session store): its result, or a
// rejection once `ms` have gone by. The work itself is not stopped; only the wait for it.

import { describeValue } from './errors.js';

/**
 * `timeout`: the message of the rejection, or the error to reject with (made only if the bound is
 * reached). `unref`: the bound alone does not keep the process alive (the work has to).
 */
export function within<T>(work: Promise<T>, ms: number, timeout: string | (() => Error), unref = false): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(typeof timeout === 'string' ? new Error(timeout) : timeout());
    }, ms);
    if (unref) timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(describeValue(error)));
      },
    );
  });
}
