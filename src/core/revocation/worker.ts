// The worker that empties the revocation queue: each job's token is opened and sent to Logout with the
// same client and policy as a sign-out, until the portal revokes it or proves it dead, or it is too old.

import { describeValue } from '../errors.js';
import { createLogoutClient, type LogoutClient, type LogoutClientOptions } from '../logout/client.js';
import { configError, functionOption, knownOptions, wholeNumber } from '../validate.js';
import { createWarner, type Warn } from '../warnings.js';
import { within } from '../within.js';
import { loadBullmq, type BullJob, type BullMQ, type BullQueue, type BullWorker } from './bullmq.js';
import {
  errorText,
  settingsOf,
  teller,
  type QueueSettings,
  type RevocationEvent,
  type RevocationJobData,
  type RevocationQueue,
} from './queue.js';

export interface RevocationWorkerOptions {
  /** The queue to work, from {@link redisRevocationQueue} (its connection, name and keys). */
  readonly queue: RevocationQueue;
  /** The Logout client, e.g. the route's own (`createLogoutClient`). Or give `clientOptions`. */
  readonly client?: LogoutClient | undefined;
  /** Options of a client made for the worker (`region`, `endpoint`, `sharedState`, …). */
  readonly clientOptions?: LogoutClientOptions | undefined;
  /** Jobs worked at once by this worker. Default `4`. */
  readonly concurrency?: number | undefined;
  /** A token queued longer ago than this is dropped (it has expired anyway), in milliseconds. Default 24 h. */
  readonly maxAgeMs?: number | undefined;
  /** The first wait before a retry; it doubles each time, with jitter, up to `maxBackoffMs`. Default `1000`. */
  readonly backoffMs?: number | undefined;
  /** The longest wait between two attempts. Default `300000` (5 min). */
  readonly maxBackoffMs?: number | undefined;
  /**
   * How long a job stays this worker's without a sign of life; a worker that dies holding one loses
   * it to another worker after this long. Default `30000` (BullMQ's).
   */
  readonly lockDurationMs?: number | undefined;
  /** Told of every job's progress and end (default: the queue's `onEvent`). Errors it throws are ignored. */
  readonly onEvent?: ((event: RevocationEvent) => void) | undefined;
  /** The longest `ready()` waits for Redis, and `close()` for jobs in hand, in milliseconds. Default `10000`. */
  readonly waitMs?: number | undefined;
}

const OPTION_NAMES: Readonly<Record<keyof RevocationWorkerOptions, true>> = {
  queue: true,
  client: true,
  clientOptions: true,
  concurrency: true,
  maxAgeMs: true,
  backoffMs: true,
  maxBackoffMs: true,
  lockDurationMs: true,
  onEvent: true,
  waitMs: true,
};

export interface RevocationWorker {
  /** Resolves once the worker is connected and taking jobs; rejects after `waitMs` without Redis. */
  ready(): Promise<void>;
  /**
   * Stops taking jobs, waits up to `waitMs` for those in hand (a job cut short returns to the queue
   * once its lock expires), closes its connections and its own client.
   */
  close(): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

/** A failed attempt that may be retried, and the wait the portal named for it. */
class RetryLater extends Error {
  constructor(
    readonly outcome: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`Logout answered ${outcome}`);
    this.name = 'RetryLater';
  }
}

function notAQueue(value: unknown): never {
  throw configError(
    'queue',
    'missing',
    `\`queue\` must be the queue from redisRevocationQueue(…); got ${describeValue(value)}.`,
  );
}

/** The worker's options, checked. */
interface WorkerSettings {
  readonly queue: QueueSettings;
  readonly client: LogoutClient;
  /** Whether the client is the worker's own (closed with it). */
  readonly ownClient: boolean;
  readonly maxAgeMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly lockDurationMs: number;
  readonly concurrency: number;
  readonly waitMs: number;
  /** One listener hears each event: the worker's own, else the queue's. */
  readonly tell: (event: RevocationEvent) => void;
}

