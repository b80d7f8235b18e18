// descope-run render: print or write the rendered flows (and theme) for an environment.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DescopeRunError, UsageError } from '../../errors.ts';
import type { CommandRun } from '../cli.ts';
import { compileProject } from '../compile.ts';
import { formatJson, safeText } from '../safe-text.ts';

export const run: CommandRun = async ({ cwd, processEnv, output, values }) => {
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
    const written = await writeDocuments(dir, documents);
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
 * Writes every document or none: each goes to a temporary file (0600) in the folder first, and
 * only when all are written are they renamed into place.
 */
async function writeDocuments(dir: string, documents: { name: string; json: unknown }[]): Promise<string[]> {
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
  const temps: { temp: string; file: string }[] = [];
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const doc of documents) {
      const file = path.join(dir, `${doc.name}.json`);
      const temp = path.join(dir, `.${doc.name}.json.${randomBytes(4).toString('hex')}.tmp`);
      temps.push({ temp, file });
      await writeFile(temp, `${JSON.stringify(doc.json, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    }
    for (const { temp, file } of temps) await rename(temp, file);
    return temps.map((t) => t.file);
  } catch (error) {
    await Promise.all(temps.map(({ temp }) => rm(temp, { force: true })));
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const failed = error as NodeJS.ErrnoException & { dest?: string };
    const where = failed.dest ?? failed.path ?? dir;
    throw new DescopeRunError('io', `--out ${dir}: cannot write ${where} (${code}); nothing was written`, {
      hint: 'pick a folder you can write to, where no folder stands in the way of a <flow-id>.json file',
      cause: error,
    });
  }
}
