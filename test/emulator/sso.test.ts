import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fails, ok, rawFetch, startHarness, type Harness } from './helpers.ts';

const oidcSettings = {
  name: 'Okta',
  clientId: 'cid',
  clientSecret: 's3cret',
  redirectUrl: 'https://r',
  authUrl: 'https://a',
  tokenUrl: 'https://t',
  userDataUrl: 'https://u',
  scope: ['openid', 'email'],
  JWKsUrl: 'https://j',
  manageProviderTokens: false,
  callbackDomain: '',
  prompt: ['login' as const],
  grantType: 'authorization_code' as const,
  issuer: 'https://iss',
  roleMappings: [{ roleName: 'Admin', groups: ['admins'] }],
  attributeMapping: { loginId: 'sub', email: 'email', customAttributes: { dept: 'department' } },
};

const samlSettings = {
  idpUrl: 'https://idp/sso',
  idpCert: 'CERT',
  entityId: 'idp-entity',
  roleMappings: [{ groups: ['admins', 'ops'], roleName: 'Admin' }],
  attributeMapping: { email: 'mail', name: 'displayName' },
  defaultSSORoles: ['Viewer'],
  spACSUrl: 'https://acs',
  spEntityId: 'sp-entity',
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('emulator: management.sso (tenant SSO settings)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.emulator.close());
  beforeEach(async () => {
    await h.emulator.reset();
    ok(await h.m.tenant.createWithId('acme', 'Acme'));
    ok(await h.m.role.create('Admin'));
    ok(await h.m.role.create('Viewer'));
  });

  it('configureOIDCSettings: loadSettings gives attributeMapping back and a blank secret', async () => {
    const { m, emulator } = h;
    ok(await m.sso.configureOIDCSettings('acme', oidcSettings, ['acme.com']));
    const loaded = ok(await m.sso.loadSettings('acme'));
    const { clientSecret, ...expected } = oidcSettings;
    assert.equal(clientSecret, 's3cret');
    assert.deepEqual(loaded.oidc, { ...expected, clientSecret: '' });
    assert.equal('userAttrMapping' in (loaded.oidc ?? {}), false);
    assert.equal(loaded.saml, undefined);
    assert.equal(loaded.ssoId, '');
    assert.equal(loaded.tenant.id, 'acme');
    assert.equal(loaded.tenant.authType, 'oidc');
    assert.deepEqual(loaded.tenant.domains, ['acme.com']);
    assert.deepEqual(emulator.secretStatus('acme'), { set: true, sha256: sha256('s3cret') });

    const raw = (await rawFetch(emulator, 'GET', '/v2/mgmt/sso/settings?tenantId=acme')).json as { oidc: Record<string, unknown> };
    assert.deepEqual(raw.oidc['userAttrMapping'], oidcSettings.attributeMapping, 'stored under the wire key');
    assert.equal(raw.oidc['attributeMapping'], undefined);
    assert.equal(raw.oidc['clientSecret'], '');
  });

  it('configureOIDCSettings without a secret keeps the stored one; a new one replaces it', async () => {
    const { m, emulator } = h;
    ok(await m.sso.configureOIDCSettings('acme', oidcSettings));
    const { clientSecret: _omit, ...withoutSecret } = oidcSettings;
    ok(await m.sso.configureOIDCSettings('acme', { ...withoutSecret, name: 'Okta 2' }));
    assert.equal(ok(await m.sso.loadSettings('acme')).oidc?.name, 'Okta 2');
    assert.deepEqual(emulator.secretStatus('acme'), { set: true, sha256: sha256('s3cret') });
    ok(await m.sso.configureOIDCSettings('acme', { ...oidcSettings, clientSecret: 'rotated' }));
    assert.equal(emulator.secretStatus('acme').sha256, sha256('rotated'));
    assert.deepEqual(emulator.secretStatus('acme', 'nope'), { set: false, sha256: null });
  });

  it('configureOIDCSettings refuses unknown tenants, missing fields and unknown roles', async () => {
    const { m } = h;
    fails(await m.sso.configureOIDCSettings('nope', oidcSettings), 404, 'E111104');
    fails(await m.sso.configureOIDCSettings('acme', { ...oidcSettings, clientId: '' }), 400, 'E011002', 'settings.clientId');
    fails(
      await m.sso.configureOIDCSettings('acme', { ...oidcSettings, roleMappings: [{ roleName: 'Ghost', groups: [] }] }),
      404,
      'E111403',
      'Ghost',
    );
    fails(await m.sso.configureOIDCSettings('acme', oidcSettings, undefined, 'no-such-sso'), 404, 'E111604');
    assert.equal(ok(await m.sso.loadSettings('acme')).oidc, undefined, 'nothing was stored');
  });

  it('configureSAMLSettings: groupsMapping comes back as roleName after the SDK transform', async () => {
    const { m, emulator } = h;
    ok(await m.sso.configureSAMLSettings('acme', samlSettings, 'https://app/after-login', ['acme.com']));
    const loaded = ok(await m.sso.loadSettings('acme'));
    assert.deepEqual(loaded.saml, {
      idpEntityId: 'idp-entity',
      idpSSOUrl: 'https://idp/sso',
      idpCertificate: 'CERT',
      idpMetadataUrl: '',
      spEntityId: 'sp-entity',
      spACSUrl: 'https://acs',
      spCertificate: '',
      attributeMapping: { email: 'mail', name: 'displayName' },
      groupsMapping: [{ roleName: 'Admin', groups: ['admins', 'ops'] }],
      defaultSSORoles: ['Viewer'],
      redirectUrl: 'https://app/after-login',
    });
    assert.equal(loaded.tenant.authType, 'saml');

    const raw = (await rawFetch(emulator, 'GET', '/v2/mgmt/sso/settings?tenantId=acme')).json as {
      saml: { groupsMapping: Array<{ role: { id: string; name: string }; groups: string[] }> };
    };
    const [mapping] = raw.saml.groupsMapping;
    assert.equal(mapping?.role.name, 'Admin');
    assert.match(mapping?.role.id ?? '', /^ROL/);
  });

  it('configureSAMLSettings refuses unknown roles and missing idp fields', async () => {
    const { m } = h;
    fails(
      await m.sso.configureSAMLSettings('acme', { ...samlSettings, roleMappings: [{ groups: [], roleName: 'Ghost' }] }),
      404,
      'E111403',
    );
    fails(await m.sso.configureSAMLSettings('acme', { ...samlSettings, defaultSSORoles: ['Ghost'] }), 404, 'E111403');
    fails(await m.sso.configureSAMLSettings('acme', { ...samlSettings, idpCert: '' }), 400, 'E011002', 'settings.idpCert');
    fails(await m.sso.configureSAMLSettings('nope', samlSettings), 404, 'E111104');
  });

  it('role renames and deletes show up in the SAML mapping', async () => {
    const { m } = h;
    ok(await m.sso.configureSAMLSettings('acme', samlSettings));
    ok(await m.role.update('Admin', 'Administrator'));
    assert.deepEqual(ok(await m.sso.loadSettings('acme')).saml?.groupsMapping, [
      { roleName: 'Administrator', groups: ['admins', 'ops'] },
    ]);
    ok(await m.role.delete('Administrator'));
    ok(await m.role.delete('Viewer'));
    const saml = ok(await m.sso.loadSettings('acme')).saml;
    assert.deepEqual(saml?.groupsMapping, []);
    assert.deepEqual(saml?.defaultSSORoles, []);
  });

  it('configureSAMLByMetadata stores the metadata URL; configuring by URL clears it', async () => {
    const { m } = h;
    ok(await m.sso.configureSAMLByMetadata('acme', {
      idpMetadataUrl: 'https://idp/metadata', roleMappings: [], attributeMapping: {}, defaultSSORoles: [],
    }, 'https://redirect'));
    let saml = ok(await m.sso.loadSettings('acme')).saml;
    assert.equal(saml?.idpMetadataUrl, 'https://idp/metadata');
    assert.equal(saml?.idpSSOUrl, '');
    assert.equal(saml?.redirectUrl, 'https://redirect');
    fails(await m.sso.configureSAMLByMetadata('acme', { idpMetadataUrl: '' }), 400, 'E011002', 'idpMetadataUrl');
    ok(await m.sso.configureSAMLSettings('acme', samlSettings));
    saml = ok(await m.sso.loadSettings('acme')).saml;
    assert.equal(saml?.idpMetadataUrl, '');
    assert.equal(saml?.redirectUrl, 'https://redirect', 'kept: no redirectUrl argument was given');
  });

  it('configureSSORedirectURL sets the SAML and OAuth redirect URLs', async () => {
    const { m } = h;
    ok(await m.sso.configureOIDCSettings('acme', oidcSettings));
    ok(await m.sso.configureSSORedirectURL('acme', 'https://saml-redirect', 'https://oauth-redirect'));
    const loaded = ok(await m.sso.loadSettings('acme'));
    assert.equal(loaded.saml?.redirectUrl, 'https://saml-redirect');
    assert.equal(loaded.oidc?.redirectUrl, 'https://oauth-redirect');
    assert.equal(loaded.oidc?.name, 'Okta');
    assert.equal(loaded.tenant.authType, 'oidc', 'a redirect URL does not change the auth type');
    ok(await m.sso.configureSSORedirectURL('acme', undefined, 'https://only-oauth'));
    assert.equal(ok(await m.sso.loadSettings('acme')).saml?.redirectUrl, 'https://saml-redirect');
    fails(await m.sso.configureSSORedirectURL('nope', 'x'), 404, 'E111104');
  });

  it('newSettings adds configurations that loadAllSettings lists under SSOSettings', async () => {
    const { m, emulator } = h;
    assert.deepEqual(ok(await m.sso.loadAllSettings('acme')), [], 'nothing configured yet');
    const created = ok(await m.sso.newSettings('acme', 'okta', 'Okta IdP'));
    assert.equal(created.ssoId, 'okta');
    assert.equal(created.tenant.id, 'acme');
    const generated = ok(await m.sso.newSettings('acme', '', 'Second'));
    assert.match(generated.ssoId ?? '', /^SSO[A-Za-z0-9]{26}$/);
    fails(await m.sso.newSettings('acme', 'okta', 'Again'), 409, 'E111605');
    fails(await m.sso.newSettings('nope', 'x', 'X'), 404, 'E111104');
    fails(await m.sso.newSettings('acme', 'x', ''), 400, 'E011002', 'displayName');

    ok(await m.sso.configureSAMLSettings('acme', samlSettings, undefined, ['acme.com'], 'okta'));
    ok(await m.sso.configureOIDCSettings('acme', oidcSettings));
    const all = ok(await m.sso.loadAllSettings('acme'));
    assert.deepEqual(all.map((settings) => settings.ssoId), ['', 'okta', generated.ssoId]);
    assert.equal(all[1]?.saml?.groupsMapping[0]?.roleName, 'Admin');
    assert.equal(all[1]?.tenant.authType, 'saml');
    assert.deepEqual(all[1]?.tenant.domains, ['acme.com']);
    assert.equal(all[0]?.oidc?.attributeMapping?.loginId, 'sub');

    const okta = ok(await m.sso.loadSettings('acme', 'okta'));
    assert.equal(okta.saml?.idpEntityId, 'idp-entity');
    assert.equal(okta.oidc, undefined);
    const raw = (await rawFetch(emulator, 'GET', '/v2/mgmt/sso/settings/all?tenantId=acme')).json;
    assert.deepEqual(Object.keys(raw as object), ['SSOSettings']);
    fails(await m.sso.loadSettings('acme', 'nope'), 404, 'E111604');
    fails(await m.sso.loadAllSettings('nope'), 404, 'E111104');
  });

  it('deleteSettings (DELETE verb) removes a configuration or resets the default one', async () => {
    const { m, emulator } = h;
    ok(await m.sso.newSettings('acme', 'okta', 'Okta'));
    ok(await m.sso.configureOIDCSettings('acme', oidcSettings, ['acme.com']));
    ok(await m.sso.deleteSettings('acme', 'okta'));
    fails(await m.sso.loadSettings('acme', 'okta'), 404, 'E111604');
    fails(await m.sso.deleteSettings('acme', 'okta'), 404, 'E111604');
    ok(await m.sso.deleteSettings('acme'));
    const loaded = ok(await m.sso.loadSettings('acme'));
    assert.equal(loaded.oidc, undefined);
    assert.equal(loaded.tenant.authType, 'none');
    assert.deepEqual(loaded.tenant.domains, []);
    assert.equal(emulator.secretStatus('acme').set, false);
    fails(await m.sso.deleteSettings('nope'), 404, 'E111104');
    assert.equal(emulator.log.count('DELETE', '/v1/mgmt/sso/settings', 200), 2);
  });

  it('loadSettings for a tenant without SSO returns the tenant only; missing tenantId is refused', async () => {
    const { m } = h;
    const loaded = ok(await m.sso.loadSettings('acme'));
    assert.deepEqual(Object.keys(loaded).sort(), ['ssoId', 'tenant']);
    fails(await m.sso.loadSettings(''), 400, 'E011002', 'tenantId');
  });
});
