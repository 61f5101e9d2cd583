// `npm start`: the example portal on Express, with the embedded fake portal when no SSO target is set.

import { createApp } from './app.js';
import { run, settingsFromEnv, startLines } from './shared.js';

run(async () => {
  const settings = await settingsFromEnv();
  const app = createApp({ ...settings, log: (line) => console.log(line) });
  const server = app.listen(settings.listen.port, settings.listen.host, () => {
    for (const line of startLines(settings, 'Express', server.address().port)) console.log(line);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void settings.portal?.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
