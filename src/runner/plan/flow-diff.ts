// Flows are diffed by meaning: which tasks (flow.dsl.tasks, by id) and screens (by id) were added,
// removed or changed, which other flow fields changed, and a unified diff (the `diff` package) of
// the canonical JSON of only the parts that changed, not of the whole document. Pure.
import { createTwoFilesPatch } from 'diff';
import { flowAddress, sameCanonical, sortKeysDeep, type CanonicalFlow } from '../../runtime/index.ts';
import type { FlowChangeSummary } from './types.ts';

type Json = Record<string, unknown>;

/** Flow-level keys the plan shows as fields of their own (before → after), not in the diff. */
export const FIELD_KEYS: ReadonlySet<string> = new Set(['flow.name', 'flow.description', 'flow.disabled']);

function inDiffCount(otherChanged: readonly string[]): number {
  return otherChanged.filter((key) => !FIELD_KEYS.has(key)).length;
}

function emptySummary(
  tasks: { added: string[]; removed: string[]; changed: string[] },
  screens: { added: string[]; removed: string[]; changed: string[] },
): Omit<FlowChangeSummary, 'otherChanged' | 'unifiedDiff'> {
  return {
    tasksAdded: tasks.added,
    tasksRemoved: tasks.removed,
    tasksChanged: tasks.changed,
    screensAdded: screens.added,
    screensRemoved: screens.removed,
    screensChanged: screens.changed,
  };
}

function tasksOf(flow: CanonicalFlow | undefined): Json {
  const dsl = flow?.flow.dsl as { tasks?: Json } | undefined;
  return dsl && typeof dsl === 'object' && dsl.tasks && typeof dsl.tasks === 'object' ? dsl.tasks : {};
}

function screensOf(flow: CanonicalFlow | undefined): Json {
  const out: Json = {};
  for (const screen of flow?.screens ?? []) out[String(screen.id)] = screen;
  return out;
}

/** Flow-level values other than the tasks: `flow.<key>`, `flow.dsl.<key>` and top-level document keys. */
function othersOf(flow: CanonicalFlow | undefined): Json {
  const out: Json = {};
  if (!flow) return out;
  for (const [key, value] of Object.entries(flow.flow)) {
    if (key === 'dsl' && value && typeof value === 'object') {
      for (const [dslKey, dslValue] of Object.entries(value as Json)) if (dslKey !== 'tasks') out[`flow.dsl.${dslKey}`] = dslValue;
    } else out[`flow.${key}`] = value;
  }
  for (const [key, value] of Object.entries(flow)) if (key !== 'flow' && key !== 'screens') out[key] = value;
  return out;
}

function compareKeys(before: Json, after: Json): { added: string[]; removed: string[]; changed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const key of Object.keys(after).sort()) {
    if (!(key in before)) added.push(key);
    else if (!sameCanonical(before[key], after[key])) changed.push(key);
  }
  for (const key of Object.keys(before).sort()) if (!(key in after)) removed.push(key);
  return { added, removed, changed };
}

function pick(source: Json, keys: readonly string[]): Json {
  const out: Json = {};
  for (const key of keys) if (key in source) out[key] = source[key];
  return out;
}

/** What changed between the live flow (undefined when it is new) and the desired one. */
export function computeFlowChange(before: CanonicalFlow | undefined, after: CanonicalFlow): FlowChangeSummary {
  const tasks = compareKeys(tasksOf(before), tasksOf(after));
  const screens = compareKeys(screensOf(before), screensOf(after));
  const others = compareKeys(othersOf(before), othersOf(after));
  const otherChanged = [...others.added, ...others.changed, ...others.removed].sort();
  if (!before) {
    return {
      tasksAdded: tasks.added,
      tasksRemoved: [],
      tasksChanged: [],
      screensAdded: screens.added,
      screensRemoved: [],
      screensChanged: [],
      otherChanged: [],
      unifiedDiff: '',
    };
  }
  const changedTasks = [...tasks.added, ...tasks.removed, ...tasks.changed];
  if (changedTasks.length === 0 && inDiffCount(otherChanged) === 0 && screens.added.length + screens.removed.length + screens.changed.length === 0) {
    return { ...emptySummary(tasks, screens), otherChanged, unifiedDiff: '' };
  }
  const changedScreens = [...screens.added, ...screens.removed, ...screens.changed];
  // The flow's name, description and disabled flag are shown as fields; the diff has the rest.
  const inDiff = otherChanged.filter((key) => !FIELD_KEYS.has(key));
  const part = (flow: CanonicalFlow): Json => {
    const out: Json = {};
    Object.assign(out, pick(othersOf(flow), inDiff));
    if (changedTasks.length > 0) out['tasks'] = pick(tasksOf(flow), changedTasks);
    if (changedScreens.length > 0) out['screens'] = pick(screensOf(flow), changedScreens);
    return out;
  };
  const text = (value: Json): string => `${JSON.stringify(sortKeysDeep(value), null, 2)}\n`;
  const id = after.flow.id;
  const patch = createTwoFilesPatch(`${flowAddress(id)} (live)`, `${flowAddress(id)} (config)`, text(part(before)), text(part(after)), undefined, undefined, {
    context: 3,
  });
  // Drop the "Index:"/"===" preamble; keep the ---/+++ header and the hunks.
  const unifiedDiff = patch
    .split('\n')
    .filter((line) => !line.startsWith('Index: ') && !/^=+$/.test(line))
    .join('\n')
    .trimEnd();
  return {
    tasksAdded: tasks.added,
    tasksRemoved: tasks.removed,
    tasksChanged: tasks.changed,
    screensAdded: screens.added,
    screensRemoved: screens.removed,
    screensChanged: screens.changed,
    otherChanged,
    unifiedDiff,
  };
}
