// plan-scale: `descope-run diff` on a config of 10,000 tenants (50 with settings, 20 with SSO),
// 300 roles, 200 permissions and 50 flows (one template), as a user runs it: a throwaway project in
// a temp folder, the real CLI (bin/descope-run.js, i.e. dist/) as a child process, an emulator in
// this process that the project's environment file points at (budget 100,000 per second, so
// nothing is throttled).
//
// Seeding: `descope-run apply --yes` of the config itself (10,620 changes, ~20,200 calls: the bulk of this
// bench's run time), so the live state is exactly what descope-run writes, and the no-op diff
// also checks that apply then diff converges at this scale. The drift (5 % of every kind) is
// then made in the emulator's state directly, as an out-of-band change.
//
// Measured per run: wall time of the child (node start included), its peak RSS (GNU time's %M,
// or a preload that reports process.resourceUsage().maxRSS), the requests the emulator saw (its
// log is reset before each run), and the plan's summary line. Each diff runs RUNS times: the wall
// time is the median, the RSS the largest. Then one run of phases.ts splits a diff into its steps
// (start-up timed apart in plain node: tsx slows imports down).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator, type EmulatorState, type RunningEmulator } from '../../src/emulator/index.ts';
import { computeDrift, computeExpectedReads, SHARE, type ExpectedPlan } from './drift.ts';
import { SIZE, writeProject, type BenchProject } from './project.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BIN = path.join(REPO, 'bin', 'descope-run.js');
const GNU_TIME = '/usr/bin/time';
const LICENSE = 'GET /v1/mgmt/license';
const RUNS = 3;
const TARGET = { seconds: 3, rssMb: 300 };
const CHILD_TIMEOUT_MS = 90_000;
const CORES = availableParallelism();

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  rssMb: number;
}

interface Row {
  run: string;
  calls: string;
  wall: string;
  rss: string;
  changes: string;
}

/** Every variable of this shell except descope-run's own (they would retarget the CLI). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('DESCOPE_') && key !== 'FORCE_COLOR') env[key] = value;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs `node <args>` in `cwd`, asynchronously: the emulator answering it lives in this process. */
async function runNode(args: string[], cwd: string, extraEnv: Record<string, string>, scratch: string): Promise<ChildRun> {
  const rssFile = path.join(scratch, `rss-${process.hrtime.bigint()}.txt`);
  const useTime = existsSync(GNU_TIME);
  const preload = path.join(scratch, 'report-max-rss.mjs');
  if (!useTime && !existsSync(preload)) {
    await writeFile(
      preload,
      "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
    );
  }
  const [command, argv] = useTime
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...args]]
    : [process.execPath, ['--import', preload, ...args]];
  const started = performance.now();
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, argv, { cwd, env: childEnv({ ...extraEnv, BENCH_RSS_FILE: rssFile }), stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const kb = Number.parseInt((await readFile(rssFile, 'utf8').catch(() => '')).trim().split('\n').pop() ?? '', 10);
  return { ...result, seconds, rssMb: Number.isFinite(kb) ? kb / 1024 : Number.NaN };
}

function cli(project: BenchProject, args: string[]): Promise<ChildRun> {
  return runNode([BIN, ...args], project.dir, project.env, project.dir);
}

function ok(run: ChildRun, what: string, codes: readonly number[] = [0]): ChildRun {
  if (run.code === null || !codes.includes(run.code)) {
    throw new Error(`plan-scale: ${what} exited with ${run.code}:\n${run.stderr.slice(-2000) || run.stdout.slice(-2000)}`);
  }
  return run;
}

/** The plan's summary line → counts; `No changes.` is all zeros (plus what it says is unmanaged). */
function parseSummary(stdout: string): ExpectedPlan | undefined {
  const line = /(\d+) to create, (\d+) to update(?:, \d+ to replace)?, (\d+) to delete, (\d+) unmanaged/.exec(stdout);
  if (line) return { create: Number(line[1]), update: Number(line[2]), delete: Number(line[3]), unmanaged: Number(line[4]) };
  if (/No changes\. The live project matches the config\./.test(stdout)) return { create: 0, update: 0, delete: 0, unmanaged: 0 };
  return undefined;
}

const formatPlanCounts = (p: ExpectedPlan): string =>
  `${p.create + p.update + p.delete} (+${p.create} ~${p.update} -${p.delete}, ${p.unmanaged} unmanaged)`;
const samePlan = (a: ExpectedPlan | undefined, b: ExpectedPlan): boolean =>
  a !== undefined && a.create === b.create && a.update === b.update && a.delete === b.delete && a.unmanaged === b.unmanaged;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface DiffResult {
  row: Row;
  seconds: number;
  rssMb: number;
  readsOk: boolean;
  planOk: boolean;
  sdkExtra: number;
  routes: Record<string, number>;
}

