// management.sso (tenant SSO settings): configureOIDCSettings, configureSAMLSettings,
// configureSAMLByMetadata, configureSSORedirectURL, loadSettings (v2), loadAllSettings (v2),
// newSettings, deleteSettings (DELETE verb). Stored and returned in the raw wire shape; the
// SDK's transformSettingsResponse turns it into `attributeMapping` / `groupsMapping[].roleName`.

import { ApiError, invalidArgument } from '../api-error.ts';
import { SSO_CONFIG_EXISTS, SSO_ID_PREFIX } from '../fidelity.ts';
import { FieldReader, isJsonObject, unique, type Json, type JsonObject } from '../json.ts';
import { createDefaultSsoConfig, type EmulatorState, type StoredSsoConfig, type StoredTenant } from '../state.ts';
import { requireQuery, type HandlerContext, type Route } from './context.ts';
import { findSsoConfig, requireRoleReference, requireSsoConfig, requireTenant } from './lookup.ts';
import { tenantResponse } from './tenants.ts';
import { resource } from '../resource.ts';

const OIDC_PROMPTS = ['none', 'login', 'consent', 'select_account'];
const OIDC_GRANT_TYPES = ['authorization_code', 'implicit'];

function address(tenantId: string, ssoId: string): string {
  return ssoId ? resource('sso', tenantId, ssoId) : resource('sso', tenantId);
}

export function ssoSettingsResponse(tenant: StoredTenant, config: StoredSsoConfig): JsonObject {
  const out: JsonObject = { tenant: tenantResponse(tenant, config), ssoId: config.ssoId };
  if (config.saml) out['saml'] = structuredClone(config.saml);
  if (config.oidc) out['oidc'] = { ...structuredClone(config.oidc), clientSecret: '' };
  return out;
}

/** The tenant and configuration a write addresses (ssoId absent or '' = the default one). */
function target(ctx: HandlerContext, tenantId: string, ssoId: string): { tenant: StoredTenant; config: StoredSsoConfig } {
  const tenant = requireTenant(ctx.state, tenantId);
  return { tenant, config: requireSsoConfig(tenant, ssoId) };
}

function readStringMap(reader: FieldReader, key: string): JsonObject | undefined {
  const value = reader.optionalObject(key);
  if (value === undefined) return undefined;
  for (const [field, item] of Object.entries(value)) {
    if (field === 'customAttributes') {
      if (!isJsonObject(item) || !Object.values(item).every((v) => typeof v === 'string')) {
        throw invalidArgument(`${key}.customAttributes must map names to strings`);
      }
    } else if (item !== null && typeof item !== 'string') {
      throw invalidArgument(`${key}.${field} must be a string`);
    }
  }
  return structuredClone(value);
}

/** SAML `roleMappings[{groups, roleName}]` → raw `groupsMapping[{role: {id, name}, groups}]`. */
function readGroupsMapping(state: EmulatorState, tenantId: string, settings: FieldReader): Json[] {
  return (settings.objectArray('roleMappings', false) ?? []).map((mapping) => {
    const roleName = mapping.requiredString('roleName');
    const groups = mapping.optionalStringArray('groups') ?? [];
    const role = requireRoleReference(state, tenantId, roleName, 'settings.roleMappings');
    return { role: { id: role.id, name: role.name }, groups };
  });
}

function readDefaultSsoRoles(state: EmulatorState, tenantId: string, settings: FieldReader): string[] {
  const names = unique(settings.optionalStringArray('defaultSSORoles') ?? []);
  for (const name of names) requireRoleReference(state, tenantId, name, 'settings.defaultSSORoles');
  return names;
}

