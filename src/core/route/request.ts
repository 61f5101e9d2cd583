// What an adapter hands the route (the request, its session) and what it gets back (the answer).

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { SignOutError } from '../errors.js';
import type { LogoutClient } from '../logout/client.js';
import type { Warn } from '../warnings.js';
import type { MaybePromise, RequestBody } from './body.js';
import type { CookieToClear } from './cookies.js';
import type { SessionStoreAccess } from '../everywhere/elsewhere.js';
import type { ResolvedOptions } from './options.js';
import type { SignOutResult } from './outcomes.js';

/** How the adapter found the request's session. */
export type SessionBinding =
  /** No session middleware ran before the route; `detail` says what the adapter saw. */
  | {
      readonly kind: 'none';
      readonly detail?: string | undefined;
      /** The request itself (not the app's setup) has no session to see: nothing to warn the app about. */
      readonly byRequest?: boolean;
    }
  /** A session object from a middleware the adapter does not know how to end. */
  | { readonly kind: 'unknown'; readonly data: unknown; readonly current: () => unknown }
  | {
      readonly kind: 'supported';
      readonly data: unknown;
      /** The request's session as it is now (after an app's `endSession`, say). */
      readonly current: () => unknown;
      /**
       * The cookies the route must clear itself (empty when the middleware clears its own), with the
       * attributes they were set with.
       */
      readonly cookies: () => readonly SessionCookie[];
      /**
       * The name of the cookie that carries the session, where `cookies()` does not give it (the
       * middleware clears its own cookie): a request that sends two cookies of that name is refused.
       */
      readonly cookieName?: () => string | undefined;
      /** Ends the session; called as a method (a binding may be a class instance). */
      end(): Promise<void>;
      /**
       * The store object the session middleware was given, if it has one: the route tells the app
       * when it is a store given to `guardSessionStore` in place of the guard made of it.
       */
      middlewareStore?(): unknown;
      /**
       * The route stopped waiting for `end()` (its bound, `timeoutMs`, passed): leave the session as
       * the middleware holds it, so nothing after the answer waits on the store again.
       */
      abandoned?(): void;
      /**
       * The route answered without changing anything (a refusal): the middleware must not clear,
       * after the answer, a cookie it could not read (one another origin planted, sent before the
       * user's own), which would delete the user's cookie of that name.
       */
      unchanged?(): void;
      /**
       * After an app's `endSession`: whether the request's session lives on: still there under its
       * id or cookie, whatever the hook took out of it (the app's own marks of a signed-in user may
       * still be in it), or regenerated under a new id with the app's data carried over.
       */
      sessionLives(): boolean;
      /**
       * After an app's `endSession`: carries out now what the hook left for the middleware to do when
       * the answer goes out (koa-session removes a session set to null then), so the route's bound
       * covers it.
       */
      commitEnded?(): Promise<void>;
      /**
       * The session its store still holds under this request's id, where the store is written at
       * once (express-session's): asked after an app's `endSession` left the request without a session.
       */
      stillStored?(): Promise<unknown>;
      /**
       * For signing out everywhere: this session's id and the store that holds the others, where
       * the middleware keeps sessions in a store. Asked for only then.
       */
      readonly stored?: () => { readonly id: string | undefined; readonly store: SessionStoreAccess | undefined };
    };

/**
 * A session cookie as the adapter found it. `sessionCookieName`, when the app gives it, names it;
 * else the name the adapter detected; else the middleware's default name.
 */
export interface SessionCookie extends Omit<CookieToClear, 'name'> {
  /** The name of the cookie that carries this session's id, where one does. */
  readonly detectedName: string | undefined;
  /**
   * A name signed the middleware's way that the request sends twice, if any: the session cannot be
   * told from a planted copy. Never cleared on that guess.
   */
  readonly repeatedName?: string | undefined;
  readonly defaultName: string;
}

/** The request as an adapter describes it to the core. */
export interface SignOutRequest<Req> {
  readonly native: Req;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /**
   * The scheme and `Host` the request was made to (the app's own origin), trusting proxy headers
   * only where the app does. Asked for only when a check needs it.
   */
  readonly address: () => { readonly protocol: string; readonly host: string | undefined };
  /**
   * When the request carries `X-Forwarded-Proto`/`-Host` that the app does not trust: how to trust
   * them in this framework (e.g. `app.set('trust proxy', …)`). Undefined otherwise.
   */
  readonly untrustedProxyHint?: () => string | undefined;
  /**
   * Path and query the request was made to, used as the retry form's action; undefined where the
   * framework may have rewritten it (a Web handler mounted below a prefix): the form then posts
   * back to the URL of its own page, which is the one the browser signed out at.
   */
  readonly url: string | undefined;
  readonly query: (name: string) => unknown;
  /**
   * The body (read on demand; `undefined` when there is none): as the app's body parser left it,
   * or as text the route parses, read within `timeoutMs`.
   */
  readonly body: (timeoutMs: number) => MaybePromise<RequestBody | undefined>;
  readonly session: SessionBinding;
}

