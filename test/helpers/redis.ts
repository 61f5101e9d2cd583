// Redis for the tests: the shared server at REDIS_URL (every machine of the project runs one at
// 127.0.0.1:6379), or a private redis-server on a free loopback port for tests that need one of their
// own. Either fails within seconds, with the command that gets one, when there is none.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answersPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('error', () => {
      resolve(false);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

const INSTALL = 'apt-get update && apt-get install -y redis-server';
const START = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no";

/**
 * The URL of the shared Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`), once it has answered a
 * PING within 2 seconds. Tests using it keep to a key prefix or database of their own.
 */
export async function sharedRedisUrl(): Promise<string> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { hostname, port } = new URL(url);
  const answered = await Promise.race([
    answersPing(Number(port || 6379), hostname),
    new Promise<false>((resolve) =>
      setTimeout(() => {
        resolve(false);
      }, 2000).unref(),
    ),
  ]);
  if (!answered) {
    throw new Error(
      `no Redis answers at ${url}: start one with \`${START}\` (install it first with \`${INSTALL}\`), or set REDIS_URL`,
    );
  }
  return url;
}

export interface RedisServerOptions {
  /**
   * Append-only persistence (every write fsynced) in a directory of its own: what was written
   * survives `restart()`. Default: nothing kept.
   */
  readonly appendOnly?: boolean;
}

export interface RestartableRedisServer extends RedisServer {
  /** Stops the server (SIGTERM) and starts it again on the same port and directory. */
  restart(): Promise<void>;
}

/** A fresh, empty redis-server on a free port. Fails with the install command when it is missing. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RestartableRedisServer> {
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    throw new Error(`redis-server is not installed: ${INSTALL} (.ci/run does this)`);
  }
  const port = await freePort();
  const dir = options.appendOnly === true ? mkdtempSync(join(tmpdir(), 'sso-signout-redis-')) : undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--protected-mode', 'yes'];
  args.push(
    ...(dir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]),
  );
  let child: ChildProcess = await launch(port, args);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${String(port)}`,
    port,
    async stop() {
      await stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stop();
      child = await launch(port, args);
    },
  };
}

async function launch(port: number, args: string[]): Promise<ChildProcess> {
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`redis-server did not start on port ${String(port)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}
