// Turns what Nunjucks and JSON.parse report into ONE TemplateError per failure: a one-line
// message `templates/x.json.njk:14:9: what is wrong` (file relative to the project root, 1-based
// line and column) and a one-line hint (what to do). Never a stack trace in the message.
//
// Nunjucks' own errors are text like "(/abs/file) [Line 3, Column 8]\n  attempted to output null
// or undefined value", nested once per include level, with a few quirks handled here:
// - runtime errors ("Unable to call …") carry 0-based positions, parse errors 1-based ones;
// - an error inside a macro imported from another file is reported against the CALLING file,
//   with the macro file's line and column, so the file is re-identified from the sources;
// - "template not found" and "filter not found" carry no position: the tag or filter is looked
//   up in the source.
// The undefined-variable message names the variable by reading the `{{ … }}` at the reported
// position and walking the render context to the first missing segment.

import path from 'node:path';
import { TemplateError } from '../../errors.ts';

/** What the renderer knows when a render fails; everything is read-only here. */
export interface RenderFailureContext {
  /** Absolute templates folder. */
  root: string;
  /** Project root, for the file names in messages. */
  projectRoot: string;
  /** Absolute path of the template that was rendered. */
  entry: string;
  /** Absolute path → source text of every template read so far. */
  sources: ReadonlyMap<string, string>;
  /** Template names that were refused because they escape `root`, with the reason. */
  escaped: ReadonlyMap<string, string>;
  /** Problems the `json` filter met during this render, oldest first. */
  jsonProblems: readonly JsonProblem[];
  /** The context the template was rendered with. */
  context: Record<string, unknown>;
  /** Why the sandbox stopped the render (template-guard.ts), when it did: this is the error. */
  guard?: { problem: string; hint: string; file?: string; line?: number; col?: number; locate?: RegExp } | undefined;
}

/** A value the `json` filter could not emit; `path` is where inside the value, `''` for the value itself. */
export interface JsonProblem {
  path: string;
  reason: string;
}

interface Frame {
  file: string;
  line?: number;
  col?: number;
}

interface ParsedNunjucksError {
  frames: Frame[];
  /** The message without the frame headers and without a `SomethingError: ` prefix. */
  core: string;
  /** `Error`, `TypeError`, … when Nunjucks wrapped a JavaScript error (runtime), else undefined. */
  jsError: string | undefined;
}

const UNDEFINED_OUTPUT = 'attempted to output null or undefined value';

/** The display name of a file: relative to the project root, with `/` separators. */
export function displayPath(projectRoot: string, absolute: string): string {
  return path.relative(projectRoot, absolute).split(path.sep).join('/');
}

