// The framework-neutral core on its own: a plain request description in, a plain answer out.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import type { SessionBinding, SignOutRequest } from '../../src/core/route/request.js';
import { createSignOutCore } from '../../src/core/route/route.js';
import { plainRequest as plainRequestOf } from '../helpers/plain-request.js';

let portal: FakePortal;
beforeAll(async () => {
  portal = await startFakePortal();
});
afterAll(async () => {
  await portal.close();
});

function plainRequest(overrides: Partial<SignOutRequest<null>> = {}): SignOutRequest<null> {
  return plainRequestOf(session({}, { value: false }), overrides);
}

function session(data: unknown, ended: { value: boolean }): SessionBinding {
  return {
    kind: 'supported',
    data,
    current: () => (ended.value ? undefined : data),
    sessionLives: () => !ended.value,
    cookies: () => [{ detectedName: 'sid', defaultName: 'connect.sid', path: '/', httpOnly: true }],
    end: () => {
      ended.value = true;
      return Promise.resolve();
    },
  };
}

describe('sign-out core', () => {
  it('revokes, ends the session and answers 303 with the clearing cookie', async () => {
    const core = createSignOutCore<null>({ endpoint: portal.url, destination: '/bye' });
    const token = portal.issueToken();
    const ended = { value: false };
    const answer = await core.handle(plainRequest({ session: session({ sso: { accessToken: token } }, ended) }));
    expect(answer.status).toBe(303);
    expect(answer.headers).toContainEqual(['location', '/bye']);
    expect(answer.headers).toContainEqual([
      'set-cookie',
      'sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly',
    ]);
    expect(ended.value).toBe(true);
    expect(portal.isActive(token)).toBe(false);
    await core.client.close();
  });

  it('keeps the retry form action on this site for a request-target starting with //', async () => {
    const core = createSignOutCore<null>({ endpoint: portal.url });
    portal.enqueue({ kind: 'throttle', retryAfter: 9 });
    const ended = { value: false };
    const answer = await core.handle(
      plainRequest({
        url: '//evil.example/signout',
        session: session({ sso: { accessToken: portal.issueToken() } }, ended),
      }),
    );
    expect(answer.status).toBe(429);
    expect(answer.body).toContain('<form method="post" action="/evil.example/signout">');
    expect(ended.value).toBe(false);
    await core.client.close();
  });

  it('vets relative destinations even when the request names no host', async () => {
    const core = createSignOutCore<null>({ endpoint: portal.url });
    const answer = await core.handle(
      plainRequest({ address: () => ({ protocol: 'http', host: undefined }), query: () => '/next' }),
    );
    expect(answer.headers).toContainEqual(['location', '/next']);
    const refused = await core.handle(
      plainRequest({ address: () => ({ protocol: 'http', host: undefined }), query: () => '//evil.example' }),
    );
    expect(refused.headers).toContainEqual(['location', '/']);
    await core.client.close();
  });

  it('answers 500 session_missing, calling and changing nothing, when no session middleware ran', async () => {
    portal.reset();
    const core = createSignOutCore<null>({ endpoint: portal.url });
    const answer = await core.handle(
      plainRequest({ session: { kind: 'none' }, headers: { accept: 'application/json' } }),
    );
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body ?? '')).toMatchObject({ code: 'session_missing', signedOut: false });
    expect(answer.headers.some(([name]) => name === 'set-cookie')).toBe(false);
    expect(portal.calls).toHaveLength(0);
    await core.client.close();
  });

  it('links pages that leave the user signed in back to appHome, and says how long to wait', async () => {
    const core = createSignOutCore<null>({ endpoint: portal.url, appHome: '/dashboard' });
    portal.enqueue({ kind: 'throttle', retryAfter: 9 });
    const answer = await core.handle(
      plainRequest({ session: session({ sso: { accessToken: portal.issueToken() } }, { value: false }) }),
    );
    expect(answer.status).toBe(429);
    expect(answer.body).toContain('<a href="/dashboard">Back to the app</a>');
    expect(answer.body).toContain('You can try again in 9 seconds.');
    expect(() => createSignOutCore<null>({ endpoint: portal.url, appHome: '//evil.example' })).toThrow(/appHome/);
    await core.client.close();
  });

  it('survives an event hook and a render function that throw', async () => {
    const core = createSignOutCore<null>({
      endpoint: portal.url,
      onEvent: () => {
        throw new Error('logger down');
      },
      render: () => {
        throw new Error('template missing');
      },
    });
    portal.enqueue('unauthorized');
    const answer = await core.handle(
      plainRequest({ session: session({ sso: { accessToken: portal.issueToken() } }, { value: false }) }),
    );
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('had already ended');
    await core.client.close();
  });
});
