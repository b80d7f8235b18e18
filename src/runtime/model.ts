// The canonical model: the one shape both the desired state (from the config) and the live state
// (from Descope) are normalised into before the pure plan compares them. Types and pure helpers
// only; no I/O.
//
// Rules, for every kind:
// - Shapes mirror the DSL (src/dsl/types.ts), so a config normalises with the same helpers the
//   adapters use on SDK records (`normalize*` below): both sides go through one function.
// - Set-like arrays are sorted (and de-duplicated): tenant selfProvisioningDomains (also
//   lower-cased), defaultRoles, role permissions, SSO domains (lower-cased), SSO roleMappings (by
//   role, each groups list sorted), defaultSSORoles, OIDC scope and prompt. Order-carrying arrays
//   (flow tasks' rules, screens' content, custom attribute values) are kept as they are.
// - Empty optional strings are absent ('' and "not set" are the same thing to Descope's reads);
//   empty attribute mappings are absent. Fields with a default are always present (booleans,
//   set-like arrays).
// - Server-owned fields are dropped: role/permission ids (kept apart, in LiveHandles, because
//   renames and batch updates need them), createdTime, flow.version / modifiedTime / etag,
//   screens[].version, the theme's id.
// - Secrets are never values. An OIDC client secret is a SecretMarker: `{ env }` on the desired
//   side (resolved by the runner at apply time), `{ writeOnly: true }` on the live side (Descope
//   reads return it blank). `comparableSso` drops it for comparison.
// - Keys are ordered at serialisation: `canonicalJson` sorts object keys at every level, so
//   `fingerprint` (sha256 of it) is stable across key order; flows are also stored key-sorted.
//
// Per kind:
//   CanonicalTenant          keyed by tenant id (`tenants/<id>`)
//   CanonicalTenantSettings  keyed by tenant id; the DSL TenantSettings with every field present.
//                            Durations are `{value, unit}`; `inactivityTimeout: false` when
//                            inactivity is off; jitProvisioning = !JITDisabled;
//                            sessionSettingsEnabled = Descope's `enabled`. Desired settings are a
//                            Partial (only the fields the config sets are managed).
//   CanonicalSso | null      keyed by tenant id; null = no SSO configured. Discriminated by `type`.
//   CanonicalRole            keyed by address: `roles/<name>` or `roles/<tenant>/<name>` (escaped)
//   CanonicalPermission      keyed by name (`permissions/<name>`)
//   CanonicalFlow            keyed by flow id: the v1 document `{flow, screens}` and nothing else
//                            (all flow.import writes), server-owned fields dropped, screens sorted
//                            by id, `flow.disabled` always present, everything else inside (unknown
//                            keys included) kept as is.
//   CanonicalTheme           `{cssTemplate, …unknown keys}` without `id`
//   CanonicalPasswordPolicy  the 12 fields of Descope's password settings (project level);
//                            desired is a Partial.

import { createHash } from 'node:crypto';
import type {
  AttributeMapping,
  CustomAttributeValue,
  Duration,
  OidcAttributeMapping,
  PasswordPolicyInput,
  TenantSettings,
} from '../dsl/types.ts';

export type { Duration, ExpirationUnit } from '../dsl/types.ts';

// ---------------------------------------------------------------------------------------------
// Types

export interface CanonicalTenant {
  id: string;
  name: string;
  /** Sorted, lower-cased, distinct. */
  selfProvisioningDomains: string[];
  customAttributes: Record<string, CanonicalAttributeValue>;
  enforceSSO: boolean;
  disabled: boolean;
  /** Parent tenant id; create-only (Descope cannot move a tenant). */
  parent?: string;
  /** Sorted, distinct role names. */
  defaultRoles: string[];
}

export type CanonicalAttributeValue = string | number | boolean | string[];

export interface CanonicalTenantSettings {
  sessionSettingsEnabled: boolean;
  sessionTokenExpiration: Duration;
  refreshTokenExpiration: Duration;
  stepupTokenExpiration: Duration;
  inactivityTimeout: Duration | false;
  jitProvisioning: boolean;
}

