// formatPlan, golden files: each scenario's plan text (plain, no colour) is compared with
// test/runner/golden/plan-<scenario>.txt, which is `formatPlan(plan, PLAIN).join('\n') + '\n'`.
//
// To regenerate the golden files after an intended change to the text, run
//   UPDATE_GOLDEN=1 node --import tsx --test test/runner/plan-format.test.ts
// and review the diff of test/runner/golden/ like code: it is what users read.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { permission, role, tenant } from '../../src/dsl/builders.ts';
import { computePlan, type ComputePlanOptions } from '../../src/runner/plan/compute.ts';
import { formatPlan, formatValue, PLAIN, VALUE_WIDTH, type Paint } from '../../src/runner/plan/plan-text.ts';
import type { Plan } from '../../src/runner/plan/types.ts';
import { desiredOf, flowDoc, liveOf, subFlowTask, type DesiredInput, type LiveInput } from '../helpers/plan-state.ts';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

function plan(desired: DesiredInput, live: LiveInput, options: ComputePlanOptions = {}): Plan {
  return computePlan(desiredOf(desired), liveOf(live), { environment: 'staging', projectId: 'P2test', createdAt: '2024-01-01T00:00:00.000Z', ...options });
}

function expectGolden(name: string, text: string): void {
  const file = path.join(GOLDEN, `plan-${name}.txt`);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    assert.fail(`${path.relative(process.cwd(), file)} is missing: run with UPDATE_GOLDEN=1 to write it`);
  }
  assert.equal(text, expected, `${path.relative(process.cwd(), file)} differs (UPDATE_GOLDEN=1 rewrites it)`);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const acme = { id: 'acme', name: 'Acme' };
const SAML = {
  type: 'saml',
  idpUrl: 'https://idp.globex.com/saml',
  entityId: 'urn:globex',
  idpCert: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ\n-----END CERTIFICATE-----',
} as const;

/** A sample project, all new. */
const allNew: DesiredInput = {
  permissions: [permission({ name: 'billing.read', description: 'Read invoices' }), permission({ name: 'billing.write' })],
  roles: [
    role({ name: 'Billing Viewer', description: 'Sees invoices', permissions: ['billing.read'] }),
    role({ name: 'Billing Admin', permissions: ['billing.write', 'billing.read'], default: true }),
    role({ name: 'Owner', tenant: 'acme' }),
  ],
  tenants: [
    tenant({
      ...acme,
      selfProvisioningDomains: ['acme.com', 'Acme.io'],
      customAttributes: { plan: 'enterprise', seats: 250 },
      defaultRoles: ['Billing Viewer', 'Owner'],
      settings: { sessionTokenExpiration: { value: 15, unit: 'minutes' }, inactivityTimeout: false },
      sso: {
        type: 'oidc',
        name: 'Acme Okta',
        clientId: '0oa1b2c3',
        clientSecret: { env: 'ACME_OIDC_SECRET' },
        issuer: 'https://acme.okta.com',
        scope: ['openid', 'email', 'profile'],
        roleMappings: [{ role: 'Billing Admin', groups: ['finance'] }],
      },
    }),
    tenant({ id: 'globex', name: 'Globex', sso: SAML }),
  ],
  flows: [
    { doc: flowDoc({ id: 'sign-up-or-in', name: 'Sign Up or In', tasks: { ...flowDoc({ id: 'x' }).flow.dsl.tasks, '3': subFlowTask('3', 'mfa') } }) },
    { doc: flowDoc({ id: 'mfa', name: 'MFA' }) },
  ],
};

