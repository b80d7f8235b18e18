// applyPlan: carries out a plan's changes, and only those, through the paced API; returns what
// happened to each. Every change becomes one or more steps (a new tenant is created, and its
// default roles set later, once its own roles exist). Steps run in rounds: each round takes the
// ready steps of the earliest kind in apply order (permissions, roles, tenants, SSO, tenant settings
// and default roles, password policy, theme, flows, then deletes in reverse) and runs them
// concurrently, batched where the API has batch calls; the scheduler paces them. A step whose
// dependency failed is skipped; everything else still runs.
//
// Every secret the plan's writes send is resolved and registered with the API before the first
// write, so that no error or wait that echoes it (a server quoting the request) shows it.
import { ApiError, EnvironmentError, isDescopeRunError } from '../../errors.ts';
import {
  createPermissions,
  createRoles,
  createTenant,
  deleteFlows,
  deletePermissions,
  deleteRoles,
  deleteTenant,
  deleteTenantSso,
  importFlow,
  MAX_BATCH,
  replaceTenant,
  setTenantDefaultRoles,
  updatePermissions,
  updateRoles,
  updateTenant,
  writePasswordPolicy,
  writeTenantSettings,
  writeTenantSso,
  writeTheme,
  type CanonicalSso,
  type DescopeApi,
} from '../../runtime/index.ts';
import { flowIdOf, KIND_ORDER, type Action, type Change, type Kind, type Plan } from '../plan/types.ts';

/**
 * The kinds in the order apply runs them: the plan's, except that a tenant's SSO (configured or
 * removed) goes before its settings. Descope's settings write is a full replace that also carries
 * the tenant's SSO domains and protocol, as read just before it; written after the SSO, it carries
 * the new ones, so neither write can undo the other, even when one of them lands late (a request
 * that timed out, was sent again, and still reached Descope afterwards).
 */
const APPLY_ORDER: readonly Kind[] = KIND_ORDER.flatMap((kind): Kind[] =>
  kind === 'tenantSettings' ? ['tenantSso', 'tenantSettings'] : kind === 'tenantSso' ? [] : [kind],
);

export type ChangeStatus = 'done' | 'failed' | 'skipped';

export interface ChangeError {
  /** HTTP status, when Descope answered. */
  status?: number;
  /** Descope's error code, e.g. E011003. */
  code?: string;
  message: string;
  /** What to do about it. */
  hint?: string;
}

export interface ChangeResult {
  address: string;
  kind: Kind;
  action: Action;
  status: ChangeStatus;
  error?: ChangeError;
}

export interface ApplyResult {
  results: ChangeResult[];
  durationMs: number;
}

export interface ApplyHooks {
  /** Resolves a secret reference (`{ env }`) at write time; undefined when it is not set. */
  resolveSecret?: (name: string) => string | undefined;
  /** A step starts (for a progress display). */
  onStart?: (address: string) => void;
  /** A change has settled (all its steps ran, failed or were skipped). */
  onSettled?: (result: ChangeResult, settled: number, total: number) => void;
  /** Milliseconds clock, for the duration (tests pass a fake one). */
  now?: () => number;
}

type Op =
  | 'permission.create'
  | 'permission.update'
  | 'permission.delete'
  | 'role.create'
  | 'role.update'
  | 'role.delete'
  | 'tenant.create'
  | 'tenant.update'
  | 'tenant.replace'
  | 'tenant.delete'
  | 'tenant.defaultRoles'
  | 'tenantSettings.write'
  | 'tenantSso.write'
  | 'tenantSso.delete'
  | 'passwordPolicy.write'
  | 'theme.write'
  | 'flow.import'
  | 'flow.delete';

const BATCHED: ReadonlySet<Op> = new Set<Op>([
  'permission.create',
  'permission.update',
  'permission.delete',
  'role.create',
  'role.update',
  'role.delete',
  'flow.delete',
]);

interface Step {
  key: string;
  op: Op;
  change: Change;
  rank: number;
  /** Keys of the steps that must be done first. */
  needs: string[];
  status?: ChangeStatus;
  error?: ChangeError;
}

const mainKey = (address: string): string => `${address}#main`;

