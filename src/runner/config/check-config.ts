// Checks an evaluated config and merges its modules into one project spec. Pure: it takes the value
// the config produced and returns the spec plus every problem found, never the first one only.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowAddress, PASSWORD_POLICY_ADDRESS, permissionAddress, roleAddress, tenantAddress, THEME_ADDRESS } from '../../dsl/address.ts';
import type { z } from 'zod';
import {
  configShellSchema,
  moduleShellSchema,
  passwordPolicySchema,
  resourceSchemas,
  themeSchema,
  type ResourceListKey,
} from '../../dsl/schema.ts';
import type {
  FlowSpec,
  PasswordPolicySpec,
  PermissionSpec,
  PruneOptions,
  RoleSpec,
  TenantSpec,
  ThemeSpec,
} from '../../dsl/types.ts';
import type { Issue } from '../../errors.ts';
import { formatPathTail, zodIssues } from './zod-issues.ts';

/** Where a resource was declared: the config file itself or one use of a module. */
export interface Source {
  /** For messages: `descope.config.ts` or `module "team" (modules[1])`. */
  label: string;
  /** The folder its flow and theme templates are read from (absolute). */
  templatesDir: string;
}

export interface Declared<T> {
  address: string;
  spec: T;
  source: Source;
}

export interface ProjectSpec {
  tenants: Declared<TenantSpec>[];
  roles: Declared<RoleSpec>[];
  permissions: Declared<PermissionSpec>[];
  flows: Declared<FlowSpec>[];
  theme: Declared<ThemeSpec> | undefined;
  passwordPolicy: Declared<PasswordPolicySpec> | undefined;
  prune: PruneOptions;
}

export interface CheckInput {
  /** The config's value after evaluation (the factory already called). */
  value: unknown;
  /** The config file, relative to the project root, for messages. */
  configFile: string;
  projectRoot: string;
}

export interface CheckResult {
  spec: ProjectSpec | undefined;
  issues: Issue[];
}

function templatesFolder(projectRoot: string, configFile: string, dir: string | undefined): string {
  if (dir === undefined) return path.resolve(projectRoot, path.dirname(configFile), 'templates');
  if (dir.startsWith('file:')) return fileURLToPath(dir);
  return path.resolve(projectRoot, path.dirname(configFile), dir);
}

/** Identity of a resource for duplicate detection: (tenant, name) for roles, so names may hold "/". */
const IDENTITY: Record<ResourceListKey, (item: Record<string, unknown>) => string> = {
  tenants: (t) => JSON.stringify(['tenant', t.id]),
  roles: (r) => JSON.stringify(['role', r.tenant ?? null, r.name]),
  permissions: (p) => JSON.stringify(['permission', p.name]),
  flows: (f) => JSON.stringify(['flow', f.id]),
};
const ADDRESS: Record<ResourceListKey, (item: never) => string> = {
  tenants: (t: { id: string }) => tenantAddress(t.id),
  roles: roleAddress,
  permissions: (p: { name: string }) => permissionAddress(p.name),
  flows: (f: { id: string }) => flowAddress(f.id),
};
const LISTS = Object.keys(resourceSchemas) as ResourceListKey[];

