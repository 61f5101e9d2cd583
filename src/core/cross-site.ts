// Refuses sign-out requests a browser sent on behalf of another site (logout CSRF).

import type { IncomingHttpHeaders } from 'node:http';

export type CrossSiteVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'origin_mismatch' | 'origin_null' | 'origin_invalid' | 'sec_fetch_site' };

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A request passes when its `Origin` (if any) is the app's own origin or an allowed one, and its
 * `Sec-Fetch-Site` (if any) is not `cross-site`. A request with neither header (curl, a server)
 * passes: it cannot carry a victim's cookies by way of a browser.
 */
export function checkCrossSite(
  headers: IncomingHttpHeaders,
  appOrigin: string,
  allowedOrigins: ReadonlySet<string>,
): CrossSiteVerdict {
  if (single(headers['sec-fetch-site'])?.trim().toLowerCase() === 'cross-site') {
    return { ok: false, reason: 'sec_fetch_site' };
  }
  const origin = single(headers.origin)?.trim();
  if (origin === undefined || origin === '') return { ok: true };
  // Sandboxed frames, data: URLs and some redirects send "null": never trustworthy.
  if (origin === 'null') return { ok: false, reason: 'origin_null' };
  let normalised: string;
  try {
    normalised = new URL(origin).origin;
  } catch {
    return { ok: false, reason: 'origin_invalid' };
  }
  if (normalised === 'null') return { ok: false, reason: 'origin_invalid' };
  if (normalised === appOrigin || allowedOrigins.has(normalised)) return { ok: true };
  return { ok: false, reason: 'origin_mismatch' };
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
