// Each adapter against the emulator through the real SDK: create / read / update / delete round
// trips and the SDK ⇄ canonical mapping.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createEmptyState } from '../../src/emulator/index.ts';
import {
  createPermissions,
  createRoles,
  createTenant,
  deleteFlows,
  deletePermissions,
  deleteRoles,
  deleteTenant,
  deleteTenantSso,
  exportFlow,
  importFlow,
  normalizeFlow,
  normalizeRole,
  normalizeSso,
  normalizeTenant,
  readFlowList,
  readPasswordPolicy,
  readPermissions,
  readRoles,
  readTenantSettings,
  readTenantSso,
  readTenants,
  readTheme,
  setTenantDefaultRoles,
  updatePermissions,
  updateRoles,
  updateTenant,
  writePasswordPolicy,
  writeTenantSettings,
  writeTenantSso,
  writeTheme,
  type CanonicalSso,
  type FlowDocument,
} from '../../src/runtime/index.ts';
import { startRuntime, type RuntimeHarness } from './helpers.ts';

describe('runtime adapters (real SDK against the emulator)', () => {
  let h: RuntimeHarness;
  before(async () => {
    h = await startRuntime();
  });
  after(() => h.close());
  beforeEach(async () => {
    h.emulator.clearFailNext();
    await h.emulator.reset();
    h.emulator.log.reset();
  });

  describe('tenants', () => {
    it('create (with parent), read, update, default roles, delete with cascade', async () => {
      const { api } = h;
      const acme = normalizeTenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['Acme.com'], customAttributes: { tier: 'gold' } });
      await createTenant(api, acme);
      await createTenant(api, normalizeTenant({ id: 'acme-eu', name: 'Acme EU', parent: 'acme' }));
      let live = await readTenants(api);
      assert.deepEqual(live.tenants['acme'], acme);
      assert.equal(live.tenants['acme-eu']?.parent, 'acme');
      assert.equal(live.authTypes['acme'], 'none');

      await createRoles(api, [normalizeRole({ name: 'Viewer' }), normalizeRole({ name: 'Member', tenant: 'acme' })]);
      const updated = { ...acme, name: 'Acme Inc', enforceSSO: true, selfProvisioningDomains: ['acme.com', 'acme.io'] };
      await updateTenant(api, updated, live.extras['acme']);
      await setTenantDefaultRoles(api, 'acme', ['Member', 'Viewer']);
      live = await readTenants(api);
      assert.deepEqual(live.tenants['acme'], { ...updated, defaultRoles: ['Member', 'Viewer'] });
      assert.equal(live.tenants['acme-eu']?.parent, 'acme', 'update never touches the parent');

      await deleteTenant(api, 'acme', { cascade: true });
      assert.deepEqual(Object.keys((await readTenants(api)).tenants), []);
    });

    it('update sends back live fields outside the model (roleInheritance)', async () => {
      const state = createEmptyState('p');
      state.tenants.push({
        id: 'acme',
        name: 'Acme',
        selfProvisioningDomains: [],
        customAttributes: {},
        enforceSSO: false,
        disabled: false,
        parent: '',
        roleInheritance: 'userOnly',
        defaultRoles: [],
        createdTime: 1,
        settings: null,
        passwordSettings: null,
        sso: [{ ssoId: '', displayName: '', authType: 'none', domains: [], saml: null, oidc: null, oidcClientSecret: '' }],
      });
      await h.emulator.reset(state);
      const live = await readTenants(h.api);
      assert.deepEqual(live.extras['acme'], { roleInheritance: 'userOnly' });
      await updateTenant(h.api, { ...(live.tenants['acme'] as NonNullable<(typeof live.tenants)['acme']>), name: 'Acme 2' }, live.extras['acme']);
      assert.equal(h.emulator.snapshot().tenants[0]?.roleInheritance, 'userOnly');
    });

    it('a delete that is answered "not found" fails (it was not a retry)', async () => {
      await assert.rejects(deleteTenant(h.api, 'ghost'), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'api');
        assert.equal((error as { status?: number }).status, 404);
        assert.equal((error as { errorCode?: string }).errorCode, 'E111104');
        assert.match((error as Error).message, /^tenants\/ghost: Descope answered 404 E111104/);
        return true;
      });
    });
  });

  describe('tenant settings', () => {
    it('read maps Descope fields to the DSL shape; write round-trips and keeps what it does not own', async () => {
      const { api, emulator } = h;
      await createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'] }));
      await writeTenantSso(api, 'acme', normalizeSso({ type: 'saml', idpUrl: 'https://idp', entityId: 'e', idpCert: 'C', domains: ['sso.acme.com'] }));

      const defaults = await readTenantSettings(api, 'acme');
      assert.deepEqual(defaults, {
        sessionSettingsEnabled: false,
        sessionTokenExpiration: { value: 10, unit: 'minutes' },
        refreshTokenExpiration: { value: 4, unit: 'weeks' },
        stepupTokenExpiration: { value: 10, unit: 'minutes' },
        inactivityTimeout: false,
        jitProvisioning: true,
      });

      const wanted = {
        ...defaults,
        sessionSettingsEnabled: true,
        sessionTokenExpiration: { value: 30, unit: 'minutes' as const },
        inactivityTimeout: { value: 2, unit: 'hours' as const },
        jitProvisioning: false,
      };
      await writeTenantSettings(api, 'acme', wanted);
      assert.deepEqual(await readTenantSettings(api, 'acme'), wanted);

      const stored = emulator.snapshot().tenants[0];
      assert.deepEqual(stored?.selfProvisioningDomains, ['acme.com'], 'the tenant domains survive the full replace');
      assert.deepEqual(stored?.sso[0]?.domains, ['sso.acme.com'], 'so do the SSO domains');
      assert.equal(stored?.sso[0]?.authType, 'saml');
      assert.equal(stored?.settings?.['enabled'], true);
      assert.equal(stored?.settings?.['JITDisabled'], true);
      assert.equal(stored?.settings?.['InactivityTime'], 2);

      await writeTenantSettings(api, 'acme', { ...wanted, inactivityTimeout: false });
      assert.equal((await readTenantSettings(api, 'acme')).inactivityTimeout, false);
    });
  });

  describe('tenant SSO', () => {
    beforeEach(async () => {
      await createTenant(h.api, normalizeTenant({ id: 'acme', name: 'Acme' }));
      await createRoles(h.api, [normalizeRole({ name: 'Admin' }), normalizeRole({ name: 'Viewer' })]);
    });

    it('OIDC: attribute mapping and role mappings come back canonical; the secret is sent, never read', async () => {
      const { api, emulator } = h;
      const desired = normalizeSso({
        type: 'oidc',
        name: 'Okta',
        clientId: 'cid',
        clientSecret: { env: 'ACME_OIDC_SECRET' },
        issuer: 'https://issuer',
        authUrl: 'https://auth',
        tokenUrl: 'https://token',
        jwksUrl: 'https://jwks',
        scope: ['openid', 'email'],
        prompt: ['login'],
        grantType: 'authorization_code',
        domains: ['acme.com'],
        roleMappings: [{ role: 'Admin', groups: ['admins'] }],
        attributeMapping: { loginId: 'sub', email: 'email', customAttributes: { dept: 'department' } },
      });
      await writeTenantSso(api, 'acme', desired, { clientSecret: 's3cret' });
      assert.equal(emulator.secretStatus('acme').set, true);

      const live = await readTenantSso(api, 'acme');
      assert.deepEqual(live, { ...desired, clientSecret: { writeOnly: true } });
      assert.equal(JSON.stringify(live).includes('s3cret'), false, 'the secret never appears in a read');
      const raw = emulator.snapshot().tenants[0]?.sso[0]?.oidc;
      assert.deepEqual(raw?.['userAttrMapping'], { loginId: 'sub', email: 'email', customAttributes: { dept: 'department' } });

      // Without a resolved secret, none is sent and the stored one stays.
      await writeTenantSso(api, 'acme', { ...desired, name: 'Okta 2' } as CanonicalSso);
      assert.equal(emulator.secretStatus('acme').set, true);
      assert.equal((await readTenantSso(api, 'acme'))?.type, 'oidc');
    });

    it('SAML: role mappings travel as roleMappings, come back from groupsMapping[].role', async () => {
      const { api, emulator } = h;
      const desired = normalizeSso({
        type: 'saml',
        idpUrl: 'https://idp/sso',
        entityId: 'idp-entity',
        idpCert: 'CERT',
        spACSUrl: 'https://acs',
        redirectUrl: 'https://app/after',
        domains: ['acme.com'],
        defaultSSORoles: ['Viewer'],
        roleMappings: [
          { role: 'Viewer', groups: ['all'] },
          { role: 'Admin', groups: ['ops', 'admins'] },
        ],
        attributeMapping: { email: 'mail', name: 'displayName' },
      });
      await writeTenantSso(api, 'acme', desired);
      const raw = emulator.snapshot().tenants[0]?.sso[0]?.saml as { groupsMapping: { role: { name: string } }[] };
      assert.deepEqual(raw.groupsMapping.map((mapping) => mapping.role.name).sort(), ['Admin', 'Viewer']);
      assert.deepEqual(await readTenantSso(api, 'acme'), desired);
    });

    it('SAML by metadata, then delete: no SSO reads as null', async () => {
      const { api } = h;
      const desired = normalizeSso({ type: 'saml-metadata', idpMetadataUrl: 'https://idp/metadata', domains: ['acme.com'] });
      await writeTenantSso(api, 'acme', desired);
      assert.deepEqual(await readTenantSso(api, 'acme'), desired);
      assert.equal((await readTenants(api)).authTypes['acme'], 'saml');
      await deleteTenantSso(api, 'acme');
      assert.equal(await readTenantSso(api, 'acme'), null);
      await deleteTenantSso(api, 'acme'); // idempotent
    });
  });

  describe('roles', () => {
    beforeEach(async () => {
      await createTenant(h.api, normalizeTenant({ id: 'acme', name: 'Acme' }));
      await createPermissions(h.api, [
        { name: 'read', description: '' },
        { name: 'write', description: 'Write things' },
      ]);
    });

    it('batch create (project and tenant roles), read with one search, rename keeps the id, batch delete', async () => {
      const { api, emulator } = h;
      const admin = normalizeRole({ name: 'Admin', description: 'All', permissions: ['write', 'read'], default: false });
      const member = normalizeRole({ name: 'Member', tenant: 'acme', permissions: ['read'], default: true });
      const ids = await createRoles(api, [admin, member]);
      assert.deepEqual(Object.keys(ids).sort(), ['roles/Admin', 'roles/acme/Member']);
      assert.equal(emulator.log.count('POST', '/v1/mgmt/role/create/batch'), 1, 'one batch call');

      const live = await readRoles(api, ['acme']);
      assert.deepEqual(live.roles, { 'roles/Admin': admin, 'roles/acme/Member': member });
      assert.deepEqual(live.ids, ids);

      const renamed = { ...admin, name: 'Administrator', permissions: ['read'] };
      await updateRoles(api, [{ id: ids['roles/Admin'] as string, role: renamed }, { id: ids['roles/acme/Member'] as string, role: { ...member, default: false } }]);
      const after = await readRoles(api, ['acme']);
      assert.deepEqual(after.roles, { 'roles/Administrator': renamed, 'roles/acme/Member': { ...member, default: false } });
      assert.equal(after.ids['roles/Administrator'], ids['roles/Admin'], 'a rename keeps the id');

      await deleteRoles(api, [
        { name: 'Administrator', id: after.ids['roles/Administrator'] },
        { name: 'Member', tenant: 'acme' },
      ]);
      assert.deepEqual((await readRoles(api, ['acme'])).roles, {});
      assert.equal(emulator.log.count('POST', '/v1/mgmt/role/delete/batch'), 2, 'one call per tenant scope');
    });
  });

  describe('permissions', () => {
    it('batch create, read, rename by id, batch delete', async () => {
      const { api, emulator } = h;
      await createPermissions(api, [
        { name: 'read', description: 'Read' },
        { name: 'write', description: '' },
      ]);
      await createRoles(api, [normalizeRole({ name: 'Editor', permissions: ['write'] })]);
      const live = await readPermissions(api);
      assert.deepEqual(live.permissions, { read: { name: 'read', description: 'Read' }, write: { name: 'write', description: '' } });
      assert.equal(Object.keys(live.ids).length, 2);

      await updatePermissions(api, [{ name: 'write', id: live.ids['write'], permission: { name: 'edit', description: 'Edit' } }]);
      const after = await readPermissions(api);
      assert.deepEqual(Object.keys(after.permissions).sort(), ['edit', 'read']);
      assert.equal(after.ids['edit'], live.ids['write']);
      assert.deepEqual((await readRoles(api, [])).roles['roles/Editor']?.permissions, ['edit'], 'roles follow the rename');

      await updatePermissions(api, [{ name: 'read', permission: { name: 'read', description: 'Read all' } }]);
      assert.equal((await readPermissions(api)).permissions['read']?.description, 'Read all');

      await deletePermissions(api, ['edit', 'read', 'never-existed']);
      assert.deepEqual((await readPermissions(api)).permissions, {});
      assert.equal(emulator.log.count('POST', '/v1/mgmt/permission/create/batch'), 1);
    });
  });

  describe('flows, theme, password policy', () => {
    const doc: FlowDocument = {
      flow: {
        id: 'sign-in',
        name: 'Sign In',
        version: 4,
        modifiedTime: 1725220394,
        widget: false,
        dsl: { startTask: 'start', tasks: { start: { id: 'start', next: { rules: [{ taskId: '1' }] } }, '1': { id: '1', type: 'screen', screenId: 'SC1' } } },
      },
      screens: [{ id: 'SC1', flowId: 'sign-in', version: 2, componentsVersion: '2.0.1', htmlTemplate: { ROOT: { nodes: [] } }, interactions: [] }],
    };

    it('flows: import, list, export comes back canonical, delete', async () => {
      const { api } = h;
      await importFlow(api, 'sign-in', doc);
      await importFlow(api, 'sign-up', { ...doc, flow: { ...doc.flow, id: 'sign-up', name: 'Sign Up', disabled: true }, screens: [] });
      assert.deepEqual(await readFlowList(api), {
        'sign-in': { id: 'sign-in', name: 'Sign In', description: '', disabled: false },
        'sign-up': { id: 'sign-up', name: 'Sign Up', description: '', disabled: true },
      });
      const exported = await exportFlow(api, 'sign-in');
      assert.deepEqual(exported, normalizeFlow(doc));
      assert.equal('version' in exported.flow, false);

      await importFlow(api, 'sign-in', exported); // re-importing the canonical form is a no-op
      assert.deepEqual(await exportFlow(api, 'sign-in'), exported);
      await deleteFlows(api, ['sign-in', 'sign-up']);
      assert.deepEqual(await readFlowList(api), {});
    });

    it('theme: write and read back without the id', async () => {
      const { api } = h;
      const before = await readTheme(api);
      assert.deepEqual(before.theme, { cssTemplate: {} });
      await writeTheme(api, { cssTemplate: { light: { primary: '#123' } } }, before.id);
      assert.deepEqual((await readTheme(api)).theme, { cssTemplate: { light: { primary: '#123' } } });
    });

    it('password policy: read all 12 fields, write the merged record', async () => {
      const { api } = h;
      const live = await readPasswordPolicy(api);
      assert.equal(Object.keys(live).length, 12);
      const wanted = { ...live, minLength: 14, lock: true, lockAttempts: 5 };
      await writePasswordPolicy(api, wanted);
      assert.deepEqual(await readPasswordPolicy(api), wanted);
    });
  });
});
