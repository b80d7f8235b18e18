// Flow templates: the sample project's templates render to graph-valid flows, the json filter is
// safe, includes and macros work, and every kind of bad input gives ONE clear TemplateError that
// names the file (relative to the project root) and line. One fixture folder per case under
// test/fixtures/templates/.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIssue, isDescopeRunError, TemplateError } from '../../src/errors.ts';
import { checkFlowGraph, toFlowV1, toThemeV1, type FlowV1 } from '../../src/runner/templates/flow-document.ts';
import { locateJsonSyntaxError } from '../../src/runner/templates/template-diagnostics.ts';
import { createTemplateRenderer, toJsonLiteral } from '../../src/runner/templates/templates.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'templates');

function fixture(name: string) {
  const projectRoot = path.join(FIXTURES, name);
  return createTemplateRenderer({ root: path.join(projectRoot, 'templates'), projectRoot });
}

/** Runs `fn`, expects a TemplateError, checks it is one clear line without a stack, returns it. */
function expectTemplateError(fn: () => unknown): TemplateError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TemplateError, `expected a TemplateError, got ${String(caught)}`);
  assert.ok(isDescopeRunError(caught));
  assert.equal(caught.code, 'template');
  assertOneCleanLine(caught.message);
  if (caught.hint !== undefined) assertOneCleanLine(caught.hint);
  return caught;
}

function assertOneCleanLine(text: string) {
  assert.ok(!text.includes('\n'), `not one line: ${JSON.stringify(text)}`);
  assert.doesNotMatch(text, /\bat .*:\d+:\d+\)?$|node_modules|Template render error/, `leaks internals: ${text}`);
  assert.doesNotMatch(text, new RegExp(REPO.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `absolute path in: ${text}`);
}

const staging = {
  env: 'staging',
  vars: {
    appName: 'Acme Cloud (staging)',
    domain: 'staging.acme-cloud.com',
    primaryColor: '#0ea5e9',
    otpExpiryMinutes: 10,
    collectName: true,
    termsUrl: 'https://staging.acme-cloud.com/terms',
  },
};

function flowContext(id: string, flowVars: Record<string, unknown> = {}) {
  // The shape render-project passes: flow variables at the top level and under `flow`.
  return { ...flowVars, ...staging, flow: { id, ...flowVars } };
}

// ---------------------------------------------------------------------------------------------

