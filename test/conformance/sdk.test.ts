// Conformance with the official SDK (`@aws-sdk/client-sso`) as the oracle: wire request, error names, endpoints.

import { LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutClient, portalEndpoint, type LogoutClient } from 'sso-signout';
import { classifyResponse } from '../../src/core/logout/classify.js';
import { KNOWN_REGIONS, regionalEndpoint } from '../../src/core/logout/endpoint.js';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';

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

describe('the request', () => {
  it('equals the one LogoutCommand sends: POST /logout, the token header, no body, no content-type', async () => {
    portal.reset();
    const token = portal.issueToken();
    await sdk.send(new LogoutCommand({ accessToken: token }));
    const token2 = portal.issueToken();
    const result = await ours.logout({ accessToken: token2 });
    expect(result.outcome).toBe('revoked');
    const [theirs, mine] = portal.calls;
    for (const call of [theirs, mine]) expect(call).toBeDefined();
    expect(mine?.method).toBe(theirs?.method);
    expect(mine?.method).toBe('POST');
    expect(mine?.path).toBe(theirs?.path);
    expect(mine?.path).toBe('/logout');
    expect(theirs?.token).toBe(token);
    expect(mine?.token).toBe(token2);
    expect(mine?.body).toBe(theirs?.body);
    expect(mine?.body).toBe('');
    expect(mine?.headers['content-type']).toBe(theirs?.headers['content-type']);
    expect(mine?.headers['content-type']).toBeUndefined();
    expect(mine?.headers['content-length']).toBe('0');
    // No SigV4: the operation is `auth: none` and neither client signs it.
    for (const call of [theirs, mine]) {
      expect(call?.headers.authorization).toBeUndefined();
      expect(call?.headers['x-amz-date']).toBeUndefined();
    }
  });
});

describe('modelled errors', () => {
  // The full matrix of names, statuses and bodies is in differential.test.ts.
  it.each([
    ['unauthorized', 'UnauthorizedException', 'rejected'],
    ['invalid-request', 'InvalidRequestException', 'rejected'],
    ['throttle', 'TooManyRequestsException', 'throttled'],
  ] as const)('classifies the modelled %s answer as the SDK does', async (reply, sdkClass, outcome) => {
    portal.enqueue(reply);
    const error = await sdk.send(new LogoutCommand({ accessToken: 'token' })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.constructor.name).toBe(sdkClass);
    portal.enqueue(reply);
    const result = await ours.logout({ accessToken: portal.issueToken() });
    expect(result.errorName).toBe(sdkClass);
    expect(result.outcome).toBe(outcome);
    expect(result.message).toBe((error as Error).message);
  });
});

interface PartitionData {
  readonly partitions: readonly {
    readonly id: string;
    readonly regionRegex: string;
    readonly regions: Record<string, unknown>;
  }[];
}

async function sdkPartitions(): Promise<PartitionData> {
  // The SDK does not export its partition list; read it from the package that ships it.
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@aws-sdk/core/package.json'));
  const file = join(root, 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js');
  const module = (await import(pathToFileURL(file).href)) as { partitionsInfo: PartitionData };
  return module.partitionsInfo;
}

describe('endpoints', () => {
  it('equal the SDK endpoint provider for every partition, region, FIPS and dual-stack', async () => {
    const data = await sdkPartitions();
    const regions = new Set<string>(['xx-unknown-1', 'local']);
    for (const partition of data.partitions) {
      for (const region of Object.keys(partition.regions)) regions.add(region);
    }
    // Every partition the rules know, including ones this code was written before.
    const ids = data.partitions.map((p) => p.id);
    for (const id of ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc']) {
      expect(ids).toContain(id);
    }
    const mismatches: string[] = [];
    let compared = 0;
    for (const region of regions) {
      for (const UseFIPS of [false, true]) {
        for (const UseDualStack of [false, true]) {
          const theirs = sdk.config.endpointProvider({ Region: region, UseFIPS, UseDualStack }).url.href;
          const mine = new URL(regionalEndpoint(region, { useFips: UseFIPS, useDualStack: UseDualStack })).href;
          compared++;
          if (theirs !== mine)
            mismatches.push(`${region} fips=${String(UseFIPS)} dual=${String(UseDualStack)}: ${theirs} vs ${mine}`);
        }
      }
    }
    expect(compared).toBeGreaterThan(200);
    expect(mismatches).toEqual([]);
  });

  it('matches the contract table for aws-us-gov FIPS (no -fips host), with the client’s option names', () => {
    expect(portalEndpoint('us-gov-west-1', { useFipsEndpoint: true })).toBe(
      'https://portal.sso.us-gov-west-1.amazonaws.com',
    );
    expect(portalEndpoint('us-gov-west-1', { useFipsEndpoint: true, useDualstackEndpoint: true })).toBe(
      'https://portal.sso-fips.us-gov-west-1.api.aws',
    );
    expect(portalEndpoint('cn-north-1', { useDualstackEndpoint: true })).toBe(
      'https://portal.sso.cn-north-1.api.amazonwebservices.com.cn',
    );
    expect(portalEndpoint('eu-west-1')).toBe('https://portal.sso.eu-west-1.amazonaws.com');
  });

  it('knows every region of every partition the SDK lists, no more and no fewer', async () => {
    const data = await sdkPartitions();
    const theirs = data.partitions.flatMap((p) => Object.keys(p.regions)).sort();
    expect(theirs.length).toBeGreaterThan(50);
    expect([...KNOWN_REGIONS].sort()).toEqual(theirs);
  });

  it('refuses a custom endpoint with FIPS or dual-stack, as the SDK does', () => {
    expect(() =>
      sdk.config.endpointProvider({
        Region: 'us-east-1',
        UseFIPS: true,
        UseDualStack: false,
        Endpoint: 'https://x.example',
      }),
    ).toThrow(/FIPS/);
    expect(() => createLogoutClient({ endpoint: 'https://x.example', useFipsEndpoint: true })).toThrow(
      /useFipsEndpoint/,
    );
    expect(() => createLogoutClient({ endpoint: 'https://x.example', useDualstackEndpoint: true })).toThrow(
      /useDualstackEndpoint/,
    );
  });
});

// An error name in a one-element JSON array (`{"__type":["UnauthorizedException"]}`): the SDK reads it
// as the name, this client reads no name. The README lists the difference; this keeps the listing true.
const BODIES = ['{"__type":["UnauthorizedException"]}', '{"code":["UnauthorizedException"]}'];

describe('an error name in a one-element JSON array', () => {
  it.each(BODIES)('%s at 401: the SDK reads the name, this client reads none', async (body) => {
    portal.reset();
    portal.enqueue({ kind: 'status', status: 401, body });
    const error = await sdk.send(new LogoutCommand({ accessToken: 'token' })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('UnauthorizedException');

    // A client of its own: the tests above leave this file's client a throttle window.
    const fresh = createLogoutClient({ endpoint: portal.url, maxAttempts: 1 });
    portal.enqueue({ kind: 'status', status: 401, body });
    const result = await fresh.logout({ accessToken: portal.issueToken() });
    await fresh.close();
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
