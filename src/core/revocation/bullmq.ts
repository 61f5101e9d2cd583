// Loads BullMQ (an optional peer dependency) on first use, and the slice of its API the queue and the
// worker use, typed here so the package's own types never need BullMQ installed.

import { requirePackage } from '../lazy-require.js';
import { configError } from '../validate.js';

export interface BullJob {
  readonly id?: string | undefined;
  readonly data: unknown;
  readonly attemptsMade: number;
  /** Set once the job has ended (for good, when it failed). */
  readonly finishedOn?: number | undefined;
  readonly opts: { readonly attempts?: number | undefined };
}

/** A job as the queue finds it by id. */
export interface BullQueuedJob {
  isFailed(): Promise<boolean>;
  remove(): Promise<void>;
}

export interface BullQueue {
  add(name: string, data: unknown, opts: object): Promise<unknown>;
  getJob(id: string): Promise<BullQueuedJob | undefined>;
  rateLimit(ms: number): Promise<void>;
  close(): Promise<void>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

export interface BullWorker {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'failed', listener: (job: BullJob | undefined, error: Error) => void): unknown;
  close(force?: boolean): Promise<void>;
  waitUntilReady(): Promise<unknown>;
}

export interface BullMQ {
  Queue: new (name: string, opts: object) => BullQueue;
  Worker: (new (name: string, processor: (job: BullJob) => Promise<unknown>, opts: object) => BullWorker) & {
    RateLimitError(): Error;
  };
  UnrecoverableError: new (message?: string) => Error;
}

let loaded: BullMQ | undefined;

/** BullMQ, or a configuration error that says how to get it. */
export function loadBullmq(): BullMQ {
  if (loaded !== undefined) return loaded;
  try {
    loaded = requirePackage('bullmq') as BullMQ;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw configError(
      'revocationQueue',
      'missing',
      'the revocation queue runs on BullMQ, which is not installed: `npm install bullmq` (version 6).',
    );
  }
  return loaded;
}
