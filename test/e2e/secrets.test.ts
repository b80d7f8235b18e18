// Secrets never leak. Known canary values are planted as the management key (the environment's
// key variable, and a wrong key for the failing runs) and as OIDC client secrets (`{ env }`
// references), then EVERY command runs: validate, render, diff (text, --json, --out), apply (and
// --plan), audit (table, --json), backup (+ --out, list, show), drift (text, json, markdown, html,
// --out, a brief --watch with --notify), rollback, import --out, show (every view and format), the
// emulator (briefly, with the key on its command line), the embedded emulator (--env local),
// and failing runs (a wrong key, a broken config, a literal secret in the config, a secret
// variable left unset on a remote environment). Then stdout, stderr, every notification body,
// every file under .descope/ and every --out path are searched for each canary in every encoding
// a header, a URL or a dump would use: zero occurrences. Files with project data are 0600, their
// folders 0700.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { BIN, cleanEnv, hasStackTrace, type CliResult } from '../helpers/cli.ts';
import { createProject, listFiles, PROJECT_A, type Project } from '../helpers/project.ts';

// Characters that encode differently in base64, URLs and JSON, so each form is a distinct search.
const KEY = 'dsk+CANARY/mgmtKey=7f3a9c2e1b5d';
const WRONG_KEY = 'dsk+CANARY/wrongKey=0a1b2c3d4e';
const ACME_SECRET = 'oidc+CANARY/acme=Secret4d8e2f61';
const GLOBEX_SECRET = 'oidc+CANARY/globex=Secret9b1c7a05';
const LITERAL_SECRET = 'oidc+CANARY/literal=Secret55aa77';
const CANARIES = { KEY, WRONG_KEY, ACME_SECRET, GLOBEX_SECRET, LITERAL_SECRET };
const SECRETS = { ACME_OIDC_SECRET: ACME_SECRET, GLOBEX_OIDC_SECRET: GLOBEX_SECRET };

/** Every form a canary could take in output or a file: raw, base64 (also of `project:key`, as in a Basic header), base64url, hex, URL- and JSON-encoded. */
function formsOf(value: string): string[] {
  const forms = [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    Buffer.from(value).toString('hex'),
    Buffer.from(`${PROJECT_A}:${value}`).toString('base64'),
    encodeURIComponent(value),
    encodeURIComponent(encodeURIComponent(value)),
    JSON.stringify(value).slice(1, -1),
    value.replace(/\//g, '\\/'),
  ];
  // The distinctive middle, in case something cut the value or escaped its ends; and its first and
  // last 8 characters, in case something cut it (a body cut to a snippet, a server's own cut).
  forms.push(value.slice(5, -3), value.slice(0, 8), value.slice(-8));
  return [...new Set(forms)];
}

function findCanaries(text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(CANARIES)) {
    for (const form of formsOf(value)) {
      if (text.includes(form)) found.push(`${name} as ${JSON.stringify(form)}`);
    }
  }
  return found;
}

const sso = (tenant: string, secretExpression: string) => `{
        type: 'oidc',
        name: '${tenant} IdP',
        clientId: '${tenant}-client',
        clientSecret: ${secretExpression},
        issuer: 'https://idp.${tenant}.test',
        scope: ['openid', 'email'],
      }`;

function config(acmeName = 'Acme', acmeSecret = "{ env: 'ACME_OIDC_SECRET' }"): string {
  return `import { defineConfig, flow, permission, role, tenant, theme } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: [
    tenant({ id: 'acme', name: '${acmeName}', defaultRoles: ['Reader'], sso: ${sso('acme', acmeSecret)} }),
    tenant({ id: 'globex', name: 'Globex', sso: ${sso('globex', "{ env: 'GLOBEX_OIDC_SECRET' }")} }),
  ],
  flows: [flow({ id: 'login', json: { flow: { id: 'login', name: 'Login', dsl: { startTask: '1', tasks: { '1': { id: '1', type: 'automated', name: 'End', action: 'logged-in', next: {} } } } }, screens: [] } })],
  theme: theme({ json: { theme: { id: '', cssTemplate: { light: { colors: { primary: '#4f46e5' } } } } } }),
});
`;
}

interface Run extends CliResult {
  args: string[];
  /** The signal that ended it, if one did. */
  signal: NodeJS.Signals | null;
}

/**
 * Runs the built CLI; with `until` (a pattern of its output, or a condition polled), sends SIGINT
 * once it holds: how the long-running commands (emulator, drift --watch) are stopped.
 */
