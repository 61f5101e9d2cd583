// The durable revocation queue: tokens whose Logout failed while their session ended anyway are kept
// on Redis, encrypted, in a BullMQ queue, until a worker revokes them (src/core/revocation/worker.ts).

import { describeSecret, describeValue } from '../errors.js';
import { printable } from '../scrub.js';
import type { TokenInfo } from '../token.js';
import { checkAccessToken } from '../token.js';
import { configError, functionOption, isThenable, knownOptions, nonEmptyString, wholeNumber } from '../validate.js';
import { within } from '../within.js';
import { loadBullmq, type BullQueue } from './bullmq.js';
import { TokenSealer, type RevocationKey, type SealedToken } from './sealed-token.js';

/** A job's data: the sealed token and when it was first queued. Never the token in clear. */
export interface RevocationJobData {
  readonly token: SealedToken;
  /** Milliseconds since the epoch. */
  readonly queuedAt: number;
}

/** What the queue and its workers tell the app. Never holds a token; `digest` is the job id. */
export type RevocationEvent =
  | { readonly type: 'revocation_queued'; readonly digest: string }
  | { readonly type: 'revocation_queue_failed'; readonly error: string }
  | {
      readonly type: 'revocation_done';
      readonly digest: string;
      /** `revoked`, or `rejected`: the portal said the token was already dead. */
      readonly outcome: 'revoked' | 'rejected';
      readonly attempts: number;
    }
  | {
      readonly type: 'revocation_retry';
      readonly digest: string;
      /**
       * The attempt's outcome (`throttled`, `unavailable`, `timeout`, …), or `unknown_key`: sealed
       * with a key this worker does not list, so left for a worker that lists it.
       */
      readonly outcome: string;
      readonly attempts: number;
      /** When the portal throttled: the wait it named, honoured by every worker of the queue. */
      readonly retryAfterMs: number | undefined;
    }
  | {
      readonly type: 'revocation_dropped';
      readonly digest: string;
      /**
       * `too_old`: queued longer ago than `maxAgeMs`, so the token has expired anyway.
       * `unusable_token`: handed a token no request could carry (empty, too long, control
       * characters): nothing can revoke it, so it is not queued.
       */
      readonly reason: 'too_old' | 'unusable_token';
    }
  | {
      readonly type: 'revocation_dead_lettered';
      readonly digest: string;
      /**
       * The last outcome (`unavailable`, `timeout`, `bad_response`) once the attempts are spent, or
       * why the job cannot be worked: `unknown_key` (its key is no longer listed), `undecryptable`,
       * `unusable_token`.
       */
      readonly reason: string;
      readonly attempts: number;
    }
  | { readonly type: 'revocation_worker_error'; readonly error: string };

export interface RedisRevocationQueueOptions {
  /**
   * The app's Redis client: ioredis v5 (`new Redis()`) or node-redis v5 (`createClient()`), as
   * BullMQ takes it. One Redis or a primary.
   */
  readonly connection: unknown;
  /** At least 32 bytes, the same on every instance: the key of the digest a token's job is known by. */
  readonly secret: string | Uint8Array;
  /** AES-256-GCM keys (32 bytes each, or their base64 text) with ids: the first seals, all open. */
  readonly encryptionKeys: readonly RevocationKey[];
  /**
   * The queue's name. Default `'sso-signout-revocations-'` and 8 characters derived from `secret`:
   * apps with different secrets on one Redis get queues of their own.
   */
  readonly name?: string | undefined;
  /** BullMQ's key prefix. Default `'sso-signout'`. */
  readonly prefix?: string | undefined;
  /**
   * Attempts at Logout per token before it is dead-lettered (a throttled attempt does not count).
   * Default `25`: with the worker's default backoff, about an hour and a half of retries.
   */
  readonly attempts?: number | undefined;
  /** The longest `enqueue` may take before it counts as failed, in milliseconds. Default `250`. */
  readonly operationTimeoutMs?: number | undefined;
  /** Told of queued tokens and of failures to queue. Errors it throws are ignored. */
  readonly onEvent?: ((event: RevocationEvent) => void) | undefined;
}

