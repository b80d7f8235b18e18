// The fault matrix: `apply` and `rollback` (the real CLI, built bin) against an emulator that
// misbehaves: 429 storms (a budget smaller than the run needs), 500/502/503 bursts, connections
// dropped before and after the write lands, slow answers (some slower than the request timeout),
// each alone and mixed, and an outage that stops the run. Every scenario ends the same way:
// every resource was created at most once (counted from the writes the emulator applied), a
// re-run after a stopped run writes nothing that already landed, and `diff` then shows
// `No changes.` (a rollback also prints its verification).
//
// Retry delays are shortened through DESCOPE_RUN_BACKOFF_BASE_MS / _MAX_MS, so the faults, not
// the backoff, decide the run time. The rollback scenarios share one setup (apply A, apply B),
// copied: the emulator starts from its state, the project folder (backups, audit log) is copied.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startEmulator,
  type EmulatorState,
  type FailNextRule,
  type FaultSettings,
  type RequestLogEntry,
  type RunningEmulator,
} from '../../src/emulator/index.ts';
import { hasStackTrace, runCli, type CliResult } from '../helpers/cli.ts';
import { PROJECT_A, remoteEnvironment, TEST_KEY } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const OIDC_VAR = 'ACME_OIDC_SECRET';
const OIDC_SECRET = 'acme-oidc-secret-for-the-fault-matrix';
/**
 * Short retry delays: the faults decide the run time, not the backoff. A write that got no answer
 * is watched for 300 ms before it is sent again (the emulator's answers come within 200 ms).
 */
const FAST_RETRIES = { DESCOPE_RUN_BACKOFF_BASE_MS: '20', DESCOPE_RUN_BACKOFF_MAX_MS: '200', DESCOPE_RUN_SETTLE_MS: '300' };
const RUN_ENV = { TEST_MGMT_KEY: TEST_KEY, [OIDC_VAR]: OIDC_SECRET, ...FAST_RETRIES };

