// The files descope-run writes: at paths the user picks (--out: a saved plan, a backup, a drift
// report, rendered flows) and in its own store (.descope/backups/). One set of rules, so that each
// writer does not grow its own:
//
// - Atomic: the content goes to a temporary file in the target's folder (O_EXCL, 0600), is synced,
//   and only then takes the target's name. A reader sees the old file or the new one, never half.
// - Private: files are 0600; folders it creates are 0700.
// - The target is never followed: a symbolic link there is not "a file descope-run wrote" (with
//   --force the link itself is replaced, never what it points to). A folder, a device or a pipe is
//   refused even with --force: renaming over /dev/null as root would replace the device.
// - No clobber: an existing file is replaced only when the caller recognises it as one
//   descope-run wrote (a plan over a plan, a report over a report), or when the user asked
//   (--force). A new file is linked into place, which fails if a file of that name appeared after
//   the check, so a file created meanwhile is not replaced either.
//
// Reading a recognisable head (the first few KB) is enough: a caller's own format says what it is
// in its first bytes, and a large file is not read whole to decide.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import { DescopeRunError, UsageError } from '../../errors.ts';

/** An existing file at the target, as a recogniser sees it. */
export interface ExistingFile {
  /** The first `bytes` (default 4096) of the file, as UTF-8, without a byte order mark. */
  head(bytes?: number): string;
}

/** Says whether an existing file is one descope-run wrote, and so may be replaced. */
export type Recognise = (existing: ExistingFile) => boolean;

export interface OutTarget {
  /** Where to write (resolved against the working folder when relative). */
  file: string;
  /** How messages name the file (default: `file` as given). */
  display?: string;
  /** Whether an existing file there may be replaced. Without it an existing file never is. */
  ours?: Recognise;
}

export interface OutFile extends OutTarget {
  content: string | Uint8Array;
}

export interface WriteOptions {
  /** What is written, for messages: `the plan`, `the backup`. */
  what: string;
  /** Replace an existing file whatever it holds (folders, devices and pipes stay refused). */
  force?: boolean;
  /** Create missing folders (0700). Without it a missing folder is an error (ENOENT). */
  createFolders?: boolean;
  /** The hint of a refusal (default: pick another path, or --force). */
  refusedHint?: string;
  /** The hint of a failed write (default: check the folder). */
  failedHint?: string;
}

/** A target refused before anything was written, or a write that failed (nothing was written). */
export class OutFileError extends DescopeRunError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('io', message, options);
    this.name = 'OutFileError';
  }
}

/** `--force`, which only means something with `--out`. */
export function forceFlag(values: Readonly<Record<string, unknown>>): boolean {
  if (values.force !== true) return false;
  if (typeof values.out !== 'string') throw new UsageError('--force needs --out', { hint: '--force lets --out replace a file descope-run did not write' });
  return true;
}

const DEFAULT_REFUSED_HINT = 'pick another path, or pass --force to replace it';
const HEAD_BYTES = 4096;

/** `{"format": "<format>"` at the start: the files descope-run writes as JSON say what they are first. */
export function jsonFormatIs(...formats: string[]): Recognise {
  return (existing) => {
    const match = /^\s*\{\s*"format"\s*:\s*"([^"\\]{1,100})"/.exec(existing.head());
    return match !== null && formats.includes(match[1]!);
  };
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (error) {
    // ENOTDIR (a file where a folder should be) surfaces when the write is tried, with its code.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function readHead(file: string, bytes: number): string {
  // O_NOFOLLOW: the lstat said it is a regular file; a link swapped in since is not read through.
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read).toString('utf8').replace(/^\uFEFF/, '');
  } finally {
    closeSync(fd);
  }
}

function refused(display: string, detail: string, hint: string): OutFileError {
  return new OutFileError(`${display}: exists and was not written by descope-run${detail}; nothing was written`, { hint });
}

type Checked<T extends OutTarget = OutFile> = { target: T & { absolute: string; display: string }; exists: boolean };

/**
 * Checks one target without writing: throws an OutFileError when it may not be written. Commands
 * call it before they read the live project, so a refused path costs no API call.
 */
export function checkOutFile(target: OutTarget, options: WriteOptions): void {
  planTarget(target, options);
}

