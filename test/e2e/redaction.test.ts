// Secrets echoed by a server never reach the user's screen or files. A proxy in front of the
// emulator answers two writes as a misbehaving service would: the OIDC configuration with a 400
// whose texts quote the request (the client secret raw, URL-encoded and cut short by the server),
// and a tenant create with a proxy's HTML error page that shows the management key where
// descope-run cuts an unreadable body to 80 characters. Everything else reaches the emulator.
// Then stdout, stderr, the audit log and every file under .descope/ are searched for the secrets
// in every form, and for any 8 characters from their start or end.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { hasStackTrace } from '../helpers/cli.ts';
import { createProject, listFiles, PROJECT_A, remoteEnvironment } from '../helpers/project.ts';

const KEY = 'dsk+CANARY/mgmtKey=7f3a9c2e1b5d';
const SECRET = 'oidc+CANARY/acme=Secret4d8e2f61';

/** Every form a secret could take, and its first and last 8 characters (a cut one). */
function formsOf(value: string): string[] {
  const bytes = Buffer.from(value);
  return [
    value,
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    Buffer.from(`${PROJECT_A}:${value}`).toString('base64'),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
    value.replace(/\//g, '\\/'),
    value.slice(0, 8),
    value.slice(-8),
    encodeURIComponent(value).slice(0, 12),
  ];
}

function leaks(where: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries({ KEY, SECRET })) {
    for (const form of formsOf(value)) if (text.includes(form)) found.push(`${where}: ${name} as ${JSON.stringify(form)}`);
  }
  return found;
}

const CONFIG = `import { defineConfig, tenant } from 'descope-run';

export default defineConfig({
  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme',
      sso: { type: 'oidc', name: 'Acme IdP', clientId: 'acme-client', clientSecret: { env: 'ACME_OIDC_SECRET' }, issuer: 'https://idp.acme.test' },
    }),
    tenant({ id: 'globex', name: 'Globex' }),
  ],
});
`;

test('an OIDC secret and the management key echoed in server errors appear nowhere: not on screen, not in the audit log, not under .descope/', async (t) => {
  const project = await createProject({ config: CONFIG, managementKey: KEY });
  t.after(() => project.close());

  // The flattened page is cut at 77 characters; the key starts at 48, so the cut falls inside it.
  const page = `<html><body><h1>502 Bad Gateway</h1><p>as sent: ${KEY} upstream timed out</p></body></html>`;
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      void (async () => {
        if (req.url === '/v1/mgmt/sso/oidc') {
          res.writeHead(400, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              errorCode: 'E011004',
              errorDescription: `Invalid arguments: ${encodeURIComponent(SECRET)}`,
              errorMessage: `invalid request ${body} (secret ${SECRET.slice(0, 20)}...)`,
            }),
          );
          return;
        }
        if (req.url === '/v1/mgmt/tenant/create' && body.includes('"globex"')) {
          res.writeHead(502, { 'content-type': 'text/html' }).end(page);
          return;
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
        const answer = await fetch(`${project.emu.url}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
      })();
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  await project.writeEnvironment('remote', remoteEnvironment({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` }, PROJECT_A));

  const result = await project.run(['apply', '--env', 'remote', '--yes'], {
    env: { ACME_OIDC_SECRET: SECRET, DESCOPE_RUN_BACKOFF_BASE_MS: '10', DESCOPE_RUN_BACKOFF_MAX_MS: '20' },
  });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 1, output);
  assert.equal(hasStackTrace(output), false, output);
  // The failures are still explained: what Descope said, with the secrets taken out.
  assert.match(result.stdout, /✗ \+ tenants\/acme\/sso: Descope answered 400 E011004: Invalid arguments: \[redacted\]: invalid request .*"clientSecret":"\[redacted\]".*\(secret \[redacted\]\.\.\.\)/);
  assert.match(result.stdout, /tenants\/globex: .*Descope failed 5 times for tenants\/globex \(last: 502 \(not JSON: <html><body><h1>502 Bad Gateway<\/h1><p>as sent: \[redacted\] upstream/);

  const found = [...leaks('stdout', result.stdout), ...leaks('stderr', result.stderr)];
  const files = await listFiles(path.join(project.dir, '.descope'));
  assert.ok(files.some((file) => file.endsWith(path.join('audit', 'remote.jsonl'))), files.join('\n'));
  for (const file of files) found.push(...leaks(path.relative(project.dir, file), await readFile(file, 'latin1')));
  assert.deepEqual(found, [], `secrets found:\n${found.join('\n')}\n\n${output}`);
});
