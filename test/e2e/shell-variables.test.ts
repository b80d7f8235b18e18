// The environment file is the truth (issue 11, item 9): the standard variables DESCOPE_MANAGEMENT_KEY
// and DESCOPE_BASE_URL only fill in what the file leaves out. A prod key left in the shell is never
// sent to staging, and a base URL left in the shell never takes a project's key elsewhere: each
// conflict stops before ANY request (not even the SDK's license handshake, which carries the key),
// naming what to unset. The real CLI against an emulator, and a decoy server that records what
// reaches it.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { hasStackTrace, type CliResult } from '../helpers/cli.ts';
import { createProject, PROJECT_A, TEST_KEY, type Project } from '../helpers/project.ts';

const CONFIG = `import { defineConfig, tenant } from 'descope-run';
export default defineConfig({ tenants: [tenant({ id: 'acme', name: 'Acme' })] });
`;
/** A key of some other project, left in the shell. */
const PROD_KEY = 'K2-prod-key-left-in-the-shell-0123456789';

/** environments/<name>.ts for the emulator, reading its key from `keyVariable`, with or without baseUrl. */
function environment(options: { baseUrl?: string; keyVariable: string }): string {
  return `import { defineEnvironment } from 'descope-run';
export default defineEnvironment({
  projectId: '${PROJECT_A}',${options.baseUrl ? `\n  baseUrl: '${options.baseUrl}',` : ''}
  managementKey: { env: '${options.keyVariable}' },
  budget: { requests: 1000, windowSeconds: 1 },
});
`;
}

/** Exit 1, one error line and one hint, no stack trace, no key on screen. */
function assertRefused(result: CliResult, error: RegExp, hint: RegExp): void {
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 1, output);
  assert.equal(hasStackTrace(output), false, output);
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 2, result.stderr);
  assert.match(lines[0] ?? '', error);
  assert.match(lines[1] ?? '', hint);
  assert.ok(!output.includes(PROD_KEY) && !output.includes(TEST_KEY), `a key was printed:\n${output}`);
}

describe('the environment file wins over the shell', () => {
  let project: Project;
  let decoy: Server;
  let decoyUrl: string;
  const decoyHeaders: IncomingHttpHeaders[] = [];

  before(async () => {
    project = await createProject({ config: CONFIG });
    // Where a stale DESCOPE_BASE_URL points: anything that answers, and that must never see a request.
    decoy = createServer((req, res) => {
      decoyHeaders.push(req.headers);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
    decoyUrl = `http://127.0.0.1:${(decoy.address() as { port: number }).port}`;
    await project.writeEnvironment('staging', environment({ baseUrl: project.emu.url, keyVariable: 'STAGING_KEY' }));
    await project.writeEnvironment('nourl', environment({ keyVariable: 'STAGING_KEY' }));
  });
  after(async () => {
    await new Promise<void>((resolve) => decoy.close(() => resolve()));
    await project.close();
  });

  test('the file names its key variable and DESCOPE_MANAGEMENT_KEY holds another key: refused before any request', async () => {
    const sent = project.emu.log.total;
    const result = await project.run(['diff', '--env', 'staging'], { env: { STAGING_KEY: TEST_KEY, DESCOPE_MANAGEMENT_KEY: PROD_KEY } });
    assertRefused(
      result,
      /^error: environments\/staging\.ts: environment "staging" reads its management key from STAGING_KEY, but DESCOPE_MANAGEMENT_KEY is also set, to another key/,
      /^ {2}hint: unset DESCOPE_MANAGEMENT_KEY; STAGING_KEY is used for project P2testProjectA0+; nothing was sent$/,
    );
    assert.equal(project.emu.log.total, sent, 'a request reached the emulator');
  });

  test('the file names its key variable, which is unset, and DESCOPE_MANAGEMENT_KEY is set: refused, no fallback', async () => {
    // The prod-key-in-staging case: the key in DESCOPE_MANAGEMENT_KEY works on the endpoint
    // (here it is the emulator's own key), and on the old code apply wrote with it.
    const sent = project.emu.log.total;
    const result = await project.run(['apply', '--env', 'staging', '--yes'], { env: { DESCOPE_MANAGEMENT_KEY: TEST_KEY } });
    assertRefused(
      result,
      /^error: environments\/staging\.ts: environment "staging" reads its management key from STAGING_KEY, which is not set; DESCOPE_MANAGEMENT_KEY is set but is not used for this environment$/,
      /^ {2}hint: export STAGING_KEY=<a management key of project P2testProjectA0+>, and unset DESCOPE_MANAGEMENT_KEY if it is another project's key; nothing was sent$/,
    );
    assert.equal(project.emu.log.total, sent, 'a request reached the emulator');
    assert.equal(project.emu.snapshot().tenants.length, 0, 'apply wrote');
  });

  test('DESCOPE_BASE_URL differs from the file\'s baseUrl: refused before any request, to either endpoint', async () => {
    const sent = project.emu.log.total;
    const result = await project.run(['diff', '--env', 'staging'], { env: { STAGING_KEY: TEST_KEY, DESCOPE_BASE_URL: decoyUrl } });
    assertRefused(
      result,
      new RegExp(
        `^error: environments/staging\\.ts: environment "staging" talks to ${project.emu.url.replace(/[.]/g, '\\.')}, but DESCOPE_BASE_URL is ${decoyUrl.replace(/[.]/g, '\\.')}: a base URL in the shell must not send this project's key to another endpoint$`,
      ),
      /^ {2}hint: unset DESCOPE_BASE_URL \(the file's baseUrl is used\), or change baseUrl in environments\/staging\.ts; nothing was sent$/,
    );
    assert.equal(project.emu.log.total, sent, 'a request reached the emulator');
    assert.equal(decoyHeaders.length, 0, `the decoy got ${decoyHeaders.length} requests (authorization: ${decoyHeaders[0]?.authorization ? 'with the key' : 'none'})`);
  });

  test('the same values in the shell as in the file are no conflict (a trailing slash is no difference)', async () => {
    const result = await project.run(['diff', '--env', 'staging'], {
      env: { STAGING_KEY: TEST_KEY, DESCOPE_MANAGEMENT_KEY: TEST_KEY, DESCOPE_BASE_URL: `${project.emu.url}/` },
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /\+ tenants\/acme/);
  });

  test('a file without baseUrl is filled in by DESCOPE_BASE_URL, and validate says so', async () => {
    const env = { STAGING_KEY: TEST_KEY, DESCOPE_BASE_URL: project.emu.url };
    const validated = await project.run(['validate', '--env', 'nourl'], { env });
    assert.equal(validated.code, 0, validated.stderr);
    assert.match(validated.stdout, /project P2testProjectA0+, with DESCOPE_BASE_URL from the shell\)/);
    const diffed = await project.run(['diff', '--env', 'nourl'], { env });
    assert.equal(diffed.code, 0, diffed.stdout + diffed.stderr);
    assert.match(diffed.stdout, /\+ tenants\/acme/);
  });
});
