// Where the CLI prints. The one place that decides colour: kleur on a terminal, plain text when
// not a TTY, with --no-color, or with NO_COLOR set (FORCE_COLOR forces it on).
import kleur from 'kleur';
import type { Writable } from 'node:stream';
import { formatIssue, type Issue } from '../errors.ts';

export interface Output {
  readonly color: boolean;
  /** A line for stdout (results). */
  out(line?: string): void;
  /** A line for stderr (progress, warnings, errors). */
  err(line?: string): void;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly c: typeof kleur;
}

export interface OutputOptions {
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
  noColor?: boolean;
  processEnv?: NodeJS.ProcessEnv;
}

export function wantsColor(stream: { isTTY?: boolean }, noColor: boolean, processEnv: NodeJS.ProcessEnv): boolean {
  if (noColor || (processEnv.NO_COLOR !== undefined && processEnv.NO_COLOR !== '')) return false;
  if (processEnv.FORCE_COLOR !== undefined && processEnv.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

export function createOutput(options: OutputOptions = {}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const color = wantsColor(stdout, options.noColor ?? false, options.processEnv ?? process.env);
  kleur.enabled = color;
  return {
    color,
    stdout,
    stderr,
    c: kleur,
    out: (line = '') => void stdout.write(`${line}\n`),
    err: (line = '') => void stderr.write(`${line}\n`),
  };
}

/** Prints every issue, one per line, with its hint indented below. */
export function printIssues(output: Output, issues: readonly Issue[]): void {
  const { c } = output;
  for (const issue of issues) {
    output.err(`${c.red('✗')} ${formatIssue(issue)}`);
    if (issue.hint) output.err(c.dim(`    hint: ${issue.hint}`));
  }
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
