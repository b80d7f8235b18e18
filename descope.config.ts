// The sample project: a B2B SaaS ("Acme Cloud") with three customer tenants, roles and
// permissions, two login flows rendered from templates/, a theme and a password policy.
// It imports 'descope-run' exactly as your project would.
import { defineConfig, flow, passwordPolicy, permission, role, tenant, theme } from 'descope-run';
import supportTeam from './modules/support-team/index.ts';

export default defineConfig(({ env, vars }) => ({
  permissions: [
    permission({ name: 'projects.read', description: 'See projects and their settings' }),
    permission({ name: 'projects.write', description: 'Create and change projects' }),
    permission({ name: 'billing.manage', description: 'Change plans and payment methods' }),
    permission({ name: 'users.read', description: 'See the members of a tenant' }),
    permission({ name: 'users.manage', description: 'Invite and remove members' }),
    permission({ name: 'tickets.answer', description: 'Answer support tickets' }),
    permission({ name: 'tickets.assign', description: 'Assign support tickets' }),
  ],

  roles: [
    role({ name: 'Viewer', description: 'Read-only access', permissions: ['projects.read'], default: true }),
    role({ name: 'Editor', description: 'Works on projects', permissions: ['projects.read', 'projects.write'] }),
    role({ name: 'Billing Admin', description: 'Owns the subscription', permissions: ['billing.manage'] }),
    role({ name: 'Tenant Admin', description: 'Manages a tenant\'s members', permissions: ['users.read', 'users.manage'] }),
  ],

  tenants: [
    tenant({
      id: 'acme',
      name: 'Acme Corporation',
      selfProvisioningDomains: ['acme.com'],
      customAttributes: { plan: 'enterprise', seats: 250 },
      defaultRoles: ['Viewer'],
      enforceSSO: env === 'prod',
      settings: {
        sessionTokenExpiration: { value: 10, unit: 'minutes' },
        refreshTokenExpiration: { value: 4, unit: 'weeks' },
        inactivityTimeout: { value: 2, unit: 'hours' },
        jitProvisioning: true,
      },
      sso: {
        type: 'oidc',
        name: 'Acme Okta',
        clientId: '0oa1acmeclient',
        // A reference, never the secret itself: read from this variable at apply time.
        clientSecret: { env: 'ACME_OIDC_CLIENT_SECRET' },
        issuer: vars.oidcIssuer,
        scope: ['openid', 'profile', 'email'],
        attributeMapping: { loginId: 'sub', email: 'email', name: 'name' },
        roleMappings: [{ role: 'Tenant Admin', groups: ['descope-admins'] }],
        domains: ['acme.com'],
      },
      protect: true,
    }),
    tenant({
      id: 'globex',
      name: 'Globex',
      selfProvisioningDomains: ['globex.io'],
      defaultRoles: ['Viewer', 'Support Agent'],
      sso: {
        type: 'saml',
        idpUrl: 'https://login.globex.io/saml/sso',
        entityId: 'https://login.globex.io/saml/metadata',
        idpCert: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2xvYmV4IHNhbXBsZSBjZXJ0\n-----END CERTIFICATE-----',
        attributeMapping: { email: 'mail', name: 'displayName', group: 'groups' },
        defaultSSORoles: ['Viewer'],
        domains: ['globex.io'],
      },
    }),
    tenant({
      id: 'initech',
      name: 'Initech',
      selfProvisioningDomains: ['initech.net'],
      customAttributes: { plan: 'starter' },
      defaultRoles: ['Viewer'],
    }),
  ],

  // The same module twice, for two tenants, with different parameters.
  modules: [supportTeam({ tenant: 'acme', refunds: true }), supportTeam({ tenant: 'globex' })],

  flows: [
    flow({
      id: 'sign-up-or-in',
      template: 'sign-up-or-in.json.njk',
      vars: { collectName: vars.collectName, otpExpiryMinutes: vars.otpExpiryMinutes },
    }),
    flow({ id: 'sso-login', template: 'sso-login.json.njk' }),
  ],

  theme: theme({ template: 'theme.json.njk', vars: { primaryColor: vars.primaryColor } }),

  passwordPolicy: passwordPolicy({
    enabled: true,
    minLength: 12,
    lowercase: true,
    uppercase: true,
    number: true,
    nonAlphaNumeric: true,
    lock: true,
    lockAttempts: 5,
  }),
}));
