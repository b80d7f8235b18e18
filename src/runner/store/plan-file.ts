// Saved plans: `diff --out plan.json` writes one (mode 0600, atomically); `apply --plan plan.json`
// reads it back and checks that it is a descope-run plan of a version this tool reads, that its
// shape is sound, and that its content matches its own fingerprint (an edit made without knowing
// how it is computed). Nothing in it is trusted beyond that: apply re-derives the plan from the
// config and the live project and applies the re-derived one only if it is the same plan
// (commands/apply.ts).
//
// The file is compact JSON, one change per line: a plan of 100,000 tenants stays well under the
// size limit, and the limit is one number for writing and reading, so what diff writes, apply reads.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { DescopeRunError, PlanError } from '../../errors.ts';
import { ENV_NAME } from '../config/environment.ts';
import { computePlanFingerprint } from '../plan/fingerprint.ts';
import { jsonFormatIs, writeOutFile } from './private-file.ts';
import { KIND_ORDER, PLAN_FORMAT, PLAN_VERSION, type Plan } from '../plan/types.ts';

/**
 * The largest plan file descope-run writes or reads. Measured (creating everything): 100,000
 * tenants, each with settings and SSO, make a 226 MiB plan; 100,000 with a few of them 54 MiB. A
 * file is read whole, as one string, and V8 cannot hold a string much over 512 MiB.
 */
export const MAX_PLAN_BYTES = 384 * 1024 * 1024;

/** The limit: DESCOPE_RUN_MAX_PLAN_BYTES when set to a positive integer no larger than the default. */
export function maxPlanBytes(processEnv: NodeJS.ProcessEnv = process.env): number {
  const raw = processEnv.DESCOPE_RUN_MAX_PLAN_BYTES;
  const value = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? Math.min(value, MAX_PLAN_BYTES) : MAX_PLAN_BYTES;
}

/** The order a plan's keys are written in: what identifies it first, the long lists last. */
const HEAD_KEYS = ['format', 'version', 'environment', 'projectId', 'createdAt', 'allowDelete', 'targets', 'liveFingerprint', 'fingerprint', 'summary', 'scope'] as const;
const LIST_KEYS = ['changes', 'held', 'unmanaged'] as const;
// A key of Plan missing from both lists would be left out of the file: this fails to compile then.
type Unwritten = Exclude<keyof Plan, (typeof HEAD_KEYS)[number] | (typeof LIST_KEYS)[number]>;
const everyKeyWritten: [Unwritten] extends [never] ? true : Unwritten = true;
void everyKeyWritten;

/**
 * A plan as its file holds it: JSON, the header on one line, then each change, held change and
 * unmanaged resource on a line of its own (no indentation: it doubled the size). Throws, before
 * anything is written, when the result would be larger than `maxBytes`, since readPlanFile would
 * refuse it.
 */
