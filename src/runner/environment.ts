// Environments: environments/<name>.ts says which project an environment is, where its management
// key comes from, and its values. The standard variables DESCOPE_PROJECT_ID, DESCOPE_MANAGEMENT_KEY
// and DESCOPE_BASE_URL override the file. `local` is the embedded emulator and needs no file.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RequestBudget, Vars } from '../dsl/types.ts';
import { ConfigValidationError, EnvironmentError } from '../errors.ts';
import { bundleUserModule, describeThrown, loadUserModule, type BundledModule } from './bundle.ts';
import { zodIssues } from './zod-issues.ts';

export const DEFAULT_BUDGET: RequestBudget = Object.freeze({ requests: 100, windowSeconds: 60 });
/** The embedded emulator has no rate limit; this only keeps a runaway loop in check. */
export const EMULATOR_BUDGET: RequestBudget = Object.freeze({ requests: 1000, windowSeconds: 1 });
export const DEFAULT_KEY_VARIABLE = 'DESCOPE_MANAGEMENT_KEY';
export const LOCAL_ENVIRONMENT = 'local';
export const DEFAULT_EMULATOR_STATE = '.descope/local/state.json';

/** What an environment name may be (it becomes a file name under environments/ and .descope/). */
export const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ENV_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

export interface ResolvedEnvironment {
  name: string;
  /** The environment file, relative to the project root; undefined for the built-in `local`. */
  file: string | undefined;
  /** `emulator`: the embedded emulator; `remote`: a Descope project reached over HTTPS. */
  target: 'emulator' | 'remote';
  projectId: string | undefined;
  /** The project id the environment file itself names (before DESCOPE_PROJECT_ID), for the wrong-environment guard. */
  declaredProjectId: string | undefined;
  baseUrl: string | undefined;
  /** The environment variable the management key is read from (never the key itself). */
  keyVariable: string;
  protected: boolean;
  vars: Vars;
  budget: RequestBudget;
  /** For the emulator: its state file, absolute. */
  emulatorStateFile: string | undefined;
  /** The standard variables that override this environment's file (shown to the user). */
  overridden: ('DESCOPE_PROJECT_ID' | 'DESCOPE_BASE_URL' | 'DESCOPE_MANAGEMENT_KEY')[];
}

export interface Credentials {
  projectId: string;
  managementKey: string;
  baseUrl: string | undefined;
}

/** The environment names that have a file, plus `local`. */
export function listEnvironments(projectRoot: string): string[] {
  const dir = path.join(projectRoot, 'environments');
  const names = new Set<string>([LOCAL_ENVIRONMENT]);
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir)) {
      const ext = ENV_EXTENSIONS.find((e) => entry.endsWith(e) && !entry.endsWith(`.d${e}`));
      if (ext) names.add(entry.slice(0, -ext.length));
    }
  }
  return [...names].sort();
}

