// The answer checks (issue 11, item 11), table-driven: each malformed answer is refused with one
// message naming the call and the path of what is wrong; answers Descope legitimately gives (empty
// lists left out, nulls, unknown fields) pass. Then the same through the real SDK: an answer its
// own transform cannot read is reported the same way, not as a crash.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/errors.ts';
import {
  AUDIT_LIST,
  checkAnswer,
  FLOW_EXPORT,
  FLOW_LIST,
  PASSWORD_SETTINGS,
  PERMISSION_LIST,
  ROLE_LIST,
  SSO_SETTINGS,
  TENANT,
  TENANT_LIST,
  TENANT_SETTINGS,
  THEME_EXPORT,
  type AnswerShape,
} from '../../src/runtime/answers.ts';
import { createDescopeApi } from '../../src/runtime/api.ts';
import { readTenantSso } from '../../src/runtime/index.ts';

const SOURCE = { baseUrl: 'http://127.0.0.1:9' };

function problem(address: string, shape: AnswerShape, data: unknown): string | undefined {
  try {
    checkAnswer(address, shape, data, SOURCE);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.address, address);
    assert.match(error.hint ?? '', /the answer came from http:\/\/127\.0\.0\.1:9: is that the Descope API\?/);
    return error.message;
  }
}

const MALFORMED: [string, AnswerShape, unknown, string][] = [
  // The cases.
  ['tenants', TENANT_LIST, [null], 'tenants[0] is null, expected an object'],
  ['tenants', TENANT_LIST, 'abc', 'tenants is a string, expected a list'],
  ['tenants', TENANT_LIST, [{ id: 'acme', name: 'Acme', selfProvisioningDomains: 'acme.com' }], 'tenants[0].selfProvisioningDomains is a string, expected a list'],
  ['permissions', PERMISSION_LIST, [null], 'permissions[0] is null, expected an object'],
  // The family: other fields, other kinds.
  ['tenants', TENANT_LIST, [{ name: 'Acme' }], 'tenants[0].id is missing, expected a string'],
  ['tenants', TENANT_LIST, [{ id: '' }], 'tenants[0].id is empty, expected an id'],
  ['tenants', TENANT_LIST, [{ id: '__proto__' }], 'tenants[0].id is "__proto__", which cannot be an id'],
  ['tenants', TENANT_LIST, [{ id: 'a' }, { id: 'b' }, { id: 'a' }], 'tenants[2] has the same id as tenants[0]'],
  ['tenants', TENANT_LIST, [{ id: 'a', name: 7 }], 'tenants[0].name is a number, expected a string'],
  ['tenants', TENANT_LIST, [{ id: 'a', selfProvisioningDomains: ['a.com', 1] }], 'tenants[0].selfProvisioningDomains[1] is a number, expected a string'],
  ['tenants', TENANT_LIST, [{ id: 'a', customAttributes: { plan: { nested: true } } }], 'tenants[0].customAttributes.plan is an object, expected a string, a number, a boolean or a list of strings'],
  ['tenants', TENANT_LIST, [{ id: 'a', enforceSSO: 'yes' }], 'tenants[0].enforceSSO is a string, expected a boolean'],
  ['tenants', TENANT_LIST, [{ id: 'a', customAttributes: ['pro'] }], 'tenants[0].customAttributes is a list, expected an object'],
  ['tenants', TENANT_LIST, [{ id: 'a', customAttributes: { tags: ['x', 1] } }], 'tenants[0].customAttributes.tags is a list, expected a string, a number, a boolean or a list of strings'],
  ['tenants', TENANT_LIST, JSON.parse('[{"id": "a", "customAttributes": {"__proto__": {"plan": "pro"}}}]'), 'tenants[0].customAttributes.__proto__ is a key, which would replace the prototype'],
  ['tenants/acme/sso', SSO_SETTINGS, JSON.parse('{"oidc": {"attributeMapping": {"customAttributes": {"__proto__": "x"}}}}'), 'oidc.attributeMapping.customAttributes is an object, expected a string or an object of strings'],
  ['tenants/acme/settings', TENANT_SETTINGS, JSON.parse('{"sessionTokenExpiration": 1e400}'), 'sessionTokenExpiration is not a finite number, expected a number'],
  ['tenants', TENANT_LIST, [{ id: 'a', defaultRoles: {} }], 'tenants[0].defaultRoles is an object, expected a list'],
  ['tenants/acme', TENANT, null, 'the answer is null, expected an object'],
  ['tenants/acme', TENANT, [], 'the answer is a list, expected an object'],
  ['tenants/acme/settings', TENANT_SETTINGS, { sessionTokenExpiration: '10' }, 'sessionTokenExpiration is a string, expected a number'],
  ['tenants/acme/settings', TENANT_SETTINGS, { sessionTokenExpirationUnit: 'fortnights' }, 'sessionTokenExpirationUnit is a string, expected one of'],
  ['tenants/acme/settings', TENANT_SETTINGS, { selfProvisioningDomains: 'acme.com' }, 'selfProvisioningDomains is a string, expected a list'],
  ['tenants/acme/sso', SSO_SETTINGS, { oidc: { name: 'Okta', scope: 'openid' } }, 'oidc.scope is a string, expected a list'],
  ['tenants/acme/sso', SSO_SETTINGS, { oidc: { roleMappings: [null] } }, 'oidc.roleMappings[0] is null, expected an object'],
  ['tenants/acme/sso', SSO_SETTINGS, { saml: { groupsMapping: [{ roleName: 'A', groups: 'g' }] } }, 'saml.groupsMapping[0].groups is a string, expected a list'],
  ['tenants/acme/sso', SSO_SETTINGS, { tenant: { domains: [null] } }, 'tenant.domains[0] is null, expected a string'],
  ['roles', ROLE_LIST, [{ name: 5 }], 'roles[0].name is a number, expected a string'],
  ['roles', ROLE_LIST, [{ name: 'A', tenantId: 't' }, { name: 'A', tenantId: 't' }], 'roles[1] has the same tenant and name as roles[0]'],
  ['roles', ROLE_LIST, [{ name: 'A', permissionNames: 'read' }], 'roles[0].permissionNames is a string, expected a list'],
  ['permissions', PERMISSION_LIST, [{ name: 'read' }, { name: 'read' }], 'permissions[1] has the same name as permissions[0]'],
  ['permissions', PERMISSION_LIST, [{ name: 'read', description: [] }], 'permissions[0].description is a list, expected a string'],
  ['flows', FLOW_LIST, { flows: [{ id: 7 }] }, 'flows[0].id is a number, expected a string'],
  ['flows', FLOW_LIST, { flows: {} }, 'flows is an object, expected a list'],
  ['flows/login', FLOW_EXPORT, { screens: [] }, 'flow is missing, expected an object'],
  ['flows/login', FLOW_EXPORT, { flow: {}, screens: [null] }, 'screens[0] is null, expected an object'],
  ['theme', THEME_EXPORT, { theme: { id: 't', cssTemplate: 'dark' } }, 'theme.cssTemplate is a string, expected an object'],
  ['password-policy', PASSWORD_SETTINGS, { minLength: '8' }, 'minLength is a string, expected a number'],
  ['password-policy', PASSWORD_SETTINGS, { lock: 1 }, 'lock is a number, expected a boolean'],
  ['audit', AUDIT_LIST, [null], 'audits[0] is null, expected an object'],
  ['audit', AUDIT_LIST, [{ action: 'X', tenants: 'acme' }], 'audits[0].tenants is a string, expected a list'],
];

