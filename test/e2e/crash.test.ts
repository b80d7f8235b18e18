// Crash safety with real processes: an apply SIGKILLed at chosen points (after the Nth write the
// emulator applied, or while it is still reading), then applied again, from the same checkout or
// from another checkout of the repository on the machine. The re-run takes over the dead run's lock
// at once (this boot, this pid namespace, its pid gone), reports how far the killed run got (its
// journal, next to the lock in the lock folder) and where it ran, and records it in the killed
// run's audit log as `interrupted`, then finishes the work: live equals the config (diff: No changes.), and across
// both runs nothing was written twice (each tenant, role, permission and flow created or imported
// once; no create refused as "already exists"). The killed run's backup reads back with its checksum,
// and `audit` works, a torn last line included (reported, skipped).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, cleanEnv, hasStackTrace, type CliResult } from '../helpers/cli.ts';
import { createProject, PROJECT_A, TEST_KEY, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const lockFile = (project: Project): string => path.join(project.lockDir, `project-${PROJECT_A}.lock`);
const journalFile = (project: Project): string => path.join(project.lockDir, `project-${PROJECT_A}.journal`);

/** 4 permissions, 2 project roles, 2 tenant roles, 4 tenants (settings, default roles), a password policy, a flow. */
const CONFIG = `import { defineConfig, flow, passwordPolicy, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: ['a', 'b', 'c', 'd'].map((name) => permission({ name: \`docs.\${name}\` })),
  roles: [
    role({ name: 'Reader', permissions: ['docs.a'] }),
    role({ name: 'Writer', permissions: ['docs.a', 'docs.b'] }),
    role({ name: 'Agent', tenant: 't0', permissions: ['docs.c'] }),
    role({ name: 'Agent', tenant: 't1', permissions: ['docs.d'] }),
  ],
  tenants: [0, 1, 2, 3].map((i) =>
    tenant({
      id: \`t\${i}\`,
      name: \`Tenant \${i}\`,
      defaultRoles: i < 2 ? ['Agent', 'Reader'] : ['Writer'],
      settings: { sessionTokenExpiration: { value: 10 + i, unit: 'minutes' } },
    }),
  ),
  passwordPolicy: passwordPolicy({ minLength: 12 }),
  flows: [flow({ id: 'login', template: 'login.json.njk' })],
});
`;

const TEMPLATE = JSON.stringify({
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
  screens: [{ id: 'SC1', interactions: [{ id: 'go', label: 'Go' }], htmlTemplate: { ROOT: { text: 'Welcome' } } }],
});

/** What the emulator applied, per `Action resource`, across every run. */
function watchWrites(project: Project): Map<string, number> {
  const done = new Map<string, number>();
  project.emu.on('write', (event) => {
    for (const record of event.records) {
      const key = `${record.action} ${String(record.data.resource)}`;
      done.set(key, (done.get(key) ?? 0) + 1);
    }
  });
  return done;
}

async function crashProject(): Promise<{ project: Project; done: Map<string, number> }> {
  const project = await createProject({ config: CONFIG });
  await mkdir(path.join(project.dir, 'templates'));
  await writeFile(path.join(project.dir, 'templates', 'login.json.njk'), TEMPLATE);
  project.emu.setFaults({ latencyMs: 40 });
  return { project, done: watchWrites(project) };
}

/**
 * Starts apply and SIGKILLs it when `when` says so (called on every request the emulator logs
 * and every write it applies, with the count of writes so far). Resolves with the child's pid and
 * how it ended.
 */
async function applyKilled(project: Project, when: (event: 'request' | 'write', writes: number, path: string) => boolean): Promise<{ pid: number; result: CliResult & { signal: NodeJS.Signals | null } }> {
  const child = spawn(process.execPath, [BIN, 'apply', ...REMOTE, '--yes'], { cwd: project.dir, env: cleanEnv({ TEST_MGMT_KEY: TEST_KEY, DESCOPE_RUN_LOCK_DIR: project.lockDir }), stdio: ['ignore', 'pipe', 'pipe'] });
  let writes = 0;
  const check = (event: 'request' | 'write', at: string): void => {
    if (child.exitCode === null && child.signalCode === null && when(event, writes, at)) child.kill('SIGKILL');
  };
  const offWrite = project.emu.on('write', (e) => {
    writes += 1;
    check('write', e.path);
  });
  const offRequest = project.emu.on('request', (e) => check('request', e.path));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = await new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  offWrite();
  offRequest();
  // What the killed run had sent still lands: the emulator answers into the void.
  await new Promise((resolve) => setTimeout(resolve, 150));
  return { pid: child.pid!, result };
}

/** Every `Action resource` applied once at most, and every resource of the config created (imported) exactly once. */
function assertNothingTwice(project: Project, done: Map<string, number>): void {
  assert.deepEqual([...done].filter(([, n]) => n > 1), [], 'a write was done twice');
  const created = [...done.keys()].filter((k) => /^(TenantCreated|RoleCreated|PermissionCreated|FlowImported) /.test(k)).sort();
  assert.deepEqual(created, [
    'FlowImported flows/login',
    'PermissionCreated permissions/docs.a',
    'PermissionCreated permissions/docs.b',
    'PermissionCreated permissions/docs.c',
    'PermissionCreated permissions/docs.d',
    'RoleCreated roles/Reader',
    'RoleCreated roles/Writer',
    'RoleCreated roles/t0/Agent',
    'RoleCreated roles/t1/Agent',
    'TenantCreated tenants/t0',
    'TenantCreated tenants/t1',
    'TenantCreated tenants/t2',
    'TenantCreated tenants/t3',
  ]);
  assert.equal(project.emu.log.countStatus(409), 0, 'a create was answered "already exists"');
  const state = project.emu.snapshot();
  assert.deepEqual(state.tenants.map((t) => t.id).sort(), ['t0', 't1', 't2', 't3']);
  assert.equal(new Set(state.roles.map((r) => `${r.tenantId ?? ''}/${r.name}`)).size, state.roles.length, 'no two roles with one name');
}

async function backupIds(project: Project): Promise<string[]> {
  const dir = path.join(project.dir, '.descope', 'backups', 'remote');
  return existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -5)) : [];
}

