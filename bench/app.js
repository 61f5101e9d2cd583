// Benchmark process: one Express app, one express-session store, and the three sign-out routes
// compared: ours (sso-signout), limit (the least a hand-written route can do) and peer (the same
// hand-written route calling @aws-sdk/client-sso's LogoutCommand).

import { LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { sign } from 'cookie-signature';
import express from 'express';
import session from 'express-session';
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { ssoSignOut } from 'sso-signout';

const portalUrl = process.env.PORTAL_URL;
const SECRET = 'bench secret';
const store = new session.MemoryStore();
const app = express();
app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store }));

// The timed window, measured where the work happens: from the first to the last finished sign-out.
// (The load generator only notices the end of a run on its one-second tick.)
let window = { count: 0, first: 0, last: 0 };
app.use((req, res, next) => {
  if (req.path.startsWith('/signout/')) {
    res.on('finish', () => {
      const t = performance.now();
      if (window.count === 0) window.first = t;
      window.count++;
      window.last = t;
    });
  }
  next();
});

// ours
app.all('/signout/ours', ssoSignOut({ endpoint: portalUrl, destination: '/' }));
// ours, with a 1 s deadline, for the hanging-portal figures
app.all('/signout/ours-1s', ssoSignOut({ endpoint: portalUrl, destination: '/', timeoutMs: 1000 }));
// ours, on a client of its own, for the throttling figures (its throttle gate must not touch the others)
app.all('/signout/ours-throttle', ssoSignOut({ endpoint: portalUrl, destination: '/' }));

// What limit and peer do once the portal has answered: destroy, clear the cookie, 303.
function endSession(req, res, next) {
  req.session.destroy((error) => {
    if (error) return next(error);
    res.clearCookie('connect.sid');
    res.redirect(303, '/');
  });
}

// limit: one raw undici request on a keep-alive pool, then endSession.
const pool = new Pool(portalUrl, { connections: 16 });
app.post('/signout/limit', (req, res, next) => {
  const token = req.session.sso?.accessToken;
  const finish = () => endSession(req, res, next);
  if (token === undefined) return finish();
  pool
    .request({ path: '/logout', method: 'POST', headers: { 'x-amz-sso_bearer_token': token, 'content-length': '0' } })
    .then((r) => r.body.dump())
    .then(finish, next);
});

// peer: what most apps write today, with the official SDK client.
const sso = new SSOClient({ region: 'us-east-1', endpoint: portalUrl });
app.post('/signout/peer', (req, res, next) => {
  const token = req.session.sso?.accessToken;
  const finish = () => endSession(req, res, next);
  if (token === undefined) return finish();
  sso.send(new LogoutCommand({ accessToken: token })).then(finish, finish);
});

// Control, outside any timed part.
app.post('/bench/sessions', express.json(), (req, res) => {
  const count = Number(req.query.n);
  const cookies = [];
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  for (let i = 0; i < count; i++) {
    const sid = randomUUID();
    store.set(
      sid,
      {
        cookie: { originalMaxAge: null, expires, httpOnly: true, path: '/' },
        sso: { accessToken: `aoa-bench-${sid}` },
      },
      () => {},
    );
    cookies.push(`connect.sid=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}`);
  }
  res.json(cookies);
});
app.get('/bench/cpu', (req, res) => {
  res.json(process.cpuUsage());
});
app.post('/bench/window', (req, res) => {
  const { count, first, last } = window;
  window = { count: 0, first: 0, last: 0 };
  res.json({ count, seconds: (last - first) / 1000 });
});
app.get('/bench/memory', (req, res) => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  store.length((error, sessions) => res.json({ rss: m.rss, heapUsed: m.heapUsed, sessions }));
});

const server = app.listen(0, '127.0.0.1', () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
process.on('message', (message) => {
  if (message.cmd === 'close') {
    server.close();
    server.closeAllConnections();
    void pool.close();
    sso.destroy();
    process.exit(0);
  }
});
