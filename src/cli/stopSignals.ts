/**
 * Stopping a long command (train, compare) on Ctrl-C, SIGTERM or SIGHUP: the first signal asks the
 * run to finish its step and save; the same signal again quits at once.
 */
import * as os from 'os';
import type { ProgressLine } from './progress';

/**
 * Ctrl-C, SIGTERM and SIGHUP: finish the step, save last.ckpt, mark the run cancelled, exit 0.
 * The same signal again quits at once (128 + its number); the last checkpoint stays.
 */
export function stopOnSignalsOf(controller: AbortController, json: boolean, progress: ProgressLine): (signal: NodeJS.Signals) => void {
  return (signal) => {
    if (controller.signal.aborted) process.exit(128 + os.constants.signals[signal]);
    if (signal === 'SIGHUP') ignoreClosedTerminal();
    const line = `${signal === 'SIGINT' ? '' : `${signal}: `}stopping after this step (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)…`;
    if (json) process.stderr.write(line + '\n');
    else progress.log(line);
    controller.abort();
  };
}

/** The signals that stop a training run the way Ctrl-C does. */
export const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** After SIGHUP the terminal may be gone: writes to it must not end the run before it saves. */
function ignoreClosedTerminal(): void {
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
}
