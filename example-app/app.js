// The example portal on Express: the app, without the process around it.

import { RedisStore } from 'connect-redis';
import cookieParser from 'cookie-parser';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { ssoSignOut } from 'sso-signout';
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

function signedIn(req) {
  return typeof req.session?.sso?.accessToken === 'string';
}

/**
 * Builds the example portal.
 *
 * @param {object} config
 * @param {object} config.signOut - Logout target for ssoSignOut: `{ endpoint }` or `{ region, useFipsEndpoint, useDualstackEndpoint }`.
 * @param {{ issueToken(): string } | undefined} config.portal - The embedded fake portal, when in use: sign-in goes through it.
 * @param {boolean} config.devSignIn - Whether `POST /dev/signin` exists.
 * @param {string} config.sessionSecret
 * @param {{ client: object, prefix: string } | undefined} [config.redis] - With REDIS_URL: sessions are kept there.
 * @param {(line: string) => void} [config.log]
 */
export function createApp({ signOut, portal, devSignIn, sessionSecret, redis, log = () => {} }) {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet(HELMET_OPTIONS));
  app.use(cookieParser());
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));
  app.use(
    session({
      name: 'portal.sid',
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto' },
      ...(redis === undefined
        ? {}
        : { store: new RedisStore({ client: redis.client, prefix: `${redis.prefix}sess:` }) }),
    }),
  );
  const forms = signInForms({ portal, devSignIn });

  const everywhere = redis !== undefined;
  function startSession(req, res, sso, user) {
    // A new session id at sign-in, so a session fixed before sign-in is worth nothing.
    req.session.regenerate((error) => {
      if (error) {
        res.status(500).send(PAGES.sessionFailed());
        return;
      }
      req.session.sso = sso;
      req.session.user = user;
      res.cookie(PREFS_COOKIE, 'theme=light', { httpOnly: true, sameSite: 'lax', path: '/' });
      // With Redis: the session is listed under its user, for "sign out everywhere".
      const indexed = everywhere ? redis.sessionIndex.add(user, req.sessionID) : Promise.resolve();
      indexed.then(
        () => res.redirect(303, '/'),
        () => res.status(500).send(PAGES.sessionFailed()),
      );
    });
  }

  app.get('/', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.send(PAGES.home(signedIn(req), forms, portal !== undefined, everywhere));
  });

  app.get('/signin', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.send(PAGES.signIn(forms));
  });

  if (portal !== undefined) {
    app.post('/signin', (req, res) => {
      startSession(req, res, { accessToken: portal.issueToken() }, DEFAULT_USER);
    });

    // Only with the embedded portal: choose its next Logout answers and see each row in a browser.
    const panel = portalPanel(portal);
    app.get('/dev/portal', (req, res) => {
      res.set('Cache-Control', 'no-store');
      res.send(panel.page());
    });
    app.post('/dev/portal', (req, res) => {
      res.set('Cache-Control', 'no-store');
      if (!sameOriginPost(req.headers, req.get('host'))) {
        res.status(403).send(panel.page('Refused: the control panel takes forms from this site only.'));
        return;
      }
      const { notice, error } = panel.apply(req.body);
      res.status(error === undefined ? 200 : 400).send(panel.page(error ?? notice));
    });
  }

  if (devSignIn) {
    app.post('/dev/signin', (req, res) => {
      const fields = devSignInFields(req.body);
      if (fields === undefined) {
        res.status(400).send(PAGES.noToken());
        return;
      }
      startSession(req, res, fields.sso, fields.user);
    });
  }

  // The protected page: private, never cached, and only for signed-in users.
  app.get('/account', (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!signedIn(req)) {
      res.redirect(303, '/signin');
      return;
    }
    res.send(PAGES.account(everywhere));
  });

  app.get('/signed-out', (req, res) => {
    res.send(PAGES.signedOut());
  });

  app.get('/me', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json({ signedIn: signedIn(req) });
  });

  const routeOptions = {
    ...signOut,
    destination: '/signed-out',
    clearCookies: [{ name: PREFS_COOKIE, httpOnly: true, sameSite: 'lax' }],
    onEvent: eventLogger(log),
  };
  app.all('/signout', ssoSignOut(routeOptions));
  if (everywhere) {
    app.all(
      '/signout/everywhere',
      ssoSignOut({
        ...routeOptions,
        everywhere: { sessionIndex: redis.sessionIndex, user: (req) => req.session?.user },
      }),
    );
  }

  return app;
}
