// A real HTTP server on loopback that behaves like the IAM Identity Center portal's Logout, scriptable per call.

import { randomBytes, randomUUID } from 'node:crypto';
import {
  createServer,
  validateHeaderName,
  validateHeaderValue,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isReplyKind, sendReply, type ScriptedReply } from './replies.js';

/** What the portal does with one call. Strings are shorthands for the kinds without settings. */
export type PortalReply =
  | PortalReplyKind
  | ({ readonly kind: 'real' | 'ok' | 'unauthorized' | 'invalid-request' | 'hang' | 'reset' | 'garbage' } & Delay)
  | ({
      readonly kind: 'throttle';
      /** `Retry-After`: delay-seconds, or an HTTP date (a `Date` or a string). */
      readonly retryAfter?: number | Date | string;
      /** `x-amz-retry-after`, in milliseconds. */
      readonly amzRetryAfterMs?: number;
    } & Delay)
  | ({
      readonly kind: 'status';
      readonly status: number;
      /** Sent as `x-amzn-errortype`. */
      readonly errorType?: string;
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
    } & Delay)
  | ({ readonly kind: 'redirect'; readonly status?: number; readonly location?: string } & Delay)
  | ({
      /** Sends the status line, headers and the first part of a body, then drops the connection. */
      readonly kind: 'reset-during';
      readonly status?: number;
    } & Delay)
  | ({
      /** Sends headers at once, then the body in `chunks` pieces `intervalMs` apart. */
      readonly kind: 'slow-body';
      readonly status?: number;
      readonly body?: string;
      readonly chunks?: number;
      readonly intervalMs?: number;
    } & Delay)
  | ({
      /** Sends an error status and then body bytes for as long as the client keeps reading. */
      readonly kind: 'endless-body';
      readonly status?: number;
    } & Delay)
  | ({
      /**
       * Writes these exact bytes (as latin-1) on the connection and closes it: an answer no HTTP
       * server would send, such as header values with control characters or a broken status line.
       */
      readonly kind: 'raw';
      readonly bytes: string;
    } & Delay);

/**
 * - `real`: what the portal does: revokes an active token (200), else 401 `UnauthorizedException`;
 *   a missing token is 400 `InvalidRequestException`.
 * - `ok`: 200 whatever the token. `unauthorized`: 401. `invalid-request`: 400. `throttle`: 429.
 * - `hang`: never answers. `reset`: closes the connection without answering.
 * - `garbage`: answers with bytes that are not HTTP. `redirect`: 307 elsewhere.
 */
export type PortalReplyKind =
  | 'real'
  | 'ok'
  | 'unauthorized'
  | 'invalid-request'
  | 'throttle'
  | 'hang'
  | 'reset'
  | 'garbage'
  | 'redirect'
  | 'reset-during'
  | 'slow-body'
  | 'endless-body';

interface Delay {
  /** Wait this long before replying. */
  readonly delayMs?: number;
}

/** One call the portal received. */
export interface PortalCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The `x-amz-sso_bearer_token` header, if sent. */
  readonly token: string | undefined;
  readonly body: string;
  /** The kind of reply the call got; undefined while it is held by `pause()` or delayed. */
  readonly reply: PortalReplyKind | 'status' | 'raw' | undefined;
  /** The HTTP status answered (undefined for hang, reset, garbage, and until answered). */
  readonly status: number | undefined;
  readonly requestId: string;
}

/** A call as the portal fills it in. */
export type MutableCall = { -readonly [K in keyof PortalCall]: PortalCall[K] };

