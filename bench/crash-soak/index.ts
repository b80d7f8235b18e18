// crash-soak: an apply killed (SIGKILL) at a random point, then applied again, over and over.
// Each trial gets a fresh emulator with its own latency (20–60 ms) and a fresh project of 36
// changes (project.ts), starts `descope-run apply`, kills it either after a random number of
// writes the emulator applied or after a random delay, then runs apply again and checks:
//   - the re-run exits 0 and the live project equals the config (the plan computed in this
//     process against the emulator has no change and nothing unmanaged);
//   - nothing was done twice: across both runs each (action, resource) the emulator recorded
//     (TenantCreated tenants/t3, RoleCreated roles/t0/Agent, …) happened at most once, and no
//     create was answered "already exists";
//   - every backup on disk parses and its checksum verifies; the audit log reads; the lock and the
//     journal are gone; a journal the killed run left was reported and recorded as `interrupted`.
// Recovery time is the re-run's wall time (node start and config bundling included).
//
// Seeded: CRASH_SOAK_SEED=<n> replays a run, CRASH_SOAK_ONLY=<trial> one trial of it.
// Bounded: CRASH_SOAK_TRIALS (default 30) and CRASH_SOAK_BUDGET_S (default 150: no trial starts
// after it; 30 trials take about 90 s on a quiet 2-core machine). A trial during which dist/ was
// being rebuilt (the CLI could not load it) is run again, not counted.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.ts';
import { seededRandom } from '../../src/emulator/random.ts';
import { readAuditLog } from '../../src/runner/store/audit-log.ts';
import { readBackup } from '../../src/runner/store/backups.ts';
import { compileProject } from '../../src/runner/config/compile.ts';
import { lockFileName } from '../../src/runner/apply/lock-file.ts';
import { computePlan } from '../../src/runner/plan/compute.ts';
import { computeDesiredProject, computeScope, type DesiredProject } from '../../src/runner/plan/desired.ts';
import { createDescopeApi, readLiveState, type LiveScope } from '../../src/runtime/index.ts';
import { CHANGES, KEY_VARIABLE, OIDC_SECRET_VARIABLE, writeProject } from './project.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(REPO, 'bin', 'descope-run.js');
const ENV = 'soak';
const TRIALS = Number(process.env.CRASH_SOAK_TRIALS ?? 30);
const BUDGET_MS = Number(process.env.CRASH_SOAK_BUDGET_S ?? 150) * 1000;
const CHILD_TIMEOUT_MS = 30_000;
const CREATE_PATHS = /\/create(\/batch)?$/;

/** The emulator's seeded mulberry32: kill points are reproducible from the printed seed. */
const random = seededRandom;

const trialSeed = (seed: number, trial: number): number => (Math.imul(seed ^ 0x9e3779b9, 31) + trial * 0x85ebca6b) >>> 0;

interface Child {
  process: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
  exited: () => boolean;
}

function startCli(args: string[], cwd: string, env: Record<string, string>): Child {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DESCOPE_') && k !== 'FORCE_COLOR' && k !== 'NODE_OPTIONS') clean[k] = v;
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const done = new Promise<Awaited<Child['done']>>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => (exited = true));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  return { process: child, done, exited: () => exited };
}

