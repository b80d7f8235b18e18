// Renders a checked project spec into the desired documents: every flow as a v1 `{flow, screens}`
// document and the theme, each checked (flows as a graph, then all of them together for sub-flow
// cycles). Collects every problem, one per flow (plus one per cycle), and notes: what a document
// held that cannot be imported (a v2 `references` map), which validate shows.
import path from 'node:path';
import type { FlowSpec, ThemeSpec } from '../../dsl/types.ts';
import { jsonDataProblem } from '../../dsl/schema.ts';
import { isDescopeRunError, TemplateError, type Issue } from '../../errors.ts';
import { formatPathTail } from '../config/zod-issues.ts';
import type { Declared, ProjectSpec } from '../config/check-config.ts';
import type { ResolvedEnvironment } from '../config/environment.ts';
import { checkFlowGraph, findSubFlowCycles, toFlowV1, toThemeV1, type DroppedKey, type FlowV1, type ThemeV1 } from './flow-document.ts';
import { renderTimeoutMs } from './template-guard.ts';
import { createTemplateRenderer, type TemplateRenderer } from './templates.ts';

export interface RenderedFlow {
  address: string;
  id: string;
  document: FlowV1;
  /** The template it came from (relative to the project), or undefined for inline JSON. */
  template: string | undefined;
}

export interface RenderedProject {
  flows: RenderedFlow[];
  theme: ThemeV1 | undefined;
  issues: Issue[];
  /** Not problems, but worth knowing (validate prints them): what a document held that is not imported. */
  notes: Issue[];
}

export interface RenderOptions {
  root: string;
  env: ResolvedEnvironment;
  /** Render only these flow ids (the theme is skipped when set). */
  only?: ReadonlySet<string>;
  /** Where compiled templates are kept between runs (template-cache.ts); none when undefined. */
  cacheDir?: string;
  /** Where DESCOPE_RUN_RENDER_TIMEOUT is read (template-guard.ts); process.env when undefined. */
  processEnv?: NodeJS.ProcessEnv;
}

function toIssue(error: unknown, address: string, file: string): Issue {
  if (!isDescopeRunError(error)) throw error;
  // Template errors start with their own location (`templates/x.njk:4:13: …`): use it as the file.
  const located = /^(\S+?:\d+(?::\d+)?): ([\s\S]*)$/.exec(error.message);
  const [where, message] = located ? [located[1]!, located[2]!] : [file, error.message.replace(`${file}: `, '')];
  return { file: where, path: address, message, ...(error.hint ? { hint: error.hint } : {}) };
}

export function renderProject(spec: ProjectSpec, options: RenderOptions): RenderedProject {
  const renderers = new Map<string, TemplateRenderer>();
  const rendererFor = (dir: string): TemplateRenderer => {
    let renderer = renderers.get(dir);
    if (!renderer) {
      renderer = createTemplateRenderer({
        root: dir,
        projectRoot: options.root,
        ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
        timeoutMs: renderTimeoutMs(options.processEnv),
      });
      renderers.set(dir, renderer);
    }
    return renderer;
  };
  const rel = (file: string) => path.relative(options.root, file) || '.';
  const declaredFlowIds = new Set(spec.flows.map((f) => f.spec.id));
  const issues: Issue[] = [];
  const notes: Issue[] = [];
  const flows: RenderedFlow[] = [];
  const whereOf = new Map<string, string>();

  for (const declared of spec.flows) {
    if (options.only && !options.only.has(declared.spec.id)) continue;
    const rendered = renderFlow(declared);
    if (rendered) flows.push(rendered);
  }
  // Only now are all the flows known: a cycle runs through several of them.
  issues.push(...findSubFlowCycles(flows.map((f) => ({ id: f.id, flow: f.document, where: whereOf.get(f.id) ?? f.address }))));

  /** The raw JSON of a flow or theme: its inline `json`, or its template rendered. */
  function source(
    declared: Declared<FlowSpec | ThemeSpec>,
    extra: Record<string, unknown>,
  ): { template: string | undefined; where: string; raw: () => unknown } {
    const s = declared.spec;
    if (s.template === undefined) {
      return { template: undefined, where: `${declared.source.label}: ${declared.address}.json`, raw: () => s.json };
    }
    const template = rel(path.join(declared.source.templatesDir, s.template));
    const context = { ...(s.vars ?? {}), env: options.env.name, vars: options.env.vars, ...extra };
    return { template, where: template, raw: () => rendererFor(declared.source.templatesDir).renderJson(s.template!, context) };
  }

  function renderFlow(declared: Declared<FlowSpec>): RenderedFlow | undefined {
    const f = declared.spec;
    const { template, where, raw: render } = source(declared, { flow: { id: f.id, ...(f.vars ?? {}) } });
    try {
      const raw = checkedJson(render(), where);
      const dropped = (keys: DroppedKey[]) => notes.push(droppedNote(keys, declared.address, template ?? declared.source.label));
      const document = applyOverrides(toFlowV1(raw, { flowId: f.id, where, dropped }), f);
      const graph = checkFlowGraph(document, { where, declaredFlowIds });
      if (graph.length > 0) {
        issues.push(...graph.map((i) => ({ ...i, file: i.file ?? template ?? declared.source.label })));
        return undefined;
      }
      whereOf.set(f.id, template ?? declared.source.label);
      return { address: declared.address, id: f.id, document, template };
    } catch (error) {
      issues.push(toIssue(error, declared.address, template ?? declared.source.label));
      return undefined;
    }
  }

  let theme: ThemeV1 | undefined;
  if (spec.theme && !options.only) theme = renderTheme(spec.theme);

  function renderTheme(declared: Declared<ThemeSpec>): ThemeV1 | undefined {
    const { template, where, raw } = source(declared, {});
    try {
      return toThemeV1(checkedJson(raw(), where), where);
    } catch (error) {
      issues.push(toIssue(error, declared.address, template ?? declared.source.label));
      return undefined;
    }
  }

  return { flows, theme, issues, notes };
}

