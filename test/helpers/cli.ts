// Runs the real CLI (the built bin, as users run it) as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
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

let fileLockDir: string | undefined;

/**
 * The lock folder of this test file (node:test runs each file in its own process): a CLI a test
 * spawns never takes a lock in the user's real folder, and test files running side by side never
 * contend for one project id. A test that wants several runs to share a folder passes one.
 */
export function testLockDir(): string {
  if (fileLockDir === undefined) {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'descope-run-locks-')));
    fileLockDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return fileLockDir;
}

/**
 * A clean environment: none of the caller's DESCOPE_* variables leak into a test, and the lock
 * folder is this test file's own (testLockDir) unless `extra` names one.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DESCOPE_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
  }
  return { ...env, DESCOPE_RUN_LOCK_DIR: testLockDir(), ...extra };
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
