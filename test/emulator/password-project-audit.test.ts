import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fails, ok, rawFetch, startHarness, type Harness } from './helpers.ts';

const DEFAULTS = {
  enabled: true,
  minLength: 8,
  lowercase: true,
  uppercase: true,
  number: true,
  nonAlphaNumeric: false,
  expiration: false,
  expirationWeeks: 0,
  reuse: false,
  reuseAmount: 0,
  lock: false,
  lockAttempts: 0,
};

describe('emulator: management.password', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());
  beforeEach(async () => {
    await h.emulator.reset();
    ok(await h.m.tenant.createWithId('acme', 'Acme'));
  });

  it('project settings (empty tenantId): defaults, then a full replace', async () => {
    const { m } = h;
    assert.deepEqual(ok(await m.password.getSettings('')), DEFAULTS);
    const strict = { ...DEFAULTS, minLength: 12, nonAlphaNumeric: true, lock: true, lockAttempts: 5 };
    ok(await m.password.configureSettings('', strict));
    assert.deepEqual(ok(await m.password.getSettings('')), strict);
    assert.deepEqual(ok(await m.password.getSettings('acme')), strict, 'a tenant without its own settings inherits');
  });

  it('tenant settings override the project ones', async () => {
    const { m } = h;
    const tenantSettings = { ...DEFAULTS, minLength: 16 };
    ok(await m.password.configureSettings('acme', tenantSettings));
    assert.deepEqual(ok(await m.password.getSettings('acme')), tenantSettings);
    assert.deepEqual(ok(await m.password.getSettings('')), DEFAULTS);
  });

  it('unknown tenants and invalid values are refused', async () => {
    const { m } = h;
    fails(await m.password.getSettings('nope'), 404, 'E111104');
    fails(await m.password.configureSettings('nope', DEFAULTS), 404, 'E111104');
    fails(await m.password.configureSettings('', { ...DEFAULTS, minLength: -1 }), 400, 'E011004', 'minLength');
    fails(await m.password.configureSettings('', { ...DEFAULTS, lock: 'yes' as unknown as boolean }), 400, 'E011004', 'lock');
    assert.deepEqual(ok(await m.password.getSettings('')), DEFAULTS);
  });
});

describe('emulator: management.project', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ projectName: 'Start' });
  });
  after(() => h.emulator.close());

  it('updateName and updateTags change the project', async () => {
    const { m, emulator } = h;
    assert.equal(emulator.snapshot().project.name, 'Start');
    ok(await m.project.updateName('Renamed'));
    ok(await m.project.updateTags(['prod', 'eu']));
    assert.deepEqual(emulator.snapshot().project, { name: 'Renamed', tags: ['prod', 'eu'], passwordSettings: null });
    fails(await m.project.updateName(''), 400, 'E011002', 'name is required');
    assert.equal(emulator.snapshot().project.name, 'Renamed');
  });

  it('answers the license handshake with a rate-limit tier', async () => {
    assert.equal(h.emulator.log.count('GET', '/v1/mgmt/license', 200), 1, 'the SDK made its handshake once');
    const raw = await rawFetch(h.emulator, 'GET', '/v1/mgmt/license');
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.json, { rateLimitTier: 'tier2' });
  });
});

