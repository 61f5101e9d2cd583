// Which sessions each user has, on Redis: one set of session ids per user, keyed by a digest of the
// user's name, so "sign out everywhere" can find every session of the user on every instance.

import { nodeCrypto } from '../lazy-require.js';
import { describeSecret, describeValue } from '../errors.js';
import { secretKey, senderOf, type Send } from '../logout/shared-state.js';
import { configError, knownOptions, wholeNumber } from '../validate.js';
import { within } from '../within.js';

export interface RedisSessionIndexOptions {
  /** The app's connected Redis client: node-redis v5 or ioredis v5 (the one its session store uses will do). */
  readonly client: unknown;
  /** At least 32 bytes, the same on every instance: the HMAC key of the digests users are known by. */
  readonly secret: string | Uint8Array;
  /** The start of every key. Default `'sso-signout:'`. */
  readonly prefix?: string | undefined;
  /** How long a user's set lives after its last addition, in milliseconds. Default 30 days. */
  readonly ttlMs?: number | undefined;
  /** The longest one Redis operation may take. Default `1000`. */
  readonly operationTimeoutMs?: number | undefined;
}

const OPTION_NAMES: Readonly<Record<keyof RedisSessionIndexOptions, true>> = {
  client: true,
  secret: true,
  prefix: true,
  ttlMs: true,
  operationTimeoutMs: true,
};

/** Each user's sessions. The user is any stable string the app names users by (a subject, an email). */
export interface SessionIndex {
  /** Records that `sessionId` belongs to `user` (call it at sign-in, once the session has its id). */
  add(user: string, sessionId: string): Promise<void>;
  /** Forgets sessions of `user` (the route does this for the sessions it ends). */
  remove(user: string, sessionIds: readonly string[]): Promise<void>;
  /** The ids of every session recorded for `user`. */
  sessions(user: string): Promise<string[]>;
}

// Longer than any session id a store makes; ids are stored as they are.
const MAX_ID_LENGTH = 512;
const MAX_USER_LENGTH = 1024;

function checkUser(user: unknown): string {
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH) {
    throw new TypeError(
      `a user must be a non-empty string of at most ${String(MAX_USER_LENGTH)} characters; got ${describeValue(user)}`,
    );
  }
  return user;
}

// No store makes an id with a control character in it (a CR or LF would only come from a mistake).
const CONTROL = /\p{Cc}/u;

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || CONTROL.test(id)) {
    throw new TypeError(
      `a session id must be a non-empty string of at most ${String(MAX_ID_LENGTH)} characters, with no control character`,
    );
  }
  return id;
}

function checkIds(ids: unknown): readonly string[] {
  if (!Array.isArray(ids)) {
    // Its kind only: a session id is a credential.
    throw new TypeError(`the session ids to remove must be an array of ids; got ${describeSecret(ids)}`);
  }
  return ids.map(checkId);
}

/**
 * An index of each user's sessions on Redis. Give it to the route as `everywhere.sessionIndex`.
 *
 * @example
 * const sessionIndex = redisSessionIndex({ client: redis, secret: process.env.SSO_SIGNOUT_SECRET });
 * // at sign-in, once express-session has the new session's id:
 * await sessionIndex.add(user.id, req.sessionID);
 */
export function redisSessionIndex(options: RedisSessionIndexOptions): SessionIndex {
  const o = knownOptions(options, Object.keys(OPTION_NAMES)) as Partial<RedisSessionIndexOptions>;
  if (o.client === undefined)
    throw configError('client', 'missing', '`client` is required: the app’s connected Redis client.');
  const send: Send = senderOf(o.client);
  if (o.secret === undefined)
    throw configError('secret', 'missing', '`secret` is required: the key users are known by.');
  const key = secretKey(o.secret);
  const prefix = o.prefix ?? 'sso-signout:';
  if (typeof prefix !== 'string') {
    throw configError('prefix', 'wrong_type', `\`prefix\` must be a string; got ${describeValue(prefix)}.`);
  }
  const ttlMs = wholeNumber('ttlMs', o.ttlMs, 30 * 86_400_000, 1000, 400 * 86_400_000);
  const timeoutMs = wholeNumber('operationTimeoutMs', o.operationTimeoutMs, 1000, 1, 60_000);
  const keyOf = (user: string): string =>
    `${prefix}user:${nodeCrypto().createHmac('sha256', key).update(`user\n${user}`).digest('base64url')}`;
  const bounded = (args: readonly string[]): Promise<unknown> =>
    within(send(args), timeoutMs, `Redis did not answer ${args[0] ?? ''} within ${String(timeoutMs)} ms`);

  return {
    async add(user, sessionId) {
      const k = keyOf(checkUser(user));
      await bounded(['SADD', k, checkId(sessionId)]);
      await bounded(['PEXPIRE', k, String(ttlMs)]);
    },
    async remove(user, sessionIds) {
      const ids = checkIds(sessionIds);
      if (ids.length === 0) return;
      await bounded(['SREM', keyOf(checkUser(user)), ...ids]);
    },
    async sessions(user) {
      const members = await bounded(['SMEMBERS', keyOf(checkUser(user))]);
      // Sorted: requests that can each work only part of a long list work it in one order.
      return Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string').sort() : [];
    },
  };
}
