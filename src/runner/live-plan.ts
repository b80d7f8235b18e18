// The wiring diff and apply share: compile the config for the environment, pass the
// wrong-environment guard, connect, read what the config manages, compute the plan. Only the
// reading is I/O; the rest are the pure functions of ./plan.
import type { CommandContext } from './cli.ts';
import { compileProject, type CompiledProject } from './compile.ts';
import { connect, type Connection } from './connect.ts';
import { resolveCredentials } from './environment.ts';
import { computeDesiredProject, computeScope } from './plan/desired.ts';
import { computePlan } from './plan/compute.ts';
import type { Plan } from './plan/types.ts';
import type { LiveScope, LiveSnapshot, WaitEvent } from '../runtime/index.ts';
import { readLiveState, fingerprint } from '../runtime/index.ts';

export interface Session {
  project: CompiledProject;
  connection: Connection;
  close(): Promise<void>;
}

export async function openSession(ctx: CommandContext, onWait?: (event: WaitEvent) => void): Promise<Session> {
  const { cwd, processEnv, values } = ctx;
  const project = await compileProject({
    cwd,
    processEnv,
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
    ...(typeof values.env === 'string' ? { env: values.env } : {}),
  });
  // Before any call: credentials exist and are for this environment's project.
  if (project.env.target === 'remote') resolveCredentials(project.env, processEnv);
  const connection = await connect(project.env, { processEnv, root: project.root, ...(onWait ? { onWait } : {}) });
  return { project, connection, close: () => connection.close() };
}

export function liveFingerprint(live: LiveSnapshot): string {
  return fingerprint({ state: live.state, handles: live.handles });
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

export async function planSession(session: Session, request: PlanRequest): Promise<{ plan: Plan; live: LiveSnapshot }> {
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
