// Refuses sign-out requests a browser sent on behalf of another site (logout CSRF).

import type { IncomingHttpHeaders } from 'node:http';
import { firstValue } from './request.js';

export type CrossSiteVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'origin_mismatch' | 'origin_null' | 'origin_invalid' | 'sec_fetch_site' | 'referer_mismatch';
    };

/**
 * A request passes when its `Origin` (if any) is the app's own origin or an allowed one, and its
 * `Sec-Fetch-Site` (if any) is not `cross-site` unless its `Origin` is an allowed one. `Origin: null` passes only with
 * `Sec-Fetch-Site: same-origin`; no `Origin` with `Sec-Fetch-Site: same-site` is refused (its
 * origin is unknown). A request with neither header (curl, a server, a browser too old to send
 * them on a `GET`) passes unless its `Referer` names another origin: a non-browser client cannot
 * carry a victim's cookies by way of a browser, and an old browser's cross-site `<img>` or link
 * says where it came from there.
 */
export function checkCrossSite(
  headers: IncomingHttpHeaders,
  appOrigin: () => string,
  allowedOrigins: ReadonlySet<string>,
  normalise: (origin: string) => string | undefined = normaliseOrigin,
): CrossSiteVerdict {
  const site = firstValue(headers['sec-fetch-site'])?.trim().toLowerCase();
  const origin = firstValue(headers.origin)?.trim();
  if (site === 'cross-site') {
    // Another site's page: only one the app allows by name (a launcher on another domain). An empty
    // or `null` Origin names none: normalising refuses both.
    const named = origin === undefined ? undefined : normalise(origin);
    return named !== undefined && allowedOrigins.has(named) ? { ok: true } : { ok: false, reason: 'sec_fetch_site' };
  }
  if (origin === undefined || origin === '') {
    // No Origin to compare (a GET navigation, an <img>): a browser saying it came from another
    // origin of this site (a sibling subdomain) cannot be checked against the allowed ones.
    if (site === 'same-site') return { ok: false, reason: 'sec_fetch_site' };
    return site === undefined && refererElsewhere(headers, appOrigin, allowedOrigins)
      ? { ok: false, reason: 'referer_mismatch' }
      : { ok: true };
  }
  if (origin === 'null') {
    // A page served with `Referrer-Policy: no-referrer` (helmet's default) posts its own forms
    // with `Origin: null`; the browser still says `Sec-Fetch-Site: same-origin`. Sandboxed frames
    // and data: documents also send "null", but they are always `cross-site`.
    return site === 'same-origin' ? { ok: true } : { ok: false, reason: 'origin_null' };
  }
  const normalised = normalise(origin);
  if (normalised === undefined) return { ok: false, reason: 'origin_invalid' };
  if (normalised === appOrigin() || allowedOrigins.has(normalised)) return { ok: true };
  return { ok: false, reason: 'origin_mismatch' };
}

/** Whether a request's `Referer` names an origin that is neither the app's own nor an allowed one. */
function refererElsewhere(
  headers: IncomingHttpHeaders,
  appOrigin: () => string,
  allowedOrigins: ReadonlySet<string>,
): boolean {
  const referer = firstValue(headers.referer)?.trim();
  if (referer === undefined || referer === '') return false;
  let origin: string;
  try {
    origin = new URL(referer).origin;
  } catch {
    // Not a URL: no browser's, and it names no other site.
    return false;
  }
  return origin !== appOrigin() && !allowedOrigins.has(origin);
}

// A scheme, `://` and an authority with no user in it, and nothing after (no path, query or
// fragment, nor a backslash, which the URL parser reads as a path's slash), nor a percent escape
// (the URL parser decodes `%2e` in a host; browsers send hosts in punycode, never escaped): an
// origin as browsers send it.
const ORIGIN_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\\?#@%\s]+$/;

/**
 * An `Origin` header as the WHATWG URL parser serialises its origin; undefined if it has none, or
 * if it is not one: browsers send a scheme, a host and a port, never a user, a path, a query or a
 * fragment, so a value with any of them is no browser's, and is not reduced to an origin it names.
 */
export function normaliseOrigin(origin: string): string | undefined {
  if (!ORIGIN_FORM.test(origin)) return undefined;
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/** `scheme://host[:port]` normalised as browsers send it in `Origin` (default ports dropped). */
export function originOf(protocol: string, host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  try {
    const origin = new URL(`${protocol}://${host}`).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

// Where a browser puts what a request fetches (`Sec-Fetch-Dest`): a sign-out is a page the user
// goes to (a document, in a frame or not) or a call of the app's own script (`empty`); anything
// else is a resource embedded in a page (an image, a script, a style, a font, an object…).
const NAVIGATION_OR_CALL = new Set(['document', 'frame', 'iframe', 'empty']);
// Headers that mark a prefetch or a prerender: the standard `Sec-Purpose`, `Purpose` (Safari, older
// Chrome), `X-Purpose` and `X-Moz` (Firefox), and Next.js's link prefetching (`Next-Router-Prefetch`
// in the App Router, `X-Middleware-Prefetch` in the Pages Router).
const PURPOSE_HEADERS = ['sec-purpose', 'purpose', 'x-purpose', 'x-moz'] as const;
const PREFETCH_FLAGS = ['next-router-prefetch', 'x-middleware-prefetch'] as const;

/**
 * Why a `GET` sign-out is one the user did not ask for, if it is: a prefetch or prerender of the
 * link (speculation rules, `<link rel=prefetch>`, a framework's link prefetching), or a resource
 * embedded in a page (`<img>`, `<script>`, a stylesheet, a font: `Sec-Fetch-Mode: no-cors`, or a
 * `Sec-Fetch-Dest` that is neither a document nor a script's call).
 */
export function backgroundRequest(headers: IncomingHttpHeaders): 'prefetch' | 'embedded' | undefined {
  for (const name of PURPOSE_HEADERS) {
    const purpose = firstValue(headers[name]);
    if (purpose !== undefined && /\b(?:prefetch|prerender|preview)\b/i.test(purpose)) return 'prefetch';
  }
  if (PREFETCH_FLAGS.some((name) => headers[name] !== undefined)) return 'prefetch';
  if (firstValue(headers['sec-fetch-mode'])?.trim().toLowerCase() === 'no-cors') return 'embedded';
  const dest = firstValue(headers['sec-fetch-dest'])?.trim().toLowerCase();
  return dest === undefined || NAVIGATION_OR_CALL.has(dest) ? undefined : 'embedded';
}
