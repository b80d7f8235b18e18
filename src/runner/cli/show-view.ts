// What `descope-run show` prints, from records already read: aligned tables, JSON, and a small
// YAML emitter for JSON values. Pure: no I/O, no colour. Every live string is made safe
// (./safe-text.ts): table cells with safeText, JSON and YAML with their own \u escapes.
import type { CanonicalPermission, CanonicalRole, CanonicalTenant, CanonicalTheme, FlowSummary } from '../../runtime/model.ts';
import { formatJson, hasUnsafe, replaceUnsafe, safeText } from './safe-text.ts';

export const SHOW_VIEWS = ['tenants', 'roles', 'permissions', 'flows', 'theme'] as const;
export type ShowView = (typeof SHOW_VIEWS)[number];

export const SHOW_FORMATS = ['table', 'json', 'yaml'] as const;
export type ShowFormat = (typeof SHOW_FORMATS)[number];

/** One view's records as read: canonical records, keyed as the live state keys them. */
export type ShowData =
  | {
      view: 'tenants';
      tenants: Record<string, CanonicalTenant>;
      /** Tenant id → SSO protocol as the tenant list reports it (`none`, `oidc`, `saml`), when it does. */
      authTypes: Record<string, string>;
    }
  | { view: 'roles'; roles: Record<string, CanonicalRole> }
  | { view: 'permissions'; permissions: Record<string, CanonicalPermission> }
  | { view: 'flows'; flows: Record<string, FlowSummary> }
  | { view: 'theme'; theme: CanonicalTheme };

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedValues<T>(record: Record<string, T>): T[] {
  return Object.keys(record)
    .sort(compareStrings)
    .map((key) => record[key]!);
}

/** What json and yaml print: the canonical records as an array in key order (the theme: its object). */
export function computeShowValue(data: ShowData): unknown {
  switch (data.view) {
    case 'tenants':
      return sortedValues(data.tenants);
    case 'roles':
      return sortedValues(data.roles);
    case 'permissions':
      return sortedValues(data.permissions);
    case 'flows':
      return sortedValues(data.flows);
    case 'theme':
      return data.theme;
  }
}

/** The output of one view in one format, as lines. `project` names the project in the "empty" message. */
export function formatShow(data: ShowData, format: ShowFormat, project: string): string[] {
  if (format === 'json') return [formatJson(computeShowValue(data), 2)];
  if (format === 'yaml') return [formatYaml(computeShowValue(data))];
  return formatShowTable(data, project);
}

// ---------------------------------------------------------------------------------------------
// Tables

/** Widest a cell may be before it is cut with "…"; the last column of each view is wider. */
const CELL_MAX = 40;
const LAST_CELL_MAX = 60;

function width(text: string): number {
  return [...text].length;
}

/** Cut to `max` characters (code points), the last one "…". */
export function truncateCell(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Header and rows as aligned lines: two spaces between columns, the last column not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], maxWidths: readonly number[] = []): string[] {
  // Live names can hold anything: control and bidi characters become visible escapes, never terminal codes.
  const cells = rows.map((row) => row.map((cell, i) => truncateCell(safeText(cell), maxWidths[i] ?? CELL_MAX)));
  const widths = header.map((h, i) => Math.max(width(h), ...cells.map((row) => width(row[i] ?? ''))));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)];
}

const list = (values: readonly string[]): string => (values.length > 0 ? values.join(', ') : '-');
const yesNo = (value: boolean): string => (value ? 'yes' : 'no');
const orDash = (value: string | undefined): string => (value === undefined || value === '' ? '-' : value);

function bytes(value: unknown): string {
  const size = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  return size < 1024 ? `${size} B` : `${(size / 1024).toFixed(1)} kB`;
}

function describeSize(value: unknown): [type: string, size: string] {
  if (Array.isArray(value)) return ['array', `${value.length === 1 ? '1 item' : `${value.length} items`}, ${bytes(value)}`];
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).length;
    return ['object', `${keys === 1 ? '1 key' : `${keys} keys`}, ${bytes(value)}`];
  }
  if (typeof value === 'string') return ['string', `${width(value)} chars`];
  return [value === null ? 'null' : typeof value, String(value)];
}

function isEmptyTheme(theme: CanonicalTheme): boolean {
  const keys = Object.keys(theme).filter((key) => theme[key] !== undefined);
  const css = theme.cssTemplate;
  const emptyCss = css === undefined || css === null || (typeof css === 'object' && Object.keys(css).length === 0);
  return keys.every((key) => key === 'cssTemplate') && emptyCss;
}

