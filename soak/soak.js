// A bounded soak: many sign-outs at high concurrency against a fake portal with a mix of faults.
// Every answer must be a row of the contract, every signed-out session must be gone, the process
// must stay up, and memory must stay flat. `npm run soak` runs it at full size and prints figures.

import express from 'express';
import session from 'express-session';
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { createLogoutClient, guardSessionStore, ssoSignOut } from 'sso-signout';
import { startFakePortal } from 'sso-signout/testing';

/** The contract's rows, as a JSON client sees them: status → [code, signedOut]. */
const ROWS = new Map([
  [200, [undefined, true]],
  [401, ['sso_token_rejected', true]],
  [429, ['sso_throttled', false]],
  [502, ['sso_bad_response', false]],
  [503, ['sso_unavailable', false]],
  [504, ['sso_timeout', false]],
]);

// A small seeded generator, so a failing mix can be replayed.
function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The fault mix: mostly real answers, the rest spread over every kind of failure.
const MIX = [
  [0.62, 'real'],
  [0.08, 'unauthorized'],
  [0.05, { kind: 'throttle', amzRetryAfterMs: 5 }],
  [0.06, { kind: 'status', status: 500 }],
  [0.04, { kind: 'status', status: 503, body: '<html>busy</html>' }],
  [0.04, 'reset'],
  [0.03, 'garbage'],
  [0.02, { kind: 'redirect', status: 302 }],
  [0.02, 'hang'],
  [0.04, { kind: 'real', delayMs: 15 }],
];

function chooser(random) {
  return () => {
    let r = random();
    for (const [weight, reply] of MIX) {
      if ((r -= weight) < 0) return reply;
    }
    return 'real';
  };
}

// One gc() right after sockets close leaves their buffers for later; a few passes with event-loop
// turns between them settle the heap.
async function settle() {
  for (let pass = 0; pass < 6; pass++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function mib(bytes) {
  return Math.round((bytes / 1048576) * 10) / 10;
}

function buildApp(client) {
  const app = express();
  app.use(
    session({
      secret: 'soak',
      resave: false,
      saveUninitialized: false,
      store: guardSessionStore(new session.MemoryStore()),
    }),
  );
  app.post('/in/:token', (req, res) => {
    req.session.sso = { accessToken: req.params.token };
    res.end();
  });
  app.get('/me', (req, res) => {
    res.json({ signedIn: req.session.sso !== undefined });
  });
  app.all('/signout', ssoSignOut({ client, destination: '/bye' }));
  return app;
}

/**
 * Runs `count` sign-outs at `concurrency`. Returns the figures; `problems` lists every answer that
 * was not a contract row and every signed-out session still usable.
 */
export async function runSoak({ count = 20_000, concurrency = 64, seed = 1, timeoutMs = 250, log = () => {} } = {}) {
  const portal = await startFakePortal();
  portal.setDefault(chooser(prng(seed)));
  const client = createLogoutClient({ endpoint: portal.url, timeoutMs, maxPending: 10_000 });
  const server = createServer(buildApp(client));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });

  const statuses = new Map();
  const problems = [];
  let started = 0;
  let signedOut = 0;
  const t0 = performance.now();

  async function one() {
    const token = portal.issueToken();
    const signin = await pool.request({ path: `/in/${encodeURIComponent(token)}`, method: 'POST' });
    await signin.body.dump();
    const cookie = String(signin.headers['set-cookie']).split(';', 1)[0];
    const res = await pool.request({
      path: '/signout',
      method: 'POST',
      headers: { cookie, accept: 'application/json', origin },
    });
    const text = await res.body.text();
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    const row = ROWS.get(res.statusCode);
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (row === undefined || body === undefined || body.code !== row[0] || body.signedOut !== row[1]) {
      problems.push(`not a contract row: ${res.statusCode} ${text.slice(0, 120)}`);
      return;
    }
    if (res.headers['cache-control'] !== 'no-store') problems.push(`no Cache-Control: no-store on ${res.statusCode}`);
    const me = await pool.request({ path: '/me', method: 'GET', headers: { cookie } });
    const { signedIn } = await me.body.json();
    if (body.signedOut) {
      signedOut++;
      if (signedIn) problems.push(`a session answered signedOut: true is still usable (${res.statusCode})`);
    } else if (!signedIn) {
      problems.push(`a session answered signedOut: false was lost (${res.statusCode})`);
    }
  }

  async function worker() {
    while (started < count) {
      started++;
      try {
        await one();
      } catch (error) {
        problems.push(`request failed: ${error.message}`);
      }
    }
  }

  const progress = setInterval(() => log(`  … ${started} of ${count}`), 5000);
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearInterval(progress);
  const seconds = (performance.now() - t0) / 1000;
  await settle();
  // Still holding the run's own data: sessions kept by failures, revoked markers, the portal's log.
  const loaded = process.memoryUsage();

  await pool.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await client.close();
  const portalCalls = portal.calls.length;
  await portal.close();

  return {
    count,
    concurrency,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round(count / seconds),
    statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
    signedOut,
    portalCalls,
    rssLoadedMiB: mib(loaded.rss),
    heapLoadedMiB: mib(loaded.heapUsed),
    problems,
  };
}

