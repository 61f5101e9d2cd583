// A revocation worker in a process of its own, as an app instance (or a worker deployment) runs it.
// Settings come from the environment; every event is printed as one JSON line.

import { Redis } from 'ioredis';
import { createRevocationWorker, redisRevocationQueue } from 'sso-signout';

const env = process.env;
const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
connection.on('error', () => undefined);
const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const queue = redisRevocationQueue({
  connection,
  secret: env.QUEUE_SECRET,
  encryptionKeys: [{ id: 'k1', key: env.QUEUE_KEY }],
  prefix: env.QUEUE_PREFIX,
  onEvent: print,
});
const worker = createRevocationWorker({
  queue,
  clientOptions: { endpoint: env.SSO_ENDPOINT, timeoutMs: 1000, maxAttempts: 1 },
  concurrency: 8,
  backoffMs: 50,
  maxBackoffMs: 200,
  lockDurationMs: Number(env.LOCK_MS ?? 1000),
});
await worker.ready();
print({ type: 'ready' });
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
