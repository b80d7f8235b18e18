// One apply at a time per project, with real processes (every run here spawns the bin: a lock is
// about processes) and the lock folder every checkout on the
// machine shares (DESCOPE_RUN_LOCK_DIR, the project's own here): while one apply writes, a second
// apply, a rollback, an apply from another checkout of the repository and one through another
// environment file naming the same project each stop at once with one line naming the holder, and
// write nothing. A lock whose holder is provably dead (this boot, this pid namespace, pid gone) is
// taken over with a warning; one whose holder runs in another pid namespace is judged by its
// heartbeat only (a real holder under `unshare --pid` when the machine allows it, and always one
// planted with another namespace's id and a dead pid); one from another host never. An unreadable
// lock is taken over only once it is a minute old; of several processes racing to take over one
// stale lock exactly one wins; diff reads through a held lock. The emulator command holds the
// emulated project of its state file while it serves it.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BIN, cleanEnv, hasStackTrace, REPO, type CliResult } from '../helpers/cli.ts';
import { createProject, modeOf, PROJECT_A, remoteEnvironment, TEST_KEY, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const LOCK_NAME = `project-${PROJECT_A}.lock`;
const lockFile = (project: Project): string => path.join(project.lockDir, LOCK_NAME);

// Who this test process is, as the lock records it: a lock planted with these is "this machine, this pid namespace".
const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const PID_NS = readlinkSync('/proc/self/ns/pid');
const HOST = os.hostname();
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const SMALL = `import { defineConfig, permission, role } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
});
`;

/** 24 tenants with settings: dozens of writes, a few seconds at 150 ms latency. */
const MANY = `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: Array.from({ length: 24 }, (_, i) =>
    tenant({ id: \`t\${i}\`, name: \`Tenant \${i}\`, defaultRoles: ['Reader'], settings: { sessionTokenExpiration: { value: 10 + i, unit: 'minutes' } } }),
  ),
});
`;

/** The CLI as a child process whose pid the test knows (`wrap` runs it under another command, e.g. unshare). */
function startCli(project: Project, args: string[], options: { cwd?: string; wrap?: string[] } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const [command, ...rest] = [...(options.wrap ?? []), process.execPath, BIN, ...args];
  const child = spawn(command!, rest, {
    cwd: options.cwd ?? project.dir,
    env: cleanEnv({ TEST_MGMT_KEY: TEST_KEY, DESCOPE_RUN_LOCK_DIR: project.lockDir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^\s*error:/.test(line));
}

/** A pid that ran on this host and is gone now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid!;
}

/** A lock as a holder of this machine and pid namespace writes it, with `fields` changed; `ageMs`: its last heartbeat. */
async function plantLock(project: Project, fields: Record<string, unknown>, ageMs = 0): Promise<string> {
  const record = { pid: 1, host: HOST, user: 'alice', command: 'apply', startedAt: '2026-01-02T03:04:05.000Z', bootId: BOOT_ID, pidNamespace: PID_NS, ...fields };
  return plantRaw(project, JSON.stringify(record), ageMs);
}

async function plantRaw(project: Project, content: string, ageMs = 0): Promise<string> {
  const file = lockFile(project);
  await writeFile(file, content, { mode: 0o600 });
  const at = new Date(Date.now() - ageMs);
  await utimes(file, at, at);
  return file;
}

async function backups(dir: string): Promise<string[]> {
  const folder = path.join(dir, '.descope', 'backups', 'remote');
  return existsSync(folder) ? (await readdir(folder)).filter((n) => n.endsWith('.json')) : [];
}

test('while an apply writes: a second apply, a rollback, another checkout and another environment file of the project each exit 1 at once naming the holder; the first completes alone', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const setup = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(setup.code, 0, setup.stdout + setup.stderr);
  assert.equal((await backups(project.dir)).length, 1);

  await project.setConfig(MANY);
  // Another environment file naming the same project, and a second checkout of the repository.
  await project.writeEnvironment('remote-2', remoteEnvironment(project.emu, PROJECT_A));
  const other = await project.checkout();
  project.emu.setFaults({ latencyMs: 150 });
  const done = new Map<string, number>();
  project.emu.on('write', (event) => {
    for (const record of event.records) done.set(`${record.action} ${String(record.data.resource)}`, (done.get(`${record.action} ${String(record.data.resource)}`) ?? 0) + 1);
  });
  const firstWrite = new Promise<void>((resolve) => project.emu.on('write', () => resolve()));
  const writesBefore = project.writeCalls();
  const first = startCli(project, ['apply', ...REMOTE, '--yes']);
  await firstWrite;
  // The first apply holds the lock and is writing; slow it down so it is still at it meanwhile.
  project.emu.setFaults({ latencyMs: 600 });
  const held = await readFile(lockFile(project), 'utf8').catch(() => '');
  const lockMode = await modeOf(lockFile(project)).catch(() => 0);
  const beat = await stat(lockFile(project)).then((s) => s.mtimeMs, () => 0);

  const contenders = await Promise.all([
    startCli(project, ['apply', ...REMOTE, '--yes']).done,
    startCli(project, ['rollback', ...REMOTE, '--yes']).done,
    startCli(project, ['apply', ...REMOTE, '--yes'], { cwd: other.dir }).done,
    startCli(project, ['apply', '--env', 'remote-2', '--yes']).done,
  ]);
  // The holder beats every 2 s: wait (while it still writes, slowly) until it has, or 10 s passed.
  let heartbeat = beat;
  for (let waited = 0; heartbeat <= beat && waited < 10_000; waited += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    heartbeat = await stat(lockFile(project)).then((s) => s.mtimeMs, () => heartbeat);
  }
  project.emu.setFaults({ latencyMs: 0 });
  const one = await first.done;

  // Each refused: on a lock per folder and environment name, the other checkout and the other environment file both ran.
  assert.deepEqual(contenders.map((r) => r.code), [1, 1, 1, 1], contenders.map((r) => r.stdout + r.stderr).join('\n---\n'));
  const holder = `is locked by apply --env remote in ${escape(project.dir)} \\(pid ${first.child.pid} on host ${escape(HOST)}, user [^,]+, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); wait for it to finish$`;
  for (const [name, env, result] of [
    ['apply #2', 'remote', contenders[0]],
    ['rollback', 'remote', contenders[1]],
    ['apply from another checkout', 'remote', contenders[2]],
    ['apply through another environment file', 'remote-2', contenders[3]],
  ] as const) {
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, `${name}: ${output}`);
    assert.equal(hasStackTrace(output), false, output);
    assert.deepEqual(errorLines(result.stderr).length, 1, `${name}: one error line:\n${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^error: environment "${env}": project ${PROJECT_A} ${holder}`, 'm'), name);
    assert.match(result.stderr, new RegExp(`^ {2}hint: it is running; if it hangs, stop it \\(kill ${first.child.pid}\\) and run (apply|rollback) again`, 'm'), name);
    // Stopped before reading the live project: no plan, no backup.
    assert.doesNotMatch(result.stdout, /Plan:|No changes/, name);
  }

  assert.equal(one.code, 0, one.stdout + one.stderr);
  assert.match(one.stdout, /Apply complete: \d+ changes/);
  // The lock was in the lock folder, not in the checkout, and said who held it, from where.
  assert.equal(existsSync(path.join(project.dir, '.descope', 'locks')), false, 'no lock in the checkout');
  assert.equal(lockMode, 0o600);
  const record = JSON.parse(held) as Record<string, unknown>;
  assert.deepEqual(Object.keys(record).sort(), [
    'bootId', 'checkout', 'command', 'environment', 'heartbeatMs', 'host', 'pid', 'pidNamespace', 'processStart', 'staleAfterMs', 'startedAt', 'target', 'token', 'user',
  ]);
  assert.deepEqual([record.pid, record.command, record.checkout, record.environment, record.bootId, record.pidNamespace], [first.child.pid, 'apply', project.dir, 'remote', BOOT_ID, PID_NS]);
  assert.ok(heartbeat > beat, `the holder refreshed its lock while it ran (${beat} → ${heartbeat})`);
  assert.deepEqual(await readdir(project.lockDir), [], 'the lock is released, nothing left');
  // Exactly one apply's writes: each done once, no create refused as a duplicate, one backup more, none in the other checkout.
  assert.deepEqual([...done].filter(([, n]) => n !== 1), []);
  assert.equal([...done.keys()].filter((k) => k.startsWith('TenantCreated ')).length, 24);
  assert.equal(project.emu.log.countStatus(409), 0);
  assert.equal((await backups(project.dir)).length, 2);
  assert.deepEqual(await backups(other.dir), []);
  assert.ok(project.writeCalls() - writesBefore >= 48);
  const audit = [...(await project.audit()), ...(await project.audit('remote-2')), ...(await other.audit())];
  assert.deepEqual(audit.map((r) => r.outcome).sort(), ['applied', 'applied', 'refused', 'refused', 'refused', 'refused']);
  for (const refused of audit.filter((r) => r.outcome === 'refused')) {
    assert.deepEqual(refused.changes, []);
    assert.match(String(refused.error), new RegExp(`locked by apply --env remote in .* \\(pid ${first.child.pid} `));
  }
  const diff = await other.run(['diff', ...REMOTE], { spawn: true });
  assert.match(diff.stdout, /^No changes\./m, diff.stdout + diff.stderr);
});

test('a lock whose holder is provably dead (this boot and pid namespace; pid gone or reused) is taken over at once with a warning, by apply and by rollback', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const pid = await deadPid();
  const file = await plantLock(project, { pid, checkout: '/home/alice/site', environment: 'prod' });

  const applied = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.ok(
    applied.stderr.includes(`warning: took over the lock of apply --env prod in /home/alice/site (pid ${pid} on host ${HOST}, user alice, since 2026-01-02T03:04:05.000Z): pid ${pid} is no longer running`),
    applied.stderr,
  );
  assert.match(applied.stdout, /Apply complete: 2 changes/);
  assert.deepEqual(await readdir(project.lockDir), [], 'released at the end, nothing left aside');

  // This test process is alive, but it started long before this "holder" says it took the lock: its pid was reused.
  await plantLock(project, { pid: process.pid, command: 'rollback', processStart: '1' });
  const rolledBack = await project.run(['rollback', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  assert.match(rolledBack.stderr, new RegExp(`warning: took over the lock of rollback \\(pid ${process.pid} .*\\): pid ${process.pid} is now another process`));
  assert.equal(existsSync(file), false);
});

test('a holder in another pid namespace of this machine is never taken over while its heartbeat is fresh, even when its pid looks dead from here; once its heartbeat is old, it is', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const writes = project.writeCalls();
  const refusedInNamespace = (result: CliResult, pid: number): void => {
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.equal(errorLines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^error: environment "remote": project ${PROJECT_A} is locked by apply .*\\(pid ${pid} on host .*\\), which refreshed the lock \\d+ s ago; wait for it to finish$`, 'm'));
    assert.match(result.stderr, /hint: descope-run cannot check its pid from here \(it runs in another pid namespace \(a container\?\)\); a lock not refreshed for 20 s is taken over/);
  };

  // Planted: what an apply in a container leaves, a pid that does not exist here and a fresh heartbeat.
  const pid = await deadPid();
  await plantLock(project, { pid, pidNamespace: 'pid:[4026599999]' });
  const planted = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  refusedInNamespace(planted, pid);
  assert.equal(project.writeCalls(), writes, 'nothing written');

  // Really: a holder started under unshare --pid (its pid there is small and means nothing here).
  const unshare = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
  if (spawnSync(unshare[0]!, [...unshare.slice(1), 'true']).status === 0) {
    await rm(lockFile(project));
    await project.setConfig(MANY);
    project.emu.setFaults({ latencyMs: 300 });
    const firstWrite = new Promise<void>((resolve) => project.emu.on('write', () => resolve()));
    // sh as the namespace's pid 1, so the apply is not pid 1 (which is alive in every namespace).
    const holder = startCli(project, ['apply', ...REMOTE, '--yes'], { wrap: [...unshare, 'sh', '-c', '"$@"; exit $?', 'sh'] });
    await Promise.race([firstWrite, holder.done]);
    const recorded = JSON.parse(await readFile(lockFile(project), 'utf8')) as { pid: number; pidNamespace: string; bootId: string };
    assert.notEqual(recorded.pidNamespace, PID_NS);
    assert.equal(recorded.bootId, BOOT_ID);
    const contender = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
    refusedInNamespace(contender, recorded.pid);
    project.emu.setFaults({ latencyMs: 0 });
    const result = await holder.done;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Apply complete/);
    assert.doesNotMatch(result.stderr, /took over/);
  } else {
    t.diagnostic('unshare --pid is not available here: only the planted holder in another pid namespace was checked');
  }

  // Its heartbeat stopped 5 minutes ago: that run is over, whatever its namespace.
  await plantLock(project, { pid, pidNamespace: 'pid:[4026599999]' }, 5 * 60_000);
  const taken = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(taken.code, 0, taken.stdout + taken.stderr);
  assert.match(taken.stderr, new RegExp(`warning: took over the lock of apply \\(pid ${pid} .*\\): it runs in another pid namespace \\(a container\\?\\) and it has not refreshed the lock for 5 min`));
  assert.equal(hasStackTrace(planted.stderr + taken.stderr), false);
});

test('a live lock, one from another host (however old), and an unreadable one under a minute old are not taken over; diff reads through', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const writes = project.writeCalls();

  // This test process is alive in this pid namespace: an old heartbeat does not matter (Ctrl-Z stops a run, it does not end it).
  const file = await plantLock(project, { pid: process.pid, user: 'bob' }, 5 * 60_000);
  const live = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(live.code, 1, live.stdout + live.stderr);
  assert.match(live.stderr, new RegExp(`^error: environment "remote": project ${PROJECT_A} is locked by apply \\(pid ${process.pid} on host [^,]+, user bob, since 2026-01-02T03:04:05.000Z\\); wait for it to finish$`, 'm'));
  const diff = await project.run(['diff', ...REMOTE], { spawn: true });
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /Plan: 2 to create/);

  await plantLock(project, { pid: 4242, host: 'ci-runner-7.example', bootId: 'another-boot', user: 'carol', command: 'rollback' }, 3 * 3600_000);
  const remote = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(remote.code, 1, remote.stdout + remote.stderr);
  assert.equal(errorLines(remote.stderr).length, 1, remote.stderr);
  assert.match(remote.stderr, /locked by rollback \(pid 4242 on host ci-runner-7\.example, user carol, since 2026-01-02T03:04:05\.000Z\), a run on another host, which descope-run cannot check is still going \(it refreshed the lock 3 h ago\); wait for it to finish/);
  assert.ok(remote.stderr.includes(`hint: if that run is over (its machine stopped or it was killed), remove ${file} by hand`), remote.stderr);

  await plantRaw(project, '{"pid": 12');
  const young = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(young.code, 1, young.stdout + young.stderr);
  assert.match(young.stderr, /cannot be read yet/);
  assert.equal(existsSync(file), true, 'a lock that is not stale stays');
  assert.equal(project.writeCalls(), writes, 'no write while the lock was held');
  assert.equal(hasStackTrace(live.stderr + remote.stderr + young.stderr), false);

  const old = new Date(Date.now() - 5 * 60_000);
  await utimes(file, old, old);
  const taken = await project.run(['apply', ...REMOTE, '--yes'], { spawn: true });
  assert.equal(taken.code, 0, taken.stdout + taken.stderr);
  assert.match(taken.stderr, /warning: took over the lock of a run: its content is unreadable and \d+ min old/);
});

test('processes racing to take over one stale lock: exactly one wins each time', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const lockModule = pathToFileURL(path.join(REPO, 'dist', 'runner', 'apply', 'lock.js')).href;
  // Each racer waits for the same instant, tries and reports; the winner holds the lock until every
  // racer has reported (the test closes their stdin), so a late starter cannot find it free.
  const racer = `
    const { acquireLock } = await import(${JSON.stringify(lockModule)});
    const at = Number(process.argv[1]);
    while (Date.now() < at) {}
    let lock;
    try {
      lock = await acquireLock(
        { target: { key: 'project:${PROJECT_A}', description: 'project ${PROJECT_A}' }, command: 'apply', checkout: process.cwd(), environment: 'remote' },
        { DESCOPE_RUN_LOCK_DIR: ${JSON.stringify(project.lockDir)} },
      );
      console.log(lock.tookOver ? 'won-takeover' : 'won');
    } catch (error) {
      console.log('lost ' + error.code);
    }
    process.stdin.resume();
    process.stdin.on('end', () => lock?.release());`;
  for (let round = 0; round < 2; round += 1) {
    await plantLock(project, { pid: await deadPid(), user: 'dave' });
    const at = Date.now() + 500;
    const racers = Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', racer, String(at)], { cwd: project.dir, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const closed = new Promise((resolve) => child.on('close', resolve));
      const reported = new Promise<string>((resolve) => {
        child.stdout.on('data', (d: Buffer) => (out += d.toString()).includes('\n') && resolve(out.trim()));
        void closed.then(() => resolve(out.trim() || 'died'));
      });
      return { child, reported, closed };
    });
    const outcomes = await Promise.all(racers.map((r) => r.reported));
    for (const r of racers) r.child.stdin.end();
    await Promise.all(racers.map((r) => r.closed));
    assert.equal(outcomes.filter((o) => o.startsWith('won')).length, 1, `round ${round}: ${outcomes.join(', ')}`);
    assert.deepEqual(outcomes.filter((o) => !o.startsWith('won')), Array(5).fill('lost lock_held'), `round ${round}`);
    assert.deepEqual(await readdir(project.lockDir), [], `round ${round}: the winner released it, nothing left in the lock folder`);
  }
});

test('the emulator command serving a state file holds that emulated project: an apply of --env local on the same file waits for it', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const server = startCli(project, ['emulator', '--port', '0', '--state', path.join('.descope', 'local', 'state.json')]);
  t.after(() => server.child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    server.child.stdout!.on('data', (d: Buffer) => d.toString().includes('Ctrl-C stops it') && resolve());
    void server.done.then((r) => reject(new Error(`the emulator ended: ${r.stdout}${r.stderr}`)));
  });
  const local = await project.run(['apply', '--env', 'local', '--yes'], { spawn: true });
  assert.equal(local.code, 1, local.stdout + local.stderr);
  assert.equal(errorLines(local.stderr).length, 1, local.stderr);
  assert.match(local.stderr, new RegExp(`^error: environment "local": the emulated project in ${escape(project.dir)}/\\.descope/local/state\\.json is locked by emulator in ${escape(project.dir)} \\(pid ${server.child.pid} `, 'm'));
  server.child.kill('SIGTERM');
  assert.equal((await server.done).code, 0);
  assert.deepEqual(await readdir(project.lockDir), [], 'released when it stops');
});
