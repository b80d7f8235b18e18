// Bundles the compiled CLI (dist/runner/cli/cli.js and the commands it loads lazily) into
// dist/cli/, one file per command plus shared chunks, with zod, nunjucks, the SDK and the other
// pure-JS dependencies inlined. Node then loads a few files instead of hundreds (zod alone is 224
// modules): `validate` starts about 120 ms sooner. esbuild stays external (it runs a native
// binary). dist/cli/ sits at the same depth as src/runner/package.ts, which holds the only paths
// relative to the package (../../package.json, ../index.js), so they resolve from the bundle too.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

// The bundled Nunjucks' version, for the compiled-template cache's key (src/runner/templates/templates.ts).
const nunjucks = JSON.parse(readFileSync('node_modules/nunjucks/package.json', 'utf8'));

await build({
  entryPoints: ['dist/runner/cli/cli.js'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  external: ['esbuild'],
  define: { __DESCOPE_RUN_NUNJUCKS_VERSION__: JSON.stringify(nunjucks.version) },
  // CommonJS dependencies (nunjucks) call require(); ESM has none, so give them one.
  banner: { js: "import { createRequire as __descopeRunCreateRequire } from 'node:module'; const require = __descopeRunCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
