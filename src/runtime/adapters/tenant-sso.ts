// Tenant SSO (`tenants/<id>/sso`): the tenant's default SSO configuration, OIDC or SAML (by URL
// and certificate, or by metadata URL). Read per declared tenant with `loadSettings`, skipped when
// the tenant list already says its authType is `none`. Written with configureOIDCSettings /
// configureSAMLSettings / configureSAMLByMetadata (full replaces), removed with deleteSettings.
//
// Wire shapes (descope-api.md §2.4): OIDC attribute mapping travels as `userAttrMapping` (the SDK
// renames it both ways); SAML role mappings are written as `roleMappings[{roleName, groups}]` and
// read as `groupsMapping[{role: {id, name}, groups}]`, which the SDK turns into
// `[{roleName, groups}]`. The OIDC client secret is write-only: reads return it blank, so the
// canonical record carries a marker, and a write sends a secret only when given a resolved value.

import type { SSOOIDCSettings, SSOSAMLByMetadataSettings, SSOSAMLSettings, SSOSettings } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { SSO_SETTINGS } from '../answers.ts';
import {
  LIVE_SECRET,
  normalizeSso,
  tenantSsoAddress,
  type CanonicalAttributeMapping,
  type CanonicalRoleMapping,
  type CanonicalSso,
  type OidcPrompt,
} from '../model.ts';

type RoleMappingWire = { roleName?: string; role?: { name?: string }; groups?: string[] };

function roleMappingsFromSdk(mappings: readonly RoleMappingWire[] | undefined): { role: string; groups: string[] }[] {
  return (mappings ?? []).map((mapping) => ({
    // The SDK's transform gives `roleName`; the raw shape (`role.name`) is accepted too.
    role: mapping.roleName ?? mapping.role?.name ?? '',
    groups: mapping.groups ?? [],
  }));
}

function roleMappingsToSdk(mappings: readonly CanonicalRoleMapping[]): { roleName: string; groups: string[] }[] {
  return mappings.map((mapping) => ({ roleName: mapping.role, groups: [...mapping.groups] }));
}

/**
 * SDK SSOSettings (after its transform) → canonical, or null when the tenant has no SSO. The active
 * protocol is the tenant's `authType` (a configuration remembers both once set); a SAML
 * configuration with a metadata URL is `saml-metadata`.
 */
export function ssoFromSdk(settings: SSOSettings): CanonicalSso | null {
  const authType = settings.tenant?.authType ?? (settings.oidc ? 'oidc' : settings.saml ? 'saml' : 'none');
  const domains = settings.tenant?.domains ?? [];
  if (authType === 'oidc' && settings.oidc) {
    const oidc = settings.oidc;
    return normalizeSso({
      type: 'oidc',
      // Strings when present (answers.ts); Descope may leave an empty one out.
      name: oidc.name ?? '',
      clientId: oidc.clientId ?? '',
      clientSecret: LIVE_SECRET,
      issuer: oidc.issuer,
      authUrl: oidc.authUrl,
      tokenUrl: oidc.tokenUrl,
      userDataUrl: oidc.userDataUrl,
      jwksUrl: oidc.JWKsUrl,
      redirectUrl: oidc.redirectUrl,
      callbackDomain: oidc.callbackDomain,
      scope: oidc.scope,
      prompt: oidc.prompt as OidcPrompt[] | undefined,
      grantType: oidc.grantType,
      manageProviderTokens: oidc.manageProviderTokens,
      attributeMapping: oidc.attributeMapping,
      roleMappings: roleMappingsFromSdk(oidc.roleMappings),
      domains,
    });
  }
  if (authType === 'saml' && settings.saml) {
    const saml = settings.saml;
    const common = {
      spACSUrl: saml.spACSUrl,
      spEntityId: saml.spEntityId,
      redirectUrl: saml.redirectUrl,
      attributeMapping: saml.attributeMapping,
      defaultSSORoles: saml.defaultSSORoles,
      roleMappings: roleMappingsFromSdk(saml.groupsMapping as readonly RoleMappingWire[] | undefined),
      domains,
    };
    if (saml.idpMetadataUrl) {
      return normalizeSso({ type: 'saml-metadata', idpMetadataUrl: saml.idpMetadataUrl, entityId: saml.idpEntityId, ...common });
    }
    return normalizeSso({
      type: 'saml',
      idpUrl: saml.idpSSOUrl ?? '',
      entityId: saml.idpEntityId ?? '',
      idpCert: saml.idpCertificate ?? '',
      ...common,
    });
  }
  return null;
}

