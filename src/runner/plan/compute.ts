// computePlan: the desired project against the live snapshot → a Plan. Pure and synchronous.
//
// Per address: create (not live), update (a managed field differs; the record written is the live
// one with the managed fields replaced, since Descope's updates are full replaces), replace (a
// tenant whose parent changes: Descope cannot move a tenant), delete (a live resource the config
// does not declare, of a kind the config prunes), or unmanaged (the same, without prune: left
// alone). Deletes and replaces are held back unless `allowDelete`. A protected resource that the
// plan would replace is an error.
import {
  comparableSso,
  flowAddress,
  permissionAddress,
  roleAddress,
  sameCanonical,
  tenantAddress,
  tenantSettingsAddress,
  tenantSsoAddress,
  PASSWORD_POLICY_ADDRESS,
  THEME_ADDRESS,
  canonicalAddress,
  parseAddress,
  type AddressKind,
  type ParsedAddress,
  type CanonicalPasswordPolicy,
  type CanonicalRole,
  type CanonicalSso,
  type LiveScope,
  type LiveSnapshot,
} from '../../runtime/index.ts';
import { PlanError } from '../../errors.ts';
import type { Desired, DesiredProject } from './desired.ts';
import { computeFlowChange } from './flow-diff.ts';
import { computeLiveFingerprint, computePlanFingerprint, type PlanBody } from './fingerprint.ts';
import {
  dependenciesOf,
  flowIdOf,
  KIND_ORDER,
  PLAN_FORMAT,
  PLAN_VERSION,
  type Change,
  type FieldChange,
  type Kind,
  type Plan,
  type PlanOptions,
  type UnmanagedResource,
} from './types.ts';

export interface ComputePlanOptions extends PlanOptions {
  environment?: string;
  projectId?: string;
  /** ISO time; the caller passes it so the function stays pure. */
  createdAt?: string;
  /** What was read to make `live` (recorded for apply --plan). */
  scope?: LiveScope;
  /** The option the targets came from, for messages: `--target` (diff, apply), `--only` (rollback). */
  targetFlag?: string;
  /** What the desired side is, for messages: `the config` (default), `the backup`. */
  desiredSource?: string;
  /**
   * `ignore`: a target that names nothing selects nothing, instead of being an error. A rollback's
   * verification needs it: `--only tenants/y`, where the restore deleted y, names nothing after.
   */
  unknownTargets?: 'error' | 'ignore';
}

/** The fields that differ, in the order of `managed` (sorted), comparing canonical JSON. */
export function diffFields(desired: object, managed: readonly string[], live: object | undefined): FieldChange[] {
  const out: FieldChange[] = [];
  for (const field of [...managed].sort()) {
    const after = (desired as Record<string, unknown>)[field];
    const before = live === undefined ? undefined : (live as Record<string, unknown>)[field];
    if (after === undefined || sameCanonical(after, before)) continue;
    out.push({ field, ...(before === undefined ? {} : { before }), after });
  }
  return out;
}

/** The live record with the managed fields of the desired one written over it. */
function merge<T extends object>(live: T, desired: Desired<T> | Desired<Partial<T>>): T {
  const out = { ...live } as Record<string, unknown>;
  for (const field of desired.managed) {
    const value = (desired.value as Record<string, unknown>)[field];
    if (value !== undefined) out[field] = value;
  }
  return out as T;
}

/** The fields a create sets: every managed one (with its value). */
function createdFields(desired: { value: object; managed: readonly string[] }): FieldChange[] {
  return [...desired.managed]
    .sort((a, b) => (a === 'name' ? -1 : b === 'name' ? 1 : a < b ? -1 : a > b ? 1 : 0))
    .filter((field) => (desired.value as Record<string, unknown>)[field] !== undefined)
    .map((field) => ({ field, after: (desired.value as Record<string, unknown>)[field] }));
}

