// The package's public API: the builders and types a descope.config.ts imports from 'descope-run'.
export * from './dsl/index.ts';
