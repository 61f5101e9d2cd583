// Every kind of undici dispatcher a user may inject — Agent, Pool, ProxyAgent, EnvHttpProxyAgent,
// MockAgent — from undici 7 and from undici 8, carries the sign-out: revoked, refused and throttled
// answers read right. undici 8 needs Node 22; on an older Node the check runs in a Node 22 from the
// npm registry. The check uses the built package (`npm test` builds it first).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sweep } from './setup/sweep.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./dispatchers/check.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/esm', import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

interface Report {
  readonly node: string;
  readonly results: Record<string, string[]>;
  readonly proxied: number;
  readonly redirect: { outcome: string; upstreamStatus?: number; requests: number; sawToken: number };
  readonly tied: {
    elsewhere: Record<string, string>;
    otherRegion: { outcome: string; reason?: string; attempts: number };
    requests: number;
    sawToken: number;
  };
}

async function check(undici: string, onNode22: boolean): Promise<Report> {
  if (!existsSync(`${dist}/index.js`)) throw new Error('dist/ is missing: run `npm run build` first');
  const native = !onNode22 || major > 22 || (major === 22 && minor >= 19);
  const [command, args] = native
    ? [process.execPath, [script, undici, dist]]
    : [npx, ['-y', '-p', 'node@22', '--', 'node', script, undici, dist]];
  const { stdout, stderr } = await run(command, args, { timeout: 240_000 });
  sweep('child process', `${stdout}\n${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Report;
}

describe.each([
  ['undici 7', 'undici', false],
  ['undici 8', 'undici8', true],
] as const)('dispatchers from %s', (_label, undici, onNode22) => {
  // One run of the check answers every test here.
  let checked: Promise<Report> | undefined;
  const reported = (): Promise<Report> => (checked ??= check(undici, onNode22));

  it('each reads a revoked, a refused and a throttled answer right, through a proxy where one is used', async () => {
    const report = await reported();
    const expected = ['revoked', 'rejected', 'throttled'];
    expect(report.results).toEqual({
      Agent: expected,
      Pool: expected,
      ProxyAgent: expected,
      EnvHttpProxyAgent: expected,
      MockAgent: expected,
    });
    // Three sign-outs each through ProxyAgent and EnvHttpProxyAgent went through the proxy.
    expect(report.proxied).toBeGreaterThanOrEqual(2);
    if (onNode22) expect(report.node.startsWith('v2')).toBe(true);
  }, 300_000);

  it('a dispatcher that follows redirects does not follow the portal’s: the token goes nowhere else', async () => {
    const { redirect } = await reported();
    // The 307 is what was read: not a token revoked on the word of the server it named.
    expect(redirect).toEqual({ outcome: 'bad_response', upstreamStatus: 307, requests: 0, sawToken: 0 });
  }, 300_000);

  it('a Client or Pool made for another origin than the portal is refused, and sends a token nowhere', async () => {
    const { tied } = await reported();
    const refused = 'SignOutConfigError: dispatcher conflict';
    expect(tied).toEqual({
      elsewhere: {
        Client: refused,
        Pool: refused,
        'Pool + retry interceptor': refused,
        BalancedPool: refused,
        MockPool: refused,
        'BalancedPool, upstream added later': 'not_sent dispatcher_origin',
      },
      // A Pool for one region's portal: a token of another region is not sent through it.
      otherRegion: { outcome: 'not_sent', reason: 'dispatcher_origin', attempts: 0 },
      requests: 0,
      sawToken: 0,
    });
  }, 300_000);
});
