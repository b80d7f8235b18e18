#!/usr/bin/env node
// The installed entry point: the bundled CLI (scripts/bundle-cli.mjs). Kept tiny so --version and
// --help start fast.
import { main } from '../dist/cli/cli.js';

await main(process.argv.slice(2));
// A config may leave a timer or socket open; the command is done, so do not wait for it forever.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
