// management.tenant: create (with or without id), update, updateDefaultRoles, delete (cascade),
// load, loadAll, searchAll, getSettings, configureSettings.

import { ApiError, invalidArgument } from '../api-error.ts';
import {
  AUTH_TYPES,
  DEFAULT_TENANT_SETTINGS,
  DELETE_UNKNOWN_SINGLE,
  EXPIRATION_UNITS,
  ROLE_INHERITANCE_VALUES,
  TENANT_EXISTS,
  TENANT_HAS_CHILDREN,
  TENANT_ID_PREFIX,
  TENANT_NOT_FOUND,
} from '../fidelity.ts';
import { FieldReader, unique, type Json, type JsonObject } from '../json.ts';
import { createDefaultSsoConfig, type EmulatorState, type StoredSsoConfig, type StoredTenant } from '../state.ts';
import { epochSeconds, requireQuery, type HandlerContext, type Route } from './context.ts';
import { findTenant, requireRoleReference, requireTenant } from './lookup.ts';
import { resource } from '../resource.ts';

/** The Tenant object of the SDK (`domains` / `authType` come from an SSO configuration). */
export function tenantResponse(tenant: StoredTenant, sso: StoredSsoConfig | undefined = tenant.sso[0]): JsonObject {
  const out: JsonObject = {
    id: tenant.id,
    name: tenant.name,
    selfProvisioningDomains: [...tenant.selfProvisioningDomains],
    customAttributes: structuredClone(tenant.customAttributes),
    domains: [...(sso?.domains ?? [])],
    authType: sso?.authType ?? 'none',
    enforceSSO: tenant.enforceSSO,
    disabled: tenant.disabled,
    createdTime: tenant.createdTime,
    defaultRoles: [...tenant.defaultRoles],
  };
  if (tenant.parent) out['parent'] = tenant.parent;
  if (tenant.roleInheritance) out['roleInheritance'] = tenant.roleInheritance;
  return out;
}

function readCustomAttributes(body: FieldReader): JsonObject {
  const attributes = body.optionalObject('customAttributes') ?? {};
  for (const [key, value] of Object.entries(attributes)) {
    const ok =
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    if (!ok) throw invalidArgument(`customAttributes.${key} must be a string, number, boolean or array of strings`);
  }
  return structuredClone(attributes);
}

function assertNameFree(state: EmulatorState, name: string, exceptId?: string): void {
  const clash = state.tenants.find((tenant) => tenant.name === name && tenant.id !== exceptId);
  if (clash) throw new ApiError(TENANT_EXISTS, `a tenant named "${name}" already exists (id "${clash.id}")`);
}

function create(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const requestedId = body.optionalString('id');
  const name = body.requiredString('name');
  const selfProvisioningDomains = unique(body.optionalStringArray('selfProvisioningDomains') ?? []);
  const customAttributes = readCustomAttributes(body);
  const enforceSSO = body.optionalBoolean('enforceSSO') ?? false;
  const disabled = body.optionalBoolean('disabled') ?? false;
  const parent = body.optionalString('parent') ?? '';
  const roleInheritance = body.optionalEnum('roleInheritance', ROLE_INHERITANCE_VALUES) ?? '';

  if (requestedId !== undefined && requestedId !== '' && findTenant(state, requestedId)) {
    throw new ApiError(TENANT_EXISTS, `tenant id "${requestedId}" already exists`);
  }
  assertNameFree(state, name);
  if (parent) requireTenant(state, parent);

  let id = requestedId || ctx.ids.id(TENANT_ID_PREFIX);
  while (findTenant(state, id)) id = ctx.ids.id(TENANT_ID_PREFIX);

  state.tenants.push({
    id,
    name,
    selfProvisioningDomains,
    customAttributes,
    enforceSSO,
    disabled,
    parent,
    roleInheritance,
    defaultRoles: [],
    createdTime: epochSeconds(ctx.now()),
    settings: null,
    passwordSettings: null,
    sso: [createDefaultSsoConfig()],
  });
  ctx.audit('TenantCreated', resource('tenants', id), [id]);
  return { id };
}

