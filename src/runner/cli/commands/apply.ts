// descope-run apply: compute the plan (or re-derive a saved one and check it is the same plan),
// then the shared flow: show it, confirm, back up what will change, carry it out, report, audit.
//
// A saved plan is untrusted data: whoever can write the file can also recompute its fingerprint.
// So `apply --plan` trusts nothing in it that it does not re-derive. It compiles the checked-out
// config for this session's environment, reads the live project with the scope the config gives,
// computes the plan with the file's options (allowDelete, targets), and goes on only if that plan's
// fingerprint is the file's (which covers environment, project, options, the live fingerprint and
// every change). What it then shows, confirms, checks for deletes and writes is the re-derived
// plan: one value, never the file's summary or records (Terraform likewise needs the configuration
// next to a saved plan).
import path from 'node:path';
import type { CommandRun } from '../cli.ts';
import { PlanError, StalePlanError, UsageError } from '../../../errors.ts';
import { runApplyFlow } from '../../apply/apply-run.ts';
import { openSession, planSession } from '../session.ts';
import { maxPlanBytes, readPlanFile } from '../../store/plan-file.ts';
import { normalizeTargets } from '../../plan/compute.ts';
import { differingAddresses } from '../../plan/fingerprint.ts';
import type { Plan } from '../../plan/types.ts';
import { sameCanonical } from '../../../runtime/index.ts';

/** How many differing addresses a refusal names before it says "and N more". */
const SHOWN_ADDRESSES = 5;

export const run: CommandRun = async (ctx) => {
  const { values } = ctx;
  const planFile = typeof values.plan === 'string' ? values.plan : undefined;
  // A target that is not an address is refused before anything connects.
  const targets = normalizeTargets((values.target as string[] | undefined) ?? []);
  const allowDelete = values['allow-delete'] === true;
  if (planFile && targets.length > 0) {
    throw new UsageError('--plan and --target do not go together: a saved plan is applied whole', {
      hint: 'save a targeted plan with "diff --target ADDRESS --out FILE" instead',
    });
  }
  // Read a saved plan before connecting: a broken file sends nothing.
  const saved = planFile ? readPlanFile(planFile, { path: path.resolve(ctx.cwd, planFile), maxBytes: maxPlanBytes(ctx.processEnv) }) : undefined;
  // What the audit records of a refused file: its fingerprint (which names it), not its changes,
  // which nobody planned and nothing did.
  const refused: Plan | undefined = saved && { ...saved, changes: [], held: [] };
  let compiled: Awaited<ReturnType<typeof openSession>> | undefined;
  /** The live project's fingerprint when a saved plan was checked (recorded when it is stale). */
  let current: string | undefined;

  return runApplyFlow(ctx, {
    command: 'apply',
    backup: values['no-backup'] !== true,
    open: async (onWait) => (compiled = await openSession(ctx, onWait, 'write')),
    makePlan: async (session, refuse) => {
      if (!saved) return planSession(compiled!, { allowDelete, targets, now: new Date().toISOString() });
      // Another environment or project: refused before the live project is read.
      checkSameTarget(planFile!, saved, { environment: session.env.name, projectId: session.connection.projectId }, () => refuse('refused', refused));
      const step = await planSession(compiled!, { allowDelete: saved.allowDelete, targets: saved.targets, now: new Date().toISOString() }).catch((error: unknown) => {
        // A target the saved plan names that neither the config nor the live project has now.
        if (error instanceof PlanError && error.message.startsWith('--target ')) {
          refuse('refused', refused);
          throw new PlanError(`${planFile}: the plan's ${error.message.slice(2)}: the config or the live project changed since the plan was made; nothing was applied`, {
            hint: `make a new plan with "descope-run diff --env ${session.env.name} --out ${planFile}", review it, and apply that`,
          });
        }
        throw error;
      });
      const fresh = step.plan;
      current = fresh.liveFingerprint;
      const regenerate = `make a new plan with "descope-run diff --env ${fresh.environment} --out ${planFile}", review it, and apply that`;
      // The scope is the config's: a plan made from another config read other things, which is a
      // change of the config, not of the live project.
      if (!sameCanonical(saved.scope, fresh.scope) || (fresh.liveFingerprint === saved.liveFingerprint && fresh.fingerprint !== saved.fingerprint)) {
        refuse('refused', refused);
        throw new PlanError(`${planFile}: is not the plan the checked-out config makes now (${describeDifference(saved, fresh)}): the config changed since the plan was made (${saved.createdAt}), or the plan was edited; nothing was applied`, {
          hint: `apply the plan with the config it was made from (check out that commit), or ${regenerate}`,
        });
      }
      if (fresh.liveFingerprint !== saved.liveFingerprint) {
        refuse('stale', refused);
        throw new StalePlanError(`${planFile}: the live project changed since the plan was made (${saved.createdAt}); nothing was applied`, {
          hint: `a plan applies once, to the project as it was; run "descope-run diff --env ${fresh.environment} --out ${planFile}" again, review it, and apply the new plan`,
        });
      }
      // Same fingerprint: the file says what the re-derived plan says. The check of deletes is on
      // the re-derived plan all the same, so it can never read an edited count.
      if (fresh.changes.some(isDelete) && !allowDelete) {
        refuse('refused', fresh);
        const deletes = fresh.changes.filter(isDelete).map((c) => c.address);
        throw new PlanError(`${planFile}: the plan deletes live resources (${listAddresses(deletes)}); apply it with --allow-delete`, {
          hint: 'review its deletes with "descope-run diff --allow-delete", then add --allow-delete',
        });
      }
      return { plan: fresh, live: step.live };
    },
    audit: () => (current ? { liveFingerprint: current } : {}),
    rerun: (purpose, session) => {
      // A saved plan applies once: to finish after failures, plan again, as it was made.
      const again = purpose === 'finish' || !planFile;
      const scope = saved && purpose === 'finish' ? saved.targets : targets;
      const config = typeof values.config === 'string' ? values.config : undefined;
      return [
        'descope-run',
        'apply',
        '--env',
        session.env.name,
        ...(config ? ['--config', config] : []),
        ...(again ? scope.flatMap((target) => ['--target', target]) : ['--plan', planFile!]),
        ...(allowDelete || (purpose === 'finish' && saved?.allowDelete) ? ['--allow-delete'] : []),
        ...(values['no-backup'] === true ? ['--no-backup'] : []),
      ];
    },
  });
};

