// Small builders of desired and live state for the plan tests. The desired side goes through the
// real path (DSL builders → ProjectSpec → computeDesiredProject), the live side through the
// runtime's normalisers, so both are canonical the way they are in a real diff.
import { flow as flowSpec, passwordPolicy as passwordPolicySpec, theme as themeSpec } from '../../src/dsl/builders.ts';
import type {
  FlowSpec,
  PasswordPolicyInput,
  PermissionSpec,
  PruneOptions,
  RoleSpec,
  TenantSpec,
} from '../../src/dsl/types.ts';
import type { Declared, ProjectSpec, Source } from '../../src/runner/config/check-config.ts';
import type { FlowTask, FlowV1, ThemeV1 } from '../../src/runner/templates/flow-document.ts';
import { computeDesiredProject, type DesiredProject } from '../../src/runner/plan/desired.ts';
import {
  flowAddress,
  LIVE_SECRET,
  normalizeFlow,
  normalizePermission,
  normalizeRole,
  normalizeSso,
  normalizeTenant,
  normalizeTheme,
  permissionAddress,
  roleAddress,
  tenantAddress,
  type CanonicalPasswordPolicy,
  type CanonicalSso,
  type CanonicalTenantSettings,
  type FlowDocument,
  type LiveSnapshot,
  type LiveState,
  type RoleLike,
  type SsoLike,
  type TenantLike,
} from '../../src/runtime/index.ts';
import type { TenantExtras } from '../../src/runtime/adapters/tenants.ts';

const SOURCE: Source = { label: 'descope.config.ts', templatesDir: '/project/templates' };
const declared = <T>(address: string, spec: T): Declared<T> => ({ address, spec, source: SOURCE });

// ---------------------------------------------------------------------------------------------
// Flow documents

/** A task graph: `tasks` by id; a sub-flow task runs `arguments.flowId`. */
export interface FlowDocInput {
  id: string;
  name?: string;
  description?: string;
  disabled?: boolean;
  tasks?: Record<string, FlowTask>;
  screens?: FlowV1['screens'];
  /** Extra keys on `flow` (e.g. server-owned version / modifiedTime / etag). */
  extra?: Record<string, unknown>;
}

