// How the fake portal answers each kind of scripted reply: the real portal's answers, and the ways
// an upstream or a proxy in front of it fails.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MutableCall, PortalCall, PortalReply, PortalReplyKind } from './fake-portal.js';

/** A reply with its kind spelled out. */
export type ScriptedReply = Exclude<PortalReply, PortalReplyKind>;

/** What a reply works with. */
export interface ReplyContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly call: MutableCall;
  /** Notes the reply on the call (a 2xx revokes the token). */
  readonly record: (reply: PortalCall['reply'], status: number | undefined) => void;
  /** Runs `then` after `ms`, unless the portal closes first. */
  readonly later: (ms: number, then: () => void) => void;
  /** The tokens that are active. */
  readonly active: ReadonlySet<string>;
}

const ERROR_TYPE_SUFFIX = ':http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/';

function sendError(context: ReplyContext, status: number, errorType: string, message: string): void {
  const body = JSON.stringify({ message });
  context.res.writeHead(status, {
    'x-amzn-requestid': context.call.requestId,
    'x-amzn-errortype': `${errorType}${ERROR_TYPE_SUFFIX}`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  context.res.end(body);
}

function sendOk(context: ReplyContext): void {
  context.res.writeHead(200, { 'x-amzn-requestid': context.call.requestId, 'content-length': 0 });
  context.res.end();
}

function real(context: ReplyContext): void {
  const { req, call, record, active } = context;
  const token = call.token;
  if (req.method !== 'POST' || req.url !== '/logout') {
    record('real', 404);
    sendError(context, 404, 'UnknownOperationException', 'Unknown operation');
  } else if (token === undefined || token === '') {
    record('real', 400);
    sendError(context, 400, 'InvalidRequestException', 'Missing access token');
  } else if (active.has(token)) {
    record('real', 200);
    sendOk(context);
  } else {
    record('real', 401);
    sendError(context, 401, 'UnauthorizedException', 'Session token not found or invalid');
  }
}

type Reply<K extends ScriptedReply['kind']> = (
  context: ReplyContext,
  chosen: Extract<ScriptedReply, { kind: K }>,
) => void;

function throttle(context: ReplyContext, chosen: Extract<ScriptedReply, { kind: 'throttle' }>): void {
  const { res } = context;
  context.record('throttle', 429);
  if (chosen.retryAfter !== undefined) {
    const value = chosen.retryAfter instanceof Date ? chosen.retryAfter.toUTCString() : String(chosen.retryAfter);
    res.setHeader('retry-after', value);
  }
  if (chosen.amzRetryAfterMs !== undefined) res.setHeader('x-amz-retry-after', String(chosen.amzRetryAfterMs));
  sendError(context, 429, 'TooManyRequestsException', 'Rate exceeded');
}

function status(context: ReplyContext, chosen: Extract<ScriptedReply, { kind: 'status' }>): void {
  context.record('status', chosen.status);
  const text = chosen.body ?? '';
  context.res.writeHead(chosen.status, {
    'x-amzn-requestid': context.call.requestId,
    ...(chosen.errorType === undefined ? {} : { 'x-amzn-errortype': chosen.errorType }),
    ...chosen.headers,
    'content-length': Buffer.byteLength(text),
  });
  context.res.end(text);
}

function slowBody(context: ReplyContext, chosen: Extract<ScriptedReply, { kind: 'slow-body' }>): void {
  const { res } = context;
  const code = chosen.status ?? 500;
  const text = chosen.body ?? JSON.stringify({ message: 'slowly failing' });
  const size = Math.ceil(text.length / Math.max(1, chosen.chunks ?? 5));
  context.record('slow-body', code);
  res.writeHead(code, { 'x-amzn-requestid': context.call.requestId, 'content-length': Buffer.byteLength(text) });
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
    context.later(chosen.intervalMs ?? 100, next);
  };
  next();
}

function endlessBody(context: ReplyContext, chosen: Extract<ScriptedReply, { kind: 'endless-body' }>): void {
  const { res } = context;
  const code = chosen.status ?? 400;
  context.record('endless-body', code);
  res.writeHead(code, { 'x-amzn-requestid': context.call.requestId, 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  res.write('{"message":"');
  pump();
}

const REPLIES: { readonly [K in ScriptedReply['kind']]: Reply<K> } = {
  real,
  ok: (context) => {
    context.record('ok', 200);
    sendOk(context);
  },
  unauthorized: (context) => {
    context.record('unauthorized', 401);
    sendError(context, 401, 'UnauthorizedException', 'Session token not found or invalid');
  },
  'invalid-request': (context) => {
    context.record('invalid-request', 400);
    sendError(context, 400, 'InvalidRequestException', 'Invalid request');
  },
  throttle,
  status,
  redirect: (context, chosen) => {
    const code = chosen.status ?? 307;
    context.record('redirect', code);
    context.res.writeHead(code, { location: chosen.location ?? 'https://example.invalid/logout', 'content-length': 0 });
    context.res.end();
  },
  hang: (context) => {
    context.record('hang', undefined);
  },
  reset: (context) => {
    context.record('reset', undefined);
    context.req.socket.destroy();
  },
  garbage: (context) => {
    context.record('garbage', undefined);
    context.req.socket.end('\u0000\u0001 this is not HTTP \r\n\r\n');
  },
  raw: (context, chosen) => {
    context.record('raw', undefined);
    context.req.socket.end(Buffer.from(chosen.bytes, 'latin1'));
  },
  'reset-during': (context, chosen) => {
    const code = chosen.status ?? 200;
    context.record('reset-during', code);
    context.res.writeHead(code, { 'x-amzn-requestid': context.call.requestId, 'content-length': 1000 });
    context.res.write('{"message":"cut sh', () => {
      context.req.socket.destroy();
    });
  },
  'slow-body': slowBody,
  'endless-body': endlessBody,
};

/** Whether `kind` names a reply the portal can send. */
export function isReplyKind(kind: unknown): kind is ScriptedReply['kind'] {
  return typeof kind === 'string' && Object.hasOwn(REPLIES, kind);
}

/** Answers one call as `chosen` scripts it. */
export function sendReply(context: ReplyContext, chosen: ScriptedReply): void {
  (REPLIES[chosen.kind] as Reply<typeof chosen.kind>)(context, chosen);
}