const OPTION_NAMES: Readonly<Record<keyof RedisRevocationQueueOptions, true>> = {
  connection: true,
  secret: true,
  encryptionKeys: true,
  name: true,
  prefix: true,
  attempts: true,
  operationTimeoutMs: true,
  onEvent: true,
};

/** The queue as the route and the app use it. */
export interface RevocationQueue {
  /**
   * Queues `token` for revocation, once per token (its digest is the job id). Resolves when Redis
   * has taken it; rejects when it could not within `operationTimeoutMs`.
   */
  enqueue(token: TokenInfo): Promise<void>;
  /** Closes the queue's own use of the connection (the app's client stays open). */
  close(): Promise<void>;
  /** The queue's BullMQ name and prefix: its keys are `<prefix>:<name>:…`. */
  readonly name: string;
  readonly prefix: string;
}

export interface QueueSettings {
  readonly connection: unknown;
  readonly name: string;
  readonly prefix: string;
  readonly sealer: TokenSealer;
  readonly tell: (event: RevocationEvent) => void;
}

export const DEFAULT_QUEUE_NAME = 'sso-signout-revocations';

// The settings of each queue, for its workers: kept out of the object an app holds, so logging or
// serialising the queue shows no key.
const SETTINGS = new WeakMap<RevocationQueue, QueueSettings>();

/** The settings of a queue made by redisRevocationQueue, or undefined for anything else. */
export function settingsOf(queue: unknown): QueueSettings | undefined {
  return queue !== null && typeof queue === 'object' ? SETTINGS.get(queue as RevocationQueue) : undefined;
}

/** Each event's strings escaped and bounded (a job id in Redis is anyone's to write). */
function printableEvent(event: RevocationEvent): RevocationEvent {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    clean[key] = typeof value === 'string' ? printable(value, 200) : value;
  }
  return clean as RevocationEvent;
}

/** Calls an app's listener with a clean event; repeats of one failure within 10 s are told once. */
export function teller(onEvent: ((event: RevocationEvent) => void) | undefined): (event: RevocationEvent) => void {
  const lastTold = new Map<string, number>();
  return (event) => {
    if ('error' in event) {
      const key = `${event.type}\n${event.error}`;
      const now = Date.now();
      if (now - (lastTold.get(key) ?? -Infinity) < 10_000) return;
      if (lastTold.size > 100) lastTold.clear();
      lastTold.set(key, now);
    }
    try {
      const told = onEvent?.(printableEvent(event)) as unknown;
      if (isThenable(told)) Promise.resolve(told).catch(() => undefined);
    } catch {
      // an app's listener never breaks the queue
    }
  };
}
export const DEFAULT_QUEUE_PREFIX = 'sso-signout';

/** The queue's settings, checked once. */
function queueSettings(
  raw: unknown,
): QueueSettings & { readonly operationTimeoutMs: number; readonly attempts: number } {
  const o = knownOptions(raw, Object.keys(OPTION_NAMES));
  if (o.connection === null || typeof o.connection !== 'object') {
    throw configError(
      'connection',
      'missing',
      `\`connection\` must be the app's Redis client (ioredis v5 or node-redis v5); got ${describeSecret(o.connection)}.`,
    );
  }
  const sealer = new TokenSealer(o.encryptionKeys, o.secret);
  const name = nonEmptyString('name', o.name, `${DEFAULT_QUEUE_NAME}-${sealer.digest('queue name').slice(0, 8)}`);
  const prefix = nonEmptyString('prefix', o.prefix, DEFAULT_QUEUE_PREFIX);
  if (name.includes(':')) throw configError('name', 'invalid_value', `\`name\` must not contain ':'; got "${name}".`);
  const onEvent = functionOption('onEvent', o.onEvent as RedisRevocationQueueOptions['onEvent']);
  return {
    connection: o.connection,
    name,
    prefix,
    sealer,
    operationTimeoutMs: wholeNumber('operationTimeoutMs', o.operationTimeoutMs, 250, 1, 60_000),
    attempts: wholeNumber('attempts', o.attempts, 25, 1, 1000),
    tell: teller(onEvent),
  };
}

/** Bounded and printable: what an error from Redis or BullMQ may say in an event. */
export function errorText(error: unknown): string {
  return printable(error instanceof Error ? error.message : describeValue(error), 200);
}

