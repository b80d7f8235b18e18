// Flow templates: renders the Nunjucks templates under `templates/` into text or parsed JSON.
//
// API
//   createTemplateRenderer({ root, projectRoot }) → TemplateRenderer
//     root         absolute templates folder; every template name is relative to it
//     projectRoot  absolute project folder; file names in messages are relative to it
//   renderer.render(name, context)      → string   the rendered text
//   renderer.renderJson(name, context)  → unknown  the rendered text, parsed as JSON
//   renderer.fileOf(name)               → string   `templates/<name>` as shown in messages (use it
//                                                  as the `where` of flow-format's functions)
//   toJsonLiteral(value, indent?)       → { ok: true, text } | { ok: false, problem }
//                                                  the `json` filter, for tests and callers
//   resolveTemplateName(root, name)     → { ok: true, name, absolute } | { ok: false, invalid, reason }
//                                                  the containment check used for every name
//
// The environment
//   - throwOnUndefined: outputting an undefined (or null) value is an error that names the
//     variable, e.g. `templates/x.json.njk:14:12: undefined template variable `vars.brandNme``.
//     Nunjucks only checks what is output: `{% if vars.typo %}` is silently false, and `~`
//     concatenation turns undefined into the text "undefined". Emit values through `| json`;
//     `| default(x)` and `is defined` work as usual.
//   - autoescape off (the output is JSON, not HTML); trimBlocks + lstripBlocks, so block tags on
//     their own lines leave no blank lines; no watching, no cache (each render reads the files).
//   - the `json` filter: `{{ value | json }}` emits any JSON value as a literal (strings quoted
//     and escaped, `<`, `>`, `&`, U+2028 and U+2029 as \u escapes so nothing reads as markup).
//     `undefined` anywhere in the value, functions, symbols, bigints, NaN/Infinity, Map/Set and
//     cycles are errors. `{{ value | json(2) }}` indents.
//   - names: `./x` and `../x` in include/import/extends are relative to the including file, any
//     other name to `root`. A name that leaves `root` (`../../etc/passwd`, `/etc/passwd`, a
//     symlink pointing outside) is refused, both as the rendered name and inside a template.
//     (Nunjucks' own FileSystemLoader only checks a string prefix, which lets
//     `templates-evil/` through, and resolves relative includes against the working directory.)
//   - every template is compiled as it loads, so a syntax error in an included or imported file
//     is reported synchronously against that file (Nunjucks would deliver it asynchronously, after
//     render() has returned null, or blame the importing file).
//
//   - the sandbox and the limits (template-guard.ts): a template reaches only the data it is
//     given, never JavaScript itself (no constructors, prototypes or Function), and one render is
//     bounded in time (DESCOPE_RUN_RENDER_TIMEOUT, default 10 s), in text (16 MiB) and in range()
//     length, macro depth and include depth. What templates may and may not do, for users:
//     templates/README.md, "What templates may do".
//
// Every failure is ONE TemplateError (code `template`) with a one-line message that starts with
// the file relative to the project root and, when known, the 1-based line and column, plus a
// one-line hint: a missing template or include, a syntax error, an undefined variable (named; when
// the undefined value was passed into a macro as data, at the line where it is written), output
// that is not JSON (with the output line, column and text), a name that escapes the templates
// folder. The Nunjucks error is kept as `cause`. See template-diagnostics.ts.
//
// File convention for the sample project: `templates/<flow-id>.json.njk` renders a flow,
// `templates/theme.json.njk` the theme; `templates/partials/*.njk` are fragments for
// {% include %} and `templates/macros/*.njk` macro libraries for {% import %}.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { MAX_JSON_DEPTH } from '../../dsl/schema.ts';
import { TemplateError } from '../../errors.ts';
import { openTemplateCache, templateCacheKey, type TemplateCache } from './template-cache.ts';
import { createTemplateGuard, GUARD_VERSION, MAX_TEMPLATE_TEXT, numberLength, renderTimeoutMs, type TemplateGuard } from './template-guard.ts';
import {
  displayPath,
  notJsonError,
  templateErrorFromNunjucks,
  type JsonProblem,
} from './template-diagnostics.ts';

