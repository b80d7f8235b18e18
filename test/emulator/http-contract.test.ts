// The HTTP contract every call relies on: authentication, JSON bodies on every status, malformed
// requests, and a clear "not supported" for everything outside the emulator's scope.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { startEmulator } from '../../src/emulator/index.ts';
import { clientFor, fails, ok, rawFetch, startHarness, type Harness } from './helpers.ts';

describe('emulator: authentication', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ projectId: 'P2authtest0000000000000000000'.slice(0, 28), managementKey: 'right-key' });
  });
  after(() => h.emulator.close());

  it('accepts the configured project and key', async () => {
    ok(await h.m.tenant.loadAll());
  });

  it('a wrong key, a wrong project or no key is 401 with a JSON error body', async () => {
    const { emulator } = h;
    const wrongKey = clientFor(emulator, { managementKey: 'wrong-key' });
    fails(await wrongKey.management.tenant.loadAll(), 401, 'E011003', 'management key is invalid');
    const wrongProject = clientFor(emulator, { projectId: 'P2someoneelse00000000000000' });
    fails(await wrongProject.management.tenant.create('X'), 401, 'E011003', 'unknown project ID');
    const noKey = clientFor(emulator, { managementKey: undefined });
    fails(await noKey.management.tenant.loadAll(), 401, 'E011003', 'management key is missing');
    assert.deepEqual(ok(await h.m.tenant.loadAll()), [], 'nothing was written by the refused calls');
  });

  it('a request without an Authorization header is 401 with a JSON body', async () => {
    const raw = await rawFetch(h.emulator, 'GET', '/v1/mgmt/tenant/all', { headers: {} });
    assert.equal(raw.status, 401);
    assert.match(raw.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal((raw.json as { errorCode: string }).errorCode, 'E011003');
  });
});

describe('emulator: request contract', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());

  it('a malformed JSON body is 400 with a JSON error, and nothing is written', async () => {
    const raw = await rawFetch(h.emulator, 'POST', '/v1/mgmt/tenant/create', { body: '{"name": "Acme",' });
    assert.equal(raw.status, 400);
    assert.equal((raw.json as { errorCode: string }).errorCode, 'E011001');
    assert.match((raw.json as { errorMessage: string }).errorMessage, /malformed JSON/);
    const array = await rawFetch(h.emulator, 'POST', '/v1/mgmt/tenant/create', { body: '["Acme"]' });
    assert.equal(array.status, 400);
    assert.match((array.json as { errorMessage: string }).errorMessage, /JSON object/);
    const wrongType = await rawFetch(h.emulator, 'POST', '/v1/mgmt/tenant/create', { body: '{"name": 42}' });
    assert.equal(wrongType.status, 400);
    assert.equal((wrongType.json as { errorCode: string }).errorCode, 'E011004');
    assert.deepEqual(ok(await h.m.tenant.loadAll()), []);
  });

  it('every answer has a JSON body, {} for no content', async () => {
    const raw = await rawFetch(h.emulator, 'POST', '/v1/mgmt/project/update/name', { body: '{"name":"N"}' });
    assert.equal(raw.status, 200);
    assert.equal(raw.text, '{}');
    assert.match(raw.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(raw.headers.get('content-length'), '2');
  });

  it('calls outside the emulator scope answer 501 "not supported" as JSON, never a crash', async () => {
    const { m } = h;
    const calls: Array<[string, () => Promise<{ ok: boolean; code?: number | undefined; error?: unknown; data?: unknown }>]> = [
      ['user.create', () => m.user.create('a@b.c')],
      ['user.search', () => m.user.search({ limit: 1, page: 0 })],
      ['accessKey.create', () => m.accessKey.create('ci', 0)],
      ['accessKey.load', () => m.accessKey.load('K1')],
      ['fga.saveSchema', () => m.fga.saveSchema({ dsl: 'model AuthZ 1.0' })],
      ['fga.deleteAllRelations', () => m.fga.deleteAllRelations()],
      ['authz.loadSchema', () => m.authz.loadSchema()],
      ['ssoApplication.loadAll', () => m.ssoApplication.loadAll()],
      ['sso.getSettings (deprecated)', () => m.sso.getSettings('acme')],
      ['sso.configureSettings (deprecated)', () => m.sso.configureSettings('acme', 'u', 'c', 'e', 'r', [])],
      ['project.exportSnapshot', () => m.project.exportSnapshot()],
      ['project.clone', () => m.project.clone('copy')],
      ['flow.run', () => m.flow.run('mgmt-flow')],
      ['tenant.generateSSOConfigurationLink', () => m.tenant.generateSSOConfigurationLink('acme', 60)],
    ];
    for (const [name, call] of calls) {
      const result = await call();
      assert.equal(result.code, 501, name);
      fails(result as Parameters<typeof fails>[0], 501, 'E990501', 'not supported by the emulator');
    }
    const wrongVerb = await rawFetch(h.emulator, 'GET', '/v1/mgmt/tenant/create');
    assert.equal(wrongVerb.status, 501);
    assert.match((wrongVerb.json as { errorMessage: string }).errorMessage, /implements POST on this path/);
    const unknown = await rawFetch(h.emulator, 'POST', '/v9/nothing/here', { body: '{}' });
    assert.equal(unknown.status, 501);
    assert.equal((unknown.json as { errorCode: string }).errorCode, 'E990501');
  });

  it('works behind a base URL with a trailing slash', async () => {
    const client = DescopeClient({ projectId: h.emulator.projectId, managementKey: h.emulator.managementKey, baseUrl: `${h.emulator.url}/` });
    ok(await client.management.tenant.loadAll());
  });

  it('malformed HTTP still gets a JSON 400', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(h.emulator.port, h.emulator.host, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /content-type: application\/json/i);
    assert.match(reply, /"errorCode":"E011001"/);
  });
});

describe('emulator: seeded ids', () => {
  it('the same seed gives the same generated ids', async () => {
    const ids: string[] = [];
    for (let run = 0; run < 2; run += 1) {
      const emulator = await startEmulator({ seed: 1234 });
      try {
        ids.push(ok(await clientFor(emulator).management.tenant.create('Acme')).id);
      } finally {
        await emulator.close();
      }
    }
    assert.equal(ids[0], ids[1]);
    assert.match(ids[0] ?? '', /^T2[A-Za-z0-9]{26}$/);
  });
});
