// descope-run's own package: its version and its public entry. This file stays directly under
// src/runner/ on purpose: the bundled CLI puts it in dist/cli/, at the same depth, so the relative
// paths below hold both from source and from the bundle.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

/** The version in package.json. */
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

/** The package's own public entry, so a config's `import 'descope-run'` gets this very copy. */
export function packageEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here); // .ts when run from source (tests), .js when installed
  return path.resolve(path.dirname(here), '..', `index${ext}`);
}
