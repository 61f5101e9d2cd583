// The token sweep, in each test worker: records every event, every typed error (message, JSON,
// inspect) and everything written to stdout and stderr, for the scan at the end of the run.

import { appendFileSync } from 'node:fs';
import { subscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';

const file = process.env.SSO_SIGNOUT_SWEEP_FILE;

/** Adds text to the sweep. Tests call it for output they capture themselves (child processes). */
export function sweep(kind: string, text: string): void {
  if (file === undefined) return;
  appendFileSync(file, `${JSON.stringify({ kind, text })}\n`);
}

if (file !== undefined) {
  subscribe('sso-signout:event', (event) => {
    sweep('event', JSON.stringify(event));
  });
  subscribe('sso-signout:error', (error) => {
    const e = error as Error;
    sweep('error', [e.message, JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })].join('\n'));
  });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = (chunk: unknown, ...rest: unknown[]) => {
      sweep('output', typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return write(chunk, ...rest);
    };
  }
}
