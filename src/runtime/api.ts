// The Descope management API as the rest of descope-run sees it: the only place the SDK client is
// built. Every call goes through the scheduler (pacing, the 429 pause, retries) and comes back as
// a value or an ApiError that starts with the resource address.

import DescopeClient from '@descope/node-sdk';
import type { ResponseData, SdkResponse } from '@descope/node-sdk';
import { ApiError } from '../errors.ts';
import {
  Scheduler,
  type Budget,
  type CallOptions,
  type SchedulerOptions,
  type SchedulerStats,
  type Unwrapped,
} from './scheduler.ts';

export type DescopeClientInstance = ReturnType<typeof DescopeClient>;
/** The SDK's management client (`sdk.management`); only adapters touch it, inside `api.call`. */
export type Management = DescopeClientInstance['management'];

export interface DescopeApiOptions extends Omit<SchedulerOptions, 'budget'> {
  projectId: string;
  managementKey: string;
  /** Default: the SDK's (https://api.descope.com, or the project's region). */
  baseUrl?: string | undefined;
  /** The environment's request budget; default 100 per 60 s. */
  budget?: Budget | undefined;
}

export interface DescopeApi {
  readonly projectId: string;
  readonly budget: Budget;
  /**
   * Runs one management call through the scheduler. `send` makes exactly one SDK call; it may be
   * invoked again on a retry. Resolves with the SDK's `data`, or rejects with an ApiError.
   */
  call<T extends ResponseData>(
    address: string,
    send: (management: Management) => Promise<SdkResponse<T>>,
    options?: CallOptions<T>,
  ): Promise<Unwrapped<T>>;
  /** Requests sent, 429s, failures, retries and pause time so far. */
  stats(): SchedulerStats;
  /** Whether the queue is paused for a 429 right now. */
  readonly paused: boolean;
  /** Stops the scheduler: pending and later calls reject. */
  close(): void;
}

export function createDescopeApi(options: DescopeApiOptions): DescopeApi {
  const { projectId, managementKey, baseUrl, budget, ...schedulerOptions } = options;
  if (!projectId) {
    throw new ApiError('project: the Descope project id is empty', {
      address: 'project',
      hint: 'Set projectId in the environment file or DESCOPE_PROJECT_ID',
    });
  }
  if (!managementKey) {
    throw new ApiError(`project ${projectId}: the management key is empty`, {
      address: 'project',
      hint: 'Set the environment variable that holds the management key (default DESCOPE_MANAGEMENT_KEY)',
    });
  }
  const scheduler = new Scheduler(budget ? { ...schedulerOptions, budget } : schedulerOptions);
  // No logger: the SDK then prints nothing (runtime never prints). Its license handshake goes
  // through the scheduler's fetch like everything else and takes the first slot.
  const client = DescopeClient({
    projectId,
    managementKey,
    ...(baseUrl ? { baseUrl } : {}),
    fetch: scheduler.fetch,
  });
  const management = client.management;

  return {
    projectId,
    budget: scheduler.budget,
    call: (address, send, callOptions) => scheduler.call(address, () => send(management), callOptions),
    stats: () => scheduler.stats(),
    get paused() {
      return scheduler.paused;
    },
    close() {
      scheduler.stop(new ApiError('project: the Descope API client was closed', { address: 'project' }));
    },
  };
}
