// The single module both published builds bundle: the entry points (`.` and `./koa`) re-export
// from it, so they share one copy of the core and its classes (`instanceof` holds across them).
export { ssoSignOut as expressSignOut } from './express.js';
export { ssoSignOut as koaSignOut } from './koa.js';
export { createLogoutClient, MAX_ERROR_BODY_BYTES } from './core/logout-client.js';
export { portalEndpoint } from './core/endpoint.js';
export { guardKoaSessionStore, guardSessionStore } from './core/session-guard.js';
export { SignOutConfigError, SignOutError } from './core/errors.js';
