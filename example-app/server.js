// `npm start`: the example portal on Express, with the embedded fake portal when no SSO target is set.

import { createApp } from './app.js';
import { run, serve, settingsFromEnv } from './shared.js';

run(async () => {
  const settings = await settingsFromEnv();
  serve(createApp({ ...settings, log: (line) => console.log(line) }), settings, 'Express');
});
