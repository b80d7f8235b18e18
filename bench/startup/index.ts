// startup: how long the CLI takes to start, against `node -e 0` on the same machine in the same run.
// The real bin (bin/descope-run.js, i.e. dist/) is spawned with plain node, as users run it:
//   - `node -e 0`, the floor every command pays;
//   - `descope-run --version` and `--help`: target at most 2× the floor (they load only cli.js,
//     errors.js, output.js and kleur; test/runner/startup.test.ts proves what they do not load);
//   - `descope-run validate --env local` on the repo's sample: target at most 3× the floor plus the
//     bundle time, since bundling with esbuild is work validate has to do. Measured twice: as every
//     run after the first finds it, with the compiled templates in the cache
//     (node_modules/.descope-run/templates/, src/runner/templates/template-cache.ts), and with the cache off,
//     as the first run after a template edit finds it.
// The commands run in interleaved rounds (each command once per round), so a load spike from
// elsewhere on the machine hits every row alike; 2 warm-up rounds are dropped.
//
// The bundle time is measured on its own, in a plain node child (tsx would slow the imports down):
// the runner's loadUserModule (dist/runner/config/bundle.js) on the two files validate bundles,
// environments/local.ts and descope.config.ts, one after the other, BUNDLES times in one process.
// The first pass also starts esbuild's service process, as every validate does. Two allowances
// follow: the strict one adds the warm median (esbuild already running, which no validate finds),
// the other the first pass (the bundle time as a validate pays it).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BIN = path.join(REPO, 'bin', 'descope-run.js');
const BUNDLE_JS = path.join(REPO, 'dist', 'runner', 'config', 'bundle.js');

const WARMUPS = 2;
const RUNS = 15;
const BUNDLES = 15;
/** Stop adding rounds after this long (at least MIN_RUNS are kept), so the bench stays bounded. */
const SPAWN_BUDGET_MS = 40_000;
const MIN_RUNS = 5;

