// What a handler gets and returns. A handler reads the request, validates EVERYTHING first, then
// mutates the state in place and returns the response body; any refusal is a thrown ApiError, and
// a handler that throws must not have changed anything (so a failed request never changes state).

import { missingArgument } from '../api-error.ts';
import type { FieldReader, JsonObject } from '../json.ts';
import type { IdGenerator } from '../random.ts';
import type { EmulatorState, RawAuditRecord } from '../state.ts';

/** Fields audit.createEvent sets itself instead of the emulator's defaults. */
export type AuditOverrides = Partial<Pick<RawAuditRecord, 'type' | 'actorId' | 'userId' | 'data'>>;

export interface HandlerContext {
  readonly state: EmulatorState;
  readonly body: FieldReader;
  readonly query: URLSearchParams;
  readonly ids: IdGenerator;
  /** Epoch ms (the emulator's clock, which tests may fix). */
  now(): number;
  readonly projectId: string;
  readonly bumpFlowVersion: boolean;
  /**
   * Queues an audit record for this write (`resource` is a `kind/key` address). Records are
   * committed only if the handler returns normally.
   */
  audit(action: string, resource: string, tenants?: string[], overrides?: AuditOverrides): void;
}

export type Handler = (ctx: HandlerContext) => JsonObject;

export type Method = 'GET' | 'POST' | 'DELETE';

export interface Route {
  method: Method;
  path: string;
  /** The route changes state: on success the state file is rewritten. */
  write: boolean;
  handle: Handler;
}

export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** A query parameter that must be present and non-empty. */
export function requireQuery(query: URLSearchParams, key: string): string {
  const value = query.get(key);
  if (value === null || value === '') throw missingArgument(key);
  return value;
}
