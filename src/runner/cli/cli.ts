// The command line: parse argv (util.parseArgs), lazily import the one command asked for, and turn
// every error into one clear message and an exit code. --version and --help load nothing else,
// so they start fast.
import type { Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigValidationError, isDescopeRunError, UsageError } from '../../errors.ts';
import { createOutput, printIssues, type Output } from './output.ts';
import { toolVersion } from '../package.ts';
import { safeFolded, safeLines, safeText } from './safe-text.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  cwd: string;
  processEnv: NodeJS.ProcessEnv;
  output: Output;
  /** Values of the parsed options. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** What a command module exports. It returns the exit code; it never calls process.exit. */
export type CommandRun = (ctx: CommandContext) => Promise<number>;

interface CommandInfo {
  summary: string;
  usage: string;
  details: string;
  options: Options;
  /** The positional arguments it takes (e.g. `backup list`, `show tenants`); none when absent. */
  positionals?: { max: number };
  load: () => Promise<{ run: CommandRun }>;
}

const COMMON: Options = {
  env: { type: 'string', short: 'e' },
  config: { type: 'string', short: 'c' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP = `  -e, --env NAME      the environment (environments/NAME.ts); default: $DESCOPE_ENV, then "local"
  -c, --config PATH   the config file; default: the nearest descope.config.ts
      --no-color      plain output (also when not a terminal, or with NO_COLOR set)
  -h, --help          this help`;

export const COMMANDS: Record<string, CommandInfo> = {
  validate: {
    summary: 'check the config, its environment and its templates',
    usage: 'descope-run validate [--env NAME] [--config PATH] [--offline]',
    details: `Bundles descope.config.ts, evaluates it for the environment, checks it (schema, duplicate
addresses, references between resources, domains), renders every flow and the theme and checks
each flow as a graph. Reports every problem, not just the first. Sends nothing to Descope.

      --offline       do not require the environment's project id and key variable
                      (for CI jobs that lint without credentials)

Exit code: 0 valid, 1 not.`,
    options: { offline: { type: 'boolean' } },
    load: () => import('./commands/validate.ts'),
  },
  render: {
    summary: 'print or write the rendered flows and theme',
    usage: 'descope-run render [--env NAME] [--flow ID]... [--out DIR [--force]]',
    details: `Renders the flow templates with the environment's values and prints them as Descope flow
JSON (the console/v1 {flow, screens} format the SDK imports), one document per flow.

      --flow ID       only this flow (repeatable)
      --out DIR       write DIR/<flow-id>.json (and DIR/theme.json) instead of printing; the
                      files written are listed in DIR/.descope-run-render.json, and a file
                      render did not write is never replaced
      --force         with --out: replace such files too

Exit code: 0 rendered, 1 a problem (nothing is written then).`,
    options: { flow: { type: 'string', multiple: true }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
    load: () => import('./commands/render.ts'),
  },
  diff: {
    summary: 'show what apply would change in the live project',
    usage: 'descope-run diff [--env NAME] [--json] [--out PLAN [--force]] [--exit-code] [--allow-delete] [--target ADDRESS]...',
    details: `Reads the live project, compares it with the config (rendered for the environment) and prints the
plan: one block per address with each changed field, then a summary line. Fields the config does
not set are not managed and never show as changes. Writes nothing to Descope.

      --json          print the plan as JSON
      --out PLAN      save the plan to PLAN (mode 0600), for "apply --plan PLAN"; an existing
                      file is replaced only if it is a saved plan
      --force         with --out: replace PLAN even if descope-run did not write it
      --exit-code     exit 2 when there are changes (0: none, 1: an error)
      --allow-delete  include the deletes that prune asks for (as "apply --allow-delete" would)
      --target ADDR   only this address and what it needs (repeatable), e.g. tenants/acme

Exit code: 0 (with --exit-code: 0 no changes, 2 changes), 1 an error.`,
    options: {
      json: { type: 'boolean' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      'exit-code': { type: 'boolean' },
      'allow-delete': { type: 'boolean' },
      target: { type: 'string', multiple: true },
    },
    load: () => import('./commands/diff.ts'),
  },
  apply: {
    summary: 'change the live project to match the config',
    usage: 'descope-run apply [--env NAME] [--yes] [--plan PLAN] [--allow-delete] [--target ADDRESS]... [--no-backup]',
    details: `Computes the plan (or reads a saved one), prints it, asks for confirmation on a terminal, then
makes exactly those changes, paced to the environment's rate limit. Every apply is recorded in
.descope/audit/<env>.jsonl.

  -y, --yes           do not ask (required when not on a terminal)
      --plan PLAN     apply exactly this saved plan ("diff --out PLAN"); refused if the live
                      project changed since it was made
      --allow-delete  carry out the deletes that the config's prune option asks for
      --target ADDR   only this address and what it needs (repeatable), e.g. tenants/acme
      --no-backup     do not take the backup of what will change (.descope/backups/<env>/)

Before the first write apply backs up what it will change; "descope-run rollback" restores it.

Exit code: 0 applied (or nothing to do), 1 an error or a change that failed.`,
    options: {
      yes: { type: 'boolean', short: 'y' },
      plan: { type: 'string' },
      'allow-delete': { type: 'boolean' },
      target: { type: 'string', multiple: true },
      'no-backup': { type: 'boolean' },
    },
    load: () => import('./commands/apply.ts'),
  },
  audit: {
    summary: 'show the record of applies',
    usage: 'descope-run audit [--env NAME] [--since DATE] [--json]',
    details: `Reads .descope/audit/<env>.jsonl (every environment when --env is not given) and prints one row
per apply: when, who, the git commit, the environment, the changes and how it ended.

      --since DATE    only records at or after DATE (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)
      --json          print the records as a JSON array

Exit code: 0, or 1 when the log cannot be read.`,
    options: { since: { type: 'string' }, json: { type: 'boolean' } },
    load: () => import('./commands/audit.ts'),
  },
  backup: {
    summary: 'snapshot the live project, list and show snapshots',
    usage: 'descope-run backup [--env NAME] [--out FILE [--force]] [--keep N] | backup list [--env NAME] | backup show ID [--env NAME]',
    details: `Reads every managed kind of the live project (tenants with their settings, default roles and SSO,
roles, permissions, flows, the theme, the password policy) into
.descope/backups/<env>/<timestamp>.json (mode 0600), with the environment, project id, time,
tool version and a checksum. Secrets are never in a backup: Descope does not return them.

      --out FILE      write the backup to FILE instead; an existing file is replaced only if
                      it is a backup
      --force         with --out: replace FILE even if descope-run did not write it
      --keep N        afterwards keep only the N newest backups of the environment (and the
                      one "rollback" without --to restores)

  backup list         the backups of the environment, newest first
  backup show ID      one backup's summary (ID as "backup list" shows it, or a file)

Exit code: 0, or 1 on an error (a corrupt or edited backup is refused by its checksum).`,
    options: { out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, keep: { type: 'string' } },
    positionals: { max: 2 },
    load: () => import('./commands/backup.ts'),
  },
  rollback: {
    summary: 'restore the live project to a backup',
    usage: 'descope-run rollback [--env NAME] [--to ID|FILE] [--only ADDRESS]... [--yes]',
    details: `Makes the backup the desired state (by default the one taken before the last apply), shows the plan
(deleting what was created after the backup included), applies it like apply does, then reads the
live project again and verifies that it equals the backup. Recorded in the audit log.

      --to ID|FILE    the backup to restore (an id from "backup list", or a file)
      --only ADDR     only these addresses (repeatable)
  -y, --yes           do not ask (required when not on a terminal)

Exit code: 0 restored and verified, 1 otherwise.`,
    options: { to: { type: 'string' }, only: { type: 'string', multiple: true }, yes: { type: 'boolean', short: 'y' } },
    load: () => import('./commands/rollback.ts'),
  },
  drift: {
    summary: 'report where the live project differs from the config',
    usage: 'descope-run drift [--env NAME] [--format text|json|markdown|html] [--out FILE [--force]] [--exit-code] [--watch INTERVAL [--notify URL]]',
    details: `Compares the live project with the config (as diff does, without noise) and reports each drifted
address with what changed and, where the audit trail knows it, when and by whom.

      --format F      text (default), json, markdown or html (one self-contained page)
      --out FILE      write the report to FILE (mode 0600; with --watch, rewritten at every check);
                      an existing file is replaced only if it is a drift report
      --force         with --out: replace FILE even if descope-run did not write it
      --exit-code     exit 2 when there is drift (not with --watch)
      --watch INTERVAL  check again every INTERVAL (at least 5s; e.g. 30s, 5m) until Ctrl-C
      --notify URL    with --watch: POST a JSON summary (with a Slack-compatible "text") when new drift appears

Exit code: 0 (with --exit-code: 0 no drift, 2 drift), 1 an error.`,
    options: {
      format: { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      'exit-code': { type: 'boolean' },
      watch: { type: 'string' },
      notify: { type: 'string' },
    },
    load: () => import('./commands/drift.ts'),
  },
  import: {
    summary: 'write a config from a live project',
    usage: 'descope-run import [--env NAME] --out DIR',
    details: `Reads the live project and writes DIR/descope.config.ts, the flows as JSON under DIR/templates/
and DIR/environments/<env>.ts, so that diff against that project right after shows no changes.
Secrets become references ({ env: NAME }); the output lists the variables to set.

      --out DIR       the folder to write (created; must be empty or not exist)

Exit code: 0, or 1 on an error (nothing is written then).`,
    options: { out: { type: 'string', short: 'o' } },
    load: () => import('./commands/import.ts'),
  },
  show: {
    summary: 'show the live tenants, roles, permissions, flows or theme',
    usage: 'descope-run show tenants|roles|permissions|flows|theme [--env NAME] [--format table|json|yaml]',
    details: `Read-only views of the live project.

      --format F      table (default), json or yaml

Exit code: 0, or 1 on an error.`,
    options: { format: { type: 'string' } },
    positionals: { max: 1 },
    load: () => import('./commands/show.ts'),
  },
  emulator: {
    summary: 'run the embedded Descope management API emulator',
    usage: 'descope-run emulator [--port P] [--state FILE] [--project-id ID] [--management-key KEY] [--rate N/WINDOW] [--latency MS] [--fault-rate X]',
    details: `Serves Descope's management API on loopback, for the SDK and your own tests. Prints its URL and
runs until Ctrl-C (SIGINT) or SIGTERM.

      --port P              the port; default 0 (a free one)
      --host H              the interface; default 127.0.0.1
      --state FILE          keep the state in FILE (written atomically); default in memory
      --project-id ID       the project id it answers to; default P2emulator000000000000000000
      --management-key KEY  the key it accepts; default emulator-management-key
      --rate N/WINDOW       a request budget, e.g. 100/60s: past it, 429 with Retry-After
      --latency MS          added latency per request
      --fault-rate X        a share (0-1) of requests answered 500, 502 or 503`,
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      state: { type: 'string' },
      'project-id': { type: 'string' },
      'management-key': { type: 'string' },
      rate: { type: 'string' },
      latency: { type: 'string' },
      'fault-rate': { type: 'string' },
    },
    load: () => import('./commands/emulator.ts'),
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const list = Object.entries(COMMANDS)
    .map(([name, info]) => `  ${name.padEnd(width)}  ${info.summary}`)
    .join('\n');
  return `descope-run: manage Descope projects as code

Usage: descope-run <command> [options]

Commands:
${list}

Options:
${COMMON_HELP}
  -v, --version       print the version

Run "descope-run <command> --help" for a command's options.`;
}

function commandHelp(name: string, info: CommandInfo): string {
  return `descope-run ${name}: ${info.summary}

Usage: ${info.usage}

${info.details}

Common options:
${COMMON_HELP}`;
}

function parse(args: string[], options: Options, command: string | undefined) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify .*$/s, '') : String(error);
    throw new UsageError(message, {
      hint: `run "descope-run ${command ? `${command} ` : ''}--help" for the options`,
    });
  }
}

export interface MainOptions {
  cwd?: string;
  processEnv?: NodeJS.ProcessEnv;
  output?: Output;
  /** Where to print when no `output` is given; default the process's own streams. */
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

/** Runs the CLI and returns the exit code (also set on process.exitCode). */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const code = await runCommandLine(argv, options);
  process.exitCode = code;
  return code;
}

/**
 * The CLI as a call: runs one command line and returns its exit code, touching no process-wide
 * state (the exit code, the environment, the working folder): tests run many of them in one process.
 */
export async function runCommandLine(argv: string[], options: MainOptions = {}): Promise<number> {
  const processEnv = options.processEnv ?? process.env;
  const noColor = argv.includes('--no-color');
  const output =
    options.output ??
    createOutput({ noColor, processEnv, ...(options.stdout ? { stdout: options.stdout } : {}), ...(options.stderr ? { stderr: options.stderr } : {}) });
  return run(argv, { cwd: options.cwd ?? process.cwd(), processEnv, output });
}

async function run(argv: string[], base: Omit<CommandContext, 'values' | 'positionals'>): Promise<number> {
  const { output } = base;
  try {
    const first = argv[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' ? argv[1] : undefined;
      const info = topic === undefined ? undefined : COMMANDS[topic];
      output.out(info ? commandHelp(topic!, info) : mainHelp());
      return first === undefined ? 1 : 0;
    }
    if (first === '--version' || first === '-v') {
      output.out(toolVersion());
      return 0;
    }
    const info = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!info) {
      throw new UsageError(`unknown command "${first}"`, {
        hint: `the commands are: ${Object.keys(COMMANDS).join(', ')}; run "descope-run --help"`,
      });
    }
    const { values, positionals } = parse(argv.slice(1), { ...COMMON, ...info.options }, first);
    if (values.help) {
      output.out(commandHelp(first, info));
      return 0;
    }
    if (positionals.length > (info.positionals?.max ?? 0)) {
      throw new UsageError(`unexpected argument "${positionals[info.positionals?.max ?? 0]}"`, { hint: `run "descope-run ${first} --help"` });
    }
    const command = await info.load();
    return await command.run({ ...base, values, positionals });
  } catch (error) {
    return reportError(output, error);
  }
}

/**
 * Expected errors print their message (one line, or one per build error) and a hint line; bugs
 * print a stack and say so. Exit code 1. A message quotes data (names, paths, the content of plan,
 * backup and lock files, a server's text), so it is made safe (./safe-text.ts): an API error's
 * text (a Descope error description, a proxy's page) has its line breaks folded, so it stays one
 * line; only a config that does not build has one line per build error; every other line break
 * in a message is data and shows as `\n`.
 */
export function reportError(output: Output, error: unknown): number {
  const { c } = output;
  if (error instanceof ConfigValidationError) {
    printIssues(output, error.issues);
    output.err(c.red(`${error.issues.length === 1 ? '1 problem' : `${error.issues.length} problems`} found.`));
    return 1;
  }
  if (isDescopeRunError(error)) {
    const safe = error.code === 'api' ? safeFolded : error.code === 'config_load' ? safeLines : safeText;
    output.err(`${c.red('error:')} ${safe(error.message)}`);
    if (error.hint) output.err(c.dim(`  hint: ${error.code === 'api' ? safeFolded(error.hint) : safeText(error.hint)}`));
    return 1;
  }
  output.err(`${c.red('descope-run crashed: this is a bug in descope-run, please report it with the trace below.')}`);
  output.err(safeLines(error instanceof Error ? error.stack ?? error.message : String(error)));
  return 1;
}
