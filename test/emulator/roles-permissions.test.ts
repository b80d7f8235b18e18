import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FIXED_NOW, fails, idOf, ok, rawFetch, startHarness, type Harness } from './helpers.ts';

describe('emulator: management.permission', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());
  beforeEach(() => h.emulator.reset());

  it('create and loadAll: each permission gets a PER id; a duplicate name is refused', async () => {
    const { m } = h;
    ok(await m.permission.create('read', 'Read things'));
    ok(await m.permission.create('write'));
    const all = ok(await m.permission.loadAll()) as Array<Record<string, unknown>>;
    assert.equal(all.length, 2);
    assert.match(String(all[0]?.['id']), /^PER[A-Za-z0-9]{26}$/);
    assert.deepEqual(
      all.map(({ id: _id, ...rest }) => rest),
      [
        { name: 'read', description: 'Read things', systemDefault: false },
        { name: 'write', description: '', systemDefault: false },
      ],
    );
    fails(await m.permission.create('read'), 409, 'E024104', 'permissions/read');
    fails(await m.permission.create(''), 400, 'E011002', 'name is required');
  });

  it('createBatch is all-or-nothing', async () => {
    const { m } = h;
    ok(await m.permission.createBatch([
      { name: 'a', description: 'A', systemDefault: false },
      { name: 'b', systemDefault: true },
    ]));
    const names = async (): Promise<string[]> => ok(await m.permission.loadAll()).map((p) => p.name);
    assert.deepEqual(await names(), ['a', 'b']);
    assert.equal(ok(await m.permission.loadAll())[1]?.systemDefault, false, 'systemDefault from a client is ignored');
    fails(await m.permission.createBatch([{ name: 'c', systemDefault: false }, { name: 'a', systemDefault: false }]), 409, 'E024104');
    fails(await m.permission.createBatch([{ name: 'd', systemDefault: false }, { name: 'd', systemDefault: false }]), 409, 'E024104');
    assert.deepEqual(await names(), ['a', 'b']);
  });

  it('update by name and by id replace the description; a rename follows into roles', async () => {
    const { m } = h;
    ok(await m.permission.create('read', 'Read'));
    ok(await m.role.create('Viewer', '', ['read']));
    ok(await m.permission.update('read', 'read:all'));
    const [permission] = ok(await m.permission.loadAll());
    assert.equal(permission?.name, 'read:all');
    assert.equal(permission?.description, '');
    assert.deepEqual(ok(await m.role.loadAll())[0]?.permissionNames, ['read:all']);
    ok(await m.permission.updateWithId(idOf(permission), 'read:any', 'Any'));
    assert.deepEqual(
      ok(await m.permission.loadAll()).map((p) => [p.name, p.description]),
      [['read:any', 'Any']],
    );
    assert.deepEqual(ok(await m.role.loadAll())[0]?.permissionNames, ['read:any']);
  });

  it('update refuses unknown permissions, a missing newName and a taken name', async () => {
    const { m } = h;
    ok(await m.permission.create('a'));
    ok(await m.permission.create('b'));
    fails(await m.permission.update('zzz', 'y'), 404, 'E111303', '"zzz"');
    fails(await m.permission.updateWithId('PERnope', 'y'), 404, 'E111303');
    fails(await m.permission.update('a', ''), 400, 'E011002', 'newName is required');
    fails(await m.permission.update('a', 'b'), 409, 'E024104');
  });

  it('updateBatch can swap names and roles keep pointing at the same permissions', async () => {
    const { m } = h;
    ok(await m.permission.create('a', 'first'));
    ok(await m.permission.create('b', 'second'));
    ok(await m.role.create('R', '', ['a']));
    const [a, b] = ok(await m.permission.loadAll());
    ok(await m.permission.updateBatch([
      { id: idOf(a), newName: 'b', description: 'first' },
      { id: idOf(b), newName: 'a', description: 'second' },
    ]));
    assert.deepEqual(
      ok(await m.permission.loadAll()).map((p) => [p.name, p.description]),
      [['b', 'first'], ['a', 'second']],
    );
    assert.deepEqual(ok(await m.role.loadAll())[0]?.permissionNames, ['b'], 'the role still holds the "first" permission');
    fails(await m.permission.updateBatch([{ id: 'PERnope', newName: 'x' }]), 404, 'E111303');
  });

  it('delete by name, by id and in batch removes permissions from roles', async () => {
    const { m } = h;
    ok(await m.permission.createBatch(['a', 'b', 'c', 'd'].map((name) => ({ name, systemDefault: false }))));
    ok(await m.role.create('R', '', ['a', 'b', 'c', 'd']));
    ok(await m.permission.delete('a'));
    const b = idOf(ok(await m.permission.loadAll()).find((p) => p.name === 'b'));
    ok(await m.permission.deleteWithId(b));
    assert.deepEqual(ok(await m.role.loadAll())[0]?.permissionNames, ['c', 'd']);
    fails(await m.permission.delete('a'), 404, 'E111303');
    fails(await m.permission.deleteWithId(b), 404, 'E111303');
    ok(await m.permission.deleteBatch(['c', 'ghost'], ['PERghost']));
    assert.deepEqual(ok(await m.permission.loadAll()).map((p) => p.name), ['d']);
    assert.deepEqual(ok(await m.role.loadAll())[0]?.permissionNames, ['d']);
  });
});

