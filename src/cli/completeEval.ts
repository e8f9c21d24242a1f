/**
 * `lstm-lab complete-eval CHECKPOINT PATH`: how useful each completer's suggestions are, at the same
 * cursor positions: the static network (`lstm`), the network adapted by dynamic evaluation
 * (`lstm-adapted`), the corpus n-gram (`ngram`, the top-level `baseline`), the n-gram with the file and
 * documents caches (`ngram-cache`) and the hybrid (`hybrid`: network, n-gram and caches mixed by the
 * gate of mixture.json beside the checkpoint, or one fitted now on the validation split when there is
 * none or it belongs to other weights), the editor's default.
 *
 * Positions: sampled (seeded) in the held-out files of PATH — half at the start of a token, half
 * inside a word token (see `tokenContinues` in src/engine/completion/tokens.ts for what a token is). When
 * PATH is the checkpoint's training corpus, its validation files are used; otherwise any file of
 * PATH whose text is also a training file is left out. `--max-chars` keeps the first N characters of
 * the held-out files, in path order.
 * What each completer reads: the text before the cursor; the caches and the adapted network also the
 * held-out files before this one, read whole in path order as files opened before
 * (src/engine/completion/completerComparison.ts); never text after the cursor.
 * At each position every completer completes to the end of the token and to the end of the line, with
 * the same decoder (greedy, or beam search of width `--beam`), and the report gives, per completer:
 *   next-token exact match   the token suggestion equals the rest of the token the author wrote
 *   next-line exact match    the line suggestion equals the rest of the line
 *   chars saved/suggestion   mean common prefix (code points) of the line suggestion and the rest
 *                            of the line: what accepting it, word by word or whole, keeps
 *   latency warm             one completion of exactly `--latency-length` characters, the state cache
 *                            holding the state one character before the cursor (one typed character);
 *                            for the adapted network, with the weights as they are (adaptation runs
 *                            off the completion path; its cost per segment is reported apart)
 *   latency cold             the same with no cache and exactly `--cold-context` characters of
 *                            context (the text is cut there, so the network reads all of it)
 *   held-out cross-entropy   nats/char over the held-out files read in order (each file from its
 *                            start; the adapted network as one stream, each segment scored before
 *                            its update): how good a language model each is
 * The n-gram baseline (interpolated modified Kneser-Ney, src/engine/ngram/ngram.ts) is built from the
 * training text of the checkpoint's corpus (header.corpus.root, read with the same defaults and so
 * the same train/validation split as training) or of `--corpus`, in the checkpoint's vocabulary.
 * The measuring itself (positions, scores, latency) is src/engine/completion/completionMetrics.ts;
 * here are the command, its options, the corpora and the report.
 */
import * as path from 'path';
import { OptionSpec, ParsedOptions, UsageError } from './args';
import type { Command } from './commands';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { LoadedCheckpoint, loadCheckpoint } from '../engine/training/checkpoint';
import { CompletionEngine } from '../engine/completion/networkCompleter';
import { NGramCompleter } from '../engine/completion/ngramCompleter';
import { HybridCompleter } from '../engine/completion/hybridCompleter';
import { AdaptedNetworkCompleter } from '../engine/completion/adaptedCompleter';
import { AdaptedHybridCompleter } from '../engine/completion/adaptedHybridCompleter';
import { adaptedNetworkComponent, corpusNGramComponent, localityComponent } from '../engine/completion/heldOutScores';
import type { Completer } from '../engine/completion/completer';
import {
  EvalPosition, Latency, latencyOf, LatencyOptions, measureLatency, ModelScores, samplePositions, scoreSuggestions, SuggestOptions,
} from '../engine/completion/completionMetrics';
import {
  COMPLETER_NAMES, CompleterName, DEFAULT_COMPLETER, heldOutMixtureLosses, NamedGate, RemembersDocuments, suggestInFileOrder,
} from '../engine/completion/completerComparison';
import {
  DEFAULT_GATE, dynamicEvaluatorFor, firstChars, fitGates, fitGatesOver, loadMixture, MixtureFileError, mixtureFileFor, mixtureMismatch, MIXTURE_FIT_CHARS, NGRAM_CACHE_GATE, validationTexts,
} from '../engine/completion/checkpointMixture';
import { MixtureGate } from '../engine/completion/mixture';
import { Corpus, CorpusError, CorpusFile, readCorpus } from '../engine/data/corpus';
import { readTrainingCorpus } from '../engine/data/corpusRecord';
import { alignToCodePoint } from '../engine/data/codePoints';
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
  { name: 'models', type: 'string', help: `completers to compare, comma-separated, of ${COMPLETER_NAMES.join(', ')} (lstm and ngram are always measured: the top-level figures are theirs)`, default: COMPLETER_NAMES.join(',') },
  { name: 'max-chars', type: 'int', help: 'keep the first N characters of the held-out files, in path order (0 = all)', default: 0, min: 0 },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

