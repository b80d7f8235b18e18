// `descope-run emulator` starts, serves the real SDK, and exits cleanly on SIGTERM and SIGINT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { BIN, cleanEnv, REPO, runCli } from '../helpers/cli.ts';

function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'emulator', ...args], { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.on('close', () => reject(new Error(`exited early:\n${stdout}\n${stderr}`)));
  });
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`descope-run emulator serves the SDK and stops on ${signal}`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'descope-run-emu-'));
    const state = path.join(dir, 'state.json');
    const cli = startCli(['--port', '0', '--state', state, '--project-id', 'P2cliTest0000000000000000000', '--management-key', 'cli-key']);
    try {
      const baseUrl = await cli.url;
      const sdk = DescopeClient({ projectId: 'P2cliTest0000000000000000000', managementKey: 'cli-key', baseUrl, logger: { log() {}, error() {}, warn() {}, debug() {} } });
      await sdk.management.tenant.createWithId('acme', 'Acme', ['acme.com']);
      const all = await sdk.management.tenant.loadAll();
      assert.equal(all.ok, true);
      assert.deepEqual(all.data?.map((t) => t.id), ['acme']);
      const wrong = await DescopeClient({ projectId: 'P2cliTest0000000000000000000', managementKey: 'nope', baseUrl, logger: { log() {}, error() {}, warn() {}, debug() {} } }).management.tenant.loadAll();
      assert.equal(wrong.code, 401);
      assert.doesNotMatch(cli.output().stdout, /cli-key/, 'a given key is not printed');

      cli.child.kill(signal);
      assert.equal(await cli.exited, 0, cli.output().stderr);
      assert.match(cli.output().stderr, /emulator stopped/);
      const saved = JSON.parse(await readFile(state, 'utf8')) as unknown;
      assert.match(JSON.stringify(saved), /"acme"/);
      assert.equal((await stat(state)).mode & 0o777, 0o600);
    } finally {
      cli.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('descope-run emulator refuses bad options with one line', async () => {
  for (const [args, message] of [
    [['--rate', 'fast'], /error: --rate: invalid rate "fast"/],
    [['--port', 'x'], /error: --port x: expected a port number/],
    [['--fault-rate', '2'], /error: --fault-rate 2: expected a share between 0 and 1/],
  ] as const) {
    const result = await runCli(['emulator', ...args], { cwd: REPO });
    assert.equal(result.code, 1);
    assert.match(result.stderr, message);
  }
});
