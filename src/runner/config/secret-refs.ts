// Secret references (`{ env: NAME }`, today the OIDC client secret) must never name a variable that
// holds descope-run's own credentials: apply reads the variable and sends its value to Descope as
// the tenant's client secret, where every admin of the project, and the identity provider it is
// sent to at each login, can use it. A management key of this project (or of another: prod's key
// named in a staging config) would leave the machine as an SSO secret.
//
// Two checks, by name when the config is checked (validate, diff and apply all compile it), and by
// value before the first write (an alias: ACME_SECRET=$DESCOPE_PROD_MANAGEMENT_KEY).
import type { Issue } from '../../errors.ts';
import type { ProjectSpec } from './check-config.ts';
import { DEFAULT_KEY_VARIABLE, type ResolvedEnvironment } from './environment.ts';
import { formatPathTail } from './zod-issues.ts';

/**
 * Names that hold a management key by descope-run's own convention (DESCOPE_PROD_MANAGEMENT_KEY,
 * as README and the import command name them). The key variables of the other environments are
 * only known by loading their files (running their code), which a check of this environment must
 * not depend on; the convention covers them by name and the value check covers the rest.
 */
const KEY_NAME = /(^|_)MANAGEMENT_KEY$/;

/** Why `name` may not be a secret reference in `env`, or undefined when it may. */
export function credentialVariable(name: string, env: Pick<ResolvedEnvironment, 'name' | 'keyVariable'>): string | undefined {
  if (name === env.keyVariable) return `the variable environment "${env.name}" reads its management key from`;
  if (name === DEFAULT_KEY_VARIABLE) return 'the variable descope-run reads the management key from';
  if (KEY_NAME.test(name)) return 'a variable that by its name holds a Descope management key';
  return undefined;
}

/** Every secret reference of the config that names a credential variable, as validation issues. */
export function checkSecretReferences(spec: ProjectSpec, env: Pick<ResolvedEnvironment, 'name' | 'keyVariable'>): Issue[] {
  const issues: Issue[] = [];
  for (const t of spec.tenants) {
    const sso = t.spec.sso;
    if (sso?.type !== 'oidc' || !sso.clientSecret) continue;
    const name = sso.clientSecret.env;
    const why = credentialVariable(name, env);
    if (!why) continue;
    issues.push({
      file: t.source.label,
      path: t.address + formatPathTail(['sso', 'clientSecret', 'env']),
      message: `names ${name}, ${why}: apply would send that key to Descope as this tenant's OIDC client secret`,
      hint: `give the client secret a variable of its own, e.g. { env: ${JSON.stringify(suggestedName(t.spec.id))} }`,
    });
  }
  return issues;
}

function suggestedName(tenantId: string): string {
  const stem = tenantId.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `${/^[A-Z_]/.test(stem) ? stem : `TENANT_${stem}`}_OIDC_CLIENT_SECRET`;
}

/**
 * The secrets a plan's writes read whose value is a management key set in this shell (under any
 * of the names above): the first, or undefined. Compared by value, never printed.
 */
export function secretHoldingKey(
  secrets: readonly { address: string; env: string }[],
  env: Pick<ResolvedEnvironment, 'name' | 'keyVariable'>,
  processEnv: NodeJS.ProcessEnv,
): { address: string; env: string; holder: string } | undefined {
  const keys = new Map<string, string>();
  for (const [name, value] of Object.entries(processEnv)) {
    if (value && credentialVariable(name, env) !== undefined && !keys.has(value)) keys.set(value, name);
  }
  for (const secret of secrets) {
    const value = processEnv[secret.env];
    const holder = value ? keys.get(value) : undefined;
    if (holder !== undefined) return { ...secret, holder };
  }
  return undefined;
}