describe('emulator: management.role', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ clock: () => FIXED_NOW });
  });
  after(() => h.emulator.close());
  beforeEach(async () => {
    await h.emulator.reset();
    ok(await h.m.tenant.createWithId('acme', 'Acme'));
    ok(await h.m.tenant.createWithId('globex', 'Globex'));
    ok(await h.m.permission.createBatch(['read', 'write'].map((name) => ({ name, systemDefault: false }))));
  });

  it('create stores project and tenant roles with ROL ids; loadAll lists project roles', async () => {
    const { m } = h;
    ok(await m.role.create('Admin', 'Admins', ['read', 'write'], undefined, true));
    ok(await m.role.create('Admin', 'Acme admins', ['read'], 'acme'));
    const all = ok(await m.role.loadAll());
    assert.equal(all.length, 1);
    const admin = all[0] as unknown as Record<string, unknown>;
    assert.match(String(admin['id']), /^ROL[A-Za-z0-9]{26}$/);
    const { id: _id, ...rest } = admin;
    assert.deepEqual(rest, {
      name: 'Admin',
      description: 'Admins',
      permissionNames: ['read', 'write'],
      createdTime: 1_700_000_000,
      default: true,
      private: false,
    });
    const tenantRoles = ok(await m.role.search({ tenantIds: ['acme'] }));
    assert.deepEqual(
      tenantRoles.map((role) => [role.name, role.tenantId, role.description]),
      [['Admin', 'acme', 'Acme admins']],
    );
  });

  it('create refuses duplicates per (name, tenant), unknown permissions and unknown tenants', async () => {
    const { m } = h;
    ok(await m.role.create('Admin'));
    ok(await m.role.create('Admin', '', [], 'acme'));
    fails(await m.role.create('Admin'), 409, 'E024209', 'roles/Admin');
    fails(await m.role.create('Admin', '', [], 'acme'), 409, 'E024209', 'roles/acme/Admin');
    fails(await m.role.create('Reader', '', ['read', 'fly']), 404, 'E111303', '"fly"');
    fails(await m.role.create('Reader', '', [], 'nope'), 404, 'E111104');
    fails(await m.role.create(''), 400, 'E011002');
    assert.deepEqual(ok(await m.role.search({})).map((role) => role.name), ['Admin', 'Admin']);
  });

  it('createBatch returns the created roles and is all-or-nothing', async () => {
    const { m } = h;
    const created = ok(await m.role.createBatch([
      { name: 'A', description: 'a', permissionNames: ['read'], createdTime: 0 },
      { name: 'B', permissionNames: [], createdTime: 0, tenantId: 'acme', default: true },
    ]));
    assert.deepEqual(
      created.map((role) => [role.name, role.tenantId, role.default, role.createdTime]),
      [
        ['A', undefined, false, 1_700_000_000],
        ['B', 'acme', true, 1_700_000_000],
      ],
    );
    assert.ok(created.every((role) => typeof role.id === 'string' && role.id.startsWith('ROL')));
    fails(
      await m.role.createBatch([
        { name: 'C', permissionNames: [], createdTime: 0 },
        { name: 'A', permissionNames: [], createdTime: 0 },
      ]),
      409,
      'E024209',
    );
    assert.deepEqual(ok(await m.role.search({})).map((role) => role.name), ['A', 'B']);
  });

  it('update by name is a full replace and a rename follows into defaultRoles and SSO mappings', async () => {
    const { m } = h;
    ok(await m.role.create('Viewer', 'Sees', ['read'], undefined, true));
    ok(await m.tenant.updateDefaultRoles('acme', ['Viewer']));
    ok(await m.sso.configureSAMLSettings('acme', {
      idpUrl: 'https://idp', idpCert: 'CERT', entityId: 'e',
      roleMappings: [{ groups: ['g'], roleName: 'Viewer' }], defaultSSORoles: ['Viewer'],
    }));
    ok(await m.role.update('Viewer', 'Reader'));
    const [role] = ok(await m.role.loadAll());
    assert.deepEqual([role?.name, role?.description, role?.permissionNames, role?.default], ['Reader', '', [], false]);
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, ['Reader']);
    const saml = ok(await m.sso.loadSettings('acme')).saml;
    assert.deepEqual(saml?.groupsMapping, [{ roleName: 'Reader', groups: ['g'] }]);
    assert.deepEqual(saml?.defaultSSORoles, ['Reader']);
  });

  it('updateWithId works by id, keeps the role in its tenant, and refuses unknowns and clashes', async () => {
    const { m } = h;
    ok(await m.role.create('A', '', [], 'acme'));
    ok(await m.role.create('B', '', [], 'acme'));
    const [a] = ok(await m.role.search({ tenantIds: ['acme'], roleNames: ['A'] }));
    ok(await m.role.updateWithId(a?.id ?? '', 'A2', 'renamed', ['write'], 'acme'));
    assert.deepEqual(
      ok(await m.role.search({ tenantIds: ['acme'] })).map((role) => [role.name, role.description, role.permissionNames]),
      [['A2', 'renamed', ['write']], ['B', '', []]],
    );
    fails(await m.role.updateWithId(a?.id ?? '', 'A3', '', [], 'globex'), 404, 'E111403', 'tenant "globex"');
    fails(await m.role.updateWithId('ROLnope', 'X'), 404, 'E111403');
    fails(await m.role.update('Ghost', 'X'), 404, 'E111403');
    fails(await m.role.update('A2', 'B', '', [], 'acme'), 409, 'E024209');
    fails(await m.role.update('A2', '', '', [], 'acme'), 400, 'E011002', 'newName is required');
    fails(await m.role.update('A2', 'A2', '', ['fly'], 'acme'), 404, 'E111303');
  });

  it('updateBatch returns the updated roles and can swap names', async () => {
    const { m } = h;
    ok(await m.role.create('A', 'first'));
    ok(await m.role.create('B', 'second'));
    ok(await m.tenant.updateDefaultRoles('acme', ['A']));
    const [a, b] = ok(await m.role.loadAll());
    const updated = ok(await m.role.updateBatch([
      { id: a?.id ?? '', newName: 'B', description: 'first' },
      { id: b?.id ?? '', newName: 'A', description: 'second', permissionNames: ['read'] },
    ]));
    assert.deepEqual(updated.map((role) => [role.id, role.name]), [[a?.id, 'B'], [b?.id, 'A']]);
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, ['B'], 'still the "first" role');
    fails(await m.role.updateBatch([{ id: 'ROLnope', newName: 'x' }]), 404, 'E111403');
  });

  it('delete by name (tenant-scoped), by id and in batch; references disappear', async () => {
    const { m } = h;
    ok(await m.role.create('Shared'));
    ok(await m.role.create('Shared', '', [], 'acme'));
    ok(await m.role.create('Local', '', [], 'acme'));
    ok(await m.role.create('Other', '', [], 'globex'));
    ok(await m.tenant.updateDefaultRoles('acme', ['Shared', 'Local']));
    ok(await m.role.delete('Shared', 'acme'));
    assert.deepEqual(ok(await m.role.loadAll()).map((role) => role.name), ['Shared'], 'the project role survives');
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, ['Local'], 'it named the deleted tenant role');
    fails(await m.role.delete('Shared', 'acme'), 404, 'E111403');
    const [local] = ok(await m.role.search({ tenantIds: ['acme'], roleNames: ['Local'] }));
    ok(await m.tenant.updateDefaultRoles('acme', ['Local', 'Shared']));
    ok(await m.role.deleteWithId(local?.id ?? '', 'acme'));
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, ['Shared'], 'now the project role');
    fails(await m.role.deleteWithId(local?.id ?? ''), 404, 'E111403');
    const [other] = ok(await m.role.search({ tenantIds: ['globex'] }));
    ok(await m.role.deleteBatch(['Shared', 'Ghost']));
    ok(await m.role.deleteBatch(undefined, 'globex', [other?.id ?? '', 'ROLghost']));
    assert.deepEqual(ok(await m.role.search({})), []);
    assert.deepEqual(ok(await m.tenant.load('acme')).defaultRoles, []);
  });

  it('search filters by tenant, project roles, exact names, name substring and permissions', async () => {
    const { m } = h;
    ok(await m.role.create('Project Admin', '', ['read', 'write']));
    ok(await m.role.create('Acme Reader', '', ['read'], 'acme'));
    ok(await m.role.create('Globex Writer', '', ['write'], 'globex'));
    const names = async (options: Parameters<typeof m.role.search>[0]): Promise<string[]> =>
      ok(await m.role.search(options)).map((role) => role.name);
    assert.deepEqual(await names({}), ['Project Admin', 'Acme Reader', 'Globex Writer']);
    assert.deepEqual(await names({ tenantIds: ['acme'] }), ['Acme Reader']);
    assert.deepEqual(await names({ tenantIds: ['acme'], includeProjectRoles: true }), ['Project Admin', 'Acme Reader']);
    assert.deepEqual(await names({ roleNames: ['Globex Writer'] }), ['Globex Writer']);
    assert.deepEqual(await names({ roleNameLike: 'read' }), ['Acme Reader']);
    assert.deepEqual(await names({ permissionNames: ['write'] }), ['Project Admin', 'Globex Writer']);
  });

  it('the wire shape of role.loadAll is {roles}', async () => {
    ok(await h.m.role.create('X'));
    const raw = await rawFetch(h.emulator, 'GET', '/v1/mgmt/role/all');
    assert.deepEqual(Object.keys(raw.json as object), ['roles']);
  });
});
