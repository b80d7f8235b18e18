// The package installs into another project (from the tarball npm pack makes), and that
// project's config imports 'descope-run' and a module from a relative folder; `npx descope-run
// validate` runs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { cleanEnv, REPO } from '../helpers/cli.ts';

const exec = promisify(execFile);
let work: string;
let project: string;

before(async () => {
  work = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-install-')));
  // --ignore-scripts: dist/ is already built by `npm test`; rebuilding it here would race the
  // other test files that run the CLI from it.
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO, env: cleanEnv() });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  const tarball = path.join(work, path.basename(filename));

  project = path.join(work, 'my-project');
  await mkdir(path.join(project, 'shared', 'tenants'), { recursive: true });
  await mkdir(path.join(project, 'environments'));
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'my-project', private: true, type: 'module' }));
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
    cwd: project,
    env: cleanEnv(),
    timeout: 240_000,
  });

  await writeFile(
    path.join(project, 'shared', 'tenants', 'index.ts'),
    `import { defineModule, tenant, role } from 'descope-run';

export default defineModule<{ customers: string[] }>({
  name: 'customers',
  build: ({ customers }) => ({
    tenants: customers.map((id) => tenant({ id, name: id.toUpperCase(), defaultRoles: ['Member'] })),
    roles: [role({ name: 'Member' })],
  }),
});
`,
  );
  // Two shared modules published as packages: one compiled to JavaScript (node loads it), one
  // shipping TypeScript source (the loader bundles it).
  const jsPkg = path.join(project, 'node_modules', '@acme', 'descope-audit');
  await mkdir(jsPkg, { recursive: true });
  await writeFile(path.join(jsPkg, 'package.json'), JSON.stringify({ name: '@acme/descope-audit', type: 'module', main: 'index.js' }));
  await writeFile(
    path.join(jsPkg, 'index.js'),
    `import { defineModule, permission, role } from 'descope-run';
export default defineModule({
  name: 'audit',
  build: () => ({ permissions: [permission({ name: 'audit.read' })], roles: [role({ name: 'Auditor', permissions: ['audit.read'] })] }),
});
`,
  );
  const tsPkg = path.join(project, 'node_modules', '@acme', 'descope-billing');
  await mkdir(tsPkg, { recursive: true });
  await writeFile(path.join(tsPkg, 'package.json'), JSON.stringify({ name: '@acme/descope-billing', type: 'module', exports: './index.ts' }));
  await writeFile(
    path.join(tsPkg, 'index.ts'),
    `import { defineModule, permission } from 'descope-run';
export default defineModule<{ prefix: string }>({
  name: 'billing',
  build: ({ prefix }) => ({ permissions: [permission({ name: \`\${prefix}.billing\` })] }),
});
`,
  );
  await writeFile(
    path.join(project, 'descope.config.ts'),
    `import { defineConfig, permission } from 'descope-run';
import audit from '@acme/descope-audit';
import billing from '@acme/descope-billing';
import customers from './shared/tenants/index.ts';

export default defineConfig(({ vars }) => ({
  permissions: [permission({ name: 'read' })],
  modules: [customers({ customers: vars.customers }), audit(), billing({ prefix: 'acme' })],
}));
`,
  );
  await writeFile(
    path.join(project, 'environments', 'local.ts'),
    `import { defineEnvironment } from 'descope-run';
export default defineEnvironment({ emulator: true, vars: { customers: ['acme', 'globex'] } });
`,
  );
});

after(() => rm(work, { recursive: true, force: true }));

test('npx descope-run validate works in a project that installed the package, with modules from a folder and from packages', async () => {
  const { stdout } = await exec('npx', ['--no-install', 'descope-run', 'validate', '--env', 'local'], { cwd: project, env: cleanEnv() });
  assert.match(stdout, /descope\.config\.ts is valid for environment "local" \(the embedded emulator\): 2 tenants, 2 roles, 3 permissions, 0 flows\./);
  // The loader cleaned up its temporary bundle.
  assert.deepEqual(await readdir(path.join(project, 'node_modules', '.descope-run')), []);
});

test('npx descope-run --version prints the installed version', async () => {
  const { stdout } = await exec('npx', ['--no-install', 'descope-run', '--version'], { cwd: project, env: cleanEnv() });
  assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
});
