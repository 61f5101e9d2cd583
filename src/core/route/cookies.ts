// Builds the Set-Cookie headers that delete cookies, with the attributes they were set with.

import type { ServerResponse } from 'node:http';
import { lazyDependency } from '../lazy-require.js';
import { BoundedMemo } from './memo.js';
import { configError, didYouMean } from '../validate.js';

const cookieModule = lazyDependency('cookie');

/**
 * Every cookie of a `Cookie` header, a repeated name as often as it comes (`cookie`'s parser keeps
 * only the first, and the session's may be the second), values unquoted and percent-decoded as
 * `cookie` decodes them (left as they are where they do not decode).
 */
function* cookiePairs(header: string): Generator<readonly [string, string]> {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    yield [part.slice(0, eq).trim(), decoded(value)];
  }
}

/** A cookie value percent-decoded as `cookie` decodes it, or as it is where it does not decode. */
function decoded(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A cookie to delete, described by the attributes it was set with. */
export interface CookieToClear {
  readonly name: string;
  /** Default `/`. */
  readonly path?: string | undefined;
  readonly domain?: string | undefined;
  readonly secure?: boolean | undefined;
  readonly httpOnly?: boolean | undefined;
  readonly sameSite?: boolean | 'lax' | 'strict' | 'none' | undefined;
  readonly partitioned?: boolean | undefined;
}

const EPOCH = new Date(0);

/**
 * The `Set-Cookie` value that deletes `cookie`. A browser only deletes a cookie whose name, path
 * and domain match, and refuses `Secure`/`SameSite=None`/`Partitioned` changes over plain HTTP,
 * so the attributes are repeated as set. `__Host-` and `__Secure-` prefixes force what they require.
 */
export function clearingHeader(cookie: CookieToClear): string {
  return serialiseClearing(cookie);
}

const MEMO_MAX = 256;

/** A cookie's attributes, without its name. */
export type CookieAttributes = Omit<CookieToClear, 'name'>;

function sameCookie(a: CookieToClear, name: string, b: CookieAttributes): boolean {
  return (
    a.name === name &&
    a.path === b.path &&
    a.domain === b.domain &&
    a.secure === b.secure &&
    a.httpOnly === b.httpOnly &&
    a.sameSite === b.sameSite &&
    a.partitioned === b.partitioned
  );
}

/**
 * {@link clearingHeader} remembered per route: an app clears the same one or two cookies with the
 * same attributes on every sign-out, so the last one is compared field by field before anything
 * is built, and the others are looked up by a key.
 */
export function createCookieClearer(): (name: string, attributes: CookieAttributes) => string {
  const written = new BoundedMemo<string>(MEMO_MAX);
  let last: { cookie: CookieToClear; header: string } | undefined;
  return (name, attributes) => {
    if (last !== undefined && sameCookie(last.cookie, name, attributes)) return last.header;
    const { path, domain, secure, httpOnly, sameSite, partitioned } = attributes;
    const cookie: CookieToClear = { name, path, domain, secure, httpOnly, sameSite, partitioned };
    const header = written.get(clearingKey(cookie), () => serialiseClearing(cookie));
    last = { cookie, header };
    return header;
  };
}

// Everything the Set-Cookie value depends on, in one short string.
function clearingKey(cookie: CookieToClear): string {
  const flags =
    (cookie.secure === true ? 1 : 0) | (cookie.httpOnly === true ? 2 : 0) | (cookie.partitioned === true ? 4 : 0);
  return `${cookie.name};${cookie.path ?? ''};${cookie.domain ?? ''};${String(cookie.sameSite)};${String(flags)}`;
}

// Browsers read a name's `__Host-` and `__Secure-` prefix in any case (RFC 6265bis).
const hostPrefixed = (name: string): boolean => /^__host-/i.test(name);
const securePrefixed = (name: string): boolean => hostPrefixed(name) || /^__secure-/i.test(name);

function serialiseClearing(cookie: CookieToClear): string {
  const host = hostPrefixed(cookie.name);
  const securePrefix = securePrefixed(cookie.name);
  return cookieModule().serialize(cookie.name, '', {
    path: host ? '/' : (cookie.path ?? '/'),
    ...(host || cookie.domain === undefined ? {} : { domain: cookie.domain }),
    expires: EPOCH,
    maxAge: 0,
    ...(securePrefix || cookie.secure === true ? { secure: true } : {}),
    ...(cookie.httpOnly === true ? { httpOnly: true } : {}),
    ...(cookie.sameSite === undefined || cookie.sameSite === false ? {} : { sameSite: cookie.sameSite }),
    ...(cookie.partitioned === true ? { partitioned: true } : {}),
  });
}

const SAME_SITE = new Set([true, false, 'lax', 'strict', 'none']);

/**
 * Why browsers would refuse the clearing header of a listed cookie, if they would: a cookie set so
 * was never stored, and one stored otherwise is not the one this header names.
 */
function unsettableBecause(cookie: CookieToClear): string | undefined {
  const secure = cookie.secure === true || securePrefixed(cookie.name);
  if (cookie.path !== undefined && !cookie.path.startsWith('/')) {
    return `has the path ${JSON.stringify(cookie.path)}: browsers take a cookie path that does not start with "/" as the default path`;
  }
  if (!secure && cookie.sameSite === 'none') {
    return 'is SameSite=None without `secure: true`: browsers refuse such a cookie';
  }
  if (!secure && cookie.partitioned === true) {
    return 'is Partitioned without `secure: true`: browsers refuse such a cookie';
  }
  return undefined;
}

/** Validates `clearCookies` once, at construction, by serialising each entry. */
export function parseCookieList(option: string, value: unknown): readonly CookieToClear[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw configError(
      option,
      'wrong_type',
      `\`${option}\` must be an array of cookie names or { name, path, domain, … } objects.`,
    );
  }
  return value.map((entry: unknown, index) => cookieEntry(option, `\`${option}[${String(index)}]\``, entry));
}

