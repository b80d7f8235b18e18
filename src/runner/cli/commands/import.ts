// descope-run import --out DIR: reads the whole live project and writes a project that manages it
// (descope.config.ts, templates/*.json, environments/<env>.ts). Needs no config in the working
// folder: the environment is resolved on its own. All or nothing: the files go to a temporary
// folder next to DIR, are checked there (compiled, and planned against the live state just read:
// the plan must be empty), and only then is the folder renamed into place.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigValidationError, DescopeRunError, isDescopeRunError, UsageError, type Issue } from '../../../errors.ts';
import { readLiveState, type LiveSnapshot } from '../../../runtime/index.ts';
import type { CommandRun } from '../cli.ts';
import { compileProject } from '../../config/compile.ts';
import { connect } from '../connect.ts';
import {
  DEFAULT_BUDGET,
  DEFAULT_EMULATOR_STATE,
  loadEnvironment,
  resolveCredentials,
  selectEnvironmentName,
  type ResolvedEnvironment,
} from '../../config/environment.ts';
import { renderImportedProject, type ImportEnvironment, type ImportedProject } from '../../config/import-project.ts';
import { plural, printIssues } from '../output.ts';
import { computePlan } from '../../plan/compute.ts';
import { computeDesiredProject } from '../../plan/desired.ts';
import { safeText } from '../safe-text.ts';

export const run: CommandRun = async ({ cwd, processEnv, output, values }) => {
  if (typeof values.out !== 'string' || values.out === '') {
    throw new UsageError('import needs --out DIR, the folder to write the project to', {
      hint: 'e.g. descope-run import --env staging --out imported',
    });
  }
  const shown = values.out;
  // Refused before anything is read, so a wrong --out costs no API call.
  const dir = await checkTarget(path.resolve(cwd, shown), shown);

  // No config is needed: the environment is resolved from the working folder alone (`local`, the
  // embedded emulator, needs not even an environments/ folder).
  const envName = selectEnvironmentName(typeof values.env === 'string' ? values.env : undefined, processEnv);
  const env = await loadEnvironment(cwd, envName, processEnv);
  // Before any call: credentials exist and are for this environment's project.
  if (env.target === 'remote') resolveCredentials(env, processEnv);
  const connection = await connect(env, { processEnv, root: cwd });
  let live: LiveSnapshot;
  try {
    live = await readLiveState(connection.api, { all: true });
  } finally {
    await connection.close();
  }
  output.out(output.c.dim(`Environment "${safeText(env.name)}": ${safeText(connection.description)}.`));

  const imported = renderImportedProject(live.state, {
    environment: importEnvironment(env, connection.projectId, dir),
    source: connection.description,
  });
  const problems = await writeAtomically(dir, shown, imported, (root) => checkImported(root, env.name, processEnv, live));

  const { c } = output;
  const n = imported.counts;
  const parts = [
    plural(n.tenants, 'tenant') + (n.tenants > 0 ? ` (${n.tenantSettings} with settings, ${n.tenantSso} with SSO)` : ''),
    plural(n.roles, 'role'),
    plural(n.permissions, 'permission'),
    plural(n.flows, 'flow'),
    ...(n.theme ? ['a theme'] : []),
    ...(n.passwordPolicy ? ['a password policy'] : []),
  ];
  const display = path.relative(cwd, dir) || '.';
  output.out('');
  output.out(`Imported into ${safeText(display)}/: ${parts.join(', ')}.`);
  // File names come from live flow ids.
  for (const file of imported.files) output.out(`  ${safeText(file.path)}`);
  output.out('');
  if (problems.issues.length === 0 && problems.changes.length === 0) {
    output.out(c.green('✓') + ' The written config is valid and matches the live project: diff shows no changes.');
  } else {
    // Written anyway: it is the best starting point there is, and the problems say what to fix.
    if (problems.issues.length > 0) printIssues(output, problems.issues);
    if (problems.changes.length > 0) {
      output.err(`${c.yellow('warning:')} diff would still show changes for: ${problems.changes.map(safeText).join(', ')}`);
    }
    output.err(
      `${c.yellow('warning:')} the written config does not yet reproduce the live project (see above); fix these by hand before apply`,
    );
  }
  if (imported.secrets.length > 0) {
    output.out('');
    output.out(`Set these variables before apply: ${imported.secrets.map((s) => safeText(s.variable)).join(', ')}`);
    for (const s of imported.secrets) output.out(c.dim(`  ${safeText(s.variable)}: the OIDC client secret of ${safeText(s.address)} (Descope never returns it)`));
  }
  if (env.target === 'remote') output.out(c.dim(`The management key is read from ${safeText(env.keyVariable)}.`));
  output.out(
    c.dim(`The config imports 'descope-run'; for types in your editor, install it there: cd ${safeText(display)} && npm install --save-dev descope-run`),
  );
  return 0;
};

