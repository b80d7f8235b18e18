// descope-run drift: where the live project differs from the config, and who changed it last.
// The plan is made exactly as diff makes it (openSession + planSession: same normalisation, no
// noise); drift-report.ts turns it into a report and renders it. Writes nothing to Descope.
//
// Attribution: ONE audit search per check, and only when something drifted. When it fails (a real
// project without the audit licence answers 403 or 501), the report says so in one line and the
// command goes on: attribution is a nicety, never a reason to fail.
//
// --watch INTERVAL re-reads the live project every INTERVAL (the config is compiled once, at
// start), prints one line per check, rewrites --out FILE when given, and with --notify URL POSTs a
// summary when addresses that were not drifted at the previous check are (at the first check:
// any drift). A failed check or POST is a warning; SIGINT or SIGTERM stops it with exit 0.
//
// The shortest interval is 5 s. DESCOPE_RUN_MIN_WATCH_MS (milliseconds) lowers it: for tests only,
// so a watch test does not wait 5 s per check.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDescopeRunError, UsageError } from '../../../errors.ts';
import { searchAudit, type AuditEntry } from '../../../runtime/index.ts';
import type { CommandContext, CommandRun } from '../cli.ts';
import { connect } from '../connect.ts';
import {
  computeDrift,
  computeDriftDelta,
  computeNotification,
  DRIFT_FORMATS,
  formatDrift,
  formatDriftText,
  formatWatchLine,
  isDriftReport,
  type DriftFormat,
  type DriftNotification,
  type DriftReport,
} from '../../plan/drift-report.ts';
import { openSession, planSession } from '../session.ts';
import { checkOutFile, forceFlag, writeOutFile, type ExistingFile } from '../../store/private-file.ts';
import type { Output } from '../output.ts';
import { formatJson, safeFolded, safeText } from '../safe-text.ts';

export const MIN_WATCH_MS = 5_000;
const NOTIFY_TIMEOUT_MS = 10_000;

interface DriftOptions {
  format: DriftFormat;
  out: string | undefined;
  /** --force: --out may replace a file that is no drift report. */
  force: boolean;
  exitCode: boolean;
  watchMs: number | undefined;
  notify: URL | undefined;
}

/** A session with the compiled config (what planSession needs). */
type Session = Awaited<ReturnType<typeof openSession>>;

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `30s`, `5m`, `1h`, `1.5m`, `500ms` → milliseconds, at least `minMs`. */
export function parseWatchInterval(value: string, minMs: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!match) {
    throw new UsageError(`--watch "${value}": not an interval`, { hint: 'a number and a unit: e.g. 30s, 5m or 1h' });
  }
  const ms = Math.round(Number(match[1]) * UNITS[match[2] as string]!);
  if (ms < minMs) {
    throw new UsageError(`--watch "${value}": too short; the shortest interval is ${minMs % 1000 === 0 ? `${minMs / 1000}s` : `${minMs}ms`}`, {
      hint: 'e.g. --watch 30s',
    });
  }
  return ms;
}

function minWatchMs(processEnv: NodeJS.ProcessEnv): number {
  const raw = processEnv.DESCOPE_RUN_MIN_WATCH_MS;
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : MIN_WATCH_MS;
}

function parseOptions(values: CommandContext['values'], processEnv: NodeJS.ProcessEnv): DriftOptions {
  const formatValue = values.format;
  if (formatValue !== undefined && !(typeof formatValue === 'string' && (DRIFT_FORMATS as readonly string[]).includes(formatValue))) {
    throw new UsageError(`--format "${String(formatValue)}": not a format; the formats are ${DRIFT_FORMATS.join(', ')}`, {
      hint: 'e.g. --format html --out drift.html',
    });
  }
  const watchMs = typeof values.watch === 'string' ? parseWatchInterval(values.watch, minWatchMs(processEnv)) : undefined;
  let notify: URL | undefined;
  if (typeof values.notify === 'string') {
    if (watchMs === undefined) throw new UsageError('--notify needs --watch', { hint: 'e.g. --watch 5m --notify https://hooks.slack.com/services/…' });
    try {
      notify = new URL(values.notify);
    } catch {
      notify = undefined;
    }
    if (!notify || (notify.protocol !== 'http:' && notify.protocol !== 'https:')) {
      throw new UsageError('--notify: not an http(s) URL', { hint: 'e.g. --notify https://hooks.slack.com/services/…' });
    }
  }
  if (watchMs !== undefined && values['exit-code'] === true) {
    throw new UsageError('--exit-code cannot be used with --watch', { hint: '--watch runs until stopped and then exits 0' });
  }
  return {
    format: (formatValue as DriftFormat | undefined) ?? 'text',
    out: typeof values.out === 'string' ? values.out : undefined,
    force: forceFlag(values),
    exitCode: values['exit-code'] === true,
    watchMs,
    notify,
  };
}

/** What a failed audit search becomes in the report: one short reason. */
function auditReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^audit: /, '');
}

interface AuditMemory {
  /** Set after an answer that will not change on the next check (401, 403, 404, 501). */
  unavailable?: string;
}

async function checkDrift(session: Session, memory: AuditMemory): Promise<DriftReport> {
  const now = new Date();
  const checkedAt = now.toISOString();
  const { plan } = await planSession(session, { allowDelete: false, targets: [], now: checkedAt });
  let audit: AuditEntry[] | undefined;
  let auditUnavailable = memory.unavailable;
  if (plan.changes.length + plan.held.length > 0 && auditUnavailable === undefined) {
    try {
      audit = await searchAudit(session.connection.api, { now: now.getTime() });
    } catch (error) {
      auditUnavailable = auditReason(error);
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number' && [401, 403, 404, 501].includes(status)) memory.unavailable = auditUnavailable;
    }
  }
  return computeDrift(plan, {
    checkedAt,
    ...(audit ? { audit } : {}),
    ...(auditUnavailable ? { auditUnavailable } : {}),
  });
}

