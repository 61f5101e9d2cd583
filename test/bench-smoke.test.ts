// `npm run bench --smoke`: the whole benchmark with tiny counts, so it cannot rot. Its figures are
// meaningless at this size and nothing here judges them; `npm run bench` does.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const verdict = '(met|NOT MET)';
// A paired ratio: the median of the rounds, with their range when there is more than one.
const ratio = '[\\d.]+(?: \\[[\\d.]+–[\\d.]+\\])?';

it('runs every part of the benchmark end to end and prints each figure beside its target', async () => {
  const script = fileURLToPath(new URL('../bench/run.js', import.meta.url));
  const { stdout } = await run(process.execPath, [script, '--smoke'], { timeout: 230_000 });
  const lines = [
    /what Chrome sends for\s+a same-origin form POST/,
    ...[32, 128].flatMap((c) =>
      ['ours', 'limit', 'limit\\+client', 'peer'].map(
        (route) => new RegExp(`^\\s+${String(c)}\\s+${route}\\s+\\d+`, 'm'),
      ),
    ),
    ...[32, 128].map(
      (c) =>
        new RegExp(
          `at ${String(c)}: ours/limit throughput ${ratio} \\(target ≥ 0\\.92: ${verdict}\\); ours/limit CPU per sign-out ${ratio} \\(judged side by side, below\\); ours/peer throughput ${ratio} \\(target ≥ 1\\.5: ${verdict}\\)`,
        ),
    ),
    ...[32, 128].map(
      (c) =>
        new RegExp(
          `where the CPU gap to the limit lies, at ${String(c)}: limit\\+client/limit ${ratio} \\(the Logout client: .*\\); ours/limit\\+client ${ratio} \\(the route: `,
        ),
    ),
    ...[32, 128].map(
      (c) =>
        new RegExp(
          `at ${String(c)}, side by side: ours/limit CPU per sign-out ${ratio} \\(target ≤ 1\\.1: ${verdict}\\); ours \\d+ µs, limit \\d+ µs`,
        ),
    ),
    /V8 inline-cache misses per sign-out \(200 at 32 connections, counted in V8's log\): limit [\d.]+, limit\+client [\d.]+, ours [\d.]+; ours − limit\+client -?[\d.]+/,
    /V8 garbage collection per sign-out \(200 at 32 connections, fresh app per route, V8's GCProfiler;[^)]*\): limit [\d.]+ scavenges per 1000, -?[\d.]+ KiB promoted, \d+ µs; limit\+client [\d.]+ scavenges per 1000, -?[\d.]+ KiB promoted, \d+ µs; ours [\d.]+ scavenges per 1000, -?[\d.]+ KiB promoted, \d+ µs/,
    new RegExp(`cold start, import in a fresh process .* ratio [\\d.]+ \\(target ≤ 0\\.33: ${verdict}\\)`),
    /cold start, a fresh app process \(ours\): import [\d.]+ ms, route made [\d.]+ ms, first sign-out answered [\d.]+ ms/,
    /cold start, a fresh app process \(peer\): import [\d.]+ ms/,
    new RegExp(`ours/peer, process start to first sign-out answered: [\\d.]+ \\(target ≤ 1: ${verdict}\\)`),
    /install footprint: sso-signout \d+ runtime packages/,
    new RegExp(`hanging portal .* max \\d+ ms; answered 504: 20 \\(target max ≤ 1100 ms: ${verdict}\\)`),
    /throttling portal \(429 with Retry-After: 1/,
    /^\s+ours\s+upstream calls\s+\d+, tokens revoked\s+\d+; answered 303 \d+, 429 \d+/m,
    /^\s+limit upstream calls\s+\d+/m,
    /^\s+peer\s+upstream calls\s+\d+/m,
    new RegExp(
      `memory over 1000 sign-outs \\(ours, heap after GC, a fresh app process\\): before the first [\\d.]+ MiB`,
    ),
    new RegExp(
      `from cold [+-][\\d.]+ MiB \\(target ≤ 8 MiB: ${verdict}\\); over the second half [+-][\\d.]+ MiB \\(target ≤ 1 MiB: ${verdict}\\)`,
    ),
  ];
  for (const line of lines) expect(stdout).toMatch(line);
}, 240_000);
