// Rendering a plan as text, Terraform-like: one block per address with a symbol (+ create,
// ~ update, ± replace, - delete), its changed fields before → after, then what is held back, what is
// left alone, and a summary line. Pure: returns lines; the caller prints them. Colour comes in as
// a `paint` (kleur on a terminal, identity otherwise), so the golden files are plain text.
import { structuredPatch } from 'diff';
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

/** A value as the plan text shows it: JSON, a secret as its variable, long values cut. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '(not set)';
  if (isSecretRef(value)) return `(secret from $${value.env})`;
  const text = inline(value);
  return text.length > VALUE_WIDTH ? `${text.slice(0, VALUE_WIDTH - 1)}… (${text.length} characters)` : text;
}

/** Whether a value is too long to show inline (an update then shows a unified diff of it). */
function isLong(value: unknown): boolean {
  return value !== undefined && !isSecretRef(value) && inline(value).length > VALUE_WIDTH;
}

/** A unified diff of two values' pretty JSON, without the file header. */
function valueDiff(before: unknown, after: unknown): string[] {
  const text = (value: unknown) => (value === undefined ? '' : `${JSON.stringify(value, null, 2)}\n`);
  const patch = structuredPatch('live', 'config', text(before), text(after), undefined, undefined, { context: 2 });
  const lines: string[] = [];
  for (const hunk of patch.hunks) {
    lines.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines);
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
  const fields: FieldChange[] = change.fields;
  if (fields.length === 0) return [];
  const width = Math.max(...fields.map((f) => f.field.length));
  return fields.flatMap((f) => {
    const name = `${f.field}:`.padEnd(width + 1);
    if (change.action === 'create') return [`      ${name} ${formatValue(f.after)}`];
    if (isLong(f.before) || isLong(f.after)) {
      return [`      ${name} changed:`, ...valueDiff(f.before, f.after).map((line) => `        ${paintDiffLine(line, paint)}`)];
    }
    return [`      ${name} ${paint.red(formatValue(f.before))} → ${paint.green(formatValue(f.after))}`];
  });
}

function ids(label: string, list: readonly string[]): string | undefined {
  if (list.length === 0) return undefined;
  const shown = list.slice(0, 5).join(', ');
  return `${list.length} ${label} (${shown}${list.length > 5 ? `, +${list.length - 5} more` : ''})`;
}

function flowLines(change: Change, paint: Paint): string[] {
  if (change.kind !== 'flow' || !change.flowDiff) return [];
  const d = change.flowDiff;
  if (change.action === 'create') {
    return [`      ${d.tasksAdded.length} tasks, ${d.screensAdded.length} screens`];
  }
  const tasks = [ids('added', d.tasksAdded), ids('removed', d.tasksRemoved), ids('changed', d.tasksChanged)].filter(Boolean);
  const screens = [ids('added', d.screensAdded), ids('removed', d.screensRemoved), ids('changed', d.screensChanged)].filter(Boolean);
  const lines: string[] = [];
  if (tasks.length > 0) lines.push(`      tasks: ${tasks.join(', ')}`);
  if (screens.length > 0) lines.push(`      screens: ${screens.join(', ')}`);
  const otherFields = d.otherChanged.filter((key) => !change.fields.some((f) => f.field === key));
  if (otherFields.length > 0) lines.push(`      also: ${otherFields.join(', ')}`);
  for (const line of d.unifiedDiff.split('\n')) {
    if (line !== '') lines.push(`      ${paintDiffLine(line, paint)}`);
  }
  return lines;
}

/** One block: the symbol and address, a note, the fields, the flow summary. */
export function formatChange(change: Change, paint: Paint = PLAIN): string[] {
  const colour = colourFor(change.action, paint);
  const notes: string[] = [];
  if (change.kind === 'role' && change.renamedFrom) notes.push(`renamed from ${change.renamedFrom}`);
  if (change.action === 'replace' && change.reason) notes.push(`replace: ${change.reason}`);
  const note = notes.length > 0 ? paint.dim(`  (${notes.join('; ')})`) : '';
  return [`  ${colour(`${SYMBOLS[change.action]} ${change.address}`)}${note}`, ...fieldLines(change, paint), ...flowLines(change, paint)];
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
    lines.push(paint.bold('Held back: these need --allow-delete (they delete live resources):'));
    for (const change of plan.held) {
      const why = change.action === 'delete' ? 'not in the config; prune is on for this kind' : change.action === 'replace' ? 'replace' : `needs ${dependenciesOf(change).join(', ')}`;
      lines.push(`  ${colourFor(change.action, paint)(`${SYMBOLS[change.action]} ${change.address}`)}${paint.dim(`  (${why})`)}`);
    }
    lines.push('');
  }
  if (plan.unmanaged.length > 0) {
    const shown = plan.unmanaged.slice(0, UNMANAGED_SHOWN).map((u) => u.address);
    const more = plan.unmanaged.length - shown.length;
    lines.push(paint.bold(`Unmanaged: ${plan.unmanaged.length} live ${plan.unmanaged.length === 1 ? 'resource is' : 'resources are'} not in the config and left alone:`));
    lines.push(`  ${shown.join(', ')}${more > 0 ? `, and ${more} more (--json lists them all)` : ''}`);
    lines.push('');
  }
  if (plan.changes.length === 0) {
    const head = plan.held.length > 0 ? paint.yellow('No changes without --allow-delete.') : paint.green('No changes.');
    lines.push(head + (plan.unmanaged.length > 0 || plan.held.length > 0 ? ` ${formatSummary(plan)}.` : ' The live project matches the config.'));
  } else {
    lines.push(`${paint.bold('Plan:')} ${formatSummary(plan)}.`);
  }
  if (plan.held.length > 0) {
    lines.push(paint.yellow(`${plan.held.length} held back: run with --allow-delete to include ${plan.held.length === 1 ? 'it' : 'them'}.`));
  }
  return lines;
}
