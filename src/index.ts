// Public entry point: the Express route, the Logout client and the types they speak.

export { ssoSignOut } from './express.js';
export type { ExpressSignOutOptions, SignOutMiddleware } from './express.js';
export { createLogoutClient, MAX_ERROR_BODY_BYTES } from './core/logout-client.js';
export type {
  LogoutClient,
  LogoutClientOptions,
  LogoutInput,
  LogoutReason,
  LogoutResult,
} from './core/logout-client.js';
export type { UpstreamOutcome } from './core/classify.js';
export { portalEndpoint } from './core/endpoint.js';
export { guardSessionStore } from './core/session-guard.js';
export type { ExpressSessionStoreLike, SessionGuardOptions } from './core/session-guard.js';
export { SignOutConfigError, SignOutError } from './core/errors.js';
export type { SignOutErrorCode } from './core/errors.js';
export type { CookieToClear } from './core/cookies.js';
export type {
  ClearSiteDataDirective,
  RenderOutput,
  SignOutEvent,
  SignOutOptions,
  SignOutResult,
  TokenInfo,
} from './core/options.js';
export type { UpstreamReport } from './core/outcomes.js';
export type { ReturnToRejection } from './core/return-to.js';
