// Edge cases of loading a project, found in review: each through the real CLI, as a user meets it.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasStackTrace, runCli } from '../helpers/cli.ts';

let root: string;
before(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-edge-')));
});
after(() => rm(root, { recursive: true, force: true }));

async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

const CONFIG = `import { defineConfig, flow, tenant } from 'descope-run';
export default defineConfig(({ vars }) => ({
  tenants: [tenant({ id: 'acme', name: String(vars.name ?? 'Acme') })],
  flows: vars.flows ? [flow({ id: 'theme', json: { flow: { dsl: { startTask: 'a', tasks: { a: { id: 'a', type: 'action' } } } }, screens: [] } })] : [],
}));
`;

describe('environments', () => {
  test('environments/local.ts without `emulator: true` is still the emulator', async () => {
    const dir = await project('local-vars-only', {
      'descope.config.ts': CONFIG,
      'environments/local.ts': `import { defineEnvironment } from 'descope-run';\nexport default defineEnvironment({ vars: { name: 'Local' } });\n`,
    });
    const r = await runCli(['validate'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid for environment "local" \(the embedded emulator\)/);
  });

  test('the standard variables fill in the file, are shown, never retarget a named project, and a bad DESCOPE_BASE_URL is refused', async () => {
    const dir = await project('overrides', {
      'descope.config.ts': CONFIG,
      'environments/staging.ts': `import { defineEnvironment } from 'descope-run';\nexport default defineEnvironment({ managementKey: { env: 'STAGING_KEY' } });\n`,
      'environments/prod.ts': `import { defineEnvironment } from 'descope-run';\nexport default defineEnvironment({ projectId: 'P2fromFile000000000000000000', managementKey: { env: 'PROD_KEY' } });\n`,
    });
    const r = await runCli(['validate', '--env', 'staging'], {
      cwd: dir,
      env: { DESCOPE_PROJECT_ID: 'P2fromShell00000000000000000', STAGING_KEY: 'K2-canary-key-value' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /project P2fromShell00000000000000000, with DESCOPE_PROJECT_ID from the shell/);
    assert.doesNotMatch(r.stdout + r.stderr, /K2-canary-key-value/);
    // The wrong-environment guard: a file that names its project is never retargeted by the shell.
    const wrong = await runCli(['validate', '--env', 'prod'], {
      cwd: dir,
      env: { DESCOPE_PROJECT_ID: 'P2fromShell00000000000000000', PROD_KEY: 'K2-canary-key-value' },
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /environment "prod" is project P2fromFile000000000000000000, but DESCOPE_PROJECT_ID is P2fromShell00000000000000000/);
    assert.doesNotMatch(wrong.stdout + wrong.stderr, /K2-canary-key-value/);
    const bad = await runCli(['validate', '--env', 'staging'], { cwd: dir, env: { DESCOPE_BASE_URL: 'not a url', STAGING_KEY: 'k' } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error: DESCOPE_BASE_URL: "not a url" is not an API base URL: /);
  });

  test('every problem of an environment file is listed, and a pasted key is not echoed', async () => {
    const dir = await project('env-schema', {
      'descope.config.ts': CONFIG,
      'environments/qa.ts': `import { defineEnvironment } from 'descope-run';
export default defineEnvironment({ projectID: 'P2x', budget: { requests: 0, windowSeconds: 60 }, managementKey: { env: 'K2abcDEFghiJKLmnoPQRstuVWXyz0123456789' } } as never);
`,
    });
    const r = await runCli(['validate', '--env', 'qa', '--offline'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /environments\/qa\.ts: environment: unknown property "projectID"/);
    assert.match(r.stderr, /environments\/qa\.ts: budget\.requests: /);
    assert.match(r.stderr, /environments\/qa\.ts: managementKey\.env: must be the name of an environment variable in capitals/);
    assert.match(r.stderr, /3 problems found\./);
    assert.doesNotMatch(r.stderr, /K2abcDEF/);
  });
});

describe('the config file', () => {
  test('a symlinked --config still points errors at the file and line', async () => {
    const dir = await project('symlinked', {
      'real/descope.config.ts': `import { defineConfig } from 'descope-run';\nexport default defineConfig(() => {\n  throw new Error('boom');\n});\n`,
    });
    await symlink(path.join(dir, 'real'), path.join(dir, 'link'));
    const r = await runCli(['validate', '--config', 'link/descope.config.ts'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /descope\.config\.ts:3:9: the config threw for environment "local": boom/);
  });

  test('an error on line 1 has the column of the user\'s file', async () => {
    const dir = await project('line-one', {
      'descope.config.ts': `import { defineConfig } from 'descope-run'; export default defineConfig(() => { throw new Error('first line'); });\n`,
    });
    const r = await runCli(['validate'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /descope\.config\.ts:1:87: the config threw/);
  });

  test('a package the config imports but that is not installed gets an npm install hint', async () => {
    const dir = await project('missing-package', {
      'descope.config.ts': `import { defineConfig } from 'descope-run';\nimport shared from '@acme/not-installed';\nexport default defineConfig(shared);\n`,
    });
    const r = await runCli(['validate'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /@acme\/not-installed/);
    assert.equal(hasStackTrace(r.stderr), false, r.stderr);
  });

  test('an unwritable node_modules is one clear error, not a crash', async () => {
    const dir = await project('unwritable', { 'descope.config.ts': CONFIG, node_modules: 'a file where a folder should be' });
    const r = await runCli(['validate'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: descope\.config\.ts: cannot write the compiled config to node_modules\/\.descope-run\/ \(\w+\)/);
    assert.equal(hasStackTrace(r.stderr), false, r.stderr);
  });

  test('--config pointing at a folder says so', async () => {
    const dir = await project('config-folder', { 'sub/descope.config.ts': CONFIG });
    const r = await runCli(['validate', '--config', 'sub'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: sub: is a folder, not a config file\n {2}hint: pass the file: --config sub\/descope\.config\.ts/);
  });
});

describe('render --out', () => {
  test('writes all or nothing: a folder in the way leaves no file behind', async () => {
    const dir = await project('render-blocked', {
      'descope.config.ts': CONFIG.replace('vars.flows ?', 'true ?').replace("id: 'theme'", "id: 'login'"),
    });
    await mkdir(path.join(dir, 'out', 'login.json'), { recursive: true }); // a folder where the file goes
    const r = await runCli(['render', '--out', 'out'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: out\/login\.json: could not write the rendered flows \(EISDIR\): it is a folder; nothing was written/);
    assert.equal(hasStackTrace(r.stderr), false);
    assert.deepEqual(await readdir(path.join(dir, 'out')), ['login.json'], 'no temporary file left behind');
  });

  test('an --out that is a file is one clear error', async () => {
    const dir = await project('render-file', { 'descope.config.ts': CONFIG, 'afile': 'x' });
    const r = await runCli(['render', '--out', 'afile'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: afile\/\S+\.json: could not write the rendered flows \((EEXIST|ENOTDIR)\): afile is not a folder; nothing was written/);
  });

  test('rewriting its own file leaves it 0600', async () => {
    const dir = await project('render-mode', { 'descope.config.ts': CONFIG.replace('vars.flows ?', 'true ?').replace("id: 'theme'", "id: 'login'") });
    const first = await runCli(['render', '--out', 'out'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    await writeFile(path.join(dir, 'out', 'login.json'), 'old');
    await chmod(path.join(dir, 'out', 'login.json'), 0o644);
    const r = await runCli(['render', '--out', 'out'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(path.join(dir, 'out', 'login.json'))).mode & 0o777, 0o600);
    assert.match(await readFile(path.join(dir, 'out', 'login.json'), 'utf8'), /"login"/);
  });
});
