// Tenant settings (`tenants/<id>/settings`): session token lifetimes, inactivity, JIT provisioning.
// Read per declared tenant (`getSettings`; there is no list call). Written with
// `configureSettings`, a full replace that ALSO carries fields the model keeps elsewhere or not at
// all (the tenant's selfProvisioningDomains, the SSO domains and authType, ssoSetupSuiteSettings):
// leaving them out would wipe them. So a write reads the current settings first and sends them
// back with the canonical fields replaced: 2 calls per write, always against fresh values, so an
// earlier write in the same apply (a tenant update, an SSO configuration) is never undone.

import type { TenantSettings } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { TENANT_SETTINGS } from '../answers.ts';
import { tenantSettingsAddress, type CanonicalTenantSettings, type Duration, type ExpirationUnit } from '../model.ts';

const UNITS: readonly ExpirationUnit[] = ['minutes', 'hours', 'days', 'weeks'];

function unit(value: unknown, fallback: ExpirationUnit): ExpirationUnit {
  return UNITS.includes(value as ExpirationUnit) ? (value as ExpirationUnit) : fallback;
}

function duration(value: unknown, unitValue: unknown, fallback: Duration): Duration {
  return {
    value: typeof value === 'number' ? value : fallback.value,
    unit: unit(unitValue, fallback.unit),
  };
}

/** What Descope reports for a setting it has no value for (the emulator's defaults). */
const FALLBACK = {
  session: { value: 10, unit: 'minutes' },
  refresh: { value: 4, unit: 'weeks' },
  stepup: { value: 10, unit: 'minutes' },
  inactivity: { value: 12, unit: 'hours' },
} as const satisfies Record<string, Duration>;

export function tenantSettingsFromSdk(settings: TenantSettings): CanonicalTenantSettings {
  return {
    sessionSettingsEnabled: settings.enabled === true,
    sessionTokenExpiration: duration(settings.sessionTokenExpiration, settings.sessionTokenExpirationUnit, FALLBACK.session),
    refreshTokenExpiration: duration(settings.refreshTokenExpiration, settings.refreshTokenExpirationUnit, FALLBACK.refresh),
    stepupTokenExpiration: duration(settings.stepupTokenExpiration, settings.stepupTokenExpirationUnit, FALLBACK.stepup),
    inactivityTimeout:
      settings.enableInactivity === true
        ? duration(settings.InactivityTime, settings.InactivityTimeUnit, FALLBACK.inactivity)
        : false,
    jitProvisioning: settings.JITDisabled !== true,
  };
}

/** `base` (the live settings as read) with the canonical fields written over it. */
export function tenantSettingsToSdk(settings: CanonicalTenantSettings, base: TenantSettings): TenantSettings {
  const out: TenantSettings & Record<string, unknown> = { ...base };
  delete out['tenantId'];
  out.enabled = settings.sessionSettingsEnabled;
  out.sessionTokenExpiration = settings.sessionTokenExpiration.value;
  out.sessionTokenExpirationUnit = settings.sessionTokenExpiration.unit;
  out.refreshTokenExpiration = settings.refreshTokenExpiration.value;
  out.refreshTokenExpirationUnit = settings.refreshTokenExpiration.unit;
  out.stepupTokenExpiration = settings.stepupTokenExpiration.value;
  out.stepupTokenExpirationUnit = settings.stepupTokenExpiration.unit;
  if (settings.inactivityTimeout === false) {
    out.enableInactivity = false; // the live duration stays as it was, for when it is turned back on
  } else {
    out.enableInactivity = true;
    out.InactivityTime = settings.inactivityTimeout.value;
    out.InactivityTimeUnit = settings.inactivityTimeout.unit;
  }
  out.JITDisabled = !settings.jitProvisioning;
  out.selfProvisioningDomains = base.selfProvisioningDomains ?? [];
  return out;
}

async function readRaw(api: DescopeApi, tenantId: string): Promise<TenantSettings> {
  return api.call(tenantSettingsAddress(tenantId), (m) => m.tenant.getSettings(tenantId), { shape: TENANT_SETTINGS });
}

export async function readTenantSettings(api: DescopeApi, tenantId: string): Promise<CanonicalTenantSettings> {
  return tenantSettingsFromSdk(await readRaw(api, tenantId));
}

/**
 * Writes the settings: the given fields over the current ones (read first, see above), so a partial
 * record (a new tenant's managed fields) keeps Descope's values for the rest.
 */
export async function writeTenantSettings(
  api: DescopeApi,
  tenantId: string,
  settings: Partial<CanonicalTenantSettings>,
): Promise<void> {
  const base = await readRaw(api, tenantId);
  const merged: CanonicalTenantSettings = { ...tenantSettingsFromSdk(base), ...stripUndefined(settings) };
  await api.call(tenantSettingsAddress(tenantId), (m) =>
    m.tenant.configureSettings(tenantId, tenantSettingsToSdk(merged, base)),
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

export const tenantSettingsAdapter = {
  kind: 'tenantSettings',
  address: tenantSettingsAddress,
  read: readTenantSettings,
  write: writeTenantSettings,
  fromSdk: tenantSettingsFromSdk,
  toSdk: tenantSettingsToSdk,
} as const;
