// The canonical model's pure helpers, table-driven.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalJson,
  comparableSso,
  fingerprint,
  normalizeFlow,
  normalizePasswordPolicy,
  normalizeRole,
  normalizeSso,
  normalizeTenant,
  normalizeTenantSettings,
  normalizeTheme,
  roleAddress,
  type FlowDocument,
} from '../../src/runtime/model.ts';
import { scopeOf } from '../../src/runtime/live-state.ts';
import type { PasswordPolicyInput, RoleInput, TenantInput, TenantSso } from '../../src/dsl/types.ts';
import type { FlowV1, ThemeV1 } from '../../src/runner/templates/flow-document.ts';

describe('runtime model: canonical JSON and fingerprints', () => {
  it('sorts keys at every level, keeps array order, drops undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, 1], c: undefined, b: 'x' } }), '{"a":{"b":"x","d":[3,1]},"b":1}');
  });

  it('the fingerprint ignores key order and changes with any value', () => {
    const a = { tenants: { acme: { name: 'Acme', id: 'acme' } }, roles: {} };
    const b = { roles: {}, tenants: { acme: { id: 'acme', name: 'Acme' } } };
    assert.equal(fingerprint(a), fingerprint(b));
    assert.match(fingerprint(a), /^[0-9a-f]{64}$/);
    assert.notEqual(fingerprint(a), fingerprint({ ...b, tenants: { acme: { id: 'acme', name: 'Acme Inc' } } }));
  });
});

