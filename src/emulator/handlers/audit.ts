// management.audit: search / searchAll over the emulator's own record of every accepted write,
// plus createEvent. Records are raw (§2.13): `occurred` is epoch ms as a string and login ids are
// `externalIds`; the SDK converts both.

import {
  AUDIT_DEVICE,
  AUDIT_MAX_AGE_MS,
  AUDIT_MAX_RECORDS,
  AUDIT_MAX_RESULTS,
  AUDIT_METHOD,
  AUDIT_TYPES,
} from '../fidelity.ts';
import type { JsonObject } from '../json.ts';
import type { EmulatorState, RawAuditRecord } from '../state.ts';
import type { AuditOverrides, HandlerContext, Route } from './context.ts';

export interface AuditActor {
  projectId: string;
  actorId: string;
  remoteAddress: string;
}

/** A record of one accepted management write (`data` = `{resource, path}`). */
export function buildAuditRecord(
  actor: AuditActor,
  nowMs: number,
  action: string,
  resource: string,
  tenants: string[],
  path: string,
  overrides: AuditOverrides = {},
): RawAuditRecord {
  return {
    projectId: actor.projectId,
    userId: '',
    action,
    type: 'info',
    actorId: actor.actorId,
    occurred: String(nowMs),
    device: AUDIT_DEVICE,
    method: AUDIT_METHOD,
    geo: '',
    remoteAddress: actor.remoteAddress,
    externalIds: [],
    tenants,
    data: { resource, path },
    ...overrides,
  };
}

/** Appends records, keeping at most AUDIT_MAX_RECORDS (oldest dropped). */
export function appendAudit(state: EmulatorState, records: RawAuditRecord[]): void {
  if (records.length === 0) return;
  state.audit.push(...records);
  if (state.audit.length > AUDIT_MAX_RECORDS) state.audit.splice(0, state.audit.length - AUDIT_MAX_RECORDS);
}

function anyOf(filter: string[] | undefined, value: string): boolean {
  return filter === undefined || filter.length === 0 || filter.includes(value);
}

function intersects(filter: string[] | undefined, values: string[]): boolean {
  return filter === undefined || filter.length === 0 || values.some((value) => filter.includes(value));
}

function search(ctx: HandlerContext): JsonObject {
  const { body } = ctx;
  const actions = body.optionalStringArray('actions');
  const excludedActions = body.optionalStringArray('excludedActions') ?? [];
  const userIds = body.optionalStringArray('userIds');
  const externalIds = body.optionalStringArray('externalIds');
  const tenants = body.optionalStringArray('tenants');
  const noTenants = body.optionalBoolean('noTenants') ?? false;
  const devices = body.optionalStringArray('devices');
  const methods = body.optionalStringArray('methods');
  const geos = body.optionalStringArray('geos');
  const remoteAddresses = body.optionalStringArray('remoteAddresses');
  const text = (body.optionalString('text') ?? '').toLowerCase();
  const from = Math.max(body.optionalNumber('from') ?? 0, ctx.now() - AUDIT_MAX_AGE_MS);
  const to = body.optionalNumber('to');
  const limit = body.optionalNumber('limit');
  const page = body.optionalNumber('page') ?? 0;

  const matches: RawAuditRecord[] = [];
  for (let i = ctx.state.audit.length - 1; i >= 0; i -= 1) {
    const record = ctx.state.audit[i] as RawAuditRecord;
    const occurred = Number(record.occurred);
    if (occurred < from || (to !== undefined && to > 0 && occurred > to)) continue;
    if (!anyOf(actions, record.action) || excludedActions.includes(record.action)) continue;
    if (!anyOf(userIds, record.userId) || !intersects(externalIds, record.externalIds)) continue;
    if (!intersects(tenants, record.tenants) || (noTenants && record.tenants.length > 0)) continue;
    if (!anyOf(devices, record.device) || !anyOf(methods, record.method) || !anyOf(geos, record.geo)) continue;
    if (!anyOf(remoteAddresses, record.remoteAddress)) continue;
    if (text) {
      const haystack = [record.action, record.actorId, record.userId, ...record.tenants, ...record.externalIds, JSON.stringify(record.data)]
        .join('\n')
        .toLowerCase();
      if (!haystack.includes(text)) continue;
    }
    matches.push(record);
  }
  const size = limit !== undefined && limit > 0 ? Math.floor(limit) : AUDIT_MAX_RESULTS;
  const start = Math.max(0, Math.floor(page)) * size;
  const audits = matches.slice(start, start + size).map((record) => // RawAuditRecord is plain JSON; the interface just lacks an index signature.
    structuredClone(record) as unknown as JsonObject);
  return { audits, total: matches.length };
}

function createEvent(ctx: HandlerContext): JsonObject {
  const { body } = ctx;
  const action = body.requiredString('action');
  body.requiredString('type');
  const type = body.optionalEnum('type', AUDIT_TYPES) as string;
  const actorId = body.requiredString('actorId');
  const tenantId = body.requiredString('tenantId');
  const userId = body.optionalString('userId') ?? '';
  const data = structuredClone(body.optionalObject('data') ?? {});
  ctx.audit(action, '', [tenantId], { type, actorId, userId, data });
  return {};
}

export const auditRoutes: Route[] = [
  { method: 'POST', path: '/v1/mgmt/audit/search', write: false, handle: search },
  { method: 'POST', path: '/v1/mgmt/audit/event', write: true, handle: createEvent },
];
