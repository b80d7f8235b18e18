// The file backend of the project lock (./lock.ts): one file per project in a per-user folder that
// every checkout on the machine finds, `DESCOPE_RUN_LOCK_DIR`, else
// `$XDG_STATE_HOME/descope-run/locks`, else `~/.local/state/descope-run/locks` (0700; when the home
// folder is unusable, `<tmp>/descope-run-<uid>/locks`, checked to be the user's own). The lock file
// (0600) holds who holds it; the journal of the writes in progress sits next to it.
//
// Taking it is atomic: the content is written to a private temp file, which is then hard-linked
// to the lock's name; link(2) fails when the name exists, like open(O_EXCL), and the lock is never
// seen half written. (On a file system without hard links, open 'wx' and write is the fallback.)
//
// Liveness is a heartbeat: the holder refreshes the lock's mtime every HEARTBEAT_MS from a worker
// thread, so a main thread busy for seconds (computePlan of 100,000 tenants takes ~3 s) never
// stops it. A lock is taken over:
//   - at once, only when its holder is provably dead: the same boot of this machine
//     (/proc/sys/kernel/random/boot_id), the same pid namespace (/proc/self/ns/pid), and its pid
//     gone (kill(pid, 0): ESRCH) or now another process (its start time in /proc/<pid>/stat differs);
//   - when its heartbeat is older than STALE_MS, in every case where the pid cannot be checked:
//     another pid namespace of this machine (a container), namespace information missing or
//     unreadable (no /proc), or, with this host name, a lock last refreshed before this machine
//     booted;
//   - never, for a lock from another host: descope-run cannot see its processes, and a heartbeat
//     read across machines depends on two clocks and a shared file system it cannot check. Its
//     age is shown; the user removes it by hand;
//   - an unreadable lock, once it is a minute old (a complete lock is never unreadable).
// A live holder whose pid is alive in this namespace is never taken over, however old its heartbeat
// (a process stopped with Ctrl-Z is alive).
//
// A stale lock is moved aside by rename, then created again as above. Two processes that judge the
// same lock stale both try to move it, but only the one whose rename moved THAT file (same inode and
// same bytes: inode numbers are reused at once) goes on, and only when, for a heartbeat-judged lock,
// its heartbeat is still old once moved; a rename that moved a lock a racer has just created (or
// one its holder has just refreshed) puts it back (link, which never overwrites), so only one wins.
import { randomBytes, createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  futimesSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  appendFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DescopeRunError, EnvironmentError, LockHeldError } from '../../errors.ts';
import { currentUser } from '../store/audit-log.ts';
import type { HeldLock, JournalStore, LockBackend, LockHolder, LockRequest, LockTarget, StaleLock } from './lock.ts';

/** How often a holder refreshes its lock. */
export const HEARTBEAT_MS = 2_000;
/** A heartbeat older than this is a holder that stopped (ten missed beats). */
export const STALE_MS = 20_000;
/** Unreadable content older than this is a lock whose writer died (a complete one is never unreadable). */
export const GARBAGE_STALE_MS = 60_000;
/** However long a holder says it may go without a beat, never more than this. */
const MAX_STALE_MS = 60 * 60_000;
const ATTEMPTS = 5;
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
/** Errors that make a default folder unusable (try the fallback), not unsafe. */
const UNUSABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'ENOSPC', 'EDQUOT']);

/** The locks this process holds: a lock with our own pid that is not here was left by an earlier process with the same pid. */
const heldHere = new Set<string>();

/** `apply --env staging in /home/alice/site (pid 4242 on host ci-7, user alice, since 2026-11-21T12:30:32.123Z)` */
export function describeHolder(holder: LockHolder): string {
  const env = holder.environment ? ` --env ${holder.environment}` : '';
  const checkout = holder.checkout ? ` in ${holder.checkout}` : '';
  return `${holder.command}${env}${checkout} (pid ${holder.pid} on host ${holder.host}, user ${holder.user}, since ${holder.startedAt})`;
}

