// Import: a live project (the canonical LiveState of `readLiveState(api, { all: true })`) → the
// files of a project that manages it: a typed descope.config.ts, one JSON template per flow and
// one for the theme, and environments/<env>.ts. Pure: it returns `{ path, content }[]`; writing
// them (all or nothing) is the import command's job.
//
// What "manages it" means here is what the plan means: a field the config sets is compared, a
// field it leaves out is whatever it is live. So each resource is written with only the fields
// that differ from what Descope gives a new resource, which keeps the config short and means
// `diff` right after an import shows no changes.
//
// Flow and theme documents go to templates/*.json, which descope-run renders as Nunjucks. A JSON
// document holds no Nunjucks tags of its own, but its strings may hold `{{`, `{%`, `{#` or `#}`
// (Descope screens interpolate `{{user.name}}`), which Nunjucks would read as tags. Those
// characters are written as JSON escapes (`\u007b`, `\u0023`): the file is still the same JSON
// document, and Nunjucks sees only text, so it renders as it is. (Structural braces never form
// such a pair: indented JSON puts a newline or `}` after every `{`.)
//
// The files are code and documents the user reviews and commits: a live name's bidi, invisible
// and control characters are written as \u escapes (the same string once parsed), never raw, so
// what an editor or a code review shows is what the code says ("Trojan Source").
import type { RequestBudget } from '../../dsl/types.ts';
import { escapeJsonText, safeText } from '../cli/safe-text.ts';
import {
  tenantSsoAddress,
  type CanonicalFlow,
  type CanonicalPasswordPolicy,
  type CanonicalRole,
  type CanonicalSso,
  type CanonicalTenant,
  type CanonicalTenantSettings,
  type CanonicalTheme,
  type Duration,
  type LiveState,
} from '../../runtime/index.ts';

/** The environment the project was read from, as the written environments/<name>.ts should say it. */
export type ImportEnvironment =
  | {
      name: string;
      target: 'emulator';
      /** The emulator's state file relative to the written folder (posix); undefined: the default. */
      stateFile?: string | undefined;
    }
  | {
      name: string;
      target: 'remote';
      projectId: string;
      baseUrl?: string | undefined;
      /** The variable the management key is read from. */
      keyVariable: string;
      protected?: boolean | undefined;
      /** Only when it is not the default. */
      budget?: RequestBudget | undefined;
    };

export interface ImportOptions {
  environment: ImportEnvironment;
  /** Where the state came from, for the header comment: `project P2…`, `the embedded emulator (…)`. */
  source: string;
}

export interface ImportedFile {
  /** Relative to the written folder, with `/`. */
  path: string;
  content: string;
}

/** An OIDC client secret the config refers to: Descope never returns it, so it must be set by hand. */
export interface SecretReference {
  /** `tenants/<id>/sso`. */
  address: string;
  variable: string;
}

export interface ImportCounts {
  tenants: number;
  tenantSettings: number;
  tenantSso: number;
  roles: number;
  permissions: number;
  flows: number;
  theme: boolean;
  passwordPolicy: boolean;
}

export interface ImportedProject {
  files: ImportedFile[];
  counts: ImportCounts;
  secrets: SecretReference[];
}

/** What Descope reports for a tenant nobody configured (the runtime's fallbacks, the emulator's defaults). */
export const DEFAULT_TENANT_SETTINGS: CanonicalTenantSettings = {
  sessionSettingsEnabled: false,
  sessionTokenExpiration: { value: 10, unit: 'minutes' },
  refreshTokenExpiration: { value: 4, unit: 'weeks' },
  stepupTokenExpiration: { value: 10, unit: 'minutes' },
  inactivityTimeout: false,
  jitProvisioning: true,
};

/** A new project's password settings (as the emulator models them). */
export const DEFAULT_PASSWORD_POLICY: CanonicalPasswordPolicy = {
  enabled: true,
  minLength: 8,
  lowercase: true,
  uppercase: true,
  number: true,
  nonAlphaNumeric: false,
  expiration: false,
  expirationWeeks: 0,
  reuse: false,
  reuseAmount: 0,
  lock: false,
  lockAttempts: 0,
};

