// Options refused when the route is made, where they would otherwise be read wrong or never:
// a `clearCookies` entry with a misspelled attribute (left unread, the clearing header would name
// another path or domain than the cookie's, and the cookie would stay), and `onUnrevokedToken`
// without `endSessionOnFailure: true` (no session ends on a failure then, so nothing would call it;
// `revocationQueue` is refused so too).

import { describe, expect, it } from 'vitest';
import { SignOutConfigError, ssoSignOut } from 'sso-signout';
import { createSignOutCore } from '../../src/core/route/route.js';

function refusal(options: Record<string, unknown>): SignOutConfigError {
  try {
    ssoSignOut({ region: 'us-east-1', ...options } as never);
  } catch (error) {
    expect(error).toBeInstanceOf(SignOutConfigError);
    return error as SignOutConfigError;
  }
  throw new Error('the options were accepted');
}

describe('clearCookies attribute names', () => {
  it.each([
    ['Path', { name: 'app.pref', Path: '/app' }, 'path'],
    ['paths', { name: 'app.pref', paths: '/app' }, 'path'],
    ['Domain', { name: 'app.pref', Domain: 'example.com' }, 'domain'],
    ['httponly', { name: 'app.pref', httponly: true }, 'httpOnly'],
    ['samesite', { name: 'app.pref', samesite: 'lax' }, 'sameSite'],
    ['secured', { name: 'app.pref', secured: true }, 'secure'],
    ['partition', { name: 'app.pref', partition: true }, 'partitioned'],
    ['Name', { Name: 'app.pref' }, 'name'],
  ])('refuses `%s`, naming the entry and the closest attribute', (key, entry, suggestion) => {
    const error = refusal({ clearCookies: ['XSRF-TOKEN', entry] });
    expect(error.option).toBe('clearCookies');
    expect(error.reason).toBe('unknown_option');
    expect(error.message).toContain('`clearCookies[1]`');
    expect(error.message).toContain(`unknown attribute \`${key}\``);
    expect(error.message).toContain(`Did you mean \`${suggestion}\`?`);
  });

  it('names the cookie of the entry, and lists the attributes when none is close', () => {
    const error = refusal({ clearCookies: [{ name: 'app.pref', maxAge: 0 }] });
    expect(error.message).toBe(
      'sso-signout: `clearCookies[0]` ("app.pref") has an unknown attribute `maxAge`. Known attributes: name, path, domain, secure, httpOnly, sameSite, partitioned.',
    );
  });

  it('refuses an unknown attribute even when its value is undefined, as an unknown option is', () => {
    expect(refusal({ clearCookies: [{ name: 'app.pref', Path: undefined }] }).reason).toBe('unknown_option');
    expect(refusal({ regoin: undefined }).reason).toBe('unknown_option');
  });

  it('refuses it through the framework-neutral core too', () => {
    expect(() =>
      createSignOutCore<null>({ region: 'us-east-1', clearCookies: [{ name: 'app.pref', Path: '/app' } as never] }),
    ).toThrow(/`clearCookies\[0\]` \("app\.pref"\) has an unknown attribute `Path`\. Did you mean `path`\?/);
  });

  it('accepts every attribute spelled as documented, and names alone', async () => {
    const core = createSignOutCore<null>({
      region: 'us-east-1',
      clearCookies: [
        'XSRF-TOKEN',
        { name: 'app.pref', path: '/app', domain: 'example.com', secure: true, httpOnly: true, sameSite: 'none' },
        { name: '__Host-part', partitioned: true, secure: true },
        { name: 'opt', path: undefined, domain: undefined },
      ],
    });
    await core.client.close();
  });
});

const hook = (): void => undefined;

describe('onUnrevokedToken without endSessionOnFailure', () => {
  it.each([
    ['left out', {}],
    ['false', { endSessionOnFailure: false }],
    ['undefined', { endSessionOnFailure: undefined }],
  ])('is refused when endSessionOnFailure is %s', (_label, options) => {
    const error = refusal({ ...options, onUnrevokedToken: hook });
    expect(error.option).toBe('onUnrevokedToken');
    expect(error.reason).toBe('conflict');
    expect(error.message).toBe(
      'sso-signout: `onUnrevokedToken` takes the tokens of sessions that end although the portal did not revoke them: set `endSessionOnFailure: true`, or leave the hook out.',
    );
  });

  it('speaks as the refusal of revocationQueue without endSessionOnFailure does', () => {
    const queue = refusal({ revocationQueue: { enqueue: () => Promise.resolve() } });
    const hooked = refusal({ onUnrevokedToken: hook });
    expect([queue.reason, hooked.reason]).toEqual(['conflict', 'conflict']);
    const opening = (message: string) => message.replace(/`\w+`/, '`…`').split(':')[0];
    expect(opening(hooked.message)).toBe(opening(queue.message));
  });

  it('is refused when only `everywhere` is set: signing out everywhere never hands a token to the hook', () => {
    const everywhere = {
      sessionIndex: { sessions: () => Promise.resolve([]), remove: () => Promise.resolve() },
      user: () => 'u',
    };
    expect(refusal({ everywhere, onUnrevokedToken: hook }).option).toBe('onUnrevokedToken');
  });

  it('is accepted with endSessionOnFailure: true, alone or after a revocation queue', () => {
    expect(() => ssoSignOut({ region: 'us-east-1', endSessionOnFailure: true, onUnrevokedToken: hook })).not.toThrow();
    expect(() =>
      ssoSignOut({
        region: 'us-east-1',
        endSessionOnFailure: true,
        revocationQueue: { enqueue: () => Promise.resolve() } as never,
        onUnrevokedToken: hook,
      }),
    ).not.toThrow();
  });
});
