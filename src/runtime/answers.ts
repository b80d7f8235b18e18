// What Descope's answers must look like before an adapter reads them. An answer is untrusted
// data: a proxy, a wrong base URL or a server bug can send `{"tenants":[null]}`, a string where a
// list belongs, or a number where the code calls string methods. Each read passes its schema to
// `api.call` (`shape`), and a malformed answer becomes ONE ApiError naming the call and what is
// wrong (`tenants: Descope's answer is malformed: tenants[0] is null, expected an object`) instead
// of a crash or, worse, a wrong live state (`{"tenants":"abc"}` once read as a tenant
// `tenants/undefined`).
//
// Lenient where Descope legitimately leaves things out: every field the adapters give a default
// may be absent or null (JSON from Go and protobuf drops empty lists and strings, or sends null),
// unknown fields are kept (updates send some records back whole), and nothing is coerced: the
// check only says yes or no, the adapters read the original value. Strict where the code relies
// on a type: ids and names are non-empty strings, lists are lists of the right items, numbers and
// units are what the canonical model holds (a session lifetime of "10", read silently as the
// default, would be a wrong plan), ids are unique, and no id is `__proto__` (a record key that
// would replace the record's prototype instead of adding an entry).
import * as z from 'zod';
import { ApiError } from '../errors.ts';

/** The schema of one call's answer, and the wire name of what the SDK hands back (for messages). */
export interface AnswerShape {
  schema: z.ZodType;
  /**
   * The answer's field the SDK unwraps and returns (`tenants` for tenant.loadAll, which answers
   * `{tenants: […]}`), so that messages name paths as they are on the wire; '' for the whole body.
   */
  root: string;
}

const text = z.string().nullish();
const texts = z.array(z.string()).nullish();
const flag = z.boolean().nullish();
const count = z.number().nullish();
const id = z
  .string()
  .min(1, { error: 'is empty, expected an id' })
  .refine((value) => value !== '__proto__', { error: 'is "__proto__", which cannot be an id' });

/**
 * An object (or null) whose values `valid` accepts, such as a tenant's custom attributes, checked
 * in one pass: a zod record of a union costs several times the rest of a tenant, and a tenant list
 * can hold 100,000 of them. A `__proto__` key (JSON.parse makes it an own key; zod's record drops
 * it silently) is refused: copied key by key, it would replace the copy's prototype.
 */
