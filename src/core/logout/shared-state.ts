// What sign-outs on many app instances share through Redis: each portal's throttle window, the one
// call in flight per token (a lease), and the results just heard. Keys hold keyed digests (HMAC with
// the app's secret), never a token; values hold outcomes, never a token. Every operation is bounded,
// and a Redis that fails is left alone for a while: sign-outs go on with this process's own state.

import { nodeCrypto } from '../lazy-require.js';
import { describeSecret, describeValue } from '../errors.js';
import { printable } from '../scrub.js';
import { configError, functionOption, knownOptions, wholeNumber } from '../validate.js';
import { createWarner } from '../warnings.js';
import { within } from '../within.js';
import type { LogoutReason, LogoutResult } from './types.js';
import { provesTokenDead, type UpstreamOutcome } from './classify.js';

/** What is kept of a result in Redis: what the portal said, without the call's own figures or error. */
export type SharedResult = Pick<
  LogoutResult,
  'outcome' | 'upstreamStatus' | 'errorName' | 'message' | 'requestId' | 'retryAfterMs' | 'reason'
>;

/** Where a call stands across instances, as the shared state answers a caller about to call. */
export type SharedBegin =
  | { readonly kind: 'result'; readonly result: SharedResult }
  | { readonly kind: 'gated'; readonly remainingMs: number }
  | { readonly kind: 'leader'; readonly lease: string }
  | { readonly kind: 'follower'; readonly lease: string }
  | { readonly kind: 'unavailable' };

/** What a follower finds when it looks again. */
export type SharedPoll =
  | { readonly kind: 'result'; readonly result: SharedResult }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'unavailable' };

/** What a caller about to call asks for. */
export interface BeginLease {
  readonly lease: string;
  readonly leaseMs: number;
  readonly maxGateMs: number;
  readonly withinMs: number;
}

/**
 * State shared by the sign-out routes of many app instances. Made by {@link redisSharedState};
 * given to the route (or `createLogoutClient`) as `sharedState`.
 */
export interface SharedState {
  /** The key a token is known by: a keyed digest, the same on every instance with the same secret. */
  digest(scope: string, token: string): string;
  /**
   * The remembered result, the portal's throttle window (at most `maxGateMs`), or the lease on the
   * one call for `digest`: `lease` when this caller takes it (for `leaseMs`), another when it is
   * held. Answers `unavailable` rather than take longer than `withinMs`.
   */
  begin(digest: string, origin: string, lease: BeginLease): Promise<SharedBegin>;
  /** The leader's result for its followers, and for everyone for `rememberMs` when it proves the token dead. */
  finish(digest: string, lease: string, result: SharedResult, rememberMs: number, leaseMs: number): Promise<void>;
  /**
   * Whether the leader of `lease` has answered, is still at it, or is gone without a word; `unavailable`
   * rather than take longer than `withinMs`.
   */
  poll(digest: string, lease: string, withinMs: number): Promise<SharedPoll>;
  /** Closes a portal's throttle window on every instance for `ms` (or keeps a later end). */
  closeGate(origin: string, ms: number): Promise<void>;
  /**
   * What is left of a portal's throttle window (at most `maxGateMs`), 0 when it is open; undefined
   * rather than take longer than `withinMs`. Asked before a retry, so that a window another instance
   * heard meanwhile holds it back. Optional: without it, a window is seen when a sign-out begins.
   */
  gateRemaining?(origin: string, maxGateMs: number, withinMs: number): Promise<number | undefined>;
}

/** Told when Redis fails (sign-outs go on with this process's own state) and when it answers again. */
export type SharedStateEvent =
  | {
      readonly type: 'shared_state_unavailable';
      readonly code: 'SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE';
      /** The operation that failed: `begin`, `finish`, `poll`, `closeGate` or `gateRemaining`. */
      readonly operation: string;
      /** What went wrong: `timeout`, or the client's error (bounded, printable). */
      readonly error: string;
    }
  | { readonly type: 'shared_state_restored' };

