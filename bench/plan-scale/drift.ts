// The out-of-band drift: 5 % of every kind changed in the emulator's state, as a colleague clicking
// in the console would leave it (fields edited, a few resources deleted, a few tenants added that
// the config does not know). Returns the state and the plan that drift must produce.
import type { EmulatorState, StoredTenant } from '../../src/emulator/index.ts';
import {
  flowId,
  permissionName,
  PROJECT_ROLES,
  REFERENCED_PERMISSIONS,
  roleName,
  SIZE,
  SSO_FROM,
  TENANT_ROLE_OWNERS_FROM,
  tenantId,
} from './project.ts';

export interface ExpectedPlan {
  create: number;
  update: number;
  delete: number;
  unmanaged: number;
}

export const SHARE = 0.05;
const share = (n: number): number => Math.ceil(n * SHARE);

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`plan-scale: ${what} is not in the seeded state`);
  return value;
}

export function computeDrift(seeded: EmulatorState): { state: EmulatorState; expected: ExpectedPlan } {
  const state = structuredClone(seeded);
  const expected: ExpectedPlan = { create: 0, update: 0, delete: 0, unmanaged: 0 };
  const tenants = new Map(state.tenants.map((t) => [t.id, t]));
  const tenant = (i: number): StoredTenant => must(tenants.get(tenantId(i)), tenantId(i));

  // Tenants: 500 = 400 edited + 50 deleted (the plan creates them) + 50 added (unmanaged). Edited
  // and deleted ones lie above every tenant with settings, SSO, tenant roles or a flow of its own.
  const tenantDrift = share(SIZE.tenants);
  const deleted = Math.round(tenantDrift / 10);
  const added = deleted;
  const edited = tenantDrift - deleted - added;
  for (let k = 0; k < edited; k += 1) {
    const t = tenant(1000 + k * 20);
    if (k % 3 === 0) t.name = `${t.name} (renamed)`;
    else if (k % 3 === 1) t.customAttributes = { ...t.customAttributes, plan: 'trial' };
    else t.selfProvisioningDomains = [...t.selfProvisioningDomains, `extra${k}.example.com`];
  }
  const gone = new Set(Array.from({ length: deleted }, (_, k) => tenantId(9000 + k * 10)));
  state.tenants = state.tenants.filter((t) => !gone.has(t.id));
  for (let k = 0; k < added; k += 1) {
    state.tenants.push({ ...structuredClone(tenant(SIZE.tenants - 1)), id: `console-${k}`, name: `Made in the console ${k}` });
  }
  expected.update += edited;
  expected.create += deleted;
  expected.unmanaged += added;

  // Tenant settings: 3 of 50 with another session lifetime.
  for (let i = 0; i < share(SIZE.settings); i += 1) {
    const settings = must(tenant(i).settings ?? undefined, `${tenantId(i)} settings`);
    settings['sessionTokenExpiration'] = 99;
  }
  expected.update += share(SIZE.settings);

  // SSO: 1 of 20 with another domain, 1 removed (its read is skipped: the tenant list says `none`).
  const ssoChanged = tenant(SSO_FROM).sso[0]!;
  ssoChanged.domains = ['changed.example.com'];
  const ssoRemoved = tenant(SSO_FROM + 1);
  ssoRemoved.sso[0] = { ssoId: '', displayName: '', authType: 'none', domains: [], saml: null, oidc: null, oidcClientSecret: '' };
  expected.update += 1;
  expected.create += 1;

  // Roles: 15 of 300 = 13 descriptions + 2 deleted project roles that nothing names.
  const roles = new Map(state.roles.map((r) => [`${r.tenantId}/${r.name}`, r]));
  const roleDrift = share(SIZE.roles);
  const rolesDeleted = new Set([roleName(PROJECT_ROLES - 1), roleName(PROJECT_ROLES - 2)]);
  for (let i = 10; i < 10 + roleDrift - rolesDeleted.size; i += 1) must(roles.get(`/${roleName(i)}`), roleName(i)).description = 'edited in the console';
  state.roles = state.roles.filter((r) => r.tenantId !== '' || !rolesDeleted.has(r.name));
  expected.update += roleDrift - rolesDeleted.size;
  expected.create += rolesDeleted.size;

  // Permissions: 10 of 200 = 9 descriptions + 1 deleted that no role names.
  const permissionDrift = share(SIZE.permissions);
  for (let i = 0; i < permissionDrift - 1; i += 1) {
    must(state.permissions.find((p) => p.name === permissionName(i)), permissionName(i)).description = 'edited in the console';
  }
  const unnamed = permissionName(SIZE.permissions - 1);
  if (SIZE.permissions - 1 < REFERENCED_PERMISSIONS) throw new Error('plan-scale: the deleted permission must be unreferenced');
  state.permissions = state.permissions.filter((p) => p.name !== unnamed);
  expected.update += permissionDrift - 1;
  expected.create += 1;

  // Flows: 3 of 50 = 2 renamed + 1 deleted.
  const flowDrift = share(SIZE.flows);
  for (let i = 10; i < 10 + flowDrift - 1; i += 1) {
    const stored = must(state.flows.find((f) => f.id === flowId(i)), flowId(i));
    stored.flow = { ...stored.flow, name: 'Renamed in the console' };
  }
  state.flows = state.flows.filter((f) => f.id !== flowId(SIZE.flows - 1));
  expected.update += flowDrift - 1;
  expected.create += 1;

  if (TENANT_ROLE_OWNERS_FROM + (SIZE.roles - PROJECT_ROLES) > 1000) throw new Error('plan-scale: tenant roles overlap the edited tenants');
  return { state, expected };
}

/**
 * The reads `diff` must make against `state`: one list call per kind in the config (tenants, roles,
 * permissions, flows; it has no theme or password policy), one export per declared flow that
 * exists, one settings read per declared tenant with settings that exists, one SSO read per
 * declared tenant with SSO that exists and has SSO live. `bound` is the formula, which
 * counts every declared flow, settings and SSO tenant whatever the live state.
 */
export function computeExpectedReads(state: EmulatorState): { expected: number; bound: number; detail: string } {
  const lists = 4;
  const flows = new Set(state.flows.map((f) => f.id));
  const tenants = new Map(state.tenants.map((t) => [t.id, t]));
  let exports = 0;
  for (let i = 0; i < SIZE.flows; i += 1) if (flows.has(flowId(i))) exports += 1;
  let settings = 0;
  for (let i = 0; i < SIZE.settings; i += 1) if (tenants.has(tenantId(i))) settings += 1;
  let sso = 0;
  for (let i = SSO_FROM; i < SSO_FROM + SIZE.sso; i += 1) if ((tenants.get(tenantId(i))?.sso[0]?.authType ?? 'none') !== 'none') sso += 1;
  return {
    expected: lists + exports + settings + sso,
    bound: lists + SIZE.flows + SIZE.settings + SIZE.sso,
    detail: `${lists} lists + ${exports} flow exports + ${settings} settings + ${sso} SSO`,
  };
}
