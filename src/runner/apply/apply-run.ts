// What apply and rollback share once they have a plan: show it, check secrets, confirm, take a
// backup of what will change, carry it out with progress, report each failure with what to do,
// and record the run in the audit log (always, also when it stops early).
//
// Its lines quote live names, Descope's error texts and the lock, journal and backup files: each
// such piece goes through safeText / safeFolded (./safe-text.ts) before it is painted.
import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { CommandContext } from '../cli/cli.ts';
import { toolVersion } from '../package.ts';
import { EnvironmentError, UserAbortError, isDescopeRunError } from '../../errors.ts';
import { appendAuditRecord, currentUser, readGitInfo, type AuditOutcome, type AuditRecord } from '../store/audit-log.ts';
import { applyPlan, requiredSecrets, type ChangeResult } from './execute-plan.ts';
import { describeState, makeBackup, saveBackup, type Backup } from '../store/backups.ts';
import { describeInterruptedRun, recoverInterruptedRun, startJournal, type Journal } from './journal.ts';
import { readLive, type Session } from '../cli/session.ts';
import { secretHoldingKey } from '../config/secret-refs.ts';
import { acquireLock, describeHolder, lockTarget, type HeldLock } from './lock.ts';
import { formatPlan, SYMBOLS } from '../plan/plan-text.ts';
import { flowIdOf, type Plan } from '../plan/types.ts';
import type { Output } from '../cli/output.ts';
import { safeFolded, safeText } from '../cli/safe-text.ts';
import type { LiveSnapshot, WaitEvent } from '../../runtime/index.ts';

const EMULATOR_PLACEHOLDER_SECRET = 'emulator-placeholder-secret';

const PAST: Record<ChangeResult['action'], string> = { create: 'created', update: 'updated', replace: 'replaced', delete: 'deleted' };

/** A one-line status on a terminal (stderr), rewritten in place; nothing when not a terminal (output.ts). */
function createStatus(output: Output) {
  return {
    show: (text: string): void => output.status(text),
    clear: (): void => output.status(),
  };
}

