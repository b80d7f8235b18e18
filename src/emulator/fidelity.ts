// Every behaviour of the emulator that /work/shared/descope-api.md marks [UNVERIFIED], or does not
// cover at all, is decided here and only here. Handlers import these constants instead of
// hard-coding statuses, codes or policies, so a choice can be revisited in one place once the
// live service is observed doing something else.
//
// The JsonObject defaults below are shared: handlers always structuredClone them before use.
//
// What IS verified (and therefore not configurable here): paths, verbs, request bodies, the
// response wrapping per call, the raw SSO shape (`oidc.userAttrMapping`,
// `saml.groupsMapping[].role`), `{SSOSettings: [...]}`, audit `occurred` as a string and
// `externalIds`, 429 + Retry-After, and "always a JSON body".

import type { JsonObject } from './json.ts';

/** One `{errorCode, errorDescription}` pair; the `errorMessage` is built per request. */
export interface ErrorKind {
  readonly status: number;
  readonly code: string;
  readonly description: string;
}

// ---------------------------------------------------------------------------------------------
// Generic request errors. Codes are the documented common codes (node-sdk 2.13 `DescopeErrors`:
// missingArguments E011002, invalidArguments E011004; an older go-sdk errors.go has the two the
// other way round, node-sdk is followed). Descriptions throughout are the emulator's wording.
// ---------------------------------------------------------------------------------------------

/** Body is not valid JSON, or not a JSON object. Status 400 is a choice. */
export const BAD_REQUEST: ErrorKind = { status: 400, code: 'E011001', description: 'Bad request' };
/** A required field is absent, null or an empty string. */
export const MISSING_ARGUMENTS: ErrorKind = { status: 400, code: 'E011002', description: 'Missing arguments' };
/** A field has the wrong type or a value outside its allowed set. */
export const INVALID_ARGUMENTS: ErrorKind = { status: 400, code: 'E011004', description: 'Invalid arguments' };

/**
 * Wrong project, wrong key or no key. The live code is unknown; descope-api.md §4.3 suggests
 * E011003 "Request is invalid" with status 401. The errorMessage says which check failed.
 */
export const UNAUTHORIZED: ErrorKind = { status: 401, code: 'E011003', description: 'Request is invalid' };

