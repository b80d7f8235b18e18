// Issue 11, item 8: the terminal shows text, never commands. Live tenants, roles, permissions and
// flows (and a Descope error text, an audit actor, an audit log line and a backup file name)
// hold ESC [2K, CR, an OSC 8 link, U+202E, U+009B and a newline followed by a forged plan line.
// Through the real CLI against the emulator: diff, apply, drift (text, markdown, html, json), show
// (table, yaml, json), audit and backup list write none of those characters raw (bytes: no ESC but
// SGR with FORCE_COLOR=1, none at all without; no CR, no U+202E, no U+009B), no forged line starts
// a line, the data is still shown (escaped), and the JSON outputs parse to the same strings.
import assert from 'node:assert/strict';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import type { CliResult } from '../helpers/cli.ts';
import { createProject, type Project } from '../helpers/project.ts';

const ESC = '\x1b';
const FORGED = 'Plan: 0 to create, 0 to update, 0 to delete. FORGED';
/** Erases the line, returns to its start, plants a link, reverses the text, opens a C1 CSI, and forges a summary line. */
const HOSTILE = `x${ESC}[2K\r${ESC}]8;;http://evil.example${ESC}\\click${ESC}]8;;${ESC}\\\u202e\u009b31m\n${FORGED}`;
const REMOTE = ['--env', 'remote'];

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
  screens: [{ id: 'SC1', flowId: 'login', interactions: [{ id: 'go', label: 'Continue' }], htmlTemplate: { ROOT: {} } }],
};

const config = (extraTenant = '') => `import { defineConfig, flow, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: [tenant({ id: 'acme', name: 'Acme' })${extraTenant}],
  flows: [flow({ id: 'login', json: ${JSON.stringify(LOGIN)} })],
});
`;

/** The bytes the terminal would get, checked: nothing raw, only our SGR colours (when `color`), no forged line. */
function assertSafe(label: string, result: CliResult, options: { color: boolean; shows?: boolean }): void {
  for (const [stream, text] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
    const where = `${label} (${stream}): ${JSON.stringify(text).slice(0, 3000)}`;
    assert.ok(!text.includes('\r'), `no CR: ${where}`);
    assert.ok(!text.includes('\u202e'), `no U+202E: ${where}`);
    assert.ok(!text.includes('\u009b'), `no U+009B: ${where}`);
    const escapes = [...text.matchAll(/\x1b(\[[0-9;]*m)?/g)];
    if (options.color) assert.ok(escapes.every((m) => m[1] !== undefined), `only SGR escapes: ${where}`);
    else assert.equal(escapes.length, 0, `no ESC at all: ${where}`);
    const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
    for (const line of plain.split('\n')) assert.ok(!line.trimStart().startsWith(FORGED), `a forged line: ${JSON.stringify(line)} in ${where}`);
  }
  // The data is there, as text (a test that printed nothing would pass the checks above).
  if (options.shows !== false) assert.ok((result.stdout + result.stderr).includes('x\\u001b[2K\\r'), `${label} shows the hostile text, escaped`);
}

let project: Project;

before(async () => {
  project = await createProject({ config: config() });
  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);

  // Out of band, through the real SDK: hostile names and values in every kind.
  const m = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url }).management;
  const ok = async (what: string, call: Promise<{ ok: boolean; error?: unknown }>) => {
    const answer = await call;
    assert.equal(answer.ok, true, `${what}: ${JSON.stringify(answer.error)}`);
  };
  await ok('tenant.update', m.tenant.update('acme', HOSTILE));
  await ok('tenant.createWithId', m.tenant.createWithId(`evil${HOSTILE}`, `evil ${HOSTILE}`));
  await ok('role.create', m.role.create(HOSTILE, HOSTILE));
  await ok('permission.create', m.permission.create(HOSTILE, HOSTILE));
  const tasks = { ...LOGIN.flow.dsl.tasks, '1': { ...LOGIN.flow.dsl.tasks['1'], name: HOSTILE }, [HOSTILE]: { id: HOSTILE, type: 'automated', name: 'x', action: 'x', next: {} } };
  await ok('flow.import', m.flow.import('login', { ...LOGIN.flow, dsl: { ...LOGIN.flow.dsl, tasks } } as never, LOGIN.screens as never));
  await ok('flow.import (unmanaged)', m.flow.import(`old${HOSTILE}`, { id: `old${HOSTILE}`, name: HOSTILE, dsl: {} } as never));
  // The audit trail's newest record for tenants/acme: drift names its actor and action.
  await ok('audit.createEvent', m.audit.createEvent({ action: HOSTILE, type: 'info', actorId: HOSTILE, tenantId: 'acme', data: { resource: 'tenants/acme' } } as never));
});

after(() => project?.close());

