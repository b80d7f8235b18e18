// management.flow (list, export, import, delete) and management.theme (export, import), in the v1
// "console" format node-sdk 2.13 speaks. Imports are stored exactly as sent (see fidelity.ts).

import { ApiError, invalidArgument } from '../api-error.ts';
import { DEFAULT_THEME, DELETE_UNKNOWN_BATCH, FLOW_NOT_FOUND, MAX_FLOW_TASKS, SCREEN_ID_PREFIX } from '../fidelity.ts';
import { isJsonObject, type Json, type JsonObject } from '../json.ts';
import type { StoredFlow } from '../state.ts';
import { epochSeconds, type HandlerContext, type Route } from './context.ts';
import { resource } from '../resource.ts';

function flowMetadata(stored: StoredFlow): JsonObject {
  const { flow } = stored;
  return {
    id: stored.id,
    name: typeof flow['name'] === 'string' ? flow['name'] : '',
    description: typeof flow['description'] === 'string' ? flow['description'] : '',
    disabled: flow['disabled'] === true,
  };
}

function list(ctx: HandlerContext): JsonObject {
  return { flows: ctx.state.flows.map(flowMetadata), total: ctx.state.flows.length };
}

function requireFlow(ctx: HandlerContext, flowId: string): StoredFlow {
  const stored = ctx.state.flows.find((flow) => flow.id === flowId);
  if (!stored) throw new ApiError(FLOW_NOT_FOUND, `flow "${flowId}" does not exist`);
  return stored;
}

function exportFlow(ctx: HandlerContext): JsonObject {
  const stored = requireFlow(ctx, ctx.body.requiredString('flowId'));
  return { flow: structuredClone(stored.flow), screens: structuredClone(stored.screens) };
}

function countTasks(flow: JsonObject): number {
  const dsl = flow['dsl'];
  const tasks = isJsonObject(dsl) ? dsl['tasks'] : undefined;
  if (isJsonObject(tasks)) return Object.keys(tasks).length;
  return Array.isArray(tasks) ? tasks.length : 0;
}

function importFlow(ctx: HandlerContext): JsonObject {
  const { body, state } = ctx;
  const flowId = body.requiredString('flowId');
  const flow = structuredClone(body.requiredObject('flow'));
  const screens: Json[] = structuredClone(body.optionalArray('screens') ?? []);
  screens.forEach((screen, index) => {
    if (!isJsonObject(screen)) throw invalidArgument(`screens[${index}] must be an object`);
  });
  for (const key of ['name', 'description'] as const) {
    if (flow[key] !== undefined && flow[key] !== null && typeof flow[key] !== 'string') {
      throw invalidArgument(`flow.${key} must be a string`);
    }
  }
  if (flow['disabled'] !== undefined && flow['disabled'] !== null && typeof flow['disabled'] !== 'boolean') {
    throw invalidArgument('flow.disabled must be a boolean');
  }
  const tasks = countTasks(flow);
  if (tasks > MAX_FLOW_TASKS) {
    throw invalidArgument(`flow "${flowId}" has ${tasks} tasks; a flow may have at most ${MAX_FLOW_TASKS}`);
  }

  // "Import the given flow and screens as the given id": only rewritten when they differ.
  if (flow['id'] !== flowId) flow['id'] = flowId;
  for (const screen of screens) {
    if (!isJsonObject(screen)) continue;
    if ('flowId' in screen && screen['flowId'] !== flowId) screen['flowId'] = flowId;
    if (typeof screen['id'] !== 'string' || screen['id'] === '') screen['id'] = ctx.ids.id(SCREEN_ID_PREFIX);
  }

  const existing = state.flows.find((candidate) => candidate.id === flowId);
  if (ctx.bumpFlowVersion) {
    const previous = existing?.flow['version'];
    flow['version'] = (typeof previous === 'number' ? previous : 0) + 1;
    flow['modifiedTime'] = epochSeconds(ctx.now());
  }
  if (existing) {
    existing.flow = flow;
    existing.screens = screens;
  } else {
    state.flows.push({ id: flowId, flow, screens });
  }
  ctx.audit('FlowImported', resource('flows', flowId));
  return { flow: structuredClone(flow), screens: structuredClone(screens) };
}

function deleteFlows(ctx: HandlerContext): JsonObject {
  const ids = ctx.body.requiredStringArray('ids');
  if (DELETE_UNKNOWN_BATCH === 'not-found') ids.forEach((id) => requireFlow(ctx, id));
  const doomed = new Set(ids.filter((id) => ctx.state.flows.some((flow) => flow.id === id)));
  ctx.state.flows = ctx.state.flows.filter((flow) => !doomed.has(flow.id));
  for (const id of doomed) ctx.audit('FlowDeleted', resource('flows', id));
  return {};
}

function exportTheme(ctx: HandlerContext): JsonObject {
  return { theme: structuredClone(ctx.state.theme ?? DEFAULT_THEME) };
}

function importTheme(ctx: HandlerContext): JsonObject {
  const theme = structuredClone(ctx.body.requiredObject('theme'));
  ctx.state.theme = theme;
  ctx.audit('ThemeImported', 'theme/project');
  return { theme: structuredClone(theme) };
}

export const flowRoutes: Route[] = [
  { method: 'POST', path: '/v1/mgmt/flow/list', write: false, handle: list },
  { method: 'POST', path: '/v1/mgmt/flow/export', write: false, handle: exportFlow },
  { method: 'POST', path: '/v1/mgmt/flow/import', write: true, handle: importFlow },
  { method: 'POST', path: '/v1/mgmt/flow/delete', write: true, handle: deleteFlows },
  { method: 'POST', path: '/v1/mgmt/theme/export', write: false, handle: exportTheme },
  { method: 'POST', path: '/v1/mgmt/theme/import', write: true, handle: importTheme },
];
