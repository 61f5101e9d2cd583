// Remembers for a minute which tokens the portal just revoked or refused, keyed by digest, so other tabs need no second call.

import { hash } from 'node:crypto';

/** The key a token is remembered and coalesced under: a SHA-256 digest, never the token itself. */
export function tokenDigest(scope: string, token: string): string {
  return hash('sha256', `${scope}\n${token}`, 'base64url');
}

interface Entry<R> {
  readonly result: R;
  readonly until: number;
}

/**
 * Results by token digest for `ttlMs`, at most `max` of them. Every entry lives equally long, so
 * insertion order is expiry order: each write first drops the expired entries at the front.
 */
export class RecentResults<R> {
  private readonly entries = new Map<string, Entry<R>>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): R | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > this.now()) return entry.result;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, result: R): void {
    const now = this.now();
    this.sweep(now);
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { result, until: now + this.ttlMs });
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.until > now) return;
      this.entries.delete(key);
    }
  }
}
