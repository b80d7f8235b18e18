// The project lock in process, on real files: where the lock folder is (and when it is refused),
// what a lock is keyed by, the liveness rules as a table (which lock left by which holder is taken
// over, and why), the heartbeat going on while the main thread is blocked, a lock taken over from
// under its holder, and the journal of a run from another checkout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isDescopeRunError } from '../../src/errors.ts';
import { readAuditLog, type AuditRecord } from '../../src/runner/store/audit-log.ts';
import { recoverInterruptedRun, startJournal } from '../../src/runner/apply/journal.ts';
import { HEARTBEAT_MS, lockFileName } from '../../src/runner/apply/lock-file.ts';
import { acquireLock, lockTarget, resolveLockDir, type HeldLock, type LockRequest } from '../../src/runner/apply/lock.ts';

const temps: string[] = [];
function tempDir(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'descope-run-lock-')));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const PID_NS = readlinkSync('/proc/self/ns/pid');
const UID = process.getuid!();
const PROJECT = 'P2lockTest000000000000000000';
const TARGET = { key: `project:${PROJECT}`, description: `project ${PROJECT}` };

function request(overrides: Partial<LockRequest> = {}): LockRequest {
  return { target: TARGET, command: 'apply', checkout: '/work/site', environment: 'prod', ...overrides };
}

function thrown(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(isDescopeRunError(error), String(error));
    return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  }
  assert.fail('expected an error');
}

async function rejected(promise: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isDescopeRunError(error), String(error));
    return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  }
  assert.fail('expected a rejection');
}

describe('the lock folder', () => {
  test('DESCOPE_RUN_LOCK_DIR, else $XDG_STATE_HOME/descope-run/locks, else ~/.local/state/descope-run/locks, else <tmp>/descope-run-<uid>/locks; created 0700', () => {
    const base = tempDir();
    const home = path.join(base, 'home');
    mkdirSync(home);
    const tmp = path.join(base, 'tmp');
    mkdirSync(tmp);
    const fileHome = path.join(base, 'home-with-a-file');
    mkdirSync(fileHome);
    writeFileSync(path.join(fileHome, '.local'), ''); // ~/.local is a file: the home folder is unusable
    const rows: [string, NodeJS.ProcessEnv, string][] = [
      ['the variable', { DESCOPE_RUN_LOCK_DIR: path.join(base, 'mine', 'locks'), XDG_STATE_HOME: path.join(base, 'xdg'), HOME: home }, path.join(base, 'mine', 'locks')],
      ['XDG_STATE_HOME', { XDG_STATE_HOME: path.join(base, 'xdg'), HOME: home, TMPDIR: tmp }, path.join(base, 'xdg', 'descope-run', 'locks')],
      ['the home folder (a relative XDG_STATE_HOME is ignored)', { XDG_STATE_HOME: 'state', HOME: home, TMPDIR: tmp }, path.join(home, '.local', 'state', 'descope-run', 'locks')],
      ['an empty variable is unset', { DESCOPE_RUN_LOCK_DIR: '', HOME: home, TMPDIR: tmp }, path.join(home, '.local', 'state', 'descope-run', 'locks')],
      ['the temp folder: no home folder', { HOME: path.join(base, 'nowhere'), TMPDIR: tmp }, path.join(tmp, `descope-run-${UID}`, 'locks')],
      ['the temp folder: HOME is /', { HOME: '/', TMPDIR: tmp }, path.join(tmp, `descope-run-${UID}`, 'locks')],
      ['the temp folder: the home folder cannot hold it', { HOME: fileHome, TMPDIR: tmp }, path.join(tmp, `descope-run-${UID}`, 'locks')],
    ];
    for (const [name, env, expected] of rows) {
      assert.equal(resolveLockDir(env), expected, name);
      assert.equal(statSync(expected).mode & 0o777, 0o700, name);
    }
    assert.equal(statSync(path.join(base, 'xdg', 'descope-run')).mode & 0o777, 0o700);
  });

  test('refused, with a hint: a relative DESCOPE_RUN_LOCK_DIR, a folder others can write to, one of another user, a symbolic link in the temp fallback', () => {
    const base = tempDir();
    assert.deepEqual(thrown(() => resolveLockDir({ DESCOPE_RUN_LOCK_DIR: 'locks' })), {
      code: 'environment',
      message: 'DESCOPE_RUN_LOCK_DIR: "locks" is not an absolute path',
      hint: 'set it to an absolute folder (every checkout must find the same one), or unset it to use ~/.local/state/descope-run/locks',
    });
    const open = path.join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const wide = thrown(() => resolveLockDir({ DESCOPE_RUN_LOCK_DIR: open }));
    assert.equal(wide.message, `lock folder ${open} is writable by others (mode 777): another user could take or remove the locks of your applies`);
    assert.equal(wide.hint, 'point DESCOPE_RUN_LOCK_DIR at a folder of your own (chmod 700)');

    const xdg = path.join(base, 'xdg');
    mkdirSync(path.join(xdg, 'descope-run', 'locks'), { recursive: true });
    chmodSync(path.join(xdg, 'descope-run', 'locks'), 0o770);
    assert.match(thrown(() => resolveLockDir({ XDG_STATE_HOME: xdg })).message, /locks is writable by others \(mode 770\)/);

    // Someone planted a link where the temp fallback goes (any user can write to /tmp).
    const tmp = path.join(base, 'tmp');
    mkdirSync(path.join(base, 'elsewhere'));
    mkdirSync(tmp);
    symlinkSync(path.join(base, 'elsewhere'), path.join(tmp, `descope-run-${UID}`));
    assert.match(thrown(() => resolveLockDir({ HOME: '/', TMPDIR: tmp })).message, new RegExp(`descope-run-${UID} is not a folder \\(a symbolic link\\)`));

    if (UID === 0) {
      // Root can make a folder another user's: a lock folder that is not yours is refused.
      const theirs = path.join(base, 'theirs');
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, 4242, 4242);
      assert.match(thrown(() => resolveLockDir({ DESCOPE_RUN_LOCK_DIR: theirs })).message, /belongs to uid 4242, not to you \(uid 0\)/);
    }
  });
});

