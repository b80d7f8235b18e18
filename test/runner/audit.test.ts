// The audit log: appending (modes, one line per record, torn lines), reading back (problems,
// --since, several environments), git info, the table, and the `audit` command through the real CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isDescopeRunError } from '../../src/errors.ts';
import {
  appendAuditRecord,
  auditLogPath,
  currentUser,
  formatAuditTable,
  readAuditLog,
  readGitInfo,
  type AuditChange,
  type AuditRecord,
} from '../../src/runner/store/audit-log.ts';
import { hasStackTrace, runCli } from '../helpers/cli.ts';

const temps: string[] = [];
function tempDir(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'descope-run-audit-')));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    version: 1,
    time: '2026-11-21T10:04:05.123Z',
    command: 'apply',
    tool: { name: 'descope-run', version: '0.1.0' },
    user: 'ada',
    host: 'build-1',
    environment: 'local',
    projectId: 'P2emulator000000000000000000',
    planFingerprint: 'plan-fp',
    liveFingerprint: 'live-fp',
    outcome: 'applied',
    changes: [{ address: 'tenants/acme', action: 'create', result: 'done' }],
    durationMs: 1234,
    exitStatus: 0,
    ...overrides,
  };
}

function changes(done: number, failed = 0, skipped = 0): AuditChange[] {
  const make = (n: number, result: AuditChange['result']): AuditChange[] =>
    Array.from({ length: n }, (_, i) => ({ address: `tenants/${result}-${i}`, action: 'update', result }));
  return [...make(done, 'done'), ...make(failed, 'failed'), ...make(skipped, 'skipped')];
}

const mode = (file: string) => statSync(file).mode & 0o777;
const strip = ({ file: _file, ...rest }: AuditRecord & { file: string }) => rest;
const TORN = 'not a valid audit record (a torn write?); skipped';

describe('auditLogPath', () => {
  test('is <root>/.descope/audit/<env>.jsonl', () => {
    assert.equal(auditLogPath('/p', 'staging'), path.join('/p', '.descope', 'audit', 'staging.jsonl'));
  });
  for (const bad of ['../etc', 'a/b', '', '.hidden', 'x'.repeat(65)]) {
    test(`refuses the environment name ${JSON.stringify(bad)}`, () => {
      assert.throws(() => auditLogPath('/p', bad), (e) => isDescopeRunError(e) && e.code === 'environment');
    });
  }
});

describe('appendAuditRecord', () => {
  test('creates .descope/audit (0700) and the file (0600), one line per record, read back unchanged', () => {
    const root = tempDir();
    const first = record();
    const second = record({ time: '2026-11-21T11:00:00.000Z', outcome: 'no-changes', changes: [] });
    const file = appendAuditRecord(root, 'local', first);
    appendAuditRecord(root, 'local', second);

    assert.equal(file, path.join(root, '.descope', 'audit', 'local.jsonl'));
    assert.equal(mode(path.join(root, '.descope')), 0o700);
    assert.equal(mode(path.join(root, '.descope', 'audit')), 0o700);
    assert.equal(mode(file), 0o600);
    const text = readFileSync(file, 'utf8');
    assert.equal(text, `${JSON.stringify(first)}\n${JSON.stringify(second)}\n`);

    const log = readAuditLog(root, { env: 'local' });
    assert.deepEqual(log.problems, []);
    assert.deepEqual(log.records.map(strip), [first, second]);
    assert.deepEqual(log.records.map((r) => r.file), ['.descope/audit/local.jsonl', '.descope/audit/local.jsonl']);
  });

  test('tightens an existing file to 0600 and leaves an existing .descope folder alone', () => {
    const root = tempDir();
    mkdirSync(path.join(root, '.descope'));
    chmodSync(path.join(root, '.descope'), 0o755);
    mkdirSync(path.join(root, '.descope', 'audit'));
    chmodSync(path.join(root, '.descope', 'audit'), 0o750);
    const file = path.join(root, '.descope', 'audit', 'prod.jsonl');
    writeFileSync(file, '');
    chmodSync(file, 0o644);

    appendAuditRecord(root, 'prod', record({ environment: 'prod' }));
    assert.equal(mode(file), 0o600);
    assert.equal(mode(path.join(root, '.descope')), 0o755);
    assert.equal(mode(path.join(root, '.descope', 'audit')), 0o750);
  });

  test('a torn last line is reported, not fatal, and the next append starts on a line of its own', () => {
    const root = tempDir();
    const file = appendAuditRecord(root, 'local', record());
    appendFileSync(file, '{"version":1,"time":"2026-11-21T10:05');

    const torn = readAuditLog(root);
    assert.equal(torn.records.length, 1);
    assert.deepEqual(torn.problems, [{ file: '.descope/audit/local.jsonl', line: 2, message: TORN }]);

    const next = record({ time: '2026-11-21T12:00:00.000Z' });
    appendAuditRecord(root, 'local', next);
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[1], '{"version":1,"time":"2026-11-21T10:05');
    assert.equal(lines[2], JSON.stringify(next));
    assert.equal(lines[3], '');

    const log = readAuditLog(root, { env: 'local' });
    assert.deepEqual(log.records.map(strip), [record(), next]);
    assert.deepEqual(log.problems, [{ file: '.descope/audit/local.jsonl', line: 2, message: TORN }]);
  });

  test('refuses an invalid environment name before writing anything', () => {
    const root = tempDir();
    assert.throws(() => appendAuditRecord(root, '../x', record()), (e) => isDescopeRunError(e) && e.code === 'environment');
    assert.deepEqual(readAuditLog(root), { records: [], problems: [] });
  });

  test('an unwritable folder is an io error naming the file', { skip: process.getuid?.() === 0 }, () => {
    const root = tempDir();
    mkdirSync(path.join(root, '.descope', 'audit'), { recursive: true });
    chmodSync(path.join(root, '.descope', 'audit'), 0o500);
    assert.throws(
      () => appendAuditRecord(root, 'local', record()),
      (e) => isDescopeRunError(e) && e.code === 'io' && e.message.startsWith('.descope/audit/local.jsonl: could not write'),
    );
  });
});

