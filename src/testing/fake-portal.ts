// A real HTTP server on loopback that behaves like the IAM Identity Center portal's Logout, scriptable per call.

import { randomBytes, randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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

type MutableCall = { -readonly [K in keyof PortalCall]: PortalCall[K] };

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
  /** Forgets calls, queue, default and pause; tokens stay. */
  reset(): void;
  /** Stops the server and drops every connection, hanging ones included. */
  close(): Promise<void>;
}

export interface FakePortalOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port. Default `0` (a free one). */
  readonly port?: number;
}

const ERROR_TYPE_SUFFIX = ':http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/';

function normalise(reply: PortalReply): Exclude<PortalReply, PortalReplyKind> {
  return typeof reply === 'string' ? { kind: reply } : reply;
}

function sendError(res: ServerResponse, status: number, errorType: string, message: string, requestId: string): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': `${errorType}${ERROR_TYPE_SUFFIX}`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
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
  const active = new Set<string>();
  const calls: MutableCall[] = [];
  let queue: PortalReply[] = [];
  let fallback: PortalReply | ((call: PortalCall) => PortalReply) = 'real';
  let paused = false;
  let held: (() => void)[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  function arrive(call: MutableCall): void {
    calls.push(call);
    waiters = waiters.filter((w) => {
      if (calls.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  function reply(
    req: IncomingMessage,
    res: ServerResponse,
    call: MutableCall,
    chosen: Exclude<PortalReply, PortalReplyKind>,
  ): void {
    const { token, requestId } = call;
    const record = (answered: Pick<PortalCall, 'reply' | 'status'>): void => {
      call.reply = answered.reply;
      call.status = answered.status;
      // Whatever the script, a 2xx answer is the portal saying the token is revoked.
      if (token !== undefined && answered.status !== undefined && answered.status >= 200 && answered.status < 300) {
        active.delete(token);
      }
    };
    switch (chosen.kind) {
      case 'real': {
        if (req.method !== 'POST' || req.url !== '/logout') {
          record({ reply: 'real', status: 404 });
          sendError(res, 404, 'UnknownOperationException', 'Unknown operation', requestId);
        } else if (token === undefined || token === '') {
          record({ reply: 'real', status: 400 });
          sendError(res, 400, 'InvalidRequestException', 'Missing access token', requestId);
        } else if (active.has(token)) {
          record({ reply: 'real', status: 200 });
          res.writeHead(200, { 'x-amzn-requestid': requestId, 'content-length': 0 });
          res.end();
        } else {
          record({ reply: 'real', status: 401 });
          sendError(res, 401, 'UnauthorizedException', 'Session token not found or invalid', requestId);
        }
        return;
      }
      case 'ok':
        record({ reply: 'ok', status: 200 });
        res.writeHead(200, { 'x-amzn-requestid': requestId, 'content-length': 0 });
        res.end();
        return;
      case 'unauthorized':
        record({ reply: 'unauthorized', status: 401 });
        sendError(res, 401, 'UnauthorizedException', 'Session token not found or invalid', requestId);
        return;
      case 'invalid-request':
        record({ reply: 'invalid-request', status: 400 });
        sendError(res, 400, 'InvalidRequestException', 'Invalid request', requestId);
        return;
      case 'throttle': {
        record({ reply: 'throttle', status: 429 });
        if (chosen.retryAfter !== undefined) {
          const value = chosen.retryAfter instanceof Date ? chosen.retryAfter.toUTCString() : String(chosen.retryAfter);
          res.setHeader('retry-after', value);
        }
        if (chosen.amzRetryAfterMs !== undefined) res.setHeader('x-amz-retry-after', String(chosen.amzRetryAfterMs));
        sendError(res, 429, 'TooManyRequestsException', 'Rate exceeded', requestId);
        return;
      }
      case 'status': {
        record({ reply: 'status', status: chosen.status });
        const text = chosen.body ?? '';
        res.writeHead(chosen.status, {
          'x-amzn-requestid': requestId,
          ...(chosen.errorType === undefined ? {} : { 'x-amzn-errortype': chosen.errorType }),
          ...chosen.headers,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      case 'redirect': {
        const status = chosen.status ?? 307;
        record({ reply: 'redirect', status });
        res.writeHead(status, { location: chosen.location ?? 'https://example.invalid/logout', 'content-length': 0 });
        res.end();
        return;
      }
      case 'hang':
        record({ reply: 'hang', status: undefined });
        return;
      case 'reset':
        record({ reply: 'reset', status: undefined });
        req.socket.destroy();
        return;
      case 'garbage':
        record({ reply: 'garbage', status: undefined });
        req.socket.end('\u0000\u0001 this is not HTTP \r\n\r\n');
        return;
      case 'raw':
        record({ reply: 'raw', status: undefined });
        req.socket.end(Buffer.from(chosen.bytes, 'latin1'));
        return;
      case 'reset-during': {
        const status = chosen.status ?? 200;
        record({ reply: 'reset-during', status });
        res.writeHead(status, { 'x-amzn-requestid': requestId, 'content-length': 1000 });
        res.write('{"message":"cut sh', () => {
          req.socket.destroy();
        });
        return;
      }
      case 'slow-body': {
        const status = chosen.status ?? 500;
        const text = chosen.body ?? JSON.stringify({ message: 'slowly failing' });
        const chunks = Math.max(1, chosen.chunks ?? 5);
        const size = Math.ceil(text.length / chunks);
        record({ reply: 'slow-body', status });
        res.writeHead(status, { 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(text) });
        let sent = 0;
        const next = (): void => {
          if (res.destroyed) return;
          const piece = text.slice(sent, sent + size);
          sent += size;
          if (sent >= text.length) {
            res.end(piece);
            return;
          }
          res.write(piece);
          const timer = setTimeout(() => {
            timers.delete(timer);
            next();
          }, chosen.intervalMs ?? 100);
          timers.add(timer);
        };
        next();
        return;
      }
      case 'endless-body': {
        const status = chosen.status ?? 400;
        record({ reply: 'endless-body', status });
        res.writeHead(status, { 'x-amzn-requestid': requestId, 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.write('{"message":"');
        pump();
        return;
      }
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const tokenHeader = req.headers['x-amz-sso_bearer_token'];
      const call: MutableCall = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        token: Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader,
        body: Buffer.concat(chunks).toString('utf8'),
        reply: undefined,
        status: undefined,
        requestId: randomUUID(),
      };
      arrive(call);
      const chosen = normalise(queue.shift() ?? (typeof fallback === 'function' ? fallback(call) : fallback));
      const go = (): void => {
        if (chosen.delayMs !== undefined && chosen.delayMs > 0) {
          const timer = setTimeout(() => {
            timers.delete(timer);
            reply(req, res, call, chosen);
          }, chosen.delayMs);
          timers.add(timer);
        } else {
          reply(req, res, call, chosen);
        }
      };
      if (paused) held.push(go);
      else go();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${String(address.port)}`,
    calls,
    issueToken() {
      const token = `aoa${randomBytes(48).toString('base64url')}:${randomBytes(24).toString('base64url')}`;
      active.add(token);
      return token;
    },
    isActive: (token) => active.has(token),
    revoke(token) {
      active.delete(token);
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    setDefault(reply) {
      fallback = reply;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      const release = held;
      held = [];
      for (const go of release) go();
    },
    waitForCalls(count, timeoutMs = 5000) {
      if (calls.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(
            new Error(`fake portal: ${String(calls.length)} of ${String(count)} calls after ${String(timeoutMs)} ms`),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ count, resolve: done });
      });
    },
    reset() {
      calls.length = 0;
      queue = [];
      fallback = 'real';
      paused = false;
      held = [];
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      held = [];
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}
