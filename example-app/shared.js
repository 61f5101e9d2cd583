// What the example servers share: environment settings, start-up lines, and the pages they show.

import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import {
  createLogoutClient,
  createRevocationWorker,
  portalEndpoint,
  redisRevocationQueue,
  redisSessionIndex,
  redisSharedState,
} from 'sso-signout';
import { startFakePortal } from 'sso-signout/testing';

export const PREFS_COOKIE = 'portal_prefs';

// Sessions live server-side, as an internal portal keeping tokens should have them (koa-session's
// store interface; the Hono example's sessions use it too).
export class MemorySessionStore {
  #data = new Map();
  get(key) {
    return this.#data.get(key);
  }
  set(key, value) {
    this.#data.set(key, value);
  }
  destroy(key) {
    this.#data.delete(key);
  }
}

// With REDIS_URL: sessions in Redis, on the connection the sign-out state uses, so instances share them.
export class RedisSessionStore {
  #client;
  #prefix;
  constructor(client, prefix) {
    this.#client = client;
    this.#prefix = prefix;
  }
  async get(key) {
    const value = await this.#client.get(this.#prefix + key);
    return value === null ? undefined : JSON.parse(value);
  }
  async set(key, value, maxAge) {
    const expiry = typeof maxAge === 'number' ? { PX: maxAge } : {};
    await this.#client.set(this.#prefix + key, JSON.stringify(value), expiry);
  }
  async destroy(key) {
    await this.#client.del(this.#prefix + key);
  }
}

function flag(env, name) {
  const value = env[name];
  if (value === undefined || value === '') return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`${name} must be 1 or 0 (true/false); got ${JSON.stringify(value)}`);
}

function portNumber(env) {
  const raw = env.PORT ?? '3000';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`PORT must be a port number; got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Reads the settings from the environment and, with no SSO target, starts the embedded fake portal.
 * Throws with a clear message on a setting that cannot work.
 */
export async function settingsFromEnv(env = process.env) {
  const region = env.SSO_REGION || undefined;
  const endpoint = env.SSO_ENDPOINT || undefined;
  const embedded = region === undefined && endpoint === undefined;
  const listen = { host: env.HOST || '127.0.0.1', port: portNumber(env) };
  const fips = flag(env, 'SSO_FIPS');
  const dualStack = flag(env, 'SSO_DUALSTACK');
  const devSignIn = embedded || flag(env, 'SSO_DEV_SIGNIN');
  const endSessionOnFailure = flag(env, 'SSO_END_SESSION_ON_FAILURE');
  if (endSessionOnFailure && !env.REDIS_URL) {
    throw new Error(
      'SSO_END_SESSION_ON_FAILURE=1 ends sessions whose token the portal did not revoke; the tokens then wait in a revocation queue on Redis: set REDIS_URL (and SESSION_SECRET)',
    );
  }

  const portal = embedded ? await startFakePortal() : undefined;
  const signOut = embedded
    ? // The embedded portal is on this machine: an outbound proxy in the environment must not carry it.
      { endpoint: portal.url, proxyFromEnvironment: false }
    : {
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(region === undefined ? {} : { region }),
        useFipsEndpoint: fips,
        useDualstackEndpoint: dualStack,
      };
  // Validates the settings the way the route will, and names the endpoint Logout goes to
  // (portalEndpoint for a region: a client would warn a second time about a region it does not know).
  let logoutUrl;
  try {
    if (endpoint === undefined && !embedded) {
      logoutUrl = `${portalEndpoint(region, { useFipsEndpoint: fips, useDualstackEndpoint: dualStack })}/logout`;
    } else {
      const probe = createLogoutClient(signOut);
      logoutUrl = `${probe.endpointFor()}/logout`;
      await probe.close();
    }
  } catch (error) {
    await portal?.close();
    throw error;
  }
  const sessionSecret = env.SESSION_SECRET || randomBytes(32).toString('hex');
  let redis;
  try {
    redis = await connectRedis(env, sessionSecret, endSessionOnFailure ? signOut : undefined);
  } catch (error) {
    await portal?.close();
    throw error;
  }
  const shared =
    redis === undefined
      ? {}
      : {
          sharedState: redis.sharedState,
          ...(redis.queue === undefined ? {} : { endSessionOnFailure: true, revocationQueue: redis.queue }),
        };
  return {
    signOut: { ...signOut, ...shared },
    portal,
    embedded,
    devSignIn,
    listen,
    logoutUrl,
    sessionSecret,
    redis,
  };
}

const REDIS_CONNECT_MS = 5000;

/**
 * With `REDIS_URL`: one Redis connection for the sessions and the sign-out state every instance
 * shares. Instances given the same `REDIS_URL`, `REDIS_PREFIX` and `SESSION_SECRET` behave as one app.
 * With `queueClientOptions` (SSO_END_SESSION_ON_FAILURE=1), also the revocation queue and a worker in
 * this process revoking from it.
 */
async function connectRedis(env, sessionSecret, queueClientOptions) {
  const url = env.REDIS_URL || undefined;
  if (url === undefined) return undefined;
  if (!env.SESSION_SECRET) {
    throw new Error('REDIS_URL is set, so instances share sessions: set SESSION_SECRET, the same on every instance');
  }
  const { createClient } = await import('redis');
  const where = redisAddress(url);
  const client = createClient({ url, socket: { connectTimeout: REDIS_CONNECT_MS } });
  let reported = false;
  client.on('error', (error) => {
    // Reported once per outage: the client reconnects by itself, and sign-outs go on meanwhile.
    if (!reported) console.error(`example portal: Redis at ${where}: ${error.message}`);
    reported = true;
  });
  client.on('ready', () => {
    reported = false;
  });
  let timer;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_CONNECT_MS} ms`)), REDIS_CONNECT_MS);
      }),
    ]);
  } catch (error) {
    client.destroy();
    throw new Error(`cannot reach Redis at ${where} (REDIS_URL): ${error.message}`);
  } finally {
    clearTimeout(timer);
  }
  const prefix = env.REDIS_PREFIX || 'portal:';
  // The digests tokens are known by in Redis are keyed with a secret of their own, derived from the
  // session secret every instance shares.
  const secret = createHmac('sha256', sessionSecret).update('sso-signout shared state').digest();
  const sharedState = redisSharedState({ client, secret, prefix: `${prefix}sso:` });
  // Each user's sessions, for "sign out everywhere".
  const sessionIndex = redisSessionIndex({ client, secret, prefix: `${prefix}sso:` });
  const { queue, worker } =
    queueClientOptions === undefined
      ? {}
      : await revocation(client, prefix, sessionSecret, { ...queueClientOptions, sharedState });
  return {
    client,
    where,
    prefix,
    sharedState,
    sessionIndex,
    queue,
    close: async () => {
      await worker?.close().catch(() => undefined);
      await queue?.close().catch(() => undefined);
      await client.quit().catch(() => client.destroy());
    },
  };
}

