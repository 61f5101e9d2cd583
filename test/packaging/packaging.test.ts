// The packed tarball, installed into throwaway ESM, CommonJS and TypeScript projects, works in each.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let root: string;

async function write(dir: string, files: Record<string, string>): Promise<string> {
  const path = join(root, dir);
  await mkdir(path, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(path, name), text);
  return path;
}

/**
 * Type-checks (and, without noEmit, compiles) a project; tsc's report becomes the error message.
 * `only`: fail only on errors in files whose path holds one of these (with skipLibCheck off, other
 * packages' own typings may have errors of their own, which are not this package's to answer for).
 */
async function typecheck(cwd: string, only?: readonly string[]): Promise<void> {
  try {
    await run(process.execPath, [tsc, '-p', '.'], { cwd, timeout: 120_000 });
  } catch (error) {
    const report = String((error as { stdout?: unknown }).stdout);
    const errors = report.split('\n').filter((line) => /error TS\d+/.test(line));
    const ours = only === undefined ? errors : errors.filter((line) => only.some((part) => line.includes(part)));
    if (ours.length > 0 || errors.length === 0) throw new Error(`tsc failed in ${cwd}:\n${report}`);
  }
}

/** A throwaway TypeScript project: a package.json of `type`, a strict tsconfig, one main.ts. */
function tsProject(
  type: 'module' | 'commonjs',
  compilerOptions: Record<string, unknown>,
  source: string,
): Record<string, string> {
  return {
    'package.json': JSON.stringify({ type }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: { target: 'es2022', strict: true, esModuleInterop: true, types: ['node'], ...compilerOptions },
      files: ['main.ts'],
    }),
    'main.ts': source,
  };
}

async function node(cwd: string, file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [file], { cwd, timeout: 30_000 });
  return stdout;
}

// One sign-out through the route against the fake portal; prints "signed out" on success.
const EXPRESS_SCENARIO = `
const portal = await startFakePortal();
const token = portal.issueToken();
const app = express();
app.all('/signout', ssoSignOut({ endpoint: portal.url, getToken: () => token, endSession: () => {} }));
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const res = await fetch('http://127.0.0.1:' + server.address().port + '/signout', { method: 'POST', redirect: 'manual' });
server.close();
await portal.close();
if (res.status !== 303 || portal.isActive(token)) throw new Error('sign-out failed: ' + res.status);
if (typeof koa.ssoSignOut !== 'function' || typeof createLogoutClient !== 'function') throw new Error('exports missing');
console.log('signed out');
`;

const KOA_SCENARIO = `
  const portal = await startFakePortal();
  const token = portal.issueToken();
  const app = new Koa();
  const router = new Router();
  router.all('/signout', koa.ssoSignOut({ endpoint: portal.url, getToken: () => token, endSession: () => {} }));
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const res = await fetch('http://127.0.0.1:' + server.address().port + '/signout', { method: 'POST', redirect: 'manual' });
  server.close();
  await portal.close();
  if (res.status !== 303 || portal.isActive(token)) throw new Error('sign-out failed: ' + res.status);
  if (typeof main.ssoSignOut !== 'function' || !(new main.SignOutError('sso_timeout', { status: 504, title: 't', detail: 'd', signedOut: false }) instanceof koa.SignOutError)) throw new Error('exports missing');
  console.log('signed out');
`;

// The fetch handler with no server: a Request in, a Response out.
const FETCH_SCENARIO = `
const fetchPortal = await startFakePortal();
const fetchToken = fetchPortal.issueToken();
let ended = false;
const handler = createSignOutHandler({ endpoint: fetchPortal.url, getToken: () => fetchToken, endSession: () => { ended = true; } });
const answer = await handler(new Request('http://app.test/signout', { method: 'POST' }));
await fetchPortal.close();
if (answer.status !== 303 || !ended || fetchPortal.isActive(fetchToken)) throw new Error('fetch sign-out failed: ' + answer.status);
console.log('fetch signed out');
`;

