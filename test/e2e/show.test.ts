// `descope-run show` end to end: the real CLI (built bin) against an emulator started in this
// process, after an apply and a few out-of-band writes (flows and a theme). Every view in every
// format; a folder without a config file; a bad view or format sends nothing; and each view makes
// exactly the list calls it claims (emulator request log).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { hasStackTrace, runCli, type CliResult } from '../helpers/cli.ts';
import { createProject, PROJECT_A, remoteEnvironment, TEST_KEY, type Project } from '../helpers/project.ts';

const CONFIG = `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read', description: 'Read docs' }), permission({ name: 'docs.write' })],
  roles: [
    role({ name: 'Reader', description: 'Reads: everything', permissions: ['docs.read'] }),
    role({ name: 'Agent', tenant: 'acme', permissions: ['docs.read', 'docs.write'] }),
  ],
  tenants: [
    tenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'], defaultRoles: ['Agent'] }),
    tenant({ id: 'globex', name: 'Globex', enforceSSO: true }),
  ],
});
`;

const LICENSE = 'GET /v1/mgmt/license';
/** The requests each view makes (besides the SDK's license handshake), one each. */
const CALLS: Record<string, string[]> = {
  tenants: ['GET /v1/mgmt/tenant/all'],
  roles: ['GET /v1/mgmt/tenant/all', 'POST /v1/mgmt/role/search'],
  permissions: ['GET /v1/mgmt/permission/all'],
  flows: ['POST /v1/mgmt/flow/list'],
  theme: ['POST /v1/mgmt/theme/export'],
};

const HEADERS: Record<string, RegExp> = {
  tenants: /^ID\s+NAME\s+DOMAINS\s+PARENT\s+DEFAULT ROLES\s+SSO\s+ENFORCE SSO\s+DISABLED$/m,
  roles: /^ROLE\s+TENANT\s+PERMISSIONS\s+DEFAULT\s+DESCRIPTION$/m,
  permissions: /^NAME\s+DESCRIPTION$/m,
  flows: /^ID\s+NAME\s+DISABLED\s+DESCRIPTION$/m,
  theme: /^KEY\s+TYPE\s+SIZE$/m,
};

/** What json must hold per view (ids, names, addresses as the records give them); yaml must name them too. */
const IDS: Record<string, { json: (value: unknown) => unknown; expected: unknown; yaml: string[]; table: string[] }> = {
  tenants: {
    json: (v) => (v as { id: string }[]).map((t) => t.id),
    expected: ['acme', 'globex'],
    yaml: ['- id: acme', '- id: globex', '    - acme.com'],
    table: ['acme', 'globex', 'acme.com'],
  },
  roles: {
    json: (v) => (v as { name: string; tenant?: string }[]).map((r) => `${r.tenant ?? '-'}/${r.name}`),
    expected: ['-/Reader', 'acme/Agent'],
    yaml: ['- name: Reader', '  description: "Reads: everything"', '- name: Agent', '  tenant: acme'],
    table: ['roles/Reader', 'roles/acme/Agent', 'docs.read, docs.write'],
  },
  permissions: {
    json: (v) => (v as { name: string }[]).map((p) => p.name),
    expected: ['docs.read', 'docs.write'],
    yaml: ['- name: docs.read', '- name: docs.write', '  description: ""'],
    table: ['docs.read', 'docs.write', 'Read docs'],
  },
  flows: {
    json: (v) => (v as { id: string; disabled: boolean }[]).map((f) => `${f.id}:${f.disabled}`),
    expected: ['sign-up-or-in:false', 'step-up:true'],
    yaml: ['- id: sign-up-or-in', '- id: step-up', '  disabled: true'],
    table: ['sign-up-or-in', 'Sign Up or In', 'step-up'],
  },
  theme: {
    json: (v) => Object.keys(v as object).sort(),
    expected: ['cssTemplate', 'extra'],
    yaml: ['cssTemplate:', '  light:', '            - Inter', 'extra:'],
    table: ['cssTemplate', 'object', 'extra'],
  },
};

let project: Project;
/** A folder with environments/remote.ts and no config file anywhere above it. */
let bare: string;

function show(args: string[], cwd = bare): Promise<CliResult> {
  return runCli(['show', ...args], { cwd, env: { TEST_MGMT_KEY: TEST_KEY } });
}

/** The routes the emulator was asked since the last reset, the license handshake apart. */
function routesSinceReset(): { calls: Record<string, number>; license: number } {
  const calls: Record<string, number> = {};
  let license = 0;
  for (const [route, count] of Object.entries(project.emu.log.byRoute())) {
    if (route === LICENSE) license = count.total;
    else calls[route] = count.total;
  }
  return { calls, license };
}

before(async () => {
  project = await createProject({ config: CONFIG });
  const applied = await project.run(['apply', '--env', 'remote', '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);

  const m = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url }).management;
  assert.equal((await m.flow.import('sign-up-or-in', { id: 'sign-up-or-in', name: 'Sign Up or In', description: 'The main flow', dsl: {}, disabled: false })).ok, true);
  assert.equal((await m.flow.import('step-up', { id: 'step-up', name: 'Step Up', dsl: {}, disabled: true })).ok, true);
  const theme = { id: 'TH1', cssTemplate: { light: { globals: { fonts: { font1: { family: ['Inter'] } } } }, dark: {} }, extra: [1, null, 'kept'] };
  assert.equal((await m.theme.import(theme)).ok, true);

  bare = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-show-')));
  await mkdir(path.join(bare, 'environments'));
  await writeFile(path.join(bare, 'environments', 'remote.ts'), remoteEnvironment(project.emu, PROJECT_A));
});