function planTarget<T extends OutTarget>(target: T, options: WriteOptions): Checked<T> {
  const absolute = path.resolve(target.file);
  const display = target.display ?? target.file;
  let info: Stats | undefined;
  try {
    info = lstatOrUndefined(absolute);
  } catch (error) {
    throw failure(error, display, absolute, options);
  }
  const resolved = { ...target, absolute, display };
  if (info === undefined) return { target: resolved, exists: false };
  if (info.isDirectory()) {
    throw new OutFileError(`${display}: could not write ${options.what} (EISDIR): it is a folder; nothing was written`, {
      hint: 'pass a file name, e.g. inside that folder',
    });
  }
  if (info.isSymbolicLink()) {
    if (options.force) return { target: resolved, exists: true };
    throw refused(display, ' (it is a symbolic link, and is not followed)', options.refusedHint ?? DEFAULT_REFUSED_HINT);
  }
  if (!info.isFile()) {
    throw new OutFileError(`${display}: is not a regular file (a device, pipe or socket); nothing was written`, {
      hint: 'pick a path for a file; to see the output, leave --out out',
    });
  }
  if (options.force) return { target: resolved, exists: true };
  let ours = false;
  try {
    ours = target.ours?.({ head: (bytes = HEAD_BYTES) => readHead(absolute, bytes) }) ?? false;
  } catch {
    // Unreadable (a file of another user, a link swapped in): not known to be ours.
    ours = false;
  }
  if (!ours) {
    // Another of descope-run's own files (a plan where a report goes): say which, not "not written by descope-run".
    let kind: string | undefined;
    try {
      kind = /^\s*\{\s*"format"\s*:\s*"descope-run\/([a-z][a-z-]{0,40})"/.exec(readHead(absolute, HEAD_BYTES))?.[1];
    } catch {
      kind = undefined;
    }
    if (kind !== undefined) {
      throw new OutFileError(`${display}: is a descope-run ${kind.replace(/-/g, ' ')} file, not ${options.what}; nothing was written`, {
        hint: options.refusedHint ?? DEFAULT_REFUSED_HINT,
      });
    }
    throw refused(display, '', options.refusedHint ?? DEFAULT_REFUSED_HINT);
  }
  return { target: resolved, exists: true };
}

/** Creates `dir` and any missing parent, each 0700 (whatever the umask); existing ones are left as they are. */
export function ensurePrivateFolder(dir: string): void {
  const missing: string[] = [];
  for (let current = path.resolve(dir); lstatOrUndefined(current) === undefined; current = path.dirname(current)) {
    if (current === path.dirname(current)) break;
    missing.push(current);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const created of missing) {
    try {
      if (lstatSync(created).isDirectory()) chmodSync(created, 0o700);
    } catch {
      // made and removed by someone else meanwhile: the write below says so
    }
  }
}

function writeTemp(dir: string, base: string, content: string | Uint8Array): string {
  const temp = path.join(dir, `.${base}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    // The umask may have taken bits from 0600 (never added any): set it exactly.
    fchmodSync(fd, 0o600);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  return temp;
}

/** Hard links are not on every file system (FAT, some network shares): then rename, after a last look. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

function commit(temp: string, plan: Checked, options: WriteOptions): void {
  const { absolute, display } = plan.target;
  if (plan.exists) {
    renameSync(temp, absolute);
    return;
  }
  try {
    linkSync(temp, absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw refused(display, ' (it appeared while descope-run was writing)', options.refusedHint ?? DEFAULT_REFUSED_HINT);
    if (!NO_LINKS.has(code) || lstatOrUndefined(absolute) !== undefined) throw error;
    renameSync(temp, absolute);
    return;
  }
  unlinkSync(temp);
}

/** How a path is shown: relative to the working folder when inside it, else absolute. */
function shown(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative;
}

/** The nearest existing ancestor of `file` that is not a folder (what mkdir's EEXIST and ENOTDIR mean). */
function blockingAncestor(file: string): string | undefined {
  for (let current = path.dirname(file); current !== path.dirname(current); current = path.dirname(current)) {
    // Folders on the way may be links to folders: followed here, unlike the target.
    let info: Stats | undefined;
    try {
      info = statSync(current);
    } catch {
      info = undefined;
    }
    if (info && !info.isDirectory()) return current;
  }
  return undefined;
}

function failure(error: unknown, display: string, absolute: string, options: WriteOptions): OutFileError {
  if (error instanceof OutFileError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  const blocking = code === 'EEXIST' || code === 'ENOTDIR' ? blockingAncestor(absolute) : undefined;
  const detail = blocking
    ? `: ${shown(blocking)} is not a folder`
    : code === 'ENOENT' && lstatOrUndefined(path.dirname(absolute)) === undefined
      ? `: the folder ${path.dirname(display)} does not exist`
      : code === 'EISDIR'
        ? ': it is a folder'
        : '';
  return new OutFileError(`${display}: could not write ${options.what} (${code})${detail}; nothing was written`, {
    hint: options.failedHint ?? 'check that the folder exists and is writable, and that the disk has room',
    cause: error,
  });
}

/** Writes one file by the rules above; throws an OutFileError, with nothing written, when it may not or cannot. */
export function writeOutFile(target: OutFile, options: WriteOptions): void {
  writeOutFiles([target], options);
}

/**
 * Writes several files, all or none as far as a file system allows: every target is checked and
 * every temporary file written before the first takes its name.
 */
export function writeOutFiles(targets: readonly OutFile[], options: WriteOptions): void {
  const plans = targets.map((target) => planTarget(target, options));
  const temps: string[] = [];
  let current = plans[0];
  let committed = 0;
  try {
    for (const plan of plans) {
      current = plan;
      const dir = path.dirname(plan.target.absolute);
      if (options.createFolders) ensurePrivateFolder(dir);
      temps.push(writeTemp(dir, path.basename(plan.target.absolute), plan.target.content));
    }
    for (const [index, plan] of plans.entries()) {
      current = plan;
      commit(temps[index]!, plan, options);
      temps[index] = '';
      committed += 1;
    }
  } catch (error) {
    for (const temp of temps) {
      if (temp === '') continue;
      try {
        rmSync(temp, { force: true });
      } catch {
        // its folder went away: nothing to clean up
      }
    }
    const failed = failure(error, current?.target.display ?? '', current?.target.absolute ?? '', options);
    if (committed === 0) throw failed;
    // Only a rename failing after others succeeded gets here (a disk pulled mid-way): say what landed.
    throw new OutFileError(failed.message.replace(/; nothing was written$/, `; ${committed} of ${plans.length} files were written before it`), {
      ...(failed.hint ? { hint: failed.hint } : {}),
      cause: error,
    });
  }
}
