// The token sweep, for the whole run: scans everything the workers and the console recorded for
// any token the fake portal issued, and fails the run on a find. (test/sweep.test.ts checks that
// the recording itself works.)

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The shape of every token `startFakePortal().issueToken()` makes.
const ISSUED_TOKEN = /aoa[A-Za-z0-9_-]{64}:[A-Za-z0-9_-]{32}/;

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'sso-signout-sweep-'));
  const file = join(dir, 'sweep.jsonl');
  writeFileSync(file, '');
  process.env.SSO_SIGNOUT_SWEEP_FILE = file;
  return () => {
    const records = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { kind: string; text: string });
    rmSync(dir, { recursive: true, force: true });
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
    const found = records.filter((r) => ISSUED_TOKEN.test(r.text));
    const summary = [...counts].map(([kind, n]) => `${String(n)} ${kind}`).join(', ');
    // vitest reports an error thrown here but still exits 0, so the failure sets the exit code too.
    const fail = (message: string): never => {
      process.exitCode = 1;
      throw new Error(message);
    };
    if (found.length > 0) {
      const where = found.slice(0, 5).map((r) => `${r.kind}: ${r.text.slice(0, 200)}`);
      fail(`token sweep: ${String(found.length)} outputs contain an issued token:\n${where.join('\n')}`);
    }
    console.log(`token sweep: ${summary} scanned; no issued token in any of them`);
  };
}
