// Backups: snapshots of the live project in canonical form, in .descope/backups/<env>/<id>.json
// (mode 0600, folders 0700), with the environment, project, time, tool version and a checksum
// (sha256 of the canonical JSON of everything else) that detects a corrupt or edited file.
//
// A backup holds no secret: Descope never returns one (an OIDC client secret reads as a
// write-only marker), so a rollback leaves a secret as it is live and says so.
//
// Two kinds: `manual` (descope-run backup: every kind, the settings and SSO of every tenant and
// every flow document) and `pre-apply` (taken by apply before its first write: the live snapshot
// the plan was computed from, plus what the plan deletes or replaces, so a rollback can undo
// exactly that apply).
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { DescopeRunError } from '../errors.ts';
import { fingerprint, type LiveScope, type LiveState } from '../runtime/index.ts';
import { jsonFormatIs, writeOutFile } from './out-file.ts';

export const BACKUP_FORMAT = 'descope-run/backup';
export const BACKUP_VERSION = 1;
/** A backup larger than this is refused unread. */
export const MAX_BACKUP_BYTES = 256 * 1024 * 1024;

export interface Backup {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  /** `2026-11-21T12-30-32-123Z`: sortable, also the file name. */
  id: string;
  kind: 'manual' | 'pre-apply';
  environment: string;
  projectId: string;
  createdAt: string;
  tool: { name: 'descope-run'; version: string };
  /** What was read (a pre-apply backup holds only what the apply could change). */
  scope: LiveScope;
  state: LiveState;
  /** Role address → server id: a rollback renames a role back by id, so its users keep it. */
  roleIds: Record<string, string>;
  /** sha256 of the canonical JSON of every other member. */
  checksum: string;
}

export type BackupBody = Omit<Backup, 'checksum' | 'format' | 'version' | 'id'>;

export class BackupError extends DescopeRunError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('io', message, options);
    this.name = 'BackupError';
  }
}

const ANOTHER = 'restore from another backup ("descope-run backup list")';

export function backupDir(root: string, env: string): string {
  return path.join(root, '.descope', 'backups', env);
}

function checksumOf(backup: Omit<Backup, 'checksum'>): string {
  return fingerprint(backup);
}

export function backupIdFor(time: Date): string {
  return time.toISOString().replace(/[:.]/g, '-');
}

export function makeBackup(body: BackupBody, now: Date): Backup {
  const base = { format: BACKUP_FORMAT, version: BACKUP_VERSION, id: backupIdFor(now), ...body } as Omit<Backup, 'checksum'>;
  return { ...base, checksum: checksumOf(base) };
}

const FAILED_HINT = 'check that the folder is writable and the disk has room';

/**
 * Writes a backup to a path the user chose (`backup --out FILE`): atomically, 0600, folders 0700.
 * An existing file is replaced only when it is a descope-run backup, or with `force`.
 */
export function writeBackup(backup: Backup, file: string, options: { display?: string; force?: boolean } = {}): string {
  const target = path.resolve(file);
  writeOutFile(
    { file: target, display: options.display ?? file, content: `${JSON.stringify(backup, null, 1)}\n`, ours: isBackupFile },
    { what: 'the backup', createFolders: true, failedHint: FAILED_HINT, ...(options.force ? { force: true } : {}) },
  );
  return target;
}

/** Recognises a file `writeBackup` wrote (by its first bytes), so `backup --out` may replace it. */
export const isBackupFile = jsonFormatIs(BACKUP_FORMAT);

/** Into the environment's folder, named by its id; never over another backup (two in one millisecond). */
export function saveBackup(root: string, backup: Backup): string {
  const file = path.join(backupDir(root, backup.environment), `${backup.id}.json`);
  const display = path.relative(root, file);
  const again = 'another backup was taken in the same millisecond: run it again';
  if (existsSync(file)) throw new BackupError(`${display}: a backup with this id exists already; nothing was written`, { hint: again });
  // Without `ours`, a file that appears meanwhile is not replaced either.
  writeOutFile(
    { file, display, content: `${JSON.stringify(backup, null, 1)}\n` },
    { what: 'the backup', createFolders: true, failedHint: FAILED_HINT, refusedHint: again },
  );
  return file;
}

