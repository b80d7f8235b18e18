// Flow exports as users have them on disk converge after one apply (issue 11, item 15): a console
// (v1) export and a descopecli (v2) export, both with keys the SDK's flow.import cannot send (a
// non-empty `references` map, `exportedBy`, a future top-level key) and a v2 document with an
// empty `"references": {}`, plus task keys named `constructor` and `prototype`, go through the real
// CLI against the emulator: validate notes what is not imported, apply imports, and diff then says
// No changes. Before, `references` showed as a change after every apply.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES } from '../helpers/cli.ts';
import { createProject, type Project } from '../helpers/project.ts';

const CONFIG = `import { defineConfig, flow } from 'descope-run';

export default defineConfig({
  flows: [
    flow({ id: 'sign-up-or-in', template: 'v1-export.json' }),
    flow({ id: 'sign-up-or-in-v2', template: 'v2-export.json' }),
    flow({ id: 'verify-otp', template: 'verify-otp.json' }),
  ],
});
`;

/** A small v2 document as descopecli writes it when the flow uses no connector or role. */
const VERIFY_OTP = {
  flowId: 'verify-otp',
  metadata: { name: 'Verify code', componentsVersion: '2.0.547' },
  contents: {
    startTask: 'start',
    tasks: {
      start: { id: 'start', name: 'start', next: { rules: [{ taskId: '1' }] } },
      '1': { id: '1', type: 'automated', action: 'logged-in', name: 'End', constructor: { kept: true }, prototype: 'kept' },
    },
  },
  screens: [],
  references: {},
};

let project: Project;

before(async () => {
  project = await createProject({ config: CONFIG });
  const templates = path.join(project.dir, 'templates');
  await mkdir(templates);
  const fixture = (name: string) => readFile(path.join(FIXTURES, 'templates', 'flow-format', name), 'utf8');
  // Byte for byte as exported, but for the v2 file's id: both fixtures export the same flow.
  await writeFile(path.join(templates, 'v1-export.json'), await fixture('v1-export.json'));
  await writeFile(path.join(templates, 'v2-export.json'), (await fixture('v2-export.json')).replace('"flowId": "sign-up-or-in"', '"flowId": "sign-up-or-in-v2"'));
  await writeFile(path.join(templates, 'verify-otp.json'), `${JSON.stringify(VERIFY_OTP, null, 2)}\n`);
});
after(() => project?.close());

test('v1 and v2 exports from disk: validate notes what is not imported, apply, then diff says No changes', async () => {
  const validated = await project.run(['validate', '--env', 'remote']);
  assert.equal(validated.code, 0, validated.stdout + validated.stderr);
  const notes = validated.stderr.split('\n').filter((line) => line.startsWith('note: '));
  assert.deepEqual(notes, [
    'note: templates/v1-export.json: flows/sign-up-or-in: "someFutureTopLevelKey" (kept) is not imported: the SDK\'s flow import writes the flow and its screens only',
    'note: templates/v2-export.json: flows/sign-up-or-in-v2: "references" (connectors, roles), "exportedBy" are not imported: the SDK\'s flow import writes the flow and its screens only',
  ]);
  assert.match(validated.stderr, /hint: Unlike descopecli, which maps "references" to the target project by name/);

  const applied = await project.run(['apply', '--env', 'remote', '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.match(applied.stdout, /Apply complete: 3 changes/);
  const stored = project.emu.snapshot().flows.find((f) => f.id === 'verify-otp');
  assert.deepEqual((stored?.flow as { dsl: { tasks: Record<string, Record<string, unknown>> } }).dsl.tasks['1']?.constructor, { kept: true });

  const diffed = await project.run(['diff', '--env', 'remote']);
  assert.equal(diffed.code, 0, diffed.stdout + diffed.stderr);
  assert.match(diffed.stdout, /No changes\. The live project matches the config\./, diffed.stdout);
});