export function computePlan(desired: DesiredProject, live: LiveSnapshot, options: ComputePlanOptions = {}): Plan {
  const allowDelete = options.allowDelete === true;
  const state = live.state;
  const handles = live.handles;
  const changes: Change[] = [];
  const unmanaged: UnmanagedResource[] = [];
  const prune = desired.prune;
  const keep = new Set(desired.keep ?? []);

  const leftAlone = (address: string, kind: Kind): void => {
    unmanaged.push({ address, kind });
  };

  // --- Tenants (the record; settings and SSO are their own addresses) ---------------------------
  /** Tenants that will not exist live when their sub-resources are written from scratch. */
  const replaced = new Set<string>();
  for (const id of Object.keys(desired.tenants).sort()) {
    const want = desired.tenants[id]!;
    const have = state.tenants?.[id];
    const address = tenantAddress(id);
    if (!have) {
      changes.push({ kind: 'tenant', address, action: 'create', fields: createdFields(want), after: want.value, dependsOn: [] });
      continue;
    }
    const fields = diffFields(want.value, want.managed, have);
    if (fields.length === 0) continue;
    const after = merge(have, want);
    const extras = handles.tenantExtras[id] ?? {};
    if (fields.some((f) => f.field === 'parent')) {
      if (want.protect) {
        throw new PlanError(
          `${address}: the config moves it to parent "${want.value.parent ?? '(none)'}", which Descope can only do by deleting and re-creating the tenant, and it is protected`,
          { hint: `keep parent "${have.parent ?? ''}" in the config, or remove protect: true to allow the replacement` },
        );
      }
      replaced.add(id);
      changes.push({
        kind: 'tenant',
        address,
        action: 'replace',
        reason: 'parent is set at creation only, so the tenant is deleted and created again; its members, SSO, settings and tenant roles are lost',
        fields,
        before: have,
        after,
        extras,
        dependsOn: [],
      });
      continue;
    }
    changes.push({ kind: 'tenant', address, action: 'update', fields, before: have, after, extras, dependsOn: [] });
  }
  // A replaced tenant starts empty: its settings, SSO and roles are written as new.
  const startsEmpty = (id: string): boolean => !state.tenants?.[id] || (replaced.has(id) && allowDelete);

  for (const id of Object.keys(state.tenants ?? {}).sort()) {
    if (desired.tenants[id]) continue;
    const address = tenantAddress(id);
    if (prune.tenants && !keep.has(address)) {
      changes.push({ kind: 'tenant', address, action: 'delete', fields: [], before: state.tenants![id]!, dependsOn: [] });
    } else leftAlone(address, 'tenant');
  }

  // --- Tenant settings ------------------------------------------------------------------------------
  for (const id of Object.keys(desired.tenantSettings).sort()) {
    const want = desired.tenantSettings[id]!;
    const address = tenantSettingsAddress(id);
    const have = startsEmpty(id) ? undefined : state.tenantSettings?.[id];
    if (!have) {
      changes.push({ kind: 'tenantSettings', address, tenant: id, action: 'create', fields: createdFields(want), after: want.value, dependsOn: [] });
      continue;
    }
    const fields = diffFields(want.value, want.managed, have);
    if (fields.length > 0) {
      changes.push({ kind: 'tenantSettings', address, tenant: id, action: 'update', fields, before: have, after: merge(have, want), dependsOn: [] });
    }
  }

  // --- Tenant SSO -----------------------------------------------------------------------------------
  for (const id of Object.keys(desired.tenantSso).sort()) {
    const want = desired.tenantSso[id]!;
    const address = tenantSsoAddress(id);
    const have = startsEmpty(id) ? null : state.tenantSso?.[id] ?? null;
    if (have === null) {
      const fields = createdFields(want);
      if (want.value.type === 'oidc' && want.value.clientSecret) {
        fields.push({ field: 'clientSecret', after: want.value.clientSecret });
        fields.sort((a, b) => (a.field === 'name' ? -1 : b.field === 'name' ? 1 : a.field < b.field ? -1 : 1));
      }
      changes.push({ kind: 'tenantSso', address, tenant: id, action: 'create', fields, after: want.value, dependsOn: [] });
      continue;
    }
    if (have.type !== want.value.type) {
      const fields: FieldChange[] = [
        { field: 'type', before: have.type, after: want.value.type },
        ...diffFields(comparableSso(want.value)!, want.managed.filter((f) => f !== 'type'), undefined),
      ];
      changes.push({ kind: 'tenantSso', address, tenant: id, action: 'update', fields, before: have, after: want.value, dependsOn: [] });
      continue;
    }
    const fields = diffFields(comparableSso(want.value)!, want.managed, comparableSso(have)!);
    if (fields.length === 0) continue;
    const after = merge(comparableSso(have)!, want as Desired<CanonicalSso>);
    if (want.value.type === 'oidc' && want.value.clientSecret) (after as Extract<CanonicalSso, { type: 'oidc' }>).clientSecret = want.value.clientSecret;
    changes.push({ kind: 'tenantSso', address, tenant: id, action: 'update', fields, before: comparableSso(have)!, after, dependsOn: [] });
  }

  for (const id of [...(desired.tenantSsoAbsent ?? [])].sort()) {
    const have = startsEmpty(id) ? null : state.tenantSso?.[id] ?? null;
    if (have !== null && !desired.tenantSso[id]) {
      changes.push({ kind: 'tenantSso', address: tenantSsoAddress(id), tenant: id, action: 'delete', fields: [], before: comparableSso(have)!, dependsOn: [] });
    }
  }

  // --- Permissions ---------------------------------------------------------------------------------
  for (const name of Object.keys(desired.permissions).sort()) {
    const want = desired.permissions[name]!;
    const have = state.permissions?.[name];
    const address = permissionAddress(name);
    const id = handles.permissionIds[name];
    if (!have) {
      changes.push({ kind: 'permission', address, action: 'create', fields: createdFields(want), after: want.value, dependsOn: [] });
      continue;
    }
    const fields = diffFields(want.value, want.managed, have);
    if (fields.length > 0) {
      changes.push({ kind: 'permission', address, action: 'update', fields, before: have, after: merge(have, want), ...(id ? { id } : {}), dependsOn: [] });
    }
  }
  for (const name of Object.keys(state.permissions ?? {}).sort()) {
    if (desired.permissions[name]) continue;
    const address = permissionAddress(name);
    if (prune.permissions && !keep.has(address)) {
      const id = handles.permissionIds[name];
      changes.push({ kind: 'permission', address, action: 'delete', fields: [], before: state.permissions![name]!, ...(id ? { id } : {}), dependsOn: [] });
    } else leftAlone(address, 'permission');
  }

  // --- Roles ---------------------------------------------------------------------------------------
  const liveRoles = state.roles ?? {};
  const consumed = new Set<string>();
  for (const address of Object.keys(desired.roles).sort()) {
    const want = desired.roles[address]!;
    const tenantGone = want.value.tenant !== undefined && startsEmpty(want.value.tenant);
    let have: CanonicalRole | undefined = tenantGone ? undefined : liveRoles[address];
    let from: string | undefined;
    if (!have && !tenantGone && want.renamedFrom && !desired.roles[want.renamedFrom] && liveRoles[want.renamedFrom]) {
      from = want.renamedFrom;
      have = liveRoles[from];
    }
    if (!have && !tenantGone && want.id) {
      // The same role (by server id) under another name: rename it back, so users keep it.
      const sameId = Object.keys(handles.roleIds).find((a) => handles.roleIds[a] === want.id && !desired.roles[a] && liveRoles[a]);
      if (sameId) {
        from = sameId;
        have = liveRoles[sameId];
      }
    }
    if (!have) {
      changes.push({ kind: 'role', address, action: 'create', fields: createdFields(want), after: want.value, dependsOn: [] });
      continue;
    }
    const liveAddress = from ?? address;
    consumed.add(liveAddress);
    const fields = diffFields(want.value, want.managed, have);
    // A rename: the name is a change (once: a backup's role manages its name already).
    if (from && !fields.some((f) => f.field === 'name')) fields.unshift({ field: 'name', before: have.name, after: want.value.name });
    if (fields.length === 0) continue;
    const id = handles.roleIds[liveAddress];
    changes.push({
      kind: 'role',
      address,
      action: 'update',
      fields,
      before: have,
      after: { ...merge(have, want), name: want.value.name },
      ...(id ? { id } : {}),
      ...(from ? { renamedFrom: from } : {}),
      dependsOn: [],
    });
  }
  for (const address of Object.keys(liveRoles).sort()) {
    if (desired.roles[address] || consumed.has(address)) continue;
    const role = liveRoles[address]!;
    // Prune covers project roles and the roles of declared tenants, never those of tenants the
    // config does not manage.
    const inScope = role.tenant === undefined || desired.tenants[role.tenant] !== undefined;
    if (role.tenant !== undefined && startsEmpty(role.tenant) && desired.tenants[role.tenant]) continue; // goes with the replaced tenant
    // Goes with its tenant, which prune deletes.
    if (role.tenant !== undefined && prune.tenants && !desired.tenants[role.tenant] && !keep.has(tenantAddress(role.tenant))) continue;
    if (prune.roles && inScope && !keep.has(address)) {
      const id = handles.roleIds[address];
      changes.push({ kind: 'role', address, action: 'delete', fields: [], before: role, ...(id ? { id } : {}), dependsOn: [] });
    } else leftAlone(address, 'role');
  }

  // --- Password policy and theme -------------------------------------------------------------------
  if (desired.passwordPolicy) {
    const want = desired.passwordPolicy;
    const have = state.passwordPolicy;
    const fields = diffFields(want.value, want.managed, have);
    if (fields.length > 0) {
      changes.push({
        kind: 'passwordPolicy',
        address: PASSWORD_POLICY_ADDRESS,
        action: 'update',
        fields,
        ...(have ? { before: have } : {}),
        // Descope always reports a password policy; without one, write what the config sets.
        after: have ? merge<CanonicalPasswordPolicy>(have, want) : (want.value as CanonicalPasswordPolicy),
        dependsOn: [],
      });
    }
  }
  if (desired.theme) {
    const want = desired.theme;
    const have = state.theme;
    const fields = diffFields(want.value, want.managed, have);
    if (fields.length > 0) {
      changes.push({
        kind: 'theme',
        address: THEME_ADDRESS,
        action: 'update',
        fields,
        ...(have ? { before: have } : {}),
        after: have ? merge(have, want) : want.value,
        ...(handles.themeId ? { id: handles.themeId } : {}),
        dependsOn: [],
      });
    }
  }

  // --- Flows ----------------------------------------------------------------------------------------
  for (const id of Object.keys(desired.flows).sort()) {
    const want = desired.flows[id]!;
    const address = flowAddress(id);
    const have = state.flows?.[id];
    if (!have) {
      changes.push({ kind: 'flow', address, action: 'create', fields: [], after: want.value, flowDiff: computeFlowChange(undefined, want.value), dependsOn: [] });
      continue;
    }
    if (sameCanonical(have, want.value)) continue;
    const flowDiff = computeFlowChange(have, want.value);
    const fields = diffFields(want.value.flow, ['name', 'description', 'disabled'], have.flow).map((f) => ({ ...f, field: `flow.${f.field}` }));
    changes.push({ kind: 'flow', address, action: 'update', fields, before: have, after: want.value, flowDiff, dependsOn: [] });
  }
  for (const id of Object.keys(state.flowSummaries ?? {}).sort()) {
    if (desired.flows[id]) continue;
    const address = flowAddress(id);
    const summary = state.flowSummaries![id]!;
    if (prune.flows && !keep.has(address)) {
      changes.push({ kind: 'flow', address, action: 'delete', fields: [], before: { id, name: summary.name }, dependsOn: [] });
    } else leftAlone(address, 'flow');
  }

  addDependencies(changes, desired);
  const ordered = orderChanges(changes);
  const targets = normalizeTargets(options.targets ?? [], options.targetFlag);
  const selected = targets.length > 0 ? selectTargets(ordered, targets, desired, state, options) : ordered;
  const kept = selected.filter((c) => allowDelete || (c.action !== 'delete' && c.action !== 'replace'));
  const held = selected.filter((c) => !allowDelete && (c.action === 'delete' || c.action === 'replace'));
  // A change that needs a held one cannot run either: hold it too.
  const heldAddresses = new Set(held.map((c) => c.address));
  let moved = true;
  while (moved) {
    moved = false;
    for (const change of kept) {
      if (!heldAddresses.has(change.address) && dependenciesOf(change).some((a) => heldAddresses.has(a))) {
        heldAddresses.add(change.address);
        moved = true;
      }
    }
  }
  const finalChanges = kept.filter((c) => !heldAddresses.has(c.address));
  const finalHeld = [...held, ...kept.filter((c) => heldAddresses.has(c.address) && c.action !== 'delete' && c.action !== 'replace')];
  const read = targets.map(readTarget);
  const shownUnmanaged = targets.length > 0 ? unmanaged.filter((u) => read.some((t) => matchesTarget(u.address, t))) : unmanaged;

  const count = (action: Change['action']) => finalChanges.filter((c) => c.action === action).length;
  const body: PlanBody = {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    environment: options.environment ?? '',
    projectId: options.projectId ?? '',
    allowDelete,
    targets,
    scope: options.scope ?? {},
    liveFingerprint: computeLiveFingerprint(live),
    changes: finalChanges,
    held: finalHeld,
    unmanaged: shownUnmanaged,
    summary: {
      create: count('create'),
      update: count('update'),
      replace: count('replace'),
      delete: count('delete'),
      unmanaged: shownUnmanaged.length,
      held: finalHeld.length,
    },
  };
  return { ...body, createdAt: options.createdAt ?? '', fingerprint: computePlanFingerprint(body) };
}

