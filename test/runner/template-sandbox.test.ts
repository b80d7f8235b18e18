// The template sandbox and limits (src/runner/templates/template-guard.ts), table-driven, in-process: every
// way from a template to JavaScript (constructors, prototypes, function members, Object.prototype
// names, filters and tests by an inherited name, regular expressions) is ONE TemplateError that
// names the template and never shows what it tried to reach; every way to take unbounded time or
// memory (range, loops, doubling strings, filters that pad or replace, aliased arrays, output,
// recursion) is ONE TemplateError naming the limit and what to do, within a bounded time; and what
// templates legitimately do still works. The guard holds for code read from the compiled cache.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isDescopeRunError, TemplateError } from '../../src/errors.ts';
import { MAX_MACRO_DEPTH, MAX_RANGE_ITEMS, MAX_TEMPLATE_TEXT, renderTimeoutMs } from '../../src/runner/templates/template-guard.ts';
import { createTemplateRenderer, type TemplateRenderer } from '../../src/runner/templates/templates.ts';

const SECRET = 'hunter2-management-key-value';
let root: string;
let renderer: TemplateRenderer;
let count = 0;

before(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-sandbox-')));
  await mkdir(path.join(root, 'templates'));
  process.env.DESCOPE_RUN_SANDBOX_SECRET = SECRET;
  renderer = createTemplateRenderer({ root: path.join(root, 'templates'), projectRoot: root, timeoutMs: 2000 });
});
after(async () => {
  delete process.env.DESCOPE_RUN_SANDBOX_SECRET;
  await rm(root, { recursive: true, force: true });
});

const context = () => ({
  env: 'local',
  vars: { appName: 'Acme', list: [1, 2], big: 300_000_000, nested: { a: { b: 'c' } } },
  flow: { id: 'login' },
});

/** Writes `source` as a new template (names are never reused: Nunjucks keeps what it loaded). */
async function template(source: string): Promise<string> {
  const name = `t${++count}.njk`;
  await writeFile(path.join(root, 'templates', name), source);
  return name;
}

/** Renders `source`; returns the text, or the TemplateError (one clean line, with a hint). */
async function render(source: string, using = renderer): Promise<{ text?: string; error?: TemplateError; ms: number }> {
  const name = await template(source);
  const started = Date.now();
  try {
    return { text: using.render(name, context()), ms: Date.now() - started };
  } catch (error) {
    const ms = Date.now() - started;
    assert.ok(error instanceof TemplateError && isDescopeRunError(error), `a TemplateError, not ${String(error)}`);
    assert.equal(error.code, 'template');
    assert.ok(error.message.startsWith(`templates/${name}`), `names the template: ${error.message}`);
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    assert.ok(error.hint && !error.hint.includes('\n'), `one hint line: ${error.hint}`);
    return { error, ms };
  }
}

async function refused(source: string, expected: RegExp): Promise<TemplateError> {
  const { text, error } = await render(source);
  assert.equal(text, undefined, `rendered instead of refusing: ${String(text)}`);
  const shown = `${error!.message}\n${error!.hint}`;
  assert.ok(!shown.includes(SECRET), `the secret is shown: ${shown}`);
  assert.doesNotMatch(shown, /native code|function \w*\([^)]*\) \{|Template render error|node_modules|\bat .*:\d+:\d+/, `internals shown: ${shown}`);
  assert.match(error!.message, expected);
  return error!;
}

const SECRET_JS = '"return process.env.DESCOPE_RUN_SANDBOX_SECRET"';
const NOT_JS = /is not available to templates|not one of the \w+ methods templates may call|may not be called|is not defined, so it cannot be called|undefined template variable|unknown filter|test not found/;

// ---------------------------------------------------------------------------------------------