function login(label: string) {
  return {
    flow: {
      id: 'login',
      name: 'Login',
      dsl: {
        startTask: '1',
        tasks: {
          '1': { id: '1', type: 'screen', name: 'Welcome', screenId: 'SC1', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
          '2': { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
        },
      },
    },
    screens: [{ id: 'SC1', interactions: [{ id: 'go', label }], htmlTemplate: { ROOT: { text: 'Welcome' } } }],
  };
}

/** 16 changes from empty: 3 permissions, 4 roles, 3 tenants, 2 settings, an OIDC SSO, the password policy, a flow, the theme. */
const CONFIG_A = `import { defineConfig, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read', description: 'Read docs' }), permission({ name: 'docs.write' }), permission({ name: 'audit.read' })],
  roles: [
    role({ name: 'Reader', permissions: ['docs.read'] }),
    role({ name: 'Writer', permissions: ['docs.read', 'docs.write'] }),
    role({ name: 'Auditor', permissions: ['audit.read'] }),
    role({ name: 'Agent', tenant: 'acme', permissions: ['docs.read'] }),
  ],
  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      defaultRoles: ['Agent'],
      settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } },
      sso: {
        type: 'oidc',
        name: 'Acme IdP',
        clientId: 'acme-client',
        clientSecret: { env: '${OIDC_VAR}' },
        issuer: 'https://idp.acme.test',
        scope: ['openid', 'email'],
      },
    }),
    tenant({ id: 'globex', name: 'Globex', defaultRoles: ['Reader'], settings: { sessionTokenExpiration: { value: 20, unit: 'minutes' } } }),
    tenant({ id: 'initech', name: 'Initech', selfProvisioningDomains: ['initech.net'] }),
  ],
  flows: [flow({ id: 'login', json: ${JSON.stringify(login('Continue'))} })],
  theme: theme({ json: { theme: { id: '', cssTemplate: { light: { colors: { primary: '#4f46e5' } } } } } }),
  passwordPolicy: passwordPolicy({ enabled: true, minLength: 12 }),
});
`;
const CREATED_BY_A = [
  'permissions/docs.read',
  'permissions/docs.write',
  'permissions/audit.read',
  'roles/Reader',
  'roles/Writer',
  'roles/Auditor',
  'roles/acme/Agent',
  'tenants/acme',
  'tenants/globex',
  'tenants/initech',
];

/** From A: creates umbrella, updates acme, Writer and the flow, prunes initech and Auditor. */
const CONFIG_B = CONFIG_A.replace("defineConfig({\n", "defineConfig({\n  prune: { tenants: true, roles: true },\n")
  .replace("    role({ name: 'Auditor', permissions: ['audit.read'] }),\n", '')
  .replace("role({ name: 'Writer', permissions: ['docs.read', 'docs.write'] })", "role({ name: 'Writer', permissions: ['docs.write'] })")
  .replace("name: 'Acme',", "name: 'Acme Corp',")
  .replace("    tenant({ id: 'initech', name: 'Initech', selfProvisioningDomains: ['initech.net'] }),\n", "    tenant({ id: 'umbrella', name: 'Umbrella' }),\n")
  .replace(JSON.stringify(login('Continue')), JSON.stringify(login('Continue now')));
/** What the rollback to A creates again. */
const CREATED_BY_ROLLBACK = ['tenants/initech', 'roles/Auditor'];

const CREATE_ACTIONS = new Set(['TenantCreated', 'RoleCreated', 'PermissionCreated', 'SSOSettingsCreated']);
const NO_FAULTS: Partial<FaultSettings> = { latencyMs: 0, latencyJitterMs: 0, faultRate: 0, dropRate: 0, faultTiming: 'before', rate: null };
/** The write calls apply and rollback make (reads such as role/search and flow/export are POSTs too). */
const WRITES = /^\/v1\/mgmt\/(tenant\/(create|update|updateDefaultRoles|delete|settings)|(role|permission)\/(create|update|delete)\/batch|sso\/(oidc|saml|settings)|flow\/(import|delete)|theme\/import|password\/settings)$/;

interface Landed {
  run: number;
  action: string;
  resource: string;
}

interface Bench {
  dir: string;
  emu: RunningEmulator;
  /** Every write the emulator applied, with the run it happened in (runs count from 1). */
  landed: Landed[];
  /** The number of the last run started. */
  runs(): number;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  close(): Promise<void>;
}

async function openBench(options: { seed: number; dir?: string; initialState?: EmulatorState }): Promise<Bench> {
  const emu = await startEmulator({
    port: 0,
    projectId: PROJECT_A,
    managementKey: TEST_KEY,
    seed: options.seed,
    ...(options.initialState ? { initialState: options.initialState } : {}),
  });
  const dir = options.dir ?? (await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-faults-'))));
  await mkdir(path.join(dir, 'environments'), { recursive: true });
  await writeFile(path.join(dir, 'environments', 'remote.ts'), remoteEnvironment(emu, PROJECT_A));
  const landed: Landed[] = [];
  let current = 0;
  emu.on('write', (event) => {
    for (const record of event.records) landed.push({ run: current, action: record.action, resource: String(record.data['resource'] ?? '') });
  });
  return {
    dir,
    emu,
    landed,
    runs: () => current,
    async run(args, env = {}) {
      current += 1;
      return runCli(args, { cwd: dir, env: { ...RUN_ENV, ...env } });
    },
    async close() {
      await emu.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Scenario {
  name: string;
  /** Emulator misbehaviour for the faulty run. */
  faults?: Partial<FaultSettings>;
  failNext?: FailNextRule[];
  /** Extra environment for the faulty run (e.g. a short request timeout). */
  env?: Record<string, string>;
  /** `completes`: the faulty run must succeed; `stops`: it must stop (then a re-run completes); `either`. */
  expect: 'completes' | 'stops' | 'either';
  seed: number;
  /** Which answers prove the faults happened (default: any the emulator marked as a fault). */
  faulty?: (entry: RequestLogEntry) => boolean;
  /** For `stops`: what the output of the stopped run must say. */
  stopsWith?: RegExp;
}

/** The request timeout in the slow scenario: about a fifth of its answers (50-200 ms) come later than this. */
const SLOW_TIMEOUT_MS = 170;

/** Random rolls are seeded; the order of concurrent requests is not, so random scenarios accept either ending. */
const SCENARIOS: Scenario[] = [
  { name: '429 storm (budget of 10 per second, Retry-After 1 s)', faults: { rate: { requests: 10, windowMs: 1000, penaltyMs: 1000 } }, expect: 'completes', seed: 11 },
  {
    name: '500/502/503 bursts before the handler and after the write landed',
    failNext: [
      { status: 503, count: 2, method: 'POST', path: '/v1/mgmt/permission/create/batch' },
      { status: 502, count: 1, method: 'POST', path: '/v1/mgmt/role/create/batch', when: 'after' },
      { status: 500, count: 1, method: 'POST', path: '/v1/mgmt/tenant/create', when: 'after' },
      { status: 503, count: 2, method: 'POST', path: '/v1/mgmt/tenant/create' },
      { status: 502, count: 1, method: 'POST', path: /^\/v1\/mgmt\/(flow|theme)\/(import|delete)$/, when: 'after' },
    ],
    expect: 'completes',
    seed: 12,
  },
  { name: 'random 5xx (20 % of requests)', faults: { faultRate: 0.2 }, expect: 'either', seed: 13 },
  {
    name: 'dropped connections before the handler',
    faults: { dropRate: 0.15, faultTiming: 'before' },
    failNext: [{ status: 'drop', count: 2, method: 'POST', path: WRITES }],
    expect: 'either',
    seed: 14,
  },
  {
    name: 'dropped connections after the write landed',
    faults: { dropRate: 0.15, faultTiming: 'after' },
    failNext: [
      { status: 'drop', method: 'POST', path: '/v1/mgmt/tenant/create', when: 'after' },
      { status: 'drop', method: 'POST', path: '/v1/mgmt/role/create/batch', when: 'after' },
      { status: 'drop', method: 'POST', path: '/v1/mgmt/permission/create/batch', when: 'after' },
      { status: 'drop', method: 'POST', path: '/v1/mgmt/tenant/delete', when: 'after' },
      { status: 'drop', method: 'POST', path: '/v1/mgmt/role/delete/batch', when: 'after' },
    ],
    expect: 'either',
    seed: 15,
  },
  {
    name: 'slow answers, some past the request timeout (the abandoned write still lands)',
    faults: { latencyMs: 50, latencyJitterMs: 150 },
    env: { DESCOPE_RUN_REQUEST_TIMEOUT_MS: String(SLOW_TIMEOUT_MS) },
    faulty: (entry) => entry.durationMs > SLOW_TIMEOUT_MS,
    expect: 'either',
    seed: 16,
  },
  {
    name: 'mixed: 429 storm, 5xx, drops after the write, latency',
    faults: { rate: { requests: 12, windowMs: 1000, penaltyMs: 1000 }, faultRate: 0.1, dropRate: 0.08, faultTiming: 'after', latencyMs: 10, latencyJitterMs: 40 },
    expect: 'either',
    seed: 17,
  },
  {
    name: 'an outage mid-run: every write answers 503 until the scheduler stops',
    failNext: [{ status: 503, count: 40, method: 'POST', path: WRITES }],
    expect: 'stops',
    stopsWith: /: environment "remote": Descope failed 8 times in a row \(last: 503 E990503 .*\); stopped, nothing more was sent; retry later\n/,
    seed: 18,
  },
];

function clearFaults(emu: RunningEmulator): void {
  emu.clearFailNext();
  emu.setFaults(NO_FAULTS);
}

/** A run that did not complete says so clearly: no stack trace, and either the summary or one error line naming the environment. */
function assertClearStop(result: CliResult, command: 'apply' | 'rollback'): void {
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 1, output);
  assert.equal(hasStackTrace(output), false, output);
  const verb = command === 'apply' ? 'Apply' : 'Rollback';
  if (result.stdout.includes(`${verb} finished with failures:`)) {
    // A rollback's names the backup it restores (without --to, another apply would change it).
    assert.match(output, new RegExp(`Run "descope-run ${command} --env remote${command === 'rollback' ? ' --to \\S+' : ''}" again to finish`), output);
    for (const line of result.stdout.split('\n').filter((l) => /^ {2}[✗–] /.test(l))) {
      assert.ok(line.length > 10, `a failure line says what failed: ${line}`);
    }
  } else {
    const errors = result.stderr.split('\n').filter((line) => /^error: /.test(line));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0]!, /environment "remote"|^error: \S+\/\S*: /, result.stderr);
  }
}

/**
 * The invariants: every address in `expectedCreates` created exactly once, nothing else created
 * twice; the re-run (if any) wrote no (action, address) that had already landed.
 */
function assertExactlyOnce(bench: Bench, runs: number[], expectedCreates: string[]): void {
  const inRuns = bench.landed.filter((l) => runs.includes(l.run));
  const creates = new Map<string, number>();
  for (const l of inRuns) if (CREATE_ACTIONS.has(l.action)) creates.set(l.resource, (creates.get(l.resource) ?? 0) + 1);
  for (const [resource, count] of creates) assert.equal(count, 1, `${resource} was created ${count} times`);
  assert.deepEqual([...creates.keys()].sort(), [...expectedCreates].sort(), 'what was created');
  if (runs.length > 1) {
    const first = new Set(inRuns.filter((l) => l.run === runs[0]).map((l) => `${l.action} ${l.resource}`));
    const redone = inRuns.filter((l) => l.run !== runs[0] && first.has(`${l.action} ${l.resource}`));
    assert.deepEqual(redone, [], 'the re-run redid writes that had landed');
  }
}

async function assertNoChanges(bench: Bench): Promise<void> {
  const diff = await bench.run(['diff', ...REMOTE, '--exit-code']);
  assert.equal(diff.code, 0, diff.stdout + diff.stderr);
  assert.match(diff.stdout, /^No changes\. The live project matches the config\.$/m);
}

/**
 * Runs `args` under the scenario's faults; when it stops, checks the message and re-runs it
 * without faults. Returns the runs made and the output of the one that completed.
 */
async function runThroughFaults(
  bench: Bench,
  scenario: Scenario,
  args: string[],
  command: 'apply' | 'rollback',
): Promise<{ runs: number[]; final: CliResult; stopped: boolean }> {
  for (const rule of scenario.failNext ?? []) bench.emu.failNext(rule);
  if (scenario.faults) bench.emu.setFaults(scenario.faults);
  const first = await bench.run(args, scenario.env);
  const firstRun = bench.runs();
  // A request the client abandoned (timed out) still lands once its latency is over: let it, so
  // that its write counts for this run.
  await sleep((scenario.faults?.latencyMs ?? 0) + (scenario.faults?.latencyJitterMs ?? 0) + 20);
  const log = bench.emu.log.recent();
  const faulty = log.filter(scenario.faulty ?? ((entry) => entry.fault !== undefined));
  assert.ok(faulty.length > 0, `the faults did not happen (${log.length} requests)`);
  clearFaults(bench.emu);
  const output = first.stdout + first.stderr;
  if (scenario.expect === 'completes') assert.equal(first.code, 0, output);
  if (scenario.expect === 'stops') assert.equal(first.code, 1, output);
  assert.equal(hasStackTrace(output), false, output);
  if (first.code === 0) return { runs: [firstRun], final: first, stopped: false };
  assertClearStop(first, command);
  if (scenario.stopsWith) assert.match(first.stdout + first.stderr, scenario.stopsWith);
  const again = await bench.run(args);
  assert.equal(again.code, 0, `the re-run did not finish:\n${again.stdout}${again.stderr}`);
  return { runs: [firstRun, bench.runs()], final: again, stopped: true };
}

/** Apply A, then B (with deletes): the backup taken before B is what every rollback restores. Made once, copied per test. */
async function makeRollbackSetup(): Promise<{ dir: string; state: EmulatorState }> {
  const bench = await openBench({ seed: 1 });
  try {
    await writeFile(path.join(bench.dir, 'descope.config.ts'), CONFIG_A);
    const a = await bench.run(['apply', ...REMOTE, '--yes']);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    await writeFile(path.join(bench.dir, 'descope.config.ts'), CONFIG_B);
    const b = await bench.run(['apply', ...REMOTE, '--yes', '--allow-delete']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /✓ tenants\/initech deleted/);
    // Back to A: after the rollback, diff against A must be empty.
    await writeFile(path.join(bench.dir, 'descope.config.ts'), CONFIG_A);
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-faults-setup-')));
    await cp(bench.dir, dir, { recursive: true });
    return { dir, state: bench.emu.snapshot() };
  } finally {
    await bench.close();
  }
}

// One suite, three at a time: most scenarios wait (Retry-After, latency) more than they compute.
describe('fault matrix', { concurrency: 3 }, () => {
  let rollbackSetup: Promise<{ dir: string; state: EmulatorState }> | undefined;
  after(async () => {
    if (rollbackSetup) await rm((await rollbackSetup).dir, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    test(`apply: ${scenario.name}`, async (t) => {
      const bench = await openBench({ seed: scenario.seed });
      t.after(() => bench.close());
      await writeFile(path.join(bench.dir, 'descope.config.ts'), CONFIG_A);

      const { runs, final } = await runThroughFaults(bench, scenario, ['apply', ...REMOTE, '--yes'], 'apply');
      assert.match(final.stdout, /^Apply complete: \d+ changes? in [\d.]+ s\.$/m);
      assertExactlyOnce(bench, runs, CREATED_BY_A);
      const state = bench.emu.snapshot();
      assert.deepEqual(state.tenants.map((x) => x.id).sort(), ['acme', 'globex', 'initech']);
      assert.equal(state.roles.length, 4);
      assert.equal(state.permissions.length, 3);
      const secret = bench.emu.secretStatus('acme');
      assert.equal(secret.sha256, createHash('sha256').update(OIDC_SECRET).digest('hex'), 'the OIDC secret landed');
      await assertNoChanges(bench);
    });
  }

  // Rollback deletes, creates and updates; random 5xx and drops before the handler add nothing
  // over what the other scenarios already cover there.
  const ROLLBACK = SCENARIOS.filter((s) => !s.name.startsWith('random 5xx') && !s.name.startsWith('dropped connections before'));
  for (const scenario of ROLLBACK) {
    test(`rollback: ${scenario.name}`, async (t) => {
      rollbackSetup ??= makeRollbackSetup();
      const setup = await rollbackSetup;
      const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-faults-rb-')));
      await cp(setup.dir, dir, { recursive: true });
      const bench = await openBench({ seed: scenario.seed + 100, dir, initialState: setup.state });
      t.after(() => bench.close());

      const { runs, final } = await runThroughFaults(bench, scenario, ['rollback', ...REMOTE, '--yes'], 'rollback');
      assert.match(final.stdout, /^Verified: the live project equals backup \S+ \(/m);
      assertExactlyOnce(bench, runs, CREATED_BY_ROLLBACK);
      const state = bench.emu.snapshot();
      assert.deepEqual(state.tenants.map((x) => x.id).sort(), ['acme', 'globex', 'initech']);
      assert.deepEqual(state.roles.map((r) => `${r.tenantId || ''}/${r.name}`).sort(), ['/Auditor', '/Reader', '/Writer', 'acme/Agent']);
      await assertNoChanges(bench);
    });
  }
});
