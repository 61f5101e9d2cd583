// The client's own undici dispatcher, loaded in the background: undici takes 100 ms and more to load,
// which importing this package must not cost.

import type { Dispatcher } from 'undici';
import type { ClientSettings } from './options.js';

/** The dispatcher calls go through: the app's own, or one of the client's, ready once undici has loaded. */
export interface DispatcherHolder {
  /** The dispatcher, at once when it is ready. */
  readonly get: () => Dispatcher | Promise<Dispatcher>;
  /** Closes the client's own dispatcher (never an injected one). */
  readonly close: () => Promise<void>;
}

export function holdDispatcher(settings: ClientSettings): DispatcherHolder {
  const injected = settings.dispatcher;
  if (injected !== undefined) {
    return { get: () => injected, close: () => Promise.resolve() };
  }
  let own: Dispatcher | undefined;
  const ready = import('undici').then(({ Agent, EnvHttpProxyAgent }) => {
    const options = {
      connections: settings.maxConnections,
      connect: { timeout: settings.connectTimeoutMs },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    };
    // The proxy agent reads HTTP(S)_PROXY and NO_PROXY itself; a plain Agent costs less when there
    // is no proxy to go through.
    own = settings.proxied ? new EnvHttpProxyAgent(options) : new Agent(options);
    return own;
  });
  // A failed load surfaces on the first call (as a connection error), not as an unhandled rejection.
  ready.catch(() => undefined);
  return {
    get: () => own ?? ready,
    close: async () => {
      await ready.catch(() => undefined);
      await own?.close();
    },
  };
}
