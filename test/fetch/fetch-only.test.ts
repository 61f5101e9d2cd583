// The fetch handler's specifics: options that cannot work refused when it is made, a Request in and
// a Response out with no server at all, the app's origin from the URL or the `origin` option, the
// body read within its bounds, Hono calling it directly, delegate mode, and other frameworks
// calling it.

import { getRequestListener } from '@hono/node-server';
import Router from '@koa/router';
import express from 'express';
import { Hono } from 'hono';
import { mount } from 'hono/mount';
import Koa from 'koa';
import type { IncomingMessage, ServerResponse } from 'node:http';
import request from 'supertest';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogoutClient,
  createSignOutHandler,
  SignOutConfigError,
  SignOutError,
  type FetchSignOutOptions,
  type LogoutClient,
  type SignOutEvent,
} from 'sso-signout/fetch';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
import { setCookies } from '../helpers/cookies.js';
import { warningsDuring } from '../helpers/warnings.js';

let portal: FakePortal;
let client: LogoutClient;
beforeAll(async () => {
  portal = await startFakePortal();
  client = createLogoutClient({ endpoint: portal.url, timeoutMs: 2000, maxAttempts: 1 });
});
afterEach(() => {
  portal.reset();
});
afterAll(async () => {
  await client.close();
  await portal.close();
});

const APP = 'http://portal.test';

/** A session the way an app without a session middleware keeps one: a token, ended by a flag. */
function session(token: string | undefined) {
  const state = { token, ended: false, seen: [] as unknown[] };
  const options = {
    client,
    getToken: (_request: Request, context: unknown) => {
      state.seen.push(context);
      return state.ended ? undefined : state.token;
    },
    endSession: () => {
      state.ended = true;
    },
    clearCookies: [{ name: 'portal.sid', httpOnly: true, sameSite: 'lax' as const }],
  } satisfies FetchSignOutOptions;
  return { state, options };
}