function workerSettings(options: RevocationWorkerOptions): WorkerSettings {
  const o = knownOptions(options, Object.keys(OPTION_NAMES));
  const queue = settingsOf(o.queue) ?? notAQueue(o.queue);
  if (o.client !== undefined && o.clientOptions !== undefined) {
    throw configError('client', 'conflict', 'give `client` or `clientOptions`, not both.');
  }
  const backoffMs = wholeNumber('backoffMs', o.backoffMs, 1000, 1, 3_600_000);
  const checked = {
    queue,
    maxAgeMs: wholeNumber('maxAgeMs', o.maxAgeMs, DAY_MS, 1000, 90 * DAY_MS),
    backoffMs,
    maxBackoffMs: wholeNumber('maxBackoffMs', o.maxBackoffMs, 300_000, backoffMs, DAY_MS),
    lockDurationMs: wholeNumber('lockDurationMs', o.lockDurationMs, 30_000, 500, 3_600_000),
    concurrency: wholeNumber('concurrency', o.concurrency, 4, 1, 256),
    waitMs: wholeNumber('waitMs', o.waitMs, 10_000, 1, 600_000),
  };
  const onEvent = functionOption('onEvent', o.onEvent as RevocationWorkerOptions['onEvent']);
  // The client last: nothing is made for options that are refused.
  return {
    ...checked,
    tell: onEvent === undefined ? queue.tell : teller(onEvent),
    client: (o.client as LogoutClient | undefined) ?? createLogoutClient(o.clientOptions as LogoutClientOptions),
    ownClient: o.client === undefined,
  };
}

/** What working one job needs besides the job. */
interface JobContext {
  readonly settings: WorkerSettings;
  readonly bullmq: BullMQ;
  /** The queue's own handle, for the throttle window every worker of the queue honours. */
  readonly gate: BullQueue;
  readonly warn: Warn;
}

/**
 * A job whose token does not open. Sealed with a key this worker does not list (by an instance that
 * already has a new key, a rotation half rolled out; or by another app on this queue's name and
 * prefix): left for a worker that lists it, as a failed attempt, and dead-lettered once the attempts
 * are spent. Listed but not opening (written by hand, or a key id reused): dead-lettered at once.
 */
function cannotOpen({ settings, bullmq, warn }: JobContext, job: BullJob, why: string): never {
  if (why === 'unknown_key') {
    warn(
      'SSO_SIGNOUT_QUEUE_UNKNOWN_KEY',
      'a revocation job is sealed with a key this worker does not list: it is left for a worker that lists it, and dead-lettered once its attempts are spent. Is a new key rolling out (list it on every instance before any seals with it), or does another app share this queue’s name and prefix?',
      why,
    );
    const attempts = job.attemptsMade + 1;
    settings.tell({
      type: 'revocation_retry',
      digest: String(job.id),
      outcome: why,
      attempts,
      retryAfterMs: undefined,
    });
    throw new RetryLater(why, undefined);
  }
  warn(
    'SSO_SIGNOUT_QUEUE_UNKNOWN_KEY',
    `a revocation job could not be opened (${why}): it is dead-lettered. Was it written by hand, or sealed under a key id another key now has?`,
    why,
  );
  throw new bullmq.UnrecoverableError(why);
}

/** Works one job: its token opened, its age checked, Logout called; the outcome as BullMQ takes it. */
async function workJob(context: JobContext, job: BullJob): Promise<string> {
  const { settings, bullmq, gate } = context;
  const { tell } = settings;
  const digest = String(job.id);
  const data = job.data as Partial<RevocationJobData> | null;
  const opened = settings.queue.sealer.open(data?.token, digest);
  if (typeof opened === 'string') cannotOpen(context, job, opened);
  // The age is the one sealed with the token: a job's plain queuedAt is not trusted.
  if (Date.now() - opened.queuedAt > settings.maxAgeMs) {
    tell({ type: 'revocation_dropped', digest, reason: 'too_old' });
    return 'too_old';
  }
  const result = await settings.client.logout(opened.token);
  const attempts = job.attemptsMade + 1;
  switch (result.outcome) {
    case 'revoked':
    case 'rejected':
      tell({ type: 'revocation_done', digest, outcome: result.outcome, attempts });
      return result.outcome;
    case 'not_sent':
      throw new bullmq.UnrecoverableError('unusable_token');
    case 'throttled': {
      // The whole queue waits out the window the portal named, on every worker; this job goes
      // back to wait without counting an attempt.
      const wait = result.retryAfterMs ?? settings.backoffMs;
      tell({ type: 'revocation_retry', digest, outcome: result.outcome, attempts, retryAfterMs: wait });
      await gate.rateLimit(wait);
      throw bullmq.Worker.RateLimitError();
    }
    default:
      tell({ type: 'revocation_retry', digest, outcome: result.outcome, attempts, retryAfterMs: undefined });
      throw new RetryLater(result.outcome, result.retryAfterMs);
  }
}

