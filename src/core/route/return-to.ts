// Decides where the browser goes after sign-out: the configured default, or a vetted `return_to`.

import { describeValue } from '../errors.js';
import { configError } from '../validate.js';

export type ReturnToRejection =
  | 'not_a_string'
  | 'too_long'
  | 'control_character'
  | 'scheme_relative'
  | 'backslash'
  | 'not_a_path'
  | 'bad_encoding'
  | 'origin_not_allowed'
  | 'credentials'
  | 'not_http';

export type ReturnToDecision =
  { readonly ok: true; readonly location: string } | { readonly ok: false; readonly reason: ReturnToRejection };

const MAX_RETURN_TO_LENGTH = 2048;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Decoding more than this many layers deep is an attack, not a URL.
const MAX_DECODE_DEPTH = 4;

function checkPathLayer(value: string): ReturnToRejection | undefined {
  if (CONTROL.test(value)) return 'control_character';
  if (!value.startsWith('/')) return 'not_a_path';
  if (value.startsWith('//')) return 'scheme_relative';
  // Browsers read '\' as '/' in http(s) URLs, so '/\evil.example' is '//evil.example'.
  if (value.includes('\\')) return 'backslash';
  return undefined;
}

// Any origin serves to resolve a path; only the path of the result is kept.
const PLACEHOLDER_ORIGIN = 'http://app.invalid';

/** The path with its dot segments resolved as a browser resolves them ('/a/../b' is '/b'). */
function resolveDots(layer: string): string {
  const url = new URL(layer, PLACEHOLDER_ORIGIN);
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * Checks a path at every layer of percent-decoding, each layer both as written and with its dot
 * segments resolved: one leading '/', not '//', no backslash, no control characters.
 */
function checkLayers(value: string): ReturnToRejection | undefined {
  let layer = value;
  for (let depth = 0; depth <= MAX_DECODE_DEPTH; depth++) {
    const problem = checkPathLayer(layer) ?? checkPathLayer(resolveDots(layer));
    if (problem !== undefined) return problem;
    let decoded: string;
    try {
      decoded = decodeURIComponent(layer);
    } catch {
      return 'bad_encoding';
    }
    if (decoded === layer) return undefined;
    if (depth === MAX_DECODE_DEPTH) return 'bad_encoding';
    layer = decoded;
  }
  return undefined;
}

/**
 * Vets a same-site relative path and returns the Location a browser would follow for it, as the
 * WHATWG parser serialises it. The Location itself must pass the same checks: resolving dot
 * segments can uncover an encoded '//' ('/%2e/%2fevil.example' serialises as '/%2fevil.example').
 */
function vetPath(value: string, appOrigin: string): ReturnToDecision {
  const problem = checkLayers(value);
  if (problem !== undefined) return { ok: false, reason: problem };
  const url = new URL(value, appOrigin);
  if (url.origin !== appOrigin) return { ok: false, reason: 'scheme_relative' };
  const location = `${url.pathname}${url.search}${url.hash}`;
  const again = checkLayers(location);
  if (again !== undefined) return { ok: false, reason: again };
  return { ok: true, location };
}

function vetAbsolute(value: string, allowed: ReadonlySet<string>): ReturnToDecision {
  if (CONTROL.test(value)) return { ok: false, reason: 'control_character' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'not_a_path' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'not_http' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials' };
  if (!allowed.has(url.origin)) return { ok: false, reason: 'origin_not_allowed' };
  return { ok: true, location: url.href };
}

/** Checks a `return_to` value from the request. `appOrigin` is the app's own origin. */
export function vetReturnTo(value: unknown, appOrigin: string, allowedOrigins: ReadonlySet<string>): ReturnToDecision {
  if (typeof value !== 'string') return { ok: false, reason: 'not_a_string' };
  if (value.length > MAX_RETURN_TO_LENGTH) return { ok: false, reason: 'too_long' };
  if (value.startsWith('/')) return vetPath(value, appOrigin);
  // Only absolute URLs with an explicit http(s) scheme are considered; `javascript:`, `data:`,
  // `mailto:`, bare hosts and the like all fall back to the default.
  if (/^https?:/i.test(value)) return vetAbsolute(value, allowedOrigins);
  return { ok: false, reason: 'not_a_path' };
}

/**
 * The origin a value names, as the URL parser writes it (any case, a default port, an IDN), when
 * it is one: an http(s) scheme and a host, nothing after it but a slash; no credentials, no
 * wildcard. Undefined otherwise.
 */
export function originOf(value: unknown): URL | undefined {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+\/?$/i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const bare =
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.username === '' &&
    url.password === '' &&
    !url.hostname.includes('*');
  return bare ? url : undefined;
}

/** Normalises an allowed-origin list given as options, refusing anything that is not an origin. */
export function parseOriginList(option: string, value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) {
    throw configError(
      option,
      'wrong_type',
      `\`${option}\` must be an array of origins such as ["https://portal.example.com"].`,
    );
  }
  const origins = new Set<string>();
  for (const entry of value) {
    const url = originOf(entry);
    if (url === undefined) {
      throw configError(
        option,
        'invalid_value',
        `\`${option}\` entries must be origins (scheme, host and optional port, nothing else), e.g. "https://portal.example.com"; got ${JSON.stringify(entry)}.`,
      );
    }
    origins.add(url.origin);
  }
  return origins;
}

/**
 * Validates the configured default destination: a same-site path or an absolute http(s) URL.
 * It is the app's own setting, so any origin is accepted for it.
 */
export function parseDestination(option: string, value: unknown): string {
  if (value === undefined) return '/';
  if (typeof value === 'string') {
    // Serialised as a browser would send it back: '/登出' becomes '/%E7%99%BB%E5%87%BA', which a
    // Location header can carry.
    if (value.startsWith('/')) {
      const decision = vetPath(value, PLACEHOLDER_ORIGIN);
      if (decision.ok) return decision.location;
    } else if (/^https?:\/\//i.test(value) && !CONTROL.test(value)) {
      try {
        return new URL(value).href;
      } catch {
        // fall through to the error below
      }
    }
  }
  throw configError(
    option,
    typeof value === 'string' ? 'invalid_value' : 'wrong_type',
    `\`${option}\` must be a path on this site such as "/signed-out" (one leading "/", no "//", no backslash, no control characters) or an absolute http(s) URL; got ${describeValue(value)}.`,
  );
}
