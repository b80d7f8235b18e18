// Where the CLI prints. The one place that decides colour: kleur on a terminal, plain text when
// not a TTY, with --no-color, or with NO_COLOR set (FORCE_COLOR forces it on). And the one place
// that writes: every line goes through `safeOutput` (./safe-text.ts), the net that lets no control
// character but LF and TAB, and no escape sequence but the painter's own colours, reach the
// terminal. Write through out, err and status only, never to `stdout` / `stderr` directly.
import kleur from 'kleur';
import type { Writable } from 'node:stream';
import { formatIssue, type Issue } from '../../errors.ts';
import { safeOutput, safeText } from './safe-text.ts';

export interface Output {
  readonly color: boolean;
  /** A line for stdout (results). */
  out(line?: string): void;
  /** A line for stderr (progress, warnings, errors). */
  err(line?: string): void;
  /**
   * A one-line status on stderr, rewritten in place, when stderr is a terminal (nothing otherwise);
   * no text clears it. The text is shown as plain data (./safe-text.ts safeText), never painted.
   */
  status(text?: string): void;
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
  const tty = stderr.isTTY === true;
  let statusShown = false;
  return {
    color,
    stdout,
    stderr,
    c: kleur,
    out: (line = '') => void stdout.write(`${safeOutput(line, color)}\n`),
    err: (line = '') => void stderr.write(`${safeOutput(line, color)}\n`),
    status(text) {
      if (!tty) return;
      // CR and erase-line are the status line's own controls, the only ones written past the net.
      if (text !== undefined && text !== '') {
        stderr.write(`\r\x1b[K${safeText(text)}`);
        statusShown = true;
      } else if (statusShown) {
        stderr.write('\r\x1b[K');
        statusShown = false;
      }
    },
  };
}

/** Prints every issue, one per line, with its hint indented below. */
export function printIssues(output: Output, issues: readonly Issue[]): void {
  const { c } = output;
  for (const issue of issues) {
    // An issue quotes the config (names, values), and a template's or a bundler's text.
    output.err(`${c.red('✗')} ${safeText(formatIssue(issue))}`);
    if (issue.hint) output.err(c.dim(`    hint: ${safeText(issue.hint)}`));
  }
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
