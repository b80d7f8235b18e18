// The run's redactor: every secret it knows, in every form a server or proxy would write it, and
// the parts of one at a point where a text was cut. Then the runtime API against a tiny server
// that echoes secrets in its errors: the errors and the wait causes the API hands out hold none.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/errors.ts';
import { createDescopeApi } from '../../src/runtime/api.ts';
import { createTenant, normalizeTenant } from '../../src/runtime/index.ts';
import { REDACTED, Redactor } from '../../src/runtime/redact.ts';
import type { WaitEvent } from '../../src/runtime/scheduler.ts';

const SECRET = 'oidc+CANARY/acme=Secret4d8e2f61&<x>';
const KEY = 'dsk+CANARY/mgmtKey=7f3a9c2e1b5d';
const PROJECT = 'P2redactProject0000000000000';

describe('Redactor', () => {
  const redactor = new Redactor();
  redactor.add(SECRET);
  redactor.add(KEY, { base64Prefixes: [`${PROJECT}:`] });
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  const cases: [string, string, string][] = [
    ['raw', `bad secret ${SECRET} given`, `bad secret ${REDACTED} given`],
    ['base64', `auth ${b64(KEY)} refused`, `auth ${REDACTED} refused`],
    ['base64 without padding', `x ${b64(SECRET).replace(/=+$/, '')} y`, `x ${REDACTED} y`],
    ['base64url', `x ${Buffer.from(KEY).toString('base64url')} y`, `x ${REDACTED} y`],
    ['base64 of project:key (a Basic header)', `Basic ${b64(`${PROJECT}:${KEY}`)}`, `Basic ${REDACTED}`],
    ['hex', `x ${Buffer.from(KEY).toString('hex')} y`, `x ${REDACTED} y`],
    ['URL-encoded', `?s=${encodeURIComponent(SECRET)}&t=1`, `?s=${REDACTED}&t=1`],
    ['URL-encoded, lowercase hex', `?s=${encodeURIComponent(KEY).toLowerCase().replace('canary', 'CANARY').replace('mgmtkey', 'mgmtKey')}`, `?s=${REDACTED}`],
    ['URL-encoded twice', `?next=${encodeURIComponent(`?s=${encodeURIComponent(KEY)}`)}`, `?next=%3Fs%3D${REDACTED}`],
    ['JSON-escaped', JSON.stringify({ clientSecret: SECRET }), `{"clientSecret":"${REDACTED}"}`],
    ['JSON with escaped slashes', `{"k":"${KEY.replace(/\//g, '\\/')}"}`, `{"k":"${REDACTED}"}`],
    ['JSON with \\u escapes (Go)', `{"s":"${SECRET.replace('&', '\\u0026').replace('<', '\\u003c').replace('>', '\\u003e')}"}`, `{"s":"${REDACTED}"}`],
    ['HTML-escaped', `<pre>${SECRET.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</pre>`, `<pre>${REDACTED}</pre>`],
    ['twice in one text', `${KEY} and ${KEY}`, `${REDACTED} and ${REDACTED}`],
    ['a prefix cut by the server, with an ellipsis', `secret ${SECRET.slice(0, 14)}... is invalid`, `secret ${REDACTED}... is invalid`],
    ['a prefix at the end of a text', `Authorization: Bearer ${PROJECT}:${KEY.slice(0, 12)}`, `Authorization: Bearer ${PROJECT}:${REDACTED}`],
    ['a prefix at the end, before a closing quote', `{"m":"key ${KEY.slice(0, 9)}"}`, `{"m":"key ${REDACTED}"}`],
    ['a suffix after an ellipsis', `key …${KEY.slice(-10)} rejected`, `key …${REDACTED} rejected`],
    ['a suffix at the start of a text', `${KEY.slice(-9)} was not accepted`, `${REDACTED} was not accepted`],
    ['a short prefix at a cut is left (under 8 characters)', `key ${KEY.slice(0, 7)}...`, `key ${KEY.slice(0, 7)}...`],
    ['a part in the middle of a text is left', `x ${KEY.slice(0, 12)} y`, `x ${KEY.slice(0, 12)} y`],
    ['nothing to redact', 'Descope answered 400 E011004: Invalid arguments', 'Descope answered 400 E011004: Invalid arguments'],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.equal(redactor.clean(text), expected));
  }

  it('knows nothing until told; short values are not secrets it can redact', () => {
    const fresh = new Redactor();
    assert.equal(fresh.clean(`x ${KEY}`), `x ${KEY}`);
    fresh.add('abc');
    assert.equal(fresh.clean('abc abc'), 'abc abc');
    fresh.add(KEY);
    assert.equal(fresh.clean(`x ${KEY}`), `x ${REDACTED}`);
  });
});

