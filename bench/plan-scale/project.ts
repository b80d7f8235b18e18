// The throwaway project the plan-scale bench runs the CLI in: a descope.config.ts that builds its
// resources with loops (as a user with many customers would), the repo's flow templates, and an
// environment file pointing at the emulator the bench started. Also the sizes, and which ids carry
// settings, SSO or tenant roles, so the drift and the expected read counts agree with the config.
import { cp, mkdir, realpath, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SIZE = { tenants: 10_000, roles: 300, permissions: 200, flows: 50, settings: 50, sso: 20 } as const;
/** Project roles; the rest are scoped to tenants TENANT_ROLE_OWNERS_FROM.. (one each). */
export const PROJECT_ROLES = 280;
export const TENANT_ROLE_OWNERS_FROM = 100;
/** Roles only name permissions below this index; the others are referenced by nothing. */
export const REFERENCED_PERMISSIONS = 150;
export const SSO_FROM = SIZE.settings;
export const OIDC_SECRET_VARIABLE = 'BENCH_OIDC_CLIENT_SECRET';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
export const tenantId = (i: number): string => `t-${pad(i, 5)}`;
export const roleName = (i: number): string => `Role ${pad(i, 3)}`;
export const permissionName = (i: number): string => `perm.${pad(i, 3)}`;
export const flowId = (i: number): string => `bench-flow-${pad(i, 2)}`;

/** The config a user would write; the constants are inlined so the file stands alone. */
function configSource(): string {
  return `import { defineConfig, flow, permission, role, tenant } from 'descope-run';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export default defineConfig(({ vars }) => {
  const permissions = Array.from({ length: ${SIZE.permissions} }, (_, i) =>
    permission({ name: \`perm.\${pad(i, 3)}\`, description: \`Permission number \${i}\` }),
  );
  const roles = Array.from({ length: ${SIZE.roles} }, (_, i) =>
    role({
      name: \`Role \${pad(i, 3)}\`,
      description: \`Role number \${i}\`,
      permissions: [0, 1, 2].map((k) => \`perm.\${pad((i * 3 + k) % ${REFERENCED_PERMISSIONS}, 3)}\`),
      ...(i >= ${PROJECT_ROLES} ? { tenant: \`t-\${pad(${TENANT_ROLE_OWNERS_FROM} + i - ${PROJECT_ROLES}, 5)}\` } : {}),
    }),
  );
  const tenants = Array.from({ length: ${SIZE.tenants} }, (_, i) => {
    const id = \`t-\${pad(i, 5)}\`;
    const sso = i >= ${SSO_FROM} && i < ${SSO_FROM + SIZE.sso} ? i - ${SSO_FROM} : undefined;
    return tenant({
      id,
      name: \`Customer \${i}\`,
      selfProvisioningDomains: [\`c\${i}.example.com\`],
      customAttributes: { plan: i % 10 === 0 ? 'enterprise' : 'starter', seats: 5 + (i % 50) },
      defaultRoles: ['Role 000'],
      ...(i < ${SIZE.settings}
        ? {
            settings: {
              sessionTokenExpiration: { value: 10 + (i % 5), unit: 'minutes' },
              refreshTokenExpiration: { value: 2, unit: 'weeks' },
              inactivityTimeout: { value: 1, unit: 'hours' },
              jitProvisioning: i % 2 === 0,
            },
          }
        : {}),
      ...(sso === undefined
        ? {}
        : sso % 2 === 0
          ? {
              sso: {
                type: 'saml',
                idpUrl: \`https://idp.c\${i}.example.com/saml/sso\`,
                entityId: \`https://idp.c\${i}.example.com/saml/metadata\`,
                idpCert: '-----BEGIN CERTIFICATE-----\\nMIIBszCCAVmgAwIBAgIUQmVuY2ggY2VydA\\n-----END CERTIFICATE-----',
                attributeMapping: { email: 'mail', name: 'displayName', group: 'groups' },
                defaultSSORoles: ['Role 000'],
                roleMappings: [{ role: 'Role 001', groups: ['admins'] }],
                domains: [\`c\${i}.example.com\`],
              },
            }
          : {
              sso: {
                type: 'oidc',
                name: \`Customer \${i} IdP\`,
                clientId: \`client-\${i}\`,
                clientSecret: { env: '${OIDC_SECRET_VARIABLE}' },
                issuer: \`https://idp.c\${i}.example.com\`,
                scope: ['openid', 'profile', 'email'],
                attributeMapping: { loginId: 'sub', email: 'email', name: 'name' },
                roleMappings: [{ role: 'Role 001', groups: ['admins'] }],
                domains: [\`c\${i}.example.com\`],
              },
            }),
    });
  });
  // One template, ${SIZE.flows} flows: each pinned to a tenant of its own.
  const flows = Array.from({ length: ${SIZE.flows} }, (_, i) =>
    flow({
      id: \`bench-flow-\${pad(i, 2)}\`,
      template: 'sso-login.json.njk',
      name: \`\${vars.appName} SSO \${i}\`,
      vars: { ssoTenant: \`t-\${pad(i, 5)}\` },
    }),
  );
  return { permissions, roles, tenants, flows };
});
`;
}

export interface BenchProject {
  dir: string;
  /** Variables the CLI needs (management key, OIDC secret). */
  env: Record<string, string>;
}

export async function writeProject(repo: string, emulator: { url: string; projectId: string; managementKey: string }): Promise<BenchProject> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-plan-scale-')));
  await mkdir(path.join(dir, 'environments'));
  await mkdir(path.join(dir, 'node_modules'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'plan-scale', private: true, type: 'module' }));
  await writeFile(path.join(dir, 'descope.config.ts'), configSource());
  await writeFile(
    path.join(dir, 'environments', 'bench.ts'),
    `import { defineEnvironment } from 'descope-run';

export default defineEnvironment({
  projectId: ${JSON.stringify(emulator.projectId)},
  baseUrl: ${JSON.stringify(emulator.url)},
  // The emulator is not throttled here: the bench measures descope-run, not pacing.
  budget: { requests: 100000, windowSeconds: 1 },
  vars: { appName: 'Plan Scale' },
});
`,
  );
  await cp(path.join(repo, 'templates'), path.join(dir, 'templates'), { recursive: true });
  return {
    dir,
    env: { DESCOPE_MANAGEMENT_KEY: emulator.managementKey, [OIDC_SECRET_VARIABLE]: 'bench-oidc-secret' },
  };
}
