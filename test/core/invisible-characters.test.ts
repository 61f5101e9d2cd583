// Invisible characters a portal may send (in an error name, a message or a request id) are escaped
// before they reach a result, an event or a log line, as control and format characters are.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import type { SignOutEvent } from 'sso-signout';
import type { SessionBinding } from '../../src/core/route/request.js';
import { plainRequest } from '../helpers/plain-request.js';
import { createSignOutCore } from '../../src/core/route/route.js';
import { createLogoutClient } from '../../src/core/logout/client.js';
import { escapeControls, printable } from '../../src/core/scrub.js';

let portal: FakePortal;
beforeAll(async () => {
  portal = await startFakePortal();
});
afterAll(async () => {
  await portal.close();
});

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Characters drawn as nothing that are neither control nor format characters. */
const INVISIBLE: readonly number[] = [
  0x034f, // combining grapheme joiner
  ...range(0xfe00, 0xfe0f), // variation selectors
  ...range(0xe0100, 0xe01ef), // variation selectors supplement
  0x115f, // Hangul choseong filler
  0x1160, // Hangul jungseong filler
  0x3164, // Hangul filler
  0xffa0, // halfwidth Hangul filler
  ...range(0x180b, 0x180f), // Mongolian free variation selectors and vowel separator
  0x17b4, // Khmer vowel inherent aq
  0x17b5, // Khmer vowel inherent aa
  0x2800, // braille pattern blank
];
const SURROGATES = range(0xd800, 0xdfff);

/** How the escape of a code point reads: `\uXXXX`, or `\u{XXXXX}` beyond the basic plane. */
function escaped(code: number): string {
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** A code point written raw that should not be: one of the listed ones, or a lone surrogate. */
function rawInvisible(text: string): string | undefined {
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    if (INVISIBLE.includes(code) || (code >= 0xd800 && code <= 0xdfff)) return escaped(code);
  }
  return undefined;
}

describe('escaping invisible characters', () => {
  it(`escapes each of the ${String(INVISIBLE.length)} invisible characters as its code point, written out`, () => {
    const missed: string[] = [];
    for (const code of INVISIBLE) {
      const c = String.fromCodePoint(code);
      const want = `Unauthorized${escaped(code)}Exception`;
      if (escapeControls(`Unauthorized${c}Exception`) !== want) missed.push(escaped(code));
      if (printable(`Unauthorized${c}Exception`, 100) !== want) missed.push(`${escaped(code)} (printable)`);
    }
    expect(missed).toEqual([]);
  });

  it('escapes every lone surrogate, leading or trailing, at either end or between letters', () => {
    const missed: string[] = [];
    for (const code of SURROGATES) {
      const c = String.fromCharCode(code);
      for (const text of [`a${c}b`, c, `${c}z`, `z${c}`]) {
        const want = text.replace(c, escaped(code));
        if (escapeControls(text) !== want) missed.push(`${escaped(code)} in ${JSON.stringify(text)}`);
      }
    }
    expect(missed).toEqual([]);
  });

  it('escapes a reversed pair as two lone halves, and keeps a valid pair (an emoji) as it is', () => {
    expect(escapeControls('x\udc00\ud800y')).toBe('x\\udc00\\ud800y');
    expect(escapeControls('ok 😀 \u{1f44d}')).toBe('ok 😀 \u{1f44d}');
    expect(escapeControls('\ud83d\ude00\ud83d')).toBe('😀\\ud83d');
  });

  it('leaves visible text that neighbours these characters alone', () => {
    const visible = 'Hangul 한국어 ᄀ, Mongolian ᠠᠡ, Khmer ក, braille ⠁, mark é, CJK 中';
    expect(escapeControls(visible)).toBe(visible);
  });
});

describe('through the Logout client', () => {
  it('escapes them in the error name and the message a portal sends', async () => {
    const client = createLogoutClient({ endpoint: portal.url, maxAttempts: 1 });
    try {
      for (const code of [...INVISIBLE, 0xd800, 0xdfff]) {
        const c = String.fromCodePoint(code);
        portal.enqueue({
          kind: 'status',
          status: 418,
          body: JSON.stringify({ __type: `Bad${c}Name`, message: `bad${c}message` }),
        });
        const result = await client.logout({ accessToken: portal.issueToken() });
        expect(result.errorName).toBe(`Bad${escaped(code)}Name`);
        expect(result.message).toBe(`bad${escaped(code)}message`);
      }
    } finally {
      await client.close();
    }
  });
});

function signedIn(accessToken: string): SessionBinding {
  const data = { sso: { accessToken } };
  let ended = false;
  return {
    kind: 'supported',
    data,
    current: () => (ended ? undefined : data),
    sessionLives: () => !ended,
    cookies: () => [{ detectedName: 'sid', defaultName: 'connect.sid', path: '/', httpOnly: true }],
    end: () => {
      ended = true;
      return Promise.resolve();
    },
  };
}

describe('through the route', () => {
  // Header values reach the client as latin-1 (undici), so a portal's UTF-8 bytes there arrive as
  // latin-1 letters and C1 controls; these characters come in the JSON body's name and message.
  it.each([
    ['a Hangul filler', 0x3164],
    ['a variation selector', 0xfe0f],
    ['a combining grapheme joiner', 0x034f],
    ['a supplementary variation selector', 0xe0100],
    ['a lone surrogate', 0xd800],
  ])('escapes %s in the error name before it reaches the event', async (_label, code) => {
    const events: SignOutEvent[] = [];
    const core = createSignOutCore<null>({
      endpoint: portal.url,
      onEvent: (event: SignOutEvent) => {
        events.push(event);
      },
    });
    try {
      const c = String.fromCodePoint(code);
      portal.enqueue({ kind: 'status', status: 400, body: JSON.stringify({ __type: `Unauthorized${c}Exception` }) });
      await core.handle(plainRequest(signedIn(portal.issueToken())));
      const event = events.find((e) => e.type === 'signout');
      expect(event).toMatchObject({ type: 'signout', upstream: 'bad_response' });
      const strings = Object.values(event ?? {}).filter((v): v is string => typeof v === 'string');
      expect(rawInvisible(strings.join(' '))).toBeUndefined();
      // The event escapes the already escaped name once more (its backslash doubled): the escape's text is what counts.
      expect(event?.type === 'signout' ? event.errorName : undefined).toMatch(
        new RegExp(`^Unauthorized\\\\+${escaped(code).slice(1).replace(/[{}]/g, '\\$&')}Exception$`),
      );
    } finally {
      await core.client.close();
    }
  });
});
