// Runs the real CLI (the built bin, as users run it) as a child process.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { cp, mkdtemp, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