describe('templates cannot reach JavaScript', () => {
  const escapes: [string, string, RegExp][] = [
    ['range.constructor (the issue)', `{{ range.constructor(${SECRET_JS})() }}`, /`\.constructor` of a function is not available to templates/],
    ['cycler.constructor', `{{ cycler.constructor(${SECRET_JS})() }}`, /`\.constructor` of a function/],
    ['joiner.constructor', `{{ joiner.constructor(${SECRET_JS})() }}`, /`\.constructor` of a function/],
    ['a joiner made by joiner()', `{% set j = joiner() %}{{ j.constructor(${SECRET_JS})() }}`, /`\.constructor` of a function/],
    ['a macro', `{% macro m() %}x{% endmacro %}{{ m.constructor(${SECRET_JS})() }}`, /`\.constructor` of a function/],
    ['caller', `{% macro m() %}{{ caller.constructor(${SECRET_JS})() }}{% endmacro %}{% call m() %}x{% endcall %}`, /`\.constructor` of a function/],
    ['a string method', `{{ "".trim.constructor(${SECRET_JS})() }}`, /`\.constructor` of a function/],
    ['a string', `{{ "".constructor.constructor(${SECRET_JS})() }}`, /`\.constructor` is not available to templates: it leads to JavaScript itself/],
    ['an array literal', `{{ [].constructor.constructor(${SECRET_JS})() }}`, /`\.constructor` is not available/],
    ['a dict literal', `{{ {}.constructor.constructor(${SECRET_JS})() }}`, /`\.constructor` is not available/],
    ['a number', `{{ (1).constructor.constructor(${SECRET_JS})() }}`, /`\.constructor` is not available/],
    ['context data', `{{ vars.constructor.constructor(${SECRET_JS})() }}`, /`\.constructor` is not available/],
    ['subscript syntax', `{{ vars["constructor"]["constructor"](${SECRET_JS})() }}`, /`\.constructor` is not available/],
    ['a computed name', `{% set k = "constr" ~ "uctor" %}{{ vars[k][k](${SECRET_JS})() }}`, /`\.constructor` is not available/],
    ['a key that is an array', `{{ vars[["constructor"]] }}`, /`\.constructor` is not available/],
    ['the loop object', `{% for i in [1] %}{{ loop.constructor.constructor(${SECRET_JS})() }}{% endfor %}`, /`\.constructor` is not available/],
    ['__proto__', '{{ vars.__proto__.polluted }}', /`\.__proto__` is not available/],
    ['__lookupGetter__', '{{ vars.__lookupGetter__("__proto__") }}', /`\.__lookupGetter__` is not available/],
    ['__defineGetter__', '{{ vars.__defineGetter__("x", range) }}', /`\.__defineGetter__` is not available/],
    ['__defineSetter__', '{{ vars.__defineSetter__ }}', /`\.__defineSetter__` is not available/],
    ['hasOwnProperty', '{{ vars.hasOwnProperty("list") }}', /`\.hasOwnProperty` is not available/],
    ['valueOf (to reach the object behind a value)', '{{ vars.valueOf() }}', /`\.valueOf` is not available/],
    ['prototype of a function', '{{ range.prototype }}', /`\.prototype` of a function/],
    ['call and apply', `{{ range.call(null, 3) }}{{ range.apply }}`, /`\.call` of a function/],
    ['bind', '{{ range.bind }}', /`\.bind` of a function/],
    ['caller and arguments of a function', '{{ range.caller }}', /`\.caller` of a function/],
    ['a function made safe', `{{ (range | safe).constructor(${SECRET_JS})() }}`, /a function was given to \| safe/],
    ['a function as text', '{{ range | string }}', /a function was given to \| string/],
    ['a method of a string that could run a regular expression', '{{ "aaa".match("(a+)+$") }}', /`\.match` is not one of the string methods templates may call/],
    ['a mutating array method', '{{ vars.list.push(3) }}', /`\.push` is not one of the array methods/],
    ['an array method that calls back', '{{ vars.list.map(range) }}', /`\.map` is not one of the array methods/],
    ['a top-level name from Object.prototype', '{{ constructor }}', /undefined template variable `constructor`/],
    ['calling a top-level Object.prototype name', `{{ constructor(${SECRET_JS}) }}`, /`constructor` is not defined, so it cannot be called/],
    ['toString at the top level', '{{ toString.call(vars) }}', NOT_JS],
    ['__proto__ at the top level', '{{ __proto__ }}', /undefined template variable `__proto__`/],
    ['a filter by an inherited name', '{{ "return 1" | constructor }}', /unknown filter `constructor`/],
    ['a filter by __defineGetter__', '{{ "x" | __defineGetter__(range) }}', /unknown filter `__defineGetter__`/],
    ['a test by an inherited name', '{{ "x" is constructor }}', /test not found: constructor/],
    ['select with an inherited test name', '{{ [1] | select("constructor") | length }}', /test not found: constructor/],
    ['sort by constructor', '{{ [vars] | sort(false, false, "constructor") }}', /\| sort\("constructor"\): `\.constructor` is not available/],
    ['join by constructor', '{{ [vars] | join(",", "constructor") }}', /\| join\("constructor"\)/],
    ['sum by a dotted name', '{{ [vars] | sum("list.constructor") }}', /\| sum\("list\.constructor"\)/],
    ['selectattr constructor', '{{ [vars] | selectattr("constructor") | length }}', /\| selectattr\("constructor"\)/],
    ['groupby __proto__', '{{ [vars] | groupby("__proto__") }}', /\| groupby\("__proto__"\)/],
    ['a regular expression literal', '{% set r = r/(a+)+$/ %}{{ "aaaa" | replace(r, "") }}', /^templates\/t\d+\.njk:1:12: the regular expression \/\(a\+\)\+\$\/ is refused$/],
    ['outputting a function (its source)', '{{ range }}', /a function cannot be output/],
  ];
  for (const [name, source, expected] of escapes) {
    test(name, async () => {
      await refused(source, expected);
    });
  }

  test('extends, blocks and super() run inside the sandbox', async () => {
    const base = await template('[{% block a %}"base"{% endblock %}, {% block b %}{{ range.constructor }}{% endblock %}]');
    const { text } = await render(`{% extends "${base}" %}{% block a %}{{ super() }}, "child"{% endblock %}{% block b %}{{ range(2) | join }}{% endblock %}`);
    assert.equal(text, '["base", "child", 01]');
    await refused(`{% extends "${base}" %}{% block a %}{{ super() }}{% endblock %}`, /`\.constructor` of a function/);
  });

  test('a dict key "__proto__" is a key, not the prototype', async () => {
    const { text } = await render('{% set o = { "__proto__": { "polluted": "yes" } } %}{{ o | dump }} {{ o.polluted | default("none") }}');
    assert.equal(text, '{"__proto__":{"polluted":"yes"}} none');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a variable named __proto__ or constructor stays a variable', async () => {
    const { text } = await render('{% set constructor = "c" %}{% set __proto__ = "p" %}{{ constructor }}{{ __proto__ }}');
    assert.equal(text, 'cp');
  });
});