describe('the sample project templates (templates/)', () => {
  const renderer = createTemplateRenderer({ root: path.join(REPO, 'templates'), projectRoot: REPO });
  const declaredFlowIds = new Set(['sign-up-or-in', 'sso-login']);

  const cases: [string, string, Record<string, unknown>][] = [
    ['sign-up-or-in, collecting the name', 'sign-up-or-in', { collectName: true, otpExpiryMinutes: 5 }],
    ['sign-up-or-in, without the name', 'sign-up-or-in', { collectName: false, otpExpiryMinutes: 5 }],
    ['sign-up-or-in, flow variables left to their defaults', 'sign-up-or-in', {}],
    ['sso-login, by email domain', 'sso-login', {}],
    ['sso-login, pinned to a tenant', 'sso-login', { ssoTenant: 'acme', domainHint: 'acme.com' }],
  ];
  for (const [name, id, flowVars] of cases) {
    test(`${name}: renders JSON that converts and passes the graph check`, () => {
      const file = renderer.fileOf(`${id}.json.njk`);
      assert.equal(file, `templates/${id}.json.njk`);
      const doc = renderer.renderJson(`${id}.json.njk`, flowContext(id, flowVars));
      const flow = toFlowV1(doc, { flowId: id, where: file });
      assert.deepEqual(flow, doc, 'a complete v1 document passes through unchanged');
      assert.deepEqual(checkFlowGraph(flow, { where: file, declaredFlowIds }).map(formatIssue), []);
      assertScreensConsistent(flow);
    });
  }

  test('sign-up-or-in: the values reach the document', () => {
    const withName = renderer.renderJson('sign-up-or-in.json.njk', flowContext('sign-up-or-in', { collectName: true, otpExpiryMinutes: 5 })) as FlowV1;
    const text = JSON.stringify(withName);
    assert.ok(text.includes('"text":"Acme Cloud (staging)"'));
    assert.ok(text.includes('"href":"https://staging.acme-cloud.com/terms"'));
    assert.ok(text.includes('It expires in 5 minutes.'));
    assert.ok(text.includes('{{form.email}}'), 'Descope placeholders survive Nunjucks');
    assert.deepEqual(withName.flow.dsl.tasks['6']?.inputKeys, ['user.name', 'customAttributes.acceptedTerms']);

    const withoutName = renderer.renderJson('sign-up-or-in.json.njk', flowContext('sign-up-or-in', { collectName: false })) as FlowV1;
    assert.deepEqual(withoutName.flow.dsl.tasks['6']?.inputKeys, ['customAttributes.acceptedTerms']);
    assert.ok(!JSON.stringify(withoutName).includes('user.name'));
    assert.equal(withoutName.flow.name, 'Sign Up or In');
  });

  test('sso-login: the tenant and the shared error screen', () => {
    const doc = renderer.renderJson('sso-login.json.njk', flowContext('sso-login', { ssoTenant: 'acme', domainHint: 'acme.com' })) as FlowV1;
    assert.deepEqual(doc.flow.dsl.tasks['2']?.arguments?.tenant, { type: 'inline', value: 'acme' });
    assert.deepEqual(doc.screens.map((s) => s.id), ['SC2av0c7u7P8BjiUY61jX1nPZiL3k', 'SC2OBU08kF4il0CLXOJOgpEZgQbic']);
    assert.ok(JSON.stringify(doc).includes('"placeholder":"you@acme.com"'));
    assert.deepEqual(doc.flow.dsl.tasks['4'], {
      id: '4', type: 'automated', name: 'End', action: 'logged-in', next: {}, view: { x: 1000, y: 0 },
    });
  });

  test('theme: renders a v1 theme with the brand colour', () => {
    const doc = renderer.renderJson('theme.json.njk', { primaryColor: '#1d4ed8', ...staging });
    const theme = toThemeV1(doc, 'templates/theme.json.njk');
    assert.equal(theme.id, '');
    const css = theme.cssTemplate as Record<string, { globals: { colors: { primary: { main: string } } } }>;
    assert.equal(css.light?.globals.colors.primary.main, '#1d4ed8');
    assert.equal(css.dark?.globals.colors.primary.main, '#1d4ed8');
    const fallback = toThemeV1(renderer.renderJson('theme.json.njk', staging), 'x').cssTemplate as typeof css;
    assert.equal(fallback.light?.globals.colors.primary.main, '#0ea5e9', 'falls back to vars.primaryColor');
  });

  const missing: [string, string, Record<string, unknown>, RegExp][] = [
    ['vars.appName, passed to a macro', 'sign-up-or-in.json.njk', { vars: { ...staging.vars, appName: undefined } },
      /^templates\/sign-up-or-in\.json\.njk:141:56: undefined template variable `vars\.appName`$/],
    ['vars.termsUrl, set into a list before the macro call', 'sign-up-or-in.json.njk', { vars: { ...staging.vars, termsUrl: undefined } },
      /^templates\/sign-up-or-in\.json\.njk:38:52: undefined template variable `vars\.termsUrl`$/],
    ['vars.appName in sso-login', 'sso-login.json.njk', { vars: {} },
      /^templates\/sso-login\.json\.njk:103:56: undefined template variable `vars\.appName`$/],
    ['the theme colour', 'theme.json.njk', { vars: {} },
      /^templates\/theme\.json\.njk:21:33: template variable `primary` is undefined$/],
  ];
  for (const [name, template, context, expected] of missing) {
    test(`a missing value is named with its file and line: ${name}`, () => {
      const error = expectTemplateError(() =>
        renderer.render(template, { env: 'staging', flow: { id: template.replace('.json.njk', '') }, ...context }),
      );
      assert.match(error.message, expected);
    });
  }

  test('the hint for a variable set from an undefined value points at the {% set %}', () => {
    const error = expectTemplateError(() => renderer.render('theme.json.njk', { env: 'staging', vars: {} }));
    assert.match(error.hint ?? '', /^`primary` is set at templates\/theme\.json\.njk:12 from a value that is undefined/);
  });
});

