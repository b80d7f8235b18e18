// The desired side of the plan: the checked config and its rendered documents, normalised into the
// canonical model (the same normalisers the runtime uses on live records), each record with the
// list of fields the config actually sets. Only those fields are managed: a field the config leaves
// out is whatever it is live, and never shows as a change. Pure.
import type { PruneOptions, TenantSso } from '../../dsl/types.ts';
import { PlanError } from '../../errors.ts';
import {
  normalizeFlow,
  normalizePasswordPolicy,
  normalizePermission,
  normalizeRole,
  normalizeSso,
  normalizeTenant,
  normalizeTenantSettings,
  normalizeTheme,
  flowAddress,
  permissionAddress,
  roleAddress,
  tenantAddress,
  type CanonicalFlow,
  type CanonicalPasswordPolicy,
  type CanonicalPermission,
  type CanonicalRole,
  type CanonicalSso,
  type CanonicalTenant,
  type CanonicalTenantSettings,
  type CanonicalTheme,
  type FlowDocument,
  type LiveScope,
  type LiveState,
  comparableSso,
} from '../../runtime/index.ts';
import type { ProjectSpec } from '../config/check-config.ts';
import { flowDependencies } from '../templates/flow-document.ts';
import type { RenderedProject } from '../templates/render-project.ts';

/** A desired record: the normalised value (defaults filled in, used on create) and the managed fields. */
export interface Desired<T> {
  value: T;
  /** Top-level fields the config sets; the others are left as they are live. */
  managed: (keyof T & string)[];
  protect: boolean;
}

export interface DesiredRole extends Desired<CanonicalRole> {
  /** The live address it had before a rename (`renamedFrom`). */
  renamedFrom?: string;
  /** Its server id, when known (a backup): a live role with this id under another name is renamed back. */
  id?: string;
}

export interface DesiredProject {
  tenants: Record<string, Desired<CanonicalTenant>>;
  tenantSettings: Record<string, Desired<Partial<CanonicalTenantSettings>>>;
  tenantSso: Record<string, Desired<CanonicalSso>>;
  /** Keyed by address. */
  roles: Record<string, DesiredRole>;
  /** Keyed by name. */
  permissions: Record<string, Desired<CanonicalPermission>>;
  /** Keyed by id. */
  flows: Record<string, Desired<CanonicalFlow> & { dependsOn: string[] }>;
  theme?: Desired<CanonicalTheme>;
  passwordPolicy?: Desired<Partial<CanonicalPasswordPolicy>>;
  prune: PruneOptions;
  /** Tenants that must have no SSO (a backup taken when they had none): live SSO is deleted. */
  tenantSsoAbsent?: string[];
  /** Live addresses never pruned (a backup knows they existed but holds too little to restore them). */
  keep?: string[];
}

function setKeys<T extends object>(input: object, allowed: readonly (keyof T & string)[]): (keyof T & string)[] {
  return allowed.filter((key) => (input as Record<string, unknown>)[key] !== undefined);
}

const TENANT_FIELDS = [
  'name',
  'selfProvisioningDomains',
  'customAttributes',
  'enforceSSO',
  'disabled',
  'parent',
  'defaultRoles',
] as const satisfies readonly (keyof CanonicalTenant)[];

const ROLE_FIELDS = ['description', 'permissions', 'default'] as const satisfies readonly (keyof CanonicalRole)[];

/** Every DSL SSO field has the same name in the canonical model. */
function ssoManaged(sso: TenantSso): (keyof CanonicalSso & string)[] {
  return Object.keys(sso).filter(
    (key) => key !== 'clientSecret' && (sso as unknown as Record<string, unknown>)[key] !== undefined,
  ) as (keyof CanonicalSso & string)[];
}

export function computeDesiredProject(spec: ProjectSpec, rendered: Pick<RenderedProject, 'flows' | 'theme'>): DesiredProject {
  const out: DesiredProject = {
    tenants: {},
    tenantSettings: {},
    tenantSso: {},
    roles: {},
    permissions: {},
    flows: {},
    prune: spec.prune,
  };
  for (const { spec: t } of spec.tenants) {
    const protect = t.protect === true;
    out.tenants[t.id] = { value: normalizeTenant(t), managed: ['name', ...setKeys<CanonicalTenant>(t, TENANT_FIELDS.slice(1))], protect };
    if (t.settings) {
      const value = normalizeTenantSettings(t.settings);
      out.tenantSettings[t.id] = { value, managed: Object.keys(value) as (keyof CanonicalTenantSettings)[], protect };
    }
    if (t.sso) out.tenantSso[t.id] = { value: normalizeSso(t.sso), managed: ssoManaged(t.sso), protect };
  }
  for (const { spec: p } of spec.permissions) {
    out.permissions[p.name] = {
      value: normalizePermission(p),
      managed: p.description === undefined ? [] : ['description'],
      protect: p.protect === true,
    };
  }
  for (const { spec: r, address } of spec.roles) {
    out.roles[address] = {
      value: normalizeRole(r),
      managed: setKeys<CanonicalRole>(r, ROLE_FIELDS),
      protect: r.protect === true,
      ...(r.renamedFrom !== undefined ? { renamedFrom: roleAddress({ name: r.renamedFrom, tenant: r.tenant }) } : {}),
    };
  }
  const protectedFlows = new Set(spec.flows.filter((f) => f.spec.protect === true).map((f) => f.spec.id));
  for (const flow of rendered.flows) {
    const value = normalizeFlow(flow.document as unknown as FlowDocument);
    out.flows[flow.id] = {
      value,
      managed: Object.keys(value) as (keyof CanonicalFlow & string)[],
      protect: protectedFlows.has(flow.id),
      dependsOn: flowDependencies(flow.document).filter((id) => id !== flow.id),
    };
  }
  if (rendered.theme) {
    const value = normalizeTheme(rendered.theme as { cssTemplate?: unknown; [key: string]: unknown });
    out.theme = { value, managed: Object.keys(value), protect: false };
  }
  if (spec.passwordPolicy) {
    const value = normalizePasswordPolicy(spec.passwordPolicy.spec);
    out.passwordPolicy = { value, managed: Object.keys(value) as (keyof CanonicalPasswordPolicy)[], protect: false };
  }
  return out;
}

