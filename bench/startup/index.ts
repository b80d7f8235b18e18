// startup: how long the CLI takes to start, against `node -e 0` on the same machine in the same run.
// The real bin (bin/descope-run.js, i.e. dist/) is spawned with plain node, as users run it:
//   - `node -e 0`, the floor every command pays;
//   - `descope-run --version` and `--help`: target at most 2× the floor (they load only cli.js,
//     errors.js, output.js and kleur; test/runner/startup.test.ts proves what they do not load);
//   - `descope-run validate --env local` on the repo's sample: target at most 3× the floor plus the
//     bundle time, since bundling with esbuild is work validate has to do.
// The commands run in interleaved rounds (each command once per round), so a load spike from
// elsewhere on the machine hits every row alike; 2 warm-up rounds are dropped.
//
// The bundle time is measured on its own, in a plain node child (tsx would slow the imports down):
// the runner's loadUserModule (dist/runner/bundle.js) on the two files validate bundles,
// environments/local.ts and descope.config.ts, one after the other, BUNDLES times in one process.
// The first pass also starts esbuild's service process; it is reported apart, and the allowance
// is the warm median (the stricter figure).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BIN = path.join(REPO, 'bin', 'descope-run.js');
const BUNDLE_JS = path.join(REPO, 'dist', 'runner', 'bundle.js');

const WARMUPS = 2;
const RUNS = 15;
const BUNDLES = 15;
/** Stop adding rounds after this long (at least MIN_RUNS are kept), so the bench stays bounded. */
const SPAWN_BUDGET_MS = 40_000;
const MIN_RUNS = 5;

interface Subject {
  label: string;
  args: string[];
  /** The allowed median, given the floor's median and the bundle time; undefined for the floor. */
  limit?: (floor: number, bundle: number) => number;
  target?: string;
}

const SUBJECTS: Subject[] = [
  { label: 'node -e 0', args: ['-e', '0'] },
  { label: 'descope-run --version', args: [BIN, '--version'], limit: (floor) => 2 * floor, target: '≤ 2×' },
  { label: 'descope-run --help', args: [BIN, '--help'], limit: (floor) => 2 * floor, target: '≤ 2×' },
  {
    label: 'descope-run validate --env local',
    args: [BIN, 'validate', '--env', 'local'],
    limit: (floor, bundle) => 3 * floor + bundle,
    target: '≤ 3× + bundle',
  },
];