export interface FakePortal {
  /** Base URL, e.g. `http://127.0.0.1:41234`: give it as the `endpoint` option. */
  readonly url: string;
  /** Every call received so far, in order of arrival (recorded on arrival, completed when answered). */
  readonly calls: readonly PortalCall[];
  /** Issues a new active access token (as a sign-in would). */
  issueToken(): string;
  /** True while `token` is issued and not revoked. */
  isActive(token: string): boolean;
  /** Ends `token` as if it expired or was signed out elsewhere. */
  revoke(token: string): void;
  /** The next calls get these replies, in order; then the default applies again. */
  enqueue(...replies: PortalReply[]): void;
  /**
   * The reply for calls with nothing enqueued, or a function choosing one per call (for fault
   * mixes). Default `real`.
   */
  setDefault(reply: PortalReply | ((call: PortalCall) => PortalReply)): void;
  /** Holds every call from now on (recorded, not answered) until `resume()`. */
  pause(): void;
  /** Answers the held calls and stops holding. */
  resume(): void;
  /** Resolves once at least `count` calls have arrived, answered or not (rejects after `timeoutMs`, default 5000). */
  waitForCalls(count: number, timeoutMs?: number): Promise<void>;
  /** Forgets calls, queue, default and pause (held calls are answered first); tokens stay. */
  reset(): void;
  /** Stops the server and drops every connection, hanging ones included; a `waitForCalls` still waiting rejects. */
  close(): Promise<void>;
}

export interface FakePortalOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port. Default `0` (a free one). */
  readonly port?: number;
}

function normalise(reply: PortalReply): ScriptedReply {
  return typeof reply === 'string' ? { kind: reply } : reply;
}

function newToken(): string {
  return `aoa${randomBytes(48).toString('base64url')}:${randomBytes(24).toString('base64url')}`;
}

/** The portal's state and script: tokens, calls, the reply queue, holds and waiters. */
class FakePortalServer implements FakePortal {
  readonly calls: MutableCall[] = [];
  private readonly active = new Set<string>();
  private queue: PortalReply[] = [];
  private fallback: PortalReply | ((call: PortalCall) => PortalReply) = 'real';
  private paused = false;
  private held: (() => void)[] = [];
  private waiters: { count: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private closing = false;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      this.receive(req, res);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.keepAliveTimeout = 5000;
  }

  async listen(options: FakePortalOptions): Promise<void> {
    const { server } = this;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${String(address.port)}`;
  }

  issueToken(): string {
    const token = newToken();
    this.active.add(token);
    return token;
  }

  isActive(token: string): boolean {
    return this.active.has(token);
  }

  revoke(token: string): void {
    this.active.delete(token);
  }

  enqueue(...replies: PortalReply[]): void {
    for (const reply of replies) checkReply(reply);
    this.queue.push(...replies);
  }

  setDefault(reply: PortalReply | ((call: PortalCall) => PortalReply)): void {
    if (typeof reply !== 'function') checkReply(reply);
    this.fallback = reply;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const release = this.held;
    this.held = [];
    for (const go of release) go();
  }

  waitForCalls(count: number, timeoutMs = 5000): Promise<void> {
    if (this.calls.length >= count) return Promise.resolve();
    // A closed portal takes no more calls: a wait begun after `close()` is over at once.
    const waiting = new Promise<void>((resolve, reject) => {
      if (this.closing) {
        reject(new Error(`fake portal: closed with ${String(this.calls.length)} of ${String(count)} calls`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        const seen = `${String(this.calls.length)} of ${String(count)} calls`;
        reject(new Error(`fake portal: ${seen} after ${String(timeoutMs)} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const closed = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      this.waiters.push({ count, resolve: done, reject: closed });
    });
    // A wait the test never awaited (it passed without it) must not fail the run when it times
    // out or the portal closes: its rejection is the awaiting test's to see, and only its.
    waiting.catch(() => undefined);
    return waiting;
  }

  reset(): void {
    // Calls an earlier test left held are answered, not left to hang until their client's deadline.
    this.resume();
    this.calls.length = 0;
    this.queue = [];
    this.fallback = 'real';
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held = [];
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      const seen = `${String(this.calls.length)} of ${String(waiter.count)} calls`;
      waiter.reject(new Error(`fake portal: closed with ${seen}`));
    }
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  /** Runs `then` after `ms`, unless the portal closes first. */
  private later(ms: number, then: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      then();
    }, ms);
    this.timers.add(timer);
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call = this.arrive(req, Buffer.concat(chunks).toString('utf8'));
      const chosen = normalise(
        this.queue.shift() ?? (typeof this.fallback === 'function' ? this.fallback(call) : this.fallback),
      );
      const go = (): void => {
        const answer = (): void => {
          this.answer(req, res, call, chosen);
        };
        if (chosen.delayMs !== undefined && chosen.delayMs > 0) this.later(chosen.delayMs, answer);
        else answer();
      };
      if (this.paused) this.held.push(go);
      else go();
    });
  }

  private arrive(req: IncomingMessage, body: string): MutableCall {
    const tokenHeader = req.headers['x-amz-sso_bearer_token'];
    const call: MutableCall = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      token: Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader,
      body,
      reply: undefined,
      status: undefined,
      requestId: randomUUID(),
    };
    this.calls.push(call);
    this.waiters = this.waiters.filter((w) => {
      if (this.calls.length < w.count) return true;
      w.resolve();
      return false;
    });
    return call;
  }

  private answer(req: IncomingMessage, res: ServerResponse, call: MutableCall, chosen: ScriptedReply): void {
    const record = (reply: PortalCall['reply'], status: number | undefined): void => {
      call.reply = reply;
      call.status = status;
      // Whatever the script, a 2xx answer is the portal saying the token is revoked.
      if (call.token !== undefined && status !== undefined && status >= 200 && status < 300) {
        this.active.delete(call.token);
      }
    };
    const send = (): void => {
      sendReply(
        {
          req,
          res,
          call,
          record,
          later: (ms, then) => {
            this.later(ms, then);
          },
          active: this.active,
        },
        chosen,
      );
    };
    try {
      send();
    } catch (error) {
      // A reply chosen per call that HTTP cannot carry (a header with a character no header may
      // hold, say): this call fails with a 500 that says why, the test process goes on.
      record(chosen.kind, 500);
      if (res.headersSent) res.destroy();
      else
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`fake portal: the scripted reply cannot be sent: ${(error as Error).message}`);
    }
  }
}

