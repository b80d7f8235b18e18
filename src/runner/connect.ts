// Opens the API of an environment: a Descope project through its credentials, or, for an emulator
// environment such as `local`, an emulator started in this process on a free loopback port with
// its state in .descope/local/state.json. Zero setup for `--env local`.
import type { DescopeApi, WaitEvent } from '../runtime/index.ts';
import { resolveCredentials, type ResolvedEnvironment } from './environment.ts';

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
}

export async function connect(env: ResolvedEnvironment, options: ConnectOptions = {}): Promise<Connection> {
  const { createDescopeApi } = await import('../runtime/index.ts');
  const onWait = options.onWait ? { onWait: options.onWait } : {};
  if (env.target === 'remote') {
    const credentials = resolveCredentials(env, options.processEnv);
    const api = createDescopeApi({ ...credentials, budget: env.budget, ...onWait });
    return { api, projectId: credentials.projectId, description: `project ${credentials.projectId}`, close: async () => api.close() };
  }
  const { startEmulator } = await import('../emulator/index.ts');
  const emulator = await startEmulator({ port: 0, ...(env.emulatorStateFile ? { stateFile: env.emulatorStateFile } : {}) });
  const api = createDescopeApi({
    projectId: emulator.projectId,
    managementKey: emulator.managementKey,
    baseUrl: emulator.url,
    budget: env.budget,
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
      api.close();
      await emulator.close();
    },
  };
}
