// The README's promises about the sample project, run as a user runs them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, runCli } from '../helpers/cli.ts';

const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');

test('validate --env local passes on the sample and prints what the README shows', async () => {
  const result = await runCli(['validate', '--env', 'local'], { cwd: REPO });
  assert.equal(result.code, 0, result.stderr);
  const shown = /```\n(✓ descope\.config\.ts is valid[^\n]*)\n```/.exec(README)?.[1];
  assert.ok(shown, 'the README shows the output of validate');
  assert.equal(result.stdout.trim(), shown);
});

test('the README set-up block is exactly npm install + the main job on the embedded emulator', () => {
  assert.match(README, /## Set up\n\n```sh\nnpm install\nnpx descope-run apply --env local --yes\n```/);
  assert.match(README, /```sh\nnpx descope-run diff --env local\n```\n\n```\nNo changes\. The live project matches the config\.\n```/);
  assert.match(README, /```sh\nnpm test\n```/);
});

test('render --env staging prints the sample flows with the staging values', async () => {
  const result = await runCli(['render', '--env', 'staging'], { cwd: REPO });
  assert.equal(result.code, 0, result.stderr);
  const rendered = JSON.parse(result.stdout) as { flows: Record<string, { flow: { id: string } }>; theme?: unknown };
  assert.deepEqual(Object.keys(rendered.flows).sort(), ['sign-up-or-in', 'sso-login']);
  assert.ok(rendered.theme, 'the theme is rendered too');
  assert.match(result.stdout, /Acme Cloud \(staging\)/);
  assert.doesNotMatch(result.stdout, /Acme Cloud \(local\)/);
  const prod = await runCli(['render', '--env', 'prod', '--flow', 'sign-up-or-in'], { cwd: REPO });
  assert.equal(prod.code, 0, prod.stderr);
  assert.equal((JSON.parse(prod.stdout) as { flow: { id: string } }).flow.id, 'sign-up-or-in');
  assert.doesNotMatch(prod.stdout, /staging/);
});

test('render --out writes one file per flow, mode 0600', async () => {
  const { mkdtemp, readdir, stat, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const out = await mkdtemp(path.join(tmpdir(), 'descope-run-render-'));
  try {
    const result = await runCli(['render', '--env', 'local', '--out', out], { cwd: REPO });
    assert.equal(result.code, 0, result.stderr);
    // And the list of the files render wrote there, so that a later render replaces those and nothing else.
    assert.deepEqual((await readdir(out)).sort(), ['.descope-run-render.json', 'sign-up-or-in.json', 'sso-login.json', 'theme.json']);
    assert.equal((await stat(path.join(out, 'sso-login.json'))).mode & 0o777, 0o600);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('--version, --help, and --help for every command', async () => {
  const version = await runCli(['--version'], { cwd: REPO });
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(version.stdout.trim(), pkg.version);
  const help = await runCli(['--help'], { cwd: REPO });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Commands:\n\s+validate\s+.+\n\s+render\s+/);
  for (const command of ['validate', 'render']) {
    const r = await runCli([command, '--help'], { cwd: REPO });
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`Usage: descope-run ${command} `));
  }
});

test('usage errors name the problem and where to look', async () => {
  const unknown = await runCli(['deploy'], { cwd: REPO });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /error: unknown command "deploy"\n {2}hint: the commands are: /);
  const flag = await runCli(['validate', '--frobnicate'], { cwd: REPO });
  assert.equal(flag.code, 1);
  assert.match(flag.stderr, /error: Unknown option '--frobnicate'\n {2}hint: run "descope-run validate --help"/);
  const flow = await runCli(['render', '--flow', 'nope'], { cwd: REPO });
  assert.equal(flow.code, 1);
  assert.match(flow.stderr, /--flow nope: no such flow in descope\.config\.ts/);
});
