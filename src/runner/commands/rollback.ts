// descope-run rollback: a backup becomes the desired state; the plan (deleting what was created
// after it included) goes through the same flow as apply; then the live project is read again and
// compared with the backup, and the verification is printed. Works without a valid config.
import type { CommandRun } from '../cli.ts';
import { runApplyFlow } from '../apply-flow.ts';
import { describeState, findBackup, readDefaultBackup, type Backup } from '../backup.ts';
import { openEnvironmentSession, readLive, type Session } from '../live-plan.ts';
import { computePlan } from '../plan/compute.ts';
import { computeDesiredFromBackup, computeScope, type DesiredProject } from '../plan/desired.ts';
import { formatChange } from '../plan/format.ts';
import type { Plan } from '../plan/types.ts';

/** The backup rollback restores without --to (backup.ts chooses it, as `backup --keep` does when it keeps it). */
function defaultBackup(session: Session): Backup {
  return readDefaultBackup(session.root, { environment: session.env.name, projectId: session.connection.projectId });
}

export const run: CommandRun = async (ctx) => {
  const { values, output } = ctx;
  const only = (values.only as string[] | undefined) ?? [];
  let backup: Backup | undefined;
  let desired: DesiredProject | undefined;

  const planAgainst = async (session: Session): Promise<{ plan: Plan; live: Awaited<ReturnType<typeof readLive>> }> => {
    const scope = computeScope(desired!);
    const live = await readLive(session, scope);
    const plan = computePlan(desired!, live, {
      allowDelete: true,
      targets: only,
      environment: session.env.name,
      projectId: session.connection.projectId,
      createdAt: new Date().toISOString(),
      scope,
    });
    return { plan, live };
  };

  return runApplyFlow(ctx, {
    command: 'rollback',
    backup: true,
    open: (onWait) => openEnvironmentSession(ctx, onWait),
    makePlan: async (session, refuse) => {
      try {
        // findBackup and readDefaultBackup both check that the backup is of this id, environment and project.
        backup =
          typeof values.to === 'string'
            ? findBackup(session.root, { environment: session.env.name, projectId: session.connection.projectId }, values.to)
            : defaultBackup(session);
      } catch (error) {
        refuse('refused');
        throw error;
      }
      output.out(output.c.dim(`Restoring backup ${backup.id} (${backup.kind}, ${backup.createdAt}): ${describeState(backup.state)}.`));
      desired = computeDesiredFromBackup(backup.state, backup.roleIds);
      return planAgainst(session);
    },
    notes: (plan) => {
      const lines: string[] = [];
      for (const change of plan.changes) {
        if (change.kind === 'tenantSso' && change.after?.type === 'oidc') {
          lines.push(
            change.action === 'create'
              ? `note: ${change.address}: a backup holds no secret; the restored OIDC configuration has no client secret: set it with apply`
              : `note: ${change.address}: a backup holds no secret; the live client secret is left as it is`,
          );
        }
      }
      return lines;
    },
    verify: async (session) => {
      const { plan } = await planAgainst(session);
      const { c } = output;
      if (plan.changes.length === 0) {
        output.out(c.green(`Verified: the live project equals backup ${backup!.id} (${describeState(backup!.state)}).`));
        return true;
      }
      output.out(c.red(`Verification failed: the live project still differs from backup ${backup!.id} in ${plan.changes.length} ${plan.changes.length === 1 ? 'place' : 'places'}:`));
      for (const change of plan.changes) for (const line of formatChange(change, c)) output.out(line);
      return false;
    },
    audit: () => (backup ? { restoredFrom: backup.id } : {}),
  });
};