/** A small valid v1 flow: a screen task, then the end; `tasks`/`screens` replace the defaults. */
export function flowDoc(input: FlowDocInput): FlowV1 {
  return {
    flow: {
      id: input.id,
      name: input.name ?? input.id,
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.disabled !== undefined ? { disabled: input.disabled } : {}),
      ...input.extra,
      dsl: {
        startTask: '1',
        tasks: input.tasks ?? {
          '1': { id: '1', type: 'screen', name: 'Welcome', screenId: 'SC1', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
          '2': { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
        },
      },
    },
    screens: input.screens ?? [{ id: 'SC1', flowId: input.id, interactions: [{ id: 'go', label: 'Go' }], htmlTemplate: { ROOT: {} } }],
  };
}

/** A sub-flow task that runs flow `flowId`. */
export function subFlowTask(id: string, flowId: string, next?: string): FlowTask {
  return {
    id,
    type: 'flow',
    name: `Run ${flowId}`,
    arguments: { flowId: { type: 'inline', value: flowId } },
    next: next ? { rules: [{ taskId: next }] } : {},
  };
}

// ---------------------------------------------------------------------------------------------
// Desired

export interface DesiredInput {
  tenants?: TenantSpec[];
  roles?: RoleSpec[];
  permissions?: PermissionSpec[];
  /** Flows: the rendered document (and the spec's protect). */
  flows?: { doc: FlowV1; protect?: boolean }[];
  /** The rendered theme document. */
  theme?: ThemeV1;
  passwordPolicy?: PasswordPolicyInput;
  prune?: PruneOptions;
}

export function projectSpec(input: DesiredInput): ProjectSpec {
  return {
    tenants: (input.tenants ?? []).map((t) => declared(tenantAddress(t.id), t)),
    roles: (input.roles ?? []).map((r) => declared(roleAddress(r), r)),
    permissions: (input.permissions ?? []).map((p) => declared(permissionAddress(p.name), p)),
    flows: (input.flows ?? []).map(({ doc, protect }) =>
      declared<FlowSpec>(flowAddress(doc.flow.id), flowSpec({ id: doc.flow.id, json: structuredClone(doc), ...(protect ? { protect } : {}) })),
    ),
    theme: input.theme ? declared('theme', themeSpec({ json: structuredClone(input.theme) })) : undefined,
    passwordPolicy: input.passwordPolicy ? declared('password-policy', passwordPolicySpec(input.passwordPolicy)) : undefined,
    prune: input.prune ?? {},
  };
}

/** The desired project, through the real computeDesiredProject. */
export function desiredOf(input: DesiredInput = {}): DesiredProject {
  return computeDesiredProject(projectSpec(input), {
    flows: (input.flows ?? []).map(({ doc }) => ({ address: flowAddress(doc.flow.id), id: doc.flow.id, document: doc, template: undefined })),
    theme: input.theme,
  });
}

// ---------------------------------------------------------------------------------------------
// Live

// Descope's values for a tenant nobody configured and a new project's password settings: the
// ones import leaves out of a written config.
import { DEFAULT_PASSWORD_POLICY, DEFAULT_TENANT_SETTINGS as DEFAULT_SETTINGS } from '../../src/runner/config/import-project.ts';
export { DEFAULT_PASSWORD_POLICY, DEFAULT_SETTINGS };

export interface LiveInput {
  tenants?: (TenantLike & { extras?: TenantExtras })[];
  /** Per tenant id: what is set beyond DEFAULT_SETTINGS. */
  tenantSettings?: Record<string, Partial<CanonicalTenantSettings>>;
  /** Per tenant id; an OIDC secret is always read as LIVE_SECRET. */
  tenantSso?: Record<string, SsoLike | null>;
  roles?: (RoleLike & { id?: string })[];
  permissions?: { name: string; description?: string; id?: string }[];
  /** Live flows, exported (state.flows) and listed (state.flowSummaries). */
  flows?: (FlowV1 | FlowDocument)[];
  /** Flows only listed (not exported: the config does not declare them). */
  listedFlows?: { id: string; name?: string }[];
  theme?: { id?: string; cssTemplate?: unknown; [key: string]: unknown };
  /** What is set beyond DEFAULT_PASSWORD_POLICY; absent = not read. */
  passwordPolicy?: Partial<CanonicalPasswordPolicy>;
}

/**
 * A live snapshot as readLiveState returns it for a config that lists every kind: the lists are
 * always present (empty when nothing is live), the per-item reads only for what is given.
 */
export function liveOf(input: LiveInput = {}): LiveSnapshot {
  const state: LiveState = { tenants: {}, roles: {}, permissions: {}, flows: {}, flowSummaries: {} };
  const handles: LiveSnapshot['handles'] = { roleIds: {}, permissionIds: {}, tenantExtras: {} };
  for (const { extras, ...t } of input.tenants ?? []) {
    state.tenants![t.id] = normalizeTenant(t);
    handles.tenantExtras[t.id] = extras ?? {};
  }
  if (input.tenantSettings) {
    state.tenantSettings = {};
    for (const [id, settings] of Object.entries(input.tenantSettings)) state.tenantSettings[id] = { ...DEFAULT_SETTINGS, ...settings };
  }
  if (input.tenantSso) {
    state.tenantSso = {};
    for (const [id, sso] of Object.entries(input.tenantSso)) {
      state.tenantSso[id] = sso === null ? null : normalizeSso(sso.type === 'oidc' ? { ...sso, clientSecret: LIVE_SECRET } : sso);
    }
  }
  for (const { id, ...r } of input.roles ?? []) {
    const address = roleAddress(r);
    state.roles![address] = normalizeRole(r);
    if (id) handles.roleIds[address] = id;
  }
  for (const { id, ...p } of input.permissions ?? []) {
    state.permissions![p.name] = normalizePermission(p);
    if (id) handles.permissionIds[p.name] = id;
  }
  for (const doc of input.flows ?? []) {
    const canonical = normalizeFlow(doc as FlowDocument);
    state.flows![canonical.flow.id] = canonical;
    state.flowSummaries![canonical.flow.id] = {
      id: canonical.flow.id,
      name: canonical.flow.name,
      description: typeof canonical.flow.description === 'string' ? canonical.flow.description : '',
      disabled: canonical.flow.disabled,
    };
  }
  for (const f of input.listedFlows ?? []) {
    state.flowSummaries![f.id] = { id: f.id, name: f.name ?? f.id, description: '', disabled: false };
  }
  if (input.theme) {
    state.theme = normalizeTheme(input.theme);
    if (input.theme.id) handles.themeId = input.theme.id;
  }
  if (input.passwordPolicy) state.passwordPolicy = { ...DEFAULT_PASSWORD_POLICY, ...input.passwordPolicy };
  return { state, handles };
}

/** An SSO record as the live side holds it (for building expectations). */
export function liveSso(sso: SsoLike): CanonicalSso {
  return normalizeSso(sso.type === 'oidc' ? { ...sso, clientSecret: LIVE_SECRET } : sso);
}
