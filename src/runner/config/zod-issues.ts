// Turns zod's issues into descope-run issues whose path is a config path users can read:
// `tenants/acme.selfProvisioningDomains[1]` rather than `tenants.3.selfProvisioningDomains.1`.
import type { z } from 'zod';
import type { Issue } from '../../errors.ts';

type Segment = PropertyKey;

const KEYED_KINDS: Record<string, (item: Record<string, unknown>) => string | undefined> = {
  tenants: (t) => str(t.id),
  permissions: (p) => str(p.name),
  flows: (f) => str(f.id),
  roles: (r) => {
    const name = str(r.name);
    if (name === undefined) return undefined;
    const tenant = str(r.tenant);
    return tenant === undefined ? name : `${tenant}/${name}`;
  },
};

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** Formats the trailing part of a path: `.field`, `[2]`, `["odd key"]`. */
export function formatPathTail(segments: readonly Segment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/**
 * The readable path of a location in a config value: resources are named by their address
 * (`kind/key`), everything else by its property path.
 */
export function configPath(segments: readonly Segment[], input: unknown): string {
  const [head, index, ...rest] = segments;
  if (typeof head === 'string' && head in KEYED_KINDS && typeof index === 'number') {
    const list = record(input)?.[head];
    const item = Array.isArray(list) ? record(list[index]) : undefined;
    const key = item ? KEYED_KINDS[head]!(item) : undefined;
    const address = key === undefined ? `${head}[${index}]` : `${head}/${key}`;
    return address + formatPathTail(rest);
  }
  if (head === 'modules' && typeof index === 'number') {
    const list = record(input)?.modules;
    const mod = Array.isArray(list) ? record(list[index]) : undefined;
    const name = mod ? str(mod.name) : undefined;
    const label = `modules[${index}]${name ? ` (module "${name}")` : ''}`;
    if (rest.length === 0) return label;
    return `${label} ${configPath(rest, mod)}`;
  }
  const tail = formatPathTail(segments);
  return tail.startsWith('.') ? tail.slice(1) : tail || '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): { message: string; hint?: string } {
  switch (issue.code) {
    case 'unrecognized_keys':
      return {
        message: `unknown ${issue.keys.length === 1 ? 'property' : 'properties'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
        hint: 'remove it or check its spelling against the type (your editor lists the valid properties)',
      };
    case 'invalid_type':
      // A message set by the schema says more than the generic one.
      if (!issue.message.startsWith('Invalid input')) return { message: issue.message };
      if (issue.input === undefined) return { message: `is required (expected ${issue.expected})` };
      if (typeof issue.input === 'function' && issue.expected === 'object') {
        return { message: 'is a function, not a value', hint: 'call it: a module is used as myModule({ ... })' };
      }
      return { message: `expected ${issue.expected}, got ${describeValue(issue.input)}` };
    case 'invalid_value':
      if (issue.path.at(-1) === 'kind' && issue.values.length === 1) {
        const kind = String(issue.values[0]);
        const builder = kind === 'config' ? 'defineConfig' : kind === 'module' ? 'defineModule' : kind;
        return {
          message: `is not a ${kind}`,
          hint: kind === 'module' ? 'call the module: modules: [myModule({ ... })]' : `build it with ${builder}({ ... })`,
        };
      }
      return {
        message:
          issue.values.length === 1
            ? `must be ${JSON.stringify(issue.values[0])}`
            : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { message: issue.message };
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  // Never the string itself: a misplaced secret must not be echoed.
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value}, which is not a finite number`;
  if (typeof value === 'object') {
    // A Date, a Map, a class instance: its class says more than "object".
    const name = Object.getPrototypeOf(value) === Object.prototype ? undefined : (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name !== '') return `a ${name}`;
  }
  return typeof value;
}

export interface ZodIssueOptions {
  file?: string;
  /** The value that was parsed, used to name resources by their address. */
  input?: unknown;
  /** What the root of the value is called when the path is empty. */
  root?: string;
  /** Where in `input` the parsed value sits, when only a part of it was parsed. */
  prefix?: readonly PropertyKey[];
}

export function zodIssues(error: z.ZodError, options: ZodIssueOptions = {}): Issue[] {
  const issues: Issue[] = [];
  const prefix = options.prefix ?? [];
  for (const found of error.issues) {
    const issue = prefix.length === 0 ? found : ({ ...found, path: [...prefix, ...found.path] } as z.core.$ZodIssue);
    // A union that failed in every branch: report the branch that got furthest, not all of them.
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = issue.errors.reduce((a, b) => (score(b) < score(a) ? b : a));
      for (const inner of best) {
        issues.push(toIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, options));
      }
      continue;
    }
    issues.push(toIssue(issue, options));
  }
  return issues;
}

function score(branch: readonly z.core.$ZodIssue[]): number {
  // Fewer issues, and no complaint about the discriminating key, means a closer branch.
  return branch.length + branch.filter((i) => i.code === 'invalid_value' || i.path.at(-1) === 'kind').length * 100;
}

function toIssue(issue: z.core.$ZodIssue, options: ZodIssueOptions): Issue {
  const { message, hint } = describeIssue(issue);
  const path = issue.path.length === 0 ? options.root ?? '(root)' : configPath(issue.path, options.input);
  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    path,
    message,
    ...(hint === undefined ? {} : { hint }),
  };
}
