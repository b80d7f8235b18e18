// `diff` and saved plans end to end: exit codes, --json, --out, and `apply --plan`, which applies
// exactly the saved plan and refuses a stale, edited, damaged or foreign one before any write.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { hasStackTrace } from '../helpers/cli.ts';
import { createProject, modeOf, PROJECT_A, remoteEnvironment } from '../helpers/project.ts';

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

test('apply --plan applies exactly the saved plan, not what the config says since', async (t) => {
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

  // A plan for globex; then the config grows initech. Applying the plan adds globex only.
  await project.setConfig(config(['acme', 'globex']));
  const second = await project.run(['diff', ...REMOTE, '--out', 'plan2.json']);
  assert.equal(second.code, 0, second.stderr);
  await project.setConfig(config(['acme', 'globex', 'initech']));
  const writesBefore = project.writes.length;
  const exact = await project.run(['apply', ...REMOTE, '--plan', 'plan2.json', '--yes']);
  assert.equal(exact.code, 0, exact.stdout + exact.stderr);
  assert.doesNotMatch(exact.stdout, /initech/);
  assert.deepEqual([...new Set(project.writes.slice(writesBefore).flatMap((w) => w.resources))], ['tenants/globex']);
  assert.deepEqual(project.emu.snapshot().tenants.map((x) => x.id).sort(), ['acme', 'globex']);
  const rest = await project.run(['diff', ...REMOTE]);
  assert.match(rest.stdout, /^ {2}\+ tenants\/initech$/m);
  assert.match(rest.stdout, /Plan: 1 to create, 0 to update, 0 to delete, 0 unmanaged\./);
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
    { name: 'edited.json', content: JSON.stringify(edited, null, 2), expect: /edited\.json: its changes do not match its fingerprint: the plan was edited after it was saved/ },
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
});
