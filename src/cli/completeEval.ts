/**
 * `lstm-lab complete-eval CHECKPOINT PATH`: how useful the model's completions are, against the
 * character n-gram baseline, at the same cursor positions.
 *
 * Positions: sampled (seeded) in the held-out files of PATH — half at the start of a token, half
 * inside a word token (see `tokenContinues` in src/engine/completion/tokens.ts for what a token is). When
 * PATH is the checkpoint's training corpus, its validation files are used; otherwise any file of
 * PATH whose text is also a training file is left out.
 * At each position both models complete to the end of the token and to the end of the line, with the
 * same decoder (greedy, or beam search of width `--beam`), and the report gives, per model:
 *   next-token exact match   the token suggestion equals the rest of the token the author wrote
 *   next-line exact match    the line suggestion equals the rest of the line
 *   chars saved/suggestion   mean common prefix (code points) of the line suggestion and the rest
 *                            of the line: what accepting it, word by word or whole, keeps
 *   latency warm             one completion of exactly `--latency-length` characters, the state cache
 *                            holding the state one character before the cursor (one typed character)
 *   latency cold             the same with no cache and exactly `--cold-context` characters of
 *                            context (the text is cut there, so the network reads all of it)
 *   held-out cross-entropy   nats/char of each model over the held-out files (each file read from
 *                            the start, as the completer reads it): how good a language model each is
 * The n-gram baseline (interpolated modified Kneser-Ney, src/engine/ngram/ngram.ts) is built from the
 * training text of the checkpoint's corpus (header.corpus.root, read with the same defaults and so
 * the same train/validation split as training) or of `--corpus`, in the checkpoint's vocabulary.
 * The measuring itself (positions, scores, latency) is src/engine/completion/completionMetrics.ts;
 * here are the command, its options, the corpora and the report.
 */
import * as path from 'path';
import { OptionSpec, ParsedOptions } from './args';
import type { Command } from './commands';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { loadCheckpoint } from '../engine/training/checkpoint';
import { CompletionEngine } from '../engine/completion/networkCompleter';
import { NGramCompleter } from '../engine/completion/ngramCompleter';
import {
  EvalPosition, Latency, latencyOf, LatencyOptions, measureLatency, ModelScores, samplePositions, scoreSuggestions, suggestAll, SuggestOptions,
} from '../engine/completion/completionMetrics';
import { Corpus, CorpusError, CorpusFile, readCorpus, readRecordedCorpus } from '../engine/data/corpus';
import { InferenceModel } from '../engine/inference/inference';
import { NGRAM_DEFAULT_ORDER, NGRAM_MAX_ORDER, NGramModel } from '../engine/ngram/ngram';

const str = (o: ParsedOptions, k: string) => o[k] as string | undefined;
const num = (o: ParsedOptions, k: string) => o[k] as number;

function out(line: string): void {
  process.stdout.write(line + '\n');
}

/** The widest beam: each step keeps this many hypotheses per model, so time and memory grow with it. */
export const MAX_BEAM = 64;

