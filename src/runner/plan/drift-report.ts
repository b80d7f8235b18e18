// Drift, as a value and as text, JSON, markdown and HTML. Pure: `computeDrift` turns a plan (made
// exactly as diff makes it) and the audit trail's records into a DriftReport; the formatters render
// one. The command (commands/drift.ts) does the reading, writing and watching.
//
// Drift is what the live project does differently from the config: the plan's changes and its
// held-back deletes. Unmanaged live resources are not drift; the report only counts them.
//
// The JSON shape (`--format json`), stable:
//   {
//     format: 'descope-run/drift-report', version: 1,
//     environment: string, projectId: string, checkedAt: ISO string,
//     drifted: [{
//       address: 'tenants/acme', kind: 'tenant' | 'tenantSettings' | … (the plan's kinds),
//       action: 'missing'   (declared in the config, not live)
//             | 'extra'     (live, not in the config, and the config prunes its kind)
//             | 'changed',  (live differs in the fields listed)
//       fields: [{ field: 'selfProvisioningDomains', live?: value, config?: value }],
//                 (a side without the field has no key; flows list `flow.name`-style fields and
//                  `tasks.<id>` / `screens.<id>` with the whole task or screen)
//       lastChange?: { time: ISO string, actor: string, action: string },
//                 (the newest audit record that touched the address, when the trail has one)
//       diff?: string (flows: a unified diff, live → config, of the parts that changed)
//     }],
//     unmanaged: number,
//     auditUnavailable?: string (why there is no attribution: the audit search failed)
//   }
// Values are the plan's canonical values: a secret only ever appears as its `{env: NAME}` reference.
//
// Everything in a report but its wording is live data (names, values, flow documents, audit actors,
// the audit search's error), so every formatter makes it safe (./safe-text.ts): text lines get
// safeText, JSON formatJson, markdown and HTML safeText inside their own escaping. A U+202E in a
// page would reorder what the reader sees; it is shown as the text `\u202e` instead.
import type { AuditEntry } from '../../runtime/index.ts';
import { FIELD_KEYS } from './flow-diff.ts';
import { formatValue, PLAIN, SYMBOLS, type Paint } from './plan-text.ts';
import type { Change, Kind, Plan } from './types.ts';
import { formatJson, safeFolded, safeLines, safeText } from '../cli/safe-text.ts';

export const DRIFT_FORMATS = ['text', 'json', 'markdown', 'html'] as const;
export type DriftFormat = (typeof DRIFT_FORMATS)[number];

// Every format says at its start that descope-run wrote it, so `drift --out FILE` can replace its
// own earlier report (in any format) and refuses anything else: a JSON member first, an HTML
// generator meta, a markdown comment (invisible in a PR comment), a first line of text files.
export const DRIFT_REPORT_FORMAT = 'descope-run/drift-report';
const TEXT_MARKER = 'descope-run drift report';
const MARKDOWN_MARKER = '<!-- descope-run drift report -->';
const HTML_MARKER = '<meta name="generator" content="descope-run">';

/** Whether the head of a file is a drift report in one of the formats. */
export function isDriftReport(head: string): boolean {
  return (
    new RegExp(`^\\s*\\{\\s*"format"\\s*:\\s*"${DRIFT_REPORT_FORMAT}"`).test(head) ||
    head.startsWith(`${TEXT_MARKER}\n`) ||
    head.startsWith(`${MARKDOWN_MARKER}\n`) ||
    (/^<!doctype html>/i.test(head) && head.includes(HTML_MARKER))
  );
}

export type DriftAction = 'missing' | 'extra' | 'changed';

export interface DriftField {
  field: string;
  /** Absent when the live resource does not have the field. */
  live?: unknown;
  /** Absent when the config does not have it. */
  config?: unknown;
}

export interface LastChange {
  time: string;
  actor: string;
  action: string;
}

export interface DriftedAddress {
  address: string;
  kind: Kind;
  action: DriftAction;
  fields: DriftField[];
  lastChange?: LastChange;
  diff?: string;
}

