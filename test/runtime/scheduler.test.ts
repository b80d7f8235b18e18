// The scheduler against the emulator's misbehaviour: pacing to the budget, the 429 pause, retries
// of 5xx and dropped connections (idempotently: a create or delete whose outcome is unknown is
// checked by reading before it is sent again, and watched for the settle time when no answer came),
// and stopping after repeated failures.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../../src/errors.ts';
import {
  createPermissions,
  createRoles,
  createTenant,
  deleteTenant,
  normalizeRole,
  normalizeTenant,
  readRoles,
  readTenants,
  updatePermissions,
} from '../../src/runtime/index.ts';
import { LICENSE_PATH, managementRequests, maxInWindow, startRuntime, type RuntimeHarness } from './helpers.ts';

const CREATE = '/v1/mgmt/permission/create';

describe('runtime scheduler: pacing', () => {
  let h: RuntimeHarness;
  before(async () => {
    // The emulator enforces exactly the budget the API paces to: 10 per 500 ms, 1 s penalty.
    h = await startRuntime({
      emulator: { rate: { requests: 10, windowMs: 500, penaltyMs: 1000 } },
      api: { budget: { requests: 10, windowSeconds: 0.5 } },
    });
  });
  after(() => h.close());

  it('40 writes issued at once: never more than the budget in any sliding window, no 429, ≥ 90 % of the budget', async () => {
    const { api, emulator } = h;
    emulator.log.reset();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => api.call(`permissions/p${i}`, (m) => m.permission.create(`p${i}`, ''))),
    );
    const elapsed = Date.now() - started;
    const requests = managementRequests(emulator);
    assert.equal(requests.length, 40);
    assert.equal(emulator.log.countStatus(429), 0, 'no 429');
    assert.ok(maxInWindow(requests.map((entry) => entry.time), 500) <= 10, 'never more than 10 in 500 ms');
    // 40 starts on an even grid span 39 gaps; the ideal is 39 * 50 ms.
    const share = (39 * 50) / elapsed;
    assert.ok(share >= 0.9, `achieved ${(share * 100).toFixed(1)} % of the budget`);
    assert.equal(emulator.snapshot().permissions.length, 40);
    assert.equal(h.waits.length, 0, 'no waits to report');
  });
});

