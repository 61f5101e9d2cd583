// One attempt at Logout, read: the portal's answer (or why there was none) turned into what it means,
// every string from the portal made safe to show.

import type { Dispatcher } from 'undici';
import { PortalRequestError } from '../errors.js';
import { printable } from '../scrub.js';
import { isTransientError, retryAfterHintMs } from './backoff.js';
import { classifyResponse, requestIdOf, type RetryKind, type UpstreamOutcome } from './classify.js';
import type { DeadlineSweep } from './deadlines.js';
import { sendLogout, type PortalAnswer, type PortalBase } from './transport.js';

// Strings from the portal are cut to these lengths before anyone sees them.
const MAX_NAME_LENGTH = 100;
const MAX_MESSAGE_LENGTH = 300;
const MAX_REQUEST_ID_LENGTH = 200;

/** What one attempt came back with, strings already made safe to show. */
export interface Attempt {
  readonly answer: PortalAnswer | undefined;
  readonly error: PortalRequestError | undefined;
  readonly outcome: UpstreamOutcome;
  readonly retry: RetryKind | undefined;
  readonly errorName: string | undefined;
  readonly message: string | undefined;
  readonly requestId: string | undefined;
  /** The wait the portal named (capped by `maxRetryAfterMs`), when the answer may be retried. */
  readonly hintMs: number | undefined;
}

export interface AttemptContext {
  readonly dispatcher: () => Dispatcher | Promise<Dispatcher>;
  readonly sweep: DeadlineSweep;
  readonly maxRetryAfterMs: number;
  readonly now: () => number;
}

function failed(error: unknown): Attempt {
  const own =
    error instanceof PortalRequestError
      ? error
      : new PortalRequestError('connection', 'the request to the portal failed');
  const outcome: UpstreamOutcome =
    own.failure === 'deadline' ? 'timeout' : own.failure === 'malformed_response' ? 'bad_response' : 'unavailable';
  return {
    answer: undefined,
    error: own,
    outcome,
    retry: own.failure === 'connection' && isTransientError(own) ? 'transient' : undefined,
    errorName: undefined,
    message: undefined,
    requestId: undefined,
    hintMs: undefined,
  };
}

/** Sends Logout once and reads the answer. Never rejects. */
export function attemptLogout(
  context: AttemptContext,
  base: PortalBase,
  token: string,
  deadline: number,
): Promise<Attempt> {
  // Chained rather than awaited: one promise per attempt, not one per step.
  const send = (dispatcher: Dispatcher): Promise<PortalAnswer> =>
    sendLogout(dispatcher, base, token, deadline, context.sweep);
  const ready = context.dispatcher();
  const answered = ready instanceof Promise ? ready.then(send) : send(ready);
  return answered.then((answer) => readAnswer(context, answer, token), failed);
}

/** What the portal's answer means, everything it said scrubbed here, once: nothing downstream sees it raw. */
function readAnswer(context: AttemptContext, answer: PortalAnswer, token: string): Attempt {
  const meaning = classifyResponse(answer.status, answer.headers, answer.body, answer.ending);
  const requestId = requestIdOf(answer.headers);
  const hint = meaning.retry === undefined ? undefined : retryAfterHintMs(answer.headers, context.now());
  return {
    answer,
    error: undefined,
    ...meaning,
    errorName: meaning.errorName === undefined ? undefined : printable(meaning.errorName, MAX_NAME_LENGTH, token),
    message: meaning.message === undefined ? undefined : printable(meaning.message, MAX_MESSAGE_LENGTH, token),
    requestId: requestId === undefined ? undefined : printable(requestId, MAX_REQUEST_ID_LENGTH, token),
    hintMs: hint === undefined ? undefined : Math.min(hint, context.maxRetryAfterMs),
  };
}
