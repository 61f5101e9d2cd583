// One Logout request on the wire: the exact request of the SDKs, bounded in time and in bytes read, never redirected.

import type { Dispatcher } from 'undici';
import type { DeadlineSweep, Expiring } from './deadlines.js';
import { PortalRequestError } from '../errors.js';
import { errorCodeOf } from './backoff.js';
import { printable } from '../scrub.js';
import { VERSION } from '../version.js';

/** Error bodies are read up to this many bytes; the SDK's longest real error body is far shorter. */
export const MAX_ERROR_BODY_BYTES = 8192;

/** Where Logout goes: an origin and the operation's path on it. */
export interface PortalBase {
  readonly origin: string;
  readonly path: string;
}

/**
 * The portal's HTTP answer: status, headers by lower-case name (as undici hands them over: values
 * untrimmed, which their readers trim), and the start of an error body.
 */
export interface PortalAnswer {
  readonly status: number;
  readonly headers: ParsedHeaders;
  /** Empty for 2xx (its body is never read). */
  readonly body: string;
  /**
   * How the error body ended: `whole`; `cut` at {@link MAX_ERROR_BODY_BYTES}; or `broken`, the
   * connection failing after the status line (the body is then empty: only the status speaks).
   */
  readonly ending: BodyEnding;
}

export type BodyEnding = 'whole' | 'cut' | 'broken';

export type ParsedHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The part of undici's request controller this code uses (the same in undici 7 and 8). */
interface Controller {
  abort(reason: Error): void;
}

// Answers undici refuses as not being HTTP it can read: parser errors, broken framing (two
// Content-Lengths, Content-Length with Transfer-Encoding, a body of the wrong length), headers over
// its limit, impossible status codes (its internal assertion), and a 1xx it does not expect.
const MALFORMED_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'ERR_ASSERTION',
]);

// undici's ProxyAgent, when the proxy answers CONNECT with anything but 200.
const PROXY_REFUSED = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/;

function isParseError(error: unknown): boolean {
  const code = errorCodeOf(error);
  if (error instanceof Error && error.name === 'HTTPParserError') return true;
  if (code === undefined) return false;
  if (code.startsWith('HPE_') || MALFORMED_CODES.has(code)) return true;
  return code === 'UND_ERR_SOCKET' && error instanceof Error && /^bad (response|upgrade)/.test(error.message);
}

/**
 * The library's own error for a failed request. The HTTP client's error is not kept: a parser error
 * carries the raw bytes the portal sent, and those may echo the token.
 */
function ownError(error: unknown, token: string): PortalRequestError {
  const code = errorCodeOf(error);
  const detail = error instanceof Error ? printable(error.message, 200, token) : 'unknown failure';
  if (isParseError(error)) {
    return new PortalRequestError('malformed_response', `the portal's answer is not HTTP (${detail})`, code);
  }
  const refused = error instanceof Error ? PROXY_REFUSED.exec(error.message) : null;
  if (refused !== null) {
    const status = refused[1] as string;
    return new PortalRequestError(
      'proxy_refused',
      `the outbound proxy refused the tunnel to the portal (${status})`,
      code,
    );
  }
  return new PortalRequestError('connection', `the request to the portal failed (${detail})`, code);
}

const USER_AGENT = `sso-signout/${VERSION}`;

/**
 * Sends one Logout request through undici's low-level handler interface: the status, the headers
 * and at most {@link MAX_ERROR_BODY_BYTES} of an error body, with no stream in between. Any undici 7
 * or 8 dispatcher does (Agent, Pool, ProxyAgent, EnvHttpProxyAgent, MockAgent). Rejects
 * with a {@link PortalRequestError} when no HTTP answer came by `deadline` (`performance.now()`).
 */
export function sendLogout(
  dispatcher: Dispatcher,
  base: PortalBase,
  token: string,
  deadline: number,
  sweep: DeadlineSweep,
): Promise<PortalAnswer> {
  return new Promise<PortalAnswer>((resolve, reject) => {
    const call = new LogoutCall(token, sweep, deadline, resolve, reject);
    // `maxRedirections: 0`: an app's dispatcher composed with undici's redirect interceptor would
    // otherwise follow a 3xx, send the token wherever it points (undici drops Authorization and
    // Cookie across origins, not this header) and hand back that server's answer as the portal's.
    // With 0 the interceptor passes the request on as it is, and undici 7's and 8's core accept it.
    const options: Dispatcher.DispatchOptions & { readonly maxRedirections: 0 } = {
      origin: base.origin,
      path: base.path,
      method: 'POST',
      headers: { 'x-amz-sso_bearer_token': token, 'content-length': '0', 'user-agent': USER_AGENT },
      body: null,
      maxRedirections: 0,
    };
    try {
      dispatcher.dispatch(options, call);
    } catch (error) {
      call.failWith(error);
    }
  });
}