/** Terminal-safe text from a lock or journal file (data, shown on the screen): no control characters, no bidi overrides. */
export function printable(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value === '') return fallback;
  return value.slice(0, 500).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '\uFFFD');
}

// --- Where the locks are ------------------------------------------------------------------------

interface Candidate {
  dir: string;
  /** The temp-folder fallback: no symlink anywhere in our part of it (others can write to /tmp). */
  shared?: string;
}

function usableHome(processEnv: NodeJS.ProcessEnv): string | undefined {
  let home: string | undefined = processEnv.HOME;
  if (home === undefined) {
    try {
      home = os.homedir();
    } catch {
      return undefined; // no HOME and no passwd entry
    }
  }
  if (!home || !path.isAbsolute(home) || path.parse(home).root === home) return undefined;
  try {
    return statSync(home).isDirectory() ? home : undefined;
  } catch {
    return undefined;
  }
}

function uid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function defaultCandidates(processEnv: NodeJS.ProcessEnv): Candidate[] {
  const out: Candidate[] = [];
  const xdg = processEnv.XDG_STATE_HOME;
  // The XDG spec: a relative value is invalid and is ignored.
  if (xdg && path.isAbsolute(xdg)) out.push({ dir: path.join(xdg, 'descope-run', 'locks') });
  else {
    const home = usableHome(processEnv);
    if (home) out.push({ dir: path.join(home, '.local', 'state', 'descope-run', 'locks') });
  }
  const tmp = processEnv.TMPDIR && path.isAbsolute(processEnv.TMPDIR) ? processEnv.TMPDIR : os.tmpdir();
  const base = path.join(tmp, `descope-run-${uid() ?? currentUser().replace(/[^A-Za-z0-9_-]/g, '_')}`);
  out.push({ dir: path.join(base, 'locks'), shared: base });
  return out;
}

class UnsafeDir extends Error {}

/** Creates `dir` (0700) if missing; throws UnsafeDir when it is not a folder only this user can change. */
function ensurePrivateDir(dir: string, shared?: string): void {
  const missing: string[] = [];
  for (let current = dir; !existsSync(current); current = path.dirname(current)) missing.push(current);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask; folders that were already there are the user's.
  for (const created of missing) chmodSync(created, 0o700);
  const me = uid();
  const check = shared ? [shared, dir] : [dir];
  for (const folder of check) {
    const stat = shared ? lstatSync(folder) : statSync(folder);
    if (!stat.isDirectory()) throw new UnsafeDir(`${folder} is not a folder${stat.isSymbolicLink() ? ' (a symbolic link)' : ''}`);
    if (me === undefined) continue;
    if (stat.uid !== me) throw new UnsafeDir(`${folder} belongs to uid ${stat.uid}, not to you (uid ${me})`);
    if ((stat.mode & 0o022) !== 0) throw new UnsafeDir(`${folder} is writable by others (mode ${(stat.mode & 0o777).toString(8)})`);
  }
}

function unsafeError(message: string, variable: boolean): DescopeRunError {
  return new EnvironmentError(`lock folder ${message}: another user could take or remove the locks of your applies`, {
    hint: variable ? 'point DESCOPE_RUN_LOCK_DIR at a folder of your own (chmod 700)' : 'fix its owner or mode (chmod 700), or set DESCOPE_RUN_LOCK_DIR to a folder of your own',
  });
}

/**
 * The lock folder of this user, created (0700) and checked: only this user may create, rename or
 * remove entries in it. Throws a DescopeRunError naming the folder when it cannot be used.
 */