describe('what a lock is keyed by', () => {
  test('a remote environment by its project id alone; an emulator by the real path of its state file', () => {
    const base = tempDir();
    mkdirSync(path.join(base, 'a', '.descope', 'local'), { recursive: true });
    symlinkSync(path.join(base, 'a'), path.join(base, 'link-to-a'));
    const remote = lockTarget({ target: 'remote', emulatorStateFile: undefined }, PROJECT);
    assert.deepEqual(remote, { key: `project:${PROJECT}`, description: `project ${PROJECT}` });
    const a = lockTarget({ target: 'emulator', emulatorStateFile: path.join(base, 'a', '.descope', 'local', 'state.json') }, 'P2emulator');
    const viaLink = lockTarget({ target: 'emulator', emulatorStateFile: path.join(base, 'link-to-a', '.descope', 'local', 'state.json') }, 'P2emulator');
    const b = lockTarget({ target: 'emulator', emulatorStateFile: path.join(base, 'b', '.descope', 'local', 'state.json') }, 'P2emulator');
    assert.deepEqual(a, { key: `emulator:${base}/a/.descope/local/state.json`, description: `the emulated project in ${base}/a/.descope/local/state.json` });
    assert.equal(viaLink.key, a.key, 'one state file, however it is reached');
    assert.notEqual(b.key, a.key, 'two checkouts of --env local: two emulated projects');
    assert.notEqual(lockTarget({ target: 'emulator', emulatorStateFile: undefined }, 'P2').key, lockTarget({ target: 'emulator', emulatorStateFile: undefined }, 'P2').key);

    assert.equal(lockFileName(remote), `project-${PROJECT}.lock`);
    assert.match(lockFileName(a), /^emulator-[0-9a-f]{32}\.lock$/);
    assert.match(lockFileName({ key: 'project:../../etc/x', description: '' }), /^project-[0-9a-f]{32}\.lock$/);
  });
});