/** A drift report in any format (drift-report.ts marks each), which `--out` may replace. */
const driftTarget = (options: DriftOptions, cwd: string) => ({
  file: path.resolve(cwd, options.out!),
  display: options.out!,
  ours: (existing: ExistingFile) => isDriftReport(existing.head()),
});

/** Writes atomically, mode 0600; over an existing file only when it is a drift report, or with --force. */
function writeReportFile(options: DriftOptions, cwd: string, content: string): void {
  writeOutFile({ ...driftTarget(options, cwd), content }, { what: 'the drift report', force: options.force });
}

function printReport(output: Output, cwd: string, report: DriftReport, options: DriftOptions): void {
  if (options.out) {
    writeReportFile(options, cwd, formatDrift(report, options.format));
    output.err(`Wrote the drift report (${report.drifted.length} drifted) to ${safeText(options.out)}.`);
  } else if (options.format === 'text') {
    for (const line of formatDriftText(report, output.c)) output.out(line);
  } else {
    // Through the output layer like every other line; out() adds the final newline back.
    output.out(formatDrift(report, options.format).replace(/\n$/, ''));
  }
}

export const run: CommandRun = async (ctx) => {
  const options = parseOptions(ctx.values, ctx.processEnv);
  // Refused before the live project is read (and before a watch starts): a wrong --out costs no API call.
  if (options.out) checkOutFile(driftTarget(options, ctx.cwd), { what: 'the drift report', force: options.force });
  const holder = { session: await openSession(ctx) };
  try {
    if (options.watchMs !== undefined) return await watch(ctx, holder, options, options.watchMs);
    const report = await checkDrift(holder.session, {});
    printReport(ctx.output, ctx.cwd, report, options);
    return options.exitCode && report.drifted.length > 0 ? 2 : 0;
  } finally {
    await holder.session.close();
  }
};

// ---------------------------------------------------------------------------------------------
// --watch

/** An error's message on one line, safe to print (it may quote a server's text). */
function message(error: unknown): string {
  return safeFolded(isDescopeRunError(error) || error instanceof Error ? error.message : String(error));
}

/** Resolves with the promise, or with `aborted` when the signal fires first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<{ value: T } | 'aborted'> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.resolve('aborted');
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ value });
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) resolve('aborted');
        else reject(error);
      },
    );
  });
}

/** POSTs the summary; any failure is a warning. Only the URL's origin is printed (a webhook URL is a secret). */
async function postNotification(output: Output, url: URL, payload: DriftNotification, signal: AbortSignal): Promise<void> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: formatJson(payload),
      signal: AbortSignal.any([signal, AbortSignal.timeout(NOTIFY_TIMEOUT_MS)]),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) output.err(output.c.yellow(`warning: --notify: ${safeText(url.origin)} answered ${response.status}; will notify again on new drift`));
  } catch (error) {
    if (signal.aborted) return;
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    output.err(output.c.yellow(`warning: --notify: could not POST to ${safeText(url.origin)} (${typeof cause === 'string' ? safeText(cause) : message(error)})`));
  }
}

/** One check; a failure is a warning (undefined), after which the next check gets a fresh API client. */
async function watchCheck(ctx: CommandContext, holder: { session: Session }, memory: AuditMemory, signal: AbortSignal): Promise<DriftReport | undefined> {
  try {
    const outcome = await untilAborted(checkDrift(holder.session, memory), signal);
    return outcome === 'aborted' ? undefined : outcome.value;
  } catch (error) {
    if (signal.aborted) return undefined;
    const { output } = ctx;
    output.err(output.c.yellow(`warning: ${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} check failed: ${message(error)}`));
    // The client may have stopped for good (too many failures in a row during an outage).
    await holder.session.close().catch(() => undefined);
    const connection = await connect(holder.session.env, { processEnv: ctx.processEnv, root: holder.session.root });
    holder.session = { ...holder.session, connection, close: () => connection.close() };
    return undefined;
  }
}

async function watch(ctx: CommandContext, holder: { session: Session }, options: DriftOptions, intervalMs: number): Promise<number> {
  const { output } = ctx;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const { signal } = controller;
  const memory: AuditMemory = {};
  let previous: Set<string> | undefined;
  try {
    output.err(output.c.dim(`Watching environment "${safeText(holder.session.env.name)}" (${safeText(holder.session.connection.description)}) every ${intervalMs / 1000} s; Ctrl-C stops.`));
    while (!signal.aborted) {
      const report = await watchCheck(ctx, holder, memory, signal);
      if (signal.aborted) break;
      if (report) {
        const delta = computeDriftDelta(previous, report);
        previous = new Set(report.drifted.map((d) => d.address));
        output.out(formatWatchLine(report, delta));
        if (options.out) {
          try {
            // Checked at every write: a file put in its place meanwhile is not replaced (a warning).
            writeReportFile(options, ctx.cwd, formatDrift(report, options.format));
          } catch (error) {
            output.err(output.c.yellow(`warning: ${message(error)}`));
          }
        }
        if (options.notify && delta.newlyDrifted.length > 0) await postNotification(output, options.notify, computeNotification(report, delta), signal);
      }
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
    output.err('Stopped watching.');
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
