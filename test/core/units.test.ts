// The pure parts of the core: destination vetting, cross-site check, retry policy, cookies, options.

import { once } from 'node:events';
import { inspect } from 'node:util';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { MAX_BODY_BYTES, parseBody, readSmallBody } from '../../src/core/route/body.js';
import { MemoryStore } from 'express-session';
import { createLogoutClient, guardSessionStore, SignOutConfigError, SignOutError, ssoSignOut } from 'sso-signout';
import { guardSessionStore as guardKoaStore, type KoaSessionStoreLike } from 'sso-signout/koa';
import { clearingHeader, parseCookieList } from '../../src/core/route/cookies.js';
import { checkCrossSite, originOf } from '../../src/core/route/cross-site.js';
import { negotiateFormat } from '../../src/core/route/negotiate.js';
import { normaliseSessionRegion } from '../../src/core/logout/endpoint.js';
import { RecentResults, tokenDigest } from '../../src/core/logout/recent-results.js';
import { backoffMs, retryAfterHintMs, RetryQuota } from '../../src/core/logout/backoff.js';
import { bound, escapeControls, printable, redactToken } from '../../src/core/scrub.js';
import { vetReturnTo } from '../../src/core/route/return-to.js';
import { sanitizeErrorName } from '../../src/core/logout/classify.js';
import { within } from '../../src/core/within.js';
import { busyFor, serverElsewhere } from '../helpers/busy.js';

const APP = 'https://portal.example.com';
const ALLOWED = new Set(['https://home.example.com']);