export function checkConfig(input: CheckInput): CheckResult {
  const { configFile, projectRoot, value } = input;
  const issues: Issue[] = [];
  const parse = <T>(schema: z.ZodType<T>, item: unknown, prefix: PropertyKey[]): T | undefined => {
    const parsed = schema.safeParse(item, { reportInput: true });
    if (parsed.success) return parsed.data;
    // Something of the wrong kind (a role among the tenants, a plain object): say only that.
    const wrongKind = parsed.error.issues.filter((i) => i.path.length === 1 && i.path[0] === 'kind');
    if (wrongKind.length > 0) parsed.error.issues.splice(0, Infinity, ...wrongKind);
    issues.push(...zodIssues(parsed.error, { file: configFile, input: value, root: 'config', prefix }));
    return undefined;
  };

  const shell = parse(configShellSchema, value, []);
  if (!shell) return { spec: undefined, issues };
  const main: Source = { label: configFile, templatesDir: templatesFolder(projectRoot, configFile, shell.templatesDir) };
  const theme = shell.theme === undefined ? undefined : parse(themeSchema, shell.theme, ['theme']);
  const passwordPolicy =
    shell.passwordPolicy === undefined ? undefined : parse(passwordPolicySchema, shell.passwordPolicy, ['passwordPolicy']);

  const spec: ProjectSpec = {
    tenants: [],
    roles: [],
    permissions: [],
    flows: [],
    theme: theme ? { address: THEME_ADDRESS, spec: theme as ThemeSpec, source: main } : undefined,
    passwordPolicy: passwordPolicy
      ? { address: PASSWORD_POLICY_ADDRESS, spec: passwordPolicy as PasswordPolicySpec, source: main }
      : undefined,
    prune: shell.prune ?? {},
  };

  const seen = new Map<string, { source: Source; at: string }>();
  const invalid: InvalidNames = { tenants: new Set(), roles: new Set(), permissions: new Set(), flows: new Set() };
  function addParts(parts: Partial<Record<ResourceListKey, unknown[]>>, source: Source, prefix: PropertyKey[]): void {
    for (const list of LISTS) {
      (parts[list] ?? []).forEach((item, index) => {
        const parsed = parse(resourceSchemas[list] as z.ZodType<Record<string, unknown>>, item, [...prefix, list, index]);
        if (!parsed) {
          // Its problems are reported; references to it should not be reported again as missing.
          const raw = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
          const key = list === 'tenants' || list === 'flows' ? raw.id : raw.name;
          if (typeof key === 'string') invalid[list].add(key);
          return;
        }
        const address = ADDRESS[list](parsed as never);
        const at = `${list}[${index}]`;
        const identity = IDENTITY[list](parsed);
        const first = seen.get(identity);
        if (first) {
          issues.push({
            file: source.label,
            path: address,
            message: `is declared twice: at ${first.at} in ${first.source.label} and at ${at} in ${source.label}`,
            hint: 'keep one of them, or give one a different id or name',
          });
          return;
        }
        seen.set(identity, { source, at });
        (spec[list] as Declared<unknown>[]).push({ address, spec: parsed, source });
      });
    }
  }

  addParts(shell, main, []);
  (shell.modules ?? []).forEach((item, index) => {
    const mod = parse(moduleShellSchema, item, ['modules', index]);
    if (!mod) return;
    const source: Source = {
      label: `module "${mod.name}" (modules[${index}])`,
      templatesDir: mod.templatesDir === undefined ? main.templatesDir : templatesFolder(projectRoot, configFile, mod.templatesDir),
    };
    addParts(mod, source, ['modules', index]);
  });

  issues.push(...checkReferences(spec, invalid));
  return { spec, issues };
}

/** Ids and names of resources that are declared but failed their schema (already reported). */
export type InvalidNames = Record<ResourceListKey, Set<string>>;

