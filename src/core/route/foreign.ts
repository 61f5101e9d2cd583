// A route mounted in a framework it was not made for: which framework called it, and the answer
// (a 500 naming the right entry) written the way that framework expects. One place for all
// adapters, so each adapter answers every other framework the same way.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { lazyDependency } from '../lazy-require.js';
import {
  endNodeResponse,
  nodeHeaderWriter,
  replyHeaderWriter,
  writeHeaders,
  type SignOutAnswer,
  type SignOutCore,
} from './request.js';

const nodeHttp = lazyDependency('node:http');

/** The frameworks the package has routes for. */
export type Framework = 'express' | 'koa' | 'fastify' | 'fetch';

const ROUTES: Readonly<Record<Framework, { readonly name: string; readonly entry: string; readonly use: string }>> = {
  express: {
    name: 'Express',
    entry: '`sso-signout` or `sso-signout/express`',
    use: 'import { ssoSignOut } from "sso-signout"',
  },
  koa: { name: 'Koa', entry: '`sso-signout/koa`', use: 'import { ssoSignOut } from "sso-signout/koa"' },
  fastify: {
    name: 'Fastify',
    entry: '`sso-signout/fastify`',
    use: 'import { ssoSignOut } from "sso-signout/fastify"',
  },
  fetch: {
    name: 'Web-standard (fetch)',
    entry: '`sso-signout/fetch`',
    use: 'import { createSignOutHandler } from "sso-signout/fetch"',
  },
};

const APP: Readonly<Record<Framework, string>> = {
  express: 'an Express (or Connect) app',
  koa: 'a Koa app',
  fastify: 'a Fastify app',
  fetch: 'a Web-standard (fetch) handler (Hono, Next.js, …)',
};

/** What the route says when `found` called the route made for `mounted`. */
function wrongFrameworkMessage(mounted: Framework, found: Framework): string {
  const route = ROUTES[mounted];
  const right = ROUTES[found];
  return `This is the ${route.name} sign-out route (${route.entry}), mounted in ${APP[found]}. Import the ${right.name} route instead: ${right.use}.`;
}

/** What Koa hands a middleware: a context holding Node's request and response. */
interface KoaContextLike {
  readonly req: IncomingMessage;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
  append(field: string, value: string): void;
}

/** What Fastify hands a route handler as its second argument. */
interface FastifyReplyLike {
  readonly raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  getHeader(name: string): unknown;
  send(body?: string): FastifyReplyLike;
}

/** A non-null object, its properties readable. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function isKoaContext(value: unknown): value is KoaContextLike {
  return isObject(value) && 'req' in value && 'res' in value && 'app' in value && typeof value.set === 'function';
}

function isFastifyReply(value: unknown): value is FastifyReplyLike {
  return isObject(value) && isObject(value.raw) && typeof value.send === 'function' && typeof value.code === 'function';
}

function isNodeResponse(value: unknown): value is ServerResponse {
  return isObject(value) && typeof value.setHeader === 'function' && typeof value.end === 'function';
}

/** A Web-standard `Request` (from any realm or fetch implementation). */
function isWebRequest(value: unknown): value is Request {
  return (
    isObject(value) &&
    typeof value.url === 'string' &&
    typeof value.method === 'string' &&
    isObject(value.headers) &&
    typeof value.headers.get === 'function' &&
    'body' in value &&
    typeof value.arrayBuffer === 'function'
  );
}

/**
 * The `Request` a Web-standard framework calls a handler with: the request itself (Next.js,
 * Bun, Deno), in Hono's context (`c.req.raw`), or in an event (`event.request`: SvelteKit, Astro).
 */
export function webRequestOf(value: unknown): Request | undefined {
  if (isWebRequest(value)) return value;
  if (!isObject(value)) return undefined;
  if (isObject(value.req) && isWebRequest(value.req.raw)) return value.req.raw;
  return isWebRequest(value.request) ? value.request : undefined;
}

/** A call from another framework, with what it handed over. */
export type ForeignCall =
  | { readonly framework: 'fetch'; readonly request: Request }
  | { readonly framework: 'express'; readonly req: IncomingMessage; readonly res: ServerResponse }
  | { readonly framework: 'koa'; readonly ctx: KoaContextLike }
  | { readonly framework: 'fastify'; readonly req: IncomingMessage; readonly reply: FastifyReplyLike };