describe('return_to', () => {
  it.each([
    ['/reports', '/reports'],
    ['/reports?id=7#top', '/reports?id=7#top'],
    ['/a/../b', '/b'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['https://home.example.com/bye', 'https://home.example.com/bye'],
    ['HTTPS://HOME.EXAMPLE.COM:443/bye', 'https://home.example.com/bye'],
  ])('accepts %j as %j', (value, location) => {
    expect(vetReturnTo(value, APP, ALLOWED)).toEqual({ ok: true, location });
  });

  it.each([
    ['//evil.example', 'scheme_relative'],
    ['/\\evil.example', 'backslash'],
    ['/%5Cevil.example', 'backslash'],
    ['/%2F%2Fevil.example', 'scheme_relative'],
    ['/%252F%252Fevil.example', 'scheme_relative'],
    ['/\t/evil.example', 'control_character'],
    ['/%0d%0aSet-Cookie:x', 'control_character'],
    ['/%E0%A4%A', 'bad_encoding'],
    ['https://evil.example/', 'origin_not_allowed'],
    ['https://home.example.com.evil.example/', 'origin_not_allowed'],
    ['https://user@home.example.com/', 'credentials'],
    ['javascript:alert(1)', 'not_a_path'],
    ['data:text/html,hi', 'not_a_path'],
    ['evil.example', 'not_a_path'],
    ['http:evil.example', 'origin_not_allowed'],
    ['x'.repeat(3000), 'too_long'],
  ])('refuses %j (%s)', (value, reason) => {
    expect(vetReturnTo(value, APP, ALLOWED)).toEqual({ ok: false, reason });
  });

  it('refuses values that are not strings (arrays from repeated fields, objects)', () => {
    expect(vetReturnTo(['/a', '/b'], APP, ALLOWED)).toEqual({ ok: false, reason: 'not_a_string' });
    expect(vetReturnTo({ a: 1 }, APP, ALLOWED)).toEqual({ ok: false, reason: 'not_a_string' });
  });
});

describe('cross-site check', () => {
  const allowed = new Set(['https://admin.example.com']);
  it.each([
    [{}, true],
    [{ origin: APP }, true],
    [{ origin: 'https://portal.example.com:443' }, true],
    [{ origin: 'https://admin.example.com' }, true],
    [{ 'sec-fetch-site': 'same-origin' }, true],
    // Another origin of this site with no Origin to check (a GET navigation from a sibling subdomain).
    [{ 'sec-fetch-site': 'same-site' }, false],
    [{ origin: 'https://admin.example.com', 'sec-fetch-site': 'same-site' }, true],
    [{ 'sec-fetch-site': 'none' }, true],
    [{ origin: 'http://portal.example.com' }, false],
    [{ origin: 'https://evil.example' }, false],
    [{ origin: 'null' }, false],
    [{ origin: 'null', 'sec-fetch-site': 'same-origin' }, true],
    [{ origin: 'null', 'sec-fetch-site': 'same-site' }, false],
    [{ origin: 'null', 'sec-fetch-site': 'none' }, false],
    [{ origin: 'garbage' }, false],
    // A percent escape in the host, which the URL parser decodes: no browser sends one.
    [{ origin: 'https://admin%2eexample.com' }, false],
    [{ origin: 'https://admin%2eexample.com', 'sec-fetch-site': 'cross-site' }, false],
    [{ 'sec-fetch-site': 'cross-site' }, false],
    [{ 'sec-fetch-site': 'CROSS-SITE' }, false],
    [{ origin: APP, 'sec-fetch-site': 'cross-site' }, false],
    // An allowed origin on another site (a launcher on another domain): the app named it.
    [{ origin: 'https://admin.example.com', 'sec-fetch-site': 'cross-site' }, true],
    [{ origin: 'https://admin.example.com:443', 'sec-fetch-site': 'cross-site' }, true],
    [{ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, false],
    [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, false],
    [{ origin: '', 'sec-fetch-site': 'cross-site' }, false],
    [{ origin: 'https://admin.example.com/x', 'sec-fetch-site': 'cross-site' }, false],
  ])('%j passes: %s', (headers, ok) => {
    expect(checkCrossSite(headers, () => APP, allowed).ok).toBe(ok);
  });

  it('normalises the app origin as browsers send Origin', () => {
    expect(originOf('https', 'Portal.Example.com:443')).toBe(APP);
    expect(originOf('http', 'localhost:3000')).toBe('http://localhost:3000');
    expect(originOf('http', undefined)).toBeUndefined();
    expect(originOf('http', 'bad host')).toBeUndefined();
  });
});

describe('content negotiation', () => {
  it.each([
    [undefined, 'html'],
    ['*/*', 'html'],
    ['text/html,application/xhtml+xml,*/*;q=0.8', 'html'],
    ['application/json', 'json'],
    ['application/problem+json', 'json'],
    ['application/json, text/html;q=0.5', 'json'],
    ['text/html, application/json;q=0.9', 'html'],
  ])('Accept %j gets %s', (accept, format) => {
    expect(negotiateFormat(accept === undefined ? {} : { accept })).toBe(format);
  });
});

describe('retry policy', () => {
  it('backs off with full jitter, doubling from 100 ms (500 ms when throttled), capped at 20 s', () => {
    expect([0, 1, 2, 3].map((r) => backoffMs(r, false, () => 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2].map((r) => backoffMs(r, true, () => 1))).toEqual([500, 1000, 2000]);
    expect(backoffMs(20, true, () => 1)).toBe(20_000);
    expect(backoffMs(3, false, () => 0.5)).toBe(400);
  });

  it('reads the portal wait hints', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterHintMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterHintMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now)).toBe(10_000);
    expect(retryAfterHintMs({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now)).toBe(0);
    expect(retryAfterHintMs({ 'x-amz-retry-after': '1500', 'retry-after': '9' }, now)).toBe(1500);
    expect(retryAfterHintMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterHintMs({ 'retry-after': '-5' }, now)).toBeUndefined();
    expect(retryAfterHintMs({ 'retry-after': '99999999999' }, now)).toBe(86_400_000);
    expect(retryAfterHintMs({}, now)).toBeUndefined();
  });

  it('cleans error names as the SDK does', () => {
    expect(sanitizeErrorName('com.amazonaws.switchboard.portal#UnauthorizedException')).toBe('UnauthorizedException');
    expect(sanitizeErrorName('UnauthorizedException:http://internal.amazon.com/x')).toBe('UnauthorizedException');
    expect(sanitizeErrorName('A,B')).toBe('A');
    expect(sanitizeErrorName(42)).toBe('42');
    expect(sanitizeErrorName({})).toBeUndefined();
  });
});

describe('cookie clearing', () => {
  it('repeats the attributes the cookie was set with and expires it', () => {
    expect(
      clearingHeader({
        name: 'sid',
        path: '/app',
        domain: 'example.com',
        secure: true,
        httpOnly: true,
        sameSite: 'none',
        partitioned: true,
      }),
    ).toBe(
      'sid=; Max-Age=0; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; Partitioned; SameSite=None',
    );
  });

  it('obeys the __Host- and __Secure- prefixes', () => {
    expect(clearingHeader({ name: '__Host-sid', path: '/x', domain: 'example.com' })).toBe(
      '__Host-sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure',
    );
    expect(clearingHeader({ name: '__Secure-sid' })).toContain('; Secure');
  });

  it('reads the prefixes in any case, as browsers do (RFC 6265bis)', () => {
    expect(clearingHeader({ name: '__host-sid', path: '/x', domain: 'example.com' })).toBe(
      '__host-sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure',
    );
    expect(clearingHeader({ name: '__SECURE-sid' })).toContain('; Secure');
    // Secure by its prefix: nothing for a browser to refuse.
    expect(parseCookieList('clearCookies', [{ name: '__secure-x', sameSite: 'none' }])).toHaveLength(1);
    expect(() => parseCookieList('clearCookies', [{ name: 'x', sameSite: 'none' }])).toThrow(/SameSite=None/);
  });
});

describe('options', () => {
  it('refuses an unknown option and suggests the intended one', () => {
    expect(() => ssoSignOut({ regoin: 'us-east-1' } as never)).toThrow(
      /unknown option `regoin`\. Did you mean `region`\?/,
    );
    expect(() => ssoSignOut({ region: 'us-east-1', timeout: 5 } as never)).toThrow(/Did you mean `timeoutMs`\?/);
    expect(() => ssoSignOut({ completelyDifferent: 1 } as never)).toThrow(/Known options: region, endpoint, .*onEvent/);
  });

  it('gives every configuration error the option it is about and a reason code', () => {
    const reasonOf = (make: () => unknown): [string, string] => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(SignOutConfigError);
        const { option, reason } = error as SignOutConfigError;
        return [option, reason];
      }
      throw new Error('no error');
    };
    expect(reasonOf(() => ssoSignOut({ regoin: 'x' } as never))).toEqual(['regoin', 'unknown_option']);
    expect(reasonOf(() => ssoSignOut('us-east-1' as never))).toEqual(['options', 'not_an_object']);
    expect(reasonOf(() => ssoSignOut({ allowGet: 1 } as never))).toEqual(['allowGet', 'wrong_type']);
    expect(reasonOf(() => ssoSignOut({ timeoutMs: 0 }))).toEqual(['timeoutMs', 'out_of_range']);
    expect(reasonOf(() => ssoSignOut({ timeoutMs: 1.5 }))).toEqual(['timeoutMs', 'wrong_type']);
    expect(reasonOf(() => ssoSignOut({ region: 'mars-1' }))).toEqual(['region', 'invalid_value']);
    // One name, named as given (not as the first of a list).
    expect(() => ssoSignOut({ sessionCookieName: '' })).toThrow(/^sso-signout: `sessionCookieName` cannot be written/);
    expect(
      reasonOf(() => ssoSignOut({ returnToParam: false, allowedReturnToOrigins: ['https://home.example.com'] })),
    ).toEqual(['allowedReturnToOrigins', 'conflict']);
    expect(reasonOf(() => ssoSignOut({ problemTypeBase: 'https://errors.example/\n' }))).toEqual([
      'problemTypeBase',
      'invalid_value',
    ]);
    expect(reasonOf(() => ssoSignOut({ endSessionOnFailure: true }))).toEqual(['onUnrevokedToken', 'missing']);
    expect(reasonOf(() => ssoSignOut({ client: createLogoutClient({ region: 'us-east-1' }), maxAttempts: 2 }))).toEqual(
      ['maxAttempts', 'conflict'],
    );
    const call = ssoSignOut as unknown as (...args: unknown[]) => unknown;
    expect(reasonOf(() => call({ headers: {}, method: 'GET' }, {}, () => undefined))).toEqual(['options', 'misuse']);
    // The client and the session-store guard speak the same way.
    expect(reasonOf(() => createLogoutClient({ maxAttemps: 2 } as never))).toEqual(['maxAttemps', 'unknown_option']);
    const store = new MemoryStore();
    expect(reasonOf(() => guardSessionStore(store, { ttl: 5 } as never))).toEqual(['ttl', 'unknown_option']);
    expect(reasonOf(() => guardSessionStore(store, { ttlMs: 10 }))).toEqual(['ttlMs', 'out_of_range']);
    expect(reasonOf(() => guardSessionStore(store, { prefix: '' }))).toEqual(['prefix', 'wrong_type']);
    expect(reasonOf(() => guardSessionStore({} as never))).toEqual(['store', 'wrong_type']);
  });

  it('catches app.use(ssoSignOut) instead of app.use(ssoSignOut())', () => {
    const req = { headers: {}, method: 'POST', socket: {} };
    const call = ssoSignOut as unknown as (...args: unknown[]) => unknown;
    expect(() => call(req, {}, () => undefined)).toThrow(/ssoSignOut is a factory/);
  });

  it.each([
    [{ destination: 'javascript:alert(1)' }, /`destination`/],
    [{ destination: '//evil.example' }, /`destination`/],
    [{ allowedOrigins: ['https://x.example/path'] }, /`allowedOrigins` entries must be origins/],
    // A wildcard would match nothing: browsers send one origin, never a pattern.
    [{ allowedOrigins: ['https://*.example.com'] }, /`allowedOrigins` entries must be origins/],
    [{ allowedReturnToOrigins: ['https://x.example?'] }, /`allowedReturnToOrigins` entries must be origins/],
    [{ allowedOrigins: 'https://x.example' }, /`allowedOrigins` must be an array/],
    [{ allowedReturnToOrigins: ['javascript:x'] }, /`allowedReturnToOrigins`/],
    [{ returnToParam: 'a b' }, /`returnToParam`/],
    [{ allowGet: 'yes' }, /`allowGet` must be true or false; got "yes"/],
    [
      { endSessionOnFailure: true },
      /give `revocationQueue` \(a durable queue a worker revokes from\) or `onUnrevokedToken`/,
    ],
    [{ clearCookies: ['bad;name'] }, /`clearCookies\[0\]` cannot be written as a cookie/],
    [{ clearCookies: [{ name: 'a', sameSite: 'sometimes' }] }, /sameSite/],
    [{ clearSiteData: ['everything'] }, /`clearSiteData`/],
    [{ render: 'page.html' }, /`render` must be a function/],
    [{ sessionCookieName: 'bad name' }, /sessionCookieName/],
  ])('refuses %j, naming the option', (options, message) => {
    expect(() => ssoSignOut({ region: 'us-east-1', ...options } as never)).toThrow(message);
  });

  it('refuses client options next to a shared client', async () => {
    const { createLogoutClient } = await import('sso-signout');
    const client = createLogoutClient({ region: 'us-east-1' });
    expect(() => ssoSignOut({ client, timeoutMs: 5 })).toThrow(/`timeoutMs` configures the Logout client/);
    await client.close();
  });

  it('throws SignOutConfigError carrying the option name', () => {
    try {
      ssoSignOut({ region: 'us-east-1', timeoutMs: -1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SignOutConfigError);
      expect((error as SignOutConfigError).option).toBe('timeoutMs');
      expect((error as SignOutConfigError).message).toContain('got -1');
    }
  });
});

