// The one Nunjucks module descope-run imports by path: its compiler's AST transform, which the
// package does not export (template-guard.ts runs Nunjucks' compile with its own hooks). Imported
// statically, so the CLI bundle uses the very copy of Nunjucks it bundles.
declare module 'nunjucks/src/transformer.js' {
  const transformer: { transform(ast: unknown, asyncFilters: string[], name?: string): unknown };
  export default transformer;
}
