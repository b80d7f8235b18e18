import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FIXED_NOW, fails, ok, rawFetch, startHarness, type Harness, type Management } from './helpers.ts';

type FlowArg = Parameters<Management['flow']['import']>[1];
type ScreensArg = NonNullable<Parameters<Management['flow']['import']>[2]>;
interface V1Export {
  flow: FlowArg & Record<string, unknown>;
  screens: ScreensArg;
}

/** A realistic v1 export with keys the SDK types do not know (version, widget, componentsVersion, ...). */
function fixture(): V1Export {
  return JSON.parse(
    readFileSync(new URL('../fixtures/emulator/flow-sign-up-or-in.v1.json', import.meta.url), 'utf8'),
  ) as V1Export;
}

describe('emulator: management.flow', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());
  beforeEach(() => h.emulator.reset());

  it('import then export round-trips the v1 {flow, screens} object unchanged, unknown keys included', async () => {
    const { m } = h;
    const original = fixture();
    const imported = ok(await m.flow.import('sign-up-or-in', original.flow, original.screens));
    assert.deepEqual(imported, original);
    const exported = ok(await m.flow.export('sign-up-or-in'));
    assert.deepEqual(exported, original);
    assert.equal(JSON.stringify(exported), JSON.stringify(original), 'same keys in the same order');
  });

  it('list reports metadata and total; import is an upsert', async () => {
    const { m } = h;
    const original = fixture();
    ok(await m.flow.import('sign-up-or-in', original.flow, original.screens));
    ok(await m.flow.import('step-up', { id: 'step-up', name: 'Step Up', dsl: {}, disabled: true }));
    assert.deepEqual(ok(await m.flow.list()), {
      flows: [
        { id: 'sign-up-or-in', name: 'Sign Up or In', description: 'Email OTP sign-up or sign-in', disabled: false },
        { id: 'step-up', name: 'Step Up', description: '', disabled: true },
      ],
      total: 2,
    });
    ok(await m.flow.import('step-up', { id: 'step-up', name: 'Step Up v2', dsl: {}, disabled: false }));
    const flows = ok(await m.flow.list()).flows;
    assert.equal(flows.length, 2);
    assert.equal(flows[1]?.name, 'Step Up v2');
    assert.deepEqual(ok(await m.flow.export('step-up')).screens, [], 'screens default to []');
  });

  it('import as another id rewrites flow.id and the screens flowId', async () => {
    const { m } = h;
    const original = fixture();
    const imported = ok(await m.flow.import('copy', original.flow, original.screens));
    assert.equal(imported.flow.id, 'copy');
    assert.equal(imported.screens[0]?.flowId, 'copy');
    assert.equal(ok(await m.flow.export('copy')).flow.name, 'Sign Up or In');
  });

  it('a screen imported without an id gets a generated SC id', async () => {
    const { m } = h;
    const screens = [{ flowId: 'f', htmlTemplate: {} }] as unknown as ScreensArg;
    const imported = ok(await m.flow.import('f', { id: 'f', name: 'F', dsl: {}, disabled: false }, screens));
    assert.match(imported.screens[0]?.id ?? '', /^SC[A-Za-z0-9]{26}$/);
    assert.deepEqual(ok(await m.flow.export('f')).screens, imported.screens);
  });

  it('export of an unknown flow is not found; bad imports are refused', async () => {
    const { m } = h;
    fails(await m.flow.export('nope'), 404, 'E103003', 'flow "nope"');
    fails(await m.flow.export(''), 400, 'E011002', 'flowId');
    // A JavaScript caller can leave the flow out.
    fails(await m.flow.import('x', undefined as unknown as FlowArg), 400, 'E011002', 'flow is required');
    const tasks: Record<string, unknown> = {};
    for (let i = 0; i < 201; i += 1) tasks[String(i)] = { id: String(i) };
    fails(await m.flow.import('big', { id: 'big', name: 'Big', dsl: { tasks }, disabled: false }), 400, 'E011004', '201 tasks');
    assert.equal(ok(await m.flow.list()).total, 0);
  });

  it('delete removes flows by id and skips unknown ids', async () => {
    const { m } = h;
    ok(await m.flow.import('a', { id: 'a', name: 'A', dsl: {}, disabled: false }));
    ok(await m.flow.import('b', { id: 'b', name: 'B', dsl: {}, disabled: false }));
    ok(await m.flow.delete(['a', 'ghost']));
    assert.deepEqual(ok(await m.flow.list()).flows.map((flow) => flow.id), ['b']);
    fails(await m.flow.delete(undefined as unknown as string[]), 400, 'E011002', 'ids');
  });
});

describe('emulator: flow versions (bumpFlowVersion)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ bumpFlowVersion: true, clock: () => FIXED_NOW });
  });
  after(() => h.emulator.close());

  it('each import bumps flow.version and sets modifiedTime in epoch seconds; nothing else changes', async () => {
    const { m } = h;
    const original = fixture();
    const first = ok(await m.flow.import('sign-up-or-in', original.flow, original.screens));
    assert.equal((first.flow as Record<string, unknown>)['version'], 1);
    assert.equal((first.flow as Record<string, unknown>)['modifiedTime'], 1_700_000_000);
    ok(await m.flow.import('sign-up-or-in', original.flow, original.screens));
    const exported = ok(await m.flow.export('sign-up-or-in'));
    assert.equal((exported.flow as Record<string, unknown>)['version'], 2);
    assert.deepEqual({ ...exported.flow, version: 15, modifiedTime: 1725220394 }, original.flow);
    assert.deepEqual(exported.screens, original.screens);
  });
});

describe('emulator: management.theme', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());

  it('export before any import returns the default theme; import replaces it and export echoes it', async () => {
    const { m, emulator } = h;
    assert.deepEqual(ok(await m.theme.export()), { theme: { id: '', cssTemplate: {} } });
    const theme = {
      id: 'TH1',
      cssTemplate: { light: { globals: { fonts: { font1: { family: ['Inter'] } } } }, dark: {} },
      extra: [1, null, 'kept'],
    };
    assert.deepEqual(ok(await m.theme.import(theme)), { theme });
    assert.deepEqual(ok(await m.theme.export()), { theme });
    fails(await m.theme.import(undefined as unknown as typeof theme), 400, 'E011002', 'theme is required');
    assert.equal(emulator.log.count('POST', '/v1/mgmt/theme/import', 200), 1);
    const raw = await rawFetch(emulator, 'POST', '/v1/mgmt/theme/export', { body: '{}' });
    assert.deepEqual(raw.json, { theme });
  });
});