function rankOf(kind: Kind, deleting: boolean): number {
  const index = APPLY_ORDER.indexOf(kind);
  // An SSO removal is not held to the end with the other deletes: see APPLY_ORDER.
  return deleting && kind !== 'tenantSso' ? APPLY_ORDER.length * 2 - index : index;
}

/** The steps of one change. The first is its "main" step, which the dependencies of others wait for. */
function stepsOf(change: Change): Step[] {
  const main = (op: Op, needs: readonly string[] = change.dependsOn): Step => ({
    key: mainKey(change.address),
    op,
    change,
    rank: rankOf(change.kind, change.action === 'delete'),
    needs: needs.map(mainKey),
  });
  switch (change.kind) {
    case 'permission':
    case 'role':
    case 'flow': {
      const verb = change.action === 'delete' ? 'delete' : change.kind === 'flow' ? 'import' : change.action === 'create' ? 'create' : 'update';
      return [main(`${change.kind}.${verb}` as Op)];
    }
    case 'tenant': {
      if (change.action === 'delete') return [main('tenant.delete')];
      const steps: Step[] = [];
      const recordChanged = change.action !== 'update' || change.fields.some((f) => f.field !== 'defaultRoles');
      const rolesChanged =
        change.action === 'update'
          ? change.fields.some((f) => f.field === 'defaultRoles')
          : (change.after?.defaultRoles.length ?? 0) > 0;
      if (recordChanged) steps.push(main(change.action === 'create' ? 'tenant.create' : change.action === 'replace' ? 'tenant.replace' : 'tenant.update'));
      if (rolesChanged) {
        const needs = [...(change.defaultRolesDependOn ?? []).map(mainKey), ...(recordChanged ? [mainKey(change.address)] : change.dependsOn.map(mainKey))];
        const step: Step = {
          key: recordChanged ? `${change.address}#defaultRoles` : mainKey(change.address),
          op: 'tenant.defaultRoles',
          change,
          rank: rankOf('tenantSettings', false),
          needs,
        };
        steps.push(step);
      }
      return steps;
    }
    case 'tenantSettings':
      return [main('tenantSettings.write')];
    case 'tenantSso':
      return [main(change.action === 'delete' ? 'tenantSso.delete' : 'tenantSso.write')];
    case 'passwordPolicy':
      return [main('passwordPolicy.write')];
    case 'theme':
      return [main('theme.write')];
  }
}

/**
 * What to do about a failed call, by its status (and whether Descope sent an error code: an
 * answer without one did not come from the Descope API). Shown under the change in the summary;
 * "run it again" holds for apply and rollback alike: what landed is not redone.
 */
export function suggestionFor(error: ChangeError): string {
  const status = error.status;
  if (status === 401 || status === 403) return 'check the management key, and that it belongs to this project';
  if (status === 404 && error.code === undefined) return 'the answer did not come from the Descope API: check the base URL (baseUrl or DESCOPE_BASE_URL)';
  if (status === 404) return 'the resource is gone from the live project: run diff to see it as it is now';
  if (status === 409) return 'it already exists live: run diff to see it as it is now';
  if (status === 429) {
    return "still rate limited after waiting: another client may be using this project's rate limit, or the environment's budget is above it (lower budget.requests); run it again later to finish";
  }
  if (status !== undefined && status >= 500) return 'Descope had a problem: retry later (running it again finishes the rest)';
  if (status === 400) return 'Descope refused the value: check this resource in the config';
  if (status === undefined) return 'Descope could not be reached or gave no answer: check the network and the base URL, then run it again to finish';
  return 'run diff to see the live project, then apply again';
}

