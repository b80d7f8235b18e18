// The project's password policy (`password-policy`): `password.getSettings('')` /
// `password.configureSettings('', settings)`, a full replace of the 12 fields the model holds.

import type { PasswordSettings } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { PASSWORD_SETTINGS } from '../answers.ts';
import { PASSWORD_POLICY_ADDRESS, type CanonicalPasswordPolicy } from '../model.ts';

/** The project level: an empty tenant id. */
const PROJECT = '';

export function passwordPolicyFromSdk(settings: PasswordSettings): CanonicalPasswordPolicy {
  const number = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return {
    enabled: settings.enabled === true,
    minLength: number(settings.minLength),
    lowercase: settings.lowercase === true,
    uppercase: settings.uppercase === true,
    number: settings.number === true,
    nonAlphaNumeric: settings.nonAlphaNumeric === true,
    expiration: settings.expiration === true,
    expirationWeeks: number(settings.expirationWeeks),
    reuse: settings.reuse === true,
    reuseAmount: number(settings.reuseAmount),
    lock: settings.lock === true,
    lockAttempts: number(settings.lockAttempts),
  };
}

export async function readPasswordPolicy(api: DescopeApi): Promise<CanonicalPasswordPolicy> {
  return passwordPolicyFromSdk(await api.call(PASSWORD_POLICY_ADDRESS, (m) => m.password.getSettings(PROJECT), { shape: PASSWORD_SETTINGS }));
}

/** Writes the full policy (the caller merges the config's fields over the live ones). */
export async function writePasswordPolicy(api: DescopeApi, policy: CanonicalPasswordPolicy): Promise<void> {
  await api.call(PASSWORD_POLICY_ADDRESS, (m) => m.password.configureSettings(PROJECT, { ...policy }));
}

export const passwordPolicyAdapter = {
  kind: 'passwordPolicy',
  address: PASSWORD_POLICY_ADDRESS,
  read: readPasswordPolicy,
  write: writePasswordPolicy,
  fromSdk: passwordPolicyFromSdk,
} as const;
