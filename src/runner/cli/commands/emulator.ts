// descope-run emulator: runs the embedded Descope management API emulator in the foreground, for
// your own tests or to point the SDK at. Stops cleanly on SIGINT/SIGTERM.
import path from 'node:path';
import { UsageError } from '../../../errors.ts';
import type { CommandRun } from '../cli.ts';
import { safeText } from '../safe-text.ts';

function number(name: string, value: unknown, check: (n: number) => boolean, expected: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new UsageError(`--${name} ${String(value)}: expected ${expected}`, { hint: 'run "descope-run emulator --help"' });
  }
  return n;
}

export const run: CommandRun = async ({ cwd, output, values, processEnv }) => {
  const { parseRate, startEmulator, EmulatorStateError } = await import('../../../emulator/index.ts');
  const port = number('port', values.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number (0-65535)');
  const latencyMs = number('latency', values.latency, (n) => n >= 0, 'milliseconds (>= 0)');
  const faultRate = number('fault-rate', values['fault-rate'], (n) => n >= 0 && n <= 1, 'a share between 0 and 1');
  let rate;
  if (typeof values.rate === 'string') {
    try {
      rate = parseRate(values.rate);
    } catch (error) {
      throw new UsageError(`--rate: ${(error as Error).message}`, { hint: 'e.g. --rate 100/60s' });
    }
  }
  const stateFile = typeof values.state === 'string' ? path.resolve(cwd, values.state) : undefined;
  // A state file is an emulated project: while this server writes it, an apply of `--env local` on
  // the same file (its own embedded emulator) must not write it too (../lock.ts).
  const { acquireLock, lockTarget } = await import('../../apply/lock.ts');
  const lock = stateFile
    ? await acquireLock({ target: lockTarget({ target: 'emulator', emulatorStateFile: stateFile }, ''), command: 'emulator', checkout: cwd, environment: '' }, processEnv)
    : undefined;

  let emulator;
  try {
    emulator = await startEmulator({
      ...(port === undefined ? {} : { port }),
      ...(typeof values.host === 'string' ? { host: values.host } : {}),
      ...(stateFile ? { stateFile } : {}),
      ...(typeof values['project-id'] === 'string' ? { projectId: values['project-id'] } : {}),
      ...(typeof values['management-key'] === 'string' ? { managementKey: values['management-key'] } : {}),
      ...(rate ? { rate } : {}),
      ...(latencyMs === undefined ? {} : { latencyMs }),
      ...(faultRate === undefined ? {} : { faultRate }),
    });
  } catch (error) {
    await lock?.release();
    if (error instanceof EmulatorStateError) {
      throw new UsageError(`--state ${String(values.state)}: ${error.message}`, { hint: 'fix or remove the state file' });
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new UsageError(`--port ${String(values.port)}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'not allowed'}`, {
        hint: 'pick another port, or --port 0 for a free one',
      });
    }
    throw error;
  }

  // Listen for Ctrl-C before saying it stops the emulator: a signal right after the banner must
  // close it cleanly, not kill the process.
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', () => stop());
  process.once('SIGTERM', () => stop());

  // The project id, the host and the state path are the caller's arguments: shown as text.
  output.out(`Descope emulator listening on ${safeText(emulator.url)}`);
  output.out(`  project id:      ${safeText(emulator.projectId)}`);
  output.out(`  management key:  ${values['management-key'] === undefined ? `${safeText(emulator.managementKey)} (the emulator's default)` : '(as given)'}`);
  output.out(`  state:           ${stateFile ? safeText(stateFile) : 'in memory'}`);
  if (rate) output.out(`  budget:          ${rate.requests} requests per ${rate.windowMs} ms`);
  output.out(`Point the SDK at it: DescopeClient({ projectId, managementKey, baseUrl: '${safeText(emulator.url)}' }). Ctrl-C stops it.`);

  await stopped;
  await emulator.close();
  await lock?.release();
  output.err('emulator stopped');
  return 0;
};
