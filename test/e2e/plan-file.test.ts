// `diff` and saved plans end to end: exit codes, --json, --out, and `apply --plan`, which re-derives
// the plan from the config and the live project, applies it only when it is the saved one, and
// refuses a stale, edited, damaged or foreign one, or one the config no longer makes, before any write.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { tenant } from '../../src/dsl/builders.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { PlanError } from '../../src/errors.ts';
import { MAX_PLAN_BYTES, readPlanFile, writePlanFile } from '../../src/runner/store/plan-file.ts';
import { computePlan } from '../../src/runner/plan/compute.ts';
import { computePlanFingerprint } from '../../src/runner/plan/fingerprint.ts';
import type { Plan } from '../../src/runner/plan/types.ts';
import { hasStackTrace } from '../helpers/cli.ts';
import { desiredOf, liveOf } from '../helpers/plan-state.ts';
import { createProject, modeOf, PROJECT_A, PROJECT_B, remoteEnvironment, TEST_KEY } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];

const config = (tenants: string[]) => `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read', description: 'Read docs' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: [
${tenants.map((id) => `    tenant({ id: '${id}', name: '${id.toUpperCase()}', defaultRoles: ['Reader'] }),`).join('\n')}
  ],
});
`;

interface PlanJson {
  format: string;
  version: number;
  environment: string;
  projectId: string;
  liveFingerprint: string;
  fingerprint: string;
  changes: { address: string; action: string; after?: Record<string, unknown> }[];
  summary: Record<string, number>;
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^\s*error:/.test(line));
}

test('diff: --exit-code is 2 with changes and 0 without; --json is the plan; --out writes it with mode 0600', async (t) => {
  const project = await createProject({ config: config(['acme']) });
  t.after(() => project.close());

  const pending = await project.run(['diff', ...REMOTE, '--exit-code']);
  assert.equal(pending.code, 2, pending.stdout + pending.stderr);
  assert.match(pending.stdout, /Plan: 3 to create, 0 to update, 0 to delete, 0 unmanaged\./);

  const json = await project.run(['diff', ...REMOTE, '--json', '--out', 'plan.json']);
  assert.equal(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout) as PlanJson;
  assert.equal(plan.format, 'descope-run/plan');
  assert.equal(plan.environment, 'remote');
  assert.equal(plan.projectId, PROJECT_A);
  assert.match(plan.liveFingerprint, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    plan.changes.map((c) => `${c.action} ${c.address}`),
    ['create permissions/docs.read', 'create roles/Reader', 'create tenants/acme'],
  );
  assert.deepEqual(plan.summary, { create: 3, update: 0, replace: 0, delete: 0, unmanaged: 0, held: 0 });
  const file = path.join(project.dir, 'plan.json');
  assert.equal(await modeOf(file), 0o600);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), plan, 'the saved plan is the one printed');
  assert.equal(project.writeCalls(), 0, 'diff wrote to the project');

  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  const clean = await project.run(['diff', ...REMOTE, '--exit-code']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /No changes\./);
});

