// `descope-run rollback` end to end: the real CLI (built bin) against an emulator started in this
// process. A rollback after an apply that created, updated and deleted restores all three, verifies
// it, leaves the live project equal to what it was (read through the real SDK) and `diff` empty;
// out-of-band edits are undone, a renamed role is renamed back (same id); refusals (no --yes off a
// terminal, another environment's backup, no backup) write nothing; --only restores one address;
// an OIDC configuration restored without its secret says so.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { createDescopeApi, fingerprint, readLiveState, type LiveSnapshot } from '../../src/runtime/index.ts';
import { hasStackTrace } from '../helpers/cli.ts';
import { createProject, PROJECT_A, remoteEnvironment, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const OIDC_VAR = 'GLOBEX_OIDC_SECRET';
const SECRET = 'globex-oidc-secret-value';
const SECRETS = { [OIDC_VAR]: SECRET, ACME_OIDC_SECRET: 'acme-oidc-secret-value' };

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

const GLOBEX = `tenant({
      id: 'globex',
      name: 'Globex',
      selfProvisioningDomains: ['globex.io'],
      defaultRoles: ['Agent', 'Reader'],
      settings: { sessionTokenExpiration: { value: 20, unit: 'minutes' }, jitProvisioning: false },
      sso: {
        type: 'oidc',
        name: 'Globex IdP',
        clientId: 'globex-client',
        clientSecret: { env: '${OIDC_VAR}' },
        issuer: 'https://idp.globex.test',
        scope: ['openid', 'email'],
        domains: ['globex.io'],
      },
    })`;

const ACME_SSO = `{
        type: 'saml',
        idpUrl: 'https://login.acme.test/sso',
        entityId: 'https://login.acme.test/meta',
        idpCert: '-----BEGIN CERTIFICATE-----\\nMIIBacme\\n-----END CERTIFICATE-----',
        domains: ['acme.com'],
      }`;

/** Config A: two tenants (settings, default roles, SAML and OIDC), three project roles and a tenant role, a flow, theme, password policy. */
const CONFIG_A = `import { defineConfig, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read', description: 'Read docs' }), permission({ name: 'docs.write' }), permission({ name: 'audit.read' })],
  roles: [
    role({ name: 'Reader', description: 'Reads', permissions: ['docs.read'] }),
    role({ name: 'Writer', permissions: ['docs.read', 'docs.write'] }),
    role({ name: 'Auditor', permissions: ['audit.read'] }),
    role({ name: 'Agent', tenant: 'globex', description: 'Answers tickets', permissions: ['docs.read'] }),
  ],
  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      defaultRoles: ['Reader'],
      settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } },
      sso: ${ACME_SSO},
    }),
    ${GLOBEX},
  ],
  flows: [flow({ id: 'login', json: ${JSON.stringify(login('Continue'))} })],
  theme: theme({ json: { theme: { id: '', cssTemplate: { light: { colors: { primary: '#4f46e5' } } } } } }),
  passwordPolicy: passwordPolicy({ enabled: true, minLength: 12 }),
});
`;

/**
 * Config B: creates initech; updates acme's domains, Writer's permissions and the flow's screen;
 * prunes (so deletes, with --allow-delete) globex and Auditor.
 */
const CONFIG_B = `import { defineConfig, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';

export default defineConfig({
  prune: { tenants: true, roles: true },
  permissions: [permission({ name: 'docs.read', description: 'Read docs' }), permission({ name: 'docs.write' }), permission({ name: 'audit.read' })],
  roles: [
    role({ name: 'Reader', description: 'Reads', permissions: ['docs.read'] }),
    role({ name: 'Writer', permissions: ['docs.write'] }),
  ],
  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com', 'acme.io'],
      defaultRoles: ['Reader'],
      settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } },
      sso: ${ACME_SSO},
    }),
    tenant({ id: 'initech', name: 'Initech', selfProvisioningDomains: ['initech.net'] }),
  ],
  flows: [flow({ id: 'login', json: ${JSON.stringify(login('Continue now'))} })],
  theme: theme({ json: { theme: { id: '', cssTemplate: { light: { colors: { primary: '#4f46e5' } } } } } }),
  passwordPolicy: passwordPolicy({ enabled: true, minLength: 12 }),
});
`;

function sdkOf(project: Project) {
  return DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
}

/** The whole live project in canonical form, read through the runtime (the real SDK). */
async function readLive(project: Project): Promise<LiveSnapshot> {
  const api = createDescopeApi({
    projectId: project.emu.projectId,
    managementKey: project.emu.managementKey,
    baseUrl: project.emu.url,
    budget: { requests: 1000, windowSeconds: 1 },
  });
  try {
    return await readLiveState(api, { all: true });
  } finally {
    api.close();
  }
}

function roleId(project: Project, name: string): string | undefined {
  return project.emu.snapshot().roles.find((r) => r.name === name && !r.tenantId)?.id;
}

function tenantOf(project: Project, id: string) {
  return project.emu.snapshot().tenants.find((x) => x.id === id);
}

/** The files in the environment's backup folder. */
async function backupFiles(project: Project, env = 'remote'): Promise<string[]> {
  try {
    return (await readdir(path.join(project.dir, '.descope', 'backups', env))).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The lines of stderr that report an error. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^\s*error:/.test(line));
}

async function ok(project: Project, args: string[]) {
  const result = await project.run(args, { env: SECRETS });
  assert.equal(result.code, 0, `${args.join(' ')}\n${result.stdout}${result.stderr}`);
  assert.equal(hasStackTrace(result.stdout + result.stderr), false);
  return result;
}

async function backupIdFrom(result: { stdout: string }): Promise<string> {
  const id = /Backup (\S+) of environment "remote"/.exec(result.stdout)?.[1];
  assert.ok(id, `no backup id in:\n${result.stdout}`);
  return id;
}

test('rollback after an apply that created, updated and deleted: all three restored, verified, equal to before, diff empty, audited', async (t) => {
  const project = await createProject({ config: CONFIG_A });
  t.after(() => project.close());
  await ok(project, ['apply', ...REMOTE, '--yes']);
  const before = await readLive(project);
  const idsBefore = { Reader: roleId(project, 'Reader'), Writer: roleId(project, 'Writer') };

  await project.setConfig(CONFIG_B);
  const applied = await ok(project, ['apply', ...REMOTE, '--yes', '--allow-delete']);
  const preApply = /Backup (\S+) taken \(/.exec(applied.stdout)?.[1];
  assert.ok(preApply, applied.stdout);
  for (const line of ['+ tenants/initech created', '~ tenants/acme updated', '~ roles/Writer updated', '~ flows/login updated', '- tenants/globex deleted', '- roles/Auditor deleted']) {
    const [, address, what] = line.split(' ');
    assert.ok(applied.stdout.includes(`✓ ${address} ${what}`), `config B: ${line}\n${applied.stdout}`);
  }
  assert.ok(tenantOf(project, 'initech') && !tenantOf(project, 'globex') && !roleId(project, 'Auditor'), 'config B did not land');
  assert.ok(!project.emu.snapshot().roles.some((r) => r.tenantId === 'globex'), 'the tenant role went with its tenant');

  const rollback = await ok(project, ['rollback', ...REMOTE, '--yes']);
  assert.ok(rollback.stdout.includes(`Restoring backup ${preApply} (pre-apply,`), rollback.stdout);
  assert.match(rollback.stdout, /^ {2}- tenants\/initech$/m, 'the plan deletes the created tenant');
  assert.match(rollback.stdout, /^ {2}\+ tenants\/globex$/m, 'the plan re-creates the deleted tenant');
  assert.match(rollback.stdout, /^Rollback complete: \d+ changes in [\d.]+ s\.$/m);
  assert.match(rollback.stdout, new RegExp(`^Verified: the live project equals backup ${preApply} \\(`, 'm'));
  const own = /Backup (\S+) taken \(/.exec(rollback.stdout)?.[1];
  assert.ok(own && own !== preApply, `the rollback took no backup of its own:\n${rollback.stdout}`);

  // The created tenant is gone; the updated ones are restored; the deleted ones are back, whole.
  assert.equal(tenantOf(project, 'initech'), undefined);
  assert.deepEqual(tenantOf(project, 'acme')!.selfProvisioningDomains, ['acme.com']);
  assert.deepEqual(project.emu.snapshot().roles.find((r) => r.name === 'Writer')!.permissionNames.sort(), ['docs.read', 'docs.write']);
  const globex = tenantOf(project, 'globex');
  assert.ok(globex, 'globex was not re-created');
  assert.deepEqual(globex.defaultRoles.sort(), ['Agent', 'Reader']);
  assert.equal(globex.sso[0]?.oidc?.clientId, 'globex-client', 'globex SSO was not restored');
  assert.ok(project.emu.snapshot().roles.some((r) => r.tenantId === 'globex' && r.name === 'Agent'), 'the tenant role of globex was not restored');
  const settings = globex.settings as { sessionTokenExpiration?: unknown; sessionTokenExpirationUnit?: unknown; JITDisabled?: unknown } | null;
  assert.deepEqual(
    [settings?.sessionTokenExpiration, settings?.sessionTokenExpirationUnit, settings?.JITDisabled],
    [20, 'minutes', true],
    `globex settings were not restored: ${JSON.stringify(settings)}`,
  );
  assert.ok(roleId(project, 'Auditor'), 'Auditor was not re-created');
  assert.deepEqual({ Reader: roleId(project, 'Reader'), Writer: roleId(project, 'Writer') }, idsBefore, 'a kept role got a new id');

  // The live project equals what it was after config A (canonical state: every kind, settings, SSO, flow documents).
  const after = await readLive(project);
  for (const kind of Object.keys(before.state) as (keyof typeof before.state)[]) {
    assert.deepEqual(after.state[kind], before.state[kind], `${kind} differs after the rollback`);
  }
  assert.deepEqual(Object.keys(after.state).sort(), Object.keys(before.state).sort());
  assert.deepEqual(Object.keys(after.handles.roleIds).sort(), Object.keys(before.handles.roleIds).sort());

  await project.setConfig(CONFIG_A);
  const diff = await ok(project, ['diff', ...REMOTE, '--exit-code']);
  assert.match(diff.stdout, /^No changes\./m);

  const audit = await project.audit();
  assert.deepEqual(
    audit.map((r) => [r.command, r.outcome]),
    [['apply', 'applied'], ['apply', 'applied'], ['rollback', 'applied']],
  );
  const record = audit.at(-1)!;
  assert.equal(record.restoredFrom, preApply);
  assert.equal(record.backupId, own);
  assert.equal(audit[1]!.backupId, preApply);
  assert.equal(record.exitStatus, 0);
  const addresses = (record.changes as { address: string; result: string }[]).map((c) => c.address);
  for (const address of ['tenants/initech', 'tenants/globex', 'tenants/acme', 'roles/Writer', 'roles/Auditor', 'flows/login']) {
    assert.ok(addresses.includes(address), `the audit record lacks ${address}: ${addresses.join(', ')}`);
  }
});

test('out-of-band changes are undone by rollback --to a manual backup; a renamed role is renamed back, keeping its id', async (t) => {
  const project = await createProject({ config: CONFIG_A });
  t.after(() => project.close());
  await ok(project, ['apply', ...REMOTE, '--yes', '--no-backup']);
  const manual = await backupIdFrom(await ok(project, ['backup', ...REMOTE]));
  const before = await readLive(project);
  const writerId = roleId(project, 'Writer');
  assert.ok(writerId);

  const sdk = sdkOf(project);
  assert.equal((await sdk.management.tenant.update('acme', 'Acme Hijacked', ['acme.com'])).ok, true);
  assert.equal((await sdk.management.role.delete('Auditor')).ok, true);
  assert.equal((await sdk.management.permission.create('extra.perm', 'added out of band')).ok, true);
  assert.equal((await sdk.management.role.update('Writer', 'Editor', '', ['docs.read', 'docs.write'])).ok, true);
  assert.equal(roleId(project, 'Editor'), writerId, 'the emulator renamed the role in place');

  const writesBefore = project.writes.length;
  const rollback = await ok(project, ['rollback', ...REMOTE, '--to', manual, '--yes']);
  assert.ok(rollback.stdout.includes(`Restoring backup ${manual} (manual,`), rollback.stdout);
  assert.match(rollback.stdout, new RegExp(`^Verified: the live project equals backup ${manual} `, 'm'));

  assert.equal(roleId(project, 'Writer'), writerId, 'the renamed role was not renamed back in place (its id changed)');
  assert.equal(roleId(project, 'Editor'), undefined);
  const roleWrites = project.writes.slice(writesBefore).filter((w) => w.path.includes('/role/'));
  assert.ok(
    !roleWrites.some((w) => w.path.includes('delete') && w.resources.some((r) => r === 'roles/Editor' || r === 'roles/Writer')),
    `the renamed role was deleted: ${JSON.stringify(roleWrites)}`,
  );
  assert.equal(tenantOf(project, 'acme')!.name, 'Acme');
  assert.ok(roleId(project, 'Auditor'), 'the deleted role is back');
  assert.ok(!project.emu.snapshot().permissions.some((p) => p.name === 'extra.perm'), 'the added permission is still there');

  const after = await readLive(project);
  assert.deepEqual(after.state, before.state, 'the live project differs from the backup');

  // The plan shows the rename once: one name change, not the same field twice.
  assert.match(rollback.stdout, /^ {2}~ roles\/Writer {2}\(renamed from roles\/Editor\)$/m);
  const nameLines = rollback.stdout.split('\n').filter((line) => line.trim() === 'name: "Editor" → "Writer"');
  assert.equal(nameLines.length, 1, `the rename's name change is listed ${nameLines.length} times:\n${rollback.stdout}`);
});

test('rollback without --to, after an apply --no-backup: the newest backup taken before that apply, not an older apply\'s', async (t) => {
  const config = (name: string) => `import { defineConfig, tenant } from 'descope-run';\n\nexport default defineConfig({ tenants: [tenant({ id: 'acme', name: '${name}' })] });\n`;
  const project = await createProject({ config: config('Acme') });
  t.after(() => project.close());
  const first = await ok(project, ['apply', ...REMOTE, '--yes']);
  const older = /Backup (\S+) taken \(/.exec(first.stdout)?.[1];
  assert.ok(older, first.stdout);
  const manual = await backupIdFrom(await ok(project, ['backup', ...REMOTE]));
  await project.setConfig(config('Acme Two'));
  await ok(project, ['apply', ...REMOTE, '--yes', '--no-backup']);

  const rollback = await ok(project, ['rollback', ...REMOTE, '--yes']);
  assert.ok(
    rollback.stdout.includes(`Restoring backup ${manual} (manual,`),
    `expected the newest backup before the last apply (${manual}), not the one before an older apply (${older}):\n${rollback.stdout}`,
  );
  assert.equal(tenantOf(project, 'acme')?.name, 'Acme', 'the rollback did not undo just the last apply');
});

test('refusals write nothing (no --yes off a terminal, another environment, no backup); --only restores one address', async (t) => {
  const project = await createProject({ config: CONFIG_A });
  t.after(() => project.close());
  await ok(project, ['apply', ...REMOTE, '--yes', '--no-backup']);

  const none = await project.run(['rollback', ...REMOTE, '--yes']);
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.equal(hasStackTrace(none.stdout + none.stderr), false, none.stderr);
  assert.equal(errorLines(none.stderr).length, 1, none.stderr);
  assert.match(none.stderr, /environment "remote": the last apply \([^)]+\) took no backup and there is none from before it/);

  const manual = await backupIdFrom(await ok(project, ['backup', ...REMOTE]));
  const sdk = sdkOf(project);
  assert.equal((await sdk.management.tenant.update('acme', 'Acme Changed', ['acme.com'])).ok, true);
  assert.equal((await sdk.management.tenant.update('globex', 'Globex Changed', ['globex.io'])).ok, true);
  const writes = project.writeCalls();
  const backupsBefore = await backupFiles(project);

  const unconfirmed = await project.run(['rollback', ...REMOTE, '--to', manual]);
  assert.equal(unconfirmed.code, 1, unconfirmed.stdout + unconfirmed.stderr);
  assert.match(unconfirmed.stdout, /^ {2}~ tenants\/acme$/m, 'the plan is shown before the refusal');
  assert.match(unconfirmed.stderr, /environment "remote": not rolling back without --yes, since this is not a terminal/);
  assert.ok(unconfirmed.stderr.includes(`run "descope-run rollback --env remote --to ${manual} --yes"`), `the hint drops the user's options:\n${unconfirmed.stderr}`);
  assert.equal(hasStackTrace(unconfirmed.stderr), false);

  await project.writeEnvironment('other', remoteEnvironment(project.emu, PROJECT_A));
  const file = path.join(project.dir, '.descope', 'backups', 'remote', `${manual}.json`);
  const foreign = await project.run(['rollback', '--env', 'other', '--to', file, '--yes']);
  assert.equal(foreign.code, 1, foreign.stdout + foreign.stderr);
  assert.equal(errorLines(foreign.stderr).length, 1, foreign.stderr);
  assert.ok(foreign.stderr.includes(`backup ${manual}: is of environment "remote"`), foreign.stderr);
  assert.equal(hasStackTrace(foreign.stderr), false);

  assert.equal(project.writeCalls(), writes, 'a refused rollback wrote');
  assert.deepEqual(await backupFiles(project), backupsBefore, 'a refused rollback took a backup');
  assert.equal(tenantOf(project, 'acme')!.name, 'Acme Changed');
  assert.deepEqual(
    (await project.audit()).map((r) => [r.command, r.outcome]),
    [['apply', 'applied'], ['rollback', 'refused'], ['rollback', 'refused']],
  );
  assert.deepEqual((await project.audit('other')).map((r) => [r.command, r.outcome]), [['rollback', 'refused']]);

  const writesBeforeOnly = project.writes.length;
  const only = await ok(project, ['rollback', ...REMOTE, '--to', manual, '--only', 'tenants/acme', '--yes']);
  assert.match(only.stdout, /Rollback complete: 1 change in/);
  assert.equal(tenantOf(project, 'acme')!.name, 'Acme');
  assert.equal(tenantOf(project, 'globex')!.name, 'Globex Changed', '--only restored another address');
  const touched = [...new Set(project.writes.slice(writesBeforeOnly).flatMap((w) => w.resources))];
  assert.deepEqual(touched, ['tenants/acme'], '--only wrote elsewhere');
  assert.match(only.stdout, /^Verified: the live project equals backup \S+ at tenants\/acme \(/m, 'the verification claims more than --only checked');

  // --only an address the restore deletes (issue 11, item 18): created after the backup, so the
  // restore deletes it, and the verification finds it gone, as asked: exit 0, audited as applied.
  assert.equal((await sdk.management.tenant.createWithId('initech', 'Initech')).ok, true);
  const gone = await ok(project, ['rollback', ...REMOTE, '--to', manual, '--only', 'tenants/initech', '--yes']);
  assert.match(gone.stdout, /✓ tenants\/initech deleted/);
  assert.match(gone.stdout, /^Verified: the live project equals backup \S+ at tenants\/initech \(/m);
  assert.doesNotMatch(gone.stdout + gone.stderr, /--target/);
  assert.equal(tenantOf(project, 'initech'), undefined);
  assert.equal(tenantOf(project, 'globex')!.name, 'Globex Changed');
  // An --only that names nothing: the error names --only (the user's option) and the backup.
  const nothing = await project.run(['rollback', ...REMOTE, '--to', manual, '--only', 'tenants/nope', '--yes']);
  assert.equal(nothing.code, 1, nothing.stdout + nothing.stderr);
  assert.equal(errorLines(nothing.stderr).length, 1, nothing.stderr);
  assert.ok(nothing.stderr.includes(`error: --only tenants/nope: no such address in backup ${manual} or the live project`), nothing.stderr);
  assert.doesNotMatch(nothing.stdout + nothing.stderr, /--target/);
  const records = (await project.audit()).slice(-2);
  assert.deepEqual(records.map((r) => [r.outcome, r.exitStatus]), [['applied', 0], ['refused', 1]], 'the audit outcome disagrees with the exit status');
});

test('an OIDC configuration restored without its secret says so; an updated one keeps its live secret', async (t) => {
  const withAcmeOidc = (config: string) =>
    config.replace(ACME_SSO, ACME_SSO.replace(/type: 'saml',[\s\S]*?domains/, "type: 'oidc', name: 'Acme IdP', clientId: 'acme-client', clientSecret: { env: 'ACME_OIDC_SECRET' }, domains"));
  const configA = withAcmeOidc(CONFIG_A);
  assert.notEqual(configA, CONFIG_A);
  const project = await createProject({ config: configA });
  t.after(() => project.close());
  await ok(project, ['apply', ...REMOTE, '--yes']);
  assert.equal(tenantOf(project, 'globex')!.sso[0]?.oidcClientSecret, SECRET);

  await project.setConfig(withAcmeOidc(CONFIG_B).replace("name: 'Acme IdP'", "name: 'Acme IdP v2'"));
  await ok(project, ['apply', ...REMOTE, '--yes', '--allow-delete']);
  assert.equal(tenantOf(project, 'acme')!.sso[0]?.oidc?.name, 'Acme IdP v2');

  const rollback = await project.run(['rollback', ...REMOTE, '--yes']);
  assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
  assert.ok(
    rollback.stdout.includes('note: tenants/globex/sso: a backup holds no secret; the restored OIDC configuration has no client secret: set it with apply'),
    rollback.stdout,
  );
  assert.ok(rollback.stdout.includes('note: tenants/acme/sso: a backup holds no secret; the live client secret is left as it is'), rollback.stdout);
  assert.match(rollback.stdout, /^Verified: /m);
  assert.equal(tenantOf(project, 'acme')!.sso[0]?.oidc?.name, 'Acme IdP');
  assert.equal(tenantOf(project, 'acme')!.sso[0]?.oidcClientSecret, 'acme-oidc-secret-value', 'the live secret was not left as it is');
  assert.notEqual(tenantOf(project, 'globex')!.sso[0]?.oidcClientSecret, SECRET);
});

test('a backup is what its name and place say: swapped files, another project\'s backup, and the default rollback are refused, and list shows them damaged', async (t) => {
  const project = await createProject({ config: `import { defineConfig, tenant } from 'descope-run';\n\nexport default defineConfig({ tenants: [tenant({ id: 'acme', name: 'Acme' })] });\n` });
  t.after(() => project.close());
  // The apply's backup holds the project before it: empty. The manual one holds acme.
  const applied = await ok(project, ['apply', ...REMOTE, '--yes']);
  const empty = /Backup (\S+) taken \(/.exec(applied.stdout)?.[1];
  assert.ok(empty, applied.stdout);
  const full = await backupIdFrom(await ok(project, ['backup', ...REMOTE]));
  const dir = path.join(project.dir, '.descope', 'backups', 'remote');
  const fileOf = (id: string) => path.join(dir, `${id}.json`);
  const [emptyText, fullText] = await Promise.all([readFile(fileOf(empty), 'utf8'), readFile(fileOf(full), 'utf8')]);
  await Promise.all([writeFile(fileOf(empty), fullText), writeFile(fileOf(full), emptyText)]);
  // Another project's backup, intact (checksum and all), under its own id in this environment's folder.
  const foreignId = '2000-01-01T00-00-00-000Z';
  const { checksum: _checksum, ...rest }: Record<string, unknown> = { ...(JSON.parse(fullText) as Record<string, unknown>), id: foreignId, projectId: 'P2someOtherProject0000000000' };
  await writeFile(fileOf(foreignId), JSON.stringify({ ...rest, checksum: fingerprint(rest) }));
  const writes = project.writeCalls();

  const cases: [string[], RegExp][] = [
    [['--to', full], new RegExp(`^error: \\.descope/backups/remote/${full}\\.json: holds backup ${empty}, not ${full} as its name says: the file was renamed or swapped, and is refused$`, 'm')],
    [[], new RegExp(`^error: \\.descope/backups/remote/${empty}\\.json: holds backup ${full}, not ${empty} as its name says`, 'm')],
    [['--to', foreignId], new RegExp(`^error: backup ${foreignId}: is of project P2someOtherProject0000000000, but environment "remote" is project ${PROJECT_A}$`, 'm')],
  ];
  for (const [args, message] of cases) {
    const refused = await project.run(['rollback', ...REMOTE, ...args, '--yes']);
    assert.equal(refused.code, 1, `rollback ${args.join(' ')}\n${refused.stdout}${refused.stderr}`);
    assert.equal(errorLines(refused.stderr).length, 1, refused.stderr);
    assert.match(refused.stderr, message);
    assert.equal(hasStackTrace(refused.stderr), false);
    assert.doesNotMatch(refused.stdout, /Restoring/);
  }
  assert.equal(project.writeCalls(), writes, 'a refused rollback wrote');
  assert.ok(tenantOf(project, 'acme'), 'acme was deleted');

  const list = await project.run(['backup', 'list', ...REMOTE]);
  assert.equal(list.code, 1, list.stdout + list.stderr);
  for (const id of [empty, full, foreignId]) assert.match(list.stdout, new RegExp(`^${id}\\s+damaged\\s+-\\s+\\S`, 'm'), list.stdout);
  assert.match(list.stdout, new RegExp(`^${full}\\s+damaged\\s+-\\s+.*holds backup ${empty}`, 'm'));
});
