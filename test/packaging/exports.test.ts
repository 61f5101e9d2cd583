// The built entry points export exactly what the sources do, in both formats (the build writes
// them as thin stubs over one bundle; this keeps the stubs honest).

import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const names = (module: object) => Object.keys(module).sort();

describe.each([
  ['index', () => import('../../src/index.js')],
  ['koa', () => import('../../src/koa.js')],
  ['testing/index', () => import('../../src/testing/index.js')],
  ['express-session', () => import('../../src/express-session.js')],
  ['koa-session', () => import('../../src/koa-session.js')],
])('dist/*/%s', (entry, source) => {
  it('exports the same names as its source, as ESM and as CommonJS', async () => {
    const expected = names(await source());
    const esm = pathToFileURL(fileURLToPath(new URL(`../../dist/esm/${entry}.js`, import.meta.url))).href;
    expect(names((await import(/* @vite-ignore */ esm)) as object)).toEqual(expected);
    expect(names(require(`../../dist/cjs/${entry}.js`) as object)).toEqual(expected);
  });
});