export function templateErrorFromNunjucks(error: unknown, ctx: RenderFailureContext): TemplateError {
  const message = error instanceof Error ? error.message : String(error);
  const parsed = parseNunjucksMessage(message);
  const innermost = parsed.frames.at(-1)?.file ?? ctx.entry;
  // The innermost frame with a position is where the error happened; outer ones only repeat the
  // position of the call or include that led there.
  const positioned = parsed.frames.findLast((f) => f.line !== undefined);
  const show = (file: string) => displayPath(ctx.projectRoot, file);

  if (ctx.guard) {
    // The first limit hit or refused reach: whatever Nunjucks made of it on the way out is noise.
    // Its position: from the compiler when it knew; else the last call Nunjucks tracked (0-based);
    // else the first place in the sources that reads the refused name.
    const g = ctx.guard;
    const where =
      g.file !== undefined && g.line !== undefined
        ? `${show(g.file)}:${g.line}${g.col !== undefined ? `:${g.col}` : ''}`
        : positioned?.line !== undefined
          ? `${show(positioned.file)}:${positioned.line + 1}:${(positioned.col ?? 0) + 1}`
          : (g.locate ? findInFiles(ctx, [innermost, ctx.entry], g.locate) : undefined) ?? show(innermost);
    return new TemplateError(`${where}: ${g.problem}`, { hint: g.hint, cause: error });
  }

  if (parsed.core === UNDEFINED_OUTPUT && positioned?.line !== undefined) {
    // Outer frames with a position are the macro calls that led there (0-based, innermost last).
    const calls = parsed.frames
      .filter((f) => f !== positioned && f.line !== undefined)
      .map((f) => ({ file: f.file, line: (f.line ?? 0) + 1, col: (f.col ?? 0) + 1 }));
    return undefinedOutputError(ctx, parsed.frames, positioned, calls, error);
  }

  const notFound = /^template not found: (.*)$/s.exec(parsed.core);
  if (notFound?.[1] !== undefined) {
    return missingIncludeError(ctx, innermost, notFound[1], error);
  }

  const noFilter = /^filter not found: (.*)$/.exec(parsed.core);
  if (noFilter?.[1] !== undefined) {
    const name = noFilter[1];
    const at = findInSources(ctx, innermost, new RegExp(`\\|\\s*${escapeRegExp(name)}\\b`));
    return new TemplateError(`${at ?? show(innermost)}: unknown filter \`${name}\``, {
      hint: 'descope-run adds one filter, `json`; the built-in Nunjucks filters are listed at https://mozilla.github.io/nunjucks/templating.html#builtin-filters',
      cause: error,
    });
  }

  if (parsed.jsError !== undefined) {
    // Runtime error: Nunjucks tracked the position of the last call, 0-based.
    const where =
      positioned?.line !== undefined
        ? `${show(positioned.file)}:${positioned.line + 1}:${(positioned.col ?? 0) + 1}`
        : show(innermost);
    const call = /^Unable to call `(.*)`, which is undefined or falsey$/s.exec(parsed.core);
    if (call?.[1] !== undefined) {
      return new TemplateError(`${where}: \`${call[1]}\` is not defined, so it cannot be called`, {
        hint: 'Import the macro first ({% from "macros/ui.njk" import name %} or {% import "macros/ui.njk" as ui %}) or fix its name',
        cause: error,
      });
    }
    if (/Maximum call stack size exceeded|templates nest deeper than/.test(parsed.core)) {
      return new TemplateError(`${show(innermost)}: template recursion is too deep`, {
        hint: 'A template includes, imports or extends itself, or a macro calls itself, directly or through others, without a condition that stops it',
        cause: error,
      });
    }
    return new TemplateError(`${where}: ${oneLine(parsed.core)}`, {
      hint: 'Check the expression at that position',
      cause: error,
    });
  }

  // Everything else comes from the lexer, parser or compiler: a syntax error.
  if (positioned?.line !== undefined) {
    const col = positioned.col !== undefined ? `:${positioned.col}` : '';
    return new TemplateError(
      `${show(positioned.file)}:${positioned.line}${col}: template syntax error: ${syntaxMessage(parsed.core)}`,
      {
        hint: 'Fix the Nunjucks syntax at that position: {{ expression }}, {% tag %} … {% endtag %}, {# comment #}',
        cause: error,
      },
    );
  }
  if (/end of file/.test(parsed.core)) {
    const lastLine = lineCount(ctx.sources.get(innermost) ?? '');
    return new TemplateError(
      `${show(innermost)}:${lastLine}: template syntax error: ${syntaxMessage(parsed.core)}`,
      {
        hint: 'A block is not closed: every {% if %}, {% for %}, {% macro %}, {% call %}, {% set %}…{% endset %} and {% raw %} needs its {% end… %}',
        cause: error,
      },
    );
  }
  return new TemplateError(`${show(innermost)}: template syntax error: ${syntaxMessage(parsed.core)}`, {
    hint: 'Fix the Nunjucks syntax: {{ expression }}, {% tag %} … {% endtag %}, {# comment #}',
    cause: error,
  });
}

/** Reads the `(file) [Line x, Column y]` headers Nunjucks prepends, one per template level. */
export function parseNunjucksMessage(message: string): ParsedNunjucksError {
  const frames: Frame[] = [];
  let rest = message;
  const header = /^\s*(?:Template render error: )?\((.*?)\)(?: \[Line (\d+)(?:, Column (\d+))?\])?\n/s;
  for (;;) {
    const m = header.exec(rest);
    if (!m || m[1] === undefined) break;
    const frame: Frame = { file: m[1] };
    if (m[2] !== undefined) frame.line = Number(m[2]);
    if (m[3] !== undefined) frame.col = Number(m[3]);
    frames.push(frame);
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/^\s*(?:Template render error: )?/, '').trim();
  const js = /^((?:[A-Z][A-Za-z]*)?Error): /.exec(rest);
  return {
    frames,
    core: js ? rest.slice(js[0].length).trim() : rest,
    jsError: js?.[1],
  };
}

