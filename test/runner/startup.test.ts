// `descope-run --version`, `--help` and `<command> --help` load only the CLI itself: not the SDK,
// esbuild, zod, nunjucks, the emulator, the runtime or any command module. Proved by what is
// loaded, not by timing: the real bin runs with a preload that registers a module resolve hook
// (every ESM import, bare packages included, as a resolved URL) and, at exit, lists require.cache
// (CommonJS loaded by require() from inside packages, which Node 20's hooks do not see). A control
// run of `validate` shows that the recorder does see zod, esbuild and nunjucks when they load.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMMANDS } from '../../src/runner/cli/cli.ts';
import { BIN, cleanEnv, REPO } from '../helpers/cli.ts';

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(process.env.STARTUP_RECORD, result.url + '\\n');
  return result;
}
`;

const PRELOAD = `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url));
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const files = Object.keys(require.cache);
  if (files.length > 0) appendFileSync(process.env.STARTUP_RECORD, files.map((f) => f + '\\n').join(''));
});
`;

/** What --version and --help must never load (matched against file URLs and paths). */
const FORBIDDEN: [string, RegExp][] = [
  ['@descope/node-sdk', /[\\/]node_modules[\\/]@descope[\\/]/],
  ['esbuild', /[\\/]node_modules[\\/]esbuild[\\/]/],
  ['zod', /[\\/]node_modules[\\/]zod[\\/]/],
  ['nunjucks', /[\\/]node_modules[\\/]nunjucks[\\/]/],
  ['the emulator', /[\\/](?:src|dist)[\\/]emulator[\\/]/],
  ['the runtime', /[\\/](?:src|dist)[\\/]runtime[\\/]/],
  ['a command module', /[\\/](?:src|dist)[\\/]runner[\\/]cli[\\/]commands[\\/]/],
  ['the DSL', /[\\/](?:src|dist)[\\/]dsl[\\/]/],
];

let dir: string;
let preload: string;
let run = 0;

before(async () => {
  dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-startup-')));
  await writeFile(path.join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(path.join(dir, 'preload.mjs'), PRELOAD);
  preload = pathToFileURL(path.join(dir, 'preload.mjs')).href;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Loaded {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every module resolved or required, as a file URL or path (node: builtins included). */
  modules: string[];
}

async function loadedBy(args: string[], cwd = dir): Promise<Loaded> {
  run += 1;
  const record = path.join(dir, `record-${run}.txt`);
  await writeFile(record, '');
  const env = cleanEnv({ STARTUP_RECORD: record });
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', preload, BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const files = (await readFile(record, 'utf8')).split('\n').filter(Boolean);
  // The CLI is bundled (dist/cli/): a loaded bundle file counts as every module it holds, which
  // esbuild names in a `// path` comment before each one.
  const modules = [...files];
  for (const file of files) {
    const where = file.startsWith('file:') ? fileURLToPath(file) : file;
    if (!/[\\/]dist[\\/]cli[\\/][^\\/]+\.js$/.test(where)) continue;
    const text = await readFile(where, 'utf8');
    for (const match of text.matchAll(/^\/\/ ((?:node_modules|dist)\/\S+\.(?:[cm]?js|json))$/gm)) modules.push(path.join(REPO, match[1]!));
  }
  return { code, stdout, stderr, modules };
}

function assertLoadsOnlyTheCli(loaded: Loaded, what: string): void {
  // The recorder saw the program: otherwise an empty list would prove nothing.
  assert.ok(
    loaded.modules.some((m) => /[\\/]dist[\\/]runner[\\/]cli[\\/]cli\.js$/.test(m)) && loaded.modules.some((m) => /[\\/]dist[\\/]cli[\\/]cli\.js$/.test(m)),
    `${what}: the recorder did not see the bundled CLI (dist/cli/cli.js holding dist/runner/cli/cli.js; is dist/ built?)\n${loaded.stderr}`,
  );
  for (const [name, pattern] of FORBIDDEN) {
    const hits = loaded.modules.filter((m) => pattern.test(m));
    assert.deepEqual(hits, [], `${what} loads ${name}`);
  }
}

const TOP_LEVEL: { args: string[]; code: number; stdout: RegExp }[] = [
  { args: ['--version'], code: 0, stdout: /^\d+\.\d+\.\d+/ },
  { args: ['-v'], code: 0, stdout: /^\d+\.\d+\.\d+/ },
  { args: ['--help'], code: 0, stdout: /^descope-run: manage Descope projects as code/ },
  { args: ['-h'], code: 0, stdout: /^descope-run: manage Descope projects as code/ },
  { args: ['help', 'apply'], code: 0, stdout: /^descope-run apply: / },
  { args: [], code: 1, stdout: /Usage: descope-run <command>/ },
];

describe('start-up: --version and --help load only the CLI', () => {
  for (const { args, code, stdout } of TOP_LEVEL) {
    const what = `descope-run ${args.join(' ')}`.trim();
    test(what, async () => {
      const loaded = await loadedBy(args);
      assert.equal(loaded.code, code, loaded.stderr);
      assert.match(loaded.stdout, stdout);
      assertLoadsOnlyTheCli(loaded, what);
    });
  }

  for (const name of Object.keys(COMMANDS)) {
    test(`descope-run ${name} --help`, async () => {
      const loaded = await loadedBy([name, '--help']);
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.match(loaded.stdout, new RegExp(`^descope-run ${name}: `));
      assertLoadsOnlyTheCli(loaded, `descope-run ${name} --help`);
    });
  }

  test('control: the recorder sees what validate loads (zod, esbuild, nunjucks)', async () => {
    const project = path.join(dir, 'sample');
    for (const entry of ['descope.config.ts', 'environments', 'templates', 'modules']) {
      await cp(path.join(REPO, entry), path.join(project, entry), { recursive: true });
    }
    const loaded = await loadedBy(['validate', '--env', 'local'], project);
    assert.equal(loaded.code, 0, loaded.stderr);
    const seen = FORBIDDEN.filter(([, pattern]) => loaded.modules.some((m) => pattern.test(m))).map(([name]) => name);
    for (const name of ['esbuild', 'zod', 'nunjucks', 'a command module', 'the DSL']) assert.ok(seen.includes(name), `validate should load ${name}`);
  });
});
