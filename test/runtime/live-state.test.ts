// readLiveState: one list call per managed kind, per-item reads only for declared items that
// exist (and, for SSO, that have a protocol), all in one canonical state.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createPermissions,
  createRoles,
  createTenant,
  fingerprint,
  importFlow,
  normalizeRole,
  normalizeSso,
  normalizeTenant,
  readLiveState,
  writeTenantSso,
  writeTheme,
  type FlowDocument,
} from '../../src/runtime/index.ts';
import { routeCounts, startRuntime, type RuntimeHarness } from './helpers.ts';

function flow(id: string): FlowDocument {
  return { flow: { id, name: id, dsl: { startTask: 'start', tasks: { start: { id: 'start' } } } }, screens: [] };
}

describe('runtime readLiveState', () => {
  let h: RuntimeHarness;
  before(async () => {
    h = await startRuntime();
    const { api } = h;
    for (const id of ['a', 'b', 'c']) await createTenant(api, normalizeTenant({ id, name: id.toUpperCase() }));
    await createPermissions(api, [{ name: 'read', description: '' }]);
    await createRoles(api, [normalizeRole({ name: 'Viewer', permissions: ['read'] }), normalizeRole({ name: 'Member', tenant: 'b' })]);
    await writeTenantSso(api, 'c', normalizeSso({ type: 'saml', idpUrl: 'https://idp', entityId: 'e', idpCert: 'C', roleMappings: [{ role: 'Viewer', groups: ['g'] }] }));
    for (const id of ['f1', 'f2', 'f3']) await importFlow(api, id, flow(id));
    await writeTheme(api, { cssTemplate: { dark: {} } });
  });
  after(() => h.close());

  it('one list call per kind plus one read per declared, existing item', async () => {
    const { api, emulator } = h;
    emulator.log.reset();
    const { state, handles } = await readLiveState(api, {
      tenants: true,
      roles: true,
      permissions: true,
      flows: true,
      theme: true,
      passwordPolicy: true,
      tenantSettings: ['a', 'missing'],
      tenantSso: ['a', 'c', 'missing'],
      flowExports: ['f1', 'f2', 'missing'],
    });
    assert.deepEqual(routeCounts(emulator), {
      'GET /v1/mgmt/tenant/all': 1,
      'POST /v1/mgmt/role/search': 1,
      'GET /v1/mgmt/permission/all': 1,
      'POST /v1/mgmt/flow/list': 1,
      'POST /v1/mgmt/theme/export': 1,
      'GET /v1/mgmt/password/settings': 1,
      'GET /v1/mgmt/tenant/settings': 1, // a (missing does not exist)
      'GET /v2/mgmt/sso/settings': 1, // c only: a's authType is none, known from the tenant list
      'POST /v1/mgmt/flow/export': 2, // f1, f2 (f3 is not declared)
    });

    assert.deepEqual(Object.keys(state.tenants ?? {}).sort(), ['a', 'b', 'c']);
    assert.deepEqual(Object.keys(state.roles ?? {}).sort(), ['roles/Viewer', 'roles/b/Member']);
    assert.deepEqual(Object.keys(handles.roleIds).sort(), ['roles/Viewer', 'roles/b/Member']);
    assert.deepEqual(Object.keys(state.permissions ?? {}), ['read']);
    assert.deepEqual(Object.keys(handles.permissionIds), ['read']);
    assert.deepEqual(Object.keys(state.flowSummaries ?? {}).sort(), ['f1', 'f2', 'f3']);
    assert.deepEqual(Object.keys(state.flows ?? {}).sort(), ['f1', 'f2']);
    assert.deepEqual(Object.keys(state.tenantSettings ?? {}), ['a']);
    assert.equal(state.tenantSso?.['a'], null);
    assert.equal(state.tenantSso?.['c']?.type, 'saml');
    assert.deepEqual(state.tenantSso?.['c']?.roleMappings, [{ role: 'Viewer', groups: ['g'] }]);
    assert.equal('missing' in (state.tenantSso ?? {}), false);
    assert.deepEqual(state.theme, { cssTemplate: { dark: {} } });
    assert.equal(state.passwordPolicy?.minLength, 8);
    assert.equal(typeof handles.themeId, 'string');

    const again = await readLiveState(api, {
      tenants: true,
      roles: true,
      permissions: true,
      flows: true,
      theme: true,
      passwordPolicy: true,
      tenantSettings: ['a', 'missing'],
      tenantSso: ['a', 'c', 'missing'],
      flowExports: ['f1', 'f2', 'missing'],
    });
    assert.equal(fingerprint(again.state), fingerprint(state), 'the same live state has the same fingerprint');
  });

  it('reads only what the scope names', async () => {
    const { api, emulator } = h;
    emulator.log.reset();
    assert.deepEqual(await readLiveState(api, {}), { state: {}, handles: { roleIds: {}, permissionIds: {}, tenantExtras: {} } });
    assert.deepEqual(routeCounts(emulator), {});

    const { state } = await readLiveState(api, { permissions: true, flowExports: ['f3'] });
    assert.deepEqual(routeCounts(emulator), {
      'GET /v1/mgmt/permission/all': 1,
      'POST /v1/mgmt/flow/list': 1,
      'POST /v1/mgmt/flow/export': 1,
    });
    assert.deepEqual(Object.keys(state).sort(), ['flows', 'permissions']);
  });
});