export function resolveLockDir(processEnv: NodeJS.ProcessEnv = process.env): string {
  const explicit = processEnv.DESCOPE_RUN_LOCK_DIR;
  if (explicit) {
    if (!path.isAbsolute(explicit)) {
      throw new EnvironmentError(`DESCOPE_RUN_LOCK_DIR: "${explicit}" is not an absolute path`, {
        hint: 'set it to an absolute folder (every checkout must find the same one), or unset it to use ~/.local/state/descope-run/locks',
      });
    }
    try {
      ensurePrivateDir(explicit);
    } catch (error) {
      if (error instanceof UnsafeDir) throw unsafeError(error.message, true);
      throw new DescopeRunError('io', `DESCOPE_RUN_LOCK_DIR: could not use ${explicit} as the lock folder (${errnoOf(error) ?? String(error)})`, {
        hint: 'point it at a folder you can write to',
        cause: error,
      });
    }
    return explicit;
  }
  const candidates = defaultCandidates(processEnv);
  let last: unknown;
  for (const candidate of candidates) {
    try {
      ensurePrivateDir(candidate.dir, candidate.shared);
      return candidate.dir;
    } catch (error) {
      if (error instanceof UnsafeDir) throw unsafeError(error.message, false);
      if (!UNUSABLE.has(errnoOf(error) ?? '')) throw error;
      last = error;
    }
  }
  throw new DescopeRunError('io', `lock folder: could not create ${candidates.map((c) => c.dir).join(' or ')} (${errnoOf(last) ?? String(last)})`, {
    hint: 'set DESCOPE_RUN_LOCK_DIR to a folder you can write to (the same for every checkout)',
    cause: last,
  });
}

/** `project-P2abc….lock`; any other key (or an id with other characters) by its SHA-256. */
export function lockFileName(target: LockTarget): string {
  const colon = target.key.indexOf(':');
  const kind = target.key.slice(0, colon).replace(/[^a-z]/g, '') || 'lock';
  const rest = target.key.slice(colon + 1);
  if (kind === 'project' && /^[A-Za-z0-9_-]{1,100}$/.test(rest)) return `project-${rest}.lock`;
  return `${kind}-${createHash('sha256').update(rest).digest('hex').slice(0, 32)}.lock`;
}

// --- Who this process is --------------------------------------------------------------------------

interface Identity {
  host: string;
  /** Unique per boot of a machine (Linux); undefined when unreadable. */
  bootId?: string;
  /** `pid:[4026531836]` (Linux); undefined when unreadable. */
  pidNamespace?: string;
  /** This process's start time in clock ticks since boot (field 22 of /proc/self/stat). */
  processStart?: string;
  /** /proc shows this pid namespace's pids (it is not the /proc of an outer namespace). */
  procIsOurs: boolean;
}

let identity: Identity | undefined;

