// Untrusted answers (issue 11, items 11 and 12), through the real CLI. A proxy in front of the
// emulator rewrites chosen answers into malformed ones: every command that reads the live project
// (diff, apply, backup, rollback, show, drift, import) reports ONE line naming the call and what is
// wrong, with a hint, exit 1, no stack trace, and writes nothing (no API write, no backup, no
// imported file). Before that, with honest answers: every read-only command runs to the end and
// sends zero write requests (their API refuses anything but reads).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import DescopeClient from '@descope/node-sdk';
import { startAnswerProxy, type AnswerProxy, type Rewrite } from '../helpers/answer-proxy.ts';
import { hasStackTrace } from '../helpers/cli.ts';
import { createProject, listFiles, PROJECT_A, remoteEnvironment, type Project } from '../helpers/project.ts';

const CONFIG = `import { defineConfig, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';
export default defineConfig({
  permissions: [permission({ name: 'docs.read' })],
  roles: [role({ name: 'Reader', permissions: ['docs.read'] }), role({ name: 'Agent', tenant: 'acme' })],
  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme',
      selfProvisioningDomains: ['acme.com'],
      defaultRoles: ['Reader'],
      settings: { sessionTokenExpiration: { value: 10, unit: 'minutes' } },
      sso: { type: 'oidc', name: 'Okta', clientId: 'client', clientSecret: { env: 'ACME_OIDC_SECRET' }, issuer: 'https://issuer.example' },
    }),
  ],
  flows: [flow({ id: 'login', json: { flow: { dsl: { startTask: 'a', tasks: { a: { id: 'a', type: 'action' } } } }, screens: [] } })],
  theme: theme({ json: { cssTemplate: { light: { colors: { primary: '#123456' } } } } }),
  passwordPolicy: passwordPolicy({ enabled: true, minLength: 10 }),
});
`;
const REMOTE = ['--env', 'remote'];
const ENV = { ACME_OIDC_SECRET: 'oidc-secret-for-the-test' };

