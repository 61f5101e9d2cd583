// `npm run bench --smoke`: the whole benchmark with tiny counts, so it cannot rot. Its figures are
// meaningless at this size and nothing here judges them; `npm run bench` does.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('runs every part of the benchmark end to end and prints each figure beside its target', async () => {
  const script = fileURLToPath(new URL('../bench/run.js', import.meta.url));
  const { stdout } = await run(process.execPath, [script, '--smoke'], { timeout: 170_000 });
  for (const line of [
    /^ours\s+\d+/m,
    /^limit\s+\d+/m,
    /^peer\s+\d+/m,
    /ours\/limit throughput [\d.]+ \(target ≥ 0\.9: (met|NOT MET)\)/,
    /ours\/limit CPU per sign-out [\d.]+ \(target ≤ 1\.15: (met|NOT MET)\)/,
    /ours\/peer throughput [\d.]+ \(target ≥ 1\.5: (met|NOT MET)\)/,
    /cold start .* ratio [\d.]+ \(target ≤ 0\.33: (met|NOT MET)\)/,
    /install footprint: sso-signout \d+ runtime dependencies/,
    /hanging portal .* max \d+ ms; answered 504: 20 \(target max ≤ 1100 ms: (met|NOT MET)\)/,
    /throttled portal .* upstream calls ours \d+, limit \d+, peer \d+/,
    /memory over 1000 sign-outs .* \(target heap growth < 20 MiB: (met|NOT MET)\)/,
  ]) {
    expect(stdout).toMatch(line);
  }
}, 180_000);
