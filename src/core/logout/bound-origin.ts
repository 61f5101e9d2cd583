// Which origin an injected undici dispatcher really sends to: a Client or a Pool sends every request
// to the origin it was made for, whatever origin the request names.

/**
 * The origins a dispatcher is tied to, read when asked, or undefined for one that routes each
 * request by its origin (Agent, ProxyAgent, EnvHttpProxyAgent, MockAgent). undici 7 and 8 keep the
 * URL a Client, Pool or RoundRobinPool (MockClient and MockPool too) was made for under a symbol
 * described `url`, which a dispatcher composed with interceptors (a Proxy of it) and undici 8's
 * wrappers show as well; a BalancedPool lists its `upstreams`, which can change after it is made,
 * so they are read on every call. A dispatcher that hides where it sends (undici 7's RetryAgent, an
 * Agent whose factory makes Pools, a class of the app's) cannot be seen through.
 */
export function boundOrigins(dispatcher: object): (() => readonly string[]) | undefined {
  for (const symbol of Object.getOwnPropertySymbols(dispatcher)) {
    if (symbol.description !== 'url') continue;
    const url: unknown = (dispatcher as Record<symbol, unknown>)[symbol];
    const origin: unknown = url !== null && typeof url === 'object' ? (url as { origin?: unknown }).origin : undefined;
    if (typeof origin === 'string') {
      const origins = [origin];
      return () => origins;
    }
  }
  if (!Array.isArray((dispatcher as { upstreams?: unknown }).upstreams)) return undefined;
  return () => {
    const upstreams: unknown = (dispatcher as { upstreams?: unknown }).upstreams;
    return Array.isArray(upstreams) ? upstreams.filter((u): u is string => typeof u === 'string') : [];
  };
}
