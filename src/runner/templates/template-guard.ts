// The template sandbox: what a Nunjucks template may reach, and how much time and memory one render
// may take. What templates may and may not do is written down for users in templates/README.md
// ("What templates may do"); this module is how it holds.
//
// Nunjucks compiles a template to JavaScript that calls a small runtime (member lookup, name
// lookup, calls, output, scopes) handed to it as a parameter, and it gives that runtime no
// protection: `{{ range.constructor("return process.env.X")() }}` runs code. descope-run keeps
// Nunjucks and its compiled code as they are, with three changes, all local to one renderer
// (nothing module-global is patched, so another Nunjucks environment in the process is unaffected):
//   1. Every compiled template runs with this module's runtime instead of Nunjucks' own (the
//      loader wraps the compiled functions; `wrap` below), cached code included:
//      - member lookup (`a.b`, `a[b]`) reads own properties of objects, arrays and strings, plus a
//        short list of string, array and number methods; nothing on a function; and refuses the
//        names that lead to JavaScript itself (constructor, __proto__, prototype, __lookupGetter__…);
//      - a top-level name is a frame variable, a render-context key or a global, own keys only
//        (`{{ constructor }}` used to be Object);
//      - calls run with no `this`, nest at most MAX_MACRO_DEPTH deep, and never call the Function
//        constructor or eval;
//      - scopes (Frame) count steps, so a loop that does nothing is still seen.
//   2. The compiler emits `~` and `+` as runtime calls (bounded concatenation), array literals
//      through a size check, dict keys as own keys (`{"__proto__": x}` is a key, not a prototype),
//      and refuses regular-expression literals (r/…/), whose run time cannot be bounded. The
//      compiled code differs from plain Nunjucks', so GUARD_VERSION is part of the cache key.
//   3. The environment's filters, tests and globals are own-key tables (`| constructor` is not a
//      filter); every filter is wrapped (arguments and result sized, regular expressions refused,
//      attribute names checked), and `range` makes at most MAX_RANGE_ITEMS numbers.
//
// Limits, per render of one template (its includes, imports and macros included):
//   - time: DESCOPE_RUN_RENDER_TIMEOUT seconds (default 10), checked every STEP_CHECK steps;
//   - text: any string a template builds, the text any value it outputs or concatenates would
//     become, and the rendered output: MAX_TEMPLATE_TEXT characters;
//   - range() and anything that splits into items (split, | list, | slice, | batch): MAX_RANGE_ITEMS;
//   - macro calls nested MAX_MACRO_DEPTH deep (includes nest at most 32: templates.ts).
// Every limit hit and every refused reach ends the render with ONE failure (the first), which
// templates.ts turns into one TemplateError naming the template, the line when known, the limit
// and what to do.
import nunjucks from 'nunjucks';
import transformer from 'nunjucks/src/transformer.js';
import { MAX_JSON_DEPTH } from '../../dsl/schema.ts';

/** The most numbers one range() makes, and the most parts a split or | list makes. */
export const MAX_RANGE_ITEMS = 100_000;
/** The longest text (in UTF-16 units) a template builds or renders: 16 MiB, far above any real flow. */
export const MAX_TEMPLATE_TEXT = 16 * 1024 * 1024;
/** How deep macro calls (and caller() blocks) nest. */
export const MAX_MACRO_DEPTH = 200;
/** Seconds one template render may take unless DESCOPE_RUN_RENDER_TIMEOUT says otherwise. */
export const DEFAULT_RENDER_TIMEOUT_SECONDS = 10;
/** Part of the compiled-template cache key: the compiled code depends on the compiler hooks below. */
export const GUARD_VERSION = 'descope-run template guard 1';
/** Steps between two looks at the clock (a step is a lookup, call, output or variable set). */
const STEP_CHECK = 1024;
/** Text sizes of values at least this large are remembered; smaller ones cost less to count again. */
const REMEMBER_FROM = 512;

