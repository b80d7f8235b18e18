// The audit outcome agrees with the exit status on every path of runApplyFlow (issue 11, item
// 18): a run that exits 1 is never recorded as `applied` or `no-changes`, also when what throws
// comes after the writes (a command's verification). In process, on the embedded emulator: the
// real flow, session, plan and audit log; only the verification is the test's (it throws).
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { PlanError } from '../../src/errors.ts';
import { runApplyFlow, type ApplyFlow } from '../../src/runner/apply/apply-run.ts';
import { readAuditLog } from '../../src/runner/store/audit-log.ts';
import type { CommandContext } from '../../src/runner/cli/cli.ts';
import { openEnvironmentSession, readLive } from '../../src/runner/cli/session.ts';
import { createOutput } from '../../src/runner/cli/output.ts';
import { computePlan } from '../../src/runner/plan/compute.ts';
import { computeDesiredFromBackup, computeScope } from '../../src/runner/plan/desired.ts';
import { normalizeTenant } from '../../src/runtime/index.ts';

let dir: string;
before(async () => {
  dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-flow-')));
});
after(() => rm(dir, { recursive: true, force: true }));

function context(): CommandContext {
  const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
  return {
    cwd: dir,
    processEnv: {},
    output: createOutput({ stdout: sink(), stderr: sink(), noColor: true, processEnv: {} }),
    values: { env: 'local', yes: true },
    positionals: [],
  };
}

/** A rollback-like flow that restores one tenant, whose verification throws. */
function flow(ctx: CommandContext): ApplyFlow {
  const desired = computeDesiredFromBackup({ tenants: { acme: normalizeTenant({ id: 'acme', name: 'Acme' }) } });
  return {
    command: 'rollback',
    backup: false,
    open: (onWait) => openEnvironmentSession(ctx, onWait, 'write'),
    makePlan: async (session) => {
      const scope = computeScope(desired);
      const live = await readLive(session, scope);
      return { plan: computePlan(desired, live, { allowDelete: true, environment: session.env.name, projectId: session.connection.projectId, scope }), live };
    },
    verify: () => Promise.reject(new PlanError('verification exploded')),
  };
}

const lastRecord = () => readAuditLog(dir, { env: 'local' }).records.at(-1)!;

test('the changes landed, then the verification threw: exit 1 and recorded as failed, with the error', async () => {
  const ctx = context();
  await assert.rejects(runApplyFlow(ctx, flow(ctx)), /verification exploded/);
  const record = lastRecord();
  assert.deepEqual([record.outcome, record.exitStatus, record.error], ['failed', 1, 'verification exploded']);
  assert.deepEqual(record.changes.map((c) => [c.address, c.result]), [['tenants/acme', 'done']], 'the record still says what landed');
});

test('nothing to change, then the verification threw: exit 1 and recorded as failed, not no-changes', async () => {
  const ctx = context();
  await assert.rejects(runApplyFlow(ctx, flow(ctx)), /verification exploded/);
  const record = lastRecord();
  assert.deepEqual([record.outcome, record.exitStatus, record.changes.length], ['failed', 1, 0]);
});
