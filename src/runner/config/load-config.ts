// The config compiler: find descope.config.ts, bundle and import it, evaluate it with the
// environment, and check it. Template rendering comes after (render-project.ts).
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigLoadError, DescopeRunError, isDescopeRunError } from '../../errors.ts';
import type { Issue } from '../../errors.ts';
import { bundleUserModule, describeThrown, loadTimeoutMs, loadUserModule, runUserCode, stuckError, UserCodeStuck } from './bundle.ts';
import type { ProjectSpec } from './check-config.ts';
import { loadEnvironment, prebundleEnvironment, selectEnvironmentName, type ResolvedEnvironment } from './environment.ts';

export const CONFIG_NAMES = ['descope.config.ts', 'descope.config.mts', 'descope.config.js', 'descope.config.mjs'];

/** The config file: `--config PATH`, or the nearest descope.config.ts from `cwd` upwards. */
/**
 * The project's root: the config file's folder, or, without a config file (and without
 * --config), the working folder. For commands that work without a config (audit, backup, show,
 * rollback, import).
 */
export function findProjectRoot(cwd: string, config: string | undefined): string {
  try {
    return path.dirname(findConfigFile(cwd, config));
  } catch (error) {
    if (config === undefined && error instanceof DescopeRunError && error.code === 'config_not_found') return cwd;
    throw error;
  }
}

export function findConfigFile(cwd: string, flag?: string): string {
  if (flag !== undefined) {
    const file = path.resolve(cwd, flag);
    if (!existsSync(file)) {
      throw new DescopeRunError('config_not_found', `${flag}: no such config file`, { hint: 'check the --config path' });
    }
    if (!statSync(file).isFile()) {
      throw new DescopeRunError('config_not_found', `${flag}: is a folder, not a config file`, {
        hint: `pass the file: --config ${path.join(flag, 'descope.config.ts')}`,
      });
    }
    // The real path: stack traces name real paths, and errors must point into the user's file.
    return realpathSync(file);
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file)) return realpathSync(file);
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new DescopeRunError('config_not_found', `no descope.config.ts in ${cwd} or any folder above it`, {
    hint: 'run descope-run from your project folder, pass --config PATH, or create descope.config.ts (see README)',
  });
}

export interface LoadOptions {
  cwd: string;
  config?: string;
  env?: string;
  processEnv?: NodeJS.ProcessEnv;
}

export interface LoadedProject {
  /** The folder of the config file; environments/ and templates/ live here. */
  root: string;
  /** The config file, relative to root. */
  configFile: string;
  env: ResolvedEnvironment;
  spec: ProjectSpec | undefined;
  /** Every problem found so far (schema, duplicates, references). */
  issues: Issue[];
}

function kindOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string'
    ? (value as { kind: string }).kind
    : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (undefined)';
  if (Array.isArray(value)) return 'an array';
  const kind = kindOf(value);
  if (kind) return `a ${kind}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export async function loadProject(options: LoadOptions): Promise<LoadedProject> {
  const processEnv = options.processEnv ?? process.env;
  const file = findConfigFile(options.cwd, options.config);
  const root = path.dirname(file);
  const configFile = path.basename(file);
  const envName = selectEnvironmentName(options.env, processEnv);
  // esbuild bundles the environment file and the config at once, in its own process, while this
  // one loads the checker (zod); nothing of the user's runs before the environment is loaded.
  const envBundle = prebundleEnvironment(root, envName);
  const configBundle = bundleUserModule(file, root);
  configBundle.catch(() => undefined);
  const checker = Promise.all([import('./check-config.ts'), import('./secret-refs.ts')]);
  checker.catch(() => undefined);
  const env = await loadEnvironment(root, envName, processEnv, envBundle);

  const loaded = await loadUserModule(file, root, configBundle, { timeoutMs: loadTimeoutMs(processEnv) });
  const [{ checkConfig }, { checkSecretReferences }] = await checker;
  try {
    const value = await evaluate(loaded.exports.default, { file: configFile, env, locate: loaded.locate, timeoutMs: loadTimeoutMs(processEnv) });
    const { spec, issues } = checkConfig({ value, configFile, projectRoot: root });
    // Which variables hold credentials depends on the environment: checked here, where it is known.
    if (spec) issues.push(...checkSecretReferences(spec, env));
    return { root, configFile, env, spec, issues };
  } catch (error) {
    // Reading the value runs the user's code too: a getter, a Proxy trap.
    if (isDescopeRunError(error)) throw error;
    const where = loaded.locate(error) ?? configFile;
    throw new ConfigLoadError(`${where}: reading the config's value threw: ${describeThrown(error)}`, {
      hint: `the config must be plain data: fix the code at ${where} (a getter or a Proxy that throws?)`,
      cause: error,
    });
  }
}

async function evaluate(
  exported: unknown,
  context: { file: string; env: ResolvedEnvironment; locate: (error: unknown) => string | undefined; timeoutMs: number },
): Promise<unknown> {
  const { file, env, locate, timeoutMs } = context;
  if (exported === undefined) {
    throw new ConfigLoadError(`${file}: has no default export`, {
      hint: 'end the file with `export default defineConfig({ ... })`',
    });
  }
  const kind = kindOf(exported);
  let factory: ((ctx: { env: string; vars: unknown }) => unknown) | undefined;
  if (kind === 'config-factory') factory = (exported as { factory: typeof factory & object }).factory;
  else if (typeof exported === 'function') factory = exported as typeof factory & object;

  let value: unknown = exported;
  if (factory) {
    try {
      value = await runUserCode(() => factory({ env: env.name, vars: env.vars }), { timeoutMs });
    } catch (error) {
      if (error instanceof UserCodeStuck) throw stuckError(error, file, `the config for environment "${env.name}"`);
      const where = locate(error) ?? file;
      throw new ConfigLoadError(`${where}: the config threw for environment "${env.name}": ${describeThrown(error)}`, {
        hint: `fix the code at ${where}`,
        cause: error,
      });
    }
  }
  const valueKind = kindOf(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && valueKind === undefined) {
    value = { ...value, kind: 'config' };
  } else if (valueKind !== 'config') {
    throw new ConfigLoadError(`${file}: the default export must be a config, got ${describe(value)}`, {
      hint: 'export default defineConfig({ tenants: [...], roles: [...], ... }) or defineConfig(({ env, vars }) => ({ ... }))',
    });
  }
  return value;
}
