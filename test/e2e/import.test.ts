// `descope-run import` end to end: the real CLI (built bin) reads a project built through the
// emulator (tenants with settings and SSO, one OIDC and one SAML; project and tenant roles;
// permissions; two flows; a theme) and writes a project; in that folder `validate` passes and
// `diff` shows No changes. A planted OIDC secret appears in no written file; a non-empty --out is
// refused with nothing written.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { hasStackTrace, REPO, runCli } from '../helpers/cli.ts';
import { createProject, listFiles, PROJECT_A, TEST_KEY } from '../helpers/project.ts';

const CANARY = 'canary-oidc-secret-7f3a9c1e-do-not-write';
const NO_CHANGES = 'No changes. The live project matches the config.';

async function tempDir(prefix: string): Promise<string> {
  return realpath(await mkdtemp(path.join(tmpdir(), prefix)));
}

/** Every written file, relative to `dir`, sorted. */
async function relativeFiles(dir: string): Promise<string[]> {
  return (await listFiles(dir)).map((f) => path.relative(dir, f).split(path.sep).join('/')).sort();
}

async function assertNoCanary(dir: string, ...outputs: string[]): Promise<void> {
  for (const file of await listFiles(dir)) {
    assert.ok(!(await readFile(file, 'utf8')).includes(CANARY), `the secret is in ${file}`);
  }
  for (const text of outputs) assert.ok(!text.includes(CANARY), 'the secret was printed');
}

test('the sample project on the embedded emulator, imported from a folder with no config: validate passes, diff shows No changes, no secret written', async (t) => {
  const sample = await tempDir('descope-run-import-sample-');
  const bare = await tempDir('descope-run-import-bare-');
  t.after(() => Promise.all([rm(sample, { recursive: true, force: true }), rm(bare, { recursive: true, force: true })]));
  for (const entry of ['descope.config.ts', 'environments', 'modules', 'templates']) {
    await cp(path.join(REPO, entry), path.join(sample, entry), { recursive: true });
  }
  const applied = await runCli(['apply', '--env', 'local', '--yes'], { cwd: sample, env: { ACME_OIDC_CLIENT_SECRET: CANARY } });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  const state = path.join('.descope', 'local', 'state.json');
  // The emulator keeps the secret, and writes only its digest to its state file.
  const stateText = await readFile(path.join(sample, state), 'utf8');
  assert.ok(stateText.includes(`sha256:${createHash('sha256').update(CANARY).digest('hex')}`) && !stateText.includes(CANARY), 'the secret was planted in the emulator');

  // Only the emulator's state: no descope.config.ts, no environments/ (`--env local` is built in).
  await mkdir(path.join(bare, '.descope', 'local'), { recursive: true });
  await cp(path.join(sample, state), path.join(bare, state));
  const imported = await runCli(['import', '--env', 'local', '--out', 'imported'], { cwd: bare });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.equal(hasStackTrace(imported.stdout + imported.stderr), false);
  assert.match(
    imported.stdout,
    /^Imported into imported\/: 3 tenants \(1 with settings, 2 with SSO\), 8 roles, 8 permissions, 2 flows, a theme, a password policy\.$/m,
  );
  assert.match(imported.stdout, /The written config is valid and matches the live project/);
  assert.match(imported.stdout, /^Set these variables before apply: DESCOPE_SSO_ACME_CLIENT_SECRET$/m);
  assert.equal(imported.stderr, '');

  const out = path.join(bare, 'imported');
  assert.deepEqual(await relativeFiles(out), [
    'descope.config.ts',
    'environments/local.ts',
    'templates/sign-up-or-in.json',
    'templates/sso-login.json',
    'templates/theme.json',
  ]);
  assert.deepEqual((await readdir(bare)).sort(), ['.descope', 'imported'], 'a temporary folder was left behind');
  await assertNoCanary(out, imported.stdout, imported.stderr);

  const config = await readFile(path.join(out, 'descope.config.ts'), 'utf8');
  assert.match(config, /^import \{ defineConfig, flow, passwordPolicy, permission, role, tenant, theme \} from 'descope-run';$/m);
  assert.ok(config.includes('clientSecret: { env: "DESCOPE_SSO_ACME_CLIENT_SECRET" }'), config);
  assert.match(config, /type: "saml",/);
  assert.match(config, /name: "Support Agent",\n\s+tenant: "globex",/);
  assert.ok(config.includes('flow({ id: "sign-up-or-in", template: "sign-up-or-in.json" })'), config);
  assert.ok(config.includes('theme: theme({ template: "theme.json" })'), config);
  const environment = await readFile(path.join(out, 'environments', 'local.ts'), 'utf8');
  assert.match(environment, /emulator: \{ stateFile: "\.\.\/\.descope\/local\/state\.json" \}/);
  // The sample's screen text interpolates {{form.email}}: written so that Nunjucks sees no tag.
  const flowJson = await readFile(path.join(out, 'templates', 'sign-up-or-in.json'), 'utf8');
  assert.ok(flowJson.includes('\\u007b{form.email}}'), 'the {{ in a flow string is escaped');

  const validate = await runCli(['validate', '--env', 'local'], { cwd: out });
  assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /descope\.config\.ts is valid for environment "local"/);
  const diff = await runCli(['diff', '--env', 'local', '--exit-code'], { cwd: out });
  assert.equal(diff.code, 0, diff.stdout + diff.stderr);
  assert.equal(diff.stdout.trimEnd().split('\n').at(-1), NO_CHANGES, diff.stdout);
});