function readOr(read: () => string): string | undefined {
  try {
    const value = read().trim();
    return value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
function startTimeOf(pid: number | 'self'): string | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ESRCH' ? 'gone' : undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}

function thisProcess(): Identity {
  if (identity) return identity;
  const bootId = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNamespace = readOr(() => readlinkSync('/proc/self/ns/pid'));
  const procIsOurs = readOr(() => readlinkSync('/proc/self')) === String(process.pid);
  const start = procIsOurs ? startTimeOf('self') : undefined;
  identity = {
    host: os.hostname(),
    ...(bootId ? { bootId } : {}),
    ...(pidNamespace ? { pidNamespace } : {}),
    ...(start && start !== 'gone' ? { processStart: start } : {}),
    procIsOurs,
  };
  return identity;
}

/** When this machine booted (ms since the epoch), for a lock of this host name from another boot. */
function bootedAt(): number {
  return Date.now() - os.uptime() * 1000;
}

// --- The lock file ------------------------------------------------------------------------------

/** What a lock file holds. */
interface LockRecord extends LockHolder {
  /** For a person reading the folder: what is locked. */
  target: string;
  bootId?: string;
  pidNamespace?: string;
  processStart?: string;
  heartbeatMs: number;
  staleAfterMs: number;
  /** Makes every lock's bytes unique, so a lock is known by its inode and content. */
  token: string;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function ioError(file: string, doing: string, error: unknown): DescopeRunError {
  return new DescopeRunError('io', `${file}: could not ${doing} (${errnoOf(error) ?? String(error)})`, {
    hint: `check that ${path.dirname(file)} is writable by you, or set DESCOPE_RUN_LOCK_DIR to a folder that is`,
    cause: error,
  });
}

/** Creates `file` holding `text` if it does not exist; false when it does. */
function createExclusive(file: string, text: string): boolean {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(temp, 0o600);
    linkSync(temp, file);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errnoOf(error) ?? '')) throw error;
  } finally {
    unlinkSync(temp);
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function optionalString(value: unknown, pattern: RegExp): string | undefined {
  return typeof value === 'string' && pattern.test(value) ? value : undefined;
}

function parseRecord(text: string): Partial<LockRecord> & LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!Number.isInteger(v.pid) || (v.pid as number) <= 0 || typeof v.host !== 'string' || v.host === '') return undefined;
  const bootId = optionalString(v.bootId, /^[\w-]{1,100}$/);
  const pidNamespace = optionalString(v.pidNamespace, /^[\w:[\]]{1,100}$/);
  const processStart = optionalString(v.processStart, /^\d{1,20}$/);
  const checkout = typeof v.checkout === 'string' && v.checkout !== '' ? printable(v.checkout, '') : undefined;
  const environment = typeof v.environment === 'string' && v.environment !== '' ? printable(v.environment, '') : undefined;
  return {
    pid: v.pid as number,
    host: printable(v.host, 'unknown'),
    user: printable(v.user, 'unknown'),
    command: printable(v.command, 'unknown'),
    startedAt: printable(v.startedAt, 'an unknown time'),
    ...(checkout ? { checkout } : {}),
    ...(environment ? { environment } : {}),
    ...(bootId ? { bootId } : {}),
    ...(pidNamespace ? { pidNamespace } : {}),
    ...(processStart ? { processStart } : {}),
    ...(Number.isInteger(v.staleAfterMs) && (v.staleAfterMs as number) > 0 ? { staleAfterMs: v.staleAfterMs as number } : {}),
  };
}

function holderOf(record: LockHolder): LockHolder {
  const { pid, host, user, command, startedAt, checkout, environment } = record;
  return { pid, host, user, command, startedAt, ...(checkout ? { checkout } : {}), ...(environment ? { environment } : {}) };
}

interface Found {
  ino: number;
  /** The last heartbeat. */
  mtimeMs: number;
  /** The bytes read: with the inode, what identifies this very lock (inode numbers are reused at once). */
  text: string;
  record: ReturnType<typeof parseRecord>;
}

/** What the lock file holds now; undefined when it is gone. */
function inspect(file: string): Found | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const text = stat.size > 64 * 1024 ? `(${stat.size} bytes)` : readFileSync(fd, 'utf8');
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, record: parseRecord(text) };
  } finally {
    closeSync(fd);
  }
}

const sameLock = (a: Found | undefined, b: Found): boolean => a !== undefined && a.ino === b.ino && a.text === b.text;

// --- Is its holder alive? ---------------------------------------------------------------------------

/** A stale lock's reason; `heartbeatMs` when judged by its heartbeat (checked again once moved aside). */
interface Judged {
  reason: string;
  heartbeatMs?: number;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 120 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** Whether pid `pid` (of this pid namespace) is still the process that took the lock. */
function probe(pid: number, processStart: string | undefined): 'alive' | 'gone' | 'reused' {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: a process of another user has that pid; only its start time can tell it apart.
    if (errnoOf(error) === 'ESRCH') return 'gone';
  }
  if (processStart === undefined || !thisProcess().procIsOurs) return 'alive';
  const now = startTimeOf(pid);
  if (now === 'gone') return 'gone';
  return now !== undefined && now !== processStart ? 'reused' : 'alive';
}

