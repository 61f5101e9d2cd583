// The route's options: their types, their defaults, and their checking, done once when a route is
// made. The Logout client's own options are checked by the client (../logout/options.ts).

import { describeValue } from '../errors.js';
import type { LogoutClient } from '../logout/client.js';
import { CLIENT_OPTION_NAMES } from '../logout/options.js';
import type { LogoutClientOptions } from '../logout/types.js';
import type { RevocationQueue } from '../revocation/queue.js';
import type { SessionIndex } from '../everywhere/session-index.js';
import type { TokenInfo } from '../token.js';
import { booleanOption, configError, didYouMean, functionOption, knownOptions, nonEmptyString } from '../validate.js';
import { parseCookieList, parseCookieName, type CookieToClear } from './cookies.js';
import type { SignOutEvent } from './events.js';
import type { SignOutResult } from './outcomes.js';
import { parseDestination, parseOriginList } from './return-to.js';

/** A body an app renders itself: an HTML string, or a body with its content type. */
export type RenderOutput = string | { readonly body: string; readonly contentType: string };

/** `Clear-Site-Data` directives. `cookies` clears the whole registrable domain's cookies. */
export type ClearSiteDataDirective = 'cache' | 'cookies' | 'storage' | 'executionContexts' | 'clientHints' | '*';

/**
 * Options of the sign-out route. `Req` is the framework's request (Express `Request`, Koa `Context`).
 * Validated once, when the route is created.
 *
 * @example Express
 * app.all('/signout', ssoSignOut({
 *   region: 'eu-west-1',
 *   destination: '/signed-out',
 *   allowedReturnToOrigins: ['https://home.example.com'],
 *   onEvent: (event) => logger.info(event),
 * }));
 *
 * @example Koa
 * router.all('/signout', ssoSignOut({
 *   region: 'eu-west-1',
 *   destination: '/signed-out',
 *   getToken: (ctx) => ctx.state.user?.ssoToken,
 *   endSession: async (ctx) => { await ctx.state.sessions.end(ctx.state.user.id); },
 * }));
 */
