// Project-level calls: the license handshake, project.updateName / updateTags, and
// management.password getSettings / configureSettings (project-level when tenantId is empty).

import { invalidArgument } from '../api-error.ts';
import { DEFAULT_PASSWORD_SETTINGS } from '../fidelity.ts';
import type { JsonObject } from '../json.ts';
import type { HandlerContext, Route } from './context.ts';
import { requireTenant } from './lookup.ts';
import { resource } from '../resource.ts';

const PASSWORD_BOOLEANS = ['enabled', 'lowercase', 'uppercase', 'number', 'nonAlphaNumeric', 'expiration', 'reuse', 'lock'];
const PASSWORD_COUNTS = ['minLength', 'expirationWeeks', 'reuseAmount', 'lockAttempts'];

function getPasswordSettings(ctx: HandlerContext): JsonObject {
  const tenantId = ctx.query.get('tenantId') ?? '';
  const own = tenantId ? requireTenant(ctx.state, tenantId).passwordSettings : null;
  return {
    ...structuredClone(DEFAULT_PASSWORD_SETTINGS),
    ...structuredClone(own ?? ctx.state.project.passwordSettings ?? {}),
  };
}

function configurePasswordSettings(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const tenantId = body.optionalString('tenantId') ?? '';
  for (const key of PASSWORD_BOOLEANS) body.optionalBoolean(key);
  for (const key of PASSWORD_COUNTS) {
    const value = body.optionalNumber(key);
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw invalidArgument(`${key} must be a non-negative integer`);
    }
  }
  const tenant = tenantId ? requireTenant(state, tenantId) : undefined;
  const settings: JsonObject = {};
  for (const [key, value] of Object.entries(body.object)) {
    if (key !== 'tenantId' && value !== null) settings[key] = structuredClone(value);
  }
  if (tenant) tenant.passwordSettings = settings;
  else state.project.passwordSettings = settings;
  ctx.audit('PasswordSettingsUpdated', tenant ? resource('password', 'tenants', tenant.id) : 'password/project', tenant ? [tenant.id] : []);
  return {};
}

function updateName(ctx: HandlerContext): JsonObject {
  ctx.state.project.name = ctx.body.requiredString('name');
  ctx.audit('ProjectNameUpdated', resource('project', ctx.projectId));
  return {};
}

function updateTags(ctx: HandlerContext): JsonObject {
  ctx.state.project.tags = [...new Set(ctx.body.requiredStringArray('tags'))];
  ctx.audit('ProjectTagsUpdated', resource('project', ctx.projectId));
  return {};
}

export function projectRoutes(rateLimitTier: string): Route[] {
  return [
    { method: 'GET', path: '/v1/mgmt/license', write: false, handle: () => ({ rateLimitTier }) },
    { method: 'POST', path: '/v1/mgmt/project/update/name', write: true, handle: updateName },
    { method: 'POST', path: '/v1/mgmt/project/update/tags', write: true, handle: updateTags },
    { method: 'GET', path: '/v1/mgmt/password/settings', write: false, handle: getPasswordSettings },
    { method: 'POST', path: '/v1/mgmt/password/settings', write: true, handle: configurePasswordSettings },
  ];
}
