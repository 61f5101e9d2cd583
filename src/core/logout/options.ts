// The Logout client's options, checked once: where calls go, and the bounds every call keeps.

import type { Dispatcher } from 'undici';
import { describeSecret, describeValue } from '../errors.js';
import { booleanOption, configError, knownOptions, wholeNumber } from '../validate.js';
import { boundOrigins } from './bound-origin.js';
import { checkConfiguredRegion, normaliseSessionRegion, regionalEndpoint, type EndpointVariant } from './endpoint.js';
import type { SharedState } from './shared-state.js';
import type { PortalBase } from './transport.js';
import type { LogoutClientOptions, LogoutReason } from './types.js';

/** Where a call goes: the portal base for the token's region, or why there is none. */
export type Destination = { readonly base: PortalBase } | { readonly refused: LogoutReason };

/** The client's options after checking, in the shape the calls use. */
export interface ClientSettings {
  readonly destinationFor: (sessionRegion: unknown) => Destination;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxAttempts: number;
  readonly maxConnections: number;
  readonly maxPending: number;
  readonly maxRetryAfterMs: number;
  /** The environment names a proxy, and the client may use it. */
  readonly proxied: boolean;
  readonly dispatcher: Dispatcher | undefined;
  readonly sharedState: SharedState | undefined;
  /** The configured region, when it is newer than the partition table (worth a warning). */
  readonly newerRegion: string | undefined;
  /** The configured region (undefined with a fixed endpoint): the one a token without its own goes to. */
  readonly region: string | undefined;
}

/** Every option name, tied to the options type so a new option cannot be forgotten here. */
export const CLIENT_OPTION_NAMES: Readonly<Record<keyof LogoutClientOptions, true>> = {
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
  sharedState: true,
};

// The proxy variables for each scheme, read as curl and the AWS CLI read them: an https endpoint
// goes through HTTPS_PROXY only, a plain http one through HTTP_PROXY only.
const PROXY_VARIABLES = {
  'https:': ['HTTPS_PROXY', 'https_proxy'],
  'http:': ['HTTP_PROXY', 'http_proxy'],
} as const;

/** True when the environment names a proxy for the endpoint's scheme. */
function environmentProxy(endpoint: unknown): boolean {
  const scheme = endpoint === undefined ? 'https:' : new URL(endpoint as string | URL).protocol;
  const names = scheme === 'http:' ? PROXY_VARIABLES['http:'] : PROXY_VARIABLES['https:'];
  return names.some((name) => (process.env[name] ?? '') !== '');
}

