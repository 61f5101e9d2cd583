// A token as the revocation queue keeps it at rest: encrypted with AES-256-GCM under one of the
// app's keys (named by an id, so keys can be rotated), known by a keyed digest that never reveals it.

import { nodeCrypto } from '../lazy-require.js';
import { describeSecret } from '../errors.js';
import type { TokenInfo } from '../token.js';
import { secretKey } from '../logout/shared-state.js';
import { configError } from '../validate.js';

/** One encryption key of the queue: 32 bytes (or their base64/base64url text), and the id it is named by. */
export interface RevocationKey {
  readonly id: string;
  readonly key: string | Uint8Array;
}

/** What a job holds: no token in clear, ever. */
export interface SealedToken {
  /** The format, for a later change of it. */
  readonly v: 1;
  /** The id of the key it was sealed with. */
  readonly kid: string;
  readonly iv: string;
  readonly tag: string;
  /** `{ accessToken, region, queuedAt }` as JSON, encrypted. */
  readonly data: string;
}

const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** What a sealed token opens to. */
export interface OpenedToken {
  readonly token: TokenInfo;
  /** When it was first queued (milliseconds since the epoch), as sealed with it. */
  readonly queuedAt: number;
}

/**
 * The keys, checked: the first seals, every one opens. Held in private fields, so neither
 * `util.inspect` nor `JSON.stringify` of anything holding a sealer shows a key.
 */
export class TokenSealer {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #current: { readonly id: string; readonly key: Buffer };
  readonly #secret: Buffer;

  constructor(keys: unknown, secret: unknown) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw configError(
        'encryptionKeys',
        'missing',
        `\`encryptionKeys\` must list at least one { id, key } (32 random bytes, or their base64 text); got ${describeSecret(keys)}. The first seals new jobs; keep older keys listed until their jobs are done.`,
      );
    }
    const map = new Map<string, Buffer>();
    for (const entry of keys as unknown[]) {
      const { id, key } = (entry ?? {}) as { id?: unknown; key?: unknown };
      if (typeof id !== 'string' || !KEY_ID.test(id)) {
        throw configError(
          'encryptionKeys',
          'invalid_value',
          `each key's \`id\` must be 1 to 64 letters, digits, '.', '_' or '-'; got ${describeSecret(id)} (not quoted: it may be a key given in its place).`,
        );
      }
      if (map.has(id)) throw configError('encryptionKeys', 'conflict', `key id "${id}" is listed twice.`);
      map.set(id, keyBytes(id, key));
    }
    this.#keys = map;
    const first = (keys as { id: string }[])[0] as { id: string };
    this.#current = { id: first.id, key: map.get(first.id) as Buffer };
    this.#secret = secretKey(secret);
    if (this.#secret.equals(this.#current.key)) {
      throw configError(
        'secret',
        'conflict',
        '`secret` and the encryption key must differ: give each its own random bytes.',
      );
    }
  }

  /** The job id of a token: HMAC-SHA-256 with the secret, the same on every instance, for every key. */
  digest(accessToken: string): string {
    return nodeCrypto().createHmac('sha256', this.#secret).update(accessToken).digest('base64url');
  }

  /** The token sealed for `digest` (bound to it: a sealed token moved to another job does not open). */
  seal(token: TokenInfo, digest: string, queuedAt: number): SealedToken {
    const iv = nodeCrypto().randomBytes(12);
    const cipher = nodeCrypto().createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(digest, 'utf8'));
    const plain = JSON.stringify({ accessToken: token.accessToken, region: token.region, queuedAt });
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return {
      v: 1,
      kid: this.#current.id,
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      data: data.toString('base64url'),
    };
  }

  /** The token, or why it cannot be had: its key is no longer listed, or it was not sealed by this app. */
  open(sealed: unknown, digest: string): OpenedToken | 'unknown_key' | 'undecryptable' {
    const s = sealed as Partial<SealedToken> | null;
    if (s === null || typeof s !== 'object' || s.v !== 1 || typeof s.kid !== 'string') return 'undecryptable';
    const key = this.#keys.get(s.kid);
    if (key === undefined) return 'unknown_key';
    try {
      const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key, Buffer.from(String(s.iv), 'base64url'));
      decipher.setAAD(Buffer.from(digest, 'utf8'));
      decipher.setAuthTag(Buffer.from(String(s.tag), 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(String(s.data), 'base64url')), decipher.final()]);
      const parsed = JSON.parse(plain.toString('utf8')) as {
        accessToken?: unknown;
        region?: unknown;
        queuedAt?: unknown;
      };
      if (typeof parsed.accessToken !== 'string' || typeof parsed.queuedAt !== 'number') return 'undecryptable';
      const token: TokenInfo =
        typeof parsed.region === 'string'
          ? { accessToken: parsed.accessToken, region: parsed.region }
          : { accessToken: parsed.accessToken };
      return { token, queuedAt: parsed.queuedAt };
    } catch {
      return 'undecryptable';
    }
  }
}

function keyBytes(id: string, key: unknown): Buffer {
  let bytes: Buffer | undefined;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string') bytes = Buffer.from(key, /^[A-Za-z0-9_-]+$/.test(key) ? 'base64url' : 'base64');
  if (bytes?.length !== KEY_BYTES) {
    throw configError(
      'encryptionKeys',
      bytes === undefined ? 'wrong_type' : 'invalid_value',
      `key "${id}" must be ${String(KEY_BYTES)} bytes, or their base64 text; got ${bytes === undefined ? describeSecret(key) : `${String(bytes.length)} bytes`}. Generate one with \`node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"\`.`,
    );
  }
  return bytes;
}
