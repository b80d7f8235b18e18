// The journal of the writes in progress: `.descope/locks/<env>-<projectId>.journal` (mode 0600),
// kept while an apply or rollback holds the lock and writes. Append-only, one JSON line per write
// (one write(2) each, so a kill leaves whole lines): a `start` line before the first change is
// sent, holding the run's audit record as it stands then, and one `result` line per change as it
// settles. A run that ends deletes it once its own audit record is written. A run that was killed
// leaves it behind; the next apply or rollback (holding the lock) finds it, appends the killed
// run's audit record (outcome `interrupted`, with the results it had recorded), says how far it got
// and deletes it. The next run re-plans from the live project, so it never needs the journal to
// know what is left; the journal is the record of what happened.
import { appendFileSync, chmodSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DescopeRunError } from '../errors.ts';
import { appendAuditRecord, readAuditLog, type AuditChange, type AuditRecord } from './audit.ts';
import { lockPath } from './lock.ts';

interface StartLine {
  type: 'start';
  pid: number;
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
  finish(): void;
}

export interface InterruptedRun {
  pid: number;
  /** The audit record appended for it (outcome `interrupted`). */
  record: AuditRecord;
  /** Changes whose result was recorded. */
  settled: number;
  total: number;
}

export function journalPath(root: string, env: string, projectId: string): string {
  return lockPath(root, env, projectId).replace(/\.lock$/, '.journal');
}

/** Starts the journal of a run that holds the lock; `record` is its audit record as it stands now. */
export function startJournal(root: string, env: string, projectId: string, record: AuditRecord): Journal {
  const file = journalPath(root, env, projectId);
  const start: StartLine = {
    type: 'start',
    pid: process.pid,
    record: { ...record, outcome: 'interrupted', changes: record.changes.map(({ address, action }) => ({ address, action, result: 'skipped' })) },
  };
  try {
    // The lock folder exists (the lock is held). 'w': a journal left here was already read by recoverInterruptedRun.
    appendFileSync(file, `${JSON.stringify(start)}\n`, { mode: 0o600, flag: 'w' });
    chmodSync(file, 0o600);
  } catch (error) {
    throw new DescopeRunError('io', `${path.relative(root, file)}: could not start the journal of this ${record.command} (${(error as NodeJS.ErrnoException).code ?? String(error)}); nothing was changed`, {
      hint: `check that ${path.relative(root, path.dirname(file))} is writable by you`,
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
      try {
        appendFileSync(file, `${JSON.stringify(line)}\n`, { flag: 'a' });
      } catch {
        broken = true;
      }
    },
    finish() {
      rmSync(file, { force: true });
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
      out.start = value as StartLine;
    } else if (v.type === 'result' && typeof v.address === 'string' && typeof v.result === 'string') {
      out.results.push(value as ResultLine);
    }
  }
  return out;
}

/**
 * The run the journal was left by, now recorded in the audit log, and the journal removed;
 * undefined when there is none (or the run had recorded itself). Call while holding the lock.
 */
export function recoverInterruptedRun(root: string, env: string, projectId: string, now = new Date()): InterruptedRun | undefined {
  const file = journalPath(root, env, projectId);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DescopeRunError('io', `${path.relative(root, file)}: could not read the journal of an interrupted run (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: `check its permissions, or remove it (the next apply re-plans from the live project either way)`,
      cause: error,
    });
  }
  const { start, results } = parseLines(text);
  if (!start) {
    // Killed while writing its first line, before any change was sent.
    rmSync(file, { force: true });
    return undefined;
  }
  // A run killed after its own audit record was written, before it deleted its journal, was not interrupted.
  const own = readAuditLog(root, { env }).records.some(
    (r) => r.time === start.record.time && r.command === start.record.command && r.host === start.record.host && r.user === start.record.user,
  );
  if (own) {
    rmSync(file, { force: true });
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
    error: `interrupted (killed?) after ${settled} of ${total} changes; found by the next run at ${now.toISOString()}`,
    durationMs: Math.max(0, Date.parse(last ?? start.record.time) - Date.parse(start.record.time)) || 0,
    exitStatus: 1,
  };
  appendAuditRecord(root, env, record);
  rmSync(file, { force: true });
  return { pid: start.pid, record, settled, total };
}