function configureOidc(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const tenantId = body.requiredString('tenantId');
  const ssoId = body.optionalString('ssoId') ?? '';
  const settingsObject = body.requiredObject('settings');
  const domains = body.optionalStringArray('domains');
  const settings = new FieldReader(settingsObject, 'settings.');
  settings.requiredString('name');
  settings.requiredString('clientId');
  const clientSecret = settings.optionalString('clientSecret');
  for (const key of ['redirectUrl', 'authUrl', 'tokenUrl', 'userDataUrl', 'JWKsUrl', 'callbackDomain', 'issuer']) {
    settings.optionalString(key);
  }
  settings.optionalStringArray('scope');
  settings.optionalBoolean('manageProviderTokens');
  settings.optionalEnum('grantType', OIDC_GRANT_TYPES);
  for (const prompt of settings.optionalStringArray('prompt') ?? []) {
    if (!OIDC_PROMPTS.includes(prompt)) throw invalidArgument(`settings.prompt: unknown value "${prompt}"`);
  }
  readStringMap(settings, 'userAttrMapping');
  for (const mapping of settings.objectArray('roleMappings', false) ?? []) {
    requireRoleReference(state, tenantId, mapping.requiredString('roleName'), 'settings.roleMappings');
    mapping.optionalStringArray('groups');
  }
  const { config } = target(ctx, tenantId, ssoId);

  const stored: JsonObject = structuredClone(settingsObject);
  stored['clientSecret'] = '';
  config.oidc = stored;
  if (clientSecret) config.oidcClientSecret = clientSecret;
  config.authType = 'oidc';
  if (domains !== undefined) config.domains = unique(domains);
  ctx.audit('SSOOIDCSettingsUpdated', address(tenantId, ssoId), [tenantId]);
  return {};
}

function emptySaml(): JsonObject {
  return {
    idpEntityId: '',
    idpSSOUrl: '',
    idpCertificate: '',
    idpMetadataUrl: '',
    spEntityId: '',
    spACSUrl: '',
    spCertificate: '',
    attributeMapping: {},
    groupsMapping: [],
    defaultSSORoles: [],
    redirectUrl: '',
  };
}

function configureSaml(ctx: HandlerContext, byMetadata: boolean): JsonObject {
  const { body, state } = ctx;
  const tenantId = body.requiredString('tenantId');
  const ssoId = body.optionalString('ssoId') ?? '';
  const settings = new FieldReader(body.requiredObject('settings'), 'settings.');
  const redirectUrl = body.optionalString('redirectUrl');
  const domains = body.optionalStringArray('domains');

  const idp = byMetadata
    ? {
        idpEntityId: settings.optionalString('entityId') ?? '',
        idpSSOUrl: '',
        idpCertificate: '',
        idpMetadataUrl: settings.requiredString('idpMetadataUrl'),
      }
    : {
        idpEntityId: settings.requiredString('entityId'),
        idpSSOUrl: settings.requiredString('idpUrl'),
        idpCertificate: settings.requiredString('idpCert'),
        idpMetadataUrl: '',
      };
  const spEntityId = settings.optionalString('spEntityId') ?? '';
  const spACSUrl = settings.optionalString('spACSUrl') ?? '';
  const attributeMapping = readStringMap(settings, 'attributeMapping') ?? {};
  requireTenant(state, tenantId);
  const groupsMapping = readGroupsMapping(state, tenantId, settings);
  const defaultSSORoles = readDefaultSsoRoles(state, tenantId, settings);
  const { config } = target(ctx, tenantId, ssoId);

  config.saml = {
    ...emptySaml(),
    ...idp,
    spEntityId,
    spACSUrl,
    attributeMapping,
    groupsMapping,
    defaultSSORoles,
    redirectUrl: redirectUrl ?? (typeof config.saml?.['redirectUrl'] === 'string' ? config.saml['redirectUrl'] : ''),
  };
  config.authType = 'saml';
  if (domains !== undefined) config.domains = unique(domains);
  ctx.audit('SSOSAMLSettingsUpdated', address(tenantId, ssoId), [tenantId]);
  return {};
}

function configureRedirect(ctx: HandlerContext): JsonObject {
  const { body } = ctx;
  const tenantId = body.requiredString('tenantId');
  const ssoId = body.optionalString('ssoId') ?? '';
  const samlRedirectUrl = body.optionalString('samlRedirectUrl');
  const oauthRedirectUrl = body.optionalString('oauthRedirectUrl');
  const { config } = target(ctx, tenantId, ssoId);
  if (samlRedirectUrl !== undefined) {
    config.saml = { ...(config.saml ?? emptySaml()), redirectUrl: samlRedirectUrl };
  }
  if (oauthRedirectUrl !== undefined) {
    config.oidc = { ...(config.oidc ?? { name: '', clientId: '', clientSecret: '' }), redirectUrl: oauthRedirectUrl };
  }
  ctx.audit('SSORedirectURLUpdated', address(tenantId, ssoId), [tenantId]);
  return {};
}

