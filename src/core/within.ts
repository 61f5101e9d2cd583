// One bound for work on something that may not answer (Redis, a session store): its result, or a
// rejection once `ms` have gone by. The work itself is not stopped; only the wait for it.

import { describeValue } from './errors.js';

export function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(message));
    }, ms);
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
