// Benchmark process: one Express app, one express-session store, and the sign-out routes compared:
// ours (sso-signout); limit, the least a hand-written route can do for the same answer; and peer,
// that same hand-written route calling @aws-sdk/client-sso's LogoutCommand instead.

import { LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { sign } from 'cookie-signature';
import express from 'express';
import session from 'express-session';
import { randomUUID } from 'node:crypto';
import { GCProfiler } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { Pool } from 'undici';
import { createClient } from 'redis';
import { createLogoutClient, redisSharedState, ssoSignOut } from 'sso-signout';
import { RETURN_TO } from './browser.js';

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
// ours, with its state shared through Redis (REDIS_URL, default the machine's) as several instances would
const redis = await createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }).connect();
const sharedState = redisSharedState({
  client: redis,
  secret: 'the benchmark secret, thirty-two bytes or more',
  // Instances of one app share a prefix (BENCH_SHARED_PREFIX); a lone benchmark app has its own.
  prefix: process.env.BENCH_SHARED_PREFIX ?? `sso-signout-bench:${randomUUID()}:`,
});
app.all('/signout/shared', ssoSignOut({ endpoint: portalUrl, destination: '/', sharedState }));
// ours, with a 1 s deadline, for the hanging-portal figures
app.all('/signout/ours-1s', ssoSignOut({ endpoint: portalUrl, destination: '/', timeoutMs: 1000 }));
// ours, on a client of its own, for the throttling figures (its throttle gate must not touch the others)
app.all('/signout/ours-throttle', ssoSignOut({ endpoint: portalUrl, destination: '/' }));

// The least a route can do once the portal has answered, for the answer ours gives a browser:
// destroy the session, clear its cookie, 303 to where the form asked (known here in advance, so
// neither the body nor the headers are read), no body.
const CLEARED = 'connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly';
function endSession(req, res, next) {
  req.session.destroy((error) => {
    if (error) return next(error);
    res.writeHead(303, {
      location: RETURN_TO,
      'cache-control': 'no-store',
      'set-cookie': CLEARED,
      'content-length': 0,
    });
    res.end();
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

// limit+client: the limit with its Logout sent through this package's client instead of the raw
// pool. Beside the limit and ours, it tells what the client's guarantees cost (the deadline, retries,
// one call per token, the memory of dead tokens) from what the route's own work costs.
const logoutClient = createLogoutClient({ endpoint: portalUrl });
app.post('/signout/limit-client', (req, res, next) => {
  const token = req.session.sso?.accessToken;
  const finish = () => endSession(req, res, next);
  if (token === undefined) return finish();
  logoutClient.logout({ accessToken: token }).then(finish, next);
});

// peer: the same route with the official SDK client.
const sso = new SSOClient({ region: 'us-east-1', endpoint: portalUrl });
app.post('/signout/peer', (req, res, next) => {
  const token = req.session.sso?.accessToken;
  const finish = () => endSession(req, res, next);
  if (token === undefined) return finish();
  sso.send(new LogoutCommand({ accessToken: token })).then(finish, finish);
});

// Control, outside any timed part.
app.post('/bench/sessions', (req, res) => {
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
// The CPU the process has used, and the sign-outs it has finished since the window was opened.
app.get('/bench/cpu', (req, res) => {
  res.json({ ...process.cpuUsage(), finished: window.count });
});
// Before each timed run: collect what minting sessions (and the run before) left in the young
// generation, so no run pays for another's garbage. A scavenge, not full collections: two of those in
// an idle app free what finished requests left, and V8 throws away the optimised code compiled against
// it ("reason: weak objects" under --trace-deopt), so every timed run would also time recompiling it
// (about 120 TurboFan compiles per 10,000 sign-outs, where a running app makes 15–20).
app.post('/bench/settle', (req, res) => {
  globalThis.gc?.({ type: 'minor' });
  res.json({ ok: true });
});
app.post('/bench/window', (req, res) => {
  const { count, first, last } = window;
  window = { count: 0, first: 0, last: 0 };
  res.json({ count, seconds: (last - first) / 1000 });
});
// A mark in V8's log (`--log-ic`): a script of its own, which the log records with its source, so
// the parent can count what the log holds between two marks.
app.post('/bench/mark', (req, res) => {
  runInThisContext(JSON.stringify(`sso-signout-bench-mark:${String(req.query.name)}`));
  res.json({ ok: true });
});
// V8's own account of its garbage collections between `start` and `stop`: how many scavenges (the
// young generation's collections, whose number follows what is allocated), the bytes they moved to
// the old generation (what lived long enough to survive them), and the main thread's time in all.
let gcProfiler;
const oldGeneration = (heap) =>
  heap.heapSpaceStatistics
    .filter((space) => space.spaceName === 'old_space' || space.spaceName === 'lo_space')
    .reduce((sum, space) => sum + space.spaceUsedSize, 0);
app.post('/bench/gc', (req, res) => {
  if (req.query.cmd === 'start') {
    gcProfiler = new GCProfiler();
    gcProfiler.start();
    return res.json({ ok: true });
  }
  const { statistics } = gcProfiler.stop();
  let scavenges = 0;
  let promoted = 0;
  let micros = 0;
  for (const gc of statistics) {
    micros += gc.cost;
    if (gc.gcType !== 'Scavenge') continue;
    scavenges++;
    promoted += oldGeneration(gc.afterGC) - oldGeneration(gc.beforeGC);
  }
  return res.json({ scavenges, promoted, micros });
});
app.get('/bench/memory', (req, res) => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  store.length((error, sessions) => res.json({ rss: m.rss, heapUsed: m.heapUsed, sessions }));
});

const server = app.listen(0, '127.0.0.1', () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
// The control requests come minutes apart from one keep-alive client: the client, not the app, must
// be the one to drop an idle connection, or a request can meet a socket the app is closing.
server.keepAliveTimeout = 120_000;
// Exit on request, so a profiler (`--cpu-prof`) can write its profile.
process.on('message', (message) => {
  if (message?.cmd === 'exit') process.exit(0);
});