function runCli(cwd: string, args: string[], env: Record<string, string>, until?: RegExp | (() => boolean)): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    const check = () => {
      if (!until || signalled) return;
      if (typeof until === 'function' ? until() : until.test(stdout + stderr)) {
        signalled = true;
        // As a person would: a moment after the prompt, not in the microseconds before the handler is set.
        setTimeout(() => child.kill('SIGINT'), 100);
      }
    };
    const poll = typeof until === 'function' ? setInterval(check, 50) : undefined;
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), check()));
    child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), check()));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const started = Date.now();
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ args, code, signal, stdout: signal ? `${stdout}[ended by ${signal} after ${Date.now() - started} ms]\n` : stdout, stderr });
    });
  });
}

test('no canary (management key, OIDC secrets) in any output or file, whatever the command; project files 0600 in 0700 folders', async (t) => {
  const project: Project = await createProject({ config: config(), managementKey: KEY });
  t.after(() => project.close());
  const dir = project.dir;
  const env = { TEST_MGMT_KEY: KEY, ...SECRETS };
  const runs: Run[] = [];
  const notifications: string[] = [];

  const hook = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      notifications.push(body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => hook.close(() => resolve())));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;

  /** Runs one command; `expect` is its exit code (a failing run must fail cleanly, without a stack). */
  const run = async (args: string[], expect: number | 'any' = 0, extraEnv: Record<string, string> = {}, until?: RegExp | (() => boolean)): Promise<Run> => {
    const result = await runCli(dir, args, { ...env, ...extraEnv }, until);
    runs.push(result);
    const output = result.stdout + result.stderr;
    if (expect !== 'any') assert.equal(result.code, expect, `${args.join(' ')}\n${output}`);
    assert.equal(hasStackTrace(output), false, `${args.join(' ')}\n${output}`);
    return result;
  };
  /** Independent read-only runs, a few at a time. */
  const runAll = async (list: string[][]): Promise<void> => {
    for (let i = 0; i < list.length; i += 3) await Promise.all(list.slice(i, i + 3).map((args) => run(args)));
  };
  const remote = ['--env', 'remote'];

  // Failing before anything exists: a secret variable unset on a remote environment, a wrong key.
  const unset = await run(['apply', ...remote, '--yes'], 1, { ACME_OIDC_SECRET: '' });
  assert.match(unset.stderr, /ACME_OIDC_SECRET is not set/);
  await run(['apply', ...remote, '--yes'], 1, { TEST_MGMT_KEY: WRONG_KEY });
  const wrong = { TEST_MGMT_KEY: WRONG_KEY };
  await Promise.all([
    run(['diff', ...remote], 1, wrong),
    run(['show', 'tenants', ...remote], 1, wrong),
    run(['backup', ...remote], 1, wrong),
  ]);
  await Promise.all([
    run(['drift', ...remote], 1, wrong),
    // A key with a line break (fetch would quote the header, key and all, in its error).
    run(['diff', ...remote], 1, { TEST_MGMT_KEY: `${KEY}\n` }),
  ]);

  // Checking and rendering, then the plan in every form.
  await runAll([
    ['validate', ...remote],
    ['validate', ...remote, '--offline'],
    ['render', ...remote],
    ['render', ...remote, '--out', 'out/rendered'],
    ['diff', ...remote],
    ['diff', ...remote, '--json'],
  ]);
  await run(['diff', ...remote, '--out', 'out/plan.json']);
  const applied = await run(['apply', ...remote, '--plan', 'out/plan.json', '--yes']);
  assert.match(applied.stdout, /Apply complete/);
  assert.ok(project.emu.secretStatus('acme').set && project.emu.secretStatus('globex').set, 'the secrets were sent');
  await run(['apply', ...remote, '--yes']);
  await run(['apply', ...remote, '--yes'], 1, { TEST_MGMT_KEY: WRONG_KEY });

  // The record and the backups.
  await run(['backup', ...remote]);
  await run(['backup', ...remote, '--out', 'out/backup.json']);
  const list = await run(['backup', 'list', ...remote]);
  const backupId = /^(\S+)\s+(pre-apply|full)/m.exec(list.stdout)?.[1];
  assert.ok(backupId, list.stdout);
  await runAll([
    ['backup', 'show', backupId, ...remote],
    ['backup', 'show', 'out/backup.json', ...remote],
    ['audit'],
    ['audit', '--json'],
    ['audit', ...remote, '--json'],
  ]);

  // Drift made out of band, reported in every format, to stdout and files, and to a webhook.
  const sdk = DescopeClient({ projectId: PROJECT_A, managementKey: KEY, baseUrl: project.emu.url });
  assert.equal((await sdk.management.tenant.update('acme', 'Acme (edited)')).ok, true);
  await runAll([
    ['drift', ...remote],
    ['drift', ...remote, '--format', 'json'],
    ['drift', ...remote, '--format', 'markdown'],
    ['drift', ...remote, '--format', 'html'],
    ['drift', ...remote, '--format', 'text', '--out', 'out/drift.txt'],
    ['drift', ...remote, '--format', 'json', '--out', 'out/drift.json'],
    ['drift', ...remote, '--format', 'markdown', '--out', 'out/drift.md'],
    ['drift', ...remote, '--format', 'html', '--out', 'out/drift.html'],
  ]);
  const watched = await run(['drift', ...remote, '--watch', '5s', '--notify', hookUrl, '--format', 'json', '--out', 'out/watch.json'], 0, {}, () => notifications.length > 0);
  assert.ok(notifications.length > 0, `the webhook was notified:\n${watched.stdout}${watched.stderr}`);

  // Every read-only view.
  const views = ['tenants', 'roles', 'permissions', 'flows', 'theme'];
  await runAll(views.flatMap((view) => ['table', 'json', 'yaml'].map((format) => ['show', view, ...remote, '--format', format])));

  // Change, apply, roll back; import the result.
  await project.setConfig(config('Acme Renamed'));
  await run(['apply', ...remote, '--yes']);
  const rolledBack = await run(['rollback', ...remote, '--yes']);
  assert.match(rolledBack.stdout, /Verified/);
  await run(['import', ...remote, '--out', 'out/imported']);

  // Broken configs: a syntax error, and a secret written literally (refused, and not echoed).
  await project.setConfig(`${config()}\nexport const broken = ;\n`);
  await run(['validate', ...remote], 1);
  await run(['diff', ...remote], 1);
  await project.setConfig(config('Acme', JSON.stringify(LITERAL_SECRET)));
  const literal = await run(['validate', ...remote], 1);
  assert.match(literal.stdout + literal.stderr, /clientSecret/);
  await run(['apply', ...remote, '--yes'], 1);
  await project.setConfig(config());

  // The embedded emulator: with the secret variables set, as in a shell that also deploys prod.
  await run(['apply', '--env', 'local', '--yes']);
  await run(['diff', '--env', 'local', '--json']);
  await run(['show', 'tenants', '--env', 'local', '--format', 'yaml']);
  // The emulator command, briefly, with the key on its command line and a state file.
  const emulator = await run(['emulator', '--port', '0', '--management-key', KEY, '--state', '.descope/emulator-state.json'], 0, {}, /Ctrl-C stops it/);
  assert.match(emulator.stdout, /listening on http/);

  // Nothing anywhere: stdout, stderr, notifications, every file under .descope/ and out/.
  const leaks: string[] = [];
  for (const result of runs) {
    for (const [stream, text] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
      for (const found of findCanaries(text)) leaks.push(`${result.args.join(' ')}: ${stream}: ${found}`);
    }
  }
  for (const body of notifications) for (const found of findCanaries(body)) leaks.push(`a --notify body: ${found}`);
  const descopeFiles = await listFiles(path.join(dir, '.descope'));
  const outFiles = await listFiles(path.join(dir, 'out'));
  assert.ok(descopeFiles.length >= 8, `files under .descope/: ${descopeFiles.join(', ')}`);
  for (const file of [...descopeFiles, ...outFiles]) {
    for (const found of findCanaries(await readFile(file, 'latin1'))) leaks.push(`${path.relative(dir, file)}: ${found}`);
  }
  assert.deepEqual(leaks, [], `canaries found:\n${leaks.join('\n')}`);

  // Modes: every file with project data 0600, every folder that holds them 0700.
  const badModes: string[] = [];
  const expectMode = async (target: string, mode: number) => {
    const actual = (await stat(target)).mode & 0o777;
    if (actual !== mode) badModes.push(`${path.relative(dir, target)}: ${actual.toString(8)} (expected ${mode.toString(8)})`);
  };
  const projectDataFiles = [...descopeFiles, ...outFiles];
  const folders = new Set<string>([path.join(dir, '.descope')]);
  for (const file of projectDataFiles) {
    await expectMode(file, 0o600);
    for (let folder = path.dirname(file); folder !== dir && folder !== path.join(dir, 'out'); folder = path.dirname(folder)) folders.add(folder);
  }
  for (const folder of folders) await expectMode(folder, 0o700);
  assert.deepEqual(badModes, [], `modes:\n${badModes.join('\n')}`);

});
