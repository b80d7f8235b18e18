// Shared setup for the runtime tests: an emulator on a loopback port and the runtime's API (the
// REAL SDK behind the scheduler) pointed at it.

import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type EmulatorOptions, type RequestLogEntry, type RunningEmulator } from '../../src/emulator/index.ts';
import { createDescopeApi, type DescopeApi, type DescopeApiOptions } from '../../src/runtime/api.ts';
import type { WaitEvent } from '../../src/runtime/scheduler.ts';

export const LICENSE_PATH = '/v1/mgmt/license';

export interface RuntimeHarness {
  emulator: RunningEmulator;
  api: DescopeApi;
  waits: WaitEvent[];
  /** A fresh API on the same emulator (its own scheduler), e.g. with other retry settings. */
  newApi(overrides?: Partial<DescopeApiOptions>): Promise<{ api: DescopeApi; waits: WaitEvent[] }>;
  close(): Promise<void>;
}

/** Fast defaults: a budget far above what tests send, and short backoffs. */
export const FAST: Partial<DescopeApiOptions> = {
  budget: { requests: 2000, windowSeconds: 1 },
  backoffBaseMs: 10,
  backoffMaxMs: 40,
  requestTimeoutMs: 5000,
};

export async function startRuntime(
  options: { emulator?: EmulatorOptions; api?: Partial<DescopeApiOptions> } = {},
): Promise<RuntimeHarness> {
  const emulator = await startEmulator({ seed: 7, ...options.emulator });
  const apis: DescopeApi[] = [];
  const newApi = async (overrides: Partial<DescopeApiOptions> = {}): Promise<{ api: DescopeApi; waits: WaitEvent[] }> => {
    const waits: WaitEvent[] = [];
    const before = emulator.log.count('GET', LICENSE_PATH);
    const api = createDescopeApi({
      projectId: emulator.projectId,
      managementKey: emulator.managementKey,
      baseUrl: emulator.url,
      ...FAST,
      ...options.api,
      ...overrides,
      onWait: (event) => waits.push(event),
    });
    apis.push(api);
    await licenseSettled(emulator, before);
    return { api, waits };
  };
  const first = await newApi();
  return {
    emulator,
    api: first.api,
    waits: first.waits,
    newApi,
    async close() {
      for (const api of apis) api.close();
      await emulator.close();
    },
  };
}

/** The SDK fires its license handshake in the background; wait for it so request counts are exact. */
export async function licenseSettled(emulator: RunningEmulator, before = 0): Promise<void> {
  for (let i = 0; i < 400; i += 1) {
    if (emulator.log.count('GET', LICENSE_PATH) > before) return;
    await sleep(5);
  }
  throw new Error('the SDK never made its license handshake');
}

/** Requests other than the license handshake, oldest first. */
export function managementRequests(emulator: RunningEmulator): RequestLogEntry[] {
  return emulator.log.recent().filter((entry) => entry.path !== LICENSE_PATH);
}

/** The most requests that arrived within any window of `windowMs` (the emulator's (t - W, t] rule). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Request counts by `METHOD /path` (license handshake left out). */
export function routeCounts(emulator: RunningEmulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [route, count] of Object.entries(emulator.log.byRoute())) {
    if (route !== `GET ${LICENSE_PATH}`) out[route] = count.total;
  }
  return out;
}