// The Fastify plugin, through Fastify's inject.
const FASTIFY_SCENARIO = `
  const fastifyPortal = await startFakePortal();
  const fastifyToken = fastifyPortal.issueToken();
  const fastifyApp = Fastify();
  await fastifyApp.register(fastify.ssoSignOutPlugin, { endpoint: fastifyPortal.url, getToken: () => fastifyToken, endSession: () => {} });
  const reply = await fastifyApp.inject({ method: 'POST', url: '/signout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'return_to=/bye' });
  await fastifyApp.close();
  await fastifyPortal.close();
  if (reply.statusCode !== 303 || reply.headers.location !== '/bye' || fastifyPortal.isActive(fastifyToken)) throw new Error('fastify sign-out failed: ' + reply.statusCode);
  console.log('fastify signed out');
`;

const TS_SOURCE = `
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import { createLogoutClient, ssoSignOut, SignOutError, type SignOutEvent, type LogoutResult } from 'sso-signout';
import { ssoSignOut as koaSignOut, type KoaSignOutOptions } from 'sso-signout/koa';
import Fastify from 'fastify';
import { ssoSignOut as fastifySignOut, ssoSignOutPlugin, type FastifySignOutOptions } from 'sso-signout/fastify';
import { Hono, type Context as HonoContext } from 'hono';
import { createSignOutHandler } from 'sso-signout/fetch';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';

const fastifyOptions: FastifySignOutOptions = { region: 'eu-west-1', getToken: (request) => request.headers['x-token'] as string | undefined };
const fastifyApp = Fastify();
fastifyApp.all('/signout', fastifySignOut(fastifyOptions));
void fastifyApp.register(ssoSignOutPlugin, { path: '/signout2', region: 'eu-west-1' });

const hono = new Hono();
const honoSignOut = createSignOutHandler<HonoContext>({
  region: 'eu-west-1',
  getToken: (request, c) => c.req.header('x-token') ?? request.headers.get('x-token'),
  endSession: () => undefined,
  clearCookies: [{ name: 'portal.sid', httpOnly: true }],
});
hono.all('/signout', (c) => honoSignOut(c.req.raw, c));

const events: SignOutEvent[] = [];
const app = express();
app.all('/signout', ssoSignOut({ region: 'eu-west-1', destination: '/bye', onEvent: (e) => events.push(e) }));
app.all('/signout2', ssoSignOut({ endpoint: 'http://127.0.0.1:1', getToken: (req) => req.get('x-token') }));
app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
  if (err instanceof SignOutError) res.status(err.status).send(err.code);
  else next(err);
});

const koaOptions: KoaSignOutOptions = { region: 'us-east-1', allowGet: true };
const koa = new Koa();
const router = new Router();
router.all('/signout', koaSignOut(koaOptions));
koa.use(router.routes());

export async function check(): Promise<string> {
  const portal: FakePortal = await startFakePortal();
  const client = createLogoutClient({ endpoint: portal.url });
  const result: LogoutResult = await client.logout({ accessToken: portal.issueToken() });
  await client.close();
  await portal.close();
  return result.outcome;
}
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sso-signout-pack-'));
  const { stdout } = await run(npm, ['pack', '--silent', '--pack-destination', root], { cwd: repo, timeout: 120_000 });
  const tarball = join(root, stdout.trim().split('\n').pop() ?? '');
  await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'consumers', private: true }));
  // The projects below share this one install; the npm cache already holds every package.
  await run(
    npm,
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      tarball,
      'express@5',
      'koa@3',
      '@koa/router@15',
      '@types/express@5',
      '@types/koa@3',
      '@types/koa__router@12',
      '@types/node@20',
      // What the README's examples import.
      'express-session@1',
      '@types/express-session@1',
      'koa-session@7',
      'connect-redis@9',
      'redis@5',
      'ioredis@5',
      'bullmq@6',
      'fastify@5',
      '@fastify/cookie@11',
      '@fastify/session@11',
      '@fastify/secure-session@8',
      '@fastify/formbody@8',
      'hono@4',
      '@hono/node-server@2',
      'supertest@7',
      '@types/supertest@7',
      'vitest@4',
    ],
    { cwd: root, timeout: 240_000 },
  );
}, 300_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// Uses of every public type, with no framework typings involved, so the shipped declarations
// themselves can be checked strictly (skipLibCheck off).
const DECLARATIONS_SOURCE = `
import { createLogoutClient, ssoSignOut, SignOutError, SignOutConfigError, portalEndpoint, type CookieToClear,
  type ExpressSignOutOptions, type LogoutClient, type LogoutClientOptions, type LogoutResult, type SignOutErrorCode,
  type SignOutEvent, type SignOutResult, type TokenInfo, type UpstreamOutcome } from 'sso-signout';
