// --out never replaces a file descope-run did not write (issue 11, item 16), through the real CLI
// against an emulator in this process: `render --out .` with a flow named `package` leaves
// package.json alone, and `diff`, `backup` and `drift --out descope.config.ts` leave the config
// alone, before anything is sent; each command re-run over its own earlier output works without
// --force; --force replaces a user's file, and a symbolic link itself, never what it points to.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, cleanEnv, hasStackTrace, type CliResult } from '../helpers/cli.ts';
import { createProject, modeOf, TEST_KEY, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const DOC = { flow: { dsl: { startTask: 'a', tasks: { a: { id: 'a', type: 'action' } } } }, screens: [] };
const CONFIG = `import { defineConfig, flow, tenant } from 'descope-run';

export default defineConfig({
  tenants: [tenant({ id: 'acme', name: 'Acme' })],
  flows: [flow({ id: 'package', json: ${JSON.stringify(DOC)} }), flow({ id: 'login', json: ${JSON.stringify(DOC)} })],
});
`;
const PACKAGE_JSON = '{ "name": "my-app", "private": true }\n';

function refusal(file: string): RegExp {
  return new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: exists and was not written by descope-run[^\\n]*; nothing was written$`, 'm');
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}

async function ok(project: Project, args: string[]): Promise<CliResult> {
  const result = await project.run(args);
  assert.equal(result.code, 0, `${args.join(' ')}\n${result.stdout}${result.stderr}`);
  return result;
}

function assertRefused(result: CliResult, file: string, what: string): void {
  assert.equal(result.code, 1, `${what}\n${result.stdout}${result.stderr}`);
  assert.equal(errorLines(result.stderr).length, 1, result.stderr);
  assert.match(result.stderr, refusal(file), what);
  assert.match(result.stderr, /^ {2}hint: .*--force/m, what);
  assert.equal(hasStackTrace(result.stderr), false, result.stderr);
}

test('--out refuses a file descope-run did not write, before anything is sent; its own earlier output is replaced', async (t) => {
  const project = await createProject({ config: CONFIG });
  t.after(() => project.close());
  const at = (...parts: string[]) => path.join(project.dir, ...parts);
  await writeFile(at('package.json'), PACKAGE_JSON);
  const before = project.emu.log.total;

  // The cases, failing on the code before: each of these replaced the file.
  const [render, diff, backup, drift, watch] = await Promise.all([
    project.run(['render', ...REMOTE, '--out', '.']),
    project.run(['diff', ...REMOTE, '--out', 'descope.config.ts']),
    project.run(['backup', ...REMOTE, '--out', 'descope.config.ts']),
    project.run(['drift', ...REMOTE, '--format', 'html', '--out', 'descope.config.ts']),
    runWithDeadline(project, ['drift', ...REMOTE, '--watch', '5s', '--out', 'descope.config.ts']),
  ]);
  assertRefused(render, 'package.json', 'render --out .');
  assertRefused(diff, 'descope.config.ts', 'diff --out descope.config.ts');
  assertRefused(backup, 'descope.config.ts', 'backup --out descope.config.ts');
  assertRefused(drift, 'descope.config.ts', 'drift --out descope.config.ts');
  assertRefused(watch, 'descope.config.ts', 'drift --watch --out descope.config.ts');
  assert.equal(await readFile(at('package.json'), 'utf8'), PACKAGE_JSON, 'package.json was replaced');
  assert.equal(await readFile(at('descope.config.ts'), 'utf8'), CONFIG, 'the config was replaced');
  // All or nothing: not even the flow whose file was free, nor render's list of files.
  const left = await readdir(project.dir);
  assert.deepEqual(left.filter((f) => f === 'login.json' || f === '.descope-run-render.json' || f.endsWith('.tmp')), [], `written: ${left.join(', ')}`);
  assert.equal(project.emu.log.total, before, 'a refused --out still read the live project');

  // Re-run over its own earlier output: no --force needed (drift in another format, too).
  for (const format of ['text', 'html']) {
    await Promise.all([
      ok(project, ['render', ...REMOTE, '--out', 'rendered']),
      ok(project, ['diff', ...REMOTE, '--out', 'plan.json']),
      ok(project, ['backup', ...REMOTE, '--out', 'backup.json']),
      ok(project, ['drift', ...REMOTE, '--format', format, '--out', 'drift.out']),
    ]);
  }
  assert.deepEqual((await readdir(at('rendered'))).sort(), ['.descope-run-render.json', 'login.json', 'package.json']);
  assert.match(await readFile(at('drift.out'), 'utf8'), /^<!doctype html>[\s\S]*<meta name="generator" content="descope-run">/);
  // One kind of descope-run file does not stand in for another.
  const planOverBackup = await project.run(['diff', ...REMOTE, '--out', 'backup.json']);
  assert.equal(planOverBackup.code, 1, planOverBackup.stderr);
  assert.match(planOverBackup.stderr, /^error: backup\.json: is a descope-run backup file, not the plan; nothing was written$/m);

  // --force replaces a user's file (0600 after); a symbolic link is replaced itself, never followed.
  await writeFile(at('notes.txt'), 'my notes\n');
  await symlink('package.json', at('link.json'));
  const [notes, link] = await Promise.all([project.run(['backup', ...REMOTE, '--out', 'notes.txt']), project.run(['diff', ...REMOTE, '--out', 'link.json'])]);
  assertRefused(notes, 'notes.txt', 'backup --out notes.txt');
  assertRefused(link, 'link.json', 'diff --out link.json (a symbolic link)');
  assert.match(link.stderr, /symbolic link/);
  await Promise.all([ok(project, ['backup', ...REMOTE, '--out', 'notes.txt', '--force']), ok(project, ['diff', ...REMOTE, '--out', 'link.json', '--force'])]);
  assert.match(await readFile(at('notes.txt'), 'utf8'), /^\{\n "format": "descope-run\/backup"/);
  assert.equal(await modeOf(at('notes.txt')), 0o600);
  assert.equal((await lstat(at('link.json'))).isSymbolicLink(), false, 'the link was not replaced');
  assert.equal(await readFile(at('package.json'), 'utf8'), PACKAGE_JSON, '--force wrote through the link');

  // --force means nothing without --out; a backup is never written into the store under another name.
  const [bare, store] = await Promise.all([
    project.run(['diff', ...REMOTE, '--force']),
    project.run(['backup', ...REMOTE, '--out', '.descope/backups/remote/mine.json']),
  ]);
  assert.equal(bare.code, 1);
  assert.match(bare.stderr, /^error: --force needs --out$/m);
  assert.equal(store.code, 1);
  assert.match(store.stderr, /^error: --out \.descope\/backups\/remote\/mine\.json: is inside \.descope\/backups\/, where each backup is named by its id$/m);
});

/** The CLI, killed after 20 s: on the code before, `drift --watch` over the config never ended. */
function runWithDeadline(project: Project, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: project.dir,
      env: cleanEnv({ TEST_MGMT_KEY: TEST_KEY, DESCOPE_RUN_MIN_WATCH_MS: '100' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