const VALID: [string, AnswerShape, unknown][] = [
  // Empty lists left out, or null (Go and protobuf JSON), and unknown fields.
  ['tenants', TENANT_LIST, undefined],
  ['tenants', TENANT_LIST, null],
  ['tenants', TENANT_LIST, []],
  ['tenants', TENANT_LIST, [{ id: 'a' }, { id: 'b', name: 'B', selfProvisioningDomains: null, customAttributes: { n: 1, on: true, tags: ['x'], none: null }, createdTime: 1, somethingNew: { x: 1 } }]],
  ['tenants/acme/settings', TENANT_SETTINGS, {}],
  ['tenants/acme/settings', TENANT_SETTINGS, { sessionTokenExpiration: 10, sessionTokenExpirationUnit: '', enableInactivity: null, futureSetting: 'x' }],
  ['tenants/acme/sso', SSO_SETTINGS, {}],
  ['tenants/acme/sso', SSO_SETTINGS, { tenant: { id: 'acme', authType: 'oidc' }, oidc: { name: 'Okta', attributeMapping: { email: 'mail', customAttributes: { dept: 'd' } } } }],
  ['roles', ROLE_LIST, [{ name: 'A' }, { name: 'A', tenantId: 't' }]],
  ['permissions', PERMISSION_LIST, [{ name: 'read', systemDefault: false }]],
  ['flows', FLOW_LIST, {}],
  ['flows/login', FLOW_EXPORT, { flow: { id: 'login', dsl: {} } }],
  ['theme', THEME_EXPORT, {}],
  ['theme', THEME_EXPORT, { theme: null }],
  ['password-policy', PASSWORD_SETTINGS, {}],
  ['audit', AUDIT_LIST, [{ action: 'TenantUpdated', occurred: 1, data: { resource: 'tenants/a' } }]],
  ['audit', AUDIT_LIST, [{ action: 'LoginSucceeded', occurred: 2 }]],
];