after(async () => {
  await project?.close();
  if (bare) await rm(bare, { recursive: true, force: true });
});

describe('show: every view in every format, without a config file', () => {
  for (const view of Object.keys(CALLS)) {
    test(view, async () => {
      const expected = IDS[view]!;

      project.emu.log.reset();
      const table = await show([view, '--env', 'remote']);
      assert.equal(table.code, 0, table.stdout + table.stderr);
      assert.match(table.stdout, HEADERS[view]!);
      for (const text of expected.table) assert.ok(table.stdout.includes(text), `the table shows ${text}:\n${table.stdout}`);
      assert.equal(table.stderr, '');

      // The calls the view claims: one each, nothing else but the SDK's license handshake.
      const { calls, license } = routesSinceReset();
      assert.deepEqual(calls, Object.fromEntries(CALLS[view]!.map((route) => [route, 1])), `the calls of show ${view}`);
      assert.ok(license <= 1, `at most one license handshake, got ${license}`);
      assert.equal(project.emu.log.appliedWrites, 0, 'show wrote something');

      const json = await show([view, '--env', 'remote', '--format', 'json']);
      assert.equal(json.code, 0, json.stdout + json.stderr);
      assert.deepEqual(expected.json(JSON.parse(json.stdout)), expected.expected);

      const yaml = await show([view, '--env', 'remote', '--format', 'yaml']);
      assert.equal(yaml.code, 0, yaml.stdout + yaml.stderr);
      const lines = yaml.stdout.split('\n');
      for (const line of expected.yaml) assert.ok(lines.includes(line), `the yaml has the line ${JSON.stringify(line)}:\n${yaml.stdout}`);

      for (const result of [table, json, yaml]) assert.ok(!result.stdout.includes(TEST_KEY), 'the management key is never printed');
    });
  }

  test('tenants: the table carries what the list gives (domains, default roles, SSO type, enforce SSO)', async () => {
    const result = await show(['tenants', '--env', 'remote']);
    assert.match(result.stdout, /^acme\s+Acme\s+acme\.com\s+-\s+Agent\s+none\s+no\s+no$/m);
    assert.match(result.stdout, /^globex\s+Globex\s+-\s+-\s+-\s+none\s+yes\s+no$/m);
  });

  test('json of tenants: the canonical records, custom attributes and all', async () => {
    const result = await show(['tenants', '--env', 'remote', '--format', 'json']);
    const tenants = JSON.parse(result.stdout) as Record<string, unknown>[];
    assert.deepEqual(tenants[0], {
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      customAttributes: {},
      enforceSSO: false,
      disabled: false,
      defaultRoles: ['Agent'],
    });
  });
});

test('with a config file above the working folder, the environment is found in its folder', async () => {
  const nested = path.join(project.dir, 'nested', 'deeper');
  await mkdir(nested, { recursive: true });
  const result = await show(['permissions', '--env', 'remote', '--format', 'json'], nested);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual((JSON.parse(result.stdout) as { name: string }[]).map((p) => p.name), ['docs.read', 'docs.write']);
});

test('--env local in an empty folder: the embedded emulator, empty views say so', async (t) => {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-show-local-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const view of ['tenants', 'roles', 'permissions', 'flows', 'theme']) {
    const result = await runCli(['show', view, '--env', 'local'], { cwd: dir });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, `No ${view} in the embedded emulator (.descope/local/state.json).\n`);
  }
  const json = await runCli(['show', 'flows', '--env', 'local', '--format', 'json'], { cwd: dir });
  assert.deepEqual(JSON.parse(json.stdout), []);
  const yaml = await runCli(['show', 'roles', '--env', 'local', '--format', 'yaml'], { cwd: dir });
  assert.equal(yaml.stdout, '[]\n');
});

describe('show: bad arguments are refused before any request', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown view', ['widgets', '--env', 'remote'], /unknown view "widgets"; the views are tenants, roles, permissions, flows, theme/],
    ['no view', ['--env', 'remote'], /which view\? one of tenants, roles, permissions, flows, theme/],
    ['an unknown format', ['tenants', '--env', 'remote', '--format', 'xml'], /--format "xml": not a format; the formats are table, json, yaml/],
    ['two views', ['tenants', 'roles', '--env', 'remote'], /unexpected argument "roles"/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      project.emu.log.reset();
      const result = await show(args);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, message);
      assert.equal(hasStackTrace(result.stdout + result.stderr), false, result.stderr);
      assert.equal(result.stdout, '');
      assert.equal(project.emu.log.total, 0, 'a request was sent');
    });
  }

  test('an unknown environment names the known ones; show never writes under .descope/', async () => {
    const result = await show(['tenants', '--env', 'nope']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /environment "nope": there is no environments\/nope\.ts/);
    assert.match(result.stderr, /known environments: local, remote/);
    // (The loader's node_modules/.descope-run/ may be there: it bundles environments/remote.ts.)
    assert.ok(!(await readdir(bare)).includes('.descope'), 'show wrote under .descope/');
  });
});