export interface SignOutOptions<Req> extends LogoutClientOptions {
  /** Where the browser goes after sign-out: a path on this site or an absolute URL. Default `/`. */
  readonly destination?: string | undefined;
  /**
   * The app's home page, linked ("Back to the app") from the built-in pages of answers that leave
   * the user signed in (429, 503, 504, 502, 500). A path on this site or an absolute URL. Default `/`.
   */
  readonly appHome?: string | undefined;
  /**
   * The body or query field that may override `destination` per request, or `false` to ignore
   * requests' wishes. Default `return_to`.
   */
  readonly returnToParam?: string | false | undefined;
  /** Origins an absolute `return_to` may point at (the app's own paths are always allowed). Default `[]`. */
  readonly allowedReturnToOrigins?: readonly string[] | undefined;
  /** Origins, besides the app's own, allowed to post the sign-out (other front ends of the app). Default `[]`. */
  readonly allowedOrigins?: readonly string[] | undefined;
  /** Also accept `GET` (still subject to the cross-site check). Default `false`. */
  readonly allowGet?: boolean | undefined;
  /**
   * Reads the token from the request. Default: `session.sso.accessToken` and `session.sso.region`.
   * Return `undefined` when there is no token.
   */
  readonly getToken?:
    ((req: Req) => TokenInfo | string | null | undefined | Promise<TokenInfo | string | null | undefined>) | undefined;
  /** Ends the session. Default: detected (`express-session` destroy, `cookie-session` set to null). */
  readonly endSession?: ((req: Req) => void | Promise<void>) | undefined;
  /** The session cookie's name, when it cannot be detected. Default: detected, else `connect.sid`. */
  readonly sessionCookieName?: string | undefined;
  /** Further cookies to delete on sign-out: names (path `/`) or `{ name, path, domain, … }`. Default `[]`. */
  readonly clearCookies?: readonly (string | CookieToClear)[] | undefined;
  /**
   * Send `Clear-Site-Data` when the session ends: `true` for `"cache", "storage"`, or a list of
   * directives. Note `"cookies"` clears every cookie of the registrable domain, sibling apps'
   * too. Default `false`.
   */
  readonly clearSiteData?: boolean | readonly ClearSiteDataDirective[] | undefined;
  /**
   * End the local session even when the portal could not revoke the token (429, 5xx, timeout,
   * bad answer). The answer keeps its status and says `signedOut: true`. Requires
   * `revocationQueue` or `onUnrevokedToken`, which take the token so it is not silently dropped;
   * when neither can, the session is kept. Default `false`.
   */
  readonly endSessionOnFailure?: boolean | undefined;
  /**
   * The durable queue (from `redisRevocationQueue`) that takes a token the portal did not revoke
   * when `endSessionOnFailure` ends the session anyway; a worker revokes it later. Tried before
   * `onUnrevokedToken`. Default: none.
   */
  readonly revocationQueue?: RevocationQueue | undefined;
  /**
   * Receives a token the portal did not revoke when `endSessionOnFailure` ends the session anyway
   * (to queue it for a later retry), when no `revocationQueue` took it. If it throws, the session
   * is kept. Refused without `endSessionOnFailure: true`, as nothing would call it. Default: none.
   */
  readonly onUnrevokedToken?: ((token: TokenInfo, result: SignOutResult) => void | Promise<void>) | undefined;
  /**
   * Hand failures to the framework instead of answering: Express `next(err)`, Koa `throw`, with a
   * `SignOutError`. Headers (Set-Cookie, Cache-Control, Retry-After) are set first. Default `false`.
   */
  readonly delegateErrors?: boolean | undefined;
  /**
   * Renders the body of every non-redirect answer. Return `undefined` for the default page. The
   * status and headers stay the route's, so the status keeps telling the truth. Default: the
   * built-in pages and problem documents.
   */
  readonly render?:
    ((result: SignOutResult, req: Req) => RenderOutput | undefined | Promise<RenderOutput | undefined>) | undefined;
  /**
   * Hears every sign-out, refusal and refused `return_to`, with the framework's request (to tie an
   * event to a request id or a user). Exceptions it throws are ignored. The library writes no logs
   * of its own: this and the `sso-signout:event` diagnostics channel are how to see what it does.
   * Default: none.
   */
  readonly onEvent?: ((event: SignOutEvent, req: Req) => void) | undefined;
  /** Prefix of the problem `type` URIs. Default `urn:sso-signout:problem:`. */
  readonly problemTypeBase?: string | undefined;
  /**
   * Sign out everywhere: once this session has ended, every other session of its user (found in
   * `sessionIndex`) ends too, on every instance, each token revoked first (or queued in
   * `revocationQueue`, else that session is kept). Needs a session middleware with a store
   * (express-session, koa-session with an external store). Default: this session only.
   */
  readonly everywhere?: EverywhereOptions<Req> | undefined;
  /**
   * A Logout client to share between routes; the client options must then not be given.
   * Default: a client made from the client options given here.
   */
  readonly client?: LogoutClient | undefined;
}

/** Sign out everywhere: where the user's sessions are listed, and whose sessions this request's is. */
export interface EverywhereOptions<Req> {
  readonly sessionIndex: SessionIndex;
  /**
   * The user this request's session belongs to, as the app named them to `sessionIndex.add` at
   * sign-in; `undefined` signs out this session only. Read before the session ends.
   */
  readonly user: (req: Req) => string | undefined | Promise<string | undefined>;
  /**
   * The sign-in another session holds, from its stored data. Default: `session.sso`, as the route
   * reads its own; required with `getToken`, which reads a request, not a stored session.
   */
  readonly tokenOf?:
    | ((
        session: Record<string, unknown>,
      ) => TokenInfo | string | undefined | null | Promise<TokenInfo | string | undefined | null>)
    | undefined;
}

