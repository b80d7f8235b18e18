// The plan's fingerprint, in one place: computePlan stamps it, readPlanFile checks a saved plan
// against it, and apply --plan compares the plan it re-derives with the saved one by it.
//
// It covers everything a plan says except its own fingerprint and the time it was made: the
// environment, the project, the options (allowDelete, targets), what was read (scope) and the
// live fingerprint, every change, held change and unmanaged resource, and the summary. So two
// plans with one fingerprint say the same thing, and a saved plan whose fingerprint equals the
// re-derived one's holds exactly what apply will show and do. It is no signature: anyone can
// recompute it, which is why apply re-derives the plan instead of trusting a file that matches.
//
// The lists are hashed item by item (canonical JSON, one per line, after their count): a plan of
// 100,000 tenants is hashed without one string of all of it, and two plans can be compared
// address by address with the same digests (changeDigests).
import { createHash, type Hash } from 'node:crypto';
import { canonicalJson, fingerprint, type LiveSnapshot } from '../../runtime/index.ts';
import type { Change, Plan } from './types.ts';

/** What the fingerprint covers: the plan without its fingerprint and its time of making. */
export type PlanBody = Omit<Plan, 'fingerprint' | 'createdAt'>;

export function computePlanFingerprint(plan: PlanBody): string {
  // Picked field by field (not "the rest"), so that a key a plan file adds is not silently
  // hashed, and a field added to Plan must be placed here (the `satisfies` says so).
  const head = {
    format: plan.format,
    version: plan.version,
    environment: plan.environment,
    projectId: plan.projectId,
    allowDelete: plan.allowDelete,
    targets: plan.targets,
    scope: plan.scope,
    liveFingerprint: plan.liveFingerprint,
    summary: plan.summary,
  } satisfies Record<Exclude<keyof PlanBody, 'changes' | 'held' | 'unmanaged'>, unknown>;
  const hash = createHash('sha256').update(canonicalJson(head));
  list(hash, 'changes', plan.changes);
  list(hash, 'held', plan.held);
  list(hash, 'unmanaged', plan.unmanaged);
  return hash.digest('hex');
}

function list(hash: Hash, name: string, items: readonly unknown[]): void {
  // Canonical JSON never holds a raw newline (JSON escapes it in strings), so lines delimit items.
  hash.update(`\n${name} ${items.length}\n`);
  for (const item of items) hash.update(canonicalJson(item)).update('\n');
}

/** Each change and held change by address (held ones as `held <address>`): its canonical digest. */
export function changeDigests(plan: Pick<Plan, 'changes' | 'held'>): Map<string, string> {
  const out = new Map<string, string>();
  const add = (key: string, change: Change): void => {
    const digest = createHash('sha256').update(canonicalJson(change)).digest('hex');
    // Two changes at one address (an edited file): the pair counts as one, so it still differs.
    out.set(key, out.has(key) ? `${out.get(key)}+${digest}` : digest);
  };
  for (const change of plan.changes) add(change.address, change);
  for (const change of plan.held) add(`held ${change.address}`, change);
  return out;
}

/** The addresses whose change differs between two plans (present in one only, or not the same), sorted. */
export function differingAddresses(a: Pick<Plan, 'changes' | 'held'>, b: Pick<Plan, 'changes' | 'held'>): string[] {
  const left = changeDigests(a);
  const right = changeDigests(b);
  const out = new Set<string>();
  for (const [key, digest] of left) if (right.get(key) !== digest) out.add(key.replace(/^held /, ''));
  for (const key of right.keys()) if (!left.has(key)) out.add(key.replace(/^held /, ''));
  return [...out].sort();
}

/** sha256 of the live snapshot (state and server ids): what a saved plan checks the project against. */
export function computeLiveFingerprint(live: LiveSnapshot): string {
  return fingerprint({ state: live.state, handles: live.handles });
}