describe('runtime model: normalisers', () => {
  const tenantCases: { name: string; input: Parameters<typeof normalizeTenant>[0]; expected: ReturnType<typeof normalizeTenant> }[] = [
    {
      name: 'defaults filled in',
      input: { id: 'acme', name: 'Acme' },
      expected: {
        id: 'acme',
        name: 'Acme',
        selfProvisioningDomains: [],
        customAttributes: {},
        enforceSSO: false,
        disabled: false,
        defaultRoles: [],
      },
    },
    {
      name: 'domains lower-cased, sorted, distinct; roles sorted; empty parent dropped',
      input: {
        id: 'acme',
        name: 'Acme',
        selfProvisioningDomains: ['B.com', 'a.com', 'b.com '],
        customAttributes: { z: 1, a: ['x', 'y'] },
        enforceSSO: true,
        parent: '',
        defaultRoles: ['Viewer', 'Admin', 'Viewer'],
      },
      expected: {
        id: 'acme',
        name: 'Acme',
        selfProvisioningDomains: ['a.com', 'b.com'],
        customAttributes: { a: ['x', 'y'], z: 1 },
        enforceSSO: true,
        disabled: false,
        defaultRoles: ['Admin', 'Viewer'],
      },
    },
    {
      name: 'parent kept',
      input: { id: 'child', name: 'Child', parent: 'acme' },
      expected: {
        id: 'child',
        name: 'Child',
        selfProvisioningDomains: [],
        customAttributes: {},
        enforceSSO: false,
        disabled: false,
        parent: 'acme',
        defaultRoles: [],
      },
    },
  ];
  for (const { name, input, expected } of tenantCases) {
    it(`tenant: ${name}`, () => assert.deepEqual(normalizeTenant(input), expected));
  }

  it('tenant settings: only the fields the config sets; inactivity false stays false', () => {
    assert.deepEqual(normalizeTenantSettings({ inactivityTimeout: false, jitProvisioning: false }), {
      inactivityTimeout: false,
      jitProvisioning: false,
    });
    // A lifetime set means the tenant's settings must be in force: `enabled` defaults to true.
    assert.deepEqual(normalizeTenantSettings({ sessionTokenExpiration: { value: 5, unit: 'minutes' } }), {
      sessionSettingsEnabled: true,
      sessionTokenExpiration: { value: 5, unit: 'minutes' },
    });
    assert.deepEqual(normalizeTenantSettings({ sessionSettingsEnabled: false, sessionTokenExpiration: { value: 5, unit: 'minutes' } }), {
      sessionSettingsEnabled: false,
      sessionTokenExpiration: { value: 5, unit: 'minutes' },
    });
  });

  it('SSO: role mappings merged and sorted, empty strings and mappings dropped, defaults present', () => {
    const sso = normalizeSso({
      type: 'oidc',
      name: 'Okta',
      clientId: 'cid',
      clientSecret: { env: 'OKTA_SECRET' },
      issuer: '',
      scope: ['profile', 'openid', 'openid'],
      domains: ['Acme.com'],
      roleMappings: [
        { role: 'Viewer', groups: ['b', 'a'] },
        { role: 'Admin', groups: ['admins'] },
        { role: 'Viewer', groups: ['c'] },
      ],
      attributeMapping: { email: 'email', name: '', customAttributes: {} },
    });
    assert.deepEqual(sso, {
      type: 'oidc',
      name: 'Okta',
      clientId: 'cid',
      clientSecret: { env: 'OKTA_SECRET' },
      scope: ['openid', 'profile'],
      prompt: [],
      manageProviderTokens: false,
      attributeMapping: { email: 'email' },
      domains: ['acme.com'],
      roleMappings: [
        { role: 'Admin', groups: ['admins'] },
        { role: 'Viewer', groups: ['a', 'b', 'c'] },
      ],
    });
    assert.equal('clientSecret' in (comparableSso(sso) ?? {}), false);
  });

  it('SAML: optional SP fields dropped when empty', () => {
    assert.deepEqual(
      normalizeSso({ type: 'saml', idpUrl: 'https://idp', entityId: 'e', idpCert: 'CERT', spACSUrl: '', defaultSSORoles: ['b', 'a'] }),
      { type: 'saml', idpUrl: 'https://idp', entityId: 'e', idpCert: 'CERT', defaultSSORoles: ['a', 'b'], domains: [], roleMappings: [] },
    );
  });

  it('roles: address by tenant, permissions sorted, description and default filled in', () => {
    const role = normalizeRole({ name: 'Admin', tenant: 'acme', permissions: ['write', 'read'] });
    assert.deepEqual(role, { name: 'Admin', tenant: 'acme', description: '', permissions: ['read', 'write'], default: false });
    assert.equal(roleAddress(role), 'roles/acme/Admin');
    assert.equal(roleAddress({ name: 'Admin' }), 'roles/Admin');
  });

  it('flows: server-owned fields dropped, unknown keys kept, screens by id, keys sorted', () => {
    const doc: FlowDocument = {
      screens: [
        { id: 'SC2', version: 3, flowId: 'f', htmlTemplate: { ROOT: {} } },
        { id: 'SC1', version: 9, componentsVersion: '2.0.1', flowId: 'f' },
      ],
      flow: {
        name: 'F',
        id: 'f',
        version: 12,
        modifiedTime: 1725220394,
        etag: 'x',
        widget: false,
        dsl: { tasks: { start: { id: 'start' } }, startTask: 'start' },
      },
      references: { connectors: { Mail: 'CI1' } },
      exportedBy: 'descopecli',
    };
    const canonical = normalizeFlow(doc);
    // Only what flow.import writes and flow.export returns: other top-level keys could never converge.
    assert.deepEqual(canonical, {
      flow: { disabled: false, dsl: { startTask: 'start', tasks: { start: { id: 'start' } } }, id: 'f', name: 'F', widget: false },
      screens: [
        { componentsVersion: '2.0.1', flowId: 'f', id: 'SC1' },
        { flowId: 'f', htmlTemplate: { ROOT: {} }, id: 'SC2' },
      ],
    });
    assert.deepEqual(Object.keys(canonical.flow), ['disabled', 'dsl', 'id', 'name', 'widget']);
    assert.equal(canonicalJson(normalizeFlow(canonical)), canonicalJson(canonical), 'idempotent');
  });

  it('theme: the id is dropped; password policy: only the set fields', () => {
    assert.deepEqual(normalizeTheme({ id: 'T1', cssTemplate: { light: {} }, extra: 1 }), { cssTemplate: { light: {} }, extra: 1 });
    assert.deepEqual(normalizePasswordPolicy({ minLength: 12, lock: true }), { minLength: 12, lock: true });
  });

  it('config input (the DSL types, readonly and all) goes through the same normalisers', () => {
    const tenant: TenantInput = Object.freeze({ id: 'acme', name: 'Acme', selfProvisioningDomains: Object.freeze(['acme.com']), defaultRoles: ['Viewer'] });
    const sso: TenantSso = Object.freeze({ type: 'oidc', name: 'Okta', clientId: 'cid', clientSecret: { env: 'OKTA' }, domains: ['acme.com'] });
    const role: RoleInput = { name: 'Viewer', permissions: ['read'] };
    const policy: PasswordPolicyInput = { minLength: 10 };
    assert.equal(normalizeTenant(tenant).defaultRoles[0], 'Viewer');
    assert.deepEqual(normalizeSso(sso).type === 'oidc' && normalizeSso(sso).domains, ['acme.com']);
    assert.deepEqual(normalizeRole(role).permissions, ['read']);
    assert.deepEqual(normalizePasswordPolicy(policy), { minLength: 10 });
    // What the runner renders (its v1 flow and theme types) is accepted as is.
    const v1: FlowV1 = { flow: { id: 'f', name: 'F', dsl: { startTask: 'start', tasks: {} } }, screens: [{ id: 'SC1' }] };
    const theme: ThemeV1 = { id: 'x', cssTemplate: {} };
    assert.equal(normalizeFlow(v1).flow.disabled, false);
    assert.deepEqual(normalizeTheme(theme), { cssTemplate: {} });
  });
});

describe('runtime scopeOf', () => {
  it('derives what to read from a desired state', () => {
    assert.deepEqual(
      scopeOf(
        {
          tenants: {},
          tenantSettings: { acme: { jitProvisioning: false } },
          tenantSso: { acme: null },
          flows: {},
          passwordPolicy: { minLength: 10 },
        },
        { roles: true },
      ),
      {
        tenants: true,
        roles: true,
        permissions: false,
        flows: true,
        theme: false,
        passwordPolicy: true,
        tenantSettings: ['acme'],
        tenantSso: ['acme'],
        flowExports: [],
      },
    );
  });
});

describe('flows converge whatever the document held', () => {
  it('a backup written when flows kept extra top-level keys restores to what Descope holds', async () => {
    const { computeDesiredFromBackup } = await import('../../src/runner/plan/desired.ts');
    const live = normalizeFlow({ flow: { id: 'f', name: 'F', dsl: { startTask: 'a', tasks: {} } }, screens: [] });
    // An older canonical flow: references was kept beside flow and screens.
    const old = { ...live, references: { connectors: { Mail: 'CI1' } } } as typeof live;
    const desired = computeDesiredFromBackup({ flows: { f: old }, flowSummaries: { f: { id: 'f', name: 'F', description: '', disabled: false } } });
    assert.deepEqual(desired.flows.f?.value, live);
    assert.deepEqual(desired.flows.f?.managed, ['flow', 'screens']);
  });
});
