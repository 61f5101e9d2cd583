// The example portal: its routes, its sign-out through the embedded portal, and `npm start`'s server.

import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createApp as untypedCreateApp } from '../example-app/app.js';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createKoaApp as untypedCreateKoaApp } from '../example-app/koa-app.js';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createFastifyApp as untypedCreateFastifyApp } from '../example-app/fastify-app.js';
// @ts-expect-error: the example app is plain JavaScript without declarations.
import { createHonoApp as untypedCreateHonoApp } from '../example-app/hono-app.js';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applySetCookies, cookieHeaderFrom, setCookies } from './helpers/cookies.js';
import { startExampleServer } from './helpers/example-server.js';

interface ExampleConfig {
  signOut: Record<string, unknown>;
  portal?: FakePortal;
  devSignIn: boolean;
  sessionSecret: string;
  log?: (line: string) => void;
}
const createExpressApp = untypedCreateApp as (config: ExampleConfig) => RequestListener;
const createKoaApp = untypedCreateKoaApp as (config: ExampleConfig) => {
  callback(): (...args: Parameters<RequestListener>) => Promise<void>;
};

const createFastifyApp = untypedCreateFastifyApp as (config: ExampleConfig) => {
  ready(): Promise<unknown>;
  routing: RequestListener;
};
const createHonoApp = untypedCreateHonoApp as (config: ExampleConfig) => {
  listener: (...args: Parameters<RequestListener>) => Promise<void>;
};

const EXAMPLES = [
  { name: 'Express', createApp: createExpressApp, server: '../example-app/server.js', sessionCookie: 'portal.sid' },
  {
    name: 'Koa',
    createApp: (config: ExampleConfig): RequestListener => {
      const callback = createKoaApp(config).callback();
      return (req, res) => {
        void callback(req, res);
      };
    },
    server: '../example-app/koa-server.js',
    sessionCookie: 'portal.sess',
  },
  {
    name: 'Fastify',
    createApp: (config: ExampleConfig): RequestListener => {
      const app = createFastifyApp(config);
      const ready = app.ready();
      return (req, res) => {
        void ready.then(() => {
          app.routing(req, res);
        });
      };
    },
    server: '../example-app/fastify-server.js',
    sessionCookie: 'portal.sid',
  },
  {
    name: 'Hono',
    createApp: (config: ExampleConfig): RequestListener => {
      const { listener } = createHonoApp(config);
      return (req, res) => {
        void listener(req, res);
      };
    },
    server: '../example-app/hono-server.js',
    sessionCookie: 'portal.sid',
  },
];

let portal: FakePortal;
beforeAll(async () => {
  portal = await startFakePortal();
});
afterEach(() => {
  portal.reset();
});
afterAll(async () => {
  await portal.close();
});

