// Loads a user's TypeScript file (descope.config.ts, environments/<name>.ts) the way Vite and
// tsup's bundle-require do: bundle it with esbuild (ESM, node, inline source map), write the result
// to a randomly named .mjs under the project's node_modules/.descope-run/ so that bare imports
// resolve from the user's project, import() it, and delete it. Errors point at the user's file and
// line, never at the bundle.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildFailure, type Message, type Plugin } from 'esbuild';
import { ConfigLoadError } from '../errors.ts';

/** The package's own public entry, so a config's `import 'descope-run'` gets this very copy. */
function ownEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here); // .ts when run from source (tests), .js when installed
  return path.resolve(path.dirname(here), '..', `index${ext}`);
}

const INJECTED = {
  url: '__descope_run_import_meta_url__',
  dirname: '__descope_run_dirname__',
  filename: '__descope_run_filename__',
};

const LOADABLE_BY_NODE = /\.(?:m?js|cjs|json|node)$/;
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?)$/;

function plugin(): Plugin {
  return {
    name: 'descope-run-config',
    setup(b) {
      b.onResolve({ filter: /^descope-run$/ }, () => ({ path: pathToFileURL(ownEntry()).href, external: true }));
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
        if (LOADABLE_BY_NODE.test(resolved.path) || resolved.external) return { path: args.path, external: true };
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
        // The header goes on the first line so that line numbers stay those of the user's file.
        return { contents: header + source, loader };
      });
    },
  };
}

function relative(projectRoot: string, file: string): string {
  const rel = path.relative(projectRoot, file);
  return rel.startsWith('..') ? file : rel;
}

function formatBuildMessage(projectRoot: string, message: Message): string {
  const loc = message.location;
  if (!loc) return message.text;
  return `${relative(projectRoot, path.resolve(projectRoot, loc.file))}:${loc.line}:${loc.column + 1}: ${message.text}`;
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<BuildFailure>).errors);
}

/**
 * The first stack frame that lies in one of the user's files (mapped through the inline source
 * map), as `file:line:col` relative to the project.
 */
export function userFrame(error: unknown, projectRoot: string): string | undefined {
  const stack = error instanceof Error ? error.stack ?? '' : '';
  for (const line of stack.split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (!file.startsWith(projectRoot + path.sep)) continue;
    if (file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return `${relative(projectRoot, file)}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

export function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
  return `a non-error value was thrown: ${JSON.stringify(error) ?? String(error)}`;
}

export interface LoadedModule {
  /** The module's exports. */
  exports: Record<string, unknown>;
  /** The files that went into the bundle (absolute), for watch mode and messages. */
  inputs: string[];
}

/** Bundles and imports one of the user's files. */
export async function loadUserModule(file: string, projectRoot: string): Promise<LoadedModule> {
  const display = relative(projectRoot, file);
  let code: string;
  let inputs: string[];
  const outDir = path.join(projectRoot, 'node_modules', '.descope-run');
  const outFile = path.join(outDir, `${path.basename(file).replace(/\W+/g, '-')}.${randomBytes(6).toString('hex')}.mjs`);
  try {
    const result = await build({
      entryPoints: [file],
      absWorkingDir: projectRoot,
      outfile: outFile,
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      define: {
        'import.meta.url': INJECTED.url,
        'import.meta.dirname': INJECTED.dirname,
        'import.meta.filename': INJECTED.filename,
        __dirname: INJECTED.dirname,
        __filename: INJECTED.filename,
      },
      plugins: [plugin()],
    });
    code = result.outputFiles[0]!.text;
    inputs = Object.keys(result.metafile.inputs).map((input) => path.resolve(projectRoot, input));
  } catch (error) {
    if (isBuildFailure(error) && error.errors.length > 0) {
      const lines = error.errors.slice(0, 5).map((m) => formatBuildMessage(projectRoot, m));
      throw new ConfigLoadError(lines.join('\n'), {
        hint: `fix the ${lines.length === 1 ? 'error' : 'errors'} above in ${display}`,
        cause: error,
      });
    }
    throw new ConfigLoadError(`${display}: could not be bundled: ${describeThrown(error)}`, { cause: error });
  }

  await mkdir(outDir, { recursive: true });
  await writeFile(outFile, code, { mode: 0o600 });
  process.setSourceMapsEnabled(true);
  try {
    const exports = (await import(pathToFileURL(outFile).href)) as Record<string, unknown>;
    return { exports, inputs };
  } catch (error) {
    const where = userFrame(error, projectRoot) ?? display;
    throw new ConfigLoadError(`${where}: ${display} threw while loading: ${describeThrown(error)}`, {
      hint: `fix ${where}`,
      cause: error,
    });
  } finally {
    if (!process.env.DESCOPE_RUN_KEEP_BUNDLE) await rm(outFile, { force: true });
  }
}
