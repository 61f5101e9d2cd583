// A sign-out request described as the framework-neutral core takes it, with no framework around it.

import type { SessionBinding, SignOutRequest } from '../../src/core/route/request.js';

/** A plain `POST /signout` on https://portal.example.com, with `session` and any part overridden. */
export function plainRequest(
  session: SessionBinding,
  overrides: Partial<SignOutRequest<null>> = {},
): SignOutRequest<null> {
  return {
    native: null,
    method: 'POST',
    headers: {},
    address: () => ({ protocol: 'https', host: 'portal.example.com' }),
    url: '/signout',
    query: () => undefined,
    body: () => Promise.resolve(undefined),
    session,
    ...overrides,
  };
}