/** Live: acme needs an update, roles a rename, beta a new parent; prune deletes old things. */
const mixedDesired: DesiredInput = {
  permissions: [permission({ name: 'billing.read', description: 'Read invoices' })],
  roles: [
    role({ name: 'Billing Viewer', renamedFrom: 'Invoice Viewer', permissions: ['billing.read'] }),
    role({ name: 'Owner', tenant: 'beta', description: 'Owns the tenant' }),
  ],
  tenants: [
    tenant({ id: 'root', name: 'Root' }),
    tenant({ ...acme, name: 'Acme Inc', selfProvisioningDomains: ['acme.com', 'acme.io'], settings: { sessionTokenExpiration: { value: 15, unit: 'minutes' } } }),
    tenant({ id: 'beta', name: 'Beta', parent: 'root' }),
  ],
  passwordPolicy: { minLength: 12, lock: true, lockAttempts: 5 },
  prune: { roles: true, flows: true },
};
const mixedLive: LiveInput = {
  permissions: [{ name: 'billing.read', description: 'Read invoices' }, { name: 'legacy.export' }],
  roles: [
    { name: 'Invoice Viewer', id: 'R1' },
    { name: 'Support', id: 'R2' },
    { name: 'Owner', tenant: 'beta', id: 'R3' },
  ],
  tenants: [{ id: 'root', name: 'Root' }, { ...acme, selfProvisioningDomains: ['acme.com'] }, { id: 'beta', name: 'Beta' }, { id: 'sandbox', name: 'Sandbox' }],
  tenantSettings: { acme: {} },
  passwordPolicy: {},
  listedFlows: [{ id: 'old-onboarding' }],
};

