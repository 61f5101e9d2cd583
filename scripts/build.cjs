// Builds dist/: declarations from tsc (one .d.ts per source file, ESM and CJS), JavaScript from
// esbuild (one bundle per format, so importing the package loads a handful of files instead of
// twenty). undici, cookie and negotiator stay external: they are real runtime dependencies.
const { execFileSync } = require('node:child_process');
const { copyFileSync, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const esbuild = require('esbuild');

// What each entry point exports, and from which name in the shared bundle.
const ENTRIES = {
  index: {
    ssoSignOut: 'expressSignOut',
    createLogoutClient: 'createLogoutClient',
    MAX_ERROR_BODY_BYTES: 'MAX_ERROR_BODY_BYTES',
    portalEndpoint: 'portalEndpoint',
    guardSessionStore: 'guardSessionStore',
    SignOutConfigError: 'SignOutConfigError',
    SignOutError: 'SignOutError',
  },
  koa: {
    ssoSignOut: 'koaSignOut',
    createLogoutClient: 'createLogoutClient',
    guardSessionStore: 'guardKoaSessionStore',
    SignOutConfigError: 'SignOutConfigError',
    SignOutError: 'SignOutError',
  },
  // Type-only entries (session typings): an empty module at run time.
  'express-session': {},
  'koa-session': {},
};
module.exports = { ENTRIES };

/**
 * `node scripts/build.cjs`: the whole package (declarations from tsc, JavaScript for both formats).
 * `node scripts/build.cjs --js esm`: only the JavaScript of one format, without declarations: what
 * the example apps run, in about a second instead of half a minute.
 */
async function build(only) {
  const formats = only === undefined ? ['esm', 'cjs'] : [only];
  if (only === undefined) {
    rmSync('dist', { recursive: true, force: true });
    const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
    for (const config of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
      execFileSync(process.execPath, [tsc, '-p', config, '--emitDeclarationOnly'], { stdio: 'inherit' });
    }
  }
  mkdirSync('dist/cjs', { recursive: true });
  writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);

  // The require shim differs per format (see src/core/cjs-require.js).
  const shim = (format) => ({
    name: 'cjs-require',
    setup(build) {
      build.onResolve({ filter: /cjs-require\.js$/ }, () => ({
        path: join(process.cwd(), 'src', 'core', 'cjs-require.js'),
        namespace: format === 'esm' ? 'file' : 'cjs-require',
      }));
      build.onLoad({ filter: /.*/, namespace: 'cjs-require' }, () => ({
        contents: 'exports.requireDependency = require;',
        loader: 'js',
      }));
    },
  });
  for (const format of formats) {
    await esbuild.build({
      entryPoints: { bundle: 'src/bundle.ts', 'testing/index': 'src/testing/index.ts' },
      outdir: `dist/${format}`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      external: ['undici', 'cookie', 'negotiator'],
      plugins: [shim(format)],
      sourcemap: true,
      legalComments: 'none',
      logLevel: 'warning',
    });
    for (const [entry, names] of Object.entries(ENTRIES)) {
      const list = Object.entries(names);
      const text =
        list.length === 0
          ? format === 'esm'
            ? 'export {};\n'
            : "'use strict';\n"
          : format === 'esm'
            ? `export { ${list.map(([out, inner]) => (out === inner ? out : `${inner} as ${out}`)).join(', ')} } from './bundle.js';\n`
            : `'use strict';\nconst bundle = require('./bundle.js');\n${list.map(([out, inner]) => `exports.${out} = bundle.${inner};`).join('\n')}\n`;
      writeFileSync(`dist/${format}/${entry}.js`, text);
    }
  }
  if (only === undefined) {
    copyFileSync('src/core/cjs-require.d.ts', 'dist/esm/core/cjs-require.d.ts');
    copyFileSync('src/core/cjs-require.d.ts', 'dist/cjs/core/cjs-require.d.ts');
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--js');
  const only = at === -1 ? undefined : process.argv[at + 1];
  if (only !== undefined && only !== 'esm' && only !== 'cjs') {
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
