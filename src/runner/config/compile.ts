// Config file → checked spec → rendered documents: everything validate, render, diff and apply
// share before they talk to Descope. Throws one ConfigValidationError holding every problem.
import { ConfigValidationError } from '../../errors.ts';
import type { ProjectSpec } from './check-config.ts';
import type { ResolvedEnvironment } from './environment.ts';
import { loadProject, type LoadOptions } from './load-config.ts';
import type { RenderedProject } from '../templates/render-project.ts';
import { templateCacheDir } from '../templates/template-cache.ts';

export interface CompiledProject {
  root: string;
  configFile: string;
  env: ResolvedEnvironment;
  spec: ProjectSpec;
  rendered: RenderedProject;
}

export interface CompileOptions extends LoadOptions {
  /** Render only these flows. */
  only?: ReadonlySet<string>;
}

export async function compileProject(options: CompileOptions): Promise<CompiledProject> {
  // The renderer (nunjucks) loads while the config is bundled and checked.
  const renderer = import('../templates/render-project.ts');
  renderer.catch(() => undefined);
  const project = await loadProject(options);
  if (!project.spec) throw new ConfigValidationError(project.issues);
  const { renderProject } = await renderer;
  const rendered = renderProject(project.spec, {
    root: project.root,
    env: project.env,
    ...(options.only ? { only: options.only } : {}),
    cacheDir: templateCacheDir(project.root, options.processEnv ?? process.env),
    processEnv: options.processEnv ?? process.env,
  });
  const issues = [...project.issues, ...rendered.issues];
  if (issues.length > 0) throw new ConfigValidationError(issues);
  return { root: project.root, configFile: project.configFile, env: project.env, spec: project.spec, rendered };
}