// Why a request is cut short, given to undici's abort. Made once: a stack trace per call is costly,
// and these never reach anyone (the call has already settled when they are used).
const BODY_NOT_READ = new Error('2xx body not read');
const BODY_CUT = new Error('error body read up to its bound');
const DEADLINE_REACHED = new Error('the Logout deadline was reached');
// The headers of a call that has none (not yet, or no longer): one object for every call, frozen so
// that no holder of one answer can change it for the others.
const NO_HEADERS: ParsedHeaders = Object.freeze({});

function deadlineError(): PortalRequestError {
  return new PortalRequestError('deadline', 'the Logout deadline was reached before the portal answered');
}

// The errors undici's own interceptors make of an answer: the retry interceptor's (and RetryAgent's)
// when it stops at a status it retries (429 and 5xx by default; a POST is sent once unless the app
// lists it, so that is the first answer), and the responseError interceptor's for any status of 400
// or more. The answer was the portal's; only its form is an error.
const ANSWER_ERROR_CODES: ReadonlySet<unknown> = new Set(['UND_ERR_REQ_RETRY', 'UND_ERR_RESPONSE']);

/** The fields of such an error that hold the portal's answer (the same in undici 7 and 8). */
interface AnswerError {
  readonly code: unknown;
  readonly statusCode?: unknown;
  readonly headers?: unknown;
  /** The responseError interceptor's: the body as text, or parsed when its type is JSON. */
  readonly body?: unknown;
  /** undici 8's responseError interceptor: the body was cut at its own bound. */
  readonly bodyTruncated?: unknown;
}

/**
 * The portal's answer an error of undici's retry or responseError interceptor carries, or undefined
 * for any other failure. Known by its code, not its class: the app's undici may be another copy
 * (or major) than this package's. Only the status, the headers and the body are taken: the rest of
 * such an error (its message, whatever another interceptor added to it, the request's options with
 * the token) reaches nothing.
 */
function carriedAnswer(error: unknown): PortalAnswer | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const carrier = error as AnswerError;
  if (!ANSWER_ERROR_CODES.has(carrier.code)) return undefined;
  const status = carrier.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return undefined;
  // The retry interceptor drops the body (its `data` is its own count of attempts, not the body):
  // the status and headers speak alone, as for an empty body.
  const headers = carriedHeaders(carrier.headers);
  const type = headers['content-type'];
  const text =
    carrier.code === 'UND_ERR_RESPONSE' ? carriedText(carrier.body, typeof type === 'string' ? type : undefined) : '';
  return boundedAnswer(status, headers, text, carrier.bodyTruncated !== true);
}

/**
 * The body the responseError interceptor kept, as text: the text it read, or its parse of a JSON
 * body written back as JSON. Empty when it kept none (it reads only JSON and plain-text bodies, so
 * an error named only in a body of another type, `application/x-amz-json-1.1` say, is not seen).
 * A JSON body is parsed when it can be: a string it holds is such a parse (a JSON string, which
 * holds no error name, whatever its text looks like) when that text parses too, and is written
 * back as the JSON string it came as; text that does not parse is the body as it came.
 */
