// The example portal on Fastify: the same routes and pages as the Express one, without the process around it.

import fastifyCookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import { RedisStore } from 'connect-redis';
import Fastify from 'fastify';
import helmet from 'helmet';
import { createHash } from 'node:crypto';
import { sessionIdOf, ssoSignOutPlugin } from 'sso-signout/fastify';
import {
  DEFAULT_USER,
  devSignInFields,
  eventLogger,
  HELMET_OPTIONS,
  PAGES,
  portalPanel,
  PREFS_COOKIE,
  sameOriginPost,
  signInForms,
} from './shared.js';

function signedIn(request) {
  return typeof request.session?.sso?.accessToken === 'string';
}

function html(reply, body, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

/** Builds the example portal on Fastify; the same settings as the Express `createApp`. */
export function createFastifyApp({ signOut, portal, devSignIn, sessionSecret, redis, log = () => {} }) {
  const app = Fastify();
  // helmet is written for Node's (req, res, next); the headers it sets on the raw response stay.
  const secureHeaders = helmet(HELMET_OPTIONS);
  app.addHook('onRequest', (request, reply, done) => {
    secureHeaders(request.raw, reply.raw, done);
  });
  void app.register(fastifyCookie);
  void app.register(fastifySession, {
    cookieName: 'portal.sid',
    // @fastify/session wants a secret of 32 characters at least: a shorter one is stretched.
    secret: sessionSecret.length >= 32 ? sessionSecret : createHash('sha256').update(sessionSecret).digest('hex'),
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto' },
    ...(redis === undefined ? {} : { store: new RedisStore({ client: redis.client, prefix: `${redis.prefix}sess:` }) }),
  });
  void app.register(formbody, { bodyLimit: 16_384 });
  const forms = signInForms({ portal, devSignIn });

  const everywhere = redis !== undefined;
  async function startSession(request, reply, sso, user) {
    // A new session id at sign-in, so a session fixed before sign-in is worth nothing.
    await request.session.regenerate();
    request.session.sso = sso;
    request.session.user = user;
    // With Redis: the session is listed under its user, for "sign out everywhere".
    if (everywhere) await redis.sessionIndex.add(user, sessionIdOf(request));
    reply.setCookie(PREFS_COOKIE, 'theme=light', { httpOnly: true, sameSite: 'lax', path: '/' });
    return reply.redirect('/', 303);
  }

  app.get('/', (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return html(reply, PAGES.home(signedIn(request), forms, portal !== undefined, everywhere));
  });

  app.get('/signin', (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return html(reply, PAGES.signIn(forms));
  });

  if (portal !== undefined) {
    app.post('/signin', (request, reply) =>
      startSession(request, reply, { accessToken: portal.issueToken() }, DEFAULT_USER),
    );

    // Only with the embedded portal: choose its next Logout answers and see each row in a browser.
    const panel = portalPanel(portal);
    app.get('/dev/portal', (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      return html(reply, panel.page());
    });
    app.post('/dev/portal', (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      if (!sameOriginPost(request.headers, request.host)) {
        return html(reply, panel.page('Refused: the control panel takes forms from this site only.'), 403);
      }
      const { notice, error } = panel.apply(request.body ?? {});
      return html(reply, panel.page(error ?? notice), error === undefined ? 200 : 400);
    });
  }

  if (devSignIn) {
    app.post('/dev/signin', (request, reply) => {
      const fields = devSignInFields(request.body ?? {});
      if (fields === undefined) return html(reply, PAGES.noToken(), 400);
      return startSession(request, reply, fields.sso, fields.user);
    });
  }

  // The protected page: private, never cached, and only for signed-in users.
  app.get('/account', (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    if (!signedIn(request)) return reply.redirect('/signin', 303);
    return html(reply, PAGES.account(everywhere));
  });

  app.get('/signed-out', (request, reply) => html(reply, PAGES.signedOut()));

  app.get('/me', (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return reply.send({ signedIn: signedIn(request) });
  });

  const routeOptions = {
    ...signOut,
    destination: '/signed-out',
    clearCookies: [{ name: PREFS_COOKIE, httpOnly: true, sameSite: 'lax' }],
    onEvent: eventLogger(log),
  };
  void app.register(ssoSignOutPlugin, { path: '/signout', ...routeOptions });
  if (everywhere) {
    void app.register(ssoSignOutPlugin, {
      path: '/signout/everywhere',
      ...routeOptions,
      everywhere: { sessionIndex: redis.sessionIndex, user: (request) => request.session?.user },
    });
  }
  return app;
}