/** The everywhere option as the route uses it. */
export interface ResolvedEverywhere<Req> {
  readonly sessionIndex: SessionIndex;
  readonly user: EverywhereOptions<Req>['user'];
  /** The app's `tokenOf`, sync or async, or undefined to read `sso` as the route reads its own. */
  readonly tokenOf: ((session: Record<string, unknown>) => unknown) | undefined;
}

// Tied to the options type, so adding an option without listing it here fails to compile.
const ROUTE_OPTION_NAMES: Readonly<Record<Exclude<keyof SignOutOptions<unknown>, keyof LogoutClientOptions>, true>> = {
  destination: true,
  appHome: true,
  returnToParam: true,
  allowedReturnToOrigins: true,
  allowedOrigins: true,
  allowGet: true,
  getToken: true,
  endSession: true,
  sessionCookieName: true,
  clearCookies: true,
  clearSiteData: true,
  endSessionOnFailure: true,
  revocationQueue: true,
  onUnrevokedToken: true,
  delegateErrors: true,
  render: true,
  onEvent: true,
  problemTypeBase: true,
  everywhere: true,
  client: true,
};

const CLIENT_OPTIONS = Object.keys(CLIENT_OPTION_NAMES) as (keyof LogoutClientOptions)[];

/** Every option a route takes: the client's and its own. */
export const OPTION_NAMES: readonly string[] = [...CLIENT_OPTIONS, ...Object.keys(ROUTE_OPTION_NAMES)];

const DIRECTIVES: ReadonlySet<string> = new Set([
  'cache',
  'cookies',
  'storage',
  'executionContexts',
  'clientHints',
  '*',
]);

function parseClearSiteData(value: unknown): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return '"cache", "storage"';
  if (Array.isArray(value) && value.length > 0 && value.every((d) => typeof d === 'string' && DIRECTIVES.has(d))) {
    return (value as string[]).map((d) => `"${d}"`).join(', ');
  }
  throw configError(
    'clearSiteData',
    Array.isArray(value) || typeof value === 'boolean' ? 'invalid_value' : 'wrong_type',
    `\`clearSiteData\` must be a boolean or a non-empty list of ${[...DIRECTIVES].map((d) => `"${d}"`).join(', ')}; got ${describeValue(value)}.`,
  );
}

const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function parseReturnToParam(value: unknown): string | undefined {
  if (value === false) return undefined;
  if (value === undefined) return 'return_to';
  if (typeof value === 'string' && FIELD_NAME.test(value)) return value;
  throw configError(
    'returnToParam',
    typeof value === 'string' ? 'invalid_value' : 'wrong_type',
    `\`returnToParam\` must be a field name such as "return_to", or false; got ${describeValue(value)}.`,
  );
}

/** Where a request may ask to go: the field that names it, and the origins it may name besides the app's. */
function returnToOptions(o: Record<string, unknown>): {
  readonly returnToParam: string | undefined;
  readonly allowedReturnToOrigins: ReadonlySet<string>;
} {
  const returnToParam = parseReturnToParam(o.returnToParam);
  const origins = o.allowedReturnToOrigins;
  if (returnToParam === undefined && origins !== undefined && !(Array.isArray(origins) && origins.length === 0)) {
    throw configError(
      'allowedReturnToOrigins',
      'conflict',
      '`allowedReturnToOrigins` has no use with `returnToParam: false`, which lets no request name where it goes: leave one of them out.',
    );
  }
  return { returnToParam, allowedReturnToOrigins: parseOriginList('allowedReturnToOrigins', o.allowedReturnToOrigins) };
}

