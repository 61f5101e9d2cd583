// `sso-signout/koa-session`: opt-in typing of koa-session's `ctx.session`, with the sign-in the route revokes.

import type {} from 'koa';
import type { TokenInfo } from './core/token.js';

/**
 * What an app keeps in its koa-session session. Add your own fields by declaration merging, as
 * express-session's `SessionData` works:
 *
 * @example
 * declare module 'sso-signout/koa-session' {
 *   interface KoaSessionData {
 *     views?: number;
 *   }
 * }
 */
export interface KoaSessionData {
  /** The IAM Identity Center sign-in the sign-out route revokes. */
  sso?: TokenInfo;
}

/** koa-session's session object: the app's data and the methods koa-session adds. */
export interface KoaSession extends KoaSessionData {
  /** True for a session created on this request. */
  readonly isNew: boolean;
  /** The session's lifetime in milliseconds (or `'session'` for a browser-session cookie). */
  maxAge: number | 'session' | undefined;
  /** With an external store: the key the session is stored under. */
  readonly externalKey: string | undefined;
  /** Saves the session even when unchanged. */
  save(): Promise<void> | undefined;
  /** Replaces the session with a new, empty one under a new key. */
  regenerate(): Promise<void> | undefined;
  /** Commits the session now (with `autoCommit: false`). */
  manuallyCommit(): Promise<void> | undefined;
  toJSON(): Record<string, unknown>;
}

/**
 * Importing this module (`import 'sso-signout/koa-session'`) types Koa's `ctx.session` as
 * koa-session's session, so `ctx.session.sso = { accessToken, region }` at sign-in and
 * `ctx.session?.sso` in a `getToken` type-check under `strict` (koa-session itself leaves it `any`).
 */
declare module 'koa' {
  interface DefaultContext {
    session: KoaSession | null;
  }
}

export type { TokenInfo };
