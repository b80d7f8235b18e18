// Tenants (`tenants/<id>`): read all with one `loadAll`; create with the config's id
// (`createWithId`); update (a full replace, and parent is create-only); default roles through
// `updateDefaultRoles`; delete (cascade optional).

import type { Tenant } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { TENANT, TENANT_LIST } from '../answers.ts';
import { normalizeTenant, sameCanonical, tenantAddress, type CanonicalTenant } from '../model.ts';
import { isDuplicate, isNotFound } from './common.ts';

/** Live fields outside the model that an update must send back unchanged (updates are full replaces). */
export interface TenantExtras {
  roleInheritance?: '' | 'none' | 'userOnly';
}

export interface LiveTenants {
  tenants: Record<string, CanonicalTenant>;
  extras: Record<string, TenantExtras>;
  /** Each tenant's SSO protocol per `loadAll` (`none`, `saml`, `oidc`), when reported: a tenant at `none` needs no SSO read. */
  authTypes: Record<string, string>;
}

/** SDK Tenant (plus the `parent` / `roleInheritance` the API returns beyond the SDK type) → canonical. */
export function tenantFromSdk(tenant: Tenant): CanonicalTenant {
  const extra = tenant as Tenant & { parent?: string; parentId?: string };
  return normalizeTenant({
    id: tenant.id,
    // Checked to be a string when present (answers.ts); Descope may leave an empty one out.
    name: tenant.name ?? '',
    selfProvisioningDomains: tenant.selfProvisioningDomains,
    customAttributes: tenant.customAttributes,
    enforceSSO: tenant.enforceSSO,
    disabled: tenant.disabled,
    parent: extra.parent ?? extra.parentId,
    defaultRoles: tenant.defaultRoles,
  });
}

function extrasFromSdk(tenant: Tenant): TenantExtras {
  const roleInheritance = (tenant as Tenant & { roleInheritance?: unknown }).roleInheritance;
  return roleInheritance === 'none' || roleInheritance === 'userOnly' || roleInheritance === ''
    ? { roleInheritance }
    : {};
}

export async function readTenants(api: DescopeApi): Promise<LiveTenants> {
  const records = (await api.call('tenants', (m) => m.tenant.loadAll(), { shape: TENANT_LIST })) ?? [];
  const out: LiveTenants = { tenants: {}, extras: {}, authTypes: {} };
  for (const record of records) {
    out.tenants[record.id] = tenantFromSdk(record);
    out.extras[record.id] = extrasFromSdk(record);
    if (record.authType) out.authTypes[record.id] = record.authType;
  }
  return out;
}

export async function readTenant(api: DescopeApi, id: string): Promise<CanonicalTenant> {
  return tenantFromSdk(await api.call(tenantAddress(id), (m) => m.tenant.load(id), { shape: TENANT }));
}

/** The fields createWithId writes (not defaultRoles: those come after the roles exist). */
function createdPart(tenant: CanonicalTenant): unknown {
  const { defaultRoles: _roles, ...rest } = tenant;
  return rest;
}

/**
 * Creates the tenant with its id, parent included. Default roles are NOT set here: they may name
 * the tenant's own roles, which can only be created after it; call `setTenantDefaultRoles` then.
 * A retried create that answers "already exists" is verified by reading the tenant back.
 */
export async function createTenant(api: DescopeApi, tenant: CanonicalTenant): Promise<void> {
  const address = tenantAddress(tenant.id);
  await api.call(
    address,
    (m) =>
      m.tenant.createWithId(
        tenant.id,
        tenant.name,
        tenant.selfProvisioningDomains,
        tenant.customAttributes,
        tenant.enforceSSO,
        tenant.disabled,
        tenant.parent,
      ),
    {
      recover: async (error) => {
        if (!isDuplicate(error)) return undefined;
        const live = await readTenant(api, tenant.id);
        return sameCanonical(createdPart(live), createdPart(tenant)) ? { value: undefined } : undefined;
      },
    },
  );
}

/**
 * Writes every updatable field of `tenant` (a full replace: pass the merged record). `parent` and
 * `defaultRoles` are not touched; `extras` carries the live values of fields outside the model.
 */
export async function updateTenant(api: DescopeApi, tenant: CanonicalTenant, extras: TenantExtras = {}): Promise<void> {
  await api.call(tenantAddress(tenant.id), (m) =>
    m.tenant.update(
      tenant.id,
      tenant.name,
      tenant.selfProvisioningDomains,
      tenant.customAttributes,
      tenant.enforceSSO,
      tenant.disabled,
      extras.roleInheritance,
    ),
  );
}

/** Sets the tenant's default roles (set semantics; idempotent). */
export async function setTenantDefaultRoles(api: DescopeApi, id: string, roles: readonly string[]): Promise<void> {
  await api.call(tenantAddress(id), (m) => m.tenant.updateDefaultRoles(id, [...roles]));
}

/**
 * Deletes the tenant. `cascade` also deletes users and keys that belong only to it (and, in the
 * emulator, sub-tenants). A retried delete that finds nothing has done its job.
 */
export async function deleteTenant(api: DescopeApi, id: string, options: { cascade?: boolean } = {}): Promise<void> {
  await api.call(tenantAddress(id), (m) => m.tenant.delete(id, options.cascade), {
    recover: async (error) => (isNotFound(error) ? { value: undefined } : undefined),
  });
}

export const tenantsAdapter = {
  kind: 'tenants',
  address: tenantAddress,
  readAll: readTenants,
  read: readTenant,
  create: createTenant,
  update: updateTenant,
  setDefaultRoles: setTenantDefaultRoles,
  delete: deleteTenant,
  fromSdk: tenantFromSdk,
} as const;
