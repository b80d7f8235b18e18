// One apply at a time per project, whatever the folder: apply and rollback take the lock of the
// project they write to before they read it, and hold it until their audit record is written.
//
// What is locked is the project, not the environment name or the checkout: a remote environment by
// its project id (two environment files naming one project share one lock; its base URL is left
// out on purpose, since one project is reachable under several hosts), an embedded emulator
// environment by the real path of its state file (each state file is its own emulated project, so
// `--env local` in two checkouts runs side by side).
//
// The lock is an interface (a backend acquires; the held lock carries the journal of the writes and
// is released), so that a shared backend for teams (a database advisory lock) plugs in here without
// touching apply-flow.ts. Today's backend is files in a per-user folder every checkout on the
// machine finds (./lock-file.ts).
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedEnvironment } from '../config/environment.ts';
import { createFileLockBackend, resolveLockDir } from './lock-file.ts';

export { describeHolder, printable, resolveLockDir } from './lock-file.ts';

/** What one lock serialises: one project, named for messages and keyed for the backend. */
export interface LockTarget {
  /** Stable and unique per project: `project:P2…` or `emulator:/real/path/state.json`. */
  key: string;
  /** For messages: `project P2…` or `the emulated project in /…/state.json`. */
  description: string;
}

export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  /** `apply` or `rollback`. */
  command: string;
  /** ISO 8601. */
  startedAt: string;
  /** The checkout (project root) the run came from, when known. */
  checkout?: string;
  /** The environment name it was run with, when known. */
  environment?: string;
}

export interface StaleLock {
  /** Who held it, when that could be read. */
  holder?: LockHolder;
  /** Why it was judged stale, e.g. `pid 4242 is no longer running`. */
  reason: string;
}

/**
 * Where a held lock keeps the journal of the writes in progress (./journal.ts gives the lines
 * their meaning). Only the holder of the lock calls it.
 */
export interface JournalStore {
  /** For messages: where the journal is. */
  where: string;
  /** The journal an earlier holder left behind; undefined when there is none. */
  read(): Promise<string | undefined>;
  /** Starts a new journal with its first line, replacing one left behind. */
  start(line: string): Promise<void>;
  /** Appends one line as one write; false when it could not. Synchronous: a kill right after must find it. */
  append(line: string): boolean;
  /** Deletes it. */
  remove(): Promise<void>;
}

export interface HeldLock {
  target: LockTarget;
  holder: LockHolder;
  /** For messages: where the lock is (a file, a database). */
  where: string;
  /** The stale lock this one took over, when there was one. */
  tookOver?: StaleLock;
  journal: JournalStore;
  /**
   * Throws LockHeldError when the lock is no longer this run's (it was removed by hand, or taken
   * over after this process stopped refreshing it for longer than the bound): call before writing.
   */
  assertHeld(): void;
  /** Gives the lock up, if it is still this run's own. Never throws. */
  release(): Promise<void>;
}

export interface LockRequest {
  target: LockTarget;
  command: string;
  /** The checkout (project root) and environment name of this run: recorded, and shown to a run that finds the lock held. */
  checkout: string;
  environment: string;
  now?: Date;
}

export interface LockBackend {
  /** Takes the lock, taking over a stale one; throws LockHeldError when another run holds it. */
  acquire(request: LockRequest): Promise<HeldLock>;
}

/** The lock target of an environment, given the project id its connection reached. */
export function lockTarget(env: Pick<ResolvedEnvironment, 'target' | 'emulatorStateFile'>, projectId: string): LockTarget {
  if (env.target === 'remote') return { key: `project:${projectId}`, description: `project ${projectId}` };
  if (env.emulatorStateFile === undefined) {
    // An emulator without a state file lives and dies with this process: nothing to share.
    return { key: `memory:${process.pid}-${randomBytes(6).toString('hex')}`, description: 'the in-memory emulator' };
  }
  const file = realPathOf(env.emulatorStateFile);
  return { key: `emulator:${file}`, description: `the emulated project in ${file}` };
}

/** The real path of `file`, which may not exist yet: its nearest existing ancestor resolved, the rest appended. */
function realPathOf(file: string): string {
  const rest: string[] = [];
  for (let current = path.resolve(file); ; current = path.dirname(current)) {
    try {
      return path.join(realpathSync(current), ...rest.reverse());
    } catch {
      if (path.dirname(current) === current) return path.resolve(file);
      rest.push(path.basename(current));
    }
  }
}

/**
 * The lock backend of this run. Today: files in the per-user lock folder (DESCOPE_RUN_LOCK_DIR,
 * else $XDG_STATE_HOME/descope-run/locks, else ~/.local/state/descope-run/locks).
 */
export function openLockBackend(processEnv: NodeJS.ProcessEnv = process.env): LockBackend {
  return createFileLockBackend(() => resolveLockDir(processEnv));
}

/** Takes the lock of `request.target` through this run's backend. */
export function acquireLock(request: LockRequest, processEnv: NodeJS.ProcessEnv = process.env): Promise<HeldLock> {
  return openLockBackend(processEnv).acquire(request);
}