function newSettings(ctx: HandlerContext): JsonObject {
  const { body } = ctx;
  const tenantId = body.requiredString('tenantId');
  const requested = body.optionalString('ssoId') ?? '';
  const displayName = body.requiredString('displayName');
  const tenant = requireTenant(ctx.state, tenantId);
  if (requested && findSsoConfig(tenant, requested)) {
    throw new ApiError(SSO_CONFIG_EXISTS, `SSO configuration "${requested}" already exists in tenant "${tenantId}"`);
  }
  let ssoId = requested || ctx.ids.id(SSO_ID_PREFIX);
  while (findSsoConfig(tenant, ssoId)) ssoId = ctx.ids.id(SSO_ID_PREFIX);
  const config: StoredSsoConfig = { ...createDefaultSsoConfig(), ssoId, displayName };
  tenant.sso.push(config);
  ctx.audit('SSOSettingsCreated', address(tenantId, ssoId), [tenantId]);
  return ssoSettingsResponse(tenant, config);
}

function deleteSettings(ctx: HandlerContext): JsonObject {
  const tenantId = requireQuery(ctx.query, 'tenantId');
  const ssoId = ctx.query.get('ssoId') ?? '';
  const { tenant } = target(ctx, tenantId, ssoId);
  if (ssoId === '') tenant.sso[0] = createDefaultSsoConfig();
  else tenant.sso = tenant.sso.filter((config) => config.ssoId !== ssoId);
  ctx.audit('SSOSettingsDeleted', address(tenantId, ssoId), [tenantId]);
  return {};
}

function loadSettings(ctx: HandlerContext): JsonObject {
  const tenantId = requireQuery(ctx.query, 'tenantId');
  const { tenant, config } = target(ctx, tenantId, ctx.query.get('ssoId') ?? '');
  return ssoSettingsResponse(tenant, config);
}

function loadAllSettings(ctx: HandlerContext): JsonObject {
  const tenant = requireTenant(ctx.state, requireQuery(ctx.query, 'tenantId'));
  const configs = tenant.sso.filter((config) => config.ssoId !== '' || config.saml !== null || config.oidc !== null);
  return { SSOSettings: configs.map((config) => ssoSettingsResponse(tenant, config)) };
}

/** Whether an OIDC client secret is stored, for tests (never exposed over HTTP). */
export function readSecretStatus(
  state: EmulatorState,
  tenantId: string,
  ssoId: string,
): { secret: string } | undefined {
  const tenant = state.tenants.find((candidate) => candidate.id === tenantId);
  const config = tenant ? findSsoConfig(tenant, ssoId) : undefined;
  return config ? { secret: config.oidcClientSecret } : undefined;
}

export const ssoRoutes: Route[] = [
  { method: 'POST', path: '/v1/mgmt/sso/oidc', write: true, handle: configureOidc },
  { method: 'POST', path: '/v1/mgmt/sso/saml', write: true, handle: (ctx) => configureSaml(ctx, false) },
  { method: 'POST', path: '/v1/mgmt/sso/saml/metadata', write: true, handle: (ctx) => configureSaml(ctx, true) },
  { method: 'POST', path: '/v1/mgmt/sso/redirect', write: true, handle: configureRedirect },
  { method: 'POST', path: '/v1/mgmt/sso/settings/new', write: true, handle: newSettings },
  { method: 'DELETE', path: '/v1/mgmt/sso/settings', write: true, handle: deleteSettings },
  { method: 'GET', path: '/v2/mgmt/sso/settings', write: false, handle: loadSettings },
  { method: 'GET', path: '/v2/mgmt/sso/settings/all', write: false, handle: loadAllSettings },
];
