// A connected Redis client of either kind (node-redis v5, ioredis v5), as an app would hand it over,
// and the commands the tests use to look inside Redis.

import { Redis as IORedis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';

/** A connected client of either kind, and the commands the tests use to look inside Redis. */
export interface Connection {
  readonly client: unknown;
  keys(pattern: string): Promise<string[]>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ms: number): Promise<void>;
  pttl(key: string): Promise<number>;
  raw(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function nodeRedis(url: string): Promise<Connection> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    keys: (pattern) => client.keys(pattern),
    get: async (key) => (await client.get(key)) ?? null,
    set: async (key, value, ms) => {
      await client.set(key, value, { PX: ms });
    },
    pttl: (key) => client.pTTL(key),
    raw: (args) => client.sendCommand(args),
    // The server may be gone already (a test stops it): closing never fails.
    close: async () => {
      if (client.isOpen)
        await client.quit().catch(() => {
          client.destroy();
        });
    },
  };
}

/** `options` on top of the defaults (BullMQ's workers need `maxRetriesPerRequest: null`). */
export async function ioRedis(url: string, options: RedisOptions = {}): Promise<Connection> {
  const client = new IORedis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    keys: (pattern) => client.keys(pattern),
    get: (key) => client.get(key),
    set: async (key, value, ms) => {
      await client.set(key, value, 'PX', ms);
    },
    pttl: (key) => client.pttl(key),
    raw: (args) => client.call(args[0] as string, ...args.slice(1)),
    close: async () => {
      if (client.status === 'ready') await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}

/** Every key under `pattern` and its value, whatever its type (string, hash, list, set, sorted set, stream), as text. */
export async function dump(connection: Connection, pattern: string): Promise<string> {
  const read: Record<string, (key: string) => string[]> = {
    string: (key) => ['GET', key],
    hash: (key) => ['HGETALL', key],
    list: (key) => ['LRANGE', key, '0', '-1'],
    set: (key) => ['SMEMBERS', key],
    zset: (key) => ['ZRANGE', key, '0', '-1'],
    stream: (key) => ['XRANGE', key, '-', '+'],
  };
  const out: string[] = [];
  for (const key of await connection.keys(pattern)) {
    const command = read[String(await connection.raw(['TYPE', key]))];
    out.push(key, command === undefined ? '' : JSON.stringify(await connection.raw(command(key))));
  }
  return out.join('\n');
}
