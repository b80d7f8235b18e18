// One apply at a time, with real processes: a second apply (and a rollback) started while one is
// writing stops at once with one line naming the holder, and writes nothing; a lock left by a dead
// process on this host is taken over with a warning; one from another host, or a live one, is
// not; an unreadable lock is taken over only once it is a minute old; of several processes racing
// to take over one stale lock exactly one wins; diff reads through a held lock.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BIN, cleanEnv, hasStackTrace, REPO, type CliResult } from '../helpers/cli.ts';
import { createProject, modeOf, PROJECT_A, TEST_KEY, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const LOCK = path.join('.descope', 'locks', `remote-${PROJECT_A}.lock`);

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

/** The CLI as a child process whose pid the test knows. */
function startCli(project: Project, args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: project.dir, env: cleanEnv({ TEST_MGMT_KEY: TEST_KEY }), stdio: ['ignore', 'pipe', 'pipe'] });
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

async function plantLock(project: Project, content: string): Promise<string> {
  const file = path.join(project.dir, LOCK);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, content, { mode: 0o600 });
  return file;
}

async function backups(project: Project): Promise<string[]> {
  const dir = path.join(project.dir, '.descope', 'backups', 'remote');
  return existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.json')) : [];
}

test('a second apply and a rollback while an apply writes: exit 1 at once naming the holder, nothing written; the first completes', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const setup = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(setup.code, 0, setup.stdout + setup.stderr);
  assert.equal((await backups(project)).length, 1);

  await project.setConfig(MANY);
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
  const lockFile = path.join(project.dir, LOCK);
  assert.equal(await modeOf(lockFile), 0o600);
  assert.equal(await modeOf(path.dirname(lockFile)), 0o700);
  const held = JSON.parse(await readFile(lockFile, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(held).sort(), ['command', 'host', 'pid', 'startedAt', 'user']);
  assert.equal(held.pid, first.child.pid);
  assert.equal(held.command, 'apply');
  const second = startCli(project, ['apply', ...REMOTE, '--yes']).done;
  const rollback = startCli(project, ['rollback', ...REMOTE, '--yes']).done;
  const [two, back] = await Promise.all([second, rollback]);
  project.emu.setFaults({ latencyMs: 0 });
  const one = await first.done;

  const holder = new RegExp(
    `^error: environment "remote" is locked by apply \\(pid ${first.child.pid} on host ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, user [^,]+, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); wait for it to finish$`,
    'm',
  );
  for (const [name, result] of [['apply #2', two], ['rollback', back]] as const) {
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, `${name}: ${output}`);
    assert.equal(hasStackTrace(output), false, output);
    assert.deepEqual(errorLines(result.stderr).length, 1, `${name}: one error line:\n${result.stderr}`);
    assert.match(result.stderr, holder, name);
    assert.match(result.stderr, /^ {2}hint: if pid \d+ is not a descope-run .*remove \.descope\/locks\/remote-P2testProjectA0+\.lock by hand$/m, name);
    // Stopped before reading the live project: no plan, no backup.
    assert.doesNotMatch(result.stdout, /Plan:|No changes/, name);
  }

  assert.equal(one.code, 0, one.stdout + one.stderr);
  assert.match(one.stdout, /Apply complete: \d+ changes/);
  assert.equal(existsSync(path.join(project.dir, LOCK)), false, 'the lock is released');
  // Exactly one apply's writes: each done once, no create refused as a duplicate, one backup more.
  assert.deepEqual([...done].filter(([, n]) => n !== 1), []);
  assert.equal([...done.keys()].filter((k) => k.startsWith('TenantCreated ')).length, 24);
  assert.equal(project.emu.log.countStatus(409), 0);
  assert.equal((await backups(project)).length, 2);
  assert.ok(project.writeCalls() - writesBefore >= 48);
  const audit = await project.audit();
  assert.deepEqual(audit.map((r) => r.outcome).sort(), ['applied', 'applied', 'refused', 'refused']);
  for (const refused of audit.filter((r) => r.outcome === 'refused')) {
    assert.deepEqual(refused.changes, []);
    assert.match(String(refused.error), new RegExp(`locked by apply \\(pid ${first.child.pid} `));
  }
  const diff = await project.run(['diff', ...REMOTE]);
  assert.match(diff.stdout, /^No changes\./m, diff.stdout + diff.stderr);
});

