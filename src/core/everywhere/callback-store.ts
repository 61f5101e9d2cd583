// A session store with express-session's callback interface (connect-redis, @fastify/session's
// stores, …) as the route uses it: by id, with promises.

import { describeValue, isInstance } from '../errors.js';
import type { SessionStoreAccess } from './elsewhere.js';

interface CallbackStore {
  get(id: string, callback: (error: unknown, session?: unknown) => void): void;
  destroy(id: string, callback: (error?: unknown) => void): void;
}

/** What a session store failed with, as an Error (stores call back with anything). */
export function storeFailure(error: unknown): Error {
  return isInstance(error, Error) ? error : new Error(`session store failed: ${describeValue(error)}`);
}

/**
 * The store, or undefined when it has no callback `get` and `destroy`. `local`: whether it is an
 * in-process store no other instance can see (default: express-session's own MemoryStore).
 */
export function callbackStoreAccess(
  store: unknown,
  local = (store as { constructor?: { name?: unknown } } | null | undefined)?.constructor?.name === 'MemoryStore',
): SessionStoreAccess | undefined {
  const s = store as Partial<CallbackStore> | null | undefined;
  if (typeof s?.get !== 'function' || typeof s.destroy !== 'function') return undefined;
  const own = s as CallbackStore;
  return {
    local,
    get: (id) =>
      new Promise((resolve, reject) => {
        own.get(id, (error, session) => {
          if (error === undefined || error === null) resolve(session);
          else reject(storeFailure(error));
        });
      }),
    destroy: (id) =>
      new Promise((resolve, reject) => {
        own.destroy(id, (error) => {
          if (error === undefined || error === null) resolve();
          else reject(storeFailure(error));
        });
      }),
  };
}

/**
 * After an app's `endSession` that left the request without a session the middleware made
 * (`isSession`): set to null, or to what the middleware cannot save (`{}`, `false`; express-session
 * would hang the response) and is made null. The store's copy under `id` is destroyed now, where the
 * middleware would keep it, or destroy it only once the answer is out (express-session set to null,
 * @fastify/session). A session the middleware made (a regenerated one) is left to it.
 */
/** Whether `value` is an object for which `test` holds; false where reading it throws (a revoked Proxy). */
export function readsAs(value: unknown, test: (value: object) => boolean): boolean {
  if (value === null || typeof value !== 'object') return false;
  try {
    return test(value);
  } catch {
    return false;
  }
}

export async function destroyLeftSession(
  request: object,
  id: string | undefined,
  isSession: (value: unknown) => boolean,
): Promise<void> {
  const own = request as { session?: unknown; readonly sessionStore?: unknown };
  if (isSession(own.session)) return;
  own.session = null;
  const store = callbackStoreAccess(own.sessionStore);
  if (store !== undefined && id !== undefined) await store.destroy(id);
}

/** What the request's session store holds under `id`: the session a request came with, asked after an app's `endSession`. */
export function storedUnder(request: object, id: string | undefined): Promise<unknown> {
  const store = callbackStoreAccess((request as { readonly sessionStore?: unknown }).sessionStore);
  return store === undefined || id === undefined ? Promise.resolve(undefined) : store.get(id);
}