// ---------------------------------------------------------------------------------------------
// Undefined values

interface Position {
  file: string;
  line: number;
  col: number;
}

function undefinedOutputError(
  ctx: RenderFailureContext,
  frames: Frame[],
  positioned: Frame,
  calls: Position[],
  cause: unknown,
): TemplateError {
  const line = positioned.line ?? 1;
  const col = positioned.col ?? 1;
  // The file named by Nunjucks is wrong when the output sits in a macro imported from another
  // file; the right one has a `{{` at exactly that position.
  const candidates = [positioned.file, ...frames.map((f) => f.file).reverse(), ...ctx.sources.keys()];
  const file = candidates.find((f) => outputExpressionAt(ctx.sources.get(f), line, col) !== undefined) ?? positioned.file;
  const where = `${displayPath(ctx.projectRoot, file)}:${line}:${col}`;
  const expression = outputExpressionAt(ctx.sources.get(file), line, col);
  if (expression === undefined) {
    return new TemplateError(`${where}: a template value is undefined`, {
      hint: 'Define the variable in the context (environment vars or flow variables) or give a fallback with | default(…)',
      cause,
    });
  }

  const subject = splitTopLevel(expression, '|')[0]?.trim() ?? expression;
  const usesJson = /\|\s*json\b/.test(expression);
  const problem = usesJson ? ctx.jsonProblems.at(-1) : undefined;
  const nearestCall = calls.at(-1);
  const calledFrom =
    nearestCall && nearestCall.file !== file ? ` (called from ${displayPath(ctx.projectRoot, nearestCall.file)}:${nearestCall.line}:${nearestCall.col})` : '';
  if (problem && problem.path !== '' && problem.reason === 'is undefined') {
    // The undefined member was built from a dict literal, here or in a macro call's arguments:
    // `{ text: vars.appName }`. Name the variable when exactly one candidate is undefined.
    const origin = undefinedOrigin(ctx, problem.path, [
      { file, line, col },
      ...calls.slice().reverse(),
    ]);
    if (origin) {
      return new TemplateError(
        `${displayPath(ctx.projectRoot, origin.file)}:${origin.line}:${origin.col}: undefined template variable \`${origin.named}\``,
        { hint: `${undefinedHint(ctx.context, origin.segments, origin.missing)} (it reaches | json at ${where} as \`${subject}${problem.path}\`)`, cause },
      );
    }
  }
  if (problem && problem.path !== '') {
    return new TemplateError(
      `${where}: \`${subject}\` cannot be emitted as JSON: \`${subject}${problem.path}\` ${problem.reason}${calledFrom}`,
      {
        hint:
          problem.reason === 'is undefined'
            ? 'Every value passed to | json must be defined; give a fallback with | default(…) or drop the key'
            : / characters as JSON$/.test(problem.reason)
              ? 'A flow or theme document is a few MB at most: check for a value repeated many times (the same array in many places). This limit is fixed (16 MiB)'
              : 'Pass | json plain data: strings, numbers, booleans, null, arrays and objects, nested a few levels at most',
        cause,
      },
    );
  }
  if (problem && problem.reason !== 'is undefined') {
    return new TemplateError(`${where}: \`${subject}\` cannot be emitted as JSON: it ${problem.reason}${calledFrom}`, {
      hint: / characters as JSON$/.test(problem.reason)
        ? 'A flow or theme document is a few MB at most: check for a value repeated many times (the same array in many places). This limit is fixed (16 MiB)'
        : 'Pass | json plain data: strings, numbers, booleans, null, arrays and objects',
      cause,
    });
  }

  const segments = parseVariablePath(subject);
  if (!segments) {
    return new TemplateError(`${where}: \`{{ ${expression} }}\` produced an undefined value`, {
      hint: 'Check each variable in the expression; give a fallback with | default(…) where one is intended',
      cause,
    });
  }
  const found = firstMissing(ctx.context, segments);
  const named = found ? formatPath(segments.slice(0, found.index + 1)) : formatPath(segments);
  const local = found?.index === 0 ? localDefinition(ctx, file, segments[0] as string) : undefined;
  if (local) {
    return new TemplateError(`${where}: template variable \`${named}\` is undefined${calledFrom}`, { hint: local, cause });
  }
  const state = found?.value === null ? 'is null' : 'is undefined';
  const message = `${where}: undefined template variable \`${named}\`${named === subject ? '' : ` (in \`${subject}\`)`}${calledFrom}`;
  const nullMessage = `${where}: template variable \`${named}\` is null${calledFrom}`;
  return new TemplateError(state === 'is null' ? nullMessage : message, {
    hint: undefinedHint(ctx.context, segments, found),
    cause,
  });
}