/** A write-only secret: where the desired value comes from, or the fact that reads never show it. */
export type SecretMarker = { readonly env: string } | { readonly writeOnly: true };

export const LIVE_SECRET: SecretMarker = Object.freeze({ writeOnly: true as const });

export interface CanonicalRoleMapping {
  role: string;
  /** Sorted, distinct. */
  groups: string[];
}

export interface CanonicalAttributeMapping {
  name?: string;
  email?: string;
  username?: string;
  phoneNumber?: string;
  givenName?: string;
  middleName?: string;
  familyName?: string;
  picture?: string;
  verifiedEmail?: string;
  verifiedPhone?: string;
  group?: string;
  customAttributes?: Record<string, string>;
}

export interface CanonicalOidcAttributeMapping extends CanonicalAttributeMapping {
  loginId?: string;
}

interface CanonicalSsoCommon {
  /** Email domains routed to this IdP: sorted, lower-cased, distinct. */
  domains: string[];
  /** Sorted by role. */
  roleMappings: CanonicalRoleMapping[];
}

export type OidcPrompt = 'none' | 'login' | 'consent' | 'select_account';

export interface CanonicalOidcSso extends CanonicalSsoCommon {
  type: 'oidc';
  name: string;
  clientId: string;
  clientSecret?: SecretMarker;
  issuer?: string;
  authUrl?: string;
  tokenUrl?: string;
  userDataUrl?: string;
  jwksUrl?: string;
  redirectUrl?: string;
  callbackDomain?: string;
  /** Sorted, distinct. */
  scope: string[];
  /** Sorted, distinct. */
  prompt: OidcPrompt[];
  grantType?: 'authorization_code' | 'implicit';
  manageProviderTokens: boolean;
  attributeMapping?: CanonicalOidcAttributeMapping;
}

export interface CanonicalSamlSso extends CanonicalSsoCommon {
  type: 'saml';
  idpUrl: string;
  entityId: string;
  idpCert: string;
  spACSUrl?: string;
  spEntityId?: string;
  redirectUrl?: string;
  attributeMapping?: CanonicalAttributeMapping;
  /** Sorted, distinct. */
  defaultSSORoles: string[];
}

export interface CanonicalSamlMetadataSso extends CanonicalSsoCommon {
  type: 'saml-metadata';
  idpMetadataUrl: string;
  entityId?: string;
  spACSUrl?: string;
  spEntityId?: string;
  redirectUrl?: string;
  attributeMapping?: CanonicalAttributeMapping;
  /** Sorted, distinct. */
  defaultSSORoles: string[];
}

export type CanonicalSso = CanonicalOidcSso | CanonicalSamlSso | CanonicalSamlMetadataSso;

export interface CanonicalRole {
  name: string;
  /** The tenant id of a tenant-scoped role; absent for a project role. */
  tenant?: string;
  description: string;
  /** Sorted, distinct permission names. */
  permissions: string[];
  default: boolean;
}

export interface CanonicalPermission {
  name: string;
  description: string;
}

/** A v1 flow screen, as far as the model looks into it. */
export interface FlowScreenDocument {
  id: string;
  [key: string]: unknown;
}

/** The console/v1 flow document (`flow.export` / `flow.import`). Structural: runtime does not import the runner. */
export interface FlowDocument {
  flow: {
    id: string;
    name: string;
    description?: string;
    disabled?: boolean;
    dsl: unknown;
    [key: string]: unknown;
  };
  screens: FlowScreenDocument[];
  [key: string]: unknown;
}

export type CanonicalFlow = FlowDocument & { flow: FlowDocument['flow'] & { disabled: boolean } };

/** What `flow.list` says about every live flow (also the undeclared ones, for pruning). */
export interface FlowSummary {
  id: string;
  name: string;
  description: string;
  disabled: boolean;
}