function update(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const id = body.requiredString('id');
  const name = body.requiredString('name');
  const selfProvisioningDomains = unique(body.optionalStringArray('selfProvisioningDomains') ?? []);
  const customAttributes = readCustomAttributes(body);
  const enforceSSO = body.optionalBoolean('enforceSSO') ?? false;
  const disabled = body.optionalBoolean('disabled') ?? false;
  const roleInheritance = body.optionalEnum('roleInheritance', ROLE_INHERITANCE_VALUES) ?? '';

  const tenant = requireTenant(state, id);
  assertNameFree(state, name, id);

  Object.assign(tenant, { name, selfProvisioningDomains, customAttributes, enforceSSO, disabled, roleInheritance });
  ctx.audit('TenantUpdated', resource('tenants', id), [id]);
  return {};
}

function updateDefaultRoles(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const id = body.requiredString('id');
  const defaultRoles = unique(body.requiredStringArray('defaultRoles'));
  const tenant = requireTenant(state, id);
  for (const name of defaultRoles) requireRoleReference(state, id, name, 'defaultRoles');
  tenant.defaultRoles = defaultRoles;
  ctx.audit('TenantDefaultRolesUpdated', resource('tenants', id), [id]);
  return {};
}

function descendants(state: EmulatorState, id: string): string[] {
  const out: string[] = [];
  const queue = [id];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    for (const child of state.tenants) {
      if (child.parent === current && !out.includes(child.id)) {
        out.push(child.id);
        queue.push(child.id);
      }
    }
  }
  return out;
}

function remove(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const id = body.requiredString('id');
  const cascade = body.optionalBoolean('cascade') ?? false;
  if (!findTenant(state, id)) {
    if (DELETE_UNKNOWN_SINGLE === 'ignore') return {};
    throw new ApiError(TENANT_NOT_FOUND, `tenant "${id}" does not exist`);
  }
  const children = descendants(state, id);
  if (children.length > 0 && !cascade) {
    throw new ApiError(
      TENANT_HAS_CHILDREN,
      `tenant "${id}" has sub-tenants (${children.join(', ')}); delete them first or pass cascade`,
    );
  }
  const doomed = new Set([id, ...children]);
  state.tenants = state.tenants.filter((tenant) => !doomed.has(tenant.id));
  state.roles = state.roles.filter((role) => !doomed.has(role.tenantId));
  ctx.audit('TenantDeleted', resource('tenants', id), [...doomed]);
  return {};
}

function load(ctx: HandlerContext): JsonObject {
  return tenantResponse(requireTenant(ctx.state, requireQuery(ctx.query, 'id')));
}

function loadAll(ctx: HandlerContext): JsonObject {
  return { tenants: ctx.state.tenants.map((tenant) => tenantResponse(tenant)) };
}

function attributeMatches(actual: Json | undefined, wanted: Json): boolean {
  if (Array.isArray(wanted)) {
    return Array.isArray(actual) && wanted.every((item) => actual.includes(item as string));
  }
  if (Array.isArray(actual)) return actual.includes(wanted as string);
  return actual === wanted;
}

function search(ctx: HandlerContext): JsonObject {
  const { body } = ctx;
  const ids = body.optionalStringArray('tenantIds') ?? [];
  const names = body.optionalStringArray('tenantNames') ?? [];
  const domains = body.optionalStringArray('tenantSelfProvisioningDomains') ?? [];
  const customAttributes = body.optionalObject('customAttributes') ?? {};
  const parentTenantId = body.optionalString('parentTenantId') ?? '';
  const tenants = ctx.state.tenants.filter(
    (tenant) =>
      (ids.length === 0 || ids.includes(tenant.id)) &&
      (names.length === 0 || names.includes(tenant.name)) &&
      (domains.length === 0 || tenant.selfProvisioningDomains.some((domain) => domains.includes(domain))) &&
      Object.entries(customAttributes).every(([key, wanted]) => attributeMatches(tenant.customAttributes[key], wanted)) &&
      (parentTenantId === '' || tenant.parent === parentTenantId),
  );
  return { tenants: tenants.map((tenant) => tenantResponse(tenant)) };
}

