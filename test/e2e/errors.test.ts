// Errors users can act on: for `diff` and `apply`, every way the connection to Descope can fail
// (the key rejected, a key of another project, a key that may not do this, a base URL that is not
// the Descope API, a rate limit another client holds, an outage, a refused connection, a host
// that does not resolve, no answer in time) ends in exit 1 with ONE error line (plus at most one
// hint line) that names the environment and says what to do: no stack trace, never the key, and
// nothing written. The real CLI (built bin) against an emulator in this process, or a closed
// port, a `.invalid` host and a server that is not Descope.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BIN, cleanEnv, hasStackTrace, type CliResult } from '../helpers/cli.ts';
import { createProject, PROJECT_A, PROJECT_B, remoteEnvironment, type Project } from '../helpers/project.ts';

const CONFIG = `import { defineConfig, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: [tenant({ id: 'acme', name: 'Acme', defaultRoles: ['Reader'], settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } } })],
});
`;
const KEY = 'test-management-key-e2e';
/** Short retry delays, so an outage is reported in a second or two. */
const FAST = { DESCOPE_RUN_BACKOFF_BASE_MS: '20', DESCOPE_RUN_BACKOFF_MAX_MS: '100' };
const COMMANDS = [
  ['diff', '--env', 'remote'],
  ['apply', '--env', 'remote', '--yes'],
];

/** Runs the built CLI and kills it after `ms`: a test of a hang must fail, not hang. */
function runWithin(ms: number, args: string[], cwd: string, env: Record<string, string>): Promise<CliResult & { ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal === 'SIGKILL' ? -1 : code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

interface Expectation {
  /** What the error line must say. */
  error: RegExp;
  /** What the hint line must say, when there is one. */
  hint?: RegExp;
}

/** One error line naming the environment and what to do, at most one hint line, exit 1, no stack, no key, no write. */
function assertActionable(result: CliResult, expectation: Expectation, label: string): void {
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 1, `${label}: exit code\n${output}`);
  assert.equal(hasStackTrace(output), false, `${label}: a stack trace\n${output}`);
  assert.ok(!output.includes(KEY) && !output.includes(Buffer.from(KEY).toString('base64')), `${label}: the key was printed`);
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  const errors = lines.filter((line) => line.startsWith('error: '));
  const hints = lines.filter((line) => line.startsWith('  hint: '));
  assert.equal(errors.length, 1, `${label}: one error line\n${result.stderr}`);
  assert.ok(hints.length <= 1, `${label}: at most one hint line\n${result.stderr}`);
  assert.deepEqual(lines, [...errors, ...hints], `${label}: nothing else on stderr\n${result.stderr}`);
  const error = errors[0]!;
  assert.match(error, /environment "remote"/, `${label}: names the environment`);
  assert.match(error, /; (check|retry|lower)\b/, `${label}: says what to do`);
  assert.match(error, expectation.error, `${label}: says what happened`);
  if (expectation.hint) assert.match(hints[0] ?? '', expectation.hint, `${label}: the hint`);
}