export function serializePlan(plan: Plan, options: { file?: string; maxBytes?: number } = {}): string {
  const maxBytes = options.maxBytes ?? maxPlanBytes();
  const parts: string[] = [];
  let size = 0;
  const push = (text: string): void => {
    size += Buffer.byteLength(text);
    if (size > maxBytes) {
      throw new PlanError(`${options.file ?? 'the plan'}: the plan is larger than ${formatBytes(maxBytes)}, the most a saved plan may be, so "apply --plan" could not read it; nothing was written`, {
        hint: 'save the plan in parts with --target (e.g. --target roles, then --target tenants), or run apply without --plan (it shows the plan and asks before it writes)',
      });
    }
    parts.push(text);
  };
  push(`{${HEAD_KEYS.map((key) => `${JSON.stringify(key)}:${JSON.stringify(plan[key])}`).join(',')}`);
  for (const key of LIST_KEYS) {
    const items = plan[key] as readonly unknown[];
    push(`,\n${JSON.stringify(key)}:[`);
    items.forEach((item, i) => push(`${i === 0 ? '' : ','}\n${JSON.stringify(item)}`));
    push(items.length === 0 ? ']' : '\n]');
  }
  push('}\n');
  return parts.join('');
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.floor(bytes / (1024 * 1024))} MiB (${bytes} bytes)` : `${bytes} bytes`;
}

/** Recognises a saved plan by its first bytes: `diff --out` may replace one, and nothing else. */
export const isPlanFile = jsonFormatIs(PLAN_FORMAT);

/** Writes atomically, mode 0600; an existing file only if it is a saved plan, or with `force`. */
export function writePlanFile(file: string, plan: Plan, options: { force?: boolean; display?: string; maxBytes?: number } = {}): void {
  // Before anything is written: a plan too large to read back is not written at all.
  const content = serializePlan(plan, { file: options.display ?? file, ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}) });
  writeOutFile({ file: path.resolve(file), display: options.display ?? file, content, ours: isPlanFile }, { what: 'the plan', ...(options.force ? { force: true } : {}) });
}

const record = z.looseObject({});
const changeShape = z
  .looseObject({
    address: z.string().min(1),
    kind: z.enum(KIND_ORDER),
    action: z.enum(['create', 'update', 'replace', 'delete']),
    fields: z.array(z.looseObject({ field: z.string() })),
    dependsOn: z.array(z.string()),
    tenant: z.string().min(1).optional(),
    after: record.optional(),
    before: record.optional(),
  })
  // What apply reads from each change: the record to write, the record to delete, the tenant.
  .superRefine((change, ctx) => {
    if (change.action !== 'delete' && change.after === undefined) ctx.addIssue({ code: 'custom', path: ['after'], message: `a change that ${change.action}s needs the record to write` });
    if (change.action === 'delete' && change.before === undefined) ctx.addIssue({ code: 'custom', path: ['before'], message: 'a delete needs the record it deletes' });
    if ((change.kind === 'tenantSettings' || change.kind === 'tenantSso') && change.tenant === undefined) ctx.addIssue({ code: 'custom', path: ['tenant'], message: 'is required' });
  });

const count = z.number().int().nonnegative();
// Strict at the top: a key this version does not write is an edit, not something to ignore.
const planShape = z.strictObject({
  format: z.literal(PLAN_FORMAT),
  version: z.literal(PLAN_VERSION),
  environment: z.string().regex(ENV_NAME, 'is not an environment name'),
  projectId: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'is not a project id'),
  // Shown in messages (the time the plan was made): a timestamp, never terminal control codes.
  createdAt: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'is not an ISO time'),
  allowDelete: z.boolean(),
  targets: z.array(z.string()),
  scope: z.looseObject({}),
  liveFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  changes: z.array(changeShape),
  held: z.array(changeShape),
  unmanaged: z.array(z.looseObject({ address: z.string() })),
  summary: z.strictObject({ create: count, update: count, replace: count, delete: count, unmanaged: count, held: count }),
});

/**
 * Reads and checks a saved plan; every failure is one PlanError naming the file. A plan that
 * passes is self-consistent, nothing more: the caller re-derives it before acting on it.
 */
export function readPlanFile(file: string, options: { maxBytes?: number; path?: string } = {}): Plan {
  const maxBytes = options.maxBytes ?? maxPlanBytes();
  // `file` is what the user typed (messages say it); `where` is where it is read from.
  const where = options.path ?? file;
  let text: string;
  try {
    const size = statSync(where).size;
    if (size > maxBytes) {
      throw new PlanError(`${file}: is ${size} bytes, larger than any plan descope-run writes (at most ${formatBytes(maxBytes)})`, {
        hint: 'make a new plan with "descope-run diff --out FILE"',
      });
    }
    text = readFileSync(where, 'utf8');
  } catch (error) {
    if (error instanceof PlanError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new PlanError(`${file}: cannot read the plan (${code === 'ENOENT' ? 'no such file' : code ?? String(error)})`, {
      hint: 'make one with "descope-run diff --env NAME --out FILE"',
    });
  }
  let value: unknown;
  try {
    // An editor may add a byte order mark; it is not part of the JSON.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new PlanError(`${file}: is not JSON (${(error as Error).message}); a truncated or hand-edited plan?`, {
      hint: 'make a new plan with "descope-run diff --out FILE"',
    });
  }
  const head = value as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || Array.isArray(head) || head.format !== PLAN_FORMAT) {
    throw new PlanError(`${file}: is not a descope-run plan`, { hint: 'pass a file written by "descope-run diff --out FILE"' });
  }
  if (head.version !== PLAN_VERSION) {
    throw new PlanError(`${file}: is a plan of version ${JSON.stringify(head.version)}; this descope-run reads version ${PLAN_VERSION}`, {
      hint: 'make a new plan with this version: "descope-run diff --out FILE"',
    });
  }
  const parsed = planShape.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PlanError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}; the plan is damaged or was edited`, {
      hint: 'make a new plan with "descope-run diff --out FILE"',
    });
  }
  const plan = parsed.data as unknown as Plan;
  let expected: string;
  try {
    expected = computePlanFingerprint(plan);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new PlanError(`${file}: its changes are nested far deeper than any plan's; the plan is damaged or was edited`, {
      hint: 'make a new plan with "descope-run diff --out FILE"',
    });
  }
  if (expected !== plan.fingerprint) {
    throw new PlanError(`${file}: its contents do not match its fingerprint: the plan was edited after it was saved`, {
      hint: 'change the config instead, then make a new plan with "descope-run diff --out FILE"',
    });
  }
  return plan;
}
