/**
 * `lstm-lab brackets CHECKPOINT PATH`: long-range interactions — the probability the network and the
 * corpus n-gram give each closing `}`, `)` or `]` of held-out code, against the distance to its
 * opening partner (src/analysis/bracketDistance.ts says which pairs count and how they are binned).
 * PATH: the checkpoint's corpus (its validation files) or other code (its files that are not
 * training files), as complete-eval reads it.
 * `--json` prints one line:
 *   {"event":"brackets","closers","unmatched","bins":[{"distance":[lo,hi],"count","network","ngram"},…],"ngramOrder",…}
 * distance: the bin's range in code points, opener to closer; count: closers in it; network / ngram:
 * the mean probability each model gave the closer at its position.
 */
import type { OptionSpec, ParsedOptions } from './args';
import type { Command } from './commands';
import { InferenceModel } from '../engine/inference/inference';
import { NGRAM_DEFAULT_ORDER, NGRAM_MAX_ORDER, NGramModel } from '../engine/ngram/ngram';
import { networkProbabilities } from '../analysis/errorOnion';
import { BracketReport, bracketReport } from '../analysis/bracketDistance';
import { lexerConfig } from '../analysis/conceptLexer';
import { checkpointAndHeldOut } from './completeEval';

const OPTIONS: OptionSpec[] = [
  { name: 'ngram-order', type: 'int', help: 'order of the corpus n-gram compared with', default: NGRAM_DEFAULT_ORDER, min: 1, max: NGRAM_MAX_ORDER },
  { name: 'language', type: 'string', help: 'language id whose strings and comments are skipped (the concept lexer: c, cpp, python, rust, …)', default: 'c' },
  { name: 'max-chars', type: 'int', help: 'read at most this many characters of the held-out files, whole files first (0 = all)', default: 300_000, min: 0 },
  { name: 'corpus', type: 'string', help: 'training corpus of the checkpoint (default: the one its header records)' },
  { name: 'backend', type: 'string', help: 'TF.js backend', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

export function formatBrackets(r: BracketReport, order: number): string {
  const rows = r.bins.map((b) => `  ${`${b.distance[0]}–${b.distance[1]}`.padEnd(12)}${String(b.count).padStart(8)}${b.network.toFixed(3).padStart(10)}${b.ngram.toFixed(3).padStart(10)}`);
  return [
    `${r.closers.toLocaleString('en-US')} closing brackets with their partner (${r.unmatched} unmatched left out); mean probability of the closer`,
    `  ${'distance'.padEnd(12)}${'closers'.padStart(8)}${'network'.padStart(10)}${`${order}-gram`.padStart(10)}`,
    ...rows,
  ].join('\n');
}

export const bracketsCommand: Command = {
  name: 'brackets',
  summary: 'long-range interactions: probability of the right closing bracket against the distance to its partner, network and n-gram',
  usage: 'lstm-lab brackets CHECKPOINT PATH [--json] [--ngram-order N] [--language ID] [--max-chars N]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: OPTIONS,
  async run(pos, o: ParsedOptions) {
    const json = o.json === true;
    const { ckpt, corpus, note, texts } = await checkpointAndHeldOut(o, pos.checkpoint!, pos.path!, o['max-chars'] as number);
    const t0 = Date.now();
    const order = o['ngram-order'] as number;
    if (!json) process.stderr.write(`building the ${order}-gram from ${corpus.trainFiles.length} training files…\n`);
    const vocab = ckpt.vocabulary;
    const ngram = NGramModel.build(vocab.encode(corpus.trainText), vocab.size, order);
    const model = new InferenceModel(ckpt.header.model, vocab, ckpt.params);
    const encoded = texts.map((t) => vocab.encode(t));
    const net = encoded.map((ids) => networkProbabilities(model, ids));
    const ng = encoded.map((ids) => Float32Array.from(ids, (s, i) => (i === 0 ? NaN : Math.exp(ngram.logProb(ids.subarray(Math.max(0, i - order + 1), i), s)))));
    const report = bracketReport(texts, lexerConfig(o.language as string), net, ng);
    const seconds = (Date.now() - t0) / 1000;
    if (json) process.stdout.write(JSON.stringify({ event: 'brackets', ...report, ngramOrder: order, checkpoint: ckpt.path, heldOut: { note, files: texts.length }, seconds }) + '\n');
    else process.stdout.write(formatBrackets(report, order) + `\n(${note}; ${seconds.toFixed(1)} s)\n`);
    return 0;
  },
};