/** How long one template render may take: DESCOPE_RUN_RENDER_TIMEOUT seconds, else 10. */
export function renderTimeoutMs(processEnv: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(processEnv.DESCOPE_RUN_RENDER_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_RENDER_TIMEOUT_SECONDS * 1000;
}

/** Why a render was stopped: what the template did, what to do, and where when the compiler knew. */
export interface GuardFailure {
  problem: string;
  hint: string;
  /** Absolute file and 1-based position, when known exactly (compile time). */
  file?: string;
  line?: number;
  col?: number;
  /** Finds the offending text in the sources when no position is known. */
  locate?: RegExp;
}

export class TemplateGuardError extends Error {
  constructor(readonly failure: GuardFailure) {
    super(failure.problem);
    this.name = 'TemplateGuardError';
  }
}

export interface TemplateGuard {
  /** The runtime compiled templates run with. */
  readonly runtime: Readonly<Record<string, unknown>>;
  /** Starts a render: resets the clock, the depth and the failure. */
  begin(): void;
  /** The first failure of the current render, if any. */
  readonly failure: GuardFailure | undefined;
  /** One step of work (for long loops outside the runtime, e.g. the json filter's walk). */
  step(): void;
  /** Compiles a template to code (Nunjucks' compile, with the hooks above). */
  compile(src: string, asyncFilters: string[], extensions: unknown[], name: string, opts: Record<string, unknown>): string;
  /** The compiled template's functions, made to run with `runtime`. */
  wrap(props: Record<string, unknown>): Record<string, unknown>;
  /** Makes the environment's filters, tests and globals safe and bounded. Call once, after adding filters. */
  install(env: nunjucks.Environment): void;
}

const README = 'templates/README.md, "What templates may do"';
const READ_HINT = `Templates read data: the own keys of objects and arrays, and a few string, array and number methods (${README})`;
const TEXT_HINT = `This limit is fixed (${MAX_TEMPLATE_TEXT / 1024 / 1024} MiB, far above any real flow): check for a loop that keeps doubling a string or repeating a value`;

/**
 * Member names a template may never read unless the object has them as its own data: the ways
 * from a value to its prototype, to the Function constructor or to calling a function with
 * another `this`.
 */
const BLOCKED = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'valueOf',
  'toString',
  'call',
  'apply',
  'bind',
  'caller',
  'callee',
  'arguments',
]);

/** Functions no call may reach, whatever way to them is found. */
const FORBIDDEN_CALLS = new Set<unknown>([
  Function,
  eval,
  Object.getPrototypeOf(async function () {}).constructor,
  Object.getPrototypeOf(function* () {}).constructor,
  Object.getPrototypeOf(async function* () {}).constructor,
  setTimeout,
  setInterval,
  setImmediate,
  queueMicrotask,
]);

// The methods a template may call, per type. None takes a callback, none mutates, none runs a
// regular expression; `pre` checks the arguments before the call (so a result too large is never
// built) and may replace them.
type Pre = (target: never, args: unknown[]) => unknown[] | void;
const STRING_METHODS: Record<string, Pre | null> = {
  at: null,
  charAt: null,
  charCodeAt: null,
  codePointAt: null,
  endsWith: null,
  includes: null,
  indexOf: null,
  lastIndexOf: null,
  localeCompare: null,
  // Unicode normalisation can make one character eighteen (NFKD of U+FDFA).
  normalize: (s: string) => checkLength(s.length * 18, '.normalize()'),
  slice: null,
  startsWith: null,
  substring: null,
  substr: null,
  toLowerCase: null,
  toUpperCase: null,
  toString: null,
  trim: null,
  trimStart: null,
  trimEnd: null,
  concat: null,
  padStart: (_s: string, args) => checkLength(Number(args[0]), '.padStart()'),
  padEnd: (_s: string, args) => checkLength(Number(args[0]), '.padEnd()'),
  repeat: (s: string, args) => checkLength(s.length * Number(args[0]), '.repeat()'),
  split: (_s: string, args) => {
    const asked = args[1] === undefined ? Infinity : Number(args[1]) >>> 0;
    // One more than allowed, so that "too many" can be told from "exactly the limit".
    return [args[0], Math.min(asked, MAX_RANGE_ITEMS + 1)];
  },
};
const ARRAY_METHODS: Record<string, Pre | null> = {
  at: null,
  includes: null,
  indexOf: null,
  lastIndexOf: null,
  slice: null,
  join: null, // sized by the wrapper (joinedLength)
  concat: (a: unknown[], args) => {
    const count = args.reduce<number>((n, arg) => n + (Array.isArray(arg) ? arg.length : 1), a.length);
    if (count > MAX_RANGE_ITEMS) fail({ problem: `.concat() would make an array of ${count} items; at most ${MAX_RANGE_ITEMS}`, hint: 'Loop over the data instead of building a large array' });
  },
};
const NUMBER_METHODS: Record<string, Pre | null> = { toFixed: null, toPrecision: null, toExponential: null, toString: null };