export interface CanonicalTheme {
  cssTemplate: unknown;
  [key: string]: unknown;
}

export interface CanonicalPasswordPolicy {
  enabled: boolean;
  minLength: number;
  lowercase: boolean;
  uppercase: boolean;
  number: boolean;
  nonAlphaNumeric: boolean;
  expiration: boolean;
  expirationWeeks: number;
  reuse: boolean;
  reuseAmount: number;
  lock: boolean;
  lockAttempts: number;
}

export const PASSWORD_POLICY_FIELDS = [
  'enabled',
  'minLength',
  'lowercase',
  'uppercase',
  'number',
  'nonAlphaNumeric',
  'expiration',
  'expirationWeeks',
  'reuse',
  'reuseAmount',
  'lock',
  'lockAttempts',
] as const satisfies readonly (keyof CanonicalPasswordPolicy)[];

/**
 * One project's state in canonical form. A kind is present only when it is managed (read); the
 * desired side uses the Partial settings/password types (only what the config sets is managed).
 */
export interface CanonicalState<Settings = CanonicalTenantSettings, Password = CanonicalPasswordPolicy> {
  tenants?: Record<string, CanonicalTenant>;
  tenantSettings?: Record<string, Settings>;
  tenantSso?: Record<string, CanonicalSso | null>;
  roles?: Record<string, CanonicalRole>;
  permissions?: Record<string, CanonicalPermission>;
  /** Full documents: on the live side only for the flows the config declares (exports cost a call each). */
  flows?: Record<string, CanonicalFlow>;
  theme?: CanonicalTheme;
  passwordPolicy?: Password;
}

export type DesiredState = CanonicalState<Partial<CanonicalTenantSettings>, Partial<CanonicalPasswordPolicy>>;

export interface LiveState extends CanonicalState {
  /** Every live flow (from `flow.list`), declared or not; present when flows are managed. */
  flowSummaries?: Record<string, FlowSummary>;
}

// ---------------------------------------------------------------------------------------------
// Addresses: one API, the DSL's (pure, so both sides of the plan build and read them alike).

export {
  ADDRESS_PREFIXES,
  canonicalAddress,
  escapeSegment,
  flowAddress,
  formatAddress,
  parseAddress,
  PASSWORD_POLICY_ADDRESS,
  permissionAddress,
  roleAddress,
  tenantAddress,
  tenantSettingsAddress,
  tenantSsoAddress,
  THEME_ADDRESS,
  unescapeSegment,
  type AddressKind,
  type ParsedAddress,
} from '../dsl/address.ts';

// ---------------------------------------------------------------------------------------------
// Canonical JSON and fingerprints

/** JSON with object keys sorted at every level; `undefined` members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

/** sha256 (hex) of canonicalJson(state): the plan records the fingerprint of the live state it was computed from. */
export function fingerprint(state: unknown): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}

/** A deep copy with object keys sorted; array order is kept. */
export function sortKeysDeep<T>(value: T): T {
  return sortValue(value) as T;
}

function sortValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortValue(item)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      // defineProperty, not assignment: a "__proto__" key (JSON.parse makes it an own property)
      // must stay a key, counted by fingerprints, not become the copy's prototype and vanish.
      if (item === undefined) continue;
      if (key === '__proto__') Object.defineProperty(out, key, { value: sortValue(item), enumerable: true, writable: true, configurable: true });
      else out[key] = sortValue(item);
    }
    return out;
  }
  return value;
}

/** Whether two canonical values are the same (by canonical JSON). */
export function sameCanonical(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

// ---------------------------------------------------------------------------------------------
// Normalisers: used on config input and on SDK records alike

/** Sorted, distinct. */
export function sortedSet(values: readonly string[] | undefined): string[] {
  return [...new Set(values ?? [])].sort();
}

/** Sorted, distinct, lower-cased, trimmed (domains). */
export function domainSet(values: readonly string[] | undefined): string[] {
  return sortedSet((values ?? []).map((value) => value.trim().toLowerCase()).filter((value) => value !== ''));
}

function nonEmpty(value: string | undefined | null): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Copies `value` without members that are undefined, so canonical objects never carry them. */
function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return out as T;
}