/**
 * What to read live for this desired project: every list call (so unmanaged resources are seen),
 * the theme and password policy only when the config sets them, and per-item reads for the declared
 * tenants with settings or SSO and the declared flows.
 */
export function computeScope(desired: DesiredProject): LiveScope {
  return {
    tenants: true,
    roles: true,
    permissions: true,
    flows: true,
    theme: desired.theme !== undefined,
    passwordPolicy: desired.passwordPolicy !== undefined,
    tenantSettings: Object.keys(desired.tenantSettings).sort(),
    tenantSso: [...Object.keys(desired.tenantSso), ...(desired.tenantSsoAbsent ?? [])].sort(),
    flowExports: Object.keys(desired.flows).sort(),
  };
}

const ALL_TENANT_FIELDS = ['name', ...TENANT_FIELDS.slice(1)] as (keyof CanonicalTenant & string)[];

/**
 * A backup as the desired state (rollback): every field of every resource it holds is managed,
 * and every kind it listed is pruned (what was created after it is deleted). What it lists but
 * could not hold whole (a flow it did not export) is kept. A secret is never in a backup, so an
 * SSO configuration is written without one and Descope keeps the live secret.
 *
 * A backup's records are keyed by id, name or address, but the key is not trusted: each record is
 * filed under the key its own id or name gives, so the address a plan shows is the resource it
 * writes. Role keys are addresses, and backups older than escaped addresses spelt them
 * unescaped (`roles/acme/Agent` for the project role `acme/Agent`): their roles are re-keyed, and
 * their role ids follow the record they were stored beside. A tenant or permission filed under a
 * key that is not its own id or name, or two records of one address, mean the file was edited:
 * refused, naming `label` (the backup).
 */
export function computeDesiredFromBackup(state: LiveState, roleIds: Readonly<Record<string, string>> = {}, label = 'the backup'): DesiredProject {
  const all = <T extends object>(value: T, protect = false): Desired<T> => ({
    value,
    managed: Object.keys(value) as (keyof T & string)[],
    protect,
  });
  const damaged = (address: string, why: string): PlanError =>
    new PlanError(`${label}: ${address}: ${why}: the backup is damaged or was edited, and is not restored`, {
      hint: 'restore from another backup ("descope-run backup list")',
    });
  const out: DesiredProject = {
    tenants: {},
    tenantSettings: {},
    tenantSso: {},
    roles: {},
    permissions: {},
    flows: {},
    prune: {
      tenants: state.tenants !== undefined,
      roles: state.roles !== undefined,
      permissions: state.permissions !== undefined,
      flows: state.flowSummaries !== undefined,
    },
    tenantSsoAbsent: [],
    keep: [],
  };
  for (const [id, t] of Object.entries(state.tenants ?? {})) {
    if (t.id !== id) throw damaged(tenantAddress(id), `holds the tenant "${t.id}"`);
    out.tenants[id] = { value: t, managed: ALL_TENANT_FIELDS, protect: false };
  }
  for (const [id, settings] of Object.entries(state.tenantSettings ?? {})) out.tenantSettings[id] = all<Partial<CanonicalTenantSettings>>(settings);
  for (const [id, sso] of Object.entries(state.tenantSso ?? {})) {
    if (sso === null) {
      out.tenantSsoAbsent!.push(id);
      continue;
    }
    const value = comparableSso(sso)!;
    out.tenantSso[id] = all(value);
  }
  for (const [key, role] of Object.entries(state.roles ?? {})) {
    const address = roleAddress(role);
    if (out.roles[address]) throw damaged(address, 'holds this role twice');
    const id = roleIds[key];
    out.roles[address] = { ...all(role), ...(id ? { id } : {}) };
  }
  for (const [name, permission] of Object.entries(state.permissions ?? {})) {
    if (permission.name !== name) throw damaged(permissionAddress(name), `holds the permission "${permission.name}"`);
    out.permissions[name] = all(permission);
  }
  for (const id of Object.keys(state.flowSummaries ?? {})) {
    const document = state.flows?.[id];
    // Normalised again: a backup written before flows held only {flow, screens} may carry more.
    if (document) out.flows[id] = { ...all(normalizeFlow(document)), dependsOn: [] };
    else out.keep!.push(flowAddress(id));
  }
  if (state.theme) out.theme = all(state.theme);
  if (state.passwordPolicy) out.passwordPolicy = all<Partial<CanonicalPasswordPolicy>>(state.passwordPolicy);
  return out;
}
