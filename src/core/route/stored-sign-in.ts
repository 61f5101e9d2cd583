// Reads the sign-in a sign-out revokes: from the app's `getToken`, or from `session.sso`.

import type { TokenInfo } from '../token.js';

export type ReadToken = { readonly kind: 'none' } | { readonly kind: 'token'; readonly token: TokenInfo };

/**
 * A stored sign-in as the client takes it. Anything but a string token or an object with one is
 * passed on as it is, for the client to refuse as unusable (`not_sent`, a clear 500): a sign-in of
 * the wrong shape (`{ access_token }`, `{}`, `['…']`) must not pass for "no token" and skip the
 * revocation without a word.
 */
function signInOf(value: unknown): ReadToken {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const { accessToken, region } = value as { accessToken?: unknown; region?: unknown };
    return {
      kind: 'token',
      token: {
        accessToken: accessToken as string,
        region: region === null ? undefined : (region as string | undefined),
      },
    };
  }
  return { kind: 'token', token: { accessToken: value as string } };
}

/**
 * The default location: `session.sso = { accessToken, region }` (or the token alone). Only a
 * session with nothing at `sso` (absent or null) holds no token.
 */
export function tokenFromSession(data: unknown): ReadToken {
  if (data === null || typeof data !== 'object') return { kind: 'none' };
  const sso = (data as { sso?: unknown }).sso;
  return sso === undefined || sso === null ? { kind: 'none' } : signInOf(sso);
}

/** What `getToken` returned: undefined or null for no token. */
export function tokenFromGetter(value: unknown): ReadToken {
  return value === undefined || value === null ? { kind: 'none' } : signInOf(value);
}