describe('runtime scheduler: 429', () => {
  let h: RuntimeHarness;
  before(async () => {
    // Paced to 20 per second, so one request is in flight at a time (latency is ~1 ms).
    h = await startRuntime({ api: { budget: { requests: 20, windowSeconds: 1 } } });
  });
  after(() => h.close());
  beforeEach(async () => {
    h.emulator.clearFailNext();
    h.emulator.setFaults({ rate: null });
    await h.emulator.reset();
    h.emulator.log.reset();
    h.waits.length = 0;
  });

  it('pauses the whole queue for Retry-After, sends nothing meanwhile, then every write lands once', async () => {
    const { api, emulator, waits } = h;
    emulator.failNext({ status: 429, count: 2, retryAfterSeconds: 1, path: CREATE });
    await Promise.all(Array.from({ length: 6 }, (_, i) => api.call(`permissions/p${i}`, (m) => m.permission.create(`p${i}`, ''))));

    const requests = managementRequests(emulator).sort((a, b) => a.time - b.time);
    const limited = requests.filter((entry) => entry.status === 429);
    assert.equal(limited.length, 2);
    for (const entry of limited) {
      const next = requests[requests.indexOf(entry) + 1];
      assert.ok(next, 'a request followed');
      assert.ok(next.time - entry.time >= 1000, `nothing sent for Retry-After (next after ${next.time - entry.time} ms)`);
    }
    assert.equal(emulator.log.count('POST', CREATE, 200), 6, 'every write landed');
    assert.deepEqual(emulator.snapshot().permissions.map((p) => p.name).sort(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'], 'exactly once');
    const rateWaits = waits.filter((wait) => wait.reason === 'rate-limit');
    assert.equal(rateWaits.length, 2);
    assert.ok(rateWaits.every((wait) => wait.ms >= 1000 && wait.status === 429 && /^permissions\/p\d$/.test(wait.address)));
    assert.match(rateWaits[0]?.cause ?? '', /^429 E130429/);
  });

  it('a 429 storm from the real budget (paced above it) is waited out: every write lands exactly once', async () => {
    const { emulator } = h;
    // The API believes it may send 40/s; the emulator allows 8 per 400 ms, then 600 ms of 429s.
    emulator.setFaults({ rate: { requests: 8, windowMs: 400, penaltyMs: 600 } });
    const { api, waits } = await h.newApi({ budget: { requests: 40, windowSeconds: 1 } });
    emulator.log.reset();
    await Promise.all(Array.from({ length: 24 }, (_, i) => api.call(`permissions/s${i}`, (m) => m.permission.create(`s${i}`, ''))));
    assert.ok(emulator.log.countStatus(429) > 0, 'the storm happened');
    assert.equal(emulator.log.count('POST', CREATE, 200), 24);
    assert.equal(emulator.log.appliedWrites, 24, 'no write applied twice');
    assert.equal(emulator.snapshot().permissions.length, 24);
    assert.ok(waits.some((wait) => wait.reason === 'rate-limit'));
    const stats = api.stats();
    assert.equal(stats.rateLimited, emulator.log.countStatus(429));
    assert.ok(stats.pausedMs >= 1000);
  });
});

describe('runtime scheduler: retries', () => {
  let h: RuntimeHarness;
  before(async () => {
    h = await startRuntime();
  });
  after(() => h.close());
  beforeEach(async () => {
    h.emulator.clearFailNext();
    h.emulator.setFaults({ faultRate: 0, dropRate: 0, faultTiming: 'before' });
    await h.emulator.reset();
    h.emulator.log.reset();
    h.waits.length = 0;
  });

  it('500 and 502 are retried with backoff (and reported); the call succeeds', async () => {
    const { api, emulator, waits } = h;
    emulator.failNext({ status: 502, count: 1, path: CREATE });
    emulator.failNext({ status: 500, count: 1, path: CREATE });
    await api.call('permissions/p', (m) => m.permission.create('p', ''));
    assert.deepEqual(emulator.log.byRoute()[`POST ${CREATE}`], { total: 3, byStatus: { '200': 1, '500': 1, '502': 1 } });
    assert.deepEqual(
      waits.map((wait) => [wait.reason, wait.attempt, wait.status, wait.address]),
      [
        ['retry', 1, 502, 'permissions/p'],
        ['retry', 2, 500, 'permissions/p'],
      ],
    );
    assert.match(waits[0]?.cause ?? '', /^502 E990502/);
  });

  it("a 503 is retried by the scheduler, not by the SDK's own 10 s loop", async () => {
    const { api, emulator } = h;
    emulator.failNext({ status: 503, count: 2, path: CREATE });
    const started = Date.now();
    await api.call('permissions/p', (m) => m.permission.create('p', ''));
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.equal(emulator.log.count('POST', CREATE), 3);
  });

  it('a dropped connection before the write is retried; the write lands once', async () => {
    const { api, emulator, waits } = h;
    emulator.failNext({ status: 'drop', count: 2, path: CREATE });
    await api.call('permissions/p', (m) => m.permission.create('p', ''));
    assert.equal(emulator.snapshot().permissions.length, 1);
    assert.equal(emulator.log.count('POST', CREATE, 0), 2);
    assert.match(waits[0]?.cause ?? '', /^connection failed/);
    assert.equal(waits[0]?.status, undefined);
  });

  it('a create whose answer was lost after it landed: a read finds it there as sent, so it is not sent again', async () => {
    const { api, emulator } = h;
    emulator.failNext({ status: 'drop', when: 'after', path: '/v1/mgmt/tenant/create' });
    const acme = normalizeTenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'] });
    await createTenant(api, acme);
    assert.deepEqual(emulator.log.byRoute()['POST /v1/mgmt/tenant/create']?.byStatus, { '0': 1 });
    assert.equal(emulator.log.count('GET', '/v1/mgmt/tenant'), 1, 'verified by reading it');
    assert.deepEqual((await readTenants(api)).tenants['acme'], acme);
  });

  it('the same for a role batch (502 after apply: its ids come from the read) and a delete (the read finds it gone)', async () => {
    const { api, emulator } = h;
    emulator.failNext({ status: 502, when: 'after', path: '/v1/mgmt/role/create/batch' });
    const roles = [normalizeRole({ name: 'A' }), normalizeRole({ name: 'B', description: 'b' })];
    const ids = await createRoles(api, roles);
    const live = await readRoles(api, []);
    assert.deepEqual(ids, live.ids);
    assert.deepEqual(Object.keys(live.roles).sort(), ['roles/A', 'roles/B']);
    assert.equal(emulator.log.count('POST', '/v1/mgmt/role/create/batch'), 1);

    await createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' }));
    emulator.failNext({ status: 'drop', when: 'after', path: '/v1/mgmt/tenant/delete' });
    await deleteTenant(api, 'acme');
    assert.deepEqual(emulator.log.byRoute()['POST /v1/mgmt/tenant/delete']?.byStatus, { '0': 1 });
  });

  it('a create that did not land (503 before the handler) is read once, then sent again at once', async () => {
    const { api, emulator, waits } = h;
    emulator.failNext({ status: 503, path: '/v1/mgmt/tenant/create' });
    const started = Date.now();
    await createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' }));
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms: an answered 5xx is not watched for the settle time`);
    assert.deepEqual(emulator.log.byRoute()['POST /v1/mgmt/tenant/create']?.byStatus, { '200': 1, '503': 1 });
    assert.equal(emulator.log.count('GET', '/v1/mgmt/tenant'), 1);
    assert.match(waits[0]?.cause ?? '', /^503 E990503 .*; checking whether it landed before sending it again$/);
  });

  it('a duplicate that is not our own write still fails', async () => {
    const { api, emulator } = h;
    await createTenant(api, normalizeTenant({ id: 'acme', name: 'Someone else' }));
    emulator.failNext({ status: 502, path: '/v1/mgmt/tenant/create' });
    await assert.rejects(createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' })), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 409);
      assert.equal(error.errorCode, 'E073307');
      assert.match(error.message, /^tenants\/acme: Descope answered 409 E073307/);
      return true;
    });
  });

  it('a permission batch and a rename by name are recovered the same way', async () => {
    const { api, emulator } = h;
    emulator.failNext({ status: 'drop', when: 'after', path: '/v1/mgmt/permission/create/batch' });
    await createPermissions(api, [{ name: 'read', description: 'r' }]);
    assert.equal(emulator.snapshot().permissions.length, 1);

    emulator.failNext({ status: 502, when: 'after', path: '/v1/mgmt/permission/update' });
    await updatePermissions(api, [{ name: 'read', permission: { name: 'view', description: 'v' } }]);
    assert.deepEqual(emulator.log.byRoute()['POST /v1/mgmt/permission/update']?.byStatus, { '502': 1 });
    assert.deepEqual(emulator.snapshot().permissions.map((p) => p.name), ['view']);
  });
});

describe('runtime scheduler: writes that land late', () => {
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
  const DELETE = '/v1/mgmt/tenant/delete';
  const CREATE_TENANT = '/v1/mgmt/tenant/create';
  /** Waits for the held request's answer (its write has landed or been refused by then). */
  const heldDone = async (path: string): Promise<void> => {
    for (let i = 0; i < 400 && !h.emulator.log.recent().some((entry) => entry.fault === 'held' && entry.path === path); i += 1) await sleep(10);
  };

  it('a delete with no answer is watched until it lands, never sent twice; the call reports nothing unsettled', async () => {
    const { api, waits } = await h.newApi({ requestTimeoutMs: 100, settleMs: 2000 });
    await createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' }));
    h.emulator.failNext({ holdMs: 500, path: DELETE });
    let unsettled = false;
    await deleteTenant(api, 'acme', { onUnsettled: () => (unsettled = true) });
    await heldDone(DELETE);
    assert.deepEqual(h.emulator.log.byRoute()[`POST ${DELETE}`]?.byStatus, { '200': 1 }, 'only the late one');
    assert.equal(unsettled, false);
    assert.match(waits.at(-1)?.cause ?? '', /^no answer within 100 ms; it may still land: checking for up to 2 s before sending it again$/);
  });

  it('a create with no answer that lands within the settle time: not sent again, so no "already exists"', async () => {
    const { api } = await h.newApi({ requestTimeoutMs: 100, settleMs: 2000 });
    h.emulator.failNext({ holdMs: 400, path: CREATE_TENANT });
    await createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' }));
    await heldDone(CREATE_TENANT);
    assert.deepEqual(h.emulator.log.byRoute()[`POST ${CREATE_TENANT}`]?.byStatus, { '200': 1 });
  });

  it('still out after the settle time: sent again, and the call says an attempt may still land', async () => {
    const { api } = await h.newApi({ requestTimeoutMs: 100, settleMs: 100 });
    await createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' }));
    h.emulator.failNext({ holdMs: 600, path: DELETE });
    let unsettled = 0;
    await deleteTenant(api, 'acme', { onUnsettled: () => (unsettled += 1) });
    assert.equal(unsettled, 1);
    await heldDone(DELETE);
    // The resend deleted it; the late original then found nothing.
    assert.deepEqual(h.emulator.log.byRoute()[`POST ${DELETE}`]?.byStatus, { '200': 1, '404': 1 });
  });

  it('a landed read that keeps working does not hide an outage: the scheduler still stops after failures in a row', async () => {
    const { api } = await h.newApi({ maxAttempts: 10, maxConsecutiveFailures: 4 });
    h.emulator.failNext({ status: 503, count: 20, path: CREATE_TENANT });
    await assert.rejects(createTenant(api, normalizeTenant({ id: 'acme', name: 'Acme' })), /failed 4 times in a row/);
    h.emulator.clearFailNext();
    assert.equal(h.emulator.log.count('POST', CREATE_TENANT), 4);
    assert.equal(h.emulator.log.count('GET', '/v1/mgmt/tenant', 404), 3, 'read between the attempts');
  });
});

describe('runtime scheduler: giving up', () => {
  let h: RuntimeHarness;
  before(async () => {
    h = await startRuntime();
  });
  after(() => h.close());

  it('a call gives up after maxAttempts; after N failures in a row the scheduler stops for good', async () => {
    const { emulator } = h;
    const { api } = await h.newApi({ maxAttempts: 3, maxConsecutiveFailures: 5 });
    emulator.setFaults({ faultRate: 1, faultStatuses: [502] });
    emulator.log.reset();

    await assert.rejects(api.call('permissions/a', (m) => m.permission.create('a', '')), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.match(error.message, /^project P2emulator0{18}: Descope failed 3 times for permissions\/a \(last: 502 E990502/);
      assert.equal(error.status, 502);
      return true;
    });
    const stop = /^project P2emulator0{18}: Descope failed 5 times in a row \(last: 502 E990502 .*, for permissions\/b\); stopped, nothing more was sent; retry later$/;
    await assert.rejects(api.call('permissions/b', (m) => m.permission.create('b', '')), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.match(error.message, stop);
      assert.equal(error.code, 'api');
      assert.ok(error.hint);
      return true;
    });
    const sent = emulator.log.total;
    assert.equal(sent, 5);
    emulator.setFaults({ faultRate: 0 });
    await assert.rejects(api.call('permissions/c', (m) => m.permission.create('c', '')), (error: unknown) => {
      assert.match((error as Error).message, stop, 'the same error as the stop');
      return true;
    });
    assert.equal(emulator.log.total, sent, 'nothing sent once stopped');
  });

  it('the stop also fails calls that were queued behind it, unsent', async () => {
    const { emulator } = h;
    emulator.setFaults({ faultRate: 1, faultStatuses: [500] });
    const { api } = await h.newApi({ maxAttempts: 10, maxConsecutiveFailures: 4, budget: { requests: 50, windowSeconds: 1 } });
    emulator.log.reset();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => api.call(`permissions/q${i}`, (m) => m.permission.create(`q${i}`, ''))),
    );
    emulator.setFaults({ faultRate: 0 });
    assert.ok(results.every((result) => result.status === 'rejected'));
    const messages = new Set(results.map((result) => String((result as PromiseRejectedResult).reason.message)));
    assert.equal(messages.size, 1, `one clear error for every call: ${[...messages].join(" | ")}`);
    assert.match([...messages][0] ?? '', /failed 4 times in a row/);
    assert.ok(emulator.log.total <= 4 + 4, `stopped promptly (${emulator.log.total} requests)`);
  });

  it('an error answer becomes an ApiError with address, status and code; no retry', async () => {
    const { api, emulator } = h;
    emulator.setFaults({ faultRate: 0 });
    emulator.log.reset();
    await assert.rejects(api.call('roles/ghost', (m) => m.role.delete('ghost')), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.address, 'roles/ghost');
      assert.equal(error.status, 404);
      assert.equal(error.errorCode, 'E111403');
      assert.match(error.message, /^roles\/ghost: Descope answered 404 E111403: Role not found: role "ghost" does not exist$/);
      return true;
    });
    assert.equal(emulator.log.count('POST', '/v1/mgmt/role/delete'), 1);
    assert.equal(emulator.log.count('GET', LICENSE_PATH), 0);
  });
});