export interface DriftReport {
  environment: string;
  projectId: string;
  checkedAt: string;
  drifted: DriftedAddress[];
  unmanaged: number;
  auditUnavailable?: string;
}

export interface DriftOptions {
  checkedAt: string;
  /** The audit trail's records (any order); absent when it was not searched. */
  audit?: readonly AuditEntry[];
  /** Why the audit trail could not be searched. */
  auditUnavailable?: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function actionOf(change: Change): DriftAction {
  if (change.action === 'create') return 'missing';
  if (change.action === 'delete') return 'extra';
  return 'changed';
}

function flowParts(doc: unknown): { tasks: Json; screens: Json } {
  const tasks: Json = {};
  const screens: Json = {};
  if (!isObject(doc)) return { tasks, screens };
  const flow = isObject(doc.flow) ? doc.flow : {};
  const dsl = isObject(flow.dsl) ? flow.dsl : {};
  if (isObject(dsl.tasks)) Object.assign(tasks, dsl.tasks);
  if (Array.isArray(doc.screens)) for (const screen of doc.screens) if (isObject(screen)) screens[String(screen.id)] = screen;
  return { tasks, screens };
}

/** A flow-level value by the flow diff's key: `flow.dsl.<k>`, `flow.<k>` or a top-level `<k>`. */
function flowValue(doc: unknown, key: string): unknown {
  if (!isObject(doc)) return undefined;
  const flow = isObject(doc.flow) ? doc.flow : {};
  if (key.startsWith('flow.dsl.')) return isObject(flow.dsl) ? flow.dsl[key.slice('flow.dsl.'.length)] : undefined;
  if (key.startsWith('flow.')) return flow[key.slice('flow.'.length)];
  return doc[key];
}

function field(name: string, live: unknown, config: unknown): DriftField {
  return { field: name, ...(live === undefined ? {} : { live }), ...(config === undefined ? {} : { config }) };
}

function fieldsOf(change: Change): DriftField[] {
  if (change.action === 'delete') return [];
  const fields = change.fields.map((f) => (change.action === 'create' ? field(f.field, undefined, f.after) : field(f.field, f.before, f.after)));
  if (change.kind !== 'flow' || !change.flowDiff || change.action === 'create') return fields;
  const d = change.flowDiff;
  const live = flowParts(change.before);
  const config = flowParts(change.after);
  const others = d.otherChanged.filter((key) => !FIELD_KEYS.has(key) && !fields.some((f) => f.field === key));
  for (const key of others) fields.push(field(key, flowValue(change.before, key), flowValue(change.after, key)));
  for (const id of [...d.tasksAdded, ...d.tasksRemoved, ...d.tasksChanged].sort()) fields.push(field(`tasks.${id}`, live.tasks[id], config.tasks[id]));
  for (const id of [...d.screensAdded, ...d.screensRemoved, ...d.screensChanged].sort()) {
    fields.push(field(`screens.${id}`, live.screens[id], config.screens[id]));
  }
  return fields;
}

/** The newest record per address. */
export function computeLastChanges(entries: readonly AuditEntry[]): Map<string, LastChange> {
  const out = new Map<string, LastChange>();
  const newestFirst = [...entries].sort((a, b) => b.occurred - a.occurred);
  for (const entry of newestFirst) {
    if (!entry.address || out.has(entry.address)) continue;
    out.set(entry.address, { time: entry.time, actor: entry.actor, action: entry.action });
  }
  return out;
}

export function computeDrift(plan: Plan, options: DriftOptions): DriftReport {
  const last = computeLastChanges(options.audit ?? []);
  const seen = new Set<string>();
  const drifted: DriftedAddress[] = [];
  for (const change of [...plan.changes, ...plan.held]) {
    if (seen.has(change.address)) continue;
    seen.add(change.address);
    const lastChange = last.get(change.address);
    const diff = change.kind === 'flow' && change.action !== 'create' ? change.flowDiff?.unifiedDiff : undefined;
    drifted.push({
      address: change.address,
      kind: change.kind,
      action: actionOf(change),
      fields: fieldsOf(change),
      ...(lastChange ? { lastChange } : {}),
      ...(diff ? { diff } : {}),
    });
  }
  drifted.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return {
    environment: plan.environment,
    projectId: plan.projectId,
    checkedAt: options.checkedAt,
    drifted,
    unmanaged: plan.unmanaged.length,
    ...(options.auditUnavailable ? { auditUnavailable: options.auditUnavailable } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Shared wording

const driftedCount = (n: number): string => `${n} drifted ${n === 1 ? 'address' : 'addresses'}`;

export function formatHeading(report: DriftReport): string {
  return `Drift in environment ${safeText(report.environment)} (project ${safeText(report.projectId)}): ${driftedCount(report.drifted.length)}`;
}

/** `2026-11-21T12:30:32Z` (no milliseconds); anything unparseable as it is (made safe). */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : safeText(iso);
}

const ACTION_WORDS: Record<DriftAction, string> = {
  missing: 'missing: in the config, not live',
  extra: 'extra: live, not in the config, which prunes its kind',
  changed: 'changed',
};

const ACTION_SYMBOLS: Record<DriftAction, string> = { missing: SYMBOLS.create, extra: SYMBOLS.delete, changed: SYMBOLS.update };

function formatLastChange(last: LastChange | undefined): string | undefined {
  if (!last) return undefined;
  return `last change: ${formatTime(last.time)} by ${safeText(last.actor) || 'an unknown actor'} (${safeText(last.action) || 'unknown action'})`;
}

/** Flow tasks and screens are whole objects: the report shows them in the diff, not inline. */
function inDiff(item: DriftedAddress, f: DriftField): boolean {
  return item.diff !== undefined && (f.field.startsWith('tasks.') || f.field.startsWith('screens.'));
}

function flowEntryState(f: DriftField): string {
  if (f.live === undefined) return 'missing live';
  if (f.config === undefined) return 'extra live';
  return 'changed';
}

function counts(report: DriftReport): string {
  const n = (action: DriftAction) => report.drifted.filter((d) => d.action === action).length;
  return `${n('missing')} missing, ${n('extra')} extra, ${n('changed')} changed`;
}

function unmanagedLine(report: DriftReport): string {
  const n = report.unmanaged;
  return `Unmanaged: ${n} live ${n === 1 ? 'resource is' : 'resources are'} not in the config (not drift).`;
}

/** `quote` marks up the reason (the audit search's error, server text) in markdown. */
function auditLine(report: DriftReport, quote: (reason: string) => string = (reason) => reason): string | undefined {
  return report.auditUnavailable
    ? `Who and when: unknown, the audit trail could not be searched (${quote(safeFolded(report.auditUnavailable))}).`
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// Text

function colourOf(action: DriftAction, paint: Paint): (text: string) => string {
  return action === 'missing' ? paint.green : action === 'extra' ? paint.red : paint.yellow;
}

function diffLine(line: string, paint: Paint): string {
  if (line.startsWith('+++') || line.startsWith('---')) return paint.bold(line);
  if (line.startsWith('+')) return paint.green(line);
  if (line.startsWith('-')) return paint.red(line);
  if (line.startsWith('@@')) return paint.dim(line);
  return line;
}

export function formatDriftBlock(item: DriftedAddress, paint: Paint = PLAIN): string[] {
  const colour = colourOf(item.action, paint);
  const lines = [`  ${colour(`${ACTION_SYMBOLS[item.action]} ${safeText(item.address)}`)}  ${paint.dim(ACTION_WORDS[item.action])}`];
  // A flow's fields are named by its live task and screen ids.
  const names = item.fields.map((f) => safeText(f.field));
  const width = Math.max(0, ...names.map((name) => name.length));
  for (const [i, f] of item.fields.entries()) {
    const name = `${names[i]!}:`.padEnd(width + 1);
    if (inDiff(item, f)) lines.push(`      ${name} ${flowEntryState(f)}`);
    else if (item.action === 'missing') lines.push(`      ${name} ${formatValue(f.config)}`);
    else lines.push(`      ${name} ${paint.red(formatValue(f.live))} → ${paint.green(formatValue(f.config))}`);
  }
  for (const line of (item.diff ?? '').split('\n')) if (line !== '') lines.push(`      ${diffLine(safeText(line), paint)}`);
  const last = formatLastChange(item.lastChange);
  if (last) lines.push(`      ${paint.dim(last)}`);
  return lines;
}

export function formatDriftText(report: DriftReport, paint: Paint = PLAIN): string[] {
  const lines = [paint.bold(formatHeading(report))];
  if (report.drifted.length === 0) {
    lines.push(`${paint.green('No drift:')} the live project matches the config.`);
  } else {
    lines.push(paint.dim(`Checked ${formatTime(report.checkedAt)}; values are shown live → config.`), '');
    for (const item of report.drifted) lines.push(...formatDriftBlock(item, paint), '');
    lines.push(`${paint.bold(`${report.drifted.length} drifted:`)} ${counts(report)}. Run "descope-run diff --env ${safeText(report.environment)}" for the plan that restores the config.`);
  }
  if (report.unmanaged > 0) lines.push(unmanagedLine(report));
  const audit = auditLine(report);
  if (audit) lines.push(paint.yellow(audit));
  return lines;
}

// ---------------------------------------------------------------------------------------------
// JSON

export function formatDriftJson(report: DriftReport): string {
  const out = {
    format: DRIFT_REPORT_FORMAT,
    version: 1,
    environment: report.environment,
    projectId: report.projectId,
    checkedAt: report.checkedAt,
    drifted: report.drifted.map((d) => ({
      address: d.address,
      kind: d.kind,
      action: d.action,
      fields: d.fields.map((f) => field(f.field, f.live, f.config)),
      ...(d.lastChange ? { lastChange: { time: d.lastChange.time, actor: d.lastChange.actor, action: d.lastChange.action } } : {}),
      ...(d.diff ? { diff: d.diff } : {}),
    })),
    unmanaged: report.unmanaged,
    ...(report.auditUnavailable ? { auditUnavailable: report.auditUnavailable } : {}),
  };
  return formatJson(out, 2);
}

// ---------------------------------------------------------------------------------------------
// Markdown (a PR comment): a heading, then a table per address. Every piece of data goes in as
// <code> with HTML entities, so nothing in it (pipes, backticks, tags, line breaks) can change the
// markup, and no URL in it becomes a link (GitHub links bare URLs in text, never in code).

/** HTML-escaped, after safeText: no tag, no entity, no control or bidi character, one line. */
export function escapeHtml(text: string): string {
  return safeText(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** For markdown: entity-escaped, pipes and backticks too, on one line (safeText escapes line breaks). */
function mdText(text: string): string {
  return escapeHtml(text).replace(/[|`*_[\]\\]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const mdCode = (text: string): string => `<code>${mdText(text)}</code>`;

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

export function formatDriftMarkdown(report: DriftReport): string {
  const lines = [
    MARKDOWN_MARKER,
    `### ${report.drifted.length === 0 ? '✅' : '⚠️'} Drift in environment ${mdCode(report.environment)} (project ${mdCode(report.projectId)}): ${driftedCount(report.drifted.length)}`,
    '',
    `Checked ${mdText(formatTime(report.checkedAt))}. ${report.drifted.length === 0 ? 'The live project matches the config.' : `${counts(report)}; values are shown live → config.`}`,
  ];
  for (const item of report.drifted) {
    lines.push('', `#### ${ACTION_SYMBOLS[item.action]} ${mdCode(item.address)}: ${mdText(ACTION_WORDS[item.action])}`, '');
    if (item.fields.length > 0) {
      lines.push('| Field | Live | Config |', '| --- | --- | --- |');
      for (const f of item.fields) {
        if (inDiff(item, f)) lines.push(`| ${mdCode(f.field)} | ${mdText(flowEntryState(f))} | (see the diff) |`);
        else {
          const live = item.action === 'missing' ? '(missing)' : mdCode(formatValue(f.live));
          lines.push(`| ${mdCode(f.field)} | ${live} | ${mdCode(formatValue(f.config))} |`);
        }
      }
      lines.push('');
    }
    if (item.diff) {
      // Inside the fence nothing is markup; its lines are made safe, and it is longer than any run of backticks in them.
      const diff = safeLines(item.diff);
      const marks = fence(diff);
      lines.push('<details><summary>Diff (live → config)</summary>', '', `${marks}diff`, diff, marks, '', '</details>', '');
    }
    const last = item.lastChange;
    if (last) {
      lines.push(`_Last change: ${mdText(formatTime(last.time))} by ${last.actor ? mdCode(last.actor) : 'an unknown actor'} (${last.action ? mdCode(last.action) : 'unknown action'})_`);
    }
  }
  const footer = [report.unmanaged > 0 ? mdText(unmanagedLine(report)) : undefined, auditLine(report, mdCode)].filter((l): l is string => l !== undefined);
  if (footer.length > 0) lines.push('', ...footer);
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------------------------------------
// HTML: one self-contained page. Inline CSS only, no script, no external resource (a CSP meta
// says so too, so even a browser that met an unescaped tag would not run or fetch it). Every
// value is escaped.

const CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #656d76; --line: #d0d7de; --head: #f6f8fa;
  --missing: #1a7f37; --extra: #cf222e; --changed: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d; --head: #161b22;
  --missing: #3fb950; --extra: #f85149; --changed: #d29922; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 2rem 1.5rem; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta, .note { color: var(--muted); margin: .25rem 0; }
section { border: 1px solid var(--line); border-radius: 8px; margin: 1.25rem 0; overflow: hidden; }
section > h2 { font-size: 1rem; margin: 0; padding: .6rem .9rem; background: var(--head); border-bottom: 1px solid var(--line); display: flex; gap: .75rem; align-items: baseline; flex-wrap: wrap; }
.badge { font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: .1rem .5rem; border-radius: 999px; border: 1px solid currentColor; }
.missing .badge { color: var(--missing); } .extra .badge { color: var(--extra); } .changed .badge { color: var(--changed); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .4rem .9rem; border-top: 1px solid var(--line); }
thead th { border-top: 0; color: var(--muted); font-weight: 600; font-size: .85rem; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { unicode-bidi: isolate; }
td code { white-space: pre-wrap; word-break: break-word; }
pre { margin: 0; padding: .75rem .9rem; overflow-x: auto; border-top: 1px solid var(--line); }
pre .add { color: var(--missing); } pre .del { color: var(--extra); } pre .hunk { color: var(--muted); }
.last { margin: 0; padding: .5rem .9rem; color: var(--muted); border-top: 1px solid var(--line); font-size: .9rem; }
.ok { color: var(--missing); font-weight: 600; }
`;

function htmlDiff(diff: string): string {
  const lines = diff.split('\n').map((line) => {
    const cls = line.startsWith('+++') || line.startsWith('---') ? '' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : '';
    return cls ? `<span class="${cls}">${escapeHtml(line)}</span>` : escapeHtml(line);
  });
  return `<pre>${lines.join('\n')}</pre>`;
}

function htmlSection(item: DriftedAddress): string {
  const parts = [
    `<section class="${item.action}">`,
    `<h2><code>${escapeHtml(item.address)}</code><span class="badge">${escapeHtml(item.action)}</span>${item.action === 'changed' ? '' : `<span class="note">${escapeHtml(ACTION_WORDS[item.action].replace(/^\w+: /, ''))}</span>`}</h2>`,
  ];
  if (item.fields.length > 0) {
    parts.push('<table><thead><tr><th>Field</th><th>Live</th><th>Config</th></tr></thead><tbody>');
    for (const f of item.fields) {
      const cell = (text: string) => `<td><code>${escapeHtml(text)}</code></td>`;
      if (inDiff(item, f)) parts.push(`<tr><td><code>${escapeHtml(f.field)}</code></td><td>${escapeHtml(flowEntryState(f))}</td><td>(see the diff)</td></tr>`);
      else {
        const live = item.action === 'missing' ? '<td>(missing)</td>' : cell(formatValue(f.live));
        parts.push(`<tr><td><code>${escapeHtml(f.field)}</code></td>${live}${cell(formatValue(f.config))}</tr>`);
      }
    }
    parts.push('</tbody></table>');
  }
  if (item.diff) parts.push(htmlDiff(item.diff));
  const last = formatLastChange(item.lastChange);
  if (last) parts.push(`<p class="last">${escapeHtml(last.charAt(0).toUpperCase() + last.slice(1))}</p>`);
  parts.push('</section>');
  return parts.join('\n');
}

export function formatDriftHtml(report: DriftReport): string {
  const title = formatHeading(report);
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Checked ${escapeHtml(formatTime(report.checkedAt))}.${report.drifted.length > 0 ? ` ${escapeHtml(counts(report))}; values are shown live → config.` : ''}</p>`,
    report.drifted.length === 0 ? '<p class="ok">No drift: the live project matches the config.</p>' : '',
    ...report.drifted.map(htmlSection),
    report.unmanaged > 0 ? `<p class="note">${escapeHtml(unmanagedLine(report))}</p>` : '',
    auditLine(report) ? `<p class="note">${escapeHtml(auditLine(report)!)}</p>` : '',
  ].filter((part) => part !== '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${HTML_MARKER}
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

export function formatDrift(report: DriftReport, format: DriftFormat, paint: Paint = PLAIN): string {
  switch (format) {
    case 'text':
      // A file (drift --out); the terminal gets formatDriftText without the marker line.
      return `${TEXT_MARKER}\n${formatDriftText(report, paint).join('\n')}\n`;
    case 'json':
      return `${formatDriftJson(report)}\n`;
    case 'markdown':
      return formatDriftMarkdown(report);
    case 'html':
      return formatDriftHtml(report);
  }
}

// ---------------------------------------------------------------------------------------------
// Watching

export interface DriftDelta {
  /** Drifted now, not at the previous check (every drifted address at the first check). */
  newlyDrifted: string[];
  /** Drifted at the previous check, not now. */
  resolved: string[];
}

export function computeDriftDelta(previous: ReadonlySet<string> | undefined, report: DriftReport): DriftDelta {
  const now = report.drifted.map((d) => d.address);
  const before = previous ?? new Set<string>();
  const current = new Set(now);
  return { newlyDrifted: now.filter((a) => !before.has(a)), resolved: [...before].filter((a) => !current.has(a)).sort() };
}

function listed(addresses: readonly string[], max = 5): string {
  const shown = addresses.slice(0, max).map(safeText).join(', ');
  return addresses.length > max ? `${shown}, +${addresses.length - max} more` : shown;
}

/** One line per check: `2026-11-21T12:30:32Z  2 drifted addresses  new: tenants/acme  resolved: roles/x`. */
export function formatWatchLine(report: DriftReport, delta: DriftDelta): string {
  const parts = [formatTime(report.checkedAt), driftedCount(report.drifted.length)];
  if (delta.newlyDrifted.length > 0) parts.push(`new: ${listed(delta.newlyDrifted)}`);
  if (delta.resolved.length > 0) parts.push(`resolved: ${listed(delta.resolved)}`);
  return parts.join('  ');
}

export interface DriftNotification {
  /** Slack-compatible message text. */
  text: string;
  environment: string;
  projectId: string;
  drifted: string[];
  newlyDrifted: string[];
}

export function computeNotification(report: DriftReport, delta: DriftDelta): DriftNotification {
  const n = delta.newlyDrifted.length;
  // Slack reads &, < and > as markup: its documented escapes keep a hostile name plain text; the
  // names in it are made safe first (./safe-text.ts), since a chat client shows bidi controls too.
  const slack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const text = slack(
    `Drift in environment ${safeText(report.environment)} (project ${safeText(report.projectId)}): ` +
      `${n} new drifted ${n === 1 ? 'address' : 'addresses'} (${listed(delta.newlyDrifted, 10)}); ` +
      `${driftedCount(report.drifted.length)} in all.`,
  );
  return {
    text,
    environment: report.environment,
    projectId: report.projectId,
    drifted: report.drifted.map((d) => d.address),
    newlyDrifted: [...delta.newlyDrifted],
  };
}
