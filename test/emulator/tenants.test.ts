import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FIXED_NOW, fails, ok, rawFetch, startHarness, type Harness } from './helpers.ts';

describe('emulator: management.tenant', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ clock: () => FIXED_NOW });
  });
  after(() => h.emulator.close());
  beforeEach(() => h.emulator.reset());

  it('create returns a generated T2 id and load returns the tenant unwrapped', async () => {
    const { m } = h;
    const created = ok(await m.tenant.create('Acme', ['acme.com'], { plan: 'pro', seats: 5 }, true, false));
    assert.match(created.id, /^T2[A-Za-z0-9]{26}$/);
    assert.deepEqual(ok(await m.tenant.load(created.id)), {
      id: created.id,
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      customAttributes: { plan: 'pro', seats: 5 },
      domains: [],
      authType: 'none',
      enforceSSO: true,
      disabled: false,
      createdTime: 1_700_000_000,
      defaultRoles: [],
    });
  });

  it('createWithId uses the given id; an existing id or name is a duplicate', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme', [], undefined, false, false, undefined, 'userOnly'));
    const loaded = ok(await m.tenant.load('acme'));
    assert.equal(loaded.id, 'acme');
    assert.equal((loaded as { roleInheritance?: string }).roleInheritance, 'userOnly');
    fails(await m.tenant.createWithId('acme', 'Other'), 409, 'E073307', 'tenant id "acme" already exists');
    fails(await m.tenant.create('Acme'), 409, 'E073307', 'named "Acme"');
    assert.equal(ok(await m.tenant.loadAll()).length, 1);
  });

  it('create refuses a missing name, an unknown parent and a bad roleInheritance', async () => {
    const { m } = h;
    fails(await m.tenant.create(''), 400, 'E011002', 'name is required');
    fails(await m.tenant.create('Child', [], undefined, false, false, 'nope'), 404, 'E111104', 'tenant "nope"');
    // Deliberately invalid value, as a JavaScript caller could send it.
    fails(await m.tenant.create('X', [], undefined, false, false, undefined, 'bogus' as 'none'), 400, 'E011004');
    assert.deepEqual(ok(await m.tenant.loadAll()), []);
  });

  it('update replaces every field it carries and keeps parent', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('parent', 'Parent'));
    ok(await m.tenant.createWithId('acme', 'Acme', ['acme.com'], { plan: 'pro' }, true, false, 'parent'));
    ok(await m.tenant.update('acme', 'Acme Corp', ['acme.io']));
    const loaded = ok(await m.tenant.load('acme')) as Record<string, unknown>;
    assert.equal(loaded['name'], 'Acme Corp');
    assert.deepEqual(loaded['selfProvisioningDomains'], ['acme.io']);
    assert.deepEqual(loaded['customAttributes'], {});
    assert.equal(loaded['enforceSSO'], false);
    assert.equal(loaded['parent'], 'parent');
  });

  it('update of an unknown tenant is not found; renaming onto another tenant is a duplicate', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('a', 'A'));
    ok(await m.tenant.createWithId('b', 'B'));
    fails(await m.tenant.update('zzz', 'Z'), 404, 'E111104');
    fails(await m.tenant.update('a', 'B'), 409, 'E073307');
    fails(await m.tenant.update('a', ''), 400, 'E011002', 'name is required');
    ok(await m.tenant.update('a', 'A')); // same name on itself is fine
  });

  it('updateDefaultRoles sets existing roles and refuses unknown ones', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme'));
    ok(await m.role.create('Viewer'));
    ok(await m.role.create('Editor', '', [], 'acme'));
    ok(await m.tenant.updateDefaultRoles('acme', ['Viewer', 'Editor']));
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, ['Viewer', 'Editor']);
    fails(await m.tenant.updateDefaultRoles('acme', ['Ghost']), 404, 'E111403', 'Ghost');
    fails(await m.tenant.updateDefaultRoles('nope', []), 404, 'E111104');
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, ['Viewer', 'Editor']);
  });

  it('delete removes the tenant and its roles; unknown ids are not found', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme'));
    ok(await m.role.create('Local', '', [], 'acme'));
    ok(await m.tenant.delete('acme'));
    fails(await m.tenant.load('acme'), 404, 'E111104');
    assert.deepEqual(ok(await m.role.search({})), []);
    fails(await m.tenant.delete('acme'), 404, 'E111104');
    fails(await m.tenant.delete(''), 400, 'E011002');
  });

  it('delete of a tenant with sub-tenants needs cascade, which deletes them too', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('root', 'Root'));
    ok(await m.tenant.createWithId('child', 'Child', [], undefined, false, false, 'root'));
    ok(await m.tenant.createWithId('grandchild', 'Grandchild', [], undefined, false, false, 'child'));
    fails(await m.tenant.delete('root'), 400, 'E111106', 'sub-tenants');
    assert.equal(ok(await m.tenant.loadAll()).length, 3);
    ok(await m.tenant.delete('root', true));
    assert.deepEqual(ok(await m.tenant.loadAll()), []);
  });

  it('loadAll is wrapped as {tenants} on the wire and unwrapped by the SDK', async () => {
    const { m, emulator } = h;
    ok(await m.tenant.createWithId('a', 'A'));
    ok(await m.tenant.createWithId('b', 'B'));
    assert.deepEqual(
      ok(await m.tenant.loadAll()).map((tenant) => tenant.id),
      ['a', 'b'],
    );
    const raw = await rawFetch(emulator, 'GET', '/v1/mgmt/tenant/all');
    assert.deepEqual(Object.keys(raw.json as object), ['tenants']);
  });

  it('searchAll honours the renamed filter keys', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('root', 'Root', ['root.com'], { tier: 'gold', tags: ['x', 'y'] }));
    ok(await m.tenant.createWithId('kid', 'Kid', ['kid.com'], { tier: 'silver' }, false, false, 'root'));
    ok(await m.tenant.createWithId('other', 'Other', ['other.com']));
    const ids = async (...args: Parameters<typeof m.tenant.searchAll>): Promise<string[]> =>
      ok(await m.tenant.searchAll(...args)).map((tenant) => tenant.id);
    assert.deepEqual(await ids(), ['root', 'kid', 'other']);
    assert.deepEqual(await ids(['kid', 'other']), ['kid', 'other']);
    assert.deepEqual(await ids(undefined, ['Root']), ['root']);
    assert.deepEqual(await ids(undefined, undefined, ['other.com', 'kid.com']), ['kid', 'other']);
    assert.deepEqual(await ids(undefined, undefined, undefined, { tier: 'gold' }), ['root']);
    assert.deepEqual(await ids(undefined, undefined, undefined, { tags: 'y' }), ['root']);
    assert.deepEqual(await ids(undefined, undefined, undefined, undefined, 'root'), ['kid']);
  });

  it('load without an id is a missing argument', async () => {
    fails(await h.m.tenant.load(''), 400, 'E011002', 'id is required');
  });

  it('getSettings returns defaults plus the tenant fields; configureSettings is a full replace', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme', ['acme.com']));
    assert.deepEqual(ok(await m.tenant.getSettings('acme')), {
      enabled: false,
      sessionTokenExpiration: 10,
      sessionTokenExpirationUnit: 'minutes',
      refreshTokenExpiration: 4,
      refreshTokenExpirationUnit: 'weeks',
      stepupTokenExpiration: 10,
      stepupTokenExpirationUnit: 'minutes',
      enableInactivity: false,
      InactivityTime: 12,
      InactivityTimeUnit: 'hours',
      JITDisabled: false,
      ssoSetupSuiteSettings: { enabled: false },
      selfProvisioningDomains: ['acme.com'],
      domains: [],
      authType: 'none',
    });

    const settings = {
      selfProvisioningDomains: ['acme.io'],
      domains: ['sso.acme.io'],
      authType: 'saml' as const,
      enabled: true,
      sessionTokenExpiration: 30,
      sessionTokenExpirationUnit: 'minutes' as const,
      JITDisabled: true,
      ssoSetupSuiteSettings: { enabled: true, disabledFeatures: { scim: true } },
      sessionSettingsEnabled: true, // README example key, not in the SDK type: kept
    };
    ok(await m.tenant.configureSettings('acme', settings));
    const read = ok(await m.tenant.getSettings('acme')) as Record<string, unknown>;
    assert.equal(read['enabled'], true);
    assert.equal(read['sessionTokenExpiration'], 30);
    assert.equal(read['refreshTokenExpiration'], 4, 'left out, so back to the default');
    assert.equal(read['JITDisabled'], true);
    assert.equal(read['sessionSettingsEnabled'], true);
    assert.equal(read['tenantId'], undefined);
    assert.deepEqual(read['ssoSetupSuiteSettings'], { enabled: true, disabledFeatures: { scim: true } });
    const tenant = ok(await m.tenant.load('acme'));
    assert.deepEqual(tenant.selfProvisioningDomains, ['acme.io']);
    assert.deepEqual(tenant.domains, ['sso.acme.io']);
    assert.equal(tenant.authType, 'saml');

    ok(await m.tenant.configureSettings('acme', { selfProvisioningDomains: [] }));
    const replaced = ok(await m.tenant.getSettings('acme')) as Record<string, unknown>;
    assert.equal(replaced['enabled'], false);
    assert.equal(replaced['sessionSettingsEnabled'], undefined);
    assert.equal(replaced['authType'], 'none');
  });

  it('settings calls refuse unknown tenants and invalid values', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme'));
    fails(await m.tenant.getSettings('nope'), 404, 'E111104');
    fails(await m.tenant.configureSettings('nope', { selfProvisioningDomains: [] }), 404, 'E111104');
    fails(
      await m.tenant.configureSettings('acme', { selfProvisioningDomains: [], sessionTokenExpirationUnit: 'fortnights' as 'weeks' }),
      400,
      'E011004',
      'sessionTokenExpirationUnit',
    );
    fails(await m.tenant.getSettings(''), 400, 'E011002');
  });
});
