// Which origin an injected undici dispatcher really sends to: a Client or a Pool sends every request
// to the origin it was made for, whatever origin the request names.

/**
 * The origins a dispatcher is tied to, or undefined for one that routes each request by its origin
 * (Agent, ProxyAgent, EnvHttpProxyAgent, MockAgent). undici 7 and 8 keep the URL a Client, Pool or
 * RoundRobinPool (MockClient and MockPool too) was made for under a symbol described `url`, which a
 * dispatcher composed with interceptors (a Proxy of it) and undici 8's wrappers show as well; a
 * BalancedPool lists its `upstreams`.
 */
export function boundOrigins(dispatcher: object): readonly string[] | undefined {
  for (const symbol of Object.getOwnPropertySymbols(dispatcher)) {
    if (symbol.description !== 'url') continue;
    const url: unknown = (dispatcher as Record<symbol, unknown>)[symbol];
    const origin: unknown = url !== null && typeof url === 'object' ? (url as { origin?: unknown }).origin : undefined;
    if (typeof origin === 'string') return [origin];
  }
  const upstreams: unknown = (dispatcher as { upstreams?: unknown }).upstreams;
  if (Array.isArray(upstreams) && upstreams.length > 0 && upstreams.every((u) => typeof u === 'string')) {
    return upstreams;
  }
  return undefined;
}
