// `npm run bench`: the sign-out route against the limit and the peer, side by side in one run, with
// requests shaped as a browser sends them; ours and the limit at once on one CPU, for a CPU ratio
// the machine's drift does not move; V8's inline-cache misses per sign-out on each; then
// cold starts, install footprint, a hanging and a throttling portal, and memory from a cold
// baseline. Every figure with a target is printed beside it.
// `--smoke` runs everything with tiny counts (part of npm test, so the benchmark cannot rot).

import { execFileSync, fork, spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const smoke = process.argv.includes('--smoke');
const routesOnly = process.argv.includes('--routes-only');
// Only the 429 storm met by two instances (about 10 s).
const stormOnly = process.argv.includes('--storm-only');
// Only V8's inline-cache misses and garbage collection per sign-out (about a minute and a half).
const missesOnly = process.argv.includes('--misses-only');
// Only ours beside the limit, in two app processes loaded at once on one CPU (about two minutes).
const togetherOnly = process.argv.includes('--together-only');

// Rounds long enough to average out this machine's second-to-second noise (11 rounds of 8000 gave
// paired ranges twice as wide as 5 of 20,000, with the same medians).
const SIGN_OUTS = smoke ? 200 : Number(process.env.BENCH_SIGN_OUTS ?? 20_000);
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCIES = [32, 128];
const WARM_UP = smoke ? 50 : 3000;
const HANG_SIGN_OUTS = smoke ? 20 : 200;
const HANG_DEADLINE_MS = 1000;
const BURST = smoke ? 100 : 1000;
const THROTTLE = { retryAfter: 1, forMs: 1000 };
const MEMORY_SIGN_OUTS = smoke ? 1000 : 100_000;
const MEMORY_BATCH = smoke ? 500 : 10_000;
const COLD_STARTS = smoke ? 3 : 9;
const MISS_SIGN_OUTS = smoke ? 200 : 5000;

const TARGETS = {
  throughputVsLimit: 0.92,
  cpuVsLimit: 1.1,
  throughputVsPeer: 1.5,
  sharedCpuVsMemory: 1.15,
  importVsSdk: 1 / 3,
  firstSignOutVsPeer: 1,
  hangSlackMs: 100,
  // Heap after GC, from before the first sign-out: what loading undici and the route's first-use
  // modules costs, and no more.
  memoryFromColdMiB: 8,
  // Heap after GC over the second half of the sign-outs: flat.
  memorySecondHalfMiB: 1,
};

const work = mkdtempSync(join(tmpdir(), 'sso-signout-bench-'));

// The processes this run has started and not seen exit: stopped with it if it is interrupted, so
// no app, portal or load generator is left running, and no temporary directory left behind.
const running = new Set();
function started(process_) {
  running.add(process_);
  process_.once('exit', () => running.delete(process_));
  return process_;
}
/** Stops the run now: every process it started, its temporary directory, and itself. */
function stopRun(code) {
  // SIGKILL: a stopped process (SIGSTOP) acts on no other signal.
  for (const process_ of running) process_.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  process.exit(code);
}
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.once(signal, () => stopRun(code));
}
/** A process the run still needs is gone, or a step cannot end: said, and the run stopped. */
function broken(message) {
  console.error(`sso-signout benchmark stopped: ${message}`);
  stopRun(1);
}
/** Stops the run with `message` unless the function returned is called within `ms`. */
function limitTo(ms, message) {
  const timer = setTimeout(() => broken(message), ms);
  return () => clearTimeout(timer);
}

// On Linux with two CPUs or more, the app gets CPU 0 to itself and the portal and the load
// generator share the last one, so the app's figures are not those of three processes jostling.
const TASKSET = '/usr/bin/taskset';
const pinned = process.platform === 'linux' && availableParallelism() >= 2 && existsSync(TASKSET);
const APP_CPU = '0';
const OTHERS_CPU = String(availableParallelism() - 1);

/** `[command, args]` running `args` under node, pinned to `cpu` when pinning is on. */
function node(cpu, args) {
  return pinned ? [TASKSET, ['-c', cpu, process.execPath, ...args]] : [process.execPath, args];
}

/**
 * A benchmark process (the app, the portal) talking over IPC. Stopped with `stop()` (or, for the
 * app, its `exit` command); gone any other way while the run goes on, it stops the run, which
 * would otherwise wait on it for ever.
 */
