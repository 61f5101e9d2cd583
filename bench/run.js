// `npm run bench`: the sign-out route against the limit and the peer, side by side in one run,
// plus cold start, install footprint, a hanging and a throttling portal, and memory.
// `--smoke` runs everything with tiny counts (part of npm test, so the benchmark cannot rot).

import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const smoke = process.argv.includes('--smoke');

const routesOnly = process.argv.includes('--routes-only');
const SIGN_OUTS = smoke ? 200 : Number(process.env.BENCH_SIGN_OUTS ?? 20_000);
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = 64;
const WARM_UP = smoke ? 50 : 3000;
const HANG_SIGN_OUTS = smoke ? 20 : 200;
const HANG_DEADLINE_MS = 1000;
const BURST = smoke ? 100 : 1000;
const MEMORY_SIGN_OUTS = smoke ? 1000 : 100_000;
const MEMORY_BATCH = smoke ? 500 : 20_000;
const COLD_STARTS = smoke ? 3 : 9;

const TARGETS = {
  throughputVsLimit: 0.9,
  cpuVsLimit: 1.15,
  throughputVsPeer: 1.5,
  importVsSdk: 1 / 3,
  hangSlackMs: 100,
  memoryGrowthMiB: 20,
};

const work = mkdtempSync(join(tmpdir(), 'sso-signout-bench-'));