/** Validates `sessionCookieName` once, at construction: one cookie name. */
export function parseCookieName(option: string, value: unknown): string {
  return cookieEntry(option, `\`${option}\``, value).name;
}

// Tied to the cookie type, so adding an attribute without listing it here fails to compile.
const COOKIE_ATTRIBUTE_NAMES: Readonly<Record<keyof CookieToClear, true>> = {
  name: true,
  path: true,
  domain: true,
  secure: true,
  httpOnly: true,
  sameSite: true,
  partitioned: true,
};
const COOKIE_ATTRIBUTES = Object.keys(COOKIE_ATTRIBUTE_NAMES);

/**
 * Refuses an attribute an entry misspells (`Path`, `paths`, `Domain`, `httponly`): left unread, the
 * clearing header would name the default path or no domain, and a browser only deletes the cookie
 * whose path and domain it names, so the cookie would stay.
 */
function knownAttributes(option: string, where: string, entry: object): void {
  for (const name of Object.keys(entry)) {
    if (COOKIE_ATTRIBUTES.includes(name)) continue;
    const cookie = (entry as { name?: unknown }).name;
    const which = typeof cookie === 'string' ? ` (${JSON.stringify(cookie)})` : '';
    throw configError(
      option,
      'unknown_option',
      `${where}${which} has an unknown attribute \`${name}\`.${didYouMean(name, COOKIE_ATTRIBUTES, 'attributes')}`,
    );
  }
}

/** One cookie to clear, as an option gives it (`where` names it in errors), checked by serialising it. */
function cookieEntry(option: string, where: string, entry: unknown): CookieToClear {
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) knownAttributes(option, where, entry);
  const spec: CookieToClear | undefined =
    typeof entry === 'string'
      ? { name: entry }
      : entry !== null && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string'
        ? (entry as CookieToClear)
        : undefined;
  if (spec === undefined) {
    throw configError(
      option,
      'wrong_type',
      `${where} must be a cookie name or an object with a \`name\`; got ${JSON.stringify(entry)}.`,
    );
  }
  if (spec.sameSite !== undefined && !SAME_SITE.has(spec.sameSite)) {
    throw configError(
      option,
      'invalid_value',
      `${where}.sameSite must be "lax", "strict", "none" or a boolean; got ${JSON.stringify(spec.sameSite)}.`,
    );
  }
  const unsettable = unsettableBecause(spec);
  if (unsettable !== undefined) {
    throw configError(option, 'invalid_value', `${where} ${unsettable}, so it would never be cleared.`);
  }
  try {
    clearingHeader(spec);
  } catch (error) {
    throw configError(option, 'invalid_value', `${where} cannot be written as a cookie: ${(error as Error).message}.`);
  }
  return { ...spec };
}

/**
 * Whether a browser sends a cookie set for `cookiePath` with a request to `requestPath` (the
 * path-match of RFC 6265 §5.1.4).
 */
export function cookiePathCovers(cookiePath: string | undefined, requestPath: string): boolean {
  const path = cookiePath === undefined || cookiePath === '' ? '/' : cookiePath;
  if (requestPath === path) return true;
  if (!requestPath.startsWith(path)) return false;
  return path.endsWith('/') || requestPath.charAt(path.length) === '/';
}

