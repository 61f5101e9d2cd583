// The outcome table of the contract: for each way a sign-out can end, its status and its words.

import type { UpstreamOutcome } from './classify.js';
import type { LogoutResult } from './logout-client.js';
import type { SignOutErrorCode } from './errors.js';

/** What the route reports about the upstream call. */
export type UpstreamReport = UpstreamOutcome | 'skipped' | 'not_called';

type FailureOutcome = Exclude<UpstreamOutcome, 'revoked'>;

export const FAILURE_CODE: Readonly<Record<FailureOutcome, SignOutErrorCode>> = {
  rejected: 'sso_token_rejected',
  throttled: 'sso_throttled',
  unavailable: 'sso_unavailable',
  timeout: 'sso_timeout',
  bad_response: 'sso_bad_response',
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
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  cross_site_request: { status: 403, title: 'Cross-site sign-out refused' },
  session_unsupported: { status: 500, title: 'Session middleware not supported' },
  session_error: { status: 500, title: 'The session could not be ended' },
};

/** Seconds announced in `Retry-After` when the portal failed without naming a wait. */
export const DEFAULT_UNAVAILABLE_RETRY_AFTER_S = 2;

/** Whole seconds, at least 1, for a `Retry-After` header. */
export function retryAfterSeconds(ms: number | undefined, fallbackSeconds: number): number {
  return ms === undefined ? fallbackSeconds : Math.max(1, Math.ceil(ms / 1000));
}

/** The human sentence for a failed upstream call, truthful about both sessions. */
export function failureDetail(result: LogoutResult, code: SignOutErrorCode, signedOut: boolean): string {
  const local = signedOut
    ? 'You are signed out of this app.'
    : 'You are still signed in to this app, so you can try again.';
  switch (code) {
    case 'sso_token_rejected':
      if (result.reason === 'invalid_token' || result.reason === 'invalid_region') {
        return `${local} The stored IAM Identity Center sign-in was not usable and was not sent; it cannot be revoked from here.`;
      }
      return `${local} IAM Identity Center no longer accepted the access token: the SSO session had already ended.`;
    case 'sso_throttled':
      return `${local} IAM Identity Center is throttling requests, so the SSO session has not been ended yet.`;
    case 'sso_unavailable':
      return result.reason === 'overloaded'
        ? `${local} Too many sign-outs are in progress; the SSO session has not been ended yet.`
        : `${local} IAM Identity Center could not be reached or failed, so the SSO session has not been ended yet.`;
    case 'sso_timeout':
      return `${local} IAM Identity Center did not answer in time, so the SSO session may not have been ended.`;
    default:
      return `${local} IAM Identity Center answered in a way this app does not understand, so the SSO session may not have been ended.`;
  }
}