/** A pid that ran on this host and is gone now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid!;
}

describe('liveness: which lock is taken over', () => {
  test('provably dead at once; by its heartbeat where the pid cannot be checked; never a live pid of this namespace, nor another host', async (t) => {
    const dir = tempDir();
    const file = path.join(dir, `project-${PROJECT}.lock`);
    const dead = await deadPid();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    t.after(() => sleeper.kill('SIGKILL'));
    const alive = sleeper.pid!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const aliveStart = readFileSync(`/proc/${alive}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
    const mine = { host: os.hostname(), bootId: BOOT_ID, pidNamespace: PID_NS };
    const otherNs = { ...mine, pidNamespace: 'pid:[4026599999]' };
    const FRESH = 0;
    const OLD = 5 * 60_000;
    const rows: { name: string; record: Record<string, unknown> | string; ageMs: number; taken: RegExp | false }[] = [
      { name: 'this namespace, pid gone', record: { ...mine, pid: dead }, ageMs: FRESH, taken: new RegExp(`^pid ${dead} is no longer running$`) },
      { name: 'this namespace, pid alive', record: { ...mine, pid: alive }, ageMs: FRESH, taken: false },
      { name: 'this namespace, pid alive, heartbeat old (a stopped process)', record: { ...mine, pid: alive }, ageMs: OLD, taken: false },
      { name: 'this namespace, pid alive, its start time', record: { ...mine, pid: alive, processStart: aliveStart }, ageMs: OLD, taken: false },
      { name: 'this namespace, pid reused', record: { ...mine, pid: alive, processStart: '12' }, ageMs: FRESH, taken: /^pid \d+ is now another process/ },
      { name: 'another namespace, pid gone here, fresh', record: { ...otherNs, pid: dead }, ageMs: FRESH, taken: false },
      { name: 'another namespace, old', record: { ...otherNs, pid: dead }, ageMs: OLD, taken: /^it runs in another pid namespace \(a container\?\) and it has not refreshed the lock for 5 min$/ },
      { name: 'another namespace, a holder that asks for a longer bound', record: { ...otherNs, pid: dead, staleAfterMs: 10 * 60_000 }, ageMs: OLD, taken: false },
      { name: 'no namespace recorded, fresh', record: { host: mine.host, bootId: BOOT_ID, pid: dead }, ageMs: FRESH, taken: false },
      { name: 'no namespace recorded, old', record: { host: mine.host, bootId: BOOT_ID, pid: dead }, ageMs: OLD, taken: /^its pid namespace is unknown and it has not refreshed/ },
      { name: 'no boot id recorded (an older or hand-written lock), fresh', record: { host: mine.host, pid: dead }, ageMs: FRESH, taken: false },
      { name: 'no boot id recorded, old', record: { host: mine.host, pid: dead }, ageMs: OLD, taken: /^its boot id is unknown and it has not refreshed/ },
      { name: 'this host name, another boot, silent since before this boot', record: { ...mine, bootId: 'before-reboot', pid: dead }, ageMs: os.uptime() * 1000 + OLD, taken: /before this machine booted$/ },
      { name: 'this host name, another boot, fresh (another machine of this name)', record: { ...mine, bootId: 'twin', pid: dead }, ageMs: FRESH, taken: false },
      { name: 'another host, hours old', record: { host: 'ci-7.example', bootId: 'x', pid: dead }, ageMs: 3 * 3600_000, taken: false },
      { name: 'unreadable, young', record: '{"pid": 1', ageMs: FRESH, taken: false },
      { name: 'unreadable, old', record: '{"pid": 1', ageMs: OLD, taken: /^its content is unreadable and 5 min old$/ },
    ];
    for (const row of rows) {
      const text = typeof row.record === 'string' ? row.record : JSON.stringify({ user: 'ada', command: 'apply', startedAt: '2026-01-02T03:04:05.000Z', ...row.record });
      writeFileSync(file, text, { mode: 0o600 });
      const at = new Date(Date.now() - row.ageMs);
      utimesSync(file, at, at);
      const attempt = acquireLock(request(), { DESCOPE_RUN_LOCK_DIR: dir });
      if (row.taken === false) {
        const error = await rejected(attempt);
        assert.equal(error.code, 'lock_held', row.name);
        assert.equal(readFileSync(file, 'utf8'), text, `${row.name}: left as it was`);
        continue;
      }
      const lock = await attempt;
      assert.match(lock.tookOver?.reason ?? 'not taken over', row.taken, row.name);
      await lock.release();
      assert.equal(existsSync(file), false, row.name);
    }
  });

  test('the messages: who holds it, from which checkout, and when a lock that cannot be checked becomes stale', async () => {
    const dir = tempDir();
    const file = path.join(dir, `project-${PROJECT}.lock`);
    writeFileSync(file, JSON.stringify({ pid: 1, host: os.hostname(), user: 'ada', command: 'rollback', startedAt: 'T', checkout: '/home/ada/site', environment: 'staging', bootId: BOOT_ID, pidNamespace: 'pid:[1]' }));
    const error = await rejected(acquireLock(request(), { DESCOPE_RUN_LOCK_DIR: dir }));
    assert.deepEqual(error, {
      code: 'lock_held',
      message: `environment "prod": project ${PROJECT} is locked by rollback --env staging in /home/ada/site (pid 1 on host ${os.hostname()}, user ada, since T), which refreshed the lock 0 s ago; wait for it to finish`,
      hint: 'descope-run cannot check its pid from here (it runs in another pid namespace (a container?)); a lock not refreshed for 20 s is taken over, so if that run was killed, run apply again in 21 s',
    });
    // What a lock file says is shown on a terminal: no escape sequence or bidi override gets through.
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'ci\u001b]8;;http://x\u0007', user: 'a\u202eb', command: 'apply', startedAt: 'T', bootId: 'x' }));
    const hostile = await rejected(acquireLock(request(), { DESCOPE_RUN_LOCK_DIR: dir }));
    assert.doesNotMatch(hostile.message, /[\u001b\u0007\u202e]/);
    assert.match(hostile.message, /on host ci\uFFFD\]8;;http:\/\/x\uFFFD, user a\uFFFDb/);
  });
});

describe('a held lock', () => {
  test('its heartbeat goes on while the main thread is blocked; release removes it and stops the beat', async () => {
    const dir = tempDir();
    const lock = await acquireLock(request(), { DESCOPE_RUN_LOCK_DIR: dir });
    // What a run does first: it reads the live project (its event loop turns; the heartbeat starts after half a beat).
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS / 2 + 200));
    const first = statSync(lock.where).mtimeMs;
    // A synchronous step longer than a beat (computePlan of 100,000 tenants: ~3 s): nothing runs on this thread meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HEARTBEAT_MS + 1000);
    const later = statSync(lock.where).mtimeMs;
    assert.ok(later - first >= HEARTBEAT_MS - 100, `refreshed while blocked: ${first} → ${later}`);
    const record = JSON.parse(readFileSync(lock.where, 'utf8')) as Record<string, unknown>;
    assert.deepEqual([record.pid, record.bootId, record.pidNamespace, record.checkout, record.environment, record.target], [process.pid, BOOT_ID, PID_NS, '/work/site', 'prod', `project ${PROJECT}`]);
    assert.equal(statSync(lock.where).mode & 0o777, 0o600);
    // A second acquire in this process: the holder is alive.
    assert.equal((await rejected(acquireLock(request(), { DESCOPE_RUN_LOCK_DIR: dir }))).code, 'lock_held');
    await lock.release();
    assert.equal(existsSync(lock.where), false);
  });

  test('taken over from under it (removed by hand and taken by another run): it refuses to write and leaves the other lock alone', async () => {
    const dir = tempDir();
    const lock = await acquireLock(request(), { DESCOPE_RUN_LOCK_DIR: dir });
    lock.assertHeld();
    rmSync(lock.where);
    writeFileSync(lock.where, JSON.stringify({ pid: 4242, host: 'ci-7', user: 'bob', command: 'apply', startedAt: 'T' }));
    const error = thrown(() => lock.assertHeld());
    assert.equal(error.message, `environment "prod": this apply's lock of project ${PROJECT} was taken over by apply (pid 4242 on host ci-7, user bob, since T) while it held it; nothing more is written`);
    assert.equal((await rejected(startJournal(lock, auditRecord()))).code, 'lock_held');
    await lock.release();
    assert.equal(existsSync(lock.where), true, "another run's lock is never removed");
  });
});

function auditRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    version: 1,
    time: '2026-11-21T10:04:05.123Z',
    command: 'apply',
    tool: { name: 'descope-run', version: '0.1.0' },
    user: 'ada',
    host: 'build-1',
    environment: 'staging',
    projectId: PROJECT,
    planFingerprint: 'p',
    liveFingerprint: 'l',
    outcome: 'failed',
    changes: [
      { address: 'tenants/a', action: 'create', result: 'skipped' },
      { address: 'tenants/b', action: 'create', result: 'skipped' },
    ],
    durationMs: 0,
    exitStatus: 1,
    ...overrides,
  };
}

describe('the journal', () => {
  test('a run killed in one checkout is found by the next run from another: recorded in the killed run’s audit log, or in this one’s when that checkout is gone', async () => {
    const dir = tempDir();
    const first = path.join(tempDir(), 'site-a');
    const second = path.join(tempDir(), 'site-b');
    mkdirSync(first);
    mkdirSync(second);
    for (const gone of [false, true]) {
      let killed: HeldLock | undefined = await acquireLock(request({ checkout: first, environment: 'staging' }), { DESCOPE_RUN_LOCK_DIR: dir });
      const journal = await startJournal(killed, auditRecord());
      journal.record({ address: 'tenants/a', status: 'done' });
      // "Killed": the lock stays (released here only so the next acquire needs no dead pid), the journal stays.
      await killed.release();
      killed = undefined;
      if (gone) rmSync(first, { recursive: true, force: true });

      const next = await acquireLock(request({ checkout: second, environment: 'prod' }), { DESCOPE_RUN_LOCK_DIR: dir });
      const run = await recoverInterruptedRun(next, new Date('2026-11-21T11:00:00.000Z'));
      assert.ok(run);
      assert.deepEqual([run.pid, run.checkout, run.settled, run.total], [process.pid, first, 1, 2]);
      const log = gone ? path.join(second, '.descope', 'audit', 'prod.jsonl') : path.join(first, '.descope', 'audit', 'staging.jsonl');
      assert.equal(run.auditLog, log);
      assert.equal(existsSync(first), !gone, 'a deleted checkout is not re-created');
      const records = readAuditLog(path.dirname(path.dirname(path.dirname(log))), { env: gone ? 'prod' : 'staging' }).records;
      assert.deepEqual(records.map((r) => [r.outcome, r.changes.map((c) => c.result)]), [['interrupted', ['done', 'skipped']]]);
      assert.equal(records[0]!.error, `interrupted (killed?) after 1 of 2 changes; found by the next run in ${second} at 2026-11-21T11:00:00.000Z`);
      assert.equal(await recoverInterruptedRun(next), undefined, 'consumed');
      await next.release();
      assert.deepEqual(readdirSync(dir), []);
      if (!gone) rmSync(path.join(first, '.descope'), { recursive: true });
    }
  });
});
