// Benchmark process: a cold start, as a deployment sees one. In a fresh process: load the app's
// framework (not counted), then import the sign-out library, make the route, and answer the first
// sign-out (a browser-shaped request with a stored sign-in). Reports each stage's time, in
// milliseconds since the process started.
//   node bench/cold.js ours|peer <portal url>

import { sign } from 'cookie-signature';
import express from 'express';
import session from 'express-session';
import { request } from 'node:http';
import { browserCookies, browserSignOut } from './browser.js';

const [which, portalUrl] = process.argv.slice(2);
const started = performance.now();

async function route() {
  if (which === 'ours') {
    const { ssoSignOut } = await import('sso-signout');
    const imported = performance.now();
    return [imported, ssoSignOut({ endpoint: portalUrl, destination: '/' })];
  }
  const { LogoutCommand, SSOClient } = await import('@aws-sdk/client-sso');
  const imported = performance.now();
  const sso = new SSOClient({ region: 'us-east-1', endpoint: portalUrl });
  return [
    imported,
    (req, res) => {
      const finish = () =>
        req.session.destroy(() => {
          res.writeHead(303, { location: '/', 'cache-control': 'no-store', 'content-length': 0 }).end();
        });
      sso.send(new LogoutCommand({ accessToken: req.session.sso.accessToken })).then(finish, finish);
    },
  ];
}

const store = new session.MemoryStore();
const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
const [imported, signOut] = await route();
app.all('/signout', signOut);
const made = performance.now();

store.set('cold', { cookie: { path: '/', httpOnly: true }, sso: { accessToken: 'aoa-cold' } }, () => {});
const server = app.listen(0, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const shape = browserSignOut(origin, '/signout');
  const cookie = browserCookies(`connect.sid=${encodeURIComponent(`s:${sign('cold', 's')}`)}`);
  const sent = performance.now();
  const req = request(`${origin}/signout`, { method: 'POST', headers: { ...shape.headers, cookie } }, (res) => {
    res.resume();
    res.on('end', () => {
      const answered = performance.now();
      process.stdout.write(
        JSON.stringify({
          status: res.statusCode,
          import: imported - started,
          route: made - imported,
          firstSignOut: answered - sent,
          total: answered - started,
        }),
      );
      server.close();
      server.closeAllConnections();
      process.exit(0);
    });
  });
  req.end(shape.body);
});
