// The route's options: their types, their defaults, and their validation, done once at construction.

import type { CookieToClear } from './cookies.js';
import { parseCookieList } from './cookies.js';
import { describeValue, SignOutConfigError, type SignOutError, type SignOutErrorCode } from './errors.js';
import type { LogoutClient, LogoutClientOptions } from './logout-client.js';
import type { UpstreamReport } from './outcomes.js';
import type { ResponseFormat } from './negotiate.js';
import { parseDestination, parseOriginList, type ReturnToRejection } from './return-to.js';
import { closest } from './suggest.js';

import type { TokenInfo } from './token.js';

export type { TokenInfo } from './token.js';

/** How one sign-out ended: what the route answers and what it did. Never holds the token. */
export interface SignOutResult {
  /** `signed_out` for the success rows, otherwise the error code. */
  readonly code: 'signed_out' | SignOutErrorCode;
  /** The HTTP status the route answers with. */
  readonly status: number;
  /** True when the local session was ended and its cookies cleared. */
  readonly signedOut: boolean;
  /** What happened upstream: `revoked`, `skipped` (no token), `rejected`, `throttled`, … */
  readonly upstream: UpstreamReport;
  /** Where the browser goes next (the vetted `return_to`, or the default destination). */
  readonly redirectTo: string;
  readonly format: ResponseFormat;
  /** Seconds to wait before retrying (429, 503). */
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;
  /** The typed error for failure rows. */
  readonly error: SignOutError | undefined;
}

/** A body an app renders itself: an HTML string, or a body with its content type. */
export type RenderOutput = string | { readonly body: string; readonly contentType: string };

/** `Clear-Site-Data` directives. `cookies` clears the whole registrable domain's cookies. */
export type ClearSiteDataDirective = 'cache' | 'cookies' | 'storage' | 'executionContexts' | 'clientHints' | '*';

/**
 * What the event hook hears. None of it contains the token; every string is escaped (no raw control
 * characters) and cut to 200 characters, so an event can go to a text log as it is.
 */
export type SignOutEvent =
  | {
      readonly type: 'signout';
      readonly code: SignOutResult['code'];
      readonly status: number;
      readonly signedOut: boolean;
      readonly upstream: UpstreamReport;
      readonly upstreamStatus: number | undefined;
      readonly errorName: string | undefined;
      /** Why a call got no answer, or was not made: `connection_error`, `deadline`, `throttle_gate`, … */
      readonly reason: string | undefined;
      /** The low-level failure's code: `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_CONNECT_TIMEOUT`, `DEPTH_ZERO_SELF_SIGNED_CERT`, … */
      readonly causeCode: string | undefined;
      readonly attempts: number;
      /** Time spent on Logout, in milliseconds, to 0.1 ms. */
      readonly durationMs: number;
      readonly requestId: string | undefined;
      readonly shared: boolean;
    }
  | {
      readonly type: 'refused';
      readonly code: 'method_not_allowed' | 'cross_site_request';
      readonly status: number;
      readonly method: string;
      /** For a cross-site refusal: `origin_mismatch`, `origin_null`, `origin_invalid` or `sec_fetch_site`. */
      readonly reason: string | undefined;
      /** The `Origin` the request sent, if any. */
      readonly origin: string | undefined;
      /** The app's own origin as the route worked it out (with the proxy headers the app trusts). */
      readonly expectedOrigin: string | undefined;
    }
  | {
      readonly type: 'return_to_rejected';
      readonly reason: ReturnToRejection;
      /** The refused value. */
      readonly value: string;
    };

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
   * `onUnrevokedToken`, which takes the token so it is not silently dropped. Default `false`.
   */
  readonly endSessionOnFailure?: boolean | undefined;
  /**
   * Receives a token the portal did not revoke when `endSessionOnFailure` ends the session anyway
   * (to queue it for a later retry). If it throws, the session is kept. Default: none.
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
   * A Logout client to share between routes; the client options must then not be given.
   * Default: a client made from the client options given here.
   */
  readonly client?: LogoutClient | undefined;
}

// Tied to the options type, so adding an option without listing it here fails to compile.
const KNOWN: Readonly<Record<keyof SignOutOptions<unknown>, true>> = {
  region: true,
  endpoint: true,
  useFipsEndpoint: true,
  useDualstackEndpoint: true,
  timeoutMs: true,
  connectTimeoutMs: true,
  maxAttempts: true,
  maxConnections: true,
  maxPending: true,
  maxRetryAfterMs: true,
  proxyFromEnvironment: true,
  dispatcher: true,
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
  onUnrevokedToken: true,
  delegateErrors: true,
  render: true,
  onEvent: true,
  problemTypeBase: true,
  client: true,
};

const CLIENT_OPTIONS: readonly (keyof LogoutClientOptions)[] = [
  'region',
  'endpoint',
  'useFipsEndpoint',
  'useDualstackEndpoint',
  'timeoutMs',
  'connectTimeoutMs',
  'maxAttempts',
  'maxConnections',
  'maxPending',
  'maxRetryAfterMs',
  'proxyFromEnvironment',
  'dispatcher',
];

/** The known option closest to `name`, if any is close enough to be the intended one. */
export function suggestOption(name: string): string | undefined {
  return closest(name, Object.keys(KNOWN))[0];
}

