// npm run bench: runs every benchmark under bench/<name>/index.ts in turn; each prints a table.
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const names = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(here, d.name, 'index.ts')))
  .map((d) => d.name)
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

if (names.length === 0) console.log('No benchmarks yet.');
for (const name of names) {
  console.log(`\n## ${name}\n`);
  const mod = (await import(pathToFileURL(path.join(here, name, 'index.ts')).href)) as { run: () => Promise<void> };
  await mod.run();
}
