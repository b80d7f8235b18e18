// Permissions (`permissions/<name>`): read with one `loadAll`; created with `createBatch`; updated
// with `updateBatch` by id when the API reported ids (it does, beyond the SDK type), else one
// `update` by name each; deleted with `deleteBatch`. Creates, renames by name and deletes are not
// sent twice blindly: each has a `landed` read that the scheduler asks after an attempt whose
// outcome is unknown. Updates by id are full replaces, harmless to send twice.

import type { Permission } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { PERMISSION_LIST } from '../answers.ts';
import { normalizePermission, permissionAddress, sameCanonical, type CanonicalPermission } from '../model.ts';
import { batchAddress, chunks } from './common.ts';

export interface LivePermissions {
  /** Keyed by name. */
  permissions: Record<string, CanonicalPermission>;
  /** Name → server id, for the permissions the API gave one. */
  ids: Record<string, string>;
}

export function permissionFromSdk(permission: Permission): CanonicalPermission {
  return normalizePermission({ name: permission.name, description: permission.description });
}

export async function readPermissions(api: DescopeApi): Promise<LivePermissions> {
  const records = (await api.call('permissions', (m) => m.permission.loadAll(), { shape: PERMISSION_LIST })) ?? [];
  const out: LivePermissions = { permissions: {}, ids: {} };
  for (const record of records) {
    out.permissions[record.name] = permissionFromSdk(record);
    const id = (record as Permission & { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') out.ids[record.name] = id;
  }
  return out;
}

/** Creates in batches; a batch has landed when every one of its permissions is there as sent. */
export async function createPermissions(api: DescopeApi, permissions: readonly CanonicalPermission[]): Promise<void> {
  for (const batch of chunks(permissions)) {
    await api.call(
      batchAddress('permissions', batch.map((permission) => permissionAddress(permission.name))),
      (m) =>
        m.permission.createBatch(
          batch.map((permission) => ({ name: permission.name, description: permission.description, systemDefault: false })),
        ),
      {
        landed: async () => {
          const live = await readPermissions(api);
          return batch.every((permission) => {
            const found = live.permissions[permission.name];
            return found !== undefined && sameCanonical(found, permission);
          });
        },
      },
    );
  }
}

export interface PermissionUpdate {
  /** The live permission's current name. */
  name: string;
  /** Its server id, when known. */
  id?: string | undefined;
  /** The full record to write (a different name renames it; roles follow). */
  permission: CanonicalPermission;
}

export async function updatePermissions(api: DescopeApi, updates: readonly PermissionUpdate[]): Promise<void> {
  const withIds = updates.filter((update) => update.id);
  const byName = updates.filter((update) => !update.id);
  for (const batch of chunks(withIds)) {
    await api.call(batchAddress('permissions', batch.map((update) => permissionAddress(update.permission.name))), (m) =>
      m.permission.updateBatch(
        batch.map((update) => ({
          id: update.id as string,
          newName: update.permission.name,
          description: update.permission.description,
        })),
      ),
    );
  }
  await Promise.all(
    byName.map((update) =>
      api.call(
        permissionAddress(update.name),
        (m) => m.permission.update(update.name, update.permission.name, update.permission.description),
        {
          // Resent after a rename landed, it would no longer find the old name.
          landed: async () => {
            const live = (await readPermissions(api)).permissions;
            const found = live[update.permission.name];
            const renamedAway = update.name === update.permission.name || live[update.name] === undefined;
            return found !== undefined && renamedAway && sameCanonical(found, update.permission);
          },
        },
      ),
    ),
  );
}

/** Deletes by name, in batches; a batch has landed when none of its names is left. */
export async function deletePermissions(api: DescopeApi, names: readonly string[]): Promise<void> {
  for (const batch of chunks(names)) {
    await api.call(batchAddress('permissions', batch.map(permissionAddress)), (m) => m.permission.deleteBatch([...batch]), {
      landed: async () => {
        const live = (await readPermissions(api)).permissions;
        return !batch.some((name) => live[name] !== undefined);
      },
    });
  }
}

export const permissionsAdapter = {
  kind: 'permissions',
  address: permissionAddress,
  readAll: readPermissions,
  create: createPermissions,
  update: updatePermissions,
  delete: deletePermissions,
  fromSdk: permissionFromSdk,
} as const;
