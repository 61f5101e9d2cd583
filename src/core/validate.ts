// Option checking shared by the route, the Logout client and guardSessionStore: one style of error
// (the option named, the value quoted or, where it may be a secret, its kind named, the fix
// suggested) and one reason code per kind of mistake.

import { describeSecret, describeValue, SignOutConfigError, type ConfigErrorReason } from './errors.js';
import { closest } from './suggest.js';

export function configError(option: string, reason: ConfigErrorReason, message: string): SignOutConfigError {
  return new SignOutConfigError(option, message, reason);
}

/**
 * The options as a record, after refusing a non-object and any name not in `known` (with the
 * closest known one: ``Did you mean `region`?``).
 */
export function knownOptions(value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    // Its kind only: a string given here may be the secret or the Redis URL meant for an option.
    throw configError('options', 'not_an_object', `options must be an object; got ${describeSecret(value)}.`);
  }
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (known.includes(name)) continue;
    throw configError(name, 'unknown_option', `unknown option \`${name}\`.${didYouMean(name, known, 'options')}`);
  }
  return record;
}

/** What follows an unknown name: the closest known one (``Did you mean `path`?``), else all of them. */
export function didYouMean(name: string, known: readonly string[], kind: string): string {
  const suggestion = closest(name, known)[0];
  return suggestion === undefined ? ` Known ${kind}: ${known.join(', ')}.` : ` Did you mean \`${suggestion}\`?`;
}

export function booleanOption(option: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw configError(option, 'wrong_type', `\`${option}\` must be true or false; got ${describeValue(value)}.`);
  }
  return value;
}

/** A whole number from `min` to `max` (inclusive), or `fallback` when absent. */
export function wholeNumber(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw configError(
      option,
      'wrong_type',
      `\`${option}\` must be a whole number from ${String(min)} to ${String(max)}; got ${describeValue(value)}.`,
    );
  }
  if (value < min || value > max) {
    throw configError(
      option,
      'out_of_range',
      `\`${option}\` must be a whole number from ${String(min)} to ${String(max)}; got ${describeValue(value)}.`,
    );
  }
  return value;
}

/** A function option as given (its declared type), once it is known to be a function. */
export function functionOption<F extends (...args: never[]) => unknown>(
  option: string,
  value: F | undefined,
): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    // Its kind only: a value given instead of a hook may be what the hook was to return (a token).
    throw configError(option, 'wrong_type', `\`${option}\` must be a function; got ${describeSecret(value)}.`);
  }
  return value;
}

export function nonEmptyString(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw configError(option, 'wrong_type', `\`${option}\` must be a non-empty string; got ${describeValue(value)}.`);
  }
  return value;
}

/**
 * Catches a factory mounted as a middleware (`app.use(ssoSignOut)` instead of
 * `app.use(ssoSignOut({ … }))`): the framework then calls it with a request.
 */
export function assertFactoryCall(
  first: unknown,
  argumentCount: number,
  middlewareArity: number,
  example: string,
): void {
  const looksLikeRequest =
    first !== null &&
    typeof first === 'object' &&
    (('headers' in first && 'method' in first) || ('req' in first && 'res' in first));
  if (looksLikeRequest || argumentCount >= middlewareArity) {
    throw configError(
      'options',
      'misuse',
      `ssoSignOut is a factory: mount \`ssoSignOut({ region: … })\`, not \`ssoSignOut\` itself, e.g. ${example}.`,
    );
  }
}

/** Whether a hook's return value is a promise, of this realm or another (any object with a `then`). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