/** Options after checking, in the shape the per-request path uses. */
export interface ResolvedOptions<Req> {
  readonly destination: string;
  readonly appHome: string;
  readonly returnToParam: string | undefined;
  readonly allowedReturnToOrigins: ReadonlySet<string>;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly methods: ReadonlySet<string>;
  readonly allowHeader: string;
  readonly getToken: SignOutOptions<Req>['getToken'];
  readonly endSession: SignOutOptions<Req>['endSession'];
  readonly sessionCookieName: string | undefined;
  readonly clearCookies: readonly CookieToClear[];
  readonly clearSiteData: string | undefined;
  readonly endSessionOnFailure: boolean;
  readonly revocationQueue: RevocationQueue | undefined;
  readonly onUnrevokedToken: SignOutOptions<Req>['onUnrevokedToken'];
  readonly delegateErrors: boolean;
  readonly render: SignOutOptions<Req>['render'];
  /** Returns unknown: a hook typed to return nothing may still be async (its promise is handled). */
  readonly onEvent: ((event: SignOutEvent, req: Req) => unknown) | undefined;
  readonly problemTypeBase: string;
  readonly everywhere: ResolvedEverywhere<Req> | undefined;
  readonly client: LogoutClient | undefined;
  readonly clientOptions: LogoutClientOptions;
}

/** The shared client, or the options to make one from: never both. */
function clientChoice(o: Record<string, unknown>): Pick<ResolvedOptions<unknown>, 'client' | 'clientOptions'> {
  const given = CLIENT_OPTIONS.filter((name) => o[name] !== undefined);
  const client = o.client;
  if (client === undefined) {
    return { client: undefined, clientOptions: Object.fromEntries(given.map((name) => [name, o[name]])) };
  }
  if (client === null || typeof client !== 'object' || typeof (client as { logout?: unknown }).logout !== 'function') {
    throw configError('client', 'wrong_type', '`client` must be a client made by createLogoutClient().');
  }
  const clash = given[0];
  if (clash !== undefined) {
    throw configError(
      clash,
      'conflict',
      `\`${clash}\` configures the Logout client; with \`client\` given, set it on that client instead.`,
    );
  }
  return { client: client as LogoutClient, clientOptions: {} };
}

/** How the session ends when the portal could not revoke the token. */
function failurePolicy<Req>(
  o: Record<string, unknown>,
): Pick<ResolvedOptions<Req>, 'endSessionOnFailure' | 'revocationQueue' | 'onUnrevokedToken'> {
  const endSessionOnFailure = booleanOption('endSessionOnFailure', o.endSessionOnFailure);
  const onUnrevokedToken = functionOption('onUnrevokedToken', (o as SignOutOptions<Req>).onUnrevokedToken);
  const queue = o.revocationQueue;
  if (queue !== undefined && (queue === null || typeof (queue as { enqueue?: unknown }).enqueue !== 'function')) {
    throw configError(
      'revocationQueue',
      'wrong_type',
      `\`revocationQueue\` must be a queue from redisRevocationQueue(…); got ${describeValue(queue)}.`,
    );
  }
  if (queue !== undefined && !endSessionOnFailure && o.everywhere === undefined) {
    throw configError(
      'revocationQueue',
      'conflict',
      '`revocationQueue` takes the tokens of sessions that end although the portal did not revoke them: set `endSessionOnFailure: true` (or `everywhere`), or leave the queue out.',
    );
  }
  if (onUnrevokedToken !== undefined && !endSessionOnFailure) {
    throw configError(
      'onUnrevokedToken',
      'conflict',
      '`onUnrevokedToken` takes the tokens of sessions that end although the portal did not revoke them: set `endSessionOnFailure: true`, or leave the hook out.',
    );
  }
  if (endSessionOnFailure && onUnrevokedToken === undefined && queue === undefined) {
    throw configError(
      'onUnrevokedToken',
      'missing',
      '`endSessionOnFailure: true` ends sessions whose token the portal did not revoke; give `revocationQueue` (a durable queue a worker revokes from) or `onUnrevokedToken` so such tokens are kept instead of silently dropped.',
    );
  }
  return { endSessionOnFailure, revocationQueue: queue as RevocationQueue | undefined, onUnrevokedToken };
}

const EVERYWHERE_KEYS: readonly string[] = [
  'sessionIndex',
  'user',
  'tokenOf',
] satisfies (keyof EverywhereOptions<unknown>)[];

