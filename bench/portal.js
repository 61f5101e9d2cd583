// Benchmark process: the fake portal on loopback, steered by its parent over IPC.

import { startFakePortal } from 'sso-signout/testing';

const portal = await startFakePortal();
portal.setDefault('ok');

/** The portal's replies for a run: one reply for every call, or throttling for the first `ms`. */
function script(message) {
  if (message.throttleForMs === undefined) return message.reply ?? 'ok';
  const until = performance.now() + message.throttleForMs;
  const throttle = { kind: 'throttle', retryAfter: message.retryAfter };
  return () => (performance.now() < until ? throttle : 'ok');
}

process.on('message', (message) => {
  if (message.cmd === 'reset') {
    portal.reset();
    portal.setDefault(script(message));
  }
  if (message.cmd === 'stats') {
    const byStatus = {};
    for (const call of portal.calls) byStatus[call.status ?? 'none'] = (byStatus[call.status ?? 'none'] ?? 0) + 1;
    process.send({ id: message.id, count: portal.calls.length, byStatus });
  }
});
process.send({ url: portal.url });
