// What apply and rollback share once they have a plan: show it, check secrets, confirm, take a
// backup of what will change, carry it out with progress, report each failure with what to do,
// and record the run in the audit log (always, also when it stops early).
import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import { readFileSync } from 'node:fs';
import type { CommandContext } from './cli.ts';
import { EnvironmentError, UserAbortError, isDescopeRunError } from '../errors.ts';
import { appendAuditRecord, currentUser, readGitInfo, type AuditOutcome, type AuditRecord } from './audit.ts';
import { applyPlan, requiredSecrets, type ChangeResult } from './apply-plan.ts';
import { describeState, makeBackup, saveBackup, type Backup } from './backup.ts';
import { describeInterruptedRun, recoverInterruptedRun, startJournal, type Journal } from './journal.ts';
import { readLive, type Session } from './live-plan.ts';
import { acquireLock, describeHolder, lockTarget, type HeldLock } from './lock.ts';
import { formatPlan, SYMBOLS } from './plan/format.ts';
import type { Plan } from './plan/types.ts';
import type { Output } from './output.ts';
import type { LiveSnapshot, WaitEvent } from '../runtime/index.ts';

const EMULATOR_PLACEHOLDER_SECRET = 'emulator-placeholder-secret';

const PAST: Record<ChangeResult['action'], string> = { create: 'created', update: 'updated', replace: 'replaced', delete: 'deleted' };

export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
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

