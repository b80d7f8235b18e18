// Flows (`flows/<id>`): one `flow.list` for every live flow (ids, names, disabled), then one
// `flow.export` per flow the config declares; `flow.import` is an upsert (create or replace) of the
// v1 `{flow, screens}` document; `flow.delete` removes a batch of ids.

import type { Flow, Screen } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { FLOW_EXPORT, FLOW_LIST } from '../answers.ts';
import { flowAddress, normalizeFlow, type CanonicalFlow, type FlowDocument, type FlowSummary } from '../model.ts';
import { batchAddress, chunks } from './common.ts';

export async function readFlowList(api: DescopeApi): Promise<Record<string, FlowSummary>> {
  const response = await api.call('flows', (m) => m.flow.list(), { shape: FLOW_LIST });
  const out: Record<string, FlowSummary> = {};
  for (const flow of response?.flows ?? []) {
    out[flow.id] = { id: flow.id, name: flow.name ?? '', description: flow.description ?? '', disabled: flow.disabled === true };
  }
  return out;
}

/** The SDK's `{flow, screens}` export → canonical (server-owned fields dropped). */
export function flowFromSdk(document: { flow: Flow; screens?: Screen[] | undefined }): CanonicalFlow {
  return normalizeFlow({
    ...(document as unknown as Record<string, unknown>),
    flow: document.flow as unknown as FlowDocument['flow'],
    screens: (document.screens ?? []) as unknown as FlowDocument['screens'],
  });
}

export async function exportFlow(api: DescopeApi, flowId: string): Promise<CanonicalFlow> {
  return flowFromSdk(await api.call(flowAddress(flowId), (m) => m.flow.export(flowId), { shape: FLOW_EXPORT }));
}

/** Imports (creates or replaces) the flow as `flowId`. Idempotent, so a retry is harmless. */
export async function importFlow(api: DescopeApi, flowId: string, document: FlowDocument): Promise<void> {
  const flow = { ...document.flow, id: flowId } as unknown as Flow;
  const screens = document.screens as unknown as Screen[];
  await api.call(flowAddress(flowId), (m) => m.flow.import(flowId, flow, screens));
}

/** Deletes flows by id, in batches; after an unknown outcome, a batch has landed when none of its flows is listed. */
export async function deleteFlows(api: DescopeApi, flowIds: readonly string[]): Promise<void> {
  for (const batch of chunks(flowIds)) {
    await api.call(batchAddress('flows', batch.map(flowAddress)), (m) => m.flow.delete([...batch]), {
      landed: async () => {
        const live = await readFlowList(api);
        return !batch.some((id) => live[id] !== undefined);
      },
    });
  }
}

export const flowsAdapter = {
  kind: 'flows',
  address: flowAddress,
  list: readFlowList,
  read: exportFlow,
  write: importFlow,
  delete: deleteFlows,
  fromSdk: flowFromSdk,
} as const;