/** A scripted reply's headers must be ones HTTP can carry: refused when scripted, not when a call is answered. */
function checkReply(reply: PortalReply): void {
  // A script written in JavaScript may name a reply that does not exist, or a status no server sends.
  const script: unknown = reply;
  const kind: unknown = typeof script === 'object' && script !== null ? (script as { kind?: unknown }).kind : script;
  if (!isReplyKind(kind)) {
    throw new TypeError(
      `fake portal: there is no scripted reply ${typeof kind === 'string' ? JSON.stringify(kind) : typeof kind}`,
    );
  }
  if (typeof reply !== 'object') return;
  const status: unknown = (reply as { status?: unknown }).status;
  if (kind === 'status' && status === undefined) throw new TypeError('fake portal: a `status` reply needs a `status`');
  if (kind === 'raw' && typeof (reply as { bytes?: unknown }).bytes !== 'string') {
    throw new TypeError('fake portal: a `raw` reply needs its `bytes` as a string');
  }
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 999)) {
    throw new TypeError(
      `fake portal: a scripted status must be a whole number from 100 to 999; got ${typeof status === 'number' ? String(status) : typeof status}`,
    );
  }
  if (!('headers' in reply)) return;
  // Typed as always present, but a script written in JavaScript may say `headers: undefined`.
  const headers: unknown = reply.headers;
  if (headers === null || typeof headers !== 'object') return;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, String(value));
    } catch (error) {
      throw new TypeError(
        `fake portal: the scripted header ${JSON.stringify(name)} cannot be sent: ${(error as Error).message}`,
      );
    }
  }
}

/**
 * Starts a fake IAM Identity Center portal on loopback.
 *
 * @example
 * const portal = await startFakePortal();
 * const token = portal.issueToken();
 * // sign a test user in with `token`, mount ssoSignOut({ endpoint: portal.url }), then:
 * portal.enqueue({ kind: 'throttle', retryAfter: 3 });
 * await request(app).post('/signout').set('Cookie', cookie).expect(429);
 * expect(portal.isActive(token)).toBe(true);
 * await portal.close();
 */
export async function startFakePortal(options: FakePortalOptions = {}): Promise<FakePortal> {
  const portal = new FakePortalServer();
  await portal.listen(options);
  return portal;
}
