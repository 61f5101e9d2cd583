// Signs out through every kind of undici dispatcher a user may inject, from the undici named on the
// command line, with the built package: `node check.mjs <undici module> <dist folder>`. Prints one
// JSON line: each dispatcher's outcomes for a revoked, a refused and a throttled token, and what
// went through the proxy; what a redirect and a dispatcher tied to another origin do. Run by test/dispatchers.test.ts with undici 7 here and undici 8 on Node 22.

import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [undiciName, dist] = process.argv.slice(2);
const undici = await import(undiciName);
const { createLogoutClient } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
const { startFakePortal } = await import(pathToFileURL(resolve(dist, 'testing', 'index.js')).href);

// A forward proxy (CONNECT tunnels, absolute-form requests) that counts what went through it.
let proxied = 0;
const sockets = new Set();
const proxy = createServer((req, res) => {
  proxied++;
  const target = new URL(req.url);
  const upstream = request(
    { host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  req.pipe(upstream);
});
proxy.on('connect', (req, client) => {
  proxied++;
  const [host, port] = req.url.split(':');
  const upstream = connect(Number(port), host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    client.pipe(upstream).pipe(client);
  });
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  }
});
proxy.listen(0, '127.0.0.1');
await once(proxy, 'listening');
const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;

const portal = await startFakePortal();

function mocked() {
  const agent = new undici.MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(portal.url);
  pool.intercept({ path: '/logout', method: 'POST' }).reply(200, '');
  pool
    .intercept({ path: '/logout', method: 'POST' })
    .reply(401, '{}', { headers: { 'x-amzn-errortype': 'UnauthorizedException' } });
  pool.intercept({ path: '/logout', method: 'POST' }).reply(429, '{}', { headers: { 'retry-after': '30' } });
  return agent;
}

const DISPATCHERS = {
  Agent: () => new undici.Agent(),
  Pool: () => new undici.Pool(portal.url),
  ProxyAgent: () => new undici.ProxyAgent(proxyUrl),
  EnvHttpProxyAgent: () => new undici.EnvHttpProxyAgent({ httpProxy: proxyUrl, httpsProxy: proxyUrl }),
  MockAgent: mocked,
};

const results = {};
for (const [name, make] of Object.entries(DISPATCHERS)) {
  const dispatcher = make();
  const outcomes = [];
  for (const reply of ['real', 'unauthorized', { kind: 'throttle', retryAfter: 30 }]) {
    portal.setDefault(reply);
    const token = portal.issueToken();
    // The throttle closes the client's gate: a client per answer keeps them apart.
    const own = createLogoutClient({ endpoint: portal.url, dispatcher, maxAttempts: 1 });
    const result = await own.logout({ accessToken: token });
    outcomes.push(`${result.outcome}${result.cause ? ` (${result.cause.code ?? result.cause.message})` : ''}`);
  }
  results[name] = outcomes;
  await dispatcher.close();
}

// An Agent composed with undici's redirect interceptor, in front of a portal that answers 307 to
// another server: the call must not follow it, so the token goes nowhere else and the 307 is the
// answer read (not a revoked token on the word of whoever the redirect named).
const elsewhere = { requests: 0, sawToken: 0 };
const other = createServer((req, res) => {
  elsewhere.requests++;
  if (req.headers['x-amz-sso_bearer_token'] !== undefined) elsewhere.sawToken++;
  res.end();
});
other.listen(0, '127.0.0.1');
await once(other, 'listening');
const redirecting = createServer((req, res) => {
  res.writeHead(307, { location: `http://127.0.0.1:${other.address().port}/logout` });
  res.end();
});
redirecting.listen(0, '127.0.0.1');
await once(redirecting, 'listening');
const following = new undici.Agent().compose(undici.interceptors.redirect({ maxRedirections: 3 }));
const redirected = await createLogoutClient({
  endpoint: `http://127.0.0.1:${redirecting.address().port}`,
  dispatcher: following,
  maxAttempts: 1,
}).logout({ accessToken: portal.issueToken() });
const redirect = { outcome: redirected.outcome, upstreamStatus: redirected.upstreamStatus, ...elsewhere };
await following.close();

// Dispatchers tied to one origin (a Client or Pool sends every request there, whatever origin the
// request names), made for another server than the portal: refused when the client is made, and
// for a token of another region than the one they are tied to, nothing is sent.
elsewhere.requests = 0;
elsewhere.sawToken = 0;
const otherUrl = `http://127.0.0.1:${other.address().port}`;
const TIED = {
  Client: () => new undici.Client(otherUrl),
  Pool: () => new undici.Pool(otherUrl),
  'Pool + retry interceptor': () => new undici.Pool(otherUrl).compose(undici.interceptors.retry()),
  BalancedPool: () => new undici.BalancedPool([otherUrl]),
  MockPool: () => new undici.MockAgent().get(otherUrl),
};
const tiedElsewhere = {};
for (const [name, make] of Object.entries(TIED)) {
  const dispatcher = make();
  try {
    const result = await createLogoutClient({ endpoint: portal.url, dispatcher }).logout({
      accessToken: portal.issueToken(),
    });
    tiedElsewhere[name] = result.outcome;
  } catch (error) {
    tiedElsewhere[name] = `${error.name}: ${error.option} ${error.reason}`;
  }
  await dispatcher.close();
}
// A BalancedPool's upstreams can change after the client is made: one added later, pointing
// elsewhere, is seen at the next call.
const growing = new undici.BalancedPool([]);
const growingClient = createLogoutClient({ endpoint: portal.url, dispatcher: growing });
growing.addUpstream(otherUrl);
const grown = await growingClient.logout({ accessToken: portal.issueToken() });
tiedElsewhere['BalancedPool, upstream added later'] = `${grown.outcome} ${grown.reason}`;
await growing.close();
const usEast = new undici.Pool('https://portal.sso.us-east-1.amazonaws.com');
const otherRegion = await createLogoutClient({ region: 'us-east-1', dispatcher: usEast }).logout({
  accessToken: portal.issueToken(),
  region: 'eu-west-1',
});
await usEast.close();
const tied = {
  elsewhere: tiedElsewhere,
  otherRegion: { outcome: otherRegion.outcome, reason: otherRegion.reason, attempts: otherRegion.attempts },
  ...elsewhere,
};
other.close();
redirecting.close();

const versionOf = (mod) => mod.default?.VERSION ?? mod.VERSION;
console.log(
  JSON.stringify({ node: process.version, undici: versionOf(undici) ?? undiciName, results, proxied, redirect, tied }),
);
for (const s of sockets) s.destroy();
proxy.close();
await portal.close();
