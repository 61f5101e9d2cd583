// Keeps a signed-out session dead: a revoked marker in the session store stops late writes from resurrecting it.
//
// A request of the same session that was already in flight when sign-out destroyed the session
// still holds it in memory; when it ends, express-session (a modified session, or `resave: true`)
// and koa-session (a changed or rolling session) write it back to the store, and the signed-out
// cookie works again. The guard writes a marker next to the session when it is destroyed; while the
// marker lives, writes of that session are dropped and reads of it find nothing. The marker lives in
// the same store, so every app instance sharing the store sees it.

import { describeValue, type SignOutConfigError } from './errors.js';
import { configError, knownOptions, nonEmptyString, wholeNumber } from './validate.js';
import { createWarner, type Warn } from './warnings.js';

export interface SessionGuardOptions {
  /**
   * How long the revoked marker lives, in milliseconds: at least as long as a session can live.
   * Default 24 hours.
   */
  readonly ttlMs?: number | undefined;
  /** Prefix of the marker's key (the session id follows). Default `sso-signout:revoked:`. */
  readonly prefix?: string | undefined;
}

const DEFAULT_TTL_MS = 86_400_000;
// No session lives longer, and a marker's expiry must stay a date every store can write.
const MAX_TTL_MS = 365 * 86_400_000;

const GUARD_OPTION_NAMES: Readonly<Record<keyof SessionGuardOptions, true>> = { ttlMs: true, prefix: true };

function resolve(options: SessionGuardOptions | undefined): { ttlMs: number; prefix: string } {
  const o = knownOptions(options, Object.keys(GUARD_OPTION_NAMES));
  return {
    ttlMs: wholeNumber('ttlMs', o.ttlMs, DEFAULT_TTL_MS, 1000, MAX_TTL_MS),
    prefix: nonEmptyString('prefix', o.prefix, 'sso-signout:revoked:'),
  };
}

type Callback<T = unknown> = (error?: unknown, value?: T) => void;

// The stores given to a guard: one the session middleware uses itself, rather than the guard made of
// it, is a guard that protects nothing.
const wrapped = new WeakSet<object>();

/** Whether `store` (the session middleware's) was given to `guardSessionStore`, whose result is not what the middleware uses. */
export function guardBypassed(store: unknown): boolean {
  return typeof store === 'object' && store !== null && wrapped.has(store);
}

/** An express-session guard that koa-session calls (`(key, maxAge, { ctx })`): name the right entry. */
function expressGuardMisused(): SignOutConfigError {
  return configError(
    'store',
    'misuse',
    'this session store was wrapped for express-session (`guardSessionStore` from "sso-signout") but koa-session calls it; for koa-session use `guardSessionStore` from "sso-signout/koa".',
  );
}

function isKoaOptions(value: unknown): value is { ctx: unknown } {
  return value !== null && typeof value === 'object';
}

/**
 * express-session or @fastify/session calling a koa-session guard: `(sid, …, callback)`. Answer through its callback
 * with an error that names the right entry, rather than throw into a callback-based middleware.
 */
function koaGuardMisused(maybeCallback: unknown): Promise<undefined> {
  const error = configError(
    'store',
    'misuse',
    'this session store was wrapped for koa-session (`guardSessionStore` from "sso-signout/koa") but a callback-style session middleware calls it: for express-session use `guardSessionStore` from "sso-signout", for @fastify/session the one from "sso-signout/fastify".',
  );
  if (typeof maybeCallback === 'function') {
    (maybeCallback as Callback)(error);
    return Promise.resolve(undefined);
  }
  return Promise.reject(error);
}

/** The callback store interface of express-session (`MemoryStore`, connect-redis, …). */
export interface ExpressSessionStoreLike {
  get(sid: string, callback: Callback): void;
  set(sid: string, session: unknown, callback?: Callback): void;
  destroy(sid: string, callback?: Callback): void;
  touch?(sid: string, session: unknown, callback?: Callback): void;
}

function checkStore(store: unknown, methods: readonly string[], what: string): void {
  const ok =
    store !== null &&
    typeof store === 'object' &&
    methods.every((m) => typeof (store as Record<string, unknown>)[m] === 'function');
  if (!ok)
    throw configError('store', 'wrong_type', `guardSessionStore needs ${what} with ${methods.join(', ')} methods.`);
}

