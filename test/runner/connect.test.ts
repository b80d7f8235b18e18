// --env local needs no setup: the runner starts an emulator in this process, with its state in
// .descope/local/state.json (0600, in a 0700 folder), and the state outlives the process.
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from '../../src/runner/cli/connect.ts';
import { loadEnvironment } from '../../src/runner/config/environment.ts';
import { createTenant, readLiveState } from '../../src/runtime/index.ts';

let dir: string;
before(async () => {
  dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-connect-')));
  await writeFile(path.join(dir, 'descope.config.ts'), 'export default {};\n');
});
after(() => rm(dir, { recursive: true, force: true }));

test('connect(local) starts an in-process emulator whose state persists in .descope/local/state.json', async () => {
  const env = await loadEnvironment(dir, 'local', {});
  assert.equal(env.target, 'emulator');
  const first = await connect(env, { root: dir, access: 'write' });
  assert.equal(first.description, 'the embedded emulator (.descope/local/state.json)');
  try {
    await createTenant(first.api, {
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      customAttributes: {},
      enforceSSO: false,
      disabled: false,
      defaultRoles: [],
    });
  } finally {
    await first.close();
  }
  const stateFile = path.join(dir, '.descope', 'local', 'state.json');
  assert.equal((await stat(stateFile)).mode & 0o777, 0o600);
  assert.equal((await stat(path.dirname(stateFile))).mode & 0o777, 0o700);

  const second = await connect(env, { root: dir });
  try {
    const live = await readLiveState(second.api, { tenants: true });
    assert.deepEqual(Object.keys(live.state.tenants ?? {}), ['acme']);
  } finally {
    await second.close();
  }
});

test('connect(remote) without its key variable says which variable to set, before any call', async () => {
  const env = {
    ...(await loadEnvironment(dir, 'local', {})),
    name: 'prod',
    target: 'remote' as const,
    projectId: 'P2prod0000000000000000000000',
    keyVariable: 'PROD_KEY',
  };
  await assert.rejects(connect(env, { processEnv: {} }), /the management key variable PROD_KEY is not set/);
});