import type { Context } from 'koa';
import { ssoSignOut as koaSignOut, type KoaSignOutMiddleware } from 'sso-signout/koa';
import { ssoSignOut as fastifySignOut, ssoSignOutPlugin, type FastifySignOutHandler, type FastifySignOutPluginOptions } from 'sso-signout/fastify';
import { createSignOutHandler, type FetchSignOutHandler, type FetchSignOutOptions } from 'sso-signout/fetch';
import { startFakePortal, type FakePortal, type PortalCall, type PortalReply } from 'sso-signout/testing';

const fetchOptions: FetchSignOutOptions<{ user: string }> = { getToken: (_r, c) => c.user, endSession: () => undefined, origin: 'https://a.example' };
const fetchHandler: FetchSignOutHandler<{ user: string }> = createSignOutHandler(fetchOptions);
const fastifyHandler: FastifySignOutHandler = fastifySignOut({ region: 'us-east-1' });
const pluginOptions: FastifySignOutPluginOptions = { path: '/signout', region: 'us-east-1' };
export const adapters: unknown[] = [fetchHandler, fastifyHandler, pluginOptions, ssoSignOutPlugin];

const options: ExpressSignOutOptions = { region: 'us-east-1', clearCookies: ['a', { name: 'b', path: '/x' } satisfies CookieToClear] };
const clientOptions: LogoutClientOptions = { region: 'eu-west-1', timeoutMs: 2000 };
const route = ssoSignOut(options);
const koaRoute: KoaSignOutMiddleware = koaSignOut<Context>({ endpoint: 'http://127.0.0.1:1' });
const reply: PortalReply = { kind: 'throttle', retryAfter: 3 };
const code: SignOutErrorCode = 'sso_throttled';
export const used: unknown[] = [route, koaRoute, reply, code, clientOptions, portalEndpoint('us-east-1', { useFipsEndpoint: false, useDualstackEndpoint: false }),
  SignOutError, SignOutConfigError, createLogoutClient, startFakePortal];
export type Used = [LogoutClient, LogoutResult, SignOutEvent, SignOutResult, TokenInfo, UpstreamOutcome, FakePortal, PortalCall];
`;

describe('the packed tarball', () => {
  it('installs only its runtime dependencies and its built files', async () => {
    const installed = JSON.parse(await readFile(join(root, 'node_modules', 'sso-signout', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(installed.dependencies).sort()).toEqual(['cookie', 'negotiator', 'undici']);
    const listing = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repo,
      timeout: 120_000,
    });
    const files = (JSON.parse(listing.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    expect(files).toContain('dist/esm/index.js');
    expect(files).toContain('dist/cjs/koa.d.ts');
    expect(files).toContain('dist/cjs/package.json');
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('example-app/'))).toBe(
      false,
    );
  }, 120_000);

  it('works from an ESM project: every subpath imports, Express and the fetch handler sign out', async () => {
    const dir = await write('esm', {
      'package.json': JSON.stringify({ type: 'module' }),
      'main.js': `import express from 'express';