/**
 * The note for top-level keys a flow document held that flow.import cannot send. A v2 export's
 * `references` maps the names of the connectors and roles the flow uses to their ids in the
 * project it came from; descopecli's v2 import resolves them by name in the target project, the
 * node SDK's v1 import cannot, so the ids inside the flow are written as they are.
 */
function droppedNote(keys: DroppedKey[], address: string, file: string): Issue {
  const describe = ({ key, value }: DroppedKey) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? `"${key}" (${Object.keys(value).join(', ')})` : `"${key}"`;
  const references = keys.some((k) => k.key === 'references');
  return {
    file,
    path: address,
    message: `${keys.map(describe).join(', ')} ${keys.length === 1 ? 'is' : 'are'} not imported: the SDK's flow import writes the flow and its screens only`,
    hint: references
      ? 'Unlike descopecli, which maps "references" to the target project by name, descope-run writes the ids inside this flow (connectors, roles) as they are: check that they exist in this project, then remove "references" to silence this note'
      : 'These keys never reach Descope: remove them from the document to silence this note',
  };
}


/**
 * A rendered document must be plain JSON data nested no deeper than any flow: the plan copies and
 * compares it recursively, so a 100,000-level document would overflow the stack there.
 */
function checkedJson(raw: unknown, where: string): unknown {
  const problem = jsonDataProblem(raw);
  if (problem) {
    const at = formatPathTail(problem.path).replace(/^\./, '');
    throw new TemplateError(`${where}: ${at ? `the document's ${at}` : 'the document'} ${problem.message}`, {
      hint: 'a flow or theme document is JSON a few dozen levels deep at most: check what the template emits there',
    });
  }
  const proto = protoKeyPath(raw, []);
  if (proto) {
    const at = formatPathTail(proto.slice(0, -1)).replace(/^\./, '');
    throw new TemplateError(`${where}: ${at ? `the document's ${at}` : 'the document'} has a "__proto__" key, which no Descope document holds`, {
      hint: 'JavaScript tools (the Descope SDK and descope-run among them) cannot keep a "__proto__" key reliably, so the flow would never match what was written: rename or remove it',
    });
  }
  return raw;
}

/**
 * The path of the first `__proto__` key in a JSON value (JSON.parse makes it an own key), or
 * undefined. Depth is bounded by jsonDataProblem, which ran first.
 */
function protoKeyPath(value: unknown, path: PropertyKey[]): PropertyKey[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKeyPath(value[i], [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return [...path, key];
    const found = protoKeyPath((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return undefined;
}


/** The flow's name, description and disabled flag from the config win over the document's. */
function applyOverrides(document: FlowV1, f: FlowSpec): FlowV1 {
  if (f.name === undefined && f.description === undefined && f.disabled === undefined) return document;
  return {
    ...document,
    flow: {
      ...document.flow,
      ...(f.name === undefined ? {} : { name: f.name }),
      ...(f.description === undefined ? {} : { description: f.description }),
      ...(f.disabled === undefined ? {} : { disabled: f.disabled }),
    },
  };
}