function checkLength(length: number, what: string): void {
  if (length > MAX_TEMPLATE_TEXT) {
    fail({ problem: `${what} would build a string of ${Math.round(length)} characters; at most ${MAX_TEMPLATE_TEXT}`, hint: TEXT_HINT });
  }
}

// The failure of the guard that is running. Rendering is synchronous and guards do not nest, so
// one module-level slot, set by the running guard's begin(), is enough for the helpers above.
let current: { record(failure: GuardFailure): void } | undefined;

function fail(failure: GuardFailure): never {
  current?.record(failure);
  throw new TemplateGuardError(failure);
}

interface NunjucksFrame {
  variables: Record<string, unknown>;
  parent: NunjucksFrame | undefined;
  topLevel: boolean;
  isolateWrites: boolean | undefined;
  set(name: string, value: unknown, resolveUp?: boolean): void;
  push(isolateWrites?: boolean): NunjucksFrame;
  lookup(name: string): unknown;
}
type FrameClass = new (parent?: NunjucksFrame, isolateWrites?: boolean) => NunjucksFrame;
type RenderFunction = (env: unknown, context: unknown, frame: NunjucksFrame, runtime: unknown, cb: unknown) => unknown;

interface CompilerNode {
  typename: string;
  lineno: number;
  colno: number;
  value?: unknown;
  key?: CompilerNode;
  left?: CompilerNode;
  right?: CompilerNode;
  children?: CompilerNode[];
}
interface CompilerInstance {
  _emit(code: string): void;
  compile(node: CompilerNode, frame: unknown): void;
  _compileExpression(node: CompilerNode, frame: unknown): void;
  _compileAggregate(node: CompilerNode, frame: unknown, start: string, end: string): void;
  fail(message: string, lineno?: number, colno?: number): never;
  getCode(): string;
  [method: string]: unknown;
}
interface NunjucksInternals {
  compiler: { Compiler: new (name: string, throwOnUndefined: boolean) => CompilerInstance };
  parser: { parse(src: string, extensions: unknown[], opts: unknown): unknown };
  runtime: Record<string, unknown> & { Frame: FrameClass; SafeString: new (val: string) => { val: string; length: number } };
  lib: { isObject(value: unknown): boolean };
}
interface EnvironmentTables {
  filters: Record<string, (...args: unknown[]) => unknown>;
  tests: Record<string, unknown>;
  globals: Record<string, unknown>;
}

const internals = nunjucks as unknown as NunjucksInternals;
const SafeString = internals.runtime.SafeString;

