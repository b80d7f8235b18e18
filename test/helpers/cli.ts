// Runs the real CLI: the built bin, as users run it, as a child process (runCli); or the same
// built CLI (dist/cli/cli.js, which the bin only calls) in this process (runCliInProcess), for
// suites of many short runs where a process per run would cost most of the time: no Node start,
// no module load, esbuild's service kept warm. A run in process gets the same arguments, working
// folder, environment (cleanEnv) and non-terminal streams as a spawned one; what it cannot show is
// what only a process has (its exit after a hang, signals, the bin's own exit timer), so cases
// about those spawn.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { cp, mkdtemp, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(REPO, 'bin', 'descope-run.js');
export const FIXTURES = path.join(REPO, 'test', 'fixtures');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let fileLockRoot: string | undefined;

/** This test file's temporary folder of lock folders (node:test runs each file in its own process), removed at exit. */
function lockRoot(): string {
  if (fileLockRoot === undefined) {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'descope-run-locks-')));
    fileLockRoot = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return fileLockRoot;
}

/** One lock folder for this whole test file, for runs a test means to share a lock (pass it as DESCOPE_RUN_LOCK_DIR). */
export function testLockDir(): string {
  const dir = path.join(lockRoot(), 'shared');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * A clean environment: none of the caller's DESCOPE_* variables leak into a test, and the CLI gets
 * a lock folder of its own (unless `extra` names one): a test never takes a lock in the user's
 * real folder, and tests running side by side (in one file or in several) never contend for one
 * project id. Runs that must share a lock pass one folder (a project's lockDir, testLockDir()).
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DESCOPE_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
  }
  const lockDir = extra.DESCOPE_RUN_LOCK_DIR ?? mkdtempSync(path.join(lockRoot(), 'run-'));
  return { ...env, DESCOPE_RUN_LOCK_DIR: lockDir, ...extra };
}

export function runCli(args: string[], options: { cwd: string; env?: Record<string, string>; input?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Copies a fixture folder to a fresh temporary folder (the loader writes under node_modules/). */
export async function copyFixture(...parts: string[]): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-')));
  await cp(path.join(FIXTURES, ...parts), dir, { recursive: true });
  return dir;
}

/** No line of a Node stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[:(].*\d+:\d+\)?$/m.test(text);
}

/** The built CLI's entry, loaded once per test process. */
let builtCli: Promise<{ runCommandLine: (argv: string[], options: Record<string, unknown>) => Promise<number> }> | undefined;

/** The built CLI (dist/cli) run in this process: same arguments, folder and environment as runCli. */
export async function runCliInProcess(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  builtCli ??= import(pathToFileURL(path.join(REPO, 'dist', 'cli', 'cli.js')).href) as never;
  const { runCommandLine } = await builtCli;
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await runCommandLine(args, {
    cwd: options.cwd,
    processEnv: cleanEnv(options.env),
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
  });
  return { code, stdout, stderr };
}