describe('live data reaches the terminal as text', () => {
  test('diff, without and with colour, and --json', async () => {
    const plain = await project.run(['diff', ...REMOTE]);
    assert.equal(plain.code, 0, plain.stderr);
    assertSafe('diff', plain, { color: false });
    assert.match(plain.stdout, /^Plan: 0 to create, 2 to update, 0 to delete, 4 unmanaged\.$/m, 'the real summary is there');

    const colored = await project.run(['diff', ...REMOTE], { env: { FORCE_COLOR: '1' } });
    assertSafe('diff (colour)', colored, { color: true });
    assert.match(colored.stdout, /\x1b\[32m/, 'with colour');

    const json = await project.run(['diff', ...REMOTE, '--json']);
    assertSafe('diff --json', json, { color: false });
    const plan = JSON.parse(json.stdout) as { changes: { address: string; fields: { field: string; before?: unknown }[] }[]; unmanaged: { address: string }[] };
    const acme = plan.changes.find((c) => c.address === 'tenants/acme')!;
    assert.equal(acme.fields.find((f) => f.field === 'name')!.before, HOSTILE, 'the same value, once parsed');
    assert.equal(plan.unmanaged.length, 4);
  });

  test('drift in every format', async () => {
    const text = await project.run(['drift', ...REMOTE]);
    assert.equal(text.code, 0, text.stderr);
    assertSafe('drift', text, { color: false });
    assert.match(text.stdout, /last change: .* by x\\u001b\[2K\\r/, 'the audit actor, escaped');

    const markdown = await project.run(['drift', ...REMOTE, '--format', 'markdown']);
    assertSafe('drift --format markdown', markdown, { color: false, shows: false });
    assert.ok(markdown.stdout.includes('&#92;u202e'), 'the markdown shows the escapes');
    for (const row of markdown.stdout.split('\n').filter((line) => line.startsWith('| '))) assert.equal(row.split('|').length, 5, `3 cells: ${row}`);

    const html = await project.run(['drift', ...REMOTE, '--format', 'html']);
    assertSafe('drift --format html', html, { color: false });
    assert.doesNotMatch(html.stdout, /<a\b|href=/);

    const json = await project.run(['drift', ...REMOTE, '--format', 'json']);
    assertSafe('drift --format json', json, { color: false });
    const report = JSON.parse(json.stdout) as { drifted: { address: string; lastChange?: { actor: string } }[] };
    assert.equal(report.drifted.find((d) => d.address === 'tenants/acme')!.lastChange?.actor, HOSTILE);
  });

  test('show: table, yaml and json', async () => {
    for (const [view, format] of [['tenants', 'table'], ['roles', 'yaml'], ['permissions', 'table'], ['flows', 'json']] as const) {
      const result = await project.run(['show', view, ...REMOTE, '--format', format]);
      assert.equal(result.code, 0, result.stderr);
      assertSafe(`show ${view} --format ${format}`, result, { color: false });
      if (format === 'json') assert.ok((JSON.parse(result.stdout) as { name: string }[]).some((f) => f.name === HOSTILE));
    }
  });

  test('apply (with colour): the plan, the results and Descope\'s error text quoting a hostile name', async () => {
    // A new tenant named like the unmanaged one: Descope refuses it, quoting the name.
    await project.setConfig(config(`, tenant({ id: 'beta', name: ${JSON.stringify(`evil ${HOSTILE}`)} })`));
    const result = await project.run(['apply', ...REMOTE, '--yes'], { env: { FORCE_COLOR: '1' } });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assertSafe("apply", result, { color: true });
    const plain = result.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /✗ \+ tenants\/beta: .*already exists/, 'the failure, on its line');
    assert.match(plain, /✓ tenants\/acme updated/);
  });

  test('audit and backup list: hostile files', async () => {
    const record = {
      version: 1,
      time: '2026-01-01T00:00:00.000Z',
      command: 'apply',
      user: HOSTILE,
      environment: 'remote',
      projectId: HOSTILE,
      planFingerprint: '',
      liveFingerprint: '',
      outcome: HOSTILE,
      changes: [],
      git: { commit: `${HOSTILE}0000000000000000000000000000000000000000`, author: HOSTILE, dirty: false },
      durationMs: 1,
      exitStatus: 0,
    };
    await appendFile(path.join(project.dir, '.descope', 'audit', 'remote.jsonl'), `${JSON.stringify(record)}\n`);
    const audit = await project.run(['audit'], { env: { FORCE_COLOR: '1' } });
    assert.equal(audit.code, 0, audit.stderr);
    assertSafe('audit', audit, { color: true });
    const auditJson = await project.run(['audit', '--json']);
    assertSafe('audit --json', auditJson, { color: false });
    assert.ok((JSON.parse(auditJson.stdout) as { user: string }[]).some((r) => r.user === HOSTILE));

    const backups = path.join(project.dir, '.descope', 'backups', 'remote');
    await mkdir(backups, { recursive: true });
    await writeFile(path.join(backups, `2026${HOSTILE.replaceAll("/", "_")}.json`), '{"not": "a backup"}\n');
    const list = await project.run(['backup', 'list', ...REMOTE]);
    assertSafe('backup list', list, { color: false });
  });
});
