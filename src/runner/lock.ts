// One apply at a time: a lock per environment and project, `.descope/locks/<env>-<projectId>.lock`
// (folder 0700, file 0600), taken by apply and rollback before they read the live project and
// released when they end. It holds who holds it: {pid, host, user, command, startedAt}.
//
// Taking it is atomic: the content is written to a private temp file, which is then hard-linked
// to the lock's name; link(2) fails when the name exists, like open(O_EXCL), and the lock is never
// seen half written. (On a file system without hard links, open 'wx' and write is the fallback.)
//
// A lock is stale when its holder is on this host and its pid is gone (kill(pid, 0) says ESRCH),
// or when its content is unreadable and older than a minute. A stale lock is taken over: moved
// aside by rename, then created again as above. Two processes that judge the same lock stale both
// try to move it, but only the one whose rename moved THAT file (same inode and same bytes: inode
// numbers are reused at once) goes on; a rename that moved a lock a racer has just created puts it
// back (link, which never overwrites), so only one of them wins. A lock from another host is never assumed dead: descope-run cannot see its processes.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescopeRunError, LockHeldError } from '../errors.ts';
import { currentUser } from './audit.ts';

export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  /** `apply` or `rollback`. */
  command: string;
  /** ISO 8601. */
  startedAt: string;
}

export interface StaleLock {
  /** Who held it, when the file could be read. */
  holder?: LockHolder;
  /** Why it was judged stale, e.g. `pid 4242 is no longer running`. */
  reason: string;
}

export interface HeldLock {
  file: string;
  holder: LockHolder;
  /** The stale lock this one took over, when there was one. */
  tookOver?: StaleLock;
  /** Removes the lock, if it is still this process's own. Never throws. */
  release(): void;
}

export interface LockRequest {
  env: string;
  projectId: string;
  command: string;
  now?: Date;
}

/** Unreadable content older than this is a lock whose writer died (a complete one is never unreadable). */
export const GARBAGE_STALE_MS = 60_000;
const ATTEMPTS = 5;
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** The locks this process holds: a lock with our own pid that is not here was left by an earlier process with the same pid. */
const heldHere = new Set<string>();

export function lockDir(root: string): string {
  return path.join(root, '.descope', 'locks');
}

/** `<root>/.descope/locks/<env>-<projectId>.lock` (a project id is reduced to file-name characters). */
export function lockPath(root: string, env: string, projectId: string): string {
  return path.join(lockDir(root), `${env}-${projectId.replace(/[^A-Za-z0-9_-]/g, '_')}.lock`);
}

function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let current = dir; !existsSync(current); current = path.dirname(current)) missing.push(current);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask; folders that were already there are the user's.
  for (const created of missing) chmodSync(created, 0o700);
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function ioError(root: string, file: string, doing: string, error: unknown): DescopeRunError {
  return new DescopeRunError('io', `${path.relative(root, file)}: could not ${doing} (${errnoOf(error) ?? String(error)})`, {
    hint: `check that ${path.relative(root, path.dirname(file))} is writable by you`,
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

function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!Number.isInteger(v.pid) || (v.pid as number) <= 0 || typeof v.host !== 'string' || v.host === '') return undefined;
  return {
    pid: v.pid as number,
    host: v.host,
    user: typeof v.user === 'string' ? v.user : 'unknown',
    command: typeof v.command === 'string' ? v.command : 'unknown',
    startedAt: typeof v.startedAt === 'string' ? v.startedAt : 'an unknown time',
  };
}

interface Found {
  ino: number;
  mtimeMs: number;
  /** The bytes read: with the inode, what identifies this very lock (inode numbers are reused at once). */
  text: string;
  holder: LockHolder | undefined;
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
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, holder: parseHolder(text) };
  } finally {
    closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return errnoOf(error) !== 'ESRCH';
  }
}

/** `apply (pid 4242 on host ci-7, user alice, since 2026-11-21T12:30:32.123Z)` */
export function describeHolder(holder: LockHolder): string {
  return `${holder.command} (pid ${holder.pid} on host ${holder.host}, user ${holder.user}, since ${holder.startedAt})`;
}

