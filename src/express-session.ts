// `sso-signout/express-session`: opt-in typing of the sign-in where the route looks for it by default.

import type {} from 'express-session';
import type { TokenInfo } from './core/token.js';

/**
 * Importing this module (`import 'sso-signout/express-session'`, or `import type {} from …`) adds
 * `sso` to express-session's `SessionData`, so `req.session.sso = { accessToken, region }` at
 * sign-in and `req.session.sso` in a `getToken` type-check under `strict`.
 *
 * @example
 * import 'sso-signout/express-session';
 * app.post('/signin/callback', async (req, res) => {
 *   req.session.sso = { accessToken: tokens.accessToken, region: 'eu-west-1' };
 *   res.redirect('/');
 * });
 */
declare module 'express-session' {
  interface SessionData {
    /** The IAM Identity Center sign-in the sign-out route revokes. */
    sso?: TokenInfo;
  }
}

export type { TokenInfo };