export interface RedisSharedStateOptions {
  /**
   * The app's own Redis client, connected: node-redis v5 (`createClient()`) or ioredis v5
   * (`new Redis()`). One Redis (or a primary); not a Cluster.
   */
  readonly client: unknown;
  /**
   * The key of the digests tokens are known by (HMAC-SHA-256): at least 32 bytes, the same on every
   * instance, and secret (with it, a token seen elsewhere can be matched to its key).
   */
  readonly secret: string | Uint8Array;
  /** The start of every key. Default `'sso-signout:'`. */
  readonly prefix?: string | undefined;
  /** The longest one Redis operation may take, in milliseconds. Default `50`. */
  readonly operationTimeoutMs?: number | undefined;
  /** After a failure, how long Redis is left alone before it is tried again, in milliseconds. Default `1000`. */
  readonly retryAfterFailureMs?: number | undefined;
  /** Told when Redis fails and when it is back. Errors it throws are ignored. */
  readonly onEvent?: ((event: SharedStateEvent) => void) | undefined;
}

const OPTION_NAMES: Readonly<Record<keyof RedisSharedStateOptions, true>> = {
  client: true,
  secret: true,
  prefix: true,
  operationTimeoutMs: true,
  retryAfterFailureMs: true,
  onEvent: true,
};

const MIN_SECRET_BYTES = 32;

/** Sends one command through the app's client, whichever it is. */
export type Send = (args: readonly string[]) => Promise<unknown>;

export function senderOf(client: unknown): Send {
  const c = client as {
    call?: (...args: string[]) => Promise<unknown>;
    sendCommand?: (args: readonly string[]) => Promise<unknown>;
  } | null;
  if (c !== null && typeof c === 'object' && ((c as { isCluster?: unknown }).isCluster === true || 'getMasters' in c)) {
    throw configError(
      'client',
      'invalid_value',
      '`client` is a Redis Cluster client; the shared state needs one Redis (or a primary): give a client of one node.',
    );
  }
  // ioredis: `call(command, ...args)`; node-redis: `sendCommand([command, ...args])`.
  if (c !== null && typeof c === 'object' && typeof c.call === 'function') {
    const call = c.call.bind(c);
    return (args) => call(...args);
  }
  if (c !== null && typeof c === 'object' && typeof c.sendCommand === 'function') {
    const sendCommand = c.sendCommand.bind(c);
    return (args) => sendCommand(args);
  }
  throw configError(
    'client',
    'wrong_type',
    `\`client\` must be a connected Redis client (node-redis v5 \`createClient()\` or ioredis v5 \`new Redis()\`); got ${describeSecret(client)}.`,
  );
}

export function secretKey(secret: unknown): Buffer {
  const key =
    typeof secret === 'string'
      ? Buffer.from(secret, 'utf8')
      : secret instanceof Uint8Array
        ? Buffer.from(secret)
        : undefined;
  if (key === undefined) {
    throw configError('secret', 'wrong_type', `\`secret\` must be a string or bytes; got ${describeSecret(secret)}.`);
  }
  if (key.length < MIN_SECRET_BYTES) {
    throw configError(
      'secret',
      'out_of_range',
      `\`secret\` must be at least ${String(MIN_SECRET_BYTES)} bytes (it keys the digests tokens are stored under); got ${String(key.length)}. Generate one with \`node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"\`.`,
    );
  }
  return key;
}

interface LuaScript {
  readonly body: string;
  /** What EVALSHA names it by, worked out on first use (node:crypto is not loaded on import). */
  readonly sha: string;
}

function luaScript(body: string): LuaScript {
  let sha: string | undefined;
  return {
    body,
    get sha() {
      return (sha ??= nodeCrypto().createHash('sha1').update(body).digest('hex'));
    },
  };
}

// One round trip each. KEYS and ARGV as named in the comments; every key of one token shares its
// digest, every reply is an array of strings.