/**
 * The path of a request target, without its query: a request line in absolute form
 * (`POST http://host/signout`) read by its path, as frameworks route it.
 */
export function pathOfTarget(url: string): string {
  const end = url.search(/[?#]/);
  const target = end === -1 ? url : url.slice(0, end);
  if (target.startsWith('/')) return target;
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}

/** One header of an answer. */
export type AnswerHeader = readonly [name: string, value: string];

/** The answer the adapter sends, or hands on (`delegate`) in error-delegation mode. */
export interface SignOutAnswer {
  readonly status: number;
  readonly headers: readonly AnswerHeader[];
  readonly body: string | undefined;
  /** In `delegateErrors` mode: the error to hand the framework (its `headers` are the answer's). */
  readonly delegate: SignOutError | undefined;
  readonly result: SignOutResult;
}

// Headers other middleware may already have set, which the route adds to rather than replaces.
const ADDED_TO: ReadonlySet<string> = new Set(['set-cookie', 'vary']);

/** A framework's own calls for writing response headers (Koa's context has them as they are). */
export interface HeaderWriter {
  set(name: string, value: string): unknown;
  append(name: string, value: string): unknown;
}

/** Node's response as a HeaderWriter (one small object per answer: its calls are methods, not closures). */
class NodeHeaderWriter implements HeaderWriter {
  constructor(private readonly res: ServerResponse) {}

  set(name: string, value: string): void {
    this.res.setHeader(name, value);
  }

  append(name: string, value: string): void {
    this.res.appendHeader(name, value);
  }
}

/** Node's response as a HeaderWriter. */
export function nodeHeaderWriter(res: ServerResponse): HeaderWriter {
  return new NodeHeaderWriter(res);
}

/**
 * A reply that accumulates `Set-Cookie` by itself and replaces every other header (Fastify's), as
 * a HeaderWriter: `Vary` is joined with what is there.
 */
export function replyHeaderWriter(reply: {
  header(name: string, value: string): unknown;
  getHeader(name: string): unknown;
}): HeaderWriter {
  return {
    set: (name, value) => reply.header(name, value),
    append: (name, value) => {
      if (name === 'set-cookie') return reply.header(name, value);
      const before = reply.getHeader(name);
      const list = Array.isArray(before) ? before.join(', ') : typeof before === 'string' ? before : '';
      return reply.header(name, list === '' ? value : `${list}, ${value}`);
    },
  };
}

/**
 * Sends an answer's status and body on Node's response, its headers already written. Ended in one
 * call, so Node frames it by the length of what is finally sent, after any wrapper of `res.end`
 * (a footer, compression) has had its say; `Transfer-Encoding` set by the app is honoured. A
 * `Content-Length` set before the route is not this answer's: it is replaced by the answer's own
 * (removing it would tell Node to send the answer chunked).
 */
export function endNodeResponse(res: ServerResponse, answer: Pick<SignOutAnswer, 'status' | 'body'>): void {
  if (res.hasHeader('content-length')) {
    res.setHeader('content-length', answer.body === undefined ? 0 : Buffer.byteLength(answer.body));
  }
  res.statusCode = answer.status;
  res.end(answer.body);
}

/** A request header's (first) value. */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  return firstValue(req.headers[name]);
}

/** The first of a header's values (Node gives an array for the few headers it does not join). */
export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A field of a framework's parsed query (`req.query`, `ctx.query`), whatever the parser made of it. */
export function queryField(query: unknown, name: string): unknown {
  return query !== null && typeof query === 'object' ? (query as Record<string, unknown>)[name] : undefined;
}

/**
 * Writes an answer's headers: `Set-Cookie` and `Vary` are added to what the app or other
 * middleware set, the rest are the route's.
 */
export function writeHeaders(headers: readonly AnswerHeader[], writer: HeaderWriter): void {
  for (const [name, value] of headers) {
    if (ADDED_TO.has(name)) writer.append(name, value);
    else writer.set(name, value);
  }
}

/** A route, as its adapter uses it. */
export interface SignOutCore<Req> {
  handle(request: SignOutRequest<Req>): Promise<SignOutAnswer>;
  /**
   * The answer to a request the route cannot serve as set up (mounted in the wrong framework): a
   * `500` that says what to fix. Nothing is read, called or changed.
   */
  misconfigured(code: 'wrong_adapter', detail: string, headers: IncomingHttpHeaders, native: unknown): SignOutAnswer;
  /** This route's once-only process warnings. */
  readonly warn: Warn;
  readonly client: LogoutClient;
  readonly options: ResolvedOptions<Req>;
}

/**
 * Whether a session object holds anything of the app's: a key besides the middleware's own `cookie`
 * (express-session's and @fastify/session's fresh sessions hold that alone).
 */
export function holdsAppData(session: object): boolean {
  return Object.keys(session).some((key) => key !== 'cookie');
}