/** What the emulator saw: each applied (action, resource) with how often, and creates answered 409. */
function watch(emulator: RunningEmulator) {
  const actions = new Map<string, number>();
  let writes = 0;
  let conflicts = 0;
  const listeners: ((writes: number) => void)[] = [];
  emulator.on('write', (event) => {
    writes += 1;
    for (const record of event.records) {
      const key = `${record.action} ${String(record.data.resource ?? '')}`;
      actions.set(key, (actions.get(key) ?? 0) + 1);
    }
    for (const listener of listeners) listener(writes);
  });
  emulator.on('request', (entry) => {
    if (entry.status === 409 && CREATE_PATHS.test(entry.path)) conflicts += 1;
  });
  return {
    writes: () => writes,
    conflicts: () => conflicts,
    repeated: () => [...actions].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`),
    onWrite: (listener: (writes: number) => void) => listeners.push(listener),
  };
}

interface Reference {
  desired: DesiredProject;
  scope: LiveScope;
  writes: number;
  ms: number;
}

/** One clean apply: how many writes and how long a whole one takes, and the desired state to compare with. */
async function calibrate(): Promise<Reference> {
  const emulator = await startEmulator({ port: 0, latencyMs: 40 });
  const seen = watch(emulator);
  const dir = await writeProject(emulator);
  try {
    const env = { [KEY_VARIABLE]: emulator.managementKey, [OIDC_SECRET_VARIABLE]: 'soak-secret', DESCOPE_RUN_LOCK_DIR: path.join(dir, '.locks') };
    const result = await startCli(['apply', '--env', ENV, '--yes'], dir, env).done;
    if (result.code !== 0) throw new Error(`crash-soak: the reference apply failed:\n${result.stderr || result.stdout}`);
    const project = await compileProject({ cwd: dir, env: ENV, processEnv: { ...process.env, ...env } });
    const desired = computeDesiredProject(project.spec, project.rendered);
    return { desired, scope: computeScope(desired), writes: seen.writes(), ms: result.ms };
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function liveDiffers(emulator: RunningEmulator, reference: Reference): Promise<string | undefined> {
  const api = createDescopeApi({ projectId: emulator.projectId, managementKey: emulator.managementKey, baseUrl: emulator.url, budget: { requests: 1000, windowSeconds: 1 } });
  try {
    const live = await readLiveState(api, reference.scope);
    const plan = computePlan(reference.desired, live, { environment: ENV, projectId: emulator.projectId, scope: reference.scope });
    if (plan.changes.length === 0 && plan.unmanaged.length === 0) return undefined;
    return `live ≠ config: ${[...plan.changes.map((c) => `${c.action} ${c.address}`), ...plan.unmanaged.map((u) => `unmanaged ${u.address}`)].slice(0, 5).join(', ')}`;
  } finally {
    api.close();
  }
}

type Landed = 'before' | 'mid' | 'after';

interface Trial {
  trial: number;
  seed: number;
  latencyMs: number;
  kill: string;
  landed: Landed;
  writesAtKill: number;
  recoveryMs: number;
  problems: string[];
  /** A CLI could not load dist/ (another build was replacing it): the trial says nothing and is run again. */
  void?: boolean;
}

const DIST_MISSING = /ERR_MODULE_NOT_FOUND|Cannot find module '[^']*\/dist\//;

async function runTrial(trial: number, seed: number, reference: Reference): Promise<Trial> {
  const rng = random(seed);
  const latencyMs = 20 + Math.floor(rng() * 41);
  const byWrites = rng() < 0.5;
  const killAfterWrites = 1 + Math.floor(rng() * reference.writes);
  const killAfterMs = Math.floor(rng() * reference.ms * 1.1);
  const emulator = await startEmulator({ port: 0, latencyMs, seed });
  const seen = watch(emulator);
  const dir = await writeProject(emulator);
  // Each trial its own lock folder: never the user's, and trials never see each other's locks.
  const lockDir = path.join(dir, '.locks');
  const env = { [KEY_VARIABLE]: emulator.managementKey, [OIDC_SECRET_VARIABLE]: 'soak-secret', DESCOPE_RUN_LOCK_DIR: lockDir };
  const lockFile = path.join(lockDir, lockFileName({ key: `project:${emulator.projectId}`, description: '' }));
  const journalFile = lockFile.replace(/\.lock$/, '.journal');
  const problems: string[] = [];
  try {
    const first = startCli(['apply', '--env', ENV, '--yes'], dir, env);
    let writesAtKill = -1;
    let exitedFirst = false;
    const kill = (): void => {
      if (writesAtKill !== -1) return;
      exitedFirst = first.exited();
      writesAtKill = seen.writes();
      first.process.kill('SIGKILL');
    };
    if (byWrites) seen.onWrite((n) => n === killAfterWrites && kill());
    const timer = byWrites ? undefined : setTimeout(kill, killAfterMs);
    const killed = await first.done;
    clearTimeout(timer);
    if (writesAtKill === -1) {
      // It finished before the kill point (a write count it never reached).
      exitedFirst = true;
      writesAtKill = seen.writes();
    }
    if (!exitedFirst && killed.signal !== 'SIGKILL') problems.push(`the first apply ended with ${killed.code} before the kill`);
    // Requests the killed run had sent still land (the emulator answers into the void).
    await sleep(latencyMs * 2 + 20);
    const landed: Landed = exitedFirst || writesAtKill >= reference.writes ? 'after' : writesAtKill === 0 ? 'before' : 'mid';

    const lockLeft = existsSync(lockFile);
    const journalLeft = existsSync(journalFile);
    const backups = path.join(dir, '.descope', 'backups', ENV);
    for (const name of existsSync(backups) ? readdirSync(backups).filter((n) => n.endsWith('.json') && !n.startsWith('.')) : []) {
      try {
        readBackup(path.join(backups, name));
      } catch (error) {
        problems.push(`backup ${name}: ${(error as Error).message}`);
      }
    }

    const rerun = await startCli(['apply', '--env', ENV, '--yes'], dir, env).done;
    if (rerun.code !== 0) problems.push(`re-run exited ${rerun.code}: ${(rerun.stderr || rerun.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    if (process.env.CRASH_SOAK_VERBOSE) console.log(`--- killed run:\n${killed.stdout}${killed.stderr}\n--- re-run:\n${rerun.stdout}${rerun.stderr}`);
    if (lockLeft && !exitedFirst && !/took over the lock of apply \(pid \d+/.test(rerun.stderr)) problems.push('the stale lock was not reported');
    if (journalLeft && !/was interrupted after \d+ of \d+ changes/.test(rerun.stderr)) problems.push('the interrupted run was not reported');

    const differs = await liveDiffers(emulator, reference);
    if (differs) problems.push(differs);
    const repeated = seen.repeated();
    if (repeated.length > 0) problems.push(`done twice: ${repeated.slice(0, 4).join(', ')}`);
    if (seen.conflicts() > 0) problems.push(`${seen.conflicts()} create(s) answered "already exists"`);
    try {
      const log = readAuditLog(dir, { env: ENV });
      if (journalLeft && !log.records.some((r) => r.outcome === 'interrupted')) problems.push('no interrupted record in the audit log');
      const last = log.records.at(-1);
      if (!last || (last.outcome !== 'applied' && last.outcome !== 'no-changes')) problems.push(`the audit log ends with ${last?.outcome ?? 'nothing'}`);
    } catch (error) {
      problems.push(`audit: ${(error as Error).message}`);
    }
    if (existsSync(lockFile)) problems.push('the lock is left after the re-run');
    if (existsSync(journalFile)) problems.push('the journal is left after the re-run');

    const how = byWrites ? `after write ${killAfterWrites}` : `after ${killAfterMs} ms`;
    const voided = DIST_MISSING.test(killed.stderr + rerun.stderr);
    return { trial, seed, latencyMs, kill: how, landed, writesAtKill, recoveryMs: rerun.ms, problems, ...(voided ? { void: true } : {}) };
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** dist/ is what bin/ runs; another build may be replacing it right now. */
async function waitForDist(): Promise<void> {
  const entry = path.join(REPO, 'dist', 'runner', 'cli', 'cli.js');
  for (let i = 0; i < 60 && !existsSync(entry); i += 1) await sleep(1000);
  if (!existsSync(entry)) throw new Error('crash-soak: dist/ is missing; run `npm run build` first (bin/descope-run.js runs dist/)');
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export async function run(): Promise<void> {
  await waitForDist();
  const seed = process.env.CRASH_SOAK_SEED ? Number(process.env.CRASH_SOAK_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  const only = process.env.CRASH_SOAK_ONLY === undefined ? undefined : Number(process.env.CRASH_SOAK_ONLY);
  console.log(`seed ${seed} (replay: CRASH_SOAK_SEED=${seed} npm run bench -- crash-soak; one trial: add CRASH_SOAK_ONLY=<trial>)`);
  const started = performance.now();
  const reference = await calibrate();
  console.log(`reference apply: ${CHANGES} changes, ${reference.writes} write requests, ${seconds(reference.ms)} at 40 ms latency`);

  const trials: Trial[] = [];
  const numbers = only === undefined ? Array.from({ length: TRIALS }, (_, i) => i + 1) : [only];
  let stoppedEarly = false;
  for (const trial of numbers) {
    if (performance.now() - started > BUDGET_MS) {
      stoppedEarly = true;
      break;
    }
    let result = await runTrial(trial, trialSeed(seed, trial), reference);
    for (let retry = 0; result.void && retry < 3; retry += 1) {
      console.log(`  trial ${trial}: dist/ was being rebuilt meanwhile; running it again`);
      await waitForDist();
      await sleep(2000);
      result = await runTrial(trial, trialSeed(seed, trial), reference);
    }
    trials.push(result);
    if (result.problems.length > 0) {
      console.log(`  trial ${trial} FAILED (latency ${result.latencyMs} ms, killed ${result.kill}, ${result.writesAtKill} writes landed): ${result.problems.join('; ')}`);
    }
  }

  const failures = trials.filter((t) => t.problems.length > 0).length;
  const count = (landed: Landed) => trials.filter((t) => t.landed === landed).length;
  const recovery = trials.map((t) => t.recoveryMs).sort((a, b) => a - b);
  const median = recovery.length > 0 ? recovery[Math.floor(recovery.length / 2)]! : Number.NaN;
  const worst = trials.reduce<Trial | undefined>((w, t) => (!w || t.recoveryMs > w.recoveryMs ? t : w), undefined);
  const rows: [string, string][] = [
    ['trials', String(trials.length) + (stoppedEarly ? ` (stopped at the ${BUDGET_MS / 1000} s budget)` : '')],
    ['failures', String(failures)],
    ['killed before the first write', String(count('before'))],
    ['killed mid-apply (some writes landed, not all)', String(count('mid'))],
    ['killed after the last write (or after it exited)', String(count('after'))],
    ['recovery (re-run wall time), median', seconds(median)],
    ['recovery, worst', worst ? `${seconds(worst.recoveryMs)} (trial ${worst.trial}, killed ${worst.kill})` : '-'],
    ['total time', seconds(performance.now() - started)],
    ['seed', String(seed)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('');
  console.log(`| ${'measure'.padEnd(width)} | value |`);
  console.log(`|${'-'.repeat(width + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
  if (failures > 0) process.exitCode = 1;
}