/** The folder to write: it may exist only as an empty folder (its real path is returned then). */
async function checkTarget(dir: string, shown: string): Promise<string> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // A dangling link: the rename at the end would fail after the whole project was read.
      if ((await lstat(dir).catch(() => undefined))?.isSymbolicLink()) {
        throw new DescopeRunError('io', `--out ${shown}: is a symbolic link to a folder that does not exist; nothing was written`, {
          hint: 'create the folder it points to, or pass a folder that does not exist yet',
        });
      }
      return dir;
    }
    throw ioError(`--out ${shown}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
  }
  if (!info.isDirectory()) {
    throw new DescopeRunError('io', `--out ${shown}: is a file, not a folder; nothing was written`, {
      hint: 'pass a folder that does not exist yet, or an empty one',
    });
  }
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new DescopeRunError('io', `--out ${shown}: the folder is not empty (${plural(entries.length, 'entry', 'entries')}); nothing was written`, {
      hint: 'import writes a whole project: pass a folder that does not exist yet, or an empty one',
    });
  }
  return realpath(dir);
}

function importEnvironment(env: ResolvedEnvironment, projectId: string, dir: string): ImportEnvironment {
  if (env.target === 'emulator') {
    // The imported project must talk to the same emulator state, wherever the folder is.
    const stateFile = env.emulatorStateFile
      ? path.relative(dir, env.emulatorStateFile).split(path.sep).join('/')
      : undefined;
    return { name: env.name, target: 'emulator', stateFile: stateFile === DEFAULT_EMULATOR_STATE ? undefined : stateFile };
  }
  const budget = env.budget;
  const isDefault = budget.requests === DEFAULT_BUDGET.requests && budget.windowSeconds === DEFAULT_BUDGET.windowSeconds;
  return {
    name: env.name,
    target: 'remote',
    projectId,
    baseUrl: env.baseUrl,
    keyVariable: env.keyVariable,
    protected: env.protected,
    budget: isDefault ? undefined : { requests: budget.requests, windowSeconds: budget.windowSeconds },
  };
}

interface CheckResult {
  issues: Issue[];
  /** Addresses the plan would still change. */
  changes: string[];
}

/** Compiles the written project as validate does and plans it against the live state just read. */
async function checkImported(root: string, envName: string, processEnv: NodeJS.ProcessEnv, live: LiveSnapshot): Promise<CheckResult> {
  try {
    const project = await compileProject({ cwd: root, env: envName, processEnv });
    const plan = computePlan(computeDesiredProject(project.spec, project.rendered), live);
    return { issues: [], changes: [...plan.changes, ...plan.held].map((change) => change.address) };
  } catch (error) {
    if (error instanceof ConfigValidationError) return { issues: [...error.issues], changes: [] };
    if (isDescopeRunError(error)) return { issues: [{ path: 'descope.config.ts', message: error.message }], changes: [] };
    throw error;
  }
}

/**
 * Writes every file into a temporary folder next to `dir`, runs `check` on it, then renames it to
 * `dir`. On any failure nothing is left behind: not the temporary folder, not a parent it created.
 */
async function writeAtomically(
  dir: string,
  shown: string,
  imported: ImportedProject,
  check: (root: string) => Promise<CheckResult>,
): Promise<CheckResult> {
  const parent = path.dirname(dir);
  const temp = path.join(parent, `.${path.basename(dir)}.import-${randomBytes(4).toString('hex')}.tmp`);
  let createdParent: string | undefined;
  try {
    createdParent = await mkdir(parent, { recursive: true });
    // Project data: 0600 files in 0700 folders, like everything else descope-run writes (git
    // keeps no mode but the executable bit, so a commit is unaffected).
    await mkdir(temp, { mode: 0o700 });
    for (const file of imported.files) {
      const target = path.join(temp, ...file.path.split('/'));
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(target, file.content, { flag: 'wx', mode: 0o600 });
    }
    const result = await check(temp);
    // The check bundled the config under node_modules/.descope-run; the folder was not asked for.
    await rm(path.join(temp, 'node_modules'), { recursive: true, force: true });
    // An empty folder may stand at `dir`: rmdir refuses if something was written to it meanwhile.
    if (existsSync(dir)) await rmdir(dir);
    await rename(temp, dir);
    return result;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (createdParent !== undefined) await rm(createdParent, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Expected errors pass as they are; anything that is not a file system error is a bug.
    if (isDescopeRunError(error) || typeof code !== 'string') throw error;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw ioError(`--out ${shown}: something was written to the folder during the import; nothing was written`, error);
    }
    throw ioError(`--out ${shown}: cannot write the project (${code}); nothing was written`, error);
  }
}

function ioError(message: string, cause: unknown): DescopeRunError {
  return new DescopeRunError('io', message, { hint: 'pick a folder you can write to that does not exist yet, or is empty', cause });
}