describe.each(EXAMPLES)('example app on $name', ({ createApp, server: serverPath, sessionCookie, name }) => {
  function embeddedApp(log?: (line: string) => void) {
    return createApp({
      signOut: { endpoint: portal.url },
      portal,
      devSignIn: true,
      sessionSecret: 'test',
      ...(log ? { log } : {}),
    });
  }

  async function signInThroughPortal(app: RequestListener) {
    const res = await request(app).post('/signin').expect(303);
    expect(res.headers.location).toBe('/');
    return cookieHeaderFrom(res);
  }

  describe('routes', () => {
    it('shows sign-in when signed out and sign-out (a POST form) when signed in', async () => {
      const app = embeddedApp();
      const before = await request(app).get('/').expect(200);
      expect(before.text).toContain('signed out');
      expect(before.text).toContain('action="/signin"');
      expect(before.headers['content-security-policy']).toContain("form-action 'self'");
      const cookie = await signInThroughPortal(app);
      const after = await request(app).get('/').set('Cookie', cookie).expect(200);
      expect(after.text).toContain('signed in');
      expect(after.text).toContain('<form method="post" action="/signout">');
      expect((await request(app).get('/me').set('Cookie', cookie)).body).toEqual({ signedIn: true });
    });

    it('signs out through the embedded portal: token revoked, session gone, cookies cleared', async () => {
      const lines: string[] = [];
      const app = embeddedApp((line) => lines.push(line));
      const cookie = await signInThroughPortal(app);
      expect(portal.calls).toHaveLength(0);
      await request(app).get('/account').set('Cookie', cookie).expect(200);
      const res = await request(app)
        .post('/signout')
        .set('Cookie', cookie)
        .set('Origin', 'http://127.0.0.1')
        .set('Host', '127.0.0.1')
        .expect(303);
      expect(res.headers.location).toBe('/signed-out');
      expect(setCookies(res).get(sessionCookie)?.value).toBe('');
      expect(setCookies(res).get('portal_prefs')?.value).toBe('');
      expect(portal.calls).toHaveLength(1);
      expect(portal.isActive(portal.calls[0]!.token!)).toBe(false);
      const browser = applySetCookies(cookie, res);
      expect((await request(app).get('/me').set('Cookie', browser)).body).toEqual({ signedIn: false });
      expect((await request(app).get('/me').set('Cookie', cookie)).body).toEqual({ signedIn: false });
      const account = await request(app).get('/account').set('Cookie', cookie).expect(303);
      expect(account.headers.location).toBe('/signin');
      await request(app).get('/signed-out').expect(200);
      expect(lines.join('\n')).toMatch(/sign-out event type="signout" code="signed_out".*upstream="revoked"/);
      expect(lines.join('\n')).not.toContain(portal.calls[0]!.token!);
    });

    it('refuses a sign-out posted by another site', async () => {
      const app = embeddedApp();
      const cookie = await signInThroughPortal(app);
      await request(app).post('/signout').set('Cookie', cookie).set('Origin', 'http://127.0.0.1:9999').expect(403);
      expect(portal.calls).toHaveLength(0);
      expect((await request(app).get('/me').set('Cookie', cookie)).body).toEqual({ signedIn: true });
    });

    it('shows the 429 page with a retry form when the portal throttles, keeping the session', async () => {
      const app = embeddedApp();
      const cookie = await signInThroughPortal(app);
      portal.enqueue({ kind: 'throttle', retryAfter: 30 });
      const res = await request(app).post('/signout').set('Cookie', cookie).expect(429);
      expect(res.headers['retry-after']).toBe('30');
      // It posts to /signout: named, or (the fetch handler) the page's own URL, which is /signout.
      expect(res.text).toMatch(
        /<form method="post"(?: action="\/signout")?>\s*<button type="submit">Try signing out again/,
      );
      expect((await request(app).get('/me').set('Cookie', cookie)).body).toEqual({ signedIn: true });
    });

    it('has a control panel for the embedded portal that walks every row of the outcome table', async () => {
      const panel = await request(embeddedApp()).get('/dev/portal').expect(200);
      expect(panel.text).toContain('IAM Identity Center control panel');
      const rows: [Record<string, string>, number, boolean][] = [
        [{ answer: 'unauthorized' }, 401, false],
        [{ answer: 'throttle', seconds: '7' }, 429, true],
        [{ answer: 'error' }, 503, true],
        [{ answer: 'reset' }, 503, true],
        [{ answer: 'proxy' }, 502, true],
        [{ answer: 'ok' }, 303, false],
      ];
      for (const [form, status, kept] of rows) {
        // A fresh app each time: after a 429 the route answers 429 at once for the announced wait.
        const app = embeddedApp();
        await request(app).post('/dev/portal').type('form').send(form).expect(200);
        const cookie = await signInThroughPortal(app);
        const res = await request(app).post('/signout').set('Cookie', cookie).expect(status);
        const me = await request(app).get('/me').set('Cookie', applySetCookies(cookie, res));
        expect(me.body, JSON.stringify(form)).toEqual({ signedIn: kept });
        if (status === 429) {
          expect(res.headers['retry-after']).toBe('7');
          expect(res.text).toContain('You can try again in 7 seconds.');
        }
        // Every page that leaves the user signed in links back into the app.
        if (kept) expect(res.text).toContain('<a href="/">Back to the app</a>');
      }
    });

    it('takes control panel forms from its own site only, and checks them', async () => {
      const app = embeddedApp();
      await request(app)
        .post('/dev/portal')
        .set('Origin', 'http://evil.example')
        .type('form')
        .send({ answer: 'hang' })
        .expect(403);
      await request(app)
        .post('/dev/portal')
        .set('Sec-Fetch-Site', 'cross-site')
        .type('form')
        .send({ answer: 'hang' })
        .expect(403);
      await request(app).post('/dev/portal').type('form').send({ answer: 'nonsense' }).expect(400);
      await request(app).post('/dev/portal').type('form').send({ answer: 'throttle', seconds: '0' }).expect(400);
      // Nothing changed: sign-out still revokes.
      const cookie = await signInThroughPortal(app);
      await request(app).post('/signout').set('Cookie', cookie).expect(303);
    });

    it('has no control panel without the embedded portal', async () => {
      const off = createApp({ signOut: { region: 'us-east-1' }, devSignIn: true, sessionSecret: 'test' });
      await request(off).get('/dev/portal').expect(404);
      await request(off).post('/dev/portal').type('form').send({ answer: 'ok' }).expect(404);
      expect((await request(off).get('/').expect(200)).text).not.toContain('/dev/portal');
    });

    it('offers the development sign-in only when enabled', async () => {
      const on = embeddedApp();
      const token = portal.issueToken();
      const res = await request(on)
        .post('/dev/signin')
        .type('form')
        .send({ accessToken: token, region: 'eu-west-1' })
        .expect(303);
      const cookie = cookieHeaderFrom(res);
      expect((await request(on).get('/me').set('Cookie', cookie)).body).toEqual({ signedIn: true });
      await request(on).post('/dev/signin').type('form').send({ accessToken: '' }).expect(400);

      const off = createApp({ signOut: { region: 'us-east-1' }, devSignIn: false, sessionSecret: 'test' });
      await request(off).post('/dev/signin').type('form').send({ accessToken: token }).expect(404);
      await request(off).post('/signin').expect(404);
      const home = await request(off).get('/').expect(200);
      expect(home.text).toContain('SSO_DEV_SIGNIN=1');
    });
  });

  describe(`the server (${serverPath.replace('../', '')})`, () => {
    const server = fileURLToPath(new URL(serverPath, import.meta.url));

    const start = (env: Record<string, string>) => startExampleServer(server, env);

    /** Signs in through the running server's embedded portal, then signs out: the cookie and the sign-out's answer. */
    async function signInAndOut(url: string) {
      const signin = await fetch(new URL('/signin', url), { method: 'POST', redirect: 'manual' });
      const cookie = signin.headers
        .getSetCookie()
        .map((c) => c.split(';', 1)[0])
        .join('; ');
      const signout = await fetch(new URL('/signout', url), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie },
      });
      return { cookie, signout };
    }

    it('starts with the embedded portal, prints its URL and Logout endpoint, and signs out end to end', async () => {
      const { child, output, exited } = await start({});
      try {
        const url = /example portal \(\w+\): (http:\/\/[^\s]+)/.exec(output())?.[1] as string;
        expect(output()).toContain(`example portal (${name})`);
        expect(url, output()).toBeDefined();
        expect(output()).toMatch(/Logout endpoint: http:\/\/127\.0\.0\.1:\d+\/logout \(embedded/);
        expect(output()).toContain('Development sign-in: ON');
        const { cookie, signout } = await signInAndOut(url);
        expect(signout.status).toBe(303);
        const me = await fetch(new URL('/me', url), { headers: { cookie } });
        expect(await me.json()).toEqual({ signedIn: false });
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('names the real regional endpoint with SSO_REGION and keeps development sign-in off', async () => {
      const { child, output, exited } = await start({ SSO_REGION: 'eu-west-1', SSO_FIPS: '1' });
      try {
        expect(output()).toContain('Logout endpoint: https://portal.sso-fips.eu-west-1.amazonaws.com/logout');
        expect(output()).toContain('Development sign-in: OFF');
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('sends Logout to SSO_ENDPOINT and turns development sign-in on with SSO_DEV_SIGNIN=1', async () => {
      const { child, output, exited } = await start({ SSO_ENDPOINT: portal.url, SSO_DEV_SIGNIN: '1' });
      try {
        expect(output()).toContain(`Logout endpoint: ${portal.url}/logout`);
        expect(output()).toContain('Development sign-in: ON (POST /dev/signin, because SSO_DEV_SIGNIN=1)');
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('says the port is in use, and exits 1, when it is', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      try {
        const { output, exited } = await start({ PORT: String(port) });
        const [code] = await exited;
        expect(code).toBe(1);
        expect(output()).toContain(`example portal: port ${String(port)} on 127.0.0.1 is in use; set PORT`);
        expect(output()).not.toMatch(/TypeError|at .*\.js:\d+/);
      } finally {
        blocker.close();
      }
    });

    it('keeps the embedded portal off an outbound proxy the environment names', async () => {
      // A proxy that is down: the sign-out only works if it is not used.
      const { child, output, exited } = await start({
        HTTP_PROXY: 'http://127.0.0.1:9',
        HTTPS_PROXY: 'http://127.0.0.1:9',
      });
      try {
        const url = /example portal \(\w+\): (http:\/\/[^\s]+)/.exec(output())?.[1] as string;
        const { signout } = await signInAndOut(url);
        expect(signout.status).toBe(303);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('warns once about a region newer than its table', async () => {
      const { child, output, exited } = await start({ SSO_REGION: 'ap-southeast-9' });
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(output().match(/SSO_SIGNOUT_UNKNOWN_REGION/g)).toHaveLength(1);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('refuses a mistyped region with the nearest names', async () => {
      const { output, exited } = await start({ SSO_REGION: 'eu-wset-1' });
      const [code] = await exited;
      expect(code).toBe(1);
      expect(output()).toMatch(/Did you mean "eu-west-1"/);
    });

    it('refuses bad settings with a clear message and exit code 1', async () => {
      const { output, exited } = await start({ SSO_ENDPOINT: portal.url, SSO_FIPS: '1' });
      const [code] = await exited;
      expect(code).toBe(1);
      expect(output()).toMatch(/cannot be combined with `useFipsEndpoint`/);
    });
  });
});
