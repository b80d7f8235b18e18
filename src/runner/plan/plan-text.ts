// Rendering a plan as text, Terraform-like: one block per address with a symbol (+ create,
// ~ update, ± replace, - delete), its changed fields before → after, then what is held back, what is
// left alone, and a summary line. Pure: returns lines; the caller prints them. Colour comes in as
// a `paint` (kleur on a terminal, identity otherwise), so the golden files are plain text.
//
// A plan is made of live data (names, ids, values, flow documents): every piece of it that goes
// into a line goes through safeText (../safe-text.ts) before it is painted, so a name can neither
// break the line nor send the terminal a command.
import { structuredPatch } from 'diff';
import { safeText } from '../cli/safe-text.ts';
import { dependenciesOf, type Action, type Change, type FieldChange, type Plan } from './types.ts';

export interface Paint {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  magenta(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const identity = (text: string): string => text;
export const PLAIN: Paint = { green: identity, yellow: identity, red: identity, magenta: identity, dim: identity, bold: identity };

function plural(n: number, one: string): string {
  return `${n} ${n === 1 ? one : `${one}s`}`;
}

export const SYMBOLS: Record<Action, string> = { create: '+', update: '~', replace: '±', delete: '-' };

/** How many unmanaged addresses the text lists before "and N more". */
export const UNMANAGED_SHOWN = 20;
/** Longest value shown inline; longer ones are cut (the JSON plan has them whole). */
export const VALUE_WIDTH = 160;

function isSecretRef(value: unknown): value is { env: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { env?: unknown }).env === 'string'
  );
}

