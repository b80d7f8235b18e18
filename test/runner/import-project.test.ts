// renderImportedProject: live state → the files of a project that manages it. Each case writes the
// files to a temp folder, compiles them the way validate does and plans them against the same live
// state: the plan must be empty and nothing may be left unmanaged (the property `import` promises:
// diff right after shows no changes). Then the text itself: escaping, names, defaults left out.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigValidationError, formatIssue } from '../../src/errors.ts';
import { compileProject } from '../../src/runner/config/compile.ts';
import { loadEnvironment } from '../../src/runner/config/environment.ts';
import {
  literal,
  propertyKey,
  renderImportedProject,
  renderTemplateJson,
  secretVariableFor,
  stringLiteral,
  type ImportEnvironment,
  type ImportedProject,
} from '../../src/runner/config/import-project.ts';
import { computePlan } from '../../src/runner/plan/compute.ts';
import { computeDesiredProject } from '../../src/runner/plan/desired.ts';
import { createTemplateRenderer } from '../../src/runner/templates/templates.ts';
import type { LiveSnapshot } from '../../src/runtime/index.ts';
import { flowDoc, liveOf, subFlowTask, type LiveInput } from '../helpers/plan-state.ts';

const LOCAL: ImportEnvironment = { name: 'local', target: 'emulator' };

