// descope-run render: print or write the rendered flows (and theme) for an environment.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../errors.ts';
import type { CommandRun } from '../cli.ts';
import { compileProject } from '../compile.ts';

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
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const doc of documents) {
      const file = path.join(dir, `${doc.name}.json`);
      await writeFile(file, `${JSON.stringify(doc.json, null, 2)}\n`, { mode: 0o600 });
      output.err(`wrote ${path.relative(cwd, file) || file}`);
    }
    return 0;
  }
  if (only && only.size === 1 && flows.length === 1) {
    output.out(JSON.stringify(flows[0]!.document, null, 2));
  } else {
    // One JSON value, so the output can be piped to jq: { flows: { <id>: <document> }, theme }.
    const all = { flows: Object.fromEntries(flows.map((f) => [f.id, f.document])), ...(theme ? { theme: { theme } } : {}) };
    output.out(JSON.stringify(all, null, 2));
  }
  return 0;
};