/**
 * Fills in `dependsOn`: what must land before each change. Roles need the permissions they name and
 * their tenant; a tenant's default roles, SSO role mappings, settings and SSO need the tenant and
 * the roles they name; a tenant needs its parent; a flow its sub-flows. A delete of a parent tenant
 * waits for the deletes of its children.
 */
function addDependencies(changes: Change[], desired: DesiredProject): void {
  const pending = new Map<string, Change>();
  for (const change of changes) if (change.action !== 'delete') pending.set(change.address, change);
  const need = (change: Change, address: string | undefined): void => {
    if (address && address !== change.address && pending.has(address) && !change.dependsOn.includes(address)) {
      change.dependsOn.push(address);
    }
  };
  const roleFor = (name: string, tenant: string | undefined): string | undefined => {
    const scoped = tenant ? roleAddress({ name, tenant }) : undefined;
    if (scoped && (desired.roles[scoped] || pending.has(scoped))) return scoped;
    return roleAddress({ name });
  };
  for (const change of changes) {
    if (change.action === 'delete') {
      if (change.kind === 'tenant') {
        for (const other of changes) {
          if (other.kind === 'tenant' && other.action === 'delete' && other.before?.parent === change.before?.id) {
            change.dependsOn.push(other.address);
          }
        }
      }
      continue;
    }
    switch (change.kind) {
      case 'role':
        for (const permission of change.after?.permissions ?? []) need(change, permissionAddress(permission));
        if (change.after?.tenant) {
          // Only a tenant that does not exist yet must land first. A live tenant's update may be
          // the setting of default roles that name this very role: waiting for it is a cycle (an
          // apply killed after the tenants and before their roles leaves exactly that).
          const tenant = pending.get(tenantAddress(change.after.tenant));
          if (tenant && (tenant.action === 'create' || tenant.action === 'replace')) need(change, tenant.address);
        }
        break;
      case 'tenant': {
        if (change.after?.parent) need(change, tenantAddress(change.after.parent));
        const roles = new Set<string>();
        for (const role of change.after?.defaultRoles ?? []) {
          const address = roleFor(role, change.after?.id);
          if (address && pending.has(address)) roles.add(address);
        }
        if (roles.size > 0) change.defaultRolesDependOn = [...roles].sort();
        break;
      }
      case 'tenantSettings':
        need(change, tenantAddress(change.tenant));
        break;
      case 'tenantSso': {
        need(change, tenantAddress(change.tenant));
        const sso = change.after;
        if (!sso) break;
        for (const mapping of sso.roleMappings) need(change, roleFor(mapping.role, change.tenant));
        if (sso.type !== 'oidc') for (const role of sso.defaultSSORoles) need(change, roleFor(role, change.tenant));
        break;
      }
      case 'flow':
        for (const id of desired.flows[flowIdOf(change)]?.dependsOn ?? []) need(change, flowAddress(id));
        break;
      default:
        break;
    }
  }
  for (const change of changes) change.dependsOn.sort();
}

