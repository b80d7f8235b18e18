// Read-only mode (issue 11, item 12): the API of a read-only command refuses, before sending,
// every request that is not a read, even when a hostile base URL turns a read into a write; and
// every read descope-run makes (readLiveState of everything, a single tenant, the audit search)
// still passes. The real SDK against the emulator over loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDescopeRunError } from '../../src/errors.ts';
import {
  createPermissions,
  createRoles,
  createTenant,
  importFlow,
  normalizeRole,
  normalizeSso,
  normalizeTenant,
  readFlowList,
  readLiveState,
  readTenant,
  searchAudit,
  writePasswordPolicy,
  writeTenantSettings,
  writeTenantSso,
  writeTheme,
} from '../../src/runtime/index.ts';
import { READ_ENDPOINTS, readOnlyFetch, ReadOnlyViolation } from '../../src/runtime/read-only.ts';
import { createDescopeApi, type DescopeApi } from '../../src/runtime/api.ts';
import { FAST, LICENSE_PATH, startRuntime, type RuntimeHarness } from './helpers.ts';

const writesOf = (h: RuntimeHarness) => h.emulator.log.recent().filter((entry) => entry.write).length;

describe('runtime read-only mode', () => {
  let h: RuntimeHarness;
  before(async () => {
    h = await startRuntime();
    const { api } = h;
    await createPermissions(api, [{ name: 'read', description: '' }]);
    for (const id of ['a', 'b']) await createTenant(api, normalizeTenant({ id, name: id.toUpperCase() }));
    await createRoles(api, [normalizeRole({ name: 'Viewer', permissions: ['read'] }), normalizeRole({ name: 'Member', tenant: 'b' })]);
    await writeTenantSettings(api, 'a', { sessionTokenExpiration: { value: 5, unit: 'minutes' } });
    await writeTenantSso(api, 'a', normalizeSso({ type: 'oidc', name: 'Okta', clientId: 'c', issuer: 'https://issuer.example', roleMappings: [{ role: 'Viewer', groups: ['g'] }] }), { clientSecret: 's' });
    await writeTenantSso(api, 'b', normalizeSso({ type: 'saml', idpUrl: 'https://idp', entityId: 'e', idpCert: 'C', roleMappings: [{ role: 'Member', groups: ['g'] }] }));
    await importFlow(api, 'f1', { flow: { id: 'f1', name: 'F1', dsl: { startTask: 's', tasks: { s: { id: 's' } } } }, screens: [{ id: 'welcome' }] });
    await writeTheme(api, { cssTemplate: { dark: {} } });
    await writePasswordPolicy(api, { enabled: true, minLength: 10, lowercase: true, uppercase: false, number: true, nonAlphaNumeric: false, expiration: false, expirationWeeks: 0, reuse: false, reuseAmount: 0, lock: false, lockAttempts: 0 });
  });
  const opened: DescopeApi[] = [];
  after(async () => {
    for (const api of opened) api.close();
    await h.close();
  });
  /** A read-only API on `baseUrl`, without waiting for a license handshake (that may never arrive). */
  function readOnlyApi(baseUrl: string): DescopeApi {
    const api = createDescopeApi({ projectId: h.emulator.projectId, managementKey: h.emulator.managementKey, baseUrl, ...FAST, readOnly: true });
    opened.push(api);
    return api;
  }

  it('every read descope-run makes passes, and only READ_ENDPOINTS are called', async () => {
    const { api } = await h.newApi({ readOnly: true });
    assert.equal(api.readOnly, true);
    h.emulator.log.reset();
    const live = await readLiveState(api, { all: true });
    assert.deepEqual(Object.keys(live.state.tenants ?? {}).sort(), ['a', 'b']);
    assert.equal(live.state.tenantSso?.['a']?.type, 'oidc');
    assert.equal(live.state.tenantSso?.['b']?.type, 'saml');
    assert.deepEqual(live.state.tenantSettings?.['a']?.sessionTokenExpiration, { value: 5, unit: 'minutes' });
    assert.deepEqual(await readTenant(api, 'a'), live.state.tenants?.['a']);
    assert.ok((await searchAudit(api, { now: Date.now() })).length > 0);
    const called = Object.keys(h.emulator.log.byRoute());
    assert.ok(called.length >= 10, called.join(', '));
    for (const route of called) assert.ok(READ_ENDPOINTS.has(route), `${route} is called but not in READ_ENDPOINTS`);
    assert.equal(writesOf(h), 0);
  });

  it('a write call is refused before it is sent, as a bug naming the method and path', async () => {
    const { api } = await h.newApi({ readOnly: true });
    h.emulator.log.reset();
    const sentBefore = api.stats().requests;
    const refused = await api.call('tenants/a', (m) => m.tenant.delete('a')).then(
      () => assert.fail('the delete was sent'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof ReadOnlyViolation, String(refused));
    assert.equal(isDescopeRunError(refused), false, 'a refused request is a bug, not an expected error');
    assert.match((refused as Error).message, /^read-only: refused to send POST \/v1\/mgmt\/tenant\/delete: it is not a read endpoint\. .*nothing was sent$/);
    // GET and POST share paths: the verb counts (POST /v1/mgmt/tenant/settings writes settings).
    await assert.rejects(
      api.call('tenants/a/settings', (m) => m.tenant.configureSettings('a', { selfProvisioningDomains: [] })),
      (error: unknown) => error instanceof ReadOnlyViolation && /POST \/v1\/mgmt\/tenant\/settings/.test(error.message),
    );
    await assert.rejects(
      api.call('tenants/a/sso', (m) => m.sso.deleteSettings('a')),
      (error: unknown) => error instanceof ReadOnlyViolation && /DELETE \/v2\/mgmt\/sso\/settings|DELETE \/v1\/mgmt\/sso\/settings/.test(error.message),
    );
    assert.equal(api.stats().requests, sentBefore, 'nothing went through the scheduler');
    assert.equal(h.emulator.log.total, 0, 'nothing reached the emulator');
    assert.ok(h.emulator.snapshot().tenants.some((t) => t.id === 'a'));
  });

  it('a base URL that would turn a read into a write is refused, and the read-only guard would refuse its requests too', async () => {
    // The SDK appends `/v1/mgmt/flow/list` after the `?` (or drops it after the `#`), so the read
    // would go to POST /v1/mgmt/flow/delete. The API refuses such a base URL outright...
    for (const suffix of ['/v1/mgmt/flow/delete?x=', '/v1/mgmt/flow/delete#']) {
      assert.throws(() => readOnlyApi(`${h.emulator.url}${suffix}`), /the base URL ".*" cannot be used: it has a (query string|fragment)/);
    }
    // ...and, had one slipped through, the guard refuses what it builds before sending it.
    const sent: string[] = [];
    const guarded = readOnlyFetch((async (input: string | URL | Request) => {
      sent.push(String(input));
      return new Response('{}');
    }) as typeof fetch, h.emulator.url);
    for (const url of [`${h.emulator.url}/v1/mgmt/flow/delete?x=/v1/mgmt/flow/list`, `${h.emulator.url}/v1/mgmt/flow/delete#/v1/mgmt/flow/list`]) {
      await assert.rejects(guarded(url, { method: 'POST', body: '{}' }), (error: unknown) => error instanceof ReadOnlyViolation && /POST \/v1\/mgmt\/flow\/delete/.test(error.message));
    }
    await assert.rejects(guarded('http://elsewhere.invalid/v1/mgmt/tenant/all'), /is not on the base URL/);
    await guarded(`${h.emulator.url}/v1/mgmt/flow/list`, { method: 'POST', body: '{}' });
    assert.deepEqual(sent, [`${h.emulator.url}/v1/mgmt/flow/list`]);
  });

  it('a base URL with a path prefix reads through it (the prefix is not part of the endpoint)', async () => {
    h.emulator.log.reset();
    const api = readOnlyApi(`${h.emulator.url}/descope/`);
    // The emulator serves no /descope prefix: the guard lets the read through, and the server answers it.
    await assert.rejects(readFlowList(api), (error: unknown) => isDescopeRunError(error) && !(error instanceof ReadOnlyViolation));
    assert.equal(h.emulator.log.count('POST', '/descope/v1/mgmt/flow/list'), 1);
    assert.equal(h.emulator.log.count('GET', `/descope${LICENSE_PATH}`), 1);
  });
});
