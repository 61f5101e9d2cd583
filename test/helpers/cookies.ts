// Cookie handling for tests: what a response's Set-Cookie headers say, and what a browser's jar keeps.

import type { IncomingHttpHeaders } from 'node:http';
import type request from 'supertest';

/** The `Cookie` header value that the Set-Cookie headers of a response establish. */
export function cookieHeaderFrom(res: request.Response): string {
  const set = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return set.map((c) => c.split(';', 1)[0]).join('; ');
}

/** Applies a response's Set-Cookie headers to a Cookie header, as a browser's jar would. */
export function applySetCookies(cookie: string, res: { readonly headers: IncomingHttpHeaders }): string {
  const jar = new Map(
    cookie
      .split('; ')
      .filter((p) => p !== '')
      .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const),
  );
  for (const line of res.headers['set-cookie'] ?? []) {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const name = pair.slice(0, pair.indexOf('='));
    const value = pair.slice(pair.indexOf('=') + 1);
    const expired = attrs.some((a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Parsed Set-Cookie lines of a response, keyed by cookie name. */
export function setCookies(res: request.Response): Map<string, { value: string; attrs: Map<string, string> }> {
  const out = new Map<string, { value: string; attrs: Map<string, string> }>();
  for (const line of (res.headers['set-cookie'] as string[] | undefined) ?? []) {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const attrMap = new Map(
      attrs.map((a) => {
        const i = a.indexOf('=');
        return i === -1 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      }),
    );
    out.set(pair.slice(0, pair.indexOf('=')), { value: pair.slice(pair.indexOf('=') + 1), attrs: attrMap });
  }
  return out;
}
