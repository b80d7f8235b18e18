// Persistence of the state to one JSON file: read and validated on start, rewritten atomically
// after every accepted write (temp file in the same directory, mode 0600, fsync, rename, then
// fsync of the directory), so a crash leaves either the old or the new file, never half of one.
//
// An OIDC client secret is write-only at Descope and is never written to disk here: the file
// holds `sha256:<hex>` of it instead (enough to tell that one is set, and which), so a shell's
// real secret sent to the embedded emulator (`--env local`) does not end up in .descope/.

import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseState, type EmulatorState } from './state.ts';

/** Thrown by startEmulator when the state file exists but cannot be used. */
export class EmulatorStateError extends Error {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'EmulatorStateError';
    this.file = file;
  }
}

/** The state in `file`, or undefined when the file does not exist. */
export async function readStateFile(file: string): Promise<EmulatorState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EmulatorStateError(file, `cannot read the emulator state file (${(error as Error).message})`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EmulatorStateError(
      file,
      `corrupt emulator state file: not valid JSON (${(error as Error).message}); fix or delete it`,
      { cause: error },
    );
  }
  const parsed = parseState(value);
  if (!parsed.ok) {
    throw new EmulatorStateError(file, `corrupt emulator state file; fix or delete it:\n${parsed.problems}`);
  }
  return parsed.state;
}

export async function writeStateFileAtomic(file: string, contents: string): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(contents, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable. Not every platform can open a directory; that is not fatal.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Serialises writes: each call snapshots the state as text right away (so the file always ends
 * with the latest accepted write) and resolves when that text is on disk.
 */
export class StateFileWriter {
  private readonly file: string;
  private tail: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  write(state: EmulatorState): Promise<void> {
    const contents = `${JSON.stringify(state, (key, value: unknown) => (key === 'oidcClientSecret' ? secretDigest(value) : value), 2)}\n`;
    const next = this.tail.then(() => writeStateFileAtomic(this.file, contents));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every write issued so far has finished (successfully or not). */
  flushed(): Promise<void> {
    return this.tail;
  }
}

/** Prefix of a client secret kept as its digest (on disk, and in a state loaded from disk). */
export const SECRET_DIGEST_PREFIX = 'sha256:';

/** A stored secret as it is written to disk: '' stays '', a digest stays as it is. */
function secretDigest(value: unknown): unknown {
  if (typeof value !== 'string' || value === '' || value.startsWith(SECRET_DIGEST_PREFIX)) return value;
  return `${SECRET_DIGEST_PREFIX}${createHash('sha256').update(value).digest('hex')}`;
}
