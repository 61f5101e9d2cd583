// The sign-in a sign-out revokes, and what counts as a sendable access token: anything else is refused locally and never sent.

/**
 * An IAM Identity Center sign-in as an app keeps it in its session (`session.sso` by default): the
 * access token, and optionally the region of the IAM Identity Center instance that issued it (it
 * wins over the configured one).
 */
export interface TokenInfo {
  readonly accessToken: string;
  readonly region?: string | undefined;
}

/** Longer than any real IAM Identity Center access token by a wide margin. */
export const MAX_TOKEN_LENGTH = 8192;

// Visible ASCII only: no spaces, no CR/LF/NUL, nothing a header value could be split or smuggled by.
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

/** The token when it can be sent in a header as it is, otherwise undefined. */
export function checkAccessToken(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TOKEN_LENGTH) return undefined;
  return TOKEN_SHAPE.test(value) ? value : undefined;
}
