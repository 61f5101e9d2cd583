// The Web-standard adapter: a `Request` in, a `Response` out (Hono, Next.js route handlers, Bun,
// Deno). No session middleware can be detected here, so the app says how to read and end its own.

import { describeSecret, describeValue } from './core/errors.js';
import { readWebBody, type RequestBody } from './core/route/body.js';
import {
  answerForeignCall,
  foreignCall,
  isObject,
  nodeHeadersOf,
  webRequestOf,
  webResponseOf,
} from './core/route/foreign.js';
import type { RenderOutput, SignOutOptions } from './core/route/options.js';
import type { SignOutEvent } from './core/route/events.js';
import type { SignOutResult } from './core/route/outcomes.js';
import { originOf } from './core/route/return-to.js';
import { createSignOutCore } from './core/route/route.js';
import type { TokenInfo } from './core/token.js';
import { assertFactoryCall, configError, functionOption } from './core/validate.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * Options of the fetch handler. The hooks receive the `Request` and the context the handler was
 * called with (Hono's `c`, a Next.js route's `{ params }`, …). `getToken` and `endSession` are
 * required: they are how the route reads and ends the app's session. The session's cookie is named
 * in `sessionCookieName` (a request that sends it twice is refused `400 session_ambiguous`, and it is
 * cleared) and listed in `clearCookies` with the attributes it was set with.
 */
export interface FetchSignOutOptions<Ctx = unknown> extends Omit<
  SignOutOptions<Request>,
  'getToken' | 'endSession' | 'render' | 'onEvent' | 'everywhere'
> {
  /** Reads the sign-in's token (and its region) from the app's session; `undefined` when there is none. */
  readonly getToken: (request: Request, context: Ctx) => MaybePromise<TokenInfo | string | null | undefined>;
  /** Ends the app's session (the token must be gone from it when this settles). */
  readonly endSession: (request: Request, context: Ctx) => MaybePromise<void>;
  /** Renders the body of every non-redirect answer; `undefined` for the default page. */
  readonly render?:
    ((result: SignOutResult, request: Request, context: Ctx) => MaybePromise<RenderOutput | undefined>) | undefined;
  /** Hears every sign-out, refusal and refused `return_to`. Exceptions it throws are ignored. */
  readonly onEvent?: ((event: SignOutEvent, request: Request, context: Ctx) => void) | undefined;
  /**
   * The app's public origin (`https://portal.example.com`), for the cross-site check and for
   * telling its own paths from other sites'. Default: the origin of the request's URL, which behind
   * a proxy may be the app's internal address.
   */
  readonly origin?: string | undefined;
}

/**
 * The fetch handler: `(request, context) => Promise<Response>`. The context the hooks are typed to
 * receive must be given; with none declared (`Ctx` left `unknown` or `undefined`), it is optional.
 */
export type FetchSignOutHandler<Ctx = unknown> = unknown extends Ctx
  ? (request: Request, context?: Ctx) => Promise<Response>
  : undefined extends Ctx
    ? (request: Request, context?: Ctx) => Promise<Response>
    : (request: Request, context: Ctx) => Promise<Response>;

/** One call of the handler, as the core's hooks see it. */
interface FetchCall<Ctx> {
  readonly request: Request;
  readonly context: Ctx;
}

/** What a value is, for an error message: its type, never its contents (it may hold a session). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== 'string' || name === '' || name === 'Object') return 'an object';
  return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}`;
}

const NOT_FOR_FETCH: Readonly<Record<string, string>> = {
  everywhere:
    'signing out everywhere needs a session store the route can reach, which a fetch handler has not: end the other sessions in `endSession`.',
};

/** The request's URL: a Request-like object of the app's making may have a relative one, a real Request never. */
function urlOf(request: Request): URL {
  if (!URL.canParse(request.url)) {
    throw configError('request', 'misuse', 'the Request’s `url` must be an absolute URL (`https://host/signout`).');
  }
  return new URL(request.url);
}

function parseOrigin(value: unknown): URL | undefined {
  if (value === undefined) return undefined;
  const url = originOf(value);
  if (url === undefined) {
    throw configError(
      'origin',
      'invalid_value',
      `\`origin\` must be the app's public origin, like "https://portal.example.com" (a scheme and a host, no path); got ${describeValue(value)}.`,
    );
  }
  return new URL(url.origin);
}

/**
 * The core's options: the hooks called with the `Request` and the context instead of the call
 * they travel in; everything else as given, for the core to check.
 */
function coreOptions<Ctx>(options: FetchSignOutOptions<Ctx>): SignOutOptions<FetchCall<Ctx>> {
  const { getToken, endSession, render, onEvent, ...rest } = options;
  delete (rest as { origin?: unknown }).origin;
  const given = functionOption('getToken', getToken);
  const ends = functionOption('endSession', endSession);
  const renders = functionOption('render', render);
  // Typed as the app may write it: an async listener's promise, handed back for the route to watch.
  const hears = functionOption('onEvent', onEvent) as
    ((event: SignOutEvent, request: Request, context: Ctx) => unknown) | undefined;
  return {
    ...(rest as SignOutOptions<FetchCall<Ctx>>),
    ...(given === undefined ? {} : { getToken: (call) => given(call.request, call.context) }),
    ...(ends === undefined ? {} : { endSession: async (call) => ends(call.request, call.context) }),
    ...(renders === undefined ? {} : { render: (result, call) => renders(result, call.request, call.context) }),
    ...(hears === undefined
      ? {}
      : {
          // Mounted in another framework, the route's event comes with what that framework handed
          // over (its request), and no context.
          onEvent: (event, call) =>
            isObject(call) && isObject(call.request)
              ? hears(event, call.request, call.context)
              : hears(event, call as unknown as Request, undefined as Ctx),
        }),
  };
}

