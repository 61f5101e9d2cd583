// An internal-portal-style Express app whose sign-out is sso-signout: the app, without the process around it.

import cookieParser from 'cookie-parser';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { ssoSignOut } from 'sso-signout';

const PREFS_COOKIE = 'portal_prefs';

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>
`;
}

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
 * @param {(line: string) => void} [config.log]
 */
export function createApp({ signOut, portal, devSignIn, sessionSecret, log = () => {} }) {
  const app = express();
  app.disable('x-powered-by');
  // The example serves plain HTTP on loopback; upgrading its form posts to https would break them.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(cookieParser());
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));
  app.use(
    session({
      name: 'portal.sid',
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto' },
    }),
  );

  const signInForms = [];
  if (portal !== undefined) {
    signInForms.push(
      '<form method="post" action="/signin"><button type="submit">Sign in (embedded IAM Identity Center portal)</button></form>',
    );
  }
  if (devSignIn) {
    signInForms.push(`<form method="post" action="/dev/signin">
<p><label>Access token <input name="accessToken" autocomplete="off" required></label></p>
<p><label>Region <input name="region" placeholder="optional, e.g. eu-west-1"></label></p>
<button type="submit">Development sign-in with this token</button>
</form>`);
  }
  if (signInForms.length === 0) {
    signInForms.push(
      '<p>Sign-in belongs to your IAM Identity Center integration, which this example does not include. Set <code>SSO_DEV_SIGNIN=1</code> to sign in with a token you paste.</p>',
    );
  }

  function startSession(req, res, sso) {
    // A new session id at sign-in, so a session fixed before sign-in is worth nothing.
    req.session.regenerate((error) => {
      if (error) {
        res.status(500).send(page('Sign-in failed', '<p>The session could not be created.</p>'));
        return;
      }
      req.session.sso = sso;
      res.cookie(PREFS_COOKIE, 'theme=light', { httpOnly: true, sameSite: 'lax', path: '/' });
      res.redirect(303, '/');
    });
  }

  app.get('/', (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (signedIn(req)) {
      res.send(
        page(
          'Internal portal',
          `<p>You are <strong>signed in</strong>.</p>
<p><a href="/account">Your account</a></p>
<form method="post" action="/signout"><button type="submit">Sign out</button></form>`,
        ),
      );
    } else {
      res.send(page('Internal portal', `<p>You are <strong>signed out</strong>.</p>\n${signInForms.join('\n')}`));
    }
  });

  app.get('/signin', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.send(page('Sign in', signInForms.join('\n')));
  });

  if (portal !== undefined) {
    app.post('/signin', (req, res) => {
      startSession(req, res, { accessToken: portal.issueToken() });
    });
  }

  if (devSignIn) {
    app.post('/dev/signin', (req, res) => {
      const accessToken = typeof req.body?.accessToken === 'string' ? req.body.accessToken.trim() : '';
      const region =
        typeof req.body?.region === 'string' && req.body.region.trim() !== '' ? req.body.region.trim() : undefined;
      if (accessToken === '') {
        res.status(400).send(page('Sign-in failed', '<p>Give an access token.</p><p><a href="/signin">Back</a></p>'));
        return;
      }
      startSession(req, res, { accessToken, region });
    });
  }

  // The protected page: private, never cached, and only for signed-in users.
  app.get('/account', (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!signedIn(req)) {
      res.redirect(303, '/signin');
      return;
    }
    res.send(page('Your account', '<p>Only signed-in users see this page.</p><p><a href="/">Home</a></p>'));
  });

  app.get('/signed-out', (req, res) => {
    res.send(page('Signed out', '<p>You are signed out.</p><p><a href="/">Home</a></p>'));
  });

  app.get('/me', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json({ signedIn: signedIn(req) });
  });

  app.all(
    '/signout',
    ssoSignOut({
      ...signOut,
      destination: '/signed-out',
      clearCookies: [{ name: PREFS_COOKIE, httpOnly: true, sameSite: 'lax' }],
      onEvent: (event) => {
        const fields = Object.entries(event)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
        log(`sign-out event ${fields.join(' ')}`);
      },
    }),
  );

  return app;
}