/** Screens are self-consistent: interactions are button nodes, ROOT lists existing nodes, rules use them. */
function assertScreensConsistent(flow: FlowV1) {
  const screens = new Map(flow.screens.map((s) => [s.id, s]));
  for (const screen of flow.screens) {
    const nodes = screen.htmlTemplate as Record<string, { nodes?: string[]; parent?: string }>;
    const root = nodes.ROOT;
    assert.ok(root, `${screen.id} has a ROOT node`);
    for (const child of root.nodes ?? []) assert.ok(nodes[child], `${screen.id}: ROOT lists missing node ${child}`);
    for (const [id, node] of Object.entries(nodes)) {
      if (id !== 'ROOT') assert.equal(node.parent, 'ROOT', `${screen.id}: ${id} hangs off ROOT`);
    }
    for (const interaction of (screen.interactions ?? []) as { id: string }[]) {
      assert.ok(nodes[interaction.id], `${screen.id}: interaction ${interaction.id} is a node`);
    }
    assert.equal(screen.flowId, flow.flow.id);
  }
  for (const [key, task] of Object.entries(flow.flow.dsl.tasks)) {
    if (task.type !== 'screen') continue;
    const screen = screens.get(task.screenId ?? '');
    const interactions = new Set(((screen?.interactions ?? []) as { id: string }[]).map((i) => i.id));
    for (const rule of task.next?.rules ?? []) {
      assert.ok(interactions.has(rule.interactionId ?? ''), `task ${key}: rule ${rule.interactionId} is a button of its screen`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('template errors: one message with the file and line', () => {
  const context = { title: 'Welcome', tags: ['a', 'b'], ...flowContext('sign-in') };
  const cases: {
    fixture: string;
    name?: string;
    expect: (string | RegExp)[];
    json?: boolean;
  }[] = [
    { fixture: 'missing-template', name: 'sign-up.json.njk', expect: [/^templates\/sign-up\.json\.njk: template not found$/] },
    { fixture: 'syntax-error', expect: [/^templates\/sign-in\.json\.njk:7:8: template syntax error: unknown block tag: endfor$/] },
    { fixture: 'unclosed-block', expect: [/^templates\/sign-in\.json\.njk:8: template syntax error: unexpected end of file$/] },
    {
      fixture: 'undefined-variable',
      expect: [/^templates\/sign-in\.json\.njk:5:20: undefined template variable `vars\.tagline`$/],
    },
    {
      fixture: 'undefined-in-macro',
      expect: [/^templates\/macros\/buttons\.njk:3:83: template variable `label` is undefined \(called from templates\/sign-in\.json\.njk:5:22\)$/],
    },
    {
      fixture: 'undefined-in-include',
      expect: [/^templates\/partials\/screen\.njk:4:47: undefined template variable `screenTitle`$/],
    },
    {
      fixture: 'not-json',
      json: true,
      expect: [/^templates\/sign-in\.json\.njk: rendered output is not valid JSON at output line 4, column 23: /, /"name": "Welcome" ⟨here⟩"oops",$/],
    },
    {
      fixture: 'not-json-trailing-comma',
      json: true,
      expect: [/^templates\/sign-in\.json\.njk: rendered output is not valid JSON at output line 5, column 22: trailing comma before '\]': /, /"tags": \["a","b",⟨here⟩\],/],
    },
    {
      fixture: 'not-json-unquoted',
      json: true,
      expect: [/output line 4, column 13: expected a value, found unexpected word `Welcome` \(a string without quotes\? emit it with \| json\)/],
    },
    {
      fixture: 'syntax-error-in-include',
      expect: [/^templates\/partials\/screen\.njk:3:26: template syntax error: expected symbol, got variable-end$/],
    },
    {
      fixture: 'syntax-error-in-import',
      expect: [/^templates\/macros\/nodes\.njk:3:7: template syntax error: unexpected token: %\}$/],
    },
    {
      fixture: 'unclosed-block-in-include',
      expect: [/^templates\/partials\/screen\.njk:2: template syntax error: expected elif, else, or endif, got end of file$/],
    },
    { fixture: 'self-include', expect: [/^templates\/sign-in\.json\.njk: template recursion is too deep$/] },
    {
      fixture: 'undefined-in-block',
      expect: [/^templates\/sign-in\.json\.njk:3:16: undefined template variable `vars\.tagline`$/],
    },
    {
      fixture: 'missing-include',
      expect: [/^templates\/sign-in\.json\.njk:4:5: \{% include "partials\/welcome\.njk" %\}: template not found \(looked for templates\/partials\/welcome\.njk\)$/],
    },
    { fixture: 'unknown-filter', expect: [/^templates\/sign-in\.json\.njk:4:22: unknown filter `jsonify`$/] },
    {
      fixture: 'undefined-macro',
      expect: [/^templates\/sign-in\.json\.njk:4:\d+: `welcomeScreen` is not defined, so it cannot be called$/],
    },
  ];
  for (const c of cases) {
    test(`${c.fixture}`, () => {
      const renderer = fixture(c.fixture);
      const name = c.name ?? 'sign-in.json.njk';
      const error = expectTemplateError(() => (c.json ? renderer.renderJson(name, context) : renderer.render(name, context)));
      for (const expected of c.expect) {
        if (typeof expected === 'string') assert.ok(error.message.includes(expected), error.message);
        else assert.match(error.message, expected);
      }
      assert.ok(error.hint, 'every error says what to do');
    });
  }

  test('a macro parameter without a value: the hint says so', () => {
    const error = expectTemplateError(() => fixture('undefined-in-macro').render('sign-in.json.njk', context));
    assert.match(error.hint ?? '', /^`label` is a parameter of macro `button` \(templates\/macros\/buttons\.njk:2\) and the call gave it no value/);
  });

  test('the undefined-variable hint lists what the object has', () => {
    const error = expectTemplateError(() => fixture('undefined-variable').render('sign-in.json.njk', context));
    assert.match(error.hint ?? '', /^`vars` has appName, collectName, domain, otpExpiryMinutes, primaryColor, termsUrl; add `tagline` to the environment's vars/);
  });

  test('a missing top-level variable is named, with the context it was looked up in', () => {
    const error = expectTemplateError(() => fixture('undefined-in-include').render('sign-in.json.njk', context));
    assert.match(error.hint ?? '', /^It is not set by the template and the render context has: env, flow, tags, title, vars; pass it in the `vars` of the flow or theme/);
  });

  test('a missing template lists the templates that exist', () => {
    const error = expectTemplateError(() => fixture('missing-template').render('sign-up.json.njk', context));
    assert.match(error.hint ?? '', /found: sign-in\.json\.njk/);
  });

  test('the cause is kept for debugging, outside the message', () => {
    const error = expectTemplateError(() => fixture('syntax-error').render('sign-in.json.njk', context));
    assert.ok(error.cause instanceof Error);
  });
});

// ---------------------------------------------------------------------------------------------

describe('flow graph errors, rendered from a template', () => {
  const cases: { fixture: string; path: string; message: RegExp }[] = [
    {
      fixture: 'dangling-rule',
      path: 'flows/sign-in.tasks["15"].next.rules[0].taskId',
      message: /^flow "sign-in": task "15" \(Sign Up or In \/ OTP \/ Email\) goes on "success" to task "99", which does not exist$/,
    },
    {
      fixture: 'missing-screen',
      path: 'flows/sign-in.tasks["1"].screenId',
      message: /^flow "sign-in": screen task "1" \(Welcome\) shows screen "SC2welcome", which is not in screens\[\]$/,
    },
    {
      fixture: 'missing-start-task',
      path: 'flows/sign-in.startTask',
      message: /^flow "sign-in" starts at task "0", which does not exist$/,
    },
    {
      fixture: 'undeclared-subflow',
      path: 'flows/sign-in.tasks["1"].arguments.flowId',
      message: /^flow "sign-in": sub-flow task "1" \(Run MFA\) runs flow "step-up-mfa", which the config does not declare$/,
    },
  ];
  for (const c of cases) {
    test(c.fixture, () => {
      const renderer = fixture(c.fixture);
      const where = renderer.fileOf('sign-in.json.njk');
      const flow = toFlowV1(renderer.renderJson('sign-in.json.njk', flowContext('sign-in')), { flowId: 'sign-in', where });
      const issues = checkFlowGraph(flow, { where, declaredFlowIds: new Set(['sign-in']) });
      assert.equal(issues.length, 1, issues.map(formatIssue).join('\n'));
      const [issue] = issues;
      assert.equal(issue?.file, 'templates/sign-in.json.njk');
      assert.equal(issue?.path, c.path);
      assert.match(issue?.message ?? '', c.message);
      assert.ok(issue?.hint);
      assertOneCleanLine(formatIssue(issue!));
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('names that escape the templates folder are refused', () => {
  const renderer = fixture('traversal-name');
  const byName: [string, RegExp][] = [
    ['../../etc/passwd', /^template "\.\.\/\.\.\/etc\/passwd" is outside the templates folder templates\/: the name climbs out with \.\.$/],
    ['../outside.njk', /climbs out with \.\./],
    ['../templates-evil/secret.njk', /^template "\.\.\/templates-evil\/secret\.njk" is outside the templates folder templates\/: the name climbs out with \.\.$/],
    ['partials/../../outside.njk', /climbs out with \.\./],
    ['/etc/passwd', /^template "\/etc\/passwd" is outside the templates folder templates\/: the name is an absolute path$/],
    ['C:\\Windows\\win.ini', /is an absolute path/],
    ['..\\outside.njk', /climbs out with \.\./],
    ['', /^template name "" is invalid: it is empty$/],
  ];
  for (const [name, expected] of byName) {
    test(`render(${JSON.stringify(name)})`, () => {
      const error = expectTemplateError(() => renderer.render(name, flowContext('sign-in')));
      assert.match(error.message, expected);
    });
  }

  test('an absolute path into the project, outside the templates folder', () => {
    const outside = path.join(FIXTURES, 'traversal-name', 'outside.njk');
    assert.throws(() => renderer.render(outside, flowContext('sign-in')), (error: unknown) => {
      assert.ok(error instanceof TemplateError);
      assert.equal(error.message, `template "${outside}" is outside the templates folder templates/: the name is an absolute path`);
      return true;
    });
  });

  const includes = fixture('traversal-include');
  const byInclude: [string, RegExp][] = [
    ['dot-dot.json.njk', /^templates\/dot-dot\.json\.njk:3:3: \{% include "\.\.\/\.\.\/etc\/passwd" %\} reaches outside the templates folder templates\/: the name climbs out with \.\.$/],
    ['absolute.json.njk', /^templates\/absolute\.json\.njk:3:3: \{% include "\/etc\/passwd" %\} reaches outside the templates folder templates\/: the name is an absolute path$/],
    ['nested-dot-dot.json.njk', /^templates\/nested-dot-dot\.json\.njk:3:3: \{% include "partials\/\.\.\/\.\.\/outside\.njk" %\} reaches outside/],
    ['sibling.json.njk', /^templates\/sibling\.json\.njk:3:3: \{% include "\.\.\/templates-evil\/secret\.njk" %\} reaches outside/],
    ['import.json.njk', /^templates\/import\.json\.njk:1:1: \{% import "\.\.\/outside\.njk" %\} reaches outside/],
    ['extends.json.njk', /^templates\/extends\.json\.njk:1:1: \{% extends "\.\.\/outside\.njk" %\} reaches outside/],
    ['via-partial.json.njk', /^templates\/partials\/relative\.njk:1:1: \{% include "\.\.\/\.\.\/outside\.njk" %\} reaches outside/],
  ];
  for (const [name, expected] of byInclude) {
    test(`an include in ${name}`, () => {
      const error = expectTemplateError(() => includes.render(name, flowContext('sign-in')));
      assert.match(error.message, expected);
    });
  }

  test('a symlink inside the folder that points outside it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'descope-run-templates-'));
    try {
      await mkdir(path.join(dir, 'templates'));
      await writeFile(path.join(dir, 'secret.njk'), '"secret"');
      await symlink(path.join(dir, 'secret.njk'), path.join(dir, 'templates', 'link.njk'));
      await writeFile(path.join(dir, 'templates', 'flow.json.njk'), '{"x": {% include "link.njk" %}}');
      const renderer = createTemplateRenderer({ root: path.join(dir, 'templates'), projectRoot: dir });
      const direct = expectTemplateError(() => renderer.render('link.njk', {}));
      assert.match(direct.message, /^template "link\.njk" is outside the templates folder templates\/: the name is a symlink to a file outside it$/);
      const included = expectTemplateError(() => renderer.render('flow.json.njk', {}));
      assert.match(included.message, /^templates\/flow\.json\.njk:1:7: \{% include "link\.njk" %\} reaches outside/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('includes and macros', () => {
  test('include, import as a namespace, from-import, relative includes', () => {
    const doc = fixture('include-and-macro').renderJson('sign-in.json.njk', flowContext('sign-in')) as {
      screens: { id: string; flowId: string; htmlTemplate: Record<string, { props: Record<string, unknown> }> }[];
      extra: Record<string, unknown>;
    };
    assert.equal(doc.screens[0]?.flowId, 'sign-in');
    assert.deepEqual(doc.screens[0]?.htmlTemplate.Tt9wQ2mN4b?.props, { text: 'Welcome to Acme Cloud (staging)' });
    assert.deepEqual(doc.screens[0]?.htmlTemplate.Kx3vQ8eL2a?.props, { children: 'Continue' });
    assert.deepEqual(doc.extra, {
      viaNamespace: { id: 'T1', type: { resolvedName: 'Text' }, parent: 'ROOT', props: { text: 'Hello' } },
      viaFrom: { id: 'B1', type: { resolvedName: 'Button' }, parent: 'ROOT', props: { children: 'Go' } },
      relativeInclude: { from: 'partials/nested/leaf.njk', up: 'partials/shared.njk' },
    });
  });

  test('a renderer compiles each file once (one command); a new renderer reads the files afresh', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'descope-run-templates-'));
    try {
      await mkdir(path.join(dir, 'templates'));
      const file = path.join(dir, 'templates', 'v.njk');
      const renderer = createTemplateRenderer({ root: path.join(dir, 'templates'), projectRoot: dir });
      await writeFile(file, '{{ a | json }}');
      assert.equal(renderer.render('v.njk', { a: 1 }), '1');
      assert.equal(renderer.render('v.njk', { a: 2 }), '2');
      await writeFile(file, '{{ b | json }}');
      assert.equal(renderer.render('v.njk', { a: 3 }), '3', 'the compiled template is reused within one renderer');
      const fresh = createTemplateRenderer({ root: path.join(dir, 'templates'), projectRoot: dir });
      assert.equal(fresh.render('v.njk', { b: 2 }), '2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('the json filter', () => {
  const renderer = fixture('json-filter');
  const values: [string, unknown, string][] = [
    ['a plain string', 'Acme', '"Acme"'],
    ['quotes and backslashes', 'say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'],
    ['newlines and tabs', 'line 1\nline 2\ttab', '"line 1\\nline 2\\ttab"'],
    ['a closing script tag', '</script><script>alert(1)</script>', '"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"'],
    ['an HTML comment and ampersand', '<!-- a & b -->', '"\\u003c!-- a \\u0026 b --\\u003e"'],
    ['line and paragraph separators', 'a\u2028b\u2029c', '"a\\u2028b\\u2029c"'],
    ['Nunjucks syntax in a value', '{{ vars.x }} {% raw %}', '"{{ vars.x }} {% raw %}"'],
    ['unicode', 'Zürich ✓ 日本', '"Zürich ✓ 日本"'],
    ['a number', 42.5, '42.5'],
    ['zero and negatives', -0.001, '-0.001'],
    ['true', true, 'true'],
    ['null', null, 'null'],
    ['an array', [1, 'two', null, false], '[1,"two",null,false]'],
    ['an object', { a: 1, 'b c': ['d'], e: { f: '</x>' } }, '{"a":1,"b c":["d"],"e":{"f":"\\u003c/x\\u003e"}}'],
    ['a date (toJSON)', new Date('2024-05-01T00:00:00Z'), '"2024-05-01T00:00:00.000Z"'],
  ];
  for (const [name, value, expected] of values) {
    test(`${name}: emitted safely and round-trips through JSON.parse`, () => {
      const output = renderer.render('value.njk', { value }).trim();
      assert.equal(output, expected);
      const parsed = JSON.parse(output) as unknown;
      assert.deepEqual(parsed, JSON.parse(JSON.stringify(value)));
      assert.doesNotMatch(output, /<|>/);
    });
  }

  test('json(2) indents', () => {
    assert.equal(renderer.render('indented.njk', { value: { a: [1] } }).trim(), '{\n  "a": [\n    1\n  ]\n}');
  });

  const refused: [string, unknown, RegExp][] = [
    ['undefined', undefined, /^templates\/value\.njk:1:1: undefined template variable `value`$/],
    ['undefined in an array', [1, undefined], /`value` cannot be emitted as JSON: `value\[1\]` is undefined$/],
    ['undefined in an object', { a: { b: undefined } }, /`value` cannot be emitted as JSON: `value\.a\.b` is undefined$/],
    ['a function', () => 1, /`value` cannot be emitted as JSON: it is a function$/],
    ['NaN', Number.NaN, /it is NaN, which JSON cannot hold$/],
    ['Infinity', Number.POSITIVE_INFINITY, /it is Infinity, which JSON cannot hold$/],
    ['a bigint', 10n, /it is a bigint/],
    ['a Map', new Map([['a', 1]]), /it is a Map; convert it to an object or array$/],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })(), /`value\.self` refers back to itself \(a cycle\)$/],
  ];
  for (const [name, value, expected] of refused) {
    test(`refuses ${name}`, () => {
      const error = expectTemplateError(() => renderer.render('value.njk', { value }));
      assert.match(error.message, /^templates\/value\.njk:1:1: /);
      assert.match(error.message, expected);
    });
  }

  test('undefined inside a dict literal names the variable where it is written', () => {
    const error = expectTemplateError(() => renderer.render('nested-undefined.njk', { vars: {} }));
    assert.equal(error.message, 'templates/nested-undefined.njk:1:34: undefined template variable `vars.buttonLabel`');
    assert.match(error.hint ?? '', /it reaches \| json at templates\/nested-undefined\.njk:1:12 as `\{ id: "B1", label: vars\.buttonLabel \}\.label`/);
  });

  test('two undefined candidates: the member path is reported instead of a guess', () => {
    const error = expectTemplateError(() => renderer.render('ambiguous.njk', { vars: {} }));
    assert.equal(
      error.message,
      'templates/ambiguous.njk:1:1: `{ label: vars.a, more: { label: vars.b } }` cannot be emitted as JSON: `{ label: vars.a, more: { label: vars.b } }.label` is undefined',
    );
  });

  test('a problem that never reaches the output still fails the render', () => {
    const error = expectTemplateError(() => renderer.render('set-only.njk', { vars: {} }));
    assert.match(error.message, /^templates\/set-only\.njk: a value passed to \| json is undefined$/);
  });

  test('toJsonLiteral, directly', () => {
    assert.deepEqual(toJsonLiteral({ a: '<b>' }), { ok: true, text: '{"a":"\\u003cb\\u003e"}' });
    assert.deepEqual(toJsonLiteral([undefined]), { ok: false, problem: { path: '[0]', reason: 'is undefined' } });
    const shared = { x: 1 };
    assert.deepEqual(toJsonLiteral({ a: shared, b: shared }), { ok: true, text: '{"a":{"x":1},"b":{"x":1}}' }, 'a repeated object is not a cycle');
  });
});

// ---------------------------------------------------------------------------------------------

describe('locating JSON syntax errors', () => {
  const samples = [
    '{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"]} ', '"s"', '0', '-0.1', '1E+2',
    '', '   ', '{', '}', '{"a"}', '{"a":}', '{"a":1,}', '[1,]', '[,1]', '{a:1}', "{'a':1}", '[1 2]', '{"a":1}{}',
    '01', '1.', '.5', '+1', '-', '"abc', '"a\\x"', '"tab\there"', '"a\nb"', '[undefined]', '[NaN]', 'nul', 'truex',
    '{"a":"\\ud800"}', '{"a":1 "b":2}', '[[[[]]]]', '{"a":{"b":{"c":[{}]}}}',
  ];
  for (const text of samples) {
    test(`agrees with JSON.parse on ${JSON.stringify(text)}`, () => {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const located = locateJsonSyntaxError(text);
      assert.equal(located === undefined, valid, JSON.stringify(located));
      if (located) assert.ok(located.offset >= 0 && located.offset <= text.length);
    });
  }

  const described: [string, number, RegExp][] = [
    ['{"a":1,}', 7, /^trailing comma before '}'$/],
    ['[1,2,]', 5, /^trailing comma before '\]'$/],
    ["{'a': 1}", 1, /strings must use double quotes/],
    ['{"a": undefined}', 6, /`undefined` is not a JSON value/],
    ['{"a": "x\ny"}', 8, /raw line break or control character inside a string/],
    ['{"a": 1} x', 9, /unexpected content after the end of the JSON value/],
    ['{"a": 1', 7, /expected ',' or '}' after a property value, found the output ends too early/],
  ];
  for (const [text, offset, message] of described) {
    test(`describes ${JSON.stringify(text)}`, () => {
      const located = locateJsonSyntaxError(text);
      assert.equal(located?.offset, offset);
      assert.match(located?.message ?? '', message);
    });
  }
});
