// descope-run backup: snapshot every managed kind of the live project; `backup list` and
// `backup show ID` read the snapshots back (each checked against its checksum).
import path from 'node:path';
import type { CommandRun } from '../cli.ts';
import { UsageError } from '../../../errors.ts';
import { toolVersion } from '../../package.ts';
import { backupDir, describeState, findBackup, isBackupFile, listBackups, makeBackup, pruneBackups, saveBackup, writeBackup } from '../../store/backups.ts';
import { loadEnvironment, selectEnvironmentName } from '../../config/environment.ts';
import { findProjectRoot } from '../../config/load-config.ts';
import { openEnvironmentSession, readLive } from '../session.ts';
import { flowAddress, permissionAddress, roleAddress, tenantAddress } from '../../../dsl/address.ts';
import { safeText } from '../safe-text.ts';
import { checkOutFile, forceFlag } from '../../store/private-file.ts';

export const run: CommandRun = async (ctx) => {
  const { values, positionals, output, cwd, processEnv } = ctx;
  const { c } = output;
  const [sub, arg] = positionals;
  const config = typeof values.config === 'string' ? values.config : undefined;

  if (sub === 'list' || sub === 'show') {
    const root = findProjectRoot(cwd, config);
    const env = await loadEnvironment(root, selectEnvironmentName(typeof values.env === 'string' ? values.env : undefined, processEnv), processEnv);
    // Offline, the project is known from the environment (an emulator's only once it runs).
    const owner = { environment: env.name, projectId: env.projectId };
    if (sub === 'list') {
      if (arg !== undefined) throw new UsageError(`unexpected argument "${arg}"`, { hint: 'run "descope-run backup list --env NAME"' });
      const entries = listBackups(root, owner);
      if (entries.length === 0) {
        output.out(`No backups of environment "${safeText(env.name)}" (${path.relative(root, backupDir(root, env.name)) || '.'}/ is empty).`);
        return 0;
      }
      // A backup is a file anyone with the folder can edit: its cells are shown as text.
      const rows = entries.map((e) =>
        e.backup
          ? [safeText(e.id), safeText(e.backup.kind), safeText(e.backup.projectId), describeState(e.backup.state)]
          : [safeText(e.id), c.red(e.problemKind === 'mismatch' ? 'damaged' : 'corrupt'), '-', safeText(e.problem ?? '')],
      );
      const head = ['ID', 'KIND', 'PROJECT', 'CONTENTS'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
      output.out(head.map((h, i) => h.padEnd(widths[i]!)).join('  ').trimEnd());
      for (const row of rows) output.out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
      return entries.some((e) => !e.backup) ? 1 : 0;
    }
    if (arg === undefined) throw new UsageError('backup show: which backup?', { hint: 'pass an id from "descope-run backup list", or a file' });
    const backup = findBackup(root, owner, arg, cwd);
    output.out(`Backup ${safeText(backup.id)} (${safeText(backup.kind)}) of environment "${safeText(backup.environment)}", project ${safeText(backup.projectId)}`);
    output.out(`  taken ${safeText(backup.createdAt)} by descope-run ${safeText(String(backup.tool.version))}; checksum ${backup.checksum.slice(0, 16)}… verified`);
    output.out(`  holds: ${describeState(backup.state)}`);
    const addresses = [
      ...Object.keys(backup.state.tenants ?? {}).map(tenantAddress),
      // From each role's own record: older backups keyed roles by unescaped addresses.
      ...Object.values(backup.state.roles ?? {}).map(roleAddress),
      ...Object.keys(backup.state.permissions ?? {}).map(permissionAddress),
      ...Object.keys(backup.state.flowSummaries ?? {}).map((id) => `${flowAddress(id)}${backup.state.flows?.[id] ? '' : ' (listed only)'}`),
    ];
    for (const address of addresses) output.out(`  ${safeText(address)}`);
    return 0;
  }
  if (sub !== undefined) {
    throw new UsageError(`backup ${sub}: unknown; use "backup", "backup list" or "backup show ID"`, { hint: 'run "descope-run backup --help"' });
  }

  const keepText = typeof values.keep === 'string' ? values.keep : undefined;
  const keep = keepText === undefined ? undefined : Number(keepText);
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) {
    throw new UsageError(`--keep ${keepText}: not a whole number of at least 1`, { hint: 'e.g. --keep 10' });
  }
  const force = forceFlag(values);
  const outArg = typeof values.out === 'string' ? values.out : undefined;
  const out = outArg === undefined ? undefined : path.resolve(cwd, outArg);
  // Refused before the live project is read: a wrong --out costs no API call.
  if (out !== undefined && outArg !== undefined) {
    // The store's files are named by the id they hold: one written there under another name would be a mismatch.
    const store = path.join(findProjectRoot(cwd, config), '.descope', 'backups');
    const inside = path.relative(store, out);
    if (!inside.startsWith('..') && !path.isAbsolute(inside)) {
      throw new UsageError(`--out ${outArg}: is inside ${path.relative(cwd, store) || store}/, where each backup is named by its id`, {
        hint: 'leave --out out to add a backup there, or pick a path outside it',
      });
    }
    checkOutFile({ file: out, display: outArg, ours: isBackupFile }, { what: 'the backup', force });
  }
  const session = await openEnvironmentSession(ctx);
  try {
    const live = await readLive(session, { all: true });
    const now = new Date();
    const backup = makeBackup(
      {
        kind: 'manual',
        environment: session.env.name,
        projectId: session.connection.projectId,
        createdAt: now.toISOString(),
        tool: { name: 'descope-run', version: toolVersion() },
        scope: { all: true },
        state: live.state,
        roleIds: { ...live.handles.roleIds },
      },
      now,
    );
    const file = out && outArg !== undefined ? writeBackup(backup, out, { display: outArg, force }) : saveBackup(session.root, backup);
    output.out(`${c.green('✓')} Backup ${backup.id} of environment "${safeText(session.env.name)}" (${describeState(backup.state)}) written to ${safeText(path.relative(cwd, file) || file)}.`);
    if (keep !== undefined) {
      const { removed, keptForRollback, damaged } = pruneBackups(session.root, { environment: session.env.name, projectId: session.connection.projectId }, keep);
      const kept = keptForRollback ? `; kept ${keptForRollback} as well: the default rollback restores it` : '';
      if (removed.length > 0 || kept) output.out(`Removed ${removed.length} older ${removed.length === 1 ? 'backup' : 'backups'} (--keep ${keep})${kept}.`);
      if (damaged.length > 0) {
        output.out(`Left ${damaged.length} damaged ${damaged.length === 1 ? 'file' : 'files'} in place: see "descope-run backup list --env ${session.env.name}".`);
      }
    }
    return 0;
  } finally {
    await session.close();
  }
};