function toChangeError(error: unknown): ChangeError {
  if (error instanceof ApiError || (isDescopeRunError(error) && 'status' in error)) {
    const api = error as ApiError;
    const out: ChangeError = { message: api.message };
    if (api.status !== undefined) out.status = api.status;
    if (api.errorCode !== undefined) out.code = api.errorCode;
    // The error's own hint (it knows the environment and the key variable) wins over the generic one.
    out.hint = api.hint ?? suggestionFor(out);
    return out;
  }
  if (isDescopeRunError(error)) return { message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  // A bug in descope-run is still reported per change, not lost: its message, and no stack.
  return { message: error instanceof Error ? error.message : String(error), hint: 'this looks like a bug in descope-run; please report it' };
}

/** The secret references a plan's writes need (their values are read at apply time). */
export function requiredSecrets(plan: Pick<Plan, 'changes'>): { address: string; env: string }[] {
  const out: { address: string; env: string }[] = [];
  for (const change of plan.changes) {
    if (change.kind !== 'tenantSso' || !change.after || change.after.type !== 'oidc') continue;
    const secret = change.after.clientSecret;
    if (secret && 'env' in secret) out.push({ address: change.address, env: secret.env });
  }
  return out;
}

function oidcSecret(address: string, sso: CanonicalSso, resolve: ApplyHooks['resolveSecret']): string | undefined {
  if (sso.type !== 'oidc' || !sso.clientSecret || !('env' in sso.clientSecret)) return undefined;
  const value = resolve?.(sso.clientSecret.env);
  if (value === undefined || value === '') {
    throw new EnvironmentError(`${address}: the client secret variable ${sso.clientSecret.env} is not set`, {
      hint: `export ${sso.clientSecret.env}, then apply again`,
    });
  }
  return value;
}

export async function applyPlan(api: DescopeApi, plan: Pick<Plan, 'changes'>, hooks: ApplyHooks = {}): Promise<ApplyResult> {
  const now = hooks.now ?? Date.now;
  const started = now();
  for (const { env } of requiredSecrets(plan)) {
    const value = hooks.resolveSecret?.(env);
    if (value) api.addSecret(value);
  }
  const steps = plan.changes.flatMap(stepsOf);
  const byKey = new Map(steps.map((s) => [s.key, s]));
  // Needs on steps outside the plan (already in place) are met.
  for (const step of steps) step.needs = step.needs.filter((key) => byKey.has(key) && key !== step.key);
  const stepsByChange = new Map<Change, Step[]>();
  for (const step of steps) stepsByChange.set(step.change, [...(stepsByChange.get(step.change) ?? []), step]);

  const results = new Map<Change, ChangeResult>();
  const settle = (change: Change): void => {
    if (results.has(change)) return;
    const own = stepsByChange.get(change) ?? [];
    if (own.some((s) => s.status === undefined)) return;
    const failed = own.find((s) => s.status === 'failed');
    const skipped = own.find((s) => s.status === 'skipped');
    const ran = own.some((s) => s.status === 'done');
    const status: ChangeStatus = failed ? 'failed' : skipped ? (ran ? 'failed' : 'skipped') : 'done';
    const problem = failed ?? skipped;
    const result: ChangeResult = {
      address: change.address,
      kind: change.kind,
      action: change.action,
      status,
      ...(problem?.error ? { error: problem.error } : {}),
    };
    results.set(change, result);
    hooks.onSettled?.(result, results.size, plan.changes.length);
  };

  const run = async (group: Step[]): Promise<void> => {
    for (const step of group) hooks.onStart?.(step.change.address);
    const finish = (members: Step[], error?: unknown): void => {
      for (const step of members) {
        step.status = error === undefined ? 'done' : 'failed';
        if (error !== undefined) step.error = toChangeError(error);
        settle(step.change);
      }
    };
    const tasks: Promise<void>[] = [];
    const byOp = new Map<Op, Step[]>();
    for (const step of group) byOp.set(step.op, [...(byOp.get(step.op) ?? []), step]);
    for (const [op, members] of byOp) {
      if (BATCHED.has(op)) {
        for (let index = 0; index < members.length; index += MAX_BATCH) {
          const batch = members.slice(index, index + MAX_BATCH);
          tasks.push(runBatch(api, op, batch.map((s) => s.change)).then(() => finish(batch), (error: unknown) => finish(batch, error)));
        }
      } else {
        for (const step of members) {
          tasks.push(runOne(api, step, hooks).then(() => finish([step]), (error: unknown) => finish([step], error)));
        }
      }
    }
    await Promise.all(tasks);
  };

  let pending = steps.filter((s) => s.status === undefined);
  while (pending.length > 0) {
    // Skip what needs a step that failed or was skipped.
    let skippedAny = true;
    while (skippedAny) {
      skippedAny = false;
      for (const step of pending) {
        if (step.status !== undefined) continue;
        const blocker = step.needs.map((key) => byKey.get(key)!).find((need) => need.status === 'failed' || need.status === 'skipped');
        if (blocker) {
          step.status = 'skipped';
          step.error = { message: `not attempted: it needs ${blocker.change.address}, which ${blocker.status === 'failed' ? 'failed' : 'was not attempted'}` };
          settle(step.change);
          skippedAny = true;
        }
      }
    }
    pending = pending.filter((s) => s.status === undefined);
    const ready = pending.filter((s) => s.needs.every((key) => byKey.get(key)!.status === 'done'));
    if (ready.length === 0) {
      // Only a dependency cycle gets here; computePlan does not make one, but never hang on it.
      for (const step of pending) {
        step.status = 'skipped';
        step.error = { message: 'not attempted: its dependencies form a cycle' };
        settle(step.change);
      }
      break;
    }
    const rank = Math.min(...ready.map((s) => s.rank));
    await run(ready.filter((s) => s.rank === rank));
    pending = pending.filter((s) => s.status === undefined);
  }

  return { results: plan.changes.map((change) => results.get(change)!), durationMs: now() - started };
}

async function runBatch(api: DescopeApi, op: Op, changes: Change[]): Promise<void> {
  switch (op) {
    case 'permission.create':
      return createPermissions(api, changes.map((c) => (c.kind === 'permission' ? c.after! : unreachable(c))));
    case 'permission.update':
      return updatePermissions(
        api,
        changes.map((c) => (c.kind === 'permission' ? { name: c.before!.name, id: c.id, permission: c.after! } : unreachable(c))),
      );
    case 'permission.delete':
      return deletePermissions(api, changes.map((c) => (c.kind === 'permission' ? c.before!.name : unreachable(c))));
    case 'role.create':
      await createRoles(api, changes.map((c) => (c.kind === 'role' ? c.after! : unreachable(c))));
      return;
    case 'role.update':
      return updateRoles(
        api,
        changes.map((c) => {
          if (c.kind !== 'role') return unreachable(c);
          if (!c.id) throw new ApiError(`${c.address}: the live role has no id to update it by`, { address: c.address });
          return { id: c.id, role: c.after! };
        }),
      );
    case 'role.delete':
      return deleteRoles(
        api,
        changes.map((c) => (c.kind === 'role' ? { name: c.before!.name, tenant: c.before!.tenant, id: c.id } : unreachable(c))),
      );
    case 'flow.delete':
      return deleteFlows(api, changes.map((c) => (c.kind === 'flow' ? flowIdOf(c) : unreachable(c))));
    default:
      throw new Error(`not a batch operation: ${op}`);
  }
}

async function runOne(api: DescopeApi, step: Step, hooks: ApplyHooks): Promise<void> {
  const c = step.change;
  switch (c.kind) {
    case 'tenant': {
      const id = (c.after ?? c.before)!.id;
      if (step.op === 'tenant.create') return createTenant(api, c.after!);
      if (step.op === 'tenant.update') return updateTenant(api, c.after!, c.extras ?? {});
      if (step.op === 'tenant.replace') return replaceTenant(api, c.after!);
      if (step.op === 'tenant.delete') return deleteTenant(api, id);
      if (step.op === 'tenant.defaultRoles') return setTenantDefaultRoles(api, id, c.after!.defaultRoles);
      break;
    }
    case 'tenantSettings':
      return writeTenantSettings(api, c.tenant, c.after);
    case 'tenantSso': {
      if (!c.after) return deleteTenantSso(api, c.tenant);
      const clientSecret = oidcSecret(c.address, c.after, hooks.resolveSecret);
      if (clientSecret !== undefined) api.addSecret(clientSecret);
      return writeTenantSso(api, c.tenant, c.after, clientSecret === undefined ? {} : { clientSecret });
    }
    case 'passwordPolicy':
      return writePasswordPolicy(api, c.after);
    case 'theme':
      return writeTheme(api, c.after, c.id ?? '');
    case 'flow':
      return importFlow(api, flowIdOf(c), c.after!);
    default:
      break;
  }
  throw new Error(`no operation ${step.op} for ${c.address}`);
}

function unreachable(change: Change): never {
  throw new Error(`${change.address}: a ${change.kind} change in the wrong batch`);
}
