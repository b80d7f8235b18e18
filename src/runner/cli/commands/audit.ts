// descope-run audit: print the record of applies from .descope/audit/. Needs no config to load and
// no credentials: the log is read as it is, even when the config no longer compiles.
import { UsageError } from '../../../errors.ts';
import { formatAuditTable, readAuditLog } from '../../store/audit-log.ts';
import type { CommandRun } from '../cli.ts';
import { findProjectRoot } from '../../config/load-config.ts';
import { formatJson, safeText } from '../safe-text.ts';

function parseSince(value: string): Date {
  const date = new Date(value);
  // Date() alone accepts "1" or "May"; ask for a date that starts with a year, month and day.
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--since "${value}": not a date`, {
      hint: 'e.g. --since 2026-11-01 or --since 2026-11-01T12:00:00Z',
    });
  }
  return date;
}

export const run: CommandRun = async ({ cwd, output, values }) => {
  const since = typeof values.since === 'string' ? parseSince(values.since) : undefined;
  const env = typeof values.env === 'string' ? values.env : undefined;
  const root = findProjectRoot(cwd, typeof values.config === 'string' ? values.config : undefined);

  const log = readAuditLog(root, { ...(env !== undefined ? { env } : {}), ...(since ? { since } : {}) });
  for (const problem of log.problems) {
    output.err(`${output.c.yellow('warning:')} ${safeText(problem.file)}:${problem.line}: ${problem.message}`);
  }

  if (values.json === true) {
    const records = log.records.map(({ file: _file, ...record }) => record);
    output.out(formatJson(records, 2));
    return 0;
  }
  if (log.records.length === 0) {
    const after = since ? ` since ${since.toISOString()}` : '';
    if (env !== undefined) output.out(`No applies recorded for environment "${safeText(env)}"${after}.`);
    else if (since) output.out(`No applies recorded${after}.`);
    else output.out('No applies recorded yet (.descope/audit/ is empty).');
    return 0;
  }
  for (const line of formatAuditTable(log.records, { paint: output.c })) output.out(line);
  return 0;
};
