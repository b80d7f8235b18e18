// zod schemas for everything a config and an environment may hold. They check shape only (types,
// unknown keys, formats); references between resources are checked after modules are merged.
import * as z from 'zod';
import { BASE_URL_EXAMPLE, baseUrlProblem, shownBaseUrl } from './base-url.ts';

// Each schema here parses a handful of values once per run. zod's JIT (a `new Function` per object
// schema, built on its first parse) costs more than it saves at that rate: about 10 ms of every
// validate. The setting is zod's global; it changes speed only, never what parses.
z.config({ jitless: true });

/** A host name as a DNS name: two or more labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
// Upper case only: a pasted key (mixed case) must not pass as a variable name and be echoed.
const ENV_VAR = /^[A-Z_][A-Z0-9_]*$/;
/** Ids become part of addresses (`tenants/<id>`) and URLs, so no slashes or blanks. */
const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

export const hostnameSchema = z
  .string()
  .regex(HOSTNAME, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid host name (expected e.g. "acme.com")` });

/**
 * Names of the members every JavaScript object has (`constructor`, `__proto__`, `toString`, …).
 * Ids and permission names are keys of plain records throughout descope-run: as keys, these would
 * read or replace Object.prototype's members instead of a resource.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

const idSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(128)
  .regex(RESOURCE_ID, { error: 'may hold only letters, digits and . _ : @ - (no spaces or slashes)' })
  .refine((id) => !RESERVED_KEYS.has(id), {
    error: (iss) => `${JSON.stringify(iss.input)} is reserved (every JavaScript object has a member of that name, which would stand in for the resource); pick another id`,
  });

const nameSchema = z.string().trim().min(1, { error: 'must not be empty' }).max(256);
/** A permission's name, which keys the permissions like an id. */
const permissionNameSchema = nameSchema.refine((name) => !RESERVED_KEYS.has(name), {
  error: (iss) => `${JSON.stringify(iss.input)} is reserved (every JavaScript object has a member of that name, which would stand in for the permission); pick another name`,
});

export const secretRefSchema = z.strictObject(
  {
    env: z.string().regex(ENV_VAR, {
      error: 'must be the name of an environment variable in capitals, e.g. "ACME_OIDC_SECRET" (never the secret itself)',
    }),
  },
  {
    error: (iss) =>
      typeof iss.input === 'string'
        ? 'a literal secret is refused: write { env: "VARIABLE_NAME" } and set that variable where you apply'
        : undefined,
  },
);

const expirationUnit = z.enum(['minutes', 'hours', 'days', 'weeks']);
const durationSchema = z.strictObject({ value: z.number().int().positive(), unit: expirationUnit });

const tenantSettingsSchema = z.strictObject({
  sessionSettingsEnabled: z.boolean().optional(),
  sessionTokenExpiration: durationSchema.optional(),
  refreshTokenExpiration: durationSchema.optional(),
  stepupTokenExpiration: durationSchema.optional(),
  inactivityTimeout: z.union([durationSchema, z.literal(false)]).optional(),
  jitProvisioning: z.boolean().optional(),
});

const attributeMappingShape = {
  name: z.string().optional(),
  email: z.string().optional(),
  username: z.string().optional(),
  phoneNumber: z.string().optional(),
  givenName: z.string().optional(),
  middleName: z.string().optional(),
  familyName: z.string().optional(),
  picture: z.string().optional(),
  verifiedEmail: z.string().optional(),
  verifiedPhone: z.string().optional(),
  group: z.string().optional(),
  customAttributes: z.record(z.string(), z.string()).optional(),
};
const attributeMappingSchema = z.strictObject(attributeMappingShape);
const oidcAttributeMappingSchema = z.strictObject({ ...attributeMappingShape, loginId: z.string().optional() });

const roleMappingSchema = z.strictObject({ role: nameSchema, groups: z.array(z.string().min(1)) });
const url = z.url({ error: (iss) => `${JSON.stringify(iss.input)} is not a URL` });

const ssoCommon = {
  domains: z.array(hostnameSchema).optional(),
  roleMappings: z.array(roleMappingSchema).optional(),
};

const oidcSchema = z.strictObject({
  type: z.literal('oidc'),
  ...ssoCommon,
  name: nameSchema,
  clientId: z.string().min(1),
  clientSecret: secretRefSchema.optional(),
  issuer: url.optional(),
  authUrl: url.optional(),
  tokenUrl: url.optional(),
  userDataUrl: url.optional(),
  jwksUrl: url.optional(),
  redirectUrl: url.optional(),
  callbackDomain: z.string().optional(),
  scope: z.array(z.string().min(1)).optional(),
  prompt: z.array(z.enum(['none', 'login', 'consent', 'select_account'])).optional(),
  grantType: z.enum(['authorization_code', 'implicit']).optional(),
  manageProviderTokens: z.boolean().optional(),
  attributeMapping: oidcAttributeMappingSchema.optional(),
});

const samlCommon = {
  ...ssoCommon,
  spACSUrl: url.optional(),
  spEntityId: z.string().optional(),
  redirectUrl: url.optional(),
  attributeMapping: attributeMappingSchema.optional(),
  defaultSSORoles: z.array(nameSchema).optional(),
};

const samlSchema = z.strictObject({
  type: z.literal('saml'),
  ...samlCommon,
  idpUrl: url,
  entityId: z.string().min(1),
  idpCert: z.string().min(1),
});

const samlMetadataSchema = z.strictObject({
  type: z.literal('saml-metadata'),
  ...samlCommon,
  idpMetadataUrl: url,
  entityId: z.string().optional(),
});

const ssoSchema = z.discriminatedUnion('type', [oidcSchema, samlSchema, samlMetadataSchema], {
  error: (iss) =>
    iss.code === 'invalid_union' ? 'type must be "oidc", "saml" or "saml-metadata"' : undefined,
});

const customAttributeValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

export const tenantSchema = z.strictObject({
  kind: z.literal('tenant'),
  id: idSchema,
  name: nameSchema,
  selfProvisioningDomains: z.array(hostnameSchema).optional(),
  customAttributes: z.record(z.string().min(1), customAttributeValue).optional(),
  enforceSSO: z.boolean().optional(),
  disabled: z.boolean().optional(),
  parent: idSchema.optional(),
  defaultRoles: z.array(nameSchema).optional(),
  settings: tenantSettingsSchema.optional(),
  sso: ssoSchema.optional(),
  protect: z.boolean().optional(),
});

export const permissionSchema = z.strictObject({
  kind: z.literal('permission'),
  name: permissionNameSchema,
  description: z.string().optional(),
  protect: z.boolean().optional(),
});

export const roleSchema = z.strictObject({
  kind: z.literal('role'),
  name: nameSchema,
  description: z.string().optional(),
  permissions: z.array(nameSchema).optional(),
  tenant: idSchema.optional(),
  default: z.boolean().optional(),
  renamedFrom: nameSchema.optional(),
  protect: z.boolean().optional(),
});

/** Flow and theme documents (and what | json emits) nest no deeper than this; a real flow needs a few dozen levels. */
export const MAX_JSON_DEPTH = 256;

/**
 * Why `value` is not plain JSON data, or undefined: a cycle, nesting deeper than MAX_JSON_DEPTH, a
 * value JSON cannot hold (a function, a symbol, a bigint, NaN), an object that is not a plain
 * object or array (a Date, a Map, a class instance), or a getter. `undefined` members are allowed:
 * JSON leaves them out. Recursion is bounded by the depth limit.
 */
export function jsonDataProblem(value: unknown): { path: PropertyKey[]; message: string } | undefined {
  const ancestors = new Set<object>();
  const visit = (v: unknown, path: PropertyKey[]): { path: PropertyKey[]; message: string } | undefined => {
    if (v === undefined || v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
    if (typeof v === 'number') return Number.isFinite(v) ? undefined : { path, message: `is ${v}, which JSON cannot hold` };
    if (typeof v !== 'object') return { path, message: `is a ${typeof v}, which JSON cannot hold` };
    if (ancestors.has(v)) return { path, message: 'refers back to an object that contains it (a cycle); JSON cannot hold one' };
    if (path.length >= MAX_JSON_DEPTH) return { path: path.slice(0, 6), message: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
    const isArray = Array.isArray(v);
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!isArray && proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
      return { path, message: `is ${typeof name === 'string' && name ? `a ${name}` : 'an object with a prototype'}, not plain data (a plain object, an array or a primitive)` };
    }
    ancestors.add(v);
    try {
      for (const key of Object.keys(v)) {
        const descriptor = Object.getOwnPropertyDescriptor(v, key);
        const at = [...path, isArray ? Number(key) : key];
        if (descriptor && (descriptor.get || descriptor.set)) return { path: at, message: 'is a getter; write a plain value' };
        const problem = visit((v as Record<string, unknown>)[key], at);
        if (problem) return problem;
      }
      return undefined;
    } finally {
      ancestors.delete(v);
    }
  };
  return visit(value, []);
}

/** Template vars: any values the templates use (the json filter checks what it emits). */
const varsObject = z.record(z.string(), z.unknown());
/** An inline flow or theme document: plain JSON data, since the plan copies, hashes and compares it. */
const jsonObject = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const problem = jsonDataProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message, input: undefined });
});
const templateName = z
  .string()
  .min(1)
  .refine((name) => !name.startsWith('/') && !name.split(/[\\/]/).includes('..'), {
    error: 'must be a path inside the templates folder (no "..", not absolute)',
  });

function exactlyOneSource(what: string) {
  return (value: { template?: unknown; json?: unknown; vars?: unknown }, ctx: z.core.$RefinementCtx) => {
    const hasTemplate = value.template !== undefined;
    const hasJson = value.json !== undefined;
    if (hasTemplate === hasJson) {
      ctx.addIssue({
        code: 'custom',
        path: hasJson ? ['json'] : [],
        message: `${what} needs either \`template\` (a file under templates/) or \`json\`, ${hasJson ? 'not both' : 'and has neither'}`,
      });
    } else if (hasJson && value.vars !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['vars'], message: '`vars` go with `template`; inline `json` takes none' });
    }
  };
}

