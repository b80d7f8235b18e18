// The audit log end to end: one valid JSON line per apply (applied, no-op, failed, refused), private
// file modes, `descope-run audit` as a table and as JSON, and no secret anywhere: a canary OIDC
// client secret and a canary management key must not appear in .descope/, a saved plan, or any output.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { CliResult } from '../helpers/cli.ts';
import { createProject, listFiles, modeOf, PROJECT_A } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];

const config = (name: string) => `import { defineConfig, tenant } from 'descope-run';

export default defineConfig({
  tenants: [
    tenant({
      id: 'acme',
      name: '${name}',
      sso: {
        type: 'oidc',
        name: 'Acme IdP',
        clientId: 'acme-client',
        clientSecret: { env: 'CANARY_SECRET' },
        issuer: 'https://idp.example.test/oauth2/default',
      },
    }),
  ],
});
`;

test('the audit log: one valid line per apply, private modes, audit as table and JSON, and no secret anywhere', async (t) => {
  const canarySecret = `canary-oidc-secret-${randomUUID()}`;
  const canaryKey = `canary-management-key-${randomUUID()}`;
  const project = await createProject({ config: config('Acme'), managementKey: canaryKey });
  t.after(() => project.close());
  const env = { CANARY_SECRET: canarySecret };
  const outputs: [string, CliResult][] = [];
  const run = async (args: string[]) => {
    const result = await project.run(args, { env });
    outputs.push([args.join(' '), result]);
    return result;
  };

  const diffJson = await run(['diff', ...REMOTE, '--json', '--out', 'plan.json']);
  assert.equal(diffJson.code, 0, diffJson.stderr);
  assert.match(diffJson.stdout, /"env": "CANARY_SECRET"/, 'the plan holds the reference');

  // 1: applied. The secret did reach the project (so the canary is a real one).
  const first = await run(['apply', ...REMOTE, '--yes']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /\+ tenants\/acme\/sso\n/);
  assert.match(first.stdout, /clientSecret: +\(secret from \$CANARY_SECRET\)/);
  const stored = project.emu.secretStatus('acme');
  assert.deepEqual(stored, { set: true, sha256: createHash('sha256').update(canarySecret).digest('hex') });

  // 2: nothing to do.
  const noop = await run(['apply', ...REMOTE, '--yes']);
  assert.equal(noop.code, 0, noop.stdout + noop.stderr);

  // 3: a change that fails.
  await project.setConfig(config('Acme Renamed'));
  project.emu.failNext({ status: 400, path: '/v1/mgmt/tenant/update' });
  const failing = await run(['apply', ...REMOTE, '--yes']);
  assert.equal(failing.code, 1, failing.stdout + failing.stderr);

  // 4: refused (not a terminal, no --yes).
  const refused = await run(['apply', ...REMOTE]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);

  await run(['diff', ...REMOTE]);
  const table = await run(['audit']);
  const json = await run(['audit', '--json', '--env', 'remote']);

  // Exactly one line per apply, each a whole record.
  const file = path.join(project.dir, '.descope', 'audit', 'remote.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  assert.equal(lines.length, 4, lines.join('\n'));
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    records.map((r) => [r.outcome, r.exitStatus]),
    [
      ['applied', 0],
      ['no-changes', 0],
      ['failed', 1],
      ['refused', 1],
    ],
  );
  for (const record of records) {
    assert.equal(typeof record.time, 'string');
    assert.ok(!Number.isNaN(Date.parse(record.time as string)), `time ${String(record.time)}`);
    assert.equal(typeof record.user, 'string');
    assert.ok((record.user as string).length > 0);
    assert.equal(record.environment, 'remote');
    assert.equal(record.projectId, PROJECT_A);
    assert.match(record.planFingerprint as string, /^[0-9a-f]{64}$/);
    assert.equal(typeof record.durationMs, 'number');
    assert.ok(Array.isArray(record.changes));
    for (const change of record.changes as Record<string, unknown>[]) {
      assert.equal(typeof change.address, 'string');
      assert.ok(['done', 'failed', 'skipped'].includes(change.result as string), JSON.stringify(change));
    }
  }
  assert.deepEqual(
    (records[0]!.changes as { address: string; result: string }[]).map((c) => `${c.address} ${c.result}`),
    ['tenants/acme done', 'tenants/acme/sso done'],
  );
  assert.deepEqual(records[1]!.changes, []);
  assert.deepEqual(records[2]!.changes, [
    {
      address: 'tenants/acme',
      action: 'update',
      result: 'failed',
      error: { message: (records[2]!.changes as { error: { message: string } }[])[0]!.error.message, status: 400, code: 'E990400' },
    },
  ]);
  assert.deepEqual(
    (records[3]!.changes as { result: string }[]).map((c) => c.result),
    ['skipped'],
  );

  assert.equal(await modeOf(file), 0o600);
  assert.equal(await modeOf(path.dirname(file)), 0o700);
  assert.equal(await modeOf(path.join(project.dir, '.descope')), 0o700);

  // descope-run audit: the same records as JSON, and a table.
  assert.equal(json.code, 0, json.stderr);
  const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
  assert.deepEqual(listed, records);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trimEnd().split('\n');
  assert.match(rows[0]!, /^TIME +ENV +USER +COMMIT +CHANGES +OUTCOME +DURATION$/);
  assert.equal(rows.length, 5, table.stdout);
  assert.deepEqual(
    rows.slice(1).map((row) => /\b(applied|no-changes|failed|refused)\b/.exec(row)?.[1]),
    ['applied', 'no-changes', 'failed', 'refused'],
  );
  assert.match(rows[1]!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z +remote +\S+ +\S+ +2 done +applied +[\d.]+ s$/);

  // No canary anywhere: every file under .descope/, the saved plan, every output.
  const files = [...(await listFiles(path.join(project.dir, '.descope'))), path.join(project.dir, 'plan.json')];
  assert.ok(files.length >= 2, files.join('\n'));
  for (const f of files) {
    const content = await readFile(f, 'utf8');
    for (const canary of [canarySecret, canaryKey]) assert.ok(!content.includes(canary), `${path.relative(project.dir, f)} holds a secret`);
  }
  for (const [command, result] of outputs) {
    for (const canary of [canarySecret, canaryKey]) {
      assert.ok(!result.stdout.includes(canary) && !result.stderr.includes(canary), `descope-run ${command} printed a secret`);
    }
  }
});