describe('readAuditLog', () => {
  const BAD_LINES: { name: string; line: string }[] = [
    { name: 'not JSON', line: 'hello' },
    { name: 'a JSON array', line: '[1,2]' },
    { name: 'another version', line: JSON.stringify({ ...record(), version: 2 }) },
    { name: 'no changes array', line: JSON.stringify({ ...record(), changes: 'none' }) },
    { name: 'a time that is not a date', line: JSON.stringify({ ...record(), time: 'yesterday' }) },
    { name: 'a missing environment', line: JSON.stringify({ ...record(), environment: undefined }) },
    { name: 'a change without an address', line: JSON.stringify({ ...record(), changes: [{ result: 'done' }] }) },
  ];
  for (const { name, line } of BAD_LINES) {
    test(`skips and reports a line with ${name}`, () => {
      const root = tempDir();
      const file = appendAuditRecord(root, 'local', record());
      appendFileSync(file, `${line}\n\n`);
      appendAuditRecord(root, 'local', record({ time: '2026-11-22T00:00:00.000Z' }));
      const log = readAuditLog(root);
      assert.equal(log.records.length, 2);
      assert.deepEqual(log.problems, [{ file: '.descope/audit/local.jsonl', line: 2, message: TORN }]);
    });
  }

  test('a missing folder or file is an empty log', () => {
    const root = tempDir();
    assert.deepEqual(readAuditLog(root), { records: [], problems: [] });
    assert.deepEqual(readAuditLog(root, { env: 'prod' }), { records: [], problems: [] });
    appendAuditRecord(root, 'local', record());
    assert.deepEqual(readAuditLog(root, { env: 'prod' }), { records: [], problems: [] });
  });

  test('reads every environment, sorted by time across files; --env reads one; since filters', () => {
    const root = tempDir();
    appendAuditRecord(root, 'prod', record({ environment: 'prod', time: '2026-11-03T09:00:00.000Z' }));
    appendAuditRecord(root, 'local', record({ time: '2026-11-01T09:00:00.000Z' }));
    appendAuditRecord(root, 'staging', record({ environment: 'staging', time: '2026-11-02T09:00:00.000Z' }));
    appendAuditRecord(root, 'local', record({ time: '2026-11-04T09:00:00.000Z' }));
    writeFileSync(path.join(root, '.descope', 'audit', 'notes.txt'), 'not a log');

    const cases: { options: Parameters<typeof readAuditLog>[1]; expect: string[] }[] = [
      { options: {}, expect: ['local 2026-11-01', 'staging 2026-11-02', 'prod 2026-11-03', 'local 2026-11-04'] },
      { options: { env: 'local' }, expect: ['local 2026-11-01', 'local 2026-11-04'] },
      { options: { since: new Date('2026-11-02T09:00:00Z') }, expect: ['staging 2026-11-02', 'prod 2026-11-03', 'local 2026-11-04'] },
      { options: { env: 'local', since: new Date('2026-11-02') }, expect: ['local 2026-11-04'] },
      { options: { since: new Date('2027-01-01') }, expect: [] },
    ];
    for (const { options, expect } of cases) {
      const log = readAuditLog(root, options);
      assert.deepEqual(
        log.records.map((r) => `${r.environment} ${r.time.slice(0, 10)}`),
        expect,
        JSON.stringify(options),
      );
      assert.deepEqual(log.problems, []);
    }
  });
});