export interface TenantLike {
  id: string;
  name: string;
  selfProvisioningDomains?: readonly string[] | undefined;
  customAttributes?: Readonly<Record<string, CustomAttributeValue>> | undefined;
  enforceSSO?: boolean | undefined;
  disabled?: boolean | undefined;
  parent?: string | undefined;
  defaultRoles?: readonly string[] | undefined;
}

export function normalizeTenant(tenant: TenantLike): CanonicalTenant {
  const customAttributes: Record<string, CanonicalAttributeValue> = {};
  for (const key of Object.keys(tenant.customAttributes ?? {}).sort()) {
    const value = tenant.customAttributes?.[key];
    if (value === undefined || value === null) continue;
    customAttributes[key] = Array.isArray(value) ? [...(value as readonly string[])] : (value as string | number | boolean);
  }
  return compact({
    id: tenant.id,
    name: tenant.name,
    selfProvisioningDomains: domainSet(tenant.selfProvisioningDomains),
    customAttributes,
    enforceSSO: tenant.enforceSSO === true,
    disabled: tenant.disabled === true,
    parent: nonEmpty(tenant.parent),
    defaultRoles: sortedSet(tenant.defaultRoles),
  });
}

/** The config's tenant settings: only the fields it sets (they are the managed ones). */
export function normalizeTenantSettings(settings: TenantSettings): Partial<CanonicalTenantSettings> {
  const duration = (value: Duration | undefined): Duration | undefined =>
    value === undefined ? undefined : { value: value.value, unit: value.unit };
  // A config that sets a lifetime or inactivity wants it in force: `enabled` defaults to true then
  // (else the tenant keeps following the project's settings and the values do nothing).
  const setsSession =
    settings.sessionTokenExpiration !== undefined ||
    settings.refreshTokenExpiration !== undefined ||
    settings.stepupTokenExpiration !== undefined ||
    (settings.inactivityTimeout !== undefined && settings.inactivityTimeout !== false);
  return compact({
    sessionSettingsEnabled: settings.sessionSettingsEnabled ?? (setsSession ? true : undefined),
    sessionTokenExpiration: duration(settings.sessionTokenExpiration),
    refreshTokenExpiration: duration(settings.refreshTokenExpiration),
    stepupTokenExpiration: duration(settings.stepupTokenExpiration),
    inactivityTimeout:
      settings.inactivityTimeout === undefined || settings.inactivityTimeout === false
        ? settings.inactivityTimeout
        : duration(settings.inactivityTimeout),
    jitProvisioning: settings.jitProvisioning,
  });
}

export function normalizeAttributeMapping(
  mapping: AttributeMapping | OidcAttributeMapping | Readonly<Record<string, unknown>> | undefined | null,
): CanonicalOidcAttributeMapping | undefined {
  if (!mapping) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(mapping).sort()) {
    const value = (mapping as Record<string, unknown>)[key];
    if (key === 'customAttributes') {
      if (value && typeof value === 'object') {
        const custom: Record<string, string> = {};
        for (const name of Object.keys(value).sort()) {
          const target = (value as Record<string, unknown>)[name];
          if (typeof target === 'string' && target !== '') custom[name] = target;
        }
        if (Object.keys(custom).length > 0) out['customAttributes'] = custom;
      }
    } else if (typeof value === 'string' && value !== '') {
      out[key] = value;
    }
  }
  return Object.keys(out).length > 0 ? (out as CanonicalOidcAttributeMapping) : undefined;
}