import { ssoSignOut, createLogoutClient } from 'sso-signout';
import * as koa from 'sso-signout/koa';
import * as fastify from 'sso-signout/fastify';
import { createSignOutHandler } from 'sso-signout/fetch';
import { startFakePortal } from 'sso-signout/testing';
${EXPRESS_SCENARIO}
${FETCH_SCENARIO}
if (typeof fastify.ssoSignOutPlugin !== 'function') throw new Error('exports missing');`,
    });
    const out = await node(dir, 'main.js');
    expect(out).toContain('signed out');
    expect(out).toContain('fetch signed out');
  });

  it('works from a CommonJS project: every subpath requires, Koa and Fastify sign out', async () => {
    const dir = await write('cjs', {
      'package.json': JSON.stringify({ type: 'commonjs' }),
      'main.js': `const Koa = require('koa');
const Router = require('@koa/router');
const Fastify = require('fastify');
const main = require('sso-signout');
const koa = require('sso-signout/koa');
const fastify = require('sso-signout/fastify');
const { createSignOutHandler } = require('sso-signout/fetch');
const { startFakePortal } = require('sso-signout/testing');
(async () => {
${KOA_SCENARIO}
${FASTIFY_SCENARIO}
  if (typeof createSignOutHandler !== 'function') throw new Error('exports missing');
})().catch((error) => { console.error(error); process.exitCode = 1; });`,
    });
    const out = await node(dir, 'main.js');
    expect(out).toContain('signed out');
    expect(out).toContain('fastify signed out');
  });

  // The app projects' own framework typings are theirs to check (skipLibCheck, as nearly every
  // project sets it); the declarations shipped here are checked strictly below.
  it('type-checks and runs in a TypeScript project with moduleResolution node16', async () => {
    const dir = await write(
      'ts-node16',
      tsProject(
        'module',
        { module: 'node16', moduleResolution: 'node16', outDir: 'out', skipLibCheck: true },
        `${TS_SOURCE}\nconsole.log('outcome', await check());\n`,
      ),
    );
    await typecheck(dir);
    expect(await node(dir, 'out/main.js')).toContain('outcome revoked');
  }, 120_000);

  it('type-checks in a TypeScript project with moduleResolution bundler', async () => {
    const options = { module: 'esnext', moduleResolution: 'bundler', noEmit: true, skipLibCheck: true };
    await typecheck(await write('ts-bundler', tsProject('module', options, TS_SOURCE)));
  }, 120_000);

  it('type-checks from a CommonJS TypeScript project (node16, require conditions)', async () => {
    const options = { module: 'node16', moduleResolution: 'node16', noEmit: true, skipLibCheck: true };
    const source = TS_SOURCE.replace('export async function check', 'async function check') + '\nvoid check;\n';
    await typecheck(await write('ts-cjs', tsProject('commonjs', options, source)));
  }, 120_000);

  it.each([
    ['node16', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])(
    'ships declarations that pass a strict check on their own (%s, skipLibCheck off)',
    async (name, resolution) => {
      const options = { ...resolution, noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: true };
      const dir = await write(`declarations-${name}`, tsProject('module', options, DECLARATIONS_SOURCE));
      await typecheck(dir, ['main.ts', 'node_modules/sso-signout/']);
    },
    120_000,
  );

  it.each([
    ['node16', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])(
    'compiles every ts code block of the README under strict (%s)',
    async (name, resolution) => {
      const readme = await readFile(join(repo, 'README.md'), 'utf8');
      const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
      expect(blocks.length).toBeGreaterThanOrEqual(7);
      const files: Record<string, string> = {
        'package.json': JSON.stringify({ type: 'module' }),
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            strict: true,
            esModuleInterop: true,
            types: ['node'],
            noEmit: true,
            // The app's own framework typings are its to check; the package's were checked above.
            skipLibCheck: true,
            ...resolution,
          },
          include: ['readme-*.ts'],
        }),
      };
      blocks.forEach((block, i) => {
        files[`readme-${String(i)}.ts`] = block;
      });
      await typecheck(await write(`readme-${name}`, files));
    },
    120_000,
  );
});
