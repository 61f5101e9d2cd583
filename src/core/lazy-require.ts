// Loads the package's CommonJS dependencies (cookie, negotiator, and BullMQ when used) and node:crypto on first use
// instead of on import: negotiator alone costs about 10 ms to load and node:crypto about 3 ms, which an app importing
// the package should not pay.

import type * as Cookie from 'cookie';
import type * as Crypto from 'node:crypto';
import type * as Http from 'node:http';
import type Negotiator from 'negotiator';
import { createRequire } from 'node:module';

// The CommonJS build defines `import.meta.url` as `__filename` (scripts/build.cjs): both name this file.
const requireHere = createRequire(import.meta.url);

interface Dependencies {
  readonly cookie: typeof Cookie;
  readonly negotiator: typeof Negotiator;
  readonly 'node:crypto': typeof Crypto;
  /** Required, not imported: on Node 22, importing node:http as a module loads node:crypto. */
  readonly 'node:http': typeof Http;
}

/** Loads a package from this package's own place, as `require` would (an optional peer, say). */
export function requirePackage(id: string): unknown {
  return requireHere(id);
}

/** A function that loads `id` the first time it is called, and returns the same module after. */
export function lazyDependency<Id extends keyof Dependencies>(id: Id): () => Dependencies[Id] {
  let loaded: Dependencies[Id] | undefined;
  return () => (loaded ??= requireHere(id) as Dependencies[Id]);
}

/** node:crypto, loaded the first time a digest, a MAC, an id or a cipher is needed. */
export const nodeCrypto = lazyDependency('node:crypto');
