// The plan: a value. computePlan (compute.ts) makes it from the desired and live canonical states;
// formatPlan (format.ts) renders it; applyPlan (apply.ts) carries it out. It is also the file
// `diff --out` saves and `apply --plan` reads (plan-file.ts), so everything in it is JSON.
//
// A plan never holds a secret: an OIDC client secret appears as its reference `{ env: NAME }`,
// resolved by apply from the environment at the moment of the write.
import type {
  CanonicalFlow,
  CanonicalPasswordPolicy,
  CanonicalPermission,
  CanonicalRole,
  CanonicalSso,
  CanonicalTenant,
  CanonicalTenantSettings,
  CanonicalTheme,
  LiveScope,
} from '../../runtime/index.ts';
import { parseAddress } from '../../dsl/address.ts';

export const PLAN_FORMAT = 'descope-run/plan';
export const PLAN_VERSION = 1;

/** The kinds, in apply order (deletes run in the reverse order). */
export const KIND_ORDER = [
  'permission',
  'role',
  'tenant',
  'tenantSettings',
  'tenantSso',
  'passwordPolicy',
  'theme',
  'flow',
] as const;
export type Kind = (typeof KIND_ORDER)[number];

export type Action = 'create' | 'update' | 'replace' | 'delete';

/** One changed field: a dotted path inside the record (`customAttributes`, `flow.name`). */
export interface FieldChange {
  field: string;
  /** Absent when the field is new. */
  before?: unknown;
  /** Absent when the field goes away. */
  after?: unknown;
}

/** What a flow change means: tasks and screens by id, and a unified diff of what changed. */
export interface FlowChangeSummary {
  tasksAdded: string[];
  tasksRemoved: string[];
  tasksChanged: string[];
  screensAdded: string[];
  screensRemoved: string[];
  screensChanged: string[];
  /** Flow-level fields other than the task graph (name, description, disabled, …). */
  otherChanged: string[];
  /** A unified diff of the canonical JSON of the changed parts only. */
  unifiedDiff: string;
}

interface ChangeBase {
  address: string;
  action: Action;
  /** For update and replace: each changed field, before and after. For create: the fields set. */
  fields: FieldChange[];
  /** Why an update cannot be made in place (replace only). */
  reason?: string;
  /** Addresses of changes in this plan that must land first. */
  dependsOn: string[];
}

export interface PermissionChange extends ChangeBase {
  kind: 'permission';
  /** The record to write (desired over live); absent for delete. */
  after?: CanonicalPermission;
  /** The live record; absent for create. */
  before?: CanonicalPermission;
  /** The live permission's server id, when the API reported one. */
  id?: string;
}

export interface RoleChange extends ChangeBase {
  kind: 'role';
  after?: CanonicalRole;
  before?: CanonicalRole;
  /** The live role's server id (updates and renames go by id). */
  id?: string;
  /** For a rename (`renamedFrom`): the live address it had. */
  renamedFrom?: string;
}

export interface TenantChange extends ChangeBase {
  kind: 'tenant';
  after?: CanonicalTenant;
  before?: CanonicalTenant;
  /** Live fields outside the model that an update sends back unchanged. */
  extras?: { roleInheritance?: '' | 'none' | 'userOnly' };
  /**
   * What setting the default roles needs (the roles they name), apart from `dependsOn` (what the
   * tenant record needs): a new tenant's own roles are created after it and before its default roles.
   */
  defaultRolesDependOn?: string[];
}

export interface TenantSettingsChange extends ChangeBase {
  kind: 'tenantSettings';
  tenant: string;
  /** The settings to write; a new tenant's lists only the managed ones (the rest keep Descope's defaults). */
  after: Partial<CanonicalTenantSettings>;
  before?: CanonicalTenantSettings;
}

export interface TenantSsoChange extends ChangeBase {
  kind: 'tenantSso';
  tenant: string;
  /** Absent for a delete (the tenant's SSO configuration removed). */
  after?: CanonicalSso;
  before?: CanonicalSso;
}

export interface PasswordPolicyChange extends ChangeBase {
  kind: 'passwordPolicy';
  after: CanonicalPasswordPolicy;
  before?: CanonicalPasswordPolicy;
}

export interface ThemeChange extends ChangeBase {
  kind: 'theme';
  after: CanonicalTheme;
  before?: CanonicalTheme;
  /** The live theme's id, sent back on export/import. */
  id?: string;
}

export interface FlowChange extends ChangeBase {
  kind: 'flow';
  /** The full document to import; absent for delete. */
  after?: CanonicalFlow;
  /** The flow as it is live: the document when exported, else its summary (for deletes). */
  before?: CanonicalFlow | { id: string; name: string };
  flowDiff?: FlowChangeSummary;
}

export type Change =
  | PermissionChange
  | RoleChange
  | TenantChange
  | TenantSettingsChange
  | TenantSsoChange
  | PasswordPolicyChange
  | ThemeChange
  | FlowChange;

/** A live resource the config does not declare: left alone. */
export interface UnmanagedResource {
  address: string;
  kind: Kind;
}

export interface PlanSummary {
  create: number;
  update: number;
  replace: number;
  delete: number;
  unmanaged: number;
  /** Deletes (and replaces) that prune or the config asks for but --allow-delete did not allow. */
  held: number;
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  /** The environment and project it was computed for (apply --plan refuses another). */
  environment: string;
  projectId: string;
  createdAt: string;
  /** The options it was computed with. */
  allowDelete: boolean;
  targets: string[];
  /** What was read: apply --plan reads the same scope again to check the fingerprint. */
  scope: LiveScope;
  /** sha256 of the live snapshot (state and server ids) the plan was computed from. */
  liveFingerprint: string;
  /** sha256 of the changes: identifies the plan in the audit log. */
  fingerprint: string;
  /** In apply order. */
  changes: Change[];
  /** Deletes and replaces held back because --allow-delete was not given. */
  held: Change[];
  unmanaged: UnmanagedResource[];
  summary: PlanSummary;
}

export interface PlanOptions {
  /** Carry out prune deletes and replaces (which delete first). Default false: they are held. */
  allowDelete?: boolean;
  /** Limit the plan to these addresses and the changes they depend on. */
  targets?: readonly string[];
}

/** Everything a change needs, the default roles' needs included. */
export function dependenciesOf(change: Change): string[] {
  return change.kind === 'tenant' && change.defaultRolesDependOn
    ? [...change.dependsOn, ...change.defaultRolesDependOn]
    : change.dependsOn;
}

/** The flow a flow change is about: its address carries the id (escaped), for creates, updates and deletes alike. */
export function flowIdOf(change: FlowChange): string {
  const parsed = parseAddress(change.address);
  if (parsed?.kind !== 'flow') throw new Error(`${change.address}: not the address of a flow`);
  return parsed.id;
}