function attributeMappingToSdk(mapping: CanonicalAttributeMapping | undefined): CanonicalAttributeMapping {
  return mapping ? { ...mapping, ...(mapping.customAttributes ? { customAttributes: { ...mapping.customAttributes } } : {}) } : {};
}

/** The OIDC settings object for configureOIDCSettings; `clientSecret` only when a value is given. */
export function oidcToSdk(sso: Extract<CanonicalSso, { type: 'oidc' }>, clientSecret?: string): SSOOIDCSettings {
  const out: SSOOIDCSettings = {
    name: sso.name,
    clientId: sso.clientId,
    redirectUrl: sso.redirectUrl,
    authUrl: sso.authUrl,
    tokenUrl: sso.tokenUrl,
    userDataUrl: sso.userDataUrl,
    scope: [...sso.scope],
    JWKsUrl: sso.jwksUrl,
    attributeMapping: attributeMappingToSdk(sso.attributeMapping),
    manageProviderTokens: sso.manageProviderTokens,
    callbackDomain: sso.callbackDomain,
    prompt: [...sso.prompt],
    grantType: sso.grantType,
    issuer: sso.issuer,
    roleMappings: roleMappingsToSdk(sso.roleMappings),
  };
  if (clientSecret !== undefined && clientSecret !== '') out.clientSecret = clientSecret;
  return out;
}

export function samlToSdk(sso: Extract<CanonicalSso, { type: 'saml' }>): SSOSAMLSettings {
  return {
    idpUrl: sso.idpUrl,
    idpCert: sso.idpCert,
    entityId: sso.entityId,
    roleMappings: roleMappingsToSdk(sso.roleMappings),
    attributeMapping: attributeMappingToSdk(sso.attributeMapping),
    defaultSSORoles: [...sso.defaultSSORoles],
    spACSUrl: sso.spACSUrl,
    spEntityId: sso.spEntityId,
  };
}

export function samlMetadataToSdk(sso: Extract<CanonicalSso, { type: 'saml-metadata' }>): SSOSAMLByMetadataSettings {
  return {
    idpMetadataUrl: sso.idpMetadataUrl,
    entityId: sso.entityId,
    roleMappings: roleMappingsToSdk(sso.roleMappings),
    attributeMapping: attributeMappingToSdk(sso.attributeMapping),
    defaultSSORoles: [...sso.defaultSSORoles],
    spACSUrl: sso.spACSUrl,
    spEntityId: sso.spEntityId,
  };
}

export async function readTenantSso(api: DescopeApi, tenantId: string): Promise<CanonicalSso | null> {
  return ssoFromSdk(await api.call(tenantSsoAddress(tenantId), (m) => m.sso.loadSettings(tenantId), { shape: SSO_SETTINGS }));
}

export interface WriteSsoOptions {
  /**
   * The OIDC client secret, already resolved from its `{ env }` reference by the caller. Sent only
   * when given; without it Descope keeps the secret it has.
   */
  clientSecret?: string | undefined;
}

/** Configures the tenant's SSO from the full canonical record (a full replace). */
export async function writeTenantSso(
  api: DescopeApi,
  tenantId: string,
  sso: CanonicalSso,
  options: WriteSsoOptions = {},
): Promise<void> {
  const address = tenantSsoAddress(tenantId);
  const domains = [...sso.domains];
  switch (sso.type) {
    case 'oidc':
      await api.call(address, (m) => m.sso.configureOIDCSettings(tenantId, oidcToSdk(sso, options.clientSecret), domains));
      return;
    case 'saml':
      await api.call(address, (m) => m.sso.configureSAMLSettings(tenantId, samlToSdk(sso), sso.redirectUrl, domains));
      return;
    case 'saml-metadata':
      await api.call(address, (m) =>
        m.sso.configureSAMLByMetadata(tenantId, samlMetadataToSdk(sso), sso.redirectUrl, domains),
      );
      return;
  }
}

/** Removes the tenant's SSO configuration (idempotent: deleting the default one only resets it). */
export async function deleteTenantSso(api: DescopeApi, tenantId: string): Promise<void> {
  await api.call(tenantSsoAddress(tenantId), (m) => m.sso.deleteSettings(tenantId));
}

export const tenantSsoAdapter = {
  kind: 'tenantSso',
  address: tenantSsoAddress,
  read: readTenantSso,
  write: writeTenantSso,
  delete: deleteTenantSso,
  fromSdk: ssoFromSdk,
} as const;
