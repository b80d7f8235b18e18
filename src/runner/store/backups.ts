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
import { DescopeRunError, PlanError } from '../../errors.ts';
import { fingerprint, type LiveScope, type LiveState } from '../../runtime/index.ts';
import { readAuditLog } from './audit-log.ts';
import { jsonFormatIs, writeOutFile } from './private-file.ts';

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
  /** `corrupt`: the file is no intact backup; `mismatch`: an intact backup of another id, environment or project. */
  readonly problem: 'corrupt' | 'mismatch';

  constructor(message: string, options: { hint?: string; cause?: unknown; problem?: 'corrupt' | 'mismatch' } = {}) {
    super('io', message, options);
    this.name = 'BackupError';
    this.problem = options.problem ?? 'corrupt';
  }
}

/** What `backupIdFor` makes (and any id-looking file name in a backup folder). */
const BACKUP_ID = /^[0-9TZ-]{1,40}$/;

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
  if (!BACKUP_ID.test(b.id!)) {
    throw new BackupError(`${display}: id ${JSON.stringify(b.id!.slice(0, 60))} is not a backup id: the backup is damaged`, { hint: ANOTHER });
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

/** Whom a backup must belong to, to be listed as sound or restored: the environment, and its project when known. */
export interface BackupOwner {
  environment: string;
  /** Undefined when not known without connecting (backup list of an emulator environment). */
  projectId?: string | undefined;
}

/**
 * The one check that a backup is what its name and place say: a file named `<id>.json` holds
 * that id (so swapping two files, or copying one over another, is refused instead of restoring
 * the wrong snapshot), and the backup is of the environment and project it would be restored to.
 */
export function checkBackupOwner(backup: Backup, display: string, nameId: string | undefined, owner: BackupOwner): void {
  const list = `"descope-run backup list --env ${owner.environment}"`;
  if (nameId !== undefined && backup.id !== nameId) {
    throw new BackupError(`${display}: holds backup ${backup.id}, not ${nameId} as its name says: the file was renamed or swapped, and is refused`, {
      hint: `if it is the backup you mean, restore it by its own name (rename it to ${backup.id}.json); otherwise pick another (${list})`,
      problem: 'mismatch',
    });
  }
  if (backup.environment !== owner.environment) {
    throw new BackupError(
      `backup ${backup.id}: is of environment "${backup.environment}" (project ${backup.projectId}), not "${owner.environment}"${owner.projectId ? ` (project ${owner.projectId})` : ''}`,
      { hint: `roll back with --env ${backup.environment}, or pick a backup of "${owner.environment}" (${list})`, problem: 'mismatch' },
    );
  }
  if (owner.projectId !== undefined && backup.projectId !== owner.projectId) {
    throw new BackupError(`backup ${backup.id}: is of project ${backup.projectId}, but environment "${owner.environment}" is project ${owner.projectId}`, {
      hint: `a backup restores only to the project it was taken from: pick another (${list})`,
      problem: 'mismatch',
    });
  }
}

/** The id a file's name says it holds (`<id>.json`), or undefined for a name that is no backup id. */
function nameIdOf(file: string): string | undefined {
  const base = path.basename(file);
  if (!base.endsWith('.json')) return undefined;
  const id = base.slice(0, -'.json'.length);
  return BACKUP_ID.test(id) ? id : undefined;
}

export interface BackupEntry {
  id: string;
  file: string;
  /** The checked backup, or why it could not be used. */
  backup?: Backup;
  problem?: string;
  /** `corrupt` (unreadable, edited) or `mismatch` (another id, environment or project than its place says). */
  problemKind?: 'corrupt' | 'mismatch';
}

/** The environment's backups, newest first (by id, which sorts by time), each checked as restoring it would. */
export function listBackups(root: string, owner: BackupOwner): BackupEntry[] {
  const dir = backupDir(root, owner.environment);
  if (!existsSync(dir)) return [];
  const ids = readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort()
    .reverse();
  return ids.map((id) => {
    const file = path.join(dir, `${id}.json`);
    const display = path.relative(root, file);
    try {
      const backup = readBackup(file, display);
      checkBackupOwner(backup, display, id, owner);
      return { id, file, backup };
    } catch (error) {
      const problemKind = error instanceof BackupError ? error.problem : 'corrupt';
      return { id, file, problem: error instanceof Error ? error.message : String(error), problemKind };
    }
  });
}

/** A backup of the environment's folder by id, checked. */
export function readBackupById(root: string, id: string, owner: BackupOwner): Backup {
  const file = path.join(backupDir(root, owner.environment), `${id}.json`);
  const display = path.relative(root, file);
  const backup = readBackup(file, display);
  checkBackupOwner(backup, display, id, owner);
  return backup;
}

/** A backup by id (from `backup list`) or by file path, checked against its name and its owner. */
export function findBackup(root: string, owner: BackupOwner, idOrFile: string, cwd: string = process.cwd()): Backup {
  const byId = path.join(backupDir(root, owner.environment), `${idOrFile}.json`);
  if (BACKUP_ID.test(idOrFile) && existsSync(byId)) return readBackupById(root, idOrFile, owner);
  // A file as the user typed it: relative to their working folder (messages show it as typed).
  const file = path.resolve(cwd, idOrFile);
  if (existsSync(file)) {
    const backup = readBackup(file, idOrFile);
    checkBackupOwner(backup, idOrFile, nameIdOf(idOrFile), owner);
    return backup;
  }
  throw new BackupError(`backup "${idOrFile}": no such backup of environment "${owner.environment}" and no such file`, {
    hint: `list them with "descope-run backup list --env ${owner.environment}"`,
  });
}

/** What `rollback` without --to restores, and why. */
export interface DefaultBackupChoice {
  /** The last apply that changed (or tried to change) something; undefined when none is recorded. */
  last?: { time: string; backupId?: string };
  /** The backup's id, when there is one to restore. */
  id?: string;
}

/**
 * The backup the default rollback restores: the one the last apply took (its audit record names
 * it), or after an apply --no-backup the newest sound backup from before it; with no apply
 * recorded, the newest sound backup. `entries` is called only when the audit record names none.
 */
export function chooseDefaultBackup(root: string, env: string, entries: () => BackupEntry[]): DefaultBackupChoice {
  const { records } = readAuditLog(root, { env });
  const last = [...records]
    .reverse()
    .find((r) => r.command === 'apply' && r.outcome !== 'no-changes' && r.outcome !== 'refused' && r.outcome !== 'stale' && r.outcome !== 'aborted');
  const lastOf = last ? { last: { time: last.time, ...(typeof last.backupId === 'string' ? { backupId: last.backupId } : {}) } } : {};
  if (typeof last?.backupId === 'string') return { ...lastOf, id: last.backupId };
  const before = last ? backupIdFor(new Date(last.time)) : undefined;
  const newest = entries().find((entry) => entry.backup && (before === undefined || entry.id < before));
  return { ...lastOf, ...(newest ? { id: newest.id } : {}) };
}

/** Reads the backup `rollback` without --to restores; each way of not finding it says what to do. */
export function readDefaultBackup(root: string, owner: BackupOwner): Backup {
  const env = owner.environment;
  const pick = `pick one with --to (see "descope-run backup list --env ${env}")`;
  const choice = chooseDefaultBackup(root, env, () => listBackups(root, owner));
  const { last, id } = choice;
  if (last?.backupId !== undefined) {
    // The audit log is data like any other: its backup id is only ever an id, never a path.
    if (!BACKUP_ID.test(last.backupId)) {
      throw new PlanError(`${path.join('.descope', 'audit', `${env}.jsonl`)}: the last apply (${last.time}) names backup ${JSON.stringify(last.backupId.slice(0, 60))}, which is not a backup id`, {
        hint: pick,
      });
    }
    const file = path.join(backupDir(root, env), `${last.backupId}.json`);
    if (!existsSync(file)) {
      throw new PlanError(
        `backup ${last.backupId}: the default rollback restores the backup the last apply (${last.time}) took, and it is gone from ${path.relative(root, path.dirname(file))}/`,
        { hint: `it was deleted; ${pick}` },
      );
    }
    return readBackupById(root, last.backupId, owner);
  }
  if (id === undefined) {
    throw new PlanError(
      last
        ? `environment "${env}": the last apply (${last.time}) took no backup and there is none from before it`
        : `environment "${env}": there is no backup to roll back to`,
      { hint: `${pick}; apply takes one before every change unless --no-backup` },
    );
  }
  return readBackupById(root, id, owner);
}

export interface PruneResult {
  /** The ids removed. */
  removed: string[];
  /** The id kept past the N newest because the default rollback restores it. */
  keptForRollback?: string;
  /** Files that are no sound backup of this environment: left for a person to look at. */
  damaged: string[];
}

/**
 * Keeps the `keep` newest sound backups of the environment, and the one the default rollback
 * restores (pruning it would leave `rollback` without its backup). Damaged or misplaced files are
 * never removed: they may be what someone needs to look at.
 */
export function pruneBackups(root: string, owner: BackupOwner, keep: number): PruneResult {
  const entries = listBackups(root, owner);
  const sound = entries.filter((entry) => entry.backup);
  const needed = chooseDefaultBackup(root, owner.environment, () => entries).id;
  const kept = new Set(sound.slice(0, keep).map((entry) => entry.id));
  const result: PruneResult = { removed: [], damaged: entries.filter((entry) => !entry.backup).map((entry) => entry.id) };
  if (needed !== undefined && !kept.has(needed) && sound.some((entry) => entry.id === needed)) result.keptForRollback = needed;
  for (const entry of sound) {
    if (kept.has(entry.id) || entry.id === needed) continue;
    rmSync(entry.file, { force: true });
    result.removed.push(entry.id);
  }
  return result;
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