async function assertBackupsRead(project: Project): Promise<void> {
  for (const id of await backupIds(project)) {
    const shown = await project.run(['backup', 'show', id, ...REMOTE]);
    assert.equal(shown.code, 0, `backup ${id}: ${shown.stdout}${shown.stderr}`);
  }
}

for (const { name, afterWrites, elsewhere } of [
  { name: 'after the first write (the permissions batch)', afterWrites: 1, elsewhere: false },
  // Tenants created, their roles and default roles not: the re-plan once made a dependency cycle of it.
  { name: 'mid-way, among the tenant creates', afterWrites: 5, elsewhere: true },
  { name: 'after the last write, before it recorded anything', afterWrites: 17, elsewhere: false },
]) {
  test(`apply killed ${name}: the re-run${elsewhere ? ', from another checkout,' : ''} finishes it without redoing anything`, async (t) => {
    const { project, done } = await crashProject();
    t.after(() => project.close());
    const { pid, result } = await applyKilled(project, (event, writes) => event === 'write' && writes === afterWrites);
    assert.equal(result.signal, 'SIGKILL', `killed: ${result.stdout}${result.stderr}`);

    // What the killed run left: its lock (a dead pid on this host), its journal, its backup.
    const lock = JSON.parse(await readFile(lockFile(project), 'utf8')) as { pid: number; host: string; checkout: string };
    assert.deepEqual([lock.pid, lock.host, lock.checkout], [pid, os.hostname(), project.dir]);
    const journal = (await readFile(journalFile(project), 'utf8')).split('\n').filter(Boolean);
    const start = JSON.parse(journal[0]!) as { type: string; checkout: string };
    assert.deepEqual([start.type, start.checkout], ['start', project.dir]);
    const [killedBackup] = await backupIds(project);
    assert.ok(killedBackup, 'the killed run took its backup before writing');
    await assertBackupsRead(project);

    const checkout = elsewhere ? await project.checkout() : project;
    const rerun = await checkout.run(['apply', ...REMOTE, '--yes']);
    const output = rerun.stdout + rerun.stderr;
    assert.equal(rerun.code, 0, output);
    assert.equal(hasStackTrace(output), false, output);
    const dir = project.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(rerun.stderr, new RegExp(`^warning: took over the lock of apply --env remote in ${dir} \\(pid ${pid} on host [^)]+\\): pid ${pid} is no longer running$`, 'm'));
    const log = elsewhere ? `${dir}/\\.descope/audit/remote\\.jsonl` : '\\.descope/audit/remote\\.jsonl';
    const interrupted = new RegExp(
      `^warning: the previous apply \\(pid ${pid} on host [^,]+, started [^,]+, in ${dir}\\) was interrupted after (\\d+) of 18 changes \\(recorded in ${log}\\); re-planning from the live project$`,
      'm',
    ).exec(rerun.stderr);
    assert.ok(interrupted, rerun.stderr);
    assert.deepEqual(await readdir(project.lockDir), [], 'lock released, journal consumed');

    const diff = await checkout.run(['diff', ...REMOTE]);
    assert.match(diff.stdout, /^No changes\. The live project matches the config\.$/m, diff.stdout + diff.stderr);
    assertNothingTwice(project, done);
    await assertBackupsRead(project);

    // The killed run's record is in its own checkout's audit log; the re-run's in the re-run's.
    const audit = [...(await project.audit()), ...(elsewhere ? await checkout.audit() : [])];
    assert.deepEqual(audit.map((r) => r.outcome), afterWrites === 17 ? ['interrupted', 'no-changes'] : ['interrupted', 'applied']);
    const [killed] = audit;
    assert.equal(killed!.backupId, killedBackup);
    assert.match(String(killed!.error), new RegExp(`^interrupted \\(killed\\?\\) after ${interrupted[1]} of 18 changes`));
    const results = (killed!.changes as { result: string }[]).map((c) => c.result);
    assert.equal(results.length, 18);
    assert.equal(results.filter((r) => r === 'done').length, Number(interrupted[1]));
    const table = await project.run(['audit', ...REMOTE]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\binterrupted\b/);
  });
}