export function normalizeRoleMappings(
  mappings: readonly { readonly role: string; readonly groups?: readonly string[] | undefined }[] | undefined,
): CanonicalRoleMapping[] {
  const byRole = new Map<string, Set<string>>();
  for (const mapping of mappings ?? []) {
    const groups = byRole.get(mapping.role) ?? new Set<string>();
    for (const group of mapping.groups ?? []) groups.add(group);
    byRole.set(mapping.role, groups);
  }
  return [...byRole.keys()].sort().map((role) => ({ role, groups: [...(byRole.get(role) ?? [])].sort() }));
}

/** An SSO configuration in DSL shape (TenantSso) or close to it; `clientSecret` may be a marker. */
export type SsoLike =
  | ({ type: 'oidc'; clientSecret?: SecretMarker | undefined } & Omit<OidcLike, 'type' | 'clientSecret'>)
  | SamlLike
  | SamlMetadataLike;

interface SsoCommonLike {
  domains?: readonly string[] | undefined;
  roleMappings?: readonly { readonly role: string; readonly groups?: readonly string[] | undefined }[] | undefined;
}

interface OidcLike extends SsoCommonLike {
  type: 'oidc';
  name: string;
  clientId: string;
  clientSecret?: SecretMarker | undefined;
  issuer?: string | undefined;
  authUrl?: string | undefined;
  tokenUrl?: string | undefined;
  userDataUrl?: string | undefined;
  jwksUrl?: string | undefined;
  redirectUrl?: string | undefined;
  callbackDomain?: string | undefined;
  scope?: readonly string[] | undefined;
  prompt?: readonly OidcPrompt[] | undefined;
  grantType?: 'authorization_code' | 'implicit' | undefined;
  manageProviderTokens?: boolean | undefined;
  attributeMapping?: OidcAttributeMapping | undefined;
}

interface SamlLike extends SsoCommonLike {
  type: 'saml';
  idpUrl: string;
  entityId: string;
  idpCert: string;
  spACSUrl?: string | undefined;
  spEntityId?: string | undefined;
  redirectUrl?: string | undefined;
  attributeMapping?: AttributeMapping | undefined;
  defaultSSORoles?: readonly string[] | undefined;
}

interface SamlMetadataLike extends SsoCommonLike {
  type: 'saml-metadata';
  idpMetadataUrl: string;
  entityId?: string | undefined;
  spACSUrl?: string | undefined;
  spEntityId?: string | undefined;
  redirectUrl?: string | undefined;
  attributeMapping?: AttributeMapping | undefined;
  defaultSSORoles?: readonly string[] | undefined;
}

export function normalizeSso(sso: SsoLike): CanonicalSso {
  const common = { domains: domainSet(sso.domains), roleMappings: normalizeRoleMappings(sso.roleMappings) };
  switch (sso.type) {
    case 'oidc':
      return compact({
        type: 'oidc' as const,
        name: sso.name,
        clientId: sso.clientId,
        clientSecret: sso.clientSecret ? normalizeSecret(sso.clientSecret) : undefined,
        issuer: nonEmpty(sso.issuer),
        authUrl: nonEmpty(sso.authUrl),
        tokenUrl: nonEmpty(sso.tokenUrl),
        userDataUrl: nonEmpty(sso.userDataUrl),
        jwksUrl: nonEmpty(sso.jwksUrl),
        redirectUrl: nonEmpty(sso.redirectUrl),
        callbackDomain: nonEmpty(sso.callbackDomain),
        scope: sortedSet(sso.scope),
        prompt: sortedSet(sso.prompt) as OidcPrompt[],
        grantType: nonEmpty(sso.grantType) as CanonicalOidcSso['grantType'],
        manageProviderTokens: sso.manageProviderTokens === true,
        attributeMapping: normalizeAttributeMapping(sso.attributeMapping),
        ...common,
      });
    case 'saml':
      return compact({
        type: 'saml' as const,
        idpUrl: sso.idpUrl,
        entityId: sso.entityId,
        idpCert: sso.idpCert,
        spACSUrl: nonEmpty(sso.spACSUrl),
        spEntityId: nonEmpty(sso.spEntityId),
        redirectUrl: nonEmpty(sso.redirectUrl),
        attributeMapping: normalizeAttributeMapping(sso.attributeMapping),
        defaultSSORoles: sortedSet(sso.defaultSSORoles),
        ...common,
      });
    case 'saml-metadata':
      return compact({
        type: 'saml-metadata' as const,
        idpMetadataUrl: sso.idpMetadataUrl,
        entityId: nonEmpty(sso.entityId),
        spACSUrl: nonEmpty(sso.spACSUrl),
        spEntityId: nonEmpty(sso.spEntityId),
        redirectUrl: nonEmpty(sso.redirectUrl),
        attributeMapping: normalizeAttributeMapping(sso.attributeMapping),
        defaultSSORoles: sortedSet(sso.defaultSSORoles),
        ...common,
      });
  }
}

