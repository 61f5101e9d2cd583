// Builds dist/: declarations from tsc (one .d.ts per source file, ESM and CJS), JavaScript from
// esbuild (one bundle per format, so importing the package loads a handful of files instead of
// twenty). undici, cookie and negotiator stay external: they are real runtime dependencies.
const { execFileSync } = require('node:child_process');
const { copyFileSync, rmSync, writeFileSync } = require('node:fs');
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
};
module.exports = { ENTRIES };

async function build() {
  rmSync('dist', { recursive: true, force: true });
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  for (const config of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
    execFileSync(process.execPath, [tsc, '-p', config, '--emitDeclarationOnly'], { stdio: 'inherit' });
  }
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
  for (const format of ['esm', 'cjs']) {
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
        format === 'esm'
          ? `export { ${list.map(([out, inner]) => (out === inner ? out : `${inner} as ${out}`)).join(', ')} } from './bundle.js';\n`
          : `'use strict';\nconst bundle = require('./bundle.js');\n${list.map(([out, inner]) => `exports.${out} = bundle.${inner};`).join('\n')}\n`;
      writeFileSync(`dist/${format}/${entry}.js`, text);
    }
  }
  copyFileSync('src/core/cjs-require.d.ts', 'dist/esm/core/cjs-require.d.ts');
  copyFileSync('src/core/cjs-require.d.ts', 'dist/cjs/core/cjs-require.d.ts');
}

if (require.main === module) {
  build().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
