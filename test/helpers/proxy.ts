// A real forward proxy on loopback for the tests: tunnels CONNECT, forwards absolute-form requests,
// and records what passed through it (in memory only: it carries the token, as any proxy does).

import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface Proxy {
  readonly url: string;
  /** `CONNECT host:port` targets and absolute-form request lines, in order. */
  readonly seen: string[];
  /** Whether any tunnel carried a Logout request. */
  carriedLogout(): boolean;
  /**
   * Answer every CONNECT with this status instead of tunnelling (as a proxy's access rules do),
   * never answer it (`'hang'`), close the connection without answering it (`'close'`), answer it
   * `100 Continue` and no more (`'continue'`), or open the tunnel and speak first in it, out of turn
   * (`'speaks-first'`); `undefined` tunnels again.
   */
  refuseTunnels(status: Refusal | undefined): void;
  close(): Promise<void>;
}

type Refusal = number | 'hang' | 'close' | 'continue' | 'speaks-first';

export async function startProxy(): Promise<Proxy> {
  const seen: string[] = [];
  const tunnelled: string[] = [];
  const sockets = new Set<Socket>();
  let refusal: Refusal | undefined;
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const target = new URL(req.url ?? '');
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket) => {
    seen.push(`CONNECT ${req.url ?? ''}`);
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (refusal === 'hang') return;
    if (refusal === 'close') {
      client.end();
      return;
    }
    if (refusal === 'speaks-first') {
      client.end('HTTP/1.1 200 Connection Established\r\n\r\nnot an answer to anything');
      return;
    }
    if (refusal === 'continue') {
      client.write('HTTP/1.1 100 Continue\r\n\r\n');
      return;
    }
    if (refusal !== undefined) {
      client.end(`HTTP/1.1 ${String(refusal)} Forbidden\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      client.on('data', (chunk: Buffer) => tunnelled.push(chunk.toString('latin1').split('\r\n', 1)[0] ?? ''));
      client.pipe(upstream).pipe(client);
    });
    // A target that cannot be reached is answered as proxies answer it.
    upstream.on('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    seen,
    carriedLogout: () =>
      tunnelled.some((line) => line.startsWith('POST /logout')) || seen.some((l) => l.includes('/logout')),
    refuseTunnels(status) {
      refusal = status;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