/**
 * Runs the soak and measures memory around it, from outside the run, so nothing the run made is
 * still referenced when the heap is read afterwards.
 */
export async function measuredSoak(options) {
  const gcExposed = typeof globalThis.gc === 'function';
  await settle();
  const before = process.memoryUsage();
  const figures = await runSoak(options);
  await settle();
  const after = process.memoryUsage();
  return {
    ...figures,
    gcExposed,
    rssBeforeMiB: mib(before.rss),
    rssAfterMiB: mib(after.rss),
    heapBeforeMiB: mib(before.heapUsed),
    heapAfterMiB: mib(after.heapUsed),
  };
}

function report(figures) {
  const lines = [
    `sign-outs: ${figures.count} at concurrency ${figures.concurrency} in ${figures.seconds} s (${figures.perSecond}/s)`,
    `answers by status: ${JSON.stringify(figures.statuses)}; signed out: ${figures.signedOut}; portal calls: ${figures.portalCalls}`,
  ];
  if (figures.heapBeforeMiB !== undefined) {
    lines.push(
      `RSS: ${figures.rssBeforeMiB} MiB before, ${figures.rssLoadedMiB} MiB at the end of the run, ${figures.rssAfterMiB} MiB after it`,
      `heap${figures.gcExposed ? ' after GC' : ''}: ${figures.heapBeforeMiB} MiB before, ${figures.heapLoadedMiB} MiB at the end of the run (its sessions, markers and portal log), ${figures.heapAfterMiB} MiB after it`,
    );
  } else {
    lines.push(`heap at the end of the run: ${figures.heapLoadedMiB} MiB (RSS ${figures.rssLoadedMiB} MiB)`);
  }
  lines.push(`problems: ${figures.problems.length}`, ...figures.problems.slice(0, 10).map((p) => `  ${p}`));
  return lines.join('\n');
}

export { report };

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.env.SOAK_COUNT ?? 20_000);
  const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 64);
  // A warm-up run first, so the figures compare a warm process with itself.
  console.log(`warm-up: 2000 sign-outs`);
  await runSoak({ count: 2000, concurrency, seed: 7 });
  console.log(`soak: ${count} sign-outs at concurrency ${concurrency}`);
  const figures = await measuredSoak({ count, concurrency, log: (line) => console.log(line) });
  console.log(report(figures));
  const heapGrowth = Math.round((figures.heapAfterMiB - figures.heapBeforeMiB) * 10) / 10;
  const flat = !figures.gcExposed || heapGrowth < 4;
  const ok =
    flat &&
    figures.problems.length === 0 &&
    figures.count === Object.values(figures.statuses).reduce((a, b) => a + b, 0);
  console.log(
    `heap left behind by ${figures.count} sign-outs: ${heapGrowth} MiB (${figures.gcExposed ? 'after forced GC; target < 4 MiB' : 'run with --expose-gc for a GC-settled figure'})`,
  );
  console.log(ok ? 'soak: every answer a contract row, every signed-out session gone' : 'soak: FAILED');
  process.exitCode = ok ? 0 : 1;
}