function everywhereOption<Req>(value: unknown, getToken: unknown): ResolvedEverywhere<Req> | undefined {
  if (value === undefined) return undefined;
  const { sessionIndex, user, tokenOf } = (value ?? {}) as Partial<EverywhereOptions<Req>>;
  // An unknown key first: `index` for `sessionIndex` is told as the misspelling it is.
  if (value !== null && typeof value === 'object') {
    for (const name of Object.keys(value)) {
      if (EVERYWHERE_KEYS.includes(name)) continue;
      throw configError(
        `everywhere.${name}`,
        'unknown_option',
        `unknown option \`everywhere.${name}\`.${didYouMean(name, EVERYWHERE_KEYS, 'options of `everywhere`')}`,
      );
    }
  }
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (sessionIndex as { sessions?: unknown } | undefined)?.sessions !== 'function' ||
    typeof (sessionIndex as { remove?: unknown } | undefined)?.remove !== 'function' ||
    typeof user !== 'function'
  ) {
    throw configError(
      'everywhere',
      'wrong_type',
      `\`everywhere\` must be { sessionIndex: redisSessionIndex(…), user: (req) => the user's id }; got ${describeValue(value)}.`,
    );
  }
  const reader = functionOption('everywhere.tokenOf', tokenOf);
  if (reader === undefined && getToken !== undefined) {
    throw configError(
      'everywhere.tokenOf',
      'missing',
      "with `getToken`, give `everywhere.tokenOf: (session) => …` too: it reads the sign-in of the user's other sessions from their stored data, as `getToken` reads this request's.",
    );
  }
  return {
    sessionIndex: sessionIndex as SessionIndex,
    user,
    tokenOf: reader as ((session: Record<string, unknown>) => unknown) | undefined,
  };
}

/** The prefix of problem `type` URIs: a URI has no space or control character in it. */
function problemTypeBase(value: unknown): string {
  const base = nonEmptyString('problemTypeBase', value, 'urn:sso-signout:problem:');
  if (/[\s\p{Cc}]/u.test(base)) {
    throw configError(
      'problemTypeBase',
      'invalid_value',
      `\`problemTypeBase\` must be the start of a URI, with no space or control character; got ${describeValue(base)}.`,
    );
  }
  return base;
}

/**
 * Checks the options once. Unknown names are refused with the closest known name; bad values name
 * the option and quote the value; every error carries a `reason`.
 */
export function resolveOptions<Req>(options: unknown): ResolvedOptions<Req> {
  const o = knownOptions(options, OPTION_NAMES);
  // Typed as declared for the hooks; every value is still checked before use.
  const hooks = o as SignOutOptions<Req>;
  const allowGet = booleanOption('allowGet', o.allowGet);
  const sessionCookieName =
    o.sessionCookieName === undefined ? undefined : parseCookieName('sessionCookieName', o.sessionCookieName);
  return {
    destination: parseDestination('destination', o.destination),
    appHome: parseDestination('appHome', o.appHome),
    ...returnToOptions(o),
    allowedOrigins: parseOriginList('allowedOrigins', o.allowedOrigins),
    methods: new Set(allowGet ? ['POST', 'GET'] : ['POST']),
    allowHeader: allowGet ? 'GET, POST' : 'POST',
    getToken: functionOption('getToken', hooks.getToken),
    endSession: functionOption('endSession', hooks.endSession),
    sessionCookieName,
    clearCookies: parseCookieList('clearCookies', o.clearCookies),
    clearSiteData: parseClearSiteData(o.clearSiteData),
    ...failurePolicy<Req>(o),
    delegateErrors: booleanOption('delegateErrors', o.delegateErrors),
    render: functionOption('render', hooks.render),
    onEvent: functionOption('onEvent', hooks.onEvent),
    problemTypeBase: problemTypeBase(o.problemTypeBase),
    everywhere: everywhereOption<Req>(o.everywhere, hooks.getToken),
    ...clientChoice(o),
  };
}
