// The embedded emulator: no account, no key. Its state lives in .descope/local/state.json.
import { defineEnvironment } from 'descope-run';

export default defineEnvironment({
  emulator: true,
  vars: {
    appName: 'Acme Cloud (local)',
    domain: 'localhost',
    primaryColor: '#4f46e5',
    otpExpiryMinutes: 10,
    collectName: true,
    termsUrl: 'http://localhost:3000/terms',
    oidcIssuer: 'https://idp.example.test/oauth2/default',
  },
});