describe('emulator: management.audit', () => {
  let h: Harness;
  let t0: number;
  before(async () => {
    h = await startHarness();
    t0 = Date.now();
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme'));
    ok(await m.tenant.createWithId('globex', 'Globex'));
    ok(await m.permission.create('read'));
    ok(await m.role.create('Reader', '', ['read'], 'acme'));
    fails(await m.role.create('Reader', '', ['read'], 'acme'), 409, 'E024209'); // refused: not audited
    ok(await m.tenant.update('globex', 'Globex Corp'));
    ok(await m.project.updateName('Audited'));
  });
  after(() => h.emulator.close());

  it('search returns a record of every accepted write, newest first, converted by the SDK', async () => {
    const { m, emulator } = h;
    const audits = ok(await m.audit.search({}));
    assert.deepEqual(
      audits.map((record) => record.action),
      ['ProjectNameUpdated', 'TenantUpdated', 'RoleCreated', 'PermissionCreated', 'TenantCreated', 'TenantCreated'],
    );
    const [latest] = audits;
    assert.equal(typeof latest?.occurred, 'number', 'the SDK parses the string');
    assert.ok((latest?.occurred ?? 0) >= t0 && (latest?.occurred ?? 0) <= Date.now());
    assert.deepEqual(latest?.loginIds, []);
    assert.equal('externalIds' in (latest ?? {}), false);
    assert.equal(latest?.projectId, emulator.projectId);
    assert.match(String((latest as unknown as Record<string, unknown>)['actorId']), /^mgmt-key-[0-9a-f]{12}$/);
    const role = audits[2];
    assert.deepEqual(role?.tenants, ['acme']);
    assert.deepEqual(role?.data, { resource: 'roles/acme/Reader', path: '/v1/mgmt/role/create' });

    const raw = (await rawFetch(emulator, 'POST', '/v1/mgmt/audit/search', { body: '{}' })).json as {
      audits: Array<Record<string, unknown>>;
      total: number;
    };
    assert.equal(typeof raw.audits[0]?.['occurred'], 'string');
    assert.deepEqual(raw.audits[0]?.['externalIds'], []);
    assert.equal(raw.total, 6);
  });

  it('honours actions, tenants, text, from/to and noTenants; searchAll reports total', async () => {
    const { m } = h;
    const actions = async (options: Parameters<typeof m.audit.search>[0]): Promise<string[]> =>
      ok(await m.audit.search(options)).map((record) => record.action);
    assert.deepEqual(await actions({ actions: ['TenantCreated'] }), ['TenantCreated', 'TenantCreated']);
    assert.deepEqual(await actions({ tenants: ['globex'] }), ['TenantUpdated', 'TenantCreated']);
    assert.deepEqual(await actions({ text: 'roles/acme' }), ['RoleCreated']);
    assert.deepEqual(await actions({ excludedActions: ['TenantCreated', 'TenantUpdated'], noTenants: true }), [
      'ProjectNameUpdated',
      'PermissionCreated',
    ]);
    assert.deepEqual(await actions({ from: Date.now() + 60_000 }), []);
    assert.deepEqual(await actions({ to: t0 - 60_000 }), []);
    const all = ok(await m.audit.searchAll({ actions: ['TenantCreated', 'RoleCreated'] }));
    assert.equal(all.total, 3);
    assert.equal(all.audits.length, 3);
  });

  it('createEvent adds a caller-defined record', async () => {
    const { m } = h;
    ok(await m.audit.createEvent({ action: 'ConfigApplied', type: 'info', actorId: 'cac-tool', tenantId: 'acme', data: { plan: '123' } }));
    const [event] = ok(await m.audit.search({ actions: ['ConfigApplied'] }));
    assert.equal((event as unknown as Record<string, unknown>)['actorId'], 'cac-tool');
    assert.deepEqual(event?.tenants, ['acme']);
    assert.deepEqual(event?.data, { plan: '123' });
    fails(
      await m.audit.createEvent({ action: 'X', type: 'fatal' as 'info', actorId: 'a', tenantId: 'acme' }),
      400,
      'E011004',
      'type',
    );
    fails(await m.audit.createEvent({ action: '', type: 'info', actorId: 'a', tenantId: 'acme' }), 400, 'E011002');
  });
});

describe('emulator: audit resources name one resource whatever names hold', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());

  it('a "/" or "%" in a key is escaped (%2F, %25); a tenant called "project" has its own password resource', async () => {
    const { m } = h;
    ok(await m.tenant.createWithId('acme', 'Acme'));
    ok(await m.tenant.createWithId('project', 'Project'));
    ok(await m.permission.create('50%'));
    ok(await m.role.create('acme/Agent', '', []));
    ok(await m.role.create('Agent', '', [], 'acme'));
    ok(await m.password.configureSettings('project', DEFAULTS));
    const resources = ok(await m.audit.search({})).map((record) => (record.data as { resource?: string } | undefined)?.resource);
    assert.deepEqual(resources, ['password/tenants/project', 'roles/acme/Agent', 'roles/acme%2FAgent', 'permissions/50%25', 'tenants/project', 'tenants/acme']);
  });
});