/**
 * Once the marker is written the session is over: every read through the guard finds nothing. A
 * store that then fails to delete the session's data (a Redis user without DEL, a store that is
 * down) leaves it unreadable behind the marker until it is read again or expires; the sign-out
 * stands, and the operator is told once.
 */
function leftBehindTheMarker(warn: Warn, error: unknown): void {
  const kind = error instanceof Error ? error.message : describeValue(error);
  warn(
    'SSO_SIGNOUT_GUARD_DELETE_FAILED',
    `the session store failed to delete a signed-out session (${kind.slice(0, 200)}); its data stays in the store, unreadable behind its revoked marker, until the store expires it. Check that the store may delete keys.`,
  );
}

type RevokedCheck = (sid: string, then: (error: unknown, revoked: boolean) => void) => void;
type Write = (sid: string, session: unknown, callback?: Callback) => void;

function failed(error: unknown): boolean {
  return error !== undefined && error !== null;
}

/** `get` that finds nothing behind a marker. */
function guardedGet(store: ExpressSessionStoreLike, isRevoked: RevokedCheck): ExpressSessionStoreLike['get'] {
  return (sid, callback) => {
    if (typeof callback !== 'function') throw expressGuardMisused();
    isRevoked(sid, (error, revoked) => {
      if (failed(error)) callback(error);
      else if (!revoked) store.get(sid, callback);
      else {
        // A write that slipped in between the check and the destroy is cleaned up here, without
        // waiting (the marker already hides it); a replayed signed-out cookie with nothing behind
        // it costs a read, never a write.
        store.get(sid, (readError, held) => {
          if (!failed(readError) && held !== undefined && held !== null) store.destroy(sid, () => undefined);
          callback(undefined, undefined);
        });
      }
    });
  };
}

/** `set` or `touch` that drops the write behind a marker. */
function guardedWrite(write: Write, isRevoked: RevokedCheck): Write {
  return (sid, session, callback) => {
    if (callback !== undefined && typeof callback !== 'function') throw expressGuardMisused();
    isRevoked(sid, (error, revoked) => {
      if (failed(error)) callback?.(error);
      else if (revoked) callback?.();
      else write(sid, session, callback);
    });
  };
}

/** How long a guarded destroy waits for the delete behind its marker before it answers. */
const DELETE_WAIT_MS = 250;

/**
 * The marker ends the session: the delete behind it is tidying, reported when it fails but waited
 * for a moment only, so a store whose delete never answers does not hold the sign-out (it is over,
 * and answered so). `then` is called once, when `remove` is done or {@link DELETE_WAIT_MS} has passed.
 */
function afterDeleteOrWait(remove: (done: () => void) => void, then: () => void): void {
  let answered = false;
  const answer = (): void => {
    if (answered) return;
    answered = true;
    then();
  };
  const tidying = setTimeout(answer, DELETE_WAIT_MS);
  remove(() => {
    clearTimeout(tidying);
    answer();
  });
}

/** `destroy` that leaves a marker behind a session the store held. */
function guardedDestroy(
  store: ExpressSessionStoreLike,
  marker: (sid: string) => string,
  ttlMs: number,
  warn: Warn,
): ExpressSessionStoreLike['destroy'] {
  return (sid, callback) => {
    if (callback !== undefined && typeof callback !== 'function') throw expressGuardMisused();
    // Only a session the store holds can be written back: one minted for this very request (a
    // sign-out without a cookie, or with an unknown id) gets no marker, so anonymous sign-outs
    // write nothing and cannot fill the store.
    store.get(sid, (readError, held) => {
      if (failed(readError) || held === undefined || held === null) {
        callback?.(failed(readError) ? readError : undefined);
        return;
      }
      const expires = new Date(Date.now() + ttlMs);
      // Shaped like a session so every store accepts it and expires it with its own TTL logic.
      const revoked = { cookie: { expires: expires.toISOString(), originalMaxAge: ttlMs }, revoked: true };
      store.set(marker(sid), revoked, (error) => {
        if (failed(error)) {
          callback?.(error);
          return;
        }
        afterDeleteOrWait(
          (done) => {
            store.destroy(sid, (destroyError) => {
              if (failed(destroyError)) leftBehindTheMarker(warn, destroyError);
              done();
            });
          },
          () => callback?.(),
        );
      });
    });
  };
}