function normalizeSecret(secret: SecretMarker): SecretMarker {
  return 'env' in secret ? { env: secret.env } : LIVE_SECRET;
}

/** The SSO configuration without its secret marker: what a comparison should look at. */
export function comparableSso(sso: CanonicalSso | null): CanonicalSso | null {
  if (sso === null || sso.type !== 'oidc') return sso;
  const { clientSecret: _secret, ...rest } = sso;
  return rest;
}

export interface RoleLike {
  name: string;
  tenant?: string | undefined;
  description?: string | undefined;
  permissions?: readonly string[] | undefined;
  default?: boolean | undefined;
}

export function normalizeRole(role: RoleLike): CanonicalRole {
  return compact({
    name: role.name,
    tenant: nonEmpty(role.tenant),
    description: role.description ?? '',
    permissions: sortedSet(role.permissions),
    default: role.default === true,
  });
}

export function normalizePermission(permission: { name: string; description?: string | undefined }): CanonicalPermission {
  return { name: permission.name, description: permission.description ?? '' };
}

const SERVER_OWNED_FLOW_KEYS = ['version', 'modifiedTime', 'etag'];
const SERVER_OWNED_SCREEN_KEYS = ['version'];

/**
 * A v1 flow document in canonical form: `{flow, screens}` only (what flow.import sends and
 * flow.export returns: any other top-level key, such as a v2 `references` map, could never be
 * written, so keeping it would show a change after every apply), `flow.version`,
 * `flow.modifiedTime`, `flow.etag` and `screens[].version` dropped, `flow.disabled` made explicit
 * (false when absent), screens sorted by id, keys sorted; everything else inside the flow and its
 * screens (unknown keys included) kept.
 */
export function normalizeFlow(document: FlowDocument): CanonicalFlow {
  const flow: Record<string, unknown> = { ...document.flow };
  for (const key of SERVER_OWNED_FLOW_KEYS) delete flow[key];
  flow['disabled'] = document.flow.disabled === true;
  const screens = (document.screens ?? []).map((screen) => {
    const copy: Record<string, unknown> = { ...screen };
    for (const key of SERVER_OWNED_SCREEN_KEYS) delete copy[key];
    return copy;
  });
  screens.sort((a, b) => compareStrings(String(a['id'] ?? ''), String(b['id'] ?? '')));
  return sortKeysDeep({ flow, screens }) as CanonicalFlow;
}

/** The v1 theme without its server id; cssTemplate and unknown keys kept, keys sorted. */
export function normalizeTheme(theme: { cssTemplate?: unknown; [key: string]: unknown }): CanonicalTheme {
  const { id: _id, ...rest } = theme;
  return sortKeysDeep({ ...rest, cssTemplate: rest.cssTemplate ?? {} });
}

/** Password policy fields that are set (all 12 for a live read). */
export function normalizePasswordPolicy(policy: PasswordPolicyInput): Partial<CanonicalPasswordPolicy> {
  const out: Partial<Record<keyof CanonicalPasswordPolicy, unknown>> = {};
  for (const field of PASSWORD_POLICY_FIELDS) {
    const value = policy[field];
    if (value !== undefined) out[field] = value;
  }
  return out as Partial<CanonicalPasswordPolicy>;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
