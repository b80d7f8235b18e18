// `descope-run apply` end to end: the real CLI (built bin) against an emulator started in this
// process, on throwaway projects. Apply then diff is empty; a second apply writes nothing; the
// wrong-environment guard sends nothing; a failure mid-apply leaves a correct summary and a re-run
// finishes it without redoing anything; confirmation on and off a terminal; prune; --target.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { hasStackTrace, REPO, runCli } from '../helpers/cli.ts';
import { createProject, PROJECT_A, PROJECT_B, remoteEnvironment, runCliOnTerminal, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];

const BASIC = `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read', description: 'Read docs' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: [
    tenant({ id: 'acme', name: 'Acme', defaultRoles: ['Reader'], settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } } }),
  ],
});
`;
const BASIC_ADDRESSES = ['permissions/docs.read', 'roles/Reader', 'tenants/acme', 'tenants/acme/settings'];

function sdkOf(project: Project) {
  return DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
}

/** The lines of stderr that report an error (one per problem). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^\s*error:/.test(line));
}

function tenantIds(project: Project): string[] {
  return project.emu.snapshot().tenants.map((t) => t.id).sort();
}

test('apply then diff is empty; a second apply makes no write call and is recorded as no-changes', async (t) => {
  const project = await createProject({ config: BASIC });
  t.after(() => project.close());

  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  for (const address of BASIC_ADDRESSES) {
    assert.ok(applied.stdout.includes(`  + ${address}\n`), `the plan shows ${address}:\n${applied.stdout}`);
    assert.ok(applied.stdout.includes(`  ✓ ${address} created\n`), `the progress lists ${address}:\n${applied.stdout}`);
  }
  assert.match(applied.stdout, /Plan: 4 to create, 0 to update, 0 to delete, 0 unmanaged\./);
  assert.match(applied.stdout, /Apply complete: 4 changes in [\d.]+ s\./);
  assert.deepEqual(tenantIds(project), ['acme']);
  assert.ok(project.writeCalls() >= 4, 'the write counter sees writes');

  const diff = await project.run(['diff', ...REMOTE]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^No changes\. The live project matches the config\.$/m);

  const writesBefore = project.writeCalls();
  const again = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /No changes\./);
  assert.equal(project.writeCalls(), writesBefore, 'the second apply made a write call');

  const audit = await project.audit();
  assert.deepEqual(
    audit.map((r) => r.outcome),
    ['applied', 'no-changes'],
  );
  assert.deepEqual(audit[1]!.changes, []);
});

test("the README's main job on a copy of the sample: apply --env local --yes, then diff --env local shows No changes.", async (t) => {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-sample-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const entry of ['descope.config.ts', 'environments', 'modules', 'templates']) {
    await cp(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
  }
  // The commands and output the README shows, run through the same bin npx runs.
  const readme = await readFile(path.join(REPO, 'README.md'), 'utf8');
  assert.match(readme, /```sh\nnpm install\nnpx descope-run apply --env local --yes\n```/);
  const shownChanges = /```\nApply complete: (\d+) changes in [\d.]+ s\.\n```/.exec(readme)?.[1];
  assert.ok(shownChanges, 'the README shows the end of the apply');
  assert.match(readme, /```sh\nnpx descope-run diff --env local\n```\n\n```\nNo changes\. The live project matches the config\.\n```/);

  const applied = await runCli(['apply', '--env', 'local', '--yes'], { cwd: dir });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.match(applied.stdout, new RegExp(`^Apply complete: ${shownChanges} changes in [\\d.]+ s\\.$`, 'm'));
  assert.equal(hasStackTrace(applied.stdout + applied.stderr), false);

  const diff = await runCli(['diff', '--env', 'local'], { cwd: dir });
  assert.equal(diff.code, 0, diff.stderr);
  assert.equal(diff.stdout.trimEnd().split('\n').at(-1), 'No changes. The live project matches the config.', diff.stdout);
  // The embedded emulator kept its state in the copy, not in the repository.
  const state = JSON.parse(await readFile(path.join(dir, '.descope', 'local', 'state.json'), 'utf8')) as { tenants: { id: string }[] };
  assert.deepEqual(state.tenants.map((x) => x.id).sort(), ['acme', 'globex', 'initech']);
});

test('wrong project id: DESCOPE_PROJECT_ID names another project; refused before any request', async (t) => {
  const project = await createProject({ config: BASIC });
  t.after(() => project.close());
  for (const command of [['diff', ...REMOTE], ['apply', ...REMOTE, '--yes']]) {
    const result = await project.run(command, { env: { DESCOPE_PROJECT_ID: PROJECT_B } });
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.equal(hasStackTrace(output), false, output);
    assert.equal(errorLines(result.stderr).length, 1, result.stderr);
    assert.ok(result.stderr.includes(PROJECT_A) && result.stderr.includes(PROJECT_B), `names both projects:\n${result.stderr}`);
    assert.match(result.stderr, /credentials in this shell are for another project/);
  }
  assert.equal(project.emu.log.total, 0, 'the emulator received a request');
  assert.deepEqual(await project.audit(), []);
});

test('a management key the API rejects: exit 1, one clear error, no stack trace, no write', async (t) => {
  const project = await createProject({ config: BASIC });
  t.after(() => project.close());
  const result = await project.run(['apply', ...REMOTE, '--yes'], { env: { TEST_MGMT_KEY: 'not-the-right-key' } });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 1, output);
  assert.equal(hasStackTrace(output), false, output);
  assert.equal(errorLines(result.stderr).length, 1, result.stderr);
  assert.match(result.stderr, /401/);
  assert.ok(!output.includes('not-the-right-key'), 'the key is never printed');
  assert.equal(project.writeCalls(), 0);
  assert.deepEqual(tenantIds(project), []);
});

const TWO_TENANTS = `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [
    role({ name: 'Reader', permissions: ['docs.read'] }),
    role({ name: 'Agent', tenant: 'acme' }),
    role({ name: 'Agent', tenant: 'globex' }),
  ],
  tenants: [
    tenant({ id: 'acme', name: 'Acme', defaultRoles: ['Agent'], settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } } }),
    tenant({ id: 'globex', name: 'Globex', defaultRoles: ['Agent'], settings: { sessionTokenExpiration: { value: 20, unit: 'minutes' } } }),
  ],
});
`;

test('a failure mid-apply: the others land, the summary is right, and a re-run finishes without redoing anything', async (t) => {
  const project = await createProject({ config: TWO_TENANTS });
  t.after(() => project.close());
  const TENANT_CREATE = '/v1/mgmt/tenant/create';
  project.emu.failNext({ status: 403, path: TENANT_CREATE, count: 1 });

  const first = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(first.code, 1, first.stdout + first.stderr);
  assert.equal(hasStackTrace(first.stdout + first.stderr), false);
  const failed = /^ {2}✗ \+ tenants\/(acme|globex): Descope answered 403 E\d+: /m.exec(first.stdout)?.[1];
  assert.ok(failed, `the summary lists the failed tenant with its status and code:\n${first.stdout}`);
  const landed = failed === 'acme' ? 'globex' : 'acme';
  assert.match(first.stdout, /Apply finished with failures: 5 done, 1 failed, 2 not attempted/);
  assert.match(first.stdout, new RegExp(`✗ \\+ tenants/${failed}: .*check TEST_MGMT_KEY and that it is a key of project .*\\n {6}hint: \\S`));
  for (const dependant of [`roles/${failed}/Agent`, `tenants/${failed}/settings`]) {
    assert.match(first.stdout, new RegExp(`^ {2}– \\+ ${dependant}: not attempted: it needs tenants/${failed}, which failed$`, 'm'));
  }
  assert.match(first.stdout, /Run "descope-run apply --env remote" again to finish/);

  // The other tenant and everything that hangs off it landed.
  const afterFirst = project.emu.snapshot();
  assert.deepEqual(afterFirst.tenants.map((x) => x.id), [landed]);
  assert.deepEqual(afterFirst.tenants[0]!.defaultRoles, ['Agent']);
  const roleKeys = (state: typeof afterFirst) => state.roles.map((r) => `${r.tenantId || ''}/${r.name}`).sort();
  assert.deepEqual(roleKeys(afterFirst), [`${landed}/Agent`, '/Reader'].sort());
  const firstResources = new Set(project.writes.flatMap((w) => w.resources));
  assert.ok(firstResources.has(`tenants/${landed}`) && !firstResources.has(`tenants/${failed}`));
  const firstAudit = (await project.audit()).at(-1)!;
  assert.equal(firstAudit.outcome, 'partial');
  assert.equal(firstAudit.exitStatus, 1);

  const writesInFirst = project.writes.length;
  const second = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /Plan: 3 to create, 0 to update, 0 to delete, 0 unmanaged\./);
  assert.match(second.stdout, /Apply complete: 3 changes/);
  const secondWrites = project.writes.slice(writesInFirst);
  const redone = secondWrites.flatMap((w) => w.resources).filter((resource) => firstResources.has(resource));
  assert.deepEqual(redone, [], 'the re-run wrote to an address that landed in the first run');
  assert.deepEqual(
    [...new Set(secondWrites.flatMap((w) => w.resources))].sort(),
    [`roles/${failed}/Agent`, `tenants/${failed}`],
  );

  // Across both runs: one successful create per tenant, one role batch per tenant role.
  assert.equal(project.emu.log.count('POST', TENANT_CREATE, 200), 2);
  assert.equal(project.emu.log.count('POST', TENANT_CREATE), 3, 'the injected 403 and two creates');
  for (const tenantId of ['acme', 'globex']) {
    const batches = project.writes.filter((w) => w.path === '/v1/mgmt/role/create/batch' && w.resources.includes(`roles/${tenantId}/Agent`));
    assert.equal(batches.length, 1, `roles/${tenantId}/Agent was created ${batches.length} times`);
  }
  const final = project.emu.snapshot();
  assert.deepEqual(final.tenants.map((x) => x.id).sort(), ['acme', 'globex']);

  const diff = await project.run(['diff', ...REMOTE, '--exit-code']);
  assert.equal(diff.code, 0, diff.stdout);
  assert.match(diff.stdout, /No changes\./);
});

test('confirmation: refused without --yes off a terminal; on a terminal "no" writes nothing, "yes" applies; a protected environment wants the project id', async (t) => {
  const project = await createProject({ config: BASIC });
  t.after(() => project.close());
  const env = { TEST_MGMT_KEY: project.emu.managementKey };

  const refused = await project.run(['apply', ...REMOTE]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /not applying without --yes, since this is not a terminal/);
  assert.match(refused.stderr, /--yes/);
  assert.equal(hasStackTrace(refused.stderr), false);
  assert.equal(project.writeCalls(), 0);

  const no = await runCliOnTerminal(['apply', ...REMOTE], { cwd: project.dir, env, input: 'no\n' });
  assert.equal(no.code, 1, no.stdout);
  assert.match(no.stdout, /Only "yes" is accepted: /);
  assert.match(no.stdout, /not confirmed; nothing was changed/);
  assert.equal(project.writeCalls(), 0, 'answering no wrote something');

  const yes = await runCliOnTerminal(['apply', ...REMOTE], { cwd: project.dir, env, input: 'yes\n' });
  assert.equal(yes.code, 0, yes.stdout);
  assert.match(yes.stdout, /Apply complete: 4 changes/);
  assert.deepEqual(tenantIds(project), ['acme']);

  // The same project as a protected environment: "yes" is not enough.
  await project.writeEnvironment('guarded', remoteEnvironment(project.emu, PROJECT_A, { protected: true }));
  await project.setConfig(BASIC.replace("name: 'Acme'", "name: 'Acme Renamed'"));
  const writesBefore = project.writeCalls();
  const guardedYes = await runCliOnTerminal(['apply', '--env', 'guarded'], { cwd: project.dir, env, input: 'yes\n' });
  assert.equal(guardedYes.code, 1, guardedYes.stdout);
  assert.match(guardedYes.stdout, new RegExp(`Environment "guarded" is protected\\. Type the project id \\(${PROJECT_A}\\) to apply these changes: `));
  assert.match(guardedYes.stdout, /the project id was not typed; nothing was changed/);
  assert.equal(project.writeCalls(), writesBefore, 'answering yes to a protected environment wrote something');

  const guardedId = await runCliOnTerminal(['apply', '--env', 'guarded'], { cwd: project.dir, env, input: `${PROJECT_A}\n` });
  assert.equal(guardedId.code, 0, guardedId.stdout);
  assert.match(guardedId.stdout, /Apply complete: 1 change in/);
  assert.equal(project.emu.snapshot().tenants[0]!.name, 'Acme Renamed');

  assert.deepEqual(
    (await project.audit()).map((r) => r.outcome),
    ['refused', 'aborted', 'applied'],
  );
  assert.deepEqual(
    (await project.audit('guarded')).map((r) => r.outcome),
    ['aborted', 'applied'],
  );
});

const pruneConfig = (prune: boolean) => `import { defineConfig, tenant } from 'descope-run';

export default defineConfig({${prune ? '\n  prune: { tenants: true },' : ''}
  tenants: [tenant({ id: 'acme', name: 'Acme' })],
});
`;

test('prune: an extra live tenant is held back until --allow-delete; without prune it is unmanaged and never deleted', async (t) => {
  const project = await createProject({ config: pruneConfig(true) });
  t.after(() => project.close());
  const sdk = sdkOf(project);
  assert.equal((await sdk.management.tenant.createWithId('legacy', 'Legacy')).ok, true);
  const TENANT_DELETE = '/v1/mgmt/tenant/delete';

  const diff = await project.run(['diff', ...REMOTE, '--exit-code']);
  assert.equal(diff.code, 2, diff.stdout + diff.stderr);
  assert.match(diff.stdout, /Held back until you add --allow-delete:\n {2}- tenants\/legacy {2}\(not in the config, and the config prunes tenants\)/);
  assert.match(diff.stdout, /1 held back: run with --allow-delete to include it\./);

  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.match(applied.stdout, /Apply complete: 1 change in/);
  assert.deepEqual(tenantIds(project), ['acme', 'legacy']);
  assert.equal(project.emu.log.count('POST', TENANT_DELETE), 0);

  const pruned = await project.run(['apply', ...REMOTE, '--yes', '--allow-delete']);
  assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
  assert.match(pruned.stdout, /^ {2}- tenants\/legacy$/m);
  assert.match(pruned.stdout, /✓ tenants\/legacy deleted/);
  assert.deepEqual(tenantIds(project), ['acme']);
  assert.equal(project.emu.log.count('POST', TENANT_DELETE), 1);

  // Without prune, an extra tenant is listed as unmanaged, even with --allow-delete, and left alone.
  await project.setConfig(pruneConfig(false));
  assert.equal((await sdk.management.tenant.createWithId('other', 'Other')).ok, true);
  const unmanaged = await project.run(['diff', ...REMOTE, '--allow-delete']);
  assert.equal(unmanaged.code, 0, unmanaged.stderr);
  assert.match(unmanaged.stdout, /Unmanaged: 1 live resource is not in the config and left alone:\n {2}tenants\/other\n/);
  assert.doesNotMatch(unmanaged.stdout, /Held back/);
  const kept = await project.run(['apply', ...REMOTE, '--yes', '--allow-delete']);
  assert.equal(kept.code, 0, kept.stdout + kept.stderr);
  assert.deepEqual(tenantIds(project), ['acme', 'other']);
  assert.equal(project.emu.log.count('POST', TENANT_DELETE), 1, 'an unmanaged tenant was deleted');
});

test('--target tenants/acme applies only that tenant and what it needs', async (t) => {
  const project = await createProject({
    config: `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' }), permission({ name: 'docs.write' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] }), role({ name: 'Writer', permissions: ['docs.write'] })],
  tenants: [
    tenant({ id: 'acme', name: 'Acme', defaultRoles: ['Reader'] }),
    tenant({ id: 'globex', name: 'Globex', defaultRoles: ['Writer'] }),
  ],
});
`,
  });
  t.after(() => project.close());

  const applied = await project.run(['apply', ...REMOTE, '--yes', '--target', 'tenants/acme']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.match(applied.stdout, /Plan: 3 to create, 0 to update, 0 to delete/);
  const touched = [...new Set(project.writes.flatMap((w) => w.resources))].sort();
  assert.deepEqual(touched, ['permissions/docs.read', 'roles/Reader', 'tenants/acme']);
  assert.deepEqual(tenantIds(project), ['acme']);
  assert.deepEqual(project.emu.snapshot().tenants[0]!.defaultRoles, ['Reader']);

  const diff = await project.run(['diff', ...REMOTE]);
  assert.equal(diff.code, 0, diff.stderr);
  const pending = [...diff.stdout.matchAll(/^ {2}\+ (\S+)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(pending, ['permissions/docs.write', 'roles/Writer', 'tenants/globex']);
});