/** The caller's DESCOPE_* variables must not change what validate does. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DESCOPE_') && k !== 'FORCE_COLOR' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return env;
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnNode(args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Wall time of one run, spawn to exit, in ms. A failing run makes the figures meaningless. */
async function timeOnce(subject: Subject): Promise<number> {
  const started = performance.now();
  const exit = await spawnNode(subject.args);
  const ms = performance.now() - started;
  if (exit.code !== 0) {
    throw new Error(`startup bench: "${subject.label}" exited ${exit.code}:\n${exit.stderr.trim() || exit.stdout.trim()}`);
  }
  return ms;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the p90 of 15 runs is the 14th, a time actually measured.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const median = (values: readonly number[]) => quantile(values, 0.5);

async function measureStartup(): Promise<{ times: Map<Subject, number[]>; rounds: number }> {
  const times = new Map<Subject, number[]>(SUBJECTS.map((s) => [s, []]));
  for (let i = 0; i < WARMUPS; i += 1) for (const subject of SUBJECTS) await timeOnce(subject);
  const started = performance.now();
  let rounds = 0;
  while (rounds < RUNS && (rounds < MIN_RUNS || performance.now() - started < SPAWN_BUDGET_MS)) {
    for (const subject of SUBJECTS) times.get(subject)!.push(await timeOnce(subject));
    rounds += 1;
  }
  return { times, rounds };
}

interface BundleTimes {
  first: number;
  warm: number[];
}

/** The bundle step alone, in a plain node process: see the header. */
async function measureBundle(): Promise<BundleTimes> {
  const script = `
    import { loadUserModule } from ${JSON.stringify(pathToFileURL(BUNDLE_JS).href)};
    const root = ${JSON.stringify(REPO)};
    const files = [${JSON.stringify(path.join(REPO, 'environments', 'local.ts'))}, ${JSON.stringify(path.join(REPO, 'descope.config.ts'))}];
    // The package's entry (zod) is loaded once first, so that it is not counted as bundling.
    await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'dist', 'index.js')).href)});
    const times = [];
    for (let i = 0; i < ${BUNDLES + 1}; i += 1) {
      const started = performance.now();
      for (const file of files) await loadUserModule(file, root);
      times.push(performance.now() - started);
    }
    console.log(JSON.stringify(times));
  `;
  const exit = await spawnNode(['--input-type=module', '-e', script]);
  if (exit.code !== 0) throw new Error(`startup bench: the bundle measurement failed:\n${exit.stderr.trim()}`);
  const times = JSON.parse(exit.stdout.trim().split('\n').at(-1)!) as number[];
  return { first: times[0]!, warm: times.slice(1) };
}

/**
 * Where validate's time goes beyond node's own start: its steps timed in a fresh plain node process
 * each (imports in the order validate makes them, so each package is counted once), PHASE_RUNS
 * times, medians.
 */
const PHASE_RUNS = 5;
const PHASES = [
  'import the CLI (cli.js, output.js, errors.js, kleur)',
  'import zod + the DSL schema',
  'import esbuild',
  'import nunjucks',
  'import the rest of the validate command',
  'load: bundle + import environments/local.ts and descope.config.ts, evaluate, check',
  'render: compile + render the templates (nunjucks), check the flows',
];

async function measurePhases(): Promise<number[][]> {
  const dist = (file: string) => JSON.stringify(pathToFileURL(path.join(REPO, 'dist', file)).href);
  const script = `
    const times = [];
    let t = performance.now();
    const lap = () => { const now = performance.now(); times.push(now - t); t = now; };
    await import(${dist('runner/cli.js')}); lap();
    await import('zod'); await import(${dist('dsl/schema.js')}); lap();
    await import('esbuild'); lap();
    await import('nunjucks'); lap();
    await import(${dist('runner/commands/validate.js')});
    const { loadProject } = await import(${dist('runner/load-config.js')});
    const { renderProject } = await import(${dist('runner/render-project.js')}); lap();
    const project = await loadProject({ cwd: ${JSON.stringify(REPO)}, env: 'local', processEnv: {} }); lap();
    const rendered = renderProject(project.spec, { root: project.root, env: project.env });
    if (project.issues.length + rendered.issues.length > 0) throw new Error('the sample has problems');
    lap();
    console.log(JSON.stringify(times));
  `;
  const runs: number[][] = [];
  for (let i = 0; i < PHASE_RUNS; i += 1) {
    const exit = await spawnNode(['--input-type=module', '-e', script]);
    if (exit.code !== 0) throw new Error(`startup bench: the phase measurement failed:\n${exit.stderr.trim()}`);
    runs.push(JSON.parse(exit.stdout.trim().split('\n').at(-1)!) as number[]);
  }
  return PHASES.map((_, i) => runs.map((times) => times[i]!));
}

const ms = (value: number) => `${Math.round(value)} ms`;

export async function run(): Promise<void> {
  if (!existsSync(path.join(REPO, 'dist', 'runner', 'cli.js'))) {
    throw new Error('startup bench: dist/ is missing; run "npm run build" first (the bin runs the compiled CLI)');
  }
  const bundle = await measureBundle();
  const { times, rounds } = await measureStartup();
  const phases = await measurePhases();
  const bundleMedian = median(bundle.warm);
  const floor = median(times.get(SUBJECTS[0]!)!);

  const header = ['command', 'median', 'p90', 'ratio to node -e 0', 'target', 'allowed median', 'met'];
  const rows = SUBJECTS.map((subject) => {
    const values = times.get(subject)!;
    const mid = median(values);
    const limit = subject.limit?.(floor, bundleMedian);
    return [
      subject.label,
      ms(mid),
      ms(quantile(values, 0.9)),
      `${(mid / floor).toFixed(2)}×`,
      subject.target ?? '(baseline)',
      limit === undefined ? '—' : ms(limit),
      limit === undefined ? '—' : mid <= limit ? 'yes' : 'NO',
    ];
  });
  rows.push([
    'bundle local.ts + descope.config.ts (in-process, warm)',
    ms(bundleMedian),
    ms(quantile(bundle.warm, 0.9)),
    `${(bundleMedian / floor).toFixed(2)}×`,
    '(allowance)',
    '—',
    '—',
  ]);
  rows.push(['same, first in a process (starts esbuild)', ms(bundle.first), '—', `${(bundle.first / floor).toFixed(2)}×`, '(info)', '—', '—']);

  console.log(
    `${rounds} runs per command after ${WARMUPS} warm-ups, interleaved; bundle: median of ${bundle.warm.length} in one process. ` +
      `Node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} at the end.\n`,
  );
  const out = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
  console.log(out.join('\n'));

  const validate = median(times.get(SUBJECTS[3]!)!);
  console.log(`\nvalidate above node -e 0: ${ms(validate - floor)}; its steps (median of ${PHASE_RUNS} fresh processes):\n`);
  const phaseRows = PHASES.map((label, i) => `| ${label} | ${ms(median(phases[i]!))} |`);
  const total = phases.reduce((sum, values) => sum + median(values), 0);
  console.log(['| step | median |', '|---|---|', ...phaseRows, `| sum | ${ms(total)} |`].join('\n'));
}
