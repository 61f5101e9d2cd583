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

// The words of a key: `ssoToken` → sso, token; `SSOToken` → sso, token; `access_token` → access, token.
const WORDS = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g;

/**
 * Whether a key names a sign-in or its token: `sso` (`SSO`, `user.sso`), a token of it (`ssoToken`,
 * `sso_tokens`, `ssoSession`, `accessToken`, `access_token`, `accessTokens`, `ssoAccessToken_v2`).
 * Not a word that only holds the letters (`associations`, `lessons`), nor a field about a token
 * (`accessTokenExpiresAt`).
 */
function namesSignIn(key: string): boolean {
  const words = (key.match(WORDS) ?? []).map((word) => word.toLowerCase());
  // A version after it (`_v2`, `2`) says nothing of what it holds.
  while (words.length > 1 && /^(?:v|\d+)$/.test(words.at(-1) ?? '')) words.pop();
  const last = words.at(-1) ?? '';
  if (last === 'sso' || last.endsWith('accesstoken') || last.endsWith('ssotoken')) return true;
  const sso = words.includes('sso');
  if (sso && (last === 'token' || last === 'tokens' || last === 'session')) return true;
  return words.includes('access') && (last === 'token' || last === 'tokens');
}

// How deep and how wide a session is searched: the places sign-in libraries keep tokens (passport's
// `passport.user.accessToken`, an OIDC token set's `tokens.access_token`) are shallow.
const SEARCH_DEPTH = 3;
const SEARCH_KEYS = 200;
// A key shown as it is in the warning: a field's name, short, not data used as a key (a token, an id).
const FIELD_NAME = /^[A-Za-z_$][\w$-]{0,23}$/;

const isText = (value: unknown): boolean => typeof value === 'string' && value !== '';
/** An object holding a string (a sign-in's token), not only flags and times. */
const holdsText = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Object.values(value).some(isText);

/**
 * Where a session with no sign-in at `sso` seems to keep one all the same: the path of a key that
 * names a sign-in or a token and holds a string, or an object holding one, searched a few levels
 * deep, with a key that is not a field's name (a token used as a key) shown as `[…]`. A middleware's
 * own fields (`_expire`, `_ctx`, `cookie`) are not searched. Undefined when there is none.
 */
export function signInElsewhere(data: object): string | undefined {
  let budget = SEARCH_KEYS;
  const search = (value: object, path: string, depth: number): string | undefined => {
    for (const key of Object.keys(value)) {
      if (--budget < 0) return undefined;
      if (key.startsWith('_') || (depth === 0 && (key === 'sso' || key === 'cookie'))) continue;
      const inner: unknown = (value as Record<string, unknown>)[key];
      const shown = FIELD_NAME.test(key) ? key : '[…]';
      const where = path === '' ? shown : `${path}.${shown}`;
      if (namesSignIn(key) && (isText(inner) || holdsText(inner))) return where;
      if (typeof inner === 'object' && inner !== null && !Array.isArray(inner) && depth + 1 < SEARCH_DEPTH) {
        const found = search(inner, where, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  try {
    return search(data, '', 0);
  } catch {
    // A getter of the app's that throws: nothing to say.
    return undefined;
  }
}
