// The audit trail (`management.audit.search`), read only: who changed which resource, and when.
// Drift uses it to say who last touched a drifted address, with ONE search per check (the newest
// records of the last 30 days), never one per address.
//
// Which resource a record concerns: the emulator writes `data.resource`, a `kind/key` address in
// its own spelling (descope-api.md §2.13, src/emulator/handlers/*), mapped here to the plan's
// addresses. Descope's own records carry other `data`; they get an address only when they carry
// the same `resource` key, so on a real project attribution is best effort and a record that
// names nothing we recognise is simply not used.

import type { AuditRecord } from '@descope/node-sdk';
import type { DescopeApi } from './api.ts';
import { AUDIT_LIST } from './answers.ts';
import {
  formatAddress,
  parseAddress,
  PASSWORD_POLICY_ADDRESS,
  tenantAddress,
  tenantSettingsAddress,
  tenantSsoAddress,
  THEME_ADDRESS,
  unescapeSegment,
} from './model.ts';

export interface AuditEntry {
  /** Epoch ms. */
  occurred: number;
  /** The same instant as an ISO string. */
  time: string;
  /** The management key's actor id, else the user id or first login id; '' when the record names none. */
  actor: string;
  /** Descope's action name, e.g. `TenantUpdated`. */
  action: string;
  /** The plan address the record concerns (`tenants/acme/settings`), when it names one we manage. */
  address?: string;
  tenants: string[];
}

/** Descope limits `from` to 30 days back; a minute less keeps a slow clock inside it. */
export const AUDIT_SEARCH_WINDOW_MS = 30 * 24 * 60 * 60 * 1000 - 60_000;

/**
 * The plan address of an emulator `data.resource` (`tenants/acme` with `TenantSettingsUpdated`
 * is the settings address; `sso/acme/<ssoId>` is `tenants/acme/sso`; `theme/project` is `theme`).
 * The emulator escapes each key segment as addresses do (src/emulator/resource.ts), so the
 * segments are read with the address parser and the address is re-spelt by the builders.
 */
export function auditAddress(resource: string, action: string): string | undefined {
  const slash = resource.indexOf('/');
  if (slash <= 0 || slash === resource.length - 1) return undefined;
  const kind = resource.slice(0, slash);
  const keys = resource.slice(slash + 1).split('/').map(unescapeSegment);
  if (keys.some((key) => key === undefined)) return undefined;
  const [first] = keys as string[];
  switch (kind) {
    case 'tenants':
      if (keys.length !== 1) return undefined;
      return action === 'TenantSettingsUpdated' ? tenantSettingsAddress(first!) : tenantAddress(first!);
    case 'sso':
      return keys.length <= 2 ? tenantSsoAddress(first!) : undefined;
    case 'roles':
    case 'permissions':
    case 'flows': {
      const parsed = parseAddress(resource);
      return parsed ? formatAddress(parsed) : undefined;
    }
    case 'theme':
      return THEME_ADDRESS;
    case 'password':
      // Only the project's policy is managed; a tenant's own is `password/tenants/<id>`.
      return keys.length === 1 && first === 'project' ? PASSWORD_POLICY_ADDRESS : undefined;
    default:
      return undefined;
  }
}

export function auditEntryFromSdk(record: AuditRecord): AuditEntry {
  // `actorId` is in the wire record (and kept by the SDK's spread) but not in its type.
  const raw = record as AuditRecord & { actorId?: unknown };
  const occurred = typeof record.occurred === 'number' ? record.occurred : Number(record.occurred);
  const actor = [raw.actorId, record.userId, record.loginIds?.[0]].find((value): value is string => typeof value === 'string' && value !== '') ?? '';
  const resource = record.data && typeof record.data === 'object' ? (record.data as Record<string, unknown>).resource : undefined;
  const address = typeof resource === 'string' ? auditAddress(resource, record.action) : undefined;
  return {
    occurred,
    time: Number.isFinite(occurred) ? new Date(occurred).toISOString() : '',
    actor,
    action: typeof record.action === 'string' ? record.action : '',
    ...(address ? { address } : {}),
    tenants: Array.isArray(record.tenants) ? record.tenants.filter((t): t is string => typeof t === 'string') : [],
  };
}

/** One search: the newest records of the last 30 days (as many as Descope returns), newest first. */
export async function searchAudit(api: DescopeApi, options: { now: number }): Promise<AuditEntry[]> {
  const records = (await api.call('audit', (m) => m.audit.search({ from: options.now - AUDIT_SEARCH_WINDOW_MS }), { shape: AUDIT_LIST })) ?? [];
  return records.map(auditEntryFromSdk).sort((a, b) => b.occurred - a.occurred);
}
