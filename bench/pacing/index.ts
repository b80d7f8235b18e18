// Pacing benchmark: 600 writes against the emulator with a budget of 50 requests per second and a
// 1 s penalty once it is exceeded, done four ways on fresh state each time:
//   - descope-run's scheduler, even pacing (the default): one start every (W + safety) / N;
//   - descope-run's scheduler, sliding-window pacing (up to N starts per W + safety, bursts allowed);
//   - a plain sequential loop over the SDK (what a script does without descope-run);
//   - 10 calls at a time with no pacing (Terraform's default parallelism).
// The last two do not retry: a 429 is a failed write. The emulator adds 5 ms (+0..3 ms) of latency
// per request: real Descope answers in ~150 ms against a 600 ms slot (100 per 60 s), the same
// ratio to the slot as 5 ms to the 20 ms slot here.

import DescopeClient from '@descope/node-sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.ts';
import { createDescopeApi } from '../../src/runtime/api.ts';

const WRITES = 600;
const BUDGET = { requests: 50, windowSeconds: 1 };
const RATE = { requests: 50, windowMs: 1000, penaltyMs: 1000 };
const LATENCY = { latencyMs: 5, latencyJitterMs: 3 };
const PARALLEL = 10;
const LICENSE = '/v1/mgmt/license';

interface Row {
  approach: string;
  landed: number;
  failed: number;
  rateLimited: number;
  requests: number;
  seconds: number;
}

type Write = (name: string) => Promise<boolean>;

function names(): string[] {
  return Array.from({ length: WRITES }, (_, i) => `bench-permission-${String(i).padStart(3, '0')}`);
}

async function licenseSettled(emulator: RunningEmulator, before: number): Promise<void> {
  for (let i = 0; i < 400 && emulator.log.count('GET', LICENSE) <= before; i += 1) await sleep(5);
}

/** Fresh state, a fresh budget, an empty log; then the work; then what the emulator saw. */
async function measure(emulator: RunningEmulator, approach: string, work: () => Promise<number>): Promise<Row> {
  await emulator.reset();
  emulator.setFaults({ rate: RATE });
  emulator.log.reset();
  const started = performance.now();
  const failed = await work();
  const seconds = (performance.now() - started) / 1000;
  const landed = emulator.snapshot().permissions.length;
  return {
    approach,
    landed,
    failed,
    rateLimited: emulator.log.countStatus(429),
    requests: emulator.log.total - emulator.log.count('GET', LICENSE),
    seconds,
  };
}

async function sdkClient(emulator: RunningEmulator): Promise<ReturnType<typeof DescopeClient>> {
  const before = emulator.log.count('GET', LICENSE);
  const client = DescopeClient({ projectId: emulator.projectId, managementKey: emulator.managementKey, baseUrl: emulator.url });
  await licenseSettled(emulator, before);
  return client;
}

async function viaScheduler(emulator: RunningEmulator, pacing: 'even' | 'window'): Promise<Row> {
  const before = emulator.log.count('GET', LICENSE);
  const api = createDescopeApi({
    projectId: emulator.projectId,
    managementKey: emulator.managementKey,
    baseUrl: emulator.url,
    budget: BUDGET,
    pacing,
  });
  await licenseSettled(emulator, before);
  try {
    return await measure(emulator, `descope-run scheduler, ${pacing === 'even' ? 'even pacing (default)' : 'sliding window'}`, async () => {
      const results = await Promise.allSettled(
        names().map((name) => api.call(`permissions/${name}`, (m) => m.permission.create(name, ''))),
      );
      return results.filter((result) => result.status === 'rejected').length;
    });
  } finally {
    api.close();
  }
}

async function sequential(emulator: RunningEmulator): Promise<Row> {
  const { management } = await sdkClient(emulator);
  const write: Write = async (name) => (await management.permission.create(name, '')).ok;
  return measure(emulator, 'plain SDK, sequential loop', async () => {
    let failed = 0;
    for (const name of names()) if (!(await write(name))) failed += 1;
    return failed;
  });
}

async function parallel(emulator: RunningEmulator): Promise<Row> {
  const { management } = await sdkClient(emulator);
  const write: Write = async (name) => (await management.permission.create(name, '')).ok;
  return measure(emulator, `plain SDK, ${PARALLEL} at a time`, async () => {
    const queue = names();
    let failed = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) if (!(await write(name))) failed += 1;
      }),
    );
    return failed;
  });
}

function format(rows: readonly Row[]): string {
  const budget = BUDGET.requests / BUDGET.windowSeconds;
  const header = ['approach', 'writes landed', 'failed writes', '429s', 'requests', 'total time', 'landed writes/s', 'share of budget'];
  const lines = rows.map((row) => {
    const rate = row.landed / row.seconds;
    return [
      row.approach,
      `${row.landed}/${WRITES}`,
      String(row.failed),
      String(row.rateLimited),
      String(row.requests),
      `${row.seconds.toFixed(2)} s`,
      row.landed === WRITES ? rate.toFixed(1) : '—',
      // A run that lost writes did not do the work: its speed says nothing about the budget.
      row.landed === WRITES ? `${((rate / budget) * 100).toFixed(1)} %` : `— (${WRITES - row.landed} writes lost)`,
    ];
  });
  const out = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((line) => `| ${line.join(' | ')} |`)];
  return out.join('\n');
}

export async function run(): Promise<void> {
  const emulator = await startEmulator({ port: 0, seed: 1, ...LATENCY });
  try {
    const rows: Row[] = [];
    rows.push(await viaScheduler(emulator, 'even'));
    rows.push(await viaScheduler(emulator, 'window'));
    rows.push(await sequential(emulator));
    rows.push(await parallel(emulator));
    console.log(
      `${WRITES} writes (permission.create), budget ${BUDGET.requests} requests per ${BUDGET.windowSeconds} s, ` +
        `${RATE.penaltyMs / 1000} s penalty, emulator latency ${LATENCY.latencyMs} ms + 0..${LATENCY.latencyJitterMs} ms; ` +
        'share of budget = writes per second / budget, for runs that landed every write.\n',
    );
    console.log(format(rows));
  } finally {
    await emulator.close();
  }
}
