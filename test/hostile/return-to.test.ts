// Open redirects: no accepted return_to ever sends a browser anywhere but this app or an allowed origin.

import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { vetReturnTo } from '../../src/core/route/return-to.js';
import { onePerFramework } from '../helpers/adapters.js';

const APP = 'https://portal.example.com';
const ALLOWED = 'https://home.example.com';
const ALLOWED_SET = new Set([ALLOWED]);

/** Where a browser goes with this Location, read as the WHATWG URL parser reads it. */
function destinationOrigin(location: string): string {
  return new URL(location, `${APP}/signout`).origin;
}

function safe(location: string): boolean {
  const origin = destinationOrigin(location);
  return origin === APP || origin === ALLOWED;
}

/**
 * True when a path, at any layer of percent-decoding and with its dot segments resolved, starts
 * with '//' or holds a backslash: something downstream that decodes it (a proxy, a router, the
 * next redirect) would read another host.
 */
function hidesAnotherHost(location: string): boolean {
  let layer = location;
  for (let depth = 0; depth < 6; depth++) {
    const resolved = new URL(layer, APP).pathname;
    for (const candidate of [layer, resolved]) {
      if (candidate.startsWith('//') || candidate.includes('\\')) return true;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(layer);
    } catch {
      return false;
    }
    if (decoded === layer) return false;
    layer = decoded;
  }
  return true;
}

// Characters that open-redirect tricks are made of, so generated strings hit the edge cases often.
const TRICKY = [
  '/',
  '\\',
  '%',
  '2f',
  '2F',
  '5c',
  '5C',
  '2e',
  '.',
  '..',
  ':',
  '@',
  '#',
  '?',
  '\t',
  '\n',
  '\r',
  ' ',
  '\u0000',
  '\u000b',
  '\u00a0',
  '\u3002',
  '\uff0f',
  'http',
  'https',
  'javascript',
  'data',
  'evil.example',
  'portal.example.com',
  'home.example.com',
  '%09',
  '%0a',
  '%0d',
  '%00',
  '%25',
  'xn--',
  'а',
];
const trickyString = fc
  .array(fc.oneof(fc.constantFrom(...TRICKY), fc.string({ maxLength: 3 }), fc.webUrl()), { maxLength: 10 })
  .map((parts) => parts.join(''));
const anyCandidate = fc.oneof(trickyString, fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true }));

describe('return_to, by property', () => {
  it('never accepts a value that leads a browser off this app and its allowed origins', () => {
    fc.assert(
      fc.property(anyCandidate, (value) => {
        const decision = vetReturnTo(value, APP, ALLOWED_SET);
        return !decision.ok || safe(decision.location);
      }),
      { numRuns: 20_000 },
    );
  });

  it('never accepts a value whose Location a browser would not read back unchanged', () => {
    fc.assert(
      fc.property(anyCandidate, (value) => {
        const decision = vetReturnTo(value, APP, ALLOWED_SET);
        if (!decision.ok) return true;
        // No control characters, no backslashes, no protocol-relative start: what we send is what
        // every parser reads.
        // eslint-disable-next-line no-control-regex
        return !/[\u0000-\u001f\u007f\\]/.test(decision.location) && !decision.location.startsWith('//');
      }),
      { numRuns: 20_000 },
    );
  });

  it('accepts only a Location that stays safe when decoded and resolved again, and is its own fixed point', () => {
    fc.assert(
      fc.property(anyCandidate, (value) => {
        const decision = vetReturnTo(value, APP, ALLOWED_SET);
        if (!decision.ok) return true;
        const again = vetReturnTo(decision.location, APP, ALLOWED_SET);
        if (!again.ok || again.location !== decision.location) return false;
        return !decision.location.startsWith('/') || !hidesAnotherHost(decision.location);
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    '/%2e/%2fevil.example',
    '/./%2fevil.example',
    '/x/../%2fevil.example',
    '/%2e%2e/%2fevil.example',
    '/x/%2e%2e/%2fevil.example',
    '/.%2f%2fevil.example',
    '/%2e/%5cevil.example',
    '/%252e/%252fevil.example',
    '/a/..%2f%2fevil.example',
  ])('refuses %s, whose dot segments uncover another host', (value) => {
    expect(vetReturnTo(value, APP, ALLOWED_SET).ok).toBe(false);
  });

  it('accepts every plain path on this site', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/), { minLength: 1, maxLength: 5 }), (segments) => {
        const path = `/${segments.join('/')}`;
        const decision = vetReturnTo(path, APP, ALLOWED_SET);
        return decision.ok && decision.location === path;
      }),
    );
  });
});

let portal: FakePortal;
let client: LogoutClient;
beforeAll(async () => {
  portal = await startFakePortal();
  client = createLogoutClient({ endpoint: portal.url });
});
afterAll(async () => {
  await client.close();
  await portal.close();
});

