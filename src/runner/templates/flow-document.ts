// Descope flow and theme documents: reading both on-disk flow formats into the one the node SDK
// imports (v1), and checking a flow as a graph. Pure: no I/O.
//
// API
//   toFlowV1(doc, { flowId, where }) → FlowV1
//     Accepts the console/v1 format `{flow, screens}` (node SDK export/import) and the v2 format
//     `{flowId, metadata, contents, screens?, references?}` (descopecli, Terraform), also inside
//     the v2 export response wrapper `{flow: {flowId, …}}`. v2 is converted to v1, the reverse of
//     descopecli's convertFlowConsoleToExported:
//       flowId → flow.id; metadata.{name, description, disabled, fingerprint, widget,
//       sharedInteractions, any unknown key} → flow.*; metadata.translation.{enabled,
//       connectorId, sourceLanguage, targetLanguages} → flow.{translate, translateConnectorID,
//       translateSourceLang, translateTargetLangs} (other translation keys stay in
//       flow.translation); contents → flow.dsl; screens[i] {screenId, interactions, contents,
//       …} → {id, flowId, componentsVersion (metadata.componentsVersion, unless the screen has
//       its own), interactions, htmlTemplate, …}. (metadata.componentsVersion is lost when there
//       are no screens: v1 keeps it per screen only.)
//     The result holds `flow` and `screens` only: that is all the SDK's flow.import sends and all
//     flow.export returns, so any other top-level key (a v2 `references` map, `exportedBy`, a key
//     of a future export format) could never be written and would show as a change after every
//     apply. `options.dropped` is told the non-empty ones (render-project.ts turns them into a
//     validate note); empty ones (`"references": {}`) are dropped silently.
//     A v1 document `{flow, screens}` is returned as it is (deep-equal) when it is already
//     complete. The flow id:
//     an absent or empty `flow.id` / `flowId` / screen `flowId` is filled in with `flowId`; a
//     different one is an error (render `{{ flow.id | json }}` instead of a literal). An absent
//     `flow.name` becomes the flow id (the config's `name`, when set, is applied by the caller).
//     Anything that is not a flow document throws ONE TemplateError starting with `where`,
//     listing every structural problem found.
//   checkFlowGraph(flow, { where, declaredFlowIds }) → Issue[]
//     Every problem, not just the first: startTask not a task; a next.rules[].taskId naming no
//     task (or missing); a task whose `id` differs from its key; a screen task (type 'screen')
//     without its screen in screens[].id; a sub-flow task (type 'flow') whose arguments.flowId
//     (a string or `{type: 'inline', value}`) is not a declared flow; duplicate screen ids.
//     Issue.file = where, Issue.path = `flows/<id>.tasks["15"].next.rules[0].taskId`.
//   flowDependencies(flow) → string[]
//     The sorted, distinct ids of the flows it runs as sub-flows (dynamic targets, e.g.
//     `{type: 'context', …}`, are not known before run time and are left out).
//   subFlowCalls(flow) → {task, flowId}[]
//     Each sub-flow task with a static target, in task order.
//   findSubFlowCycles(flows) → Issue[]
//     Flows that run themselves, directly (a → a) or through others (a → b → a): one Issue per
//     cycle, `flows/a → flows/b → flows/a`, at the sub-flow task of the cycle's first flow (the
//     one whose id sorts first). Descope would loop, and apply could never import one of them
//     before the other.
//   toFlowV2(flow) → FlowV2
//     v1 → v2 exactly as descopecli does it (drops flow.version/modifiedTime/etag and the
//     screens' inputs/flowId/version), keeping unknown keys; `references` is {}. v2 → v1 → v2 is
//     lossless except for the top-level keys v1 drops (references, exportedBy, …).
//   toThemeV1(doc, where) → ThemeV1
//     The v1 theme export `{theme: {id, cssTemplate}}` or the inner `{cssTemplate}`; returns the
//     inner object (unknown keys kept, cssTemplate untouched). Anything else throws.

import { TemplateError, type Issue } from '../../errors.ts';

export type JsonObject = Record<string, unknown>;

/** A value as flow arguments hold it: `{type: 'inline', value}`, `{type: 'context', value: 'form.email'}`, … */
export interface FlowArgument {
  type?: string;
  value?: unknown;
  [key: string]: unknown;
}

