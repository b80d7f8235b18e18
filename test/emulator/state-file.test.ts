import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createEmptyState,
  EmulatorStateError,
  startEmulator,
  type EmulatorState,
} from '../../src/emulator/index.ts';
import { clientFor, licenseSettled, ok } from './helpers.ts';

describe('emulator: state file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'descope-emulator-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is created with mode 0600, rewritten atomically after each write, and survives a restart', async () => {
    const file = join(dir, 'state.json');
    const first = await startEmulator({ stateFile: file, seed: 7 });
    try {
      assert.equal((await stat(file)).mode & 0o777, 0o600, 'created on start');
      const m = clientFor(first).management;
      ok(await m.tenant.createWithId('acme', 'Acme'));
      ok(await m.permission.create('read'));
      ok(await m.role.create('Reader', '', ['read'], 'acme'));
      ok(await m.sso.configureOIDCSettings('acme', { name: 'Okta', clientId: 'cid', clientSecret: 'hush' }));
      ok(await m.flow.import('f', { id: 'f', name: 'F', dsl: { tasks: {} }, disabled: false, version: 3 } as never));
      await Promise.all(Array.from({ length: 20 }, (_, i) => m.tenant.createWithId(`t${i}`, `T${i}`)));
      const onDisk = JSON.parse(await readFile(file, 'utf8')) as EmulatorState;
      assert.equal(onDisk.tenants.length, 21, 'the last write wins and holds every tenant');
      // The file is the state, except that a client secret is kept as its digest, never as itself.
      const expected = first.snapshot();
      expected.tenants.find((tenant) => tenant.id === 'acme')!.sso[0]!.oidcClientSecret = `sha256:${createHash('sha256').update('hush').digest('hex')}`;
      assert.deepEqual(onDisk, expected);
      assert.ok(!(await readFile(file, 'utf8')).includes('hush'), 'the client secret is on disk');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(dir), ['state.json'], 'no temp file left behind');
    } finally {
      await first.close();
    }

    const second = await startEmulator({ stateFile: file });
    try {
      const client = clientFor(second);
      await licenseSettled(second);
      const m = client.management;
      assert.equal(ok(await m.tenant.load('acme')).name, 'Acme');
      assert.deepEqual(ok(await m.role.search({ tenantIds: ['acme'] })).map((role) => role.permissionNames), [['read']]);
      assert.equal((ok(await m.flow.export('f')).flow as unknown as Record<string, unknown>)['version'], 3);
      assert.deepEqual(second.secretStatus('acme'), { set: true, sha256: createHash('sha256').update('hush').digest('hex') }, 'the write-only secret survives');
      assert.equal(ok(await m.audit.search({ actions: ['TenantCreated'] })).length, 21);
    } finally {
      await second.close();
    }
  });

  it('a corrupt state file is a clear EmulatorStateError from startEmulator', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"formatVersion": 1, "tenants": [', { mode: 0o600 });
    await assert.rejects(startEmulator({ stateFile: broken }), (error: unknown) => {
      assert.ok(error instanceof EmulatorStateError);
      assert.equal(error.file, broken);
      assert.match(error.message, /broken\.json: corrupt emulator state file: not valid JSON/);
      return true;
    });
    const wrongShape = join(dir, 'wrong-shape.json');
    await writeFile(wrongShape, JSON.stringify({ ...createEmptyState('x'), tenants: [{ id: 'a' }] }));
    await assert.rejects(startEmulator({ stateFile: wrongShape }), (error: unknown) => {
      assert.ok(error instanceof EmulatorStateError);
      assert.match(error.message, /corrupt emulator state file; fix or delete it/);
      assert.match(error.message, /tenants/);
      return true;
    });
  });

  it('reset() replaces and persists the state; initialState seeds a fresh emulator', async () => {
    const file = join(dir, 'seeded.json');
    const seed = createEmptyState('Seeded');
    seed.permissions.push({ id: 'PERfixed', name: 'read', description: 'Read' });
    const emulator = await startEmulator({ stateFile: file, initialState: seed });
    try {
      const m = clientFor(emulator).management;
      assert.deepEqual(ok(await m.permission.loadAll()), [{ id: 'PERfixed', name: 'read', description: 'Read', systemDefault: false }]);
      await emulator.reset();
      assert.deepEqual(ok(await m.permission.loadAll()), []);
      assert.deepEqual((JSON.parse(await readFile(file, 'utf8')) as EmulatorState).permissions, []);
      await emulator.reset(seed);
      assert.equal(ok(await m.permission.loadAll()).length, 1);
      await assert.rejects(emulator.reset({ nonsense: true } as unknown as EmulatorState), EmulatorStateError);
    } finally {
      await emulator.close();
    }
  });

  it('creates missing parent directories of the state file', async () => {
    const file = join(dir, 'nested', '.descope', 'local', 'state.json');
    const emulator = await startEmulator({ stateFile: file });
    await emulator.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((JSON.parse(await readFile(file, 'utf8')) as EmulatorState).formatVersion, 1);
  });

  it('snapshot() is a deep copy', async () => {
    const emulator = await startEmulator();
    try {
      const snapshot = emulator.snapshot();
      snapshot.tenants.push({} as never);
      assert.deepEqual(emulator.snapshot().tenants, []);
    } finally {
      await emulator.close();
    }
  });
});
