// Loads a user's TypeScript file (descope.config.ts, environments/<name>.ts) the way Vite and
// tsup's bundle-require do: bundle it with esbuild (ESM, node, inline source map), write the result
// to a randomly named .mjs under the project's node_modules/.descope-run/ so that bare imports
// resolve from the user's project, import() it, and delete it. Errors point at the user's file and
// line, never at the bundle.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type { BuildFailure, Message, Plugin } from 'esbuild';
import { ConfigLoadError, DescopeRunError } from '../../errors.ts';
import { packageEntry } from '../package.ts';

/**
 * esbuild is CommonJS: required, not imported, so Node does not lex its 100 KB main file for named
 * exports on every start (about 15 ms of `validate`).
 */
function esbuild(): typeof import('esbuild') {
  return createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
}


const INJECTED = {
  url: '__descope_run_import_meta_url__',
  dirname: '__descope_run_dirname__',
  filename: '__descope_run_filename__',
};

const LOADABLE_BY_NODE = /\.(?:m?js|cjs|json|node)$/;
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?)$/;

/** Per bundled file, the length of the header put before its first line (to correct columns). */
type HeaderLengths = Map<string, number>;

function plugin(headers: HeaderLengths): Plugin {
  return {
    name: 'descope-run-config',
    setup(b) {
      b.onResolve({ filter: /^descope-run$/ }, () => ({ path: pathToFileURL(packageEntry()).href, external: true }));
      // Bare imports: leave packages that node can load to node (they resolve from the user's
      // node_modules at import time); bundle packages that ship TypeScript, such as a shared
      // module published as .ts source.
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'resolving' || args.path.startsWith('node:')) return undefined;
        const resolved = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'resolving',
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external) return { path: args.path, external: true };
        // Import the very file esbuild found: the bundle lives elsewhere, so node must not
        // resolve the name again from there.
        if (LOADABLE_BY_NODE.test(resolved.path)) return { path: pathToFileURL(resolved.path).href, external: true };
        return { path: resolved.path };
      });
      // Each source file gets its own location, so `new URL('./templates/', import.meta.url)`
      // in a module points at the module's folder, not at the bundle.
      b.onLoad({ filter: SOURCE_FILE }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const ext = path.extname(args.path).slice(1);
        const loader = ext === 'mts' || ext === 'cts' ? 'ts' : ext === 'mjs' || ext === 'cjs' ? 'js' : (ext as 'ts' | 'js' | 'tsx' | 'jsx');
        const header =
          `const ${INJECTED.url} = ${JSON.stringify(pathToFileURL(args.path).href)};` +
          `const ${INJECTED.dirname} = ${JSON.stringify(path.dirname(args.path))};` +
          `const ${INJECTED.filename} = ${JSON.stringify(args.path)};`;
        // The header goes on the first line so that line numbers stay those of the user's file;
        // columns on line 1 are corrected with its length. A shebang line becomes a comment.
        headers.set(args.path, header.length);
        return { contents: header + (source.startsWith('#!') ? `//${source}` : source), loader };
      });
    },
  };
}

function relative(projectRoot: string, file: string): string {
  const rel = path.relative(projectRoot, file);
  return rel.startsWith('..') ? file : rel;
}

/** A 1-based column of the user's file, from one of the bundled file. */
function column(headers: HeaderLengths | undefined, file: string, line: number, col: number): number {
  const header = line === 1 ? headers?.get(file) ?? 0 : 0;
  return Math.max(1, col - header);
}

function formatBuildMessage(projectRoot: string, message: Message, headers: HeaderLengths): string {
  const loc = message.location;
  if (!loc) return message.text;
  const file = path.resolve(projectRoot, loc.file);
  return `${relative(projectRoot, file)}:${loc.line}:${column(headers, file, loc.line, loc.column + 1)}: ${message.text}`;
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<BuildFailure>).errors);
}

/**
 * The first stack frame that lies in one of the user's files (mapped through the inline source
 * map), as `file:line:col` relative to the project.
 */
