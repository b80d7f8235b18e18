// Shared setup for the emulator tests: an emulator on a free loopback port and the REAL SDK
// pointed at it, plus small assertions on SDK results.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import DescopeClient from '@descope/node-sdk';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.ts';

export type Client = ReturnType<typeof DescopeClient>;
export type Management = Client['management'];

/** A fixed clock: 2023-11-14T22:13:20Z, so createdTime is 1700000000. */
export const FIXED_NOW = 1_700_000_000_000;

export interface Harness {
  emulator: RunningEmulator;
  client: Client;
  m: Management;
}

export async function startHarness(options: EmulatorOptions = {}): Promise<Harness> {
  const emulator = await startEmulator({ seed: 42, ...options });
  const client = clientFor(emulator);
  await licenseSettled(emulator);
  return { emulator, client, m: client.management };
}

export function clientFor(
  emulator: RunningEmulator,
  overrides: { projectId?: string; managementKey?: string | undefined } = {},
): Client {
  return DescopeClient({
    projectId: overrides.projectId ?? emulator.projectId,
    managementKey: 'managementKey' in overrides ? overrides.managementKey : emulator.managementKey,
    baseUrl: emulator.url,
  });
}

/** The SDK fires the license handshake in the background; wait for it so counts are exact. */
export async function licenseSettled(emulator: RunningEmulator, before = 0): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (emulator.log.count('GET', '/v1/mgmt/license') > before) return;
    await sleep(5);
  }
  throw new Error('the SDK never made its license handshake');
}

interface SdkResult {
  ok: boolean;
  code?: number | undefined;
  data?: unknown;
  error?: { errorCode: string; errorDescription: string; errorMessage?: string; retryAfter?: unknown } | undefined;
}

/** The server id of an SDK object whose type does not declare one (Permission). */
export function idOf(value: object | undefined): string {
  const id = (value as { id?: unknown } | undefined)?.id;
  assert.equal(typeof id, 'string', `expected an id on ${JSON.stringify(value)}`);
  return id as string;
}

/** Asserts success and returns `data`. */
export function ok<T>(result: { ok: boolean; data?: T; error?: unknown; code?: number | undefined }): T {
  assert.equal(result.ok, true, `expected success, got ${result.code}: ${JSON.stringify(result.error)}`);
  return result.data as T;
}

/** Asserts the documented error shape, status and code. */
export function fails(result: SdkResult, status: number, errorCode: string, messageIncludes?: string): void {
  assert.equal(result.ok, false, `expected ${status} ${errorCode}, got success: ${JSON.stringify(result.data)}`);
  assert.equal(result.code, status, `status: ${JSON.stringify(result.error)}`);
  assert.equal(result.error?.errorCode, errorCode, `errorCode: ${JSON.stringify(result.error)}`);
  assert.equal(typeof result.error?.errorDescription, 'string');
  assert.equal(typeof result.error?.errorMessage, 'string');
  if (messageIncludes) assert.match(result.error?.errorMessage ?? '', new RegExp(messageIncludes.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal(result.data, undefined);
}

/** A raw request with the right credentials (or the given headers). */
export async function rawFetch(
  emulator: RunningEmulator,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: init.headers ?? {
      authorization: `Bearer ${emulator.projectId}:${emulator.managementKey}`,
      'content-type': 'application/json',
    },
    body: init.body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
