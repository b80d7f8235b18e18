// descope-run rollback: a backup becomes the desired state; the plan (deleting what was created
// after it included) goes through the same flow as apply; then the live project is read again and
// compared with the backup, and the verification is printed. Works without a valid config.
import type { CommandRun } from '../cli.ts';
import { PlanError } from '../../errors.ts';
import { runApplyFlow } from '../apply-flow.ts';
import { readAuditLog } from '../audit.ts';
import { backupIdFor, describeState, findBackup, listBackups, type Backup } from '../backup.ts';
import { openEnvironmentSession, readLive, type Session } from '../live-plan.ts';
import { computePlan } from '../plan/compute.ts';
import { computeDesiredFromBackup, computeScope, type DesiredProject } from '../plan/desired.ts';
import { formatChange } from '../plan/format.ts';
import type { Plan } from '../plan/types.ts';

/**
 * The newest backup before the last apply: the one it took, or (after an apply --no-backup) the
 * newest taken before it; with no apply recorded, the newest backup.
 */
function defaultBackup(session: Session): Backup {
  const { records } = readAuditLog(session.root, { env: session.env.name });
  const last = [...records].reverse().find((r) => r.command === 'apply' && r.outcome !== 'no-changes' && r.outcome !== 'refused' && r.outcome !== 'stale' && r.outcome !== 'aborted');
  if (last?.backupId) return findBackup(session.root, session.env.name, last.backupId);
  const before = last ? backupIdFor(new Date(last.time)) : undefined;
  const newest = listBackups(session.root, session.env.name).find((entry) => entry.backup && (before === undefined || entry.id < before));
  if (!newest?.backup) {
    throw new PlanError(
      last
        ? `environment "${session.env.name}": the last apply (${last.time}) took no backup and there is none from before it`
        : `environment "${session.env.name}": there is no backup to roll back to`,
      { hint: `pick one with --to (see "descope-run backup list --env ${session.env.name}"); apply takes one before every change unless --no-backup` },
    );
  }
  return newest.backup;
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
    open: (onWait) => openEnvironmentSession(ctx, onWait, 'write'),
    makePlan: async (session, refuse) => {
      try {
        backup = typeof values.to === 'string' ? findBackup(session.root, session.env.name, values.to) : defaultBackup(session);
      } catch (error) {
        refuse('refused');
        throw error;
      }
      if (backup.environment !== session.env.name || backup.projectId !== session.connection.projectId) {
        refuse('refused');
        throw new PlanError(
          `backup ${backup.id}: is of environment "${backup.environment}" (project ${backup.projectId}), not "${session.env.name}" (project ${session.connection.projectId})`,
          { hint: `roll back with --env ${backup.environment}` },
        );
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