/** The completers asked for with --models (lstm and ngram always), in report order. */
export function chosenModels(list: string): CompleterName[] {
  const asked = list.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const unknown = asked.filter((x) => !(COMPLETER_NAMES as readonly string[]).includes(x));
  if (unknown.length) throw new UsageError(`--models: no completer named ${unknown.join(', ')}; the completers are ${COMPLETER_NAMES.join(', ')}.`);
  return COMPLETER_NAMES.filter((n) => n === 'lstm' || n === 'ngram' || asked.includes(n));
}

/** The first `maxChars` characters of the texts (0 = all), in order, the last one cut there. */
export function firstCharsOf(texts: string[], maxChars: number): string[] {
  if (maxChars <= 0) return texts;
  const out: string[] = [];
  let n = 0;
  for (const t of texts) {
    if (n >= maxChars) break;
    const kept = t.length <= maxChars - n ? t : t.slice(0, alignToCodePoint(t, maxChars - n));
    if (kept) out.push(kept);
    n += kept.length;
  }
  return out;
}

/** The training corpus of a checkpoint: `--corpus`, else the one its header records. */
export async function trainingCorpus(header: { corpus: { root: string } | null }, explicit: string | undefined, checkpoint: string): Promise<Corpus> {
  if (explicit) return readCorpus(explicit);
  const root = header.corpus?.root;
  if (!root) throw new Error(`${checkpoint} does not say which corpus it was trained on; give it with --corpus PATH.`);
  try {
    const { corpus, note } = await readTrainingCorpus(checkpoint, root);
    if (note) process.stderr.write(`note: ${note}\n`);
    return corpus;
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

/** How the hybrid's gate was had: from mixture.json, or fitted now (and why). */
interface MixtureSource {
  file: string;
  source: 'mixture.json' | 'fitted';
  /** Where hybrid-adapted's gate came from (when it is measured). */
  adaptedSource?: 'mixture.json' | 'fitted';
  note: string | null;
  /** Validation positions of the fits made now (0: none made). */
  fitPositions: number;
  fitSeconds: number;
}

/**
 * The gates the chosen completers need: the hybrid's from mixture.json when it belongs to this
 * checkpoint and n-gram, else fitted on the validation split; the n-gram with the caches' always
 * fitted (it is not kept).
 */
async function gatesFor(models: readonly CompleterName[], ckpt: LoadedCheckpoint, corpus: Corpus, inference: InferenceModel, ngram: NGramModel, log: (l: string) => void) {
  const gates: Partial<Record<'hybrid' | 'ngram-cache' | 'hybrid-adapted', MixtureGate>> = {};
  const file = mixtureFileFor(ckpt.path);
  const mixture: MixtureSource = { file, source: 'fitted', note: null, fitPositions: 0, fitSeconds: 0 };
  const toFit: { name: 'hybrid' | 'ngram-cache'; members: readonly string[] }[] = [];
  if (models.includes('hybrid')) {
    try {
      const stored = await loadMixture(file);
      const why = stored ? mixtureMismatch(stored, ckpt, ngram.order) : `there is no ${path.basename(file)} beside the checkpoint`;
      if (stored && !why) {
        gates.hybrid = stored.gate;
        mixture.source = 'mixture.json';
      } else mixture.note = `${why}: the gate is fitted now on the validation split (\`lstm-lab mixture ${ckpt.path}\` keeps one)`;
    } catch (e) {
      if (!(e instanceof MixtureFileError)) throw e;
      mixture.note = `${e.message} The gate is fitted now on the validation split.`;
    }
    if (mixture.note) log(`note: ${mixture.note}`);
    if (!gates.hybrid) toFit.push({ name: 'hybrid', members: DEFAULT_GATE });
  }
  if (models.includes('ngram-cache')) toFit.push({ name: 'ngram-cache', members: NGRAM_CACHE_GATE });
  if (toFit.length) {
    const docs = firstChars(validationTexts(corpus), ckpt.vocabulary, MIXTURE_FIT_CHARS);
    if (docs.length === 0) throw new Error(`${corpus.root} has no validation text to fit the mixture gates on; give another corpus with --corpus PATH or leave hybrid and ngram-cache out of --models.`);
    log(`fitting the ${toFit.map((g) => g.name).join(' and ')} gate(s) on ${docs.reduce((n, d) => n + d.length, 0).toLocaleString('en-US')} validation characters…`);
    const fit = fitGates(inference, ngram, docs, toFit.map((g) => g.members));
    toFit.forEach((g, i) => (gates[g.name] = fit.gates[i]));
    mixture.fitPositions = fit.positions;
    mixture.fitSeconds = fit.seconds;
  }
  return { gates, mixture };
}

/** One completer of the comparison: what it is, and what it reads of the files before (if anything). */
interface Entry {
  name: CompleterName;
  kind: 'network' | 'ngram' | 'hybrid';
  completer: Completer;
  memory?: RemembersDocuments;
}

async function adaptedCompleter(ckpt: LoadedCheckpoint, corpus: Corpus, log: (l: string) => void): Promise<{ completer: AdaptedNetworkCompleter; statistics: { file: string; reused: boolean } }> {
  const d = await dynamicEvaluatorFor(ckpt, corpus);
  if (d.writeError) log(`note: the gradient statistics could not be kept in ${d.file}: ${d.writeError}`);
  return { completer: new AdaptedNetworkCompleter(d.evaluator), statistics: { file: d.file, reused: d.reused } };
}

/** mixture.json's gate over the adapted network when it belongs to this checkpoint and n-gram, else null (and why, logged). */
async function storedAdaptedGate(ckpt: LoadedCheckpoint, ngramOrder: number, log: (l: string) => void): Promise<MixtureGate | null> {
  const file = mixtureFileFor(ckpt.path);
  try {
    const stored = await loadMixture(file);
    const why = !stored ? `there is no ${path.basename(file)} beside the checkpoint` : (mixtureMismatch(stored, ckpt, ngramOrder) ?? (stored.adaptedGate ? null : 'it was fitted without the adapted gate'));
    if (!why) return stored!.adaptedGate;
    log(`note: hybrid-adapted: ${why}: its gate is fitted now (\`lstm-lab mixture ${ckpt.path}\` keeps one)`);
  } catch (e) {
    if (!(e instanceof MixtureFileError)) throw e;
    log(`note: hybrid-adapted: ${e.message} Its gate is fitted now.`);
  }
  return null;
}

/**
 * hybrid-adapted's gate: mixture.json's adapted gate when it belongs to this checkpoint, else fitted
 * now with the adapted network's scores on the validation split (a reading of its own).
 */
async function adaptedGateFor(ckpt: LoadedCheckpoint, corpus: Corpus, ngram: NGramModel, log: (l: string) => void): Promise<{ gate: MixtureGate; source: 'mixture.json' | 'fitted' }> {
  const stored = await storedAdaptedGate(ckpt, ngram.order, log);
  if (stored) return { gate: stored, source: 'mixture.json' };
  const vocab = ckpt.vocabulary;
  const forFit = await adaptedCompleter(ckpt, corpus, log);
  const docs = firstChars(validationTexts(corpus), vocab, MIXTURE_FIT_CHARS);
  log(`fitting the hybrid-adapted gate on ${docs.reduce((n, d) => n + d.length, 0).toLocaleString('en-US')} validation characters, adapting as it reads…`);
  const gate = fitGatesOver([adaptedNetworkComponent(forFit.completer.evaluator, 'lstm'), corpusNGramComponent(ngram, 'ngram'), localityComponent(vocab.size, {}, 'cache')], docs, [DEFAULT_GATE]).gates[0];
  return { gate, source: 'fitted' };
}

/** Warm and cold latency of every completer at the timed positions, interleaving them. */
function latencies(entries: readonly Entry[], texts: string[], timed: readonly EvalPosition[], lo: LatencyOptions): Map<CompleterName, { warm: Latency; cold: Latency }> {
  const samples = new Map(entries.map((e) => [e.name, { warm: [] as number[], cold: [] as number[] }]));
  for (const e of entries) {
    if (e.completer instanceof AdaptedNetworkCompleter) e.completer.adaptOnRequest = false;
    if (e.completer instanceof AdaptedHybridCompleter) e.completer.adapted.adaptOnRequest = false;
  }
  for (const p of timed) {
    for (const e of entries) {
      const r = measureLatency(e.completer, texts, [p], lo);
      samples.get(e.name)!.warm.push(...r.warm);
      samples.get(e.name)!.cold.push(...r.cold);
    }
  }
  return new Map(Array.from(samples, ([n, s]) => [n, { warm: latencyOf(s.warm), cold: latencyOf(s.cold) }]));
}

/** Positions with enough text before them for a cold read, spread over all of them. */
function timedPositions(positions: readonly EvalPosition[], coldContext: number, count: number): EvalPosition[] {
  const eligible = positions.filter((p) => p.offset >= coldContext + 1);
  const step = Math.max(1, eligible.length / Math.max(1, count));
  const timed: EvalPosition[] = [];
  for (let i = 0; i < eligible.length && timed.length < count; i += step) timed.push(eligible[Math.floor(i)]);
  return timed;
}

export type ModelFigures = Omit<ModelScores, 'model'> & {
  kind: Entry['kind'];
  heldOutNatsPerChar: number;
  latencyMs: { warm: Latency; cold: Latency };
  seconds: number;
  /** The adapted network: what the adaptation read, and its cost per segment (off the completion path). */
  adaptation?: { chars: number; segments: number; msPerSegment: number; statistics: { file: string; reused: boolean } };
};

/**
 * What the experiments on held-out text start from (errors, brackets): the backend, the checkpoint
 * (its note said), its training corpus, and the first `maxChars` characters of PATH's held-out files.
 */
export async function checkpointAndHeldOut(o: ParsedOptions, checkpoint: string, target: string, maxChars: number) {
  await initBackend(str(o, 'backend') as BackendPreference);
  const ckpt = await loadCheckpoint(checkpoint);
  if (ckpt.note) process.stderr.write(`note: ${ckpt.note}\n`);
  const corpus = await trainingCorpus(ckpt.header, str(o, 'corpus'), ckpt.path);
  const { files, note } = await heldOutFiles(target, corpus);
  const texts = firstCharsOf(files.map((f) => f.text), maxChars);
  return { ckpt, corpus, note, texts, paths: files.slice(0, texts.length).map((f) => f.path) };
}

export const completeEvalCommand: Command = {
  name: 'complete-eval',
  summary: 'completions at sampled cursor positions: every completer (network, adapted network, n-gram, n-gram with caches, hybrid) on the same positions (exact match, characters saved, cross-entropy, latency)',
  usage: 'lstm-lab complete-eval CHECKPOINT PATH [--json] [--models LIST] [--positions N] [--max-chars N] [--seed N] [--ngram-order N] [--corpus PATH]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: OPTIONS,
  async run(pos, o) {
    const json = o.json === true;
    const order = num(o, 'ngram-order'); // the ranges of every number are checked by the parser (OPTIONS)
    const models = chosenModels(str(o, 'models') ?? '');
    const log = (line: string) => {
      if (!json) process.stderr.write(line + '\n');
    };

    const ckpt = await loadCheckpoint(pos.checkpoint!);
    const corpus = await trainingCorpus(ckpt.header, str(o, 'corpus'), ckpt.path);
    const held = await heldOutFiles(pos.path!, corpus);
    const info = await initBackend(str(o, 'backend') as BackendPreference);
    const inference = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);
    const vocab = ckpt.vocabulary;

    const coverage = vocab.coverage(corpus.trainText);
    if (coverage < 0.9) log(`warning: the checkpoint's vocabulary covers only ${(coverage * 100).toFixed(1)} % of ${corpus.root}: is it the corpus the model was trained on?`);
    log(`building the ${order}-gram baseline from ${corpus.trainFiles.length} training files (${corpus.trainText.length.toLocaleString('en-US')} characters)…`);
    let t = performance.now();
    const ngram = NGramModel.build(vocab.encode(corpus.trainText), vocab.size, order);
    const ngramSeconds = (performance.now() - t) / 1000;

    const maxChars = num(o, 'max-chars');
    const texts = firstCharsOf(held.files.map((f) => f.text), maxChars);
    const note = maxChars > 0 && texts.reduce((n, x) => n + x.length, 0) < held.files.reduce((n, f) => n + f.text.length, 0) ? `${held.note}, the first ${maxChars.toLocaleString('en-US')} characters (${texts.length} file(s))` : held.note;
    const positions = samplePositions(texts, num(o, 'positions'), num(o, 'seed'));
    if (positions.length === 0) throw new Error(`No cursor positions to sample in ${note}.`);

    const { gates, mixture } = await gatesFor(models, ckpt, corpus, inference, ngram, log);
    const entries: Entry[] = [];
    let adapted: Awaited<ReturnType<typeof adaptedCompleter>> | null = null;
    for (const name of models) {
      if (name === 'lstm') entries.push({ name, kind: 'network', completer: new CompletionEngine(inference) });
      if (name === 'lstm-adapted') {
        adapted = await adaptedCompleter(ckpt, corpus, log);
        entries.push({ name, kind: 'network', completer: adapted.completer, memory: adapted.completer });
      }
      if (name === 'ngram') entries.push({ name, kind: 'ngram', completer: new NGramCompleter(ngram, vocab) });
      if (name === 'hybrid-adapted') {
        const { gate, source } = await adaptedGateFor(ckpt, corpus, ngram, log);
        mixture.adaptedSource = source;
        gates['hybrid-adapted'] = gate;
        const own = await adaptedCompleter(ckpt, corpus, log);
        const c = new AdaptedHybridCompleter(own.completer, ngram, gate);
        entries.push({ name, kind: 'hybrid', completer: c, memory: c });
      }
      if (name === 'ngram-cache' || name === 'hybrid') {
        const c = new HybridCompleter({ network: name === 'hybrid' ? new CompletionEngine(inference) : null, ngram, gate: gates[name]!, vocab });
        entries.push({ name, kind: name === 'hybrid' ? 'hybrid' : 'ngram', completer: c, memory: c });
      }
    }
    const so: SuggestOptions = { contextChars: num(o, 'context'), beamWidth: num(o, 'beam'), maxTokenLength: num(o, 'max-token'), maxLineLength: num(o, 'max-line') };
    const scores = new Map<CompleterName, { scores: ModelScores; seconds: number }>();
    for (const e of entries) {
      log(`${e.name}: completing at ${positions.length} positions in ${note}…`);
      t = performance.now();
      const records = suggestInFileOrder(e.completer, texts, positions, so, e.memory);
      scores.set(e.name, { scores: scoreSuggestions(e.kind === 'network' ? 'lstm' : 'ngram', records), seconds: (performance.now() - t) / 1000 });
    }

    const coldContext = num(o, 'cold-context');
    const timed = timedPositions(positions, coldContext, num(o, 'latency-positions'));
    log(`timing ${timed.length} suggestions of ${num(o, 'latency-length')} characters per completer, warm and cold…`);
    const lo: LatencyOptions = { length: num(o, 'latency-length'), beamWidth: so.beamWidth, coldContext, contextChars: num(o, 'context') };
    const latency = latencies(entries, texts, timed, lo);

    log('held-out cross-entropy…');
    const mixGates: NamedGate[] = (['hybrid', 'ngram-cache'] as const).filter((n) => gates[n]).map((n) => ({ name: n, gate: gates[n]! }));
    const heldOutIds = texts.map((x) => vocab.encode(x)).filter((d) => d.length > 0);
    const ce = heldOutMixtureLosses(inference, ngram, heldOutIds, mixGates).natsPerChar;
    if (gates['hybrid-adapted']) {
      // The adapted network reads the held-out files in order once more, for its mixture's cross-entropy.
      const reader = await adaptedCompleter(ckpt, corpus, log);
      ce['hybrid-adapted'] = heldOutMixtureLosses(adaptedNetworkComponent(reader.completer.evaluator, 'lstm'), ngram, heldOutIds, [{ name: 'hybrid-adapted', gate: gates['hybrid-adapted'] }]).natsPerChar['hybrid-adapted'];
    }
    const figures: Partial<Record<CompleterName, ModelFigures>> = {};
    for (const e of entries) {
      const { model: _model, ...s } = scores.get(e.name)!.scores;
      let heldOutNatsPerChar = ce[e.name];
      let adaptation: ModelFigures['adaptation'];
      if (e.name === 'lstm-adapted' && adapted) {
        const tot = adapted.completer.totals;
        heldOutNatsPerChar = tot.nats / tot.chars;
        adaptation = { chars: tot.chars, segments: tot.segments, msPerSegment: tot.segments ? tot.ms / tot.segments : 0, statistics: adapted.statistics };
      }
      figures[e.name] = { kind: e.kind, ...s, heldOutNatsPerChar, latencyMs: latency.get(e.name)!, seconds: scores.get(e.name)!.seconds, ...(adaptation ? { adaptation } : {}) };
    }

    const h = ckpt.header;
    const top = (name: 'lstm' | 'ngram') => ({ ...scores.get(name)!.scores, heldOutNatsPerChar: ce[name], latencyMs: latency.get(name)! });
    const report = {
      event: 'complete-eval',
      checkpoint: ckpt.path,
      model: { kind: h.model.kind, layers: h.model.layers, hidden: h.model.hidden, step: h.step, validationLoss: h.lastEval?.valLoss ?? h.bestValLoss ?? null },
      backend: info.name,
      kernels: inference.kernelName,
      heldOut: { note, files: texts.length, chars: texts.reduce((s, x) => s + x.length, 0) },
      positions: { total: positions.length, atStart: positions.filter((p) => p.kind === 'start').length, inside: positions.filter((p) => p.kind === 'inside').length, seed: num(o, 'seed') },
      settings: { contextChars: so.contextChars, beamWidth: so.beamWidth, maxTokenLength: so.maxTokenLength, maxLineLength: so.maxLineLength, latencyLength: lo.length, coldContext },
      ngram: { order, corpus: corpus.root, trainFiles: corpus.trainFiles.length, trainChars: corpus.trainText.length, distinctNgrams: ngram.size, buildSeconds: ngramSeconds },
      lstm: { ...top('lstm'), seconds: scores.get('lstm')!.seconds },
      baseline: top('ngram'),
      models: figures,
      default: DEFAULT_COMPLETER,
      ...(gates.hybrid || gates['ngram-cache'] || gates['hybrid-adapted'] ? { mixture } : {}),
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
  models: Partial<Record<CompleterName, ModelFigures>>;
  default: string;
  mixture?: MixtureSource;
};

/** The text report: one column per completer. */
export function formatReport(r: Report): string {
  const pc = (x: number) => `${(x * 100).toFixed(1)} %`;
  const ms = (l: Latency) => (l.samples ? `${l.p50.toFixed(1)} / ${l.p95.toFixed(1)}` : '–');
  const names = COMPLETER_NAMES.filter((n) => r.models[n]);
  const ms_ = names.map((n) => r.models[n]!);
  const row = (label: string, f: (m: ModelFigures) => string): string[] => [label, ...ms_.map(f)];
  const rows: string[][] = [
    ['', ...names.map((n) => (n === r.default ? `${n} (default)` : n))],
    row('held-out cross-entropy (nats/char)', (m) => m.heldOutNatsPerChar.toFixed(3)),
    row('next-token exact match', (m) => pc(m.tokenExact)),
    row(`  at a token start (${r.positions.atStart})`, (m) => pc(m.tokenExactAtStart)),
    row(`  inside a token (${r.positions.inside})`, (m) => pc(m.tokenExactInside)),
    row('next-line exact match', (m) => pc(m.lineExact)),
    row('chars saved per suggestion', (m) => m.charsSavedPerSuggestion.toFixed(2)),
    row('mean line suggestion (chars)', (m) => m.meanLineSuggestion.toFixed(1)),
    row('latency warm p50 / p95 (ms)', (m) => ms(m.latencyMs.warm)),
    row('latency cold p50 / p95 (ms)', (m) => ms(m.latencyMs.cold)),
  ];
  const widths = rows[0].map((_, c) => Math.max(c === 0 ? 0 : 12, ...rows.map((x) => x[c].length)));
  const m = r.model;
  const adapted = r.models['lstm-adapted']?.adaptation;
  return [
    `LSTM    ${m.kind} ${m.layers}×${m.hidden}, step ${m.step}${m.validationLoss !== null ? `, validation ${m.validationLoss.toFixed(3)} nats/char` : ''} (${r.checkpoint}); backend ${r.backend}, ${r.kernels} kernels`,
    `n-gram  order ${r.ngram.order}, interpolated Kneser-Ney, ${r.ngram.trainFiles} training files (${r.ngram.trainChars.toLocaleString('en-US')} characters), built in ${r.ngram.buildSeconds.toFixed(1)} s`,
    ...(r.mixture ? [`mixture ${r.mixture.source === 'mixture.json' ? `the gate of ${r.mixture.file}` : `gate(s) fitted now on ${r.mixture.fitPositions.toLocaleString('en-US')} validation characters in ${r.mixture.fitSeconds.toFixed(1)} s`}${r.mixture.note && r.mixture.source === 'mixture.json' ? ` (${r.mixture.note})` : ''}`] : []),
    ...(adapted ? [`adapted ${adapted.segments} updates of ${adapted.chars.toLocaleString('en-US')} characters read, ${adapted.msPerSegment.toFixed(1)} ms per segment (off the completion path; not in its latency)`] : []),
    `held out: ${r.heldOut.note}, ${r.heldOut.chars.toLocaleString('en-US')} characters; ${r.positions.total} positions (seed ${r.positions.seed}); ${r.settings.beamWidth > 1 ? `beam search, width ${r.settings.beamWidth}` : 'greedy'}; the network reads ≥ ${r.settings.contextChars} characters of context`,
    `latency: ${ms_[0].latencyMs.warm.samples} suggestions of ${r.settings.latencyLength} characters; warm = cache one character behind; cold = no cache, ${r.settings.coldContext} characters of context`,
    '',
    ...rows.map((x) => x.map((v, c) => (c === 0 ? v.padEnd(widths[0]) : v.padStart(widths[c]))).join('  ')),
  ].join('\n');
}
