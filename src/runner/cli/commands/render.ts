// descope-run render: print or write the rendered flows (and theme) for an environment. With
// --out DIR it keeps DIR/.descope-run-render.json, the list of the files it wrote there, and
// replaces only those (--force: any).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DescopeRunError, UsageError } from '../../../errors.ts';
import type { CommandRun } from '../cli.ts';
import { compileProject } from '../../config/compile.ts';
import { formatJson, safeText } from '../safe-text.ts';
import { forceFlag, jsonFormatIs, writeOutFiles, type OutFile } from '../../store/private-file.ts';

export const run: CommandRun = async ({ cwd, processEnv, output, values }) => {
  const force = forceFlag(values);
  const only = Array.isArray(values.flow) ? new Set(values.flow.map(String)) : undefined;
  const project = await compileProject({
    cwd,
    processEnv,
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
    ...(typeof values.env === 'string' ? { env: values.env } : {}),
    ...(only ? { only } : {}),
  });
  const { flows, theme } = project.rendered;
  if (only) {
    const declared = new Set(project.spec.flows.map((f) => f.spec.id));
    const unknown = [...only].filter((id) => !declared.has(id));
    if (unknown.length > 0) {
      throw new UsageError(`--flow ${unknown[0]}: no such flow in ${project.configFile}`, {
        hint: `the flows are: ${[...declared].join(', ') || '(none)'}`,
      });
    }
  }

  const documents: { name: string; json: unknown }[] = flows.map((f) => ({ name: f.id, json: f.document }));
  if (theme) documents.push({ name: 'theme', json: { theme } });

  if (typeof values.out === 'string') {
    const dir = path.resolve(cwd, values.out);
    const written = writeDocuments(values.out, dir, documents, force);
    for (const file of written) output.err(`wrote ${safeText(path.relative(cwd, file) || file)}`);
    return 0;
  }
  if (only && only.size === 1 && flows.length === 1) {
    output.out(formatJson(flows[0]!.document, 2));
  } else {
    // One JSON value, so the output can be piped to jq: { flows: { <id>: <document> }, theme }.
    const all = { flows: Object.fromEntries(flows.map((f) => [f.id, f.document])), ...(theme ? { theme: { theme } } : {}) };
    output.out(formatJson(all, 2));
  }
  return 0;
};

/**
 * The files render wrote in a folder, so that a later render replaces those and nothing else:
 * `render --out .` with a flow named `package` must not replace package.json. Flow ids start with
 * a letter or digit, so no flow's file is ever named like the manifest.
 */
export const RENDER_MANIFEST = '.descope-run-render.json';
const MANIFEST_FORMAT = 'descope-run/render-manifest';

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  /** File names (in the folder) render wrote. */
  files: string[];
}

/** The names the folder's manifest lists; none when there is none. A manifest that is not one is refused. */
function readManifest(file: string, display: string, force: boolean): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Set();
    throw new DescopeRunError('io', `${display}: cannot read the list of files render wrote (${code ?? String(error)}); nothing was written`, {
      hint: 'check that the folder is readable, or pick another folder for --out',
    });
  }
  try {
    const value = JSON.parse(text) as Partial<Manifest> | null;
    if (value?.format === MANIFEST_FORMAT && Array.isArray(value.files)) return new Set(value.files.filter((f): f is string => typeof f === 'string'));
  } catch {
    // not JSON: refused below
  }
  if (force) return new Set();
  throw new DescopeRunError('io', `${display}: exists and was not written by descope-run; nothing was written`, {
    hint: 'render lists the files it wrote there: pick another folder for --out, or pass --force to replace it',
  });
}

/**
 * Writes every document or none: every target is checked first (a file render did not write is
 * refused, unless --force), each document goes to a temporary file (0600) in the folder, and only
 * when all are written are they renamed into place, the manifest last.
 */
function writeDocuments(shownDir: string, dir: string, documents: { name: string; json: unknown }[], force: boolean): string[] {
  const names = new Map<string, string>();
  for (const doc of documents) {
    const key = doc.name.toLowerCase();
    const other = names.get(key);
    if (other !== undefined) {
      throw new DescopeRunError('io', `--out: "${other}" and "${doc.name}" would both be written to ${key}.json`, {
        hint: other === 'theme' || doc.name === 'theme' ? 'rename the flow: theme.json holds the theme' : 'flow ids must differ in more than case',
      });
    }
    names.set(key, doc.name);
  }
  // Named as the user named the folder: `--out .` refuses `package.json`, not an absolute path.
  const shown = (name: string) => path.join(shownDir, name);
  const manifestFile = path.join(dir, RENDER_MANIFEST);
  const wrote = readManifest(manifestFile, shown(RENDER_MANIFEST), force);
  const files: OutFile[] = documents.map((doc) => {
    const file = path.join(dir, `${doc.name}.json`);
    const content = `${JSON.stringify(doc.json, null, 2)}\n`;
    return {
      file,
      display: shown(`${doc.name}.json`),
      content,
      // Render's own file, or one that holds exactly what it would write (nothing is lost, e.g.
      // a folder rendered before renders kept their manifest).
      ours: (existing) => wrote.has(`${doc.name}.json`) || existing.head(Buffer.byteLength(content) + 1) === content,
    };
  });
  // What it wrote before and is still there (a deleted file's name is not render's any more), and what it writes now.
  const listed = [...wrote].filter((name) => !name.includes('/') && !name.includes('\\') && existsSync(path.join(dir, name)));
  const manifest: Manifest = { format: MANIFEST_FORMAT, version: 1, files: [...new Set([...listed, ...documents.map((d) => `${d.name}.json`)])].sort() };
  files.push({
    file: manifestFile,
    display: shown(RENDER_MANIFEST),
    content: `${JSON.stringify(manifest, null, 2)}\n`,
    ours: jsonFormatIs(MANIFEST_FORMAT),
  });
  writeOutFiles(files, {
    what: 'the rendered flows',
    force,
    createFolders: true,
    refusedHint: 'flow ids become file names: pick another folder for --out, or pass --force to replace it',
    failedHint: 'pick a folder you can write to, where no folder stands in the way of a <flow-id>.json file',
  });
  return files.slice(0, -1).map((f) => f.file);
}