/** Fields of TenantSettings that live on the tenant itself rather than in `settings`. */
const TENANT_OWNED_SETTINGS = ['tenantId', 'selfProvisioningDomains', 'domains', 'authType'];

function getSettings(ctx: HandlerContext): JsonObject {
  const tenant = requireTenant(ctx.state, requireQuery(ctx.query, 'id'));
  const defaultSso = tenant.sso[0];
  return {
    ...structuredClone(DEFAULT_TENANT_SETTINGS),
    ...structuredClone(tenant.settings ?? {}),
    selfProvisioningDomains: [...tenant.selfProvisioningDomains],
    domains: [...(defaultSso?.domains ?? [])],
    authType: defaultSso?.authType ?? 'none',
  };
}

function configureSettings(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const tenantId = body.requiredString('tenantId');
  const selfProvisioningDomains = unique(body.optionalStringArray('selfProvisioningDomains') ?? []);
  const domains = unique(body.optionalStringArray('domains') ?? []);
  const authType = body.optionalEnum('authType', AUTH_TYPES) ?? 'none';
  for (const key of ['enabled', 'enableInactivity', 'JITDisabled']) body.optionalBoolean(key);
  for (const key of ['sessionTokenExpiration', 'refreshTokenExpiration', 'stepupTokenExpiration', 'InactivityTime']) {
    const value = body.optionalNumber(key);
    if (value !== undefined && value < 0) throw invalidArgument(`${key} must not be negative`);
  }
  for (const key of ['sessionTokenExpirationUnit', 'refreshTokenExpirationUnit', 'stepupTokenExpirationUnit', 'InactivityTimeUnit']) {
    body.optionalEnum(key, EXPIRATION_UNITS);
  }
  const suite = body.optionalObject('ssoSetupSuiteSettings');
  if (suite) {
    const reader = new FieldReader(suite, 'ssoSetupSuiteSettings.');
    reader.optionalBoolean('enabled');
    reader.optionalString('styleId');
    const disabled = reader.optionalObject('disabledFeatures');
    if (disabled) {
      const features = new FieldReader(disabled, 'ssoSetupSuiteSettings.disabledFeatures.');
      for (const key of Object.keys(disabled)) features.optionalBoolean(key);
    }
  }
  const tenant = requireTenant(state, tenantId);

  const settings: JsonObject = {};
  for (const [key, value] of Object.entries(body.object)) {
    if (!TENANT_OWNED_SETTINGS.includes(key) && value !== null) settings[key] = structuredClone(value);
  }
  tenant.settings = settings;
  tenant.selfProvisioningDomains = selfProvisioningDomains;
  const defaultSso = tenant.sso[0] as StoredSsoConfig;
  defaultSso.domains = domains;
  defaultSso.authType = authType;
  ctx.audit('TenantSettingsUpdated', resource('tenants', tenantId), [tenantId]);
  return {};
}

export const tenantRoutes: Route[] = [
  { method: 'POST', path: '/v1/mgmt/tenant/create', write: true, handle: create },
  { method: 'POST', path: '/v1/mgmt/tenant/update', write: true, handle: update },
  { method: 'POST', path: '/v1/mgmt/tenant/updateDefaultRoles', write: true, handle: updateDefaultRoles },
  { method: 'POST', path: '/v1/mgmt/tenant/delete', write: true, handle: remove },
  { method: 'GET', path: '/v1/mgmt/tenant', write: false, handle: load },
  { method: 'GET', path: '/v1/mgmt/tenant/all', write: false, handle: loadAll },
  { method: 'POST', path: '/v1/mgmt/tenant/search', write: false, handle: search },
  { method: 'GET', path: '/v1/mgmt/tenant/settings', write: false, handle: getSettings },
  { method: 'POST', path: '/v1/mgmt/tenant/settings', write: true, handle: configureSettings },
];
