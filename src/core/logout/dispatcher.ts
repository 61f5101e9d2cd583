// The client's own undici dispatcher, loaded in the background when the client is made: the whole
// undici package takes about 100 ms to load, its Agent alone about 30 ms, and importing this
// package must cost neither.

import type { Agent, Dispatcher, EnvHttpProxyAgent } from 'undici';
import type { ClientSettings } from './options.js';

type AgentClass = typeof Agent | typeof EnvHttpProxyAgent;

/**
 * The dispatcher class the client needs. Without a proxy, the Agent is loaded on its own: undici's
 * files are plain CommonJS modules with no export map, and the Agent needs nothing of the rest of
 * the package (its fetch, WebSocket, cache, mock and API layers: calls go through `dispatch`
 * alone); should a release move the file, the whole package serves instead. The proxy agent opens
 * its tunnels through the API layer (`connect`), which only the whole package installs.
 */
async function loadAgentClass(proxied: boolean): Promise<AgentClass> {
  if (!proxied) {
    try {
      return ((await import(AGENT_FILE)) as { default: typeof Agent }).default;
    } catch {
      // the whole package, below
    }
  }
  const undici = await import('undici');
  return proxied ? undici.EnvHttpProxyAgent : undici.Agent;
}

const AGENT_FILE = 'undici/lib/dispatcher/agent.js';

/** The dispatcher calls go through: the app's own, or one of the client's, ready once undici has loaded. */
export interface DispatcherHolder {
  /** The dispatcher, at once when it is ready. */
  readonly get: () => Dispatcher | Promise<Dispatcher>;
  /** Closes the client's own dispatcher (never an injected one). */
  readonly close: () => Promise<void>;
}

/**
 * Closes a dispatcher, waiting for what is in flight; what is still open a deadline later (every
 * call has settled by then, so nothing waits for it: a proxy that never answers CONNECT, say) is
 * destroyed.
 */
async function closeWithin(dispatcher: Dispatcher, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      dispatcher.destroy().then(resolve, resolve);
    }, ms);
  });
  await Promise.race([dispatcher.close().catch(() => undefined), forced]);
  clearTimeout(timer);
}

export function holdDispatcher(settings: ClientSettings): DispatcherHolder {
  const injected = settings.dispatcher;
  if (injected !== undefined) {
    return { get: () => injected, close: () => Promise.resolve() };
  }
  let own: Dispatcher | undefined;
  // The proxy agent reads HTTP(S)_PROXY and NO_PROXY itself; a plain Agent costs less when there
  // is no proxy to go through.
  const ready = loadAgentClass(settings.proxied).then((AgentClass) => {
    own = new AgentClass({
      connections: settings.maxConnections,
      connect: { timeout: settings.connectTimeoutMs },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
    return own;
  });
  // A failed load surfaces on the first call (as a connection error), not as an unhandled rejection.
  ready.catch(() => undefined);
  return {
    get: () => own ?? ready,
    close: async () => {
      await ready.catch(() => undefined);
      if (own !== undefined) await closeWithin(own, settings.timeoutMs);
    },
  };
}
