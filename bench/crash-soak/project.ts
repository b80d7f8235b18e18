// The throwaway project each crash-soak trial applies: permissions, project and tenant-scoped
// roles, tenants with settings and default roles (set in a later step than the tenant itself),
// OIDC and SAML SSO, a password policy and a flow: every kind of write apply makes, with the
// dependencies between them, 38 changes in all. Also the environment file for a trial's emulator.
import { mkdir, realpath, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const OIDC_SECRET_VARIABLE = 'SOAK_OIDC_CLIENT_SECRET';
export const KEY_VARIABLE = 'SOAK_MANAGEMENT_KEY';

export const SIZE = { permissions: 8, projectRoles: 5, tenantRoles: 3, tenants: 8, settings: 8, sso: 2, passwordPolicy: 1, flows: 1 } as const;
export const CHANGES = Object.values(SIZE).reduce((a, b) => a + b, 0);

const CONFIG = `import { defineConfig, flow, passwordPolicy, permission, role, tenant } from 'descope-run';

const permissions = Array.from({ length: ${SIZE.permissions} }, (_, i) => permission({ name: \`soak.p\${i}\`, description: \`Permission \${i}\` }));
const projectRoles = Array.from({ length: ${SIZE.projectRoles} }, (_, i) =>
  role({ name: \`Role \${i}\`, permissions: [\`soak.p\${i}\`, \`soak.p\${(i + 1) % ${SIZE.permissions}}\`] }),
);
const tenantRoles = Array.from({ length: ${SIZE.tenantRoles} }, (_, i) => role({ name: 'Agent', tenant: \`t\${i}\`, permissions: ['soak.p0'] }));
const tenants = Array.from({ length: ${SIZE.tenants} }, (_, i) =>
  tenant({
    id: \`t\${i}\`,
    name: \`Tenant \${i}\`,
    selfProvisioningDomains: [\`t\${i}.soak.test\`],
    defaultRoles: i < ${SIZE.tenantRoles} ? ['Agent', 'Role 0'] : ['Role 1'],
    settings: { sessionTokenExpiration: { value: 10 + i, unit: 'minutes' } },
    ...(i === 0
      ? { sso: { type: 'oidc', name: 'T0 IdP', clientId: 't0-client', clientSecret: { env: '${OIDC_SECRET_VARIABLE}' }, issuer: 'https://idp.t0.soak.test', domains: ['t0.soak.test'] } }
      : i === 1
        ? { sso: { type: 'saml', idpUrl: 'https://idp.t1.soak.test/sso', entityId: 'https://idp.t1.soak.test/meta', idpCert: '-----BEGIN CERTIFICATE-----\\nMIIBsoak\\n-----END CERTIFICATE-----', domains: ['t1.soak.test'] } }
        : {}),
  }),
);

export default defineConfig({
  permissions,
  roles: [...projectRoles, ...tenantRoles],
  tenants,
  passwordPolicy: passwordPolicy({ enabled: true, minLength: 12, lowercase: true, uppercase: true, number: true }),
  flows: [flow({ id: 'soak-login', template: 'login.json.njk' })],
});
`;

const TEMPLATE = `{
  "flow": {
    "id": "soak-login",
    "name": "Soak login",
    "dsl": {
      "startTask": "1",
      "tasks": {
        "1": { "id": "1", "type": "screen", "name": "Welcome", "screenId": "SC1", "next": { "rules": [{ "interactionId": "go", "taskId": "2" }] } },
        "2": { "id": "2", "type": "automated", "name": "End", "action": "logged-in", "next": {} }
      }
    }
  },
  "screens": [{ "id": "SC1", "interactions": [{ "id": "go", "label": "Go" }], "htmlTemplate": { "ROOT": { "text": "Welcome" } } }]
}
`;

export function environmentSource(emulator: { url: string; projectId: string }): string {
  return `import { defineEnvironment } from 'descope-run';

export default defineEnvironment({
  projectId: ${JSON.stringify(emulator.projectId)},
  baseUrl: ${JSON.stringify(emulator.url)},
  managementKey: { env: '${KEY_VARIABLE}' },
  budget: { requests: 1000, windowSeconds: 1 },
});
`;
}

/** A fresh project folder pointing at `emulator`; returns its path. */
export async function writeProject(emulator: { url: string; projectId: string }): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-crash-soak-')));
  await mkdir(path.join(dir, 'environments'));
  await mkdir(path.join(dir, 'templates'));
  await writeFile(path.join(dir, 'descope.config.ts'), CONFIG);
  await writeFile(path.join(dir, 'templates', 'login.json.njk'), TEMPLATE);
  await writeFile(path.join(dir, 'environments', 'soak.ts'), environmentSource(emulator));
  return dir;
}