/** Cross-references: roles, permissions, tenants and domains that must name something declared. */
export function checkReferences(spec: ProjectSpec, invalid?: InvalidNames): Issue[] {
  const issues: Issue[] = [];
  const tenantIds = new Set([...spec.tenants.map((t) => t.spec.id), ...(invalid?.tenants ?? [])]);
  const permissionNames = new Set([...spec.permissions.map((p) => p.spec.name), ...(invalid?.permissions ?? [])]);
  const projectRoles = new Set([
    ...spec.roles.filter((r) => r.spec.tenant === undefined).map((r) => r.spec.name),
    ...(invalid?.roles ?? []),
  ]);
  const tenantRoles = (tenant: string) =>
    new Set(spec.roles.filter((r) => r.spec.tenant === tenant).map((r) => r.spec.name));
  const issue = (d: Declared<unknown>, tail: readonly PropertyKey[], message: string, hint?: string): void => {
    issues.push({ file: d.source.label, path: d.address + formatPathTail(tail), message, ...(hint ? { hint } : {}) });
  };

  for (const r of spec.roles) {
    r.spec.permissions?.forEach((name, i) => {
      if (!permissionNames.has(name)) {
        issue(r, ['permissions', i], `names permission "${name}", which is not declared`, `declare permission({ name: ${JSON.stringify(name)} }) or fix the name`);
      }
    });
    if (r.spec.tenant !== undefined && !tenantIds.has(r.spec.tenant)) {
      issue(r, ['tenant'], `is scoped to tenant "${r.spec.tenant}", which is not declared`, 'declare the tenant, or fix the id');
    }
  }

  // Renames: the old name must not still be declared in the same scope, and two roles cannot
  // claim the same old name.
  const renamed = new Map<string, Declared<RoleSpec>>();
  for (const r of spec.roles) {
    const from = r.spec.renamedFrom;
    if (from === undefined) continue;
    const key = roleAddress({ name: from, tenant: r.spec.tenant });
    if (spec.roles.some((other) => other !== r && other.address === key)) {
      issue(r, ['renamedFrom'], `renames "${from}", but a role named "${from}" is still declared`, 'remove the old role, or drop renamedFrom');
    }
    const twin = renamed.get(key);
    if (twin) issue(r, ['renamedFrom'], `renames "${from}", which ${twin.address} renames too`);
    else renamed.set(key, r);
    if (from === r.spec.name) issue(r, ['renamedFrom'], 'is the role\'s own name', 'remove renamedFrom once the rename is applied');
  }

  const roleKnown = (tenant: string, name: string) => projectRoles.has(name) || tenantRoles(tenant).has(name);
  const selfDomains = new Map<string, Declared<TenantSpec>>();
  const ssoDomains = new Map<string, Declared<TenantSpec>>();
  for (const t of spec.tenants) {
    const { id } = t.spec;
    t.spec.defaultRoles?.forEach((name, i) => {
      if (!roleKnown(id, name)) {
        issue(t, ['defaultRoles', i], `names role "${name}", which is not declared for the project or tenant "${id}"`, 'declare the role, or fix the name');
      }
    });
    const sso = t.spec.sso;
    sso?.roleMappings?.forEach((m, i) => {
      if (!roleKnown(id, m.role)) issue(t, ['sso', 'roleMappings', i, 'role'], `names role "${m.role}", which is not declared`);
    });
    if (sso && sso.type !== 'oidc') {
      sso.defaultSSORoles?.forEach((name, i) => {
        if (!roleKnown(id, name)) issue(t, ['sso', 'defaultSSORoles', i], `names role "${name}", which is not declared`);
      });
    }
    claimDomains(t, t.spec.selfProvisioningDomains, ['selfProvisioningDomains'], selfDomains);
    claimDomains(t, sso?.domains, ['sso', 'domains'], ssoDomains);
    if (t.spec.parent !== undefined) {
      if (t.spec.parent === id) issue(t, ['parent'], 'is the tenant itself');
      else if (cycleFrom(spec, t)) issue(t, ['parent'], `makes a cycle of parent tenants through "${t.spec.parent}"`);
    }
  }

  function claimDomains(
    t: Declared<TenantSpec>,
    domains: readonly string[] | undefined,
    tail: readonly PropertyKey[],
    claimed: Map<string, Declared<TenantSpec>>,
  ): void {
    domains?.forEach((domain, i) => {
      const key = domain.toLowerCase();
      const owner = claimed.get(key);
      if (owner === t) issue(t, [...tail, i], `lists "${domain}" twice`);
      else if (owner) issue(t, [...tail, i], `claims "${domain}", which ${owner.address} claims too`, 'a domain can belong to one tenant only');
      else claimed.set(key, t);
    });
  }

  return issues;
}

function cycleFrom(spec: ProjectSpec, start: Declared<TenantSpec>): boolean {
  const byId = new Map(spec.tenants.map((t) => [t.spec.id, t.spec]));
  const visited = new Set<string>([start.spec.id]);
  let next = start.spec.parent;
  while (next !== undefined) {
    if (visited.has(next)) return next === start.spec.id;
    visited.add(next);
    next = byId.get(next)?.parent;
  }
  return false;
}