describe('readGitInfo', () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@x', ...args], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();

  test('HEAD, its author and whether the tree is dirty (the audit log itself does not count)', () => {
    const root = tempDir();
    git(root, 'init', '-q');
    assert.equal(readGitInfo(root), undefined, 'no commit yet');

    writeFileSync(path.join(root, 'descope.config.ts'), 'export default {};\n');
    git(root, 'add', '.');
    git(root, 'commit', '-q', '-m', 'first');
    const head = git(root, 'rev-parse', 'HEAD');

    assert.deepEqual(readGitInfo(root), { commit: head, author: 'T <t@x>', dirty: false });
    appendAuditRecord(root, 'local', record());
    assert.equal(readGitInfo(root)?.dirty, false);
    mkdirSync(path.join(root, 'sub'));
    assert.equal(readGitInfo(path.join(root, 'sub'))?.commit, head, 'from a folder inside the repository');
    writeFileSync(path.join(root, 'descope.config.ts'), 'export default { tenants: [] };\n');
    assert.equal(readGitInfo(root)?.dirty, true);
  });

  test('undefined outside a repository and for a missing folder', () => {
    const root = tempDir();
    assert.equal(readGitInfo(root), undefined);
    assert.equal(readGitInfo(path.join(root, 'missing')), undefined);
  });
});

test('currentUser names someone', () => {
  assert.match(currentUser(), /\S/);
});

describe('formatAuditTable', () => {
  const GIT = { commit: '0123456789abcdef0123456789abcdef01234567', author: 'T <t@x>', dirty: false };
  const CELLS: { name: string; record: AuditRecord; expect: string[] }[] = [
    { name: 'a clean apply', record: record({ git: GIT }), expect: ['2026-11-21 10:04:05Z', 'local', 'ada', '01234567', '1 done', 'applied', '1.2 s'] },
    { name: 'a dirty tree', record: record({ git: { ...GIT, dirty: true } }), expect: ['01234567*'] },
    { name: 'no git', record: record(), expect: [' - '] },
    { name: 'a partial apply', record: record({ changes: changes(3, 1, 2), outcome: 'partial', exitStatus: 1 }), expect: ['3 done, 1 failed, 2 skipped', 'partial'] },
    { name: 'five done', record: record({ changes: changes(5) }), expect: ['5 done'] },
    { name: 'nothing to do', record: record({ changes: [], outcome: 'no-changes', durationMs: 40 }), expect: ['none', 'no-changes', '0.0 s'] },
    { name: 'only failures', record: record({ changes: changes(0, 2), outcome: 'failed' }), expect: ['2 failed', 'failed'] },
    { name: 'a long run', record: record({ durationMs: 125_400 }), expect: ['2 min 5 s'] },
    { name: 'a time with an offset, shown in UTC', record: record({ time: '2026-11-21T12:04:05+02:00' }), expect: ['2026-11-21 10:04:05Z'] },
  ];
  for (const { name, record: r, expect } of CELLS) {
    test(name, () => {
      const [header, row] = formatAuditTable([r]);
      assert.match(header!, /^TIME +ENV +USER +COMMIT +CHANGES +OUTCOME +DURATION$/);
      for (const cell of expect) assert.ok(row!.includes(cell), `${JSON.stringify(row)} should contain ${JSON.stringify(cell)}`);
    });
  }

  test('columns line up, the last cell is not padded', () => {
    const lines = formatAuditTable([
      record({ environment: 'production-eu', user: 'a', changes: changes(10, 1) }),
      record({ environment: 'local', user: 'somebody-long', outcome: 'no-changes', changes: [] }),
    ]);
    assert.equal(lines.length, 3);
    for (const column of ['ENV', 'USER', 'COMMIT', 'CHANGES', 'OUTCOME', 'DURATION']) {
      const at = lines[0]!.indexOf(column);
      for (const line of lines.slice(1)) {
        assert.equal(line.slice(at - 2, at), '  ', `${column} in ${line}`);
        assert.notEqual(line[at], ' ', `${column} in ${line}`);
      }
    }
    for (const line of lines) assert.equal(line, line.trimEnd());
  });

  test('paints only the outcome, red or green (dim when nothing happened)', () => {
    const paint = { red: (s: string) => `<r>${s}</r>`, green: (s: string) => `<g>${s}</g>`, dim: (s: string) => `<d>${s}</d>` };
    const rows = formatAuditTable(
      [record(), record({ outcome: 'failed' }), record({ outcome: 'stale' }), record({ outcome: 'no-changes' })],
      { paint },
    ).slice(1);
    assert.match(rows[0]!, /<g>applied +<\/g>/);
    assert.match(rows[1]!, /<r>failed +<\/r>/);
    assert.match(rows[2]!, /<r>stale +<\/r>/);
    assert.match(rows[3]!, /<d>no-changes<\/d>/);
    for (const row of rows) assert.equal(row.match(/</g)?.length, 2);
    assert.doesNotMatch(formatAuditTable([record()]).join('\n'), /</);
  });

  test('no records: just the header', () => {
    assert.equal(formatAuditTable([]).length, 1);
  });
});

