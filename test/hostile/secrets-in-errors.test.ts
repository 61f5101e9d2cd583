// An integrator who hands a secret to the wrong place, or in the wrong shape, gets an error that
// says what is wrong and quotes none of it: configuration errors end up in crash logs.

import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createSignOutHandler } from 'sso-signout/fetch';
import {
  createLogoutClient,
  createRevocationWorker,
  redisRevocationQueue,
  redisSessionIndex,
  redisSharedState,
  SignOutConfigError,
  ssoSignOut,
} from 'sso-signout';

const SECRET = 'an app secret of more than thirty-two bytes, kept from every log';
const KEY = 'q5Vx0m3vWq8bPzN4kTgY2cR7uLhD1sJeA9fXoKiMnBw=';
const PASSWORD = 'hunter2-redis-password';
const REDIS_URL = `redis://app:${PASSWORD}@127.0.0.1:6379`;
const TOKEN = 'aoaAAAAAGh-a-live-access-token-of-the-user';
// A client the options accept as one (ioredis's `call`), so the error is about the secret.
const client = { call: () => Promise.resolve(null) };

/** The error `make` throws, with every form a log could show it in. */
function thrown(make: () => unknown): { error: SignOutConfigError; forms: string } {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(SignOutConfigError);
    const forms = [String(error), JSON.stringify(error), inspect(error, { depth: 5 }), (error as Error).stack].join(
      '\n',
    );
    return { error: error as SignOutConfigError, forms };
  }
  throw new Error('nothing was thrown');
}

describe('a secret given in the wrong shape or place is never quoted', () => {
  it.each([
    [
      'shared state: the secret wrapped in an object',
      () => redisSharedState({ client, secret: { value: SECRET } as never }),
      'secret',
      'an object',
    ],
    [
      'shared state: the secret in an array',
      () => redisSharedState({ client, secret: [SECRET] as never }),
      'secret',
      'an array of 1',
    ],
    [
      'session index: the secret wrapped in an object',
      () => redisSessionIndex({ client, secret: { SECRET } as never }),
      'secret',
      'an object',
    ],
    [
      'queue: one key where a list is asked for',
      () =>
        redisRevocationQueue({ connection: client, secret: SECRET, encryptionKeys: { id: 'k1', key: KEY } as never }),
      'encryptionKeys',
      'an object',
    ],
    [
      'queue: the key itself where a list is asked for',
      () => redisRevocationQueue({ connection: client, secret: SECRET, encryptionKeys: KEY as never }),
      'encryptionKeys',
      'type string',
    ],
    [
      'queue: a key wrapped in an object',
      () =>
        redisRevocationQueue({
          connection: client,
          secret: SECRET,
          encryptionKeys: [{ id: 'k1', key: { base64: KEY } }] as never,
        }),
      'encryptionKeys',
      'an object',
    ],
    [
      'queue: a Redis URL with its password where the client is asked for',
      () =>
        redisRevocationQueue({
          connection: `redis://app:${PASSWORD}@127.0.0.1:6379` as never,
          secret: SECRET,
          encryptionKeys: [{ id: 'k1', key: KEY }],
        }),
      'connection',
      'type string',
    ],
    [
      'shared state: a Redis URL with its password where the client is asked for',
      () => redisSharedState({ client: `redis://app:${PASSWORD}@127.0.0.1:6379`, secret: SECRET }),
      'client',
      'type string',
    ],
    [
      "the route: the shared state's options where the shared state is asked for",
      () => ssoSignOut({ region: 'eu-west-1', sharedState: { client, secret: SECRET } as never }),
      'sharedState',
      'an object',
    ],
    [
      'the client: the same',
      () => createLogoutClient({ region: 'eu-west-1', sharedState: { client, secret: SECRET } as never }),
      'sharedState',
      'an object',
    ],
    [
      'the shared state: a Redis URL where its options are asked for',
      () => redisSharedState(REDIS_URL as never),
      'options',
      'type string',
    ],
    [
      'the route: its secret where its options are asked for',
      () => ssoSignOut(SECRET as never),
      'options',
      'type string',
    ],
    [
      'the fetch handler: its secret where its options are asked for',
      () => createSignOutHandler(SECRET as never),
      'options',
      'type string',
    ],
    [
      'the route: the token where getToken is asked for',
      () => ssoSignOut({ region: 'eu-west-1', getToken: TOKEN as never }),
      'getToken',
      'type string',
    ],
    [
      'the queue: a key given as the key id',
      () => redisRevocationQueue({ connection: client, secret: SECRET, encryptionKeys: [{ id: KEY, key: 'k1' }] }),
      'encryptionKeys',
      'not quoted',
    ],
    [
      'the worker: the queue’s options, with a Redis URL, where the queue is asked for',
      () => createRevocationWorker({ queue: { connection: REDIS_URL, secret: SECRET, encryptionKeys: [] } as never }),
      'queue',
      '[hidden]@127.0.0.1',
    ],
    [
      'the route: a Redis client’s options, with its password, where the revocation queue is asked for',
      () =>
        ssoSignOut({
          region: 'eu-west-1',
          revocationQueue: { options: { host: '127.0.0.1', auth: PASSWORD, apiKey: KEY } } as never,
        }),
      'revocationQueue',
      '"auth":"[hidden]"',
    ],
  ])('%s', (_, make, option, says) => {
    const { error, forms } = thrown(make);
    expect(error.option).toBe(option);
    expect(error.message).toContain(says);
    for (const secret of [SECRET, KEY, PASSWORD, TOKEN]) expect(forms).not.toContain(secret);
  });

  it('a value quoted in an error shows the fields named as secrets by name only', () => {
    const { error, forms } = thrown(() =>
      ssoSignOut({
        region: 'eu-west-1',
        destination: { path: '/', accessToken: SECRET, password: PASSWORD, key: KEY } as never,
      }),
    );
    expect(error.message).toContain('[hidden]');
    for (const secret of [SECRET, KEY, PASSWORD, TOKEN]) expect(forms).not.toContain(secret);
  });
});
