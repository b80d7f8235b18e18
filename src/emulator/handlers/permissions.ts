// management.permission: create, createBatch, update / updateWithId, updateBatch, delete /
// deleteWithId, deleteBatch, loadAll. Renames and deletes are reflected in every role.

import { ApiError, invalidArgument } from '../api-error.ts';
import {
  DELETE_UNKNOWN_BATCH,
  DELETE_UNKNOWN_SINGLE,
  PERMISSION_EXISTS,
  PERMISSION_ID_PREFIX,
} from '../fidelity.ts';
import type { FieldReader, JsonObject } from '../json.ts';
import type { EmulatorState, StoredPermission } from '../state.ts';
import type { HandlerContext, Route } from './context.ts';
import { resource } from '../resource.ts';
import {
  findPermissionByName,
  requirePermissionById,
  preservingPermissionReferences,
  requirePermissionByName,
} from './lookup.ts';

function permissionResponse(permission: StoredPermission): JsonObject {
  return {
    id: permission.id,
    name: permission.name,
    description: permission.description,
    systemDefault: false,
  };
}

function duplicate(name: string): ApiError {
  return new ApiError(PERMISSION_EXISTS, `${resource('permissions', name)} already exists`);
}

function newPermission(ctx: HandlerContext, name: string, description: string): StoredPermission {
  let id = ctx.ids.id(PERMISSION_ID_PREFIX);
  while (ctx.state.permissions.some((permission) => permission.id === id)) id = ctx.ids.id(PERMISSION_ID_PREFIX);
  return { id, name, description };
}

function create(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const name = body.requiredString('name');
  const description = body.optionalString('description') ?? '';
  if (findPermissionByName(state, name)) throw duplicate(name);
  state.permissions.push(newPermission(ctx, name, description));
  ctx.audit('PermissionCreated', resource('permissions', name));
  return {};
}

function createBatch(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const batch = (body.objectArray('permissions', true) ?? []).map((reader) => {
    reader.optionalBoolean('systemDefault');
    return { name: reader.requiredString('name'), description: reader.optionalString('description') ?? '' };
  });
  const seen = new Set<string>();
  for (const { name } of batch) {
    if (seen.has(name) || findPermissionByName(state, name)) throw duplicate(name);
    seen.add(name);
  }
  for (const { name, description } of batch) {
    state.permissions.push(newPermission(ctx, name, description));
    ctx.audit('PermissionCreated', resource('permissions', name));
  }
  return {};
}

interface PermissionUpdate {
  permission: StoredPermission;
  newName: string;
  description: string;
}

function readUpdate(state: EmulatorState, reader: FieldReader, byIdOnly: boolean): PermissionUpdate {
  const id = reader.optionalString('id');
  const permission =
    byIdOnly || (id !== undefined && id !== '')
      ? requirePermissionById(state, reader.requiredString('id'))
      : requirePermissionByName(state, reader.requiredString('name'));
  return {
    permission,
    newName: reader.requiredString('newName'),
    description: reader.optionalString('description') ?? '',
  };
}

function applyUpdate(ctx: HandlerContext, { permission, newName, description }: PermissionUpdate): void {
  permission.name = newName;
  permission.description = description;
  ctx.audit('PermissionUpdated', resource('permissions', newName));
}

function update(ctx: HandlerContext): JsonObject {
  const change = readUpdate(ctx.state, ctx.body, false);
  const clash = findPermissionByName(ctx.state, change.newName);
  if (clash && clash.id !== change.permission.id) throw duplicate(change.newName);
  preservingPermissionReferences(ctx.state, () => applyUpdate(ctx, change));
  return {};
}

function updateBatch(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const changes = (body.objectArray('permissions', true) ?? []).map((reader) => readUpdate(state, reader, true));
  const ids = new Set<string>();
  for (const change of changes) {
    if (ids.has(change.permission.id)) throw invalidArgument(`permission id "${change.permission.id}" appears twice in the batch`);
    ids.add(change.permission.id);
  }
  const finalName = new Map(changes.map((change) => [change.permission.id, change.newName]));
  const taken = new Set<string>();
  for (const permission of state.permissions) {
    const name = finalName.get(permission.id) ?? permission.name;
    if (taken.has(name)) throw duplicate(name);
    taken.add(name);
  }
  preservingPermissionReferences(state, () => {
    for (const change of changes) applyUpdate(ctx, change);
  });
  return {};
}

/** Call inside preservingPermissionReferences so the permission also leaves every role. */
function deletePermission(ctx: HandlerContext, permission: StoredPermission): void {
  ctx.state.permissions = ctx.state.permissions.filter((candidate) => candidate.id !== permission.id);
  ctx.audit('PermissionDeleted', resource('permissions', permission.name));
}

function remove(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const id = body.optionalString('id');
  let permission: StoredPermission;
  try {
    permission =
      id !== undefined && id !== '' ? requirePermissionById(state, id) : requirePermissionByName(state, body.requiredString('name'));
  } catch (error) {
    if (DELETE_UNKNOWN_SINGLE === 'ignore' && error instanceof ApiError && error.status !== 400) return {};
    throw error;
  }
  preservingPermissionReferences(state, () => deletePermission(ctx, permission));
  return {};
}

function deleteBatch(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const names = body.optionalStringArray('names') ?? [];
  const ids = body.optionalStringArray('ids') ?? [];
  const doomed = new Map<string, StoredPermission>();
  for (const name of names) {
    const permission = findPermissionByName(state, name);
    if (permission) doomed.set(permission.id, permission);
    else if (DELETE_UNKNOWN_BATCH === 'not-found') requirePermissionByName(state, name);
  }
  for (const id of ids) {
    const permission = state.permissions.find((candidate) => candidate.id === id);
    if (permission) doomed.set(permission.id, permission);
    else if (DELETE_UNKNOWN_BATCH === 'not-found') requirePermissionById(state, id);
  }
  preservingPermissionReferences(state, () => {
    for (const permission of doomed.values()) deletePermission(ctx, permission);
  });
  return {};
}

function loadAll(ctx: HandlerContext): JsonObject {
  return { permissions: ctx.state.permissions.map(permissionResponse) };
}

export const permissionRoutes: Route[] = [
  { method: 'POST', path: '/v1/mgmt/permission/create', write: true, handle: create },
  { method: 'POST', path: '/v1/mgmt/permission/create/batch', write: true, handle: createBatch },
  { method: 'POST', path: '/v1/mgmt/permission/update', write: true, handle: update },
  { method: 'POST', path: '/v1/mgmt/permission/update/batch', write: true, handle: updateBatch },
  { method: 'POST', path: '/v1/mgmt/permission/delete', write: true, handle: remove },
  { method: 'POST', path: '/v1/mgmt/permission/delete/batch', write: true, handle: deleteBatch },
  { method: 'GET', path: '/v1/mgmt/permission/all', write: false, handle: loadAll },
];