describe('SignOutError', () => {
  it('serialises its public fields, its cause kept but not in JSON', () => {
    const cause = new Error('socket hang up');
    const error = new SignOutError('sso_unavailable', {
      status: 503,
      title: 'IAM Identity Center is unavailable',
      detail: 'try again',
      signedOut: false,
      retryAfter: 2,
      requestId: 'req-1',
      upstreamStatus: 503,
      cause,
    });
    expect(error.cause).toBe(cause);
    expect(error.statusCode).toBe(503);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SignOutError',
      code: 'sso_unavailable',
      status: 503,
      title: 'IAM Identity Center is unavailable',
      message: 'try again',
      signedOut: false,
      retryAfter: 2,
      requestId: 'req-1',
      upstreamStatus: 503,
    });
    expect(inspect(error)).toContain('sso_unavailable');
  });
});

describe('text from outside', () => {
  const token = 'aoaABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop:0123456789';

  it('redacts the whole token, and any run of 12 or more of its characters', () => {
    expect(redactToken(`x ${token} y`, token)).toBe('x [redacted] y');
    expect(redactToken(`cut: ${token.slice(0, 20)}`, token)).toBe('cut: [redacted]');
    expect(redactToken(`tail ${token.slice(-15)}!`, token)).toBe('tail [redacted]!');
    expect(redactToken(`${token}${token}`, token)).toBe('[redacted][redacted]');
    // Shorter runs are left: they are as likely in any text.
    expect(redactToken(`short ${token.slice(3, 14)}`, token)).toBe(`short ${token.slice(3, 14)}`);
    // A token shorter than a run is redacted where it appears whole.
    expect(redactToken('a tok b', 'tok')).toBe('a [redacted] b');
  });

  it('escapes control, line-breaking and bidi characters so text stays on one line as written', () => {
    expect(escapeControls('a\r\nb\tc\u001b[31md\u0000')).toBe('a\\r\\nb\\tc\\u001b[31md\\u0000');
    expect(escapeControls('x\u2028y\u202ez\u0085')).toBe('x\\u2028y\\u202ez\\u0085');
    expect(escapeControls('plain é 中')).toBe('plain é 中');
    expect(escapeControls('a\u061cb\u200bc\ufeffd\u{e0041}e')).toBe('a\\u061cb\\u200bc\\ufeffd\\u{e0041}e');
    // A backslash typed in the input is doubled, so it cannot pass for an escape.
    expect(escapeControls('typed \\n')).toBe('typed \\\\n');
  });

  it('bounds text, never splitting a surrogate pair', () => {
    expect(bound('abcdef', 4)).toBe('abcd…');
    expect(bound('abc😀', 4)).toBe('abc…');
    expect(bound('abc', 4)).toBe('abc');
    expect(printable(`\n${token}`, 100, token)).toBe('\\n[redacted]');
  });
});