/** Why the lock is stale, or throws LockHeldError when its holder may still run. */
function judge(found: Found, request: LockRequest, file: string, now: number): Judged {
  const where = `${request.environment ? `environment "${request.environment}": ` : ''}${request.target.description}`;
  const again = `run ${request.command} again`;
  const record = found.record;
  const age = now - found.mtimeMs;
  if (!record) {
    if (age > GARBAGE_STALE_MS) return { reason: `its content is unreadable and ${ago(age)} old` };
    throw new LockHeldError(`${where} is locked: ${file} exists but cannot be read yet (another apply taking it, or a damaged file)`, {
      hint: `wait and ${again}; an unreadable lock older than a minute is taken over`,
    });
  }
  const me = thisProcess();
  const who = describeHolder(holderOf(record));
  const bound = Math.min(Math.max(STALE_MS, record.staleAfterMs ?? 0), MAX_STALE_MS);
  const sameBoot = me.bootId !== undefined && me.bootId === record.bootId;
  const otherBoot = me.bootId !== undefined && record.bootId !== undefined && me.bootId !== record.bootId;

  if (sameBoot && me.pidNamespace !== undefined && me.pidNamespace === record.pidNamespace) {
    if (record.pid === process.pid && !heldHere.has(file)) return { reason: `pid ${record.pid} is this process, so the run that took it is gone` };
    const state = probe(record.pid, record.processStart);
    if (state === 'gone') return { reason: `pid ${record.pid} is no longer running` };
    if (state === 'reused') return { reason: `pid ${record.pid} is now another process (it started after the lock was taken)` };
    throw new LockHeldError(`${where} is locked by ${who}; wait for it to finish`, {
      hint: `it is running; if it hangs, stop it (kill ${record.pid}) and ${again}: a lock whose process is gone is taken over at once`,
    });
  }

  const fresh = age <= bound;
  const refreshed = `refreshed the lock ${ago(age)} ago`;
  if (!otherBoot && (sameBoot || record.host === me.host)) {
    // This machine, but its pid cannot be checked from here: only the heartbeat tells.
    const why = !sameBoot
      ? 'its boot id is unknown'
      : record.pidNamespace === undefined || me.pidNamespace === undefined
        ? 'its pid namespace is unknown'
        : 'it runs in another pid namespace (a container?)';
    if (!fresh) return { reason: `${why} and it has not refreshed the lock for ${ago(age)}`, heartbeatMs: bound };
    throw new LockHeldError(`${where} is locked by ${who}, which ${refreshed}; wait for it to finish`, {
      hint: `descope-run cannot check its pid from here (${why}); a lock not refreshed for ${ago(bound)} is taken over, so if that run was killed, ${again} in ${ago(bound - age + 1000)}`,
    });
  }
  if (otherBoot && record.host === me.host && !fresh && found.mtimeMs < bootedAt()) {
    // This host name, another boot, and silent since before this machine started: a run from before a reboot.
    return { reason: `it was last refreshed ${ago(age)} ago, before this machine booted`, heartbeatMs: bound };
  }
  throw new LockHeldError(
    `${where} is locked by ${who}, a run on another host, which descope-run cannot check is still going (it ${refreshed}); wait for it to finish`,
    { hint: `if that run is over (its machine stopped or it was killed), remove ${file} by hand, then ${again}` },
  );
}

/**
 * Moves the stale lock `stale` aside and deletes it. False when the lock was no longer that file
 * (gone, or replaced by a racer's fresh lock) or, judged by its heartbeat, was refreshed meanwhile:
 * then it is put back. A fresh lock never reads the same as a stale one (its token differs).
 */
