// descope-run backup: snapshot every managed kind of the live project; `backup list` and
// `backup show ID` read the snapshots back (each checked against its checksum).
import path from 'node:path';
import type { CommandRun } from '../cli.ts';
import { UsageError } from '../../errors.ts';
import { toolVersion } from '../apply-flow.ts';
import { backupDir, describeState, findBackup, listBackups, makeBackup, pruneBackups, saveBackup, writeBackup } from '../backup.ts';
import { loadEnvironment, selectEnvironmentName } from '../environment.ts';
import { findProjectRoot } from '../load-config.ts';
import { openEnvironmentSession, readLive } from '../live-plan.ts';
import { flowAddress, permissionAddress, roleAddress, tenantAddress } from '../../dsl/address.ts';
import { safeText } from '../safe-text.ts';

export const run: CommandRun = async (ctx) => {
  const { values, positionals, output, cwd, processEnv } = ctx;
  const { c } = output;
  const [sub, arg] = positionals;
  const config = typeof values.config === 'string' ? values.config : undefined;

  if (sub === 'list' || sub === 'show') {
    const root = findProjectRoot(cwd, config);
    const env = await loadEnvironment(root, selectEnvironmentName(typeof values.env === 'string' ? values.env : undefined, processEnv), processEnv);
    if (sub === 'list') {
      if (arg !== undefined) throw new UsageError(`unexpected argument "${arg}"`, { hint: 'run "descope-run backup list --env NAME"' });
      const entries = listBackups(root, env.name);
      if (entries.length === 0) {
        output.out(`No backups of environment "${safeText(env.name)}" (${path.relative(root, backupDir(root, env.name)) || '.'}/ is empty).`);
        return 0;
      }
      // A backup is a file anyone with the folder can edit: its cells are shown as text.
      const rows = entries.map((e) =>
        e.backup
          ? [safeText(e.id), safeText(e.backup.kind), safeText(e.backup.projectId), describeState(e.backup.state)]
          : [safeText(e.id), c.red('corrupt'), '-', safeText(e.problem ?? '')],
      );
      const head = ['ID', 'KIND', 'PROJECT', 'CONTENTS'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
      output.out(head.map((h, i) => h.padEnd(widths[i]!)).join('  ').trimEnd());
      for (const row of rows) output.out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
      return entries.some((e) => !e.backup) ? 1 : 0;
    }
    if (arg === undefined) throw new UsageError('backup show: which backup?', { hint: 'pass an id from "descope-run backup list", or a file' });
    const backup = findBackup(root, env.name, arg);
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
    const out = typeof values.out === 'string' ? path.resolve(cwd, values.out) : undefined;
    const file = out ? writeBackup(backup, out) : saveBackup(session.root, backup);
    output.out(`${c.green('✓')} Backup ${backup.id} of environment "${safeText(session.env.name)}" (${describeState(backup.state)}) written to ${safeText(path.relative(cwd, file) || file)}.`);
    if (keep !== undefined) {
      const removed = pruneBackups(session.root, session.env.name, keep);
      if (removed.length > 0) output.out(`Removed ${removed.length} older ${removed.length === 1 ? 'backup' : 'backups'} (--keep ${keep}).`);
    }
    return 0;
  } finally {
    await session.close();
  }
};
