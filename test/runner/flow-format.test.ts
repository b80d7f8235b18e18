// Flow and theme documents, table-driven: v1 passes through, v2 converts to v1 keeping unknown
// keys inside the flow and its screens, top-level keys the SDK cannot import are dropped and
// reported, the round trips are lossless but for those, non-documents are refused with the
// reason, the graph check reports every dangling reference, and sub-flow cycles are found.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIssue, TemplateError } from '../../src/errors.ts';
import {
  checkFlowGraph,
  findSubFlowCycles,
  flowDependencies,
  toFlowV1,
  toFlowV2,
  toThemeV1,
  type FlowTask,
  type FlowV1,
} from '../../src/runner/templates/flow-document.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'templates', 'flow-format');
const load = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
const where = 'templates/sign-up-or-in.json.njk';
const options = { flowId: 'sign-up-or-in', where };

/** A small valid v1 flow; `tasks`/`screens` replace the defaults. */
function v1(tasks?: Record<string, FlowTask>, screens?: FlowV1['screens'], startTask = '1'): FlowV1 {
  return {
    flow: {
      id: 'sign-up-or-in',
      name: 'Sign Up or In',
      dsl: {
        startTask,
        tasks: tasks ?? {
          '1': { id: '1', type: 'screen', name: 'Welcome', screenId: 'SC1', next: { rules: [{ interactionId: 'btn', taskId: '2' }] } },
          '2': { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
        },
      },
    },
    screens: screens ?? [{ id: 'SC1', flowId: 'sign-up-or-in', interactions: [{ id: 'btn', label: 'Go' }], htmlTemplate: { ROOT: {} } }],
  };
}

function expectNotAFlow(doc: unknown, expected: RegExp) {
  assert.throws(
    () => toFlowV1(doc, options),
    (error: unknown) => {
      assert.ok(error instanceof TemplateError, String(error));
      assert.equal(error.code, 'template');
      assert.ok(error.message.startsWith(`${where}: not a`), error.message);
      assert.match(error.message, expected);
      assert.ok(!error.message.includes('\n'));
      assert.ok(error.hint);
      return true;
    },
  );
}

describe('toFlowV1: the console/v1 format', () => {
  test('a real export passes through untouched, unknown keys in the flow and screens included', () => {
    const doc = load('v1-export.json');
    const before = structuredClone(doc);
    const dropped: unknown[] = [];
    const flow = toFlowV1(doc, { ...options, dropped: (keys) => dropped.push(...keys) });
    const { someFutureTopLevelKey, ...imported } = before;
    assert.deepEqual(flow, imported);
    assert.deepEqual(doc, before, 'the input is not changed');
    // flow.import sends flow and screens only: a top-level key could never be written, so it is
    // dropped (and reported, since it held something) rather than shown as a change forever.
    assert.deepEqual(dropped, [{ key: 'someFutureTopLevelKey', value: someFutureTopLevelKey }]);
  });

  test('empty top-level extras are dropped without a word', () => {
    const dropped: unknown[] = [];
    const flow = toFlowV1({ ...v1(), references: {}, notes: [], comment: '' }, { ...options, dropped: (keys) => dropped.push(...keys) });
    assert.deepEqual(flow, v1());
    assert.deepEqual(dropped, []);
  });

  test('an absent flow id, name and screen flowId are filled in, without changing the input', () => {
    const doc = v1();
    const { id: _id, name: _name, ...flowWithoutId } = doc.flow;
    const input = { ...doc, flow: flowWithoutId, screens: [{ id: 'SC1', htmlTemplate: {} }] };
    const before = structuredClone(input);
    const flow = toFlowV1(input, options);
    assert.equal(flow.flow.id, 'sign-up-or-in');
    assert.equal(flow.flow.name, 'sign-up-or-in');
    assert.equal(flow.screens[0]?.flowId, 'sign-up-or-in');
    assert.deepEqual(input, before);
    assert.equal(toFlowV1({ ...doc, flow: { ...doc.flow, id: '' } }, options).flow.id, 'sign-up-or-in');
  });

  const bad: [string, unknown, RegExp][] = [
    ['a string', 'hello', /expected a JSON object, got the string "hello"$/],
    ['an array', [], /expected a JSON object, got an array$/],
    ['null', null, /got null$/],
    ['an empty object', {}, /it has no keys, neither "flow" \+ "screens" \(console\/v1\) nor "flowId" \+ "metadata" \+ "contents" \(v2\)$/],
    ['something else', { name: 'x', steps: [] }, /it has only "name", "steps", neither/],
    ['flow not an object', { flow: 'x', screens: [] }, /"flow" must be an object \(got the string "x"\)/],
    ['no dsl', { flow: { id: 'sign-up-or-in', name: 'x' }, screens: [] }, /flow\.dsl is missing$/],
    ['dsl not an object', { flow: { name: 'x', dsl: [] }, screens: [] }, /flow\.dsl must be an object \(got an array\)/],
    ['startTask not a string', { flow: { name: 'x', dsl: { startTask: 1, tasks: {} } }, screens: [] }, /flow\.dsl\.startTask must be a string \(got the number 1\)/],
    ['tasks not an object', { flow: { name: 'x', dsl: { startTask: '1', tasks: [] } }, screens: [] }, /flow\.dsl\.tasks must be an object keyed by task id \(got an array\)/],
    ['a task not an object', { flow: { name: 'x', dsl: { startTask: '1', tasks: { '1': 'end' } } }, screens: [] }, /flow\.dsl\.tasks\["1"\] must be an object/],
    ['screens missing', { flow: { name: 'x', dsl: { startTask: '1', tasks: {} } } }, /screens is missing \(write "screens": \[\] for a flow without screens\)/],
    ['screens not an array', { flow: { name: 'x', dsl: { startTask: '1', tasks: {} } }, screens: {} }, /screens must be an array \(got an object\)/],
    ['a screen without id', { flow: { name: 'x', dsl: { startTask: '1', tasks: {} } }, screens: [{ htmlTemplate: {} }] }, /screens\[0\]\.id must be a non-empty string \(got nothing\)/],
    ['name not a string', { flow: { name: 7, dsl: { startTask: '1', tasks: {} } }, screens: [] }, /flow\.name must be a string/],
    ['disabled not a boolean', { flow: { name: 'x', disabled: 'no', dsl: { startTask: '1', tasks: {} } }, screens: [] }, /flow\.disabled must be true or false/],
    ['another flow id', { ...v1(), flow: { ...v1().flow, id: 'sign-in' } }, /flow\.id is "sign-in" but the config declares this flow as "sign-up-or-in" \(write \{\{ flow\.id \| json \}\} or leave it out\)/],
    ['a screen of another flow', { ...v1(), screens: [{ id: 'SC1', flowId: 'sign-in' }] }, /screens\[0\]\.flowId is "sign-in" but the config declares this flow as "sign-up-or-in"/],
  ];
  for (const [name, doc, expected] of bad) {
    test(`refuses ${name}`, () => expectNotAFlow(doc, expected));
  }

  test('every structural problem is listed in the one message', () => {
    expectNotAFlow(
      { flow: { id: 'other', dsl: { startTask: 2, tasks: null } }, screens: 'none' },
      /flow\.id is "other".*; flow\.dsl\.startTask must be a string.*; flow\.dsl\.tasks must be an object.*; screens must be an array/,
    );
  });
});

describe('toFlowV1: the v2 format (descopecli, Terraform)', () => {
  test('a realistic v2 export converts to v1, keeping unknown keys', () => {
    const doc = load('v2-export.json');
    const before = structuredClone(doc);
    const dropped: unknown[] = [];
    const flow = toFlowV1(doc, { ...options, dropped: (keys) => dropped.push(...keys) });
    assert.deepEqual(doc, before, 'the input is not changed');
    assert.deepEqual(dropped, [
      { key: 'references', value: before.references },
      { key: 'exportedBy', value: 'descopecli 0.8.14' },
    ]);

    const metadata = before.metadata as Record<string, unknown>;
    assert.deepEqual(flow.flow, {
      id: 'sign-up-or-in',
      name: 'Sign Up or In',
      description: 'Email OTP with a profile step for new users',
      fingerprint: true,
      sharedInteractions: metadata.sharedInteractions,
      managementConfig: { audit: 'full' },
      translate: true,
      translateConnectorID: 'CI2translate0000000000000000',
      translateSourceLang: 'en',
      translateTargetLangs: ['de', 'fr'],
      translation: { autoDetect: true },
      dsl: before.contents,
    });
    assert.deepEqual(flow.flow.dsl.tasks['1']?.inputsMetadata, { email: { required: true } }, 'extra task keys are kept');

    const screen = (before.screens as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.deepEqual(flow.screens, [
      {
        id: 'SC2lQeZQBzLyP3St3CCuKiDOB4Aw8',
        flowId: 'sign-up-or-in',
        componentsVersion: '2.0.547',
        interactions: screen.interactions,
        htmlTemplate: screen.contents,
        clientScripts: [],
      },
    ]);
    assert.deepEqual(Object.keys(flow), ['flow', 'screens']);
    assert.deepEqual(checkFlowGraph(flow, { where, declaredFlowIds: new Set(['sign-up-or-in', 'verify-otp']) }), []);
  });

  test('the v2 export response wrapper {flow: {…}} is unwrapped', () => {
    const doc = load('v2-export.json');
    assert.deepEqual(toFlowV1({ flow: doc }, options), toFlowV1(doc, options));
  });

  test('a Terraform-style v2 document without screens or references', () => {
    const flow = toFlowV1(
      { flowId: 'sign-up-or-in', metadata: { name: 'Basic', componentsVersion: '2.0.295' }, contents: { startTask: '0', tasks: { '0': { id: '0' } } } },
      options,
    );
    assert.deepEqual(flow, { flow: { id: 'sign-up-or-in', name: 'Basic', dsl: { startTask: '0', tasks: { '0': { id: '0' } } } }, screens: [] });
  });

  test('an absent flowId is filled in; a different one is refused', () => {
    const doc = load('v2-export.json');
    const { flowId: _, ...withoutId } = doc;
    assert.equal(toFlowV1(withoutId, options).flow.id, 'sign-up-or-in');
    expectNotAFlow({ ...doc, flowId: 'sign-in' }, /flowId is "sign-in" but the config declares this flow as "sign-up-or-in"/);
  });

  const bad: [string, unknown, RegExp][] = [
    ['no contents', { flowId: 'sign-up-or-in', metadata: { name: 'x' } }, /contents is missing/],
    ['metadata not an object', { metadata: 'x', contents: { startTask: '1', tasks: {} } }, /metadata must be an object/],
    ['a screen without screenId', { metadata: {}, contents: { startTask: '1', tasks: {} }, screens: [{ contents: {} }] }, /screens\[0\]\.screenId must be a non-empty string/],
    ['references not an object', { metadata: {}, contents: { startTask: '1', tasks: {} }, references: [] }, /references must be an object/],
  ];
  for (const [name, doc, expected] of bad) {
    test(`refuses ${name}`, () => expectNotAFlow(doc, expected));
  }
});

describe('round trips', () => {
  test('v2 → v1 → v2 is lossless but for the top-level keys v1 cannot carry', () => {
    const { references: _r, exportedBy: _e, ...doc } = load('v2-export.json');
    assert.deepEqual(toFlowV2(toFlowV1(doc, options)), { ...doc, references: {} });
  });

  test('v1 → v2 drops exactly what descopecli drops; → v1 gives the rest back', () => {
    const doc = load('v1-export.json') as unknown as FlowV1;
    const v2 = toFlowV2(doc);
    assert.equal(v2.flowId, 'sign-up-or-in');
    assert.equal(v2.metadata.componentsVersion, '2.0.322');
    for (const dropped of ['version', 'modifiedTime', 'etag', 'id', 'dsl']) assert.ok(!(dropped in v2.metadata), dropped);
    assert.deepEqual(v2.metadata.translation, { enabled: false });
    assert.deepEqual(v2.references, {});
    assert.deepEqual(Object.keys(v2.screens[0] ?? {}).sort(), ['contents', 'interactions', 'screenId', 'someFutureScreenKey']);

    const back = toFlowV1(v2, options);
    const { version: _v, modifiedTime: _m, etag: _e, ...flow } = doc.flow;
    const screens = doc.screens.map(({ version: _sv, inputs: _i, ...s }) => s);
    const { someFutureTopLevelKey: _k, ...imported } = doc;
    assert.deepEqual(back, { ...imported, flow, screens });
  });

  test('screens with different componentsVersions keep their own', () => {
    const doc = v1(undefined, [
      { id: 'A', flowId: 'sign-up-or-in', componentsVersion: '2.0.1' },
      { id: 'B', flowId: 'sign-up-or-in', componentsVersion: '2.0.2' },
    ]);
    const v2 = toFlowV2(doc);
    assert.equal(v2.metadata.componentsVersion, '2.0.2');
    assert.deepEqual(v2.screens, [{ screenId: 'A', componentsVersion: '2.0.1' }, { screenId: 'B' }]);
    assert.deepEqual(toFlowV1(v2, options), doc);
  });
});

describe('checkFlowGraph', () => {
  const declaredFlowIds = new Set(['sign-up-or-in', 'verify-otp']);
  const check = (flow: FlowV1) => checkFlowGraph(flow, { where, declaredFlowIds }).map(formatIssue);
  const at = (p: string, message: string) => `${where}: flows/sign-up-or-in${p}: ${message}`;
  const end: FlowTask = { id: 'end', type: 'automated', action: 'logged-in' };

  const cases: [string, FlowV1, string[]][] = [
    ['a valid flow', v1(), []],
    ['a start task that does not exist', v1(undefined, undefined, '9'), [at('.startTask', 'flow "sign-up-or-in" starts at task "9", which does not exist')]],
    ['a rule to a missing task', v1({ '1': { id: '1', type: 'automated', name: 'Send code', next: { rules: [{ interactionId: 'success', taskId: '15' }] } } }, []),
      [at('.tasks["1"].next.rules[0].taskId', 'flow "sign-up-or-in": task "1" (Send code) goes on "success" to task "15", which does not exist')]],
    ['a rule without an interaction', v1({ '1': { next: { rules: [{ taskId: 'x' }] } } }, []),
      [at('.tasks["1"].next.rules[0].taskId', 'flow "sign-up-or-in": task "1" goes to task "x", which does not exist')]],
    ['a rule without a taskId', v1({ '1': { next: { rules: [{ interactionId: 'a' }] } } }, []),
      [at('.tasks["1"].next.rules[0].taskId', 'flow "sign-up-or-in": task "1" has a rule without a taskId')]],
    ['rules that are not an array', v1({ '1': { next: { rules: {} as never } } }, []),
      [at('.tasks["1"].next.rules', 'flow "sign-up-or-in": task "1" has "next.rules" that is not an array')]],
    ['a screen task without its screen', v1(undefined, []),
      [at('.tasks["1"].screenId', 'flow "sign-up-or-in": screen task "1" (Welcome) shows screen "SC1", which is not in screens[]')]],
    ['a screen task without screenId', v1({ '1': { type: 'screen' }, end }, [], '1'),
      [at('.tasks["1"].screenId', 'flow "sign-up-or-in": screen task "1" has no screenId')]],
    ['a task whose id differs from its key', v1({ '1': { id: '2' } }, []),
      [at('.tasks["1"].id', 'flow "sign-up-or-in": task "1" has the id "2", which differs from its key')]],
    ['two screens with one id', v1(undefined, [{ id: 'SC1' }, { id: 'SC1' }]),
      [at('.screens[1].id', 'flow "sign-up-or-in" has two screens with the id "SC1"')]],
    ['a sub-flow to an undeclared flow (inline value)', v1({ '1': { type: 'flow', name: 'MFA', arguments: { flowId: { type: 'inline', value: 'step-up' } } } }, []),
      [at('.tasks["1"].arguments.flowId', 'flow "sign-up-or-in": sub-flow task "1" (MFA) runs flow "step-up", which the config does not declare')]],
    ['a sub-flow to an undeclared flow (plain string)', v1({ '1': { type: 'flow', arguments: { flowId: 'step-up' } } }, []),
      [at('.tasks["1"].arguments.flowId', 'flow "sign-up-or-in": sub-flow task "1" runs flow "step-up", which the config does not declare')]],
    ['a sub-flow without a target', v1({ '1': { type: 'flow' } }, []),
      [at('.tasks["1"].arguments.flowId', 'flow "sign-up-or-in": sub-flow task "1" does not say which flow it runs')]],
    ['a sub-flow to a declared flow', v1({ '1': { type: 'flow', arguments: { flowId: { type: 'inline', value: 'verify-otp' } } } }, []), []],
    ['a sub-flow chosen at run time', v1({ '1': { type: 'flow', arguments: { flowId: { type: 'context', value: 'form.next' } } } }, []), []],
  ];
  for (const [name, flow, expected] of cases) {
    test(name, () => assert.deepEqual(check(flow), expected));
  }

  test('every problem is reported, not just the first', () => {
    const flow = v1(
      {
        '1': { type: 'screen', screenId: 'gone', next: { rules: [{ taskId: 'a' }, { taskId: 'b' }] } },
        '2': { type: 'flow', arguments: { flowId: 'nope' } },
      },
      [],
      'zero',
    );
    const issues = checkFlowGraph(flow, { where, declaredFlowIds });
    assert.deepEqual(issues.map((i) => i.path), [
      'flows/sign-up-or-in.startTask',
      'flows/sign-up-or-in.tasks["1"].next.rules[0].taskId',
      'flows/sign-up-or-in.tasks["1"].next.rules[1].taskId',
      'flows/sign-up-or-in.tasks["1"].screenId',
      'flows/sign-up-or-in.tasks["2"].arguments.flowId',
    ]);
    for (const issue of issues) {
      assert.equal(issue.file, where);
      assert.ok(issue.hint, `${issue.path} has a hint`);
    }
    assert.match(issues[1]?.hint ?? '', /^Point it at one of the tasks: "1", "2", or add task "a"$/);
  });
});

describe('flowDependencies', () => {
  test('the sub-flows it runs, distinct and sorted', () => {
    const flow = v1(
      {
        a: { type: 'flow', arguments: { flowId: { type: 'inline', value: 'verify-otp' } } },
        b: { type: 'flow', arguments: { flowId: 'mfa' } },
        c: { type: 'flow', arguments: { flowId: { value: 'mfa' } } },
        d: { type: 'flow', arguments: { flowId: { type: 'context', value: 'form.flow' } } },
        e: { type: 'automated', arguments: { flowId: 'not-a-sub-flow' } },
      },
      [],
      'a',
    );
    assert.deepEqual(flowDependencies(flow), ['mfa', 'verify-otp']);
    assert.deepEqual(flowDependencies(v1()), []);
    assert.deepEqual(flowDependencies(toFlowV1(load('v2-export.json'), options)), ['verify-otp']);
  });
});

describe('findSubFlowCycles', () => {
  /** A flow `id` whose tasks run the given flows as sub-flows (task keys s1, s2, …). */
  const calling = (id: string, ...targets: (string | { type: string; value: string })[]) => {
    const tasks: Record<string, FlowTask> = { start: { id: 'start', next: { rules: targets.map((_, i) => ({ taskId: `s${i + 1}` })) } } };
    targets.forEach((target, i) => {
      tasks[`s${i + 1}`] = { id: `s${i + 1}`, type: 'flow', name: `Run ${typeof target === 'string' ? target : target.value}`, arguments: { flowId: typeof target === 'string' ? { type: 'inline', value: target } : target } };
    });
    return { id, where: `templates/${id}.json.njk`, flow: { flow: { id, name: id, dsl: { startTask: 'start', tasks } }, screens: [] } as FlowV1 };
  };
  const report = (flows: ReturnType<typeof calling>[]) => {
    const issues = findSubFlowCycles(flows);
    for (const issue of issues) assert.equal(issue.hint, hint);
    return issues.map(formatIssue);
  };
  const hint = 'A flow may not run itself, directly or through other flows: Descope would go round at sign-in, and apply could never import one before the other. Point one of these sub-flow tasks at another flow';

  const cases: [string, ReturnType<typeof calling>[], string[]][] = [
    ['no sub-flows', [calling('a'), calling('b')], []],
    ['a chain, no cycle', [calling('a', 'b'), calling('b', 'c'), calling('c')], []],
    ['a diamond, no cycle', [calling('a', 'b', 'c'), calling('b', 'd'), calling('c', 'd'), calling('d')], []],
    ['a flow running itself', [calling('a', 'a')], [
      `templates/a.json.njk: flows/a.tasks["s1"].arguments.flowId: flow "a" runs itself: its sub-flow task "s1" (Run a) runs flow "a" (flows/a → flows/a)`,
    ]],
    ['two flows running each other', [calling('b', 'a'), calling('a', 'b')], [
      `templates/a.json.njk: flows/a.tasks["s1"].arguments.flowId: flows run each other in a circle: flows/a → flows/b → flows/a (flow "a" starts it in sub-flow task "s1" (Run b))`,
    ]],
    ['a longer circle, named from the first id whichever flow the walk starts at', [calling('c', 'a'), calling('b', 'c'), calling('a', 'b')], [
      `templates/a.json.njk: flows/a.tasks["s1"].arguments.flowId: flows run each other in a circle: flows/a → flows/b → flows/c → flows/a (flow "a" starts it in sub-flow task "s1" (Run b))`,
    ]],
    ['a circle reached from outside it: only the circle is named', [calling('a', 'b'), calling('b', 'c'), calling('c', 'b')], [
      `templates/b.json.njk: flows/b.tasks["s1"].arguments.flowId: flows run each other in a circle: flows/b → flows/c → flows/b (flow "b" starts it in sub-flow task "s1" (Run c))`,
    ]],
    ['two separate circles, each once', [calling('a', 'b'), calling('b', 'a'), calling('x', 'x')], [
      `templates/a.json.njk: flows/a.tasks["s1"].arguments.flowId: flows run each other in a circle: flows/a → flows/b → flows/a (flow "a" starts it in sub-flow task "s1" (Run b))`,
      `templates/x.json.njk: flows/x.tasks["s1"].arguments.flowId: flow "x" runs itself: its sub-flow task "s1" (Run x) runs flow "x" (flows/x → flows/x)`,
    ]],
    ['a dynamic target is not known before run time: no cycle', [calling('a', { type: 'context', value: 'form.next' })], []],
    ['a call to a flow that is not rendered is not followed', [calling('a', 'missing')], []],
  ];
  for (const [name, flows, expected] of cases) {
    test(name, () => assert.deepEqual(report(flows), expected));
  }
});

describe('toThemeV1', () => {
  const css = { light: { globals: { colors: { primary: '#1a73e8' } } }, dark: {} };
  const ok: [string, unknown, unknown][] = [
    ['the v1 export wrapper', { theme: { id: 'TH1', cssTemplate: css } }, { id: 'TH1', cssTemplate: css }],
    ['the inner object', { cssTemplate: css }, { cssTemplate: css }],
    ['an empty id and unknown keys', { theme: { id: '', cssTemplate: 'raw', extra: 1 } }, { id: '', cssTemplate: 'raw', extra: 1 }],
  ];
  for (const [name, doc, expected] of ok) {
    test(`accepts ${name}`, () => assert.deepEqual(toThemeV1(doc, 'templates/theme.json.njk'), expected));
  }

  const bad: [string, unknown, RegExp][] = [
    ['an array', [], /^templates\/theme\.json\.njk: not a theme document: expected a JSON object, got an array$/],
    ['theme not an object', { theme: 'dark' }, /"theme" must be an object \(got the string "dark"\)$/],
    ['no cssTemplate', { theme: { id: 'x' } }, /theme\.cssTemplate is missing$/],
    ['a v2 theme', { theme: { styles: {}, componentsVersion: '2.0.1' } }, /theme\.cssTemplate is missing \(this looks like a v2 theme export/],
    ['an inner object without cssTemplate', { id: 'x' }, /: cssTemplate is missing$/],
    ['an id that is not a string', { theme: { id: 3, cssTemplate: {} } }, /theme\.id must be a string \(got the number 3\)$/],
  ];
  for (const [name, doc, expected] of bad) {
    test(`refuses ${name}`, () => {
      assert.throws(() => toThemeV1(doc, 'templates/theme.json.njk'), (error: unknown) => {
        assert.ok(error instanceof TemplateError);
        assert.match(error.message, expected);
        assert.ok(error.hint);
        return true;
      });
    });
  }
});
