// The example portal on Koa: the same routes and pages as the Express one, without the process around it.

import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import helmet from 'helmet';
import Koa from 'koa';
import session from 'koa-session';
import { sessionIdOf, ssoSignOut } from 'sso-signout/koa';
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

// helmet is written for Node's (req, res, next); it sets headers on the raw response, which Koa keeps.
function koaHelmet(options) {
  const middleware = helmet(options);
  return (ctx, next) =>
    new Promise((resolve, reject) => {
      middleware(ctx.req, ctx.res, (error) => (error ? reject(error) : resolve()));
    }).then(next);
}

function signedIn(ctx) {
  return typeof ctx.session?.sso?.accessToken === 'string';
}

/** Builds the example portal on Koa; the same settings as the Express `createApp`. */
export function createKoaApp({ signOut, portal, devSignIn, sessionSecret, redis, log = () => {} }) {
  const app = new Koa();
  app.keys = [sessionSecret];
  app.use(koaHelmet(HELMET_OPTIONS));
  const store =
    redis === undefined ? new MemorySessionStore() : new RedisSessionStore(redis.client, `${redis.prefix}sess:`);
  app.use(session({ key: 'portal.sess', store, httpOnly: true, sameSite: 'lax', signed: true }, app));
  app.use(bodyParser({ enableTypes: ['form'], formLimit: '16kb' }));
  const forms = signInForms({ portal, devSignIn });
  const router = new Router();

  const everywhere = redis !== undefined;
  async function startSession(ctx, sso, user) {
    // A new session id at sign-in, so a session fixed before sign-in is worth nothing.
    await ctx.session.regenerate();
    ctx.session.sso = sso;
    ctx.session.user = user;
    // With Redis: the session is listed under its user, for "sign out everywhere".
    if (everywhere) await redis.sessionIndex.add(user, sessionIdOf(ctx));
    ctx.cookies.set(PREFS_COOKIE, 'theme=light', { httpOnly: true, sameSite: 'lax', path: '/', signed: false });
    ctx.status = 303;
    ctx.redirect('/');
  }

  router.get('/', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = PAGES.home(signedIn(ctx), forms, portal !== undefined, everywhere);
  });

  router.get('/signin', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = PAGES.signIn(forms);
  });

  if (portal !== undefined) {
    router.post('/signin', (ctx) => startSession(ctx, { accessToken: portal.issueToken() }, DEFAULT_USER));

    // Only with the embedded portal: choose its next Logout answers and see each row in a browser.
    const panel = portalPanel(portal);
    router.get('/dev/portal', (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = panel.page();
    });
    router.post('/dev/portal', (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      if (!sameOriginPost(ctx.req.headers, ctx.host)) {
        ctx.status = 403;
        ctx.body = panel.page('Refused: the control panel takes forms from this site only.');
        return;
      }
      const { notice, error } = panel.apply(ctx.request.body);
      ctx.status = error === undefined ? 200 : 400;
      ctx.body = panel.page(error ?? notice);
    });
  }

  if (devSignIn) {
    router.post('/dev/signin', async (ctx) => {
      const fields = devSignInFields(ctx.request.body);
      if (fields === undefined) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = PAGES.noToken();
        return;
      }
      await startSession(ctx, fields.sso, fields.user);
    });
  }

  // The protected page: private, never cached, and only for signed-in users.
  router.get('/account', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (!signedIn(ctx)) {
      ctx.status = 303;
      ctx.redirect('/signin');
      return;
    }
    ctx.type = 'html';
    ctx.body = PAGES.account(everywhere);
  });

  router.get('/signed-out', (ctx) => {
    ctx.type = 'html';
    ctx.body = PAGES.signedOut();
  });

  router.get('/me', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { signedIn: signedIn(ctx) };
  });

  const routeOptions = {
    ...signOut,
    destination: '/signed-out',
    clearCookies: [{ name: PREFS_COOKIE, httpOnly: true, sameSite: 'lax' }],
    onEvent: eventLogger(log),
  };
  if (everywhere) {
    router.all(
      '/signout/everywhere',
      ssoSignOut({
        ...routeOptions,
        everywhere: { sessionIndex: redis.sessionIndex, user: (ctx) => ctx.session?.user },
      }),
    );
  }
  router.all('/signout', ssoSignOut(routeOptions));

  app.use(router.routes());
  return app;
}