export function createTemplateGuard(options: { timeoutMs: number }): TemplateGuard {
  const base = internals.runtime;
  let deadline = 0;
  let countdown = STEP_CHECK;
  let depth = 0;
  let failure: GuardFailure | undefined;
  const self = {
    record(f: GuardFailure) {
      failure ??= f;
    },
  };
  /** Text sizes of the arrays and objects seen (WeakMap: values the template holds, once each). */
  const sizes = new WeakMap<object, number>();

  const step = (): void => {
    if (--countdown > 0) return;
    countdown = STEP_CHECK;
    if (Date.now() > deadline) {
      const seconds = options.timeoutMs / 1000;
      fail({
        problem: `rendering took longer than ${seconds} s and was stopped`,
        hint: `Look for a loop or recursion that does not end; if the template really needs longer, set DESCOPE_RUN_RENDER_TIMEOUT=SECONDS (now ${seconds})`,
      });
    }
  };

  /**
   * At least as many characters as `value` becomes as text or JSON (an array: its items and
   * commas; an object: its keys and values), counted up to `budget` and stopped there. Values
   * nested deeper than any JSON document are refused. The sizes of larger values are remembered,
   * so a value built from others costs only its own items; `ancestors` (a stack, reused) stops at
   * a cycle, which the user's own data may hold.
   */
  const ancestors: object[] = [];
  const sizeOf = (value: unknown, budget: number): number => {
    if (typeof value === 'string') return value.length;
    if (value === null || value === undefined) return 4;
    if (typeof value === 'bigint') return String(value).length;
    if (typeof value === 'number') return numberLength(value);
    if (typeof value !== 'object') return typeof value === 'function' ? 0 : 9;
    if (value instanceof SafeString) return value.length;
    const known = sizes.get(value);
    if (known !== undefined) return known;
    if (ancestors.includes(value)) return 0;
    if (ancestors.length > MAX_JSON_DEPTH) {
      ancestors.length = 0;
      fail({ problem: `a value nested deeper than ${MAX_JSON_DEPTH} levels cannot be used as text`, hint: 'A flow document is JSON a few dozen levels deep at most: check the value passed here' });
    }
    ancestors.push(value);
    let total = 2;
    try {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && total <= budget; i++) total += 1 + sizeOf(value[i], budget - total);
      } else {
        for (const key of Object.keys(value)) {
          if (total > budget) break;
          total += key.length + 4 + sizeOf((value as Record<string, unknown>)[key], budget - total);
        }
        total = Math.max(total, 15); // "[object Object]"
      }
    } finally {
      ancestors.pop();
    }
    if (total <= budget && total >= REMEMBER_FROM) sizes.set(value, total);
    return total;
  };

  /** Refuses an array or object whose text would be larger than MAX_TEMPLATE_TEXT. */
  const checkValue = (value: unknown, what: string): void => {
    if (value === null || typeof value !== 'object' || value instanceof SafeString) return;
    if (sizeOf(value, MAX_TEMPLATE_TEXT) > MAX_TEMPLATE_TEXT) {
      fail({ problem: `${what} would be more than ${MAX_TEMPLATE_TEXT} characters of text`, hint: TEXT_HINT });
    }
  };

  const checkString = (value: unknown, what: string): void => {
    const length = typeof value === 'string' ? value.length : value instanceof SafeString ? value.length : 0;
    if (length > MAX_TEMPLATE_TEXT) {
      fail({ problem: `${what} is ${length} characters long; a template builds at most ${MAX_TEMPLATE_TEXT}`, hint: TEXT_HINT });
    }
  };

  const noRegExp = (args: readonly unknown[], where: string): void => {
    for (const arg of args) {
      if (arg instanceof RegExp) {
        fail({ problem: `${where} was given a regular expression; templates cannot run them`, hint: REGEX_HINT });
      }
    }
  };

  /** An upper bound of the length of `items` joined with `separator` (items' `attr`, if given). */
  const joinedLength = (items: unknown, separator: unknown, attr?: unknown): number => {
    if (!Array.isArray(items)) return 0;
    const sep = separator === undefined || separator === null ? 1 : String(separator).length;
    let total = Math.max(0, items.length - 1) * sep;
    for (const item of items) {
      if (total > MAX_TEMPLATE_TEXT) break;
      const value = attr === undefined || attr === null || attr === '' ? item : item === null || item === undefined ? undefined : (item as Record<string, unknown>)[String(attr)];
      total += sizeOf(value, MAX_TEMPLATE_TEXT - total);
    }
    return total;
  };

  const checkJoin = (items: unknown, separator: unknown, attr: unknown, what: string): void => {
    const length = joinedLength(items, separator, attr);
    if (length > MAX_TEMPLATE_TEXT) fail({ problem: `${what} would build more than ${MAX_TEMPLATE_TEXT} characters`, hint: TEXT_HINT });
  };

  const memberOf = (key: string) => ({
    problem: `\`.${key}\` is not available to templates: it leads to JavaScript itself, which templates may not reach`,
    hint: READ_HINT,
    locate: new RegExp(`(?:\\.\\s*${escapeRegExp(key)}\\b|\\[\\s*["']${escapeRegExp(key)}["']\\s*\\])`),
  });

  const method = (target: string | number | unknown[], key: string, table: Record<string, Pre | null>, proto: object): unknown => {
    if (!Object.hasOwn(table, key)) return undefined;
    const pre = table[key];
    const fn = (proto as Record<string, (...args: unknown[]) => unknown>)[key]!;
    return (...args: unknown[]) => {
      step();
      noRegExp(args, `.${key}()`);
      for (const arg of args) checkValue(arg, `an argument of .${key}()`);
      if (key === 'join' && Array.isArray(target)) checkJoin(target, args[0] ?? ',', undefined, '.join()');
      const replaced = pre ? (pre as (t: unknown, a: unknown[]) => unknown[] | void)(target, args) : undefined;
      const result = fn.apply(target, replaced ?? args);
      if (key === 'split' && Array.isArray(result) && result.length > MAX_RANGE_ITEMS) {
        fail({ problem: `.split() would make more than ${MAX_RANGE_ITEMS} parts`, hint: 'Split a shorter string, or loop over the data instead' });
      }
      checkString(result, `the result of .${key}()`);
      return result;
    };
  };

  function memberLookup(obj: unknown, val: unknown): unknown {
    if (obj === undefined || obj === null) return undefined;
    step();
    if (val !== null && typeof val === 'object') checkValue(val, 'a key');
    const key = typeof val === 'symbol' ? val.toString() : String(val);
    const target = obj instanceof SafeString ? obj.val : obj;
    if (typeof target === 'function') {
      fail({
        problem: `\`.${key}\` of a function is not available to templates: a function (a macro, range, cycler, joiner) can only be called`,
        hint: READ_HINT,
        locate: memberOf(key).locate,
      });
    }
    if ((typeof target === 'object' || typeof target === 'string') && Object.hasOwn(target as object, key)) {
      const value = (target as Record<string, unknown>)[key];
      // Methods of the object itself (a cycler's next(), an imported macro) run on it, as in Nunjucks.
      return typeof value === 'function' ? (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args) : value;
    }
    if (typeof target === 'string') {
      const found = method(target, key, STRING_METHODS, String.prototype);
      if (found) return found;
    } else if (Array.isArray(target)) {
      const found = method(target, key, ARRAY_METHODS, Array.prototype);
      if (found) return found;
    } else if (typeof target === 'number') {
      const found = method(target, key, NUMBER_METHODS, Number.prototype);
      if (found) return found;
    }
    if (BLOCKED.has(key)) fail(memberOf(key));
    if (key in Object(target)) {
      // Inherited, not data: a method of the value's type that is not on the lists above.
      const kind = typeof target === 'string' ? 'string' : Array.isArray(target) ? 'array' : typeof target === 'number' ? 'number' : undefined;
      const table = kind === 'string' ? STRING_METHODS : kind === 'array' ? ARRAY_METHODS : kind === 'number' ? NUMBER_METHODS : undefined;
      fail({
        problem: table
          ? `\`.${key}\` is not one of the ${kind} methods templates may call (${Object.keys(table).join(', ')})`
          : `\`.${key}\` is not available to templates: it is not this object's own data`,
        hint: key === 'replace' || key === 'replaceAll' ? 'Use the | replace filter' : READ_HINT,
        locate: memberOf(key).locate,
      });
    }
    return undefined;
  }

  function contextOrFrameLookup(context: { ctx: Record<string, unknown>; env: { globals: Record<string, unknown> } }, frame: NunjucksFrame, name: string): unknown {
    step();
    // Frame variables live in null-prototype objects; the context and globals are plain objects,
    // whose inherited names (constructor, toString…) are not variables.
    const val = frame.lookup(name);
    if (val !== undefined) return val;
    if (Object.hasOwn(context.ctx, name)) return context.ctx[name];
    const globals = context.env.globals;
    return Object.hasOwn(globals, name) ? globals[name] : undefined;
  }

  function callWrap(obj: unknown, name: string, _context: unknown, args: unknown[]): unknown {
    step();
    // Nunjucks' own messages: template-diagnostics.ts recognises them.
    if (!obj) throw new Error(`Unable to call \`${name}\`, which is undefined or falsey`);
    if (typeof obj !== 'function') throw new Error(`Unable to call \`${name}\`, which is not a function`);
    if (FORBIDDEN_CALLS.has(obj)) {
      fail({ problem: `\`${name}\` may not be called from a template`, hint: READ_HINT });
    }
    if (depth >= MAX_MACRO_DEPTH) {
      fail({
        problem: `macro calls nest deeper than ${MAX_MACRO_DEPTH} levels (\`${name}\` calls itself without end?)`,
        hint: `A recursive macro needs a condition that stops it; this limit is fixed (${MAX_MACRO_DEPTH} levels, more than any flow needs)`,
      });
    }
    depth += 1;
    try {
      // No `this`: Nunjucks passes the render Context, a way to the environment and its loaders.
      return (obj as (...a: unknown[]) => unknown).apply(undefined, args);
    } finally {
      depth -= 1;
    }
  }

  function suppressValue(val: unknown, autoescape: unknown): unknown {
    step();
    if (typeof val === 'function') {
      fail({ problem: 'a function cannot be output: call it, e.g. `{{ name() }}`', hint: READ_HINT });
    }
    checkValue(val, 'the value output here');
    return (base.suppressValue as (v: unknown, a: unknown) => unknown)(val, autoescape);
  }

  function concat(a: unknown, b: unknown): string {
    step();
    checkValue(a, 'the left side of ~');
    checkValue(b, 'the right side of ~');
    const joined = `${a as string}${b as string}`;
    checkString(joined, 'the string built with ~');
    return joined;
  }

  function add(a: unknown, b: unknown): unknown {
    step();
    checkValue(a, 'the left side of +');
    checkValue(b, 'the right side of +');
    const sum = (a as number) + (b as number);
    checkString(sum, 'the string built with +');
    return sum;
  }

  function array(items: unknown[]): unknown[] {
    step();
    checkValue(items, 'this array');
    return items;
  }

  function inOperator(key: unknown, val: unknown): boolean {
    step();
    checkValue(key, 'the left side of in');
    if (Array.isArray(val) || typeof val === 'string') return val.indexOf(key as string) !== -1;
    if (val instanceof SafeString) return val.val.indexOf(String(key)) !== -1;
    if (internals.lib.isObject(val)) return Object.hasOwn(val as object, key as PropertyKey);
    throw new Error(`Cannot use "in" operator to search for "${String(key)}" in unexpected types.`);
  }

  class GuardedFrame extends base.Frame {
    override set(name: string, value: unknown, resolveUp?: boolean): void {
      step();
      // `{% set s = s ~ s %}` in a loop is caught by concat; a capture ({% set x %}…{% endset %})
      // only here.
      checkString(value, `\`${name}\``);
      super.set(name, value, resolveUp);
    }

    override push(isolateWrites?: boolean): NunjucksFrame {
      return new GuardedFrame(this, isolateWrites);
    }
  }

  /** The frame a compiled function is handed, as a GuardedFrame (Nunjucks makes the first ones). */
  const adopt = (frame: NunjucksFrame): NunjucksFrame => {
    if (frame instanceof GuardedFrame) return frame;
    const guarded = new GuardedFrame(frame.parent, frame.isolateWrites);
    guarded.variables = frame.variables;
    guarded.topLevel = frame.topLevel;
    return guarded;
  };

  const runtime: Record<string, unknown> = Object.freeze({
    ...base,
    Frame: GuardedFrame,
    memberLookup,
    contextOrFrameLookup,
    callWrap,
    suppressValue,
    inOperator,
    concat,
    add,
    array,
  });

  const range = (start: unknown, stop?: unknown, stepBy?: unknown): number[] => {
    step();
    // Nunjucks' range, with its quirks (numbers are not checked), but bounded.
    let from = start as number;
    let to = stop as number;
    let by = stepBy as number;
    if (stop === undefined) {
      to = from;
      from = 0;
      by = 1;
    } else if (!by) {
      by = 1;
    }
    const out: number[] = [];
    const tooMany = () =>
      fail({
        problem: `range(${[start, stop, stepBy].filter((a) => a !== undefined).map((a) => JSON.stringify(a) ?? String(a)).join(', ')}) would make more than ${MAX_RANGE_ITEMS} numbers`,
        hint: `Loop over the data itself, or over a smaller range; this limit is fixed (${MAX_RANGE_ITEMS})`,
      });
    if (by > 0) {
      for (let i = from; i < to; i += by) {
        if (out.length >= MAX_RANGE_ITEMS) tooMany();
        out.push(i);
      }
    } else {
      for (let i = from; i > to; i += by) {
        if (out.length >= MAX_RANGE_ITEMS) tooMany();
        out.push(i);
      }
    }
    return out;
  };

  const guardFilter = (name: string, filter: (...args: unknown[]) => unknown) =>
    function guardedFilter(this: unknown, ...args: unknown[]): unknown {
      step();
      noRegExp(args, `| ${name}`);
      if (typeof args[0] === 'function' && !PASSES_FUNCTIONS.has(name)) {
        fail({ problem: `a function was given to | ${name}; templates may call functions, not read them as text`, hint: READ_HINT });
      }
      // | json sizes its value itself (toJsonLiteral), with its own, more precise message.
      if (name !== 'json') for (const arg of args) checkValue(arg, `the value given to | ${name}`);
      FILTER_CHECKS[name]?.(args);
      const result = filter.apply(this, args);
      checkString(result, `the result of | ${name}`);
      checkValue(result, `the result of | ${name}`);
      return result;
    };

  const FILTER_CHECKS: Record<string, (args: unknown[]) => void> = {
    center: ([, width]) => checkLength(Number(width), `| center(${String(width)})`),
    indent: ([str, width]) => {
      const text = String(str ?? '');
      const w = Number(width || 4);
      if (!(w > 0)) return;
      const lines = text.length + (text.length + 1) * w <= MAX_TEMPLATE_TEXT ? 0 : text.split('\n').length;
      if (text.length + lines * w > MAX_TEMPLATE_TEXT) {
        fail({ problem: `| indent(${w}) would build more than ${MAX_TEMPLATE_TEXT} characters`, hint: TEXT_HINT });
      }
    },
    replace: ([str, old, replacement, maxCount]) => {
      const text = typeof str === 'string' ? str : str instanceof SafeString ? str.val : typeof str === 'number' ? String(str) : undefined;
      const from = typeof old === 'number' ? String(old) : old;
      if (text === undefined || typeof from !== 'string') return;
      const by = String(replacement).length;
      const limit = typeof maxCount === 'number' && maxCount >= 0 ? maxCount : Infinity;
      let length: number;
      if (from === '') {
        length = text.length + (text.length + 1) * by;
      } else if (by <= from.length) {
        length = text.length;
      } else {
        let count = 0;
        for (let at = text.indexOf(from); at !== -1 && count < limit; at = text.indexOf(from, at + from.length)) count++;
        length = text.length + count * (by - from.length);
      }
      if (length > MAX_TEMPLATE_TEXT) fail({ problem: `| replace would build a string of ${length} characters; at most ${MAX_TEMPLATE_TEXT}`, hint: TEXT_HINT });
    },
    join: ([items, separator, attr]) => {
      checkAttr(attr, 'join');
      checkJoin(items, separator ?? '', attr, '| join');
    },
    batch: ([, count, fill]) => {
      if (fill && Number(count) > MAX_RANGE_ITEMS) fail({ problem: `| batch(${String(count)}, …) would pad to more than ${MAX_RANGE_ITEMS} items`, hint: 'Use a smaller batch size' });
    },
    slice: ([, count]) => {
      if (Number(count) > MAX_RANGE_ITEMS) fail({ problem: `| slice(${String(count)}) would make more than ${MAX_RANGE_ITEMS} slices`, hint: 'Use fewer slices' });
    },
    list: ([value]) => checkParts(value, 'list'),
    reverse: ([value]) => checkParts(value, 'reverse'),
    dump: ([value, spaces]) => {
      // JSON.stringify indents each line by up to 10 characters per level.
      const indent = typeof spaces === 'number' ? Math.min(10, Math.max(0, spaces)) : typeof spaces === 'string' ? Math.min(10, spaces.length) : 0;
      if (indent > 0 && sizeOf(value, MAX_TEMPLATE_TEXT) * (1 + indent) > MAX_TEMPLATE_TEXT) {
        fail({ problem: `| dump(${String(spaces)}) would build more than ${MAX_TEMPLATE_TEXT} characters`, hint: TEXT_HINT });
      }
    },
    sum: ([, attr]) => checkAttr(attr, 'sum'),
    selectattr: ([, attr]) => checkAttr(attr, 'selectattr'),
    rejectattr: ([, attr]) => checkAttr(attr, 'rejectattr'),
    groupby: ([, attr]) => checkAttr(attr, 'groupby'),
    sort: (args) => {
      const kwargs = args.at(-1);
      checkAttr(args[3] ?? (kwargs !== null && typeof kwargs === 'object' ? (kwargs as Record<string, unknown>).attribute : undefined), 'sort');
    },
  };

  const checkAttr = (attr: unknown, filter: string): void => {
    if (typeof attr !== 'string') return;
    for (const part of attr.split('.')) {
      if (BLOCKED.has(part)) fail({ ...memberOf(part), problem: `| ${filter}("${attr}"): ${memberOf(part).problem}`, locate: new RegExp(`\\|\\s*${filter}\\b`) });
    }
  };

  const checkParts = (value: unknown, filter: string): void => {
    const length = typeof value === 'string' ? value.length : value instanceof SafeString ? value.length : 0;
    if (length > MAX_RANGE_ITEMS) {
      fail({ problem: `| ${filter} would split a string of ${length} characters into as many items; at most ${MAX_RANGE_ITEMS}`, hint: 'Use a shorter string' });
    }
  };

  return {
    runtime,
    get failure() {
      return failure;
    },
    step,
    begin() {
      deadline = Date.now() + options.timeoutMs;
      countdown = STEP_CHECK;
      depth = 0;
      failure = undefined;
      current = self;
    },
    compile(src, asyncFilters, extensions, name, opts) {
      current = self;
      const compiler = new GuardedCompiler(name, opts.throwOnUndefined === true);
      const preprocessed = (extensions as { preprocess?: (s: string) => string }[])
        .map((ext) => ext.preprocess)
        .filter((p): p is (s: string) => string => typeof p === 'function')
        .reduce((text, preprocess) => preprocess(text), src);
      compiler.compile(transformer.transform(internals.parser.parse(preprocessed, extensions, opts), asyncFilters, name) as CompilerNode, undefined);
      return compiler.getCode();
    },
    wrap(props) {
      // Only `root`, where every render starts: it hands its runtime (and frames) on to the blocks,
      // macros and includes it runs. The blocks (`b_<name>`) stay as they are, because super()
      // finds a block by identity.
      const root = props.root as RenderFunction;
      return {
        ...props,
        root: (env: unknown, context: unknown, frame: NunjucksFrame, _runtime: unknown, cb: unknown) => root(env, context, adopt(frame), runtime, cb),
      };
    },
    install(env) {
      const tables = env as unknown as EnvironmentTables;
      // Own keys only: `| constructor` and `is toString` are no filter or test.
      Object.setPrototypeOf(tables.filters, null);
      Object.setPrototypeOf(tables.tests, null);
      Object.setPrototypeOf(tables.globals, null);
      for (const name of Object.keys(tables.filters)) tables.filters[name] = guardFilter(name, tables.filters[name]!);
      tables.globals.range = range;
    },
  };
}