/** Request body over MAX_BODY_BYTES. Emulator-specific. */
export const PAYLOAD_TOO_LARGE: ErrorKind = { status: 413, code: 'E011001', description: 'Bad request' };
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Emulator-only answers. The E99xxxx group does not exist at Descope, so a client (or a person
// reading a log) can tell an emulator answer from an imitation of the service.
// ---------------------------------------------------------------------------------------------

/**
 * Any (verb, path) the emulator does not implement: users, access keys, FGA, authz, SSO
 * applications, snapshots, the deprecated SSO calls (GET/POST /v1/mgmt/sso/settings, ...),
 * unknown paths, and a known path with another verb. 501 so a client never mistakes it for a
 * real outcome. It is answered after authentication, like every management call.
 */
export const NOT_SUPPORTED: ErrorKind = {
  status: 501,
  code: 'E990501',
  description: 'Not supported by the emulator',
};
/** A bug in the emulator itself. Reported as a JSON 500 and an 'error' event, never a crash. */
export const INTERNAL_ERROR: ErrorKind = { status: 500, code: 'E990500', description: 'Internal emulator error' };
/** Persisting the state file failed after a write was applied in memory. */
export const STATE_WRITE_FAILED: ErrorKind = { status: 500, code: 'E990507', description: 'State file write failed' };

/** Body of an injected 5xx (or other) fault: code `E99` + zero-padded status, e.g. E990502. */
export function injectedFaultKind(status: number): ErrorKind {
  return { status, code: `E99${String(status).padStart(4, '0')}`, description: 'Fault injected by the emulator' };
}

// The order in which a request is checked (server.ts), which decides e.g. whether a bad key on an
// exhausted budget sees 429 or 401 (429: Descope's limiter sits in front, per IP):
//   added latency → budget (429) → injected hold → injected 'before' fault or drop
//   → authentication (401) → route (501) → JSON body (400) → handler → state file
//   → injected 'after' fault or drop.

/**
 * A held request (failNext `holdMs`; HELD_REQUEST_RUNS_WITHOUT_CLIENT) waits before authentication and its handler, and then goes on
 * whether or not its client is still there: the handler runs, the write lands and is persisted,
 * and the answer is written to a connection that may be gone. A real service behaves so when a
 * request is slow somewhere between the client's timeout and the handler (a queue, a proxy, a
 * slow database): nothing tells the server that the client gave up. The hold is counted from
 * when the whole body arrived; a held request's log entry has `fault: 'held'` and its
 * durationMs includes the hold.
 */
export const HELD_REQUEST_RUNS_WITHOUT_CLIENT = true;

// ---------------------------------------------------------------------------------------------
// Rate limiting (§4.1, §4.2). Code and header verified; description text is not.
// ---------------------------------------------------------------------------------------------

/**
 * When a budget is set without penaltyMs, the backoff equals the window (Descope documents
 * "100 requests per 60 seconds with a 60-second backoff"). While the backoff runs EVERY request
 * gets 429 and none of them count; when it ends the window starts empty. Retry-After is the
 * remaining backoff rounded up to whole seconds, at least 1. The budget is a sliding window
 * (faults.ts RequestBudget), not a leaky bucket.
 */
export const RATE_LIMITED: ErrorKind = { status: 429, code: 'E130429', description: 'Rate limit exceeded' };
/**
 * The SDK's license handshake (GET /v1/mgmt/license) is fired by the DescopeClient constructor in
 * the background. It is exempt from the budget and from random faults, and a failNext() rule only
 * hits it when the rule names its path: otherwise tests would race against it. It is still logged.
 */
export const LICENSE_PATH = '/v1/mgmt/license';
export const DEFAULT_RATE_LIMIT_TIER = 'tier2';

/** Default statuses for random faults (faultRate). 503 makes the SDK retry 3 times (~10 s). */
export const DEFAULT_FAULT_STATUSES: readonly number[] = [500, 502, 503];
/** Retry-After sent with an injected 429 unless the rule says otherwise. */
export const DEFAULT_INJECTED_RETRY_AFTER_SECONDS = 1;

// ---------------------------------------------------------------------------------------------
// Not found / duplicate. The live statuses are unknown (400, 404 or 409 are all plausible; the
// third-party .NET mocks even use 500). The emulator uses 404 and 409 so a client can tell them
// apart by status; the codes are the ones the .NET SDK mocks use where they exist, and invented
// in the same family where they do not (marked "invented").
// ---------------------------------------------------------------------------------------------

export const NOT_FOUND_STATUS = 404;
export const DUPLICATE_STATUS = 409;

export const TENANT_NOT_FOUND: ErrorKind = { status: NOT_FOUND_STATUS, code: 'E111104', description: 'Tenant not found' };
export const ROLE_NOT_FOUND: ErrorKind = { status: NOT_FOUND_STATUS, code: 'E111403', description: 'Role not found' };
export const PERMISSION_NOT_FOUND: ErrorKind = { status: NOT_FOUND_STATUS, code: 'E111303', description: 'Permission not found' };
export const FLOW_NOT_FOUND: ErrorKind = { status: NOT_FOUND_STATUS, code: 'E103003', description: 'Failed getting flow' };
/** invented */
export const SSO_CONFIG_NOT_FOUND: ErrorKind = { status: NOT_FOUND_STATUS, code: 'E111604', description: 'SSO configuration not found' };

export const TENANT_EXISTS: ErrorKind = {
  status: DUPLICATE_STATUS,
  code: 'E073307',
  description: 'Failed to save tenant, tenant ID or Name already exist',
};
export const ROLE_EXISTS: ErrorKind = {
  status: DUPLICATE_STATUS,
  code: 'E024209',
  description: 'Failed to save role, role ID or Name already exist',
};
export const PERMISSION_EXISTS: ErrorKind = {
  status: DUPLICATE_STATUS,
  code: 'E024104',
  description: 'Failed to save permission, permission ID or Name already exist',
};
/** invented */
export const SSO_CONFIG_EXISTS: ErrorKind = { status: DUPLICATE_STATUS, code: 'E111605', description: 'SSO configuration already exists' };
/** invented: deleting a tenant that still has sub-tenants without cascade. */
export const TENANT_HAS_CHILDREN: ErrorKind = { status: 400, code: 'E111106', description: 'Tenant has sub-tenants' };

// Uniqueness. Tenant ids and tenant names are unique in the project (the .NET mock message says
// "tenant ID or Name already exist"); role names are unique per (name, tenantId); permission
// names are unique in the project. Comparison is exact (case-sensitive).

// ---------------------------------------------------------------------------------------------
// Deletes of things that do not exist (§2.17: unverified for every kind).
// ---------------------------------------------------------------------------------------------

/**
 * Single deletes (tenant.delete, role.delete[WithId], permission.delete[WithId],
 * sso.deleteSettings with an unknown ssoId) answer the kind's not-found error. This is the
 * stricter choice: a client that retries a delete whose response was lost must cope with it.
 * Deleting the DEFAULT SSO configuration (no ssoId) always succeeds: it just resets it.
 */
export const DELETE_UNKNOWN_SINGLE: 'not-found' | 'ignore' = 'not-found';
/** Batch deletes (flow.delete, role.deleteBatch, permission.deleteBatch) skip unknown entries. */
export const DELETE_UNKNOWN_BATCH: 'not-found' | 'ignore' = 'ignore';

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

/**
 * tenant.create returns `{id}` for both create and createWithId (createWithId's SDK type is
 * `never`, so the extra field is harmless). Generated ids are `T2` + 26 alphanumerics.
 * `parent` must name an existing tenant. `roleInheritance` must be '', 'none' or 'userOnly'.
 * tenant.update replaces every field it carries (absent optional fields reset to their empty
 * value) and never touches parent or defaultRoles.
 * tenant.delete always removes the tenant's own roles, SSO configurations, tenant settings and
 * password settings (they cannot outlive it). `cascade` is accepted; since the emulator holds no
 * users or access keys its only other effect is on sub-tenants: with cascade they are deleted too,
 * without it the delete fails with TENANT_HAS_CHILDREN.
 */
export const TENANT_ID_PREFIX = 'T2';
export const ROLE_INHERITANCE_VALUES: readonly string[] = ['', 'none', 'userOnly'];

/**
 * tenant.getSettings for a tenant that was never configured. Values are a plausible guess, not
 * observed. `selfProvisioningDomains`, `domains` and `authType` are always the tenant's live
 * values (the same fields tenant.update and the default SSO configuration write).
 * tenant.configureSettings is a full replace: known fields it leaves out return to these
 * defaults, unknown keys it sends (e.g. the README's `sessionSettingsEnabled`) are kept and
 * echoed back.
 */
export const DEFAULT_TENANT_SETTINGS: JsonObject = {
  enabled: false,
  sessionTokenExpiration: 10,
  sessionTokenExpirationUnit: 'minutes',
  refreshTokenExpiration: 4,
  refreshTokenExpirationUnit: 'weeks',
  stepupTokenExpiration: 10,
  stepupTokenExpirationUnit: 'minutes',
  enableInactivity: false,
  InactivityTime: 12,
  InactivityTimeUnit: 'hours',
  JITDisabled: false,
  ssoSetupSuiteSettings: { enabled: false },
};
export const EXPIRATION_UNITS: readonly string[] = ['minutes', 'hours', 'days', 'weeks'];
export const AUTH_TYPES: readonly string[] = ['none', 'saml', 'oidc'];

// ---------------------------------------------------------------------------------------------
// Roles and permissions
// ---------------------------------------------------------------------------------------------

/**
 * - Every role and permission gets a server id (`ROL…`, `PER…`) that never changes on rename.
 * - A role naming an unknown permission is rejected (PERMISSION_NOT_FOUND) and nothing is saved.
 * - A tenant role (tenantId set) requires the tenant to exist (TENANT_NOT_FOUND).
 * - Renaming a permission renames it inside every role; deleting a permission removes it from
 *   every role.
 * - Renaming a role renames it in tenant defaultRoles, SAML/OIDC role mappings and
 *   defaultSSORoles; deleting a role removes it from all of those.
 * - role.update / updateWithId / updateBatch are full replaces: description, permissionNames and
 *   default reset when left out. `newName` is required. With an id, a tenantId that differs from
 *   the role's own is ROLE_NOT_FOUND (a role never moves between tenants).
 * - role.loadAll returns PROJECT-LEVEL roles only; tenant roles are found with role.search.
 * - role.search: tenantIds limits to roles of those tenants (plus project roles when
 *   includeProjectRoles); no tenantIds means every role. roleNames is exact any-of,
 *   roleNameLike a case-insensitive substring, permissionNames any-of.
 * - Batch creates/updates are all-or-nothing.
 * - `systemDefault` sent by a client is ignored (always false); `private` is always false.
 * - The project starts with NO built-in roles or permissions (a real project has e.g.
 *   "Tenant Admin"); seed them with reset() if a test needs them.
 * - Role references elsewhere (defaultRoles, SSO mappings) resolve a name to the tenant's own
 *   role first, then to a project role; an unknown name is ROLE_NOT_FOUND.
 */
export const ROLE_ID_PREFIX = 'ROL';
export const PERMISSION_ID_PREFIX = 'PER';
export const ROLE_LOAD_ALL_INCLUDES_TENANT_ROLES = false;

// ---------------------------------------------------------------------------------------------
// Flows and theme
// ---------------------------------------------------------------------------------------------

/**
 * flow.import is an upsert that stores `{flow, screens}` exactly as sent, unknown keys included,
 * and returns it; flow.export returns it unchanged. Only these rewrites can happen:
 * - if `flow.id` differs from `flowId`, it is set to `flowId`, and every screen that carries a
 *   `flowId` key gets `flowId` too ("import as the given id");
 * - a screen without an `id` gets a generated one (`SC` + 26 alphanumerics);
 * - with the `bumpFlowVersion` option (default OFF, so a round trip is exact), each import sets
 *   `flow.version` to the previous stored version + 1 (1 for a new flow) and `flow.modifiedTime`
 *   to now in epoch SECONDS, as real exports carry them (descope-api.md §3.1).
 * A flow whose `dsl.tasks` has more than MAX_FLOW_TASKS entries is rejected (documented limit).
 * The project starts with no flows (a real project has the default sign-up/sign-in flows).
 * flow.list reports `description` as '' when the flow has none.
 */
export const MAX_FLOW_TASKS = 200;
export const DEFAULT_BUMP_FLOW_VERSION = false;
export const SCREEN_ID_PREFIX = 'SC';

/** theme.export before any import returns this (a real project has a default theme). */
export const DEFAULT_THEME: JsonObject = { id: '', cssTemplate: {} };

// ---------------------------------------------------------------------------------------------
// Tenant SSO settings
// ---------------------------------------------------------------------------------------------

/**
 * - Stored in the raw wire shape. OIDC arrives as `settings` with `userAttrMapping` and is kept
 *   as sent (unknown keys included). SAML arrives as SSOSAMLSettings and is stored as the
 *   response shape: idpUrl→idpSSOUrl, idpCert→idpCertificate, entityId→idpEntityId,
 *   roleMappings[{roleName,groups}]→groupsMapping[{role:{id,name},groups}]. The role name in
 *   groupsMapping is re-read from the role on every load, so a rename shows up.
 * - SP-side fields the real service computes (spCertificate, and spEntityId/spACSUrl when not
 *   sent) are returned as ''. SAML by metadata stores idpMetadataUrl and leaves the idp* fields
 *   '' (the emulator does not fetch metadata); configuring SAML by URL clears idpMetadataUrl.
 * - OIDC clientSecret is write-only: reads return `clientSecret: ''`. A configure call that
 *   omits it or sends '' KEEPS the previously stored secret, so a read-modify-write client does
 *   not wipe it. Tests check it with RunningEmulator.secretStatus().
 * - Each tenant has a default configuration (ssoId '') plus any created by newSettings. The
 *   tenant's `domains` / `authType` are those of the default configuration. configureOIDC sets
 *   authType 'oidc', configureSAML* 'saml'; a configuration remembers both protocols once set.
 *   `domains`, when sent, replaces the configuration's domains; left out, it keeps them. The
 *   same holds for the separate `redirectUrl` argument of configureSAML*: the `settings` object
 *   itself is a full replace.
 * - OIDC needs settings.name and settings.clientId; SAML needs idpUrl, idpCert and entityId;
 *   SAML by metadata needs idpMetadataUrl. Role names in roleMappings / defaultSSORoles must
 *   exist (ROLE_NOT_FOUND otherwise).
 * - configure* with an unknown non-empty ssoId is SSO_CONFIG_NOT_FOUND (create it with
 *   newSettings first). newSettings with an existing ssoId is SSO_CONFIG_EXISTS; without ssoId
 *   one is generated (`SSO` + 26 alphanumerics). displayName is stored but not returned (it is
 *   not part of the SDK's SSOSettings type).
 * - loadSettings returns `{tenant, ssoId, saml?, oidc?}` (ssoId '' for the default
 *   configuration): a protocol never configured is left out. loadAllSettings lists the default configuration only when it has a protocol configured,
 *   then every newSettings configuration.
 * - configureSSORedirectURL sets saml.redirectUrl / oidc.redirectUrl, creating the protocol
 *   object with empty values if it was never configured (authType is not changed).
 * - deleteSettings without ssoId resets the default configuration; with one, removes it.
 */
export const SSO_ID_PREFIX = 'SSO';

// ---------------------------------------------------------------------------------------------
// Password settings
// ---------------------------------------------------------------------------------------------

/**
 * tenantId '' (or absent) means the project's settings. A tenant without its own settings
 * reports the project's (inheritance). configureSettings is a full replace; unknown keys are
 * kept. These defaults are a guess.
 */
export const DEFAULT_PASSWORD_SETTINGS: JsonObject = {
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

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

/**
 * Every accepted write appends one raw record (`occurred` = epoch ms as a string,
 * `externalIds` = []), newest first in search results. Action names are the emulator's own
 * (`TenantCreated`, `RoleUpdated`, `FlowImported`, ... listed in handlers); `actorId` is the
 * emulator's actor id for the management key; `data` carries `{resource, path}` (resource is a
 * `kind/key` address, each key segment with `%` and `/` escaped as %25 and %2F (resource.ts), so a
 * name holding "/" names one resource; a tenant's password policy is `password/tenants/<id>`, the
 * project's `password/project`). audit.createEvent is supported too and stores what it is given.
 * Searches honour actions, excludedActions, from, to, tenants, noTenants, text (case-insensitive
 * substring of action, actorId, tenants and data), userIds, externalIds (SDK loginIds),
 * remoteAddresses, devices, methods and geos. `from` earlier than AUDIT_MAX_AGE_MS ago is
 * clamped. Paging (`limit`, `page`) is accepted; without `limit` at most AUDIT_MAX_RESULTS are
 * returned. `total` is the number of matches. Only AUDIT_MAX_RECORDS records are kept.
 */
export const AUDIT_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
export const AUDIT_MAX_RESULTS = 1000;
export const AUDIT_MAX_RECORDS = 10_000;
export const AUDIT_TYPES: readonly string[] = ['info', 'warn', 'error'];
export const AUDIT_DEVICE = 'Unknown';
export const AUDIT_METHOD = 'ManagementAPI';

// ---------------------------------------------------------------------------------------------
// Times
// ---------------------------------------------------------------------------------------------

// createdTime of tenants and roles, and flow modifiedTime, are epoch SECONDS (as in real
// exports); audit `occurred` is epoch MILLISECONDS (verified). Both come from the `clock` option.

// ---------------------------------------------------------------------------------------------
// Project
// ---------------------------------------------------------------------------------------------

/** project.updateName and project.updateTags are supported; other project calls are not. */
export const DEFAULT_PROJECT_ID = 'P2emulator000000000000000000';
export const DEFAULT_MANAGEMENT_KEY = 'emulator-management-key';
export const DEFAULT_PROJECT_NAME = 'Descope emulator';
