// Saved plans: `diff --out plan.json` writes one (mode 0600, atomically); `apply --plan plan.json`
// reads it back and checks it before anything is sent: that it is a descope-run plan of a version
// this tool reads, that its shape is sound, and that nobody edited its changes (the fingerprint
// covers them). Whether the live project still matches is checked later, by re-reading it.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { PlanError } from '../errors.ts';
import { fingerprint } from '../runtime/model.ts';
import { jsonFormatIs, writeOutFile } from './out-file.ts';
import { KIND_ORDER, PLAN_FORMAT, PLAN_VERSION, type Plan } from './plan/types.ts';

/** A saved plan larger than this is refused unread (a plan of 10,000 tenants is a few MB). */
export const MAX_PLAN_BYTES = 64 * 1024 * 1024;

/** Recognises a saved plan by its first bytes: `diff --out` may replace one, and nothing else. */
export const isPlanFile = jsonFormatIs(PLAN_FORMAT);

/** Writes atomically, mode 0600; an existing file only if it is a saved plan, or with `force`. */
export function writePlanFile(file: string, plan: Plan, options: { force?: boolean; display?: string } = {}): void {
  const content = `${JSON.stringify(plan, null, 2)}\n`;
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

const planShape = z.looseObject({
  format: z.literal(PLAN_FORMAT),
  version: z.number(),
  environment: z.string(),
  projectId: z.string(),
  createdAt: z.string(),
  allowDelete: z.boolean(),
  targets: z.array(z.string()),
  scope: z.looseObject({}),
  liveFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  changes: z.array(changeShape),
  held: z.array(changeShape),
  unmanaged: z.array(z.looseObject({ address: z.string() })),
  summary: z.looseObject({}),
});

/** Reads and checks a saved plan; every failure is one PlanError naming the file. */
export function readPlanFile(file: string): Plan {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_PLAN_BYTES) {
      throw new PlanError(`${file}: is ${size} bytes, larger than any plan descope-run writes`, {
        hint: 'make a new plan with "descope-run diff --out FILE"',
      });
    }
    text = readFileSync(file, 'utf8');
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
    expected = fingerprint({ liveFingerprint: plan.liveFingerprint, allowDelete: plan.allowDelete, changes: plan.changes });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new PlanError(`${file}: its changes are nested far deeper than any plan's; the plan is damaged or was edited`, {
      hint: 'make a new plan with "descope-run diff --out FILE"',
    });
  }
  if (expected !== plan.fingerprint) {
    throw new PlanError(`${file}: its changes do not match its fingerprint: the plan was edited after it was saved`, {
      hint: 'change the config instead, then make a new plan with "descope-run diff --out FILE"',
    });
  }
  return plan;
}