test('apply --plan applies the saved plan while the config and the live project are as they were, and refuses it once the config changed', async (t) => {
  const project = await createProject({ config: config(['acme']) });
  t.after(() => project.close());

  const saved = await project.run(['diff', ...REMOTE, '--out', 'plan.json']);
  assert.equal(saved.code, 0, saved.stderr);
  assert.match(saved.stdout, /Saved the plan to plan\.json\. Apply exactly it with: descope-run apply --env remote --plan plan\.json/);
  const applied = await project.run(['apply', ...REMOTE, '--plan', 'plan.json', '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.match(applied.stdout, /Apply complete: 3 changes/);
  const empty = await project.run(['diff', ...REMOTE]);
  assert.match(empty.stdout, /^No changes\. The live project matches the config\.$/m);
  const record = (await project.audit()).at(-1)!;
  assert.equal(record.outcome, 'applied');
  assert.equal(record.planFingerprint, (JSON.parse(await readFile(path.join(project.dir, 'plan.json'), 'utf8')) as PlanJson).fingerprint);

  // A plan for globex; then the config grows initech. The plan is not what the config says any
  // more: refused, naming what differs, and nothing is written.
  await project.setConfig(config(['acme', 'globex']));
  const second = await project.run(['diff', ...REMOTE, '--out', 'plan2.json']);
  assert.equal(second.code, 0, second.stderr);
  await project.setConfig(config(['acme', 'globex', 'initech']));
  const writesBefore = project.writeCalls();
  const changed = await project.run(['apply', ...REMOTE, '--plan', 'plan2.json', '--yes']);
  assert.equal(changed.code, 1, changed.stdout + changed.stderr);
  assert.match(changed.stderr, /error: plan2\.json: is not the plan the checked-out config makes now \(it differs at tenants\/initech\): the config changed since the plan was made \(.+\), or the plan was edited; nothing was applied/);
  assert.equal(errorLines(changed.stderr).length, 1, changed.stderr);
  assert.equal(hasStackTrace(changed.stdout + changed.stderr), false);
  assert.equal(project.writeCalls(), writesBefore, 'a plan the config no longer makes was applied');
  assert.equal((await project.audit()).at(-1)!.outcome, 'refused');

  // Back to the config it was made from: applied, and exactly it.
  await project.setConfig(config(['acme', 'globex']));
  const writes = project.writes.length;
  const exact = await project.run(['apply', ...REMOTE, '--plan', 'plan2.json', '--yes']);
  assert.equal(exact.code, 0, exact.stdout + exact.stderr);
  assert.deepEqual([...new Set(project.writes.slice(writes).flatMap((w) => w.resources))], ['tenants/globex']);
  assert.deepEqual(project.emu.snapshot().tenants.map((x) => x.id).sort(), ['acme', 'globex']);
});

test('apply --plan refuses a plan for another environment, an edited, truncated, non-JSON or future plan, and a stale one', async (t) => {
  const project = await createProject({ config: config(['acme']) });
  t.after(() => project.close());
  const saved = await project.run(['diff', ...REMOTE, '--out', 'plan.json']);
  assert.equal(saved.code, 0, saved.stderr);
  const text = await readFile(path.join(project.dir, 'plan.json'), 'utf8');
  const plan = JSON.parse(text) as PlanJson;

  // Another environment (the same project, even): refused before any write.
  await project.writeEnvironment('other', remoteEnvironment(project.emu, PROJECT_A));
  const foreign = await project.run(['apply', '--env', 'other', '--plan', 'plan.json', '--yes']);
  assert.equal(foreign.code, 1, foreign.stdout + foreign.stderr);
  assert.match(foreign.stderr, /plan\.json: the plan is for environment "remote" \(project P2testProjectA0+\), not "other"/);
  assert.equal(hasStackTrace(foreign.stdout + foreign.stderr), false);
  assert.equal(project.writeCalls(), 0);

  // Broken files: refused while reading the file, before a single request.
  const edited = structuredClone(plan);
  const permission = edited.changes.find((c) => c.address === 'permissions/docs.read')!;
  permission.after = { ...permission.after, description: 'Edited by hand' };
  const cases: { name: string; content: string; expect: RegExp }[] = [
    { name: 'edited.json', content: JSON.stringify(edited, null, 2), expect: /edited\.json: its contents do not match its fingerprint: the plan was edited after it was saved/ },
    { name: 'truncated.json', content: text.slice(0, Math.floor(text.length / 2)), expect: /truncated\.json: is not JSON \(.*\); a truncated or hand-edited plan\?/ },
    { name: 'notes.json', content: 'apply everything, please\n', expect: /notes\.json: is not JSON/ },
    { name: 'future.json', content: JSON.stringify({ ...plan, version: 2 }), expect: /future\.json: is a plan of version 2; this descope-run reads version 1/ },
    { name: 'other-tool.json', content: JSON.stringify({ changes: [] }), expect: /other-tool\.json: is not a descope-run plan/ },
  ];
  const requestsBefore = project.emu.log.total;
  for (const c of cases) {
    await writeFile(path.join(project.dir, c.name), c.content);
    const result = await project.run(['apply', ...REMOTE, '--plan', c.name, '--yes']);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, `${c.name}: ${output}`);
    assert.match(result.stderr, c.expect, c.name);
    assert.equal(errorLines(result.stderr).length, 1, `${c.name}: one error:\n${result.stderr}`);
    assert.equal(hasStackTrace(output), false, `${c.name}: ${output}`);
    assert.equal(result.stdout, '', `${c.name}: nothing on stdout`);
  }
  assert.equal(project.emu.log.total, requestsBefore, 'a broken plan file sent a request');

  // Out of band, someone creates acme by hand: the plan is stale, and nothing is written.
  const sdk = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
  assert.equal((await sdk.management.tenant.createWithId('acme', 'Acme (by hand)')).ok, true);
  const writesBefore = project.writeCalls();
  const stale = await project.run(['apply', ...REMOTE, '--plan', 'plan.json', '--yes']);
  assert.equal(stale.code, 1, stale.stdout + stale.stderr);
  assert.match(stale.stderr, /plan\.json: the live project changed since the plan was made \(.+\); nothing was applied/);
  assert.match(stale.stderr, /hint: a plan applies once, to the project as it was; run "descope-run diff --env remote --out plan\.json" again/);
  assert.equal(hasStackTrace(stale.stdout + stale.stderr), false);
  assert.equal(project.writeCalls(), writesBefore, 'a stale plan made a write call');
  assert.equal(project.emu.snapshot().tenants[0]!.name, 'Acme (by hand)');
  assert.deepEqual(project.emu.snapshot().permissions, []);
  const audit = await project.audit();
  assert.deepEqual(
    audit.map((r) => r.outcome).filter((outcome) => outcome !== 'refused'),
    ['stale'],
    'nothing but the stale apply (and refusals) is recorded',
  );
  const record = audit.at(-1)!;
  assert.equal(record.outcome, 'stale');
  assert.equal(record.exitStatus, 1);
  assert.equal(record.planFingerprint, plan.fingerprint);
  assert.notEqual(record.liveFingerprint, plan.liveFingerprint);
  assert.deepEqual(record.changes, [], 'the audit lists the changes of a plan nothing applied');
});

// ---------------------------------------------------------------------------------------------
// Issue 11, items 1 and 2: nothing in a plan file is trusted that apply does not re-derive. Each
// edit below is made as an attacker who read the source would: the fingerprint recomputed.

/** The file's fingerprint recomputed over its (edited) content, as anyone can. */
function refingerprint<T extends object>(plan: T): T {
  return { ...plan, fingerprint: computePlanFingerprint(plan as unknown as Plan) };
}

test('an edited summary does not get deletes past --allow-delete: the re-derived plan is what is checked, shown and applied', async (t) => {
  const project = await createProject({
    config: `import { defineConfig, tenant } from 'descope-run';
export default defineConfig({ prune: { tenants: true }, tenants: [tenant({ id: 'acme', name: 'Acme' })] });
`,
  });
  t.after(() => project.close());
  const sdk = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
  assert.equal((await sdk.management.tenant.createWithId('acme', 'Acme')).ok, true);
  assert.equal((await sdk.management.tenant.createWithId('legacy', 'Legacy')).ok, true);

  const saved = await project.run(['diff', ...REMOTE, '--allow-delete', '--out', 'plan.json']);
  assert.equal(saved.code, 0, saved.stderr);
  const text = await readFile(path.join(project.dir, 'plan.json'), 'utf8');
  const plan = JSON.parse(text) as PlanJson;
  assert.deepEqual(plan.changes.map((c) => `${c.action} ${c.address}`), ['delete tenants/legacy']);
  const edited = refingerprint({ ...plan, summary: { ...plan.summary, delete: 0, replace: 0 } });
  await writeFile(path.join(project.dir, 'edited.json'), JSON.stringify(edited));

  const writes = project.writeCalls();
  const forged = await project.run(['apply', ...REMOTE, '--plan', 'edited.json', '--yes']);
  assert.equal(forged.code, 1, forged.stdout + forged.stderr);
  assert.match(forged.stderr, /error: edited\.json: is not the plan the checked-out config makes now \(its summary differs\)/);
  assert.doesNotMatch(forged.stdout, /0 to delete/, 'the edited summary was shown');
  const unflagged = await project.run(['apply', ...REMOTE, '--plan', 'plan.json', '--yes']);
  assert.equal(unflagged.code, 1, unflagged.stdout + unflagged.stderr);
  assert.match(unflagged.stderr, /error: plan\.json: the plan deletes live resources \(tenants\/legacy\); apply it with --allow-delete/);
  assert.equal(project.writeCalls(), writes, 'a delete got past --allow-delete');
  assert.ok(project.emu.snapshot().tenants.some((x) => x.id === 'legacy'));

  const allowed = await project.run(['apply', ...REMOTE, '--plan', 'plan.json', '--allow-delete', '--yes']);
  assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
  assert.match(allowed.stdout, /Plan: 0 to create, 0 to update, 1 to delete/);
  assert.deepEqual(project.emu.snapshot().tenants.map((x) => x.id), ['acme']);
});

test('a staging plan edited to name the protected prod environment and project is refused there, and writes nothing', async (t) => {
  // The config differs by environment, as real ones do; both projects start empty, so the live
  // fingerprints agree and only the re-derivation tells the plans apart.
  const project = await createProject({
    config: `import { defineConfig, tenant } from 'descope-run';
export default defineConfig(({ env }) => ({ tenants: [tenant({ id: 'acme', name: env === 'prod' ? 'Acme' : 'Acme (staging)' })] }));
`,
  });
  const prod = await startEmulator({ port: 0, projectId: PROJECT_B, managementKey: TEST_KEY });
  t.after(async () => {
    await prod.close();
    await project.close();
  });
  let prodWrites = 0;
  prod.on('request', (entry) => {
    if (entry.write) prodWrites += 1;
  });
  await project.writeEnvironment('staging', remoteEnvironment(project.emu, PROJECT_A));
  await project.writeEnvironment('prod', remoteEnvironment(prod, PROJECT_B, { protected: true }));

  const saved = await project.run(['diff', '--env', 'staging', '--out', 'plan.json']);
  assert.equal(saved.code, 0, saved.stderr);
  const plan = JSON.parse(await readFile(path.join(project.dir, 'plan.json'), 'utf8')) as PlanJson;
  const retargeted = { ...plan, environment: 'prod', projectId: PROJECT_B };
  await writeFile(path.join(project.dir, 'edited.json'), JSON.stringify(retargeted));
  await writeFile(path.join(project.dir, 'forged.json'), JSON.stringify(refingerprint(retargeted)));

  const edited = await project.run(['apply', '--env', 'prod', '--plan', 'edited.json', '--yes']);
  assert.equal(edited.code, 1, edited.stdout + edited.stderr);
  assert.match(edited.stderr, /error: edited\.json: its contents do not match its fingerprint/);
  const forged = await project.run(['apply', '--env', 'prod', '--plan', 'forged.json', '--yes']);
  assert.equal(forged.code, 1, forged.stdout + forged.stderr);
  assert.match(forged.stderr, /error: forged\.json: is not the plan the checked-out config makes now \(it differs at tenants\/acme\)/);
  assert.equal(hasStackTrace(edited.stderr + forged.stderr), false);
  assert.equal(prodWrites, 0, 'the staging plan wrote to prod');
  assert.deepEqual(prod.snapshot().tenants, []);
});

test('an edited SSO change that shows a display name and writes another issuer and the management key variable writes nothing of the edit', async (t) => {
  const sso = (name: string) => `import { defineConfig, tenant } from 'descope-run';
export default defineConfig({
  tenants: [tenant({ id: 'acme', name: 'Acme', sso: { type: 'oidc', name: '${name}', clientId: 'acme-client', clientSecret: { env: 'ACME_OIDC_SECRET' }, issuer: 'https://acme.okta.example' } })],
});
`;
  const project = await createProject({ config: sso('Acme Okta') });
  t.after(() => project.close());
  const env = { ACME_OIDC_SECRET: 'the-real-oidc-secret' };
  const first = await project.run(['apply', ...REMOTE, '--yes'], { env });
  assert.equal(first.code, 0, first.stdout + first.stderr);

  await project.setConfig(sso('Acme Okta (EU)'));
  const saved = await project.run(['diff', ...REMOTE, '--out', 'plan.json'], { env });
  assert.equal(saved.code, 0, saved.stderr);
  const plan = JSON.parse(await readFile(path.join(project.dir, 'plan.json'), 'utf8')) as PlanJson;
  const change = plan.changes.find((c) => c.address === 'tenants/acme/sso')!;
  assert.deepEqual((change as unknown as { fields: { field: string }[] }).fields.map((f) => f.field), ['name']);
  // What it shows stays "name"; what it would write is another issuer and the key as the secret.
  change.after = { ...change.after, issuer: 'https://evil.example', clientSecret: { env: 'TEST_MGMT_KEY' } };
  await writeFile(path.join(project.dir, 'edited.json'), JSON.stringify(refingerprint(plan)));

  const writes = project.writeCalls();
  const edited = await project.run(['apply', ...REMOTE, '--plan', 'edited.json', '--yes'], { env });
  assert.equal(edited.code, 1, edited.stdout + edited.stderr);
  assert.match(edited.stderr, /error: edited\.json: is not the plan the checked-out config makes now \(it differs at tenants\/acme\/sso\)/);
  assert.equal(project.writeCalls(), writes, 'the edited plan wrote');
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  assert.equal(project.emu.secretStatus('acme').sha256, sha('the-real-oidc-secret'));
  assert.doesNotMatch(JSON.stringify(project.emu.snapshot()), /evil\.example/);

  // The plan as diff wrote it: the display name changes, the issuer and the secret stay.
  const applied = await project.run(['apply', ...REMOTE, '--plan', 'plan.json', '--yes'], { env });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  const stored = JSON.stringify(project.emu.snapshot());
  assert.match(stored, /Acme Okta \(EU\)/);
  assert.doesNotMatch(stored, /evil\.example/);
  assert.equal(project.emu.secretStatus('acme').sha256, sha('the-real-oidc-secret'));
});

// ---------------------------------------------------------------------------------------------
// Issue 11, item 17: what diff writes, apply reads. In process: the limit is lowered for the test
// (DESCOPE_RUN_MAX_PLAN_BYTES), which is the same number for writing and reading.

test('what writePlanFile writes, readPlanFile reads, up to the one limit; a larger plan is not written at all', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'descope-run-plan-size-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tenants = Array.from({ length: 300 }, (_, i) =>
    tenant({ id: `t-${i}`, name: `Customer ${i}`, selfProvisioningDomains: [`c${i}.example.com`], settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } } }),
  );
  const plan = computePlan(desiredOf({ tenants }), liveOf(), { environment: 'remote', projectId: PROJECT_A, createdAt: '2026-01-01T00:00:00.000Z', scope: { tenants: true } });
  // The serialisation this replaced (indented JSON) is about twice the size: set the limit between.
  const indented = Buffer.byteLength(`${JSON.stringify(plan, null, 2)}\n`);
  const limit = Math.floor(Buffer.byteLength(JSON.stringify(plan)) * 1.05);
  assert.ok(limit < indented, `${limit} < ${indented}`);
  const previous = process.env.DESCOPE_RUN_MAX_PLAN_BYTES;
  t.after(() => (previous === undefined ? delete process.env.DESCOPE_RUN_MAX_PLAN_BYTES : (process.env.DESCOPE_RUN_MAX_PLAN_BYTES = previous)));
  process.env.DESCOPE_RUN_MAX_PLAN_BYTES = String(limit);

  const file = path.join(dir, 'plan.json');
  writePlanFile(file, plan);
  const size = (await stat(file)).size;
  assert.ok(size <= limit, `diff wrote ${size} bytes, more than the ${limit} apply reads`);
  assert.deepEqual(readPlanFile(file), plan, 'the plan read back is the plan written');
  assert.match(await readFile(file, 'utf8'), /^\{"format":"descope-run\/plan",.*\n"changes":\[\n\{"kind":"tenant",[^\n]*\},\n/, 'one change per line');

  // Exactly at the limit: read. One byte under: writing refuses, and leaves nothing behind.
  process.env.DESCOPE_RUN_MAX_PLAN_BYTES = String(size);
  assert.deepEqual(readPlanFile(file), plan);
  process.env.DESCOPE_RUN_MAX_PLAN_BYTES = String(size - 1);
  assert.throws(() => readPlanFile(file), (error: Error) => error instanceof PlanError && /plan\.json: is \d+ bytes, larger than any plan descope-run writes/.test(error.message));
  const other = path.join(dir, 'too-large.json');
  assert.throws(
    () => writePlanFile(other, plan),
    (error: Error) => error instanceof PlanError && error.message.startsWith(`${other}: the plan is larger than ${size - 1} bytes`) && /nothing was written/.test(error.message),
  );
  assert.deepEqual(await readdir(dir), ['plan.json'], 'a refused plan left a file');
  // The default fits 100,000 tenants, each with settings and SSO (about 230 MB, README).
  assert.ok(MAX_PLAN_BYTES >= 300 * 1024 * 1024);
});
