// The example portal on Hono with the fetch handler: the same routes and pages as the Express one.
// Hono has no session middleware of its own, so the app keeps a small server-side one here (an id
// in a cookie, the data in memory or in Redis) and tells the handler how to read and end it.

import { getRequestListener } from '@hono/node-server';
import helmet from 'helmet';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { randomBytes } from 'node:crypto';
import { createSignOutHandler } from 'sso-signout/fetch';
import {
  DEFAULT_USER,
  devSignInFields,
  eventLogger,
  HELMET_OPTIONS,
  PAGES,
  portalPanel,
  MemorySessionStore,
  PREFS_COOKIE,
  RedisSessionStore,
  sameOriginPost,
  signInForms,
} from './shared.js';

const SESSION_COOKIE = 'portal.sid';
const SESSION_COOKIE_OPTIONS = { path: '/', httpOnly: true, sameSite: 'Lax' };
const SESSION_MAX_AGE_MS = 86_400_000;

function signedIn(c) {
  return typeof c.get('session')?.data.sso?.accessToken === 'string';
}

/**
 * Builds the example portal on Hono; the same settings as the Express `createApp`. Returns the
 * Hono app and its Node request listener.
 */
export function createHonoApp({ signOut, portal, devSignIn, redis, log = () => {} }) {
  const app = new Hono();
  const sessions =
    redis === undefined ? new MemorySessionStore() : new RedisSessionStore(redis.client, `${redis.prefix}hono:`);
  // helmet is written for Node's (req, res, next): under @hono/node-server it sets its headers on
  // the raw response, which the answer is written with.
  const secureHeaders = helmet(HELMET_OPTIONS);
  app.use(async (c, next) => {
    await new Promise((resolve, reject) => {
      secureHeaders(c.env.incoming, c.env.outgoing, (error) => (error ? reject(error) : resolve()));
    });
    await next();
  });
  app.use(async (c, next) => {
    const id = getCookie(c, SESSION_COOKIE);
    const data = id === undefined ? undefined : await sessions.get(id);
    c.set('session', data === undefined ? undefined : { id, data });
    await next();
  });
  const forms = signInForms({ portal, devSignIn });

  async function startSession(c, sso, user) {
    // A new session id at sign-in, so a session fixed before sign-in is worth nothing.
    const old = c.get('session');
    if (old !== undefined) await sessions.destroy(old.id);
    const id = randomBytes(32).toString('base64url');
    await sessions.set(id, { sso, user }, SESSION_MAX_AGE_MS);
    setCookie(c, SESSION_COOKIE, id, SESSION_COOKIE_OPTIONS);
    setCookie(c, PREFS_COOKIE, 'theme=light', { path: '/', httpOnly: true, sameSite: 'Lax' });
    c.header('Cache-Control', 'no-store');
    return c.redirect('/', 303);
  }

  const form = async (c) => {
    const type = c.req.header('content-type') ?? '';
    return type.startsWith('application/x-www-form-urlencoded') ? await c.req.parseBody() : {};
  };

  app.get('/', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.html(PAGES.home(signedIn(c), forms, portal !== undefined, false));
  });

  app.get('/signin', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.html(PAGES.signIn(forms));
  });

  if (portal !== undefined) {
    app.post('/signin', (c) => startSession(c, { accessToken: portal.issueToken() }, DEFAULT_USER));

    // Only with the embedded portal: choose its next Logout answers and see each row in a browser.
    const panel = portalPanel(portal);
    app.get('/dev/portal', (c) => {
      c.header('Cache-Control', 'no-store');
      return c.html(panel.page());
    });
    app.post('/dev/portal', async (c) => {
      c.header('Cache-Control', 'no-store');
      if (!sameOriginPost(c.env.incoming.headers, c.req.header('host'))) {
        return c.html(panel.page('Refused: the control panel takes forms from this site only.'), 403);
      }
      const { notice, error } = panel.apply(await form(c));
      return c.html(panel.page(error ?? notice), error === undefined ? 200 : 400);
    });
  }

  if (devSignIn) {
    app.post('/dev/signin', async (c) => {
      const fields = devSignInFields(await form(c));
      if (fields === undefined) return c.html(PAGES.noToken(), 400);
      return startSession(c, fields.sso, fields.user);
    });
  }

  // The protected page: private, never cached, and only for signed-in users.
  app.get('/account', (c) => {
    c.header('Cache-Control', 'no-store');
    if (!signedIn(c)) return c.redirect('/signin', 303);
    return c.html(PAGES.account(false));
  });

  app.get('/signed-out', (c) => c.html(PAGES.signedOut()));

  app.get('/me', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({ signedIn: signedIn(c) });
  });

  const signOutHandler = createSignOutHandler({
    ...signOut,
    destination: '/signed-out',
    getToken: (_request, c) => c.get('session')?.data.sso,
    endSession: async (_request, c) => {
      const session = c.get('session');
      if (session !== undefined) await sessions.destroy(session.id);
    },
    // Sent twice (one planted by another origin of the site), the sign-out is refused.
    sessionCookieName: SESSION_COOKIE,
    clearCookies: [
      { name: SESSION_COOKIE, httpOnly: true, sameSite: 'lax' },
      { name: PREFS_COOKIE, httpOnly: true, sameSite: 'lax' },
    ],
    onEvent: eventLogger(log),
  });
  app.all('/signout', (c) => signOutHandler(c.req.raw, c));

  return { app, listener: getRequestListener(app.fetch) };
}
