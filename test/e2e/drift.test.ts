// `descope-run drift` end to end: the real CLI (built bin) against an emulator started in this
// process. Apply, then out-of-band edits through the real SDK (a tenant's domains and name, a flow
// screen, a role's permissions) are each reported with their address, field and the audit trail's
// last change; nothing right after apply; exit codes; json, markdown, and the HTML report loaded
// in headless Chromium; a failed audit search; --watch with a local --notify server.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { BIN, cleanEnv, hasStackTrace } from '../helpers/cli.ts';
import { createProject, modeOf, PROJECT_A, TEST_KEY, type Project } from '../helpers/project.ts';

const REMOTE = ['--env', 'remote'];
const HOSTILE = '<script>alert("pwned")</script>';

const LOGIN = {
  flow: {
    id: 'login',
    name: 'Login',
    dsl: {
      startTask: '1',
      tasks: {
        '1': { id: '1', type: 'screen', name: 'Welcome', screenId: 'SC1', next: { rules: [{ interactionId: 'go', taskId: '2' }] } },
        '2': { id: '2', type: 'automated', name: 'End', action: 'logged-in', next: {} },
      },
    },
  },
  screens: [{ id: 'SC1', flowId: 'login', interactions: [{ id: 'go', label: 'Continue' }], htmlTemplate: { ROOT: {} } }],
};

const CONFIG = `import { defineConfig, flow, permission, role, tenant } from 'descope-run';

export default defineConfig({
  permissions: [permission({ name: 'docs.read' }), permission({ name: 'docs.write' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] })],
  tenants: [tenant({ id: 'acme', name: 'Acme', selfProvisioningDomains: ['acme.com'] })],
  flows: [flow({ id: 'login', json: ${JSON.stringify(LOGIN)} })],
});
`;

const DRIFTED = ['flows/login', 'roles/Reader', 'tenants/acme'];

function sdkOf(project: Project) {
  return DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
}