/**
 * The revocation queue on the app's Redis, its keys derived from the session secret every instance
 * shares (a real app keeps a key of its own, with an id, in its secrets store), and a worker.
 */
async function revocation(client, prefix, sessionSecret, clientOptions) {
  const derive = (label) => createHmac('sha256', sessionSecret).update(label).digest();
  const onEvent = (event) => {
    if (event.type !== 'revocation_queued') console.log(`revocation queue: ${JSON.stringify(event)}`);
  };
  const queue = redisRevocationQueue({
    connection: client,
    secret: derive('sso-signout queue digest'),
    encryptionKeys: [{ id: 'example-1', key: derive('sso-signout queue key') }],
    prefix: `${prefix}bull`,
    onEvent,
  });
  const worker = createRevocationWorker({ queue, clientOptions, backoffMs: 500, maxBackoffMs: 30_000 });
  await worker.ready();
  return { queue, worker };
}

/** A Redis URL without its credentials, for messages. */
function redisAddress(url) {
  try {
    const { protocol, host } = new URL(url);
    return `${protocol}//${host}`;
  } catch {
    throw new Error(`REDIS_URL is not a URL: ${JSON.stringify(url)}`);
  }
}

/** The lines a server prints once it listens. */
export function startLines(settings, framework, port) {
  const host = settings.listen.host.includes(':') ? `[${settings.listen.host}]` : settings.listen.host;
  const embeddedNote = ' (embedded fake IAM Identity Center portal; set SSO_REGION or SSO_ENDPOINT for a real one)';
  const devReason = settings.embedded ? ', because the embedded portal is in use' : ', because SSO_DEV_SIGNIN=1';
  return [
    `sso-signout example portal (${framework}): http://${host}:${port}/`,
    `Logout endpoint: ${settings.logoutUrl}${settings.embedded ? embeddedNote : ''}`,
    settings.redis === undefined
      ? 'Sessions and sign-out state: this process only (set REDIS_URL to run several instances as one app)'
      : `Sessions and sign-out state: Redis at ${settings.redis.where}, keys under "${settings.redis.prefix}" (shared by every instance with the same REDIS_URL, REDIS_PREFIX and SESSION_SECRET)`,
    settings.redis?.queue === undefined
      ? 'Failed Logout: the session is kept, so the user can try again (SSO_END_SESSION_ON_FAILURE=1 with REDIS_URL ends it and queues the token)'
      : 'Failed Logout: the session ends anyway and the token waits in the revocation queue on Redis; a worker in this process revokes it',
    settings.devSignIn
      ? `Development sign-in: ON (POST /dev/signin${devReason})`
      : 'Development sign-in: OFF (set SSO_DEV_SIGNIN=1 to sign in with a pasted access token)',
  ];
}

