// Turns one portal answer into what it means: retry or not, and the outcome if it is the last one, as the official AWS SDKs decide.

import type { BodyEnding } from './transport.js';

/**
 * What a Logout call ended with. `not_sent` is a call refused locally: the token or the session's
 * region could not be put on the wire, so the portal said nothing about the token.
 */
export type UpstreamOutcome =
  'revoked' | 'rejected' | 'throttled' | 'unavailable' | 'timeout' | 'bad_response' | 'not_sent';

/** Whether a call's outcome proves the token dead (revoked now, or refused as already dead): nothing more can be done with it. */
export function provesTokenDead(outcome: UpstreamOutcome | undefined): boolean {
  return outcome === 'revoked' || outcome === 'rejected';
}

/** Why an answer may be retried, in the SDK's terms (`THROTTLING`, `TRANSIENT`). */
export type RetryKind = 'throttling' | 'transient';

export interface Classification {
  /** What the answer means if no retry follows it. */
  readonly outcome: UpstreamOutcome;
  /** Set when the SDKs' standard retry mode would try again after this answer. */
  readonly retry: RetryKind | undefined;
  /** The error name, cleaned as the SDK cleans it (raw: the caller scrubs it before showing it). */
  readonly errorName: string | undefined;
  /** The error message from the body (raw). */
  readonly message: string | undefined;
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * Error names the SDK's standard retry mode treats as throttling, whatever the status
 * (`THROTTLING_ERROR_CODES` of `@smithy/service-error-classification`; the conformance suite
 * checks this list against the SDK's own).
 */
export const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/** Error names the SDK treats as transient (`TRANSIENT_ERROR_CODES`), whatever the status. */
export const TRANSIENT_ERROR_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Statuses the SDK treats as transient (`TRANSIENT_ERROR_STATUS_CODES`). */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/** The only words by which the portal says a token is dead: not found, expired, revoked, or malformed. */
const TOKEN_DEAD_NAMES: ReadonlySet<string> = new Set(['UnauthorizedException', 'InvalidRequestException']);

function findKey(object: object, key: string): string | undefined {
  return Object.keys(object).find((k) => k.toLowerCase() === key);
}

// The SDK's `sanitizeErrorCode`: text before the first ',', then before the first ':', then the
// shape name after the namespace '#'.
export function sanitizeErrorName(raw: unknown): string | undefined {
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (typeof raw === 'number') value = raw.toString();
  else return undefined;
  if (value.includes(',')) value = value.split(',')[0] ?? '';
  if (value.includes(':')) value = value.split(':')[0] ?? '';
  if (value.includes('#')) value = value.split('#')[1] ?? '';
  return value;
}

// The blanks around a header value that HTTP does not count: spaces and tabs only, as Node's parser
// (the SDK's) drops them and undici does not. A no-break space (latin-1 0xA0) is part of the value.
const BLANKS = /^[ \t]+|[ \t]+$/g;

function withoutBlanks(value: string): string {
  return value.replace(BLANKS, '');
}

function headerValue(headers: Headers, name: string): string | undefined {
  // The transport's answers name headers in lower case: looked up directly before any other spelling.
  const key = Object.hasOwn(headers, name) ? name : findKey(headers, name);
  if (key === undefined) return undefined;
  const value = headers[key];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(withoutBlanks).join(', ') : withoutBlanks(value);
}

/**
 * The error name, from `x-amzn-errortype`, then body `code`/`Code`, then body `__type`. One that
 * comes out empty (`x-amzn-errortype: ns#`, `{"code": ""}`) leaves the SDK's exception without a
 * name, which it then takes from the body's `name`, as it takes any field the exception lacks.
 */
export function errorNameOf(headers: Headers, data: unknown): string | undefined {
  const named = identifierOf(headers, data);
  if (named !== '' || data === null || typeof data !== 'object') return named;
  const { name } = data as { name?: unknown };
  return typeof name === 'string' ? name : named;
}

function identifierOf(headers: Headers, data: unknown): string | undefined {
  const header = headerValue(headers, 'x-amzn-errortype');
  if (header !== undefined) return sanitizeErrorName(header);
  if (data !== null && typeof data === 'object') {
    const record = data as Record<string, unknown>;
    const codeKey = findKey(record, 'code');
    if (codeKey !== undefined && record[codeKey] !== undefined) {
      return sanitizeErrorName(record[codeKey]);
    }
    if (record.__type !== undefined) return sanitizeErrorName(record.__type);
  }
  return undefined;
}

const NOT_JSON = Symbol('not JSON');

// The SDK parses any non-empty error body as JSON and fails the whole answer when it is not.
function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function messageOf(data: unknown): string | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const record = data as Record<string, unknown>;
  const message = record.message ?? record.Message;
  return typeof message === 'string' ? message : undefined;
}

function retryKind(status: number, errorName: string | undefined, message: string | undefined): RetryKind | undefined {
  if (status === 429 || (errorName !== undefined && THROTTLING_ERROR_NAMES.has(errorName))) return 'throttling';
  if (TRANSIENT_STATUSES.has(status)) return 'transient';
  if (errorName === undefined) return undefined;
  if (TRANSIENT_ERROR_NAMES.has(errorName)) return 'transient';
  // The SDK's one message-based rule: an expired signature is a clock problem worth a retry.
  if (errorName === 'InvalidSignatureException' && message?.includes('Signature expired') === true) return 'transient';
  return undefined;
}

/** Every 2xx: the token is revoked, whatever else the answer says. */
const REVOKED: Classification = Object.freeze({
  outcome: 'revoked',
  retry: undefined,
  errorName: undefined,
  message: undefined,
});

/**
 * Classifies one HTTP answer of the portal. `bodyText` is the (bounded) start of the body; `ending`
 * says whether it is whole, was cut at its bound (so its JSON cannot be judged), or broke off with
 * the connection (so nothing but the status is read, as the SDK reads a 429 it could not finish).
 */
export function classifyResponse(
  status: number,
  headers: Headers,
  bodyText: string,
  ending: BodyEnding = 'whole',
): Classification {
  if (status >= 200 && status < 300) return REVOKED;
  const data = parseBody(bodyText);
  // A body that is not JSON makes the SDK fail before it reads any name (a proxy's HTML page, say):
  // only the status speaks then. A body cut at our bound may have been JSON if it starts like it;
  // then its header still names the error.
  const named = ending !== 'broken' && (data !== NOT_JSON || (ending === 'cut' && /^[\s\uFEFF]*\{/.test(bodyText)));
  const errorName = named ? errorNameOf(headers, data === NOT_JSON ? undefined : data) : undefined;
  const message = messageOf(data);
  const retry = retryKind(status, errorName, message);
  let outcome: UpstreamOutcome;
  if (errorName !== undefined && TOKEN_DEAD_NAMES.has(errorName)) outcome = 'rejected';
  else if (retry === 'throttling') outcome = 'throttled';
  else if (retry === 'transient') outcome = 'unavailable';
  else outcome = 'bad_response';
  return { outcome, retry, errorName, message };
}

/** The portal's request id, from whichever of its spellings the answer carries (raw). */
export function requestIdOf(headers: Headers): string | undefined {
  for (const name of ['x-amzn-requestid', 'x-amzn-request-id', 'x-amz-request-id']) {
    const value = headerValue(headers, name);
    if (value !== undefined && value.length > 0) return value;
  }
  return undefined;
}