/** The session detail for a session cookie whose path leaves the sign-out route out. */
export function cookiePathDetail(cookiePath: string, requestPath: string): string {
  return `The session cookie is set for the path "${cookiePath}", which does not include this route's path "${requestPath}": browsers never send it here, so this request cannot see the session. Mount the sign-out route under "${cookiePath}" or widen the cookie's path.`;
}

// A signed session cookie's value: the marker, the id, `.` and a signature: cookie-signature's
// unpadded base64 HMAC-SHA-256 (43 characters, express-session's and @fastify/cookie's default), or
// what another signer writes (@fastify/session's `algorithm` option, an app's own `Signer`): an HMAC
// in base64 (padded or not), base64url or hex, from MD5's 22 characters to SHA-512's 128 in hex.
const SIGNATURE = /\.[A-Za-z0-9+/_-]{22,128}={0,2}$/;
// A session id as @fastify/session makes them (24 random bytes in base64url, a UUID, an
// `idGenerator`'s): 16 characters or more. Its cookies carry no marker, so a value whose part before
// the signature is short (`v1.<uuid>`, `t.<hex>`) is taken for an app's own cookie. express-session's
// `s:` marks its own (and cookie-parser's) whatever `genid` makes.
const SESSION_ID = /^\S{16,}$/;
// A cookie name a server can set: printable ASCII but `;` and `=` (what the \`cookie\` package writes,
// `app:sid` included, and browsers keep).
const COOKIE_NAME = /^[\u0021-\u003A\u003C\u003E-\u007E]+$/;

/**
 * The name of the cookie holding this session's signed value, found without parsing the whole
 * header: `name=<marker><id>.<signature>` (the marker percent-encoded or not), the name ending at
 * the `=` and starting after the cookie before it. Undefined when the header does not hold it so.
 */
function cookieNameHolding(cookieHeader: string, sessionId: string, marker: string): string | undefined {
  return (
    nameBefore(cookieHeader, `=${encodeURIComponent(marker)}${sessionId}.`) ??
    nameBefore(cookieHeader, `=${marker}${sessionId}.`)
  );
}

/**
 * The name of the cookie whose value starts with `prefix` (which begins with its `=`) and ends in a
 * signature, if any: a value that only starts so (`a=s:<id>.x`, planted beside the session's own
 * cookie) names nothing.
 */
function nameBefore(cookieHeader: string, prefix: string): string | undefined {
  const at = cookieHeader.indexOf(prefix);
  if (at <= 0) return undefined;
  const ends = cookieHeader.indexOf(';', at);
  // Decoded, as the middleware reads it: a signature's `+` and `/` come percent-encoded.
  if (!SIGNATURE.test(decoded(cookieHeader.slice(at, ends === -1 ? undefined : ends).trimEnd()))) return undefined;
  // The name runs from after the previous `;` and the spaces that follow it.
  let start = cookieHeader.lastIndexOf(';', at) + 1;
  while (cookieHeader.charCodeAt(start) === 32 || cookieHeader.charCodeAt(start) === 9) start++;
  let end = at;
  while (end > start && (cookieHeader.charCodeAt(end - 1) === 32 || cookieHeader.charCodeAt(end - 1) === 9)) end--;
  const name = cookieHeader.slice(start, end);
  return COOKIE_NAME.test(name) ? name : undefined;
}

/**
 * Whether a `Cookie` header holds more than one cookie named `name`: a browser sends two when
 * another origin of the site (a sibling subdomain, a page on plain HTTP) has set one of that name
 * for a longer path or a wider domain, and the session middleware reads the first.
 */
export function sentMoreThanOnce(cookieHeader: string | undefined, name: string): boolean {
  if (cookieHeader === undefined || name === '') return false;
  let seen = 0;
  for (let at = cookieHeader.indexOf(name); at !== -1; at = cookieHeader.indexOf(name, at + name.length)) {
    // Blanks may stand before the `=`: the parsers of express-session and the `cookie` package
    // trim a name, so `sid =x` is read as `sid` (no browser sends one, but a client can).
    let after = at + name.length;
    while (cookieHeader.charCodeAt(after) === 32 || cookieHeader.charCodeAt(after) === 9) after++;
    if (cookieHeader.charCodeAt(after) !== 61 /* = */) continue;
    // A cookie's name starts the header or follows a `;` and blanks: not inside a value or a longer name.
    let before = at - 1;
    while (before >= 0 && (cookieHeader.charCodeAt(before) === 32 || cookieHeader.charCodeAt(before) === 9)) before--;
    if (before >= 0 && cookieHeader.charCodeAt(before) !== 59 /* ; */) continue;
    if (++seen > 1) return true;
  }
  return false;
}

