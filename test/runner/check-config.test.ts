// Table-driven tests of the pure config checks: schema, merge of modules, references.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineConfig, defineModule, flow, permission, role, tenant } from '../../src/index.ts';
import type { ConfigInput } from '../../src/index.ts';
import { formatIssue } from '../../src/errors.ts';
import { checkConfig } from '../../src/runner/config/check-config.ts';

function check(config: ConfigInput | Record<string, unknown>): string[] {
  const value = { ...config, kind: 'config' };
  return checkConfig({ value, configFile: 'descope.config.ts', projectRoot: '/p' }).issues.map(formatIssue);
}

const base = {
  permissions: [permission({ name: 'read' }), permission({ name: 'write' })],
  roles: [role({ name: 'Reader', permissions: ['read'] })],
};

describe('checkConfig', () => {
  const valid: [string, ConfigInput][] = [
    ['an empty config', {}],
    ['resources that reference each other', {
      ...base,
      tenants: [
        tenant({ id: 'acme', name: 'Acme', defaultRoles: ['Reader', 'Local'], selfProvisioningDomains: ['acme.com', 'acme.io'] }),
        tenant({ id: 'sub', name: 'Sub', parent: 'acme', selfProvisioningDomains: ['sub.acme.com'] }),
      ],
      roles: [...base.roles, role({ name: 'Local', tenant: 'acme', permissions: ['write'] })],
    }],
    ['a rename', { ...base, roles: [role({ name: 'Viewer', renamedFrom: 'Reader', permissions: ['read'] })] }],
    ['the same role name in two scopes', {
      ...base,
      tenants: [tenant({ id: 'a', name: 'A' }), tenant({ id: 'b', name: 'B' })],
      roles: [role({ name: 'Lead', tenant: 'a' }), role({ name: 'Lead', tenant: 'b' }), role({ name: 'Lead' })],
    }],
    ['a flow with a template and one with JSON', {
      flows: [flow({ id: 'a', template: 'a.json.njk' }), flow({ id: 'b', json: { flow: {}, screens: [] } })],
    }],
  ];
  for (const [name, config] of valid) {
    test(`accepts ${name}`, () => assert.deepEqual(check(config), []));
  }

  const invalid: [string, Record<string, unknown>, string[]][] = [
    ['a tenant with a bad domain', { tenants: [tenant({ id: 'acme', name: 'A', selfProvisioningDomains: ['ok.com', '-bad.com'] })] },
      ['descope.config.ts: tenants/acme.selfProvisioningDomains[1]: "-bad.com" is not a valid host name (expected e.g. "acme.com")']],
    ['a domain claimed twice', { tenants: [
      tenant({ id: 'a', name: 'A', selfProvisioningDomains: ['x.com'] }),
      tenant({ id: 'b', name: 'B', selfProvisioningDomains: ['X.com'] }),
    ] }, ['descope.config.ts: tenants/b.selfProvisioningDomains[0]: claims "X.com", which tenants/a claims too']],
    ['an SSO domain claimed twice', { tenants: [
      tenant({ id: 'a', name: 'A', sso: { type: 'saml-metadata', idpMetadataUrl: 'https://idp/md', domains: ['x.com'] } }),
      tenant({ id: 'b', name: 'B', sso: { type: 'saml-metadata', idpMetadataUrl: 'https://idp/md', domains: ['x.com'] } }),
    ] }, ['descope.config.ts: tenants/b.sso.domains[0]: claims "x.com", which tenants/a claims too']],
    ['a parent cycle', { tenants: [
      tenant({ id: 'a', name: 'A', parent: 'b' }), tenant({ id: 'b', name: 'B', parent: 'a' }),
    ] }, [
      'descope.config.ts: tenants/a.parent: makes a cycle of parent tenants through "b"',
      'descope.config.ts: tenants/b.parent: makes a cycle of parent tenants through "a"',
    ]],
    ['an undeclared SSO role', { tenants: [tenant({ id: 'a', name: 'A', sso: { type: 'saml', idpUrl: 'https://i', entityId: 'e', idpCert: 'C', roleMappings: [{ role: 'Ghost', groups: ['g'] }], defaultSSORoles: ['Ghost'] } })] }, [
      'descope.config.ts: tenants/a.sso.roleMappings[0].role: names role "Ghost", which is not declared',
      'descope.config.ts: tenants/a.sso.defaultSSORoles[0]: names role "Ghost", which is not declared',
    ]],
    ['a rename whose old name is still declared', { ...base, roles: [...base.roles, role({ name: 'Viewer', renamedFrom: 'Reader' })] },
      ['descope.config.ts: roles/Viewer.renamedFrom: renames "Reader", but a role named "Reader" is still declared']],
    ['a tenant role used as another tenant\'s default', {
      tenants: [tenant({ id: 'a', name: 'A' }), tenant({ id: 'b', name: 'B', defaultRoles: ['Lead'] })],
      roles: [role({ name: 'Lead', tenant: 'a' })],
    }, ['descope.config.ts: tenants/b.defaultRoles[0]: names role "Lead", which is not declared for the project or tenant "b"']],
    ['a duplicate permission', { permissions: [permission({ name: 'p' }), permission({ name: 'p' })] },
      ['descope.config.ts: permissions/p: is declared twice: at permissions[0] in descope.config.ts and at permissions[1] in descope.config.ts']],
    ['an unknown top-level key', { tenant: [] }, ['descope.config.ts: config: unknown property "tenant"']],
    ['a resource of the wrong kind in a list', { tenants: [role({ name: 'x' })] }, [
      'descope.config.ts: tenants[0].kind: is not a tenant',
    ]],
  ];
  for (const [name, config, expected] of invalid) {
    test(`reports ${name}`, () => {
      const issues = check(config);
      assert.deepEqual(issues, expected);
    });
  }

  test('merges modules and names both sources of a duplicate', () => {
    const mod = defineModule<{ tenant: string }>({ name: 'team', build: ({ tenant: t }) => ({ roles: [role({ name: 'Lead', tenant: t })] }) });
    const config = defineConfig({ tenants: [tenant({ id: 'a', name: 'A' })], modules: [mod({ tenant: 'a' }), mod({ tenant: 'a' })] });
    const result = checkConfig({ value: config, configFile: 'descope.config.ts', projectRoot: '/p' });
    assert.deepEqual(result.issues.map(formatIssue), [
      'module "team" (modules[1]): roles/a/Lead: is declared twice: at roles[0] in module "team" (modules[0]) and at roles[0] in module "team" (modules[1])',
    ]);
    assert.deepEqual(result.spec?.roles.map((r) => r.address), ['roles/a/Lead']);
  });

  test('a module\'s templates folder comes from its URL', () => {
    const mod = defineModule({ name: 'm', templatesDir: new URL('file:///pkg/templates/'), build: () => ({ flows: [flow({ id: 'x', template: 'x.njk' })] }) });
    const result = checkConfig({ value: defineConfig({ modules: [mod()] }), configFile: 'descope.config.ts', projectRoot: '/p' });
    assert.equal(result.spec?.flows[0]?.source.templatesDir, '/pkg/templates/');
    const plain = checkConfig({ value: defineConfig({ flows: [flow({ id: 'y', template: 'y.njk' })] }), configFile: 'descope.config.ts', projectRoot: '/p' });
    assert.equal(plain.spec?.flows[0]?.source.templatesDir, '/p/templates');
  });
});