describe('what templates do keeps working', () => {
  const works: [string, string, string][] = [
    ['own keys, indices and lengths', '{{ vars.appName }} {{ vars.list[1] }} {{ vars.list.length }} {{ "abc"[1] }} {{ "abc".length }} {{ vars.nested.a.b }}', 'Acme 2 2 b 3 c'],
    ['the listed string methods', '{{ "Ab".toUpperCase() }} {{ " x ".trim() }} {{ "a,b".split(",") | join("-") }} {{ "abc".startsWith("a") }} {{ "ab".repeat(2) }} {{ "7".padStart(3, "0") }}', 'AB x a-b true abab 007'],
    ['the listed array and number methods', '{{ [1].concat([2], 3) | join }} {{ [1, 2].includes(2) }} {{ [1, 2, 3].slice(1) | join }} {{ [1, 2].join("+") }} {{ (3.14159).toFixed(2) }}', '123 true 23 1+2 3.14'],
    ['cycler and joiner', '{% set c = cycler("a", "b") %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{% set j = joiner("|") %}{{ j() }}x{{ j() }}y', 'abax|y'],
    ['range and loops', '{% for i in range(3) %}{{ loop.index }}{% endfor %} {% for k, v in { a: 1 } %}{{ k }}={{ v }}{% endfor %} {{ range(10, 0, -3) | join(",") }}', '123 a=1 10,7,4,1'],
    ['~ and +', '{{ "a" ~ 1 ~ "b" }} {{ 1 + 2 }} {{ "x" + "y" }}', 'a1b 3 xy'],
    ['in, on own keys', '{{ "list" in vars }} {{ "toString" in vars }} {{ 2 in vars.list }} {{ "b" in "abc" }}', 'true false true true'],
    ['macros, caller and imports of macros', '{% macro m(x, y="d") %}[{{ x }}{{ y }}{{ caller() if caller }}]{% endmacro %}{{ m(1) }}{% call m(2) %}c{% endcall %}', '[1d][2dc]'],
    ['filters', '{{ "a b" | replace(" ", "_") | upper }} {{ [3, 1, 2] | sort | join }} {{ "x" | center(5) }}| {{ vars | dump }}', 'A_B 123   x  | {"appName":"Acme","list":[1,2],"big":300000000,"nested":{"a":{"b":"c"}}}'],
    ['| json', '{{ vars.nested | json }} {{ [1, "2"] | json(0) }}', '{"a":{"b":"c"}} [1,"2"]'],
    ['range at its limit', `{{ range(${MAX_RANGE_ITEMS}) | length }}`, String(MAX_RANGE_ITEMS)],
  ];
  for (const [name, source, expected] of works) {
    test(name, async () => {
      const { text, error } = await render(source);
      assert.equal(error, undefined, error?.message);
      assert.equal(text, expected);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('a render is bounded in time and memory', () => {
  const TEXT = `at most ${MAX_TEMPLATE_TEXT}|more than ${MAX_TEMPLATE_TEXT}|grew past ${MAX_TEMPLATE_TEXT}`;
  const limits: [string, string, RegExp][] = [
    ['range(0, 300000000) (the issue)', '{{ range(0, 300000000) | length }}', new RegExp(`range\\(0, 300000000\\) would make more than ${MAX_RANGE_ITEMS} numbers`)],
    ['range of a huge value from the context', '{{ range(0, vars.big) | length }}', /range\(0, 300000000\) would make more than/],
    ['range with a step too small to move', '{{ range(0, 1, 0.0000000000000000001) | length }}', /would make more than 100000 numbers/],
    ['a string doubled with ~ in a loop', '{% set s = "ab" %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s | length }}', new RegExp(`the string built with ~ is \\d+ characters long; a template builds ${TEXT}`)],
    ['a string doubled with +', '{% set s = "ab" %}{% for i in range(40) %}{% set s = s + s %}{% endfor %}x', /the string built with \+ is \d+ characters long/],
    ['a string doubled by a capture', '{% set s = "ab" %}{% for i in range(40) %}{% set s %}{{ s }}{{ s }}{% endset %}{% endfor %}x', /`s` is \d+ characters long/],
    ['| replace("", long)', `{% set s = "x" | center(100000) %}{{ s | replace("", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy") | length }}`, /\| replace would build a string of \d+ characters/],
    ['| replace of every character by a long string', `{% set s = "a" | center(1000000) %}{{ s | replace(" ", "${'y'.repeat(40)}") | length }}`, /\| replace would build a string/],
    ['| center(1000000000)', '{{ "x" | center(1000000000) }}', /\| center\(1000000000\) would build a string of 1000000000 characters/],
    ['| indent(100000000)', '{{ "a\nb\nc" | indent(100000000) }}', /\| indent\(100000000\) would build more than/],
    ['.repeat()', '{{ "ab".repeat(100000000) }}', /\.repeat\(\) would build a string of 200000000 characters/],
    ['.padStart()', '{{ "a".padStart(100000000) }}', /\.padStart\(\) would build a string/],
    ['| list of a long string', '{% set s = "x" | center(200000) %}{{ s | list | length }}', /\| list would split a string of 200000 characters/],
    ['.split("") of a long string', '{% set s = "x" | center(200000) %}{{ s.split("") | length }}', /\.split\(\) would make more than 100000 parts/],
    ['| slice(1000000000)', '{{ [1] | slice(1000000000) | length }}', /\| slice\(1000000000\) would make more than/],
    ['| batch(1000000000, fill)', '{{ [1] | batch(1000000000, "x") | length }}', /\| batch\(1000000000, …\) would pad/],
    ['.concat() past the item limit', '{% set a = range(100000) %}{{ a.concat(a) | length }}', /\.concat\(\) would make an array of 200000 items/],
    ['an array literal aliasing a large array', '{% set a = range(100000) %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c | length }}', /this array would be more than \d+ characters of text/],
    ['| join of an aliasing array', '{% set a = range(100000) %}{% set b = [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a] %}{{ [b, b] | join }}', /this array would be more than|\| join would build more than/],
    ['| dump(10) of a large value', '{% set a = range(100000) %}{{ [a, a, a] | dump(10) }}', /\| dump\(10\) would build more than/],
    ['| json of a large value', '{% set a = range(100000) %}{% set b = [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a] %}{{ [b] | json(4) }}', /cannot be emitted as JSON: .* is more than \d+ characters as JSON/],
    ['output repeated in a loop', `{% for i in range(100000) %}${'x'.repeat(200)}{% endfor %}`, new RegExp(`the rendered output is 20000000 characters long; at most ${MAX_TEMPLATE_TEXT}`)],
    ['a macro that calls itself', '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}', new RegExp(`macro calls nest deeper than ${MAX_MACRO_DEPTH} levels \\(\`f\` calls itself without end\\?\\)`)],
    ['two macros calling each other', '{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(1) }}', /macro calls nest deeper than/],
    ['nested loops (the issue)', '{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}', /rendering took longer than 2 s and was stopped/],
    ['nested loops that do nothing', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', /rendering took longer than 2 s and was stopped/],
    ['a loop calling a macro', '{% macro m() %}{% endmacro %}{% for i in range(100000) %}{% for j in range(100000) %}{{ m() }}{% endfor %}{% endfor %}', /rendering took longer than 2 s/],
  ];
  for (const [name, source, expected] of limits) {
    test(name, async () => {
      const { text, error, ms } = await render(source);
      assert.equal(text === undefined ? undefined : `${text.slice(0, 80)}…`, undefined, 'rendered instead of stopping');
      assert.match(error!.message, expected);
          assert.match(error!.hint!, /DESCOPE_RUN_RENDER_TIMEOUT|fixed|Loop over|smaller|shorter|fewer|condition that stops/);
      assert.ok(ms < 6000, `took ${ms} ms`);
    });
  }

  test('the timeout comes from DESCOPE_RUN_RENDER_TIMEOUT (seconds), else 10 s', () => {
    assert.equal(renderTimeoutMs({}), 10_000);
    assert.equal(renderTimeoutMs({ DESCOPE_RUN_RENDER_TIMEOUT: '2.5' }), 2500);
    for (const bad of ['', '0', '-1', 'soon']) assert.equal(renderTimeoutMs({ DESCOPE_RUN_RENDER_TIMEOUT: bad }), 10_000, bad);
  });

  test('a limit hit leaves the renderer usable: the next render starts afresh', async () => {
    await render('{{ range(0, 300000000) }}');
    const { text } = await render('{{ range(3) | join }}');
    assert.equal(text, '012');
  });
});

describe('the compiled-template cache', () => {
  test('code read from the cache runs inside the sandbox too', async () => {
    const cacheDir = path.join(root, 'cache');
    const name = await template(`{{ range.constructor(${SECRET_JS})() }}`);
    const first = createTemplateRenderer({ root: path.join(root, 'templates'), projectRoot: root, cacheDir });
    assert.throws(() => first.render(name, context()), /`\.constructor` of a function is not available/);
    const stored = (await readdir(cacheDir)).filter((f) => f.endsWith('.js'));
    assert.equal(stored.length, 1, 'the compiled template was cached');
    const second = createTemplateRenderer({ root: path.join(root, 'templates'), projectRoot: root, cacheDir });
    assert.throws(() => second.render(name, context()), (error: unknown) => {
      assert.ok(error instanceof TemplateError);
      assert.match(error.message, /`\.constructor` of a function is not available/);
      assert.ok(!error.message.includes(SECRET));
      return true;
    });
    assert.deepEqual((await readdir(cacheDir)).filter((f) => f.endsWith('.js')), stored, 'served from the cache, nothing recompiled');
  });
});
