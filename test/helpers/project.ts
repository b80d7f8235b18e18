// Throwaway projects for end-to-end tests: a temp folder with a descope.config.ts and
// environments/, an emulator started in the test process for a "remote" environment to point at,
// and a record of the writes the emulator applied (with the addresses each one touched).
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.ts';
import { BIN, cleanEnv, runCli, runCliInProcess, type CliResult } from './cli.ts';

/** 28 characters, like the emulator's default, so the SDK's region logic stays inert. */
export const PROJECT_A = 'P2testProjectA00000000000000';
export const PROJECT_B = 'P2testProjectB00000000000000';
export const TEST_KEY = 'test-management-key-e2e';

export interface Project {
  dir: string;
  /** The project's own lock folder (DESCOPE_RUN_LOCK_DIR of `run`): two projects never contend. */
  lockDir: string;
  emu: RunningEmulator;
  /** Writes the emulator applied, in order, each with the addresses (`tenants/acme`) it touched. */
  writes: WriteRecord[];
  /** Replaces descope.config.ts. */
  setConfig(source: string): Promise<void>;
  /** Writes environments/<name>.ts. */
  writeEnvironment(name: string, source: string): Promise<void>;
  /** Write calls the emulator received so far, answered or refused (from its request events). */
  writeCalls(): number;
  /**
   * Runs the built CLI in the project with the test key, its lock folder (and `env`) set: in this
   * process (test/helpers/cli.ts runCliInProcess), or as the bin in a process of its own when the
   * run gets `input` on its standard input or asks to `spawn`.
   */
  run(args: string[], options?: { env?: Record<string, string>; input?: string; spawn?: boolean }): Promise<CliResult>;
  /** The audit log of an environment, one parsed value per line. */
  audit(env?: string): Promise<Record<string, unknown>[]>;
  /**
   * Another checkout of this project on the same machine: a new folder with a copy of its config,
   * environments/ and templates/ as they are now, sharing its emulator and its lock folder.
   */
  checkout(): Promise<Checkout>;
  close(): Promise<void>;
}

export type Checkout = Pick<Project, 'dir' | 'lockDir' | 'run' | 'audit'>;

export interface WriteRecord {
  path: string;
  resources: string[];
}

export interface ProjectOptions {
  config: string;
  /** Options of environments/remote.ts, which points at the emulator. */
  remote?: { protected?: boolean; projectId?: string };
  projectId?: string;
  managementKey?: string;
}

export function remoteEnvironment(emu: { url: string }, projectId: string, extra: { protected?: boolean } = {}): string {
  return `import { defineEnvironment } from 'descope-run';

export default defineEnvironment({
  projectId: ${JSON.stringify(projectId)},
  baseUrl: ${JSON.stringify(emu.url)},
  managementKey: { env: 'TEST_MGMT_KEY' },
  budget: { requests: 1000, windowSeconds: 1 },${extra.protected ? '\n  protected: true,' : ''}
});
`;
}

export async function createProject(options: ProjectOptions): Promise<Project> {
  const projectId = options.projectId ?? PROJECT_A;
  const managementKey = options.managementKey ?? TEST_KEY;
  const emu = await startEmulator({ port: 0, projectId, managementKey });
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-e2e-')));
  const lockDir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-e2e-locks-')));
  const writes: WriteRecord[] = [];
  let writeCalls = 0;
  emu.on('request', (entry) => {
    if (entry.write) writeCalls += 1;
  });
  emu.on('write', (event) => {
    writes.push({ path: event.path, resources: event.records.map((r) => String(r.data.resource ?? '')).filter(Boolean) });
  });
  await mkdir(path.join(dir, 'environments'));
  await writeFile(path.join(dir, 'descope.config.ts'), options.config);
  const checkouts: string[] = [];
  const runIn = (cwd: string): Project['run'] => (args, runOptions = {}) => {
    const env = { TEST_MGMT_KEY: managementKey, DESCOPE_RUN_LOCK_DIR: lockDir, ...runOptions.env };
    if (runOptions.input === undefined && runOptions.spawn !== true) return runCliInProcess(args, { cwd, env });
    return runCli(args, { cwd, env, ...(runOptions.input !== undefined ? { input: runOptions.input } : {}) });
  };
  await writeFile(path.join(dir, 'environments', 'remote.ts'), remoteEnvironment(emu, options.remote?.projectId ?? projectId, options.remote));
  return {
    dir,
    lockDir,
    emu,
    writes,
    setConfig: (source) => writeFile(path.join(dir, 'descope.config.ts'), source),
    writeEnvironment: (name, source) => writeFile(path.join(dir, 'environments', `${name}.ts`), source),
    writeCalls: () => writeCalls,
    run: runIn(dir),
    audit: (env) => readAudit(dir, env),
    async checkout() {
      const other = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-e2e-checkout-')));
      checkouts.push(other);
      for (const entry of ['descope.config.ts', 'environments', 'templates']) {
        await cp(path.join(dir, entry), path.join(other, entry), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
      return { dir: other, lockDir, run: runIn(other), audit: (env) => readAudit(other, env) };
    },
    async close() {
      for (const other of checkouts) await rm(other, { recursive: true, force: true });
      await emu.close();
      await rm(dir, { recursive: true, force: true });
      await rm(lockDir, { recursive: true, force: true });
    },
  };
}

async function readAudit(dir: string, env = 'remote'): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path.join(dir, '.descope', 'audit', `${env}.jsonl`), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every file under `dir` (recursively), absolute. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw error;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else out.push(full);
  }
  return out;
}

export async function modeOf(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), feeding `input` to it. The
 * output is what the terminal showed (stdout and stderr together, with carriage returns).
 */
export function runCliOnTerminal(args: string[], options: { cwd: string; env?: Record<string, string>; input: string }): Promise<CliResult> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: options.cwd,
      env: cleanEnv({ ...options.env, SHELL: '/bin/sh' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // A question that never comes must fail the test, not hang it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // Answer once the question is on the terminal: a line typed earlier could be eaten by the
    // terminal before readline listens.
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      child.stdin.write(options.input);
    };
    child.stdout.on('data', () => {
      if (/Only "yes" is accepted: |to apply these changes: /.test(stdout)) answer();
    });
  });
}
