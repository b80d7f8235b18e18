// Tenants (`tenants/<id>`): read all with one `loadAll`; create with the config's id
// (`createWithId`); update (a full replace, and parent is create-only); default roles through
// `updateDefaultRoles`; delete (cascade optional); replace (delete, then create with the same id,
// for a new parent). A create and a delete are not sent twice blindly: each has a `landed` read
// (the tenant is there with the fields sent; the tenant is gone) that the scheduler asks after an
// attempt whose outcome is unknown.

import type { Tenant } from '@descope/node-sdk';
import { ApiError } from '../../errors.ts';
import type { DescopeApi } from '../api.ts';
import { TENANT, TENANT_LIST } from '../answers.ts';
import { normalizeTenant, sameCanonical, tenantAddress, type CanonicalTenant } from '../model.ts';
import { isNotFound } from './common.ts';

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

/** The tenant, or undefined when Descope says there is none. */
export async function findTenant(api: DescopeApi, id: string): Promise<CanonicalTenant | undefined> {
  try {
    return await readTenant(api, id);
  } catch (error) {
    if (error instanceof ApiError && isNotFound(error)) return undefined;
    throw error;
  }
}

/** The fields createWithId writes (not defaultRoles: those come after the roles exist). */
function createdPart(tenant: CanonicalTenant): unknown {
  const { defaultRoles: _roles, ...rest } = tenant;
  return rest;
}

/** Whether the live tenant holds what `createTenant` wrote. */
function holdsCreated(live: CanonicalTenant | undefined, tenant: CanonicalTenant): boolean {
  return live !== undefined && sameCanonical(createdPart(live), createdPart(tenant));
}

/**
 * Creates the tenant with its id, parent included. Default roles are NOT set here: they may name
 * the tenant's own roles, which can only be created after it; call `setTenantDefaultRoles` then.
 * After an attempt whose outcome is unknown, it has landed when the tenant is there with the
 * fields sent (so a resent create's "already exists" is recognised as its own echo); a tenant
 * with other fields is someone else's, and its "already exists" stands.
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
    { landed: async () => holdsCreated(await findTenant(api, tenant.id), tenant) },
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

export interface DeleteTenantOptions {
  /** Also delete users and keys that belong only to it (and, in the emulator, sub-tenants). */
  cascade?: boolean | undefined;
  /** Called when an attempt that got no answer may still land (CallOptions.onUnsettled). */
  onUnsettled?: (() => void) | undefined;
}

/**
 * Deletes the tenant. After an attempt whose outcome is unknown, it has landed when the tenant is
 * gone (so a resent delete's "not found" is its own echo).
 */
export async function deleteTenant(api: DescopeApi, id: string, options: DeleteTenantOptions = {}): Promise<void> {
  await api.call(tenantAddress(id), (m) => m.tenant.delete(id, options.cascade), {
    landed: async () => (await findTenant(api, id)) === undefined,
    ...(options.onUnsettled ? { onUnsettled: options.onUnsettled } : {}),
  });
}

/**
 * Replaces the tenant (Descope cannot move one to another parent): deletes it, then creates it
 * with the same id. The create must never be undone by its own delete landing late (a delete
 * whose request timed out can still reach Descope after it was sent again and after the create),
 * so it goes ahead only when no attempt of the delete may still land, and once a read shows the
 * tenant gone; and the replacement counts only once a read shows the new tenant as written.
 * Each refusal says what happened and leaves the rest to the next apply, which re-plans from the
 * live project (a missing tenant is simply created).
 */
export async function replaceTenant(api: DescopeApi, tenant: CanonicalTenant): Promise<void> {
  const address = tenantAddress(tenant.id);
  const again = `run apply again (once the network is fine): it reads the live project and creates ${address} if it is missing`;
  let unsettled = false;
  await deleteTenant(api, tenant.id, { onUnsettled: () => (unsettled = true) });
  if (unsettled) {
    throw new ApiError(
      `${address}: the old tenant was deleted, but an earlier attempt of that delete got no answer and may still reach Descope, where it would delete the new tenant too; so it was not created again`,
      { address, hint: again },
    );
  }
  if ((await findTenant(api, tenant.id)) !== undefined) {
    throw new ApiError(`${address}: Descope accepted the delete, but the tenant is still there; it was not created again`, { address, hint: again });
  }
  await createTenant(api, tenant);
  const live = await findTenant(api, tenant.id);
  if (live === undefined) {
    throw new ApiError(
      `${address}: the tenant was deleted and created again, but reading it back finds no tenant (a delete that landed late?); it is not replaced`,
      { address, hint: again },
    );
  }
  if (!holdsCreated(live, tenant)) {
    throw new ApiError(`${address}: the tenant was created again, but reading it back finds other values than were written (another client?); it is not replaced as planned`, {
      address,
      hint: 'run diff to see it as it is now, then apply again',
    });
  }
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
  replace: replaceTenant,
  fromSdk: tenantFromSdk,
} as const;