function optionalBoolean(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new SignOutConfigError(option, `\`${option}\` must be true or false; got ${describeValue(value)}.`);
  return value;
}

function optionalFunction<F extends (...args: never[]) => unknown>(
  option: string,
  value: F | undefined,
): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw new SignOutConfigError(option, `\`${option}\` must be a function; got ${describeValue(value)}.`);
  return value;
}

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
  throw new SignOutConfigError(
    'clearSiteData',
    `\`clearSiteData\` must be a boolean or a non-empty list of ${[...DIRECTIVES].map((d) => `"${d}"`).join(', ')}; got ${describeValue(value)}.`,
  );
}

const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Options after validation, in the shape the per-request path uses. */
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
  readonly onUnrevokedToken: SignOutOptions<Req>['onUnrevokedToken'];
  readonly delegateErrors: boolean;
  readonly render: SignOutOptions<Req>['render'];
  /** Returns unknown: a hook typed to return nothing may still be async (its promise is handled). */
  readonly onEvent: ((event: SignOutEvent, req: Req) => unknown) | undefined;
  readonly problemTypeBase: string;
  readonly client: LogoutClient | undefined;
  readonly clientOptions: LogoutClientOptions;
}

/**
 * Validates the options once. Unknown names are refused with the closest known name; bad values
 * name the option and quote the value.
 */
export function resolveOptions<Req>(options: unknown): ResolvedOptions<Req> {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SignOutConfigError('options', `options must be an object; got ${describeValue(options)}.`);
  }
  const raw = options as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!Object.prototype.hasOwnProperty.call(KNOWN, name)) {
      const suggestion = suggestOption(name);
      throw new SignOutConfigError(
        name,
        `unknown option \`${name}\`.${suggestion === undefined ? ` Known options: ${Object.keys(KNOWN).join(', ')}.` : ` Did you mean \`${suggestion}\`?`}`,
      );
    }
  }
  const o = raw as SignOutOptions<Req>;

  const client = o.client;
  if (client !== undefined) {
    if (typeof client !== 'object' || typeof (client as { logout?: unknown }).logout !== 'function') {
      throw new SignOutConfigError('client', '`client` must be a client made by createLogoutClient().');
    }
    const clash = CLIENT_OPTIONS.find((name) => o[name] !== undefined);
    if (clash !== undefined) {
      throw new SignOutConfigError(
        clash,
        `\`${clash}\` configures the Logout client; with \`client\` given, set it on that client instead.`,
      );
    }
  }

  let returnToParam: string | undefined = 'return_to';
  if (o.returnToParam === false) returnToParam = undefined;
  else if (o.returnToParam !== undefined) {
    if (typeof o.returnToParam !== 'string' || !FIELD_NAME.test(o.returnToParam)) {
      throw new SignOutConfigError(
        'returnToParam',
        `\`returnToParam\` must be a field name such as "return_to", or false; got ${describeValue(o.returnToParam)}.`,
      );
    }
    returnToParam = o.returnToParam;
  }

  const allowGet = optionalBoolean('allowGet', o.allowGet);
  const endSessionOnFailure = optionalBoolean('endSessionOnFailure', o.endSessionOnFailure);
  const onUnrevokedToken = optionalFunction('onUnrevokedToken', o.onUnrevokedToken);
  if (endSessionOnFailure && onUnrevokedToken === undefined) {
    throw new SignOutConfigError(
      'onUnrevokedToken',
      '`endSessionOnFailure: true` ends sessions whose token the portal did not revoke; give `onUnrevokedToken` so such tokens are kept (e.g. queued for a retry) instead of silently dropped.',
    );
  }

  const sessionCookieName = o.sessionCookieName;
  if (sessionCookieName !== undefined) parseCookieList('sessionCookieName', [sessionCookieName]);

  const problemTypeBase = o.problemTypeBase ?? 'urn:sso-signout:problem:';
  if (typeof problemTypeBase !== 'string' || problemTypeBase.length === 0) {
    throw new SignOutConfigError(
      'problemTypeBase',
      `\`problemTypeBase\` must be a non-empty string; got ${describeValue(problemTypeBase)}.`,
    );
  }

  const clientOptions = Object.fromEntries(
    CLIENT_OPTIONS.filter((name) => o[name] !== undefined).map((name) => [name, o[name]]),
  ) as LogoutClientOptions;

  return {
    destination: parseDestination('destination', o.destination),
    appHome: parseDestination('appHome', o.appHome),
    returnToParam,
    allowedReturnToOrigins: parseOriginList('allowedReturnToOrigins', o.allowedReturnToOrigins),
    allowedOrigins: parseOriginList('allowedOrigins', o.allowedOrigins),
    methods: new Set(allowGet ? ['POST', 'GET'] : ['POST']),
    allowHeader: allowGet ? 'GET, POST' : 'POST',
    getToken: optionalFunction('getToken', o.getToken),
    endSession: optionalFunction('endSession', o.endSession),
    sessionCookieName,
    clearCookies: parseCookieList('clearCookies', o.clearCookies),
    clearSiteData: parseClearSiteData(o.clearSiteData),
    endSessionOnFailure,
    onUnrevokedToken,
    delegateErrors: optionalBoolean('delegateErrors', o.delegateErrors),
    render: optionalFunction('render', o.render),
    onEvent: optionalFunction('onEvent', o.onEvent),
    problemTypeBase,
    client,
    clientOptions,
  };
}
