// Every kind of bad input gets one clear message naming the file (and line or config path), what
// is wrong and what to do; exit code 1; no stack trace. Each case is a fixture folder under
// test/fixtures/cli/, run through the real CLI.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { copyFixture, hasStackTrace, runCli } from '../helpers/cli.ts';

interface Case {
  fixture: string;
  args: string[];
  env?: Record<string, string>;
  /** Every one of these must appear in stderr. */
  expect: (string | RegExp)[];
  /** Must not appear anywhere in the output. */
  never?: string[];
}

const CASES: Case[] = [
  {
    fixture: 'syntax-error',
    args: ['validate'],
    expect: [/descope\.config\.ts:3:\d+: /, /hint: fix the error above in descope\.config\.ts/],
  },
  {
    fixture: 'config-throws',
    args: ['validate'],
    expect: [
      /descope\.config\.ts:4:\d+: the config threw for environment "local": vars\.region is not set for this environment/,
      'hint: fix the code at descope.config.ts:4:',
    ],
  },
  {
    fixture: 'throws-at-import',
    args: ['validate'],
    expect: [/descope\.config\.ts:3:\d+: descope\.config\.ts threw while loading: SyntaxError: /],
  },
  {
    fixture: 'wrong-default-export',
    args: ['validate'],
    expect: ['descope.config.ts: the default export must be a config, got an array', 'hint: export default defineConfig('],
  },
  {
    fixture: 'no-default-export',
    args: ['validate'],
    expect: ['descope.config.ts: has no default export', 'hint: end the file with `export default defineConfig({ ... })`'],
  },
  {
    fixture: 'schema-violations',
    args: ['validate'],
    expect: [
      'descope.config.ts: roles/Reader.default: expected boolean, got a string',
      'descope.config.ts: tenants/acme.selfProvisioningDomains[1]: "not a domain" is not a valid host name',
      'descope.config.ts: tenants/globex.name: is required (expected string)',
      'descope.config.ts: tenants/initech: unknown property "enforceSso"',
      'descope.config.ts: tenants/hooli.sso.clientSecret: a literal secret is refused: write { env: "VARIABLE_NAME" }',
      'descope.config.ts: tenants/umbrella.settings.sessionTokenExpiration.unit:',
      'descope.config.ts: tenants/cyberdyne.sso.idpUrl: "not a url" is not a URL',
      /descope\.config\.ts: tenants\/bad id\.id: may hold only letters/,
      'descope.config.ts: flows/both.json: a flow needs either `template` (a file under templates/) or `json`, not both',
      '9 problems found.',
    ],
    never: ['hunter2'],
  },
  {
    fixture: 'duplicate-address',
    args: ['validate'],
    expect: ['descope.config.ts: tenants/acme: is declared twice: at tenants[0] in descope.config.ts and at tenants[1] in descope.config.ts'],
  },
  {
    fixture: 'duplicate-across-modules',
    args: ['validate'],
    expect: ['roles/Auditor: is declared twice: at roles[0] in descope.config.ts and at roles[0] in module "audit" (modules[0])'],
  },
  {
    fixture: 'references',
    args: ['validate'],
    expect: [
      'roles/Reader.permissions[1]: names permission "write", which is not declared',
      'roles/nowhere/Local Admin.tenant: is scoped to tenant "nowhere", which is not declared',
      'tenants/acme.defaultRoles[1]: names role "Owner", which is not declared',
      'tenants/globex.selfProvisioningDomains[0]: claims "ACME.com", which tenants/acme claims too',
      '4 problems found.',
    ],
  },
  {
    fixture: 'mixed-problems',
    args: ['validate'],
    expect: [
      'descope.config.ts: tenants/acme.enforceSSO: expected boolean, got a string',
      'descope.config.ts: tenants/globex: is declared twice: at tenants[1] in descope.config.ts and at tenants[2] in descope.config.ts',
      'descope.config.ts: roles/acme/Reader.permissions[0]: names permission "read", which is not declared',
      'templates/sign-in.json.njk: flows/sign-in: template not found',
      '4 problems found.',
    ],
  },
  {
    fixture: 'unknown-environment',
    args: ['validate', '--env', 'qa'],
    expect: ['environment "qa": there is no environments/qa.ts', 'known environments: local, staging'],
  },
  {
    fixture: 'unknown-environment',
    args: ['validate'],
    env: { DESCOPE_ENV: '../../etc/passwd' },
    expect: ['environment "../../etc/passwd": not a valid environment name'],
  },
  {
    fixture: 'missing-key-variable',
    args: ['validate', '--env', 'staging'],
    expect: [
      'environments/staging.ts: the management key variable FIXTURE_STAGING_KEY is not set',
      'hint: export FIXTURE_STAGING_KEY=',
    ],
  },
  {
    fixture: 'literal-key',
    args: ['validate', '--env', 'prod'],
    expect: ['environments/prod.ts: managementKey: a literal secret is refused: write { env: "VARIABLE_NAME" }'],
    never: ['K2secretManagementKeyDoNotCommit'],
  },
  {
    fixture: 'template-missing',
    args: ['validate'],
    expect: ['templates/sign-in.json.njk', /not found|does not exist|no such/i],
  },
  {
    fixture: 'template-syntax-error',
    args: ['validate'],
    expect: [/templates\/sign-in\.json\.njk:\d+/],
  },
  {
    fixture: 'template-undefined-variable',
    args: ['validate'],
    expect: ['templates/sign-in.json.njk:4:13: flows/sign-in: undefined template variable `subtitle`'],
  },
  {
    fixture: 'template-not-json',
    args: ['render'],
    expect: [/templates\/sign-in\.json\.njk/, /JSON/],
  },
  {
    fixture: 'flow-dangling-reference',
    args: ['validate'],
    expect: ['flows/sign-in', '"99"'],
  },
];

describe('bad input: one clear message, exit 1, no stack trace', () => {
  for (const c of CASES) {
    test(`${c.fixture}: descope-run ${c.args.join(' ')}`, async () => {
      const dir = await copyFixture('cli', c.fixture);
      try {
        const result = await runCli(c.args, { cwd: dir, ...(c.env ? { env: c.env } : {}) });
        const output = result.stdout + result.stderr;
        assert.equal(result.code, 1, `exit code\n${output}`);
        assert.equal(hasStackTrace(output), false, `stack trace in output:\n${output}`);
        assert.doesNotMatch(output, /crashed/, output);
        for (const expected of c.expect) {
          if (typeof expected === 'string') assert.ok(result.stderr.includes(expected), `missing ${JSON.stringify(expected)} in:\n${result.stderr}`);
          else assert.match(result.stderr, expected);
        }
        for (const secret of c.never ?? []) assert.ok(!output.includes(secret), `${secret} leaked:\n${output}`);
        assert.equal(result.stdout, '', 'nothing on stdout when it fails');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