async function appliedProject(t: { after: (fn: () => Promise<void>) => void }): Promise<Project> {
  const project = await createProject({ config: CONFIG });
  t.after(() => project.close());
  const applied = await project.run(['apply', ...REMOTE, '--yes']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  return project;
}

/** The three out-of-band edits, through the real SDK, plus a tenant the config does not declare. */
async function driftOutOfBand(project: Project): Promise<void> {
  const sdk = sdkOf(project);
  assert.equal((await sdk.management.tenant.update('acme', HOSTILE, ['acme.com', 'evil.example'])).ok, true);
  assert.equal((await sdk.management.role.update('Reader', 'Reader', undefined, ['docs.read', 'docs.write'])).ok, true);
  const screens = structuredClone(LOGIN.screens);
  screens[0]!.interactions[0]!.label = 'Continue now';
  assert.equal((await sdk.management.flow.import('login', LOGIN.flow as never, screens as never)).ok, true);
  assert.equal((await sdk.management.tenant.createWithId('legacy', 'Legacy')).ok, true);
}

interface JsonReport {
  environment: string;
  projectId: string;
  checkedAt: string;
  unmanaged: number;
  auditUnavailable?: string;
  drifted: { address: string; kind: string; action: string; fields: { field: string; live?: unknown; config?: unknown }[]; lastChange?: { time: string; actor: string; action: string } }[];
}

// Each test has its own emulator and project: they run side by side.
describe('drift', { concurrency: true }, () => {
  test('drift: nothing right after apply; out-of-band edits reported in every format, with the audit trail', async (t) => {
    const project = await appliedProject(t);

    const clean = await project.run(['drift', ...REMOTE, '--exit-code']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^Drift in environment remote \(project P2testProjectA0+\): 0 drifted addresses$/m);
    assert.match(clean.stdout, /^No drift: the live project matches the config\.$/m);
    const auditSearches = () => project.emu.log.count('POST', '/v1/mgmt/audit/search');
    assert.equal(auditSearches(), 0, 'no drift, no audit search');

    await driftOutOfBand(project);
    const writesBefore = project.writeCalls();
    const htmlFile = path.join(project.dir, 'drift.html');
    const [text, json, markdown, html] = await Promise.all([
      project.run(['drift', ...REMOTE, '--exit-code']),
      project.run(['drift', ...REMOTE, '--format', 'json']),
      project.run(['drift', ...REMOTE, '--format', 'markdown', '--exit-code']),
      project.run(['drift', ...REMOTE, '--format', 'html', '--out', htmlFile, '--exit-code']),
    ]);
    assert.equal(project.writeCalls(), writesBefore, 'drift wrote to Descope');
    assert.equal(auditSearches(), 4, 'one audit search per run, not one per address');

    // Text: each address with its field, live → config, and who changed it.
    assert.equal(text.code, 2, text.stdout + text.stderr);
    assert.match(text.stdout, /^Drift in environment remote \(project P2testProjectA0+\): 3 drifted addresses$/m);
    assert.match(text.stdout, /^ {2}~ tenants\/acme {2}changed\n {6}name: +"<script>alert\(\\"pwned\\"\)<\/script>" → "Acme"\n {6}selfProvisioningDomains: \["acme\.com", "evil\.example"\] → \["acme\.com"\]$/m);
    assert.match(text.stdout, /^ {2}~ roles\/Reader {2}changed\n {6}permissions: \["docs\.read", "docs\.write"\] → \["docs\.read"\]$/m);
    assert.match(text.stdout, /^ {2}~ flows\/login {2}changed\n {6}screens\.SC1: changed$/m);
    assert.match(text.stdout, /^ {6}-\s+"label": "Continue now"$/m);
    for (const action of ['TenantUpdated', 'RoleUpdated', 'FlowImported']) {
      assert.match(text.stdout, new RegExp(`^ {6}last change: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ by \\S+ \\(${action}\\)$`, 'm'));
    }
    assert.match(text.stdout, /^Unmanaged: 1 live resource is not in the config \(not drift\)\.$/m);
    assert.doesNotMatch(text.stdout, /legacy/);

    // JSON: the documented shape.
    assert.equal(json.code, 0, 'without --exit-code drift exits 0');
    const report = JSON.parse(json.stdout) as JsonReport;
    assert.equal(report.environment, 'remote');
    assert.equal(report.projectId, PROJECT_A);
    assert.ok(Number.isFinite(Date.parse(report.checkedAt)));
    assert.equal(report.unmanaged, 1);
    assert.deepEqual(report.drifted.map((d) => [d.address, d.action, d.fields.map((f) => f.field)]), [
      ['flows/login', 'changed', ['screens.SC1']],
      ['roles/Reader', 'changed', ['permissions']],
      ['tenants/acme', 'changed', ['name', 'selfProvisioningDomains']],
    ]);
    const acme = report.drifted.find((d) => d.address === 'tenants/acme')!;
    assert.deepEqual(acme.fields[1], { field: 'selfProvisioningDomains', live: ['acme.com', 'evil.example'], config: ['acme.com'] });
    assert.deepEqual(report.drifted.map((d) => d.lastChange?.action), ['FlowImported', 'RoleUpdated', 'TenantUpdated']);
    const actors = new Set(report.drifted.map((d) => d.lastChange?.actor));
    assert.equal(actors.size, 1, 'one management key made the three edits');
    assert.ok([...actors][0], 'the actor is named');

    // Markdown: a table per address.
    assert.equal(markdown.code, 2);
    for (const address of DRIFTED) assert.ok(markdown.stdout.includes(`<code>${address}</code>`), `${address} in:\n${markdown.stdout}`);
    assert.equal(markdown.stdout.match(/^\| Field \| Live \| Config \|$/gm)?.length, 3);
    assert.ok(!markdown.stdout.includes('<script>'));

    // HTML: written (0600) instead of printed, and rendered by a real browser.
    assert.equal(html.code, 2, html.stdout + html.stderr);
    assert.equal(html.stdout, '');
    assert.equal(await modeOf(htmlFile), 0o600);
    const dom = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', pathToFileURL(htmlFile).href], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(dom.error, undefined, `chromium could not run (Debian's "chromium" package; .ci/run installs it): ${String(dom.error)}`);
    assert.match(dom.stdout, /<h1>Drift in environment remote \(project P2testProjectA0+\): 3 drifted addresses<\/h1>/, dom.stderr);
    for (const address of DRIFTED) assert.ok(dom.stdout.includes(`<code>${address}</code>`), `the browser shows ${address}`);
    assert.ok(dom.stdout.includes('&lt;script&gt;alert(\\"pwned\\")&lt;/script&gt;'), 'the hostile name is text in the page');
    assert.doesNotMatch(dom.stdout, /<script/i, 'the page has no script element');

    for (const result of [text, json, markdown, html]) {
      assert.equal(hasStackTrace(result.stdout + result.stderr), false);
      assert.ok(!(result.stdout + result.stderr).includes(TEST_KEY), 'the key is never printed');
    }
  });

  test('drift: an audit search that fails (501) leaves the report without attribution, said in one line', async (t) => {
    const project = await appliedProject(t);
    await driftOutOfBand(project);
    project.emu.failNext({ status: 501, path: '/v1/mgmt/audit/search' });
    const result = await project.run(['drift', ...REMOTE, '--format', 'json', '--exit-code']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as JsonReport;
    assert.deepEqual(report.drifted.map((d) => d.address), DRIFTED);
    assert.ok(report.drifted.every((d) => d.lastChange === undefined));
    assert.match(report.auditUnavailable ?? '', /501/);
  });

  test('drift: a bad --format, --watch or --notify is one clear line, before anything is read', async (t) => {
    const project = await createProject({ config: CONFIG });
    t.after(() => project.close());
    const cases: [string[], RegExp][] = [
      [['--format', 'pdf'], /^error: --format "pdf": not a format; the formats are text, json, markdown, html$/m],
      [['--watch', '2s'], /^error: --watch "2s": too short; the shortest interval is 5s$/m],
      [['--watch', 'often'], /^error: --watch "often": not an interval$/m],
      [['--notify', 'http://127.0.0.1:9'], /^error: --notify needs --watch$/m],
      [['--watch', '5m', '--notify', 'ftp://x'], /^error: --notify: not an http\(s\) URL$/m],
    ];
    const results = await Promise.all(cases.map(([args]) => project.run(['drift', ...REMOTE, ...args])));
    for (const [index, result] of results.entries()) {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, cases[index]![1]);
      assert.equal(result.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1);
      assert.equal(hasStackTrace(result.stderr), false);
    }
    assert.equal(project.emu.log.total, 0, 'nothing was sent');
  });

  test('drift --watch: one POST when new drift appears between checks; a failed POST or check is a warning; SIGINT stops it', async (t) => {
    const project = await appliedProject(t);
    const posts: Record<string, unknown>[] = [];
    let status = 200;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        posts.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/B000/secret-token`;

    const child = spawn(process.execPath, [BIN, 'drift', ...REMOTE, '--watch', '250ms', '--notify', url], {
      cwd: project.dir,
      env: cleanEnv({ TEST_MGMT_KEY: TEST_KEY, DESCOPE_RUN_MIN_WATCH_MS: '100' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    t.after(() => {
      clearTimeout(killer);
      child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = once(child, 'close');
    const checks = () => stdout.split('\n').filter((line) => /^\d{4}-\d\d-\d\dT\S+Z {2}\d+ drifted/.test(line));
    async function waitFor(what: string, condition: () => boolean): Promise<void> {
      const deadline = Date.now() + 15_000;
      while (!condition()) {
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`waited for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        await sleep(25);
      }
    }

    await waitFor('the first check', () => checks().length >= 1);
    assert.match(checks()[0]!, /  0 drifted addresses$/);
    const sdk = sdkOf(project);
    assert.equal((await sdk.management.tenant.update('acme', 'Acme', ['acme.com', 'evil.example'])).ok, true);
    await waitFor('the POST', () => posts.length >= 1);
    const seen = checks().length;
    await waitFor('two more checks', () => checks().length >= seen + 2);
    assert.equal(posts.length, 1, 'the same drift is not notified twice');
    assert.deepEqual(posts[0], {
      text: `Drift in environment remote (project ${PROJECT_A}): 1 new drifted address (tenants/acme); 1 drifted address in all.`,
      environment: 'remote',
      projectId: PROJECT_A,
      drifted: ['tenants/acme'],
      newlyDrifted: ['tenants/acme'],
    });
    assert.ok(checks().some((line) => / {2}1 drifted address {2}new: tenants\/acme$/.test(line)), stdout);

    // The hook fails this time: a warning (with the URL's origin only), and the watch goes on.
    status = 500;
    assert.equal((await sdk.management.role.update('Reader', 'Reader', undefined, ['docs.read', 'docs.write'])).ok, true);
    await waitFor('the second POST', () => posts.length >= 2);
    assert.deepEqual(posts[1]!.newlyDrifted, ['roles/Reader']);
    assert.deepEqual(posts[1]!.drifted, ['roles/Reader', 'tenants/acme']);
    await waitFor('the warning', () => /warning: --notify: http:\/\/127\.0\.0\.1:\d+ answered 500/.test(stderr));
    const afterWarning = checks().length;
    await waitFor('a check after the failed POST', () => checks().length > afterWarning);

    // A check that fails is a warning too; the next one reads again.
    project.emu.failNext({ status: 403, path: '/v1/mgmt/tenant/all' });
    await waitFor('the failed check', () => /^warning: \S+ check failed: .*403/m.test(stderr));
    const afterFailure = checks().length;
    await waitFor('a check after the failed one', () => checks().length > afterFailure);
    assert.equal(posts.length, 2, 'a failed check is not new drift');

    child.kill('SIGINT');
    const [code] = (await closed) as [number | null];
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^Stopped watching\.$/m);
    assert.ok(!(stdout + stderr).includes('secret-token'), 'the webhook URL path is never printed');
    assert.ok(!(stdout + stderr).includes(TEST_KEY));
    assert.equal(hasStackTrace(stdout + stderr), false, stderr);
  });
});
