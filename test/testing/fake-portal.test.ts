// The public fake portal: its documented API behaves as documented.

import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakePortal, type FakePortal } from 'sso-signout/testing';

let portal: FakePortal;
beforeEach(async () => {
  portal = await startFakePortal();
});
afterEach(async () => {
  await portal.close();
});

function logout(token?: string, path = '/logout') {
  return request(`${portal.url}${path}`, {
    method: 'POST',
    headers: token === undefined ? {} : { 'x-amz-sso_bearer_token': token },
  });
}

describe('fake portal', () => {
  it('refuses a scripted header HTTP cannot carry when it is scripted, and fails only the call for one chosen per call', async () => {
    expect(() => {
      portal.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '\u0663' } });
    }).toThrow(/scripted header "retry-after" cannot be sent/);
    expect(() => {
      portal.setDefault({ kind: 'status', status: 429, headers: { 'bad name': '1' } });
    }).toThrow(TypeError);
    portal.setDefault(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '\u0663' } }));
    const res = await logout(portal.issueToken());
    expect(res.statusCode).toBe(500);
    expect(await res.body.text()).toContain('the scripted reply cannot be sent');
    // The portal is still up and answers the next call as scripted.
    portal.setDefault('real');
    expect((await logout(portal.issueToken())).statusCode).toBe(200);
  });

  it.each([
    ['a reply that does not exist', 'bogus', /no scripted reply "bogus"/],
    ['a kind that does not exist', { kind: 'teapot' }, /no scripted reply "teapot"/],
    ['a status under 100', { kind: 'status', status: 99 }, /whole number from 100 to 999; got 99/],
    ['a status that is not a number', { kind: 'redirect', status: '307' }, /got string/],
    ['a status reply without its status', { kind: 'status' }, /needs a `status`/],
    ['raw bytes that are not there', { kind: 'raw' }, /needs its `bytes`/],
  ])('refuses %s when it is scripted, not when a call meets it', async (_label, reply, message) => {
    // What a script written in JavaScript can say.
    const script = reply as never;
    expect(() => {
      portal.enqueue(script);
    }).toThrow(message);
    expect(() => {
      portal.setDefault(script);
    }).toThrow(TypeError);
    // Nothing was taken: the portal answers as before.
    expect((await logout(portal.issueToken())).statusCode).toBe(200);
  });

  it('listens on loopback', () => {
    expect(portal.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('revokes an issued token once, then answers 401 with the real error shape', async () => {
    const token = portal.issueToken();
    expect(portal.isActive(token)).toBe(true);
    const ok = await logout(token);
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toBe('');
    expect(ok.headers['x-amzn-requestid']).toBeTypeOf('string');
    expect(portal.isActive(token)).toBe(false);
    const again = await logout(token);
    expect(again.statusCode).toBe(401);
    expect(again.headers['x-amzn-errortype']).toMatch(/^UnauthorizedException:http/);
    expect(await again.body.json()).toEqual({ message: 'Session token not found or invalid' });
  });

  it('answers 400 InvalidRequestException without a token, and 404 to other paths', async () => {
    const missing = await logout();
    expect(missing.statusCode).toBe(400);
    expect(missing.headers['x-amzn-errortype']).toMatch(/^InvalidRequestException/);
    await missing.body.dump();
    const other = await logout('x', '/other');
    expect(other.statusCode).toBe(404);
    await other.body.dump();
  });

  it('records calls with their token, status and request id', async () => {
    const token = portal.issueToken();
    const res = await logout(token);
    await res.body.dump();
    expect(portal.calls).toEqual([
      expect.objectContaining({ method: 'POST', path: '/logout', token, status: 200, reply: 'real', body: '' }),
    ]);
    expect(portal.calls[0]?.requestId).toBe(res.headers['x-amzn-requestid']);
  });

  it('plays enqueued replies in order, then the default', async () => {
    portal.enqueue({ kind: 'throttle', retryAfter: 4 }, 'ok');
    const first = await logout('t');
    expect(first.statusCode).toBe(429);
    expect(first.headers['retry-after']).toBe('4');
    await first.body.dump();
    expect((await logout('t')).statusCode).toBe(200);
    expect((await logout('t')).statusCode).toBe(401);
    portal.setDefault({ kind: 'status', status: 503, body: 'down' });
    const down = await logout('t');
    expect(down.statusCode).toBe(503);
    expect(await down.body.text()).toBe('down');
  });

  it('holds calls while paused and answers them on resume', async () => {
    portal.pause();
    const pending = logout(portal.issueToken());
    await portal.waitForCalls(1);
    expect(portal.calls[0]?.status).toBeUndefined();
    portal.resume();
    expect((await pending).statusCode).toBe(200);
    expect(portal.calls[0]?.status).toBe(200);
  });

  it('resets the connection, sends garbage, or hangs until closed', async () => {
    portal.enqueue('reset');
    await expect(logout('t')).rejects.toThrow();
    portal.enqueue('garbage');
    await expect(logout('t')).rejects.toThrow();
    portal.enqueue('hang');
    const hanging = logout('t');
    await portal.waitForCalls(3);
    await portal.close();
    await expect(hanging).rejects.toThrow();
    portal = await startFakePortal();
  });

  it('rejects waitForCalls after its timeout', async () => {
    await expect(portal.waitForCalls(1, 50)).rejects.toThrow(/0 of 1 calls/);
  });

  it('rejects a waitForCalls still waiting when it closes, at once', async () => {
    const waiting = portal.waitForCalls(2, 60_000);
    await logout(portal.issueToken());
    const started = performance.now();
    await portal.close();
    await expect(waiting).rejects.toThrow(/closed with 1 of 2 calls/);
    expect(performance.now() - started).toBeLessThan(1000);
    portal = await startFakePortal();
  });

  it('rejects a waitForCalls begun after it closed, at once', async () => {
    await logout(portal.issueToken());
    await portal.close();
    const started = performance.now();
    await expect(portal.waitForCalls(2, 60_000)).rejects.toThrow(/closed with 1 of 2 calls/);
    expect(performance.now() - started).toBeLessThan(1000);
    // One it has already seen is still answered.
    await expect(portal.waitForCalls(1)).resolves.toBeUndefined();
    portal = await startFakePortal();
  });

  it('leaves no unhandled rejection behind for a waitForCalls nobody awaited, when it closes or times out', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void portal.waitForCalls(1, 20);
      void portal.waitForCalls(2, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await portal.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    portal = await startFakePortal();
  });

  it('answers the calls an earlier test left held when reset, and holds no more', async () => {
    portal.pause();
    const held = logout(portal.issueToken());
    await portal.waitForCalls(1);
    portal.reset();
    expect((await held).statusCode).toBe(200);
    expect(portal.calls).toHaveLength(0);
    expect((await logout(portal.issueToken())).statusCode).toBe(200);
  });

  it('forgets calls, queue and default on reset, keeping tokens', async () => {
    const token = portal.issueToken();
    portal.enqueue('hang');
    portal.setDefault('unauthorized');
    portal.reset();
    expect(portal.calls).toHaveLength(0);
    const res = await logout(token);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});
