// Process warnings for setups that work badly or not at all: each with a stable code, each at most once per route.

/** Stable codes of the process warnings the route emits (`process.on('warning')` sees `warning.code`). */
export type SignOutWarningCode =
  | 'SSO_SIGNOUT_SESSION_MISSING'
  | 'SSO_SIGNOUT_WRONG_ADAPTER'
  | 'SSO_SIGNOUT_NOT_ROUTED'
  | 'SSO_SIGNOUT_TOKEN_UNUSABLE'
  | 'SSO_SIGNOUT_UNKNOWN_REGION'
  | 'SSO_SIGNOUT_UNTRUSTED_FORWARDED'
  | 'SSO_SIGNOUT_HOOK_FAILED'
  | 'SSO_SIGNOUT_GUARD_DELETE_FAILED'
  | 'SSO_SIGNOUT_SESSION_NOT_ENDED'
  | 'SSO_SIGNOUT_COOKIE_NAME_MISMATCH'
  | 'SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE'
  | 'SSO_SIGNOUT_QUEUE_FAILED'
  | 'SSO_SIGNOUT_EVERYWHERE_UNSUPPORTED'
  | 'SSO_SIGNOUT_QUEUE_UNKNOWN_KEY'
  | 'SSO_SIGNOUT_EVERYWHERE_LOCAL_STORE'
  | 'SSO_SIGNOUT_NO_FORM_PARSER'
  | 'SSO_SIGNOUT_SIGN_IN_NOT_READ'
  | 'SSO_SIGNOUT_ALREADY_ANSWERED'
  | 'SSO_SIGNOUT_GUARD_BYPASSED';

/**
 * Emits a warning once per code (and `about`, e.g. the hook's name) for the route that owns this
 * function; repeats are dropped.
 */
export type Warn = (code: SignOutWarningCode, message: string, about?: string) => void;

export function createWarner(): Warn {
  const warned = new Set<string>();
  return (code, message, about = '') => {
    const key = `${code}\n${about}`;
    if (warned.has(key)) return;
    warned.add(key);
    process.emitWarning(`sso-signout: ${message}`, { code });
  };
}

/** Said by every adapter whose framework lets an app answer before the route and pass the request on. */
export const ALREADY_ANSWERED =
  "a sign-out request reached the route after the app had answered it, or taken its response over (a handler before it answered, then passed the request on): the route cannot tell the browser what it did, so it does nothing, and the user stays signed in. Answer sign-outs with the route alone; work of the app's own goes in a middleware before it that passes the request on without answering.";
