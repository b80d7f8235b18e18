// Issue 11: an SSO secret reference may never name, or hold, descope-run's own credentials. By
// name, validate (and so diff and apply) reports it with the file and the config path (the hostile
// corpus has those rows); by value, apply refuses an alias of the management key before any write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasStackTrace } from '../helpers/cli.ts';
import { createProject, TEST_KEY } from '../helpers/project.ts';

const config = (secretVariable: string) => `import { defineConfig, tenant } from 'descope-run';
export default defineConfig({
  tenants: [tenant({ id: 'acme', name: 'Acme', sso: { type: 'oidc', name: 'Okta', clientId: 'c', clientSecret: { env: '${secretVariable}' }, issuer: 'https://acme.okta.example' } })],
});
`;

test('apply refuses an SSO secret variable that holds the management key under another name, before any write', async (t) => {
  const project = await createProject({ config: config('ACME_OIDC_SECRET') });
  t.after(() => project.close());

  const alias = await project.run(['apply', '--env', 'remote', '--yes'], { env: { ACME_OIDC_SECRET: TEST_KEY } });
  assert.equal(alias.code, 1, alias.stdout + alias.stderr);
  assert.match(alias.stderr, /^error: tenants\/acme\/sso: the client secret variable ACME_OIDC_SECRET holds the value of TEST_MGMT_KEY, a management key; nothing was applied$/m);
  assert.equal(hasStackTrace(alias.stdout + alias.stderr), false);
  assert.ok(!alias.stderr.includes(TEST_KEY) && !alias.stdout.includes(TEST_KEY), 'the key was printed');
  assert.equal(project.writeCalls(), 0, 'a write reached the API');
  assert.equal((await project.audit()).at(-1)?.outcome, 'refused');

  const own = await project.run(['apply', '--env', 'remote', '--yes'], { env: { ACME_OIDC_SECRET: 'the-oidc-secret' } });
  assert.equal(own.code, 0, own.stdout + own.stderr);
  assert.equal(project.emu.secretStatus('acme').set, true);
});