const THEME_FILE = 'theme.json';

export function renderImportedProject(live: LiveState, options: ImportOptions): ImportedProject {
  const tenants = sortedValues(live.tenants ?? {}, (t) => t.id);
  const permissions = sortedValues(live.permissions ?? {}, (p) => p.name);
  // Project roles first, then each tenant's roles.
  const roles = Object.values(live.roles ?? {}).sort(
    (a, b) => Number(a.tenant !== undefined) - Number(b.tenant !== undefined) || compare(a.tenant ?? '', b.tenant ?? '') || compare(a.name, b.name),
  );
  const flows = Object.keys(live.flows ?? {})
    .sort(compare)
    .map((id) => ({ id, document: live.flows![id]! }));
  const theme = live.theme !== undefined && !isDefaultTheme(live.theme) ? live.theme : undefined;
  const password = live.passwordPolicy ? changedFields(live.passwordPolicy, DEFAULT_PASSWORD_POLICY) : {};
  const hasPassword = Object.keys(password).length > 0;

  const files: ImportedFile[] = [];
  const secrets: SecretReference[] = [];
  const counts: ImportCounts = {
    tenants: tenants.length,
    tenantSettings: 0,
    tenantSso: 0,
    roles: roles.length,
    permissions: permissions.length,
    flows: flows.length,
    theme: theme !== undefined,
    passwordPolicy: hasPassword,
  };

  // Template file names: the flow id where it makes a safe, distinct file name.
  const taken = new Set<string>(theme ? [THEME_FILE] : []);
  const flowFiles = new Map<string, string>();
  for (const f of flows) flowFiles.set(f.id, uniqueFileName(f.id, taken));

  const secretVariables = new Set<string>();
  const tenantCalls = tenants.map((t) => {
    const settings = live.tenantSettings?.[t.id];
    const settingsFields = settings ? importedSettings(settings) : undefined;
    if (settingsFields) counts.tenantSettings += 1;
    const sso = live.tenantSso?.[t.id] ?? null;
    let ssoFields: Record<string, unknown> | undefined;
    if (sso) {
      counts.tenantSso += 1;
      let variable: string | undefined;
      if (sso.type === 'oidc') {
        variable = uniqueVariable(secretVariableFor(t.id), secretVariables);
        secrets.push({ address: tenantSsoAddress(t.id), variable });
      }
      ssoFields = importedSso(sso, variable);
    }
    return importedTenant(t, settingsFields, ssoFields);
  });

  const builders = new Set<string>(['defineConfig']);
  const sections: string[] = [];
  const section = (key: string, builder: string, items: Record<string, unknown>[]): void => {
    if (items.length === 0) return;
    builders.add(builder);
    sections.push(`  ${key}: [\n${items.map((item) => `    ${call(builder, item, '    ')},\n`).join('')}  ],\n`);
  };
  section('permissions', 'permission', permissions.map((p) => compact({ name: p.name, description: p.description || undefined })));
  section('roles', 'role', roles.map(importedRole));
  section('tenants', 'tenant', tenantCalls);
  section('flows', 'flow', flows.map((f) => ({ id: f.id, template: flowFiles.get(f.id)! })));
  if (theme) {
    builders.add('theme');
    sections.push(`  theme: ${call('theme', { template: THEME_FILE }, '  ')},\n`);
  }
  if (hasPassword) {
    builders.add('passwordPolicy');
    sections.push(`  passwordPolicy: ${call('passwordPolicy', password, '  ')},\n`);
  }

  const header = [
    `// Imported by \`descope-run import --env ${options.environment.name}\` from ${options.source}.`,
    '// Each resource sets only what differs from what Descope gives a new one; a field left out is not',
    '// managed (it stays as it is live). Flows and the theme are JSON under templates/.',
    ...(secrets.length > 0
      ? ['// Secrets are references, never values: set ' + secrets.map((s) => s.variable).join(', ') + ' before apply.']
      : []),
  ];
  const body = sections.length === 0 ? 'export default defineConfig({});\n' : `export default defineConfig({\n${sections.join('\n')}});\n`;
  files.push({
    path: 'descope.config.ts',
    content: `${header.map(comment).join('\n')}\nimport { ${[...builders].sort().join(', ')} } from 'descope-run';\n\n${body}`,
  });
  files.push({ path: `environments/${options.environment.name}.ts`, content: renderEnvironment(options.environment) });
  for (const f of flows) files.push({ path: `templates/${flowFiles.get(f.id)!}`, content: renderTemplateJson(readableFlow(f.document)) });
  if (theme) files.push({ path: `templates/${THEME_FILE}`, content: renderTemplateJson({ theme }) });
  return { files, counts, secrets };
}

