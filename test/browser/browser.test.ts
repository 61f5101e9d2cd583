// A real browser (the system's Chromium, or the one inside @sparticuz/chromium, driven by playwright-core)
// against the example apps (Express, Koa, Fastify) on loopback.

import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { launchChromium } from '../helpers/chromium.js';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createApp as untypedCreateApp } from '../../example-app/app.js';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createKoaApp as untypedCreateKoaApp } from '../../example-app/koa-app.js';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createFastifyApp as untypedCreateFastifyApp } from '../../example-app/fastify-app.js';

interface ExampleConfig {
  signOut: Record<string, unknown>;
  portal: FakePortal;
  devSignIn: boolean;
  sessionSecret: string;
}
type KoaLike = { callback(): (...args: Parameters<RequestListener>) => Promise<void> };
type FastifyLike = { ready(): Promise<unknown>; routing: RequestListener };

const EXAMPLES: { name: string; listener: (config: ExampleConfig) => RequestListener; sessionCookie: string }[] = [
  {
    name: 'Express',
    listener: untypedCreateApp as (config: ExampleConfig) => RequestListener,
    sessionCookie: 'portal.sid',
  },
  {
    name: 'Koa',
    listener: (config) => {
      const callback = (untypedCreateKoaApp as (config: ExampleConfig) => KoaLike)(config).callback();
      return (req, res) => {
        void callback(req, res);
      };
    },
    sessionCookie: 'portal.sess',
  },
  {
    name: 'Fastify',
    listener: (config) => {
      const app = (untypedCreateFastifyApp as (config: ExampleConfig) => FastifyLike)(config);
      const ready = app.ready();
      return (req, res) => {
        void ready.then(() => {
          app.routing(req, res);
        });
      };
    },
    sessionCookie: 'portal.sid',
  },
];

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

let browser: Browser;
let portal: FakePortal;

beforeAll(async () => {
  const launched = await launchChromium();
  browser = launched.browser;
  console.log(
    `browser suite: Chromium ${browser.version()} from ${launched.found.source} (${launched.found.executablePath})`,
  );
  portal = await startFakePortal();
}, 60_000);

afterAll(async () => {
  // Either may be missing when beforeAll failed; its error is the one to read.
  await (browser as Browser | undefined)?.close();
  await (portal as FakePortal | undefined)?.close();
});

