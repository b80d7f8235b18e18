// Addresses are unique (issue 11, item 3), through the real CLI against the emulator: a live
// project role named "acme/Agent" and the role "Agent" of tenant "acme" are two resources in diff,
// apply, --target and drift's attribution from the audit trail. One project (one emulator) for the file.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { hasStackTrace } from '../helpers/cli.ts';
import { createProject, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];

const config = (extra: { roles?: string; tenants?: string } = {}) => `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Agent', tenant: 'acme', permissions: ['docs.read'] }),${extra.roles ?? ''}],
  tenants: [tenant({ id: 'acme', name: 'Acme', defaultRoles: ['Agent'] }),${extra.tenants ?? ''}],
});
`;

/** Config B also declares a project role "beta/Agent" and tenant beta's role "Agent": both new. */
const CONFIG_B = config({
  roles: `\n    role({ name: 'beta/Agent', description: 'project-wide', permissions: ['docs.read'] }),\n    role({ name: 'Agent', tenant: 'beta' }),\n  `,
  tenants: `\n    tenant({ id: 'beta', name: 'Beta' }),\n  `,
});

let project: Project;
before(async () => {
  project = await createProject({ config: config() });
  const sdk = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
  assert.equal((await sdk.management.permission.create('tickets.write')).ok, true);
  assert.equal((await sdk.management.role.create('acme/Agent', 'a project role', ['tickets.write'])).ok, true);
});
after(() => project.close());

async function ok(args: string[]) {
  const result = await project.run(args);
  assert.equal(result.code, 0, `${args.join(' ')}\n${result.stdout}${result.stderr}`);
  assert.equal(hasStackTrace(result.stdout + result.stderr), false);
  return result;
}

const roles = () =>
  project.emu
    .snapshot()
    .roles.map((r) => ({ name: r.name, tenant: r.tenantId || undefined, permissions: [...r.permissionNames].sort(), description: r.description }))
    .sort((a, b) => `${a.tenant ?? ''}/${a.name}`.localeCompare(`${b.tenant ?? ''}/${b.name}`));

test('a live project role "acme/Agent" is unmanaged; the tenant role "Agent" of acme is created and the project role is left as it was', async () => {
  const before = roles().find((r) => r.name === 'acme/Agent' && !r.tenant);
  assert.ok(before);

  const diff = await ok(['diff', ...REMOTE]);
  assert.match(diff.stdout, /^ {2}\+ roles\/acme\/Agent$/m, diff.stdout);
  assert.match(diff.stdout, /^Unmanaged: .*\n {2}.*roles\/acme%2FAgent/m, diff.stdout);
  assert.match(diff.stdout, /^Plan: 3 to create, 0 to update, 0 to delete, 2 unmanaged\.$/m, diff.stdout);

  const applied = await ok(['apply', ...REMOTE, '--yes']);
  assert.match(applied.stdout, /✓ roles\/acme\/Agent created/);
  assert.deepEqual(roles().find((r) => r.name === 'acme/Agent' && !r.tenant), before, 'the project role was changed');
  assert.deepEqual(
    roles().find((r) => r.name === 'Agent' && r.tenant === 'acme'),
    { name: 'Agent', tenant: 'acme', permissions: ['docs.read'], description: '' },
    'the tenant role was not created',
  );
  assert.deepEqual(project.emu.snapshot().tenants.find((t) => t.id === 'acme')?.defaultRoles, ['Agent']);

  const again = await ok(['diff', ...REMOTE, '--exit-code']);
  assert.match(again.stdout, /^No changes\./m, again.stdout);
});

test('a config with a project role "beta/Agent" and tenant beta\'s role "Agent": --target picks each by its address; both created; then no changes', async () => {
  await project.setConfig(CONFIG_B);
  const diff = await ok(['diff', ...REMOTE]);
  assert.match(diff.stdout, /^ {2}\+ roles\/beta%2FAgent$/m, diff.stdout);
  assert.match(diff.stdout, /^ {2}\+ roles\/beta\/Agent$/m, diff.stdout);

  // Off a terminal without --yes: the hint repeats the user's target (canonical, quoted if need be), not a bare apply.
  const unconfirmed = await project.run(['apply', ...REMOTE, '--target', 'roles/beta%2fAgent']);
  assert.equal(unconfirmed.code, 1, unconfirmed.stdout + unconfirmed.stderr);
  assert.ok(unconfirmed.stderr.includes('run "descope-run apply --env remote --target roles/beta%2FAgent --yes"'), unconfirmed.stderr);

  // The escaped address (in any case of hex) is the project role, and only it.
  const targeted = await ok(['apply', ...REMOTE, '--yes', '--target', 'roles/beta%2fAgent']);
  assert.match(targeted.stdout, /✓ roles\/beta%2FAgent created/, targeted.stdout);
  assert.doesNotMatch(targeted.stdout, /roles\/beta\/Agent|tenants\/beta/, targeted.stdout);
  assert.deepEqual(
    roles().filter((r) => r.name.includes('Agent') && (r.tenant === 'beta' || r.name.startsWith('beta'))),
    [{ name: 'beta/Agent', tenant: undefined, permissions: ['docs.read'], description: 'project-wide' }],
  );

  // Unescaped, it is the tenant role; a user who meant the project role is told how it is spelt.
  const unknown = await project.run(['diff', ...REMOTE, '--target', 'roles/acme/Nope']);
  assert.equal(unknown.code, 1, unknown.stdout + unknown.stderr);
  assert.match(unknown.stderr, /error: --target roles\/acme\/Nope: no such address in the config or the live project/);

  await ok(['apply', ...REMOTE, '--yes']);
  assert.ok(roles().some((r) => r.name === 'Agent' && r.tenant === 'beta'), 'the tenant role of beta was not created');
  assert.equal(roles().filter((r) => r.name === 'beta/Agent').length, 1);
  const clean = await ok(['diff', ...REMOTE, '--exit-code']);
  assert.match(clean.stdout, /^No changes\./m, clean.stdout);
  assert.doesNotMatch(clean.stdout, /roles\/beta/, 'a declared role is listed as unmanaged');
});

test('drift attributes a change of the tenant role to it, not to the project role that spelt the same address', async () => {
  const sdk = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
  // The tenant role drifts; the project role "acme/Agent" is deleted after (a newer audit record).
  assert.equal((await sdk.management.role.update('Agent', 'Agent', '', [], 'acme')).ok, true);
  assert.equal((await sdk.management.role.delete('acme/Agent')).ok, true);
  const drift = await project.run(['drift', ...REMOTE, '--format', 'json']);
  assert.equal(drift.code, 0, drift.stdout + drift.stderr);
  const report = JSON.parse(drift.stdout) as { drifted: { address: string; lastChange?: { action: string } }[] };
  const agent = report.drifted.find((d) => d.address === 'roles/acme/Agent');
  assert.ok(agent, drift.stdout);
  assert.equal(agent.lastChange?.action, 'RoleUpdated', `attributed to another resource's record: ${JSON.stringify(agent)}`);
});
