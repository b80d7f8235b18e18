// descope-run apply: compute the plan (or read a saved one and check it is not stale), show it, get
// confirmation, carry it out, report, and record the run in the audit log.
import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import { readFileSync } from 'node:fs';
import type { CommandContext, CommandRun } from '../cli.ts';
import { EnvironmentError, PlanError, StalePlanError, UsageError, UserAbortError, isDescopeRunError } from '../../errors.ts';
import { appendAuditRecord, currentUser, readGitInfo, type AuditOutcome, type AuditRecord } from '../audit.ts';
import { applyPlan, requiredSecrets, type ChangeResult } from '../apply-plan.ts';
import { liveFingerprint, openSession, planSession, readLive, type Session } from '../live-plan.ts';
import { readPlanFile } from '../plan-file.ts';
import { formatPlan, SYMBOLS } from '../plan/format.ts';
import type { Plan } from '../plan/types.ts';
import type { Output } from '../output.ts';
import type { WaitEvent } from '../../runtime/index.ts';

const EMULATOR_PLACEHOLDER_SECRET = 'emulator-placeholder-secret';

const PAST: Record<ChangeResult['action'], string> = { create: 'created', update: 'updated', replace: 'replaced', delete: 'deleted' };

function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A one-line status on a terminal (stderr), rewritten in place; nothing when not a terminal. */
function createStatus(output: Output) {
  const tty = (output.stderr as { isTTY?: boolean }).isTTY === true;
  let shown = false;
  return {
    tty,
    show(text: string): void {
      if (!tty) return;
      output.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    },
    clear(): void {
      if (tty && shown) output.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

async function confirm(ctx: CommandContext, plan: Plan, session: Session): Promise<void> {
  const { output } = ctx;
  const env = session.project.env;
  const interactive = process.stdin.isTTY === true && (output.stdout as { isTTY?: boolean }).isTTY === true;
  if (!interactive) {
    throw new UserAbortError(`environment "${env.name}": not applying without --yes, since this is not a terminal and nobody can confirm`, {
      hint: `review the plan above, then run "descope-run apply --env ${env.name} --yes" (or save it with "diff --out plan.json" and apply that with --plan)`,
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (env.protected) {
      const answer = (await rl.question(`Environment "${env.name}" is protected. Type the project id (${plan.projectId}) to apply these changes: `)).trim();
      if (answer !== plan.projectId) throw new UserAbortError(`environment "${env.name}": the project id was not typed; nothing was changed`);
    } else {
      const answer = (await rl.question(`Apply these changes to ${session.connection.description}? Only "yes" is accepted: `)).trim();
      if (answer !== 'yes') throw new UserAbortError(`environment "${env.name}": not confirmed; nothing was changed`);
    }
  } finally {
    rl.close();
  }
}

export const run: CommandRun = async (ctx) => {
  const { output, values, processEnv } = ctx;
  const { c } = output;
  const started = Date.now();
  const time = new Date(started).toISOString();
  const status = createStatus(output);
  const onWait = (event: WaitEvent): void => {
    const seconds = (event.ms / 1000).toFixed(1);
    status.show(event.reason === 'rate-limit' ? `waiting ${seconds} s for the rate limit (${event.cause})` : `retrying ${event.address} in ${seconds} s (${event.cause})`);
  };
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

  const session = await openSession(ctx, onWait);
  const env = session.project.env;
  const root = session.project.root;
  let plan: Plan | undefined;
  let results: ChangeResult[] = [];
  let outcome: AuditOutcome = 'failed';
  let exitStatus = 1;
  let currentFingerprint = '';
  let failure: string | undefined;
  try {
    if (saved) {
      outcome = 'refused';
      if (saved.environment !== env.name || saved.projectId !== session.connection.projectId) {
        throw new PlanError(
          `${planFile}: the plan is for environment "${saved.environment}" (project ${saved.projectId}), not "${env.name}" (project ${session.connection.projectId})`,
          { hint: `apply it with --env ${saved.environment}, or make a plan for this environment with diff --out` },
        );
      }
      if (saved.allowDelete && saved.summary.delete + saved.summary.replace > 0 && !allowDelete) {
        throw new PlanError(`${planFile}: the plan deletes live resources; apply it with --allow-delete`, {
          hint: 'review its deletes with "descope-run diff", then add --allow-delete',
        });
      }
      outcome = 'failed';
      status.show('reading the live project…');
      const live = await readLive(session, saved.scope);
      status.clear();
      currentFingerprint = liveFingerprint(live);
      plan = saved;
      if (currentFingerprint !== saved.liveFingerprint) {
        outcome = 'stale';
        throw new StalePlanError(
          `${planFile}: the live project changed since the plan was made (${saved.createdAt}); nothing was applied`,
          {
            hint: `a plan applies once, to the project as it was; run "descope-run diff --env ${env.name} --out ${planFile}" again, review it, and apply the new plan`,
          },
        );
      }
    } else {
      status.show('reading the live project…');
      const made = await planSession(session, { allowDelete, targets, now: time });
      status.clear();
      plan = made.plan;
      currentFingerprint = plan.liveFingerprint;
    }

    output.out(c.dim(`Environment "${env.name}": ${session.connection.description}.`));
    output.out('');
    for (const line of formatPlan(plan, c)) output.out(line);
    if (plan.changes.length === 0) {
      outcome = 'no-changes';
      exitStatus = 0;
      return 0;
    }

    // Every secret the writes need must be set before the first write.
    const missing = requiredSecrets(plan).filter((s) => !processEnv[s.env]);
    // The embedded emulator checks no secret: a placeholder keeps `--env local` free of set-up.
    const placeholders = new Set<string>();
    if (missing.length > 0 && env.target === 'emulator') {
      for (const m of missing) placeholders.add(m.env);
      output.err(c.dim(`note: ${[...placeholders].join(', ')} ${placeholders.size === 1 ? 'is' : 'are'} not set; the emulator gets a placeholder secret instead`));
    } else if (missing.length > 0) {
      outcome = 'refused';
      const first = missing[0]!;
      throw new EnvironmentError(`${first.address}: the client secret variable ${first.env} is not set; nothing was applied`, {
        hint: `export ${[...new Set(missing.map((m) => m.env))].join(', ')}, then apply again`,
      });
    }
    if (values.yes !== true) {
      output.out('');
      try {
        await confirm(ctx, plan, session);
      } catch (error) {
        outcome = process.stdin.isTTY ? 'aborted' : 'refused';
        throw error;
      }
    }

    output.out('');
    const total = plan.changes.length;
    const applied = await applyPlan(session.connection.api, plan, {
      resolveSecret: (name) => processEnv[name] || (placeholders.has(name) ? EMULATOR_PLACEHOLDER_SECRET : undefined),
      onStart: (address) => status.show(`[${results.length}/${total}] ${address}…`),
      onSettled: (result, settled) => {
        results.push(result);
        status.clear();
        const mark = result.status === 'done' ? c.green('✓') : result.status === 'failed' ? c.red('✗') : c.yellow('–');
        const what = result.status === 'done' ? PAST[result.action] : result.status === 'failed' ? `${result.action} failed` : 'not attempted';
        output.out(`  ${mark} ${result.address} ${c.dim(what)}`);
        if (settled < total) status.show(`[${settled}/${total}] applying…`);
      },
    });
    status.clear();
    results = applied.results;
    const done = results.filter((r) => r.status === 'done').length;
    const failed = results.filter((r) => r.status === 'failed');
    const skipped = results.filter((r) => r.status === 'skipped');
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    output.out('');
    if (failed.length === 0 && skipped.length === 0) {
      output.out(c.green(`Apply complete: ${done} ${done === 1 ? 'change' : 'changes'} in ${seconds} s.`));
      outcome = 'applied';
      exitStatus = 0;
      return 0;
    }
    output.out(c.red(`Apply finished with failures: ${done} done, ${failed.length} failed, ${skipped.length} not attempted (${seconds} s).`));
    for (const result of [...failed, ...skipped]) {
      const error = result.error;
      // The message starts with the address and names the status and code; show each once.
      const message = (error?.message ?? 'failed').replace(new RegExp(`^${escapeRegExp(result.address)}: `), '');
      const parts = error ? [error.status, error.code].filter((x) => x !== undefined).map(String) : [];
      const code = parts.length > 0 && !parts.every((p) => message.includes(p)) ? ` (${parts.join(' ')})` : '';
      output.out(`  ${result.status === 'failed' ? c.red('✗') : c.yellow('–')} ${SYMBOLS[result.action]} ${result.address}: ${message}${code}`);
      if (error?.hint) output.out(c.dim(`      hint: ${error.hint}`));
    }
    output.out('');
    output.out(`Run "descope-run apply --env ${env.name}" again to finish: what landed is not redone.`);
    outcome = done > 0 ? 'partial' : 'failed';
    exitStatus = 1;
    return 1;
  } catch (error) {
    exitStatus = 1;
    if (isDescopeRunError(error)) failure = error.message;
    throw error;
  } finally {
    status.clear();
    await session.close();
    // Every apply that reached the project is recorded, also one that failed before it had a plan.
    {
      const fingerprintOf = plan?.fingerprint ?? saved?.fingerprint ?? '';
      const record: AuditRecord = {
        version: 1,
        time,
        command: 'apply',
        tool: { name: 'descope-run', version: toolVersion() },
        user: currentUser(),
        host: os.hostname(),
        ...gitOf(root),
        environment: env.name,
        projectId: session.connection.projectId,
        planFingerprint: fingerprintOf,
        liveFingerprint: currentFingerprint || plan?.liveFingerprint || '',
        outcome,
        changes: plan ? auditChanges(plan, results) : [],
        ...(failure ? { error: failure } : {}),
        durationMs: Date.now() - started,
        exitStatus,
      };
      try {
        appendAuditRecord(root, env.name, record);
      } catch (error) {
        if (!isDescopeRunError(error)) throw error;
        output.err(`${c.yellow('warning:')} ${error.message}`);
      }
    }
  }
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function gitOf(root: string): { git?: NonNullable<AuditRecord['git']> } {
  const git = readGitInfo(root);
  return git ? { git } : {};
}

function auditChanges(plan: Plan, results: readonly ChangeResult[]): AuditRecord['changes'] {
  const byAddress = new Map(results.map((r) => [r.address, r]));
  return plan.changes.map((change) => {
    const result = byAddress.get(change.address);
    const error = result?.error;
    return {
      address: change.address,
      action: change.action,
      result: result ? result.status : 'skipped',
      ...(error
        ? {
            error: {
              message: error.message,
              ...(error.status !== undefined ? { status: error.status } : {}),
              ...(error.code !== undefined ? { code: error.code } : {}),
            },
          }
        : {}),
    };
  });
}