export interface TemplateRendererOptions {
  /** Absolute path of the templates folder. */
  root: string;
  /** Absolute path of the project, for relative file names in messages. */
  projectRoot: string;
  /** Where compiled templates are kept between runs (template-cache.ts); none when undefined. */
  cacheDir?: string;
  /** How long one render may take; default DESCOPE_RUN_RENDER_TIMEOUT (template-guard.ts). */
  timeoutMs?: number;
}

export interface TemplateRenderer {
  /** The absolute templates folder. */
  readonly root: string;
  /** Renders a template (name relative to `root`) to text. */
  render(name: string, context: Record<string, unknown>): string;
  /** Renders a template and parses the output as JSON. */
  renderJson(name: string, context: Record<string, unknown>): unknown;
  /** The template's file as shown in messages, e.g. `templates/sign-up-or-in.json.njk`. */
  fileOf(name: string): string;
}

export function createTemplateRenderer(options: TemplateRendererOptions): TemplateRenderer {
  const root = path.resolve(options.root);
  const projectRoot = path.resolve(options.projectRoot);
  const folder = `${displayPath(projectRoot, root) || '.'}/`;

  const sources = new Map<string, string>();
  let escaped = new Map<string, string>();
  let jsonProblems: JsonProblem[] = [];

  const cache = options.cacheDir === undefined ? undefined : openTemplateCache(options.cacheDir);
  const guard = createTemplateGuard({ timeoutMs: options.timeoutMs ?? renderTimeoutMs() });
  const loader = new ContainedLoader(root, (name, reason) => escaped.set(name, reason), sources, cache, guard);
  const env = new nunjucks.Environment(loader as unknown as nunjucks.ILoader, {
    autoescape: false,
    throwOnUndefined: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  loader.env = env;
  limitNesting(env);
  env.addFilter('json', (value: unknown, indent?: unknown) => {
    const result = toJsonLiteral(value, typeof indent === 'number' ? indent : undefined, guard.step);
    if (result.ok) return result.text;
    // Returning undefined lets Nunjucks' undefined-output check fail at the exact `{{ }}`,
    // which carries the position a filter never sees; the problem explains it there.
    jsonProblems.push(result.problem);
    return undefined;
  });
  guard.install(env);

  const fileOf = (name: string): string => {
    const resolved = resolveTemplateName(root, name);
    return resolved.ok ? displayPath(projectRoot, resolved.absolute) : `${folder}${name}`;
  };

  const render = (name: string, context: Record<string, unknown>): string => {
    if (context === null || typeof context !== 'object' || Array.isArray(context)) {
      throw new TemplateError(`${fileOf(name)}: the render context must be an object`);
    }
    const resolved = resolveTemplateName(root, name);
    if (!resolved.ok) {
      const problem = resolved.invalid
        ? `template name ${JSON.stringify(name)} is invalid: it ${resolved.reason}`
        : `template "${name}" is outside the templates folder ${folder}: the name ${resolved.reason}`;
      throw new TemplateError(problem, { hint: `Template names are relative to ${folder} and must stay inside it` });
    }
    const file = displayPath(projectRoot, resolved.absolute);
    if (isFolder(resolved.absolute)) {
      throw new TemplateError(`${file}: is a folder, not a template file`, {
        hint: 'point `template` at a file, e.g. "sign-in.json.njk"',
      });
    }
    if (!isFile(resolved.absolute)) {
      const known = listTemplates(root);
      throw new TemplateError(`${file}: template not found`, {
        hint: `Template names are relative to ${folder}; ${
          known.length > 0 ? `found: ${known.join(', ')}` : 'the folder has no templates'
        }`,
      });
    }

    escaped = new Map();
    jsonProblems = [];
    guard.begin();
    let output: string;
    try {
      output = env.render(resolved.name, context);
      // Nunjucks may have caught what the guard threw on the way (it never should): still a failure.
      if (guard.failure) throw new Error(guard.failure.problem);
    } catch (error) {
      // V8's own string limit (about 2^29 characters): the output outgrew MAX_TEMPLATE_TEXT first.
      const tooLong = error instanceof Error && /Invalid string length/.test(error.message);
      throw templateErrorFromNunjucks(error, {
        root,
        projectRoot,
        entry: resolved.absolute,
        sources,
        escaped,
        jsonProblems,
        context,
        guard: guard.failure ?? (tooLong ? outputTooLong(undefined) : undefined),
      });
    }
    if (typeof output !== 'string') {
      // Nunjucks returns null when part of a render went asynchronous; never pass that on.
      throw new TemplateError(`${file}: the template did not render synchronously`, {
        hint: 'This is a descope-run bug: please report it with the template',
      });
    }
    if (output.length > MAX_TEMPLATE_TEXT) {
      const { problem, hint } = outputTooLong(output.length);
      throw new TemplateError(`${file}: ${problem}`, { hint });
    }
    // A problem that never reached an output (`{% set x = y | json %}`) would otherwise vanish.
    const problem = jsonProblems[0];
    if (problem) {
      throw new TemplateError(
        `${file}: a value passed to | json ${problem.path === '' ? '' : `(at ${problem.path}) `}${problem.reason}`,
        {
          hint: problem.reason === 'is undefined'
            ? 'Every value passed to | json must be defined; give a fallback with | default(…)'
            : 'Pass | json plain data: strings, numbers, booleans, null, arrays and objects, nested a few levels and a few MB at most',
        },
      );
    }
    return output;
  };

  return {
    root,
    render,
    renderJson(name, context) {
      const output = render(name, context);
      try {
        return JSON.parse(output) as unknown;
      } catch (error) {
        throw notJsonError(fileOf(name), output, error);
      }
    },
    fileOf,
  };
}

/** The output (or a text on its way there) outgrew MAX_TEMPLATE_TEXT; `length` when known. */
function outputTooLong(length: number | undefined) {
  return {
    problem:
      length === undefined
        ? `the rendered output grew past ${MAX_TEMPLATE_TEXT} characters`
        : `the rendered output is ${length} characters long; at most ${MAX_TEMPLATE_TEXT}`,
    hint: `A flow or theme document is a few MB at most: check for a loop that repeats more than intended. This limit is fixed (${MAX_TEMPLATE_TEXT / 1024 / 1024} MiB)`,
  };
}

/** Includes, imports and extends nest no deeper than this (real templates use a handful). */
export const MAX_TEMPLATE_NESTING = 32;

/**
 * Bounds how deep templates nest. A template that includes itself (directly or through others)
 * would recurse until the stack overflows, and Nunjucks then wraps the error once per level on the
 * way out, which takes minutes; past the limit the render stops with an error at once.
 */
function limitNesting(env: nunjucks.Environment): void {
  let depth = 0;
  const guard = <A extends unknown[], R>(run: (...args: A) => R) => (...args: A): R => {
    if (depth >= MAX_TEMPLATE_NESTING) {
      throw new Error(`templates nest deeper than ${MAX_TEMPLATE_NESTING} levels (includes, imports and extends)`);
    }
    depth += 1;
    try {
      return run(...args);
    } finally {
      depth -= 1;
    }
  };
  // Rendering is synchronous (every callback runs before render returns), so a counter around the
  // three ways one template runs another is the nesting depth.
  const wrap = (template: nunjucks.Template): nunjucks.Template => {
    const t = template as unknown as Record<'render' | 'rootRenderFunc' | 'getExported', (...args: unknown[]) => unknown>;
    const wrapped = Object.create(template) as Record<string, unknown>;
    for (const method of ['render', 'rootRenderFunc', 'getExported'] as const) {
      if (typeof t[method] === 'function') wrapped[method] = guard((...args: unknown[]) => t[method].apply(template, args));
    }
    return wrapped as unknown as nunjucks.Template;
  };
  const getTemplate = env.getTemplate.bind(env) as (...args: unknown[]) => nunjucks.Template | undefined;
  (env as unknown as { getTemplate: (...args: unknown[]) => unknown }).getTemplate = (...args: unknown[]) => {
    const at = args.findIndex((arg) => typeof arg === 'function');
    if (at >= 0) {
      const callback = args[at] as (error: unknown, template?: nunjucks.Template) => void;
      args[at] = (error: unknown, template?: nunjucks.Template) => callback(error, template ? wrap(template) : template);
      return getTemplate(...args);
    }
    const template = getTemplate(...args);
    return template ? wrap(template) : template;
  };
}

// ---------------------------------------------------------------------------------------------
// Names and the loader

type ResolvedName =
  | { ok: true; name: string; absolute: string }
  | { ok: false; invalid: boolean; reason: string };

/** Resolves a template name against `root`, refusing anything that leaves it. */
export function resolveTemplateName(root: string, name: string): ResolvedName {
  if (typeof name !== 'string' || name.trim() === '') return { ok: false, invalid: true, reason: 'is empty' };
  if (name.includes('\0')) return { ok: false, invalid: true, reason: 'contains a NUL character' };
  if (path.isAbsolute(name) || path.win32.isAbsolute(name) || name.startsWith('/') || name.startsWith('\\')) {
    return { ok: false, invalid: false, reason: 'is an absolute path' };
  }
  const normalized = path.posix.normalize(name.replace(/\\/g, '/'));
  if (normalized === '..' || normalized.startsWith('../')) return { ok: false, invalid: false, reason: 'climbs out with ..' };
  const absolute = path.resolve(root, normalized);
  if (!isInside(root, absolute)) return { ok: false, invalid: false, reason: 'resolves outside it' };
  // A symlink inside the folder that points outside it counts as leaving.
  try {
    const real = fs.realpathSync(absolute);
    if (!isInside(fs.realpathSync(root), real)) {
      return { ok: false, invalid: false, reason: 'is a symlink to a file outside it' };
    }
  } catch {
    // Missing: reported as "not found" by the caller.
  }
  return { ok: true, name: normalized, absolute };
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function isFile(absolute: string): boolean {
  try {
    return fs.statSync(absolute).isFile();
  } catch {
    return false;
  }
}

function isFolder(absolute: string): boolean {
  try {
    return fs.statSync(absolute).isDirectory();
  } catch {
    return false;
  }
}

function listTemplates(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.njk')) found.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  found.sort();
  return found.length > 12 ? [...found.slice(0, 12), '…'] : found;
}

/**
 * Loads templates from `root` only. A refused name is reported through `onEscape` and loads as
 * "not found", which Nunjucks turns into an error the diagnostics then explain.
 */
class ContainedLoader extends nunjucks.Loader {
  constructor(
    private readonly root: string,
    private readonly onEscape: (name: string, reason: string) => void,
    private readonly sources: Map<string, string>,
    private readonly compiledCache: TemplateCache | undefined,
    private readonly guard: TemplateGuard,
  ) {
    super();
  }

  override isRelative(name: string): boolean {
    return name.startsWith('./') || name.startsWith('../');
  }

  /**
   * Resolves `./x` and `../x` against the including template and keeps the result a name relative
   * to `root`. Nunjucks passes the includer's absolute path as `from`; its default resolve would
   * return an absolute path, which this loader (rightly) refuses.
   */
  override resolve(from: string, to: string): string {
    const fromName = path.isAbsolute(from) ? path.relative(this.root, from).split(path.sep).join('/') : from;
    return path.posix.join(path.posix.dirname(fromName), to);
  }

  /** Set once the environment exists; used to compile each template as it loads. */
  env: nunjucks.Environment | undefined;

  getSource(name: string): nunjucks.LoaderSource | null {
    const resolved = resolveTemplateName(this.root, name);
    if (!resolved.ok) {
      this.onEscape(name, resolved.reason);
      return null;
    }
    if (!isFile(resolved.absolute)) return null;
    // An editor's byte order mark is not part of the template (nor of the JSON it renders).
    const src = fs.readFileSync(resolved.absolute, 'utf8').replace(/^\uFEFF/, '');
    this.sources.set(resolved.absolute, src);
    // Compile now, so a syntax error is thrown here, synchronously, naming this file. Left to
    // Nunjucks, a syntax error in an included template is delivered asynchronously (the render
    // returns null and the error escapes later), and one in an imported file is blamed on the
    // importer.
    // Cached by Nunjucks for the life of this renderer (one command): 50 flows from one template
    // compile it once, not 50 times (bench/plan-scale: renders 415-1,120 ms → 37-90 ms).
    if (!this.env) return { src, path: resolved.absolute, noCache: false };
    // Hand Nunjucks the compiled code (its precompiled form), so it does not compile the file a
    // second time when it renders it.
    const props = this.compile(src, resolved.absolute, this.env);
    return { src: { type: 'code', obj: props } as unknown as string, path: resolved.absolute, noCache: false };
  }

  /**
   * The template's compiled form: the members of a precompiled template (`root`, `b_<block>`).
   * From the cache when it has this very compile; otherwise compiled, and stored.
   */
  private compile(src: string, file: string, env: nunjucks.Environment): Record<string, unknown> {
    const internals = env as unknown as EnvironmentInternals;
    const version = nunjucksVersion();
    const cache = version === undefined ? undefined : this.compiledCache;
    const key = cache
      ? templateCacheKey([version, GUARD_VERSION, file, internals.opts, internals.asyncFilters, internals.extensionsList.map((e) => e.__name ?? '?'), src])
      : undefined;
    if (cache && key !== undefined) {
      const cached = cache.get(key);
      if (cached !== undefined) {
        try {
          // The code Nunjucks' own Template._compile runs: it returns the template's functions,
          // which run with the guard's runtime (template-guard.ts), cached or not.
          return this.guard.wrap(new Function(cached)() as Record<string, unknown>);
        } catch {
          // Not code this compiler made after all: compile afresh, and store that instead.
        }
      }
    }
    let code: string;
    try {
      code = this.guard.compile(src, internals.asyncFilters, internals.extensionsList, file, internals.opts);
    } catch (error) {
      // Refused by the guard (a regular expression): its error, with this file named as Nunjucks does.
      if (this.guard.failure) throw (nunjucks as unknown as NunjucksInternals).lib._prettifyError(file, false, error);
      // Compiled again the way Nunjucks does it, for its error (located and worded as usual).
      new nunjucks.Template(src, env, file, true);
      throw new Error(`${file}: the template did not compile`);
    }
    const props = new Function(code)() as Record<string, unknown>;
    if (cache && key !== undefined) cache.set(key, code);
    return this.guard.wrap(props);
  }
}

/** Nunjucks' error helper (not in @types/nunjucks). */
interface NunjucksInternals {
  lib: { _prettifyError(path: string, withInternals: boolean, error: unknown): Error };
}
interface EnvironmentInternals {
  opts: Record<string, unknown>;
  asyncFilters: string[];
  extensionsList: { __name?: string }[];
}

/** Set by scripts/bundle-cli.mjs to the version of the Nunjucks it bundles into dist/cli/. */
declare const __DESCOPE_RUN_NUNJUCKS_VERSION__: string | undefined;

let version: string | null | undefined;
/**
 * The version of the Nunjucks that compiles: part of the cache key. In the bundled CLI it is the
 * bundled copy's, fixed at build time (the installed one may differ); from source, the installed
 * one's. Undefined when it cannot be known, which turns the cache off.
 */
function nunjucksVersion(): string | undefined {
  if (version === undefined) {
    if (typeof __DESCOPE_RUN_NUNJUCKS_VERSION__ === 'string') {
      version = __DESCOPE_RUN_NUNJUCKS_VERSION__;
    } else {
      try {
        const found = (createRequire(import.meta.url)('nunjucks/package.json') as { version?: unknown }).version;
        version = typeof found === 'string' ? found : null;
      } catch {
        version = null;
      }
    }
  }
  return version ?? undefined;
}


// ---------------------------------------------------------------------------------------------
// The json filter

const SafeString = nunjucks.runtime.SafeString;

export type JsonLiteralResult = { ok: true; text: string } | { ok: false; problem: JsonProblem };

const UNSAFE_CHARS = /[<>&\u2028\u2029]/g;
const UNSAFE_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * Emits `value` as a JSON literal. Refuses what JSON.stringify would silently drop or mangle:
 * undefined (at any depth), functions, symbols, bigints, non-finite numbers, Map/Set, cycles,
 * and values whose JSON would be longer than MAX_TEMPLATE_TEXT (counted before anything is written,
 * so an array aliased a million times costs a walk of 16 MiB at most, not gigabytes).
 * Nunjucks SafeStrings (macro output, `| safe`) count as strings.
 */
export function toJsonLiteral(value: unknown, indent?: number, step?: () => void): JsonLiteralResult {
  const seen = new Set<object>();
  // Where the walk is, as segments: the path text is only built for a problem (building it for
  // every item made a large array cost seconds).
  const segments: (string | number)[] = [];
  const here = () =>
    segments.map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('');
  const at = (reason: string): JsonProblem => ({ path: here(), reason });
  // The text's length, counted as the value is walked (with the indentation JSON.stringify adds),
  // so that a value which aliases one array many times is refused before it is written out.
  const pad = indent === undefined ? 0 : Math.min(10, Math.max(0, Math.floor(indent)));
  let size = 0;
  const check = (v: unknown): JsonProblem | undefined => {
    step?.();
    size += (pad > 0 ? 1 + pad * seen.size : 0) + (typeof v === 'string' ? v.length + 2 : v instanceof SafeString ? v.length + 2 : typeof v === 'number' ? numberLength(v) : 5);
    if (size > MAX_TEMPLATE_TEXT) return at(`is more than ${MAX_TEMPLATE_TEXT} characters as JSON`);
    if (v instanceof SafeString) return undefined;
    // Bounded recursion: a value nested deeper than any flow needs is refused, not a stack overflow.
    if (seen.size >= MAX_JSON_DEPTH && typeof v === 'object' && v !== null) {
      return { path: `${here().slice(0, 40)}…`, reason: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
    }
    if (v === undefined) return at('is undefined');
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
    if (typeof v === 'number') return Number.isFinite(v) ? undefined : at(`is ${v}, which JSON cannot hold`);
    if (typeof v === 'function') return at('is a function');
    if (typeof v === 'symbol') return at('is a symbol');
    if (typeof v === 'bigint') return at('is a bigint; convert it to a number or string');
    if (typeof v !== 'object') return at(`is a ${typeof v}`);
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      return check((v as { toJSON: () => unknown }).toJSON());
    }
    if (v instanceof Map || v instanceof Set) {
      return at(`is a ${v instanceof Map ? 'Map' : 'Set'}; convert it to an object or array`);
    }
    if (seen.has(v)) return at('refers back to itself (a cycle)');
    seen.add(v);
    try {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          segments.push(i);
          const problem = check(v[i]);
          segments.pop();
          if (problem) return problem;
        }
        return undefined;
      }
      for (const [key, item] of Object.entries(v)) {
        size += key.length + 3;
        segments.push(key);
        const problem = check(item);
        segments.pop();
        if (problem) return problem;
      }
      return undefined;
    } finally {
      seen.delete(v);
    }
  };
  const problem = check(value);
  if (problem) return { ok: false, problem };
  const replacer = (_key: string, v: unknown) => (v instanceof SafeString ? String(v) : v);
  const text = JSON.stringify(value, replacer, indent) as string;
  return { ok: true, text: text.replace(UNSAFE_CHARS, (ch) => UNSAFE_ESCAPES[ch] ?? ch) };
}
