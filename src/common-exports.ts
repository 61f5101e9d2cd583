// What every framework entry (`sso-signout/express`, `sso-signout/koa`, and `sso-signout`, the
// Express alias) exports besides its own route and session-store guard: the one list of them.

export { createLogoutClient, MAX_ERROR_BODY_BYTES } from './core/logout/client.js';
export type {
  LogoutClient,
  LogoutClientOptions,
  LogoutInput,
  LogoutReason,
  LogoutResult,
} from './core/logout/types.js';
export type { UpstreamOutcome } from './core/logout/classify.js';
export { redisSharedState } from './core/logout/shared-state.js';
export type { RedisSharedStateOptions, SharedState, SharedStateEvent } from './core/logout/shared-state.js';
export { portalEndpoint } from './core/logout/endpoint.js';
export type { PortalEndpointOptions } from './core/logout/endpoint.js';
export type { SessionGuardOptions } from './core/session-guard.js';
export { SignOutConfigError, SignOutError } from './core/errors.js';
export type { ConfigErrorReason, SignOutErrorCode } from './core/errors.js';
export type { TokenInfo } from './core/token.js';
export type { CookieToClear } from './core/route/cookies.js';
export type { ClearSiteDataDirective, RenderOutput, SignOutOptions } from './core/route/options.js';
export type { SignOutEvent } from './core/route/events.js';
export type { SignOutCode, SignOutResult, UpstreamReport } from './core/route/outcomes.js';
export type { ReturnToRejection } from './core/route/return-to.js';
export { redisRevocationQueue } from './core/revocation/queue.js';
export type { RedisRevocationQueueOptions, RevocationEvent, RevocationQueue } from './core/revocation/queue.js';
export type { RevocationKey } from './core/revocation/sealed-token.js';
export { createRevocationWorker } from './core/revocation/worker.js';
export type { RevocationWorker, RevocationWorkerOptions } from './core/revocation/worker.js';
export { redisSessionIndex } from './core/everywhere/session-index.js';
export type { RedisSessionIndexOptions, SessionIndex } from './core/everywhere/session-index.js';
export type { EverywhereReport } from './core/everywhere/elsewhere.js';
export type { EverywhereOptions } from './core/route/options.js';
