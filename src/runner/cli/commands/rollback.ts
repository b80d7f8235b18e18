// descope-run rollback: a backup becomes the desired state; the plan (deleting what was created
// after it included) goes through the same flow as apply; then the live project is read again and
// compared with the backup, and the verification is printed. Works without a valid config.
import type { CommandRun } from '../cli.ts';
import { PlanError } from '../../../errors.ts';
import { runApplyFlow } from '../../apply/apply-run.ts';
import { describeState, findBackup, readDefaultBackup, type Backup } from '../../store/backups.ts';
import { openEnvironmentSession, readLive, type Session } from '../session.ts';
import { computePlan, normalizeTargets } from '../../plan/compute.ts';
import { computeDesiredFromBackup, computeScope, type DesiredProject } from '../../plan/desired.ts';
import { formatChange } from '../../plan/plan-text.ts';
import type { Plan } from '../../plan/types.ts';
import { safeText } from '../safe-text.ts';

/** The backup rollback restores without --to (backup.ts chooses it, as `backup --keep` does when it keeps it). */
function defaultBackup(session: Session): Backup {
  return readDefaultBackup(session.root, { environment: session.env.name, projectId: session.connection.projectId });
}

export const run: CommandRun = async (ctx) => {
  const { values, output } = ctx;
  // An --only that is not an address is refused before anything connects.
  const only = normalizeTargets((values.only as string[] | undefined) ?? [], '--only');
  let backup: Backup | undefined;
  let desired: DesiredProject | undefined;

  // The verification after a restore reads again what --only named: an address the restore
  // deleted (created after the backup) names nothing then, and that is what was asked for.
  const planAgainst = async (session: Session, unknownTargets: 'error' | 'ignore' = 'error'): Promise<{ plan: Plan; live: Awaited<ReturnType<typeof readLive>> }> => {
    const scope = computeScope(desired!);
    const live = await readLive(session, scope);
    const plan = computePlan(desired!, live, {
      allowDelete: true,
      targets: only,
      targetFlag: '--only',
      desiredSource: `backup ${backup!.id}`,
      unknownTargets,
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
        // findBackup and readDefaultBackup both check that the backup is of this id, environment and project.
        backup =
          typeof values.to === 'string'
            ? findBackup(session.root, { environment: session.env.name, projectId: session.connection.projectId }, values.to, ctx.cwd)
            : defaultBackup(session);
      } catch (error) {
        refuse('refused');
        throw error;
      }
      output.out(output.c.dim(`Restoring backup ${safeText(backup.id)} (${safeText(backup.kind)}, ${safeText(backup.createdAt)}): ${describeState(backup.state)}.`));
      try {
        desired = computeDesiredFromBackup(backup.state, backup.roleIds, `backup ${backup.id}`);
      } catch (error) {
        refuse('refused');
        throw error;
      }
      try {
        return await planAgainst(session);
      } catch (error) {
        // An --only that names nothing is bad input: refused, like a backup that does not fit.
        if (error instanceof PlanError) refuse('refused');
        throw error;
      }
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
      const { plan } = await planAgainst(session, 'ignore');
      const { c } = output;
      if (plan.changes.length === 0) {
        // With --only, only those addresses were compared: say so, and claim no more.
        const at = only.length > 0 ? ` at ${only.join(', ')}` : '';
        output.out(c.green(`Verified: the live project equals backup ${safeText(backup!.id)}${safeText(at)} (${describeState(backup!.state)}).`));
        return true;
      }
      output.out(c.red(`Verification failed: the live project still differs from backup ${safeText(backup!.id)} in ${plan.changes.length} ${plan.changes.length === 1 ? 'place' : 'places'}:`));
      for (const change of plan.changes) for (const line of formatChange(change, c)) output.out(line);
      return false;
    },
    audit: () => (backup ? { restoredFrom: backup.id } : {}),
    // The backup it restores, by id: without --to, another apply would change which one that is.
    rerun: (_purpose, session) => [
      'descope-run',
      'rollback',
      '--env',
      session.env.name,
      ...(typeof values.config === 'string' ? ['--config', values.config] : []),
      ...(backup ? ['--to', backup.id] : typeof values.to === 'string' ? ['--to', values.to] : []),
      ...only.flatMap((address) => ['--only', address]),
    ],
  });
};
