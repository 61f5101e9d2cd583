// The client's own undici dispatcher, loaded in the background when the client is made: the whole
// undici package takes about 100 ms to load, its Agent alone about 30 ms, and importing this
// package must cost neither.

import { EventEmitter } from 'node:events';
import type { Agent, Client, Dispatcher, Pool } from 'undici';
import type { ClientSettings } from './options.js';

type AgentOptions = ConstructorParameters<typeof Agent>[0] & object;
type MakeAgent = (options: AgentOptions) => Dispatcher;

/**
 * The dispatcher the client needs. Without a proxy, the Agent is loaded on its own: undici's
 * files are plain CommonJS modules with no export map, and the Agent needs nothing of the rest of
 * the package (its fetch, WebSocket, cache, mock and API layers: calls go through `dispatch`
 * alone); should a release move the file, the whole package serves instead. The proxy agent opens
 * its tunnels through the API layer (`connect`), which only the whole package installs.
 */
async function loadAgent(proxied: boolean): Promise<MakeAgent> {
  if (!proxied) {
    try {
      const AgentClass = ((await import(AGENT_FILE)) as { default: typeof Agent }).default;
      return (options) => new AgentClass(options);
    } catch {
      // the whole package, below
    }
  }
  const undici = await import('undici');
  if (!proxied) return (options) => new undici.Agent(options);
  const factory = failingTunnels(undici.Pool, undici.Client);
  return (options) => new undici.EnvHttpProxyAgent({ ...options, factory });
}

type Connector = (options: object, callback: (error: Error | null, socket?: unknown) => void) => void;

/**
 * The error a failed tunnel is given instead of undici's socket error: a reset connection, which
 * undici's client answers by failing the requests waiting for it, and the retry policy retries.
 */
class TunnelClosed extends Error {
  override readonly name = 'TunnelClosed';
  readonly code = 'ECONNRESET';

  constructor(cause: Error) {
    super(`the proxy closed the connection before the tunnel was open (${cause.message})`, { cause });
  }
}

// The codes undici's client takes for a running request's socket: after a failed connect it
// reconnects at once and fails none of the requests waiting.
const SOCKET_CODES: ReadonlySet<unknown> = new Set(['UND_ERR_SOCKET', 'UND_ERR_INFO']);

/**
 * The proxy agent's origin dispatchers (undici's own: a Pool, or a Client for one connection),
 * with a tunnel that fails as a reset connection. A proxy that closes the connection without
 * answering CONNECT (or answers it `100 Continue` and no more) fails the tunnel with a socket
 * error, after which undici reconnects at once, for ever: thousands of CONNECTs a second, past
 * every deadline and after the answer, with the expired call still waiting for a connection.
 */
function failingTunnels(PoolClass: typeof Pool, ClientClass: typeof Client) {
  return (origin: string | URL, options: object): Dispatcher => {
    const { connect, connections } = options as { connect?: unknown; connections?: number | null };
    const given = typeof connect === 'function' ? { ...options, connect: failing(connect as Connector) } : options;
    return connections === 1 ? new ClientClass(origin, given) : new PoolClass(origin, given);
  };
}

/** Tunnels in a row that may close before carrying a request, before the next one fails. */
const UNUSED_TUNNELS = 3;

/**
 * A tunnel connector that fails as a reset connection where undici would reconnect without end:
 * when the tunnel fails with a socket error, and when tunnels open but close before a request has
 * gone through them (the proxy or the server spoke first, out of turn: undici drops the connection
 * with no request running, fails none, and connects again at once).
 */
function failing(tunnel: Connector): Connector {
  let unused = 0;
  return (connectOptions, callback) => {
    if (unused >= UNUSED_TUNNELS) {
      unused = 0;
      callback(
        new TunnelClosed(new Error(`${String(UNUSED_TUNNELS)} tunnels in a row closed before carrying a request`)),
      );
      return;
    }
    tunnel(connectOptions, (error, socket) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error !== null && SOCKET_CODES.has(code)) {
        callback(new TunnelClosed(error));
        return;
      }
      if (error === null && socket instanceof EventEmitter) {
        const written = (socket as { bytesWritten?: number }).bytesWritten ?? 0;
        socket.once('close', () => {
          unused = (socket as { bytesWritten?: number }).bytesWritten === written ? unused + 1 : 0;
        });
      }
      callback(error, socket);
    });
  };
}

const AGENT_FILE = 'undici/lib/dispatcher/agent.js';

/** How far past the route's deadline undici's own header and body timers are set. */
const UNDICI_TIMER_MARGIN_MS = 1000;

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
  const ready = loadAgent(settings.proxied).then((makeAgent) => {
    own = makeAgent({
      connections: settings.maxConnections,
      connect: { timeout: settings.connectTimeoutMs },
      // The route's deadline ends every call. undici's own timers are a net behind it, set past it:
      // they run on a coarse clock that may fire up to half a second early, and a timeout of theirs
      // before the deadline would count as a connection error, answered 503 or sent again.
      headersTimeout: settings.timeoutMs + UNDICI_TIMER_MARGIN_MS,
      bodyTimeout: settings.timeoutMs + UNDICI_TIMER_MARGIN_MS,
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
