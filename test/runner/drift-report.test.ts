// The drift report: computeDrift from a real plan (built from small states), the attribution from
// audit records, and the four formats: their shapes, and that hostile values cannot change the
// markup of the markdown or the HTML. Plus the watch helpers and --watch parsing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { permission, role, tenant } from '../../src/dsl/builders.ts';
import { parseWatchInterval } from '../../src/runner/cli/commands/drift.ts';
import {
  computeDrift,
  computeDriftDelta,
  computeLastChanges,
  computeNotification,
  DRIFT_FORMATS,
  formatDrift,
  formatDriftHtml,
  formatDriftJson,
  formatDriftMarkdown,
  formatDriftText,
  formatWatchLine,
  isDriftReport,
  type DriftReport,
} from '../../src/runner/plan/drift-report.ts';
import { computePlan } from '../../src/runner/plan/compute.ts';
import type { Plan } from '../../src/runner/plan/types.ts';
import { auditAddress, auditEntryFromSdk, type AuditEntry } from '../../src/runtime/index.ts';
import { desiredOf, flowDoc, liveOf, type DesiredInput, type LiveInput } from '../helpers/plan-state.ts';

const HOSTILE = '<script>alert("x")</script> & | `tick` **bold**';
const CHECKED = '2026-11-21T12:30:32.123Z';

function plan(desired: DesiredInput, live: LiveInput): Plan {
  return computePlan(desiredOf(desired), liveOf(live), { environment: 'staging', projectId: 'P2test', createdAt: CHECKED });
}

const login = flowDoc({ id: 'login' });
const loginEdited = flowDoc({
  id: 'login',
  screens: [{ id: 'SC1', flowId: 'login', interactions: [{ id: 'go', label: 'Go!!' }], htmlTemplate: { ROOT: {} } }],
});

/** Config vs live: a changed tenant (hostile name, other domains), a changed role, a changed flow screen,
 * a permission missing live, an extra role the config prunes, and an unmanaged tenant. */
