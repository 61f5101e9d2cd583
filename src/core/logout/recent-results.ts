// Remembers for a minute which tokens the portal just revoked or refused, keyed by digest, so other tabs need no second call.

import { nodeCrypto } from '../lazy-require.js';

/** The key a token is remembered and coalesced under: a SHA-256 digest, never the token itself. */
export function tokenDigest(scope: string, token: string): string {
  return nodeCrypto().hash('sha256', `${scope}\n${token}`, 'base64url');
}

/**
 * Results by token digest, each kept for at least half of `ttlMs` and at most `ttlMs`, at most
 * `max` of them. Two generations of half the span each: writes go to the newer, the older is
 * dropped whole when the newer is half a span old or holds half of `max`. Nothing is swept or
 * reordered per write: a busy route remembers every revoked token, so a write must cost one map
 * insertion and no more.
 */
export class RecentResults<R> {
  private newer = new Map<string, R>();
  private older = new Map<string, R>();
  private newerSince: number;

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {
    this.newerSince = now();
  }

  /** Entries held (a key rewritten across a turn counts twice until the older generation goes). */
  get size(): number {
    return this.newer.size + this.older.size;
  }

  get(key: string): R | undefined {
    this.age();
    return this.newer.get(key) ?? this.older.get(key);
  }

  set(key: string, result: R): void {
    this.age();
    if (this.newer.size >= this.max / 2) this.turn(this.now());
    // A key still in the older generation is shadowed: `get` reads the newer first.
    this.newer.set(key, result);
  }

  private age(): void {
    const now = this.now();
    const age = now - this.newerSince;
    if (age >= this.ttlMs) {
      // Both generations are past their span.
      this.older = new Map();
      this.newer = new Map();
      this.newerSince = now;
    } else if (age >= this.ttlMs / 2) {
      this.turn(now);
    }
  }

  private turn(now: number): void {
    this.older = this.newer;
    this.newer = new Map();
    this.newerSince = now;
  }
}
