// The outcome table of the contract: for each way a sign-out can end, its status, its words and whether the session ended.

import type { UpstreamOutcome } from '../logout/classify.js';
import type { SignOutError, SignOutErrorCode } from '../errors.js';
import type { LogoutReason, LogoutResult } from '../logout/client.js';
import { DEFAULT_THROTTLE_WINDOW_MS } from '../logout/policy.js';
import type { ResponseFormat } from './negotiate.js';
import type { EverywhereReport } from '../everywhere/elsewhere.js';

/** What the route reports about the upstream call. */
export type UpstreamReport = UpstreamOutcome | 'skipped' | 'not_called';

/** Every answer the route can give: the success rows, or an error code. */
export type SignOutCode = 'signed_out' | SignOutErrorCode;

type FailureOutcome = Exclude<UpstreamOutcome, 'revoked'>;

/** The error code of each upstream outcome that is not a plain success. */
export const FAILURE_CODE: Readonly<Record<FailureOutcome, SignOutErrorCode>> = {
  rejected: 'sso_token_rejected',
  throttled: 'sso_throttled',
  unavailable: 'sso_unavailable',
  timeout: 'sso_timeout',
  bad_response: 'sso_bad_response',
  not_sent: 'sso_token_unusable',
};

interface Row {
  readonly status: number;
  readonly title: string;
}

