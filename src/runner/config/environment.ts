// Environments: environments/<name>.ts says which project an environment is, where its management
// key comes from, and its values. `local` is the embedded emulator and needs no file.
//
// The file is the truth. The standard variables DESCOPE_PROJECT_ID, DESCOPE_BASE_URL and
// DESCOPE_MANAGEMENT_KEY only fill in what the file does not say; one that says something else
// stops every command that would talk to Descope before anything is sent, naming what to unset.
// A shell keeps variables from the last project worked on: a prod key left in DESCOPE_MANAGEMENT_KEY
// must never be sent to staging, and a base URL left in DESCOPE_BASE_URL must never take a
// project's key to another endpoint.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { BASE_URL_EXAMPLE, baseUrlProblem, normalizeBaseUrl, shownBaseUrl } from '../../dsl/base-url.ts';
import type { RequestBudget, Vars } from '../../dsl/types.ts';
import { ConfigValidationError, EnvironmentError } from '../../errors.ts';
import { bundleUserModule, describeThrown, loadTimeoutMs, loadUserModule, type BundledModule } from './bundle.ts';
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
  /** The base URL (normalised: origin and path, no trailing slash); undefined for the SDK's default. */
  baseUrl: string | undefined;
  /** The base URL the environment file itself names (normalised), for the same guard. */
  declaredBaseUrl: string | undefined;
  /** The environment variable the management key is read from (never the key itself). */
  keyVariable: string;
  protected: boolean;
  vars: Vars;
  budget: RequestBudget;
  /** For the emulator: its state file, absolute. */
  emulatorStateFile: string | undefined;
  /** The standard variables that filled in what this environment's file leaves out (shown to the user). */
  fromShell: ('DESCOPE_PROJECT_ID' | 'DESCOPE_BASE_URL')[];
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
  const schemas = import('../../dsl/schema.ts');
  schemas.catch(() => undefined);
  const loaded = await loadUserModule(file, projectRoot, prebundled?.file === file ? prebundled.bundled : undefined, { timeoutMs: loadTimeoutMs(processEnv) });
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
  // The emulator is not a project: the standard variables do not apply to it.
  const shellProjectId = emulator ? undefined : processEnv.DESCOPE_PROJECT_ID || undefined;
  const shellBaseUrl = emulator ? undefined : shellBaseUrlOf(processEnv);
  const declaredBaseUrl = !emulator && spec.baseUrl !== undefined ? normalizeBaseUrl(spec.baseUrl) : undefined;
  return {
    name,
    file: display,
    target: emulator ? 'emulator' : 'remote',
    // The file first; a variable only fills in. A variable that differs is refused by resolveCredentials.
    projectId: emulator ? undefined : spec.projectId ?? shellProjectId,
    declaredProjectId: emulator ? undefined : spec.projectId,
    baseUrl: declaredBaseUrl ?? shellBaseUrl,
    declaredBaseUrl,
    fromShell: [
      ...(spec.projectId === undefined && shellProjectId !== undefined ? (['DESCOPE_PROJECT_ID'] as const) : []),
      ...(declaredBaseUrl === undefined && shellBaseUrl !== undefined ? (['DESCOPE_BASE_URL'] as const) : []),
    ],
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
    declaredBaseUrl: undefined,
    keyVariable: DEFAULT_KEY_VARIABLE,
    protected: false,
    vars: Object.freeze({}),
    budget: EMULATOR_BUDGET,
    emulatorStateFile: path.resolve(projectRoot, DEFAULT_EMULATOR_STATE),
    fromShell: [],
  };
}

/** DESCOPE_BASE_URL, normalised, when set; one that is not an API base URL is refused here, whatever the file says. */
function shellBaseUrlOf(processEnv: NodeJS.ProcessEnv): string | undefined {
  const raw = processEnv.DESCOPE_BASE_URL || undefined;
  if (raw === undefined) return undefined;
  const problem = baseUrlProblem(raw);
  if (problem) {
    throw new EnvironmentError(`DESCOPE_BASE_URL: ${shownBaseUrl(raw)} is not an API base URL: ${problem}`, {
      hint: `set it to an http(s) origin with an optional path, e.g. ${BASE_URL_EXAMPLE}, or unset it; nothing was sent`,
    });
  }
  return normalizeBaseUrl(raw);
}

/**
 * The project id, management key and base URL of a remote environment, after the guards: a
 * standard variable that contradicts the file stops here, before anything is sent. Throws naming
 * the variable to set or unset; never includes a key in a message.
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
  const shellProjectId = processEnv.DESCOPE_PROJECT_ID || undefined;
  if (env.declaredProjectId && shellProjectId !== undefined && shellProjectId !== env.declaredProjectId) {
    throw new EnvironmentError(
      `${where}: environment "${env.name}" is project ${env.declaredProjectId}, but DESCOPE_PROJECT_ID is ${shellProjectId}: the credentials in this shell are for another project`,
      {
        hint: `unset DESCOPE_PROJECT_ID (and the key that goes with it), or pick the environment of project ${shellProjectId}; nothing was sent`,
      },
    );
  }
  // The same guard for the endpoint: the shell's base URL must not take this project's key elsewhere.
  const shellBaseUrl = shellBaseUrlOf(processEnv);
  if (env.declaredBaseUrl !== undefined && shellBaseUrl !== undefined && shellBaseUrl !== env.declaredBaseUrl) {
    throw new EnvironmentError(
      `${where}: environment "${env.name}" talks to ${env.declaredBaseUrl}, but DESCOPE_BASE_URL is ${shellBaseUrl}: a base URL in the shell must not send this project's key to another endpoint`,
      { hint: `unset DESCOPE_BASE_URL (the file's baseUrl is used), or change baseUrl in ${where}; nothing was sent` },
    );
  }
  // And for the key: an environment that names its key variable reads the key from it and nowhere
  // else. DESCOPE_MANAGEMENT_KEY set beside it is a key for some other project until shown otherwise.
  const key = processEnv[env.keyVariable] || undefined;
  const shellKey = env.keyVariable === DEFAULT_KEY_VARIABLE ? undefined : processEnv[DEFAULT_KEY_VARIABLE] || undefined;
  if (shellKey !== undefined && key !== undefined && shellKey !== key) {
    throw new EnvironmentError(
      `${where}: environment "${env.name}" reads its management key from ${env.keyVariable}, but ${DEFAULT_KEY_VARIABLE} is also set, to another key (one of another project?)`,
      { hint: `unset ${DEFAULT_KEY_VARIABLE}; ${env.keyVariable} is used for project ${env.projectId}; nothing was sent` },
    );
  }
  if (shellKey !== undefined && key === undefined) {
    throw new EnvironmentError(
      `${where}: environment "${env.name}" reads its management key from ${env.keyVariable}, which is not set; ${DEFAULT_KEY_VARIABLE} is set but is not used for this environment`,
      {
        hint: `export ${env.keyVariable}=<a management key of project ${env.projectId}>, and unset ${DEFAULT_KEY_VARIABLE} if it is another project's key; nothing was sent`,
      },
    );
  }
  if (key === undefined) {
    throw new EnvironmentError(`${where}: the management key variable ${env.keyVariable} is not set`, {
      hint: `export ${env.keyVariable}=<a management key of project ${env.projectId}>, or use --env local`,
    });
  }
  return { projectId: env.projectId, managementKey: key, baseUrl: env.baseUrl };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
