import { defineEnvironment } from 'descope-run';

export default defineEnvironment({
  projectId: 'P2stagingAcmeCloud00000000000',
  // The key is read from this variable at run time; a key written here is refused.
  managementKey: { env: 'DESCOPE_STAGING_MANAGEMENT_KEY' },
  vars: {
    appName: 'Acme Cloud (staging)',
    domain: 'staging.acme-cloud.com',
    primaryColor: '#0ea5e9',
    otpExpiryMinutes: 10,
    collectName: true,
    termsUrl: 'https://staging.acme-cloud.com/terms',
    oidcIssuer: 'https://acme.okta.com/oauth2/default',
  },
});
