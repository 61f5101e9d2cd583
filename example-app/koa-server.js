// `npm run start:koa`: the example portal on Koa, with the embedded fake portal when no SSO target is set.

import { createKoaApp } from './koa-app.js';
import { run, settingsFromEnv, startLines } from './shared.js';

run(async () => {
  const settings = await settingsFromEnv();
  const app = createKoaApp({ ...settings, log: (line) => console.log(line) });
  const server = app.listen(settings.listen.port, settings.listen.host, () => {
    for (const line of startLines(settings, 'Koa', server.address().port)) console.log(line);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void settings.portal?.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
