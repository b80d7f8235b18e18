// Addresses (src/dsl/address.ts): every address names exactly one resource and is one line of
// visible text, whatever the names hold; the parser reads back exactly what the builders wrote.
// Table-driven over hostile names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalAddress,
  escapeSegment,
  flowAddress,
  formatAddress,
  parseAddress,
  permissionAddress,
  roleAddress,
  tenantAddress,
  tenantSettingsAddress,
  tenantSsoAddress,
  unescapeSegment,
  type ParsedAddress,
} from '../../src/dsl/address.ts';
import * as runtime from '../../src/runtime/index.ts';

/** Names that break naive `kind/key` strings, each paired with how it is spelt in an address. */
const SEGMENTS: [name: string, value: string, spelt: string][] = [
  ['plain', 'acme', 'acme'],
  ['inner spaces stay', 'Billing Admin', 'Billing Admin'],
  ['unicode letters and emoji stay', 'Kundenbetreuung Ü 客服 🎧', 'Kundenbetreuung Ü 客服 🎧'],
  ['a slash', 'acme/Agent', 'acme%2FAgent'],
  ['a percent', '100%', '100%25'],
  ['an escape, literally', 'acme%2FAgent', 'acme%252FAgent'],
  ['ESC and CR', 'a\x1b[2Kb\rc', 'a%1B[2Kb%0Dc'],
  ['NUL, tab, newline', '\0\t\n', '%00%09%0A'],
  ['DEL and a C1 control (CSI)', 'a\x7fb\x9bc', 'a%7Fb%C2%9Bc'],
  ['a bidi override', 'admin\u202Enimda', 'admin%E2%80%AEnimda'],
  ['bidi isolates and marks', '\u2066x\u2069\u200F\u061C', '%E2%81%A6x%E2%81%A9%E2%80%8F%D8%9C'],
  ['zero-width characters', 'Ad\u200Bmin\uFEFF', 'Ad%E2%80%8Bmin%EF%BB%BF'],
  ['a Hangul filler (an invisible letter)', '\u3164', '%E3%85%A4'],
  ['line and paragraph separators', 'a\u2028b\u2029', 'a%E2%80%A8b%E2%80%A9'],
  ['a no-break space looks like a space', 'Billing\u00A0Admin', 'Billing%C2%A0Admin'],
  ['spaces at the ends are invisible', '  Admin ', '%20%20Admin%20'],
  ['only spaces', '   ', '%20%20%20'],
  ['slash look-alikes', 'acme\u2215Agent\uFF0Fx', 'acme%E2%88%95Agent%EF%BC%8Fx'],
  ['a percent look-alike', 'acme\uFF052FAgent', 'acme%EF%BC%852FAgent'],
  ['a lone surrogate', 'a\uD800b', 'a%ED%A0%80b'],
  ['an astral character', '𝔸', '𝔸'],
  ['__proto__', '__proto__', '__proto__'],
  ['constructor', 'constructor', 'constructor'],
  ['empty', '', ''],
  ['dots', '..', '..'],
];

describe('escapeSegment and unescapeSegment', () => {
  for (const [label, value, spelt] of SEGMENTS) {
    test(`${label}: ${JSON.stringify(value)} ↔ ${spelt}`, () => {
      assert.equal(escapeSegment(value), spelt);
      assert.equal(unescapeSegment(spelt), value);
      // One line of visible text, and never a separator of its own.
      assert.doesNotMatch(spelt, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}/]|^ | $/u);
    });
  }

  test('any escaping reads: lower-case hex, needless escapes, raw characters', () => {
    assert.equal(unescapeSegment('acme%2fAgent'), 'acme/Agent');
    assert.equal(unescapeSegment('%41dmin'), 'Admin');
    assert.equal(unescapeSegment('a\u202Eb'), 'a\u202Eb');
  });

  for (const bad of ['%', '%2', '%zz', '100%', '%C2', '%C0%AF', '%E0%80%AF', '%F4%90%80%80', '%80', '%FF']) {
    test(`${JSON.stringify(bad)} is no escaping`, () => assert.equal(unescapeSegment(bad), undefined));
  }
});