interface Subject {
  label: string;
  args: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
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
  {
    // The first validate after a template edit: every template is compiled (the row above reads
    // them from node_modules/.descope-run/templates/, as every later run does).
    label: 'same, template cache off (DESCOPE_RUN_NO_CACHE=1)',
    args: [BIN, 'validate', '--env', 'local'],
    env: { DESCOPE_RUN_NO_CACHE: '1' },
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

function spawnNode(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const exit = await spawnNode(subject.args, subject.env);
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
 * Where validate's time goes: the real bundled run under V8's CPU profiler (--cpu-prof), PROFILE_RUNS
 * fresh processes, self time grouped by where the code came from. The bundle's chunks name each
 * inlined module in a `// node_modules/<pkg>/…` or `// dist/…` comment, so a sample's line says
 * whose code ran. The profiler slows the run a little; the shares are what matters.
 */
const PROFILE_RUNS = 5;
const GROUPS = [
  'node start-up (bootstrap, its own modules)',
  'parsing and compiling JavaScript',
  'descope-run (CLI, loader, checks, render)',
  'zod (module set-up, schemas, parsing)',
  'nunjucks (module set-up, render)',
  'esbuild (its JS client: service start, plugin calls)',
  'the user\'s config and environment',
  'garbage collection',
  'idle: waiting for esbuild or the disk',
  'other',
] as const;
type Group = (typeof GROUPS)[number];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Per bundled chunk: the line where each inlined module starts, and its origin. */
function chunkOrigins(file: string): { line: number; origin: string }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const origins: { line: number; origin: string }[] = [];
  lines.forEach((text, line) => {
    const match = /^\/\/ ((?:node_modules\/(?:@[^/]+\/)?[^/]+)|dist)\//.exec(text);
    if (match) origins.push({ line, origin: match[1]! });
  });
  return origins;
}

function groupOf(frame: ProfileNode['callFrame'], origins: Map<string, { line: number; origin: string }[]>): Group {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle: waiting for esbuild or the disk';
  if (/^(compileSourceTextModule|compileForInternalLoader|wrapSafe|compileFunction)$/.test(functionName)) return 'parsing and compiling JavaScript';
  if (url.startsWith('node:') || functionName === '(program)' || functionName === '(root)') return 'node start-up (bootstrap, its own modules)';
  if (url.includes('/node_modules/esbuild/')) return 'esbuild (its JS client: service start, plugin calls)';
  if (url.includes('/node_modules/.descope-run/')) return 'the user\'s config and environment';
  if (url.includes('/dist/cli/')) {
    const file = fileURLToPath(url);
    if (!origins.has(file)) origins.set(file, chunkOrigins(file));
    const starts = origins.get(file)!;
    let origin = 'dist';
    for (const start of starts) {
      if (start.line > frame.lineNumber) break;
      origin = start.origin;
    }
    if (origin === 'node_modules/zod') return 'zod (module set-up, schemas, parsing)';
    if (/^node_modules\/(nunjucks|asap|a-sync-waterfall)$/.test(origin)) return 'nunjucks (module set-up, render)';
    return 'descope-run (CLI, loader, checks, render)';
  }
  return 'other';
}

async function profileValidate(): Promise<Map<Group, number[]>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'descope-run-startup-'));
  const totals = new Map<Group, number[]>(GROUPS.map((g) => [g, []]));
  const origins = new Map<string, { line: number; origin: string }[]>();
  try {
    for (let i = 0; i < PROFILE_RUNS; i += 1) {
      const out = path.join(dir, String(i));
      const exit = await spawnNode(['--cpu-prof', '--cpu-prof-dir', out, BIN, 'validate', '--env', 'local']);
      if (exit.code !== 0) throw new Error(`startup bench: the profiled validate failed:\n${exit.stderr.trim()}`);
      const [name] = readdirSync(out);
      const profile = JSON.parse(readFileSync(path.join(out, name!), 'utf8')) as Profile;
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const sums = new Map<Group, number>(GROUPS.map((g) => [g, 0]));
      profile.samples.forEach((id, at) => {
        const group = groupOf(byId.get(id)!.callFrame, origins);
        sums.set(group, sums.get(group)! + (profile.timeDeltas[at] ?? 0) / 1000);
      });
      for (const group of GROUPS) totals.get(group)!.push(sums.get(group)!);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return totals;
}

const ms = (value: number) => `${Math.round(value)} ms`;

export async function run(): Promise<void> {
  if (!existsSync(path.join(REPO, 'dist', 'runner', 'cli', 'cli.js'))) {
    throw new Error('startup bench: dist/ is missing; run "npm run build" first (the bin runs the compiled CLI)');
  }
  const bundle = await measureBundle();
  const { times, rounds } = await measureStartup();
  const profile = await profileValidate();
  const bundleMedian = median(bundle.warm);
  const floor = median(times.get(SUBJECTS[0]!)!);

  const header = [
    'command',
    'median',
    'p90',
    'ratio to node -e 0',
    'target',
    'allowed (strict: warm bundle)',
    'met',
    'allowed (bundle as validate pays it)',
    'met',
  ];
  const rows = SUBJECTS.map((subject) => {
    const values = times.get(subject)!;
    const mid = median(values);
    const limits = [subject.limit?.(floor, bundleMedian), subject.limit?.(floor, bundle.first)];
    return [
      subject.label,
      ms(mid),
      ms(quantile(values, 0.9)),
      `${(mid / floor).toFixed(2)}×`,
      subject.target ?? '(baseline)',
      ...limits.flatMap((limit) => (limit === undefined ? ['—', '—'] : [ms(limit), mid <= limit ? 'yes' : 'NO'])),
    ];
  });
  rows.push([
    'bundle local.ts + descope.config.ts (in-process, warm)',
    ms(bundleMedian),
    ms(quantile(bundle.warm, 0.9)),
    `${(bundleMedian / floor).toFixed(2)}×`,
    '(strict allowance)',
    '—',
    '—',
    '—',
    '—',
  ]);
  rows.push(['same, first in a process (starts esbuild)', ms(bundle.first), '—', `${(bundle.first / floor).toFixed(2)}×`, '(allowance)', '—', '—', '—', '—']);

  console.log(
    `${rounds} runs per command after ${WARMUPS} warm-ups, interleaved; bundle: median of ${bundle.warm.length} in one process. ` +
      `Node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} at the end.\n`,
  );
  const out = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
  console.log(out.join('\n'));

  const validate = median(times.get(SUBJECTS[3]!)!);
  console.log(
    `\nvalidate above node -e 0: ${ms(validate - floor)}. Where a validate's time goes, from V8's CPU profile of the real run ` +
      `(median of ${PROFILE_RUNS} fresh processes; the profiler adds a little; template cache warm):\n`,
  );
  const profileRows = GROUPS.map((group) => [group, median(profile.get(group)!)] as const).filter(([, value]) => value >= 0.5);
  const profiled = GROUPS.reduce((sum, group) => sum + median(profile.get(group)!), 0);
  console.log(
    ['| spent on | median |', '|---|---|', ...profileRows.map(([group, value]) => `| ${group} | ${ms(value)} |`), `| sum of the medians | ${ms(profiled)} |`].join(
      '\n',
    ),
  );
}
