// A busy app: this process kept from its event loop, and servers in a process of their own that
// answer meanwhile, so the answer is waiting in a socket when the app frees up.

import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Keeps this process busy for `ms`, as a loaded app is between two turns of its event loop. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Nothing else runs meanwhile: timers fall due and answers wait in their sockets.
  }
}

const SERVERS = {
  // Echoes every byte at once.
  echo: "require('node:net').createServer((c) => c.pipe(c))",
  // Answers every request 200 with an empty body, as the portal's Logout does, 30 ms after it came.
  ok: "require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => setTimeout(() => s.end(), 30)); })",
} as const;

/** A loopback server of `kind` in a child process: its port, and how to stop it. */
export async function serverElsewhere(
  kind: keyof typeof SERVERS,
): Promise<{ port: number; close: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['-e', `${SERVERS[kind]}.listen(0, '127.0.0.1', function () { console.log(this.address().port); });`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // Its port, or the reason it has none (a child that dies before listening fails the test at once).
  const [line] = (await Promise.race([
    once(child.stdout, 'data'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the ${kind} server exited with ${String(code)} before it listened`);
    }),
  ])) as [Buffer];
  return {
    port: Number(String(line).trim()),
    close: async () => {
      child.kill();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}
