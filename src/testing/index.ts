// `sso-signout/testing`: a fake IAM Identity Center portal for apps' own sign-out tests.

export { startFakePortal } from './fake-portal.js';
export type { FakePortal, FakePortalOptions, PortalCall, PortalReply, PortalReplyKind } from './fake-portal.js';