describe.each(EXAMPLES)('in Chromium, the example app on $name', ({ listener, sessionCookie }) => {
  let app: { server: Server; url: string };
  let context: BrowserContext;
  let page: Page;

  beforeEach(async () => {
    portal.reset();
    app = await listen(
      listener({
        // A short deadline, so a throttle announcing a wait past it is answered at once.
        signOut: { endpoint: portal.url, timeoutMs: 500 },
        portal,
        devSignIn: true,
        sessionSecret: 'browser test',
      }),
    );
    context = await browser.newContext();
    page = await context.newPage();
  });

  afterEach(async () => {
    await context.close();
    await close(app.server);
  });

  async function signIn(): Promise<string> {
    await page.goto(`${app.url}/`);
    await page.getByRole('button', { name: /Sign in \(embedded/ }).click();
    await expect.poll(() => page.textContent('main')).toContain('You are signed in');
    const cookie = (await context.cookies()).find((c) => c.name === sessionCookie);
    expect(cookie).toBeDefined();
    return cookie?.value ?? '';
  }

  async function jarHasSession(): Promise<boolean> {
    return (await context.cookies()).some((c) => c.name === sessionCookie);
  }

  it('signs out with the button: token revoked, cookie gone from the jar, protected page sends you to sign-in', async () => {
    await signIn();
    await page.goto(`${app.url}/account`);
    expect(await page.textContent('h1')).toBe('Your account');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${app.url}/signed-out`);
    expect(await page.textContent('h1')).toBe('Signed out');
    expect(portal.calls).toHaveLength(1);
    expect(portal.isActive(portal.calls[0]?.token ?? '')).toBe(false);
    expect(await jarHasSession()).toBe(false);
    await page.goto(`${app.url}/account`);
    await page.waitForURL(`${app.url}/signin`);
    expect(await page.textContent('h1')).toBe('Sign in');
  });

  it('does not show the protected page from cache on Back after sign-out', async () => {
    await signIn();
    await page.goto(`${app.url}/account`);
    expect(await page.textContent('main')).toContain('Only signed-in users see this page');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${app.url}/signed-out`);
    await page.goBack();
    await page.waitForLoadState();
    expect(await page.textContent('main')).not.toContain('Only signed-in users see this page');
    expect(page.url()).toBe(`${app.url}/signin`);
  });

  it('cannot be signed out by a form on another origin', async () => {
    await signIn();
    // Another loopback port: another origin of the same site, so the Lax session cookie is sent
    // along and only the route's own origin check stands in the way.
    const attacker = await listen((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" action="${app.url}/signout"></form>
<script>document.getElementById('f').submit()</script>`);
    });
    try {
      const response = page.waitForResponse((r) => r.url() === `${app.url}/signout`);
      await page.goto(attacker.url);
      expect((await response).status()).toBe(403);
      expect(portal.calls).toHaveLength(0);
      expect(await jarHasSession()).toBe(true);
      await page.goto(`${app.url}/me`);
      expect(await page.textContent('body')).toContain('"signedIn":true');
    } finally {
      await close(attacker.server);
    }
  });

  it('completes the sign-out with the 429 page’s retry button once the portal recovers', async () => {
    await signIn();
    // Asks for 600 ms, past the 500 ms deadline: answered at once as 429, Retry-After 1.
    portal.enqueue({ kind: 'throttle', amzRetryAfterMs: 600 });
    const throttled = page.waitForResponse((r) => r.url() === `${app.url}/signout`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    const answer = await throttled;
    expect(answer.status()).toBe(429);
    expect(answer.headers()['retry-after']).toBe('1');
    await expect.poll(() => page.textContent('h1')).toContain('throttling');
    expect(await jarHasSession()).toBe(true);
    // Wait out the announced window, as a person reading the page would.
    await page.waitForTimeout(1100);
    await page.getByRole('button', { name: 'Try signing out again' }).click();
    await page.waitForURL(`${app.url}/signed-out`);
    expect(portal.calls.map((c) => c.status)).toEqual([429, 200]);
    expect(await jarHasSession()).toBe(false);
  });

  it('walks the outcome table from the embedded portal’s control panel, each page saying what happened', async () => {
    async function choose(answer: string, seconds?: number): Promise<void> {
      await page.goto(`${app.url}/dev/portal`);
      await page.check(`input[name="answer"][value="${answer}"]`);
      if (seconds !== undefined) await page.fill('input[name="seconds"]', String(seconds));
      await page.getByRole('button', { name: 'Set the answer' }).click();
      await expect.poll(() => page.textContent('[role="status"]')).toContain('From now on');
    }

    // 429: kept signed in, told how long to wait, and a way back into the app.
    await signIn();
    await choose('throttle', 2);
    await page.goto(`${app.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.textContent('h1')).toContain('throttling');
    expect(await page.textContent('main')).toContain('You can try again in 2 seconds.');
    await page.getByRole('link', { name: 'Back to the app' }).click();
    await expect.poll(() => page.textContent('main')).toContain('You are signed in');

    // 500 upstream: 503, still signed in, the way back again.
    await choose('error');
    // The throttle window the 429 opened must pass first, as a person reading the page would wait.
    await page.waitForTimeout(2100);
    await page.getByRole('link', { name: 'Back to the portal' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.textContent('h1')).toContain('unavailable');
    expect(await jarHasSession()).toBe(true);

    // 401: signed out, the SSO session had already ended, a link onwards.
    await choose('unauthorized');
    await page.goto(`${app.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.textContent('h1')).toContain('already ended');
    expect(await jarHasSession()).toBe(false);
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL(`${app.url}/signed-out`);
  });
});