function findEnvironmentFile(projectRoot: string, name: string): string | undefined {
  for (const ext of ENV_EXTENSIONS) {
    const file = path.join(projectRoot, 'environments', `${name}${ext}`);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Picks the environment name: --env, then DESCOPE_ENV, then `local`. */
export function selectEnvironmentName(flag: string | undefined, processEnv: NodeJS.ProcessEnv): string {
  return flag ?? (processEnv.DESCOPE_ENV || undefined) ?? LOCAL_ENVIRONMENT;
}

/** An environment file whose bundling has started (see prebundleEnvironment). */
export interface PrebundledEnvironment {
  file: string;
  bundled: Promise<BundledModule>;
}

/**
 * Starts bundling the environment file of `name`, if it has one, so that esbuild works while the
 * caller loads other modules; loadEnvironment takes the result. Never rejects by itself: a failed
 * bundle is reported when loadEnvironment awaits it.
 */
export function prebundleEnvironment(projectRoot: string, name: string): PrebundledEnvironment | undefined {
  const file = ENV_NAME.test(name) ? findEnvironmentFile(projectRoot, name) : undefined;
  if (!file) return undefined;
  const bundled = bundleUserModule(file, projectRoot);
  bundled.catch(() => undefined);
  return { file, bundled };
}

export async function loadEnvironment(
  projectRoot: string,
  name: string,
  processEnv: NodeJS.ProcessEnv = process.env,
  prebundled?: PrebundledEnvironment,
): Promise<ResolvedEnvironment> {
  if (!ENV_NAME.test(name)) {
    throw new EnvironmentError(`environment "${name}": not a valid environment name`, {
      hint: 'use letters, digits, "-" and "_", e.g. --env staging',
    });
  }
  const file = findEnvironmentFile(projectRoot, name);
  if (!file) {
    if (name === LOCAL_ENVIRONMENT) return localDefault(projectRoot);
    const known = listEnvironments(projectRoot).join(', ');
    throw new EnvironmentError(`environment "${name}": there is no environments/${name}.ts`, {
      hint: `known environments: ${known}; create environments/${name}.ts with defineEnvironment({...})`,
    });
  }
  const display = path.relative(projectRoot, file);
  // zod is loaded only now: its module and schemas take tens of milliseconds to set up, which
  // validate spends while esbuild bundles.
  const schemas = import('../dsl/schema.ts');
  schemas.catch(() => undefined);
  const loaded = await loadUserModule(file, projectRoot, prebundled?.file === file ? prebundled.bundled : undefined);
  const { environmentSchema } = await schemas;
  const value = loaded.exports.default;
  if (value === undefined) {
    throw new EnvironmentError(`${display}: has no default export`, {
      hint: 'write `export default defineEnvironment({ projectId: ..., ... })`',
    });
  }
  if (typeof value === 'function') {
    throw new EnvironmentError(`${display}: the default export is a function; an environment is a value`, {
      hint: 'write `export default defineEnvironment({ projectId: ..., ... })`',
    });
  }
  let parsed;
  try {
    parsed = environmentSchema.safeParse(isPlainObject(value) && !('kind' in value) ? { ...value, kind: 'environment' } : value, {
      reportInput: true,
    });
  } catch (error) {
    // Reading the value runs the user's code: a getter, a Proxy trap.
    const where = loaded.locate(error) ?? display;
    throw new EnvironmentError(`${where}: reading the environment's value threw: ${describeThrown(error)}`, {
      hint: `an environment must be plain data: fix the code at ${where} (a getter or a Proxy that throws?)`,
      cause: error,
    });
  }
  if (!parsed.success) throw new ConfigValidationError(zodIssues(parsed.error, { file: display, root: 'environment' }));
  const spec = parsed.data;
  // `local` is the emulator unless its file points it at a project.
  const emulator =
    spec.emulator !== undefined || (name === LOCAL_ENVIRONMENT && spec.projectId === undefined && spec.baseUrl === undefined);
  if (emulator && (spec.projectId !== undefined || spec.baseUrl !== undefined || spec.managementKey !== undefined)) {
    throw new EnvironmentError(`${display}: an emulator environment takes no projectId, baseUrl or managementKey`, {
      hint: 'remove them, or remove `emulator` to point this environment at a Descope project',
    });
  }
  const stateFile = typeof spec.emulator === 'object' ? spec.emulator.stateFile : undefined;
  const baseUrlOverride = processEnv.DESCOPE_BASE_URL || undefined;
  if (!emulator && baseUrlOverride !== undefined && !URL.canParse(baseUrlOverride)) {
    throw new EnvironmentError(`DESCOPE_BASE_URL: "${baseUrlOverride}" is not a URL`, {
      hint: 'set it to the API base URL, e.g. https://api.descope.com, or unset it',
    });
  }
  return {
    name,
    file: display,
    target: emulator ? 'emulator' : 'remote',
    // The standard variables override the file, except for the emulator, which is not a project.
    projectId: emulator ? undefined : processEnv.DESCOPE_PROJECT_ID || spec.projectId,
    declaredProjectId: emulator ? undefined : spec.projectId,
    baseUrl: emulator ? undefined : baseUrlOverride ?? spec.baseUrl,
    overridden: emulator
      ? []
      : (['DESCOPE_PROJECT_ID', 'DESCOPE_BASE_URL', 'DESCOPE_MANAGEMENT_KEY'] as const).filter((v) => !!processEnv[v]),
    keyVariable: spec.managementKey?.env ?? DEFAULT_KEY_VARIABLE,
    protected: spec.protected ?? false,
    vars: Object.freeze({ ...(spec.vars ?? {}) }),
    budget: spec.budget ?? (emulator ? EMULATOR_BUDGET : DEFAULT_BUDGET),
    emulatorStateFile: emulator ? path.resolve(projectRoot, stateFile ?? DEFAULT_EMULATOR_STATE) : undefined,
  };
}

function localDefault(projectRoot: string): ResolvedEnvironment {
  return {
    name: LOCAL_ENVIRONMENT,
    file: undefined,
    target: 'emulator',
    projectId: undefined,
    declaredProjectId: undefined,
    baseUrl: undefined,
    keyVariable: DEFAULT_KEY_VARIABLE,
    protected: false,
    vars: Object.freeze({}),
    budget: EMULATOR_BUDGET,
    emulatorStateFile: path.resolve(projectRoot, DEFAULT_EMULATOR_STATE),
    overridden: [],
  };
}

/**
 * The project id and management key of a remote environment. Throws naming the variable to set;
 * never includes the key in a message.
 */
export function resolveCredentials(env: ResolvedEnvironment, processEnv: NodeJS.ProcessEnv = process.env): Credentials {
  if (env.target === 'emulator') {
    throw new EnvironmentError(`environment "${env.name}": is the embedded emulator and has no credentials`);
  }
  const where = env.file ?? `environment "${env.name}"`;
  if (!env.projectId) {
    throw new EnvironmentError(`${where}: no project id for environment "${env.name}"`, {
      hint: 'set projectId in the environment file, or the DESCOPE_PROJECT_ID variable',
    });
  }
  // The wrong-environment guard: credentials for one project must never be used on another's
  // environment. The file says which project this environment is; DESCOPE_PROJECT_ID says which
  // project the credentials in the shell are for.
  if (env.declaredProjectId && env.projectId !== env.declaredProjectId) {
    throw new EnvironmentError(
      `${where}: environment "${env.name}" is project ${env.declaredProjectId}, but DESCOPE_PROJECT_ID is ${env.projectId}: the credentials in this shell are for another project`,
      {
        hint: `unset DESCOPE_PROJECT_ID (and the key that goes with it), or pick the environment of project ${env.projectId}; nothing was sent`,
      },
    );
  }
  const key = processEnv.DESCOPE_MANAGEMENT_KEY || processEnv[env.keyVariable];
  if (!key) {
    throw new EnvironmentError(`${where}: the management key variable ${env.keyVariable} is not set`, {
      hint: `export ${env.keyVariable}=<a management key of project ${env.projectId}> (or DESCOPE_MANAGEMENT_KEY), or use --env local`,
    });
  }
  return { projectId: env.projectId, managementKey: key, baseUrl: env.baseUrl };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
