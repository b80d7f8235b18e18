// The public API type-checks a user's config, and a misspelled builder property is a type error.
// Checked against the built declarations (dist/*.d.ts) that an installed package ships.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import ts from 'typescript';
import { REPO } from '../helpers/cli.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'descope-run-types-'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'user-project', type: 'module' }));
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(REPO, path.join(dir, 'node_modules', 'descope-run'), 'dir');
});
after(() => rm(dir, { recursive: true, force: true }));

const GOOD = `
import { defineConfig, defineEnvironment, defineModule, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';
import type { TenantInput } from 'descope-run';

export const env = defineEnvironment({ projectId: 'P2x', managementKey: { env: 'KEY' }, vars: { domain: 'acme.com' } });

const team = defineModule<{ tenant: string }>({
  name: 'team',
  templatesDir: new URL('./templates/', import.meta.url),
  build: ({ tenant: t }) => ({ roles: [role({ name: 'Lead', tenant: t })] }),
});

const base: TenantInput = { id: 'acme', name: 'Acme' };

export default defineConfig<{ domain: string }>(({ env, vars }) => ({
  permissions: [permission({ name: 'read', description: 'Read' })],
  roles: [role({ name: 'Reader', permissions: ['read'], default: true, renamedFrom: 'Viewer' })],
  tenants: [
    tenant({
      ...base,
      selfProvisioningDomains: [vars.domain],
      settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' }, inactivityTimeout: false },
      sso: { type: 'oidc', name: 'Okta', clientId: 'c', clientSecret: { env: 'SECRET' }, attributeMapping: { loginId: 'sub' } },
      protect: env === 'prod',
    }),
  ],
  modules: [team({ tenant: 'acme' })],
  flows: [flow({ id: 'sign-in', template: 'sign-in.json.njk', vars: { title: 'Hi' } }), flow({ id: 'x', json: {} })],
  theme: theme({ template: 'theme.json.njk' }),
  passwordPolicy: passwordPolicy({ minLength: 12 }),
  prune: { tenants: true },
}));
`;

function diagnostics(file: string): ts.Diagnostic[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    skipLibCheck: false,
  });
  return [...ts.getPreEmitDiagnostics(program)];
}

function messages(list: ts.Diagnostic[]): string {
  return list.map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`).join('\n');
}

test('a user config written against the public API type-checks, declarations included', async () => {
  const file = path.join(dir, 'descope.config.ts');
  await writeFile(file, GOOD);
  const list = diagnostics(file);
  assert.equal(list.length, 0, messages(list));
});

const MISTAKES: [string, string, RegExp][] = [
  ['a misspelled builder property', `tenant({ id: 'a', nmae: 'A' })`, /TS2353: Object literal may only specify known properties, and 'nmae' does not exist in type 'TenantInput'/],
  ['a wrong value type', `tenant({ id: 'a', name: 'A', enforceSSO: 'yes' })`, /TS2322: Type 'string' is not assignable to type 'boolean \| undefined'/],
  ['a literal secret', `tenant({ id: 'a', name: 'A', sso: { type: 'oidc', name: 'n', clientId: 'c', clientSecret: 'hunter2' } })`, /TS2322: Type 'string' is not assignable to type 'SecretRef'/],
  ['a misspelled top-level key in the function form', `defineConfig(({ env }) => ({ tenant: [], roles: [], prune: { tenants: env === 'dev' } }))`, /TS2345: .*Types of property 'tenant' are incompatible/],
  ['a misspelled top-level key in the object form', `defineConfig({ tenant: [] })`, /TS2353: .*'tenant' does not exist/],
  ['a flow with both template and json', `flow({ id: 'f', template: 'f.njk', json: {} })`, /TS2345: .*not assignable to parameter of type 'FlowInput'/],
  ['an unknown duration unit', `tenant({ id: 'a', name: 'A', settings: { sessionTokenExpiration: { value: 1, unit: 'years' } } })`, /TS2322: Type '"years"'/],
];

for (const [name, code, expected] of MISTAKES) {
  test(`${name} is a type error`, async () => {
    const file = path.join(dir, `mistake-${name.replace(/\W+/g, '-')}.ts`);
    await writeFile(file, `import { defineConfig, tenant, flow } from 'descope-run';\nexport const x = ${code};\nvoid defineConfig; void tenant; void flow;\n`);
    const text = messages(diagnostics(file));
    assert.match(text, expected);
  });
}