test('apply killed while reading the live project, with a torn line in the audit log: the lock is taken over, audit reports the line', async (t) => {
  const { project, done } = await crashProject();
  t.after(() => project.close());
  // A tenant list read means: connected, lock taken, reading; no backup, no journal, no write yet.
  const { pid, result } = await applyKilled(project, (event, _writes, at) => event === 'request' && at === '/v1/mgmt/tenant/all');
  assert.equal(result.signal, 'SIGKILL');
  assert.equal(existsSync(lockFile(project)), true);
  assert.equal(existsSync(journalFile(project)), false);
  assert.deepEqual(await backupIds(project), []);
  assert.equal(project.writeCalls(), 0);

  // A record cut short by a full disk or a power cut: the next one must start on a line of its own.
  const auditFile = path.join(project.dir, '.descope', 'audit', 'remote.jsonl');
  await mkdir(path.dirname(auditFile), { recursive: true, mode: 0o700 });
  await appendFile(auditFile, '{"version":1,"time":"2026-11-21T12:00:00.000Z","command":"apply","us', { mode: 0o600 });

  const rerun = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  assert.match(rerun.stderr, new RegExp(`took over the lock of apply --env remote in .* \\(pid ${pid} `));
  assert.doesNotMatch(rerun.stderr, /was interrupted/);
  assertNothingTwice(project, done);

  const table = await project.run(['audit', ...REMOTE]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stderr, /^warning: \.descope\/audit\/remote\.jsonl:1: not a valid audit record \(a torn write\?\); skipped$/m);
  assert.match(table.stdout, /\bapplied\b/);
  const json = await project.run(['audit', ...REMOTE, '--json']);
  assert.deepEqual((JSON.parse(json.stdout) as { outcome: string }[]).map((r) => r.outcome), ['applied']);
});
