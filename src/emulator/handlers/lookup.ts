// Finding things in the state, and keeping references consistent when roles and permissions are
// renamed or deleted (see fidelity.ts, "Roles and permissions").

import { ApiError } from '../api-error.ts';
import {
  PERMISSION_NOT_FOUND,
  ROLE_NOT_FOUND,
  SSO_CONFIG_NOT_FOUND,
  TENANT_NOT_FOUND,
} from '../fidelity.ts';
import { isJsonObject, type Json } from '../json.ts';
import type { EmulatorState, StoredPermission, StoredRole, StoredSsoConfig, StoredTenant } from '../state.ts';
import { resource } from '../resource.ts';

export function findTenant(state: EmulatorState, id: string): StoredTenant | undefined {
  return state.tenants.find((tenant) => tenant.id === id);
}

export function requireTenant(state: EmulatorState, id: string): StoredTenant {
  const tenant = findTenant(state, id);
  if (!tenant) throw new ApiError(TENANT_NOT_FOUND, `tenant "${id}" does not exist`);
  return tenant;
}

export function findSsoConfig(tenant: StoredTenant, ssoId: string): StoredSsoConfig | undefined {
  return tenant.sso.find((config) => config.ssoId === ssoId);
}

export function requireSsoConfig(tenant: StoredTenant, ssoId: string): StoredSsoConfig {
  const config = findSsoConfig(tenant, ssoId);
  if (!config) {
    throw new ApiError(SSO_CONFIG_NOT_FOUND, `SSO configuration "${ssoId}" does not exist in tenant "${tenant.id}"`);
  }
  return config;
}

/** The address used in messages and audit records: `roles/Admin` or `roles/acme/Admin` (../resource.ts). */
export function roleAddress(role: Pick<StoredRole, 'name' | 'tenantId'>): string {
  return role.tenantId ? resource('roles', role.tenantId, role.name) : resource('roles', role.name);
}

export function findRoleByName(state: EmulatorState, name: string, tenantId: string): StoredRole | undefined {
  return state.roles.find((role) => role.name === name && role.tenantId === tenantId);
}

export function requireRoleByName(state: EmulatorState, name: string, tenantId: string): StoredRole {
  const role = findRoleByName(state, name, tenantId);
  if (!role) {
    throw new ApiError(
      ROLE_NOT_FOUND,
      tenantId ? `role "${name}" does not exist in tenant "${tenantId}"` : `role "${name}" does not exist`,
    );
  }
  return role;
}

export function requireRoleById(state: EmulatorState, id: string, tenantId?: string): StoredRole {
  const role = state.roles.find((candidate) => candidate.id === id);
  if (!role || (tenantId !== undefined && tenantId !== '' && role.tenantId !== tenantId)) {
    throw new ApiError(
      ROLE_NOT_FOUND,
      tenantId ? `role id "${id}" does not exist in tenant "${tenantId}"` : `role id "${id}" does not exist`,
    );
  }
  return role;
}

/** A role name used inside a tenant: the tenant's own role first, then a project role. */
export function resolveRoleName(state: EmulatorState, tenantId: string, name: string): StoredRole | undefined {
  return findRoleByName(state, name, tenantId) ?? findRoleByName(state, name, '');
}

export function requireRoleReference(state: EmulatorState, tenantId: string, name: string, field: string): StoredRole {
  const role = resolveRoleName(state, tenantId, name);
  if (!role) throw new ApiError(ROLE_NOT_FOUND, `${field}: role "${name}" does not exist`);
  return role;
}

export function findPermissionByName(state: EmulatorState, name: string): StoredPermission | undefined {
  return state.permissions.find((permission) => permission.name === name);
}

export function requirePermissionByName(state: EmulatorState, name: string, field = 'permission'): StoredPermission {
  const permission = findPermissionByName(state, name);
  if (!permission) throw new ApiError(PERMISSION_NOT_FOUND, `${field}: permission "${name}" does not exist`);
  return permission;
}

export function requirePermissionById(state: EmulatorState, id: string): StoredPermission {
  const permission = state.permissions.find((candidate) => candidate.id === id);
  if (!permission) throw new ApiError(PERMISSION_NOT_FOUND, `permission id "${id}" does not exist`);
  return permission;
}

// --- keeping references consistent --------------------------------------------------------------

type RoleRef = { id: string } | { unresolved: string };

function toRefs(state: EmulatorState, tenantId: string, names: Json | undefined): RoleRef[] | undefined {
  if (!Array.isArray(names)) return undefined;
  return names.map((name) => {
    const role = typeof name === 'string' ? resolveRoleName(state, tenantId, name) : undefined;
    return role ? { id: role.id } : { unresolved: String(name) };
  });
}