/**
 * A Node request listener (Fastify's router, Hono through @hono/node-server) with the `listen` of
 * an Express or Koa app, for {@link serve}.
 */
export function nodeServer(listener) {
  return {
    listen(port, host, callback) {
      const server = createServer(listener);
      server.listen(port, host, () => callback());
      return server;
    },
  };
}

/** Listens with a built app (Express, Koa, or {@link nodeServer}), prints the start-up lines, and stops on SIGINT/SIGTERM. */
export function serve(app, settings, framework) {
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void settings.portal?.close();
    void settings.redis?.close();
  };
  const failed = (error) => {
    const { host, port } = settings.listen;
    const why =
      error.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is in use; set PORT to another port (PORT=0 picks a free one)`
        : error.code === 'EACCES'
          ? `not allowed to listen on port ${port} on ${host}; set PORT to a port above 1023`
          : `cannot listen on ${host}:${port} (${error.code ?? error.message})`;
    console.error(`example portal: ${why}`);
    process.exitCode = 1;
    void settings.portal?.close();
    void settings.redis?.close();
  };
  // Express 5 hands a listen error to this callback; Koa (and Express 4) emit it on the server.
  const server = app.listen(settings.listen.port, settings.listen.host, (error) => {
    if (error) return;
    for (const line of startLines(settings, framework, server.address().port)) console.log(line);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.once('error', failed);
}

/** Runs a server start function, turning a bad setting into a message and exit code 1. */
export function run(start) {
  start().catch((error) => {
    console.error(`example portal: ${error.message}`);
    process.exitCode = 1;
  });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function page(title, body) {
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

export function signInForms({ portal, devSignIn }) {
  const forms = [];
  if (portal !== undefined) {
    forms.push(
      '<form method="post" action="/signin"><button type="submit">Sign in (embedded IAM Identity Center portal)</button></form>',
    );
  }
  if (devSignIn) {
    forms.push(`<form method="post" action="/dev/signin">
<p><label>Access token <input name="accessToken" autocomplete="off" required></label></p>
<p><label>Region <input name="region" placeholder="optional, e.g. eu-west-1"></label></p>
<p><label>User <input name="user" placeholder="optional, default ${DEFAULT_USER}"></label></p>
<button type="submit">Development sign-in with this token</button>
</form>`);
  }
  if (forms.length === 0) {
    forms.push(
      '<p>Sign-in belongs to your IAM Identity Center integration, which this example does not include. Set <code>SSO_DEV_SIGNIN=1</code> to sign in with a token you paste.</p>',
    );
  }
  return forms.join('\n');
}

const PANEL_LINK =
  '<p><a href="/dev/portal">IAM Identity Center control panel</a> (the embedded portal: choose its next Logout answers)</p>';

// With REDIS_URL: ends the user's sessions on every instance, in every browser.
const EVERYWHERE_FORM =
  '<form method="post" action="/signout/everywhere"><button type="submit">Sign out everywhere</button></form>';

export const PAGES = {
  home: (signedIn, forms, embedded = false, everywhere = false) =>
    signedIn
      ? page(
          'Internal portal',
          `<p>You are <strong>signed in</strong>.</p>
<p><a href="/account">Your account</a></p>
<form method="post" action="/signout"><button type="submit">Sign out</button></form>
${everywhere ? EVERYWHERE_FORM : ''}
${embedded ? PANEL_LINK : ''}`,
        )
      : page('Internal portal', `<p>You are <strong>signed out</strong>.</p>\n${forms}\n${embedded ? PANEL_LINK : ''}`),
  signIn: (forms) => page('Sign in', forms),
  account: (everywhere = false) =>
    page(
      'Your account',
      `<p>Only signed-in users see this page.</p>
<p><a href="/">Home</a></p>
<form method="post" action="/signout"><button type="submit">Sign out</button></form>
${everywhere ? EVERYWHERE_FORM : ''}`,
    ),
  signedOut: () => page('Signed out', '<p>You are signed out.</p><p><a href="/">Home</a></p>'),
  noToken: () => page('Sign-in failed', '<p>Give an access token.</p><p><a href="/signin">Back</a></p>'),
  sessionFailed: () => page('Sign-in failed', '<p>The session could not be created.</p>'),
};

/** The user every sign-in of the example is, unless a development sign-in names another. */
export const DEFAULT_USER = 'developer';

/** The token, region and user a development sign-in form posted, or undefined without a token. */
export function devSignInFields(body) {
  const accessToken = typeof body?.accessToken === 'string' ? body.accessToken.trim() : '';
  if (accessToken === '') return undefined;
  const region = typeof body?.region === 'string' && body.region.trim() !== '' ? body.region.trim() : undefined;
  const user =
    typeof body?.user === 'string' && body.user.trim() !== '' ? body.user.trim().slice(0, 200) : DEFAULT_USER;
  return { sso: { accessToken, region }, user };
}

/** One log line per sign-out event; events never hold the token. */
export function eventLogger(log) {
  return (event) => {
    const fields = Object.entries(event)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
    log(`sign-out event ${fields.join(' ')}`);
  };
}

// The example serves plain HTTP on loopback; upgrading its form posts to https would break them.
export const HELMET_OPTIONS = { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };

// The control panel of the embedded portal: every row of the outcome table, in a browser, without
// code. It exists only while the embedded fake portal is in use.
const ANSWERS = {
  ok: { label: 'OK: revoke the token (the real portal)', reply: () => 'real' },
  unauthorized: { label: '401 UnauthorizedException: the SSO session had already ended', reply: () => 'unauthorized' },
  throttle: {
    label: '429 TooManyRequestsException, with Retry-After of the seconds below',
    reply: (seconds) => ({ kind: 'throttle', retryAfter: seconds }),
  },
  error: { label: '500 Internal Server Error', reply: () => ({ kind: 'status', status: 500 }) },
  hang: { label: 'Hang: never answer (the route answers at its deadline)', reply: () => 'hang' },
  reset: { label: 'Drop the connection (as if refused)', reply: () => 'reset' },
  proxy: {
    label: "A proxy's 401 HTML page, naming no error (the route cannot trust it: 502)",
    reply: () => ({
      kind: 'status',
      status: 401,
      body: '<html><body>401 Authorization Required</body></html>',
      headers: { 'content-type': 'text/html' },
    }),
  },
};

/** The control panel's state and pages for one embedded portal. */
export function portalPanel(portal) {
  let current = { answer: 'ok', seconds: 5 };
  return {
    page: (notice) =>
      page(
        'IAM Identity Center control panel',
        `${notice === undefined ? '' : `<p role="status">${escapeHtml(notice)}</p>`}
<p>The embedded fake portal answers every Logout call from now on with:</p>
<form method="post" action="/dev/portal">
${Object.entries(ANSWERS)
  .map(
    ([key, { label }]) =>
      `<p><label><input type="radio" name="answer" value="${key}"${key === current.answer ? ' checked' : ''}> ${escapeHtml(label)}</label></p>`,
  )
  .join('\n')}
<p><label>Retry-After seconds <input name="seconds" type="number" min="1" max="3600" value="${current.seconds}"></label></p>
<button type="submit">Set the answer</button>
</form>
<p><a href="/">Back to the portal</a></p>`,
      ),
    /** Applies the posted form; returns a notice, or an error message for a bad form. */
    apply(body) {
      const answer = typeof body?.answer === 'string' ? body.answer : '';
      const seconds = Number(body?.seconds ?? current.seconds);
      if (!Object.hasOwn(ANSWERS, answer)) return { error: 'Choose one of the answers.' };
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
        return { error: 'Retry-After must be a whole number of seconds from 1 to 3600.' };
      }
      current = { answer, seconds };
      portal.setDefault(ANSWERS[answer].reply(seconds));
      return { notice: `From now on, Logout answers: ${ANSWERS[answer].label}.` };
    },
  };
}

/** A form post to the control panel from this very origin only (it changes what the portal does). */
export function sameOriginPost(headers, host) {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  // Pages served with helmet's `Referrer-Policy: no-referrer` post their own forms with
  // `Origin: null`; the browser's `Sec-Fetch-Site: same-origin` says where they came from.
  if (origin === 'null') return site === 'same-origin';
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
