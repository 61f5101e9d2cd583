// A session store with express-session's callback interface (connect-redis, @fastify/session's
// stores, …) as the route uses it: by id, with promises.

import { describeValue } from '../errors.js';
import type { SessionStoreAccess } from './elsewhere.js';

interface CallbackStore {
  get(id: string, callback: (error: unknown, session?: unknown) => void): void;
  destroy(id: string, callback: (error?: unknown) => void): void;
}

/** What a session store failed with, as an Error (stores call back with anything). */
export function storeFailure(error: unknown): Error {
  return error instanceof Error ? error : new Error(`session store failed: ${describeValue(error)}`);
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
 * After an app's `endSession` that left the request without its session (`request.session` now
 * null or undefined): the store's copy under `id` destroyed now, where the middleware would keep it,
 * or destroy it only once the answer is out (express-session set to null, @fastify/session).
 */
export async function destroyLeftSession(request: object, id: string | undefined): Promise<void> {
  const { session, sessionStore } = request as { readonly session?: unknown; readonly sessionStore?: unknown };
  const store = callbackStoreAccess(sessionStore);
  if ((session === null || session === undefined) && store !== undefined && id !== undefined) {
    await store.destroy(id);
  }
}