// KEYS: result, gate, lease. ARGV: new lease id, lease ms, longest gate ms, '1' to pass over the
// result (the caller found the one there untrustworthy). A gate or a lease that would outlast what
// any instance of this setup writes (written by something else, or without a TTL) is cut to that
// length, so nothing in Redis can close the portal or hold a token for longer.
const BEGIN = luaScript(`
if ARGV[4] ~= '1' then
  local r = redis.call('GET', KEYS[1])
  if r then return {'result', r} end
end
local g = redis.call('PTTL', KEYS[2])
local longest = tonumber(ARGV[3])
if g > longest or g == -1 then
  redis.call('PEXPIRE', KEYS[2], longest)
  g = longest
end
if g > 0 then return {'gated', tostring(g)} end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'leader', ARGV[1]} end
local l = redis.call('PTTL', KEYS[3])
if l > tonumber(ARGV[2]) or l == -1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return {'follower', redis.call('GET', KEYS[3]) or ''}
`);

// KEYS: result, outcome, lease. ARGV: lease id, the result as stored at the result key, remember ms
// (0: not remembered), lease ms, the result as stored at the outcome key.
const FINISH = luaScript(`
if ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return {'ok'}
`);

// KEYS: outcome, lease. ARGV: lease id.
const POLL = luaScript(`
local o = redis.call('GET', KEYS[1])
if o then return {'result', o} end
if redis.call('GET', KEYS[2]) == ARGV[1] then return {'waiting'} end
return {'gone'}
`);

// KEYS: gate. ARGV: the longest window. Read only: a window longer than any this setup writes (or
// without a TTL) is cut in the answer, and by the next BEGIN in Redis.
const GATE_REMAINING = luaScript(`
local g = redis.call('PTTL', KEYS[1])
local longest = tonumber(ARGV[1])
if g > longest or g == -1 then g = longest end
if g > 0 then return {'gated', tostring(g)} end
return {'ok'}
`);

// KEYS: gate. ARGV: window ms.
const CLOSE_GATE = luaScript(`
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return {'ok'}
`);

const OUTCOMES: ReadonlySet<string> = new Set<UpstreamOutcome>([
  'revoked',
  'rejected',
  'throttled',
  'unavailable',
  'timeout',
  'bad_response',
  'not_sent',
]);

const REASONS: ReadonlySet<string> = new Set<LogoutReason>([
  'invalid_token',
  'invalid_region',
  'dispatcher_origin',
  'connection_error',
  'proxy_refused',
  'malformed_response',
  'deadline',
  'throttle_gate',
  'overloaded',
]);

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? printable(value, 300) : undefined;
}

