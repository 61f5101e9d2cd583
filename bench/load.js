// Benchmark process: autocannon, one fresh signed-in session per sign-out. Prints its result as JSON.

import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';

const { url, path, cookiesFile, connections } = JSON.parse(process.argv[2]);
const cookies = JSON.parse(readFileSync(cookiesFile, 'utf8'));
let next = 0;
const started = performance.now();
const result = await autocannon({
  url,
  connections,
  amount: cookies.length,
  timeout: 30,
  requests: [
    {
      method: 'POST',
      path,
      setupRequest: (request) => ({
        ...request,
        headers: { ...request.headers, cookie: cookies[next++ % cookies.length] },
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
