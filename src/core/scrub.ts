// Makes text from outside (the portal, a request) safe for logs, events and errors: token removed, controls escaped, length bounded.

import { inspect } from 'node:util';
import { isInstance } from './errors.js';

/** Shortest run of the token's characters that counts as an echo of it when it appears in other text. */
const MIN_ECHO = 12;
const REDACTED = '[redacted]';

/**
 * Replaces every echo of `token` in `text` with `[redacted]`: the whole token, and any run of 12 or
 * more of its characters in a row (a cut-off or partial echo leaks as much as a whole one).
 */
export function redactToken(text: string, token: string): string {
  if (token.length === 0 || text.length === 0) return text;
  const k = Math.min(MIN_ECHO, token.length);
  if (text.length < k || !mayHoldRun(text, token, k)) return text;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i + k <= text.length) {
    if (!token.includes(text.slice(i, i + k))) {
      i++;
      continue;
    }
    // Extend the run as far as it stays a piece of the token.
    let end = i + k;
    while (end < text.length && token.includes(text.slice(i, end + 1))) end++;
    out += text.slice(copied, i) + REDACTED;
    copied = end;
    i = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * A cheap first look, on every answer (request ids are scrubbed on success too): any run of `k`
 * characters of the token holds one of the text's pieces of length ceil(k/2) taken at that stride,
 * so when none of those pieces is in the token, no run is either.
 */
function mayHoldRun(text: string, token: string, k: number): boolean {
  const h = Math.ceil(k / 2);
  for (let i = 0; i + h <= text.length; i += h) if (token.includes(text.slice(i, i + h))) return true;
  return false;
}

// Control characters (C0, C1, DEL), format characters (every bidirectional control, zero-width
// and invisible ones, tag characters), the line and paragraph separators, and the backslash itself
// (so an escape in the output cannot be mistaken for one typed in the input): anything that could
// make a log line display as two, in another order, or as something it is not. Unicode's default
// ignorables (`DI`) add the invisible characters that are not format characters: the combining
// grapheme joiner, variation selectors, Hangul fillers, Mongolian free variation selectors, the
// Khmer inherent vowels. U+2800 (braille blank) is a symbol drawn as nothing. A lone surrogate
// (`Cs`: `u` mode pairs valid surrogates into one character, so only a lone half matches) is
// not text: written out as UTF-8 it becomes U+FFFD, hiding what was sent.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{DI}\p{Cs}\u2800\\]/gu;
// The same class, tested first: nearly every string is clean, and a test costs less than a replace.
const ANY_UNPRINTABLE = new RegExp(UNPRINTABLE.source, 'u');
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.codePointAt(0) ?? 0;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escapes control, format, invisible and line-breaking characters and lone surrogates (`\n`, `\u001b`, `\u200b`, `\ufe0f`, `\ud800`, …) so text stays on one line, as typed. */
export function escapeControls(text: string): string {
  return ANY_UNPRINTABLE.test(text) ? text.replace(UNPRINTABLE, escapeOne) : text;
}

/** Cuts `text` to at most `max` characters (plus an ellipsis), never inside a surrogate pair. */
export function bound(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Text from outside, made fit for a log line, an event or an error: token removed, escaped, bounded. */
export function printable(text: string, max: number, token?: string): string {
  return bound(escapeControls(token === undefined ? text : redactToken(text, token)), max);
}

// An app's error longer than this when shown is not looked through (its redaction would hold the
// process): it is told by its name and code, and the start of its message and stack, redacted.
const MAX_LOOKED_THROUGH = 1 << 20;
const MAX_TOLD = 16_384;

/**
 * How an app's error is looked through for the token: deep, hidden fields and long arrays included,
 * its own `inspect` ignored (it may leave out what a logger's JSON would show).
 */
const LOOKED_THROUGH = {
  depth: 16,
  showHidden: true,
  customInspect: false,
  maxArrayLength: 10_000,
  maxStringLength: null,
  breakLength: Infinity,
};

// JSON.stringify answers undefined for a function or a symbol, which its own type does not say.
const stringify: (value: unknown) => string | undefined = JSON.stringify;

/**
 * What a logger's JSON shows of a value (getters and `toJSON` included), or what stringifying it
 * threw (a getter's error may quote the token; a cycle's or a BigInt's says nothing of the value).
 */
function jsonOf(value: unknown): string {
  try {
    return stringify(value) ?? '';
  } catch (error) {
    // Read as the logger's own error handling would read it: a message that cannot be read throws on.
    return isInstance(error, Error) ? error.message : String(error);
  }
}

/**
 * What a logger may show of an app's error: as the cause of the route's error (as `console.log`
 * shows it: its own `inspect` called; its stack read, and on Node 22 its name; a revoked Proxy
 * asked whether it is an Error), deep with hidden fields, and as JSON. Undefined where a logger
 * would fail on it.
 */
function shownByLogger(cause: unknown): string | undefined {
  try {
    return `${inspect(new Error('', { cause }))}\n${inspect(cause, LOOKED_THROUGH)}\n${jsonOf(cause)}`;
  } catch {
    return undefined;
  }
}

// An error's name as a class names it (`Error`, `TimeoutError`, `ReplyError`, `MongoServerError`):
// what a warning repeats of an app's error. Any other (one that quotes the token) is not repeated.
// Its words before the suffix are at most four, each capitalised or an acronym (`HTTPError`,
// `DOMException`): no run of a token passes for one.
const ERROR_NAME = /^(?:[A-Z][a-z]{1,20}|[A-Z]{2,6}(?=[A-Z][a-z])){0,4}(?:Error|Exception|Failure)$/;

/**
 * What kind of thing an app threw, told without anything it says: its name where a class names it
 * so, else `an Error`, or its type. Never throws: not on a `name` getter that throws, nor on a
 * revoked Proxy (whose prototype cannot even be asked for).
 */
export function kindOfThrown(error: unknown): string {
  try {
    if (!(error instanceof Error)) return typeof error;
  } catch {
    return 'an unreadable value';
  }
  try {
    const name: unknown = error.name;
    return typeof name === 'string' && ERROR_NAME.test(name) ? name : 'an Error';
  } catch {
    return 'an Error';
  }
}

/**
 * An app's error (a hook's, a session store's) that quotes the token anywhere (its message, stack,
 * name, own fields, a nested `cause`, an AggregateError's `errors`; or a string or object thrown),
 * told without it: an error of the same name and code, its message and stack redacted, and nothing
 * else. One that does not quote it is passed on as it is, so the app still finds its own error as
 * the answer's `cause`.
 */
export function withoutToken(cause: unknown, token: string | undefined): unknown {
  if (cause === undefined || cause === null) return cause;
  const secret = token === '' ? undefined : token;
  const shown = typeof cause === 'string' ? cause : shownByLogger(cause);
  // One that cannot be shown is told instead, token or not: the app's own logger could not show it.
  if (shown === undefined) return told(cause, secret);
  if (secret === undefined) return cause;
  if (shown.length <= MAX_LOOKED_THROUGH && redactToken(shown, secret) === shown) return cause;
  return told(cause, secret);
}

/** An error of the same name and code as `cause`, its message and stack redacted, and nothing else. */
function told(cause: unknown, token: string | undefined): Error {
  // What it says, read with care: any of its fields may throw, or be too long to redact quickly.
  const text = (field: string): string | undefined => {
    try {
      const value: unknown =
        typeof cause === 'string'
          ? field === 'message'
            ? cause
            : undefined
          : (cause as Record<string, unknown>)[field];
      if (typeof value !== 'string') return undefined;
      return token === undefined ? value.slice(0, MAX_TOLD) : redactToken(value.slice(0, MAX_TOLD), token);
    } catch {
      return undefined;
    }
  };
  const told = new Error(text('message') ?? '');
  told.name = text('name') ?? 'Error';
  told.stack = text('stack') ?? `${told.name}: ${told.message}`;
  const code = text('code');
  if (code !== undefined) Object.assign(told, { code });
  return told;
}