describe('recent results', () => {
  it('keys tokens by a SHA-256 digest, never the token', () => {
    const key = tokenDigest('https://portal/logout', 'aoa-secret-token-value');
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('secret');
    expect(tokenDigest('https://portal/logout', 'aoa-secret-token-value')).toBe(key);
    expect(tokenDigest('https://other/logout', 'aoa-secret-token-value')).not.toBe(key);
  });

  it('remembers an entry for at least half its time and at most its time', () => {
    let now = 0;
    const memory = new RecentResults<string>(60_000, 1000, () => now);
    for (let i = 0; i < 400; i++) memory.set(`k${String(i)}`, 'revoked');
    expect(memory.size).toBe(400);
    now = 29_999;
    expect(memory.get('k1')).toBe('revoked');
    now = 30_000;
    memory.set('late', 'revoked');
    expect(memory.get('k1')).toBe('revoked');
    expect(memory.get('late')).toBe('revoked');
    now = 59_999;
    expect(memory.get('k1')).toBe('revoked');
    now = 60_000;
    expect(memory.get('k1')).toBeUndefined();
    expect(memory.get('late')).toBe('revoked');
    now = 90_000;
    expect(memory.get('late')).toBeUndefined();
    expect(memory.size).toBe(0);
    now = 200_000;
    memory.set('fresh', 'revoked');
    expect(memory.size).toBe(1);
  });

  it('holds at most its bound, dropping the oldest generation', () => {
    const memory = new RecentResults<string>(60_000, 4, () => 0);
    for (const k of ['a', 'b', 'c', 'd', 'e']) memory.set(k, k);
    expect(memory.size).toBeLessThanOrEqual(4);
    expect(memory.get('a')).toBeUndefined();
    expect(memory.get('e')).toBe('e');
    for (let i = 0; i < 1000; i++) memory.set(`x${String(i)}`, 'x');
    expect(memory.size).toBeLessThanOrEqual(4);
  });

  it('answers a rewritten key with its newest result', () => {
    const memory = new RecentResults<string>(60_000, 4, () => 0);
    memory.set('a', 'first');
    memory.set('b', 'b');
    memory.set('c', 'c');
    memory.set('a', 'second');
    expect(memory.get('a')).toBe('second');
  });
});

