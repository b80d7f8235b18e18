// readLiveState: reads the kinds and items a config manages into one canonical LiveState, plus the
// handles a later apply needs (role and permission ids, fields outside the model, the theme id).
//
// Calls, at most: one list call per managed kind (tenants `loadAll`, roles `search`, permissions
// `loadAll`, flows `list`, theme `export`, password `getSettings`), then per-item reads only for
// what the config declares AND exists live: `getSettings` per declared tenant with settings,
// `loadSettings` per declared tenant with SSO whose authType is not `none` (the tenant list
// already says it has none), `export` per declared flow. Independent reads are issued together;
// the scheduler paces them.

import type { DescopeApi } from './api.ts';
import { readFlowList, exportFlow } from './adapters/flows.ts';
import { readPasswordPolicy } from './adapters/password-policy.ts';
import { readPermissions } from './adapters/permissions.ts';
import { readRoles } from './adapters/roles.ts';
import { readTenantSettings } from './adapters/tenant-settings.ts';
import { readTenantSso } from './adapters/tenant-sso.ts';
import { readTenants, type LiveTenants, type TenantExtras } from './adapters/tenants.ts';
import { readTheme } from './adapters/theme.ts';
import type { CanonicalSso, CanonicalTenantSettings, DesiredState, LiveState } from './model.ts';

/** What a config manages: which kinds to list, and which declared items need a read of their own. */
export interface LiveScope {
  tenants?: boolean;
  roles?: boolean;
  permissions?: boolean;
  flows?: boolean;
  theme?: boolean;
  passwordPolicy?: boolean;
  /** Declared tenants whose settings the config sets. */
  tenantSettings?: readonly string[];
  /** Declared tenants whose SSO the config sets (or removes). */
  tenantSso?: readonly string[];
  /** Declared flows (each existing one is exported). */
  flowExports?: readonly string[];
  /**
   * Everything: every kind, and the settings and SSO of EVERY live tenant and the document of
   * EVERY live flow (backups, import, show). Costs one call per tenant (two with SSO) and per flow.
   */
  all?: boolean;
}

/** Live values an apply needs that are not part of the compared state. */
export interface LiveHandles {
  /** Role address → server id. */
  roleIds: Record<string, string>;
  /** Permission name → server id (when the API reports one). */
  permissionIds: Record<string, string>;
  /** Tenant id → fields outside the model that tenant updates send back. */
  tenantExtras: Record<string, TenantExtras>;
  /** The live theme's id, when the theme is managed. */
  themeId?: string;
}

export interface LiveSnapshot {
  state: LiveState;
  handles: LiveHandles;
}

export async function readLiveState(api: DescopeApi, scope: LiveScope): Promise<LiveSnapshot> {
  const state: LiveState = {};
  const handles: LiveHandles = { roleIds: {}, permissionIds: {}, tenantExtras: {} };
  if (scope.all) scope = { ...scope, tenants: true, roles: true, permissions: true, flows: true, theme: true, passwordPolicy: true };
  let settingsIds = scope.tenantSettings ?? [];
  let ssoIds = scope.tenantSso ?? [];
  let flowIds = scope.flowExports ?? [];
  // Settings, SSO and roles need the tenant list (which tenants exist, their authType, their ids).
  const needTenants = scope.tenants === true || scope.roles === true || settingsIds.length > 0 || ssoIds.length > 0;
  const needFlowList = scope.flows === true || flowIds.length > 0;

  const [tenants, permissions, flowList, theme, passwordPolicy] = await Promise.all([
    needTenants ? readTenants(api) : undefined,
    scope.permissions ? readPermissions(api) : undefined,
    needFlowList ? readFlowList(api) : undefined,
    scope.theme ? readTheme(api) : undefined,
    scope.passwordPolicy ? readPasswordPolicy(api) : undefined,
  ]);

  if (tenants && scope.tenants) {
    state.tenants = tenants.tenants;
    handles.tenantExtras = tenants.extras;
  }
  if (permissions) {
    state.permissions = permissions.permissions;
    handles.permissionIds = permissions.ids;
  }
  if (flowList && scope.flows) state.flowSummaries = flowList;
  if (theme) {
    state.theme = theme.theme;
    handles.themeId = theme.id;
  }
  if (passwordPolicy) state.passwordPolicy = passwordPolicy;

  if (scope.all) {
    settingsIds = Object.keys(tenants?.tenants ?? {}).sort();
    ssoIds = settingsIds;
    flowIds = Object.keys(flowList ?? {}).sort();
  }
  const exists = (id: string): boolean => tenants?.tenants[id] !== undefined;
  const liveSettingsIds = distinct(settingsIds).filter(exists);
  const ssoToRead = distinct(ssoIds).filter((id) => exists(id) && hasSso(tenants, id));
  const flowsToExport = distinct(flowIds).filter((id) => flowList?.[id] !== undefined);

  const [roles, settings, sso, flows] = await Promise.all([
    scope.roles ? readRoles(api, Object.keys(tenants?.tenants ?? {})) : undefined,
    Promise.all(liveSettingsIds.map(async (id) => [id, await readTenantSettings(api, id)] as const)),
    Promise.all(ssoToRead.map(async (id) => [id, await readTenantSso(api, id)] as const)),
    Promise.all(flowsToExport.map(async (id) => [id, await exportFlow(api, id)] as const)),
  ]);

  if (roles) {
    state.roles = roles.roles;
    handles.roleIds = roles.ids;
  }
  if (settingsIds.length > 0) {
    state.tenantSettings = Object.fromEntries(settings) as Record<string, CanonicalTenantSettings>;
  }
  if (ssoIds.length > 0) {
    const out: Record<string, CanonicalSso | null> = {};
    // A declared tenant that exists but has no SSO reads as null without a call.
    for (const id of distinct(ssoIds).filter(exists)) out[id] = null;
    for (const [id, value] of sso) out[id] = value;
    state.tenantSso = out;
  }
  if (flowIds.length > 0 || scope.flows) state.flows = Object.fromEntries(flows);

  return { state, handles };
}

/**
 * The scope that covers a desired state: every kind it holds (an empty record still means
 * "managed", e.g. to prune), the settings and SSO of the tenants it gives them, the flows it
 * declares. `prune` adds kinds the config lists nothing of but wants emptied.
 */
export function scopeOf(desired: DesiredState, prune: { tenants?: boolean; roles?: boolean; permissions?: boolean; flows?: boolean } = {}): LiveScope {
  return {
    tenants: desired.tenants !== undefined || prune.tenants === true,
    roles: desired.roles !== undefined || prune.roles === true,
    permissions: desired.permissions !== undefined || prune.permissions === true,
    flows: desired.flows !== undefined || prune.flows === true,
    theme: desired.theme !== undefined,
    passwordPolicy: desired.passwordPolicy !== undefined,
    tenantSettings: Object.keys(desired.tenantSettings ?? {}),
    tenantSso: Object.keys(desired.tenantSso ?? {}),
    flowExports: Object.keys(desired.flows ?? {}),
  };
}

function hasSso(tenants: LiveTenants | undefined, id: string): boolean {
  // Only an explicit `none` saves the call; an unreported authType is read.
  return tenants?.authTypes[id] !== 'none';
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