function parseEndpoint(endpoint: unknown): PortalBase {
  let url: URL;
  try {
    url = new URL(endpoint as string | URL);
  } catch {
    throw configError('endpoint', 'invalid_value', `\`endpoint\` is not a URL: ${describeValue(endpoint)}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError('endpoint', 'invalid_value', `\`endpoint\` must be an http(s) URL; got "${url.protocol}".`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw configError(
      'endpoint',
      'invalid_value',
      '`endpoint` must be a base URL without credentials, query or fragment, e.g. "https://sso-proxy.internal".',
    );
  }
  const base = url.pathname.replace(/\/+$/, '');
  if (/\/logout$/i.test(base)) {
    throw configError(
      'endpoint',
      'invalid_value',
      `\`endpoint\` is the portal's base URL, and the route appends /logout itself: give "${url.origin}${base.replace(/\/logout$/i, '')}", not the Logout URL.`,
    );
  }
  // The operation path is appended to the endpoint's own path, as the SDKs do.
  return { origin: url.origin, path: `${base}/logout` };
}

/** Picks the portal for a call: the fixed endpoint, or the session's region, else the configured one. */
function destinations(
  endpoint: unknown,
  region: string | undefined,
  variant: EndpointVariant,
): (sessionRegion: unknown) => Destination {
  if (endpoint !== undefined) {
    // A fixed endpoint is where every call goes: the session's region has no say.
    const fixed = { base: parseEndpoint(endpoint) };
    return () => fixed;
  }
  if (region === undefined) {
    throw configError(
      'region',
      'missing',
      'set `region` (the IAM Identity Center region, e.g. "us-east-1") or `endpoint`: without either there is nowhere to send Logout.',
    );
  }
  // Endpoints are derived once per region seen, not per call.
  const cache = new Map<string, Destination>();
  const regional = (name: string, fips: boolean): Destination => {
    const key = `${name}\n${String(fips)}`;
    let found = cache.get(key);
    if (found === undefined) {
      const origin = regionalEndpoint(name, { ...variant, useFips: variant.useFips || fips });
      found = { base: { origin, path: '/logout' } };
      if (cache.size < 1000) cache.set(key, found);
    }
    return found;
  };
  const configured = regional(region, false);
  return (sessionRegion) => {
    if (sessionRegion === undefined || sessionRegion === null || sessionRegion === '') return configured;
    const normal = normaliseSessionRegion(sessionRegion);
    // A region that is not a host label names no portal: the token is not sent anywhere.
    if (normal === undefined) return { refused: 'invalid_region' };
    return regional(normal.region, normal.fips);
  };
}

/**
 * Where calls go through a dispatcher tied to origins (an undici Pool or Client): only to the
 * portal it is tied to, since the token would go where the dispatcher is tied, whatever the call
 * names. A dispatcher tied elsewhere than the configured portal is refused at once; a token whose
 * region names another portal is not sent (`dispatcher_origin`).
 */
function throughDispatcher(
  bound: (() => readonly string[]) | undefined,
  destinationFor: (sessionRegion: unknown) => Destination,
): (sessionRegion: unknown) => Destination {
  if (bound === undefined) return destinationFor;
  const tied = (destination: Destination): Destination =>
    'base' in destination && bound().some((origin) => origin !== destination.base.origin)
      ? { refused: 'dispatcher_origin' }
      : destination;
  const configured = destinationFor(undefined);
  if ('base' in configured && 'refused' in tied(configured)) {
    throw configError(
      'dispatcher',
      'conflict',
      `\`dispatcher\` sends every request to ${bound().join(', ')} (an undici Pool or Client is tied to the origin it was made for), but Logout goes to ${configured.base.origin}: the token would go there instead. Give a Pool made for ${configured.base.origin}, or an Agent.`,
    );
  }
  return (sessionRegion) => tied(destinationFor(sessionRegion));
}

/** Checks the client's options once, at creation. */
export function resolveClientOptions(options: LogoutClientOptions): ClientSettings {
  const o = knownOptions(options, Object.keys(CLIENT_OPTION_NAMES)) as LogoutClientOptions;
  const region = o.region;
  const standing = region === undefined ? undefined : checkConfiguredRegion('region', region);
  const useFips = booleanOption('useFipsEndpoint', o.useFipsEndpoint);
  const useDualStack = booleanOption('useDualstackEndpoint', o.useDualstackEndpoint);
  if (o.endpoint !== undefined && (useFips || useDualStack)) {
    const variant = useFips ? 'useFipsEndpoint' : 'useDualstackEndpoint';
    throw configError(
      variant,
      'conflict',
      `a custom \`endpoint\` cannot be combined with \`${variant}\`: point \`endpoint\` at the variant you want.`,
    );
  }
  const timeoutMs = wholeNumber('timeoutMs', o.timeoutMs, 3000, 1, 600_000);
  const dispatcher = o.dispatcher;
  if (dispatcher !== undefined && typeof (dispatcher as { dispatch?: unknown }).dispatch !== 'function') {
    throw configError(
      'dispatcher',
      'wrong_type',
      '`dispatcher` must be an undici Dispatcher (Agent, Pool, ProxyAgent…).',
    );
  }
  const destinationFor = throughDispatcher(
    dispatcher === undefined ? undefined : boundOrigins(dispatcher),
    destinations(o.endpoint, region, { useFips, useDualStack }),
  );
  const sharedState = o.sharedState as unknown;
  const methods = ['digest', 'begin', 'finish', 'poll', 'closeGate'] as const;
  if (
    sharedState !== undefined &&
    (sharedState === null ||
      typeof sharedState !== 'object' ||
      methods.some((name) => typeof (sharedState as Record<string, unknown>)[name] !== 'function'))
  ) {
    throw configError(
      'sharedState',
      'wrong_type',
      `\`sharedState\` must be made by redisSharedState({ client, secret }); got ${describeSecret(sharedState)}.`,
    );
  }
  return {
    destinationFor,
    timeoutMs,
    connectTimeoutMs: wholeNumber('connectTimeoutMs', o.connectTimeoutMs, Math.min(1000, timeoutMs), 1, 600_000),
    maxAttempts: wholeNumber('maxAttempts', o.maxAttempts, 3, 1, 10),
    maxConnections: wholeNumber('maxConnections', o.maxConnections, 16, 1, 10_000),
    maxPending: wholeNumber('maxPending', o.maxPending, 1000, 1, 1_000_000),
    maxRetryAfterMs: wholeNumber('maxRetryAfterMs', o.maxRetryAfterMs, 60_000, 1, 86_400_000),
    proxied: booleanOption('proxyFromEnvironment', o.proxyFromEnvironment, true) && environmentProxy(o.endpoint),
    dispatcher,
    sharedState: sharedState as SharedState | undefined,
    newerRegion: standing === 'newer' ? region : undefined,
    region: o.endpoint === undefined ? region : undefined,
  };
}
