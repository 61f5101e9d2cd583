// The library's error types: a stable `code` to switch on, the truth about the session, never the token.

/** Codes of sign-out failures an app may see in error mode, on events and in problem bodies. */
export type SignOutErrorCode =
  | 'sso_token_rejected'
  | 'sso_throttled'
  | 'sso_unavailable'
  | 'sso_timeout'
  | 'sso_bad_response'
  | 'sso_token_unusable'
  | 'method_not_allowed'
  | 'cross_site_request'
  | 'background_request'
  | 'session_missing'
  | 'session_unsupported'
  | 'session_ambiguous'
  | 'session_error'
  | 'wrong_adapter';

export interface SignOutErrorInit {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly signedOut: boolean;
  readonly retryAfter?: number | undefined;
  readonly requestId?: string | undefined;
  readonly upstreamStatus?: number | undefined;
  readonly cause?: unknown;
  /** The headers of the route's answer, for the framework's error handler to apply. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

/**
 * A sign-out that did not end as a plain success. Carries the HTTP status the route answers with,
 * whether the local session was ended (`signedOut`), the wait the portal asked for (`retryAfter`,
 * seconds), and the portal's request id. It never holds the access token.
 *
 * @example
 * app.use((err, req, res, next) => {
 *   if (err instanceof SignOutError && err.code === 'sso_throttled') { ... }
 * });
 */
// A brand in the global symbol registry: `instanceof` holds across copies of this package (its ESM
// and CommonJS builds loaded side by side, or two installed versions), which each have a class.
const SIGN_OUT_ERROR = Symbol.for('sso-signout.SignOutError');
const CONFIG_ERROR = Symbol.for('sso-signout.SignOutConfigError');

function brand(target: object, key: symbol): void {
  Object.defineProperty(target, key, { value: true, enumerable: false });
}

function hasBrand(value: unknown, key: symbol): boolean {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[key] === true;
}

export class SignOutError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, SIGN_OUT_ERROR);
  }

  override readonly name = 'SignOutError';
  readonly code: SignOutErrorCode;
  /** HTTP status the route answers with (also exposed as `statusCode` for Express error handlers). */
  readonly status: number;
  readonly statusCode: number;
  readonly title: string;
  /** True when the local session has been ended and its cookies cleared. */
  readonly signedOut: boolean;
  /** Seconds the client should wait before trying again (429 and 503 answers). */
  readonly retryAfter: number | undefined;
  /** The portal's request id (`x-amzn-requestid`), when an answer carried one. */
  readonly requestId: string | undefined;
  /** The HTTP status the portal answered with, when it answered. */
  readonly upstreamStatus: number | undefined;
  /** Express and Koa: errors with `expose` may show their message to the client. */
  readonly expose = true;
  /**
   * The headers the route's answer carries (`Cache-Control`, `Retry-After`, `Set-Cookie` clearing,
   * …). Express's and Koa's default error handlers apply `err.headers`.
   */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  // What it was made from, for `withHeaders`; private, so out of its JSON and inspect forms.
  readonly #init: SignOutErrorInit;

  constructor(code: SignOutErrorCode, init: SignOutErrorInit) {
    super(init.detail, init.cause === undefined ? undefined : { cause: init.cause });
    brand(this, SIGN_OUT_ERROR);
    this.#init = init;
    this.headers = init.headers ?? {};
    this.code = code;
    this.status = init.status;
    this.statusCode = init.status;
    this.title = init.title;
    this.signedOut = init.signedOut;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
    this.upstreamStatus = init.upstreamStatus;
  }

  /**
   * The same error with more headers (those a session middleware wrote on the response, say); a
   * header given as `undefined` is left out.
   */
  withHeaders(extra: Readonly<Record<string, string | readonly string[] | undefined>>): SignOutError {
    const merged = { ...this.headers, ...extra };
    const headers = Object.fromEntries(
      Object.entries(merged).filter((entry): entry is [string, string | readonly string[]] => entry[1] !== undefined),
    );
    return new SignOutError(this.code, { ...this.#init, headers });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      title: this.title,
      message: this.message,
      signedOut: this.signedOut,
      retryAfter: this.retryAfter,
      requestId: this.requestId,
      upstreamStatus: this.upstreamStatus,
    };
  }
}