/** BullMQ's worker options for these settings. */
function bullWorkerOptions(settings: WorkerSettings): object {
  const { backoffMs, maxBackoffMs, lockDurationMs } = settings;
  return {
    connection: settings.queue.connection,
    prefix: settings.queue.prefix,
    concurrency: settings.concurrency,
    // BullMQ looks at a window set by rateLimit() (a throttled attempt) only when a limiter is
    // configured; this one is far above any pace a queue of sign-outs reaches.
    limiter: { max: 10_000, duration: 1000 },
    lockDuration: lockDurationMs,
    stalledInterval: lockDurationMs,
    // A job found stalled (its worker died) is worked again, as often as that happens: the token
    // must not be lost to a crash loop. Its age still ends it.
    maxStalledCount: 1000,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) => {
        const doubled = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, attemptsMade - 1));
        // Full jitter over the upper half: workers retrying together do not land together.
        const wait = doubled / 2 + Math.random() * (doubled / 2);
        const named = error instanceof RetryLater ? error.retryAfterMs : undefined;
        return Math.round(Math.max(wait, named ?? 0));
      },
    },
  };
}

/** BullMQ's worker on the queue, its errors and dead letters told. */
function startBullWorker(context: JobContext): BullWorker {
  const { settings, bullmq } = context;
  const { tell } = settings;
  let worker: BullWorker;
  try {
    worker = new bullmq.Worker(settings.queue.name, (job) => workJob(context, job), bullWorkerOptions(settings));
  } catch (error) {
    // BullMQ refuses a connection it cannot block on (ioredis without maxRetriesPerRequest: null, say).
    throw configError(
      'connection',
      'invalid_value',
      `BullMQ cannot run a worker on this connection: ${errorText(error)}`,
    );
  }
  worker.on('error', (error) => {
    tell({ type: 'revocation_worker_error', error: errorText(error) });
  });
  worker.on('failed', (job, error) => {
    if (job === undefined || typeof job.finishedOn !== 'number') return;
    // The last outcome (`unavailable`, …), or why the job could not be worked at all.
    const reason = error instanceof RetryLater ? error.outcome : errorText(error);
    tell({ type: 'revocation_dead_lettered', digest: String(job.id), reason, attempts: job.attemptsMade });
  });
  return worker;
}

/**
 * Works the revocation queue: in the app's process, or a process of its own. At-least-once: a token
 * sent twice is answered `401` the second time, which counts as done.
 *
 * @example
 * const worker = createRevocationWorker({ queue: revocationQueue, clientOptions: { region: 'eu-west-1' } });
 * await worker.ready();
 * process.on('SIGTERM', () => void worker.close());
 */
export function createRevocationWorker(options: RevocationWorkerOptions): RevocationWorker {
  const settings = workerSettings(options);
  const { waitMs, tell } = settings;
  const bullmq = loadBullmq();
  const gate = new bullmq.Queue(settings.queue.name, {
    connection: settings.queue.connection,
    prefix: settings.queue.prefix,
  });
  gate.on('error', (error) => {
    tell({ type: 'revocation_worker_error', error: errorText(error) });
  });
  const worker = startBullWorker({ settings, bullmq, gate, warn: createWarner() });
  return {
    ready: async () => {
      await within(worker.waitUntilReady(), waitMs, `the revocation worker found no Redis within ${String(waitMs)} ms`);
    },
    async close() {
      // Bounded: with Redis gone, BullMQ would wait for it forever.
      await within(worker.close(), waitMs, 'close').catch(() => {
        // Not waited for: with Redis gone even a forced close waits for it.
        worker.close(true).catch(() => undefined);
      });
      await within(gate.close(), waitMs, 'close').catch(() => undefined);
      if (settings.ownClient) await settings.client.close();
    },
  };
}