interface Origin extends Position {
  named: string;
  segments: string[];
  missing: Missing;
}

/**
 * Looks for `key: some.path` (the last key of `memberPath`) in the `{{ … }}` or macro call at each
 * position, and returns the one path that is undefined in the render context, if exactly one is.
 */
function undefinedOrigin(ctx: RenderFailureContext, memberPath: string, places: Position[]): Origin | undefined {
  const key = /(?:\.([A-Za-z_$][\w$]*)|\["((?:[^"\\]|\\.)*)"\])$/.exec(memberPath);
  const name = key?.[1] ?? key?.[2];
  if (name === undefined) return undefined;
  const pattern = new RegExp(
    `(?:^|[{,\\s])["']?${escapeRegExp(name)}["']?\\s*:\\s*([A-Za-z_$][\\w$]*(?:\\s*\\.\\s*[A-Za-z_$][\\w$]*|\\[\\s*\\d+\\s*\\])*)`,
    'g',
  );
  // First the expression or call itself, then (the value may have been built by a {% set %}
  // earlier) the whole of each file involved.
  const regions = [
    ...places.map((p) => ({ file: p.file, whole: false, line: p.line, col: p.col })),
    ...[...new Set(places.map((p) => p.file))].map((f) => ({ file: f, whole: true, line: 1, col: 1 })),
  ];
  for (const place of regions) {
    const source = ctx.sources.get(place.file);
    const start = source === undefined ? undefined : offsetOf(source, place.line, place.col);
    if (source === undefined || start === undefined) continue;
    const end = place.whole ? source.length : enclosingEnd(source, start);
    const found = new Map<string, Origin>();
    for (const m of source.slice(start, end).matchAll(pattern)) {
      const text = m[1] ?? '';
      const segments = parseVariablePath(text);
      const missing = segments ? firstMissing(ctx.context, segments) : undefined;
      if (!segments || !missing || missing.value !== undefined) continue;
      const named = formatPath(segments.slice(0, missing.index + 1));
      const offset = start + (m.index ?? 0) + (m[0].length - text.length);
      found.set(named, { file: place.file, ...positionOf(source, offset), named, segments, missing });
    }
    if (found.size === 1) return [...found.values()][0];
    if (found.size > 1) return undefined;
  }
  return undefined;
}

/** The end of the `{{ … }}` or `( … )` that starts at `start` (strings and nesting respected). */
function enclosingEnd(source: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < source.length; i++) {
    const ch = source[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
      if (depth <= 0) return i + 1;
    }
  }
  return source.length;
}

interface Missing {
  /** Index of the first segment whose value is undefined or null. */
  index: number;
  /** The object that lacks it (undefined when the first segment is not in the context). */
  parent: unknown;
  value: undefined | null;
}

function firstMissing(context: Record<string, unknown>, segments: readonly string[]): Missing | undefined {
  let current: unknown = context;
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i] as string;
    const next = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined;
    if (next === undefined || next === null) {
      return { index: i, parent: i === 0 ? undefined : current, value: next };
    }
    current = next;
  }
  return undefined;
}

