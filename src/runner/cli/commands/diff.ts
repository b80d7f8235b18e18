// descope-run diff: read the live project, compare it with the config, print (or save) the plan.
// Writes nothing to Descope.
import path from 'node:path';
import type { CommandRun } from '../cli.ts';
import { openSession, planSession } from '../session.ts';
import { checkOutFile, forceFlag } from '../../store/private-file.ts';
import { isPlanFile, maxPlanBytes, writePlanFile } from '../../store/plan-file.ts';
import { normalizeTargets } from '../../plan/compute.ts';
import { formatPlan } from '../../plan/plan-text.ts';
import { formatJson, safeText } from '../safe-text.ts';

export const run: CommandRun = async (ctx) => {
  const { output, values } = ctx;
  // A target that is not an address is refused before anything connects.
  const targets = normalizeTargets((values.target as string[] | undefined) ?? []);
  const out = typeof values.out === 'string' ? values.out : undefined;
  const force = forceFlag(values);
  // Refused before the live project is read: a wrong --out costs no API call.
  if (out) checkOutFile({ file: path.resolve(ctx.cwd, out), display: out, ours: isPlanFile }, { what: 'the plan', force });
  const session = await openSession(ctx);
  try {
    const { plan } = await planSession(session, {
      allowDelete: values['allow-delete'] === true,
      targets,
      now: new Date().toISOString(),
    });
    if (out) writePlanFile(path.resolve(ctx.cwd, out), plan, { force, display: out, maxBytes: maxPlanBytes(ctx.processEnv) });
    if (values.json === true) {
      output.out(formatJson(plan, 2));
    } else {
      output.out(output.c.dim(`Environment "${safeText(plan.environment)}": ${safeText(session.connection.description)}.`));
      output.out('');
      for (const line of formatPlan(plan, output.c)) output.out(line);
      if (out) {
        output.out('');
        output.out(`Saved the plan to ${safeText(out)}. Apply exactly it with: descope-run apply --env ${safeText(plan.environment)} --plan ${safeText(out)}`);
      }
    }
    // Held deletes are pending changes too: the live project differs from what the config asks.
    return values['exit-code'] === true && plan.changes.length + plan.held.length > 0 ? 2 : 0;
  } finally {
    await session.close();
  }
};
