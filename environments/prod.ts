import { defineEnvironment } from 'descope-run';

export default defineEnvironment({
  projectId: 'P2prodAcmeCloud0000000000000',
  managementKey: { env: 'DESCOPE_PROD_MANAGEMENT_KEY' },
  // apply asks you to type the project id before it changes anything.
  protected: true,
  // The budget descope-run paces itself to (Descope's documented default).
  budget: { requests: 100, windowSeconds: 60 },
  vars: {
    appName: 'Acme Cloud',
    domain: 'acme-cloud.com',
    primaryColor: '#1d4ed8',
    otpExpiryMinutes: 5,
    collectName: true,
    termsUrl: 'https://acme-cloud.com/terms',
    oidcIssuer: 'https://acme.okta.com/oauth2/default',
  },
});