// What a revoked marker holds (see `guardedDestroy`), and the `id` a listing may add (connect-redis).
const MARKER_KEYS = new Set(['cookie', 'revoked', 'id']);

/** A revoked marker, told by its shape. */
function isMarker(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const { revoked, cookie } = value as { revoked?: unknown; cookie?: unknown };
  return revoked === true && cookie !== undefined && Object.keys(value).every((key) => MARKER_KEYS.has(key));
}

/**
 * What a store's `all` lists (`{ sid: session }` as MemoryStore gives it, or `[{ id, … }]` as
 * connect-redis does) without the revoked markers (each under the guard's prefix, shaped as a
 * marker: a session whose own id merely starts with the prefix is a session), nor the sessions
 * behind them (a signed-out session whose delete failed): signed-out users are not sessions.
 */
function withoutMarkers(listed: unknown, prefix: string): unknown {
  if (listed === null || typeof listed !== 'object') return listed;
  const entries: [unknown, unknown][] = Array.isArray(listed)
    ? listed.map((item) => [(item as { id?: unknown } | null)?.id, item])
    : Object.entries(listed);
  // A marker with no id to tell it by (a listing without ids) is known by its shape alone.
  const marker = ([id, item]: [unknown, unknown]): boolean =>
    isMarker(item) && (id === undefined || (typeof id === 'string' && id.startsWith(prefix)));
  const revoked = new Set(
    entries.filter(marker).flatMap(([id]) => (typeof id === 'string' ? [id.slice(prefix.length)] : [])),
  );
  const shown = (entry: [unknown, unknown]): boolean =>
    !marker(entry) && !(typeof entry[0] === 'string' && revoked.has(entry[0]));
  if (Array.isArray(listed)) return entries.filter(shown).map(([, item]) => item);
  return Object.fromEntries(entries.filter(shown));
}

/** The ids of what {@link withoutMarkers} leaves. */
function idsOf(listed: unknown): unknown {
  if (Array.isArray(listed)) return listed.map((item) => (item as { id?: unknown } | null)?.id);
  return listed === null || typeof listed !== 'object' ? listed : Object.keys(listed);
}

type Listing = (callback?: Callback) => unknown;

/** A count of what {@link withoutMarkers} leaves. */
function countOf(listed: unknown): unknown {
  const ids = idsOf(listed);
  return Array.isArray(ids) ? ids.length : ids;
}

/** `all` through {@link withoutMarkers}, then `then`, by callback or, called without one, by promise. */
function guardedListing(
  all: Listing,
  prefix: string,
  then: (listed: unknown) => unknown = (listed) => listed,
): Listing {
  return (callback) => {
    const answer = new Promise<unknown>((resolve, reject) => {
      all((error, listed) => {
        // The store's own error, passed on as it is.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (failed(error)) reject(error);
        else resolve(then(withoutMarkers(listed, prefix)));
      });
    });
    if (callback === undefined) return answer;
    answer.then(
      (value) => {
        callback(undefined, value);
      },
      (error: unknown) => {
        callback(error);
      },
    );
    return undefined;
  };
}

/**
 * The listing methods of a store, where it has `all`: `all`, and `length` and connect-redis's `ids`
 * worked out from it (the store's own are key scans, which count markers); and `clear`, bound to
 * the store itself (MemoryStore's replaces its map, which on the guard would hide it, not clear it).
 */
function guardListings(guarded: Record<string, unknown>, store: Record<string, unknown>, prefix: string): void {
  if (typeof store.clear === 'function') guarded.clear = store.clear.bind(store);
  const all = store.all;
  if (typeof all !== 'function') return;
  const listing = all.bind(store) as Listing;
  guarded.all = guardedListing(listing, prefix);
  guarded.length = guardedListing(listing, prefix, countOf);
  if (typeof store.ids === 'function') guarded.ids = guardedListing(listing, prefix, idsOf);
}

/**
 * Wraps an express-session store so a signed-out session cannot be written back by a request that
 * was in flight during sign-out. Use the returned store in `session({ store })`.
 *
 * @example
 * import { RedisStore } from 'connect-redis';
 * import { guardSessionStore } from 'sso-signout';
 *
 * app.use(session({ store: guardSessionStore(new RedisStore({ client })), secret, resave: false, saveUninitialized: false }));
 */
