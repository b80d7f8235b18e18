// Misbehaviour a client must survive: request budget (429 + Retry-After), injected 5xx, dropped
// connections, failures after the write landed, latency; and the request log that records it all.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseRate, type RequestLogEntry } from '../../src/emulator/index.ts';
import { fails, ok, rawFetch, startHarness, type Harness } from './helpers.ts';

describe('emulator: request budget', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ rate: { requests: 3, windowMs: 10_000, penaltyMs: 400 } });
  });
  after(() => h.emulator.close());

  it('N requests pass, then 429 + Retry-After (error.retryAfter in the SDK) until the penalty ends', async () => {
    const { m, emulator } = h;
    for (let i = 0; i < 3; i += 1) ok(await m.tenant.loadAll());
    const limited = await m.tenant.create('Acme');
    fails(limited, 429, 'E130429');
    assert.equal((limited.error as { retryAfter?: unknown }).retryAfter, 1, 'seconds, rounded up');
    const raw = await rawFetch(emulator, 'GET', '/v1/mgmt/tenant/all');
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('retry-after'), '1');
    assert.equal((raw.json as { errorCode: string }).errorCode, 'E130429');
    await sleep(450);
    ok(await m.tenant.loadAll());
    assert.deepEqual(ok(await m.tenant.loadAll()), [], 'the refused create never ran');
    assert.equal(emulator.log.countStatus(429), 2);
    assert.equal(emulator.log.recent().filter((entry) => entry.fault === 'rate-limited').length, 2);
  });

  it('the default penalty equals the window, and setFaults can change or remove the budget', async () => {
    const { m, emulator } = h;
    emulator.setFaults({ rate: { requests: 2, windowMs: 300 } });
    ok(await m.tenant.loadAll());
    ok(await m.tenant.loadAll());
    const limited = await m.tenant.loadAll();
    fails(limited, 429, 'E130429');
    assert.equal((limited.error as { retryAfter?: unknown }).retryAfter, 1);
    await sleep(320);
    ok(await m.tenant.loadAll());
    emulator.setFaults({ rate: null });
    for (let i = 0; i < 5; i += 1) ok(await m.tenant.loadAll());
    assert.equal(emulator.faults().rate, null);
  });
});