/** The text with every line break (and the trailing commas it brings) folded, to match values however they wrap. */
function oneLine(text: string): string {
  return text.replace(/,\n\s*([}\]])/g, ' $1').replace(/\n\s*/g, ' ').replace(/([{[]) +/g, '$1 ');
}

/** Writes the imported files to a fresh folder and returns it. */
async function writeProject(imported: ImportedProject): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-import-')));
  for (const file of imported.files) {
    const target = path.join(dir, ...file.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  return dir;
}

/**
 * Imports `live`, compiles the written project and plans it against `live`: asserts the plan is
 * empty and nothing live is left unmanaged. Returns the files by path.
 */
async function roundTrip(live: LiveSnapshot, environment: ImportEnvironment = LOCAL): Promise<{ imported: ImportedProject; file: (p: string) => string }> {
  const imported = renderImportedProject(live.state, { environment, source: 'a test' });
  const dir = await writeProject(imported);
  try {
    let project;
    try {
      project = await compileProject({ cwd: dir, env: environment.name, processEnv: {} });
    } catch (error) {
      const detail = error instanceof ConfigValidationError ? error.issues.map(formatIssue).join('\n') : String(error);
      assert.fail(`the imported project does not compile:\n${detail}\n\n${imported.files.map((f) => `--- ${f.path}\n${f.content}`).join('\n')}`);
    }
    const plan = computePlan(computeDesiredProject(project.spec, project.rendered), live);
    assert.deepEqual([...plan.changes, ...plan.held].map((c) => c.address), [], 'diff right after the import shows changes');
    assert.deepEqual(plan.unmanaged, [], 'something live is not in the imported config');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const byPath = new Map(imported.files.map((f) => [f.path, f.content]));
  return {
    imported,
    file: (p) => {
      const content = byPath.get(p);
      assert.ok(content !== undefined, `no file ${p}; written: ${[...byPath.keys()].join(', ')}`);
      return content;
    },
  };
}

const OIDC = { type: 'oidc', name: 'Acme IdP', clientId: 'client-1', issuer: 'https://idp.acme.com' } as const;
const SAML = {
  type: 'saml',
  idpUrl: 'https://idp.globex.io/saml',
  entityId: 'urn:globex',
  idpCert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
} as const;

const TRICKY = [
  'double "quotes" and \'single\'',
  'back\\slash \\n not a newline, and a real one:\nsecond line\ttab',
  'unicode: é ü 中文 😀, line separators \u2028 and \u2029',
  'template-like: ${notInterpolated} `backticks` </script> {{ x }} {% if %} #}',
];

describe('round trip: the written project plans empty against the live state it came from', () => {
  const cases: { name: string; live: LiveInput; env?: ImportEnvironment }[] = [
    { name: 'an empty project (Descope defaults only)', live: { passwordPolicy: {}, theme: { id: '', cssTemplate: {} } } },
    {
      name: 'strings with quotes, backslashes, newlines and unicode',
      live: {
        permissions: TRICKY.map((description, i) => ({ name: `perm.${i}`, description })),
        roles: [
          { name: 'Role "quoted"', description: TRICKY[1], permissions: ['perm.0', 'perm.1'] },
          { name: 'Ünïcødé 😀 role', description: TRICKY[2] },
          { name: 'Billing/Admin', tenant: 'acme', description: TRICKY[3], default: true },
        ],
        tenants: [{ id: 'acme', name: 'Acme "The" Corp\\n', customAttributes: { note: TRICKY[1]!, list: ['a"b', 'c\nd'] } }],
      },
    },
    {
      name: 'names that are not identifiers',
      live: {
        permissions: [{ name: 'has space' }, { name: 'dash-and.dot' }, { name: '123' }],
        roles: [{ name: 'class', permissions: ['has space', '123'] }, { name: 'default' }],
        tenants: [
          {
            id: 'T2-x.y:z@w',
            name: 'weird id',
            customAttributes: { 'seats-count': 3, '1st': true, 'has space': 'v', constructor: 'c', ünï: 'x' },
          },
        ],
      },
    },
    {
      name: 'tenants: every field, parents, default roles, tenant roles',
      live: {
        roles: [{ name: 'Viewer' }, { name: 'Agent', tenant: 'child' }],
        tenants: [
          { id: 'parent', name: 'Parent', selfProvisioningDomains: ['parent.com', 'Other.COM'], enforceSSO: true, disabled: true },
          { id: 'child', name: 'Child', parent: 'parent', defaultRoles: ['Viewer', 'Agent'] },
        ],
      },
    },
    {
      name: 'tenant settings: off with lifetimes, on without, inactivity and JIT, defaults',
      live: {
        tenants: [
          { id: 'a', name: 'A' },
          { id: 'b', name: 'B' },
          { id: 'c', name: 'C' },
          { id: 'd', name: 'D' },
        ],
        tenantSettings: {
          a: { sessionSettingsEnabled: false, sessionTokenExpiration: { value: 30, unit: 'minutes' } },
          b: { sessionSettingsEnabled: true },
          c: { sessionSettingsEnabled: true, inactivityTimeout: { value: 2, unit: 'hours' }, jitProvisioning: false, stepupTokenExpiration: { value: 1, unit: 'days' } },
          d: {},
        },
      },
    },
    {
      name: 'SSO: OIDC with every field, SAML, SAML by metadata, none',
      live: {
        roles: [{ name: 'Admin' }, { name: 'Agent', tenant: 'globex' }],
        tenants: [
          { id: 'acme-corp', name: 'Acme' },
          { id: 'acme.corp', name: 'Acme 2' },
          { id: 'globex', name: 'Globex' },
          { id: 'meta', name: 'Meta' },
          { id: 'none', name: 'None' },
        ],
        tenantSso: {
          'acme-corp': {
            ...OIDC,
            authUrl: 'https://idp.acme.com/auth',
            tokenUrl: 'https://idp.acme.com/token',
            userDataUrl: 'https://idp.acme.com/userinfo',
            jwksUrl: 'https://idp.acme.com/jwks',
            redirectUrl: 'https://app.acme.com/callback',
            callbackDomain: 'auth.acme.com',
            scope: ['openid', 'email'],
            prompt: ['login', 'consent'],
            grantType: 'authorization_code',
            manageProviderTokens: true,
            attributeMapping: { loginId: 'sub', email: 'email', customAttributes: { 'dept-code': 'department', plain: 'p' } },
            roleMappings: [{ role: 'Admin', groups: ['admins', 'root'] }],
            domains: ['acme.com'],
          },
          'acme.corp': { ...OIDC, name: 'Second' },
          globex: { ...SAML, defaultSSORoles: ['Agent'], roleMappings: [{ role: 'Agent', groups: ['support'] }], spEntityId: 'sp-entity', domains: ['globex.io'] },
          meta: { type: 'saml-metadata', idpMetadataUrl: 'https://idp.meta.io/metadata', entityId: 'urn:meta' },
          none: null,
        },
      },
    },
    {
      name: 'flows whose strings look like Nunjucks, colliding file names, sub-flows; a theme; a password policy',
      live: {
        flows: [
          flowDoc({
            id: 'sign-in',
            description: '{{ description }} {%- raw -%} {# c #} #} {{{ x }}} }} %}',
            screens: [
              {
                id: 'SC1',
                flowId: 'sign-in',
                interactions: [{ id: 'go', label: 'Hi {{user.name}}! {% endraw %}' }],
                htmlTemplate: { ROOT: { text: 'We sent a code to {{form.email}}.', '{{key}}': '{#', nested: [{ '{%': '#}' }] } },
              },
            ],
          }),
          flowDoc({ id: 'theme', name: 'A flow called theme' }),
          flowDoc({ id: 'Login' }),
          flowDoc({ id: 'login' }),
          flowDoc({ id: 'a:b@c', tasks: { '1': subFlowTask('1', 'sign-in') } }),
        ],
        theme: { id: 'TH1', cssTemplate: { light: { colors: { primary: '#4f46e5', note: '{{ not a tag }}' } } }, extraKey: [1, 2] },
        passwordPolicy: { minLength: 12, lock: true, lockAttempts: 5, uppercase: false },
      },
    },
    {
      name: 'a remote environment',
      live: { tenants: [{ id: 'acme', name: 'Acme' }] },
      env: {
        name: 'staging',
        target: 'remote',
        projectId: 'P2stagingAcmeCloud00000000000',
        baseUrl: 'https://api.example.test',
        keyVariable: 'STAGING_KEY',
        protected: true,
        budget: { requests: 50, windowSeconds: 10 },
      },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      await roundTrip(liveOf(c.live), c.env ?? LOCAL);
    });
  }
});

describe('what is written', () => {
  test('an empty project: the config and the environment, nothing else', async () => {
    const { imported, file } = await roundTrip(liveOf({ passwordPolicy: {}, theme: { id: '', cssTemplate: {} } }));
    assert.deepEqual(imported.files.map((f) => f.path), ['descope.config.ts', 'environments/local.ts']);
    assert.match(file('descope.config.ts'), /^import \{ defineConfig \} from 'descope-run';\n\nexport default defineConfig\(\{\}\);\n$/m);
    assert.deepEqual(imported.secrets, []);
    assert.deepEqual(imported.counts, {
      tenants: 0,
      tenantSettings: 0,
      tenantSso: 0,
      roles: 0,
      permissions: 0,
      flows: 0,
      theme: false,
      passwordPolicy: false,
    });
  });

  test('one builder call per resource, only the builders used are imported, defaults left out', () => {
    const { files } = renderImportedProject(
      liveOf({
        permissions: [{ name: 'docs.read' }, { name: 'docs.write', description: 'Write' }],
        roles: [{ name: 'Reader', permissions: ['docs.read'], default: true }, { name: 'Agent', tenant: 'acme' }],
        tenants: [{ id: 'acme', name: 'Acme', defaultRoles: ['Agent'] }],
        tenantSettings: { acme: {} },
        tenantSso: { acme: null },
      }).state,
      { environment: LOCAL, source: 'a test' },
    );
    const config = files[0]!.content;
    assert.match(config, /^import \{ defineConfig, permission, role, tenant \} from 'descope-run';$/m);
    assert.ok(config.includes('    permission({ name: "docs.read" }),\n'), config);
    assert.ok(config.includes('    permission({ name: "docs.write", description: "Write" }),\n'), config);
    assert.ok(config.includes('    role({ name: "Reader", permissions: ["docs.read"], default: true }),\n'), config);
    assert.ok(config.includes('    role({ name: "Agent", tenant: "acme" }),\n'), config);
    assert.ok(config.includes('    tenant({ id: "acme", name: "Acme", defaultRoles: ["Agent"] }),\n'), config);
    assert.doesNotMatch(config, /settings|sso|enforceSSO|disabled|flow\(|theme\(|passwordPolicy\(/);
    // Project roles before tenant roles.
    assert.ok(config.indexOf('"Reader"') < config.indexOf('"Agent", tenant'));
  });

  test('settings: sessionSettingsEnabled written only when the default would be wrong', () => {
    const live = liveOf({
      tenants: [{ id: 'a', name: 'A' }, { id: 'b', name: 'B' }, { id: 'c', name: 'C' }],
      tenantSettings: {
        a: { sessionSettingsEnabled: false, sessionTokenExpiration: { value: 30, unit: 'minutes' } },
        b: { sessionSettingsEnabled: true },
        c: { sessionSettingsEnabled: true, refreshTokenExpiration: { value: 2, unit: 'days' } },
      },
    });
    const config = oneLine(renderImportedProject(live.state, { environment: LOCAL, source: 'a test' }).files[0]!.content);
    assert.ok(config.includes('settings: { sessionSettingsEnabled: false, sessionTokenExpiration: { value: 30, unit: "minutes" } }'), config);
    assert.ok(config.includes('tenant({ id: "b", name: "B", settings: { sessionSettingsEnabled: true } })'), config);
    assert.ok(config.includes('tenant({ id: "c", name: "C", settings: { refreshTokenExpiration: { value: 2, unit: "days" } } })'), config);
  });

  test('OIDC secrets become references named after the tenant, distinct; no other SSO gets one', () => {
    assert.equal(secretVariableFor('acme'), 'DESCOPE_SSO_ACME_CLIENT_SECRET');
    assert.equal(secretVariableFor('T2-x.y:z@w'), 'DESCOPE_SSO_T2_X_Y_Z_W_CLIENT_SECRET');
    assert.equal(secretVariableFor('ünï'), 'DESCOPE_SSO__N__CLIENT_SECRET');
    const live = liveOf({
      tenants: [{ id: 'acme-corp', name: 'A' }, { id: 'acme.corp', name: 'B' }, { id: 'globex', name: 'G' }],
      tenantSso: { 'acme-corp': OIDC, 'acme.corp': OIDC, globex: SAML },
    });
    const { secrets, files } = renderImportedProject(live.state, { environment: LOCAL, source: 'a test' });
    assert.deepEqual(secrets, [
      { address: 'tenants/acme-corp/sso', variable: 'DESCOPE_SSO_ACME_CORP_CLIENT_SECRET' },
      { address: 'tenants/acme.corp/sso', variable: 'DESCOPE_SSO_ACME_CORP_2_CLIENT_SECRET' },
    ]);
    const config = files[0]!.content;
    assert.ok(config.includes('clientSecret: { env: "DESCOPE_SSO_ACME_CORP_CLIENT_SECRET" }'), config);
    assert.ok(config.includes('clientSecret: { env: "DESCOPE_SSO_ACME_CORP_2_CLIENT_SECRET" }'), config);
    assert.equal(config.match(/clientSecret/g)?.length, 2);
    assert.match(config, /set DESCOPE_SSO_ACME_CORP_CLIENT_SECRET, DESCOPE_SSO_ACME_CORP_2_CLIENT_SECRET before apply/);
  });

  test('flow and theme files: named after the flow, distinct, theme.json kept for the theme', () => {
    const live = liveOf({
      flows: [flowDoc({ id: 'theme' }), flowDoc({ id: 'Login' }), flowDoc({ id: 'login' }), flowDoc({ id: 'a:b@c' })],
      theme: { cssTemplate: { light: {} } },
    });
    const { files } = renderImportedProject(live.state, { environment: LOCAL, source: 'a test' });
    assert.deepEqual(files.map((f) => f.path).sort(), [
      'descope.config.ts',
      'environments/local.ts',
      'templates/Login.json',
      'templates/a_b_c.json',
      'templates/login-2.json',
      'templates/theme-2.json',
      'templates/theme.json',
    ]);
    const config = files[0]!.content;
    assert.ok(config.includes('flow({ id: "theme", template: "theme-2.json" })'), config);
    assert.ok(config.includes('flow({ id: "a:b@c", template: "a_b_c.json" })'), config);
    assert.ok(config.includes('theme: theme({ template: "theme.json" }),'), config);
  });

  test('environment files', async () => {
    const render = (environment: ImportEnvironment) =>
      renderImportedProject(liveOf().state, { environment, source: 'a test' }).files.find((f) => f.path.startsWith('environments/'))!;
    const local = render({ name: 'local', target: 'emulator' });
    assert.equal(local.path, 'environments/local.ts');
    assert.match(local.content, /export default defineEnvironment\(\{\n {2}emulator: true,\n\}\);\n$/);
    const elsewhere = render({ name: 'dev', target: 'emulator', stateFile: '../other/.descope/local/state.json' });
    assert.match(elsewhere.content, /emulator: \{ stateFile: "\.\.\/other\/\.descope\/local\/state\.json" \},/);
    const remote = render({ name: 'prod', target: 'remote', projectId: 'P2prod', keyVariable: 'DESCOPE_PROD_KEY' });
    assert.match(remote.content, /^export default defineEnvironment\(\{\n {2}projectId: "P2prod",\n {2}managementKey: \{ env: "DESCOPE_PROD_KEY" \},\n\}\);$/m);

    // What the files say is what loadEnvironment reads back.
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-import-env-')));
    try {
      const full = render({
        name: 'staging',
        target: 'remote',
        projectId: 'P2staging',
        baseUrl: 'https://api.example.test',
        keyVariable: 'STAGING_KEY',
        protected: true,
        budget: { requests: 50, windowSeconds: 10 },
      });
      await mkdir(path.join(dir, 'environments'));
      await writeFile(path.join(dir, full.path), full.content);
      await writeFile(path.join(dir, elsewhere.path), elsewhere.content);
      const staging = await loadEnvironment(dir, 'staging', {});
      assert.equal(staging.target, 'remote');
      assert.equal(staging.projectId, 'P2staging');
      assert.equal(staging.baseUrl, 'https://api.example.test');
      assert.equal(staging.keyVariable, 'STAGING_KEY');
      assert.equal(staging.protected, true);
      assert.deepEqual(staging.budget, { requests: 50, windowSeconds: 10 });
      const dev = await loadEnvironment(dir, 'dev', {});
      assert.equal(dev.target, 'emulator');
      assert.equal(dev.emulatorStateFile, path.resolve(dir, '../other/.descope/local/state.json'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('template JSON: no Nunjucks tag can start in it, and it renders to the same document', async () => {
    const doc = {
      a: '{{x}} {%y%} {#z#} #} {{{ }}} %} }}',
      '{{key}}': { '{%': ['{#', '#}', '{', '#', '}'] },
      empty: {},
      list: [{}, [{}]],
      text: 'line\nbreak "quoted" \\ back \u2028 😀',
    };
    const text = renderTemplateJson(doc);
    assert.doesNotMatch(text, /\{\{|\{%|\{#|#\}/);
    assert.deepEqual(JSON.parse(text), doc);
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-import-tpl-')));
    try {
      await writeFile(path.join(dir, 'x.json'), text);
      const renderer = createTemplateRenderer({ root: dir, projectRoot: dir });
      assert.deepEqual(renderer.renderJson('x.json', {}), doc);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('TypeScript literals: strings, keys, line breaking', () => {
    for (const s of [...TRICKY, '', '\u0000\u001f', '\ud83d']) {
      // eslint-disable-next-line no-eval
      assert.equal((0, eval)(`(${stringLiteral(s)})`), s);
    }
    assert.equal(stringLiteral('a\u2028b'), '"a\\u2028b"');
    assert.equal(propertyKey('plain_$1'), 'plain_$1');
    assert.equal(propertyKey('seats-count'), '"seats-count"');
    assert.equal(propertyKey('1st'), '"1st"');
    assert.equal(propertyKey(''), '""');
    assert.equal(propertyKey('__proto__'), '["__proto__"]');
    // An own "__proto__" key (JSON.parse makes one) stays a key, not the prototype.
    const odd = JSON.parse('{"__proto__": "kept", "a-b": 1}') as Record<string, unknown>;
    // eslint-disable-next-line no-eval
    const back = (0, eval)(`(${literal(odd, '')})`) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.ok(Object.hasOwn(back, '__proto__'));
    assert.equal(back['__proto__'], 'kept');
    assert.equal(back['a-b'], 1);
    assert.equal(literal({ a: 1, b: ['x'] }, ''), '{ a: 1, b: ["x"] }');
    const long = { items: Array.from({ length: 12 }, (_, i) => `item-number-${i}`) };
    assert.equal(literal(long, ''), `{\n  items: [\n${long.items.map((s) => `    "${s}",\n`).join('')}  ],\n}`);
  });
});
