// The journal of the writes in progress, kept by the held project lock (./lock.ts: with the file
// backend, `<lock folder>/<lock>.journal`, mode 0600, next to the lock). Append-only, one JSON
// line per write (one write(2) each, so a kill leaves whole lines): a `start` line before the first
// change is sent, holding the run's audit record as it stands then and the checkout and environment
// it came from, and one `result` line per change as it settles. A run that ends deletes it once its
// own audit record is written. A run that was killed leaves it behind; the next apply or rollback
// of that project (from any checkout on the machine, holding the lock) finds it, appends the killed
// run's audit record (outcome `interrupted`, with the results it had recorded) to the audit log of
// the checkout the killed run came from, says how far it got and deletes it. The next run re-plans
// from the live project, so it never needs the journal to know what is left; the journal is the
// record of what happened.
import { statSync } from 'node:fs';
import path from 'node:path';
import { DescopeRunError, isDescopeRunError } from '../../errors.ts';
import { appendAuditRecord, readAuditLog, type AuditChange, type AuditRecord } from '../store/audit-log.ts';
import { printable, type HeldLock } from './lock.ts';

interface StartLine {
  type: 'start';
  pid: number;
  host?: string;
  /** The checkout (project root) the run came from: its audit log is where the run's record belongs. */
  checkout?: string;
  /** The environment name it ran with (the audit log's name). */
  environment?: string;
  /** The run's audit record when its writes started (every change `skipped`, outcome `interrupted`). */
  record: AuditRecord;
}

interface ResultLine {
  type: 'result';
  /** ISO 8601. */
  at: string;
  address: string;
  result: AuditChange['result'];
  error?: AuditChange['error'];
}

export interface SettledChange {
  address: string;
  status: AuditChange['result'];
  error?: { status?: number; code?: string; message: string };
}

export interface Journal {
  /** Appends one change's result. Never throws: the journal must not stop an apply. */
  record(change: SettledChange): void;
  /** Deletes the journal (call after the run's audit record is written). */
  finish(): Promise<void>;
}

export interface InterruptedRun {
  pid: number;
  host?: string;
  /** The checkout it came from, when the journal says. */
  checkout?: string;
  /** The audit record appended for it (outcome `interrupted`). */
  record: AuditRecord;
  /** The audit log that record was appended to. */
  auditLog: string;
  /** Changes whose result was recorded. */
  settled: number;
  total: number;
}

/**
 * Starts the journal of a run that holds `lock`; `record` is its audit record as it stands now.
 * Refuses (nothing was changed yet) when the lock is no longer this run's.
 */
export async function startJournal(lock: HeldLock, record: AuditRecord): Promise<Journal> {
  lock.assertHeld();
  const store = lock.journal;
  const start: StartLine = {
    type: 'start',
    pid: process.pid,
    host: lock.holder.host,
    ...(lock.holder.checkout ? { checkout: lock.holder.checkout } : {}),
    ...(lock.holder.environment ? { environment: lock.holder.environment } : {}),
    record: { ...record, outcome: 'interrupted', changes: record.changes.map(({ address, action }) => ({ address, action, result: 'skipped' })) },
  };
  try {
    await store.start(`${JSON.stringify(start)}\n`);
  } catch (error) {
    if (isDescopeRunError(error)) throw error;
    throw new DescopeRunError('io', `${store.where}: could not start the journal of this ${record.command} (${(error as NodeJS.ErrnoException).code ?? String(error)}); nothing was changed`, {
      hint: `check that ${path.dirname(store.where)} is writable by you`,
      cause: error,
    });
  }
  let broken = false;
  return {
    record(change) {
      if (broken) return;
      const line: ResultLine = {
        type: 'result',
        at: new Date().toISOString(),
        address: change.address,
        result: change.status,
        ...(change.error ? { error: auditError(change.error) } : {}),
      };
      if (!store.append(`${JSON.stringify(line)}\n`)) broken = true;
    },
    async finish() {
      await store.remove();
    },
  };
}

function auditError(error: NonNullable<SettledChange['error']>): NonNullable<AuditChange['error']> {
  return {
    message: error.message,
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.code !== undefined ? { code: error.code } : {}),
  };
}

