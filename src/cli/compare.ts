/**
 * `lstm-lab compare FOLDER`: a grid of architectures trained one after another with the same budget,
 * beside n-grams of several orders, as the paper's Table 1 (src/analysis/architectureComparison.ts:
 * the runs, the manifest, resuming, the table files).
 * `--json` prints one line per finished run
 *   {"event":"compare-run","model","layers","hidden","params","steps","chars","trainLoss","valLoss","checkpoint",…},
 * one per n-gram order {"event":"compare-ngram","order","valLoss"}, and last {"event":"compare-done","table":[…]}.
 */
import * as path from 'path';
import { intList, type OptionSpec, type ParsedOptions, UsageError } from './args';
import type { Command } from './commands';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { readCorpus } from '../engine/data/corpus';
import { NGRAM_MAX_ORDER } from '../engine/ngram/ngram';
import type { CellKind } from '../engine/nn/kernels';
import { MODEL_OPTIONS, TRAIN_OPTIONS as T } from '../engine/training/options';
import { compareArchitectures, CompareEvent, CompareGrid, tableMarkdown } from '../analysis/architectureComparison';
import { ProgressLine } from './progress';
import { STOP_SIGNALS, stopOnSignalsOf } from './stopSignals';

const KINDS: readonly CellKind[] = ['lstm', 'gru', 'rnn'];

const OPTIONS: OptionSpec[] = [
  { name: 'models', type: 'string', help: 'cell kinds, comma-separated', default: 'lstm,gru,rnn' },
  { name: 'layers', type: 'string', help: `layer counts, comma-separated (${MODEL_OPTIONS.layers.min}–${MODEL_OPTIONS.layers.max})`, default: '1,2' },
  { name: 'hidden', type: 'string', help: `hidden sizes, comma-separated (${MODEL_OPTIONS.hidden.min}–${MODEL_OPTIONS.hidden.max})`, default: '128' },
  { name: 'match-params', type: 'int', help: 'instead of --hidden: each kind and depth gets the hidden size nearest this many parameters', min: 1 },
  { name: 'steps-each', type: 'int', help: 'optimiser steps per run', min: 1 },
  { name: 'minutes-each', type: 'number', help: 'minutes per run (default 2 when --steps-each is not given)', min: 0.01 },
  { name: 'ngram-orders', type: 'string', help: `n-gram orders, comma-separated (1–${NGRAM_MAX_ORDER})`, default: '1,3,5,10,20' },
  { name: 'seq', type: 'int', help: T.seqLength.help, default: T.seqLength.default, min: T.seqLength.min, max: T.seqLength.max },
  { name: 'batch', type: 'int', help: T.batchSize.help, default: T.batchSize.default, min: T.batchSize.min, max: T.batchSize.max },
  { name: 'eval-every', type: 'int', help: T.evalEvery.help, default: T.evalEvery.default, min: T.evalEvery.min },
  { name: 'seed', type: 'int', help: 'seed of every run', default: T.seed.default },
  { name: 'out', type: 'string', help: 'folder of the comparison (its runs, compare.json, compare.csv, compare.md); the same --out again goes on with it', default: path.join('runs', 'compare') },
  { name: 'backend', type: 'string', help: 'TF.js backend', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'one JSON object per line' },
];

export function gridOf(o: ParsedOptions): CompareGrid {
  const models = String(o.models).split(',').map((s) => s.trim());
  const bad = models.filter((m) => !KINDS.includes(m as CellKind));
  if (bad.length || models.length === 0) throw new UsageError(`--models takes lstm, gru and rnn, comma-separated (got ${JSON.stringify(o.models)}).`);
  if (o['steps-each'] !== undefined && o['minutes-each'] !== undefined) throw new UsageError('Give --steps-each or --minutes-each, not both.');
  const stepsEach = (o['steps-each'] as number | undefined) ?? 0;
  const minutesEach = (o['minutes-each'] as number | undefined) ?? (stepsEach > 0 ? 0 : 2);
  return {
    models: [...new Set(models)] as CellKind[],
    layers: intList('layers', String(o.layers), MODEL_OPTIONS.layers.min!, MODEL_OPTIONS.layers.max!),
    hidden: intList('hidden', String(o.hidden), MODEL_OPTIONS.hidden.min!, MODEL_OPTIONS.hidden.max!),
    ...(o['match-params'] !== undefined ? { matchParams: o['match-params'] as number } : {}),
    stepsEach,
    minutesEach,
    ngramOrders: intList('ngram-orders', String(o['ngram-orders']), 1, NGRAM_MAX_ORDER).sort((a, b) => a - b),
  };
}

export const compareCommand: Command = {
  name: 'compare',
  summary: "compare architectures: a grid of cell kinds × layers × sizes trained in turn, beside n-grams (the paper's Table 1)",
  usage: 'lstm-lab compare FOLDER [--models lstm,gru,rnn] [--layers 1,2,3] [--hidden N,…] [--steps-each N | --minutes-each X] [--ngram-orders 1,3,5,10,20] [--out DIR] [--json]',
  positionals: [{ name: 'folder', required: true }],
  options: OPTIONS,
  async run(pos, o) {
    const json = o.json === true;
    const grid = gridOf(o);
    await initBackend(o.backend as BackendPreference);
    const corpus = await readCorpus(pos.folder!);
    const progress = new ProgressLine(process.stderr);
    const controller = new AbortController();
    const stop = stopOnSignalsOf(controller, json, progress);
    for (const s of STOP_SIGNALS) process.on(s, stop);
    const print = (line: string) => process.stdout.write(line + '\n');
    const onEvent = (e: CompareEvent) => {
      if (e.event === 'compare-train') {
        const t = e.train;
        if (!json && t.event === 'progress') progress.update(t.fraction, `run ${e.index + 1}/${e.total} ${e.runId}: step ${t.step}  loss ${t.trainLoss.toFixed(3)}`, t.etaSeconds);
        return;
      }
      if (json) {
        print(JSON.stringify(e));
        return;
      }
      if (e.event === 'compare-run') progress.log(`${e.runId}: ${e.params.toLocaleString('en-US')} parameters, ${e.steps} steps, validation ${e.valLoss?.toFixed(3) ?? '–'} nats/char${e.skipped ? ' (done before)' : ''}`);
      else if (e.event === 'compare-ngram') progress.log(`${e.order}-gram: validation ${e.valLoss.toFixed(3)} nats/char`);
    };
    try {
      const { table, cancelled } = await compareArchitectures(corpus, grid, {
        outDir: o.out as string,
        signal: controller.signal,
        onEvent,
        train: { seqLength: o.seq as number, batchSize: o.batch as number, evalEvery: o['eval-every'] as number, seed: o.seed as number },
      });
      progress.done();
      if (!json) {
        print(tableMarkdown(table));
        print(`${cancelled ? 'cancelled: the same command again goes on. ' : ''}table in ${path.join(o.out as string, 'compare.csv')} and compare.md`);
      }
    } finally {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      progress.done();
    }
    return 0;
  },
};
