// descope-run show: a read-only view of one kind of the live project. Needs no config file: the
// environment is resolved from the config's folder when there is one, else from the working folder.
// Reads only the list call(s) the view needs:
//   tenants      tenant.loadAll
//   roles        tenant.loadAll (tenant roles are searched by tenant id), then role.search
//   permissions  permission.loadAll
//   flows        flow.list (no exports)
//   theme        theme.export
import { UsageError } from '../../../errors.ts';
import { readLiveState, readTenants, type DescopeApi, type WaitEvent } from '../../../runtime/index.ts';
import type { CommandRun } from '../cli.ts';
import { connect } from '../connect.ts';
import { loadEnvironment, selectEnvironmentName } from '../../config/environment.ts';
import { findProjectRoot } from '../../config/load-config.ts';
import { safeFolded, safeText } from '../safe-text.ts';
import { formatShow, SHOW_FORMATS, SHOW_VIEWS, type ShowData, type ShowFormat, type ShowView } from '../show-view.ts';

function parseView(value: string | undefined): ShowView {
  const views = SHOW_VIEWS.join(', ');
  if (value === undefined) {
    throw new UsageError(`show: which view? one of ${views}`, { hint: 'e.g. descope-run show tenants --env staging' });
  }
  if (!(SHOW_VIEWS as readonly string[]).includes(value)) {
    throw new UsageError(`show: unknown view "${value}"; the views are ${views}`, { hint: 'run "descope-run show --help"' });
  }
  return value as ShowView;
}

function parseFormat(value: unknown): ShowFormat {
  if (value === undefined) return 'table';
  if (typeof value === 'string' && (SHOW_FORMATS as readonly string[]).includes(value)) return value as ShowFormat;
  throw new UsageError(`--format "${String(value)}": not a format; the formats are ${SHOW_FORMATS.join(', ')}`, {
    hint: 'e.g. --format json',
  });
}

export async function readShowData(api: DescopeApi, view: ShowView): Promise<ShowData> {
  switch (view) {
    case 'tenants': {
      // The tenant list directly: readLiveState keeps its authType (the SSO column) to itself.
      const { tenants, authTypes } = await readTenants(api);
      return { view, tenants, authTypes };
    }
    case 'roles':
      return { view, roles: (await readLiveState(api, { roles: true })).state.roles ?? {} };
    case 'permissions':
      return { view, permissions: (await readLiveState(api, { permissions: true })).state.permissions ?? {} };
    case 'flows':
      return { view, flows: (await readLiveState(api, { flows: true })).state.flowSummaries ?? {} };
    case 'theme':
      return { view, theme: (await readLiveState(api, { theme: true })).state.theme ?? { cssTemplate: {} } };
  }
}

export const run: CommandRun = async ({ cwd, processEnv, output, values, positionals }) => {
  // Arguments first: a mistyped view or format sends nothing.
  const view = parseView(positionals[0]);
  const format = parseFormat(values.format);
  const root = findProjectRoot(cwd, typeof values.config === 'string' ? values.config : undefined);
  const env = await loadEnvironment(root, selectEnvironmentName(typeof values.env === 'string' ? values.env : undefined, processEnv), processEnv);

  const onWait = (event: WaitEvent): void => {
    const seconds = (event.ms / 1000).toFixed(1);
    output.err(output.c.dim(event.reason === 'rate-limit' ? `waiting ${seconds} s for the rate limit (${safeFolded(event.cause)})` : `retrying ${safeText(event.address)} in ${seconds} s (${safeFolded(event.cause)})`));
  };
  const connection = await connect(env, { processEnv, root, onWait });
  try {
    const data = await readShowData(connection.api, view);
    for (const line of formatShow(data, format, safeText(connection.description))) output.out(line);
    return 0;
  } finally {
    await connection.close();
  }
};