/** The view as a table (header first), or one line saying there is nothing. */
export function formatShowTable(data: ShowData, project: string): string[] {
  switch (data.view) {
    case 'tenants': {
      const tenants = sortedValues(data.tenants);
      if (tenants.length === 0) return [`No tenants in ${project}.`];
      return formatTable(
        ['ID', 'NAME', 'DOMAINS', 'PARENT', 'DEFAULT ROLES', 'SSO', 'ENFORCE SSO', 'DISABLED'],
        tenants.map((t) => [
          t.id,
          t.name,
          list(t.selfProvisioningDomains),
          orDash(t.parent),
          list(t.defaultRoles),
          orDash(data.authTypes[t.id]),
          yesNo(t.enforceSSO),
          yesNo(t.disabled),
        ]),
      );
    }
    case 'roles': {
      const addresses = Object.keys(data.roles).sort(compareStrings);
      if (addresses.length === 0) return [`No roles in ${project}.`];
      return formatTable(
        ['ROLE', 'TENANT', 'PERMISSIONS', 'DEFAULT', 'DESCRIPTION'],
        addresses.map((address) => {
          const role = data.roles[address]!;
          return [address, orDash(role.tenant), list(role.permissions), yesNo(role.default), orDash(role.description)];
        }),
        [CELL_MAX, CELL_MAX, CELL_MAX, CELL_MAX, LAST_CELL_MAX],
      );
    }
    case 'permissions': {
      const permissions = sortedValues(data.permissions);
      if (permissions.length === 0) return [`No permissions in ${project}.`];
      return formatTable(
        ['NAME', 'DESCRIPTION'],
        permissions.map((p) => [p.name, orDash(p.description)]),
        [CELL_MAX, LAST_CELL_MAX],
      );
    }
    case 'flows': {
      const flows = sortedValues(data.flows);
      if (flows.length === 0) return [`No flows in ${project}.`];
      return formatTable(
        ['ID', 'NAME', 'DISABLED', 'DESCRIPTION'],
        flows.map((f) => [f.id, f.name, yesNo(f.disabled), orDash(f.description)]),
        [CELL_MAX, CELL_MAX, CELL_MAX, LAST_CELL_MAX],
      );
    }
    case 'theme': {
      if (isEmptyTheme(data.theme)) return [`No theme in ${project}.`];
      const keys = Object.keys(data.theme)
        .filter((key) => data.theme[key] !== undefined)
        .sort(compareStrings);
      return formatTable(
        ['KEY', 'TYPE', 'SIZE'],
        keys.map((key) => [key, ...describeSize(data.theme[key])]),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// YAML
//
// Block style, two-space indents, strings plain only when no YAML 1.1 or 1.2 reader could take them
// for anything else; every other string is double-quoted with JSON escapes (a YAML double-quoted
// scalar reads JSON's escapes the same), so a value is always one line.

/** Plain-scalar words YAML 1.1 / 1.2 read as booleans or null (compared lower-cased). */
const RESERVED = new Set(['true', 'false', 'yes', 'no', 'y', 'n', 'on', 'off', 'null', '~']);

/** Characters that start a YAML indicator (or a quote) when first. */
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`]/;
/** Numbers in either schema (ints, floats, 0x / 0o / 0b, .inf / .nan), timestamps, sexagesimals: anything starting like a number. */
const NUMBER_LIKE = /^[-+]?(\.?[0-9]|\.(inf|nan)$)/i;

function plainSafe(text: string): boolean {
  return (
    text !== '' &&
    text.trim() === text &&
    !INDICATOR_START.test(text) &&
    !NUMBER_LIKE.test(text) &&
    !RESERVED.has(text.toLowerCase()) &&
    // `: ` starts a value and ` #` a comment; a trailing `:` makes a key.
    !/:(\s|$)/.test(text) &&
    !/\s#/.test(text) &&
    // YAML reads only tab, LF, CR, 0x20-0x7E, 0x85 and 0xA0 up as printable; the bidi, invisible
    // and other unsafe characters (./safe-text.ts) are escaped too, so they go quoted.
    !hasUnsafe(text) &&
    // Document markers, and YAML 1.1's merge key and value key.
    !text.startsWith('...') &&
    !text.startsWith('<<') &&
    text !== '='
  );
}

/** A YAML double-quoted scalar: JSON's escapes, plus every unsafe character JSON leaves alone (an astral one as YAML's \UXXXXXXXX). */
function quoted(text: string): string {
  return replaceUnsafe(JSON.stringify(text), (c) => {
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

function yamlString(text: string): string {
  return plainSafe(text) ? text : quoted(text);
}

function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // As JSON.stringify: a number that is not finite has no JSON (nor portable YAML) form. YAML 1.1
  // reads an exponent as a float only after a dot: 1e+21 is written 1.0e+21.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value).replace(/^(-?\d+)e/, '$1.0e') : 'null';
  if (typeof value === 'string') return yamlString(value);
  throw new TypeError(`formatYaml: not a JSON value (${typeof value})`);
}

function isCollection(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

function isEmptyCollection(value: object): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.values(value).every((item) => item === undefined);
}

function yamlLines(value: unknown): string[] {
  if (!isCollection(value)) return [yamlScalar(value)];
  if (isEmptyCollection(value)) return [Array.isArray(value) ? '[]' : '{}'];
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      // JSON.stringify writes an undefined item as null.
      const lines = yamlLines(item === undefined ? null : item);
      out.push(`- ${lines[0]}`, ...lines.slice(1).map((line) => `  ${line}`));
    }
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const lines = yamlLines(item);
    if (isCollection(item) && !isEmptyCollection(item)) out.push(`${yamlString(key)}:`, ...lines.map((line) => `  ${line}`));
    else out.push(`${yamlString(key)}: ${lines[0]}`);
  }
  return out;
}

/** A JSON value as a YAML document (no `---`, no trailing newline). */
export function formatYaml(value: unknown): string {
  return yamlLines(value).join('\n');
}