function valuesOf(valid: (value: unknown) => boolean, expected: string) {
  // optional(): zod counts an unknown() member of an object as required.
  return z
    .unknown()
    .optional()
    .superRefine((input, ctx) => {
      if (input === undefined || input === null) return;
      if (typeof input !== 'object' || Array.isArray(input)) {
        ctx.addIssue({ code: 'custom', message: `is ${describeValue(input)}, expected an object` });
        return;
      }
      for (const [name, value] of Object.entries(input)) {
        if (name === '__proto__') {
          ctx.addIssue({ code: 'custom', path: [name], message: 'is a key, which would replace the prototype of the record it is copied into' });
        } else if (!valid(value)) {
          ctx.addIssue({ code: 'custom', path: [name], message: `is ${describeValue(value)}, expected ${expected}` });
        }
      }
    });
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isObjectOf = (valid: (value: unknown) => boolean) => (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !Object.prototype.hasOwnProperty.call(value, '__proto__') && Object.values(value).every(valid);

/** A list whose items have a key that must be unique (the adapters index them by it). */
function uniqueList<T extends z.ZodType>(item: T, keyOf: (item: z.infer<T>) => string, what: string) {
  return z.array(item).superRefine((items, ctx) => {
    const seen = new Map<string, number>();
    items.forEach((value, index) => {
      const key = keyOf(value);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else ctx.addIssue({ code: 'custom', path: [index], message: `repeats a ${what}`, params: { repeats: first, what } });
    });
  });
}

/** What the model holds (CustomAttributeValue; null is left out): a multi-select is a list of strings. */
const customAttributes = valuesOf(
  (value) => value === null || ['string', 'number', 'boolean'].includes(typeof value) || (Array.isArray(value) && value.every(isString)),
  'a string, a number, a boolean or a list of strings',
);

const tenant = z.looseObject({
  id,
  name: text,
  selfProvisioningDomains: texts,
  customAttributes,
  enforceSSO: flag,
  disabled: flag,
  parent: text,
  parentId: text,
  defaultRoles: texts,
  authType: text,
  domains: texts,
});

/** tenant.loadAll: `{tenants: Tenant[]}`, the list unwrapped by the SDK. */
export const TENANT_LIST: AnswerShape = { root: 'tenants', schema: uniqueList(tenant, (t) => t.id, 'id').nullish() };
/** tenant.load: the Tenant itself. */
export const TENANT: AnswerShape = { root: '', schema: tenant };

const unit = z.enum(['minutes', 'hours', 'days', 'weeks', '']).nullish();

/** tenant.getSettings: TenantSettings, sent back whole on a write. */
export const TENANT_SETTINGS: AnswerShape = {
  root: '',
  schema: z.looseObject({
    selfProvisioningDomains: texts,
    domains: texts,
    authType: text,
    enabled: flag,
    sessionTokenExpiration: count,
    sessionTokenExpirationUnit: unit,
    refreshTokenExpiration: count,
    refreshTokenExpirationUnit: unit,
    stepupTokenExpiration: count,
    stepupTokenExpirationUnit: unit,
    enableInactivity: flag,
    InactivityTime: count,
    InactivityTimeUnit: unit,
    JITDisabled: flag,
    ssoSetupSuiteSettings: z.looseObject({}).nullish(),
  }),
};

/** `{email: "mail", …, customAttributes: {dept: "department"}}`. */
const attributeMapping = valuesOf((value) => value === null || isString(value) || isObjectOf(isString)(value), 'a string or an object of strings');
const roleMappings = z
  .array(z.looseObject({ roleName: text, role: z.looseObject({ name: text }).nullish(), groups: texts }))
  .nullish();

/** sso.loadSettings: SSOSettings after the SDK's transform (attributeMapping, groupsMapping[].roleName). */
export const SSO_SETTINGS: AnswerShape = {
  root: '',
  schema: z.looseObject({
    tenant: z.looseObject({ authType: text, domains: texts }).nullish(),
    oidc: z
      .looseObject({
        name: text,
        clientId: text,
        issuer: text,
        authUrl: text,
        tokenUrl: text,
        userDataUrl: text,
        JWKsUrl: text,
        redirectUrl: text,
        callbackDomain: text,
        scope: texts,
        prompt: texts,
        grantType: text,
        manageProviderTokens: flag,
        attributeMapping,
        roleMappings,
      })
      .nullish(),
    saml: z
      .looseObject({
        idpEntityId: text,
        idpSSOUrl: text,
        idpCertificate: text,
        idpMetadataUrl: text,
        spEntityId: text,
        spACSUrl: text,
        redirectUrl: text,
        attributeMapping,
        groupsMapping: roleMappings,
        defaultSSORoles: texts,
      })
      .nullish(),
  }),
};

const role = z.looseObject({
  name: id,
  tenantId: text,
  description: text,
  permissionNames: texts,
  default: flag,
  id: text,
});
/** role.search and role.createBatch: `{roles: Role[]}`, unwrapped. A role is (tenant, name). */
export const ROLE_LIST: AnswerShape = {
  root: 'roles',
  schema: uniqueList(role, (r) => JSON.stringify([r.tenantId ?? '', r.name]), 'tenant and name').nullish(),
};

/** permission.loadAll: `{permissions: Permission[]}`, unwrapped. */
export const PERMISSION_LIST: AnswerShape = {
  root: 'permissions',
  schema: uniqueList(z.looseObject({ name: id, description: text }), (p) => p.name, 'name').nullish(),
};

/** flow.list: `{flows: FlowMetadata[], total}`. */
export const FLOW_LIST: AnswerShape = {
  root: '',
  schema: z.looseObject({
    flows: uniqueList(z.looseObject({ id, name: text, description: text, disabled: flag }), (f) => f.id, 'id').nullish(),
  }),
};

/** flow.export: the v1 `{flow, screens}` document. */
export const FLOW_EXPORT: AnswerShape = {
  root: '',
  schema: z.looseObject({ flow: z.looseObject({ disabled: flag }), screens: z.array(z.looseObject({})).nullish() }),
};

/** theme.export: `{theme: {id, cssTemplate}}`. */
export const THEME_EXPORT: AnswerShape = {
  root: '',
  schema: z.looseObject({ theme: z.looseObject({ id: text, cssTemplate: z.looseObject({}).nullish() }).nullish() }),
};

/** password.getSettings: the 12 fields the model holds. */
export const PASSWORD_SETTINGS: AnswerShape = {
  root: '',
  schema: z.looseObject({
    enabled: flag,
    minLength: count,
    lowercase: flag,
    uppercase: flag,
    number: flag,
    nonAlphaNumeric: flag,
    expiration: flag,
    expirationWeeks: count,
    reuse: flag,
    reuseAmount: count,
    lock: flag,
    lockAttempts: count,
  }),
};

/** audit.search: `{audits: […]}`, unwrapped and mapped by the SDK. Attribution is best effort: only the types the reader relies on. */
export const AUDIT_LIST: AnswerShape = {
  root: 'audits',
  schema: z.array(z.looseObject({ action: text, userId: text, actorId: text, loginIds: texts, tenants: texts, data: z.unknown().optional() })).nullish(),
};

// ---------------------------------------------------------------------------------------------

/** Where answers come from, for the hint. */
export interface AnswerSource {
  /** The environment's base URL; undefined for the SDK's default (Descope itself). */
  baseUrl: string | undefined;
}

/** Throws the ApiError for `data` when it does not fit `shape`. */
export function checkAnswer(address: string, shape: AnswerShape, data: unknown, source: AnswerSource): void {
  const result = shape.schema.safeParse(data, { reportInput: true });
  if (result.success) return;
  const issues = result.error.issues;
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  throw malformedAnswer(address, first ? describeIssue(shape.root, first) : 'it does not have the expected shape', source, more);
}

/** The ApiError for an answer that is not what the call returns, e.g. one the SDK itself could not read. */
export function malformedAnswer(address: string, what: string, source: AnswerSource, more = ''): ApiError {
  return new ApiError(`${address}: Descope's answer is malformed: ${what}${more}`, {
    address,
    hint: source.baseUrl
      ? `the answer came from ${originOf(source.baseUrl)}: is that the Descope API? (baseUrl in the environment file, or DESCOPE_BASE_URL)`
      : 'the answer came from the Descope API itself: retry, and report it to Descope if it persists',
  });
}

function originOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return baseUrl;
  }
}

