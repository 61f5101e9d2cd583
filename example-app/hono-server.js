// `npm run start:hono`: the example portal on Hono (@hono/node-server), with the embedded fake portal when no SSO target is set.

import { createHonoApp } from './hono-app.js';
import { nodeServer, run, serve, settingsFromEnv } from './shared.js';

run(async () => {
  const settings = await settingsFromEnv();
  const { listener } = createHonoApp({ ...settings, log: (line) => console.log(line) });
  serve(nodeServer(listener), settings, 'Hono');
});