describe('emulator: injected faults', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());
  beforeEach(async () => {
    h.emulator.clearFailNext();
    h.emulator.setFaults({ faultRate: 0, dropRate: 0, latencyMs: 0, latencyJitterMs: 0, faultTiming: 'before' });
    await h.emulator.reset();
    h.emulator.log.reset();
  });

  it('failNext 500 answers a JSON error before the write: the state is unchanged', async () => {
    const { m, emulator } = h;
    emulator.failNext({ status: 500 });
    fails(await m.tenant.createWithId('acme', 'Acme'), 500, 'E990500', 'fault injected');
    assert.deepEqual(ok(await m.tenant.loadAll()), []);
    ok(await m.tenant.createWithId('acme', 'Acme'));
    assert.equal(emulator.pendingFailures(), 0);
    assert.deepEqual(emulator.log.byRoute()['POST /v1/mgmt/tenant/create'], { total: 2, byStatus: { '200': 1, '500': 1 } });
  });

  it('random faults: faultRate 1 with statuses [502] resolves {ok:false, code:502} at once', async () => {
    const { m, emulator } = h;
    emulator.setFaults({ faultRate: 1, faultStatuses: [502] });
    const started = Date.now();
    fails(await m.tenant.create('Acme'), 502, 'E990502');
    fails(await m.role.create('R'), 502, 'E990502');
    assert.ok(Date.now() - started < 1000, 'no SDK retry on 502');
    emulator.setFaults({ faultRate: 0 });
    assert.deepEqual(ok(await m.tenant.loadAll()), []);
    assert.equal(emulator.log.countStatus(502), 2);
  });

  it('a dropped connection makes the SDK reject with TypeError "fetch failed"; nothing was written', async () => {
    const { m, emulator } = h;
    emulator.failNext({ status: 'drop', path: '/v1/mgmt/tenant/create' });
    await assert.rejects(m.tenant.createWithId('acme', 'Acme'), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'fetch failed');
      return true;
    });
    assert.deepEqual(ok(await m.tenant.loadAll()), []);
    const dropped = emulator.log.recent().find((entry) => entry.status === 0);
    assert.deepEqual(
      dropped && { method: dropped.method, path: dropped.path, write: dropped.write, applied: dropped.applied, fault: dropped.fault },
      { method: 'POST', path: '/v1/mgmt/tenant/create', write: true, applied: false, fault: 'dropped' },
    );
  });

  it("'after' faults apply the write and then lose the answer: a retry sees a duplicate", async () => {
    const { m, emulator } = h;
    emulator.failNext({ status: 502, when: 'after', path: '/v1/mgmt/tenant/create' });
    fails(await m.tenant.createWithId('acme', 'Acme'), 502, 'E990502');
    assert.equal(ok(await m.tenant.load('acme')).name, 'Acme', 'the write landed');
    fails(await m.tenant.createWithId('acme', 'Acme'), 409, 'E073307');

    emulator.failNext({ status: 'drop', when: 'after', path: '/v1/mgmt/tenant/delete' });
    await assert.rejects(m.tenant.delete('acme'), TypeError);
    fails(await m.tenant.load('acme'), 404, 'E111104');
    fails(await m.tenant.delete('acme'), 404, 'E111104', 'does not exist'); // a retried delete finds nothing
    const lost = emulator.log.recent().filter((entry) => entry.applied && entry.status !== 200);
    assert.deepEqual(lost.map((entry) => [entry.path, entry.status]), [
      ['/v1/mgmt/tenant/create', 502],
      ['/v1/mgmt/tenant/delete', 0],
    ]);
  });

  it('failNext rules match by path and method, count down, and can inject a 429', async () => {
    const { m, emulator } = h;
    emulator.failNext({ status: 500, path: /\/role\//, count: 2 });
    emulator.failNext({ status: 429, method: 'GET', retryAfterSeconds: 7 });
    assert.equal(emulator.pendingFailures(), 3);
    ok(await m.tenant.createWithId('acme', 'Acme'));
    const limited = await m.tenant.loadAll();
    fails(limited, 429, 'E130429');
    assert.equal((limited.error as { retryAfter?: unknown }).retryAfter, 7);
    fails(await m.role.create('A'), 500, 'E990500');
    fails(await m.role.create('A'), 500, 'E990500');
    ok(await m.role.create('A'));
    assert.equal(emulator.pendingFailures(), 0);
  });

  it('a held request goes on after the hold even when its client gave up: the write lands late', async () => {
    const { m, emulator } = h;
    ok(await m.tenant.createWithId('acme', 'Acme'));
    emulator.failNext({ holdMs: 300, method: 'POST', path: '/v1/mgmt/tenant/delete' });
    // The client gives up after 50 ms, as one with a short request timeout would.
    const started = Date.now();
    await assert.rejects(
      fetch(`${emulator.url}/v1/mgmt/tenant/delete`, {
        method: 'POST',
        headers: { authorization: `Bearer ${emulator.projectId}:${emulator.managementKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'acme' }),
        signal: AbortSignal.timeout(50),
      }),
      (error: unknown) => (error as Error).name === 'TimeoutError',
    );
    assert.equal(ok(await m.tenant.load('acme')).id, 'acme', 'not yet deleted while held');
    let held: RequestLogEntry | undefined;
    while (!held && Date.now() - started < 2000) {
      await sleep(20);
      held = emulator.log.recent().find((entry) => entry.fault === 'held');
    }
    assert.ok(held, 'the held request was answered');
    assert.deepEqual([held.path, held.status, held.applied], ['/v1/mgmt/tenant/delete', 200, true]);
    assert.ok(held.durationMs >= 290, `held ${held.durationMs} ms`);
    fails(await m.tenant.load('acme'), 404, 'E111104');

    // With a status, the failure comes after the hold; without a client timeout the answer arrives late.
    emulator.failNext({ holdMs: 100, status: 500 });
    const before = Date.now();
    fails(await m.tenant.loadAll(), 500, 'E990500');
    assert.ok(Date.now() - before >= 95);
  });

  it('latency is added to every answer', async () => {
    const { m, emulator } = h;
    emulator.setFaults({ latencyMs: 150 });
    let started = Date.now();
    ok(await m.tenant.loadAll());
    assert.ok(Date.now() - started >= 140, `took ${Date.now() - started}ms`);
    emulator.setFaults({ latencyMs: 0, latencyJitterMs: 60 });
    started = Date.now();
    for (let i = 0; i < 3; i += 1) ok(await m.tenant.loadAll());
    assert.ok(Date.now() - started < 400);
    const [last] = emulator.log.recent(1);
    assert.ok((last?.durationMs ?? -1) >= 0);
  });

  it('random drops with a seed: every drop is a rejected call and a status-0 log entry', async () => {
    const { m, emulator } = h;
    emulator.setFaults({ dropRate: 0.5 });
    let rejected = 0;
    for (let i = 0; i < 12; i += 1) {
      try {
        ok(await m.tenant.loadAll());
      } catch (error) {
        assert.ok(error instanceof TypeError);
        rejected += 1;
      }
    }
    emulator.setFaults({ dropRate: 0 });
    assert.equal(emulator.log.countStatus(0), rejected);
    assert.equal(emulator.log.countStatus(200), 12 - rejected);
    assert.ok(rejected > 0 && rejected < 12, `rejected ${rejected} of 12`);
  });

  it('setFaults and failNext refuse nonsense', () => {
    const { emulator } = h;
    assert.throws(() => emulator.setFaults({ faultRate: 2 }), RangeError);
    assert.throws(() => emulator.setFaults({ faultStatuses: [200], faultRate: 0.1 }), RangeError);
    assert.throws(() => emulator.setFaults({ rate: { requests: 0, windowMs: 1000 } }), RangeError);
    assert.throws(() => emulator.failNext({ status: 302 }), RangeError);
    assert.throws(() => emulator.failNext({ status: 500, count: 0 }), RangeError);
    assert.throws(() => emulator.failNext({}), RangeError);
    assert.throws(() => emulator.failNext({ holdMs: -1 }), RangeError);
  });
});

describe('emulator: request log and events', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ recentRequests: 3 });
  });
  after(() => h.emulator.close());

  it('counts by route and status, keeps a bounded list of recent requests, and resets', async () => {
    const { m, emulator } = h;
    const seen: RequestLogEntry[] = [];
    const writes: string[] = [];
    const stopRequests = emulator.on('request', (entry) => seen.push(entry));
    const stopWrites = emulator.on('write', (event) => writes.push(...event.records.map((record) => record.action)));
    emulator.log.reset();
    ok(await m.tenant.createWithId('acme', 'Acme'));
    fails(await m.tenant.createWithId('acme', 'Acme'), 409, 'E073307');
    ok(await m.tenant.loadAll());
    ok(await m.tenant.load('acme'));
    stopRequests();
    stopWrites();
    ok(await m.tenant.loadAll());

    assert.equal(emulator.log.total, 5);
    assert.equal(emulator.log.appliedWrites, 1);
    assert.equal(emulator.log.count('POST', '/v1/mgmt/tenant/create'), 2);
    assert.equal(emulator.log.count('POST', '/v1/mgmt/tenant/create', 409), 1);
    assert.equal(emulator.log.count('GET', '/v1/mgmt/tenant/all'), 2);
    assert.deepEqual(emulator.log.byStatus(), { '200': 4, '409': 1 });
    const recent = emulator.log.recent();
    assert.equal(recent.length, 3, 'bounded by recentRequests');
    assert.deepEqual(
      recent.map((entry) => [entry.method, entry.path, entry.status, entry.write]),
      [
        ['GET', '/v1/mgmt/tenant/all', 200, false],
        ['GET', '/v1/mgmt/tenant', 200, false],
        ['GET', '/v1/mgmt/tenant/all', 200, false],
      ],
    );
    assert.ok(recent.every((entry) => typeof entry.time === 'number' && entry.time > 0));
    assert.equal(seen.length, 4, 'listener removed before the last call');
    assert.deepEqual(seen.slice(0, 2).map((entry) => [entry.status, entry.write, entry.applied]), [
      [200, true, true],
      [409, true, false],
    ]);
    assert.deepEqual(writes, ['TenantCreated']);
    emulator.log.reset();
    assert.equal(emulator.log.total, 0);
    assert.deepEqual(emulator.log.recent(), []);
    assert.deepEqual(emulator.log.byRoute(), {});
  });
});

describe('emulator: parseRate (for a CLI --rate N/WINDOW)', () => {
  const valid: Array<[string, { requests: number; windowMs: number }]> = [
    ['50/1s', { requests: 50, windowMs: 1000 }],
    ['100/60s', { requests: 100, windowMs: 60_000 }],
    ['100/60000ms', { requests: 100, windowMs: 60_000 }],
    ['1000/10s', { requests: 1000, windowMs: 10_000 }],
    ['20/1m', { requests: 20, windowMs: 60_000 }],
    ['5/0.5s', { requests: 5, windowMs: 500 }],
    [' 7 / 2h ', { requests: 7, windowMs: 7_200_000 }],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => assert.deepEqual(parseRate(text), expected));
  }

  for (const text of ['', '100', '100/60', '0/1s', '100/0s', 'x/1s', '100/1d', '-1/1s', '100/1s/2s']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.throws(() => parseRate(text), RangeError));
  }
});
