import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import the package by its public names; these resolve them to the sources.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^sso-signout\/testing$/, replacement: source('./src/testing/index.ts') },
      { find: /^sso-signout\/koa$/, replacement: source('./src/koa.ts') },
      { find: /^sso-signout\/fastify$/, replacement: source('./src/fastify.ts') },
      { find: /^sso-signout\/fetch$/, replacement: source('./src/fetch.ts') },
      { find: /^sso-signout\/express$/, replacement: source('./src/express.ts') },
      { find: /^sso-signout\/express-session$/, replacement: source('./src/express-session.ts') },
      { find: /^sso-signout\/koa-session$/, replacement: source('./src/koa-session.ts') },
      { find: /^sso-signout$/, replacement: source('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The token sweep: workers record outputs, events and errors; the run fails on any token.
    globalSetup: ['test/setup/global.ts'],
    setupFiles: ['test/setup/sweep.ts'],
    onConsoleLog(log) {
      const file = process.env.SSO_SIGNOUT_SWEEP_FILE;
      if (file !== undefined) appendFileSync(file, `${JSON.stringify({ kind: 'console', text: log })}\n`);
    },
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
