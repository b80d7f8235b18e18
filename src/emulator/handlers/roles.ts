// management.role: create, createBatch, update / updateWithId, updateBatch, delete /
// deleteWithId, deleteBatch, loadAll, search. Roles are keyed by (name, tenantId) and carry a
// server id; see fidelity.ts for the consistency rules.

import { ApiError, invalidArgument } from '../api-error.ts';
import {
  DELETE_UNKNOWN_BATCH,
  DELETE_UNKNOWN_SINGLE,
  ROLE_EXISTS,
  ROLE_ID_PREFIX,
  ROLE_LOAD_ALL_INCLUDES_TENANT_ROLES,
} from '../fidelity.ts';
import { unique, type FieldReader, type JsonObject } from '../json.ts';
import type { EmulatorState, StoredRole } from '../state.ts';
import { epochSeconds, type HandlerContext, type Route } from './context.ts';
import {
  findRoleByName,
  requirePermissionByName,
  requireRoleById,
  requireRoleByName,
  requireTenant,
  preservingRoleReferences,
  roleAddress,
} from './lookup.ts';

export function roleResponse(role: StoredRole): JsonObject {
  const out: JsonObject = {
    id: role.id,
    name: role.name,
    description: role.description,
    permissionNames: [...role.permissionNames],
    createdTime: role.createdTime,
    default: role.default,
    private: false,
  };
  if (role.tenantId) out['tenantId'] = role.tenantId;
  return out;
}

interface RoleFields {
  name: string;
  description: string;
  permissionNames: string[];
  tenantId: string;
  isDefault: boolean;
}

/** Reads and validates description / permissionNames / tenantId / default (references included). */
function readRoleFields(state: EmulatorState, reader: FieldReader, name: string): RoleFields {
  const description = reader.optionalString('description') ?? '';
  const permissionNames = unique(reader.optionalStringArray('permissionNames') ?? []);
  const tenantId = reader.optionalString('tenantId') ?? '';
  const isDefault = reader.optionalBoolean('default') ?? false;
  if (tenantId) requireTenant(state, tenantId);
  for (const permission of permissionNames) requirePermissionByName(state, permission, `role "${name}"`);
  return { name, description, permissionNames, tenantId, isDefault };
}

function duplicate(name: string, tenantId: string): ApiError {
  return new ApiError(ROLE_EXISTS, `${roleAddress({ name, tenantId })} already exists`);
}

function newRole(ctx: HandlerContext, fields: RoleFields): StoredRole {
  let id = ctx.ids.id(ROLE_ID_PREFIX);
  while (ctx.state.roles.some((role) => role.id === id)) id = ctx.ids.id(ROLE_ID_PREFIX);
  return {
    id,
    name: fields.name,
    description: fields.description,
    permissionNames: fields.permissionNames,
    tenantId: fields.tenantId,
    default: fields.isDefault,
    createdTime: epochSeconds(ctx.now()),
  };
}

function tenantsOf(role: Pick<StoredRole, 'tenantId'>): string[] {
  return role.tenantId ? [role.tenantId] : [];
}

function create(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const fields = readRoleFields(state, body, body.requiredString('name'));
  if (findRoleByName(state, fields.name, fields.tenantId)) throw duplicate(fields.name, fields.tenantId);
  const role = newRole(ctx, fields);
  state.roles.push(role);
  ctx.audit('RoleCreated', roleAddress(role), tenantsOf(role));
  return {};
}

function createBatch(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const readers = body.objectArray('roles', true) ?? [];
  const batch = readers.map((reader) => readRoleFields(state, reader, reader.requiredString('name')));
  const seen = new Set<string>();
  for (const fields of batch) {
    const key = JSON.stringify([fields.name, fields.tenantId]);
    if (seen.has(key) || findRoleByName(state, fields.name, fields.tenantId)) throw duplicate(fields.name, fields.tenantId);
    seen.add(key);
  }
  const created = batch.map((fields) => {
    const role = newRole(ctx, fields);
    state.roles.push(role);
    ctx.audit('RoleCreated', roleAddress(role), tenantsOf(role));
    return role;
  });
  return { roles: created.map(roleResponse) };
}

interface RoleUpdate {
  role: StoredRole;
  fields: RoleFields;
}

/** Finds the role (by id or by name within tenantId) and reads the replacement fields. */
function readUpdate(state: EmulatorState, reader: FieldReader, byIdOnly: boolean): RoleUpdate {
  const tenantId = reader.optionalString('tenantId') ?? '';
  const id = reader.optionalString('id');
  const role =
    byIdOnly || (id !== undefined && id !== '')
      ? requireRoleById(state, reader.requiredString('id'), tenantId)
      : requireRoleByName(state, reader.requiredString('name'), tenantId);
  const newName = reader.requiredString('newName');
  const fields = readRoleFields(state, reader, newName);
  // A role never moves: the update is evaluated in the role's own scope.
  return { role, fields: { ...fields, tenantId: role.tenantId } };
}

function applyUpdate(ctx: HandlerContext, { role, fields }: RoleUpdate): void {
  role.name = fields.name;
  role.description = fields.description;
  role.permissionNames = fields.permissionNames;
  role.default = fields.isDefault;
  ctx.audit('RoleUpdated', roleAddress(role), tenantsOf(role));
}