/** The sign-out a browser sends from a page of the app. */
function browserRequest(url = `${APP}/signout`, init: RequestInit = {}): Request {
  return new Request(url, {
    method: 'POST',
    headers: {
      origin: new URL(url).origin,
      'sec-fetch-site': 'same-origin',
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'return_to=/bye',
    ...init,
  });
}

describe('made with options that cannot work', () => {
  const base = { getToken: () => undefined, endSession: () => undefined };

  it.each([
    ['getToken', { endSession: () => undefined }],
    ['endSession', { getToken: () => undefined }],
  ])('refuses a handler without `%s`, saying why a fetch handler needs it', (option, options) => {
    const make = () => createSignOutHandler(options as unknown as FetchSignOutOptions);
    expect(make).toThrow(SignOutConfigError);
    expect(make).toThrow(/no session middleware/);
    try {
      make();
    } catch (error) {
      expect(error).toMatchObject({ option, reason: 'missing' });
    }
  });

  it.each([['everywhere', { sessionIndex: {}, user: () => 'u' }, /session store/]])(
    'refuses `%s`, which a fetch handler cannot honour, and says what to do instead',
    (option, value, hint) => {
      const make = () => createSignOutHandler({ ...base, [option]: value });
      expect(make).toThrow(hint);
      try {
        make();
      } catch (error) {
        expect(error).toMatchObject({ option });
      }
    },
  );

  it.each([
    'portal.example.com',
    'https://portal.example.com/app',
    'ftp://portal.example.com',
    'https://portal.example.com?x=1',
    42,
    'https://portal.example.com/#x',
    'https://user@portal.example.com',
    'http://*.example.com',
  ])('refuses an `origin` that is not an origin (%j)', (origin) => {
    expect(() => createSignOutHandler({ ...base, origin } as unknown as FetchSignOutOptions)).toThrow(
      /`origin` must be the app's public origin/,
    );
  });

  it.each([
    ['https://Portal.Example.com', 'https://portal.example.com'],
    ['https://portal.example.com:443/', 'https://portal.example.com'],
    ['http://portal.example.com:8080', 'http://portal.example.com:8080'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
  ])('takes an `origin` as the URL parser writes it (%s)', async (origin, written) => {
    const { state, options } = session(undefined);
    const handler = createSignOutHandler({ ...options, origin });
    const res = await handler(
      new Request('http://10.0.0.5:3000/signout', { method: 'POST', headers: { origin: written } }),
    );
    expect(res.status).toBe(303);
    expect(state.ended).toBe(true);
  });

  it.each([
    ['a hook that is not a function', { ...base, getToken: 'session.sso' }, 'getToken'],
    ['an unknown option, with the closest known one', { ...base, regoin: 'eu-west-1' }, 'regoin'],
    ['a bad destination', { ...base, destination: '//evil.example' }, 'destination'],
  ])('refuses %s, naming the option', (_what, options, option) => {
    try {
      createSignOutHandler(options as unknown as FetchSignOutOptions);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SignOutConfigError);
      expect(error).toMatchObject({ option });
    }
  });

  it('catches the factory mounted as the handler', () => {
    const call = createSignOutHandler as unknown as (...args: unknown[]) => unknown;
    expect(() => call(new Request(`${APP}/signout`), {})).toThrow(/ssoSignOut is a factory|factory/);
  });
});

describe('the session cookie, named by `sessionCookieName`', () => {
  const cookie = (header: string) => browserRequest(undefined, { headers: { ...browserHeaders(), cookie: header } });
  const browserHeaders = () => Object.fromEntries(browserRequest().headers);

  it('refuses a sign-out that sends it twice (one planted by another origin of the site), changing nothing', async () => {
    const token = portal.issueToken();
    const { state, options } = session(token);
    const handler = createSignOutHandler({ ...options, sessionCookieName: 'portal.sid' });
    const res = await handler(cookie('portal.sid=planted; theme=dark; portal.sid=the-users-own'));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('more than one cookie named portal.sid');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(state.ended).toBe(false);
    expect(portal.calls).toHaveLength(0);
    expect(portal.isActive(token)).toBe(true);
  });

  it.each([
    ['listed in clearCookies, with the attributes given there', true, /^portal\.sid=; .*HttpOnly.*SameSite=Lax/i],
    ['not listed, with Path=/', false, /^portal\.sid=; .*Path=\/(;|$)/],
  ])('signs out a request that sends it once, and clears it once: %s', async (_how, listed, cleared) => {
    const token = portal.issueToken();
    const { state, options } = session(token);
    const handler = createSignOutHandler({
      ...options,
      sessionCookieName: 'portal.sid',
      clearCookies: listed ? options.clearCookies : [],
    });
    // (A repeated `.sig` is no companion of this cookie: only cookie-session and koa-session sign in one.)
    const res = await handler(
      cookie('theme=dark; portal.sid=the-users-own; other.portal.sid=x; portal.sid.sig=a; portal.sid.sig=b'),
    );
    expect(res.status).toBe(303);
    expect(state.ended).toBe(true);
    expect(portal.isActive(token)).toBe(false);
    const set = res.headers.getSetCookie();
    expect(set).toHaveLength(1);
    expect(set[0]).toMatch(cleared);
  });
});

describe('a Request in, a Response out', () => {
  it('revokes the token, ends the session, clears the cookie and redirects, with no server at all', async () => {
    const token = portal.issueToken();
    const { state, options } = session(token);
    const events: SignOutEvent[] = [];
    const context = { user: 'ana' };
    const handler = createSignOutHandler({
      ...options,
      onEvent: (event, req, ctx) => {
        events.push(event);
        expect(req).toBeInstanceOf(Request);
        expect(ctx).toBe(context);
      },
    });
    const res = await handler(browserRequest(), context);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/bye');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-length')).toBe('0');
    expect(res.headers.getSetCookie()).toEqual([expect.stringMatching(/^portal\.sid=; .*Expires=Thu, 01 Jan 1970/)]);
    expect(await res.text()).toBe('');
    expect(state.ended).toBe(true);
    expect(state.seen).toEqual([context]);
    expect(portal.isActive(token)).toBe(false);
    expect(events).toEqual([expect.objectContaining({ type: 'signout', code: 'signed_out', upstream: 'revoked' })]);
  });

  it('answers a JSON client, and keeps the session when the portal throttles', async () => {
    const own = createLogoutClient({ endpoint: portal.url, timeoutMs: 2000, maxAttempts: 1 });
    const { state, options } = session(portal.issueToken());
    const handler = createSignOutHandler({ ...options, client: own });
    portal.enqueue({ kind: 'throttle', retryAfter: 4 });
    const res = await handler(
      new Request(`${APP}/signout`, { method: 'POST', headers: { accept: 'application/json' } }),
    );
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('4');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'sso_throttled', signedOut: false, retryAfter: 4 });
    expect(state.ended).toBe(false);
    await own.close();
  });

  it('skips the portal when getToken finds no sign-in, and still ends the session', async () => {
    const { state, options } = session(undefined);
    const res = await createSignOutHandler(options)(browserRequest());
    expect(res.status).toBe(303);
    expect(state.ended).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });

  it('answers 500 session_error, signedOut false, when endSession fails', async () => {
    const token = portal.issueToken();
    const { options } = session(token);
    const handler = createSignOutHandler({
      ...options,
      endSession: () => Promise.reject(new Error('session store down')),
    });
    const res = await handler(
      new Request(`${APP}/signout`, { method: 'POST', headers: { accept: 'application/json' } }),
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: 'session_error', signedOut: false });
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('refuses a cross-site post before reading the session', async () => {
    const { state, options } = session(portal.issueToken());
    const res = await createSignOutHandler(options)(
      browserRequest(`${APP}/signout`, {
        headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(res.status).toBe(403);
    expect(state.seen).toEqual([]);
    expect(state.ended).toBe(false);
    expect(portal.calls).toHaveLength(0);
  });

  it('rejects, with a clear error that names what it got but never its contents, a call that is not a Request', async () => {
    const token = portal.issueToken();
    const { options } = session(undefined);
    const handler = createSignOutHandler(options) as unknown as (...args: unknown[]) => Promise<Response>;
    await expect(handler('/signout')).rejects.toThrow(/takes a Request.*got a string/);
    const holdingAToken = { url: '/signout', locals: { session: { sso: { accessToken: token } } } };
    const error: unknown = await handler(holdingAToken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignOutConfigError);
    expect((error as Error).message).toContain('got an object');
    expect(JSON.stringify(error)).not.toContain(token);
    expect(inspect(error)).not.toContain(token);
    // Node's own request, given where a Request goes (an Express or Koa app calling the handler).
    class IncomingMessage {
      readonly url = '/signout';
    }
    await expect(handler(new IncomingMessage())).rejects.toThrow(/got an IncomingMessage/);
  });

  it('rejects a Request-like object with a relative url with a clear error, calling no hook', async () => {
    const { state, options } = session(portal.issueToken());
    const handler = createSignOutHandler(options);
    const real = browserRequest();
    const relative = {
      method: 'POST',
      url: '/signout',
      headers: real.headers,
      body: null,
      arrayBuffer: () => real.arrayBuffer(),
    };
    const error: unknown = await handler(relative as unknown as Request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignOutConfigError);
    expect((error as Error).message).toContain('must be an absolute URL');
    expect(state.seen).toEqual([]);
    expect(portal.calls).toHaveLength(0);
  });

  it('takes an event holding the request (SvelteKit, Astro: export const POST = signOut), the event as context', async () => {
    const token = portal.issueToken();
    const { state, options } = session(token);
    const event = { request: browserRequest(), locals: { user: 'ana' } };
    const handler = createSignOutHandler(options) as unknown as (event: unknown) => Promise<Response>;
    const res = await handler(event);
    expect(res.status).toBe(303);
    expect(state.seen).toEqual([event]);
    expect(portal.isActive(token)).toBe(false);
  });

  it('warns once when getToken throws (a context the handler was not given, say), answering 500 session_error', async () => {
    const handler = createSignOutHandler<{ session: { token: string } }>({
      client,
      getToken: (_request, c) => c.session.token,
      endSession: () => undefined,
    });
    const warnings = await warningsDuring(async () => {
      for (let i = 0; i < 2; i++) {
        // @ts-expect-error: the context the hooks are typed to receive is required.
        const res = await handler(
          new Request(`${APP}/signout`, { method: 'POST', headers: { accept: 'application/json' } }),
        );
        expect(res.status).toBe(500);
        expect(await res.json()).toMatchObject({ code: 'session_error', signedOut: false });
      }
    });
    const mine = warnings.filter((w) => w.code === 'SSO_SIGNOUT_HOOK_FAILED');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.message).toContain('`getToken` hook threw (TypeError)');
  });
});

describe('the app’s own origin', () => {
  const forwarded = {
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'portal.example.com',
    origin: 'https://portal.example.com',
    'sec-fetch-site': 'same-origin',
  };

  it('behind a proxy, is the `origin` option, not the internal URL', async () => {
    const { state, options } = session(portal.issueToken());
    const handler = createSignOutHandler({ ...options, origin: 'https://portal.example.com' });
    const res = await handler(new Request('http://10.0.0.5:3000/signout', { method: 'POST', headers: forwarded }));
    expect(res.status).toBe(303);
    expect(state.ended).toBe(true);
  });

  it('without the option, is the request URL’s: a forwarded origin is refused, and the warning names `origin`', async () => {
    const { state, options } = session(portal.issueToken());
    const handler = createSignOutHandler(options);
    const warnings = await warningsDuring(async () => {
      const res = await handler(new Request('http://10.0.0.5:3000/signout', { method: 'POST', headers: forwarded }));
      expect(res.status).toBe(403);
    });
    const mine = warnings.filter((w) => w.code === 'SSO_SIGNOUT_UNTRUSTED_FORWARDED');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.message).toContain('`origin` option');
    expect(state.ended).toBe(false);
  });
});