/** Why a request to the portal got no HTTP answer. */
export type PortalRequestFailure = 'deadline' | 'connection' | 'proxy_refused' | 'malformed_response';

/**
 * A request to the portal that got no HTTP answer: the deadline passed, the connection failed, the
 * outbound proxy refused the tunnel, or the bytes were not HTTP. The library's own type in place of the HTTP client's errors, which can
 * carry raw response bytes; its message is fixed text plus the system error code.
 */
export class PortalRequestError extends Error {
  override readonly name = 'PortalRequestError';
  readonly failure: PortalRequestFailure;
  /** The system or HTTP client error code, e.g. `ECONNRESET`, `UND_ERR_SOCKET`, `HPE_INVALID_CONSTANT`. */
  readonly code: string | undefined;

  constructor(failure: PortalRequestFailure, message: string, code?: string) {
    super(message);
    this.failure = failure;
    this.code = code;
  }
}

/** Thrown when the route or the client is created with options that cannot work. */
/** What kind of mistake an option holds, to switch on. */
export type ConfigErrorReason =
  | 'not_an_object'
  | 'unknown_option'
  | 'missing'
  | 'wrong_type'
  | 'out_of_range'
  | 'invalid_value'
  | 'conflict'
  | 'misuse';

export class SignOutConfigError extends TypeError {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, CONFIG_ERROR);
  }

  override readonly name = 'SignOutConfigError';
  readonly code = 'invalid_option';
  /** The option at fault, e.g. `timeoutMs`. */
  readonly option: string;
  /** What is wrong with it: `unknown_option`, `wrong_type`, `out_of_range`, `conflict`, … */
  readonly reason: ConfigErrorReason;

  constructor(option: string, message: string, reason: ConfigErrorReason = 'invalid_value') {
    super(`sso-signout: ${message}`);
    brand(this, CONFIG_ERROR);
    this.option = option;
    this.reason = reason;
  }
}

// Fields whose values are secret wherever they appear (a secret, a key, a token, a password, an
// authorisation): an error quoting a value that holds one shows its name, never its value.
const SECRET_FIELD = /secret|token|passw|passphrase|credential|auth|api_?key|^keys?$|encryptionkeys|privatekey/i;
// The user and password of a URL (`redis://app:password@host`), wherever a URL appears in a value.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

function hidingSecrets(this: unknown, name: string, value: unknown): unknown {
  if (value === undefined || typeof value === 'function') return value;
  if (name !== '' && SECRET_FIELD.test(name)) return '[hidden]';
  return typeof value === 'string' ? value.replace(URL_USERINFO, '$1[hidden]@') : value;
}

/**
 * Quotes a configured value for an error message (JSON where possible). The values of fields named
 * as secrets (`secret`, `key`, `accessToken`, `auth`, …) and the user and password of URLs are
 * shown as `[hidden]`.
 */
/** `value instanceof Class`; false where even asking throws (a revoked Proxy an app threw). */
export function isInstance<T>(value: unknown, Class: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof Class;
  } catch {
    return false;
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  // JSON has no word for these (it would say null).
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'symbol' || typeof value === 'bigint') return value.toString();
  try {
    const json = JSON.stringify(value, hidingSecrets) as string | undefined;
    return json ?? 'undefined';
  } catch {
    return 'an unserialisable value';
  }
}

/** Says what kind of value a secret option was given, and nothing of the value itself. */
export function describeSecret(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${String(value.length)}`;
  if (typeof value === 'object') return 'an object';
  return `a value of type ${typeof value}`;
}