/** Reads a backup and checks it: a descope-run backup, of a version this tool reads, checksum intact. */
export function readBackup(file: string, display = file): Backup {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_BACKUP_BYTES) throw new BackupError(`${display}: is ${size} bytes, larger than any backup descope-run writes`, { hint: ANOTHER });
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof BackupError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupError(`${display}: cannot read the backup (${code === 'ENOENT' ? 'no such file' : code ?? String(error)})`, {
      hint: 'list the backups with "descope-run backup list --env NAME"',
    });
  }
  let value: unknown;
  try {
    // An editor may add a byte order mark; it is not part of the JSON.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new BackupError(`${display}: is not JSON (${(error as Error).message}): the backup is corrupt (truncated?)`, {
      hint: ANOTHER,
    });
  }
  const b = value as Partial<Backup> | null;
  if (typeof b !== 'object' || b === null || Array.isArray(b) || b.format !== BACKUP_FORMAT) {
    throw new BackupError(`${display}: is not a descope-run backup`, {
      hint: 'pass a file written by "descope-run backup" or by apply (see "descope-run backup list")',
    });
  }
  if (b.version !== BACKUP_VERSION) {
    throw new BackupError(`${display}: is a backup of version ${JSON.stringify(b.version)}; this descope-run reads version ${BACKUP_VERSION}`, {
      hint: `restore it with the descope-run that wrote it${typeof b.tool?.version === 'string' ? ` (${b.tool.version})` : ''}, or pick another backup ("descope-run backup list")`,
    });
  }
  const fields: [keyof Backup, string][] = [
    ['id', 'string'],
    ['kind', 'string'],
    ['environment', 'string'],
    ['projectId', 'string'],
    ['createdAt', 'string'],
    ['checksum', 'string'],
    ['state', 'object'],
    ['scope', 'object'],
    ['roleIds', 'object'],
    ['tool', 'object'],
  ];
  for (const [field, type] of fields) {
    if (typeof b[field] !== type || b[field] === null) {
      throw new BackupError(`${display}: ${field} is missing or not ${type === 'object' ? 'an' : 'a'} ${type}: the backup is damaged`, { hint: ANOTHER });
    }
  }
  const { checksum, ...rest } = b as Backup;
  let actual: string;
  try {
    actual = checksumOf(rest);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new BackupError(`${display}: is nested far deeper than any backup: the backup is damaged`, { hint: ANOTHER });
  }
  if (actual !== checksum) {
    throw new BackupError(`${display}: its checksum does not match its content: the backup is corrupt or was edited, and is refused`, {
      hint: ANOTHER,
    });
  }
  // The checksum is no signature: whoever edits a backup can recompute it. What a restore reads
  // must still have the shape of a live state, or the restore would fail halfway.
  const shape = backupShape.safeParse({ state: b.state, roleIds: b.roleIds });
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    throw new BackupError(`${display}: ${issue.path.map(String).join('.')}: ${issue.message}: the backup is damaged`, { hint: ANOTHER });
  }
  return b as Backup;
}

// The parts of a live state a restore reads (plan/desired.ts, plan/compute.ts); loose elsewhere.
const strings = z.array(z.string());
const records = <T extends z.ZodType>(item: T) => z.record(z.string(), item).optional();
const backupShape = z.object({
  state: z.looseObject({
    tenants: records(
      z.looseObject({
        id: z.string(),
        name: z.string(),
        selfProvisioningDomains: strings,
        customAttributes: z.looseObject({}),
        defaultRoles: strings,
      }),
    ),
    tenantSettings: records(z.looseObject({})),
    tenantSso: records(z.looseObject({ type: z.enum(['oidc', 'saml', 'saml-metadata']) }).nullable()),
    roles: records(z.looseObject({ name: z.string(), permissions: strings })),
    permissions: records(z.looseObject({ name: z.string() })),
    flows: records(z.looseObject({ flow: z.looseObject({}), screens: z.array(z.looseObject({})) })),
    flowSummaries: records(z.looseObject({ id: z.string(), name: z.string() })),
    theme: z.looseObject({}).optional(),
    passwordPolicy: z.looseObject({}).optional(),
  }),
  roleIds: z.record(z.string(), z.string()),
});

export interface BackupEntry {
  id: string;
  file: string;
  /** The checked backup, or why it could not be read. */
  backup?: Backup;
  problem?: string;
}

/** The environment's backups, newest first (by id, which sorts by time). */
export function listBackups(root: string, env: string): BackupEntry[] {
  const dir = backupDir(root, env);
  if (!existsSync(dir)) return [];
  const ids = readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort()
    .reverse();
  return ids.map((id) => {
    const file = path.join(dir, `${id}.json`);
    try {
      return { id, file, backup: readBackup(file, path.relative(root, file)) };
    } catch (error) {
      return { id, file, problem: error instanceof Error ? error.message : String(error) };
    }
  });
}

/** A backup by id (from `backup list`) or by file path. */
export function findBackup(root: string, env: string, idOrFile: string): Backup {
  const byId = path.join(backupDir(root, env), `${idOrFile}.json`);
  if (/^[0-9TZ-]+$/.test(idOrFile) && existsSync(byId)) return readBackup(byId, path.relative(root, byId));
  if (existsSync(idOrFile)) return readBackup(idOrFile);
  throw new BackupError(`backup "${idOrFile}": no such backup of environment "${env}" and no such file`, {
    hint: `list them with "descope-run backup list --env ${env}"`,
  });
}

/** Keeps the `keep` newest backups of the environment; returns the ids removed. */
export function pruneBackups(root: string, env: string, keep: number): string[] {
  const entries = listBackups(root, env);
  const removed: string[] = [];
  for (const entry of entries.slice(keep)) {
    rmSync(entry.file, { force: true });
    removed.push(entry.id);
  }
  return removed;
}

/** Counts per kind, for messages: `3 tenants, 8 roles, 8 permissions, 2 flows, theme, password policy`. */
export function describeState(state: LiveState): string {
  const parts: string[] = [];
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  if (state.tenants) parts.push(count(Object.keys(state.tenants).length, 'tenant'));
  if (state.roles) parts.push(count(Object.keys(state.roles).length, 'role'));
  if (state.permissions) parts.push(count(Object.keys(state.permissions).length, 'permission'));
  if (state.flowSummaries) parts.push(count(Object.keys(state.flowSummaries).length, 'flow'));
  if (state.theme) parts.push('theme');
  if (state.passwordPolicy) parts.push('password policy');
  return parts.join(', ');
}