/**
 * Which framework made this call, from its first two arguments, when it is not `mounted`: a
 * Web-standard one (a `Request`, Hono's context, an event holding the request), Koa `(ctx, next)`,
 * Fastify `(request, reply)`, Express `(req, res, next)`. Undefined for the framework the route was
 * made for, and for calls it cannot tell.
 */
export function foreignCall(mounted: Framework, first: unknown, second: unknown): ForeignCall | undefined {
  // Express's own call, told at once: no other framework hands Node's response second (Fastify's
  // reply, even decorated with Node's methods, holds Node's response as `raw`). Node's own class is
  // asked first: it reads no property of the response (each one a slow lookup on an Express
  // response before Node 24); a response of another make is told by its methods.
  if (
    mounted === 'express' &&
    (second instanceof nodeHttp().ServerResponse || (isNodeResponse(second) && !('raw' in second)))
  ) {
    return undefined;
  }
  if (mounted !== 'fetch') {
    const request = webRequestOf(first);
    if (request !== undefined) return { framework: 'fetch', request };
  }
  if (mounted !== 'koa' && isKoaContext(first)) return { framework: 'koa', ctx: first };
  if (mounted !== 'fastify' && isFastifyReply(second) && isObject(first) && isObject(first.raw)) {
    return { framework: 'fastify', req: first.raw as unknown as IncomingMessage, reply: second };
  }
  // Koa's and Fastify's calls are told above; Express hands Node's response second.
  if (mounted !== 'express' && isNodeResponse(second)) {
    return { framework: 'express', req: first as IncomingMessage, res: second };
  }
  return undefined;
}

/** A Web request's headers as Node has them (names in lower case). */
export function nodeHeadersOf(headers: Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function headersOf(call: ForeignCall): IncomingHttpHeaders {
  switch (call.framework) {
    case 'fetch':
      return nodeHeadersOf(call.request.headers);
    case 'koa':
      return call.ctx.req.headers;
    default:
      return call.req.headers;
  }
}

function nativeOf(call: ForeignCall): unknown {
  switch (call.framework) {
    case 'fetch':
      return call.request;
    case 'koa':
      return call.ctx;
    default:
      return call.req;
  }
}

/** An answer as a Web-standard `Response`. */
export function webResponseOf(answer: SignOutAnswer): Response {
  const headers = new Headers();
  for (const [name, value] of answer.headers) headers.append(name, value);
  // An answer without a body says so, so that servers frame it by its length (not chunked, and
  // without closing the connection to end it).
  if (answer.body === undefined) headers.set('content-length', '0');
  return new Response(answer.body ?? null, { status: answer.status, headers });
}

/**
 * Answers a call from another framework: a `500` `wrong_adapter` naming the right entry, written
 * the way that framework takes an answer, and a warning once. Nothing is read, called or changed;
 * nothing is thrown into a framework that might not catch it. Returns what the framework's handler
 * should return (Fastify's reply, a Web framework's `Response`).
 */
export function answerForeignCall<Req>(core: SignOutCore<Req>, mounted: Framework, call: ForeignCall): unknown {
  const message = wrongFrameworkMessage(mounted, call.framework);
  core.warn('SSO_SIGNOUT_WRONG_ADAPTER', message);
  const answer: SignOutAnswer = core.misconfigured('wrong_adapter', message, headersOf(call), nativeOf(call));
  switch (call.framework) {
    case 'fetch':
      return webResponseOf(answer);
    case 'koa':
      writeHeaders(answer.headers, call.ctx);
      call.ctx.status = answer.status;
      call.ctx.body = answer.body;
      return undefined;
    case 'fastify':
      writeHeaders(answer.headers, replyHeaderWriter(call.reply));
      return call.reply.code(answer.status).send(answer.body);
    case 'express':
      if (call.res.headersSent) return undefined;
      writeHeaders(answer.headers, nodeHeaderWriter(call.res));
      endNodeResponse(call.res, answer);
      return undefined;
  }
}