async function measureDiff(emulator: RunningEmulator, project: BenchProject, label: string, state: EmulatorState, want: ExpectedPlan): Promise<DiffResult> {
  await emulator.reset(state);
  const reads = computeExpectedReads(state);
  const runs: ChildRun[] = [];
  const calls: number[] = [];
  let sdkExtra = 0;
  let writes = 0;
  let routes: Record<string, number> = {};
  let plan: ExpectedPlan | undefined;
  for (let i = 0; i < RUNS; i += 1) {
    emulator.log.reset();
    const run = ok(await cli(project, ['diff', '--env', 'bench']), `diff (${label})`);
    runs.push(run);
    const byRoute = emulator.log.byRoute();
    sdkExtra = byRoute[LICENSE]?.total ?? 0;
    calls.push(emulator.log.total - sdkExtra);
    writes += emulator.log.appliedWrites;
    routes = Object.fromEntries(Object.entries(byRoute).map(([route, count]) => [route, count.total]));
    const parsed = parseSummary(run.stdout);
    if (!parsed) throw new Error(`plan-scale: no summary line in the output of diff (${label}):\n${run.stdout.slice(-1000)}`);
    plan = parsed;
  }
  const seconds = median(runs.map((r) => r.seconds));
  const rssMb = Math.max(...runs.map((r) => r.rssMb));
  const readsOk = writes === 0 && calls.every((c) => c === reads.expected) && reads.expected <= reads.bound;
  const planOk = samePlan(plan, want);
  return {
    seconds,
    rssMb,
    readsOk,
    planOk,
    sdkExtra,
    routes,
    row: {
      run: `diff, ${label}`,
      calls: `${calls[0]}${calls.every((c) => c === calls[0]) ? '' : ` (varied: ${calls.join(', ')})`} (${reads.expected} = ${reads.detail}; bound ${reads.bound})${writes > 0 ? `, ${writes} WRITES` : ''}${readsOk ? '' : ' ✗'}`,
      wall: `${seconds.toFixed(2)} s (${runs.map((r) => r.seconds.toFixed(2)).join(' / ')})`,
      rss: `${rssMb.toFixed(0)} MB`,
      changes: `${plan ? formatPlanCounts(plan) : '?'}${planOk ? '' : ` ✗ expected ${formatPlanCounts(want)}`}`,
    },
  };
}

interface PhaseReport {
  startup: { name: string; ms: number }[];
  phases: { name: string; ms: number; rssMb: number; heapMb: number }[];
  detail: { name: string; ms: number }[];
  changes: number;
  textBytes: number;
  jsonBytes: number;
  maxRssMb: number;
}

async function measurePhases(project: BenchProject): Promise<PhaseReport> {
  const run = ok(await runNode(['--import', 'tsx', path.join(HERE, 'phases.ts'), project.dir, 'bench'], REPO, project.env, project.dir), 'phases.ts');
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as PhaseReport;
}

/** Node start plus the modules `diff` loads (the CLI's, then the command's), in plain node. */
async function measureStartup(project: BenchProject): Promise<number> {
  const dist = (file: string): string => JSON.stringify(pathToFileURL(path.join(REPO, 'dist', file)).href);
  const code = `await import(${dist('runner/cli.js')}); await import(${dist('runner/commands/diff.js')}); console.log(performance.now());`;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const run = ok(await runNode(['--input-type=module', '-e', code], project.dir, {}, project.dir), 'start-up');
    times.push(Number(run.stdout.trim()));
  }
  return median(times);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** dist/ is what bin/ runs; another build may be replacing it right now. */
async function waitForDist(): Promise<void> {
  const entry = path.join(REPO, 'dist', 'runner', 'cli', 'cli.js');
  for (let i = 0; i < 60 && !existsSync(entry); i += 1) await sleep(1000);
  if (!existsSync(entry)) throw new Error('plan-scale: dist/ is missing; run `npm run build` first (bin/descope-run.js runs dist/)');
}

