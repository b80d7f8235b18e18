// The audit log: one JSON line per apply (and rollback) in .descope/audit/<env>.jsonl under the
// project root. Owns the record's shape, appending it safely (private modes, one O_APPEND write per
// record so concurrent writers never interleave, a torn last line kept on a line of its own),
// reading it back tolerantly, and the table `descope-run audit` prints.
//
// A record never holds a secret: callers pass only addresses, Descope error codes and messages,
// fingerprints and ids. Nothing here scrubs, so nothing else may be passed in.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescopeRunError, EnvironmentError } from '../../errors.ts';
// The environment-name rule also keeps a name from reaching outside the audit folder.
import { ENV_NAME } from '../config/environment.ts';
import { formatJson, safeText } from '../cli/safe-text.ts';

export const AUDIT_VERSION = 1;

/** `interrupted`: a run that was killed mid-write, recorded by the next run from its journal (./journal.ts). */
export type AuditOutcome = 'applied' | 'no-changes' | 'partial' | 'failed' | 'stale' | 'refused' | 'aborted' | 'interrupted';

export interface AuditChange {
  address: string;
  action: 'create' | 'update' | 'replace' | 'delete';
  result: 'done' | 'failed' | 'skipped';
  error?: { status?: number; code?: string; message: string };
}

export interface AuditRecord {
  version: 1;
  /** ISO 8601, when the run started. */
  time: string;
  command: 'apply' | 'rollback';
  tool: { name: 'descope-run'; version: string };
  /** The operating-system user. */
  user: string;
  host: string;
  /** When the project root is in a git repository. */
  git?: { commit: string; author: string; dirty: boolean };
  environment: string;
  /** For the embedded emulator, the emulator's project id. */
  projectId: string;
  planFingerprint: string;
  liveFingerprint: string;
  outcome: AuditOutcome;
  changes: AuditChange[];
  backupId?: string;
  /** A rollback: the backup it restored. */
  restoredFrom?: string;
  /** Why the run stopped, when it stopped on an error of its own (a stale plan, a refusal, a rejected key). */
  error?: string;
  durationMs: number;
  exitStatus: number;
}

export interface AuditProblem {
  /** Relative to the project root, e.g. `.descope/audit/local.jsonl`. */
  file: string;
  /** 1-based. */
  line: number;
  message: string;
}

export interface AuditLog {
  /** Sorted by time across every file read; `file` is relative to the project root. */
  records: (AuditRecord & { file: string })[];
  problems: AuditProblem[];
}

const AUDIT_DIR = path.join('.descope', 'audit');
const GIT_TIMEOUT_MS = 2000;

/** `<root>/.descope/audit/<env>.jsonl`. Throws on a name that is not a valid environment name. */
export function auditLogPath(root: string, env: string): string {
  if (!ENV_NAME.test(env)) {
    throw new EnvironmentError(`environment "${env}": not a valid environment name`, {
      hint: 'use letters, digits, "-" and "_", e.g. --env staging',
    });
  }
  return path.join(root, AUDIT_DIR, `${env}.jsonl`);
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    timeout: GIT_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'ignore'],
    // A status run must not take the index lock from under the user's own git commands.
    env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
  });
}

/**
 * HEAD's commit and author and whether the tree is dirty (ignoring `<cwd>/.descope/`); undefined
 * outside a repository, without git, or before the first commit. Never throws. Pass the project root.
 */
export function readGitInfo(cwd: string): AuditRecord['git'] | undefined {
  try {
    const commit = git(cwd, ['rev-parse', '--verify', 'HEAD']).trim();
    if (!/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
    const author = git(cwd, ['log', '-1', '--format=%an <%ae>', 'HEAD']).trim();
    // The audit log (and later backups) is not a change to the project: without the exclusion every
    // apply after the first would be recorded as dirty because of the previous apply's own record.
    const status = git(cwd, ['status', '--porcelain', '--', ':(exclude).descope']);
    return { commit, author, dirty: status.trim() !== '' };
  } catch {
    return undefined;
  }
}

/** The operating-system user name, else $USER / $USERNAME, else `unknown`. */
export function currentUser(): string {
  try {
    const name = os.userInfo().username;
    if (name) return name;
  } catch {
    // No passwd entry (e.g. a container running under an arbitrary uid).
  }
  return process.env.USER || process.env.USERNAME || 'unknown';
}

function ioError(root: string, file: string, doing: string, error: unknown): DescopeRunError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DescopeRunError('io', `${path.relative(root, file)}: could not ${doing}: ${reason}`, {
    hint: `check that ${path.relative(root, path.dirname(file)) || '.'} is writable by you`,
    cause: error,
  });
}