describe('the body', () => {
  it('reads return_to from a JSON body as from a form', async () => {
    const { options } = session(undefined);
    const res = await createSignOutHandler(options)(
      new Request(`${APP}/signout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/html' },
        body: JSON.stringify({ return_to: '/from-json' }),
      }),
    );
    expect(res.headers.get('location')).toBe('/from-json');
  });

  it('ignores a body over 16 KiB, sent with or without its length', async () => {
    const { options } = session(undefined);
    const handler = createSignOutHandler(options);
    const big = `return_to=/big&pad=${'x'.repeat(20_000)}`;
    const framed = await handler(browserRequest(`${APP}/signout`, { body: big }));
    expect(framed.headers.get('location')).toBe('/');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 4000, (i + 1) * 4000)));
        controller.enqueue(new TextEncoder().encode(big.slice(20_000)));
        controller.close();
      },
    });
    const streamed = await handler(browserRequest(`${APP}/signout`, { body: stream, duplex: 'half' }));
    expect(streamed.headers.get('location')).toBe('/');
  });

  it('answers within the deadline when the body never ends, ignoring it', async () => {
    const { state, options } = session(undefined);
    const handler = createSignOutHandler({ ...options, client: undefined, endpoint: portal.url, timeoutMs: 300 });
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('return_to=/slow'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const started = performance.now();
    const res = await handler(browserRequest(`${APP}/signout`, { body: stream, duplex: 'half' }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(res.headers.get('location')).toBe('/');
    expect(state.ended).toBe(true);
    expect(cancelled).toBe(true);
  });

  it('ignores a body the app has read already', async () => {
    const { options } = session(undefined);
    const req = browserRequest();
    await req.text();
    const res = await createSignOutHandler(options)(req);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
  });
});

describe('in Hono', () => {
  it('called by Hono as its own handler, takes the request from the context and hands the hooks the context', async () => {
    const token = portal.issueToken();
    const seen: unknown[] = [];
    const app = new Hono();
    const handler = createSignOutHandler({
      client,
      getToken: (_req, c) => {
        seen.push(c);
        return token;
      },
      endSession: () => undefined,
    });
    app.all('/signout', handler as never);
    const res = await app.request('/signout', { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    expect((seen[0] as { req?: { raw?: unknown } }).req?.raw).toBeInstanceOf(Request);
    expect(portal.isActive(token)).toBe(false);
  });

  it('in delegate mode rejects with the SignOutError; Hono’s onError answers with its status and headers', async () => {
    const { state, options } = session(portal.issueToken());
    const handler = createSignOutHandler({ ...options, delegateErrors: true });
    const app = new Hono();
    const errors: unknown[] = [];
    app.onError((err) => {
      errors.push(err);
      const e = err as unknown as SignOutError;
      const headers = new Headers();
      for (const [k, v] of Object.entries(e.headers)) for (const one of [v].flat()) headers.append(k, one);
      return new Response(e.title, { status: e.status, headers });
    });
    app.all('/signout', (c) => handler(c.req.raw, c));
    portal.enqueue('unauthorized');
    const res = await app.request('/signout', { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(401);
    expect(errors[0]).toBeInstanceOf(SignOutError);
    expect(errors[0]).toMatchObject({ code: 'sso_token_rejected', signedOut: true });
    expect(res.headers.getSetCookie()).toEqual([expect.stringMatching(/^portal\.sid=;/)]);
    expect(state.ended).toBe(true);
  });

  it('through @hono/node-server, answers a browser on a real connection', async () => {
    const token = portal.issueToken();
    const { state, options } = session(token);
    const handler = createSignOutHandler(options);
    const app = new Hono();
    app.all('/signout', (c) => handler(c.req.raw, c));
    const listener = getRequestListener(app.fetch);
    const res = await request((req: IncomingMessage, res: ServerResponse) => void listener(req, res))
      .post('/signout')
      .set('Sec-Fetch-Site', 'same-origin')
      .type('form')
      .send('return_to=/bye')
      .expect(303);
    expect(res.headers.location).toBe('/bye');
    expect(res.headers['content-length']).toBe('0');
    expect(setCookies(res).get('portal.sid')?.value).toBe('');
    expect(state.ended).toBe(true);
    expect(portal.isActive(token)).toBe(false);
  });
});

describe('mounted in Hono in other ways', () => {
  it('below a prefix (hono/mount): the retry form posts back to the page’s own URL, which signs out', async () => {
    const own = createLogoutClient({ endpoint: portal.url, timeoutMs: 2000, maxAttempts: 1 });
    const token = portal.issueToken();
    const { state, options } = session(token);
    const app = new Hono();
    app.all('/auth/signout', mount(createSignOutHandler({ ...options, client: own })));
    portal.enqueue({ kind: 'throttle', retryAfter: 1 });
    const url = '/auth/signout?return_to=/back';
    const page = await app.request(url, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
    expect(page.status).toBe(429);
    const html = await page.text();
    expect(html).toContain('<form method="post">');
    expect(html).not.toContain('action=');
    // The browser posts the form to the page's URL: the one it signed out at.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await app.request(url, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'return_to=/back',
    });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/back');
    expect(state.ended).toBe(true);
    expect(portal.isActive(token)).toBe(false);
    await own.close();
  });

  it('on a wildcard route (app.use("/api/*", …)) it signs nobody out: 404, and a warning', async () => {
    const token = portal.issueToken();
    const { state, options } = session(token);
    const signOut = createSignOutHandler(options);
    const app = new Hono();
    app.use('/api/*', (c) => signOut(c.req.raw, c));
    const warnings = await warningsDuring(async () => {
      const res = await app.request('/api/save', { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
      expect(res.status).toBe(404);
    });
    expect(warnings.map((w) => w.code)).toContain('SSO_SIGNOUT_NOT_ROUTED');
    expect(state.ended).toBe(false);
    expect(portal.isActive(token)).toBe(true);
    expect(portal.calls).toHaveLength(0);
  });
});

describe('mounted in another framework', () => {
  const handler = () => createSignOutHandler({ client, getToken: () => 'aoa-x', endSession: () => undefined });

  it('in Express: 500 wrong_adapter naming the Express entry, nothing called', async () => {
    const app = express();
    app.all('/signout', handler() as never);
    const res = await request(app).post('/signout').set('Accept', 'application/json').expect(500);
    expect(res.body).toMatchObject({ code: 'wrong_adapter', signedOut: false });
    expect(String((res.body as Record<string, unknown>).detail)).toContain('sso-signout/fetch');
    expect(String((res.body as Record<string, unknown>).detail)).toContain('from "sso-signout"');
    expect(portal.calls).toHaveLength(0);
  });

  it('hands onEvent the request Express handed over, with no context', async () => {
    const seen: unknown[][] = [];
    const app = express();
    app.all(
      '/signout',
      createSignOutHandler({
        client,
        getToken: () => 'aoa-x',
        endSession: () => undefined,
        onEvent: (event, req, context) => seen.push(['code' in event ? event.code : event.type, req, context]),
      }) as never,
    );
    await request(app).post('/signout').set('Accept', 'application/json').expect(500);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0]).toBe('wrong_adapter');
    expect((seen[0]?.[1] as { method?: string }).method).toBe('POST');
    expect(seen[0]?.[2]).toBeUndefined();
  });

  it('in Koa: 500 wrong_adapter naming the Koa entry', async () => {
    const app = new Koa();
    const router = new Router();
    router.all('/signout', handler() as never);
    app.use(router.routes());
    const res = await request(app.callback()).post('/signout').set('Accept', 'application/json').expect(500);
    expect(String((res.body as Record<string, unknown>).detail)).toContain('sso-signout/koa');
    expect(portal.calls).toHaveLength(0);
  });
});
