// Benchmark process: the fake portal on loopback, steered by its parent over IPC.

import { startFakePortal } from 'sso-signout/testing';

const portal = await startFakePortal();
portal.setDefault('ok');
process.on('message', (message) => {
  if (message.cmd === 'default') portal.setDefault(message.reply);
  if (message.cmd === 'reset') {
    portal.reset();
    portal.setDefault(message.reply ?? 'ok');
  }
  if (message.cmd === 'count') process.send({ id: message.id, count: portal.calls.length });
  if (message.cmd === 'close') void portal.close().then(() => process.exit(0));
});
process.send({ url: portal.url });
