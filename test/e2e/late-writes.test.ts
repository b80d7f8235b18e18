// Writes that land late: the request timed out on our side, the scheduler went on, and then the
// original request reached Descope. The emulator holds a matching request (failNext holdMs) and
// runs its handler afterwards, as a server that never noticed the client gave up. Through the
// real CLI: a replaced tenant (delete, then create with the same id) must never be removed by its
// own late delete, and a late tenant-settings write (which carries the SSO domains and protocol
// it read) must not undo the SSO configuration written in the same apply.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProject, type Project } from '../helpers/project.ts';
import type { RequestLogEntry } from '../../src/emulator/index.ts';

const DELETE = '/v1/mgmt/tenant/delete';
const SECRET_VAR = 'BRANCH_OIDC_SECRET';
/** A request timeout far below the hold, short retries. */
const FAST = {
  DESCOPE_RUN_REQUEST_TIMEOUT_MS: '300',
  DESCOPE_RUN_BACKOFF_BASE_MS: '20',
  DESCOPE_RUN_BACKOFF_MAX_MS: '200',
  [SECRET_VAR]: 'branch-oidc-secret',
};

function config(parent: string): string {
  return `import { defineConfig, tenant } from 'descope-run';

export default defineConfig({
  tenants: [
    tenant({ id: 'north', name: 'North' }),
    tenant({ id: 'south', name: 'South' }),
    tenant({ id: 'branch', name: 'Branch', parent: '${parent}', selfProvisioningDomains: ['branch.test'], settings: { sessionTokenExpiration: { value: 15, unit: 'minutes' } } }),
  ],
});
`;
}

/** Waits until the held request has been answered (its write landed, or was refused), at most 10 s. */
async function heldAnswered(project: Project, path: string, since: number): Promise<RequestLogEntry> {
  for (let waited = 0; waited < 10_000; waited += 25) {
    const held = project.emu.log.recent().find((entry) => entry.fault === 'held' && entry.path === path && entry.time >= since);
    if (held) return held;
    await sleep(25);
  }
  throw new Error(`the held request to ${path} was never answered`);
}

describe('late writes', { concurrency: false }, () => {
  let project: Project;
  before(async () => {
    project = await createProject({ config: config('north') });
    const first = await project.run(['apply', '--env', 'remote', '--yes']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });
  after(() => project.close());

  test('a replace whose delete lands after the timeout: apply waits for it instead of racing it, and the new tenant stays', async () => {
    await project.setConfig(config('south'));
    const since = Date.now();
    project.emu.failNext({ holdMs: 1200, method: 'POST', path: DELETE });
    const result = await project.run(['apply', '--env', 'remote', '--yes', '--allow-delete'], { env: { ...FAST, DESCOPE_RUN_SETTLE_MS: '4000' } });
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 0, output);
    assert.match(result.stdout, /✓ tenants\/branch replaced/);
    await heldAnswered(project, DELETE, since);
    const deletes = project.emu.log.recent().filter((entry) => entry.path === DELETE && entry.time >= since);
    assert.deepEqual(deletes.map((entry) => [entry.status, entry.applied]), [[200, true]], 'one delete, the late one; never sent again');
    const branch = project.emu.snapshot().tenants.find((tenant) => tenant.id === 'branch');
    assert.ok(branch, `tenants/branch is gone after apply said:\n${output}`);
    assert.equal(branch.parent, 'south');
    assert.equal(branch.settings?.['sessionTokenExpiration'], 15, 'its settings were written after it');
  });

  test('a replace whose delete is still out after the settle time: the tenant is not created while that delete may land; a re-run finishes', async () => {
    await project.setConfig(config('north'));
    const since = Date.now();
    project.emu.failNext({ holdMs: 1500, method: 'POST', path: DELETE });
    const result = await project.run(['apply', '--env', 'remote', '--yes', '--allow-delete'], { env: { ...FAST, DESCOPE_RUN_SETTLE_MS: '300' } });
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output);
    assert.doesNotMatch(result.stdout, /tenants\/branch replaced|Apply complete/);
    assert.match(result.stdout, /✗ ± tenants\/branch: .*may still reach Descope.*not created again/);
    assert.match(result.stdout, /Run "descope-run apply --env remote( --allow-delete)?" again to finish/);
    await heldAnswered(project, DELETE, since);
    assert.equal(project.emu.snapshot().tenants.some((tenant) => tenant.id === 'branch'), false);

    const again = await project.run(['apply', '--env', 'remote', '--yes'], { env: FAST });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ tenants\/branch created/);
    const branch = project.emu.snapshot().tenants.find((tenant) => tenant.id === 'branch');
    assert.equal(branch?.parent, 'north');
  });

  test('a tenant-settings write that lands late does not undo the SSO configured in the same apply', async () => {
    await project.setConfig(
      config('north').replace(
        "tenant({ id: 'north', name: 'North' })",
        `tenant({ id: 'north', name: 'North', settings: { sessionTokenExpiration: { value: 20, unit: 'minutes' } }, sso: { type: 'oidc', name: 'North IdP', clientId: 'north-client', clientSecret: { env: '${SECRET_VAR}' }, issuer: 'https://idp.north.test', domains: ['north.test'] } })`,
      ),
    );
    const since = Date.now();
    project.emu.failNext({ holdMs: 1000, method: 'POST', path: '/v1/mgmt/tenant/settings' });
    const result = await project.run(['apply', '--env', 'remote', '--yes'], { env: FAST });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    await heldAnswered(project, '/v1/mgmt/tenant/settings', since);
    const north = project.emu.snapshot().tenants.find((tenant) => tenant.id === 'north');
    assert.deepEqual(
      north?.sso.map((sso) => [sso.authType, sso.domains]),
      [['oidc', ['north.test']]],
      'the SSO configuration survived the late settings write',
    );
    assert.equal(north?.settings?.['sessionTokenExpiration'], 20);
  });
});
