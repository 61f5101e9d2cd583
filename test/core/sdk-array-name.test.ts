// An error name in a one-element JSON array (`{"__type":["UnauthorizedException"]}`): the official
// SDK reads it as the name, this client reads no name. The README lists the difference; this test
// keeps the listing true.

import { LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, type LogoutClient } from 'sso-signout';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { classifyResponse } from '../../src/core/logout/classify.js';

let portal: FakePortal;
let sdk: SSOClient;
let ours: LogoutClient;

beforeAll(async () => {
  portal = await startFakePortal();
  sdk = new SSOClient({ region: 'us-east-1', endpoint: portal.url, maxAttempts: 1 });
  ours = createLogoutClient({ endpoint: portal.url, maxAttempts: 1 });
});
afterAll(async () => {
  sdk.destroy();
  await ours.close();
  await portal.close();
});

const BODIES = ['{"__type":["UnauthorizedException"]}', '{"code":["UnauthorizedException"]}'];

describe('an error name in a one-element JSON array', () => {
  it.each(BODIES)('%s at 401: the SDK reads the name, this client reads none', async (body) => {
    portal.enqueue({ kind: 'status', status: 401, body });
    const error = await sdk.send(new LogoutCommand({ accessToken: 'token' })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('UnauthorizedException');

    portal.enqueue({ kind: 'status', status: 401, body });
    const result = await ours.logout({ accessToken: portal.issueToken() });
    expect(result).toMatchObject({ outcome: 'bad_response', errorName: undefined, upstreamStatus: 401 });
    expect(classifyResponse(401, {}, body)).toMatchObject({ outcome: 'bad_response', errorName: undefined });
  });

  it('is listed in the README among the intended differences from the SDK', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Conformance with the official SDK'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| disagreement')));
    expect(table).toContain('`{"__type":["UnauthorizedException"]}`');
  });
});