function child(script, env = {}, execArgv = []) {
  const cpu = script === 'app.js' ? APP_CPU : OTHERS_CPU;
  const [command, args] = node(cpu, [...execArgv]);
  const process_ = started(
    fork(join(here, script), [], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      execPath: command,
      execArgv: command === TASKSET ? args : execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  const handle = {
    process: process_,
    ready: new Promise((resolve, reject) => {
      process_.once('message', resolve);
      process_.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    }),
    expected: false,
    stop() {
      handle.expected = true;
      process_.kill();
    },
  };
  process_.once('exit', (code, signal) => {
    if (!handle.expected) broken(`${script} exited (${signal ?? `code ${code}`}) while the run needed it`);
  });
  process_.on('error', (error) => {
    if (!handle.expected) broken(`${script}: ${error.message}`);
  });
  return handle;
}

// A control step (a question to the portal or the app, a fresh process's cold start) takes well
// under a second; one that takes this long has a process that stopped answering.
const STEP_LIMIT_MS = 60_000;

let requestId = 0;
function ask(target, message) {
  const id = ++requestId;
  return new Promise((resolve) => {
    const answered = limitTo(
      STEP_LIMIT_MS,
      `a benchmark process did not answer "${message.cmd}" within ${STEP_LIMIT_MS / 1000} s`,
    );
    const onMessage = (reply) => {
      if (reply.id === id) {
        answered();
        target.off('message', onMessage);
        resolve(reply);
      }
    };
    target.on('message', onMessage);
    target.send({ ...message, id });
  });
}

/** A control request to an app, within the step limit. */
async function control(url, init = {}) {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(STEP_LIMIT_MS) });
  } catch (error) {
    if (error.name !== 'TimeoutError') throw error;
    return broken(`the app did not answer ${new URL(url).pathname} within ${STEP_LIMIT_MS / 1000} s`);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const round = (value, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
const mib = (bytes) => round(bytes / 1048576, 1);
const signed = (value) => `${value >= 0 ? '+' : ''}${value}`;
const verdict = (ok) => (ok ? 'met' : 'NOT MET');
const atMost = (value, target, unit = '') => `target ≤ ${round(target, 2)}${unit}: ${verdict(value <= target)}`;
const atLeast = (value, target) => `target ≥ ${round(target, 2)}: ${verdict(value >= target)}`;

// A load run takes seconds; one that takes this long has an app or a portal that stopped answering
// (autocannon's own timeout is per request, so it would go on for hours).
const LOAD_LIMIT_MS = 5 * 60_000;

function load(appUrl, path, cookiesFile, connections) {
  return new Promise((resolve, reject) => {
    const config = JSON.stringify({ url: appUrl, path, cookiesFile, connections });
    const [command, args] = node(OTHERS_CPU, [join(here, 'load.js'), config]);
    const p = started(spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
    const ended = limitTo(
      LOAD_LIMIT_MS,
      `a load run on ${path} took over ${LOAD_LIMIT_MS / 1000} s: the app or the portal stopped answering`,
    );
    p.on('error', (error) => {
      ended();
      reject(error);
    });
    let out = '';
    p.stdout.on('data', (chunk) => (out += chunk));
    p.on('exit', (code) => {
      ended();
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`load exited with ${code}`));
    });
  });
}

let cookieFiles = 0;

/** The CPU time (µs) a process used between two readings of `/bench/cpu`. */
const cpuUsed = (after, before) => after.user + after.system - (before.user + before.system);

/** An app process with the routes, and the sign-outs it is sent. */
function benchApp(portal, portalUrl, env = {}, execArgv = []) {
  const app = child('app.js', { PORTAL_URL: portalUrl, ...env }, ['--expose-gc', ...execArgv]);
  const session = {
    app,
    async url() {
      return (await app.ready).url;
    },
    async get(path) {
      return (await control(`${await session.url()}${path}`)).json();
    },
    /** Mints `count` fresh sessions for a timed run on `path`, settles the app, and takes its CPU before. */
    async prepare(path, count) {
      const appUrl = await session.url();
      const cookies = await (await control(`${appUrl}/bench/sessions?n=${count}`, { method: 'POST' })).json();
      const cookiesFile = join(work, `cookies-${++cookieFiles}.json`);
      writeFileSync(cookiesFile, JSON.stringify(cookies));
      await control(`${appUrl}/bench/settle`, { method: 'POST' });
      await control(`${appUrl}/bench/window`, { method: 'POST' });
      return { appUrl, path, count, cookiesFile, cpuBefore: await session.get('/bench/cpu') };
    },
    /** The load of a prepared run, and what the app used and finished during it. */
    async run(prepared, connections, { marked = false, collected = false, loaded } = {}) {
      const { appUrl, path, count, cookiesFile, cpuBefore } = prepared;
      if (marked) await control(`${appUrl}/bench/mark?name=start`, { method: 'POST' });
      if (collected) await control(`${appUrl}/bench/gc?cmd=start`, { method: 'POST' });
      const result = await load(appUrl, path, cookiesFile, Math.min(connections, count));
      rmSync(cookiesFile);
      // A run beside another waits for both to be read at the moment the first is done.
      await loaded?.();
      if (marked) await control(`${appUrl}/bench/mark?name=end`, { method: 'POST' });
      const gc = collected
        ? await (await control(`${appUrl}/bench/gc?cmd=stop`, { method: 'POST' })).json()
        : undefined;
      const cpuAfter = await session.get('/bench/cpu');
      const window = await (await control(`${appUrl}/bench/window`, { method: 'POST' })).json();
      const cpu = cpuUsed(cpuAfter, cpuBefore);
      return {
        ...result,
        // Sign-outs finished per second between the app's first and last answer.
        perSecond: window.seconds > 0 ? (window.count - 1) / window.seconds : 0,
        cpuMicros: cpu / result.requests,
        answered: (status) => result.statusCodes[String(status)]?.count ?? 0,
        gc,
      };
    },
    /** `count` browser-shaped sign-outs of fresh sessions on `path`, timed where the app works. */
    async signOuts(path, count, { connections, portalScript = { reply: 'ok' }, marked = false, collected = false }) {
      portal.process.send({ cmd: 'reset', ...portalScript });
      const result = await session.run(await session.prepare(path, count), connections, { marked, collected });
      const portalStats = await ask(portal.process, { cmd: 'stats' });
      return { ...result, calls: portalStats.count, revoked: portalStats.byStatus['200'] ?? 0 };
    },
    /** Asks the app to exit, so what it writes at exit (V8's log) is written. */
    async exit() {
      await app.ready;
      if (app.process.exitCode !== null || app.process.signalCode !== null) return;
      app.expected = true;
      const exited = new Promise((resolve) => app.process.once('exit', resolve));
      const done = limitTo(STEP_LIMIT_MS, `the app did not exit within ${STEP_LIMIT_MS / 1000} s of being asked to`);
      app.process.send({ cmd: 'exit' });
      await exited;
      done();
    },
  };
  return session;
}

async function main() {
  const portal = child('portal.js');
  const portalUrl = (await portal.ready).url;
  const apps = [];
  const start = () => {
    const app = benchApp(portal, portalUrl);
    apps.push(app);
    return app;
  };
  try {
    header();
    const startInstance = (env) => {
      const instance = benchApp(portal, portalUrl, env);
      apps.push(instance);
      return instance;
    };
    if (stormOnly) {
      await stormAcrossInstances(portal, startInstance);
      return;
    }
    if (missesOnly) {
      await cacheMisses(portal, portalUrl);
      await garbage(portal, portalUrl);
      return;
    }
    if (togetherOnly) {
      await together(portal, portalUrl, apps);
      return;
    }
    // Memory first, in an app process of its own, from a baseline taken before its first sign-out.
    if (!routesOnly) {
      const memoryApp = start();
      await memory(memoryApp);
      memoryApp.app.stop();
    }
    const app = start();
    await throughput(app);
    await together(portal, portalUrl, apps);
    await cacheMisses(portal, portalUrl);
    await garbage(portal, portalUrl);
    if (routesOnly) return;
    await coldStarts(portalUrl);
    footprintLine();
    await hanging(app);
    await throttled(app);
    await stormAcrossInstances(portal, startInstance);
  } finally {
    // The children hold IPC channels open: without this a failed run would never exit.
    for (const app of apps) app.app.stop();
    portal.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function header() {
  console.log(
    `sso-signout benchmark${smoke ? ' (smoke run: tiny counts, figures meaningless)' : ''}: Node ${process.version}, ${availableParallelism()} CPUs`,
  );
  console.log(
    'App, fake portal and load generator (autocannon) in three processes on loopback. Every sign-out is what Chrome sends for',
  );
  console.log(
    'a same-origin form POST (Origin, Sec-Fetch-*, the navigation Accept, a form body with return_to, three cookies), of a',
  );
  console.log('fresh session minted into the store before the timed run: no sign-in cost is timed.');
  console.log(
    'Routes: ours = sso-signout; limit = the least a hand-written route does for the same answer (raw undici keep-alive',
  );
  console.log(
    'pool, destroy the session, clear the cookie, 303 with Location and Cache-Control: no-store, no body); peer = that',
  );
  console.log(
    'route calling @aws-sdk/client-sso instead; limit+client = the limit calling Logout through createLogoutClient; shared =',
  );
  console.log('ours with its state in Redis (redisSharedState).');
  console.log(
    pinned
      ? `The app runs pinned to CPU ${APP_CPU}; the portal and the load generator share CPU ${OTHERS_CPU}.\n`
      : 'Processes are not pinned to CPUs (needs Linux, taskset and two CPUs): expect noisier figures.\n',
  );
}

async function throughput(app) {
  const routes = {
    ours: '/signout/ours',
    limit: '/signout/limit',
    'limit+client': '/signout/limit-client',
    peer: '/signout/peer',
    shared: '/signout/shared',
  };
  const names = Object.keys(routes);
  console.log(
    `${ROUNDS} round(s) of ${SIGN_OUTS} sign-outs per route and concurrency, ours beside each route it is compared with, order alternating; medians shown.`,
  );
  console.log('conc.  route          sign-outs/s   p50 ms   p99 ms   CPU µs per sign-out');
  const ratios = [];
  for (const connections of CONCURRENCIES) {
    for (const path of Object.values(routes)) await app.signOuts(path, WARM_UP, { connections });
    const runs = Object.fromEntries(names.map((name) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Each route stands next to the routes it is compared with (limit, limit+client, ours, shared),
      // first in one round and second in the next, so a change of speed within a round weighs on
      // both sides alike.
      const order = ['limit', 'limit+client', 'ours', 'shared', 'peer'];
      for (const name of r % 2 === 0 ? order : [...order].reverse()) {
        const result = await app.signOuts(routes[name], SIGN_OUTS, { connections });
        if (result.answered(303) !== SIGN_OUTS || result.calls !== SIGN_OUTS) {
          throw new Error(
            `${name}: ${result.answered(303)} of ${SIGN_OUTS} answered 303, ${result.calls} portal calls`,
          );
        }
        runs[name].push(result);
      }
    }
    const figures = Object.fromEntries(names.map((name) => [name, medians(runs[name])]));
    for (const name of names) {
      const f = figures[name];
      console.log(
        `${String(connections).padStart(5)}  ${name.padEnd(13)}  ${String(round(f.perSecond)).padStart(11)}   ${String(f.p50).padStart(6)}   ${String(f.p99).padStart(6)}   ${String(round(f.cpuMicros)).padStart(19)}`,
      );
    }
    ratios.push({ connections, runs });
  }
  console.log(
    '\nRatios are paired: each round runs the routes back to back, the ratio is taken within the round, and the median of\nthe rounds is judged (the range of the rounds beside it), so a machine that slows down for a while moves both sides.',
  );
  for (const { connections, runs } of ratios) {
    const vsLimit = paired(runs.ours, runs.limit, 'perSecond');
    const cpuVsLimit = paired(runs.ours, runs.limit, 'cpuMicros');
    const vsPeer = paired(runs.ours, runs.peer, 'perSecond');
    const sharedCpu = paired(runs.shared, runs.ours, 'cpuMicros');
    const clientCpu = paired(runs['limit+client'], runs.limit, 'cpuMicros');
    const routeCpu = paired(runs.ours, runs['limit+client'], 'cpuMicros');
    console.log(
      `at ${connections}: ours/limit throughput ${vsLimit.text} (${atLeast(vsLimit.median, TARGETS.throughputVsLimit)}); ours/limit CPU per sign-out ${cpuVsLimit.text} (judged side by side, below); ours/peer throughput ${vsPeer.text} (${atLeast(vsPeer.median, TARGETS.throughputVsPeer)}); shared state on Redis/memory CPU per sign-out ${sharedCpu.text} (${atMost(sharedCpu.median, TARGETS.sharedCpuVsMemory)}), p99 ${median(runs.shared.map((run) => run.p99))} ms vs ${median(runs.ours.map((run) => run.p99))} ms`,
    );
    console.log(
      `  where the CPU gap to the limit lies, at ${connections}: limit+client/limit ${clientCpu.text} (the Logout client: its deadline, retries, one call per token and memory of dead tokens); ours/limit+client ${routeCpu.text} (the route: the cross-site check, negotiation, the body read and return_to vetting, the session's cookies, the answer)`,
    );
  }
}

/**
 * Ours and the limit at once: two app processes pinned to the same CPU, each loaded with its own
 * sign-outs, started together. They share that CPU and whatever else slows this machine while
 * they run, so the ratio of what each used is the routes' own, free of the drift between runs
 * taken one after the other. Both are read the moment the first of the two has finished its
 * sign-outs: the CPU each has used, over the sign-outs each has finished. (Throughput is not
 * judged here: one load generator's CPU feeds both apps, so neither is held at its own limit.)
 */
async function together(portal, portalUrl, apps) {
  const pair = [benchApp(portal, portalUrl), benchApp(portal, portalUrl)];
  apps.push(...pair);
  const routes = { ours: '/signout/ours', limit: '/signout/limit' };
  console.log(
    `\nSide by side on one CPU: ours and the limit in two app processes pinned to CPU ${APP_CPU}, loaded at once, ${ROUNDS} round(s) of\n${SIGN_OUTS} sign-outs each (the processes swap routes each round), read the moment the first of the two is done.`,
  );
  for (const connections of CONCURRENCIES) {
    for (const app of pair) {
      for (const path of Object.values(routes)) await app.signOuts(path, WARM_UP, { connections });
    }
    const perSignOut = { ours: [], limit: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const [oursApp, limitApp] = r % 2 === 0 ? pair : [...pair].reverse();
      portal.process.send({ cmd: 'reset', reply: 'ok' });
      const ours = await oursApp.prepare(routes.ours, SIGN_OUTS);
      const limit = await limitApp.prepare(routes.limit, SIGN_OUTS);
      let reading;
      const loaded = () => (reading ??= Promise.all([oursApp.get('/bench/cpu'), limitApp.get('/bench/cpu')]));
      const runs = await Promise.all([
        oursApp.run(ours, connections, { loaded }),
        limitApp.run(limit, connections, { loaded }),
      ]);
      const portalStats = await ask(portal.process, { cmd: 'stats' });
      const answered = runs.map((run) => run.answered(303));
      if (answered.some((count) => count !== SIGN_OUTS) || portalStats.count !== 2 * SIGN_OUTS) {
        throw new Error(
          `side by side: ${answered.join(' and ')} of ${SIGN_OUTS} answered 303, ${portalStats.count} portal calls`,
        );
      }
      const [oursNow, limitNow] = await reading;
      perSignOut.ours.push({ cpuMicros: cpuUsed(oursNow, ours.cpuBefore) / oursNow.finished });
      perSignOut.limit.push({ cpuMicros: cpuUsed(limitNow, limit.cpuBefore) / limitNow.finished });
    }
    const cpu = paired(perSignOut.ours, perSignOut.limit, 'cpuMicros');
    // The routes' own CPU per sign-out beside the ratio: a machine slowed by other load shows in them.
    const micros = (runs) => round(median(runs.map((run) => run.cpuMicros)));
    console.log(
      `at ${connections}, side by side: ours/limit CPU per sign-out ${cpu.text} (${atMost(cpu.median, TARGETS.cpuVsLimit)}); ours ${micros(perSignOut.ours)} µs, limit ${micros(perSignOut.limit)} µs`,
    );
  }
  for (const app of pair) app.app.stop();
}

/**
 * V8's inline-cache misses per sign-out on the routes the CPU gap is judged against: property
 * lookups V8 could not answer from its caches and did the slow way, in its runtime. Each route runs
 * in a fresh app process writing V8's log (`--log-ic`), which is counted between two marks around a
 * run after the warm-up. A count, not a time: this machine's noise does not move it.
 */
// The routes the CPU gap is judged against, by name.
const GAP_ROUTES = { limit: '/signout/limit', 'limit+client': '/signout/limit-client', ours: '/signout/ours' };

async function cacheMisses(portal, portalUrl) {
  const perSignOut = {};
  for (const [name, path] of Object.entries(GAP_ROUTES)) {
    const log = join(work, `v8-${name.replace('+', '-')}.log`);
    const app = benchApp(portal, portalUrl, {}, ['--log-ic', `--logfile=${log}`, '--no-logfile-per-isolate']);
    try {
      await app.signOuts(path, WARM_UP, { connections: 32 });
      const run = await app.signOuts(path, MISS_SIGN_OUTS, { connections: 32, marked: true });
      if (run.answered(303) !== MISS_SIGN_OUTS) throw new Error(`${name}: ${run.answered(303)} answered 303`);
      await app.exit();
    } finally {
      app.app.stop();
    }
    perSignOut[name] = (await missesBetweenMarks(log)) / MISS_SIGN_OUTS;
    rmSync(log, { force: true });
  }
  const shown = (name) => round(perSignOut[name], 1);
  console.log(
    `V8 inline-cache misses per sign-out (${MISS_SIGN_OUTS} at 32 connections, counted in V8's log): limit ${shown('limit')}, limit+client ${shown('limit+client')}, ours ${shown('ours')}; ours − limit+client ${round(perSignOut.ours - perSignOut['limit+client'], 1)}`,
  );
  console.log(
    "  (under Express, V8 before Node 24 gives every request's req and res a hidden class of their own, so each property a\n  route reads or writes on them misses V8's caches, every request: the route's reads beyond the limit's are part of\n  its CPU gap there; on Node 24 requests share their hidden classes and almost nothing misses)",
  );
}

/**
 * V8's garbage collection per sign-out on the routes the CPU gap is judged against, each in a fresh
 * app process, after the warm-up: scavenges per thousand sign-outs (they follow what a sign-out
 * allocates) and what each sign-out leaves in the old generation (what outlived two scavenges,
 * which they copy, and the old generation's collections then mark and sweep). Counts and bytes
 * vary by a percent or two from run to run where the CPU a machine lends varies by ten: a change
 * of what the route allocates or holds shows here first.
 */
async function garbage(portal, portalUrl) {
  const figures = {};
  for (const [name, path] of Object.entries(GAP_ROUTES)) {
    const app = benchApp(portal, portalUrl);
    try {
      await app.signOuts(path, WARM_UP, { connections: 32 });
      const run = await app.signOuts(path, SIGN_OUTS, { connections: 32, collected: true });
      if (run.answered(303) !== SIGN_OUTS) throw new Error(`${name}: ${run.answered(303)} answered 303`);
      figures[name] = run.gc;
    } finally {
      app.app.stop();
    }
  }
  const shown = (name) => {
    const { scavenges, promoted, micros } = figures[name];
    return `${name} ${round((scavenges * 1000) / SIGN_OUTS, 2)} scavenges per 1000, ${round(promoted / SIGN_OUTS / 1024, 1)} KiB promoted, ${round(micros / SIGN_OUTS)} µs`;
  };
  console.log(
    `V8 garbage collection per sign-out (${SIGN_OUTS} at 32 connections, fresh app per route, V8's GCProfiler; the time is\nthe main thread's alone, noisy): ${Object.keys(GAP_ROUTES).map(shown).join('; ')}`,
  );
}

/** The inline-cache misses V8's log records between the marks `start` and `end` (see app.js). */
async function missesBetweenMarks(log) {
  let state = 'before';
  let misses = 0;
  for await (const line of createInterface({ input: createReadStream(log), crlfDelay: Infinity })) {
    if (line.startsWith('script-source,') && line.includes('sso-signout-bench-mark:')) {
      state = line.includes('sso-signout-bench-mark:start') ? 'counting' : 'after';
    } else if (state === 'counting' && /^[A-Za-z]*IC,/.test(line)) {
      misses++;
    }
  }
  if (state !== 'after') throw new Error(`V8's log ${log} does not hold both marks`);
  return misses;
}

/** The median over rounds of `a[r][key] / b[r][key]`, and its range. */
function paired(a, b, key) {
  const each = a.map((run, r) => run[key] / b[r][key]);
  const m = round(median(each), 2);
  const range = each.length > 1 ? ` [${round(Math.min(...each), 2)}–${round(Math.max(...each), 2)}]` : '';
  return { median: m, text: `${m}${range}` };
}

function medians(runs) {
  return {
    perSecond: median(runs.map((r) => r.perSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpuMicros: median(runs.map((r) => r.cpuMicros)),
  };
}

async function coldStarts(portalUrl) {
  // Import alone, in a fresh process.
  const importTime = (specifier) =>
    Number(
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`,
        ],
        { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'], timeout: STEP_LIMIT_MS, killSignal: 'SIGKILL' },
      )
        .toString()
        .trim(),
    );
  // Import, route construction and the first sign-out answered, in a fresh process.
  const processStart = (which) => {
    const started = performance.now();
    const stages = JSON.parse(
      execFileSync(process.execPath, [join(here, 'cold.js'), which, portalUrl], {
        cwd: repo,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: STEP_LIMIT_MS,
        killSignal: 'SIGKILL',
      }).toString(),
    );
    if (stages.status !== 303) throw new Error(`cold start of ${which}: answered ${stages.status}`);
    return { ...stages, wall: performance.now() - started };
  };
  const runs = { ours: [], sdk: [], oursProcess: [], peerProcess: [] };
  for (let i = 0; i < COLD_STARTS; i++) {
    runs.ours.push(importTime('sso-signout'));
    runs.sdk.push(importTime('@aws-sdk/client-sso'));
    runs.oursProcess.push(processStart('ours'));
    runs.peerProcess.push(processStart('peer'));
  }
  const importRatio = median(runs.ours) / median(runs.sdk);
  console.log(
    `\ncold start, import in a fresh process (median of ${COLD_STARTS}): sso-signout ${round(median(runs.ours), 1)} ms, @aws-sdk/client-sso ${round(median(runs.sdk), 1)} ms; ratio ${round(importRatio, 2)} (${atMost(importRatio, TARGETS.importVsSdk)})`,
  );
  const stage = (list, key) => round(median(list.map((s) => s[key])), 1);
  for (const [name, list] of [
    ['ours', runs.oursProcess],
    ['peer', runs.peerProcess],
  ]) {
    console.log(
      `cold start, a fresh app process (${name}): import ${stage(list, 'import')} ms, route made ${stage(list, 'route')} ms, first sign-out answered ${stage(list, 'firstSignOut')} ms; process start to first answer ${stage(list, 'total')} ms (spawn to exit ${stage(list, 'wall')} ms)`,
    );
  }
  const firstRatio = stage(runs.oursProcess, 'total') / stage(runs.peerProcess, 'total');
  console.log(
    `  ours/peer, process start to first sign-out answered: ${round(firstRatio, 2)} (${atMost(firstRatio, TARGETS.firstSignOutVsPeer)})`,
  );
}

function footprintLine() {
  const ours = footprint(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).dependencies, repo);
  const oursSelf = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  )[0].unpackedSize;
  const sdk = footprint({ '@aws-sdk/client-sso': '*' }, repo);
  console.log(
    `install footprint: sso-signout ${ours.packages} runtime packages (its dependencies and theirs), ${mib(ours.bytes + oursSelf)} MiB with itself; @aws-sdk/client-sso ${sdk.packages - 1}, ${mib(sdk.bytes)} MiB with itself`,
  );
}

async function hanging(app) {
  const hang = await app.signOuts('/signout/ours-1s', HANG_SIGN_OUTS, {
    connections: 50,
    portalScript: { reply: 'hang' },
  });
  const slack = HANG_DEADLINE_MS + TARGETS.hangSlackMs;
  console.log(
    `\nhanging portal (deadline ${HANG_DEADLINE_MS} ms, ${HANG_SIGN_OUTS} sign-outs): p50 ${hang.p50} ms, p99 ${hang.p99} ms, max ${hang.max} ms; answered 504: ${hang.answered(504)} (target max ≤ ${slack} ms: ${verdict(hang.max <= slack)})`,
  );
  console.log(
    '  (limit and peer are not run against it: neither has a deadline, so each sign-out would hang as long as the portal does)',
  );
}

async function throttled(app) {
  // The portal throttles for its first second, naming a 1 s wait: a wait that fits in the 3 s deadline.
  const portalScript = { throttleForMs: THROTTLE.forMs, retryAfter: THROTTLE.retryAfter };
  console.log(
    `throttling portal (429 with Retry-After: ${THROTTLE.retryAfter} for its first ${THROTTLE.forMs} ms, then 200), a burst of ${BURST} sign-outs at 100 connections:`,
  );
  for (const [name, path] of [
    ['ours', '/signout/ours-throttle'],
    ['limit', '/signout/limit'],
    ['peer', '/signout/peer'],
  ]) {
    const run = await app.signOuts(path, BURST, { connections: 100, portalScript });
    console.log(
      `  ${name.padEnd(5)} upstream calls ${String(run.calls).padStart(5)}, tokens revoked ${String(run.revoked).padStart(5)}; answered 303 ${run.answered(303)}, 429 ${run.answered(429)}; p50 ${run.p50} ms, max ${run.max} ms`,
    );
  }
  console.log(
    '  (limit and peer answer 303 "signed out" whatever the portal said; ours says 429 for every token it could not revoke)',
  );
}

/**
 * A 429 storm met by two instances of one app at once: the portal's upstream calls with the state
 * shared through Redis, beside the same two instances each on its own.
 */
async function stormAcrossInstances(portal, startInstance) {
  const env = { BENCH_SHARED_PREFIX: `sso-signout-bench:storm:${process.pid}:${Date.now()}:` };
  const instances = [startInstance(env), startInstance(env)];
  const urls = await Promise.all(instances.map((instance) => instance.url()));
  const portalScript = { throttleForMs: THROTTLE.forMs, retryAfter: THROTTLE.retryAfter };
  console.log(
    `the same throttling portal met by two instances of the app at once (${BURST / 2} sign-outs each, 50 connections each):`,
  );
  for (const [name, path] of [
    ['shared', '/signout/shared'],
    ['alone', '/signout/ours-throttle'],
  ]) {
    const files = await Promise.all(
      urls.map(async (url, i) => {
        const cookies = await (await control(`${url}/bench/sessions?n=${BURST / 2}`, { method: 'POST' })).json();
        const file = join(work, `storm-${name}-${i}.json`);
        writeFileSync(file, JSON.stringify(cookies));
        return file;
      }),
    );
    // The portal starts throttling as the storm starts (minting the sessions took time of its own).
    portal.process.send({ cmd: 'reset', ...portalScript });
    const runs = await Promise.all(urls.map((url, i) => load(url, path, files[i], 50)));
    const stats = await ask(portal.process, { cmd: 'stats' });
    const answered = (status) => runs.reduce((sum, run) => sum + (run.statusCodes[String(status)]?.count ?? 0), 0);
    console.log(
      `  ${name.padEnd(6)} upstream calls ${String(stats.count).padStart(5)} (429 answered by the portal: ${stats.byStatus['429'] ?? 0}), tokens revoked ${stats.byStatus['200'] ?? 0}; the instances answered 303 ${answered(303)}, 429 ${answered(429)}`,
    );
    // The window the portal named must be over before the next storm.
    await new Promise((resolve) => setTimeout(resolve, THROTTLE.forMs + 1500));
  }
  console.log(
    '  (shared: the throttle window one instance heard holds the other back too; alone: each instance learns it for itself)\n',
  );
}

async function memory(app) {
  const cold = await app.get('/bench/memory');
  const samples = [];
  for (let done = 0; done < MEMORY_SIGN_OUTS; done += MEMORY_BATCH) {
    await app.signOuts('/signout/ours', MEMORY_BATCH, { connections: 64 });
    samples.push(await app.get('/bench/memory'));
  }
  const half = samples[Math.floor(samples.length / 2) - 1] ?? cold;
  const end = samples.at(-1);
  const fromCold = mib(end.heapUsed - cold.heapUsed);
  const secondHalf = mib(end.heapUsed - half.heapUsed);
  console.log(
    `memory over ${MEMORY_SIGN_OUTS} sign-outs (ours, heap after GC, a fresh app process): before the first ${mib(cold.heapUsed)} MiB, then by ${MEMORY_BATCH}: ${samples.map((s) => mib(s.heapUsed)).join(', ')} MiB; sessions left in the store: ${end.sessions}`,
  );
  console.log(
    `  from cold ${signed(fromCold)} MiB (${atMost(fromCold, TARGETS.memoryFromColdMiB, ' MiB')}); over the second half ${signed(secondHalf)} MiB (${atMost(secondHalf, TARGETS.memorySecondHalfMiB, ' MiB')}); RSS ${mib(cold.rss)} → ${mib(end.rss)} MiB\n`,
  );
}

/** The runtime dependency closure of `dependencies` as installed under `from`, and its size. */
function footprint(dependencies, from) {
  const seen = new Map();
  const visit = (name, parent) => {
    let dir = parent;
    let found;
    for (;;) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        found = candidate;
        break;
      }
      const up = dirname(dir);
      if (up === dir) return;
      dir = up;
    }
    if (seen.has(found)) return;
    const manifest = JSON.parse(readFileSync(join(found, 'package.json'), 'utf8'));
    seen.set(found, size(found));
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) visit(dep, found);
  };
  for (const name of Object.keys(dependencies)) visit(name, from);
  return { packages: seen.size, bytes: [...seen.values()].reduce((a, b) => a + b, 0) };
}

// Bytes on disk of a package, not counting the packages nested under it (counted on their own).
function size(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? size(path) : statSync(path).size;
  }
  return total;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