/** Filters that hand a function on as it is (anything else would turn its code into text). */
const PASSES_FUNCTIONS = new Set(['default', 'd', 'first', 'last', 'random', 'length', 'json']);

const REGEX_HINT = 'Regular expressions (r/…/) are not available in templates: their run time cannot be bounded. Use | replace with a plain string, or prepare the value in descope.config.ts';

type CompileMethod = (this: CompilerInstance, node: CompilerNode, frame: unknown) => void;
const binary = (fn: string): CompileMethod =>
  function (node, frame) {
    this._emit(`runtime.${fn}(`);
    this.compile(node.left!, frame);
    this._emit(', ');
    this.compile(node.right!, frame);
    this._emit(')');
  };

/**
 * Nunjucks' compiler with the hooks described at the top of this file. A subclass made once, so
 * that every compile dispatches through one prototype (as fast as Nunjucks' own).
 */
const GuardedCompiler: new (name: string, throwOnUndefined: boolean) => CompilerInstance = (() => {
  const Base = internals.compiler.Compiler;
  const literal = (Base.prototype as unknown as { compileLiteral: CompileMethod }).compileLiteral;
  const methods: Record<string, CompileMethod> = {
    compileConcat: binary('concat'),
    compileAdd: binary('add'),
    compileArray(node, frame) {
      this._emit('runtime.array(');
      this._compileAggregate(node, frame, '[', ']');
      this._emit(')');
    },
    // `{"__proto__": x}` in a JavaScript object literal sets the prototype; a computed key is a key.
    compilePair(node, frame) {
      const key = node.key!;
      if (key.typename !== 'Symbol' && !(key.typename === 'Literal' && typeof key.value === 'string')) {
        this.fail('compilePair: Dict keys must be strings or names', key.lineno, key.colno);
      }
      this._emit(`[${JSON.stringify(String(key.value))}]: `);
      this._compileExpression((node as unknown as { value: CompilerNode }).value, frame);
    },
    compileLiteral(node, frame) {
      if (node.value instanceof RegExp) {
        const failure: GuardFailure = {
          problem: `the regular expression ${String(node.value)} is refused`,
          hint: REGEX_HINT,
          file: String((this as unknown as { templateName: unknown }).templateName),
          line: node.lineno + 1,
          col: node.colno + 1,
        };
        current?.record(failure);
        this.fail(failure.problem, node.lineno, node.colno);
      }
      literal.call(this, node, frame);
    },
  };
  const Guarded = function (this: CompilerInstance, ...args: unknown[]) {
    return (Base as unknown as (...a: unknown[]) => CompilerInstance).apply(this, args) ?? this;
  } as unknown as { prototype: object };
  Guarded.prototype = Object.assign(Object.create(Base.prototype as object) as object, methods);
  return Guarded as unknown as new (name: string, throwOnUndefined: boolean) => CompilerInstance;
})();

/**
 * At least as long as the number as text (for integers, its digits and sign; otherwise the
 * longest a number can be), without making the text: String(n) costs a quarter second per million.
 */
export function numberLength(n: number): number {
  if (!Number.isInteger(n) || Math.abs(n) >= 1e21) return 24;
  const abs = Math.abs(n);
  return (n < 0 ? 1 : 0) + (abs < 10 ? 1 : Math.floor(Math.log10(abs)) + 1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