const FLOW_TEXT = 'Hi {{user.name}}! {% raw %}{# not a comment #}{{{ x }}} }} %} #}';

function flowJson(id: string, extra: { subFlow?: string } = {}): unknown {
  return {
    flow: {
      id,
      name: `${id} "quoted" \\ flow`,
      description: FLOW_TEXT,
      dsl: {
        startTask: '1',
        tasks: {
          '1': { id: '1', type: 'screen', name: 'Welcome', screenId: 'welcome', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
          '2': extra.subFlow
            ? { id: '2', type: 'flow', name: 'Sub', arguments: { flowId: { type: 'inline', value: extra.subFlow } }, next: {} }
            : { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
        },
      },
    },
    screens: [
      {
        id: 'welcome',
        interactions: [{ id: 'go', label: 'Continue →' }],
        htmlTemplate: { ROOT: { text: FLOW_TEXT, '{{key}}': '{#', lines: 'one\ntwo\u2028three 😀' } },
      },
    ],
  };
}

const REMOTE_CONFIG = `import { defineConfig, flow, permission, role, tenant, theme } from 'descope-run';

export default defineConfig({
  permissions: [
    permission({ name: 'docs.read', description: 'Read "docs" \\\\ and more\\nsecond line' }),
    permission({ name: 'docs.write' }),
  ],
  roles: [
    role({ name: 'Reader', permissions: ['docs.read'], default: true }),
    role({ name: 'Writer', description: 'Écrit 😀', permissions: ['docs.read', 'docs.write'] }),
    role({ name: 'Agent', tenant: 'acme-corp', permissions: ['docs.read'] }),
  ],
  tenants: [
    tenant({
      id: 'acme-corp',
      name: 'Acme "Corp"',
      selfProvisioningDomains: ['acme.com'],
      customAttributes: { 'seats-count': 25, plan: 'enterprise' },
      defaultRoles: ['Agent'],
      settings: { sessionTokenExpiration: { value: 30, unit: 'minutes' }, jitProvisioning: false },
      sso: {
        type: 'oidc',
        name: 'Acme IdP',
        clientId: 'acme-client',
        clientSecret: { env: 'PLANTED_SECRET' },
        issuer: 'https://idp.acme.com',
        scope: ['openid', 'email'],
        roleMappings: [{ role: 'Agent', groups: ['support'] }],
        domains: ['acme.com'],
      },
    }),
    tenant({
      id: 'globex',
      name: 'Globex',
      settings: { sessionSettingsEnabled: false, refreshTokenExpiration: { value: 2, unit: 'days' } },
      sso: {
        type: 'saml',
        idpUrl: 'https://login.globex.io/saml/sso',
        entityId: 'https://login.globex.io/saml/metadata',
        idpCert: '-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----',
        defaultSSORoles: ['Reader'],
        attributeMapping: { email: 'mail' },
      },
    }),
    tenant({ id: 'initech', name: 'Initech', parent: 'globex' }),
  ],
  flows: [
    flow({ id: 'sign-in', json: ${JSON.stringify(flowJson('sign-in'))} }),
    flow({ id: 'sign-up', json: ${JSON.stringify(flowJson('sign-up', { subFlow: 'sign-in' }))} }),
  ],
  theme: theme({ json: { theme: { id: '', cssTemplate: { light: { colors: { primary: '#4f46e5' } }, note: '{{ not a tag }}' } } } }),
});
`;

test('a project on a remote environment: the environment file points at it, validate passes, diff shows No changes, no secret written', async (t) => {
  const project = await createProject({ config: REMOTE_CONFIG });
  t.after(() => project.close());
  const applied = await project.run(['apply', '--env', 'remote', '--yes'], { env: { PLANTED_SECRET: CANARY } });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.equal(project.emu.secretStatus('acme-corp').sha256, createHash('sha256').update(CANARY).digest('hex'), 'the secret was planted');

  const writesBefore = project.writeCalls();
  const imported = await project.run(['import', '--env', 'remote', '--out', 'imported']);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.equal(project.writeCalls(), writesBefore, 'import wrote to the project');
  assert.match(imported.stdout, /3 tenants \(2 with settings, 2 with SSO\), 3 roles, 2 permissions, 2 flows, a theme\./);
  assert.match(imported.stdout, /^Set these variables before apply: DESCOPE_SSO_ACME_CORP_CLIENT_SECRET$/m);

  const out = path.join(project.dir, 'imported');
  assert.deepEqual(await relativeFiles(out), [
    'descope.config.ts',
    'environments/remote.ts',
    'templates/sign-in.json',
    'templates/sign-up.json',
    'templates/theme.json',
  ]);
  await assertNoCanary(out, imported.stdout, imported.stderr);
  const environment = await readFile(path.join(out, 'environments', 'remote.ts'), 'utf8');
  assert.ok(environment.includes(`projectId: "${PROJECT_A}",`), environment);
  assert.ok(environment.includes(`baseUrl: "${project.emu.url}",`), environment);
  assert.ok(environment.includes('managementKey: { env: "TEST_MGMT_KEY" },'), environment);
  const config = await readFile(path.join(out, 'descope.config.ts'), 'utf8');
  assert.ok(config.includes('customAttributes: { plan: "enterprise", "seats-count": 25 }'), config);
  assert.ok(config.includes('parent: "globex"'), config);

  const env = { TEST_MGMT_KEY: TEST_KEY };
  const validate = await runCli(['validate', '--env', 'remote'], { cwd: out, env });
  assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  const diff = await runCli(['diff', '--env', 'remote', '--exit-code'], { cwd: out, env });
  assert.equal(diff.code, 0, diff.stdout + diff.stderr);
  assert.equal(diff.stdout.trimEnd().split('\n').at(-1), NO_CHANGES, diff.stdout);
});

test('--out must be a new or empty folder: a non-empty one or a file is refused before any request, and nothing is written', async (t) => {
  const project = await createProject({ config: REMOTE_CONFIG });
  t.after(() => project.close());
  const busy = path.join(project.dir, 'busy');
  await mkdir(busy);
  await writeFile(path.join(busy, 'keep.txt'), 'mine');
  await writeFile(path.join(project.dir, 'a-file'), 'mine');
  const before = (await readdir(project.dir)).sort();

  for (const [out, message] of [
    ['busy', /^error: --out busy: the folder is not empty \(1 entry\); nothing was written$/m],
    ['a-file', /^error: --out a-file: is a file, not a folder; nothing was written$/m],
  ] as const) {
    const result = await project.run(['import', '--env', 'remote', '--out', out]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /hint: /);
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);
  }
  assert.deepEqual((await readdir(project.dir)).sort(), before, 'something was written next to --out');
  assert.deepEqual(await readdir(busy), ['keep.txt']);
  assert.equal(await readFile(path.join(busy, 'keep.txt'), 'utf8'), 'mine');
  assert.equal(project.emu.log.total, 0, 'the emulator received a request');

  const missing = await project.run(['import', '--env', 'remote']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /import needs --out DIR/);

  // An empty folder is fine, and is filled in place.
  await mkdir(path.join(project.dir, 'empty'));
  const empty = await project.run(['import', '--env', 'remote', '--out', 'empty']);
  assert.equal(empty.code, 0, empty.stdout + empty.stderr);
  assert.deepEqual(await relativeFiles(path.join(project.dir, 'empty')), ['descope.config.ts', 'environments/remote.ts']);
});

test('live values the config language refuses: the files are still written, and the problems are listed with a warning', async (t) => {
  const project = await createProject({ config: REMOTE_CONFIG });
  t.after(() => project.close());
  const sdk = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
  // A single-label domain: Descope took it, but a config may only name real host names.
  assert.equal((await sdk.management.tenant.createWithId('lab', 'Lab', ['localhost'])).ok, true);

  const imported = await project.run(['import', '--env', 'remote', '--out', 'imported']);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.equal(hasStackTrace(imported.stderr), false, imported.stderr);
  assert.match(imported.stderr, /✗ descope\.config\.ts: tenants\/lab\.selfProvisioningDomains\[0\]: "localhost" is not a valid host name/);
  assert.match(imported.stderr, /warning: the written config does not yet reproduce the live project/);
  assert.doesNotMatch(imported.stdout, /matches the live project/);
  const config = await readFile(path.join(project.dir, 'imported', 'descope.config.ts'), 'utf8');
  assert.ok(config.includes('tenant({ id: "lab", name: "Lab", selfProvisioningDomains: ["localhost"] })'), config);
});