/** Whether the file exists, is non-empty and its last byte is not a newline (a killed writer's torn line). */
function endsTorn(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Appends one record as one line to `.descope/audit/<env>.jsonl`; returns the file's path. */
export function appendAuditRecord(root: string, env: string, record: AuditRecord): string {
  const file = auditLogPath(root, env);
  const descopeDir = path.dirname(path.dirname(file));
  const auditDir = path.dirname(file);
  try {
    const created = [descopeDir, auditDir].filter((dir) => !existsSync(dir));
    mkdirSync(auditDir, { recursive: true, mode: 0o700 });
    // mkdir's mode passes through the umask; folders that were already there are the user's.
    for (const dir of created) chmodSync(dir, 0o700);

    const existed = existsSync(file);
    const prefix = existed && endsTorn(file) ? '\n' : '';
    // One write with O_APPEND: concurrent writers each land whole lines.
    // formatJson: the same JSON, with bidi and control characters escaped, so `tail` shows text.
    appendFileSync(file, `${prefix}${formatJson(record)}\n`, { mode: 0o600, flag: 'a' });
    if (!existed || (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (error) {
    throw ioError(root, file, 'write the audit record', error);
  }
  return file;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAuditRecord(value: unknown): value is AuditRecord {
  if (!isObject(value)) return false;
  const { version, time, command, user, environment, projectId, outcome, changes, durationMs, exitStatus } = value;
  return (
    version === AUDIT_VERSION &&
    typeof time === 'string' &&
    !Number.isNaN(Date.parse(time)) &&
    typeof command === 'string' &&
    typeof user === 'string' &&
    typeof environment === 'string' &&
    typeof projectId === 'string' &&
    typeof outcome === 'string' &&
    typeof durationMs === 'number' &&
    typeof exitStatus === 'number' &&
    Array.isArray(changes) &&
    changes.every((c) => isObject(c) && typeof c.address === 'string' && typeof c.result === 'string')
  );
}

function readLines(root: string, file: string, log: AuditLog): void {
  const display = path.relative(root, file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(root, file, 'read the audit log', error);
  }
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (isAuditRecord(value)) {
      log.records.push({ ...value, file: display });
    } else {
      log.problems.push({ file: display, line: index + 1, message: 'not a valid audit record (a torn write?); skipped' });
    }
  }
}

/**
 * Reads one environment's log, or every `*.jsonl` in `.descope/audit/`. A missing folder or file
 * is an empty log; a line that is not a record is reported as a problem and skipped.
 */
export function readAuditLog(root: string, options: { env?: string; since?: Date } = {}): AuditLog {
  const log: AuditLog = { records: [], problems: [] };
  let files: string[];
  if (options.env !== undefined) {
    files = [auditLogPath(root, options.env)];
  } else {
    const dir = path.join(root, AUDIT_DIR);
    try {
      files = readdirSync(dir)
        .filter((name) => name.endsWith('.jsonl'))
        .sort()
        .map((name) => path.join(dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return log;
      throw ioError(root, dir, 'read the audit folder', error);
    }
  }
  for (const file of files) readLines(root, file, log);

  const since = options.since?.getTime();
  if (since !== undefined) log.records = log.records.filter((r) => Date.parse(r.time) >= since);
  // Stable: records with the same time keep file order, then line order.
  log.records.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return log;
}

export interface AuditPaint {
  red(s: string): string;
  green(s: string): string;
  dim(s: string): string;
}

function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return safeText(iso);
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function formatCommit(git: AuditRecord['git']): string {
  if (!git) return '-';
  return `${safeText(String(git.commit).slice(0, 8))}${git.dirty ? '*' : ''}`;
}

function formatChanges(changes: readonly AuditChange[]): string {
  const counts = { done: 0, failed: 0, skipped: 0 };
  for (const change of changes) if (Object.hasOwn(counts, change.result)) counts[change.result] += 1;
  const parts = (['done', 'failed', 'skipped'] as const).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function paintOutcome(outcome: string, paint: AuditPaint | undefined): (s: string) => string {
  if (!paint) return (s) => s;
  if (outcome === 'applied') return paint.green;
  if (outcome === 'no-changes' || outcome === 'aborted') return paint.dim;
  return paint.red;
}

const HEADER = ['TIME', 'ENV', 'USER', 'COMMIT', 'CHANGES', 'OUTCOME', 'DURATION'] as const;

/**
 * The records as the lines of a table, a header first. Pure; colours the outcome only when given
 * `paint`. The log is a file anyone with the folder can edit: every cell is made safe.
 */
export function formatAuditTable(records: readonly AuditRecord[], options: { paint?: AuditPaint } = {}): string[] {
  const rows = records.map((r) => [
    formatTime(r.time),
    safeText(r.environment),
    safeText(r.user),
    formatCommit(r.git),
    formatChanges(r.changes),
    safeText(r.outcome),
    formatDuration(r.durationMs),
  ]);
  const width = (text: string): number => [...text].length;
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => width(row[i]!))));
  const OUTCOME = HEADER.indexOf('OUTCOME');
  const line = (cells: readonly string[], paintCell: (i: number, s: string) => string) =>
    cells
      .map((cell, i) => paintCell(i, i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd();
  return [
    line(HEADER, (_, s) => s),
    ...rows.map((row, r) => line(row, (i, s) => (i === OUTCOME ? paintOutcome(records[r]!.outcome, options.paint)(s) : s))),
  ];
}