function carriedText(body: unknown, contentType: string | undefined): string {
  if (typeof body === 'string' && !(contentType?.startsWith('application/json') === true && parses(body))) return body;
  if (body === undefined || body === null) return '';
  try {
    // undefined for a value JSON has no text for (a function, a symbol).
    const json = JSON.stringify(body) as string | undefined;
    return json ?? '';
  } catch {
    // Not the interceptor's own parse (a cycle, a BigInt): no body to read.
    return '';
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * An answer from what an interceptor carried, its body bounded as a body on the wire is: at most
 * {@link MAX_ERROR_BODY_BYTES} of its UTF-8 bytes. No more characters than that are encoded (each is
 * a byte at least): undici 7's interceptor keeps a body of any length.
 */
function boundedAnswer(status: number, headers: ParsedHeaders, text: string, whole: boolean): PortalAnswer {
  if (status >= 200 && status < 300) return { status, headers, body: '', ending: 'whole' };
  const bytes = Buffer.from(text.slice(0, MAX_ERROR_BODY_BYTES), 'utf8');
  const cut = text.length > MAX_ERROR_BODY_BYTES || bytes.length > MAX_ERROR_BODY_BYTES;
  return {
    status,
    headers,
    body: bytes.subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8'),
    ending: whole && !cut ? 'whole' : 'cut',
  };
}

/**
 * The carried headers, copied: names in lower case, values that are text (or lists of it) only,
 * read once, in an object with no prototype, so that no name of theirs (`__proto__`) acts on it.
 */
function carriedHeaders(value: unknown): ParsedHeaders {
  if (value === null || typeof value !== 'object') return NO_HEADERS;
  const headers = Object.create(null) as Record<string, string | string[]>;
  for (const [name, header] of Object.entries(value)) {
    if (typeof header === 'string') headers[name.toLowerCase()] = header;
    else if (Array.isArray(header) && header.every((item) => typeof item === 'string')) {
      headers[name.toLowerCase()] = [...header];
    }
  }
  return headers;
}

/**
 * One call in flight, as undici's handler of `onRequestStart`, `onResponseStart`, …: undici 8 knows
 * only this interface, and undici 7 (its Agent, Pool, ProxyAgent, EnvHttpProxyAgent, MockAgent)
 * adapts it. It settles once: on the answer, on a failure, or at the deadline.
 */
class LogoutCall implements Expiring {
  /** The call's deadline; once a 2xx has been answered, when its unfinished body is cut. */
  deadline: number;
  private status = 0;
  private headers: ParsedHeaders = NO_HEADERS;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private controller: Controller | undefined;
  private aborted: Error | undefined;
  private settled = false;
  /** A 2xx answered at its status line whose body has not ended: watched until it does, briefly. */
  private lingering = false;

  constructor(
    private readonly token: string,
    private readonly sweep: DeadlineSweep,
    deadline: number,
    private readonly resolve: (answer: PortalAnswer) => void,
    private readonly reject: (error: PortalRequestError) => void,
  ) {
    this.deadline = deadline;
    sweep.track(this);
  }

  expire(): void {
    if (this.lingering) {
      // Answered; what is left of its body never came by the next sweep: the connection is let go.
      this.done();
      this.stop(BODY_NOT_READ);
      return;
    }
    this.fail(deadlineError());
    this.stop(DEADLINE_REACHED);
  }

  fail(error: PortalRequestError): void {
    if (this.settle()) this.reject(error);
  }

  /**
   * Settles on undici's error: the portal's answer when the error carries one (an interceptor of
   * the app's dispatcher made it an error), else the library's own error for the failure.
   */
  failWith(error: unknown): void {
    let carried: PortalAnswer | undefined;
    try {
      carried = carriedAnswer(error);
    } catch {
      // An error whose fields throw when read carries nothing readable: a failure like any other.
    }
    if (carried !== undefined) {
      if (this.settle()) this.resolve(carried);
    } else if (this.status === 429) {
      // A 429 whose body broke off: its status line said "throttled", which is what the SDK reads
      // (by status, before the connection's failure), so the wait it names is kept; its body and
      // the error names it might hold are not read.
      this.answer('broken');
    } else {
      this.fail(ownError(error, this.token));
    }
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    // Expired while queued for a connection: cancel it now that it can be.
    if (this.aborted !== undefined) cancel(controller, this.aborted);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: ParsedHeaders): void {
    this.status = statusCode;
    this.headers = headers;
    if (!this.succeeded()) return;
    // The status line of a 2xx says the token is revoked: answered now, whatever its body does.
    // Logout's body is empty; one that is not, or has not ended by the next sweep (it may never
    // start), is cut there, so that it holds no connection.
    this.answer('whole');
    if (headers['content-length'] === '0' || statusCode === 204 || statusCode === 205) return;
    this.lingering = true;
    this.deadline = performance.now();
    this.sweep.track(this);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.succeeded()) {
      // Answered at the status line; a 2xx body may be endless. This closes the connection (an
      // empty chunk needs no closing).
      if (chunk.length > 0) {
        this.done();
        this.stop(BODY_NOT_READ);
      }
      return;
    }
    const room = MAX_ERROR_BODY_BYTES - this.size;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return;
    }
    // Past the bound: enough of the body to classify it; the rest may be endless. This closes the
    // connection.
    this.chunks.push(chunk.subarray(0, room));
    this.size += room;
    this.answer('cut');
    this.stop(BODY_CUT);
  }

  onResponseEnd(): void {
    this.answer('whole');
    this.done();
    // The answer is out: let go of undici's controller (it holds the response's raw headers and,
    // through its abort, the request) and of the parsed headers. Measured with `--trace-gc-nvp` on
    // browser-shaped sign-outs, 1.8 KB less per sign-out then survives a garbage collection.
    this.controller = undefined;
    this.headers = NO_HEADERS;
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.done();
    // A 2xx status line already said the token is revoked. A 304 has no body whatever its
    // Content-Length says (undici counts it anyway): the status line is the whole answer.
    if (this.succeeded() || this.status === 304) this.answer('whole');
    else this.failWith(error);
  }

  /** A lingering 2xx body has ended, or been cut: no longer watched. */
  private done(): void {
    if (!this.lingering) return;
    this.lingering = false;
    this.sweep.untrack(this);
  }

  private succeeded(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.sweep.untrack(this);
    return true;
  }

  private answer(ending: BodyEnding): void {
    if (!this.settle()) return;
    this.resolve({
      status: this.status,
      headers: this.headers,
      body: this.succeeded() || ending === 'broken' ? '' : Buffer.concat(this.chunks, this.size).toString('utf8'),
      ending,
    });
  }

  private stop(reason: Error): void {
    this.aborted = reason;
    if (this.controller !== undefined) cancel(this.controller, reason);
  }
}

/**
 * Cancels a call that has settled. A dispatcher whose cancel throws (one of the app's own, or one
 * already closed) must not throw into the deadline sweep, which would end the process: the call
 * has its answer, and its connection is the dispatcher's to close.
 */
function cancel(controller: Controller, reason: Error): void {
  try {
    controller.abort(reason);
  } catch {
    // see above
  }
}