async function confirm(ctx: CommandContext, plan: Plan, session: Session, verb: string): Promise<void> {
  const { output } = ctx;
  const env = session.env;
  const interactive = process.stdin.isTTY === true && (output.stdout as { isTTY?: boolean }).isTTY === true;
  if (!interactive) {
    const command = verb === 'Apply' ? 'apply' : 'rollback';
    throw new UserAbortError(`environment "${env.name}": not ${command === 'apply' ? 'applying' : 'rolling back'} without --yes, since this is not a terminal and nobody can confirm`, {
      hint:
        command === 'apply'
          ? `review the plan above, then run "descope-run apply --env ${env.name} --yes" (or save it with "diff --out plan.json" and apply that with --plan)`
          : `review the plan above, then run "descope-run rollback --env ${env.name} --yes" with the same options`,
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (env.protected) {
      const answer = (await rl.question(`Environment "${env.name}" is protected. Type the project id (${plan.projectId}) to apply these changes: `)).trim();
      if (answer !== plan.projectId) throw new UserAbortError(`environment "${env.name}": the project id was not typed; nothing was changed`);
    } else {
      const answer = (await rl.question(`${verb === 'Apply' ? 'Apply these changes to' : 'Roll back'} ${session.connection.description}? Only "yes" is accepted: `)).trim();
      if (answer !== 'yes') throw new UserAbortError(`environment "${env.name}": not confirmed; nothing was changed`);
    }
  } finally {
    rl.close();
  }
}


/** What a plan comes with: the live snapshot it was computed from. */
export interface PlanStep {
  plan: Plan;
  live: LiveSnapshot;
}

export interface ApplyFlow {
  command: 'apply' | 'rollback';
  /** Opens the session (compiling the config or not). */
  open(onWait: (event: WaitEvent) => void): Promise<Session>;
  /**
   * Reads the live project and returns the plan; `refuse` marks the audit outcome (and the plan,
   * when there is one) of a refusal it then throws.
   */
  makePlan(session: Session, refuse: (outcome: AuditOutcome, plan?: Plan) => void): Promise<PlanStep>;
  /** Lines to print after the plan (e.g. what a rollback cannot restore). */
  notes?(plan: Plan): string[];
  /** Take a backup of what will change before the first write. */
  backup: boolean;
  /** After every change landed: check the result; false fails the run. */
  verify?(session: Session): Promise<boolean>;
  /** Fields of the audit record this command adds. */
  audit?(): Partial<AuditRecord>;
}

export async function runApplyFlow(ctx: CommandContext, flow: ApplyFlow): Promise<number> {
  const { output, values, processEnv } = ctx;
  const { c } = output;
  const verb = flow.command === 'apply' ? 'Apply' : 'Rollback';
  const started = Date.now();
  const time = new Date(started).toISOString();
  const status = createStatus(output);
  const onWait = (event: WaitEvent): void => {
    const seconds = (event.ms / 1000).toFixed(1);
    status.show(event.reason === 'rate-limit' ? `waiting ${seconds} s for the rate limit (${event.cause})` : `retrying ${event.address} in ${seconds} s (${event.cause})`);
  };

  const session = await flow.open(onWait);
  const { env, root } = session;
  let plan: Plan | undefined;
  let results: ChangeResult[] = [];
  let outcome: AuditOutcome = 'failed';
  let exitStatus = 1;
  let failure: string | undefined;
  let backupId: string | undefined;
  let lock: HeldLock | undefined;
  let journal: Journal | undefined;
  let git: ReturnType<typeof gitOf> | undefined;
  const auditRecord = (): AuditRecord => ({
    version: 1,
    time,
    command: flow.command,
    tool: { name: 'descope-run', version: toolVersion() },
    user: currentUser(),
    host: os.hostname(),
    ...(git ??= gitOf(root)),
    environment: env.name,
    projectId: session.connection.projectId,
    planFingerprint: plan?.fingerprint ?? '',
    liveFingerprint: plan?.liveFingerprint ?? '',
    outcome,
    changes: plan ? auditChanges(plan, results) : [],
    ...(backupId ? { backupId } : {}),
    ...(failure ? { error: failure } : {}),
    ...(flow.audit?.() ?? {}),
    durationMs: Date.now() - started,
    exitStatus,
  });
  try {
    // One apply or rollback at a time per project, taken before the live project is read (./lock.ts).
    try {
      const target = lockTarget(env, session.connection.projectId);
      lock = await acquireLock({ target, command: flow.command, checkout: root, environment: env.name }, processEnv);
    } catch (error) {
      outcome = 'refused';
      throw error;
    }
    if (lock.tookOver) {
      const { holder, reason } = lock.tookOver;
      output.err(`${c.yellow('warning:')} took over the lock of ${holder ? describeHolder(holder) : 'a run'}: ${reason}`);
    }
    const interrupted = await recoverInterruptedRun(lock);
    if (interrupted) output.err(`${c.yellow('warning:')} ${describeInterruptedRun(interrupted, root)}`);

    status.show('reading the live project…');
    const step = await flow.makePlan(session, (refused, refusedPlan) => {
      outcome = refused;
      if (refusedPlan) plan = refusedPlan;
    });
    status.clear();
    plan = step.plan;

    output.out(c.dim(`Environment "${env.name}": ${session.connection.description}.`));
    output.out('');
    for (const line of formatPlan(plan, c)) output.out(line);
    for (const line of flow.notes?.(plan) ?? []) output.out(c.yellow(line));
    if (plan.changes.length === 0) {
      outcome = 'no-changes';
      exitStatus = 0;
      if (flow.verify && !(await flow.verify(session))) {
        outcome = 'failed';
        exitStatus = 1;
      }
      return exitStatus;
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
        hint: `export ${[...new Set(missing.map((m) => m.env))].join(', ')}, then ${flow.command} again`,
      });
    }
    if (values.yes !== true) {
      output.out('');
      try {
        await confirm(ctx, plan, session, verb);
      } catch (error) {
        outcome = process.stdin.isTTY ? 'aborted' : 'refused';
        throw error;
      }
    }

    if (flow.backup) {
      status.show('taking a backup of what will change…');
      const backup = await takePreApplyBackup(session, plan, step.live, toolVersion(), new Date());
      status.clear();
      backupId = backup.id;
      output.out(c.dim(`Backup ${backup.id} taken (${describeState(backup.state)}); undo with: descope-run rollback --env ${env.name} --to ${backup.id}`));
    }

    output.out('');
    const total = plan.changes.length;
    // Before the first write: what a run killed from here on leaves for the next one (./journal.ts).
    journal = await startJournal(lock, auditRecord());
    const applied = await applyPlan(session.connection.api, plan, {
      resolveSecret: (name) => processEnv[name] || (placeholders.has(name) ? EMULATOR_PLACEHOLDER_SECRET : undefined),
      onStart: (address) => status.show(`[${results.length}/${total}] ${address}…`),
      onSettled: (result, settled) => {
        journal?.record(result);
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
      output.out(c.green(`${verb} complete: ${done} ${done === 1 ? 'change' : 'changes'} in ${seconds} s.`));
      outcome = 'applied';
      exitStatus = 0;
      if (flow.verify && !(await flow.verify(session))) {
        outcome = 'failed';
        exitStatus = 1;
      }
      return exitStatus;
    }
    output.out(c.red(`${verb} finished with failures: ${done} done, ${failed.length} failed, ${skipped.length} not attempted (${seconds} s).`));
    // One failure cause for many changes (the API stopped answering) is said once, with its addresses.
    const shown = new Set<string>();
    const byMessage = new Map<string, ChangeResult[]>();
    for (const result of [...failed, ...skipped]) {
      const key = result.error?.message ?? '';
      byMessage.set(key, [...(byMessage.get(key) ?? []), result]);
    }
    for (const result of [...failed, ...skipped]) {
      const error = result.error;
      const same = byMessage.get(error?.message ?? '') ?? [];
      if (same.length > 2 && !result.error?.message.startsWith(`${result.address}: `)) {
        if (shown.has(error?.message ?? '')) continue;
        shown.add(error?.message ?? '');
        output.out(`  ${result.status === 'failed' ? c.red('✗') : c.yellow('–')} ${same.length} changes: ${error?.message ?? 'failed'}`);
        output.out(`      ${same.map((r) => `${SYMBOLS[r.action]} ${r.address}`).join(', ')}`);
        if (error?.hint) output.out(c.dim(`      hint: ${error.hint}`));
        continue;
      }
      // The message starts with the address and names the status and code; show each once.
      const message = (error?.message ?? 'failed').replace(new RegExp(`^${escapeRegExp(result.address)}: `), '');
      const parts = error ? [error.status, error.code].filter((x) => x !== undefined).map(String) : [];
      const code = parts.length > 0 && !parts.every((p) => message.includes(p)) ? ` (${parts.join(' ')})` : '';
      output.out(`  ${result.status === 'failed' ? c.red('✗') : c.yellow('–')} ${SYMBOLS[result.action]} ${result.address}: ${message}${code}`);
      if (error?.hint) output.out(c.dim(`      hint: ${error.hint}`));
    }
    output.out('');
    output.out(`Run "descope-run ${flow.command} --env ${env.name}" again to finish: what landed is not redone.`);
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
    // Every run that reached the project is recorded, also one that stopped before it had a plan.
    const record = auditRecord();
    try {
      appendAuditRecord(root, env.name, record);
    } catch (error) {
      if (!isDescopeRunError(error)) throw error;
      output.err(`${c.yellow('warning:')} ${error.message}`);
    }
    await journal?.finish();
    await lock?.release();
  }
}

/**
 * The backup an apply takes before its first write: the live snapshot the plan was computed from
 * (no extra call), plus what the plan deletes or replaces that the snapshot does not hold whole
 * (the settings and SSO of a tenant, a flow's document), so a rollback can bring those back.
 */
async function takePreApplyBackup(session: Session, plan: Plan, live: LiveSnapshot, version: string, now: Date): Promise<Backup> {
  const tenants = new Set<string>();
  const flows = new Set<string>();
  for (const change of plan.changes) {
    if (change.action !== 'delete' && change.action !== 'replace') continue;
    if (change.kind === 'tenant') tenants.add(change.address.slice('tenants/'.length));
    if (change.kind === 'flow') flows.add(change.address.slice('flows/'.length));
  }
  const state = structuredClone(live.state);
  if (tenants.size > 0 || flows.size > 0) {
    const extra = await readLive(session, {
      tenantSettings: [...tenants].filter((id) => !state.tenantSettings?.[id]),
      tenantSso: [...tenants].filter((id) => state.tenantSso?.[id] === undefined),
      flowExports: [...flows].filter((id) => !state.flows?.[id]),
    });
    state.tenantSettings = { ...state.tenantSettings, ...extra.state.tenantSettings };
    state.tenantSso = { ...state.tenantSso, ...extra.state.tenantSso };
    state.flows = { ...state.flows, ...extra.state.flows };
  }
  const backup = makeBackup(
    {
      kind: 'pre-apply',
      environment: session.env.name,
      projectId: session.connection.projectId,
      createdAt: now.toISOString(),
      tool: { name: 'descope-run', version },
      scope: plan.scope,
      state,
      roleIds: { ...live.handles.roleIds },
    },
    now,
  );
  saveBackup(session.root, backup);
  return backup;
}

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