function moveAside(file: string, stale: Found, judged: Judged): boolean {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (!sameLock(inspect(file), stale)) return false;
  try {
    renameSync(file, aside);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
  const moved = inspect(aside);
  if (sameLock(moved, stale) && (judged.heartbeatMs === undefined || Date.now() - moved!.mtimeMs > judged.heartbeatMs)) {
    unlinkSync(aside);
    return true;
  }
  // A racer took it over between our check and the rename (or its holder beat): give it back, never over another one.
  try {
    linkSync(aside, file);
  } catch (error) {
    if (NO_HARD_LINKS.has(errnoOf(error) ?? '') && !existsSync(file)) renameSync(aside, file);
  } finally {
    if (existsSync(aside)) unlinkSync(aside);
  }
  return false;
}

// --- The heartbeat ------------------------------------------------------------------------------

interface Heartbeat {
  /** Why the lock is no longer this run's, once the heartbeat found that out. */
  lost(): string | undefined;
  stop(): Promise<void>;
}

// Runs in a worker thread (its own event loop), so a busy main thread does not stop the beat.
// CommonJS source, evaluated: nothing to resolve next to a bundled CLI. It touches the lock only
// while it is still this run's (same inode and bytes), and reports when it is not.
const BEAT_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { file, ino, text, intervalMs } = workerData;
let misses = 0;
const timer = setInterval(() => {
  let fd;
  let mine = false;
  try {
    fd = fs.openSync(file, 'r');
    const stat = fs.fstatSync(fd);
    mine = stat.ino === ino && fs.readFileSync(fd, 'utf8') === text;
    if (mine) {
      const now = new Date();
      fs.futimesSync(fd, now, now);
    }
  } catch (error) {
    // An I/O error is tried again at the next beat; only a lock that is gone or another one counts.
    mine = !(error && error.code === 'ENOENT');
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  // Three misses in a row: a racer's rename moves a lock aside for a moment and puts it back.
  misses = mine ? 0 : misses + 1;
  if (misses >= 3) {
    clearInterval(timer);
    parentPort.postMessage({ lost: true });
  }
}, intervalMs);
`;

function startHeartbeat(file: string, ino: number, text: string): Heartbeat {
  let lost: string | undefined;
  let fallback: NodeJS.Timeout | undefined;
  // Without a worker: beat from the main thread, which a long synchronous step delays (seconds, well under STALE_MS).
  const beatHere = (): void => {
    fallback ??= setInterval(() => {
      try {
        const found = inspect(file);
        if (!found || found.ino !== ino || found.text !== text) return;
        const fd = openSync(file, 'r');
        try {
          const now = new Date();
          futimesSync(fd, now, now);
        } finally {
          closeSync(fd);
        }
      } catch {
        // tried again at the next beat
      }
    }, HEARTBEAT_MS);
    fallback.unref();
  };
  let worker: Worker | undefined;
  const startWorker = (): void => {
    try {
      worker = new Worker(BEAT_SOURCE, { eval: true, workerData: { file, ino, text, intervalMs: HEARTBEAT_MS } });
      worker.unref();
      worker.on('message', (message: { lost?: boolean }) => {
        if (message.lost) lost = 'removed or replaced while this run held it';
      });
      worker.on('error', beatHere);
    } catch {
      beatHere();
    }
  };
  // A new lock is fresh for STALE_MS without a beat, and a worker costs ~60 ms of CPU to start: a
  // run that is over within a second (most are) never starts one. The run turns its event loop
  // (it reads the live project) long before STALE_MS, so the worker is beating by the time a long
  // synchronous step (computePlan) comes.
  const starting = setTimeout(startWorker, HEARTBEAT_MS / 2);
  starting.unref();
  return {
    lost: () => lost,
    async stop() {
      clearTimeout(starting);
      clearInterval(fallback);
      // Not awaited (a worker still starting takes ~60 ms to stop): a beat after this finds the lock gone or another one, and touches nothing.
      void worker?.terminate().catch(() => undefined);
    },
  };
}

// --- The backend ----------------------------------------------------------------------------------

function fileJournal(file: string): JournalStore {
  return {
    where: file,
    async read() {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return undefined;
        throw ioError(file, 'read the journal of an interrupted run', error);
      }
    },
    async start(line) {
      // 'w': a journal left here was already read by recoverInterruptedRun.
      writeFileSync(file, line, { mode: 0o600, flag: 'w' });
      chmodSync(file, 0o600);
    },
    append(line) {
      try {
        appendFileSync(file, line, { flag: 'a' });
        return true;
      } catch {
        return false;
      }
    },
    async remove() {
      rmSync(file, { force: true });
    },
  };
}

/** The file backend over the lock folder `dirOf()` returns (resolved when a lock is taken). */
export function createFileLockBackend(dirOf: () => string): LockBackend {
  return {
    async acquire(request) {
      return acquireFileLock(dirOf(), request);
    },
  };
}

function acquireFileLock(dir: string, request: LockRequest): HeldLock {
  const file = path.join(dir, lockFileName(request.target));
  const me = thisProcess();
  const holder: LockHolder = {
    pid: process.pid,
    host: me.host,
    user: currentUser(),
    command: request.command,
    startedAt: (request.now ?? new Date()).toISOString(),
    checkout: request.checkout,
    environment: request.environment,
  };
  const record: LockRecord = {
    ...holder,
    target: request.target.description,
    ...(me.bootId ? { bootId: me.bootId } : {}),
    ...(me.pidNamespace ? { pidNamespace: me.pidNamespace } : {}),
    ...(me.processStart ? { processStart: me.processStart } : {}),
    heartbeatMs: HEARTBEAT_MS,
    staleAfterMs: STALE_MS,
    token: randomBytes(8).toString('hex'),
  };
  const text = `${JSON.stringify(record)}\n`;
  let tookOver: StaleLock | undefined;
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      if (createExclusive(file, text)) {
        heldHere.add(file);
        const ours = inspect(file)!;
        return heldLock(file, request, holder, text, startHeartbeat(file, ours.ino, text), tookOver);
      }
      const found = inspect(file);
      if (!found) continue;
      const judged = judge(found, request, file, Date.now());
      if (moveAside(file, found, judged)) tookOver = { ...(found.record ? { holder: holderOf(found.record) } : {}), reason: judged.reason };
    }
  } catch (error) {
    if (error instanceof DescopeRunError) throw error;
    throw ioError(file, 'take the lock', error);
  }
  throw new LockHeldError(`${request.environment ? `environment "${request.environment}": ` : ''}${request.target.description}: ${file} kept changing while this run tried to take it`, {
    hint: `another apply or rollback is starting; wait for it, then run ${request.command} again`,
  });
}

function heldLock(file: string, request: LockRequest, holder: LockHolder, text: string, heartbeat: Heartbeat, tookOver: StaleLock | undefined): HeldLock {
  let released = false;
  const ours = (): boolean => {
    try {
      return inspect(file)?.text === text;
    } catch {
      return false;
    }
  };
  return {
    target: request.target,
    holder,
    where: file,
    ...(tookOver ? { tookOver } : {}),
    journal: fileJournal(file.replace(/\.lock$/, '.journal')),
    assertHeld() {
      if (!released && heartbeat.lost() === undefined && ours()) return;
      let now: Found['record'];
      try {
        now = inspect(file)?.record;
      } catch {
        // unreadable: said as removed
      }
      throw new LockHeldError(
        `${request.environment ? `environment "${request.environment}": ` : ''}this ${request.command}'s lock of ${request.target.description} was ${now ? `taken over by ${describeHolder(holderOf(now))}` : 'removed'} while it held it; nothing more is written`,
        { hint: `check what that run did (descope-run audit), then run ${request.command} again` },
      );
    },
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(file);
      try {
        await heartbeat.stop();
      } catch {
        // the worker is gone either way
      }
      try {
        // Never remove a lock that is not ours (a run that judged ours stale and took it over).
        if (ours()) unlinkSync(file);
      } catch {
        // A lock left behind is taken over by the next run (its pid is gone then).
      }
    },
  };
}