/** A whole number from `min` to `max`, or undefined. */
function wholeOr(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

// No wait announced is longer than a day (the longest `maxRetryAfterMs`).
const MAX_STORED_WAIT_MS = 86_400_000;

/**
 * Where a stored result was written: the token's remembered result (`result:<digest>`), or one
 * leader's answer for its followers (`outcome:<digest>:<lease>`). The MAC names it, so a value
 * copied to another token's key, or from one kind of key to another, is not trusted.
 */
type StoredAt =
  | { readonly kind: 'result'; readonly digest: string }
  | { readonly kind: 'outcome'; readonly digest: string; readonly lease: string };

function placeOf(at: StoredAt): string {
  return at.kind === 'result' ? `result\n${at.digest}` : `outcome\n${at.digest}\n${at.lease}`;
}

/** The MAC a stored result is signed with: what this setup's instances wrote there, and nothing else, is read back. */
function macOf(key: Buffer, at: StoredAt, text: string): string {
  return nodeCrypto()
    .createHmac('sha256', key)
    .update(`${placeOf(at)}\n${text}`)
    .digest('base64url');
}

/** A stored result read back, or undefined when it is not one this setup wrote at `at` (bad MAC, bad shape). */
function parseResult(key: Buffer, at: StoredAt, stored: unknown): SharedResult | undefined {
  if (typeof stored !== 'string') return undefined;
  const dot = stored.indexOf('.');
  const text = stored.slice(dot + 1);
  const mac = Buffer.from(stored.slice(0, Math.max(dot, 0)));
  const expected = Buffer.from(macOf(key, at, text));
  if (mac.length !== expected.length || !nodeCrypto().timingSafeEqual(mac, expected)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const value = parsed as Record<string, unknown>;
  if (!OUTCOMES.has(value.outcome as string)) return undefined;
  // A token's remembered result is only ever one that proves it dead.
  if (at.kind === 'result' && !provesTokenDead(value.outcome as UpstreamOutcome)) return undefined;
  return {
    outcome: value.outcome as UpstreamOutcome,
    upstreamStatus: wholeOr(value.upstreamStatus, 100, 599),
    errorName: stringOr(value.errorName),
    message: stringOr(value.message),
    requestId: stringOr(value.requestId),
    retryAfterMs: wholeOr(value.retryAfterMs, 0, MAX_STORED_WAIT_MS),
    reason: REASONS.has(value.reason as string) ? (value.reason as LogoutReason) : undefined,
  };
}

/** What is kept of a result, as JSON. */
function resultText(result: SharedResult): string {
  const { outcome, upstreamStatus, errorName, message, requestId, reason } = result;
  const retryAfterMs = result.retryAfterMs === undefined ? undefined : Math.round(result.retryAfterMs);
  return JSON.stringify({ outcome, upstreamStatus, errorName, message, requestId, retryAfterMs, reason });
}

/** A result's JSON as stored at `at`: its MAC, a dot, the JSON. */
function signed(key: Buffer, at: StoredAt, text: string): string {
  return `${macOf(key, at, text)}.${text}`;
}

// What the scripts above answer first.
const REPLY_KINDS: ReadonlySet<string> = new Set(['result', 'gated', 'leader', 'follower', 'ok', 'waiting', 'gone']);

/**
 * A script's reply as the strings every script answers, or undefined when it is something else. A
 * client set to answer bytes (node-redis's `typeMapping` to Buffer) answers the same strings as bytes.
 */
function scriptReply(reply: unknown): string[] | undefined {
  if (!Array.isArray(reply)) return undefined;
  const strings: string[] = [];
  for (const item of reply as unknown[]) {
    if (typeof item === 'string') strings.push(item);
    else if (item instanceof Uint8Array)
      strings.push(Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('utf8'));
    else return undefined;
  }
  return REPLY_KINDS.has(strings[0] ?? '') ? strings : undefined;
}

/**
 * A throttle window as a script answers it: a whole number of milliseconds it has cut to
 * `maxGateMs`. Anything else is not its answer, and must not close this instance's gate.
 */
function gateWindow(value: string | undefined, maxGateMs: number): number | undefined {
  const ms = Number(value);
  return Number.isSafeInteger(ms) && ms > 0 && ms <= maxGateMs ? ms : undefined;
}

/** What a script answers when its caller's own time ran out before Redis did. */
const LATE = Symbol('late');
/** What a script answers when it was not sent: Redis failed a moment ago and rests. */
const RESTING = Symbol('resting');

class OperationTimeout extends Error {
  override readonly name = 'OperationTimeout';
}

/** The shared state's options, checked. */
interface SharedSettings {
  readonly send: Send;
  readonly key: Buffer;
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly restMs: number;
  readonly onEvent: ((event: SharedStateEvent) => void) | undefined;
}

/** What the link to Redis needs of the settings: not the secret, nor the prefix. */
type LinkSettings = Pick<SharedSettings, 'send' | 'timeoutMs' | 'restMs' | 'onEvent'>;

function sharedSettings(options: RedisSharedStateOptions): SharedSettings {
  const o = knownOptions(options, Object.keys(OPTION_NAMES)) as Partial<RedisSharedStateOptions>;
  if (o.client === undefined) {
    throw configError('client', 'missing', '`client` is required: the app’s connected Redis client.');
  }
  const send = senderOf(o.client);
  if (o.secret === undefined) {
    throw configError('secret', 'missing', '`secret` is required: the key of the digests tokens are stored under.');
  }
  const key = secretKey(o.secret);
  const prefix = o.prefix ?? 'sso-signout:';
  if (typeof prefix !== 'string') {
    throw configError('prefix', 'wrong_type', `\`prefix\` must be a string; got ${describeValue(prefix)}.`);
  }
  const timeoutMs = wholeNumber('operationTimeoutMs', o.operationTimeoutMs, 50, 1, 10_000);
  const restMs = wholeNumber('retryAfterFailureMs', o.retryAfterFailureMs, 1000, 0, 600_000);
  const onEvent = functionOption('onEvent', o.onEvent);
  return { send, key, prefix, timeoutMs, restMs, onEvent };
}

/**
 * One Redis as the shared state reaches it: scripts run by digest within a bound, and after a
 * failure a rest, told once when it starts and once when Redis answers again.
 */
class RedisLink {
  // Private fields (#): what holds the secret's settings never shows when logged or serialised.
  readonly #settings: LinkSettings;
  private readonly warn = createWarner();
  private downUntil = 0;
  private down = false;

  constructor(settings: LinkSettings) {
    this.#settings = settings;
  }

  /**
   * Runs a script (by digest, sent again with its body on a NOSCRIPT) within `operationTimeoutMs`
   * or `withinMs`, the shorter; undefined when Redis failed, `RESTING` when it was not sent because
   * Redis rests after a failure (unless `evenResting`), `LATE` when the caller's time ran out first
   * (which is not Redis's failure). A script that failed or was late may still run later. A NOSCRIPT
   * answered after the wait (the first script a restarted or stalled Redis runs) is sent again with
   * its body only where `landsLate` gives the arguments it still holds then (a leader's answer, what
   * is left of a throttle window): a claim made late would take a lease nobody holds. One sent
   * while Redis rests goes with its body at once: after a failover the cache is empty.
   */
  async script(
    operation: string,
    lua: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    options: {
      readonly withinMs?: number;
      readonly evenResting?: boolean;
      readonly landsLate?: () => readonly string[] | undefined;
    } = {},
  ): Promise<string[] | typeof LATE | typeof RESTING | undefined> {
    const { timeoutMs } = this.#settings;
    const { withinMs = timeoutMs, evenResting = false, landsLate } = options;
    if (withinMs <= 0) return LATE;
    const resting = performance.now() < this.downUntil;
    if (resting && !evenResting) return RESTING;
    const ms = Math.min(timeoutMs, withinMs);
    const wait = { over: false };
    const sent = this.sent(lua, keys, args, resting, () => (wait.over ? landsLate?.() : args));
    try {
      const reply = await within(sent, ms, () => new OperationTimeout(), true);
      const strings = scriptReply(reply);
      if (strings === undefined) throw new Error(`unexpected reply ${printable(describeValue(reply), 100)}`);
      this.succeeded();
      return strings;
    } catch (error) {
      if (error instanceof OperationTimeout && ms < timeoutMs) return LATE;
      this.failed(operation, error);
      return undefined;
    } finally {
      wait.over = true;
    }
  }

  /**
   * A script sent by its digest, and again with its body (and the arguments `again` gives then, if
   * any) if Redis does not have it; or with its body at once.
   */
  private sent(
    lua: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    withBody: boolean,
    again: () => readonly string[] | undefined,
  ): Promise<unknown> {
    const { send } = this.#settings;
    const count = String(keys.length);
    if (withBody) return send(['EVAL', lua.body, count, ...keys, ...args]);
    return send(['EVALSHA', lua.sha, count, ...keys, ...args]).catch((error: unknown) => {
      if (!(error instanceof Error && /NOSCRIPT/.test(error.message))) throw error;
      const now = again();
      if (now === undefined) throw error;
      return send(['EVAL', lua.body, count, ...keys, ...now]);
    });
  }

  /** Redis failed (or answered what no script answers): it rests, and this is told once. */
  failed(operation: string, error: unknown): void {
    this.downUntil = performance.now() + this.#settings.restMs;
    if (this.down) return;
    this.down = true;
    const what =
      error instanceof OperationTimeout
        ? 'timeout'
        : printable(error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error), 200);
    this.warn(
      'SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE',
      `Redis failed (${operation}: ${what}); sign-outs go on with this process's own state until it answers again.`,
    );
    this.tell({
      type: 'shared_state_unavailable',
      code: 'SSO_SIGNOUT_SHARED_STATE_UNAVAILABLE',
      operation,
      error: what,
    });
  }

  private succeeded(): void {
    // Redis answered: it is used again from now, even if it answered a script sent while it rested.
    this.downUntil = 0;
    if (!this.down) return;
    this.down = false;
    this.tell({ type: 'shared_state_restored' });
  }

  private tell(event: SharedStateEvent): void {
    try {
      // A listener's failure, thrown or rejected, changes no sign-out.
      Promise.resolve(this.#settings.onEvent?.(event)).catch(() => undefined);
    } catch {
      // see above
    }
  }
}

/** The shared state's operations, each one script on Redis over keys of its own prefix. */
class RedisSharedState implements SharedState {
  readonly #link: RedisLink;
  readonly #key: Buffer;
  readonly #prefix: string;
  /**
   * Leases Redis holds or may hold: `begin` answered "leader", or was sent but not answered in time
   * (it may still set the lease). Their leader's `finish` is sent even while Redis rests after
   * another operation failed, so the lease is freed and whoever follows it is told, rather than
   * waiting out its deadline.
   */
  readonly #held = new Set<string>();

  constructor(link: RedisLink, key: Buffer, prefix: string) {
    this.#link = link;
    this.#key = key;
    this.#prefix = prefix;
  }

  digest(scope: string, token: string): string {
    return nodeCrypto().createHmac('sha256', this.#key).update(`${scope}\n${token}`).digest('base64url');
  }

  async begin(digest: string, origin: string, lease: BeginLease): Promise<SharedBegin> {
    const by = performance.now() + lease.withinMs;
    const begun = await this.beginOnce(digest, origin, lease, false);
    if (begun !== 'untrusted') return begun;
    // Something else wrote there: no result to trust. Asked again past it, so that this call still
    // keeps to the portal's throttle window and to the one call per token.
    const again = await this.beginOnce(digest, origin, { ...lease, withinMs: by - performance.now() }, true);
    return again === 'untrusted' ? { kind: 'unavailable' } : again;
  }

  private async beginOnce(
    digest: string,
    origin: string,
    { lease, leaseMs, maxGateMs, withinMs }: BeginLease,
    passOverResult: boolean,
  ): Promise<SharedBegin | 'untrusted'> {
    const reply = await this.#link.script(
      'begin',
      BEGIN,
      [this.resultKey(digest), this.gateKey(origin), this.leaseKey(digest)],
      [lease, String(leaseMs), String(maxGateMs), passOverResult ? '1' : '0'],
      { withinMs },
    );
    if (reply === RESTING) return { kind: 'unavailable' };
    if (reply === undefined || reply === LATE) {
      this.#held.add(lease);
      return { kind: 'unavailable' };
    }
    const [kind, value] = reply;
    if (kind === 'result') {
      const result = parseResult(this.#key, { kind: 'result', digest }, value);
      return result === undefined ? 'untrusted' : { kind: 'result', result };
    }
    if (kind === 'gated') {
      const remainingMs = gateWindow(value, maxGateMs);
      if (remainingMs !== undefined) return { kind: 'gated', remainingMs };
      this.#link.failed('begin', new Error(`unexpected reply gated ${printable(String(value), 40)}`));
      return { kind: 'unavailable' };
    }
    if (kind === 'leader') {
      this.#held.add(lease);
      return { kind: 'leader', lease };
    }
    if (kind === 'follower' && typeof value === 'string' && value !== '') return { kind: 'follower', lease: value };
    return { kind: 'unavailable' };
  }

  async finish(
    digest: string,
    lease: string,
    result: SharedResult,
    rememberMs: number,
    leaseMs: number,
  ): Promise<void> {
    const text = resultText(result);
    const args = [
      lease,
      rememberMs === 0 ? '' : signed(this.#key, { kind: 'result', digest }, text),
      String(rememberMs),
      String(leaseMs),
      signed(this.#key, { kind: 'outcome', digest, lease }, text),
    ];
    // The answer its followers wait for: it lands even late, and even while Redis rests.
    await this.#link.script(
      'finish',
      FINISH,
      [this.resultKey(digest), this.outcomeKey(digest, lease), this.leaseKey(digest)],
      args,
      { evenResting: this.#held.delete(lease), landsLate: () => args },
    );
  }

  async poll(digest: string, lease: string, withinMs: number): Promise<SharedPoll> {
    const keys = [this.outcomeKey(digest, lease), this.leaseKey(digest)];
    const reply = await this.#link.script('poll', POLL, keys, [lease], { withinMs });
    if (reply === undefined || reply === RESTING) return { kind: 'unavailable' };
    // Nothing learned in the time left: the caller answers its timeout.
    if (reply === LATE) return { kind: 'waiting' };
    const [kind, value] = reply;
    if (kind === 'result') {
      const result = parseResult(this.#key, { kind: 'outcome', digest, lease }, value);
      return result === undefined ? { kind: 'gone' } : { kind: 'result', result };
    }
    return kind === 'waiting' ? { kind: 'waiting' } : { kind: 'gone' };
  }

  async gateRemaining(origin: string, maxGateMs: number, withinMs: number): Promise<number | undefined> {
    const reply = await this.#link.script(
      'gateRemaining',
      GATE_REMAINING,
      [this.gateKey(origin)],
      [String(maxGateMs)],
      { withinMs },
    );
    if (reply === undefined || reply === RESTING || reply === LATE) return undefined;
    const [kind, value] = reply;
    if (kind === 'ok') return 0;
    const remainingMs = kind === 'gated' ? gateWindow(value, maxGateMs) : undefined;
    if (remainingMs !== undefined) return remainingMs;
    this.#link.failed('gateRemaining', new Error(`unexpected reply ${printable(String(kind), 40)}`));
    return undefined;
  }

  async closeGate(origin: string, ms: number): Promise<void> {
    // Answered NOSCRIPT late, what is left of the window is written: none once it has passed. (Not
    // sent while Redis rests: a command queued for a Redis that is down would run with the whole
    // window whenever it came back.)
    const until = performance.now() + ms;
    const left = (): string[] | undefined => {
      const now = Math.ceil(until - performance.now());
      return now > 0 ? [String(now)] : undefined;
    };
    await this.#link.script('closeGate', CLOSE_GATE, [this.gateKey(origin)], [String(Math.ceil(ms))], {
      landsLate: left,
    });
  }

  private resultKey(digest: string): string {
    return `${this.#prefix}result:${digest}`;
  }

  private leaseKey(digest: string): string {
    return `${this.#prefix}lease:${digest}`;
  }

  private outcomeKey(digest: string, lease: string): string {
    return `${this.#prefix}outcome:${digest}:${lease}`;
  }

  private gateKey(origin: string): string {
    return `${this.#prefix}gate:${origin}`;
  }
}

/**
 * Shared sign-out state on Redis, through the app's own client (node-redis v5 or ioredis v5). Give
 * the same `secret` and `prefix` to every instance.
 *
 * @example
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * const sharedState = redisSharedState({ client: redis, secret: process.env.SSO_SIGNOUT_SECRET });
 * app.post('/signout', ssoSignOut({ region: 'eu-west-1', sharedState }));
 */
export function redisSharedState(options: RedisSharedStateOptions): SharedState {
  const { key, prefix, ...link } = sharedSettings(options);
  const state = new RedisSharedState(new RedisLink(link), key, prefix);
  // A plain object of functions: each works taken on its own or spread into a wrapper, and logging
  // or serialising it shows nothing of the secret.
  return {
    digest: (scope, token) => state.digest(scope, token),
    begin: (digest, origin, lease) => state.begin(digest, origin, lease),
    finish: (digest, lease, result, rememberMs, leaseMs) => state.finish(digest, lease, result, rememberMs, leaseMs),
    poll: (digest, lease, withinMs) => state.poll(digest, lease, withinMs),
    closeGate: (origin, ms) => state.closeGate(origin, ms),
    gateRemaining: (origin, maxGateMs, withinMs) => state.gateRemaining(origin, maxGateMs, withinMs),
  };
}