test('a lock left by a dead process on this host is taken over with a warning, by apply and by rollback', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const pid = await deadPid();
  const file = await plantLock(project, JSON.stringify({ pid, host: os.hostname(), user: 'alice', command: 'apply', startedAt: '2026-01-02T03:04:05.000Z' }));

  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.ok(
    applied.stderr.includes(`warning: took over the lock of apply (pid ${pid} on host ${os.hostname()}, user alice, since 2026-01-02T03:04:05.000Z): pid ${pid} is no longer running`),
    applied.stderr,
  );
  assert.match(applied.stdout, /Apply complete: 2 changes/);
  assert.equal(existsSync(file), false, 'released at the end');
  assert.deepEqual((await readdir(path.dirname(file))).filter((n) => n.includes('.lock')), [], 'nothing left aside');

  await plantLock(project, JSON.stringify({ pid, host: os.hostname(), user: 'alice', command: 'rollback', startedAt: '2026-01-02T03:04:05.000Z' }));
  const rolledBack = await project.run(['rollback', ...REMOTE, '--yes']);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  assert.match(rolledBack.stderr, new RegExp(`warning: took over the lock of rollback \\(pid ${pid} `));
  assert.equal(existsSync(file), false);
});

test('a live lock, one from another host, and an unreadable one under a minute old are not taken over; diff reads through', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const writes = project.writeCalls();

  // This test process is alive on this host.
  const file = await plantLock(project, JSON.stringify({ pid: process.pid, host: os.hostname(), user: 'bob', command: 'apply', startedAt: '2026-01-02T03:04:05.000Z' }));
  const live = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(live.code, 1, live.stdout + live.stderr);
  assert.match(live.stderr, new RegExp(`^error: environment "remote" is locked by apply \\(pid ${process.pid} on host [^,]+, user bob, since 2026-01-02T03:04:05.000Z\\); wait for it to finish$`, 'm'));
  const diff = await project.run(['diff', ...REMOTE]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /Plan: 2 to create/);

  await plantLock(project, JSON.stringify({ pid: 4242, host: 'ci-runner-7.example', user: 'carol', command: 'rollback', startedAt: '2026-01-02T03:04:05.000Z' }));
  const remote = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(remote.code, 1, remote.stdout + remote.stderr);
  assert.equal(errorLines(remote.stderr).length, 1, remote.stderr);
  assert.match(remote.stderr, /locked by rollback \(pid 4242 on host ci-runner-7\.example, user carol, since 2026-01-02T03:04:05\.000Z\), a run on another host, which descope-run cannot check is still going; wait for it to finish/);
  assert.match(remote.stderr, /hint: if that run is over .*remove \.descope\/locks\/remote-P2testProjectA0+\.lock by hand/);

  await plantLock(project, '{"pid": 12');
  const young = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(young.code, 1, young.stdout + young.stderr);
  assert.match(young.stderr, /cannot be read yet/);
  assert.equal(existsSync(file), true, 'a lock that is not stale stays');
  assert.equal(project.writeCalls(), writes, 'no write while the lock was held');
  assert.equal(hasStackTrace(live.stderr + remote.stderr + young.stderr), false);

  const old = new Date(Date.now() - 5 * 60_000);
  await utimes(file, old, old);
  const taken = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(taken.code, 0, taken.stdout + taken.stderr);
  assert.match(taken.stderr, /warning: took over the lock of a run: its content is unreadable and \d+ s old/);
});

test('processes racing to take over one stale lock: exactly one wins each time', async (t) => {
  const project = await createProject({ config: SMALL });
  t.after(() => project.close());
  const lockModule = pathToFileURL(path.join(REPO, 'dist', 'runner', 'lock.js')).href;
  // Each racer waits for the same instant, tries and reports; the winner holds the lock until every
  // racer has reported (the test closes their stdin), so a late starter cannot find it free.
  const racer = `
    const { acquireLock } = await import(${JSON.stringify(lockModule)});
    const at = Number(process.argv[1]);
    while (Date.now() < at) {}
    let lock;
    try {
      lock = acquireLock(process.cwd(), { env: 'remote', projectId: ${JSON.stringify(PROJECT_A)}, command: 'apply' });
      console.log(lock.tookOver ? 'won-takeover' : 'won');
    } catch (error) {
      console.log('lost ' + error.code);
    }
    process.stdin.resume();
    process.stdin.on('end', () => lock?.release());`;
  for (let round = 0; round < 2; round += 1) {
    await plantLock(project, JSON.stringify({ pid: await deadPid(), host: os.hostname(), user: 'dave', command: 'apply', startedAt: '2026-01-02T03:04:05.000Z' }));
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
    assert.equal(existsSync(path.join(project.dir, LOCK)), false, 'the winner released it');
    assert.deepEqual(await readdir(path.join(project.dir, '.descope', 'locks')), [], `round ${round}: nothing left in .descope/locks`);
  }
});
