/**
 * `lstm-lab errors CHECKPOINT PATH`: "peeling the onion" of the network's errors on held-out text
 * (the categories and their order: src/analysis/errorOnion.ts). PATH is the checkpoint's training
 * corpus (then its validation files) or other code (then its files that are not training files),
 * as for complete-eval. The n-gram oracle and the word counts come from the training split.
 * `--json` prints `{"event":"errors","chars","errors","categories":[{"name","errors"},…],…}`, the
 * categories summing to `errors`; with `--per-char`, also `files: [{path, chars, errors: [[codePoint, category], …]}]`.
 */
import { intList, type OptionSpec, type ParsedOptions } from './args';
import type { Command } from './commands';
import { InferenceModel } from '../engine/inference/inference';
import { NGRAM_MAX_ORDER, NGramModel } from '../engine/ngram/ngram';
import { ERROR_CATEGORIES, Onion, peelOnion, predictingNetwork, wordCounts } from '../analysis/errorOnion';
import { checkpointAndHeldOut } from './completeEval';

/** A spread of orders up to 20: the oracle over every order 1…20 would cost ~2.5× as much to build, for a few errors more. */
const ORACLE_ORDERS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20];

/** Parse --oracle-orders: distinct integers in 1…NGRAM_MAX_ORDER, ascending. */
export function oracleOrders(spec: string): number[] {
  return intList('oracle-orders', spec, 1, NGRAM_MAX_ORDER, 'orders').sort((x, y) => x - y);
}

const OPTIONS: OptionSpec[] = [
  { name: 'oracle-orders', type: 'string', help: `orders of the n-gram models of the oracle, comma-separated (1–${NGRAM_MAX_ORDER}; each is built in turn)`, default: ORACLE_ORDERS.join(',') },
  { name: 'memory', type: 'int', help: 'n of the dynamic memory: the (n+1)-gram ending at the character was seen before in the held-out text', default: 5, min: 1, max: 64 },
  { name: 'rare', type: 'int', help: 'a word seen at most this many times in training is rare', default: 5, min: 0 },
  { name: 'threshold', type: 'number', help: 'an error is a character given less than this probability', default: 0.5, min: 0, max: 1 },
  { name: 'max-chars', type: 'int', help: 'read at most this many characters of the held-out files (0 = all)', default: 200_000, min: 0 },
  { name: 'corpus', type: 'string', help: 'training corpus of the checkpoint (default: the one its header records)' },
  { name: 'per-char', type: 'bool', help: 'with --json: every error with its code-point offset and category, per file' },
  { name: 'backend', type: 'string', help: 'TF.js backend', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

export function formatOnion(o: Onion): string {
  const pc = (n: number) => `${((100 * n) / Math.max(1, o.errors)).toFixed(1).padStart(5)} %`;
  const w = Math.max(...ERROR_CATEGORIES.map((c) => c.length));
  return [
    `${o.errors.toLocaleString('en-US')} errors in ${o.chars.toLocaleString('en-US')} characters (${((100 * o.errors) / Math.max(1, o.chars)).toFixed(1)} %: probability of the right character < ${o.threshold})`,
    ...o.categories.map((c) => `  ${c.name.padEnd(w)}  ${String(c.errors).padStart(8)}  ${pc(c.errors)}`),
  ].join('\n');
}

export const errorsCommand: Command = {
  name: 'errors',
  summary: "the network's errors on held-out text peeled like an onion: n-gram, dynamic memory, rare words, word model, punctuation, boost",
  usage: 'lstm-lab errors CHECKPOINT PATH [--json] [--per-char] [--oracle-orders 1,2,…,20] [--memory N] [--corpus PATH]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: OPTIONS,
  async run(pos, o: ParsedOptions) {
    const json = o.json === true;
    const log = (line: string) => {
      if (!json) process.stderr.write(line + '\n');
    };
    const { ckpt, corpus, note, texts, paths } = await checkpointAndHeldOut(o, pos.checkpoint!, pos.path!, o['max-chars'] as number);
    const orders = oracleOrders(o['oracle-orders'] as string);
    const t0 = Date.now();
    const trainIds = ckpt.vocabulary.encode(corpus.trainText);
    const V = ckpt.vocabulary.size;
    function* oracle(): Generator<NGramModel> {
      for (const n of orders) {
        log(`n-gram oracle: order ${n} from ${corpus.trainFiles.length} training files (${trainIds.length.toLocaleString('en-US')} characters)…`);
        yield NGramModel.build(trainIds, V, n);
      }
    }
    const words = wordCounts(corpus.trainText);
    log(`peeling the errors of ${texts.length} held-out file(s) (${note})…`);
    const model = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);
    const onion = peelOnion(predictingNetwork(model), oracle(), words, texts, { threshold: o.threshold as number, memoryLength: o.memory as number, rareCount: o.rare as number });
    const seconds = (Date.now() - t0) / 1000;
    if (json) {
      const { files: perFile, ...rest } = onion;
      const report = {
        event: 'errors',
        ...rest,
        checkpoint: ckpt.path,
        heldOut: { note, files: texts.length },
        oracleOrders: orders,
        seconds,
        ...(o['per-char'] === true
          ? {
              files: perFile.map((f, k) => ({
                path: paths[k],
                chars: f.chars,
                errors: Array.from(f.categories).flatMap((c, i) => (c >= 0 ? [[i, c]] : [])),
              })),
              categoryNames: ERROR_CATEGORIES,
            }
          : {}),
      };
      process.stdout.write(JSON.stringify(report) + '\n');
    } else process.stdout.write(formatOnion(onion) + `\n(${note}; ${seconds.toFixed(1)} s)\n`);
    return 0;
  },
};
