// Starts the example portal: reads the environment, starts the embedded fake portal when no SSO target is set.

import { randomBytes } from 'node:crypto';
import { createLogoutClient } from 'sso-signout';
import { startFakePortal } from 'sso-signout/testing';
import { createApp } from './app.js';

function flag(name) {
  const value = process.env[name];
  if (value === undefined || value === '') return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`${name} must be 1 or 0 (true/false); got ${JSON.stringify(value)}`);
}

function port() {
  const raw = process.env.PORT ?? '3000';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`PORT must be a port number; got ${JSON.stringify(raw)}`);
  return value;
}

async function main() {
  const region = process.env.SSO_REGION || undefined;
  const endpoint = process.env.SSO_ENDPOINT || undefined;
  const host = process.env.HOST || '127.0.0.1';
  const listenPort = port();
  const embedded = region === undefined && endpoint === undefined;

  const portal = embedded ? await startFakePortal() : undefined;
  const signOut = embedded
    ? { endpoint: portal.url }
    : {
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(region === undefined ? {} : { region }),
        useFipsEndpoint: flag('SSO_FIPS'),
        useDualstackEndpoint: flag('SSO_DUALSTACK'),
      };
  // Validates the settings the way the route will, and names the endpoint Logout goes to.
  const probe = createLogoutClient(signOut);
  const logoutUrl = `${probe.endpointFor()}/logout`;
  await probe.close();

  const devSignIn = embedded || flag('SSO_DEV_SIGNIN');
  const app = createApp({
    signOut,
    portal,
    devSignIn,
    sessionSecret: process.env.SESSION_SECRET || randomBytes(32).toString('hex'),
    log: (line) => console.log(line),
  });

  const server = app.listen(listenPort, host, () => {
    const address = server.address();
    const shownHost = host.includes(':') ? `[${host}]` : host;
    console.log(`sso-signout example portal: http://${shownHost}:${address.port}/`);
    console.log(
      `Logout endpoint: ${logoutUrl}${embedded ? ' (embedded fake IAM Identity Center portal; set SSO_REGION or SSO_ENDPOINT for a real one)' : ''}`,
    );
    console.log(
      devSignIn
        ? `Development sign-in: ON (POST /dev/signin${embedded ? ', because the embedded portal is in use' : ', because SSO_DEV_SIGNIN=1'})`
        : 'Development sign-in: OFF (set SSO_DEV_SIGNIN=1 to sign in with a pasted access token)',
    );
  });

  const stop = () => {
    server.close();
    server.closeAllConnections();
    void portal?.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  console.error(`example portal: ${error.message}`);
  process.exitCode = 1;
});