function checkOptions(options: unknown): void {
  if (!isObject(options) || Array.isArray(options)) {
    throw configError(
      'options',
      'not_an_object',
      `createSignOutHandler takes its options, with \`getToken\` and \`endSession\`; got ${describeSecret(options)}.`,
    );
  }
  for (const [name, why] of Object.entries(NOT_FOR_FETCH)) {
    if (options[name] !== undefined)
      throw configError(name, 'unknown_option', `\`${name}\` does not apply here: ${why}`);
  }
  for (const name of ['getToken', 'endSession'] as const) {
    if (options[name] === undefined) {
      throw configError(
        name,
        'missing',
        `a fetch handler has no session middleware to read: give \`${name}\`, e.g. createSignOutHandler({ getToken: (request, c) => c.get('session')?.sso, endSession: (request, c) => c.get('session')?.destroy() }).`,
      );
    }
  }
}

function queryValue(url: URL, name: string): unknown {
  const values = url.searchParams.getAll(name);
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
}

const NOT_ROUTED =
  'the fetch sign-out handler was reached through a wildcard route (Hono `app.use("/path/*", …)` or `app.all("*", …)`), so it would sign out on every path below it: it answers those 404 and signs nobody out. Route it on its own path: app.all("/signout", (c) => signOut(c.req.raw, c)).';

/** Hono's context, routed by a pattern with a wildcard (a middleware or catch-all route). */
function mountedOnAWildcard(context: unknown): boolean {
  if (!isObject(context) || !isObject(context.req)) return false;
  const routePath: unknown = context.req.routePath;
  return typeof routePath === 'string' && routePath.includes('*');
}

const FORWARDED_HINT =
  "the `origin` option, the app's public origin (createSignOutHandler({ origin: 'https://portal.example.com', … }))";

/**
 * Creates the sign-out route as a Web-standard handler: `Request` in, `Response` out. Call it with
 * the request and, optionally, a context the hooks receive. In delegate mode (`delegateErrors`),
 * failures reject with the `SignOutError`, whose `headers` are the answer's.
 *
 * @example Hono
 * import { Hono, type Context } from 'hono';
 * import { createSignOutHandler } from 'sso-signout/fetch';
 *
 * type Env = { Variables: { session: { sso?: { accessToken: string }; destroy(): void } | undefined } };
 * const signOut = createSignOutHandler<Context<Env>>({
 *   region: 'eu-west-1',
 *   getToken: (request, c) => c.get('session')?.sso,
 *   endSession: (request, c) => c.get('session')?.destroy(),
 *   sessionCookieName: 'portal.sid',
 *   clearCookies: [{ name: 'portal.sid', httpOnly: true, sameSite: 'lax' }],
 * });
 * const app = new Hono<Env>();
 * app.all('/signout', (c) => signOut(c.req.raw, c));
 */
export function createSignOutHandler<Ctx = unknown>(options: FetchSignOutOptions<Ctx>): FetchSignOutHandler<Ctx> {
  assertFactoryCall(
    options,
    arguments.length,
    2,
    'const signOut = createSignOutHandler({ region: "us-east-1", getToken, endSession })',
  );
  checkOptions(options);
  const origin = parseOrigin(options.origin);
  const core = createSignOutCore<FetchCall<Ctx>>(coreOptions(options));

  const handler = async function signOutHandler(first: Request, context?: Ctx): Promise<Response> {
    const given: unknown = first;
    const request = webRequestOf(given);
    if (request === undefined) {
      const foreign = foreignCall('fetch', given, context);
      if (foreign !== undefined) return answerForeignCall(core, 'fetch', foreign) as Response;
      throw configError(
        'request',
        'misuse',
        `the sign-out handler takes a Request (and a context): signOut(request, context); got ${kindOf(given)}.`,
      );
    }
    // Called by the framework itself with its context (Hono's `c`) or event (SvelteKit's, Astro's):
    // the request is in it, and it is the context the hooks get.
    const ctx = (
      given === request || (context !== undefined && typeof context !== 'function') ? context : given
    ) as Ctx;
    if (mountedOnAWildcard(ctx)) {
      core.warn('SSO_SIGNOUT_NOT_ROUTED', NOT_ROUTED);
      return new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    const url = urlOf(request);
    const own = origin ?? url;
    let bodyRead: Promise<RequestBody | undefined> | undefined;
    const answer = await core.handle({
      native: { request, context: ctx },
      method: request.method,
      headers: nodeHeadersOf(request.headers),
      address: () => ({ protocol: own.protocol.slice(0, -1), host: own.host }),
      untrustedProxyHint: () =>
        origin !== undefined || (!request.headers.has('x-forwarded-proto') && !request.headers.has('x-forwarded-host'))
          ? undefined
          : FORWARDED_HINT,
      // Hono's `app.mount` (and the like) hand the handler the URL below their prefix: the retry form
      // posts back to its page's own URL instead, the one the browser signed out at.
      url: undefined,
      query: (name) => queryValue(url, name),
      body: (timeoutMs) => (bodyRead ??= readWebBody(request, timeoutMs)),
      session: { kind: 'none' },
    });
    if (answer.delegate !== undefined) throw answer.delegate;
    return webResponseOf(answer);
  };
  return handler;
}

export * from './common-exports.js';
