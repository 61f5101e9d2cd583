// The built entry points export exactly what the sources do, in both formats; the entries are the
// ones package.json exports, and the adapters' entries are peers with the same shared exports.

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const names = (module: object) => Object.keys(module).sort();

describe.each([
  ['index', () => import('../../src/index.js')],
  ['express', () => import('../../src/express.js')],
  ['koa', () => import('../../src/koa.js')],
  ['fastify', () => import('../../src/fastify.js')],
  ['fetch', () => import('../../src/fetch.js')],
  ['testing/index', () => import('../../src/testing/index.js')],
  ['express-session', () => import('../../src/express-session.js')],
  ['koa-session', () => import('../../src/koa-session.js')],
])('dist/*/%s', (entry, source) => {
  it('exports the same names as its source, as ESM and as CommonJS', async () => {
    const expected = names(await source());
    const esm = pathToFileURL(fileURLToPath(new URL(`../../dist/esm/${entry}.js`, import.meta.url))).href;
    expect(names((await import(/* @vite-ignore */ esm)) as object)).toEqual(expected);
    expect(names(require(`../../dist/cjs/${entry}.js`) as object)).toEqual(expected);
  });
});

describe('entry points', () => {
  it('are exactly the ones package.json exports, each built in both formats', () => {
    const { entryPoints } = require('../../scripts/build.cjs') as { entryPoints: () => Record<string, string> };
    expect(Object.keys(entryPoints()).sort()).toEqual(
      ['express', 'express-session', 'fastify', 'fetch', 'index', 'koa', 'koa-session', 'testing/index'].sort(),
    );
  });

  it('sso-signout is sso-signout/express, and the adapters export the same shared names', async () => {
    const [index, express, koa, fastify, fetch, shared] = await Promise.all([
      import('../../src/index.js'),
      import('../../src/express.js'),
      import('../../src/koa.js'),
      import('../../src/fastify.js'),
      import('../../src/fetch.js'),
      import('../../src/common-exports.js'),
    ]);
    expect(index).toStrictEqual(express);
    expect(names(koa)).toEqual(names(express));
    expect(koa.ssoSignOut).not.toBe(express.ssoSignOut);
    expect(koa.guardSessionStore).not.toBe(express.guardSessionStore);
    expect(koa.SignOutError).toBe(express.SignOutError);
    // Fastify: the same as Express, and its plugin; the store guard is express-session's, whose
    // store interface @fastify/session shares.
    expect(names(fastify)).toEqual([...names(express), 'ssoSignOutPlugin'].sort());
    expect(fastify.guardSessionStore).toBe(express.guardSessionStore);
    // fetch: no session middleware, so no route of the others' shape, no store guard, no session id.
    expect(names(fetch)).toEqual([...names(shared), 'createSignOutHandler'].sort());
    expect(fetch.SignOutError).toBe(express.SignOutError);
  });

  it('shares one copy of the core between the ES module entries', async () => {
    const url = (entry: string) =>
      pathToFileURL(fileURLToPath(new URL(`../../dist/esm/${entry}.js`, import.meta.url))).href;
    const express = (await import(/* @vite-ignore */ url('express'))) as { SignOutError: unknown };
    for (const entry of ['koa', 'fastify', 'fetch']) {
      const other = (await import(/* @vite-ignore */ url(entry))) as { SignOutError: unknown };
      expect(other.SignOutError).toBe(express.SignOutError);
    }
  });
});

describe('importing an entry', () => {
  // What the route needs only once it serves: importing the package must not pay for it.
  const FIRST_USE = ['node:crypto', 'undici', 'cookie', 'negotiator'];
  const loaded = `
    const loaded = (id) => id.startsWith('node:')
      ? process.moduleLoadList.includes('NativeModule ' + id.slice(5))
      : Object.keys(require.cache).some((file) => file.includes('/node_modules/' + id + '/'));
    const before = ${JSON.stringify(FIRST_USE)}.filter(loaded);`;
  // What the code between the two loaded, of those (Node's own start-up may load node:crypto first).
  const probe = (code: string): string =>
    `${loaded} ${code}; process.stdout.write(JSON.stringify(${JSON.stringify(FIRST_USE)}.filter((id) => loaded(id) && !before.includes(id))));`;
  const run = (args: string[]): string[] =>
    JSON.parse(
      execFileSync(process.execPath, args, { cwd: fileURLToPath(new URL('../..', import.meta.url)) }).toString(),
    ) as string[];

  it.each(['sso-signout', 'sso-signout/koa', 'sso-signout/fastify', 'sso-signout/fetch'])(
    '%s loads none of node:crypto, undici, cookie, negotiator, as ESM or as CommonJS, until a sign-out needs them',
    (entry) => {
      const esm = run([
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module'; const require = createRequire(process.cwd() + '/'); ${probe(`await import('${entry}')`)}`,
      ]);
      const cjs = run(['-e', probe(`require('${entry}')`)]);
      expect({ esm, cjs }).toEqual({ esm: [], cjs: [] });
    },
  );

  it('the probe sees what a Logout call loads', () => {
    const used = run([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module'; const require = createRequire(process.cwd() + '/'); ${probe(
        `const { createLogoutClient } = await import('sso-signout'); await createLogoutClient({ endpoint: 'http://127.0.0.1:1', timeoutMs: 200 }).logout({ accessToken: 'x'.repeat(20) })`,
      )}`,
    ]);
    expect(used).toEqual(expect.arrayContaining(['node:crypto', 'undici']));
  });
});
