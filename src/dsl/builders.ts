// The builders users call in descope.config.ts. Each returns plain, deeply frozen data tagged with
// a `kind`; none validates: the runner checks the whole config at once with zod, so that every
// problem is reported together with its config path.
import type {
  ConfigContext,
  ConfigDefinition,
  ConfigFactory,
  ConfigInput,
  ConfigSpec,
  EnvironmentInput,
  EnvironmentSpec,
  FlowInput,
  FlowSpec,
  ModuleInstance,
  ModuleParts,
  PasswordPolicyInput,
  PasswordPolicySpec,
  PermissionInput,
  PermissionSpec,
  RoleInput,
  RoleSpec,
  TenantInput,
  TenantSpec,
  ThemeInput,
  ThemeSpec,
  Vars,
} from './types.ts';

/** Freezes every object reachable from `value`. A loop, not recursion: a value nested 100,000 deep reaches the checks, which say so. */
function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (item !== null && typeof item === 'object' && !Object.isFrozen(item)) {
      Object.freeze(item);
      for (const child of Object.values(item)) pending.push(child);
    }
  }
  return value;
}

function tagged<K extends string, T extends object>(kind: K, input: T): T & { readonly kind: K } {
  return deepFreeze({ ...input, kind });
}

export function tenant(input: TenantInput): TenantSpec {
  return tagged('tenant', input);
}

export function role(input: RoleInput): RoleSpec {
  return tagged('role', input);
}

export function permission(input: PermissionInput): PermissionSpec {
  return tagged('permission', input);
}

export function flow(input: FlowInput): FlowSpec {
  return tagged('flow', input) as FlowSpec;
}

export function theme(input: ThemeInput): ThemeSpec {
  return tagged('theme', input) as ThemeSpec;
}

export function passwordPolicy(input: PasswordPolicyInput): PasswordPolicySpec {
  return tagged('passwordPolicy', input);
}

/**
 * Keys of R that ConfigInput does not have become `never`: a function's returned object literal
 * escapes TypeScript's excess-property check, so a misspelled top-level key (`tenant:`) is caught
 * this way instead.
 */
type NoExtraKeys<R> = R & { readonly [K in Exclude<keyof R, keyof ConfigInput>]: never };

/**
 * The default export of descope.config.ts: an object, or a function of `{ env, vars }` (the
 * environment's name and values) that returns one.
 */
export function defineConfig<V extends Vars = Vars, R extends ConfigInput = ConfigInput>(
  config: ConfigInput | ((context: ConfigContext<V>) => NoExtraKeys<R>),
): ConfigDefinition {
  if (typeof config === 'function') {
    return Object.freeze({ kind: 'config-factory', factory: config as ConfigFactory });
  }
  return tagged('config', config) as ConfigSpec;
}

/** The default export of environments/<name>.ts. */
export function defineEnvironment(input: EnvironmentInput): EnvironmentSpec {
  return tagged('environment', input);
}

export interface ModuleDefinition<P> {
  /** A short name, used in messages about the resources it declares. */
  readonly name: string;
  /**
   * The module's own templates folder, for flows it declares with `template:`. Pass
   * `new URL('./templates/', import.meta.url)` so it resolves wherever the module is installed.
   */
  readonly templatesDir?: URL | string;
  readonly build: (params: P) => ModuleParts;
}

/**
 * A reusable piece of config: a function of its parameters that returns tenants, roles,
 * permissions and flows. Use it in `modules: [billing({ tenant: 'acme' })]`.
 */
export function defineModule<P = void>(definition: ModuleDefinition<P>): (params: P) => ModuleInstance {
  const templatesDir =
    definition.templatesDir === undefined
      ? undefined
      : definition.templatesDir instanceof URL
        ? definition.templatesDir.href
        : String(definition.templatesDir);
  return (params: P) => {
    const parts = definition.build(params);
    return deepFreeze({
      ...(parts ?? {}),
      kind: 'module' as const,
      name: definition.name,
      ...(templatesDir === undefined ? {} : { templatesDir }),
      params: params === undefined ? null : params,
    });
  };
}
