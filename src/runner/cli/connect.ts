// Opens the API of an environment: a Descope project through its credentials, or, for an emulator
// environment such as `local`, an emulator started in this process on a free loopback port with
// its state in .descope/local/state.json. Zero setup for `--env local`.
//
// Read-only unless asked: a connection may write only when the command says it will (apply and
// rollback pass `access: 'write'`). Every other command's API refuses any request that is not a
// read before it is sent (src/runtime/read-only.ts), whatever its base URL or code path.
import type { DescopeApi, WaitEvent } from '../../runtime/index.ts';
import { EnvironmentError } from '../../errors.ts';
import { resolveCredentials, type ResolvedEnvironment } from '../config/environment.ts';

export interface Connection {
  api: DescopeApi;
  /** The project the API talks to (the emulator's own id for an emulator environment). */
  projectId: string;
  /** For messages: `project P2…` or `the embedded emulator (.descope/local/state.json)`. */
  description: string;
  /** Stops the scheduler and, for the emulator, the server (its state is saved on every write). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  processEnv?: NodeJS.ProcessEnv;
  onWait?: (event: WaitEvent) => void;
  /** The project root, to show the emulator's state file relative to it. */
  root?: string;
  /** `read` (the default): only read endpoints may be called; `write`: apply and rollback. */
  access?: 'read' | 'write';
}

export async function connect(env: ResolvedEnvironment, options: ConnectOptions = {}): Promise<Connection> {
  const { createDescopeApi } = await import('../../runtime/index.ts');
  const onWait = options.onWait ? { onWait: options.onWait } : {};
  const readOnly = (options.access ?? 'read') === 'read';
  if (env.target === 'remote') {
    const credentials = resolveCredentials(env, options.processEnv);
    const api = createDescopeApi({
      ...credentials,
      readOnly,
      budget: env.budget,
      // The key is read from the environment's key variable only (resolveCredentials), so messages name it.
      environment: { name: env.name, keyVariable: env.keyVariable },
      processEnv: options.processEnv ?? process.env,
      ...onWait,
    });
    return { api, projectId: credentials.projectId, description: `project ${credentials.projectId}`, close: () => api.close() };
  }
  const { startEmulator, EmulatorStateError } = await import('../../emulator/index.ts');
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({ port: 0, ...(env.emulatorStateFile ? { stateFile: env.emulatorStateFile } : {}) });
  } catch (error) {
    // The emulator imports nothing from descope-run, so its errors are plain: name the file here.
    if (!(error instanceof EmulatorStateError)) throw error;
    const path = await import('node:path');
    const relative = options.root ? path.relative(options.root, error.file) : '';
    const shown = relative && !relative.startsWith('..') ? relative : error.file;
    // The message is a line, then (for a bad shape) zod's list: `✖ problem` / `  → at path` pairs.
    const [first = '', ...details] = error.message.slice(error.file.length + 2).split('\n');
    const problems: string[] = [];
    for (const line of details) {
      const at = /^\s*→ at (.+)$/.exec(line);
      if (at && problems.length > 0) problems[problems.length - 1] = `${at[1]}: ${problems[problems.length - 1]}`;
      else if (line.startsWith('✖ ')) problems.push(line.slice(2));
    }
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new EnvironmentError(`${shown}: ${first.replace(/:$/, '')}${problems.length > 0 ? `: ${problems[0]}${more}` : ''}`, {
      hint: `the embedded emulator of environment "${env.name}" keeps its state there${env.file ? ` (emulator.stateFile in ${env.file})` : ''}; fix the file, delete it to start from an empty project, or point stateFile elsewhere`,
      cause: error,
    });
  }
  const api = createDescopeApi({
    projectId: emulator.projectId,
    managementKey: emulator.managementKey,
    baseUrl: emulator.url,
    readOnly,
    budget: env.budget,
    environment: { name: env.name },
    processEnv: options.processEnv ?? process.env,
    ...onWait,
  });
  const state = env.emulatorStateFile
    ? (options.root ? (await import('node:path')).relative(options.root, env.emulatorStateFile) : env.emulatorStateFile)
    : 'in memory';
  return {
    api,
    projectId: emulator.projectId,
    description: `the embedded emulator (${state})`,
    close: async () => {
      await api.close();
      await emulator.close();
    },
  };
}