describe('answers from the API', () => {
  let project: Project;
  let proxy: AnswerProxy;

  before(async () => {
    project = await createProject({ config: CONFIG });
    proxy = await startAnswerProxy(project.emu.url);
    await project.writeEnvironment('remote', remoteEnvironment(proxy, PROJECT_A));
    const applied = await project.run(['apply', ...REMOTE, '--yes'], { env: ENV });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    // Drift, so that diff has a change to show and drift searches the audit trail.
    const sdk = DescopeClient({ projectId: project.emu.projectId, managementKey: project.emu.managementKey, baseUrl: project.emu.url });
    assert.equal((await sdk.management.tenant.update('acme', 'Acme (renamed in the console)', ['acme.com'])).ok, true);
  });
  after(async () => {
    await proxy?.close();
    await project?.close();
  });

  test('every read-only command reads to the end and sends no write request', async () => {
    const commands: [string[], RegExp][] = [
      [['diff', ...REMOTE], /~ tenants\/acme/],
      [['drift', ...REMOTE], /tenants\/acme/],
      [['show', 'tenants', ...REMOTE], /acme/],
      [['backup', ...REMOTE, '--out', 'backup.json'], /backup/i],
      [['import', ...REMOTE, '--out', 'imported'], /imported/],
    ];
    for (const [args, shows] of commands) {
      const writes = project.writeCalls();
      const result = await project.run(args, { env: ENV });
      assert.equal(result.code, 0, `${args.join(' ')}\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout + result.stderr, shows, args.join(' '));
      assert.equal(project.writeCalls() - writes, 0, `${args.join(' ')} sent a write request`);
    }
  });

  /** A malformed answer: which call, how it is broken, the command that meets it, and what it must say. */
  const CASES: { route: string; rewrite: Rewrite; args: string[]; error: RegExp }[] = [
    // The four, each through another command.
    { route: 'GET /v1/mgmt/tenant/all', rewrite: () => ({ tenants: [null] }), args: ['diff', ...REMOTE], error: /^tenants: Descope's answer is malformed: tenants\[0\] is null, expected an object$/ },
    { route: 'GET /v1/mgmt/tenant/all', rewrite: () => ({ tenants: 'abc' }), args: ['apply', ...REMOTE, '--yes'], error: /^tenants: Descope's answer is malformed: tenants is a string, expected a list$/ },
    { route: 'GET /v1/mgmt/permission/all', rewrite: () => ({ permissions: [null] }), args: ['backup', ...REMOTE], error: /^permissions: Descope's answer is malformed: permissions\[0\] is null, expected an object$/ },
    {
      route: 'GET /v1/mgmt/tenant/all',
      rewrite: (body) => ({ tenants: (body as { tenants: object[] }).tenants.map((t) => ({ ...t, selfProvisioningDomains: 'acme.com' })) }),
      args: ['show', 'tenants', ...REMOTE],
      error: /^tenants: Descope's answer is malformed: tenants\[0\]\.selfProvisioningDomains is a string, expected a list$/,
    },
    // The family: every other read, through the remaining commands.
    {
      route: 'POST /v1/mgmt/role/search',
      rewrite: () => ({ roles: [{ name: 5 }] }),
      args: ['rollback', ...REMOTE, '--to', 'backup.json', '--yes'],
      error: /^roles: Descope's answer is malformed: roles\[0\]\.name is a number, expected a string$/,
    },
    {
      route: 'GET /v1/mgmt/tenant/settings',
      rewrite: (body) => ({ ...(body as object), sessionTokenExpiration: '10' }),
      args: ['drift', ...REMOTE],
      error: /^tenants\/acme\/settings: Descope's answer is malformed: sessionTokenExpiration is a string, expected a number$/,
    },
    {
      // The SDK's own transform reads saml.groupsMapping[i].role.name and throws: the same one line.
      route: 'GET /v2/mgmt/sso/settings',
      rewrite: (body) => ({ ...(body as object), saml: { groupsMapping: [{ groups: ['g'] }] } }),
      args: ['import', ...REMOTE, '--out', 'imported-again'],
      error: /^tenants\/acme\/sso: Descope's answer is malformed: the Descope SDK could not read it \(.*\)$/,
    },
    { route: 'POST /v1/mgmt/flow/list', rewrite: () => ({ flows: [{ id: 7 }], total: 1 }), args: ['show', 'flows', ...REMOTE], error: /^flows: Descope's answer is malformed: flows\[0\]\.id is a number, expected a string$/ },
    { route: 'POST /v1/mgmt/flow/export', rewrite: () => ({ flow: null, screens: [] }), args: ['diff', ...REMOTE], error: /^flows\/login: Descope's answer is malformed: flow is null, expected an object$/ },
    { route: 'POST /v1/mgmt/theme/export', rewrite: () => ({ theme: { id: 't', cssTemplate: 'dark' } }), args: ['show', 'theme', ...REMOTE], error: /^theme: Descope's answer is malformed: theme\.cssTemplate is a string, expected an object$/ },
    {
      route: 'GET /v1/mgmt/password/settings',
      rewrite: (body) => ({ ...(body as object), minLength: '8' }),
      args: ['apply', ...REMOTE, '--yes'],
      error: /^password-policy: Descope's answer is malformed: minLength is a string, expected a number$/,
    },
  ];

  for (const c of CASES) {
    test(`${c.route} answered malformed: ${c.args[0]} ${c.args[1] === '--env' ? '' : c.args[1]} stops with one line`, async () => {
      const backups = path.join(project.dir, '.descope', 'backups');
      const filesBefore = (await listFiles(project.dir)).filter((file) => !file.includes(`${path.sep}.descope${path.sep}`) || file.startsWith(backups));
      const writes = project.writeCalls();
      proxy.clear();
      proxy.rewrite(c.route, c.rewrite);
      const rewritten = proxy.rewritten;
      const result = await project.run(c.args, { env: ENV });
      proxy.clear();
      const output = result.stdout + result.stderr;
      assert.ok(proxy.rewritten > rewritten, `the answer was not rewritten (not read?)\n${output}`);
      assert.equal(result.code, 1, output);
      assert.equal(hasStackTrace(output), false, output);
      assert.doesNotMatch(output, /crashed/, output);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('error: '));
      const hints = result.stderr.split('\n').filter((line) => line.startsWith('  hint: '));
      assert.equal(errors.length, 1, result.stderr);
      assert.match(errors[0]!.slice('error: '.length), c.error);
      assert.equal(hints.length, 1, result.stderr);
      assert.match(hints[0]!, new RegExp(`the answer came from ${proxy.url.replace(/[.]/g, '\\.')}: is that the Descope API\\?`));
      assert.equal(project.writeCalls() - writes, 0, 'a write request was sent');
      const filesAfter = (await listFiles(project.dir)).filter((file) => !file.includes(`${path.sep}.descope${path.sep}`) || file.startsWith(backups));
      assert.deepEqual(filesAfter, filesBefore, 'a file was written');
    });
  }

  test('a malformed audit answer leaves drift working, without attribution, and says why', async () => {
    proxy.rewrite('POST /v1/mgmt/audit/search', () => ({ audits: [{ action: 'TenantUpdated', tenants: 'acme' }] }));
    const result = await project.run(['drift', ...REMOTE], { env: ENV });
    proxy.clear();
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /tenants\/acme/);
    assert.match(result.stdout + result.stderr, /Descope's answer is malformed: audits\[0\]\.tenants is a string, expected a list/);
    assert.equal(hasStackTrace(result.stdout + result.stderr), false);
  });
});
