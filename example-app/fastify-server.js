// `npm run start:fastify`: the example portal on Fastify, with the embedded fake portal when no SSO target is set.

import { createFastifyApp } from './fastify-app.js';
import { nodeServer, run, serve, settingsFromEnv } from './shared.js';

run(async () => {
  const settings = await settingsFromEnv();
  const app = createFastifyApp({ ...settings, log: (line) => console.log(line) });
  await app.ready();
  serve(
    nodeServer((req, res) => app.routing(req, res)),
    settings,
    'Fastify',
  );
});
