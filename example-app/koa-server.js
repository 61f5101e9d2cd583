// `npm run start:koa`: the example portal on Koa, with the embedded fake portal when no SSO target is set.

import { createKoaApp } from './koa-app.js';
import { run, serve, settingsFromEnv } from './shared.js';

run(async () => {
  const settings = await settingsFromEnv();
  serve(createKoaApp({ ...settings, log: (line) => console.log(line) }), settings, 'Koa');
});