/** Creates, updates and replaces in kind order, then deletes in reverse kind order; by address within a kind. */
export function orderChanges(changes: readonly Change[]): Change[] {
  const rank = (c: Change): number => {
    const index = KIND_ORDER.indexOf(c.kind);
    return c.action === 'delete' ? KIND_ORDER.length * 2 - index : index;
  };
  return [...changes].sort((a, b) => rank(a) - rank(b) || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** A target as the plan uses it: a kind name (`tenants`: every address of it) or an address in the builders' spelling. */
type Target = { all: AddressKind[] } | { address: string; parsed: ParsedAddress };

/** The kinds a kind-name target covers: `tenants` also means every tenant's settings and SSO. */
const KIND_TARGETS: Record<string, AddressKind[]> = {
  tenants: ['tenant', 'tenantSettings', 'tenantSso'],
  roles: ['role'],
  permissions: ['permission'],
  flows: ['flow'],
};

const TARGET_HINT =
  'use an address as diff prints it, e.g. tenants/acme, roles/acme/Admin, flows/sign-up-or-in, theme, or a kind: tenants, roles, permissions, flows; in a name, "/" is written %2F and "%" %25 (the project role "acme/Agent" is roles/acme%2FAgent)';

/** The targets as typed, read: kind names kept, addresses in the builders' spelling; anything else is an error. */
export function normalizeTargets(targets: readonly string[], flag = '--target'): string[] {
  return targets.map((text) => {
    if (Object.hasOwn(KIND_TARGETS, text)) return text;
    const address = canonicalAddress(text);
    if (address === undefined) throw new PlanError(`${flag} ${text}: not an address`, { hint: TARGET_HINT });
    return address;
  });
}

function readTarget(text: string): Target {
  const kinds = Object.hasOwn(KIND_TARGETS, text) ? KIND_TARGETS[text] : undefined;
  if (kinds) return { all: kinds };
  return { address: text, parsed: parseAddress(text)! };
}

function matchesTarget(address: string, target: Target): boolean {
  if ('all' in target) {
    const parsed = parseAddress(address);
    return parsed !== undefined && target.all.includes(parsed.kind);
  }
  if (address === target.address) return true;
  // `tenants/acme` also means its settings and SSO.
  if (target.parsed.kind !== 'tenant') return false;
  const parsed = parseAddress(address);
  return (parsed?.kind === 'tenantSettings' || parsed?.kind === 'tenantSso') && parsed.tenant === target.parsed.id;
}

/** The address with its segments unescaped: how someone who does not know the escaping would type it. */
function typedLike(address: string): string {
  const parsed = parseAddress(address);
  if (!parsed) return address;
  switch (parsed.kind) {
    case 'tenant':
      return `tenants/${parsed.id}`;
    case 'tenantSettings':
      return `tenants/${parsed.tenant}/settings`;
    case 'tenantSso':
      return `tenants/${parsed.tenant}/sso`;
    case 'role':
      return parsed.tenant ? `roles/${parsed.tenant}/${parsed.name}` : `roles/${parsed.name}`;
    case 'permission':
      return `permissions/${parsed.name}`;
    case 'flow':
      return `flows/${parsed.id}`;
    default:
      return address;
  }
}

/** The changes the targets name, plus everything they depend on (transitively). */
function selectTargets(
  changes: readonly Change[],
  targets: readonly string[],
  desired: DesiredProject,
  state: LiveSnapshot['state'],
  options: Pick<ComputePlanOptions, 'targetFlag' | 'desiredSource' | 'unknownTargets'>,
): Change[] {
  const known = new Set<string>([
    ...Object.keys(KIND_TARGETS),
    THEME_ADDRESS,
    PASSWORD_POLICY_ADDRESS,
    ...Object.keys(desired.tenants).map(tenantAddress),
    ...Object.keys(state.tenants ?? {}).map(tenantAddress),
    ...Object.keys(desired.tenantSettings).map(tenantSettingsAddress),
    ...Object.keys(desired.tenantSso).map(tenantSsoAddress),
    ...Object.keys(desired.roles),
    ...Object.keys(state.roles ?? {}),
    ...Object.keys(desired.permissions).map(permissionAddress),
    ...Object.keys(state.permissions ?? {}).map(permissionAddress),
    ...Object.keys(desired.flows).map(flowAddress),
    ...Object.keys(state.flowSummaries ?? {}).map(flowAddress),
  ]);
  const unknown = targets.filter((t) => !known.has(t));
  if (unknown.length > 0 && options.unknownTargets !== 'ignore') {
    const first = unknown[0]!;
    const flag = options.targetFlag ?? '--target';
    // `roles/acme/Agent` typed for the project role `acme/Agent`: say how it is spelt.
    const meant = [...known].filter((k) => k !== first && typedLike(k) === typedLike(first));
    throw new PlanError(`${flag} ${first}: no such address in ${options.desiredSource ?? 'the config'} or the live project`, {
      hint: meant.length > 0 ? `did you mean ${meant.map((m) => `${flag} ${m}`).join(' or ')}? In a name, "/" is written %2F and "%" %25` : TARGET_HINT,
    });
  }
  const chosenTargets = targets.filter((t) => known.has(t)).map(readTarget);
  const byAddress = new Map(changes.map((c) => [c.address, c]));
  const chosen = new Set<string>();
  const visit = (address: string): void => {
    if (chosen.has(address) || !byAddress.has(address)) return;
    chosen.add(address);
    for (const dep of dependenciesOf(byAddress.get(address)!)) visit(dep);
  };
  for (const change of changes) if (chosenTargets.some((t) => matchesTarget(change.address, t))) visit(change.address);
  return changes.filter((c) => chosen.has(c.address));
}
