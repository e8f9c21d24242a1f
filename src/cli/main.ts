#!/usr/bin/env node
/**
 * lstm-lab: the engine headless. Every figure the extension shows can be reproduced from here.
 *
 *   lstm-lab train [FOLDER]            train a model (default corpus: LSTM Lab's own sources)
 *   lstm-lab eval CHECKPOINT PATH      nats/char, bits/char and perplexity on a folder or file
 *   lstm-lab sample CHECKPOINT         generate text
 *   lstm-lab trace CHECKPOINT FILE     cells, hidden units and gates per character
 *   lstm-lab cells CHECKPOINT PATH     rank cells by how well they track concepts (strings, comments, …)
 *   lstm-lab cells-over-time RUN       the best cell per concept at every evaluation of a run
 *   lstm-lab complete-eval CHECKPOINT PATH   completions: LSTM against the n-gram baseline
 *   lstm-lab export CHECKPOINT DIR     a standard TF.js Layers model (model.json + weights)
 *   lstm-lab bench                     speed against PyTorch, measured in the same run
 *
 * Errors are one line on stderr and a non-zero exit: 2 for usage (an unknown command or option, a
 * malformed value, a number out of its range — ConfigError from the engine included — or a --run-id
 * whose folder exists), 1 for everything else (unreadable input, a locked run folder, a failed run).
 */
import { formatHelp, OptionSpec, parseArgs, ParsedOptions, UsageError } from './args';
import * as fs from 'fs';
import * as path from 'path';
import { COMMANDS, PACKAGE_ROOT } from './commands';
import { ConfigError } from '../engine/nn/config';
import { RunFolderError } from '../engine/training/runFolder';

function printTopHelp(): void {
  const lines = ['usage: lstm-lab COMMAND [ARGS] [OPTIONS]', '', 'Character-level LSTM/GRU/RNN language models, trained and inspected on your own code.', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(14)}${c.summary}`);
  lines.push('', 'Run `lstm-lab COMMAND --help` for its options.');
  process.stdout.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    printTopHelp();
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write((JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version + '\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`lstm-lab: unknown command ${JSON.stringify(name)}. Commands: ${COMMANDS.map((c) => c.name).join(', ')}.\n`);
    return 2;
  }
  const specs: OptionSpec[] = [...cmd.options, { name: 'help', type: 'bool', help: 'show this help' }];
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatHelp(cmd.usage, cmd.summary, specs) + '\n');
    return 0;
  }
  let parsed: { positional: Record<string, string | undefined>; options: ParsedOptions };
  try {
    parsed = parseArgs(rest, specs, cmd.positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lstm-lab ${name}: ${e.message}. Usage: ${cmd.usage}\n`);
      return 2;
    }
    throw e;
  }
  try {
    return await cmd.run(parsed.positional, parsed.options);
  } catch (e) {
    const usage = usageMessage(e, cmd.usage);
    if (usage === null) throw e;
    process.stderr.write(`lstm-lab ${name}: ${usage}\n`);
    return 2;
  }
}

/** The one-line message of an error that is the user's input (exit 2), or null for any other error. */
function usageMessage(e: unknown, usage: string): string | null {
  if (e instanceof UsageError) return `${e.message}. Usage: ${usage}`;
  // The engine names the setting (lstmLab.model.layers); here the flag that sets it is added.
  if (e instanceof ConfigError) return `${e.message}${e.option?.flag ? ` On the command line: --${e.option.flag}.` : ''} See the ranges in --help.`;
  if (e instanceof RunFolderError && e.reason !== 'locked') return e.message;
  return null;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`lstm-lab: ${msg.split('\n')[0]}\n`);
      if (process.env.LSTM_LAB_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      process.exitCode = 1;
    },
  );
}