/** A live flow and the config's version of it: one task changed, one added, a screen's label. */
const flowTasks = {
  '1': { id: '1', type: 'screen', name: 'Welcome', screenId: 'SC1', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
  '2': { id: '2', type: 'automated', name: 'Send code', action: 'otp-email', next: { rules: [{ taskId: '3' }] } },
  '3': { id: '3', type: 'screen', name: 'Enter code', screenId: 'SC2', next: { rules: [{ interactionId: 'verify', taskId: '4' }] } },
  '4': { id: '4', type: 'automated', name: 'End', action: 'logged-in', next: {} },
};
const flowScreens = [
  { id: 'SC1', flowId: 'sign-up-or-in', interactions: [{ id: 'go', label: 'Continue' }], htmlTemplate: { ROOT: { type: 'container' } } },
  { id: 'SC2', flowId: 'sign-up-or-in', interactions: [{ id: 'verify', label: 'Verify' }], htmlTemplate: { ROOT: { type: 'container' } } },
];

/** A theme long enough to be shown as a diff. */
function themeDoc(primary: string): { cssTemplate: Record<string, unknown> } {
  const palette = (mode: string) => ({
    colors: { primary: { main: primary, contrast: '#ffffff' }, surface: { main: mode === 'light' ? '#ffffff' : '#121212' }, error: { main: '#d32f2f' } },
    typography: { fontFamily: 'Inter, sans-serif', h1: { fontSize: '32px' }, body1: { fontSize: '14px' } },
  });
  return { cssTemplate: { dark: palette('dark'), light: palette('light') } };
}

const scenarios: { name: string; make: () => Plan }[] = [
  { name: 'all-creates', make: () => plan(allNew, {}) },
  { name: 'mixed', make: () => plan(mixedDesired, mixedLive, { allowDelete: true }) },
  { name: 'mixed-held', make: () => plan(mixedDesired, mixedLive) },
  {
    name: 'only-held',
    make: () => plan({ tenants: [tenant(acme)], prune: { tenants: true, flows: true } }, { tenants: [acme, { id: 'sandbox', name: 'Sandbox' }], listedFlows: [{ id: 'old-onboarding' }] }),
  },
  {
    name: 'no-changes',
    make: () =>
      plan(
        { tenants: [tenant({ ...acme, selfProvisioningDomains: ['Acme.com'] })], roles: [role({ name: 'Reader' })] },
        { tenants: [{ ...acme, selfProvisioningDomains: ['acme.com'] }], roles: [{ name: 'Reader', id: 'R1' }] },
      ),
  },
  {
    name: 'no-changes-unmanaged',
    make: () =>
      plan(
        { tenants: [tenant(acme)] },
        { tenants: [acme, { id: 'sandbox', name: 'Sandbox' }], roles: [{ name: 'Support' }, { name: 'Admin', tenant: 'sandbox' }], listedFlows: [{ id: 'old-onboarding' }] },
      ),
  },
  {
    name: 'flow-update',
    make: () => {
      const live = flowDoc({ id: 'sign-up-or-in', name: 'Sign Up or In', tasks: flowTasks, screens: flowScreens, extra: { version: 12, modifiedTime: '2024-05-01T10:00:00Z' } });
      const desired = flowDoc({
        id: 'sign-up-or-in',
        name: 'Sign up or sign in',
        tasks: {
          ...flowTasks,
          '2': { ...flowTasks['2'], name: 'Send SMS code', action: 'otp-sms', next: { rules: [{ taskId: '5' }] } },
          '5': { id: '5', type: 'automated', name: 'Audit', action: 'audit-log', next: { rules: [{ taskId: '3' }] } },
        },
        screens: [flowScreens[0]!, { ...flowScreens[1]!, interactions: [{ id: 'verify', label: 'Verify code' }] }],
      });
      return plan({ flows: [{ doc: desired }] }, { flows: [live] });
    },
  },
  {
    name: 'theme-diff',
    make: () => plan({ theme: themeDoc('#6200ee') }, { theme: { id: 'T1', ...themeDoc('#0052cc') } }),
  },
  {
    name: 'many-unmanaged',
    make: () =>
      plan(
        { tenants: [tenant({ ...acme, name: 'Acme Inc' })] },
        { tenants: [acme, ...Array.from({ length: 24 }, (_, i) => ({ id: `customer-${String(i + 1).padStart(2, '0')}`, name: `Customer ${i + 1}` }))] },
      ),
  },
];

describe('formatPlan: golden files', () => {
  for (const scenario of scenarios) {
    test(scenario.name, () => {
      const lines = formatPlan(scenario.make(), PLAIN);
      for (const line of lines) assert.ok(!line.includes('\n'), `one line per entry: ${JSON.stringify(line)}`);
      expectGolden(scenario.name, `${lines.join('\n')}\n`);
    });
  }
});

describe('formatPlan: colour only through the paint', () => {
  const marker = (name: keyof Paint) => (text: string) => `<${name}>${text}</${name}>`;
  const MARKED: Paint = {
    green: marker('green'),
    yellow: marker('yellow'),
    red: marker('red'),
    magenta: marker('magenta'),
    dim: marker('dim'),
    bold: marker('bold'),
  };
  const strip = (text: string) => text.replace(/<\/?(green|yellow|red|magenta|dim|bold)>/g, '');

  for (const scenario of scenarios) {
    test(`${scenario.name}: the painted text is the plain text plus paint`, () => {
      const p = scenario.make();
      const plain = formatPlan(p, PLAIN);
      const painted = formatPlan(p, MARKED);
      assert.deepEqual(painted.map(strip), plain);
      for (const line of plain) assert.doesNotMatch(line, /\x1b\[/, 'no escape codes in plain text');
    });
  }

  test('each action has its colour, the summary is bold, held and unmanaged headings too', () => {
    const painted = formatPlan(plan(mixedDesired, mixedLive, { allowDelete: true }), MARKED);
    const has = (pattern: RegExp) => assert.ok(painted.some((l) => pattern.test(l)), `${pattern}\n${painted.join('\n')}`);
    has(/^  <yellow>~ tenants\/acme<\/yellow>$/);
    has(/^  <magenta>± tenants\/beta<\/magenta>$/);
    has(/^      <magenta>replace: parent is set at creation only/);
    has(/^  <red>- roles\/Support<\/red>$/);
    has(/^  <green>\+ roles\/beta\/Owner<\/green>$/);
    has(/<red>\["acme.com"\]<\/red> → <green>\["acme.com", "acme.io"\]<\/green>/);
    has(/^<bold>Unmanaged: /);
    has(/^<bold>Plan:<\/bold> /);
    const held = formatPlan(plan(mixedDesired, mixedLive), MARKED);
    assert.ok(held.some((l) => /^<bold>Held back until you add --allow-delete:/.test(l)));
    assert.ok(held.some((l) => /^<yellow>\d+ held back: /.test(l)));
    const none = formatPlan(plan({}, {}), MARKED);
    assert.deepEqual(none, ['<green>No changes.</green> The live project matches the config.']);
  });
});

describe('formatValue', () => {
  const cases: [string, unknown, string][] = [
    ['a secret reference shows where it comes from', { env: 'ACME_OIDC_SECRET' }, '(secret from $ACME_OIDC_SECRET)'],
    ['absent', undefined, '(not set)'],
    ['a string is JSON', 'Acme "Inc"', '"Acme \\"Inc\\""'],
    ['numbers and booleans', [1, true, null], '[1, true, null]'],
    ['an object with spaces after commas and colons', { value: 15, unit: 'minutes' }, '{"value": 15, "unit": "minutes"}'],
    ['an object with more than env is not a secret', { env: 'X', other: 1 }, '{"env": "X", "other": 1}'],
  ];
  for (const [name, value, expected] of cases) test(name, () => assert.equal(formatValue(value), expected));

  test('a long value is cut, with its length', () => {
    const long = 'x'.repeat(300);
    const text = formatValue(long);
    assert.equal(text, `${JSON.stringify(long).slice(0, VALUE_WIDTH - 1)}… (302 characters)`);
  });
});

describe('formatPlan: live data is shown as text, never obeyed by the terminal', () => {
  const ESC = '\x1b';
  /** Erases the line, returns to its start, plants a link, reverses the text, opens a C1 CSI, and forges a summary line. */
  const HOSTILE = `x${ESC}[2K\r${ESC}]8;;http://evil${ESC}\\link${ESC}]8;;${ESC}\\\u202e\u009b\n  Plan: 0 to create, 0 to update, 0 to delete. FORGED`;
  const RAW = /[\r\x1b\u009b\u202e\u2028]/u;
  const liveFlow = flowDoc({
    id: 'login',
    tasks: {
      '1': { id: '1', type: 'screen', name: HOSTILE, screenId: 'SC1', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
      '2': { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
      [HOSTILE]: { id: HOSTILE, type: 'automated', name: 'Extra', action: 'x', next: {} },
    },
  });
  const hostilePlan = (allowDelete: boolean): Plan =>
    plan(
      {
        tenants: [tenant({ id: 'acme', name: 'Acme' })],
        roles: [role({ name: 'Reader', renamedFrom: HOSTILE })],
        flows: [{ doc: flowDoc({ id: 'login' }) }],
        theme: themeDoc('#6200ee'),
        prune: { tenants: true },
      },
      {
        tenants: [{ id: 'acme', name: HOSTILE }, { id: `evil${HOSTILE}`, name: 'Evil' }],
        roles: [{ name: HOSTILE, id: 'R1' }, { name: `other${HOSTILE}`, id: 'R2' }],
        permissions: [{ name: HOSTILE }],
        flows: [liveFlow],
        listedFlows: [{ id: `old${HOSTILE}` }],
        theme: { id: 'T1', ...themeDoc('#0052cc'), [HOSTILE]: { [HOSTILE]: HOSTILE } },
      },
      { allowDelete },
    );

  for (const allowDelete of [false, true]) {
    test(`every line is one line of text: names, values, flow tasks, theme keys, held and unmanaged (allowDelete: ${allowDelete})`, () => {
      const lines = formatPlan(hostilePlan(allowDelete), PLAIN);
      assert.ok(lines.some((line) => line.includes('\\u202e')), 'the hostile text is shown, escaped');
      for (const line of lines) {
        assert.doesNotMatch(line, RAW, JSON.stringify(line));
        assert.ok(!line.includes('\n'), JSON.stringify(line));
        assert.doesNotMatch(line, /^\s*Plan: 0 to create, 0 to update, 0 to delete\. FORGED/);
      }
    });
  }

  test('values keep their JSON form; the escapes are visible where JSON leaves characters raw', () => {
    assert.equal(formatValue('a\u202eb\u009bc\u2028'), '"a\\u202eb\\u009bc\\u2028"');
    assert.equal(formatValue(`${ESC}[2K`), '"\\u001b[2K"');
  });
});