describe('builders and parser', () => {
  const cases: [label: string, parsed: ParsedAddress, address: string][] = [
    ['a tenant', { kind: 'tenant', id: 'acme' }, 'tenants/acme'],
    ['a tenant whose id holds "/"', { kind: 'tenant', id: 'a/settings' }, 'tenants/a%2Fsettings'],
    ['its settings', { kind: 'tenantSettings', tenant: 'a/settings' }, 'tenants/a%2Fsettings/settings'],
    ['its SSO', { kind: 'tenantSso', tenant: 'acme' }, 'tenants/acme/sso'],
    ['a project role', { kind: 'role', name: 'Billing Admin' }, 'roles/Billing Admin'],
    ['a project role named like a tenant role', { kind: 'role', name: 'acme/Agent' }, 'roles/acme%2FAgent'],
    ['a tenant role', { kind: 'role', name: 'Agent', tenant: 'acme' }, 'roles/acme/Agent'],
    ['a tenant role, both segments hostile', { kind: 'role', name: 'x/y', tenant: 'a/b' }, 'roles/a%2Fb/x%2Fy'],
    ['a role named __proto__', { kind: 'role', name: '__proto__' }, 'roles/__proto__'],
    ['a permission with a control character', { kind: 'permission', name: 'docs\x1b.read' }, 'permissions/docs%1B.read'],
    ['a flow', { kind: 'flow', id: 'sign-up-or-in' }, 'flows/sign-up-or-in'],
    ['a flow with a bidi override', { kind: 'flow', id: 'login\u202E' }, 'flows/login%E2%80%AE'],
    ['the theme', { kind: 'theme' }, 'theme'],
    ['the password policy', { kind: 'passwordPolicy' }, 'password-policy'],
  ];
  for (const [label, parsed, address] of cases) {
    test(`${label}: ${address}`, () => {
      assert.equal(formatAddress(parsed), address);
      assert.deepEqual(parseAddress(address), parsed);
    });
  }

  test('the builders spell what formatAddress spells', () => {
    assert.equal(tenantAddress('a/b'), 'tenants/a%2Fb');
    assert.equal(tenantSettingsAddress('a/b'), 'tenants/a%2Fb/settings');
    assert.equal(tenantSsoAddress('a/b'), 'tenants/a%2Fb/sso');
    assert.equal(permissionAddress('50%'), 'permissions/50%25');
    assert.equal(flowAddress('x/y'), 'flows/x%2Fy');
    assert.equal(roleAddress({ name: 'Agent', tenant: '' }), 'roles/Agent', 'an empty tenant is none');
  });

  test('the runtime re-exports the same API (one address API)', () => {
    assert.equal(runtime.roleAddress, roleAddress);
    assert.equal(runtime.tenantSettingsAddress, tenantSettingsAddress);
    assert.equal(runtime.parseAddress, parseAddress);
  });

  test('the project role "acme/Agent" and the role "Agent" of tenant "acme" have two addresses', () => {
    assert.notEqual(roleAddress({ name: 'acme/Agent' }), roleAddress({ name: 'Agent', tenant: 'acme' }));
  });

  test('a tenant "a/settings" and the settings of tenant "a" have two addresses', () => {
    assert.notEqual(tenantAddress('a/settings'), tenantSettingsAddress('a'));
  });

  test('every hostile name round-trips through every builder, and no two resources share an address', () => {
    const seen = new Map<string, string>();
    for (const [, value] of SEGMENTS) {
      const resources: ParsedAddress[] = [
        { kind: 'tenant', id: value },
        { kind: 'tenantSettings', tenant: value },
        { kind: 'tenantSso', tenant: value },
        { kind: 'role', name: value },
        ...(value === '' ? [] : [{ kind: 'role' as const, name: 'Agent', tenant: value }, { kind: 'role' as const, name: value, tenant: value }]),
        { kind: 'permission', name: value },
        { kind: 'flow', id: value },
      ];
      for (const resource of resources) {
        const address = formatAddress(resource);
        assert.deepEqual(parseAddress(address), resource, address);
        const key = JSON.stringify(resource);
        const other = seen.get(address);
        assert.ok(other === undefined || other === key, `${address} names both ${other} and ${key}`);
        seen.set(address, key);
      }
    }
  });

  for (const bad of ['tenants', 'tenants/a/b', 'tenants/a/settings/x', 'roles/a/b/c', 'roles//Agent', 'roles/50%', 'permissions/a/b', 'widgets/x', 'themes', '']) {
    test(`${JSON.stringify(bad)} is not an address`, () => assert.equal(parseAddress(bad), undefined));
  }

  test('an empty name is still one resource (no config can declare it; a live one may exist)', () => {
    assert.deepEqual(parseAddress('flows/'), { kind: 'flow', id: '' });
    assert.deepEqual(parseAddress('roles/'), { kind: 'role', name: '' });
  });

  test('canonicalAddress: what a user typed, in the builders\' spelling', () => {
    assert.equal(canonicalAddress('roles/acme%2fAgent'), 'roles/acme%2FAgent');
    assert.equal(canonicalAddress('roles/Billing%20Admin'), 'roles/Billing Admin');
    assert.equal(canonicalAddress('roles/Admin%20'), 'roles/Admin%20');
    assert.equal(canonicalAddress('roles/a\u202Eb'), 'roles/a%E2%80%AEb');
    assert.equal(canonicalAddress('roles/a/b/c'), undefined);
  });
});