const DRIFTED = plan(
  {
    permissions: [permission({ name: 'docs.read' }), permission({ name: 'docs.write', description: 'Write docs' })],
    roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
    tenants: [tenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'] })],
    flows: [{ doc: login }],
    prune: { roles: true },
  },
  {
    permissions: [{ name: 'docs.read' }],
    roles: [{ name: 'Reader', permissions: ['docs.read', 'docs.write'] }, { name: 'Old' }],
    tenants: [
      { id: 'acme', name: HOSTILE, selfProvisioningDomains: ['evil.com'] },
      { id: 'legacy', name: 'Legacy' },
    ],
    flows: [loginEdited],
  },
);

function entry(address: string | undefined, occurred: number, action: string, actor = 'K2actor'): AuditEntry {
  return { occurred, time: new Date(occurred).toISOString(), actor, action, ...(address ? { address } : {}), tenants: [] };
}

const AUDIT: AuditEntry[] = [
  entry('tenants/acme', 1_000, 'TenantCreated'),
  entry('tenants/acme', 3_000, 'TenantUpdated', 'K2other'),
  entry('roles/Reader', 2_000, 'RoleUpdated'),
  entry(undefined, 9_000, 'ProjectNameUpdated'),
];

const REPORT = computeDrift(DRIFTED, { checkedAt: CHECKED, audit: AUDIT });

describe('computeDrift', () => {
  test('drift is the changes and the held deletes; unmanaged resources are only counted', () => {
    assert.deepEqual(
      REPORT.drifted.map((d) => [d.address, d.kind, d.action]),
      [
        ['flows/login', 'flow', 'changed'],
        ['permissions/docs.write', 'permission', 'missing'],
        ['roles/Old', 'role', 'extra'],
        ['roles/Reader', 'role', 'changed'],
        ['tenants/acme', 'tenant', 'changed'],
      ],
    );
    assert.equal(REPORT.unmanaged, 1);
    assert.equal(REPORT.environment, 'staging');
    assert.equal(REPORT.projectId, 'P2test');
  });

  test('fields: live → config for changes, config only for missing, none for extra', () => {
    const byAddress = new Map(REPORT.drifted.map((d) => [d.address, d]));
    assert.deepEqual(byAddress.get('tenants/acme')!.fields, [
      { field: 'name', live: HOSTILE, config: 'Acme' },
      { field: 'selfProvisioningDomains', live: ['evil.com'], config: ['acme.com'] },
    ]);
    assert.deepEqual(byAddress.get('roles/Reader')!.fields, [{ field: 'permissions', live: ['docs.read', 'docs.write'], config: ['docs.read'] }]);
    assert.deepEqual(byAddress.get('permissions/docs.write')!.fields, [{ field: 'description', config: 'Write docs' }]);
    assert.deepEqual(byAddress.get('roles/Old')!.fields, []);
  });

  test('a flow lists each changed screen with the whole screen, and carries the unified diff', () => {
    const flow = REPORT.drifted.find((d) => d.address === 'flows/login')!;
    assert.deepEqual(flow.fields.map((f) => f.field), ['screens.SC1']);
    assert.equal((flow.fields[0]!.live as { interactions: { label: string }[] }).interactions[0]!.label, 'Go!!');
    assert.equal((flow.fields[0]!.config as { interactions: { label: string }[] }).interactions[0]!.label, 'Go');
    assert.match(flow.diff!, /^--- flows\/login \(live\)/m);
    assert.match(flow.diff!, /^-.*"Go!!"/m);
  });

  test('the newest audit record per address is its last change; records that name no address are not used', () => {
    const last = computeLastChanges(AUDIT);
    assert.deepEqual(last.get('tenants/acme'), { time: new Date(3_000).toISOString(), actor: 'K2other', action: 'TenantUpdated' });
    assert.equal(last.size, 2);
    const byAddress = new Map(REPORT.drifted.map((d) => [d.address, d]));
    assert.equal(byAddress.get('tenants/acme')!.lastChange?.action, 'TenantUpdated');
    assert.equal(byAddress.get('roles/Reader')!.lastChange?.action, 'RoleUpdated');
    assert.equal(byAddress.get('flows/login')!.lastChange, undefined);
  });

  test('no changes: no drift', () => {
    const clean = computeDrift(plan({ tenants: [tenant({ id: 'acme', name: 'Acme' })] }, { tenants: [{ id: 'acme', name: 'Acme' }] }), { checkedAt: CHECKED });
    assert.deepEqual(clean.drifted, []);
    assert.deepEqual(formatDriftText(clean), [
      'Drift in environment staging (project P2test): 0 drifted addresses',
      'No drift: the live project matches the config.',
    ]);
  });
});

describe('the audit trail, mapped to plan addresses', () => {
  const cases: [resource: string, action: string, address: string | undefined][] = [
    ['tenants/acme', 'TenantUpdated', 'tenants/acme'],
    ['tenants/acme', 'TenantDefaultRolesUpdated', 'tenants/acme'],
    ['tenants/acme', 'TenantSettingsUpdated', 'tenants/acme/settings'],
    ['sso/acme', 'SSOOIDCSettingsUpdated', 'tenants/acme/sso'],
    ['sso/acme/sso2', 'SSOSettingsCreated', 'tenants/acme/sso'],
    ['roles/acme/Agent', 'RoleUpdated', 'roles/acme/Agent'],
    ['permissions/docs.read', 'PermissionUpdated', 'permissions/docs.read'],
    ['flows/sign-up-or-in', 'FlowImported', 'flows/sign-up-or-in'],
    ['theme/project', 'ThemeImported', 'theme'],
    ['password/project', 'PasswordSettingsUpdated', 'password-policy'],
    ['password/acme', 'PasswordSettingsUpdated', undefined],
    // Segments are escaped by the emulator (src/emulator/resource.ts) and re-spelt by the builders:
    // a project role named "acme/Agent" is not the role "Agent" of tenant acme.
    ['roles/acme%2FAgent', 'RoleUpdated', 'roles/acme%2FAgent'],
    ['roles/acme%2fAgent', 'RoleUpdated', 'roles/acme%2FAgent'],
    ['roles/a\u202Eb', 'RoleCreated', 'roles/a%E2%80%AEb'],
    ['tenants/a%2Fb', 'TenantSettingsUpdated', 'tenants/a%2Fb/settings'],
    ['tenants/a/b', 'TenantUpdated', undefined],
    ['sso/a%2Fb/sso2', 'SSOSettingsCreated', 'tenants/a%2Fb/sso'],
    ['permissions/50%25', 'PermissionUpdated', 'permissions/50%25'],
    ['permissions/50%', 'PermissionUpdated', undefined],
    ['flows/x%2Fy', 'FlowImported', 'flows/x%2Fy'],
    // A tenant named "project" has its own policy, not the project's.
    ['password/tenants/project', 'PasswordSettingsUpdated', undefined],
    ['project/P2x', 'ProjectNameUpdated', undefined],
    ['', 'Custom', undefined],
  ];
  for (const [resource, action, address] of cases) {
    test(`${action} ${resource || '(none)'} → ${address ?? 'none'}`, () => assert.equal(auditAddress(resource, action), address));
  }

  test('an SDK record: time from epoch ms, actor from actorId, then userId, then a login id', () => {
    const base = { projectId: 'P', action: 'TenantUpdated', occurred: 1_700_000_000_000, device: '', method: '', geo: '', remoteAddress: '', tenants: ['acme'] };
    const fromKey = auditEntryFromSdk({ ...base, userId: '', loginIds: [], data: { resource: 'tenants/acme' }, actorId: 'K2key' } as never);
    assert.deepEqual(fromKey, { occurred: 1_700_000_000_000, time: '2023-11-14T22:13:20.000Z', actor: 'K2key', action: 'TenantUpdated', address: 'tenants/acme', tenants: ['acme'] });
    assert.equal(auditEntryFromSdk({ ...base, userId: 'U1', loginIds: ['a@b.c'], data: {} }).actor, 'U1');
    assert.equal(auditEntryFromSdk({ ...base, userId: '', loginIds: ['a@b.c'], data: {} }).actor, 'a@b.c');
    assert.equal(auditEntryFromSdk({ ...base, userId: '', loginIds: [], data: {} }).address, undefined);
  });
});

describe('formats', () => {
  test('text: the heading, one block per address with live → config, the last change, the counts', () => {
    const text = formatDriftText(REPORT).join('\n');
    assert.match(text, /^Drift in environment staging \(project P2test\): 5 drifted addresses$/m);
    assert.match(text, /^ {2}~ tenants\/acme {2}changed$/m);
    assert.match(text, /^ {6}selfProvisioningDomains: \["evil\.com"\] → \["acme\.com"\]$/m);
    assert.match(text, /^ {6}last change: 1970-01-01T00:00:03Z by K2other \(TenantUpdated\)$/m);
    assert.match(text, /^ {2}\+ permissions\/docs\.write {2}missing: in the config, not live$/m);
    assert.match(text, /^ {2}- roles\/Old {2}extra: live, not in the config, which prunes its kind$/m);
    assert.match(text, /^ {6}screens\.SC1: changed$/m);
    assert.match(text, /^ {6}--- flows\/login \(live\)$/m);
    assert.match(text, /^5 drifted: 1 missing, 1 extra, 3 changed\./m);
    assert.match(text, /^Unmanaged: 1 live resource is not in the config \(not drift\)\.$/m);
    assert.doesNotMatch(text, /legacy/, 'unmanaged resources are counted, not listed');
  });

  test('json: the documented shape, a side without the field has no key', () => {
    const parsed = JSON.parse(formatDriftJson(REPORT)) as Record<string, unknown> & { drifted: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(parsed), ['format', 'version', 'environment', 'projectId', 'checkedAt', 'drifted', 'unmanaged']);
    assert.equal(parsed.format, 'descope-run/drift-report');
    assert.equal(parsed.checkedAt, CHECKED);
    assert.equal(parsed.unmanaged, 1);
    const acme = parsed.drifted.find((d) => d.address === 'tenants/acme')!;
    assert.deepEqual(acme, {
      address: 'tenants/acme',
      kind: 'tenant',
      action: 'changed',
      fields: [
        { field: 'name', live: HOSTILE, config: 'Acme' },
        { field: 'selfProvisioningDomains', live: ['evil.com'], config: ['acme.com'] },
      ],
      lastChange: { time: new Date(3_000).toISOString(), actor: 'K2other', action: 'TenantUpdated' },
    });
    const missing = parsed.drifted.find((d) => d.address === 'permissions/docs.write')!;
    assert.deepEqual(missing.fields, [{ field: 'description', config: 'Write docs' }]);
    assert.equal(typeof parsed.drifted.find((d) => d.address === 'flows/login')!.diff, 'string');
    const unavailable = JSON.parse(formatDriftJson({ ...REPORT, auditUnavailable: 'Descope answered 501' })) as { auditUnavailable: string };
    assert.equal(unavailable.auditUnavailable, 'Descope answered 501');
  });

  test('markdown: a table per address; values cannot break the table or the markup', () => {
    const md = formatDriftMarkdown(REPORT);
    assert.match(md, /^### .*Drift in environment <code>staging<\/code> \(project <code>P2test<\/code>\): 5 drifted addresses$/m);
    for (const d of REPORT.drifted) assert.ok(md.includes(`<code>${d.address}</code>`), d.address);
    assert.equal(md.match(/^\| Field \| Live \| Config \|$/gm)?.length, 4, 'a table for each address with fields');
    const nameRow = md.split('\n').find((line) => line.startsWith('| <code>name</code> |') && line.includes('Acme'))!;
    assert.equal(nameRow.split('|').length, 5, `a pipe in a value split the row: ${nameRow}`);
    assert.ok(!md.includes('<script>') && !md.includes('`tick`') && !md.includes('**bold**'), md);
    assert.ok(md.includes('&#60;script&#62;'));
    assert.match(md, /^```diff$/m);
  });

  test('markdown: the diff fence is longer than any run of backticks in the diff', () => {
    const report: DriftReport = { ...REPORT, drifted: [{ ...REPORT.drifted[0]!, diff: '--- a\n+++ b\n-x\n+```` y' }] };
    assert.match(formatDriftMarkdown(report), /^`````diff$/m);
  });

  test('html: one page, no script, no external resource, every value escaped', () => {
    const html = formatDriftHtml({ ...REPORT, environment: '<img src=x onerror=alert(1)>', auditUnavailable: '<b>501</b>' });
    assert.match(html, /^<!doctype html>/);
    assert.equal(html.match(/<html/g)?.length, 1);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /<b>501/);
    assert.doesNotMatch(html, /<[^>]*\b(src|href)=/i, 'nothing is loaded from elsewhere');
    assert.doesNotMatch(html, /@import|url\(/i);
    assert.match(html, /<style>/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/);
    assert.ok(html.includes('<td><code>&#34;&#60;script&#62;alert(\\&#34;x\\&#34;)&#60;/script&#62; &#38; | `tick` **bold**&#34;</code></td>'), 'the hostile name, escaped');
    for (const d of REPORT.drifted) assert.ok(html.includes(`<code>${d.address}</code>`), d.address);
  });

  test('every format carries its marker, so drift --out replaces its own report and nothing else', () => {
    for (const format of DRIFT_FORMATS) {
      for (const report of [REPORT, { ...REPORT, drifted: [] }]) {
        assert.equal(isDriftReport(formatDrift(report, format)), true, `${format} is not recognised`);
      }
    }
    const others: [string, string][] = [
      ['a config', "import { defineConfig } from 'descope-run';\n"],
      ['package.json', '{ "name": "app" }\n'],
      ['a saved plan', '{\n  "format": "descope-run/plan",\n  "version": 1\n}\n'],
      ['a report pasted below other text', `notes\n${formatDrift(REPORT, 'text')}`],
      ['the terminal text, as a shell redirect writes it', `${formatDriftText(REPORT).join('\n')}\n`],
      ['an HTML page without the generator', '<!doctype html>\n<html><head><meta charset="utf-8"></head></html>\n'],
      ['a generator meta in a page that is no document', '<p><meta name="generator" content="descope-run"></p>'],
      ['empty', ''],
    ];
    for (const [what, text] of others) assert.equal(isDriftReport(text), false, what);
  });

  test('the audit line when the trail could not be searched', () => {
    const report = { ...REPORT, auditUnavailable: 'Descope answered 403 E123' };
    const lines = [formatDrift(report, 'text'), formatDriftHtml(report)];
    for (const out of lines) assert.equal(out.match(/Who and when: unknown, the audit trail could not be searched \(Descope answered 403 E123\)\./g)?.length, 1);
    // In markdown the reason (server text) is code, so a URL in it is not made a link.
    assert.equal(formatDriftMarkdown(report).match(/Who and when: unknown, the audit trail could not be searched \(<code>Descope answered 403 E123<\/code>\)\./g)?.length, 1);
  });
});

describe('formats: live data (names, values, flow tasks, audit actors, the audit error) is shown, never obeyed', () => {
  const ESC = '\x1b';
  const EVIL = `x${ESC}[2K\r${ESC}]8;;http://evil${ESC}\\link${ESC}]8;;${ESC}\\\u202e\u009b | \`\`\`\n  Plan: 0 to create. FORGED`;
  const RAW = /[\r\x1b\u0080-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;
  const evilFlow = flowDoc({
    id: 'login',
    tasks: {
      '1': { id: '1', type: 'screen', name: EVIL, screenId: 'SC1', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
      '2': { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
      [EVIL]: { id: EVIL, type: 'automated', name: 'Extra', action: 'x', next: {} },
    },
  });
  const evilPlan = plan(
    { tenants: [tenant({ id: 'acme', name: 'Acme' })], flows: [{ doc: login }], prune: { roles: true } },
    { tenants: [{ id: 'acme', name: EVIL }], roles: [{ name: EVIL }], flows: [evilFlow] },
  );
  const report: DriftReport = {
    ...computeDrift(evilPlan, { checkedAt: CHECKED, audit: [entry('tenants/acme', 5_000, EVIL, `https://evil.example/${EVIL}`)] }),
    auditUnavailable: `see https://evil.example ${EVIL}`,
  };

  test('text: one line per entry, every character visible', () => {
    const lines = formatDriftText(report);
    assert.ok(lines.some((line) => line.includes('\\u202e')));
    for (const line of lines) {
      assert.doesNotMatch(line, RAW, JSON.stringify(line));
      assert.ok(!line.includes('\n'));
      assert.doesNotMatch(line, /^\s*Plan: 0 to create\. FORGED/);
    }
  });

  test('markdown: the names stay in their code spans and table cells, outside code no URL, the fence stays closed', () => {
    const md = formatDriftMarkdown(report);
    assert.doesNotMatch(md, RAW);
    for (const line of md.split('\n')) assert.doesNotMatch(line, /^\s*Plan: 0 to create\. FORGED/);
    for (const row of md.split('\n').filter((line) => line.startsWith('| '))) assert.equal(row.split('|').length, 5, `3 cells: ${row}`);
    // Outside code spans and the fence, no data: no backtick, no pipe, no URL.
    const fenced = md.match(/^(`{3,})diff\n[\s\S]*?\n\1$/m);
    assert.ok(fenced, 'the diff is one fenced block');
    assert.ok(!fenced[0].slice(fenced[1]!.length + 5, -fenced[1]!.length).includes(fenced[1]!), 'no run of backticks inside closes the fence');
    const prose = md.replace(fenced[0], '').replace(/<code>.*?<\/code>/g, '');
    assert.doesNotMatch(prose, /https?:|evil\.example/);
  });

  test('html: no bidi or control character, their escapes visible; json: the same values, escaped', () => {
    const html = formatDriftHtml(report);
    assert.doesNotMatch(html, RAW);
    assert.ok(html.includes('\\u202e'));
    assert.doesNotMatch(html, /<a\b|href=/);
    const json = formatDriftJson(report);
    assert.doesNotMatch(json, RAW);
    const parsed = JSON.parse(json) as DriftReport;
    assert.equal(parsed.drifted.find((d) => d.address === 'tenants/acme')!.fields[0]!.live, EVIL);
    assert.equal(parsed.auditUnavailable, report.auditUnavailable);
  });

  test('the watch line and the Slack text', () => {
    const delta = computeDriftDelta(undefined, report);
    assert.doesNotMatch(formatWatchLine(report, delta), RAW);
    const note = computeNotification(report, delta);
    assert.doesNotMatch(note.text, RAW);
    assert.ok(!note.text.includes('\n'));
  });
});

describe('watching', () => {
  const withAddresses = (...addresses: string[]): DriftReport => ({
    ...REPORT,
    drifted: addresses.map((address) => ({ address, kind: 'tenant', action: 'changed', fields: [] })),
  });

  test('new and resolved addresses between checks; the first check finds all drift new', () => {
    assert.deepEqual(computeDriftDelta(undefined, withAddresses('tenants/a')), { newlyDrifted: ['tenants/a'], resolved: [] });
    assert.deepEqual(computeDriftDelta(new Set(['tenants/a', 'tenants/b']), withAddresses('tenants/b', 'tenants/c')), {
      newlyDrifted: ['tenants/c'],
      resolved: ['tenants/a'],
    });
    assert.deepEqual(computeDriftDelta(new Set(['tenants/a']), withAddresses('tenants/a')), { newlyDrifted: [], resolved: [] });
  });

  test('the notification: Slack text with its escapes, and the address lists', () => {
    const report = withAddresses('roles/<b>', 'tenants/a');
    const payload = computeNotification(report, { newlyDrifted: ['roles/<b>'], resolved: [] });
    assert.deepEqual(Object.keys(payload), ['text', 'environment', 'projectId', 'drifted', 'newlyDrifted']);
    assert.equal(payload.text, 'Drift in environment staging (project P2test): 1 new drifted address (roles/&lt;b&gt;); 2 drifted addresses in all.');
    assert.deepEqual(payload.drifted, ['roles/<b>', 'tenants/a']);
    assert.deepEqual(payload.newlyDrifted, ['roles/<b>']);
  });

  const intervals: [value: string, min: number, ms: number | RegExp][] = [
    ['30s', 5_000, 30_000],
    ['5m', 5_000, 300_000],
    ['1h', 5_000, 3_600_000],
    ['1.5m', 5_000, 90_000],
    ['5s', 5_000, 5_000],
    ['4s', 5_000, /too short; the shortest interval is 5s/],
    ['300ms', 5_000, /too short/],
    ['300ms', 100, 300],
    ['30', 5_000, /not an interval/],
    ['soon', 5_000, /not an interval/],
    ['-5s', 5_000, /not an interval/],
  ];
  for (const [value, min, expected] of intervals) {
    test(`--watch ${value} (minimum ${min} ms)`, () => {
      if (typeof expected === 'number') assert.equal(parseWatchInterval(value, min), expected);
      else assert.throws(() => parseWatchInterval(value, min), (error: Error) => error.name === 'UsageError' && expected.test(error.message));
    });
  }
});