// ---------------------------------------------------------------------------------------------
// Resources → builder arguments (plain objects, keys in the order they are written)

function importedTenant(
  t: CanonicalTenant,
  settings: Record<string, unknown> | undefined,
  sso: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return compact({
    id: t.id,
    name: t.name,
    selfProvisioningDomains: nonEmptyArray(t.selfProvisioningDomains),
    customAttributes: Object.keys(t.customAttributes).length > 0 ? t.customAttributes : undefined,
    enforceSSO: t.enforceSSO || undefined,
    disabled: t.disabled || undefined,
    parent: t.parent,
    defaultRoles: nonEmptyArray(t.defaultRoles),
    settings,
    sso,
  });
}

function importedRole(r: CanonicalRole): Record<string, unknown> {
  return compact({
    name: r.name,
    tenant: r.tenant,
    description: r.description || undefined,
    permissions: nonEmptyArray(r.permissions),
    default: r.default || undefined,
  });
}

/**
 * The settings that differ from a new tenant's, or undefined when none do. The config's
 * `sessionSettingsEnabled` defaults to true when it sets a lifetime or the inactivity timeout, so
 * it is written whenever the live value is not what that default would give.
 */
export function importedSettings(live: CanonicalTenantSettings): Record<string, unknown> | undefined {
  const d = DEFAULT_TENANT_SETTINGS;
  const duration = (value: Duration, fallback: Duration): Duration | undefined =>
    value.value === fallback.value && value.unit === fallback.unit ? undefined : { value: value.value, unit: value.unit };
  const fields = {
    sessionTokenExpiration: duration(live.sessionTokenExpiration, d.sessionTokenExpiration),
    refreshTokenExpiration: duration(live.refreshTokenExpiration, d.refreshTokenExpiration),
    stepupTokenExpiration: duration(live.stepupTokenExpiration, d.stepupTokenExpiration),
    inactivityTimeout: live.inactivityTimeout === false ? undefined : { value: live.inactivityTimeout.value, unit: live.inactivityTimeout.unit },
    jitProvisioning: live.jitProvisioning === d.jitProvisioning ? undefined : live.jitProvisioning,
  };
  const setsSession =
    fields.sessionTokenExpiration !== undefined ||
    fields.refreshTokenExpiration !== undefined ||
    fields.stepupTokenExpiration !== undefined ||
    fields.inactivityTimeout !== undefined;
  const implied = setsSession ? true : d.sessionSettingsEnabled;
  const out = compact({
    sessionSettingsEnabled: live.sessionSettingsEnabled === implied ? undefined : live.sessionSettingsEnabled,
    ...fields,
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The SSO configuration as the DSL writes it; an OIDC secret becomes `{ env: variable }`. */
export function importedSso(sso: CanonicalSso, secretVariable?: string): Record<string, unknown> {
  const common = {
    attributeMapping: sso.attributeMapping,
    roleMappings: nonEmptyArray(sso.roleMappings),
    domains: nonEmptyArray(sso.domains),
  };
  switch (sso.type) {
    case 'oidc':
      return compact({
        type: 'oidc',
        name: sso.name,
        clientId: sso.clientId,
        clientSecret: secretVariable === undefined ? undefined : { env: secretVariable },
        issuer: sso.issuer,
        authUrl: sso.authUrl,
        tokenUrl: sso.tokenUrl,
        userDataUrl: sso.userDataUrl,
        jwksUrl: sso.jwksUrl,
        redirectUrl: sso.redirectUrl,
        callbackDomain: sso.callbackDomain,
        scope: nonEmptyArray(sso.scope),
        prompt: nonEmptyArray(sso.prompt),
        grantType: sso.grantType,
        manageProviderTokens: sso.manageProviderTokens || undefined,
        ...common,
      });
    case 'saml':
      return compact({
        type: 'saml',
        idpUrl: sso.idpUrl,
        entityId: sso.entityId,
        idpCert: sso.idpCert,
        spACSUrl: sso.spACSUrl,
        spEntityId: sso.spEntityId,
        redirectUrl: sso.redirectUrl,
        defaultSSORoles: nonEmptyArray(sso.defaultSSORoles),
        ...common,
      });
    case 'saml-metadata':
      return compact({
        type: 'saml-metadata',
        idpMetadataUrl: sso.idpMetadataUrl,
        entityId: sso.entityId,
        spACSUrl: sso.spACSUrl,
        spEntityId: sso.spEntityId,
        redirectUrl: sso.redirectUrl,
        defaultSSORoles: nonEmptyArray(sso.defaultSSORoles),
        ...common,
      });
  }
}

/** `DESCOPE_SSO_<TENANT>_CLIENT_SECRET`: the tenant id upper-cased, anything else than A-Z and 0-9 as `_`. */
export function secretVariableFor(tenantId: string): string {
  return `DESCOPE_SSO_${tenantId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_CLIENT_SECRET`;
}

/** Two tenant ids can map to one variable (`a-b`, `a.b`): the later ones get `_2`, `_3`, … */
function uniqueVariable(variable: string, taken: Set<string>): string {
  let name = variable;
  for (let n = 2; taken.has(name); n++) name = variable.replace(/_CLIENT_SECRET$/, `_${n}_CLIENT_SECRET`);
  taken.add(name);
  return name;
}

function isDefaultTheme(theme: CanonicalTheme): boolean {
  const keys = Object.keys(theme);
  const css = theme.cssTemplate;
  return keys.length === 1 && keys[0] === 'cssTemplate' && typeof css === 'object' && css !== null && Object.keys(css).length === 0;
}

function changedFields<T extends object>(live: T, defaults: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(defaults) as (keyof T)[]) if (live[key] !== defaults[key]) out[key] = live[key];
  return out;
}

/**
 * A file name for a flow's template: the id where it is a plain file name, otherwise the id with
 * other characters as `_`; distinct from the others even on a case-insensitive file system.
 */
function uniqueFileName(id: string, taken: Set<string>): string {
  let base = id.replace(/[^A-Za-z0-9._-]/g, '_');
  if (base === '' || base.startsWith('.')) base = `_${base}`;
  let name = `${base}.json`;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base}-${n}.json`;
  taken.add(name.toLowerCase());
  return name;
}

// ---------------------------------------------------------------------------------------------
// Writing TypeScript and JSON

const WIDTH = 100;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A JS string literal: JSON's, with U+2028/U+2029 escaped too (older tools choke on them). */
export function stringLiteral(value: string): string {
  return escapeJsonText(JSON.stringify(value));
}

/** A property name: bare when it is an identifier, else quoted; `__proto__` computed, so it stays a key. */
export function propertyKey(key: string): string {
  if (key === '__proto__') return `[${stringLiteral(key)}]`;
  return IDENTIFIER.test(key) ? key : stringLiteral(key);
}

function inline(value: unknown): string {
  if (typeof value === 'string') return stringLiteral(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{ ${entries.map(([k, v]) => `${propertyKey(k)}: ${inline(v)}`).join(', ')} }`;
}

/** A JSON-like value as a TypeScript literal: on one line when it fits, else one member per line. */
export function literal(value: unknown, indent: string, prefixLength = 0, multiline = false): string {
  const flat = inline(value);
  if (value === null || typeof value !== 'object') return flat;
  if (!multiline && indent.length + prefixLength + flat.length <= WIDTH) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return flat;
    return `[\n${value.map((item) => `${inner}${literal(item, inner)},\n`).join('')}${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return flat;
  return `{\n${entries
    .map(([k, v]) => {
      const key = `${propertyKey(k)}: `;
      return `${inner}${key}${literal(v, inner, key.length + 1)},\n`;
    })
    .join('')}${indent}}`;
}

function call(builder: string, argument: Record<string, unknown>, indent: string): string {
  return `${builder}(${literal(argument, indent, builder.length + 3)})`;
}

function comment(line: string): string {
  return safeText(line.replace(/\r?\n/g, ' '));
}

/**
 * The flow document with the keys a reader looks for first: the flow's id, name, description and
 * disabled flag before its other keys and its dsl; each screen's and task's id (type, name) first.
 * Key order means nothing to the plan (documents are compared key-sorted).
 */
function readableFlow(document: CanonicalFlow): Record<string, unknown> {
  const first = <T extends Record<string, unknown>>(value: T, keys: readonly string[], last: readonly string[] = []): T => {
    const out: Record<string, unknown> = {};
    for (const key of keys) if (key in value) out[key] = value[key];
    for (const key of Object.keys(value)) if (!keys.includes(key) && !last.includes(key)) out[key] = value[key];
    for (const key of last) if (key in value) out[key] = value[key];
    return out as T;
  };
  const { flow, screens, ...rest } = document;
  const dsl = flow.dsl as { tasks?: unknown } | undefined;
  const tasks = dsl && typeof dsl.tasks === 'object' && dsl.tasks !== null && !Array.isArray(dsl.tasks)
    ? Object.fromEntries(
        Object.entries(dsl.tasks as Record<string, unknown>).map(([key, task]) => [
          key,
          typeof task === 'object' && task !== null && !Array.isArray(task) ? first(task as Record<string, unknown>, ['id', 'type', 'name'], ['next']) : task,
        ]),
      )
    : undefined;
  return {
    flow: first({ ...flow, ...(tasks ? { dsl: { ...(flow.dsl as object), tasks } } : {}) }, ['id', 'name', 'description', 'disabled'], ['dsl']),
    screens: screens.map((screen) => first(screen, ['id', 'flowId'])),
    ...rest,
  };
}

/** Indented JSON in which no Nunjucks tag can start (see the header). */
export function renderTemplateJson(document: unknown): string {
  return `${escapeJsonText(JSON.stringify(document, null, 2)).replace(/\{(?=[{%#])|#(?=\})/g, (ch) => (ch === '{' ? '\\u007b' : '\\u0023'))}\n`;
}

function renderEnvironment(env: ImportEnvironment): string {
  const fields: Record<string, unknown> =
    env.target === 'emulator'
      ? { emulator: env.stateFile === undefined ? true : { stateFile: env.stateFile } }
      : compact({
          projectId: env.projectId,
          baseUrl: env.baseUrl,
          managementKey: { env: env.keyVariable },
          protected: env.protected || undefined,
          budget: env.budget,
        });
  const about =
    env.target === 'emulator'
      ? `// The environment "${env.name}": the embedded emulator the project was imported from${
          env.stateFile === undefined ? '' : `; its state stays in ${env.stateFile}`
        }.`
      : `// The environment "${env.name}": Descope project ${env.projectId}. The management key is read from ${env.keyVariable}.`;
  return `${comment(about)}\nimport { defineEnvironment } from 'descope-run';\n\nexport default defineEnvironment(${literal(fields, '', 0, true)});\n`;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function compact<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return out as T;
}

function nonEmptyArray<T>(values: readonly T[]): T[] | undefined {
  return values.length > 0 ? [...values] : undefined;
}

function sortedValues<T>(record: Record<string, T>, key: (item: T) => string): T[] {
  return Object.values(record).sort((a, b) => compare(key(a), key(b)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