function update(ctx: HandlerContext): JsonObject {
  const change = readUpdate(ctx.state, ctx.body, false);
  const clash = findRoleByName(ctx.state, change.fields.name, change.role.tenantId);
  if (clash && clash.id !== change.role.id) throw duplicate(change.fields.name, change.role.tenantId);
  preservingRoleReferences(ctx.state, () => applyUpdate(ctx, change));
  return {};
}

function updateBatch(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const readers = body.objectArray('roles', true) ?? [];
  const changes = readers.map((reader) => readUpdate(state, reader, true));
  const ids = new Set<string>();
  for (const change of changes) {
    if (ids.has(change.role.id)) throw invalidArgument(`role id "${change.role.id}" appears twice in the batch`);
    ids.add(change.role.id);
  }
  // Names after the whole batch must still be unique per tenant.
  const finalName = new Map(changes.map((change) => [change.role.id, change.fields.name]));
  const taken = new Set<string>();
  for (const role of state.roles) {
    const key = JSON.stringify([finalName.get(role.id) ?? role.name, role.tenantId]);
    if (taken.has(key)) throw duplicate(finalName.get(role.id) ?? role.name, role.tenantId);
    taken.add(key);
  }
  preservingRoleReferences(state, () => {
    for (const change of changes) applyUpdate(ctx, change);
  });
  return { roles: changes.map((change) => roleResponse(change.role)) };
}

/** Call inside preservingRoleReferences so references to the role disappear with it. */
function deleteRole(ctx: HandlerContext, role: StoredRole): void {
  ctx.state.roles = ctx.state.roles.filter((candidate) => candidate.id !== role.id);
  ctx.audit('RoleDeleted', roleAddress(role), tenantsOf(role));
}

function remove(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const tenantId = body.optionalString('tenantId') ?? '';
  const id = body.optionalString('id');
  let role: StoredRole;
  try {
    role =
      id !== undefined && id !== ''
        ? requireRoleById(state, id, tenantId)
        : requireRoleByName(state, body.requiredString('name'), tenantId);
  } catch (error) {
    if (DELETE_UNKNOWN_SINGLE === 'ignore' && error instanceof ApiError && error.status !== 400) return {};
    throw error;
  }
  preservingRoleReferences(state, () => deleteRole(ctx, role));
  return {};
}

function deleteBatch(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const tenantId = body.optionalString('tenantId') ?? '';
  const names = body.optionalStringArray('roleNames') ?? [];
  const ids = body.optionalStringArray('roleIds') ?? [];
  const doomed = new Map<string, StoredRole>();
  for (const name of names) {
    const role = findRoleByName(state, name, tenantId);
    if (role) doomed.set(role.id, role);
    else if (DELETE_UNKNOWN_BATCH === 'not-found') requireRoleByName(state, name, tenantId);
  }
  for (const id of ids) {
    const role = state.roles.find((candidate) => candidate.id === id && (tenantId === '' || candidate.tenantId === tenantId));
    if (role) doomed.set(role.id, role);
    else if (DELETE_UNKNOWN_BATCH === 'not-found') requireRoleById(state, id, tenantId);
  }
  preservingRoleReferences(state, () => {
    for (const role of doomed.values()) deleteRole(ctx, role);
  });
  return {};
}

function loadAll(ctx: HandlerContext): JsonObject {
  const roles = ROLE_LOAD_ALL_INCLUDES_TENANT_ROLES ? ctx.state.roles : ctx.state.roles.filter((role) => !role.tenantId);
  return { roles: roles.map(roleResponse) };
}

function search(ctx: HandlerContext): JsonObject {
  const { body } = ctx;
  const tenantIds = body.optionalStringArray('tenantIds') ?? [];
  const roleNames = body.optionalStringArray('roleNames') ?? [];
  const like = (body.optionalString('roleNameLike') ?? '').toLowerCase();
  const permissionNames = body.optionalStringArray('permissionNames') ?? [];
  const includeProjectRoles = body.optionalBoolean('includeProjectRoles') ?? false;
  const roles = ctx.state.roles.filter(
    (role) =>
      (tenantIds.length === 0 || tenantIds.includes(role.tenantId) || (includeProjectRoles && role.tenantId === '')) &&
      (roleNames.length === 0 || roleNames.includes(role.name)) &&
      (like === '' || role.name.toLowerCase().includes(like)) &&
      (permissionNames.length === 0 || role.permissionNames.some((name) => permissionNames.includes(name))),
  );
  return { roles: roles.map(roleResponse) };
}

export const roleRoutes: Route[] = [
  { method: 'POST', path: '/v1/mgmt/role/create', write: true, handle: create },
  { method: 'POST', path: '/v1/mgmt/role/create/batch', write: true, handle: createBatch },
  { method: 'POST', path: '/v1/mgmt/role/update', write: true, handle: update },
  { method: 'POST', path: '/v1/mgmt/role/update/batch', write: true, handle: updateBatch },
  { method: 'POST', path: '/v1/mgmt/role/delete', write: true, handle: remove },
  { method: 'POST', path: '/v1/mgmt/role/delete/batch', write: true, handle: deleteBatch },
  { method: 'GET', path: '/v1/mgmt/role/all', write: false, handle: loadAll },
  { method: 'POST', path: '/v1/mgmt/role/search', write: false, handle: search },
];