function fromRefs(byId: Map<string, StoredRole>, refs: RoleRef[]): string[] {
  const out: string[] = [];
  for (const ref of refs) {
    if ('unresolved' in ref) out.push(ref.unresolved);
    else {
      const role = byId.get(ref.id);
      if (role) out.push(role.name);
    }
  }
  return [...new Set(out)];
}

/**
 * Runs `mutate` (which renames or deletes roles) and keeps every reference to a role pointing at
 * the same role: tenant defaultRoles, SAML groupsMapping and defaultSSORoles, OIDC roleMappings.
 * Names are turned into role ids before and back into (current) names after, so renames, swaps
 * inside a batch and deletes (the reference disappears) all come out right.
 */
export function preservingRoleReferences(state: EmulatorState, mutate: () => void): void {
  interface TenantRefs {
    tenant: StoredTenant;
    defaultRoles: RoleRef[];
    sso: { config: StoredSsoConfig; defaultSSORoles?: RoleRef[] | undefined; oidcRoles?: (RoleRef | undefined)[] | undefined }[];
  }
  const before: TenantRefs[] = state.tenants.map((tenant) => ({
    tenant,
    defaultRoles: toRefs(state, tenant.id, tenant.defaultRoles) ?? [],
    sso: tenant.sso.map((config) => {
      const mappings = config.oidc?.['roleMappings'];
      return {
        config,
        defaultSSORoles: toRefs(state, tenant.id, config.saml?.['defaultSSORoles']),
        oidcRoles: Array.isArray(mappings)
          ? mappings.map((mapping) => {
              const name = isJsonObject(mapping) ? mapping['roleName'] : undefined;
              return typeof name === 'string' ? toRefs(state, tenant.id, [name])?.[0] : undefined;
            })
          : undefined,
      };
    }),
  }));

  mutate();

  const byId = new Map(state.roles.map((role) => [role.id, role]));
  for (const { tenant, defaultRoles, sso } of before) {
    tenant.defaultRoles = fromRefs(byId, defaultRoles);
    for (const { config, defaultSSORoles, oidcRoles } of sso) {
      const saml = config.saml;
      if (saml) {
        if (defaultSSORoles) saml['defaultSSORoles'] = fromRefs(byId, defaultSSORoles);
        const mappings = saml['groupsMapping'];
        if (Array.isArray(mappings)) {
          const kept: Json[] = [];
          for (const mapping of mappings) {
            const mappedRole = isJsonObject(mapping) ? mapping['role'] : undefined;
            const id = isJsonObject(mappedRole) ? mappedRole['id'] : undefined;
            if (!isJsonObject(mapping) || typeof id !== 'string') {
              kept.push(mapping);
              continue;
            }
            const role = byId.get(id);
            if (role) kept.push({ ...mapping, role: { id, name: role.name } });
          }
          saml['groupsMapping'] = kept;
        }
      }
      const oidcMappings = config.oidc?.['roleMappings'];
      if (config.oidc && oidcRoles && Array.isArray(oidcMappings)) {
        const kept: Json[] = [];
        oidcMappings.forEach((mapping, index) => {
          const ref = oidcRoles[index];
          if (!isJsonObject(mapping) || ref === undefined || 'unresolved' in ref) {
            kept.push(mapping);
            return;
          }
          const role = byId.get(ref.id);
          if (role) kept.push({ ...mapping, roleName: role.name });
        });
        config.oidc['roleMappings'] = kept;
      }
    }
  }
}

/**
 * Runs `mutate` (which renames or deletes permissions) and keeps every role's permissionNames
 * pointing at the same permissions (a deleted permission disappears from its roles).
 */
export function preservingPermissionReferences(state: EmulatorState, mutate: () => void): void {
  const idByName = new Map(state.permissions.map((permission) => [permission.name, permission.id]));
  const before = state.roles.map((role) => ({
    role,
    refs: role.permissionNames.map((name) => idByName.get(name) ?? { unresolved: name }),
  }));
  mutate();
  const nameById = new Map(state.permissions.map((permission) => [permission.id, permission.name]));
  for (const { role, refs } of before) {
    const names: string[] = [];
    for (const ref of refs) {
      if (typeof ref === 'string') {
        const name = nameById.get(ref);
        if (name !== undefined) names.push(name);
      } else {
        names.push(ref.unresolved);
      }
    }
    role.permissionNames = [...new Set(names)];
  }
}
