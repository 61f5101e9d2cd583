// Benchmark process: autocannon sending browser-shaped sign-outs, one fresh signed-in session each.
// Prints its result as JSON.

import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { browserCookies, browserSignOut } from './browser.js';

const { url, path, cookiesFile, connections } = JSON.parse(process.argv[2]);
const cookies = JSON.parse(readFileSync(cookiesFile, 'utf8'));
const shape = browserSignOut(url, path);
let next = 0;
const started = performance.now();
const result = await autocannon({
  url,
  connections,
  amount: cookies.length,
  timeout: 30,
  requests: [
    {
      ...shape,
      setupRequest: (request) => ({
        ...request,
        headers: { ...shape.headers, cookie: browserCookies(cookies[next++ % cookies.length]) },
      }),
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    duration: (performance.now() - started) / 1000,
    statusCodes: result.statusCodeStats,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  }),
);