/**
 * The name of a session middleware's cookie, which it does not expose: the request cookie whose
 * signed value (`marker` + id + `.` + signature; express-session's marker is `s:`, @fastify/session
 * has none) holds this session's id. Values are compared parsed and decoded, so ids of any alphabet
 * match. Undefined when none does (no cookie, a stale one the store no longer knows, or one another
 * origin planted): then no name is guessed for clearing.
 */
export function signedSessionCookieName(
  cookieHeader: string | undefined,
  sessionId: string | undefined,
  marker: string,
): string | undefined {
  if (cookieHeader === undefined || sessionId === undefined) return undefined;
  // The common case, found in the header as it is: every sign-out of a live session.
  const direct = cookieNameHolding(cookieHeader, sessionId, marker);
  if (direct !== undefined) return direct;
  for (const [name, value] of cookiePairs(cookieHeader)) {
    if (COOKIE_NAME.test(name) && signedId(value, marker) === sessionId) return name;
  }
  return undefined;
}

/** The id a cookie value holds signed the session middleware's way (`marker` + id + `.` + signature), if it does. */
function signedId(value: string, marker: string): string | undefined {
  if (!value.startsWith(marker) || !SIGNATURE.test(value)) return undefined;
  const id = value.slice(marker.length, value.lastIndexOf('.'));
  return id === '' ? undefined : id;
}

/** Whether a cookie value looks like a session id signed the middleware's way (see {@link SESSION_ID}). */
function signedLikeSession(value: string, marker: string): boolean {
  const id = signedId(value, marker);
  return id !== undefined && (marker !== '' || SESSION_ID.test(id));
}

/**
 * A cookie name the header sends more than once, with a value signed the session middleware's way
 * among them: the session's own cookie, sent beside a copy another origin of the site planted (whose
 * value the middleware read first: a fresh session when it failed to unsign it, the planter's own
 * session when it was theirs). Asked whether or not a cookie holds the session's id: a planted copy
 * the middleware did read holds it. Not used to clear anything: an app's own signed cookie
 * (cookie-parser signs the same way) may look alike. A name no server can set is never taken.
 */
export function repeatedSignedCookieName(cookieHeader: string | undefined, marker: string): string | undefined {
  if (cookieHeader === undefined || !namesRepeat(cookieHeader)) return undefined;
  const seen = new Map<string, { count: number; signed: boolean }>();
  for (const [name, value] of cookiePairs(cookieHeader)) {
    if (!COOKIE_NAME.test(name)) continue;
    const entry = seen.get(name) ?? { count: 0, signed: false };
    entry.count++;
    if (signedLikeSession(value, marker)) entry.signed = true;
    seen.set(name, entry);
  }
  for (const [name, { count, signed }] of seen) if (count > 1 && signed) return name;
  return undefined;
}

/**
 * Whether any cookie name comes twice in the header, by the names alone as sent (a name with blanks
 * around it trimmed, as the parsers trim it): asked on every sign-out, so nothing is decoded unless one does.
 */
function namesRepeat(cookieHeader: string): boolean {
  const seen = new Set<string>();
  let start = 0;
  while (start < cookieHeader.length) {
    let end = cookieHeader.indexOf(';', start);
    if (end === -1) end = cookieHeader.length;
    const eq = cookieHeader.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const name = cookieHeader.slice(start, eq).trim();
      if (seen.has(name)) return true;
      seen.add(name);
    }
    start = end + 1;
  }
  return false;
}

/**
 * Takes back what is already on the response for the cookies `names`. On a refusal the route writes
 * none, so any is the session middleware's answer to a value planted first: the `cookies` library
 * (koa-session's, cookie-session's) deletes the `.sig` of a value whose signature does not match, or
 * signs it anew with the first key, either way for the default path, so the user's own.
 */
export function takeBackSessionCookies(res: ServerResponse, names: readonly string[]): void {
  const set = res.getHeader('set-cookie');
  if (set === undefined) return;
  const all = Array.isArray(set) ? set : [String(set)];
  const kept = all.filter((cookie) => !names.includes(cookie.slice(0, cookie.indexOf('=')).trim()));
  if (kept.length === all.length) return;
  if (kept.length === 0) res.removeHeader('set-cookie');
  else res.setHeader('set-cookie', kept);
}
