// Synchronous `require` for the package's CommonJS dependencies, so they load on first use instead
// of on import. This is the ES module build's variant; the build writes the CommonJS one
// (`exports.requireDependency = require`) into dist/cjs.
import { createRequire } from 'node:module';

export const requireDependency = createRequire(import.meta.url);