/** A hint when `name` is a macro parameter or set by the template, rather than a context value. */
function localDefinition(ctx: RenderFailureContext, file: string, name: string): string | undefined {
  const source = ctx.sources.get(file);
  if (source === undefined) return undefined;
  const show = (offset: number) => `${displayPath(ctx.projectRoot, file)}:${positionOf(source, offset).line}`;
  for (const m of source.matchAll(/\{%-?\s*macro\s+([A-Za-z_$][\w$]*)\s*\(([^)]*)\)/g)) {
    const params = (m[2] ?? '').split(',').map((p) => p.split('=')[0]?.trim());
    if (params.includes(name)) {
      return `\`${name}\` is a parameter of macro \`${m[1]}\` (${show(m.index ?? 0)}) and the call gave it no value: pass it, or give the parameter a default (${name}=…)`;
    }
  }
  const set = new RegExp(`\\{%-?\\s*set\\s+(?:[\\w$]+\\s*,\\s*)*${escapeRegExp(name)}\\b[^%]*?=`).exec(source);
  if (set) {
    return `\`${name}\` is set at ${show(set.index)} from a value that is undefined: check the expression there (a | default(…) may help)`;
  }
  return undefined;
}

function undefinedHint(
  context: Record<string, unknown>,
  segments: readonly string[],
  found: Missing | undefined,
): string {
  const fallback = 'or give a fallback with | default(…) where one is intended';
  if (found?.value === null) {
    return `Emit null with {{ ${formatPath(segments.slice(0, found.index + 1))} | json }}, or set a value`;
  }
  if (!found) {
    return `It is not in the render context, so it must come from the template itself ({% set %}, a macro argument or a loop variable): check that, ${fallback}`;
  }
  if (found.index === 0) {
    const keys = listKeys(context);
    const have = keys === '' ? 'the render context is empty' : `the render context has: ${keys}`;
    return `It is not set by the template and ${have}; pass it in the \`vars\` of the flow or theme in descope.config.ts, ${fallback}`;
  }
  const owner = formatPath(segments.slice(0, found.index));
  if (found.parent === null || typeof found.parent !== 'object') {
    return `\`${owner}\` is ${kindOfValue(found.parent)}, not an object, so it has no \`${segments[found.index]}\``;
  }
  const where = segments[0] === 'vars' ? "the environment's vars (environments/*.ts)" : 'the config';
  const keys = listKeys(found.parent);
  return `\`${owner}\` has ${keys === '' ? 'nothing' : keys}; add \`${segments[found.index]}\` to ${where}, fix the name, ${fallback}`;
}

function kindOfValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `a ${typeof value}`;
}

/** The defined keys of an object, sorted, or '' when there are none. */
function listKeys(value: unknown): string {
  if (value === null || typeof value !== 'object') return '';
  const keys = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k)
    .sort();
  return keys.length > 15 ? `${keys.slice(0, 15).join(', ')}, …` : keys.join(', ');
}