function child(script, env = {}, execArgv = []) {
  const process_ = fork(join(here, script), [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = new Promise((resolve, reject) => {
    process_.once('message', resolve);
    process_.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { process: process_, ready };
}

let requestId = 0;
function ask(target, message) {
  const id = ++requestId;
  return new Promise((resolve) => {
    const onMessage = (reply) => {
      if (reply.id === id) {
        target.off('message', onMessage);
        resolve(reply);
      }
    };
    target.on('message', onMessage);
    target.send({ ...message, id });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const round = (value, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
const mib = (bytes) => round(bytes / 1048576, 1);
const verdict = (ok) => (ok ? 'met' : 'NOT MET');

function load(appUrl, path, cookiesFile, connections) {
  return new Promise((resolve, reject) => {
    const config = JSON.stringify({ url: appUrl, path, cookiesFile, connections });
    const p = spawn(process.execPath, [join(here, 'load.js'), config], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (chunk) => (out += chunk));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited with ${code}`))));
  });
}

async function main() {
  const portal = child('portal.js');
  const app = child('app.js', { PORTAL_URL: (await portal.ready).url }, ['--expose-gc']);
  try {
    await measure(portal, app, (await app.ready).url);
  } finally {
    // The children hold IPC channels open: without this a failed run would never exit.
    app.process.kill();
    portal.process.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

async function measure(portal, app, appUrl) {
  const get = async (path) => (await fetch(`${appUrl}${path}`)).json();

  async function signOuts(path, count, { connections = CONNECTIONS, reply = 'ok' } = {}) {
    portal.process.send({ cmd: 'reset', reply });
    const cookies = await (await fetch(`${appUrl}/bench/sessions?n=${count}`, { method: 'POST' })).json();
    const cookiesFile = join(work, `cookies-${path.replaceAll('/', '_')}.json`);
    writeFileSync(cookiesFile, JSON.stringify(cookies));
    await fetch(`${appUrl}/bench/window`, { method: 'POST' });
    const cpuBefore = await get('/bench/cpu');
    const result = await load(appUrl, path, cookiesFile, Math.min(connections, count));
    const cpuAfter = await get('/bench/cpu');
    const window = await (await fetch(`${appUrl}/bench/window`, { method: 'POST' })).json();
    const { count: calls } = await ask(portal.process, { cmd: 'count' });
    const cpu = cpuAfter.user + cpuAfter.system - (cpuBefore.user + cpuBefore.system);
    const ok = result.statusCodes['303']?.count ?? 0;
    return {
      ...result,
      // Sign-outs finished per second between the app's first and last answer.
      perSecond: window.seconds > 0 ? (window.count - 1) / window.seconds : 0,
      cpuMicros: cpu / result.requests,
      calls,
      ok,
    };
  }

  console.log(
    `sso-signout benchmark${smoke ? ' (smoke run: tiny counts, figures meaningless)' : ''}: Node ${process.version}, ${availableParallelism()} CPUs`,
  );
  console.log(
    `app, fake portal and load generator (autocannon) in three processes on loopback; ${ROUNDS} round(s) of ${SIGN_OUTS} sign-outs per route at ${CONNECTIONS} connections, order rotating; medians shown.`,
  );
  console.log(
    'Each sign-out uses a fresh session minted into the store before the timed run: no sign-in cost is timed.\n',
  );

  // Throughput, latency and CPU, side by side.
  const routes = { ours: '/signout/ours', limit: '/signout/limit', peer: '/signout/peer' };
  for (const path of Object.values(routes)) await signOuts(path, WARM_UP);
  const runs = { ours: [], limit: [], peer: [] };
  const names = Object.keys(routes);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      const result = await signOuts(routes[name], SIGN_OUTS);
      if (result.ok !== SIGN_OUTS || result.calls !== SIGN_OUTS) {
        throw new Error(`${name}: ${result.ok} of ${SIGN_OUTS} answered 303, ${result.calls} portal calls`);
      }
      runs[name].push(result);
    }
  }
  const figures = Object.fromEntries(
    names.map((name) => [
      name,
      {
        perSecond: median(runs[name].map((r) => r.perSecond)),
        p50: median(runs[name].map((r) => r.p50)),
        p99: median(runs[name].map((r) => r.p99)),
        cpuMicros: median(runs[name].map((r) => r.cpuMicros)),
      },
    ]),
  );
  console.log('route   sign-outs/s   p50 ms   p99 ms   CPU µs per sign-out');
  for (const name of names) {
    const f = figures[name];
    console.log(
      `${name.padEnd(6)}  ${String(round(f.perSecond)).padStart(11)}   ${String(f.p50).padStart(6)}   ${String(f.p99).padStart(6)}   ${String(round(f.cpuMicros)).padStart(19)}`,
    );
  }
  if (ROUNDS > 1) {
    for (const name of names) {
      console.log(
        `  ${name} by round (in the order run): ${runs[name].map((r) => round(r.perSecond)).join(', ')} sign-outs/s`,
      );
    }
  }
  const vsLimit = figures.ours.perSecond / figures.limit.perSecond;
  const cpuVsLimit = figures.ours.cpuMicros / figures.limit.cpuMicros;
  const vsPeer = figures.ours.perSecond / figures.peer.perSecond;
  console.log(
    `\nours/limit throughput ${round(vsLimit, 2)} (target ≥ ${TARGETS.throughputVsLimit}: ${verdict(vsLimit >= TARGETS.throughputVsLimit)})`,
  );
  console.log(
    `ours/limit CPU per sign-out ${round(cpuVsLimit, 2)} (target ≤ ${TARGETS.cpuVsLimit}: ${verdict(cpuVsLimit <= TARGETS.cpuVsLimit)})`,
  );
  console.log(
    `ours/peer throughput ${round(vsPeer, 2)} (target ≥ ${TARGETS.throughputVsPeer}: ${verdict(vsPeer >= TARGETS.throughputVsPeer)})`,
  );

  if (routesOnly) return;

  // Cold start: import time in fresh processes.
  const importTime = (specifier) =>
    Number(
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`,
        ],
        { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'] },
      )
        .toString()
        .trim(),
    );
  const coldOurs = [];
  const coldSdk = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    coldOurs.push(importTime('sso-signout'));
    coldSdk.push(importTime('@aws-sdk/client-sso'));
  }
  const importRatio = median(coldOurs) / median(coldSdk);
  console.log(
    `\ncold start (import in a fresh process, median of ${COLD_STARTS}): sso-signout ${round(median(coldOurs), 1)} ms, @aws-sdk/client-sso ${round(median(coldSdk), 1)} ms; ratio ${round(importRatio, 2)} (target ≤ ${round(TARGETS.importVsSdk, 2)}: ${verdict(importRatio <= TARGETS.importVsSdk)})`,
  );

  // Install footprint: runtime dependency closure and its size on disk.
  const ours = footprint(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).dependencies, repo);
  const oursSelf = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  )[0].unpackedSize;
  const sdk = footprint({ '@aws-sdk/client-sso': '*' }, repo);
  console.log(
    `install footprint: sso-signout ${ours.packages} runtime dependencies, ${mib(ours.bytes + oursSelf)} MiB with itself; @aws-sdk/client-sso ${sdk.packages - 1} runtime dependencies, ${mib(sdk.bytes)} MiB with itself`,
  );

  // A hanging portal: every sign-out ends at the deadline.
  const hang = await signOuts('/signout/ours-1s', HANG_SIGN_OUTS, { connections: 50, reply: 'hang' });
  const hangOk = hang.max <= HANG_DEADLINE_MS + TARGETS.hangSlackMs;
  console.log(
    `\nhanging portal (deadline ${HANG_DEADLINE_MS} ms, ${HANG_SIGN_OUTS} sign-outs): p50 ${hang.p50} ms, p99 ${hang.p99} ms, max ${hang.max} ms; answered 504: ${hang.statusCodes['504']?.count ?? 0} (target max ≤ ${HANG_DEADLINE_MS + TARGETS.hangSlackMs} ms: ${verdict(hangOk)})`,
  );
  console.log(
    '  (limit and peer are not run against it: neither has a deadline, so each sign-out would hang as long as the portal does)',
  );

  // A throttling portal: how many calls reach it during a burst.
  const throttle = { kind: 'throttle', retryAfter: 5 };
  const burst = {};
  for (const name of names) {
    burst[name] = await signOuts(name === 'ours' ? '/signout/ours-throttle' : routes[name], BURST, {
      connections: 100,
      reply: throttle,
    });
  }
  console.log(
    `throttled portal (429, Retry-After 5 s), burst of ${BURST} sign-outs: upstream calls ours ${burst.ours.calls}, limit ${burst.limit.calls}, peer ${burst.peer.calls}`,
  );

  // Memory over many sign-outs.
  const start = await get('/bench/memory');
  for (let done = 0; done < MEMORY_SIGN_OUTS; done += MEMORY_BATCH) await signOuts('/signout/ours', MEMORY_BATCH);
  const end = await get('/bench/memory');
  const growth = mib(end.heapUsed - start.heapUsed);
  console.log(
    `\nmemory over ${MEMORY_SIGN_OUTS} sign-outs (ours, heap after GC): ${mib(start.heapUsed)} → ${mib(end.heapUsed)} MiB (${growth >= 0 ? '+' : ''}${growth}); RSS ${mib(start.rss)} → ${mib(end.rss)} MiB; sessions left in the store: ${end.sessions} (target heap growth < ${TARGETS.memoryGrowthMiB} MiB: ${verdict(growth < TARGETS.memoryGrowthMiB)})`,
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