export function guardSessionStore<S extends ExpressSessionStoreLike>(store: S, options?: SessionGuardOptions): S {
  checkStore(store, ['get', 'set', 'destroy'], 'an express-session store');
  const { ttlMs, prefix } = resolve(options);
  const marker = (sid: string): string => `${prefix}${sid}`;
  const isRevoked: RevokedCheck = (sid, then) => {
    store.get(marker(sid), (error, value) => {
      then(error, value !== undefined && value !== null);
    });
  };
  // Inherits everything else (events, createSession, load, regenerate, clear, …) from the store
  // itself, so express-session sees the store it expects.
  const guarded = Object.create(store) as S;
  guarded.get = guardedGet(store, isRevoked);
  guarded.set = guardedWrite(store.set.bind(store), isRevoked);
  if (typeof store.touch === 'function') guarded.touch = guardedWrite(store.touch.bind(store), isRevoked);
  guarded.destroy = guardedDestroy(store, marker, ttlMs, createWarner());
  guardListings(guarded as unknown as Record<string, unknown>, store as unknown as Record<string, unknown>, prefix);
  wrapped.add(store);
  return guarded;
}

/** The store interface of koa-session's external stores (koa-redis, …). */
export interface KoaSessionStoreLike {
  get(
    key: string,
    maxAge: number | 'session' | undefined,
    options: { rolling: boolean | undefined; ctx: unknown },
  ): unknown;
  set(
    key: string,
    session: unknown,
    maxAge: number | 'session' | undefined,
    options: { rolling: boolean | undefined; changed: boolean; ctx: unknown },
  ): unknown;
  destroy(key: string, options: { ctx: unknown }): unknown;
}

/**
 * Wraps a koa-session external store so a signed-out session cannot be written back by a request
 * that was in flight during sign-out. Use the returned store as koa-session's `store`.
 *
 * @example
 * import redisStore from 'koa-redis';
 * import { guardSessionStore } from 'sso-signout/koa';
 *
 * app.use(session({ store: guardSessionStore(redisStore({ url })) }, app));
 */
export function guardKoaSessionStore<S extends KoaSessionStoreLike>(store: S, options?: SessionGuardOptions): S {
  checkStore(store, ['get', 'set', 'destroy'], 'a koa-session store');
  const { ttlMs, prefix } = resolve(options);
  const marker = (key: string): string => `${prefix}${key}`;
  const isRevoked = async (key: string, ctx: unknown): Promise<boolean> => {
    const value: unknown = await store.get(marker(key), ttlMs, { rolling: false, ctx });
    return value !== undefined && value !== null;
  };
  const warn = createWarner();
  // Deletes what is behind a marker; a failure leaves it unreadable there (see leftBehindTheMarker).
  const deleteBehindMarker = async (key: string, opts: { ctx: unknown }): Promise<void> => {
    try {
      await store.destroy(key, opts);
    } catch (error) {
      leftBehindTheMarker(warn, error);
    }
  };
  const guarded = Object.create(store) as S;
  guarded.get = async (key, maxAge, opts) => {
    if (!isKoaOptions(opts)) return koaGuardMisused(maxAge);
    if (await isRevoked(key, opts.ctx)) {
      // Only a late write behind the marker is destroyed, without waiting (the marker already hides
      // it): a replayed cookie costs a read.
      const held: unknown = await store.get(key, maxAge, opts);
      if (held !== undefined && held !== null) void deleteBehindMarker(key, { ctx: opts.ctx });
      return undefined;
    }
    return store.get(key, maxAge, opts);
  };
  guarded.set = async (key, session, maxAge, opts) => {
    if (!isKoaOptions(opts)) return koaGuardMisused(maxAge);
    if (await isRevoked(key, opts.ctx)) return undefined;
    return store.set(key, session, maxAge, opts);
  };
  guarded.destroy = async (key, opts) => {
    if (!isKoaOptions(opts)) return koaGuardMisused(opts);
    // Only a session the store holds gets a marker: anonymous sign-outs write nothing.
    const held: unknown = await store.get(key, ttlMs, { rolling: false, ctx: opts.ctx });
    if (held === undefined || held === null) return undefined;
    await store.set(marker(key), { revoked: true }, ttlMs, { rolling: false, changed: true, ctx: opts.ctx });
    await new Promise<void>((resolve) => {
      afterDeleteOrWait((done) => void deleteBehindMarker(key, opts).then(done), resolve);
    });
    return undefined;
  };
  wrapped.add(store);
  return guarded;
}