export function userFrame(error: unknown, projectRoot: string, headers?: HeaderLengths): string | undefined {
  const stack = error instanceof Error ? error.stack ?? '' : '';
  for (const line of stack.split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (!file.startsWith(projectRoot + path.sep)) continue;
    if (file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return `${relative(projectRoot, file)}:${match[2]}:${column(headers, file, Number(match[2]), Number(match[3]))}`;
  }
  return undefined;
}

export function describeThrown(error: unknown): string {
  // The thrown value is the user's: reading it (a getter, a Proxy, a toJSON) may throw in turn.
  try {
    if (error instanceof Error) {
      const text = `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
      return error instanceof RangeError && /call stack/i.test(error.message)
        ? `${text} (a value nested too deeply, or code that calls itself without end)`
        : text;
    }
    return `a non-error value was thrown: ${JSON.stringify(error) ?? String(error)}`;
  } catch {
    return 'a value was thrown that cannot even be shown';
  }
}

/** How long a user's file may take to load or evaluate: DESCOPE_RUN_LOAD_TIMEOUT seconds, else 60. */
export function loadTimeoutMs(processEnv: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(processEnv.DESCOPE_RUN_LOAD_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60_000;
}

/** User code did not finish: why, and how long it was given. */
export class UserCodeStuck extends Error {
  constructor(
    readonly reason: 'never-settles' | 'timeout' | 'exit',
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'UserCodeStuck';
  }
}

let running = 0;
let realExit: typeof process.exit | undefined;

/**
 * Runs the user's code (importing their file, calling their config function) and waits for it,
 * bounded: a promise that can no longer settle (the event loop drained while it was pending, where
 * Node would quit with exit code 13), one that takes longer than loadTimeoutMs(), and a call to
 * process.exit() while it runs all reject with UserCodeStuck instead of hanging or ending the run
 * without a word.
 */
export async function runUserCode<T>(work: () => Promise<T> | T, options: { timeoutMs?: number } = {}): Promise<T> {
  const ms = options.timeoutMs ?? loadTimeoutMs();
  let timer: NodeJS.Timeout | undefined;
  let drained: (() => void) | undefined;
  // Counted, so that loads running at the same time (tests call main() in parallel) restore the
  // real process.exit only when the last one ends.
  if (running++ === 0) {
    realExit = process.exit;
    process.exit = ((code?: number | string | null) => {
      throw new UserCodeStuck('exit', `called process.exit(${code ?? ''})`);
    }) as typeof process.exit;
  }
  const exit = realExit!;
  try {
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new UserCodeStuck('timeout', `did not finish within ${ms / 1000} s`));
        // What it left running (a timer, a socket) would keep the process alive after the error
        // is reported: end it then, unless it is gone by itself.
        setTimeout(() => exit(process.exitCode ?? 1), 1000).unref();
      }, ms);
      timer.unref();
      drained = () => reject(new UserCodeStuck('never-settles', 'waits for a promise that never settles (nothing is left running that could settle it)'));
      process.once('beforeExit', drained);
    });
    return await Promise.race([Promise.resolve().then(work), stuck]);
  } finally {
    if (--running === 0) process.exit = exit;
    clearTimeout(timer);
    if (drained) process.off('beforeExit', drained);
  }
}

/** The error to report for UserCodeStuck, naming the file. */
export function stuckError(error: UserCodeStuck, display: string, what: string): ConfigLoadError {
  const hint =
    error.reason === 'exit'
      ? `throw an Error instead of exiting: descope-run reports it`
      : error.reason === 'timeout'
        ? `make sure everything ${display} awaits finishes; if it needs longer, set DESCOPE_RUN_LOAD_TIMEOUT=SECONDS`
        : `make sure every promise ${display} awaits resolves or rejects (a resolve() never called?)`;
  return new ConfigLoadError(`${display}: ${what} ${error.detail}`, { hint, cause: error });
}

export interface LoadedModule {
  /** The module's exports. */
  exports: Record<string, unknown>;
  /** Where in the user's files an error thrown by this module's code was raised (`file:line:col`). */
  locate(error: unknown): string | undefined;
}

/** One of the user's files, bundled: the code to import, not yet written or run. */
export interface BundledModule {
  code: string;
  headers: HeaderLengths;
}

/**
 * Bundles one of the user's files with esbuild. No user code runs and nothing is written, so a
 * caller may start it early (validate bundles the environment file and the config at once, while
 * it loads zod and nunjucks) and hand the promise to loadUserModule.
 */
export async function bundleUserModule(file: string, projectRoot: string): Promise<BundledModule> {
  const display = relative(projectRoot, file);
  const headers: HeaderLengths = new Map();
  try {
    const result = await esbuild().build({
      entryPoints: [file],
      absWorkingDir: projectRoot,
      // Never written (write: false); it names the output for the source map's relative paths.
      outfile: path.join(projectRoot, 'node_modules', '.descope-run', 'bundle.mjs'),
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      define: {
        'import.meta.url': INJECTED.url,
        'import.meta.dirname': INJECTED.dirname,
        'import.meta.filename': INJECTED.filename,
        __dirname: INJECTED.dirname,
        __filename: INJECTED.filename,
      },
      plugins: [plugin(headers)],
      // Node's own conditions, so a package resolves to the file node would load.
      conditions: [],
    });
    return { code: result.outputFiles[0]!.text, headers };
  } catch (error) {
    if (isBuildFailure(error) && error.errors.length > 0) {
      const lines = error.errors.slice(0, 5).map((m) => formatBuildMessage(projectRoot, m, headers));
      throw new ConfigLoadError(lines.join('\n'), {
        hint: `fix the ${lines.length === 1 ? 'error' : 'errors'} above in ${display}`,
        cause: error,
      });
    }
    throw new ConfigLoadError(`${display}: could not be bundled: ${describeThrown(error)}`, { cause: error });
  }
}

/**
 * Bundles (or takes the bundle started earlier) and imports one of the user's files. A started
 * bundle must be of this file.
 */
export async function loadUserModule(
  file: string,
  projectRoot: string,
  bundled: Promise<BundledModule> = bundleUserModule(file, projectRoot),
  options: { timeoutMs?: number } = {},
): Promise<LoadedModule> {
  const display = relative(projectRoot, file);
  const { code, headers } = await bundled;
  const outDir = path.join(projectRoot, 'node_modules', '.descope-run');
  const outFile = path.join(outDir, `${path.basename(file).replace(/\W+/g, '-')}.${randomBytes(6).toString('hex')}.mjs`);
  try {
    await mkdir(outDir, { recursive: true });
    await writeFile(outFile, code, { mode: 0o600 });
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new DescopeRunError('io', `${display}: cannot write the compiled config to ${relative(projectRoot, outDir)}/ (${errno})`, {
      hint: 'descope-run writes a temporary file there so that your imports resolve from your project; make the folder writable',
      cause: error,
    });
  }
  process.setSourceMapsEnabled(true);
  const locate = (error: unknown) => userFrame(error, projectRoot, headers);
  try {
    const exports = await runUserCode(() => import(pathToFileURL(outFile).href) as Promise<Record<string, unknown>>, options);
    return { exports, locate };
  } catch (error) {
    if (error instanceof UserCodeStuck) throw stuckError(error, display, 'loading it');
    const missing = missingPackage(error);
    if (missing) {
      throw new ConfigLoadError(`${display}: imports "${missing}", which is not installed`, {
        hint: `npm install ${missing}`,
        cause: error,
      });
    }
    const where = locate(error) ?? display;
    throw new ConfigLoadError(`${where}: ${display} threw while loading: ${describeThrown(error)}`, {
      hint: `fix ${where}`,
      cause: error,
    });
  } finally {
    if (!process.env.DESCOPE_RUN_KEEP_BUNDLE) await rm(outFile, { force: true });
  }
}

/** The package name of an ERR_MODULE_NOT_FOUND for a bare import, if that is what this is. */
function missingPackage(error: unknown): string | undefined {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  return /Cannot find package '([^']+)'/.exec((error as Error).message)?.[1];
}
