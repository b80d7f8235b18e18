// Which variables an SSO secret reference may name, and the issue validate reports: table-driven.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tenant } from '../../src/dsl/builders.ts';
import { checkSecretReferences, credentialVariable, secretHoldingKey } from '../../src/runner/config/secret-refs.ts';
import { projectSpec } from '../helpers/plan-state.ts';

const staging = { name: 'staging', keyVariable: 'STAGING_KEY' };

test('credentialVariable: the environment\'s key variable, DESCOPE_MANAGEMENT_KEY and *_MANAGEMENT_KEY names are refused, others are not', () => {
  const cases: [string, RegExp | undefined][] = [
    ['STAGING_KEY', /environment "staging" reads its management key from/],
    ['DESCOPE_MANAGEMENT_KEY', /descope-run reads the management key from/],
    ['DESCOPE_PROD_MANAGEMENT_KEY', /by its name holds a Descope management key/],
    ['MANAGEMENT_KEY', /by its name/],
    ['ACME_OIDC_CLIENT_SECRET', undefined],
    // What import writes for a tenant named "management-key": a secret, not a key.
    ['DESCOPE_SSO_MANAGEMENT_KEY_CLIENT_SECRET', undefined],
    ['MYMANAGEMENT_KEY', undefined],
    ['PROD_KEY', undefined],
  ];
  for (const [name, expected] of cases) {
    const why = credentialVariable(name, staging);
    if (expected) assert.match(why ?? '', expected, name);
    else assert.equal(why, undefined, name);
  }
});

test('checkSecretReferences: one issue per reference, with the file, the config path and a variable to use instead', () => {
  const oidc = (env: string) => ({ type: 'oidc' as const, name: 'Okta', clientId: 'c', clientSecret: { env } });
  const spec = projectSpec({
    tenants: [
      tenant({ id: 'acme', name: 'Acme', sso: oidc('STAGING_KEY') }),
      tenant({ id: 'globex', name: 'Globex', sso: oidc('GLOBEX_OIDC_SECRET') }),
      tenant({ id: '9-lives', name: 'Nine', sso: oidc('DESCOPE_MANAGEMENT_KEY') }),
      tenant({ id: 'initech', name: 'Initech' }),
    ],
  });
  assert.deepEqual(
    checkSecretReferences(spec, staging).map((i) => [i.file, i.path, i.hint]),
    [
      ['descope.config.ts', 'tenants/acme.sso.clientSecret.env', 'give the client secret a variable of its own, e.g. { env: "ACME_OIDC_CLIENT_SECRET" }'],
      ['descope.config.ts', 'tenants/9-lives.sso.clientSecret.env', 'give the client secret a variable of its own, e.g. { env: "TENANT_9_LIVES_OIDC_CLIENT_SECRET" }'],
    ],
  );
});

test('secretHoldingKey: a secret whose value is a key set under a credential name, whatever its own name', () => {
  const secrets = [{ address: 'tenants/acme/sso', env: 'ACME_SECRET' }];
  const holds = (processEnv: NodeJS.ProcessEnv) => secretHoldingKey(secrets, staging, processEnv)?.holder;
  assert.equal(holds({ ACME_SECRET: 'k1', STAGING_KEY: 'k1' }), 'STAGING_KEY');
  assert.equal(holds({ ACME_SECRET: 'k1', DESCOPE_PROD_MANAGEMENT_KEY: 'k1' }), 'DESCOPE_PROD_MANAGEMENT_KEY');
  assert.equal(holds({ ACME_SECRET: 'k1', STAGING_KEY: 'k2' }), undefined);
  assert.equal(holds({ ACME_SECRET: '', STAGING_KEY: '' }), undefined, 'unset is not a match');
  assert.equal(holds({ ACME_SECRET: 'k1', OTHER: 'k1' }), undefined, 'only credential variables count');
});