export const flowSchema = z
  .strictObject({
    kind: z.literal('flow'),
    id: idSchema,
    name: nameSchema.optional(),
    description: z.string().optional(),
    disabled: z.boolean().optional(),
    protect: z.boolean().optional(),
    template: templateName.optional(),
    vars: varsObject.optional(),
    json: jsonObject.optional(),
  })
  .superRefine(exactlyOneSource('a flow'));

export const themeSchema = z
  .strictObject({
    kind: z.literal('theme'),
    template: templateName.optional(),
    vars: varsObject.optional(),
    json: jsonObject.optional(),
  })
  .superRefine(exactlyOneSource('a theme'));

const count = z.number().int().nonnegative();
export const passwordPolicySchema = z.strictObject({
  kind: z.literal('passwordPolicy'),
  enabled: z.boolean().optional(),
  minLength: z.number().int().min(1).max(128).optional(),
  lowercase: z.boolean().optional(),
  uppercase: z.boolean().optional(),
  number: z.boolean().optional(),
  nonAlphaNumeric: z.boolean().optional(),
  expiration: z.boolean().optional(),
  expirationWeeks: count.optional(),
  reuse: z.boolean().optional(),
  reuseAmount: count.optional(),
  lock: z.boolean().optional(),
  lockAttempts: count.optional(),
});

