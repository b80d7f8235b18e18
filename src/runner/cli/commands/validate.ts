// descope-run validate: compile and check everything, send nothing.
import { formatIssue } from '../../../errors.ts';
import type { CommandRun } from '../cli.ts';
import { compileProject } from '../../config/compile.ts';
import { resolveCredentials } from '../../config/environment.ts';
import { plural } from '../output.ts';
import { safeText } from '../safe-text.ts';

export const run: CommandRun = async ({ cwd, processEnv, output, values }) => {
  const project = await compileProject({
    cwd,
    processEnv,
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
    ...(typeof values.env === 'string' ? { env: values.env } : {}),
  });
  const { env, spec, rendered } = project;
  if (env.target === 'remote' && values.offline !== true) resolveCredentials(env, processEnv);

  const parts = [
    plural(spec.tenants.length, 'tenant'),
    plural(spec.roles.length, 'role'),
    plural(spec.permissions.length, 'permission'),
    plural(rendered.flows.length, 'flow'),
    ...(rendered.theme ? ['a theme'] : []),
    ...(spec.passwordPolicy ? ['a password policy'] : []),
  ];
  const overrides = env.fromShell.length > 0 ? `, with ${env.fromShell.join(', ')} from the shell` : '';
  const target = env.target === 'emulator' ? 'the embedded emulator' : `project ${env.projectId ?? '(not set)'}${overrides}`;
  output.out(`${output.c.green('✓')} ${safeText(project.configFile)} is valid for environment "${safeText(env.name)}" (${safeText(target)}): ${parts.join(', ')}.`);
  // Worth knowing, not wrong: what a flow document holds that is never imported (render-project.ts).
  for (const note of rendered.notes) {
    output.err(`${output.c.yellow('note:')} ${safeText(formatIssue(note))}`);
    if (note.hint) output.err(output.c.dim(`    hint: ${safeText(note.hint)}`));
  }
  return 0;
};