/** A server that answers the license handshake, and each tenant create with the next scripted answer. */
function scriptedServer(script: ((body: string, req: IncomingMessage) => { status: number; type: string; body: string })[]) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const answer = req.url?.startsWith('/v1/mgmt/license')
        ? { status: 200, type: 'application/json', body: '{"rateLimitTier":"tier2"}' }
        : req.url?.startsWith('/v1/mgmt/tenant?')
          ? { status: 404, type: 'application/json', body: '{"errorCode":"E111104","errorDescription":"Tenant not found"}' }
          : (script.shift()?.(body, req) ?? { status: 200, type: 'application/json', body: '{}' });
      res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
    });
  });
  return server;
}

describe('runtime API: errors and waits that echo a secret', () => {
  const html = (status: number, before: string) =>
    `<html><body><h1>${status} Bad Gateway</h1><p>${before}${KEY} upstream</p></body></html>`;
  // The 80-character snippet of the page is cut inside the key (which starts at character 48).
  const page = html(502, 'as sent: ');
  const script = [
    // A 503 whose message quotes the request, secret and all (then a retry succeeds).
    (body: string) => ({ status: 503, type: 'application/json', body: JSON.stringify({ errorCode: 'E000503', errorMessage: `busy; request was ${body}` }) }),
    () => ({ status: 200, type: 'application/json', body: '{}' }),
    // A proxy's HTML page with the key where the 80-character snippet is cut, five times.
    ...Array.from({ length: 5 }, () => () => ({ status: 502, type: 'text/html', body: page })),
    // A final error whose code and message echo the secret, URL-encoded and cut by the server.
    () => ({
      status: 400,
      type: 'application/json',
      body: JSON.stringify({ errorCode: SECRET, errorDescription: `bad ${encodeURIComponent(SECRET)}`, errorMessage: `secret ${SECRET.slice(0, 15)}...` }),
    }),
  ];
  const server = scriptedServer(script);
  const waits: WaitEvent[] = [];
  let api: ReturnType<typeof createDescopeApi>;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    api = createDescopeApi({
      projectId: PROJECT,
      managementKey: KEY,
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      budget: { requests: 1000, windowSeconds: 1 },
      backoffBaseMs: 5,
      backoffMaxMs: 10,
      onWait: (event) => waits.push(event),
    });
    api.addSecret(SECRET);
  });
  after(() => {
    api.close();
    server.close();
  });

  it('the snippet is cut after the secret is taken out, so no prefix of it survives', () => {
    const flat = page.replace(/\s+/g, ' ');
    assert.ok(flat.indexOf(KEY) < 77 && flat.indexOf(KEY) + KEY.length > 77, 'the test page puts the key across the cut');
  });

  it('no secret in wait causes or error messages, hints and codes; the rest of the answer is kept', async () => {
    // The secret travels in the tenant's name here only so that the server can echo it.
    await createTenant(api, normalizeTenant({ id: 'acme', name: SECRET }));
    const second = createTenant(api, normalizeTenant({ id: 'globex', name: 'Globex' }));
    const gaveUp = await second.then(() => undefined, (error: unknown) => error);
    assert.ok(gaveUp instanceof ApiError);
    assert.match(gaveUp.message, /Descope failed 5 times for tenants\/globex \(last: 502 \(not JSON: <html><body><h1>502 Bad Gateway<\/h1><p>as sent: \[redacted\] upstream<\/p>.*\.\.\.\)\); gave up on it/);
    const final = await createTenant(api, normalizeTenant({ id: 'initech', name: 'Initech' })).then(() => undefined, (error: unknown) => error);
    assert.ok(final instanceof ApiError);
    assert.equal(final.errorCode, REDACTED);
    assert.equal(final.message, `tenants/initech: Descope answered 400 ${REDACTED}: bad ${REDACTED}: secret ${REDACTED}...`);
    assert.equal(final.cause, undefined, 'no raw answer travels with the error');

    const texts = [...waits.map((wait) => wait.cause), gaveUp.message, gaveUp.hint ?? '', final.message, final.hint ?? ''];
    assert.ok(waits.some((wait) => wait.cause.includes(`"name":"${REDACTED}"`)), waits.map((wait) => wait.cause).join('\n'));
    for (const text of texts) {
      for (const piece of [SECRET.slice(0, 8), SECRET.slice(-8), KEY.slice(0, 8), KEY.slice(-8), encodeURIComponent(SECRET).slice(0, 12)]) {
        assert.ok(!text.includes(piece), `${JSON.stringify(piece)} in ${text}`);
      }
    }
  });
});
