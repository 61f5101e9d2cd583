// Builds dist/ from the entry points package.json exports, so that list is the only one:
// - ES modules: one esbuild run over every entry with code splitting, so the entries share one copy
//   of the core (its classes and diagnostics channels) and importing one loads a few files.
// - CommonJS: one self-contained bundle per entry (esbuild cannot split CommonJS). The error classes
//   recognise each other across copies (see src/core/errors.ts), so two entries loaded side by side
//   still agree on `instanceof`.
// - Declarations: tsc once, into dist/esm, copied to dist/cjs (the same files describe both).
// undici, cookie and negotiator stay external: they are the runtime dependencies.
const { execFileSync } = require('node:child_process');
const { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const esbuild = require('esbuild');
const pkg = require('../package.json');

/** `{ 'koa': 'src/koa.ts', 'testing/index': 'src/testing/index.ts', … }`, read from `exports`. */
function entryPoints() {
  const entries = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const file = typeof target === 'object' ? target.import?.default : undefined;
    if (file === undefined) continue;
    const match = /^\.\/dist\/esm\/(.+)\.js$/.exec(file);
    if (match === null) throw new Error(`package.json exports["${subpath}"] does not point into dist/esm: ${file}`);
    entries[match[1]] = `src/${match[1]}.ts`;
  }
  return entries;
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies),
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};

const FORMATS = {
  esm: { format: 'esm', splitting: true, chunkNames: 'chunks/[name]-[hash]' },
  // src/core/lazy-require.ts asks for `import.meta.url`; a CommonJS file names itself `__filename`.
  cjs: { format: 'cjs', define: { 'import.meta.url': '__filename' } },
};

/**
 * `node scripts/build.cjs`: the whole package (declarations and both formats).
 * `node scripts/build.cjs --js esm`: only the JavaScript of one format, without declarations: what
 * the example apps run, in well under a second.
 */
/** Removes the JavaScript files (and their maps) under `dir`, keeping everything else. */
function removeJavaScript(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeJavaScript(path);
    else if (/\.(c|m)?js(\.map)?$/.test(entry.name)) rmSync(path);
  }
}

async function build(only) {
  const formats = only === undefined ? ['esm', 'cjs'] : [only];
  if (only === undefined) rmSync('dist', { recursive: true, force: true });
  for (const format of formats) {
    if (only === undefined) rmSync(`dist/${format}`, { recursive: true, force: true });
    // JavaScript only: the declarations a full build left stay (a clone used through `npm link`
    // keeps its types); only the old JavaScript goes.
    else removeJavaScript(`dist/${format}`);
    await esbuild.build({ ...common, ...FORMATS[format], entryPoints: entryPoints(), outdir: `dist/${format}` });
  }
  mkdirSync('dist/cjs', { recursive: true });
  writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
  if (only === undefined) {
    const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.esm.json', '--emitDeclarationOnly'], { stdio: 'inherit' });
    cpSync('dist/esm', 'dist/cjs', {
      recursive: true,
      filter: (from) => !from.endsWith('.js') && !from.endsWith('.map'),
    });
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--js');
  const only = at === -1 ? undefined : process.argv[at + 1];
  if (only !== undefined && !(only in FORMATS)) {
    console.error('usage: node scripts/build.cjs [--js esm|cjs]');
    process.exit(2);
  }
  const started = performance.now();
  build(only).then(
    () => {
      if (only !== undefined) {
        const ms = Math.round(performance.now() - started);
        console.log(`sso-signout: built the ${only} JavaScript only (dist/${only}, no declarations) in ${ms} ms`);
      }
    },
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

module.exports = { entryPoints };