export interface FlowRule {
  interactionId?: string;
  taskId?: string;
  [key: string]: unknown;
}

export interface FlowTask {
  id?: string;
  /** `screen`, `automated`, `condition`, `flow`, …; absent on the `start` task. */
  type?: string;
  name?: string;
  /** Screen tasks: the id of their screen in `screens`. */
  screenId?: string;
  /** Automated tasks: the action, e.g. `sign-up-or-in-otp-email`. */
  action?: string;
  arguments?: Record<string, unknown>;
  next?: { rules?: FlowRule[]; [key: string]: unknown };
  [key: string]: unknown;
}

export interface FlowDsl {
  startTask: string;
  tasks: Record<string, FlowTask>;
  [key: string]: unknown;
}

export interface FlowScreen {
  id: string;
  flowId?: string;
  componentsVersion?: string;
  interactions?: unknown[];
  /** The Craft.js-style node map keyed by node id, rooted at `ROOT`. */
  htmlTemplate?: unknown;
  [key: string]: unknown;
}

/** The console/v1 flow document, as the node SDK's `flow.export` returns and `flow.import` takes. */
export interface FlowV1 {
  flow: {
    id: string;
    name: string;
    description?: string;
    disabled?: boolean;
    dsl: FlowDsl;
    [key: string]: unknown;
  };
  screens: FlowScreen[];
  [key: string]: unknown;
}

export interface FlowScreenV2 {
  screenId: string;
  interactions?: unknown[];
  contents?: unknown;
  [key: string]: unknown;
}

/** The v2 flow document, as descopecli and Terraform write it. */
export interface FlowV2 {
  flowId: string;
  metadata: JsonObject;
  contents: FlowDsl;
  screens: FlowScreenV2[];
  references: JsonObject;
  [key: string]: unknown;
}

/** The v1 theme (node SDK `theme.import({id, cssTemplate})`). */
export interface ThemeV1 {
  id?: string;
  cssTemplate: unknown;
  [key: string]: unknown;
}

export interface ToFlowV1Options {
  /** The flow id declared in the config. */
  flowId: string;
  /** Where the document came from, for messages: `templates/x.json.njk`. */
  where: string;
  /** Told the top-level keys besides flow and screens that were dropped and held something. */
  dropped?: (keys: DroppedKey[]) => void;
}

/** A top-level key of a flow document that flow.import cannot send, with what it held. */
export interface DroppedKey {
  key: string;
  value: unknown;
}

export interface CheckFlowGraphOptions {
  /** Where the document came from; becomes Issue.file. */
  where: string;
  /** Every flow id the config declares (sub-flow targets must be among them). */
  declaredFlowIds: ReadonlySet<string>;
}

const FORMATS_HINT =
  'A flow document is the console/v1 export {"flow": {"id", "name", "dsl": {"startTask", "tasks"}}, "screens": [...]} or the v2 export {"flowId", "metadata", "contents": {"startTask", "tasks"}, "screens": [...]}';

// ---------------------------------------------------------------------------------------------
// Reading

export function toFlowV1(doc: unknown, options: ToFlowV1Options): FlowV1 {
  const { where } = options;
  if (!isObject(doc)) {
    throw new TemplateError(`${where}: not a flow document: expected a JSON object, got ${kindOf(doc)}`, {
      hint: FORMATS_HINT,
    });
  }
  if (isObject(doc.flow) && !('screens' in doc) && ('contents' in doc.flow || 'metadata' in doc.flow)) {
    // The v2 export response: {flow: {flowId, metadata, …}} (its other keys are the response's).
    return onlyImported(v2ToV1(doc.flow, options), options);
  }
  if ('flow' in doc) return onlyImported(readV1(doc, options), options);
  if ('contents' in doc || 'metadata' in doc || 'flowId' in doc) return onlyImported(v2ToV1(doc, options), options);
  const keys = Object.keys(doc);
  throw new TemplateError(
    `${where}: not a flow document: it has ${keys.length > 0 ? `only ${keys.map((k) => `"${k}"`).join(', ')}` : 'no keys'}, neither "flow" + "screens" (console/v1) nor "flowId" + "metadata" + "contents" (v2)`,
    { hint: FORMATS_HINT },
  );
}

