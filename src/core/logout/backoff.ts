// The retry policy of the official SDKs' standard mode, bounded by our deadline.

/** Low-level error codes the official retry strategy treats as transient connection failures. */
const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // undici's own names for the same failures
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The error's code, or that of its causes (undici nests the system error). */
export function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isTransientError(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code !== undefined && TRANSIENT_ERROR_CODES.has(code);
}

const MAX_BACKOFF_MS = 20_000;
const BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;

/** Full-jitter exponential backoff: `random() * min(base * 2^retry, 20 s)`; `retry` counts from 0. */
export function backoffMs(retry: number, throttled: boolean, random: () => number): number {
  const base = throttled ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
  return random() * Math.min(base * 2 ** retry, MAX_BACKOFF_MS);
}

// A wait hint longer than a day is nonsense; treat it as a day so arithmetic stays finite.
const MAX_HINT_MS = 86_400_000;

type Headers = Record<string, string | string[] | undefined>;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The wait the portal asked for, in milliseconds: `x-amz-retry-after` (milliseconds) first, then
 * `Retry-After` as delay-seconds or an HTTP date. Undefined when absent or unparseable.
 */
export function retryAfterHintMs(headers: Headers, now: number): number | undefined {
  // trim(), not spaces and tabs only as for names: the SDK reads a wait with Number(), which skips
  // every blank JavaScript knows, a no-break space included.
  const amz = single(headers['x-amz-retry-after'])?.trim();
  if (amz !== undefined && /^\d+$/.test(amz)) return Math.min(Number(amz), MAX_HINT_MS);
  const standard = single(headers['retry-after'])?.trim();
  if (standard === undefined || standard.length === 0) return undefined;
  if (/^\d+(\.\d+)?$/.test(standard)) return Math.min(Math.ceil(Number(standard) * 1000), MAX_HINT_MS);
  // An HTTP-date names its weekday or month; anything else (e.g. "-5") is no hint at all, however
  // leniently Date.parse would read it.
  if (!/[a-z]{3}/i.test(standard)) return undefined;
  const date = Date.parse(standard);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_HINT_MS);
}

/**
 * The retry quota of the SDKs' standard mode: every retry spends from one budget per client and
 * every success earns a little back, so a failing portal gets fewer retries, not three times the
 * load. Figures of `@smithy/util-retry` (500 in all, 14 per transient retry, 5 per throttled one,
 * a success refunds its retry's cost or 1).
 */
export class RetryQuota {
  static readonly CAPACITY = 500;
  static readonly TRANSIENT_COST = 14;
  static readonly THROTTLING_COST = 5;
  static readonly NO_RETRY_REFUND = 1;
  private capacity = RetryQuota.CAPACITY;

  /** Spends the cost of one retry and returns it, or undefined when the budget cannot cover it. */
  take(throttling: boolean): number | undefined {
    const cost = throttling ? RetryQuota.THROTTLING_COST : RetryQuota.TRANSIENT_COST;
    if (this.capacity < cost) return undefined;
    this.capacity -= cost;
    return cost;
  }

  /** A call succeeded: refund what its last retry cost, or a little when it needed none. */
  succeeded(lastRetryCost: number | undefined): void {
    this.capacity = Math.min(RetryQuota.CAPACITY, this.capacity + (lastRetryCost ?? RetryQuota.NO_RETRY_REFUND));
  }

  get available(): number {
    return this.capacity;
  }
}