/** Requests that arrived at the emulator since `since` (answers to earlier, abandoned requests are logged late). */
function arrivedSince(project: Project, since: number): number {
  return project.emu.log.recent().filter((entry) => entry.time >= since).length;
}

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('errors users can act on (diff and apply)', () => {
  let project: Project;
  /** A web server that is not Descope: 404 for every path, as a wrong base URL gets. */
  let notDescope: Server;
  let notDescopeUrl: string;

  before(async () => {
    project = await createProject({ config: CONFIG });
    notDescope = createHttpServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/json')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      }
    });
    await new Promise<void>((resolve) => notDescope.listen(0, '127.0.0.1', resolve));
    notDescopeUrl = `http://127.0.0.1:${(notDescope.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => notDescope.close(() => resolve()));
    await project.close();
  });

  /**
   * Runs diff and apply with `env`, under `setup` (emulator faults), and checks each. `baseUrl`
   * points environments/remote.ts elsewhere for the runs (DESCOPE_BASE_URL cannot: the file's wins).
   */
  async function check(
    name: string,
    env: Record<string, string>,
    expectation: Expectation,
    options: { setup?: () => void; within?: number; baseUrl?: string } = {},
  ) {
    if (options.baseUrl) await project.writeEnvironment('remote', remoteEnvironment({ url: options.baseUrl }, PROJECT_A));
    try {
      await checkEach(name, env, expectation, options);
    } finally {
      if (options.baseUrl) await project.writeEnvironment('remote', remoteEnvironment(project.emu, PROJECT_A));
    }
  }

  async function checkEach(name: string, env: Record<string, string>, expectation: Expectation, options: { setup?: () => void; within?: number }) {
    for (const args of COMMANDS) {
      project.emu.clearFailNext();
      project.emu.setFaults({ faultRate: 0, latencyMs: 0, rate: null });
      options.setup?.();
      const writes = project.writeCalls();
      const result = await runWithin(options.within ?? 20_000, args, project.dir, { TEST_MGMT_KEY: KEY, ...FAST, ...env });
      assert.notEqual(result.code, -1, `${name}, ${args[0]}: still running after ${options.within ?? 20_000} ms`);
      assertActionable(result, expectation, `${name}, ${args[0]}`);
      assert.equal(project.writeCalls(), writes, `${name}, ${args[0]}: a write call was sent`);
    }
    project.emu.clearFailNext();
    project.emu.setFaults({ faultRate: 0, latencyMs: 0, rate: null });
  }

  test('401: the key is rejected', async () => {
    await check(
      '401',
      { TEST_MGMT_KEY: 'a-key-that-is-not-right-0123456789' },
      {
        error: new RegExp(`^error: environment "remote": Descope rejected the management key \\(401 E011003: .*\\); check TEST_MGMT_KEY and that it is a key of project ${PROJECT_A}$`),
        hint: /never prints it/,
      },
    );
  });

  test('401: the environment names another project than the key is for', async () => {
    await project.writeEnvironment(
      'other',
      `import { defineEnvironment } from 'descope-run';
export default defineEnvironment({ projectId: '${PROJECT_B}', baseUrl: '${project.emu.url}', managementKey: { env: 'TEST_MGMT_KEY' }, budget: { requests: 1000, windowSeconds: 1 } });
`,
    );
    for (const args of [['diff', '--env', 'other'], ['apply', '--env', 'other', '--yes']]) {
      const result = await runWithin(20_000, args, project.dir, { TEST_MGMT_KEY: KEY, ...FAST });
      const output = result.stdout + result.stderr;
      assert.equal(result.code, 1, output);
      assert.equal(hasStackTrace(output), false, output);
      assert.match(
        result.stderr,
        new RegExp(`^error: environment "other": Descope rejected the management key \\(401 E011003: .*unknown project ID "${PROJECT_B}".*\\); check TEST_MGMT_KEY and that it is a key of project ${PROJECT_B}\\n`),
      );
      assert.ok(!output.includes(KEY));
    }
  });

  test('403: the key may not do this', async () => {
    await check(
      '403',
      {},
      {
        error: new RegExp(`Descope answered 403 E\\d+: .*: the management key of environment "remote" may not do this; check TEST_MGMT_KEY and that it is a key of project ${PROJECT_A}$`),
        hint: /limited to some tenants/,
      },
      { setup: () => project.emu.failNext({ status: 403, count: 100 }) },
    );
  });

  test('404: the base URL is a web server that is not the Descope API', async () => {
    for (const [what, url] of [['text', notDescopeUrl], ['JSON', `${notDescopeUrl}/json`]] as const) {
      await check(
        `404 (${what})`,
        {},
        {
          error: new RegExp(`^error: environment "remote": ${notDescopeUrl.replace(/[.]/g, '\\.')} answered 404.* so it is not the Descope management API; check the base URL$`),
          hint: /baseUrl .*DESCOPE_BASE_URL/,
        },
        { baseUrl: url },
      );
    }
  });

  test('429: another client holds the rate limit', async () => {
    await check(
      '429',
      { DESCOPE_RUN_MAX_RATE_LIMIT_WAITS: '1' },
      {
        error: /still rate limited \(429 E130429\) after waiting once for \S+: another client is using this project's rate limit; retry later$/,
        hint: /lower budget\.requests/,
      },
      { setup: () => project.emu.failNext({ status: 429, count: 1000, retryAfterSeconds: 1 }) },
    );
  });

  test('5xx: an outage', async () => {
    await check(
      '5xx',
      {},
      {
        error: /Descope failed (\d+ times|twice) (in a row|for \S+) \(last: 50[023] .*\); (stopped, nothing more was sent|gave up on it); retry later$/,
        hint: /status\.descope\.com/,
      },
      { setup: () => project.emu.setFaults({ faultRate: 1 }) },
    );
  });

  test('connection refused: the base URL is a closed port', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await check(
      'refused',
      {},
      { error: new RegExp(`${url.replace(/[.]/g, '\\.')} refused the connection \\(ECONNREFUSED, .*\\); check the base URL and that the service is up$`), hint: /DESCOPE_BASE_URL/ },
      { baseUrl: url },
    );
  });

  test('DNS: the base URL names a host that does not exist (bounded: no hang)', async () => {
    // .invalid never resolves (RFC 6761). Where DNS itself hangs, the request timeout ends it.
    await check(
      'dns',
      { DESCOPE_RUN_REQUEST_TIMEOUT_MS: '3000' },
      {
        error: /(the host api\.descope\.invalid of the base URL https:\/\/api\.descope\.invalid was not found \(E\w+, .*\); check the base URL|https:\/\/api\.descope\.invalid gave no answer within 3 s .*; check the network and retry later)$/,
      },
      { within: 30_000, baseUrl: 'https://api.descope.invalid' },
    );
  });

  test('timeout: no answer within the request timeout', async () => {
    // Answers to the abandoned requests come a second later; later tests count only what arrives after they start.
    await check(
      'timeout',
      { DESCOPE_RUN_REQUEST_TIMEOUT_MS: '200' },
      {
        error: /http:\/\/127\.0\.0\.1:\d+ gave no answer within 200 ms \((\d+ times|twice) (in a row|for \S+)\); (stopped, nothing more was sent|gave up on it); check the network and retry later$/,
        hint: /DESCOPE_RUN_REQUEST_TIMEOUT_MS/,
      },
      { setup: () => project.emu.setFaults({ latencyMs: 1000 }) },
    );
  });

  test('a bad DESCOPE_RUN_REQUEST_TIMEOUT_MS is one clear error before anything is sent', async () => {
    const started = Date.now();
    const result = await runWithin(20_000, ['diff', '--env', 'remote'], project.dir, { TEST_MGMT_KEY: KEY, DESCOPE_RUN_REQUEST_TIMEOUT_MS: 'soon' });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: DESCOPE_RUN_REQUEST_TIMEOUT_MS: "soon" is not a whole number of milliseconds above 0\n {2}hint: /);
    assert.equal(hasStackTrace(result.stderr), false);
    assert.equal(arrivedSince(project, started), 0, 'a request was sent');
  });

  test('a key with a line break (copied from a file) is refused before anything is sent, without echoing it', async () => {
    const started = Date.now();
    for (const args of COMMANDS) {
      const result = await runWithin(20_000, args, project.dir, { TEST_MGMT_KEY: `${KEY}\n` });
      assertActionable(result, { error: /the management key contains a line break .*; check TEST_MGMT_KEY$/, hint: /strip it/ }, `line break, ${args[0]}`);
    }
    assert.equal(arrivedSince(project, started), 0, 'a request was sent');
  });
});