const OPTIONS: OptionSpec[] = [
  { name: 'positions', type: 'int', help: 'cursor positions sampled (half at a token start, half inside a token)', default: 1000, min: 1 },
  { name: 'seed', type: 'int', help: 'random seed of the positions', default: 1 },
  { name: 'ngram-order', type: 'int', help: 'n-gram order of the baseline', default: NGRAM_DEFAULT_ORDER, min: 1, max: NGRAM_MAX_ORDER },
  { name: 'corpus', type: 'string', help: 'build the baseline from this corpus (default: the one in the checkpoint header)' },
  { name: 'context', type: 'int', help: 'characters before the cursor the network reads (at least)', default: 2000, min: 1 },
  { name: 'beam', type: 'int', help: 'beam width of both models (1 = greedy)', default: 1, min: 1, max: MAX_BEAM },
  { name: 'max-token', type: 'int', help: 'longest token suggestion', default: 40, min: 1 },
  { name: 'max-line', type: 'int', help: 'longest line suggestion', default: 120, min: 1 },
  { name: 'latency-positions', type: 'int', help: 'positions timed (among those with enough context)', default: 200, min: 0 },
  { name: 'latency-length', type: 'int', help: 'characters generated per timed suggestion', default: 40, min: 1 },
  { name: 'cold-context', type: 'int', help: 'characters of context of a cold (uncached) suggestion', default: 2000, min: 1 },
  { name: 'backend', type: 'string', help: 'TF.js backend', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

/** The training corpus of a checkpoint: `--corpus`, else the one its header records. */
export async function trainingCorpus(header: { corpus: { root: string } | null }, explicit: string | undefined, checkpoint: string): Promise<Corpus> {
  if (explicit) return readCorpus(explicit);
  const root = header.corpus?.root;
  if (!root) throw new Error(`${checkpoint} does not say which corpus it was trained on; give it with --corpus PATH.`);
  try {
    return await readRecordedCorpus(root);
  } catch (e) {
    if (e instanceof CorpusError && e.code === 'not-found') throw new Error(`The training corpus of ${checkpoint} (${root}) is not there any more; give it with --corpus PATH.`);
    throw e;
  }
}

/** The held-out files of PATH: the corpus's validation files when PATH is its root, else PATH's files that are not training files. */
export async function heldOutFiles(target: string, corpus: Corpus): Promise<{ files: CorpusFile[]; note: string }> {
  const resolved = path.resolve(target);
  if (corpus.root.split(', ').includes(resolved)) {
    if (corpus.validationFiles.length === 0) throw new Error(`${resolved} has no held-out files (${corpus.splitNote ?? 'no validation split'}).`);
    return { files: corpus.validationFiles, note: `the ${corpus.validationFiles.length} validation file(s) of the training corpus` };
  }
  let read: Corpus;
  try {
    read = await readCorpus(target, { validationFraction: 0 });
  } catch (e) {
    if (e instanceof CorpusError && (e.code === 'empty' || e.code === 'not-found')) {
      throw new Error(`No text files to evaluate in ${resolved}: ${e.message.replace(/^No text files to train on in [^:]*: /, '')}`);
    }
    throw e;
  }
  const training = new Set(corpus.trainFiles.map((f) => f.text));
  const files = read.files.filter((f) => !training.has(f.text));
  const left = read.files.length - files.length;
  if (files.length === 0) throw new Error(`Every file in ${resolved} is a training file of the checkpoint's corpus: nothing is held out.`);
  return { files, note: `${files.length} file(s) of ${resolved}${left ? ` (${left} training file(s) left out)` : ''}` };
}

export const completeEvalCommand: Command = {
  name: 'complete-eval',
  summary: 'completions at sampled cursor positions: LSTM against the n-gram baseline (exact match, characters saved, latency)',
  usage: 'lstm-lab complete-eval CHECKPOINT PATH [--json] [--positions N] [--seed N] [--ngram-order N] [--corpus PATH]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: OPTIONS,
  async run(pos, o) {
    const json = o.json === true;
    const order = num(o, 'ngram-order'); // the ranges of every number are checked by the parser (OPTIONS)
    const log = (line: string) => {
      if (!json) process.stderr.write(line + '\n');
    };

    const ckpt = await loadCheckpoint(pos.checkpoint!);
    const corpus = await trainingCorpus(ckpt.header, str(o, 'corpus'), ckpt.path);
    const { files, note } = await heldOutFiles(pos.path!, corpus);
    const info = await initBackend(str(o, 'backend') as BackendPreference);
    const inference = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);

    const coverage = ckpt.vocabulary.coverage(corpus.trainText);
    if (coverage < 0.9) log(`warning: the checkpoint's vocabulary covers only ${(coverage * 100).toFixed(1)} % of ${corpus.root}: is it the corpus the model was trained on?`);
    log(`building the ${order}-gram baseline from ${corpus.trainFiles.length} training files (${corpus.trainText.length.toLocaleString('en-US')} characters)…`);
    let t = performance.now();
    const ngram = NGramModel.build(ckpt.vocabulary.encode(corpus.trainText), ckpt.vocabulary.size, order);
    const ngramSeconds = (performance.now() - t) / 1000;

    const texts = files.map((f) => f.text);
    const positions = samplePositions(texts, num(o, 'positions'), num(o, 'seed'));
    if (positions.length === 0) throw new Error(`No cursor positions to sample in ${note}.`);
    const lstm = new CompletionEngine(inference);
    const baseline = new NGramCompleter(ngram, ckpt.vocabulary);
    const so: SuggestOptions = { contextChars: num(o, 'context'), beamWidth: num(o, 'beam'), maxTokenLength: num(o, 'max-token'), maxLineLength: num(o, 'max-line') };
    log(`completing at ${positions.length} positions in ${note}…`);
    t = performance.now();
    const lstmRecords = suggestAll(lstm, texts, positions, so);
    const lstmSeconds = (performance.now() - t) / 1000;
    const ngramRecords = suggestAll(baseline, texts, positions, so);

    // Latency: positions with enough text before them for a cold read, interleaving the models.
    const coldContext = num(o, 'cold-context');
    const eligible = positions.filter((p) => p.offset >= coldContext + 1);
    const step = Math.max(1, eligible.length / Math.max(1, num(o, 'latency-positions')));
    const timed: EvalPosition[] = [];
    for (let i = 0; i < eligible.length && timed.length < num(o, 'latency-positions'); i += step) timed.push(eligible[Math.floor(i)]);
    log(`timing ${timed.length} suggestions of ${num(o, 'latency-length')} characters per model, warm and cold…`);
    const lo: LatencyOptions = { length: num(o, 'latency-length'), beamWidth: so.beamWidth, coldContext, contextChars: num(o, 'context') };
    const lstmLat = { warm: [] as number[], cold: [] as number[] };
    const ngramLat = { warm: [] as number[], cold: [] as number[] };
    for (const p of timed) {
      const a = measureLatency(lstm, texts, [p], lo);
      const b = measureLatency(baseline, texts, [p], lo);
      lstmLat.warm.push(...a.warm);
      lstmLat.cold.push(...a.cold);
      ngramLat.warm.push(...b.warm);
      ngramLat.cold.push(...b.cold);
    }

    log('held-out cross-entropy of both models…');
    const crossEntropy = { lstm: 0, ngram: 0, chars: 0 };
    for (const text of texts) {
      const ids = ckpt.vocabulary.encode(text);
      if (ids.length === 0) continue;
      crossEntropy.lstm += inference.crossEntropy(ids).nats;
      const e = ngram.evaluate(ids);
      crossEntropy.ngram += e.natsPerChar * e.chars;
      crossEntropy.chars += ids.length;
    }

    const h = ckpt.header;
    const report = {
      event: 'complete-eval',
      checkpoint: ckpt.path,
      model: { kind: h.model.kind, layers: h.model.layers, hidden: h.model.hidden, step: h.step, validationLoss: h.lastEval?.valLoss ?? h.bestValLoss ?? null },
      backend: info.name,
      kernels: inference.kernelName,
      heldOut: { note, files: files.length, chars: texts.reduce((s, x) => s + x.length, 0) },
      positions: { total: positions.length, atStart: positions.filter((p) => p.kind === 'start').length, inside: positions.filter((p) => p.kind === 'inside').length, seed: num(o, 'seed') },
      settings: { contextChars: so.contextChars, beamWidth: so.beamWidth, maxTokenLength: so.maxTokenLength, maxLineLength: so.maxLineLength, latencyLength: lo.length, coldContext },
      ngram: { order, corpus: corpus.root, trainFiles: corpus.trainFiles.length, trainChars: corpus.trainText.length, distinctNgrams: ngram.size, buildSeconds: ngramSeconds },
      lstm: { ...scoreSuggestions('lstm', lstmRecords), heldOutNatsPerChar: crossEntropy.lstm / crossEntropy.chars, latencyMs: { warm: latencyOf(lstmLat.warm), cold: latencyOf(lstmLat.cold) }, seconds: lstmSeconds },
      baseline: { ...scoreSuggestions('ngram', ngramRecords), heldOutNatsPerChar: crossEntropy.ngram / crossEntropy.chars, latencyMs: { warm: latencyOf(ngramLat.warm), cold: latencyOf(ngramLat.cold) } },
    };
    if (json) {
      out(JSON.stringify(report));
      return 0;
    }
    out(formatReport(report));
    return 0;
  },
};

type Report = {
  checkpoint: string;
  model: { kind: string; layers: number; hidden: number; step: number; validationLoss: number | null };
  backend: string;
  kernels: string;
  heldOut: { note: string; chars: number };
  positions: { total: number; atStart: number; inside: number; seed: number };
  settings: { latencyLength: number; coldContext: number; contextChars: number; beamWidth: number };
  ngram: { order: number; trainFiles: number; trainChars: number; buildSeconds: number };
  lstm: ModelScores & { heldOutNatsPerChar: number; latencyMs: { warm: Latency; cold: Latency } };
  baseline: ModelScores & { heldOutNatsPerChar: number; latencyMs: { warm: Latency; cold: Latency } };
};

export function formatReport(r: Report): string {
  const pc = (x: number) => `${(x * 100).toFixed(1)} %`;
  const ms = (l: Latency) => (l.samples ? `${l.p50.toFixed(1)} / ${l.p95.toFixed(1)}` : '–');
  const rows: [string, string, string][] = [
    ['held-out cross-entropy (nats/char)', r.lstm.heldOutNatsPerChar.toFixed(3), r.baseline.heldOutNatsPerChar.toFixed(3)],
    ['next-token exact match', pc(r.lstm.tokenExact), pc(r.baseline.tokenExact)],
    [`  at a token start (${r.positions.atStart})`, pc(r.lstm.tokenExactAtStart), pc(r.baseline.tokenExactAtStart)],
    [`  inside a token (${r.positions.inside})`, pc(r.lstm.tokenExactInside), pc(r.baseline.tokenExactInside)],
    ['next-line exact match', pc(r.lstm.lineExact), pc(r.baseline.lineExact)],
    ['chars saved per suggestion', r.lstm.charsSavedPerSuggestion.toFixed(2), r.baseline.charsSavedPerSuggestion.toFixed(2)],
    ['mean line suggestion (chars)', r.lstm.meanLineSuggestion.toFixed(1), r.baseline.meanLineSuggestion.toFixed(1)],
    [`latency warm p50 / p95 (ms)`, ms(r.lstm.latencyMs.warm), ms(r.baseline.latencyMs.warm)],
    [`latency cold p50 / p95 (ms)`, ms(r.lstm.latencyMs.cold), ms(r.baseline.latencyMs.cold)],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(12, ...rows.map((x) => x[1].length));
  const m = r.model;
  return [
    `LSTM    ${m.kind} ${m.layers}×${m.hidden}, step ${m.step}${m.validationLoss !== null ? `, validation ${m.validationLoss.toFixed(3)} nats/char` : ''} (${r.checkpoint}); backend ${r.backend}, ${r.kernels} kernels`,
    `n-gram  order ${r.ngram.order}, interpolated Kneser-Ney, ${r.ngram.trainFiles} training files (${r.ngram.trainChars.toLocaleString('en-US')} characters), built in ${r.ngram.buildSeconds.toFixed(1)} s`,
    `held out: ${r.heldOut.note}, ${r.heldOut.chars.toLocaleString('en-US')} characters; ${r.positions.total} positions (seed ${r.positions.seed}); ${r.settings.beamWidth > 1 ? `beam search, width ${r.settings.beamWidth}` : 'greedy'}; the network reads ≥ ${r.settings.contextChars} characters of context`,
    `latency: ${r.lstm.latencyMs.warm.samples} suggestions of ${r.settings.latencyLength} characters; warm = cache one character behind; cold = no cache, ${r.settings.coldContext} characters of context`,
    '',
    `${''.padEnd(w0)}  ${'LSTM'.padStart(w1)}  ${'n-gram'.padStart(w1)}`,
    ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(w1)}`),
  ].join('\n');
}
