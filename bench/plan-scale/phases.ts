// Where a `diff` spends its time and memory: the steps of `descope-run diff` done one by one with
// the runner's own functions, in a process of its own (so its memory is not the bench's emulator).
// Runs the compiled code in dist/, as the CLI does. Run by index.ts as
// `node --import tsx bench/plan-scale/phases.ts <project dir> <env>`; prints
// one JSON line: the phases in order, each with its milliseconds and the RSS / heap after it, and
// some reads and the live fingerprint timed on their own.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Phase {
  name: string;
  ms: number;
  rssMb: number;
  heapMb: number;
}

const phases: Phase[] = [];
const mb = (bytes: number): number => bytes / 1024 / 1024;
let last = performance.now();
function mark(name: string): void {
  const now = performance.now();
  const memory = process.memoryUsage();
  phases.push({ name, ms: now - last, rssMb: mb(memory.rss), heapMb: mb(memory.heapUsed) });
  last = performance.now();
}

const [dir, envName] = process.argv.slice(2);
if (!dir || !envName) throw new Error('usage: phases.ts <project dir> <environment>');

// Node start and the modules diff loads, from dist/ as the CLI runs them (types from src/).
last = 0;
mark('node start + tsx (this script)');
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (file: string): string => pathToFileURL(path.join(REPO, 'dist', file)).href;
const { loadUserModule } = (await import(dist('runner/config/bundle.js'))) as typeof import('../../src/runner/config/bundle.ts');
const { loadEnvironment } = (await import(dist('runner/config/environment.js'))) as typeof import('../../src/runner/config/environment.ts');
const { checkConfig } = (await import(dist('runner/config/check-config.js'))) as typeof import('../../src/runner/config/check-config.ts');
const { renderProject } = (await import(dist('runner/templates/render-project.js'))) as typeof import('../../src/runner/templates/render-project.ts');
const { computeDesiredProject, computeScope } = (await import(dist('runner/plan/desired.js'))) as typeof import('../../src/runner/plan/desired.ts');
const { computePlan } = (await import(dist('runner/plan/compute.js'))) as typeof import('../../src/runner/plan/compute.ts');
const { formatPlan } = (await import(dist('runner/plan/plan-text.js'))) as typeof import('../../src/runner/plan/plan-text.ts');
const { connect } = (await import(dist('runner/cli/connect.js'))) as typeof import('../../src/runner/cli/connect.ts');
const { readLiveState } = (await import(dist('runtime/index.js'))) as typeof import('../../src/runtime/index.ts');
mark('imports (dist/: zod, SDK, nunjucks, esbuild, …)');
// tsx's hooks slow every import down; index.ts measures start-up with plain node instead.
const startup = phases.splice(0);

const root = dir;
const env = await loadEnvironment(root, envName, process.env);
mark('environment file (bundle + import)');

const loaded = await loadUserModule(path.join(root, 'descope.config.ts'), root);
mark('config bundle + import (esbuild)');

const exported = loaded.exports.default as { kind: string; factory: (ctx: { env: string; vars: unknown }) => object };
const value = { ...exported.factory({ env: env.name, vars: env.vars }), kind: 'config' };
mark('config evaluation (the loops + builders)');

const { spec, issues } = checkConfig({ value, configFile: 'descope.config.ts', projectRoot: root });
if (!spec || issues.length > 0) throw new Error(`config invalid: ${JSON.stringify(issues.slice(0, 3))}`);
mark('checkConfig (zod + references)');

const rendered = renderProject(spec, { root, env });
if (rendered.issues.length > 0) throw new Error(`render failed: ${JSON.stringify(rendered.issues.slice(0, 3))}`);
mark('renderProject (50 flow templates)');

const desired = computeDesiredProject(spec, rendered);
const scope = computeScope(desired);
mark('computeDesiredProject + scope');

const connection = await connect(env, { processEnv: process.env, root });
mark('connect (SDK client)');

const live = await readLiveState(connection.api, scope);
mark('readLiveState (reads + normalise)');

const plan = computePlan(desired, live, { environment: env.name, projectId: connection.projectId, createdAt: new Date().toISOString(), scope });
mark('computePlan');

const text = formatPlan(plan).join('\n');
mark('formatPlan (text)');

const json = JSON.stringify(plan, null, 2);
mark('JSON.stringify(plan) (--json, --out)');

// Detail, outside the diff's own sequence: each kind of read alone, and the fingerprint that
// computePlan takes of the whole live snapshot.
const runtime = (await import(dist('runtime/index.js'))) as typeof import('../../src/runtime/index.ts');
const detail: { name: string; ms: number }[] = [];
async function time(name: string, work: () => unknown): Promise<void> {
  const started = performance.now();
  await work();
  detail.push({ name, ms: performance.now() - started });
}
const api = connection.api;
await time('tenants loadAll + normalise', () => runtime.readTenants(api));
await time(`roles search (${Object.keys(live.state.tenants ?? {}).length} tenant ids)`, () => runtime.readRoles(api, Object.keys(live.state.tenants ?? {})));
await time('permissions loadAll', () => runtime.readPermissions(api));
await time('flows list', () => runtime.readFlowList(api));
await time(`${Object.keys(live.state.flows ?? {}).length} flow exports`, () =>
  Promise.all(Object.keys(live.state.flows ?? {}).map((id) => runtime.exportFlow(api, id))),
);
await time(`${scope.tenantSettings?.length ?? 0} settings reads`, () => Promise.all((scope.tenantSettings ?? []).map((id) => runtime.readTenantSettings(api, id))));
await time('fingerprint(live snapshot)', () => runtime.fingerprint({ state: live.state, handles: live.handles }));

await connection.close();
process.stdout.write(
  `${JSON.stringify({
    startup,
    phases,
    detail,
    changes: plan.changes.length,
    textBytes: text.length,
    jsonBytes: json.length,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
