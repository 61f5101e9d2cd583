// Turns one portal answer into an outcome, naming errors exactly as the official AWS SDKs do.

/** What one Logout answer (or the whole call) means for the sign-out. */
export type UpstreamOutcome = 'revoked' | 'rejected' | 'throttled' | 'unavailable' | 'timeout' | 'bad_response';

export interface Classification {
  readonly outcome: UpstreamOutcome;
  readonly errorName: string | undefined;
  readonly message: string | undefined;
}

type Headers = Record<string, string | string[] | undefined>;

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

function headerValue(headers: Headers, name: string): string | undefined {
  const key = findKey(headers, name);
  if (key === undefined) return undefined;
  const value = headers[key];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The error name, from `x-amzn-errortype`, then body `code`/`Code`, then body `__type`. */
export function errorNameOf(headers: Headers, data: unknown): string | undefined {
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

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const MODELLED: Readonly<Record<string, UpstreamOutcome>> = {
  UnauthorizedException: 'rejected',
  InvalidRequestException: 'rejected',
  TooManyRequestsException: 'throttled',
};

/** Unmodelled statuses the official retry strategy treats as transient. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

function outcomeByStatus(status: number): UpstreamOutcome {
  if (status === 400 || status === 401) return 'rejected';
  if (status === 429) return 'throttled';
  if (TRANSIENT_STATUSES.has(status)) return 'unavailable';
  return 'bad_response';
}

const MAX_MESSAGE_LENGTH = 300;

function messageOf(data: unknown): string | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const record = data as Record<string, unknown>;
  const message = record.message ?? record.Message;
  if (typeof message !== 'string') return undefined;
  // Keep it printable and short: it may end up in a log line.
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_MESSAGE_LENGTH);
}

/** Classifies one HTTP answer of the portal. `bodyText` is the (bounded) start of the body. */
export function classifyResponse(status: number, headers: Headers, bodyText: string): Classification {
  if (status >= 200 && status < 300) {
    return { outcome: 'revoked', errorName: undefined, message: undefined };
  }
  const data = parseJson(bodyText);
  const errorName = errorNameOf(headers, data);
  const modelled = errorName === undefined ? undefined : MODELLED[errorName];
  return {
    outcome: modelled ?? outcomeByStatus(status),
    errorName,
    message: messageOf(data),
  };
}

/** The portal's request id, from whichever of its spellings the answer carries. */
export function requestIdOf(headers: Headers): string | undefined {
  for (const name of ['x-amzn-requestid', 'x-amzn-request-id', 'x-amz-request-id']) {
    const value = headerValue(headers, name);
    if (value !== undefined && value.length > 0) return value.slice(0, 200);
  }
  return undefined;
}
