// `onUnrevokedToken` without `endSessionOnFailure: true` is refused when the route is made, as
// `revocationQueue` is: no session ends on a failure then, so nothing would ever call it.

import { describe, expect, it } from 'vitest';
import { SignOutConfigError, ssoSignOut } from 'sso-signout';

const hook = (): void => undefined;

function refusal(options: Record<string, unknown>): SignOutConfigError {
  try {
    ssoSignOut({ region: 'us-east-1', ...options } as never);
  } catch (error) {
    expect(error).toBeInstanceOf(SignOutConfigError);
    return error as SignOutConfigError;
  }
  throw new Error('the options were accepted');
}

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