/**
 * A durable queue of tokens to revoke, on BullMQ (an optional peer dependency: `npm install bullmq`)
 * and the app's own Redis client. Give it to the route as `revocationQueue` (with
 * `endSessionOnFailure: true`), and run {@link createRevocationWorker} on it somewhere.
 *
 * @example
 * import Redis from 'ioredis';
 * const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
 * const revocationQueue = redisRevocationQueue({
 *   connection,
 *   secret: process.env.SSO_SIGNOUT_SECRET,
 *   encryptionKeys: [{ id: '2026-12', key: process.env.SSO_SIGNOUT_QUEUE_KEY }],
 * });
 * app.post('/signout', ssoSignOut({ region: 'eu-west-1', endSessionOnFailure: true, revocationQueue }));
 */
export function redisRevocationQueue(options: RedisRevocationQueueOptions): RevocationQueue {
  const settings = queueSettings(options);
  const { Queue } = loadBullmq();
  const jobOptions = { ...JOB_OPTIONS, attempts: settings.attempts };
  let queue: BullQueue;
  try {
    queue = new Queue(settings.name, { connection: settings.connection, prefix: settings.prefix });
  } catch (error) {
    // BullMQ refuses some clients outright (an ioredis client with a keyPrefix, say).
    throw configError('connection', 'invalid_value', `BullMQ cannot use this connection: ${errorText(error)}`);
  }
  // BullMQ reports a failing connection as an 'error' event, which would end the process unheard.
  queue.on('error', (error: unknown) => {
    settings.tell({ type: 'revocation_queue_failed', error: errorText(error) });
  });
  const revocationQueue: RevocationQueue = {
    name: settings.name,
    prefix: settings.prefix,
    async enqueue(token) {
      const accessToken = checkAccessToken(token.accessToken);
      const digest = settings.sealer.digest(typeof token.accessToken === 'string' ? token.accessToken : '');
      if (accessToken === undefined) {
        // No request could carry it, so nothing can revoke it: said, and not kept.
        settings.tell({ type: 'revocation_dropped', digest, reason: 'unusable_token' });
        return;
      }
      const queuedAt = Date.now();
      // The time is sealed with the token: a job's age cannot be changed without the key.
      const data: RevocationJobData = {
        token: settings.sealer.seal({ accessToken, region: token.region }, digest, queuedAt),
        queuedAt,
      };
      try {
        await within(
          addOnce(queue, data, { ...jobOptions, jobId: digest }),
          settings.operationTimeoutMs,
          `Redis did not take the job within ${String(settings.operationTimeoutMs)} ms`,
        );
      } catch (error) {
        settings.tell({ type: 'revocation_queue_failed', error: errorText(error) });
        throw error;
      }
      settings.tell({ type: 'revocation_queued', digest });
    },
    close: () => queue.close(),
  };
  SETTINGS.set(revocationQueue, settings);
  return revocationQueue;
}

/**
 * Adds a token's job. The job id is the digest: a token queued twice (two tabs, a retry) is one job.
 * BullMQ takes an id it already holds as that job, a dead letter included: a token handed over
 * again after its job was dead-lettered gets a new job in its place, or it would never be revoked.
 */
async function addOnce(queue: BullQueue, data: RevocationJobData, options: { jobId: string }): Promise<void> {
  await queue.add('revoke', data, options);
  const held = await queue.getJob(options.jobId);
  if (held === undefined || !(await held.isFailed())) return;
  try {
    await held.remove();
  } catch (error) {
    // Another instance handing the same token over got there first: its new job (which, being
    // worked, cannot be removed) holds the token, or the dead one is gone and the token is added here.
    const now = await queue.getJob(options.jobId);
    if (now !== undefined && (await now.isFailed())) throw error;
    if (now !== undefined) return;
  }
  await queue.add('revoke', data, options);
}

/**
 * Every job: retried with the worker's backoff until revoked, proven dead or too old; a revoked
 * token's job is removed with its ciphertext; what could not be revoked stays in the failed set (the
 * dead letters) for a week.
 */
const JOB_OPTIONS = {
  backoff: { type: 'revocation' },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