describe('descope-run audit (the real CLI)', () => {
  function project(): string {
    const root = tempDir();
    writeFileSync(path.join(root, 'descope.config.ts'), "import { defineConfig } from 'descope-run';\n\nexport default defineConfig({});\n");
    mkdirSync(path.join(root, 'sub'));
    return root;
  }

  test('prints a table of every environment from a sub-folder, and warns about a torn line', async () => {
    const root = project();
    appendAuditRecord(root, 'staging', record({ environment: 'staging', time: '2026-11-02T09:00:00.000Z', changes: changes(3, 1, 2), outcome: 'partial' }));
    const file = appendAuditRecord(root, 'local', record({ time: '2026-11-01T09:00:00.000Z' }));
    appendFileSync(file, '{"version":1,"ti');

    const all = await runCli(['audit', '--no-color'], { cwd: path.join(root, 'sub') });
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME +ENV +USER +COMMIT +CHANGES +OUTCOME +DURATION$/);
    assert.match(lines[1]!, /^2026-11-01 09:00:00Z +local +ada +- +1 done +applied +1\.2 s$/);
    assert.match(lines[2]!, /^2026-11-02 09:00:00Z +staging +ada +- +3 done, 1 failed, 2 skipped +partial +1\.2 s$/);
    assert.equal(lines.length, 3);
    assert.equal(all.stderr, `warning: .descope/audit/local.jsonl:2: ${TORN}\n`);

    const since = await runCli(['audit', '--since', '2026-11-02', '--env', 'local'], { cwd: root });
    assert.equal(since.code, 0, since.stderr);
    assert.equal(since.stdout, 'No applies recorded for environment "local" since 2026-11-02T00:00:00.000Z.\n');
  });

  test('--json prints the records without the file field; an empty log says so', async () => {
    const root = project();
    const empty = await runCli(['audit'], { cwd: root });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, 'No applies recorded yet (.descope/audit/ is empty).\n');
    assert.equal((await runCli(['audit', '--env', 'prod'], { cwd: root })).stdout, 'No applies recorded for environment "prod".\n');

    const one = record({ git: { commit: 'a'.repeat(40), author: 'T <t@x>', dirty: true } });
    appendAuditRecord(root, 'local', one);
    const json = await runCli(['audit', '--json'], { cwd: root });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [one]);
  });

  test('a bad --since or --env is one clear error, exit 1', async () => {
    const root = project();
    const since = await runCli(['audit', '--since', 'last tuesday'], { cwd: root });
    assert.equal(since.code, 1);
    assert.match(since.stderr, /error: --since "last tuesday": not a date/);
    assert.match(since.stderr, /hint: e\.g\. --since 2026-11-01/);
    const env = await runCli(['audit', '--env', '../etc'], { cwd: root });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /error: environment "\.\.\/etc": not a valid environment name/);
    assert.ok(!hasStackTrace(since.stderr + env.stderr));
  });
});
