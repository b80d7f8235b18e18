// descope-run validate: compile and check everything, send nothing.
import type { CommandRun } from '../cli.ts';
import { compileProject } from '../compile.ts';
import { resolveCredentials } from '../environment.ts';
import { plural } from '../output.ts';

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
  output.out(`${output.c.green('✓')} ${project.configFile} is valid for environment "${env.name}" (${target}): ${parts.join(', ')}.`);
  return 0;
};
