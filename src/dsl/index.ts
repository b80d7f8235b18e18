// The DSL: what users import in descope.config.ts and environments/*.ts.
export { defineConfig, defineEnvironment, defineModule, flow, passwordPolicy, permission, role, tenant, theme } from './builders.ts';
export type { ModuleDefinition } from './builders.ts';
export type * from './types.ts';