/** `a.b[0]["c d"]` → ['a', 'b', '0', 'c d'], or undefined for anything but a plain path. */
export function parseVariablePath(expression: string): string[] | undefined {
  const text = expression.trim();
  const head = /^[A-Za-z_$][\w$]*/.exec(text);
  if (!head) return undefined;
  if (['true', 'false', 'none', 'null', 'True', 'False', 'None', 'not'].includes(head[0])) return undefined;
  const segments = [head[0]];
  let rest = text.slice(head[0].length);
  const step = /^\s*(?:\.\s*([A-Za-z_$][\w$]*)|\[\s*(?:(\d+)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\])/;
  while (rest.trim() !== '') {
    const m = step.exec(rest);
    if (!m) return undefined;
    segments.push((m[1] ?? m[2] ?? m[3] ?? m[4]) as string);
    rest = rest.slice(m[0].length);
  }
  return segments;
}

function formatPath(segments: readonly string[]): string {
  return segments
    .map((s, i) => (i === 0 ? s : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : /^\d+$/.test(s) ? `[${s}]` : `[${JSON.stringify(s)}]`))
    .join('');
}

/** The inside of the `{{ … }}` that starts at 1-based (line, col), or undefined if none does. */
export function outputExpressionAt(source: string | undefined, line: number, col: number): string | undefined {
  if (source === undefined) return undefined;
  const start = offsetOf(source, line, col);
  if (start === undefined || !source.startsWith('{{', start)) return undefined;
  let quote: string | undefined;
  for (let i = start + 2; i < source.length; i++) {
    const ch = source[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (source.startsWith('}}', i)) {
      return source.slice(start + 2, i).replace(/^-/, '').replace(/-$/, '').trim();
    }
  }
  return undefined;
}

/** Splits on `separator` outside strings, brackets, braces and parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === separator && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Includes that are missing or escape the templates folder

function missingIncludeError(
  ctx: RenderFailureContext,
  includer: string,
  name: string,
  cause: unknown,
): TemplateError {
  const includerName = displayPath(ctx.root, includer);
  const tag = findTemplateTag(ctx.sources.get(includer), includerName, name);
  const where = tag
    ? `${displayPath(ctx.projectRoot, includer)}:${tag.line}:${tag.col}`
    : displayPath(ctx.projectRoot, includer);
  const written = tag ? `{% ${tag.keyword} "${tag.raw}" %}` : `"${name}"`;
  const folder = `${displayPath(ctx.projectRoot, ctx.root) || '.'}/`;
  const escape = ctx.escaped.get(name);
  if (escape !== undefined) {
    return new TemplateError(`${where}: ${written} reaches outside the templates folder ${folder}: the name ${escape}`, {
      hint: `Templates may only include, import or extend files inside ${folder}: a name starting with ./ or ../ is relative to the including file, any other name is relative to ${folder}`,
      cause,
    });
  }
  const looked = displayPath(ctx.projectRoot, path.resolve(ctx.root, name));
  return new TemplateError(`${where}: ${written}: template not found (looked for ${looked})`, {
    hint: `Create the file or fix the name; names starting with ./ or ../ are relative to the including file, others to ${folder}`,
    cause,
  });
}

interface TagPosition {
  keyword: string;
  raw: string;
  line: number;
  col: number;
}

function findTemplateTag(source: string | undefined, includerName: string, name: string): TagPosition | undefined {
  if (source === undefined) return undefined;
  const tag = /\{%-?\s*(include|import|from|extends)\s+(["'])((?:\\.|(?!\2).)*?)\2/g;
  for (const m of source.matchAll(tag)) {
    const raw = m[3] ?? '';
    const resolved = raw.startsWith('./') || raw.startsWith('../') ? path.posix.join(path.posix.dirname(includerName), raw) : raw;
    if (raw === name || resolved === name) {
      const { line, col } = positionOf(source, m.index ?? 0);
      return { keyword: m[1] ?? 'include', raw, line, col };
    }
  }
  return undefined;
}

/** `file:line:col` of the first match of `pattern` in these files (of this render: the sources hold every file read). */
function findInFiles(ctx: RenderFailureContext, files: readonly string[], pattern: RegExp): string | undefined {
  for (const file of files) {
    const source = ctx.sources.get(file);
    const m = source === undefined ? null : pattern.exec(source);
    if (source !== undefined && m) {
      const { line, col } = positionOf(source, m.index);
      return `${displayPath(ctx.projectRoot, file)}:${line}:${col}`;
    }
  }
  return undefined;
}

/** `file:line:col` of the first match of `pattern`, looking in `preferred` first. */
function findInSources(ctx: RenderFailureContext, preferred: string, pattern: RegExp): string | undefined {
  for (const file of [preferred, ...ctx.sources.keys()]) {
    const source = ctx.sources.get(file);
    const m = source === undefined ? null : pattern.exec(source);
    if (source !== undefined && m) {
      const { line, col } = positionOf(source, m.index);
      return `${displayPath(ctx.projectRoot, file)}:${line}:${col}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Output that is not JSON

/** The TemplateError for a rendered output that JSON.parse refused. `file` is the display name. */
export function notJsonError(file: string, output: string, cause: unknown): TemplateError {
  const located = locateJsonSyntaxError(output) ?? {
    offset: output.length,
    message: cause instanceof Error ? cause.message : 'invalid JSON',
  };
  if (output.trim() === '') {
    return new TemplateError(`${file}: the template rendered no output, so it is not JSON`, {
      hint: 'A flow template must render one JSON object',
      cause,
    });
  }
  const { line, col } = positionOf(output, located.offset);
  const text = (output.split('\n')[line - 1] ?? '').replace(/\r$/, '');
  return new TemplateError(
    `${file}: rendered output is not valid JSON at output line ${line}, column ${col}: ${located.message}: ${excerpt(text, col)}`,
    {
      hint: 'Emit every value with {{ value | json }} (it quotes and escapes strings), and put commas between items only: {% if not loop.last %},{% endif %}',
      cause,
    },
  );
}

function excerpt(line: string, col: number): string {
  const width = 60;
  const from = Math.max(0, col - 1 - width);
  const to = Math.min(line.length, col - 1 + width);
  const marked = `${line.slice(from, col - 1)}⟨here⟩${line.slice(col - 1, to)}`;
  return `${from > 0 ? '…' : ''}${marked.trim()}${to < line.length ? '…' : ''}`;
}

/**
 * Finds the first JSON syntax error in `text`: its offset and a plain-words description. Returns
 * undefined when `text` is valid JSON. Independent of the wording of V8's JSON.parse errors.
 */
export function locateJsonSyntaxError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (offset: number, message: string): never => {
    throw new JsonSyntax(offset, message);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const describe = (offset: number): string => {
    if (offset >= text.length) return 'the output ends too early';
    const ch = text[offset] as string;
    if (ch === "'") return "strings must use double quotes, not '";
    const word = /^[A-Za-z_$][\w$-]*/.exec(text.slice(offset))?.[0];
    if (word === 'undefined' || word === 'NaN' || word === 'Infinity') return `\`${word}\` is not a JSON value`;
    if (word) return `unexpected word \`${word}\` (a string without quotes? emit it with | json)`;
    return `unexpected character ${JSON.stringify(ch)}`;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail(i, 'nesting is too deep');
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === '}') fail(i, "trailing comma before '}'");
        if (text[i] !== '"') fail(i, `expected a property name in double quotes, found ${describe(i)}`);
        string();
        ws();
        if (text[i] !== ':') fail(i, `expected ':' after the property name, found ${describe(i)}`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(i, `expected ',' or '}' after a property value, found ${describe(i)}`);
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail(i, "trailing comma before ']'");
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(i, `expected ',' or ']' after an array item, found ${describe(i)}`);
      }
    }
    if (ch === '"') return string();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    fail(i, `expected a value, found ${describe(i)}`);
  };
  const string = (): void => {
    const start = i;
    i++;
    while (i < text.length) {
      const ch = text[i] as string;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail(i, 'invalid escape sequence in a string');
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) {
        fail(i, 'raw line break or control character inside a string (emit strings with | json)');
      }
      i++;
    }
    fail(start, 'unterminated string');
  };
  const number = (): void => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(i, 'invalid number');
    i += (m as RegExpExecArray)[0].length;
    if (/^[\w.]/.test(text[i] ?? '')) fail(i, 'invalid number');
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail(i, `unexpected content after the end of the JSON value: ${describe(i)}`);
    return undefined;
  } catch (error) {
    if (error instanceof JsonSyntax) return { offset: error.offset, message: error.message };
    throw error;
  }
}

class JsonSyntax extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Text positions

/** 1-based line and column of a 0-based offset (lines end at `\n`). */
export function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

function offsetOf(text: string, line: number, col: number): number | undefined {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next === -1) return undefined;
    offset = next + 1;
  }
  const end = text.indexOf('\n', offset);
  const target = offset + col - 1;
  if (col < 1 || (end !== -1 && target > end)) return undefined;
  return target;
}

function lineCount(text: string): number {
  const trimmed = text.replace(/\s+$/, '');
  return trimmed === '' ? 1 : trimmed.split('\n').length;
}

/** The parser's message without its internal prefix ("parseIf: expected …" → "expected …"). */
function syntaxMessage(core: string): string {
  return oneLine(core.replace(/^parse[A-Za-z]*: /, ''));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