/** A command line to paste into a POSIX shell: an argument is quoted when it needs it (`'roles/Billing Admin'`). */
export function commandLine(args: readonly string[]): string {
  return args.map((arg) => (/^[A-Za-z0-9_./:@%=+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

async function confirm(ctx: CommandContext, plan: Plan, session: Session, verb: string, flow: ApplyFlow): Promise<void> {
  const { output } = ctx;
  const env = session.env;
  const interactive = process.stdin.isTTY === true && (output.stdout as { isTTY?: boolean }).isTTY === true;
  if (!interactive) {
    const command = verb === 'Apply' ? 'apply' : 'rollback';
    const again = commandLine([...rerunOf(flow, 'confirm', session), '--yes']);
    throw new UserAbortError(`environment "${env.name}": not ${command === 'apply' ? 'applying' : 'rolling back'} without --yes, since this is not a terminal and nobody can confirm`, {
      hint:
        command === 'apply' && !flow.rerun?.('confirm', session).includes('--plan')
          ? `review the plan above, then run "${again}" (or save it with "diff --out plan.json" and apply that with --plan)`
          : `review the plan above, then run "${again}"`,
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (env.protected) {
      // The prompt is written by readline, past output.ts: its data is made safe here.
      const answer = (await rl.question(`Environment "${safeText(env.name)}" is protected. Type the project id (${safeText(plan.projectId)}) to apply these changes: `)).trim();
      if (answer !== plan.projectId) throw new UserAbortError(`environment "${env.name}": the project id was not typed; nothing was changed`);
    } else {
      const answer = (await rl.question(`${verb === 'Apply' ? 'Apply these changes to' : 'Roll back'} ${safeText(session.connection.description)}? Only "yes" is accepted: `)).trim();
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
  /**
   * The command that runs this again with the user's own choices, for hints: `confirm` as it was
   * (the hint adds --yes), `finish` what completes it after failures. Never an option the user did
   * not pass, never without one that changes what it does (a target, the backup, the config).
   */
  rerun?(purpose: 'confirm' | 'finish', session: Session): string[];
}

function rerunOf(flow: ApplyFlow, purpose: 'confirm' | 'finish', session: Session): string[] {
  return flow.rerun?.(purpose, session) ?? ['descope-run', flow.command, '--env', session.env.name];
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
  let closeError: { error: unknown } | undefined;
  let threw = false;
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
    // A run that exits 1 is never recorded as a success: what threw after the writes (a
    // rollback's verification, closing the session) makes it a failure, whatever the writes did.
    outcome: exitStatus !== 0 && (outcome === 'applied' || outcome === 'no-changes') ? 'failed' : outcome,
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
      output.err(`${c.yellow('warning:')} took over the lock of ${holder ? safeText(describeHolder(holder)) : 'a run'}: ${safeText(reason)}`);
    }
    const interrupted = await recoverInterruptedRun(lock);
    if (interrupted) output.err(`${c.yellow('warning:')} ${safeText(describeInterruptedRun(interrupted, root))}`);

    status.show('reading the live project…');
    const step = await flow.makePlan(session, (refused, refusedPlan) => {
      outcome = refused;
      if (refusedPlan) plan = refusedPlan;
    });
    status.clear();
    plan = step.plan;

    output.out(c.dim(`Environment "${safeText(env.name)}": ${safeText(session.connection.description)}.`));
    output.out('');
    for (const line of formatPlan(plan, c)) output.out(line);
    for (const line of flow.notes?.(plan) ?? []) output.out(c.yellow(safeText(line)));
    if (plan.changes.length === 0) {
      outcome = 'no-changes';
      exitStatus = 0;
      if (flow.verify && !(await flow.verify(session))) {
        outcome = 'failed';
        exitStatus = 1;
        failure = 'the verification after the run found the live project still differs';
      }
      return exitStatus;
    }

    // Every secret the writes need must be set before the first write, and none may be a key.
    const secrets = requiredSecrets(plan);
    const keyAsSecret = secretHoldingKey(secrets, env, processEnv);
    if (keyAsSecret) {
      outcome = 'refused';
      throw new EnvironmentError(`${keyAsSecret.address}: the client secret variable ${keyAsSecret.env} holds the value of ${keyAsSecret.holder}, a management key; nothing was applied`, {
        hint: `set ${keyAsSecret.env} to the identity provider's client secret, then ${flow.command} again`,
      });
    }
    const missing = secrets.filter((s) => !processEnv[s.env]);
    // The embedded emulator checks no secret: a placeholder keeps `--env local` free of set-up.
    const placeholders = new Set<string>();
    if (missing.length > 0 && env.target === 'emulator') {
      for (const m of missing) placeholders.add(m.env);
      output.err(c.dim(`note: ${[...placeholders].map(safeText).join(', ')} ${placeholders.size === 1 ? 'is' : 'are'} not set; the emulator gets a placeholder secret instead`));
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
        await confirm(ctx, plan, session, verb, flow);
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
      output.out(c.dim(`Backup ${safeText(backup.id)} taken (${describeState(backup.state)}); undo with: descope-run rollback --env ${safeText(env.name)} --to ${safeText(backup.id)}`));
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
        output.out(`  ${mark} ${safeText(result.address)} ${c.dim(what)}`);
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
        failure = 'the verification after the run found the live project still differs';
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
        output.out(`  ${result.status === 'failed' ? c.red('✗') : c.yellow('–')} ${same.length} changes: ${safeFolded(error?.message ?? 'failed')}`);
        output.out(`      ${same.map((r) => `${SYMBOLS[r.action]} ${safeText(r.address)}`).join(', ')}`);
        if (error?.hint) output.out(c.dim(`      hint: ${safeFolded(error.hint)}`));
        continue;
      }
      // The message starts with the address and names the status and code; show each once.
      const message = (error?.message ?? 'failed').replace(new RegExp(`^${escapeRegExp(result.address)}: `), '');
      const parts = error ? [error.status, error.code].filter((x) => x !== undefined).map(String) : [];
      const code = parts.length > 0 && !parts.every((p) => message.includes(p)) ? ` (${parts.join(' ')})` : '';
      // Descope's error text (or a proxy's page) is quoted: one line, made safe.
      output.out(`  ${result.status === 'failed' ? c.red('✗') : c.yellow('–')} ${SYMBOLS[result.action]} ${safeText(result.address)}: ${safeFolded(`${message}${code}`)}`);
      if (error?.hint) output.out(c.dim(`      hint: ${safeFolded(error.hint)}`));
    }
    output.out('');
    output.out(`Run "${safeText(commandLine(rerunOf(flow, 'finish', session)))}" again to finish: what landed is not redone.`);
    outcome = done > 0 ? 'partial' : 'failed';
    exitStatus = 1;
    return 1;
  } catch (error) {
    exitStatus = 1;
    failure = describeFailure(error);
    threw = true;
    throw error;
  } finally {
    status.clear();
    try {
      await session.close();
    } catch (error) {
      // Closing may still write (the embedded emulator saves its state): a run whose close
      // fails exits 1 (the error goes on to the handler), and is recorded so.
      exitStatus = 1;
      failure ??= describeFailure(error);
      closeError = { error };
    }
    // Every run that reached the project is recorded, also one that stopped before it had a plan.
    const record = auditRecord();
    try {
      appendAuditRecord(root, env.name, record);
    } catch (error) {
      if (!isDescopeRunError(error)) throw error;
      output.err(`${c.yellow('warning:')} ${safeText(error.message)}`);
    }
    await journal?.finish();
    await lock?.release();
    // A failed close is the run's error unless an earlier one is on its way already.
    if (closeError && !threw) throw closeError.error;
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
    if (change.kind === 'tenant') tenants.add((change.before ?? change.after)!.id);
    if (change.kind === 'flow') flows.add(flowIdOf(change));
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

/** What the audit record says went wrong: our errors' messages; of a bug, only its kind (its message was never meant for a record). */
function describeFailure(error: unknown): string {
  if (isDescopeRunError(error)) return error.message;
  return `unexpected ${error instanceof Error ? error.name : typeof error} (a bug in descope-run)`;
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