function isDelete(change: Plan['changes'][number]): boolean {
  return change.action === 'delete' || change.action === 'replace';
}

/** The saved plan must be for this session's environment and project. */
function checkSameTarget(file: string, saved: Plan, session: { environment: string; projectId: string }, refuse: () => void): void {
  if (saved.environment === session.environment && saved.projectId === session.projectId) return;
  refuse();
  throw new PlanError(
    `${file}: the plan is for environment "${saved.environment}" (project ${saved.projectId}), not "${session.environment}" (project ${session.projectId}); nothing was applied`,
    { hint: `apply it with --env ${saved.environment}, or make a plan for this environment with "descope-run diff --env ${session.environment} --out FILE"` },
  );
}

/** What differs between the saved plan and the one the config makes now, in a few words. */
function describeDifference(saved: Plan, fresh: Plan): string {
  const addresses = differingAddresses(saved, fresh);
  if (addresses.length > 0) return `it differs at ${listAddresses(addresses)}`;
  if (!sameCanonical(saved.scope, fresh.scope)) return 'it reads other parts of the live project';
  const parts = (['summary', 'unmanaged'] as const).filter((key) => !sameCanonical(saved[key], fresh[key]));
  return parts.length > 0 ? `its ${parts.join(' and ')} ${parts.length === 1 ? 'differs' : 'differ'}` : 'its fingerprint differs';
}

function listAddresses(addresses: readonly string[]): string {
  const shown = addresses.slice(0, SHOWN_ADDRESSES).join(', ');
  return addresses.length > SHOWN_ADDRESSES ? `${shown} and ${addresses.length - SHOWN_ADDRESSES} more` : shown;
}
