// The token sweep records what it must: events, typed errors, and output. Without this, a broken
// sweep would pass every run.

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { startFakePortal } from 'sso-signout/testing';
import { createSignOutCore } from '../src/core/route/route.js';

function records(): { kind: string; text: string }[] {
  const file = process.env.SSO_SIGNOUT_SWEEP_FILE;
  if (file === undefined) throw new Error('the sweep is not set up (vitest globalSetup)');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { kind: string; text: string });
}

it('records every event, every typed error and written output for the end-of-run scan', async () => {
  const portal = await startFakePortal();
  const core = createSignOutCore<null>({ endpoint: portal.url });
  const marker = `sweep-check-${String(Date.now())}`;
  portal.enqueue({ kind: 'throttle', retryAfter: 9 });
  await core.handle({
    native: null,
    method: 'POST',
    headers: { 'x-marker': marker },
    address: () => ({ protocol: 'https', host: 'portal.example.com' }),
    url: '/signout',
    query: () => undefined,
    body: () => Promise.resolve(undefined),
    session: {
      kind: 'supported',
      data: { sso: { accessToken: portal.issueToken() } },
      current: () => undefined,
      sessionLives: () => false,
      cookies: () => [],
      end: () => Promise.resolve(),
    },
  });
  process.stderr.write(`${marker}\n`);
  const seen = records();
  expect(seen.some((r) => r.kind === 'event' && r.text.includes('"code":"sso_throttled"'))).toBe(true);
  expect(
    seen.some((r) => r.kind === 'error' && r.text.includes('sso_throttled') && r.text.includes('SignOutError')),
  ).toBe(true);
  expect(seen.some((r) => r.kind === 'output' && r.text.includes(marker))).toBe(true);
  await core.client.close();
  await portal.close();
});