function describeIssue(root: string, issue: z.core.$ZodIssue): string {
  const where = pathOf(root, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return `${where} is ${describeValue(issue.input)}, expected ${article(issue.expected)}`;
    case 'invalid_value':
      return `${where} is ${describeValue(issue.input)}, expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      // A branch of the right type that failed inside says more than "none of the types".
      const inner = issue.errors.find((branch) => branch.length > 0 && branch.every((nested) => nested.path.length > 0))?.[0];
      if (inner) return describeIssue(root, { ...inner, path: [...issue.path, ...inner.path] });
      return `${where} is ${describeValue(issue.input)}, which is none of the types it may be`;
    }
    case 'custom': {
      const params = issue.params as { repeats?: number; what?: string } | undefined;
      if (params?.repeats !== undefined) return `${where} has the same ${params.what} as ${pathOf(root, [...issue.path.slice(0, -1), params.repeats])}`;
      return `${where} ${issue.message}`;
    }
    default:
      return `${where} ${issue.message}`;
  }
}

function pathOf(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? 'the answer' : out;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  // Never the value itself: an answer may echo anything, a secret included, and a cut-off echo
  // would escape redaction.
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : 'not a finite number';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function article(expected: string): string {
  switch (expected) {
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'an object';
    default:
      return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
  }
}