describe('answer checks', () => {
  it('a malformed answer is one message: the call, what is wrong and where', () => {
    for (const [address, shape, data, expected] of MALFORMED) {
      const message = problem(address, shape, data);
      assert.ok(message, `${address} ${JSON.stringify(data)}: accepted`);
      assert.ok(message.startsWith(`${address}: Descope's answer is malformed: ${expected}`), `${JSON.stringify(data)}\n  got: ${message}\n  expected: ${expected}`);
      assert.doesNotMatch(message, /\n/);
    }
  });

  it('answers Descope legitimately gives pass', () => {
    for (const [address, shape, data] of VALID) assert.equal(problem(address, shape, data), undefined, `${address} ${JSON.stringify(data)}`);
  });

  it('more than one problem is counted, and no value of the answer is echoed', () => {
    const message = problem('tenants', TENANT_LIST, [{ id: 'a', name: 42 }, null, { id: 3 }]);
    assert.match(message ?? '', /tenants\[0\]\.name is a number, expected a string \(and 2 more\)$/);
    const echoed = problem('tenants/acme/sso', SSO_SETTINGS, { oidc: { name: 'K2-secret-looking-value', scope: 'K2-secret-looking-value' } });
    assert.match(echoed ?? '', /oidc\.scope is a string, expected a list$/);
    assert.doesNotMatch(echoed ?? '', /K2-secret/);
  });
});

describe('answers the SDK itself cannot read', () => {
  it('a SAML groupsMapping item without its role (the SDK transform reads rm.role.name) is a malformed answer, not a crash', async () => {
    const server = createServer((req, res) => {
      req.resume();
      const body = req.url?.startsWith('/v2/mgmt/sso/settings') ? { tenant: { authType: 'saml' }, saml: { groupsMapping: [{ groups: ['g'] }] } } : {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const api = createDescopeApi({ projectId: 'P2emulator000000000000000000', managementKey: 'k', baseUrl, readOnly: true });
    try {
      await assert.rejects(readTenantSso(api, 'acme'), (error: unknown) => {
        assert.ok(error instanceof ApiError, String(error));
        assert.match(error.message, /^tenants\/acme\/sso: Descope's answer is malformed: the Descope SDK could not read it \(Cannot read properties of undefined \(reading 'name'\)\)$/);
        assert.match(error.hint ?? '', new RegExp(`the answer came from ${baseUrl.replace(/[.]/g, '\\.')}`));
        return true;
      });
    } finally {
      api.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