/** The schema of each kind of resource, by the config key that lists it. */
export const resourceSchemas = {
  tenants: tenantSchema,
  roles: roleSchema,
  permissions: permissionSchema,
  flows: flowSchema,
} as const;

export type ResourceListKey = keyof typeof resourceSchemas;

// The config and its modules are checked in two steps: first their shape with the resources left
// unparsed (the shells below), then each resource on its own, so that one bad resource does not
// hide the problems of the others.
const unparsedLists = {
  tenants: z.array(z.unknown()).optional(),
  roles: z.array(z.unknown()).optional(),
  permissions: z.array(z.unknown()).optional(),
  flows: z.array(z.unknown()).optional(),
};

const moduleTemplatesDir = z
  .string()
  .refine((dir) => dir.startsWith('file:') || dir.startsWith('/'), {
    error: "must be a file: URL or an absolute path, so it does not depend on the working folder; write new URL('./templates/', import.meta.url)",
  });

export const moduleShellSchema = z.strictObject({
  kind: z.literal('module'),
  name: nameSchema,
  templatesDir: moduleTemplatesDir.optional(),
  params: z.unknown(),
  ...unparsedLists,
});

export const pruneSchema = z.strictObject({
  tenants: z.boolean().optional(),
  roles: z.boolean().optional(),
  permissions: z.boolean().optional(),
  flows: z.boolean().optional(),
});

export const configShellSchema = z.strictObject({
  kind: z.literal('config'),
  ...unparsedLists,
  modules: z.array(z.unknown()).optional(),
  theme: z.unknown().optional(),
  passwordPolicy: z.unknown().optional(),
  templatesDir: z.string().min(1).optional(),
  prune: pruneSchema.optional(),
});

export const budgetSchema = z.strictObject({
  requests: z.number().int().positive(),
  windowSeconds: z.number().positive(),
});

export const environmentSchema = z.strictObject({
  kind: z.literal('environment'),
  projectId: z.string().min(1).optional(),
  managementKey: secretRefSchema.optional(),
  baseUrl: z
    .string()
    .superRefine((value, ctx) => {
      const problem = baseUrlProblem(value);
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          message: `${shownBaseUrl(value)} is not an API base URL: ${problem}; use an http(s) origin with an optional path, e.g. ${BASE_URL_EXAMPLE}`,
        });
      }
    })
    .optional(),
  protected: z.boolean().optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  budget: budgetSchema.optional(),
  emulator: z.union([z.literal(true), z.strictObject({ stateFile: z.string().min(1).optional() })]).optional(),
});
