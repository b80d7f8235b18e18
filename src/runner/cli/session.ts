// The wiring diff and apply share: compile the config for the environment, pass the
// wrong-environment guard, connect, read what the config manages, compute the plan. Only the
// reading is I/O; the rest are the pure functions of ./plan.
import type { CommandContext } from './cli.ts';
import { compileProject, type CompiledProject } from '../config/compile.ts';
import { connect, type Connection } from './connect.ts';
import { loadEnvironment, resolveCredentials, selectEnvironmentName, type ResolvedEnvironment } from '../config/environment.ts';
import { findProjectRoot } from '../config/load-config.ts';
import { computeDesiredProject, computeScope } from '../plan/desired.ts';
import { computePlan } from '../plan/compute.ts';
import type { Plan } from '../plan/types.ts';
import type { LiveScope, LiveSnapshot, WaitEvent } from '../../runtime/index.ts';
import { readLiveState } from '../../runtime/index.ts';

export interface Session {
  root: string;
  env: ResolvedEnvironment;
  /** The compiled config; absent for commands that work without one (rollback). */
  project?: CompiledProject;
  connection: Connection;
  close(): Promise<void>;
}

/** `read` (the default): the connection refuses anything but reads; apply and rollback open theirs with `write`. */
export type Access = 'read' | 'write';

export async function openSession(
  ctx: CommandContext,
  onWait?: (event: WaitEvent) => void,
  access: Access = 'read',
): Promise<Session & { project: CompiledProject }> {
  const { cwd, processEnv, values } = ctx;
  const project = await compileProject({
    cwd,
    processEnv,
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
    ...(typeof values.env === 'string' ? { env: values.env } : {}),
  });
  const connection = await connectChecked(project.env, project.root, processEnv, onWait, access);
  return { root: project.root, env: project.env, project, connection, close: () => connection.close() };
}

/**
 * A session without compiling the config (rollback restores a backup even when the config is
 * broken): the root is the config's folder when there is one, else the working folder.
 */
export async function openEnvironmentSession(ctx: CommandContext, onWait?: (event: WaitEvent) => void, access: Access = 'read'): Promise<Session> {
  const { cwd, processEnv, values } = ctx;
  const root = findProjectRoot(cwd, typeof values.config === 'string' ? values.config : undefined);
  const env = await loadEnvironment(root, selectEnvironmentName(typeof values.env === 'string' ? values.env : undefined, processEnv), processEnv);
  const connection = await connectChecked(env, root, processEnv, onWait, access);
  return { root, env, connection, close: () => connection.close() };
}

async function connectChecked(
  env: ResolvedEnvironment,
  root: string,
  processEnv: NodeJS.ProcessEnv,
  onWait: ((event: WaitEvent) => void) | undefined,
  access: Access,
): Promise<Connection> {
  // Before any call: credentials exist and are for this environment's project.
  if (env.target === 'remote') resolveCredentials(env, processEnv);
  return connect(env, { processEnv, root, access, ...(onWait ? { onWait } : {}) });
}

export async function readLive(session: Session, scope: LiveScope): Promise<LiveSnapshot> {
  return readLiveState(session.connection.api, scope);
}

export interface PlanRequest {
  allowDelete: boolean;
  targets: string[];
  /** ISO time to stamp the plan with. */
  now: string;
}

export async function planSession(
  session: Session & { project: CompiledProject },
  request: PlanRequest,
): Promise<{ plan: Plan; live: LiveSnapshot }> {
  const { project, connection } = session;
  const desired = computeDesiredProject(project.spec, project.rendered);
  const scope = computeScope(desired);
  const live = await readLive(session, scope);
  const plan = computePlan(desired, live, {
    allowDelete: request.allowDelete,
    targets: request.targets,
    environment: project.env.name,
    projectId: connection.projectId,
    createdAt: request.now,
    scope,
  });
  return { plan, live };
}