/** Why the lock is stale, or throws LockHeldError when its holder may still run. */
function judge(found: Found, request: LockRequest, file: string, display: string, now: number): string {
  const env = `environment "${request.env}"`;
  const holder = found.holder;
  if (!holder) {
    const age = now - found.mtimeMs;
    if (age > GARBAGE_STALE_MS) return `its content is unreadable and ${Math.round(age / 1000)} s old`;
    throw new LockHeldError(`${env} is locked: ${display} exists but cannot be read yet (another apply taking it, or a damaged file)`, {
      hint: `wait and run ${request.command} again; an unreadable lock older than a minute is taken over`,
    });
  }
  if (holder.host !== os.hostname()) {
    throw new LockHeldError(
      `${env} is locked by ${describeHolder(holder)}, a run on another host, which descope-run cannot check is still going; wait for it to finish`,
      { hint: `if that run is over (its machine stopped or it was killed), remove ${display} by hand, then run ${request.command} again` },
    );
  }
  if (holder.pid === process.pid && !heldHere.has(file)) return `pid ${holder.pid} is this process, so the run that took it is gone`;
  if (isAlive(holder.pid)) {
    throw new LockHeldError(`${env} is locked by ${describeHolder(holder)}; wait for it to finish`, {
      hint: `if pid ${holder.pid} is not a descope-run (the run that took the lock ended and its pid was reused), remove ${display} by hand`,
    });
  }
  return `pid ${holder.pid} is no longer running`;
}

const sameLock = (a: Found | undefined, b: Found): boolean => a !== undefined && a.ino === b.ino && a.text === b.text;

/**
 * Moves the stale lock `stale` aside and deletes it. False when the lock was no longer that file:
 * gone, or replaced by a racer's fresh lock (which is put back). A fresh lock never reads the same
 * as a stale one: its pid is alive, the stale one's is not.
 */
function moveAside(file: string, stale: Found): boolean {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (!sameLock(inspect(file), stale)) return false;
  try {
    renameSync(file, aside);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
  if (sameLock(inspect(aside), stale)) {
    unlinkSync(aside);
    return true;
  }
  // A racer took it over between our check and the rename: give its lock back, never over another one.
  try {
    linkSync(aside, file);
  } catch (error) {
    if (NO_HARD_LINKS.has(errnoOf(error) ?? '') && !existsSync(file)) renameSync(aside, file);
  } finally {
    if (existsSync(aside)) unlinkSync(aside);
  }
  return false;
}

/**
 * Takes the lock of `request.env` and `request.projectId` under `root`, taking over a stale one;
 * throws LockHeldError when another run holds it.
 */
export function acquireLock(root: string, request: LockRequest): HeldLock {
  const file = lockPath(root, request.env, request.projectId);
  const display = path.relative(root, file);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    user: currentUser(),
    command: request.command,
    startedAt: (request.now ?? new Date()).toISOString(),
  };
  const text = `${JSON.stringify(holder)}\n`;
  let tookOver: StaleLock | undefined;
  try {
    ensureDir(path.dirname(file));
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      if (createExclusive(file, text)) {
        heldHere.add(file);
        return {
          file,
          holder,
          ...(tookOver ? { tookOver } : {}),
          release: () => releaseLock(file, holder),
        };
      }
      const found = inspect(file);
      if (!found) continue;
      const reason = judge(found, request, file, display, Date.now());
      if (moveAside(file, found)) tookOver = { ...(found.holder ? { holder: found.holder } : {}), reason };
    }
  } catch (error) {
    if (error instanceof DescopeRunError) throw error;
    throw ioError(root, file, 'take the lock', error);
  }
  throw new LockHeldError(`environment "${request.env}": ${display} kept changing while this run tried to take it`, {
    hint: `another apply or rollback is starting; wait for it, then run ${request.command} again`,
  });
}

function releaseLock(file: string, holder: LockHolder): void {
  heldHere.delete(file);
  try {
    const found = inspect(file);
    // Never remove a lock that is not ours (a run that judged ours stale and took it over).
    if (found?.holder && found.holder.pid === holder.pid && found.holder.startedAt === holder.startedAt && found.holder.host === holder.host) {
      unlinkSync(file);
    }
  } catch {
    // A lock left behind is taken over by the next run (its pid is gone then).
  }
}
