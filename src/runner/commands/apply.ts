// descope-run apply: compute the plan (or read a saved one and check it is not stale), then the
// shared flow: show it, confirm, back up what will change, carry it out, report, audit.
import type { CommandRun } from '../cli.ts';
import { PlanError, StalePlanError, UsageError } from '../../errors.ts';
import { runApplyFlow } from '../apply-flow.ts';
import { liveFingerprint, openSession, planSession, readLive } from '../live-plan.ts';
import { readPlanFile } from '../plan-file.ts';

export const run: CommandRun = async (ctx) => {
  const { values } = ctx;
  const planFile = typeof values.plan === 'string' ? values.plan : undefined;
  const targets = (values.target as string[] | undefined) ?? [];
  const allowDelete = values['allow-delete'] === true;
  if (planFile && targets.length > 0) {
    throw new UsageError('--plan and --target do not go together: a saved plan is applied whole', {
      hint: 'save a targeted plan with "diff --target ADDRESS --out FILE" instead',
    });
  }
  // Read a saved plan before connecting: a broken file sends nothing.
  const saved = planFile ? readPlanFile(planFile) : undefined;
  let compiled: Awaited<ReturnType<typeof openSession>> | undefined;
  /** The live project's fingerprint when a saved plan was checked (recorded when it is stale). */
  let current: string | undefined;

  return runApplyFlow(ctx, {
    command: 'apply',
    backup: values['no-backup'] !== true,
    open: async (onWait) => (compiled = await openSession(ctx, onWait, 'write')),
    makePlan: async (session, refuse) => {
      if (!saved) return planSession(compiled!, { allowDelete, targets, now: new Date().toISOString() });
      const env = session.env;
      if (saved.environment !== env.name || saved.projectId !== session.connection.projectId) {
        refuse('refused', saved);
        throw new PlanError(
          `${planFile}: the plan is for environment "${saved.environment}" (project ${saved.projectId}), not "${env.name}" (project ${session.connection.projectId})`,
          { hint: `apply it with --env ${saved.environment}, or make a plan for this environment with diff --out` },
        );
      }
      if (saved.allowDelete && saved.summary.delete + saved.summary.replace > 0 && !allowDelete) {
        refuse('refused', saved);
        throw new PlanError(`${planFile}: the plan deletes live resources; apply it with --allow-delete`, {
          hint: 'review its deletes with "descope-run diff", then add --allow-delete',
        });
      }
      const live = await readLive(session, saved.scope);
      current = liveFingerprint(live);
      if (current !== saved.liveFingerprint) {
        refuse('stale', saved);
        throw new StalePlanError(`${planFile}: the live project changed since the plan was made (${saved.createdAt}); nothing was applied`, {
          hint: `a plan applies once, to the project as it was; run "descope-run diff --env ${env.name} --out ${planFile}" again, review it, and apply the new plan`,
        });
      }
      return { plan: saved, live };
    },
    audit: () => (current ? { liveFingerprint: current } : {}),
  });
};
