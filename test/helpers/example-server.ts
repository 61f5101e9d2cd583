// An example server (example-app/server.js or koa-server.js) as a child process on a free port.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sweep } from '../setup/sweep.js';

export interface ExampleServer {
  readonly child: ChildProcess;
  /** Everything it has printed, stdout and stderr. */
  readonly output: () => string;
  /** The URL it printed at start, if it started. */
  readonly url: string | undefined;
  /** Settles, with the exit code and signal, when the process has ended. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Ends it (SIGTERM) and waits for that. */
  stop(): Promise<void>;
}

/**
 * Starts the server with `env` on top of this process's (and `PORT=0`). Resolves once its last start-up
 * line is out, or once it has ended (a setting it refuses). What it prints is swept for tokens.
 */
export async function startExampleServer(server: string, env: Record<string, string>): Promise<ExampleServer> {
  const child = spawn(process.execPath, [server], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Development sign-in')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      resolve();
    });
  });
  void exited.then(() => {
    sweep('child process', output);
  });
  return {
    child,
    output: () => output,
    url: /example portal \(\w+\): (http:\/\/[^\s]+)/.exec(output)?.[1],
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
