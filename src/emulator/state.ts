// The emulator's whole world: one project's configuration, kept as plain JSON-serialisable data
// so it can be snapshotted, persisted and restored as is. Raw wire shapes are stored where the
// service returns them unchanged (flows, theme, SSO protocol settings), so reads echo exactly
// what was written.

import * as z from 'zod';
import type { Json, JsonObject } from './json.ts';

export const STATE_FORMAT_VERSION = 1;

export interface StoredSsoConfig {
  /** '' for the tenant's default configuration. */
  ssoId: string;
  displayName: string;
  authType: string;
  domains: string[];
  /** Raw response shape (`idpSSOUrl`, `groupsMapping[].role`, ...), or null if never configured. */
  saml: JsonObject | null;
  /** Raw wire shape (`userAttrMapping`) with `clientSecret` blanked, or null if never configured. */
  oidc: JsonObject | null;
  /** Write-only OIDC client secret; '' when none was ever set. Never returned by the API. */
  oidcClientSecret: string;
}

export interface StoredTenant {
  id: string;
  name: string;
  selfProvisioningDomains: string[];
  customAttributes: JsonObject;
  enforceSSO: boolean;
  disabled: boolean;
  /** Parent tenant id, '' for a top-level tenant. */
  parent: string;
  roleInheritance: string;
  defaultRoles: string[];
  /** Epoch seconds. */
  createdTime: number;
  /** What configureSettings stored (minus the fields that live on the tenant), or null. */
  settings: JsonObject | null;
  passwordSettings: JsonObject | null;
  /** sso[0] is always the default configuration (ssoId ''). */
  sso: StoredSsoConfig[];
}

export interface StoredRole {
  id: string;
  name: string;
  description: string;
  permissionNames: string[];
  /** '' for a project-level role. */
  tenantId: string;
  default: boolean;
  /** Epoch seconds. */
  createdTime: number;
}

export interface StoredPermission {
  id: string;
  name: string;
  description: string;
}

export interface StoredFlow {
  id: string;
  /** The v1 `flow` object exactly as imported. */
  flow: JsonObject;
  /** The v1 `screens` array exactly as imported. */
  screens: Json[];
}

/** The raw audit record of §2.13 (`occurred` is epoch ms as a string). */
export interface RawAuditRecord {
  projectId: string;
  userId: string;
  action: string;
  type: string;
  actorId: string;
  occurred: string;
  device: string;
  method: string;
  geo: string;
  remoteAddress: string;
  externalIds: string[];
  tenants: string[];
  data: JsonObject;
}

export interface EmulatorState {
  formatVersion: typeof STATE_FORMAT_VERSION;
  project: {
    name: string;
    tags: string[];
    passwordSettings: JsonObject | null;
  };
  tenants: StoredTenant[];
  roles: StoredRole[];
  permissions: StoredPermission[];
  flows: StoredFlow[];
  theme: JsonObject | null;
  /** Oldest first. */
  audit: RawAuditRecord[];
}

export function createEmptyState(projectName: string): EmulatorState {
  return {
    formatVersion: STATE_FORMAT_VERSION,
    project: { name: projectName, tags: [], passwordSettings: null },
    tenants: [],
    roles: [],
    permissions: [],
    flows: [],
    theme: null,
    audit: [],
  };
}

export function createDefaultSsoConfig(): StoredSsoConfig {
  return { ssoId: '', displayName: '', authType: 'none', domains: [], saml: null, oidc: null, oidcClientSecret: '' };
}

// --- validation of a loaded or injected state -------------------------------------------------

const jsonObject = z.record(z.string(), z.json());
const stringArray = z.array(z.string());

const ssoSchema = z.object({
  ssoId: z.string(),
  displayName: z.string(),
  authType: z.string(),
  domains: stringArray,
  saml: jsonObject.nullable(),
  oidc: jsonObject.nullable(),
  oidcClientSecret: z.string(),
});

const tenantSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  selfProvisioningDomains: stringArray,
  customAttributes: jsonObject,
  enforceSSO: z.boolean(),
  disabled: z.boolean(),
  parent: z.string(),
  roleInheritance: z.string(),
  defaultRoles: stringArray,
  createdTime: z.number(),
  settings: jsonObject.nullable(),
  passwordSettings: jsonObject.nullable(),
  sso: z
    .array(ssoSchema)
    .min(1)
    .refine((configs) => configs[0]?.ssoId === '', 'sso[0] must be the default configuration (ssoId "")'),
});

const stateSchema = z.object({
  formatVersion: z.literal(STATE_FORMAT_VERSION),
  project: z.object({ name: z.string(), tags: stringArray, passwordSettings: jsonObject.nullable() }),
  tenants: z.array(tenantSchema),
  roles: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string().min(1),
      description: z.string(),
      permissionNames: stringArray,
      tenantId: z.string(),
      default: z.boolean(),
      createdTime: z.number(),
    }),
  ),
  permissions: z.array(z.object({ id: z.string().min(1), name: z.string().min(1), description: z.string() })),
  flows: z.array(z.object({ id: z.string().min(1), flow: jsonObject, screens: z.array(z.json()) })),
  theme: jsonObject.nullable(),
  audit: z.array(
    z.object({
      projectId: z.string(),
      userId: z.string(),
      action: z.string(),
      type: z.string(),
      actorId: z.string(),
      occurred: z.string(),
      device: z.string(),
      method: z.string(),
      geo: z.string(),
      remoteAddress: z.string(),
      externalIds: stringArray,
      tenants: stringArray,
      data: jsonObject,
    }),
  ),
});

/** Validates an unknown value as a state; returns the problems as one readable string. */
export function parseState(value: unknown): { ok: true; state: EmulatorState } | { ok: false; problems: string } {
  const result = stateSchema.safeParse(value);
  if (!result.success) return { ok: false, problems: z.prettifyError(result.error) };
  // zod's JSON type is structurally the same as ours; the cast only bridges the two names.
  return { ok: true, state: result.data as EmulatorState };
}