/** JSON on one line, with a space after each comma and colon (strings are JSON-escaped). */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => `${JSON.stringify(key)}: ${inline(item)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value) ?? String(value);
}

/** A value as the plan text shows it: JSON, a secret as its variable, long values cut; safe to print (../safe-text.ts). */
export function formatValue(value: unknown): string {
  if (value === undefined) return '(not set)';
  if (isSecretRef(value)) return `(secret from $${safeText(value.env)})`;
  const text = inline(value);
  return safeText(text.length > VALUE_WIDTH ? `${text.slice(0, VALUE_WIDTH - 1)}… (${text.length} characters)` : text);
}

/** Whether a value is too long to show inline (an update then shows a unified diff of it). */
function isLong(value: unknown): boolean {
  return value !== undefined && !isSecretRef(value) && inline(value).length > VALUE_WIDTH;
}

type Leaf = [path: string, value: unknown];

/** The leaves of a nested object as `a.b.c` paths (arrays and scalars are leaves). */
function leaves(value: unknown, prefix: string, out: Leaf[] = []): Leaf[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const key of Object.keys(value).sort()) leaves((value as Record<string, unknown>)[key], `${prefix}.${key}`, out);
  } else out.push([prefix, value]);
  return out;
}

/** Most leaf changes shown one per line; past it, a long value is shown as a unified diff. */
export const LEAF_LINES = 12;

/** A long object's changed leaves (`cssTemplate.light.colors.primary.main: "#111" → "#222"`), when few. */
function leafChanges(field: string, before: unknown, after: unknown): FieldChange[] | undefined {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(before) || !isObject(after)) return undefined;
  const was = new Map(leaves(before, field));
  const now = new Map(leaves(after, field));
  const out: FieldChange[] = [];
  for (const path of [...new Set([...was.keys(), ...now.keys()])].sort()) {
    const b = was.get(path);
    const a = now.get(path);
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    out.push({ field: path, ...(b === undefined ? {} : { before: b }), ...(a === undefined ? {} : { after: a }) });
  }
  return out.length <= LEAF_LINES ? out : undefined;
}

/** A unified diff of two values' pretty JSON, without the file header. */
function valueDiff(before: unknown, after: unknown): string[] {
  const text = (value: unknown) => (value === undefined ? '' : `${JSON.stringify(value, null, 2)}\n`);
  const patch = structuredPatch('live', 'config', text(before), text(after), undefined, undefined, { context: 4 });
  const lines: string[] = [];
  for (const hunk of patch.hunks) {
    lines.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines.map(safeText));
  }
  return lines;
}

function paintDiffLine(line: string, paint: Paint): string {
  if (line.startsWith('+++') || line.startsWith('---')) return paint.bold(line);
  if (line.startsWith('+')) return paint.green(line);
  if (line.startsWith('-')) return paint.red(line);
  if (line.startsWith('@@')) return paint.dim(line);
  return line;
}

function colourFor(action: Action, paint: Paint): (text: string) => string {
  switch (action) {
    case 'create':
      return paint.green;
    case 'update':
      return paint.yellow;
    case 'replace':
      return paint.magenta;
    case 'delete':
      return paint.red;
  }
}

function fieldLines(change: Change, paint: Paint): string[] {
  // Field names are ours, but a theme's leaf paths are its live keys.
  const fields: FieldChange[] = change.fields.map((f) => ({ ...f, field: safeText(f.field) }));
  if (fields.length === 0) return [];
  const width = Math.max(...fields.map((f) => f.field.length));
  const line = (f: FieldChange, pad: number) =>
    `      ${`${f.field}:`.padEnd(pad + 1)} ${paint.red(formatValue(f.before))} → ${paint.green(formatValue(f.after))}`;
  return fields.flatMap((f) => {
    const name = `${f.field}:`.padEnd(width + 1);
    if (change.action === 'create') return [`      ${name} ${formatValue(f.after)}`];
    if (isLong(f.before) || isLong(f.after)) {
      const leafs = leafChanges(f.field, f.before, f.after)?.map((l) => ({ ...l, field: safeText(l.field) }));
      if (leafs) {
        const pad = Math.max(...leafs.map((l) => l.field.length));
        return leafs.map((l) => line(l, pad));
      }
      return [`      ${f.field} (unified diff):`, ...valueDiff(f.before, f.after).map((d) => `        ${paintDiffLine(d, paint)}`)];
    }
    return [line(f, width)];
  });
}

function ids(label: string, list: readonly string[]): string | undefined {
  if (list.length === 0) return undefined;
  const shown = list.slice(0, 5).map(safeText).join(', ');
  return `${list.length} ${label} (${shown}${list.length > 5 ? `, +${list.length - 5} more` : ''})`;
}

function flowLines(change: Change, paint: Paint): string[] {
  if (change.kind !== 'flow' || !change.flowDiff) return [];
  const d = change.flowDiff;
  if (change.action === 'create') {
    return [`      ${plural(d.tasksAdded.length, 'task')}, ${plural(d.screensAdded.length, 'screen')}`];
  }
  const tasks = [ids('added', d.tasksAdded), ids('removed', d.tasksRemoved), ids('changed', d.tasksChanged)].filter(Boolean);
  const screens = [ids('added', d.screensAdded), ids('removed', d.screensRemoved), ids('changed', d.screensChanged)].filter(Boolean);
  const lines: string[] = [];
  if (tasks.length > 0) lines.push(`      tasks: ${tasks.join(', ')}`);
  if (screens.length > 0) lines.push(`      screens: ${screens.join(', ')}`);
  const otherFields = d.otherChanged.filter((key) => !change.fields.some((f) => f.field === key));
  if (otherFields.length > 0) lines.push(`      also: ${otherFields.map(safeText).join(', ')}`);
  // A block we built, from live JSON: each of its lines made safe on its own.
  for (const line of d.unifiedDiff.split('\n')) {
    if (line !== '') lines.push(`      ${paintDiffLine(safeText(line), paint)}`);
  }
  return lines;
}

/** One block: the symbol and address, a note, the fields, the flow summary. */
export function formatChange(change: Change, paint: Paint = PLAIN): string[] {
  const colour = colourFor(change.action, paint);
  const note = change.kind === 'role' && change.renamedFrom ? paint.dim(`  (renamed from ${safeText(change.renamedFrom)})`) : '';
  const reason = change.action === 'replace' && change.reason ? [`      ${paint.magenta(`replace: ${safeText(change.reason)}`)}`] : [];
  return [`  ${colour(`${SYMBOLS[change.action]} ${safeText(change.address)}`)}${note}`, ...reason, ...fieldLines(change, paint), ...flowLines(change, paint)];
}

/** "3 to create, 2 to update, 0 to delete, 4 unmanaged" (replace only when there is one). */
export function formatSummary(plan: Plan): string {
  const s = plan.summary;
  const parts = [`${s.create} to create`, `${s.update} to update`, ...(s.replace > 0 ? [`${s.replace} to replace`] : []), `${s.delete} to delete`, `${s.unmanaged} unmanaged`];
  return parts.join(', ');
}

/** The whole plan as lines of text. */
export function formatPlan(plan: Plan, paint: Paint = PLAIN): string[] {
  const lines: string[] = [];
  for (const change of plan.changes) {
    lines.push(...formatChange(change, paint), '');
  }
  if (plan.held.length > 0) {
    lines.push(paint.bold('Held back until you add --allow-delete:'));
    const heldAddresses = new Set(plan.held.map((c) => c.address));
    for (const change of plan.held) {
      const why =
        change.action === 'delete'
          ? `not in the config, and the config prunes ${change.address.split('/')[0]}`
          : change.action === 'replace'
            ? 'replace: deletes the live one first'
            : `needs ${dependenciesOf(change).filter((a) => heldAddresses.has(a)).join(', ')}, held back`;
      lines.push(`  ${colourFor(change.action, paint)(`${SYMBOLS[change.action]} ${safeText(change.address)}`)}${paint.dim(`  (${safeText(why)})`)}`);
    }
    lines.push('');
  }
  if (plan.unmanaged.length > 0) {
    const shown = plan.unmanaged.slice(0, UNMANAGED_SHOWN).map((u) => safeText(u.address));
    const more = plan.unmanaged.length - shown.length;
    lines.push(paint.bold(`Unmanaged: ${plan.unmanaged.length} live ${plan.unmanaged.length === 1 ? 'resource is' : 'resources are'} not in the config and left alone:`));
    lines.push(...wrap(shown, 96).map((row) => `  ${row}`));
    if (more > 0) lines.push(`  and ${more} more (--json lists them all)`);
    lines.push('');
  }
  if (plan.changes.length === 0) {
    if (plan.held.length > 0) lines.push(`${paint.yellow('No changes without --allow-delete.')} ${formatSummary(plan)}.`);
    else if (plan.unmanaged.length > 0) lines.push(`${paint.green('No changes.')} The config's resources match the live project; ${plan.unmanaged.length} unmanaged.`);
    else lines.push(`${paint.green('No changes.')} The live project matches the config.`);
  } else {
    lines.push(`${paint.bold('Plan:')} ${formatSummary(plan)}.`);
  }
  if (plan.held.length > 0) {
    lines.push(paint.yellow(`${plan.held.length} held back: run with --allow-delete to include ${plan.held.length === 1 ? 'it' : 'them'}.`));
  }
  return lines;
}

/** Comma-separated items in rows of at most `width` characters. */
function wrap(items: readonly string[], width: number): string[] {
  const rows: string[] = [];
  let row = '';
  for (const item of items) {
    const next = row === '' ? item : `${row}, ${item}`;
    if (next.length > width && row !== '') {
      rows.push(`${row},`);
      row = item;
    } else row = next;
  }
  if (row !== '') rows.push(row);
  return rows;
}