// Known open-redirect payloads: encodings, backslashes, whitespace, userinfo, schemes, look-alikes.
export const OPEN_REDIRECT_CORPUS: readonly string[] = [
  '//evil.example',
  '///evil.example',
  '////evil.example',
  '//evil.example/',
  '//evil.example:443',
  '/\\evil.example',
  '\\/evil.example',
  '/\\/evil.example',
  '\\\\evil.example',
  '\\\\\\evil.example',
  '/\\\\evil.example',
  '\\/\\/evil.example',
  '/%2f%2fevil.example',
  '/%2F%2Fevil.example',
  '%2f%2fevil.example',
  '%2F%2Fevil.example',
  '/%5cevil.example',
  '/%5c%5cevil.example',
  '/%5C/evil.example',
  '//%2fevil.example',
  '//%5cevil.example',
  '/%252f%252fevil.example',
  '/%25252f%25252fevil.example',
  '/%2e%2e/%2e%2e//evil.example',
  '/.//evil.example',
  '/a/..//evil.example',
  '/%2e//evil.example',
  '/./%2f/evil.example',
  '/%09/evil.example',
  '/%0a/evil.example',
  '/%0d/evil.example',
  '/%0d%0a/evil.example',
  '/%00/evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '/\u000b/evil.example',
  '/\u000c/evil.example',
  '\t//evil.example',
  ' //evil.example',
  '%20//evil.example',
  '/%20/evil.example',
  '\u0000//evil.example',
  'https://evil.example',
  'http://evil.example',
  'HTTPS://EVIL.EXAMPLE',
  'hTtPs://evil.example',
  'https:evil.example',
  'http:evil.example',
  'https:/evil.example',
  'https:///evil.example',
  'https:\\\\evil.example',
  'https:/\\evil.example',
  'https:\\/evil.example',
  'https://evil.example:443',
  'https://evil.example:8443',
  'https://portal.example.com:8443',
  'http://portal.example.com',
  '//evil.example@portal.example.com',
  '//portal.example.com@evil.example',
  'https://portal.example.com@evil.example',
  'https://portal.example.com:443@evil.example',
  'https://portal.example.com%40evil.example',
  'https://portal.example.com.evil.example',
  'https://portal.example.com%2eevil.example',
  'https://evil.example/portal.example.com',
  'https://evil.example?portal.example.com',
  'https://evil.example#portal.example.com',
  'https://evil.example\\@portal.example.com',
  'https://evil.example%23@portal.example.com',
  'https://evil.example%2f@portal.example.com',
  'https://home.example.com.evil.example',
  'https://home.example.com@evil.example',
  'https://evil.example/https://home.example.com',
  'https://user:pass@home.example.com',
  '//home.example.com',
  'http://home.example.com',
  'https://home.example.com:8443',
  'javascript:alert(1)',
  'JavaScript:alert(1)',
  'javascript://%0aalert(1)',
  'javascript:/\\/evil.example',
  'java%0ascript:alert(1)',
  'java\tscript:alert(1)',
  ' javascript:alert(1)',
  'jav&#x09;ascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'ftp://evil.example',
  'mailto:a@evil.example',
  'ws://evil.example',
  '//evil%E3%80%82example',
  '//evil\u3002example',
  'https://evil\u3002example',
  '\uff0f\uff0fevil.example',
  '\u2215\u2215evil.example',
  '/\uff0f/evil.example',
  '//ⓔⓥⓘⓛ.example',
  'https://pоrtal.example.com',
  'https://xn--prtal-3ve.example.com',
  'https://portal.exаmple.com',
  '//%65vil.example',
  '//127.0.0.1',
  '//2130706433',
  '//0x7f000001',
  '//[::1]',
  'http://[::ffff:127.0.0.1]',
  '//localhost',
  'https://localhost',
  '//evil.example\\@portal.example.com',
  '/\\@evil.example',
  '//\\evil.example',
  '/\u202e//elpmaxe.live',
  'evil.example',
  'www.evil.example',
  './/evil.example',
  '../evil.example',
  '.evil.example',
  '@evil.example',
  ':evil.example',
  `/${'a'.repeat(3000)}`,
  `https://evil.example/${'a'.repeat(2100)}`,
  '/%E0%A4%A',
  '/%',
  '/%%32%66%%32%66evil.example',
];

const CORPUS_ADAPTERS = onePerFramework();

describe.each(CORPUS_ADAPTERS)('open-redirect corpus through the route, on $name', (adapter) => {
  const app = () =>
    adapter.build(client, { signOut: { allowedReturnToOrigins: [ALLOWED], destination: '/signed-out' } });

  it('has more than 100 payloads', () => {
    expect(new Set(OPEN_REDIRECT_CORPUS).size).toBeGreaterThan(100);
  });

  it.each(OPEN_REDIRECT_CORPUS.map((payload) => [JSON.stringify(payload).slice(0, 80), payload]))(
    '%s stays on this app or an allowed origin',
    async (_label, payload) => {
      const res = await request(app())
        .post('/signout')
        .set('Host', 'portal.example.com')
        .set('X-Forwarded-Proto', 'https')
        .type('form')
        .send({ return_to: payload });
      expect(res.status).toBe(303);
      const location = String(res.headers.location);
      expect(safe(location), `Location ${location}`).toBe(true);
      // eslint-disable-next-line no-control-regex
      expect(location).not.toMatch(/[\u0000-\u001f\u007f\\]/);
    },
  );

  it('holds by property for query values sent through the route', async () => {
    await fc.assert(
      fc.asyncProperty(anyCandidate, async (value) => {
        const res = await request(app())
          .post(`/signout?return_to=${encodeURIComponent(value)}`)
          .set('Host', 'portal.example.com')
          .set('Accept', 'application/json');
        expect(res.status).toBe(200);
        const redirectTo = (res.body as { redirectTo: string }).redirectTo;
        expect(safe(redirectTo), `redirectTo ${redirectTo} for ${JSON.stringify(value)}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
