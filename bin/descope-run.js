#!/usr/bin/env node
// The installed entry point: the compiled CLI. Kept tiny so --version and --help start fast.
import { main } from '../dist/runner/cli.js';

await main(process.argv.slice(2));
