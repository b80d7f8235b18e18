// Every resource has an address, `kind/key`, used as the prefix of every message about it.
import type { FlowSpec, PermissionSpec, RoleSpec, TenantSpec } from './types.ts';

export const tenantAddress = (t: Pick<TenantSpec, 'id'>): string => `tenants/${t.id}`;
export const permissionAddress = (p: Pick<PermissionSpec, 'name'>): string => `permissions/${p.name}`;
export const flowAddress = (f: Pick<FlowSpec, 'id'>): string => `flows/${f.id}`;
/** Project roles are `roles/<name>`; tenant roles `roles/<tenant>/<name>`. */
export const roleAddress = (r: Pick<RoleSpec, 'name' | 'tenant'>): string =>
  r.tenant === undefined ? `roles/${r.name}` : `roles/${r.tenant}/${r.name}`;
export const THEME_ADDRESS = 'theme';
export const PASSWORD_POLICY_ADDRESS = 'password-policy';
