// `descope-run backup` end to end: the real CLI (built bin) against an emulator started in this
// process. A backup is written where and how the issue says (mode 0600, folders 0700, checksum,
// every managed kind, SSO without its secret); list, show, --out and --keep; a truncated or edited
// backup is refused with one line by show and rollback (which writes nothing); and a planted OIDC
// client secret and management key appear in no file under .descope/ and in no output.
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { fingerprint } from '../../src/runtime/index.ts';
import { hasStackTrace, REPO } from '../helpers/cli.ts';
import { createProject, listFiles, modeOf, PROJECT_A, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const OIDC_VAR = 'ACME_OIDC_SECRET';
const CANARY_SECRET = 'canary-oidc-secret-b4c8e1d2-never-written';
const CANARY_KEY = 'canary-management-key-5a9f03c7-never-written';

const LOGIN = {
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
  screens: [{ id: 'SC1', interactions: [{ id: 'go', label: 'Continue' }], htmlTemplate: { ROOT: { text: 'Welcome' } } }],
};

const CONTENTS = '2 tenants, 2 roles, 2 permissions, 1 flow, theme, password policy';

const THEME = { theme: { id: '', cssTemplate: { light: { globals: { colors: { primary: { main: '#4f46e5' } } } } } } };

/** Every managed kind: tenants with settings, default roles and SSO (OIDC with a secret reference, SAML). */
const CONFIG = `import { defineConfig, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read', description: 'Read docs' }), permission({ name: 'docs.write' })],
  roles: [
    role({ name: 'Reader', description: 'Reads', permissions: ['docs.read'] }),
    role({ name: 'Writer', permissions: ['docs.read', 'docs.write'] }),
  ],
  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      defaultRoles: ['Reader'],
      settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } },
      sso: {
        type: 'oidc',
        name: 'Acme Okta',
        clientId: 'acme-client',
        clientSecret: { env: '${OIDC_VAR}' },
        issuer: 'https://idp.example.test',
        scope: ['openid', 'email'],
        domains: ['acme.com'],
      },
    }),
    tenant({
      id: 'globex',
      name: 'Globex',
      sso: {
        type: 'saml',
        idpUrl: 'https://login.globex.test/sso',
        entityId: 'https://login.globex.test/meta',
        idpCert: '-----BEGIN CERTIFICATE-----\\nMIIBglobex\\n-----END CERTIFICATE-----',
        domains: ['globex.io'],
      },
    }),
  ],
  flows: [flow({ id: 'login', json: ${JSON.stringify(LOGIN)} })],
  theme: theme({ json: ${JSON.stringify(THEME)} }),
  passwordPolicy: passwordPolicy({ enabled: true, minLength: 12, lock: true, lockAttempts: 5 }),
});
`;

interface BackupFile {
  format: string;
  version: number;
  id: string;
  kind: string;
  environment: string;
  projectId: string;
  createdAt: string;
  tool: { name: string; version: string };
  scope: Record<string, unknown>;
  state: Record<string, Record<string, unknown> | undefined>;
  roleIds: Record<string, string>;
  checksum: string;
}

async function toolVersion(): Promise<string> {
  return (JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
}

function backupsDir(project: Project, env = 'remote'): string {
  return path.join(project.dir, '.descope', 'backups', env);
}

/** The ids of the environment's backups, oldest first. */
async function backupIds(project: Project, env = 'remote'): Promise<string[]> {
  try {
    return (await readdir(backupsDir(project, env))).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readBackupFile(file: string): Promise<BackupFile> {
  return JSON.parse(await readFile(file, 'utf8')) as BackupFile;
}

/** The lines of stderr that report an error. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^\s*error:/.test(line));
}

async function appliedProject(t: { after: (fn: () => Promise<void>) => void }): Promise<Project> {
  const project = await createProject({ config: CONFIG });
  t.after(() => project.close());
  const applied = await project.run(['apply', ...REMOTE, '--yes', '--no-backup'], { env: { [OIDC_VAR]: CANARY_SECRET } });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  return project;
}

function sdkOf(project: Project) {
  return DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
}

test('backup writes a complete, checksummed snapshot (0600, folders 0700); list, show, --out and --keep', async (t) => {
  const project = await appliedProject(t);
  assert.deepEqual(await backupIds(project), [], 'apply --no-backup took a backup');
  const writesBefore = project.writeCalls();

  const taken = await project.run(['backup', ...REMOTE]);
  assert.equal(taken.code, 0, taken.stdout + taken.stderr);
  assert.equal(project.writeCalls(), writesBefore, 'backup made a write call');
  const [id, ...others] = await backupIds(project);
  assert.ok(id !== undefined && others.length === 0, 'one backup file');
  assert.match(id, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
  const file = path.join(backupsDir(project), `${id}.json`);
  assert.ok(
    taken.stdout.includes(`✓ Backup ${id} of environment "remote" (${CONTENTS}) written to .descope/backups/remote/${id}.json.`),
    taken.stdout,
  );

  assert.equal(await modeOf(file), 0o600, 'the backup file is not 0600');
  for (const dir of ['.descope', '.descope/backups', '.descope/backups/remote']) {
    assert.equal(await modeOf(path.join(project.dir, dir)), 0o700, `${dir} is not 0700`);
  }

  const backup = await readBackupFile(file);
  assert.equal(backup.format, 'descope-run/backup');
  assert.equal(backup.id, id);
  assert.equal(backup.kind, 'manual');
  assert.equal(backup.environment, 'remote');
  assert.equal(backup.projectId, PROJECT_A);
  assert.deepEqual(backup.tool, { name: 'descope-run', version: await toolVersion() });
  assert.ok(Math.abs(Date.parse(backup.createdAt) - Date.now()) < 60_000, `createdAt ${backup.createdAt}`);
  const { checksum, ...rest } = backup;
  assert.match(checksum, /^[0-9a-f]{64}$/);
  assert.equal(checksum, fingerprint(rest), 'the checksum is not the sha256 of the rest');

  // Every managed kind, read from the live project.
  const state = backup.state;
  assert.deepEqual(Object.keys(state.tenants ?? {}).sort(), ['acme', 'globex']);
  assert.deepEqual(state.tenants!.acme, {
    id: 'acme',
    name: 'Acme',
    selfProvisioningDomains: ['acme.com'],
    customAttributes: {},
    enforceSSO: false,
    disabled: false,
    defaultRoles: ['Reader'],
  });
  assert.deepEqual((state.tenantSettings?.acme as { sessionTokenExpiration?: unknown } | undefined)?.sessionTokenExpiration, { value: 10, unit: 'minutes' });
  assert.ok(state.tenantSettings?.globex, 'the settings of a tenant the config gives none are not backed up');
  const acmeSso = state.tenantSso?.acme as Record<string, unknown> | undefined;
  assert.equal(acmeSso?.type, 'oidc');
  assert.equal(acmeSso?.clientId, 'acme-client');
  assert.deepEqual(acmeSso?.domains, ['acme.com']);
  assert.ok(
    acmeSso?.clientSecret === undefined || JSON.stringify(acmeSso.clientSecret) === '{"writeOnly":true}',
    `the backup holds a client secret: ${JSON.stringify(acmeSso?.clientSecret)}`,
  );
  assert.equal((state.tenantSso?.globex as Record<string, unknown> | undefined)?.type, 'saml');
  assert.deepEqual(Object.keys(state.roles ?? {}).sort(), ['roles/Reader', 'roles/Writer']);
  assert.deepEqual((state.roles!['roles/Writer'] as { permissions: string[] }).permissions, ['docs.read', 'docs.write']);
  const emuRoles = project.emu.snapshot().roles;
  assert.deepEqual(backup.roleIds, {
    'roles/Reader': emuRoles.find((r) => r.name === 'Reader')!.id,
    'roles/Writer': emuRoles.find((r) => r.name === 'Writer')!.id,
  });
  assert.deepEqual(state.permissions?.['docs.read'], { name: 'docs.read', description: 'Read docs' });
  assert.ok(state.permissions?.['docs.write']);
  const login = state.flows?.login as { flow: { name: string }; screens: { id: string }[] } | undefined;
  assert.equal(login?.flow.name, 'Login', 'the flow document is not in the backup');
  assert.deepEqual(login?.screens.map((s) => s.id), ['SC1']);
  assert.ok(state.flowSummaries?.login);
  assert.deepEqual((state.theme as { cssTemplate: unknown } | undefined)?.cssTemplate, THEME.theme.cssTemplate);
  assert.equal((state.passwordPolicy as { minLength?: number } | undefined)?.minLength, 12);
  assert.equal((state.passwordPolicy as { lockAttempts?: number } | undefined)?.lockAttempts, 5);

  const show = await project.run(['backup', 'show', id, ...REMOTE]);
  assert.equal(show.code, 0, show.stdout + show.stderr);
  assert.match(show.stdout, new RegExp(`^Backup ${id} \\(manual\\) of environment "remote", project ${PROJECT_A}$`, 'm'));
  assert.ok(show.stdout.includes(`checksum ${checksum.slice(0, 16)}… verified`), show.stdout);
  assert.ok(show.stdout.includes(`holds: ${CONTENTS}`), show.stdout);
  for (const address of ['tenants/acme', 'tenants/globex', 'roles/Reader', 'roles/Writer', 'permissions/docs.read', 'permissions/docs.write', 'flows/login']) {
    assert.ok(show.stdout.split('\n').includes(`  ${address}`), `show does not list ${address}:\n${show.stdout}`);
  }

  const out = await project.run(['backup', ...REMOTE, '--out', 'snapshots/here.json']);
  assert.equal(out.code, 0, out.stdout + out.stderr);
  const outFile = path.join(project.dir, 'snapshots', 'here.json');
  const written = await readBackupFile(outFile);
  assert.equal(written.kind, 'manual');
  assert.equal(await modeOf(outFile), 0o600);
  assert.deepEqual(written.state, backup.state, 'the --out backup holds another state');
  assert.deepEqual(await backupIds(project), [id], '--out also wrote into .descope/backups/');

  // Three backups in the folder, then --keep 2: the two newest are left.
  const second = await project.run(['backup', ...REMOTE]);
  assert.equal(second.code, 0, second.stderr);
  const third = await project.run(['backup', ...REMOTE, '--keep', '2']);
  assert.equal(third.code, 0, third.stdout + third.stderr);
  assert.match(third.stdout, /Removed 1 older backup \(--keep 2\)\./);
  const kept = await backupIds(project);
  assert.equal(kept.length, 2, `kept: ${kept.join(', ')}`);
  assert.ok(kept.every((k) => k > id), `the oldest backup was kept: ${kept.join(', ')}`);

  const list = await project.run(['backup', 'list', ...REMOTE]);
  assert.equal(list.code, 0, list.stdout + list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ID\s+KIND\s+PROJECT\s+CONTENTS$/);
  assert.deepEqual(
    lines.slice(1).map((line) => line.split(/\s{2,}/)),
    [...kept].reverse().map((k) => [k, 'manual', PROJECT_A, CONTENTS]),
    'list shows the kept backups, newest first',
  );
});

test('a truncated or edited backup is refused by show and rollback: one line, exit 1, no stack trace, no write', async (t) => {
  const project = await createProject({ config: "import { defineConfig } from 'descope-run';\n\nexport default defineConfig({});\n" });
  t.after(() => project.close());
  const sdk = sdkOf(project);
  assert.equal((await sdk.management.tenant.createWithId('acme', 'Acme')).ok, true);
  const taken = await project.run(['backup', ...REMOTE]);
  assert.equal(taken.code, 0, taken.stdout + taken.stderr);
  const [id] = await backupIds(project);
  const file = path.join(backupsDir(project), `${id}.json`);
  const original = await readFile(file, 'utf8');
  // A change a rollback would undo: one that read a broken backup would write.
  assert.equal((await sdk.management.tenant.update('acme', 'Acme Changed')).ok, true);

  const tampered = JSON.parse(original) as BackupFile;
  (tampered.state.tenants!.acme as { name: string }).name = 'Acme Evil';
  const cases: { what: string; text: string; message: RegExp; to: string }[] = [
    { what: 'truncated', text: original.slice(0, Math.floor(original.length / 2)), message: /is not JSON \(.*\): the backup is corrupt/, to: id! },
    {
      what: 'tampered',
      text: JSON.stringify(tampered, null, 1),
      message: /its checksum does not match its content: the backup is corrupt or was edited, and is refused/,
      to: file,
    },
  ];
  for (const { what, text, message, to } of cases) {
    await writeFile(file, text);
    const show = await project.run(['backup', 'show', id!, ...REMOTE]);
    assert.equal(show.code, 1, `${what}: show\n${show.stdout}${show.stderr}`);
    assert.equal(hasStackTrace(show.stdout + show.stderr), false, show.stderr);
    assert.equal(errorLines(show.stderr).length, 1, show.stderr);
    assert.match(show.stderr, message);
    assert.ok(show.stderr.includes(`.descope/backups/remote/${id}.json`), `the message does not name the file:\n${show.stderr}`);
    assert.equal(show.stdout, '', `${what}: show printed a summary`);

    const writesBefore = project.writeCalls();
    const rollback = await project.run(['rollback', ...REMOTE, '--to', to, '--yes']);
    assert.equal(rollback.code, 1, `${what}: rollback --to ${to}\n${rollback.stdout}${rollback.stderr}`);
    assert.equal(hasStackTrace(rollback.stdout + rollback.stderr), false, rollback.stderr);
    assert.equal(errorLines(rollback.stderr).length, 1, rollback.stderr);
    assert.match(rollback.stderr, message);
    assert.doesNotMatch(rollback.stdout, /Restoring|Rollback complete|Verified/);
    assert.equal(project.writeCalls(), writesBefore, `${what}: rollback made a write call`);
    assert.equal(project.emu.snapshot().tenants[0]!.name, 'Acme Changed');
    assert.deepEqual(await backupIds(project), [id], `${what}: the refused rollback took a backup`);
  }
  const list = await project.run(['backup', 'list', ...REMOTE]);
  assert.equal(list.code, 1, 'list exits 0 with a damaged backup');
  assert.match(list.stdout, new RegExp(`^${id}\\s+corrupt\\s`, 'm'));
  assert.deepEqual(
    (await project.audit()).map((r) => [r.command, r.outcome]),
    [['rollback', 'refused'], ['rollback', 'refused']],
    'each refused rollback is in the audit log, and not as applied',
  );
});

test('secrets: a planted OIDC client secret and management key are in no file under .descope/ and in no output', async (t) => {
  const project = await createProject({ config: CONFIG, managementKey: CANARY_KEY });
  t.after(() => project.close());
  const env = { [OIDC_VAR]: CANARY_SECRET };
  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const result = await project.run(args, { env });
    outputs.push(result.stdout, result.stderr);
    assert.equal(result.code, 0, `${args.join(' ')}\n${result.stdout}${result.stderr}`);
    return result;
  };

  await run(['apply', ...REMOTE, '--yes']); // takes an (empty) pre-apply backup
  const acme = project.emu.snapshot().tenants.find((x) => x.id === 'acme')!;
  assert.equal(acme.sso[0]?.oidcClientSecret, CANARY_SECRET, 'the secret was not planted in the emulator');
  await run(['backup', ...REMOTE]);
  const [manual] = await backupIds(project);

  // An apply that deletes the OIDC tenant (so its pre-apply backup holds the deleted SSO) and
  // changes the other one; then a rollback to that backup, and one to the manual backup.
  const withoutAcme = CONFIG.replace('  tenants: [', '  prune: { tenants: true },\n  tenants: [')
    .replace(/ {4}tenant\(\{\n {6}id: 'acme',[\s\S]*?\n {4}\}\),\n/, '')
    .replace("name: 'Globex'", "name: 'Globex Changed'");
  assert.ok(!withoutAcme.includes("id: 'acme'") && withoutAcme.includes('prune'), withoutAcme);
  await project.setConfig(withoutAcme);
  const deleted = await run(['apply', ...REMOTE, '--yes', '--allow-delete']);
  assert.match(deleted.stdout, /✓ tenants\/acme deleted/);
  const restored = await run(['rollback', ...REMOTE, '--yes']);
  assert.match(restored.stdout, /Verified: the live project equals backup/);
  await run(['rollback', ...REMOTE, '--to', manual!, '--yes']);

  // One per apply and rollback (taken before its first write), and the manual one.
  const files = await listFiles(path.join(project.dir, '.descope'));
  const backups = files.filter((f) => f.includes(`${path.sep}backups${path.sep}`));
  assert.equal(backups.length, 5, `backups written: ${backups.map((f) => path.basename(f)).join(', ')}`);
  assert.ok(files.some((f) => f.endsWith(path.join('audit', 'remote.jsonl'))), 'the audit log was not written');
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(CANARY_SECRET), `the OIDC client secret is in ${path.relative(project.dir, file)}`);
    assert.ok(!text.includes(CANARY_KEY), `the management key is in ${path.relative(project.dir, file)}`);
  }
  for (const text of outputs) {
    assert.ok(!text.includes(CANARY_SECRET), `the OIDC client secret was printed:\n${text}`);
    assert.ok(!text.includes(CANARY_KEY), `the management key was printed:\n${text}`);
  }
});

test('--keep keeps the backup the default rollback restores, and says so; once it is gone, rollback says which it looked for and what to do', async (t) => {
  const project = await createProject({ config: "import { defineConfig, tenant } from 'descope-run';\n\nexport default defineConfig({ tenants: [tenant({ id: 'acme', name: 'Acme' })] });\n" });
  t.after(() => project.close());
  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  const [preApply] = await backupIds(project);
  assert.ok(preApply);
  const first = await project.run(['backup', ...REMOTE]);
  assert.equal(first.code, 0, first.stderr);
  const [, older] = await backupIds(project);

  const pruned = await project.run(['backup', ...REMOTE, '--keep', '1']);
  assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
  const ids = await backupIds(project);
  assert.equal(ids.length, 2, `kept: ${ids.join(', ')}`);
  assert.ok(ids.includes(preApply) && !ids.includes(older!), `kept: ${ids.join(', ')}; the apply's backup is ${preApply}`);
  assert.ok(
    pruned.stdout.includes(`Removed 1 older backup (--keep 1); kept ${preApply} as well: the default rollback restores it.`),
    pruned.stdout,
  );

  // Deleted by hand: rollback names the backup it looked for, says it is gone, and what to do.
  await rm(path.join(backupsDir(project), `${preApply}.json`));
  const writes = project.writeCalls();
  const rollback = await project.run(['rollback', ...REMOTE, '--yes']);
  assert.equal(rollback.code, 1, rollback.stdout + rollback.stderr);
  assert.equal(errorLines(rollback.stderr).length, 1, rollback.stderr);
  assert.match(
    rollback.stderr,
    new RegExp(`^error: backup ${preApply}: the default rollback restores the backup the last apply \\([^)]+\\) took, and it is gone from \\.descope/backups/remote/$`, 'm'),
  );
  assert.match(rollback.stderr, /^ {2}hint: .*--to .*descope-run backup list --env remote/m);
  assert.equal(hasStackTrace(rollback.stderr), false);
  assert.equal(project.writeCalls(), writes, 'the refused rollback wrote');
});