describe('retry quota', () => {
  it('spends 14 per transient retry and 5 per throttled one out of 500, and refunds on success', () => {
    const quota = new RetryQuota();
    expect(quota.take(false)).toBe(14);
    expect(quota.take(true)).toBe(5);
    expect(quota.available).toBe(481);
    quota.succeeded(14);
    expect(quota.available).toBe(495);
    quota.succeeded(undefined);
    quota.succeeded(undefined);
    expect(quota.available).toBe(497);
    quota.succeeded(14);
    expect(quota.available).toBe(500);
    while (quota.take(false) !== undefined);
    expect(quota.available).toBeLessThan(14);
    expect(quota.take(true)).toBe(5);
  });
});

describe('session regions', () => {
  it.each([
    ['eu-west-1', { region: 'eu-west-1', fips: false }],
    [' EU-WEST-1\t', { region: 'eu-west-1', fips: false }],
    ['fips-us-east-1', { region: 'us-east-1', fips: true }],
    ['us-east-1-fips', { region: 'us-east-1', fips: true }],
    ['fips-dkr-us-east-1', { region: 'us-east-1', fips: true }],
    ['aws-fips', { region: 'us-east-1', fips: true }],
    ['evil.example', undefined],
    ['us_east_1', undefined],
    ['', undefined],
    [42, undefined],
  ])('normalises %j', (raw, expected) => {
    expect(normaliseSessionRegion(raw)).toEqual(expected);
  });
});