function parseLines(text: string): { start?: StartLine; results: ResultLine[] } {
  const out: { start?: StartLine; results: ResultLine[] } = { results: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // a torn last line: what it was about is re-read from the live project
    }
    if (typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    const record = v.record as Partial<AuditRecord> | null | undefined;
    const wellFormed =
      typeof record === 'object' &&
      record !== null &&
      typeof record.time === 'string' &&
      typeof record.command === 'string' &&
      Array.isArray(record.changes) &&
      record.changes.every((c: unknown) => typeof c === 'object' && c !== null && typeof (c as AuditChange).address === 'string' && typeof (c as AuditChange).action === 'string');
    if (v.type === 'start' && typeof v.pid === 'number' && wellFormed) {
      const start = value as StartLine;
      out.start = {
        ...start,
        // Where the record goes is a path from a file: only an absolute folder and an environment name are taken.
        checkout: typeof start.checkout === 'string' && path.isAbsolute(start.checkout) ? start.checkout : undefined,
        environment: typeof start.environment === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(start.environment) ? start.environment : undefined,
      } as StartLine;
    } else if (v.type === 'result' && typeof v.address === 'string' && typeof v.result === 'string') {
      out.results.push(value as ResultLine);
    }
  }
  return out;
}

const isFolder = (dir: string): boolean => {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
};

/**
 * The run the journal of `lock` was left by, now recorded in the audit log of the checkout it came
 * from (or, when that folder is gone, of this run's), and the journal removed; undefined when there
 * is none (or the run had recorded itself). Call while holding the lock.
 */
export async function recoverInterruptedRun(lock: HeldLock, now = new Date()): Promise<InterruptedRun | undefined> {
  const store = lock.journal;
  let text: string | undefined;
  try {
    text = await store.read();
  } catch (error) {
    throw new DescopeRunError('io', `${store.where}: could not read the journal of an interrupted run (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: `check its permissions, or remove it (the next apply re-plans from the live project either way)`,
      cause: error,
    });
  }
  if (text === undefined) return undefined;
  const { start, results } = parseLines(text);
  if (!start) {
    // Killed while writing its first line, before any change was sent.
    await store.remove();
    return undefined;
  }
  const here = { root: lock.holder.checkout ?? process.cwd(), env: lock.holder.environment ?? start.record.environment };
  const origin = { root: start.checkout ?? here.root, env: start.environment ?? start.record.environment ?? here.env };
  const originThere = isFolder(origin.root);
  // A run killed after its own audit record was written, before it deleted its journal, was not interrupted.
  const own =
    originThere &&
    readAuditLog(origin.root, { env: origin.env }).records.some(
      (r) => r.time === start.record.time && r.command === start.record.command && r.host === start.record.host && r.user === start.record.user,
    );
  if (own) {
    await store.remove();
    return undefined;
  }
  const byAddress = new Map(results.map((r) => [r.address, r]));
  const settled = start.record.changes.filter((change) => byAddress.has(change.address)).length;
  const total = start.record.changes.length;
  const last = results.at(-1)?.at;
  const record: AuditRecord = {
    ...start.record,
    outcome: 'interrupted',
    changes: start.record.changes.map((change) => {
      const result = byAddress.get(change.address);
      if (result) return { address: change.address, action: change.action, result: result.result, ...(result.error ? { error: result.error } : {}) };
      return { address: change.address, action: change.action, result: 'skipped', error: { message: 'no result recorded: the run was interrupted before it settled' } };
    }),
    error: `interrupted (killed?) after ${settled} of ${total} changes; found by the next run${origin.root !== here.root ? ` in ${here.root}` : ''} at ${now.toISOString()}`,
    durationMs: Math.max(0, Date.parse(last ?? start.record.time) - Date.parse(start.record.time)) || 0,
    exitStatus: 1,
  };
  let auditLog: string;
  try {
    // Never re-create a checkout that was deleted: then the record goes to this run's log.
    if (!originThere) throw new Error('the checkout is gone');
    auditLog = appendAuditRecord(origin.root, origin.env, record);
  } catch (error) {
    if (originThere && !isDescopeRunError(error)) throw error;
    auditLog = appendAuditRecord(here.root, here.env, record);
  }
  await store.remove();
  return {
    pid: start.pid,
    ...(start.host ? { host: start.host } : {}),
    ...(start.checkout ? { checkout: start.checkout } : {}),
    record,
    auditLog,
    settled,
    total,
  };
}

/** `the previous apply (pid 4242 on host ci-7, started …, in /home/alice/site) was interrupted after 12 of 30 changes` and where that is recorded. */
export function describeInterruptedRun(run: InterruptedRun, root: string): string {
  const host = run.host ? ` on host ${printable(run.host, '?')}` : '';
  const from = run.checkout ? `, in ${printable(run.checkout, '?')}` : '';
  const log = path.relative(root, run.auditLog);
  const shown = log && !log.startsWith('..') && !path.isAbsolute(log) ? log : run.auditLog;
  return `the previous ${printable(run.record.command, 'run')} (pid ${run.pid}${host}, started ${printable(run.record.time, '?')}${from}) was interrupted after ${run.settled} of ${run.total} changes (recorded in ${shown}); re-planning from the live project`;
}

