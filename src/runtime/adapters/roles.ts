// Roles (`roles/<name>`, `roles/<tenant>/<name>`). Read with ONE `role.search` covering project
// roles and the roles of the given tenants (`role.loadAll` returns project roles only). Roles have
// server ids that never change on rename; they are kept beside the canonical records (ids map)
// because batch updates and renames go by id. Writes use the batch endpoints: createBatch,
// updateBatch (by id; a rename is `newName`), deleteBatch (one call per tenant scope). Creates and
// deletes are not sent twice blindly: each batch has a `landed` read (every role there as sent;
// every role gone) that the scheduler asks after an attempt whose outcome is unknown. Updates by
// id are full replaces, harmless to send twice.

import type { Role } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { ROLE_LIST } from '../answers.ts';
import { normalizeRole, roleAddress, sameCanonical, type CanonicalRole } from '../model.ts';
import { batchAddress, chunks } from './common.ts';

export interface LiveRoles {
  /** Keyed by address. */
  roles: Record<string, CanonicalRole>;
  /** Address → server id. */
  ids: Record<string, string>;
}

export function roleFromSdk(role: Role): CanonicalRole {
  return normalizeRole({
    name: role.name,
    tenant: role.tenantId,
    description: role.description,
    permissions: role.permissionNames,
    default: role.default,
  });
}

function roleToSdk(role: CanonicalRole): Role {
  const out: Role = {
    name: role.name,
    description: role.description,
    permissionNames: [...role.permissions],
    createdTime: 0,
    default: role.default,
  };
  if (role.tenant) out.tenantId = role.tenant;
  return out;
}

function collect(records: readonly Role[]): LiveRoles {
  const out: LiveRoles = { roles: {}, ids: {} };
  for (const record of records) {
    const role = roleFromSdk(record);
    const address = roleAddress(role);
    out.roles[address] = role;
    if (record.id) out.ids[address] = record.id;
  }
  return out;
}

/** Project roles plus the roles of `tenantIds` (all tenants of the project when the caller passes them all). */
export async function readRoles(api: DescopeApi, tenantIds: readonly string[]): Promise<LiveRoles> {
  const records = await api.call('roles', (m) =>
    m.role.search(tenantIds.length > 0 ? { tenantIds: [...tenantIds], includeProjectRoles: true } : { includeProjectRoles: true }),
    { shape: ROLE_LIST },
  );
  return collect(records ?? []);
}

/** The tenants whose roles a read must cover to see these roles. */
function tenantsOf(roles: readonly { tenant?: string | undefined }[]): string[] {
  return [...new Set(roles.map((role) => role.tenant).filter((tenant): tenant is string => !!tenant))];
}

/**
 * Creates the roles in batches; returns their ids by address. A batch has landed when every one
 * of its roles is there as sent (then its ids are the live ones).
 */
export async function createRoles(api: DescopeApi, roles: readonly CanonicalRole[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const batch of chunks(roles)) {
    const addresses = batch.map(roleAddress);
    // When the batch is found landed (its answer lost), its ids come from that read.
    let read: LiveRoles | undefined;
    const created = await api.call(batchAddress('roles', addresses), (m) => m.role.createBatch(batch.map(roleToSdk)), {
      // The answer's ids are kept for later updates by id.
      shape: ROLE_LIST,
      landed: async () => {
        const live = await readRoles(api, tenantsOf(batch));
        const landed = batch.every((role) => {
          const found = live.roles[roleAddress(role)];
          return found !== undefined && sameCanonical(found, role);
        });
        if (landed) read = live;
        return landed;
      },
    });
    if (created === undefined && read) {
      for (const address of addresses) if (read.ids[address]) ids[address] = read.ids[address];
      continue;
    }
    Object.assign(ids, collect(created ?? []).ids);
  }
  return ids;
}

export interface RoleUpdate {
  /** The live role's server id. */
  id: string;
  /** The full record to write (a rename changes `name`; the tenant never changes). */
  role: CanonicalRole;
}

/** Full-replace updates by id, in batches (a rename keeps the id, so users keep the role). */
export async function updateRoles(api: DescopeApi, updates: readonly RoleUpdate[]): Promise<void> {
  for (const batch of chunks(updates)) {
    await api.call(batchAddress('roles', batch.map((update) => roleAddress(update.role))), (m) =>
      m.role.updateBatch(
        batch.map(({ id, role }) => ({
          id,
          newName: role.name,
          description: role.description,
          permissionNames: [...role.permissions],
          tenantId: role.tenant,
          default: role.default,
        })),
      ),
    );
  }
}

export interface RoleTarget {
  name: string;
  tenant?: string | undefined;
  /** The server id, when known (preferred: a name may have changed). */
  id?: string | undefined;
}

/**
 * Deletes roles: one deleteBatch per tenant scope. A batch has landed when none of its roles is
 * left (whether Descope skips unknown roles or refuses them is not documented).
 */
export async function deleteRoles(api: DescopeApi, targets: readonly RoleTarget[]): Promise<void> {
  const byTenant = new Map<string, RoleTarget[]>();
  for (const target of targets) {
    const key = target.tenant ?? '';
    byTenant.set(key, [...(byTenant.get(key) ?? []), target]);
  }
  for (const [tenant, group] of byTenant) {
    for (const batch of chunks(group)) {
      const names = batch.filter((target) => !target.id).map((target) => target.name);
      const ids = batch.filter((target) => target.id).map((target) => target.id as string);
      await api.call(
        batchAddress('roles', batch.map(roleAddress)),
        (m) => m.role.deleteBatch(names.length > 0 ? names : undefined, tenant || undefined, ids.length > 0 ? ids : undefined),
        {
          landed: async () => {
            const live = await readRoles(api, tenant ? [tenant] : []);
            const liveIds = new Set(Object.values(live.ids));
            const left = batch.some((target) => (target.id ? liveIds.has(target.id) : live.roles[roleAddress(target)] !== undefined));
            return !left;
          },
        },
      );
    }
  }
}

export const rolesAdapter = {
  kind: 'roles',
  address: roleAddress,
  readAll: readRoles,
  create: createRoles,
  update: updateRoles,
  delete: deleteRoles,
  fromSdk: roleFromSdk,
} as const;