export const ROWS: Readonly<Record<SignOutErrorCode, Row>> = {
  sso_token_rejected: { status: 401, title: 'Signed out: the SSO session had already ended' },
  sso_throttled: { status: 429, title: 'IAM Identity Center is throttling sign-outs' },
  sso_unavailable: { status: 503, title: 'IAM Identity Center is unavailable' },
  sso_timeout: { status: 504, title: 'IAM Identity Center did not answer in time' },
  sso_bad_response: { status: 502, title: 'IAM Identity Center gave an unexpected answer' },
  sso_token_unusable: { status: 500, title: 'The stored sign-in could not be sent to IAM Identity Center' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  cross_site_request: { status: 403, title: 'Cross-site sign-out refused' },
  background_request: { status: 403, title: 'Prefetched or embedded sign-out refused' },
  session_missing: { status: 500, title: 'No session middleware ran before the sign-out route' },
  session_unsupported: { status: 500, title: 'Session middleware not supported' },
  session_ambiguous: { status: 400, title: 'More than one session cookie' },
  session_error: { status: 500, title: 'The session could not be ended' },
  wrong_adapter: { status: 500, title: 'The sign-out route is mounted in the wrong framework' },
};

/** Seconds announced in `Retry-After` when the portal failed without naming a wait. */
export const DEFAULT_UNAVAILABLE_RETRY_AFTER_S = 2;

/** Whole seconds, at least 1, for a `Retry-After` header. */
export function retryAfterSeconds(ms: number | undefined, fallbackSeconds: number): number {
  return ms === undefined ? fallbackSeconds : Math.max(1, Math.ceil(ms / 1000));
}

/** How one sign-out ended: what the route answers and what it did. Never holds the token. */
export interface SignOutResult {
  /** `signed_out` for the success rows, otherwise the error code. */
  readonly code: SignOutCode;
  /** The HTTP status the route answers with. */
  readonly status: number;
  /** True when the local session was ended and its cookies cleared. */
  readonly signedOut: boolean;
  /** What happened upstream: `revoked`, `skipped` (no token), `rejected`, `throttled`, … */
  readonly upstream: UpstreamReport;
  /** Where the browser goes next (the vetted `return_to`, or the default destination). */
  readonly redirectTo: string;
  readonly format: ResponseFormat;
  /** Seconds to wait before retrying (429, 503). */
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;
  /** The typed error for failure rows. */
  readonly error: SignOutError | undefined;
  /** With `everywhere`: what became of the user's other sessions (undefined when not asked for). */
  readonly everywhere: EverywhereReport | undefined;
}

/** How one sign-out ends, before anything is rendered. */
export interface Decision {
  readonly code: SignOutCode;
  readonly status: number;
  /** True when the local session was ended (and its cookies cleared). */
  readonly signedOut: boolean;
  /** Seconds to wait before retrying (429, 503). */
  readonly retryAfter: number | undefined;
  readonly title: string;
  readonly detail: string;
}

/** A row with no upstream call: refusals and setups that cannot work. Nothing was changed. */
export function localDecision(code: SignOutErrorCode, detail: string): Decision {
  const row = ROWS[code];
  return { code, status: row.status, signedOut: false, retryAfter: undefined, title: row.title, detail };
}

/**
 * The `session_error` row when the session was to end and did not: what became of the SSO session
 * first (ended, already dead, or handed over to be revoked later), then why this app's session
 * stays. `timedOutMs`: the store (or the app's `endSession`) did not answer within it.
 */
export function sessionNotEnded(upstream: UpstreamReport, timedOutMs: number | undefined): Decision {
  const sso =
    upstream === 'revoked'
      ? 'The SSO session was ended, but this app’s session'
      : upstream === 'rejected'
        ? 'The SSO session had already ended, but this app’s session'
        : upstream === 'skipped' || upstream === 'not_called'
          ? 'This app’s session'
          : 'The SSO session has not been ended yet (the sign-in was handed over to be revoked later), and this app’s session';
  const detail =
    timedOutMs === undefined
      ? `${sso} could not be ended.`
      : `${sso} did not end within ${String(timedOutMs)} ms: its store (or the app's \`endSession\`) did not answer. It may still end; signing out again makes sure.`;
  return localDecision('session_error', detail);
}

/** Whether the local session ends for this upstream result: on success, on a dead token, or when the app says so. */
export function endsSession(upstream: UpstreamReport, endSessionOnFailure: boolean): boolean {
  return upstream === 'revoked' || upstream === 'skipped' || upstream === 'rejected' || endSessionOnFailure;
}

/**
 * The row of the outcome table for an upstream result: `signedOut` is whether the session really
 * ended (it may have been meant to and failed, which the caller reports as `session_error`).
 */
export function decide(
  upstream: UpstreamReport,
  logout: LogoutResult | undefined,
  signedOut: boolean,
  format: ResponseFormat,
  /** The session was to end anyway (`endSessionOnFailure`), but nothing took the unrevoked token. */
  notHandedOver = false,
  /** How long ago Logout answered: a wait it named is counted from then. */
  sinceAnswerMs = 0,
): Decision {
  if (upstream === 'revoked' || upstream === 'skipped' || upstream === 'not_called' || logout === undefined) {
    return {
      code: 'signed_out',
      status: format === 'json' ? 200 : 303,
      signedOut: true,
      retryAfter: undefined,
      title: 'Signed out',
      detail:
        upstream === 'revoked'
          ? 'You are signed out of this app and of IAM Identity Center.'
          : 'You are signed out of this app.',
    };
  }
  const code = FAILURE_CODE[upstream];
  const row = ROWS[code];
  const named = logout.retryAfterMs === undefined ? undefined : Math.max(0, logout.retryAfterMs - sinceAnswerMs);
  return {
    code,
    status: row.status,
    signedOut,
    retryAfter:
      upstream === 'throttled'
        ? retryAfterSeconds(named ?? Math.max(0, DEFAULT_THROTTLE_WINDOW_MS - sinceAnswerMs), 1)
        : upstream === 'unavailable'
          ? retryAfterSeconds(named, DEFAULT_UNAVAILABLE_RETRY_AFTER_S)
          : undefined,
    title: row.title,
    detail: notHandedOver
      ? `${failureDetail(logout, upstream, signedOut)} The sign-in could not be handed over for a later revocation, so this app’s session was not ended.`
      : failureDetail(logout, upstream, signedOut),
  };
}

/** Why a token was not sent, by the reason the client gave (a token that cannot be sent otherwise). */
const NOT_SENT: Readonly<Partial<Record<LogoutReason, string>>> & { readonly invalid_token: string } = {
  invalid_region:
    'The region stored with the sign-in is not an AWS region name, so the access token was not sent and the SSO session has not been ended.',
  dispatcher_origin:
    "The app's `dispatcher` is tied to another origin than the portal of the region stored with the sign-in, so the access token was not sent and the SSO session has not been ended.",
  invalid_token:
    'The stored sign-in holds no access token that can be sent as it is (it is missing, empty, not a string, too long, or holds characters a header cannot carry), so the SSO session has not been ended.',
};

/** The human sentence for a failed upstream call, truthful about both sessions. */
function failureDetail(result: LogoutResult, upstream: FailureOutcome, signedOut: boolean): string {
  const local = signedOut
    ? 'You are signed out of this app.'
    : 'You are still signed in to this app, so you can try again.';
  switch (upstream) {
    case 'rejected':
      return `${local} IAM Identity Center no longer accepted the access token: the SSO session had already ended.`;
    case 'not_sent':
      return `${local} ${(result.reason === undefined ? undefined : NOT_SENT[result.reason]) ?? NOT_SENT.invalid_token}`;
    case 'throttled':
      return `${local} IAM Identity Center is throttling requests, so the SSO session has not been ended yet.`;
    case 'unavailable':
      return result.reason === 'overloaded'
        ? `${local} Too many sign-outs are in progress; the SSO session has not been ended yet.`
        : `${local} IAM Identity Center could not be reached or failed, so the SSO session has not been ended yet.`;
    case 'timeout':
      return `${local} IAM Identity Center did not answer in time, so the SSO session may not have been ended.`;
    case 'bad_response':
      return `${local} IAM Identity Center answered in a way this app does not understand, so the SSO session may not have been ended.`;
  }
}