describe('reading a form body', () => {
  /** A request whose whole body has arrived, as Node holds it once it has parsed the message. */
  function arrived(body: string, contentType: string): IncomingMessage {
    const stream = new PassThrough();
    stream.end(body);
    return Object.assign(stream, {
      headers: { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) },
      complete: true,
    }) as unknown as IncomingMessage;
  }

  it.each([
    ['application/x-www-form-urlencoded', 'form'],
    ['Application/X-WWW-Form-Urlencoded; charset=UTF-8', 'form'],
    ['application/json', 'json'],
  ])('reads an arrived %s body in one go, as %s, without waiting', (contentType, type) => {
    const req = arrived('return_to=%2Fa', contentType);
    // Answered at once (not a promise): the route crosses no async step for a browser's form.
    expect(readSmallBody(req)).toEqual({ type, text: 'return_to=%2Fa' });
    // Read once: a second reader finds it consumed.
    expect(readSmallBody(req)).toBeUndefined();
  });

  it('leaves other types, bodies over the bound and consumed streams alone', async () => {
    expect(await readSmallBody(arrived('a=1', 'text/plain'))).toBeUndefined();
    expect(
      await readSmallBody(arrived('a'.repeat(MAX_BODY_BYTES + 1), 'application/x-www-form-urlencoded')),
    ).toBeUndefined();
    const consumed = arrived('a=1', 'application/x-www-form-urlencoded');
    consumed.read();
    expect(await readSmallBody(consumed)).toBeUndefined();
  });

  it('parses forms as browsers write them and JSON objects only', () => {
    expect(parseBody({ type: 'form', text: 'return_to=%2Fa+b&x=1&x=2' })).toEqual({ return_to: '/a b', x: ['1', '2'] });
    expect(Object.getPrototypeOf(parseBody({ type: 'form', text: '__proto__=x' }))).toBeNull();
    expect(parseBody({ type: 'json', text: '{"return_to":"/a"}' })).toEqual({ return_to: '/a' });
    expect(parseBody({ type: 'json', text: '["/a"]' })).toBeUndefined();
    expect(parseBody({ type: 'json', text: '{"return_to":' })).toBeUndefined();
  });

  it('gives up within the route’s deadline, not a fixed 5 s, on a body that dribbles', async () => {
    vi.useFakeTimers();
    try {
      const req = Object.assign(new PassThrough(), {
        headers: { 'content-type': 'application/json', 'content-length': '100' },
      }) as unknown as IncomingMessage;
      (req as unknown as PassThrough).write('{"a"');
      let settled: unknown = 'pending';
      const reading = readSmallBody(req, 300);
      expect(reading).toBeInstanceOf(Promise);
      void Promise.resolve(reading).then((value) => (settled = value));
      await vi.advanceTimersByTimeAsync(299);
      expect(settled).toBe('pending');
      await vi.advanceTimersByTimeAsync(2);
      expect(settled).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a bound on work that may not answer (within)', () => {
  /** A connection to a loopback server that echoes at once, in a process of its own. */
  async function echo(): Promise<{ socket: Socket; close: () => Promise<void> }> {
    const server = await serverElsewhere('echo');
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    return {
      socket,
      close: async () => {
        socket.destroy();
        await server.close();
      },
    };
  }

  it('takes an answer that came while the process was busy past the bound, not a timeout', async () => {
    const { socket, close } = await echo();
    try {
      // Round trips on the connection first, so the one measured is a plain echo.
      socket.write('warm');
      await once(socket, 'data');
      socket.write('ping');
      const answer = once(socket, 'data').then(([chunk]) => String(chunk));
      const bounded = within(answer, 20, 'late');
      // The echo arrives while the process is busy: when it frees up, the bound's timer and the
      // answer are both due, and the timer's phase of the event loop comes first.
      busyFor(300);
      await expect(bounded).resolves.toBe('ping');
    } finally {
      await close();
    }
  });

  it('still rejects when nothing has come by the bound', async () => {
    const started = performance.now();
    await expect(within(new Promise(() => undefined), 30, 'late')).rejects.toThrow('late');
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    const made = vi.fn(() => new Error('made late'));
    await expect(within(new Promise(() => undefined), 10, made)).rejects.toThrow('made late');
    expect(made).toHaveBeenCalledTimes(1);
  });

  it('passes on what the work settles with, and makes no timeout error for work that settled in time', async () => {
    const made = vi.fn(() => new Error('late'));
    await expect(within(Promise.resolve(7), 10, made)).resolves.toBe(7);
    await expect(within(Promise.reject(new Error('refused')), 10, made)).rejects.toThrow('refused');
    // A store that rejects with something other than an Error gets an Error that describes it.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    await expect(within(Promise.reject('a string'), 10, made)).rejects.toThrow('"a string"');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(made).not.toHaveBeenCalled();
  });
});

describe('guardSessionStore (Koa) over a store whose delete never answers', () => {
  it('holds neither the sign-out (past a moment) nor a read of the signed-out session', async () => {
    const data = new Map<string, unknown>();
    const store: KoaSessionStoreLike = {
      get: (key) => Promise.resolve(data.get(key)),
      set: (key, value) => {
        data.set(key, value);
        return Promise.resolve();
      },
      destroy: () => new Promise<never>(() => undefined),
    };
    const guarded = guardKoaStore(store);
    const opts = { rolling: false, changed: true, ctx: {} };
    await guarded.set('s1', { sso: { accessToken: 'aoa-guarded' } }, 60_000, opts);
    const started = performance.now();
    await guarded.destroy('s1', { ctx: {} });
    expect(performance.now() - started).toBeLessThan(1000);
    // The marker hides what the delete left: a replayed cookie reads nothing, at once.
    expect(await guarded.get('s1', 60_000, { rolling: false, ctx: {} })).toBeUndefined();
  });
});
