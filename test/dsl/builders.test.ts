import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineConfig, defineEnvironment, defineModule, flow, permission, role, tenant, theme } from '../../src/index.ts';

test('builders return plain, deeply frozen, JSON-serialisable data tagged with a kind', () => {
  const t = tenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'], settings: { jitProvisioning: true } });
  assert.deepEqual(t, { id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'], settings: { jitProvisioning: true }, kind: 'tenant' });
  assert.ok(Object.isFrozen(t) && Object.isFrozen(t.selfProvisioningDomains) && Object.isFrozen(t.settings));
  assert.equal(Object.getPrototypeOf(t), Object.prototype, 'a plain object, no class');
  assert.deepEqual(JSON.parse(JSON.stringify(t)), t);
  assert.throws(() => {
    (t.selfProvisioningDomains as string[]).push('evil.com');
  }, TypeError);

  assert.equal(role({ name: 'Admin' }).kind, 'role');
  assert.equal(permission({ name: 'read' }).kind, 'permission');
  assert.equal(flow({ id: 'f', template: 'f.json.njk' }).kind, 'flow');
  assert.equal(theme({ json: {} }).kind, 'theme');
  assert.equal(defineEnvironment({ projectId: 'P2x' }).kind, 'environment');
});

test('defineConfig takes an object or a function of { env, vars }', () => {
  assert.equal(defineConfig({ tenants: [] }).kind, 'config');
  const def = defineConfig(({ env, vars }) => ({ tenants: [tenant({ id: env, name: String(vars.name) })] }));
  assert.equal(def.kind, 'config-factory');
  if (def.kind !== 'config-factory') return;
  assert.deepEqual(def.factory({ env: 'staging', vars: { name: 'S' } }).tenants?.[0]?.name, 'S');
});

test('defineModule makes a function of its parameters that returns a module instance', () => {
  const team = defineModule<{ tenant: string }>({
    name: 'team',
    templatesDir: new URL('file:///somewhere/templates/'),
    build: ({ tenant: t }) => ({ roles: [role({ name: 'Lead', tenant: t })] }),
  });
  const a = team({ tenant: 'acme' });
  const b = team({ tenant: 'globex' });
  assert.equal(a.kind, 'module');
  assert.equal(a.name, 'team');
  assert.equal(a.templatesDir, 'file:///somewhere/templates/');
  assert.deepEqual(a.params, { tenant: 'acme' });
  assert.equal(a.roles?.[0]?.tenant, 'acme');
  assert.equal(b.roles?.[0]?.tenant, 'globex');
  assert.ok(Object.isFrozen(a));
});