/**
 * The document as flow.import sends it and flow.export returns it: `flow` and `screens`. The rest
 * is reported when it held something; an empty value (`"references": {}`) is dropped silently.
 */
function onlyImported(doc: FlowV1, options: ToFlowV1Options): FlowV1 {
  const extra = Object.keys(doc).filter((key) => key !== 'flow' && key !== 'screens');
  if (extra.length === 0) return doc;
  const held = extra.filter((key) => !isEmpty(doc[key])).map((key) => ({ key, value: doc[key] }));
  if (held.length > 0) options.dropped?.(held);
  return { flow: doc.flow, screens: doc.screens };
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

function readV1(doc: JsonObject, { flowId, where }: ToFlowV1Options): FlowV1 {
  const problems: string[] = [];
  const flow = doc.flow;
  if (!isObject(flow)) {
    problems.push(`"flow" must be an object (got ${kindOf(flow)})`);
  } else {
    checkId(flow.id, 'flow.id', flowId, problems);
    checkOptionalString(flow.name, 'flow.name', problems);
    checkOptionalString(flow.description, 'flow.description', problems);
    if (flow.disabled !== undefined && typeof flow.disabled !== 'boolean') {
      problems.push(`flow.disabled must be true or false (got ${kindOf(flow.disabled)})`);
    }
    checkDsl(flow.dsl, 'flow.dsl', problems);
  }
  checkScreens(doc.screens, 'screens', 'id', flowId, problems);
  if (problems.length > 0) throw notAFlow(where, problems);

  const v1 = doc as FlowV1;
  const needsId = !v1.flow.id;
  const needsName = v1.flow.name === undefined;
  const needsScreenIds = v1.screens.some((s) => !s.flowId);
  if (!needsId && !needsName && !needsScreenIds) return v1;
  return {
    ...v1,
    flow: {
      ...v1.flow,
      ...(needsId ? { id: flowId } : {}),
      ...(needsName ? { name: flowId } : {}),
    },
    screens: needsScreenIds ? v1.screens.map((s) => (s.flowId ? s : { ...s, flowId })) : v1.screens,
  };
}

function v2ToV1(doc: JsonObject, { flowId, where }: ToFlowV1Options): FlowV1 {
  const problems: string[] = [];
  checkId(doc.flowId, 'flowId', flowId, problems);
  const metadata = doc.metadata === undefined ? {} : doc.metadata;
  if (!isObject(metadata)) {
    problems.push(`metadata must be an object (got ${kindOf(metadata)})`);
  } else {
    checkOptionalString(metadata.name, 'metadata.name', problems);
    checkOptionalString(metadata.description, 'metadata.description', problems);
    checkOptionalString(metadata.componentsVersion, 'metadata.componentsVersion', problems);
    if (metadata.translation !== undefined && !isObject(metadata.translation)) {
      problems.push(`metadata.translation must be an object (got ${kindOf(metadata.translation)})`);
    }
  }
  checkDsl(doc.contents, 'contents', problems);
  // descopecli leaves "screens" out when there are none.
  const screens = doc.screens === undefined ? [] : doc.screens;
  checkScreens(screens, 'screens', 'screenId', flowId, problems);
  if (doc.references !== undefined && !isObject(doc.references)) {
    problems.push(`references must be an object (got ${kindOf(doc.references)})`);
  }
  if (problems.length > 0) throw notAFlow(where, problems);

  const meta = metadata as JsonObject;
  const { name, description, disabled, componentsVersion, translation, ...restMeta } = meta;
  const flow: FlowV1['flow'] = Object.assign(
    {
      id: flowId,
      name: typeof name === 'string' ? name : flowId,
      ...(description === undefined ? {} : { description: description as string }),
      ...(disabled === undefined ? {} : { disabled: disabled as boolean }),
    },
    restMeta,
    translationToV1(translation as JsonObject | undefined),
    { id: flowId, dsl: doc.contents as FlowDsl },
  );
  const v1Screens = (screens as JsonObject[]).map((screen): FlowScreen => {
    const { screenId, interactions, contents, ...restScreen } = screen;
    return {
      id: screenId as string,
      flowId,
      ...(componentsVersion === undefined ? {} : { componentsVersion: componentsVersion as string }),
      ...(interactions === undefined ? {} : { interactions: interactions as unknown[] }),
      ...(contents === undefined ? {} : { htmlTemplate: contents }),
      ...restScreen,
    };
  });
  const { flowId: _id, metadata: _m, contents: _c, screens: _s, ...rest } = doc;
  return { flow, screens: v1Screens, ...rest };
}

function translationToV1(translation: JsonObject | undefined): JsonObject {
  if (translation === undefined) return {};
  const { enabled, connectorId, sourceLanguage, targetLanguages, ...unknown } = translation;
  return {
    ...(enabled === undefined ? {} : { translate: enabled }),
    ...(connectorId === undefined ? {} : { translateConnectorID: connectorId }),
    ...(sourceLanguage === undefined ? {} : { translateSourceLang: sourceLanguage }),
    ...(targetLanguages === undefined ? {} : { translateTargetLangs: targetLanguages }),
    ...(Object.keys(unknown).length > 0 ? { translation: unknown } : {}),
  };
}

function checkId(value: unknown, at: string, flowId: string, problems: string[]): void {
  if (value === undefined || value === '') return;
  if (typeof value !== 'string') problems.push(`${at} must be a string (got ${kindOf(value)})`);
  else if (value !== flowId) {
    problems.push(`${at} is "${value}" but the config declares this flow as "${flowId}" (write {{ flow.id | json }} or leave it out)`);
  }
}

function checkOptionalString(value: unknown, at: string, problems: string[]): void {
  if (value !== undefined && typeof value !== 'string') problems.push(`${at} must be a string (got ${kindOf(value)})`);
}

function checkDsl(dsl: unknown, at: string, problems: string[]): void {
  if (dsl === undefined) {
    problems.push(`${at} is missing`);
    return;
  }
  if (!isObject(dsl)) {
    problems.push(`${at} must be an object (got ${kindOf(dsl)})`);
    return;
  }
  if (typeof dsl.startTask !== 'string') problems.push(`${at}.startTask must be a string (got ${kindOf(dsl.startTask)})`);
  if (!isObject(dsl.tasks)) {
    problems.push(`${at}.tasks must be an object keyed by task id (got ${kindOf(dsl.tasks)})`);
    return;
  }
  for (const [key, task] of Object.entries(dsl.tasks)) {
    if (!isObject(task)) problems.push(`${at}.tasks[${JSON.stringify(key)}] must be an object (got ${kindOf(task)})`);
  }
}

function checkScreens(screens: unknown, at: string, idKey: 'id' | 'screenId', flowId: string, problems: string[]): void {
  if (screens === undefined) {
    problems.push(`${at} is missing (write "screens": [] for a flow without screens)`);
    return;
  }
  if (!Array.isArray(screens)) {
    problems.push(`${at} must be an array (got ${kindOf(screens)})`);
    return;
  }
  screens.forEach((screen, i) => {
    if (!isObject(screen)) {
      problems.push(`${at}[${i}] must be an object (got ${kindOf(screen)})`);
      return;
    }
    const id = screen[idKey];
    if (typeof id !== 'string' || id === '') problems.push(`${at}[${i}].${idKey} must be a non-empty string (got ${kindOf(id)})`);
    if (idKey === 'id') checkId(screen.flowId, `${at}[${i}].flowId`, flowId, problems);
  });
}

function notAFlow(where: string, problems: string[]): TemplateError {
  return new TemplateError(`${where}: not a valid flow document: ${problems.join('; ')}`, { hint: FORMATS_HINT });
}

// ---------------------------------------------------------------------------------------------
// The graph

export function checkFlowGraph(flow: FlowV1, options: CheckFlowGraphOptions): Issue[] {
  const { where, declaredFlowIds } = options;
  const id = flow.flow.id;
  const base = `flows/${id}`;
  const tasks = flow.flow.dsl.tasks;
  const taskIds = Object.keys(tasks);
  const issues: Issue[] = [];
  const issue = (path: string, message: string, hint?: string) =>
    issues.push({ file: where, path: `${base}${path}`, message, ...(hint === undefined ? {} : { hint }) });
  const known = (ids: readonly string[]) => (ids.length === 0 ? '(none)' : ids.map((t) => JSON.stringify(t)).join(', '));
  const label = (key: string, task: FlowTask) =>
    `task ${JSON.stringify(key)}${typeof task.name === 'string' && task.name !== '' && task.name !== key ? ` (${task.name})` : ''}`;

  const startTask = flow.flow.dsl.startTask;
  if (!Object.hasOwn(tasks, startTask)) {
    issue('.startTask', `flow "${id}" starts at task ${JSON.stringify(startTask)}, which does not exist`, `Set startTask to one of the tasks: ${known(taskIds)}`);
  }

  const screenIds = new Set<string>();
  flow.screens.forEach((screen, i) => {
    if (screenIds.has(screen.id)) {
      issue(`.screens[${i}].id`, `flow "${id}" has two screens with the id ${JSON.stringify(screen.id)}`, 'Give every screen its own id');
    }
    screenIds.add(screen.id);
  });

  for (const [key, task] of Object.entries(tasks)) {
    const at = `.tasks[${JSON.stringify(key)}]`;
    const name = label(key, task);
    if (task.id !== undefined && task.id !== key) {
      issue(`${at}.id`, `flow "${id}": ${name} has the id ${JSON.stringify(task.id)}, which differs from its key`, 'A task\'s "id" must equal its key in "tasks"');
    }

    const next = task.next;
    if (next !== undefined && !isObject(next)) {
      issue(`${at}.next`, `flow "${id}": ${name} has a "next" that is not an object`, 'Write "next": {"rules": [{"interactionId": "…", "taskId": "…"}]}');
    } else if (next?.rules !== undefined) {
      if (!Array.isArray(next.rules)) {
        issue(`${at}.next.rules`, `flow "${id}": ${name} has "next.rules" that is not an array`, 'Write "rules": [{"interactionId": "…", "taskId": "…"}]');
      } else {
        next.rules.forEach((rule: unknown, i) => {
          const ruleAt = `${at}.next.rules[${i}]`;
          if (!isObject(rule)) {
            issue(ruleAt, `flow "${id}": ${name} has a rule that is not an object`);
          } else if (typeof rule.taskId !== 'string' || rule.taskId === '') {
            issue(`${ruleAt}.taskId`, `flow "${id}": ${name} has a rule without a taskId`, `Point it at one of the tasks: ${known(taskIds)}`);
          } else if (!Object.hasOwn(tasks, rule.taskId)) {
            const via = typeof rule.interactionId === 'string' && rule.interactionId !== '' ? ` on "${rule.interactionId}"` : '';
            issue(
              `${ruleAt}.taskId`,
              `flow "${id}": ${name} goes${via} to task ${JSON.stringify(rule.taskId)}, which does not exist`,
              `Point it at one of the tasks: ${known(taskIds)}, or add task ${JSON.stringify(rule.taskId)}`,
            );
          }
        });
      }
    }

    if (task.type === 'screen') {
      if (typeof task.screenId !== 'string' || task.screenId === '') {
        issue(`${at}.screenId`, `flow "${id}": screen ${name} has no screenId`, `Set "screenId" to one of the screens: ${known([...screenIds])}`);
      } else if (!screenIds.has(task.screenId)) {
        issue(
          `${at}.screenId`,
          `flow "${id}": screen ${name} shows screen ${JSON.stringify(task.screenId)}, which is not in screens[]`,
          `Add a screen with "id": ${JSON.stringify(task.screenId)} to "screens", or use one of: ${known([...screenIds])}`,
        );
      }
    }

    if (task.type === 'flow') {
      const target = subFlowTarget(task);
      if (target.kind === 'missing') {
        issue(`${at}.arguments.flowId`, `flow "${id}": sub-flow ${name} does not say which flow it runs`, 'Set "arguments": {"flowId": {"type": "inline", "value": "<flow id>"}}');
      } else if (target.kind === 'static' && !declaredFlowIds.has(target.flowId)) {
        issue(
          `${at}.arguments.flowId`,
          `flow "${id}": sub-flow ${name} runs flow ${JSON.stringify(target.flowId)}, which the config does not declare`,
          `Declare flow ${JSON.stringify(target.flowId)} in descope.config.ts, or run one of: ${known([...declaredFlowIds].sort())}`,
        );
      }
    }
  }
  return issues;
}

type SubFlowTarget = { kind: 'static'; flowId: string } | { kind: 'dynamic' } | { kind: 'missing' };

function subFlowTarget(task: FlowTask): SubFlowTarget {
  const value = isObject(task.arguments) ? task.arguments.flowId : undefined;
  if (typeof value === 'string') return value === '' ? { kind: 'missing' } : { kind: 'static', flowId: value };
  if (isObject(value)) {
    if ((value.type === undefined || value.type === 'inline') && typeof value.value === 'string') {
      return value.value === '' ? { kind: 'missing' } : { kind: 'static', flowId: value.value };
    }
    if (value.type !== undefined && value.type !== 'inline') return { kind: 'dynamic' };
  }
  return { kind: 'missing' };
}

export function flowDependencies(flow: FlowV1): string[] {
  return [...new Set(subFlowCalls(flow).map((call) => call.flowId))].sort();
}

/** The sub-flow tasks with a static target: the task's key and the flow it runs. */
export function subFlowCalls(flow: FlowV1): { task: string; flowId: string }[] {
  const calls: { task: string; flowId: string }[] = [];
  for (const [key, task] of Object.entries(flow.flow.dsl.tasks)) {
    if (!isObject(task) || task.type !== 'flow') continue;
    const target = subFlowTarget(task);
    if (target.kind === 'static') calls.push({ task: key, flowId: target.flowId });
  }
  return calls;
}

export interface FlowInGraph {
  id: string;
  flow: FlowV1;
  /** Where the flow came from (Issue.file). */
  where: string;
}

/**
 * Every cycle of sub-flow calls among `flows` that a depth-first walk meets (at least one per
 * group of flows that reach each other), once each. Calls to flows not in `flows` are not
 * followed (checkFlowGraph reports the undeclared ones).
 */
export function findSubFlowCycles(flows: readonly FlowInGraph[]): Issue[] {
  const byId = new Map(flows.map((f) => [f.id, f]));
  const calls = new Map(
    flows.map((f) => [
      f.id,
      subFlowCalls(f.flow)
        .filter((call) => byId.has(call.flowId))
        .sort((a, b) => compare(a.flowId, b.flowId) || compare(a.task, b.task)),
    ]),
  );
  const state = new Map<string, 'open' | 'done'>();
  // The walk's path: each flow with the task of the flow before it that runs it.
  const path: { id: string; via: string | undefined }[] = [];
  const found = new Map<string, Issue>();

  /** The cycle from path[from] to the top of the path, closed by `closing` (a task of the top flow). */
  const record = (from: number, closing: string) => {
    // Each flow with its task that runs the next one; then turned to start at the first id.
    const ring = path.slice(from).map((entry, i, all) => ({ id: entry.id, task: i < all.length - 1 ? all[i + 1]!.via! : closing }));
    const start = ring.reduce((best, entry, i) => (compare(entry.id, ring[best]!.id) < 0 ? i : best), 0);
    const ordered = [...ring.slice(start), ...ring.slice(0, start)];
    const key = ordered.map((entry) => `${entry.id}\0${entry.task}`).join('\0');
    if (found.has(key)) return;
    const first = ordered[0]!;
    const chain = [...ordered.map((entry) => `flows/${entry.id}`), `flows/${first.id}`].join(' → ');
    const taskName = byId.get(first.id)!.flow.flow.dsl.tasks[first.task]?.name;
    const named = typeof taskName === 'string' && taskName !== '' && taskName !== first.task ? ` (${taskName})` : '';
    found.set(key, {
      file: byId.get(first.id)!.where,
      path: `flows/${first.id}.tasks[${JSON.stringify(first.task)}].arguments.flowId`,
      message:
        ordered.length === 1
          ? `flow "${first.id}" runs itself: its sub-flow task ${JSON.stringify(first.task)}${named} runs flow "${first.id}" (${chain})`
          : `flows run each other in a circle: ${chain} (flow "${first.id}" starts it in sub-flow task ${JSON.stringify(first.task)}${named})`,
      hint: 'A flow may not run itself, directly or through other flows: Descope would go round at sign-in, and apply could never import one before the other. Point one of these sub-flow tasks at another flow',
    });
  };

  const visit = (id: string) => {
    state.set(id, 'open');
    for (const call of calls.get(id) ?? []) {
      const seen = state.get(call.flowId);
      if (seen === 'open') {
        record(
          path.findIndex((entry) => entry.id === call.flowId),
          call.task,
        );
      } else if (seen === undefined) {
        path.push({ id: call.flowId, via: call.task });
        visit(call.flowId);
        path.pop();
      }
    }
    state.set(id, 'done');
  };
  for (const id of [...byId.keys()].sort(compare)) {
    if (state.has(id)) continue;
    path.push({ id, via: undefined });
    visit(id);
    path.pop();
  }
  return [...found.values()];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// v1 → v2

export function toFlowV2(doc: FlowV1): FlowV2 {
  const {
    id,
    name,
    description,
    disabled,
    dsl,
    version: _version,
    modifiedTime: _modifiedTime,
    etag: _etag,
    translate,
    translateConnectorID,
    translateSourceLang,
    translateTargetLangs,
    translation: unknownTranslation,
    ...restFlow
  } = doc.flow;
  // descopecli takes the last non-empty screen componentsVersion; a screen with another one keeps it.
  let componentsVersion: string | undefined;
  for (const screen of doc.screens) if (screen.componentsVersion) componentsVersion = screen.componentsVersion;

  const translation: JsonObject = {
    ...(translate === undefined ? {} : { enabled: translate }),
    ...(translateConnectorID === undefined ? {} : { connectorId: translateConnectorID }),
    ...(translateSourceLang === undefined ? {} : { sourceLanguage: translateSourceLang }),
    ...(translateTargetLangs === undefined ? {} : { targetLanguages: translateTargetLangs }),
    ...(isObject(unknownTranslation) ? unknownTranslation : {}),
  };
  const metadata: JsonObject = {
    name,
    ...(description === undefined ? {} : { description }),
    ...(componentsVersion === undefined ? {} : { componentsVersion }),
    ...(disabled === undefined ? {} : { disabled }),
    ...(Object.keys(translation).length > 0 ? { translation } : {}),
    ...restFlow,
  };
  const screens = doc.screens.map((screen): FlowScreenV2 => {
    const {
      id: screenId,
      flowId: _flowId,
      version: _v,
      inputs: _inputs,
      componentsVersion: own,
      interactions,
      htmlTemplate,
      ...restScreen
    } = screen;
    return {
      screenId,
      ...(interactions === undefined ? {} : { interactions }),
      ...(htmlTemplate === undefined ? {} : { contents: htmlTemplate }),
      ...(own !== undefined && own !== componentsVersion ? { componentsVersion: own } : {}),
      ...restScreen,
    };
  });
  const { flow: _flow, screens: _screens, references, ...rest } = doc;
  return {
    flowId: id,
    metadata,
    contents: dsl,
    screens,
    references: isObject(references) ? references : {},
    ...rest,
  };
}

// ---------------------------------------------------------------------------------------------
// Themes

export function toThemeV1(doc: unknown, where: string): ThemeV1 {
  const hint = 'A theme document is the v1 export {"theme": {"id": "", "cssTemplate": {…}}} or its inner {"cssTemplate": {…}}';
  if (!isObject(doc)) {
    throw new TemplateError(`${where}: not a theme document: expected a JSON object, got ${kindOf(doc)}`, { hint });
  }
  const inner = 'theme' in doc ? doc.theme : doc;
  const at = 'theme' in doc ? 'theme.' : '';
  if (!isObject(inner)) {
    throw new TemplateError(`${where}: not a theme document: "theme" must be an object (got ${kindOf(inner)})`, { hint });
  }
  if (!('cssTemplate' in inner) || inner.cssTemplate === undefined) {
    const v2 = 'styles' in inner ? ' (this looks like a v2 theme export, {"theme": {"styles"}}, which the node SDK cannot import)' : '';
    throw new TemplateError(`${where}: not a theme document: ${at}cssTemplate is missing${v2}`, { hint });
  }
  if (inner.id !== undefined && typeof inner.id !== 'string') {
    throw new TemplateError(`${where}: not a theme document: ${at}id must be a string (got ${kindOf(inner.id)})`, { hint });
  }
  return inner as ThemeV1;
}

// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'number' ? 'the number' : typeof value === 'boolean' ? 'the boolean' : `a ${typeof value}`} ${String(value)}`;
}