export async function run(): Promise<void> {
  await waitForDist();
  const emulator = await startEmulator({ port: 0, seed: 1 });
  let project: BenchProject | undefined;
  try {
    project = await writeProject(REPO, emulator);

    // Seed: the config applied by the CLI itself.
    emulator.log.reset();
    const apply = ok(await cli(project, ['apply', '--env', 'bench', '--yes']), 'apply (seed)');
    const applied = /Apply complete: (\d+) changes/.exec(apply.stdout)?.[1] ?? '?';
    const seeded = emulator.snapshot();
    const applyRoutes = Object.entries(emulator.log.byRoute())
      .filter(([route]) => route !== LICENSE)
      .sort((a, b) => b[1].total - a[1].total)
      .map(([route, count]) => `${route} ×${count.total}`);
    const seedRow: Row = {
      run: 'apply (seed; not a target)',
      calls: `${emulator.log.total - (emulator.log.byRoute()[LICENSE]?.total ?? 0)}`,
      wall: `${apply.seconds.toFixed(2)} s`,
      rss: `${apply.rssMb.toFixed(0)} MB`,
      changes: `${applied} applied`,
    };

    const drift = computeDrift(seeded);
    const drifted = await measureDiff(emulator, project, `${SHARE * 100} % drift`, drift.state, drift.expected);
    const noop = await measureDiff(emulator, project, 'no-op (live = desired)', seeded, { create: 0, update: 0, delete: 0, unmanaged: 0 });

    const startupMs = await measureStartup(project);

    await emulator.reset(drift.state);
    const phases = await measurePhases(project);

    console.log(
      `Config: ${SIZE.tenants} tenants (${SIZE.settings} with settings, ${SIZE.sso} with SSO), ${SIZE.roles} roles, ` +
        `${SIZE.permissions} permissions, ${SIZE.flows} flows from one template; the emulator in this process, unthrottled. ` +
        `diff runs ${RUNS} times: wall = median (each run), RSS = largest; API calls exclude the SDK's own license handshake ` +
        `(${drifted.sdkExtra} \`${LICENSE}\` per CLI run). Peak RSS via ${existsSync(GNU_TIME) ? 'GNU time %M' : 'process.resourceUsage().maxRSS'}.\n`,
    );
    console.log(table(['run', 'API calls (expected)', 'wall time', 'peak RSS', 'changes in plan'], [
      ...[seedRow, drifted.row, noop.row].map((r) => [r.run, r.calls, r.wall, r.rss, r.changes]),
    ]));
    console.log(`\nThe seeding apply by route: ${applyRoutes.join(', ')}.`);
    console.log(`Reads of the drift run by route: ${Object.entries(drifted.routes).map(([route, n]) => `${route} ×${n}`).join(', ')}.`);

    const timeOk = drifted.seconds < TARGET.seconds && noop.seconds < TARGET.seconds;
    const rssOk = drifted.rssMb < TARGET.rssMb && noop.rssMb < TARGET.rssMb;
    const readsOk = drifted.readsOk && noop.readsOk;
    const verdict = (pass: boolean): string => (pass ? 'met' : 'MISSED');
    console.log(
      `\nTargets: diff under ${TARGET.seconds} s: ${verdict(timeOk)} (${drifted.seconds.toFixed(2)} s / ${noop.seconds.toFixed(2)} s); ` +
        `under ${TARGET.rssMb} MB: ${verdict(rssOk)} (${drifted.rssMb.toFixed(0)} / ${noop.rssMb.toFixed(0)} MB); ` +
        `reads = one per kind + one per declared flow, settings and SSO tenant: ${verdict(readsOk)}; ` +
        `plans as expected: ${verdict(drifted.planOk && noop.planOk)}.`,
    );

    const steps = [{ name: 'node start + imports (plain node: cli.js, commands/diff.js)', ms: startupMs, rssMb: Number.NaN, heapMb: Number.NaN }, ...phases.phases];
    const total = steps.reduce((sum, p) => sum + p.ms, 0);
    console.log(
      `\nWhere a diff (the ${SHARE * 100} % drift) spends it: its steps one by one in one process (phases.ts, dist/ code), ` +
        `start-up measured apart in plain node (under tsx, phases.ts paid ${phases.startup.map((p) => `${p.name} ${p.ms.toFixed(0)} ms`).join(', ')}):\n`,
    );
    const mbOrDash = (value: number): string => (Number.isNaN(value) ? '—' : `${value.toFixed(0)} MB`);
    console.log(table(['step', 'time', 'share', 'RSS after', 'heap after'], steps.map((p) => [
      p.name,
      `${p.ms.toFixed(0)} ms`,
      `${((p.ms / total) * 100).toFixed(0)} %`,
      mbOrDash(p.rssMb),
      mbOrDash(p.heapMb),
    ])));
    const [load1] = loadavg();
    console.log(
      `\nSum ${(total / 1000).toFixed(2)} s, peak RSS ${phases.maxRssMb.toFixed(0)} MB; plan of ${phases.changes} changes, ` +
        `${(phases.textBytes / 1024).toFixed(0)} KiB as text, ${(phases.jsonBytes / 1024 / 1024).toFixed(1)} MiB as JSON. ` +
        `Timed apart: ${phases.detail.map((d) => `${d.name} ${d.ms.toFixed(0)} ms`).join('; ')}. ` +
        `Load average at the end: ${load1?.toFixed(1)} on ${CORES} cores (other work on the machine slows every row).`,
    );
  } finally {
    await emulator.close();
    if (project) await rm(project.dir, { recursive: true, force: true });
  }
}
