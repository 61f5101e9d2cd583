// "Sign out everywhere": once the request's own session has ended, the user's other sessions (found
// in the session index) are ended in the session store too, each token revoked first, or handed to
// the revocation queue, or its session kept: never a session ended with its token silently dropped.

import { provesTokenDead } from '../logout/classify.js';
import type { LogoutClient, LogoutResult } from '../logout/client.js';
import type { TokenInfo } from '../token.js';
import type { ReadToken } from '../route/stored-sign-in.js';
import type { SessionIndex } from './session-index.js';
import { within } from '../within.js';

const STORE_LATE = 'the session store did not answer in time';
const INDEX_LATE = 'the session index did not answer in time';

/** A session store as the route uses it: by id, promises, whatever the framework's store looks like. */
export interface SessionStoreAccess {
  get(id: string): Promise<unknown>;
  destroy(id: string): Promise<void>;
  /** The store is this process's own (express-session's MemoryStore): other instances' sessions are not in it. */
  readonly local?: boolean;
}

/** What signing out everywhere did besides the request's own session. Never holds a token or an id. */
export interface EverywhereReport {
  /** Other sessions of the user listed in the index. */
  readonly found: number;
  /** Of those, ended (their tokens revoked, proven dead, queued, or absent). */
  readonly ended: number;
  /** No longer in the session store (expired, or ended elsewhere): forgotten. */
  readonly gone: number;
  /** Kept: the portal did not revoke the token and nothing took it, so the session still holds it. */
  readonly kept: number;
  /**
   * Not ended: the store or the index failed, the session held something that is not a session, or
   * the user has more sessions than one request works (the first {@link MAX_SESSIONS_PER_REQUEST}).
   * They stay as they were; signing out everywhere again works on them.
   */
  readonly failed: number;
}

/** Sessions one request works at the most; the rest are reported as failed, for the next request. */
export const MAX_SESSIONS_PER_REQUEST = 1000;

export interface Elsewhere {
  readonly index: SessionIndex;
  readonly store: SessionStoreAccess;
  readonly client: LogoutClient;
  /**
   * The token a stored session holds, read as the route reads its own; undefined when the app's
   * `tokenOf` failed for it (the route has warned), so that session is left as it is.
   */
  readonly tokenOf: (session: object) => Promise<ReadToken | undefined>;
  /** Told when a stored sign-in could not be sent (the wrong shape, a region no dispatcher reaches). */
  readonly unusable: (result: LogoutResult) => void;
  /** Hands over a token the portal did not revoke (the queue, the hook); false when nothing took it. */
  readonly handOver: (token: TokenInfo) => Promise<boolean>;
  /** Bound on each store and index operation. */
  readonly timeoutMs: number;
}

type Fate = 'ended' | 'gone' | 'kept' | 'failed';

/** Ends one other session: its token first (revoked, dead or handed over), then the session itself. */
async function endOne(e: Elsewhere, id: string): Promise<Fate> {
  let data: unknown;
  try {
    data = await within(e.store.get(id), e.timeoutMs, STORE_LATE);
  } catch {
    return 'failed';
  }
  if (data === undefined || data === null) return 'gone';
  // Something that is not a session record is not destroyed on a guess.
  if (typeof data !== 'object' || Array.isArray(data)) return 'failed';
  const read = await e.tokenOf(data);
  if (read === undefined) return 'failed';
  if (read.kind === 'token') {
    const result = await e.client.logout(read.token);
    if (result.outcome === 'not_sent') e.unusable(result);
    if (!provesTokenDead(result.outcome) && !(await e.handOver(read.token))) return 'kept';
  }
  try {
    await within(e.store.destroy(id), e.timeoutMs, STORE_LATE);
    return 'ended';
  } catch {
    return 'failed';
  }
}

/** Ends every other session of `user` (the request's own, `currentId`, has ended already). */
export async function endElsewhere(
  e: Elsewhere,
  user: string,
  currentId: string | undefined,
): Promise<EverywhereReport> {
  let listed: string[];
  try {
    // An index of the app's own may never answer: bounded like the store.
    listed = (await within(Promise.resolve(e.index.sessions(user)), e.timeoutMs, INDEX_LATE)).filter(
      (id) => id !== currentId,
    );
  } catch {
    return { found: 0, ended: 0, gone: 0, kept: 0, failed: 1 };
  }
  // In the index's order, so a request after this one works on what this one left.
  const ids = listed.slice(0, MAX_SESSIONS_PER_REQUEST);
  const fates = await Promise.all(ids.map((id) => endOne(e, id)));
  // Forgotten: the sessions that are gone now, and the request's own.
  // A store of this process's own cannot tell gone from held by another instance: those stay listed.
  const forget = ids.filter((_, i) => fates[i] === 'ended' || (fates[i] === 'gone' && e.store.local !== true));
  if (currentId !== undefined) forget.push(currentId);
  try {
    await within(Promise.resolve(e.index.remove(user, forget)), e.timeoutMs, INDEX_LATE);
  } catch {
    // An index that fails (or throws, if it is the app's own) forgets nothing: the sessions are ended all the same.
  }
  const count = (fate: Fate): number => fates.filter((f) => f === fate).length;
  return {
    found: listed.length,
    ended: count('ended'),
    gone: count('gone'),
    kept: count('kept'),
    failed: count('failed') + (listed.length - ids.length),
  };
}
