// A sign-out posted as a browser's form asking for return_to=/x, on a route whose destination is
// `/bye`, where the return_to cannot be read: the browser is sent to `/bye`, signed out.

import request from 'supertest';
import { expect } from 'vitest';
import type { SignOutEvent } from 'sso-signout';

/** Posts the form, checks the browser goes to `/bye` and onEvent heard a completed sign-out; the answer. */
export async function signedOutToDefault(
  app: Parameters<typeof request>[0],
  cookie: string,
  events: readonly SignOutEvent[],
): Promise<request.Response> {
  const res = await request(app)
    .post('/signout')
    .set('Cookie', cookie)
    .type('form')
    .send({ return_to: '/x' })
    .expect(303);
  expect(res.headers.location).toBe('/bye');
  expect(events.find((event) => event.type === 'signout')).toMatchObject({ signedOut: true, upstream: 'revoked' });
  return res;
}
