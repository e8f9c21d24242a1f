/**
 * The mixture gate of a checkpoint (mixture.ts): fitted on the validation split of the checkpoint's
 * corpus, as the end of training does and `lstm-lab mixture` does again, and kept beside the
 * checkpoint in its run folder as mixture.json (MIXTURE_FILE), written atomically as checkpoints
 * are.
 *
 * The gates: the hybrid mixes the static network, the corpus n-gram and the locality caches
 * (DEFAULT_GATE); the n-gram with the caches (NGRAM_CACHE_GATE) is fitted from the same scores when
 * asked. The editor's default serves the network adapted to each document by dynamic evaluation
 * (hybrid-adapted), which is more confident than the static one: its gate is fitted on the adapted
 * network's own validation scores (the network adapting as it reads the validation files) and kept
 * in the same file as `adapted`. A document not adapted yet is served with the static gate.
 *
 * Fitting reads at most `maxChars` characters of the validation files, in their order (default
 * MIXTURE_FIT_CHARS), so it takes seconds, not minutes. The file records what the gate was fitted
 * for (checkpoint, its data checksum, the n-gram order): a gate fitted for another checkpoint is
 * reported as such and not used.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Corpus } from '../data/corpus';
import type { Vocabulary } from '../data/vocabulary';
import { InferenceModel } from '../inference/inference';
import { NGRAM_DEFAULT_ORDER, NGramModel } from '../ngram/ngram';
import { LoadedCheckpoint, writeFileAtomic } from '../training/checkpoint';
import { DEFAULT_DYNAMIC_EVALUATION, DynamicEvaluator } from '../adaptation/dynamicEvaluation';
import { DEFAULT_STATISTICS_CHARS, loadOrGatherStatistics, statisticsFileFor } from '../adaptation/gradientStatistics';
import { adaptedNetworkComponent, corpusNGramComponent, localityComponent, mixtureData, ScoredComponent, staticNetworkComponent } from './heldOutScores';
import { fitGate, MixtureData, MixtureGate, MixtureGateJSON, MIXTURE_FILE } from './mixture';

/** Validation characters the gate is fitted on, at most. */
export const MIXTURE_FIT_CHARS = 100_000;
/** The editor's default completer: the static network, the corpus n-gram and the caches. */
export const DEFAULT_GATE: readonly string[] = ['lstm', 'ngram', 'cache'];
/** The n-gram with the caches (no network). */
export const NGRAM_CACHE_GATE: readonly string[] = ['ngram', 'cache'];

/** What a stored gate was fitted for. */
export interface MixtureFittedFor {
  /** File name of the checkpoint (best.ckpt) in its folder. */
  checkpoint: string;
  step: number;
  /** The checkpoint's data checksum: its weights. */
  checksum: string;
  ngramOrder: number;
  corpus: string;
  /** Validation positions the gate was fitted on. */
  positions: number;
  /** Seconds the fit took (the n-gram's build included). */
  seconds: number;
}

export interface StoredMixture {
  gate: MixtureGate;
  /** The gate over the adapted network, the n-gram and the caches; null in a file fitted without it. */
  adaptedGate: MixtureGate | null;
  fittedFor: MixtureFittedFor | null;
}

/** A mixture.json that cannot be used: damaged, foreign, or of another version. */
export class MixtureFileError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file} cannot be used: ${reason}. Fit it again with \`lstm-lab mixture CHECKPOINT\`.`);
    this.name = 'MixtureFileError';
  }
}

/** mixture.json beside a checkpoint. */
export function mixtureFileFor(checkpointPath: string): string {
  return path.join(path.dirname(path.resolve(checkpointPath)), MIXTURE_FILE);
}

/** The gate kept in `file`; null when there is none; MixtureFileError when it is damaged or foreign. */
export async function loadMixture(file: string): Promise<StoredMixture | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MixtureFileError(file, `it cannot be read (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MixtureFileError(file, `it is not JSON (${(e as Error).message}); it may be truncated or damaged`);
  }
  let gate: MixtureGate;
  try {
    gate = MixtureGate.fromJSON(json);
  } catch (e) {
    throw new MixtureFileError(file, (e as Error).message.replace(/: fit it again.*$/, ''));
  }
  let adaptedGate: MixtureGate | null = null;
  const adapted = (json as { adapted?: unknown }).adapted;
  if (adapted !== undefined) {
    try {
      adaptedGate = MixtureGate.fromJSON(adapted);
    } catch (e) {
      throw new MixtureFileError(file, `its adapted gate: ${(e as Error).message.replace(/: fit it again.*$/, '')}`);
    }
  }
  const f = (json as { fittedFor?: MixtureFittedFor }).fittedFor;
  return { gate, adaptedGate, fittedFor: f && typeof f === 'object' && typeof f.checksum === 'string' ? f : null };
}

/** Write the gates to `file` atomically, with what they were fitted for. */
export async function saveMixture(file: string, gate: MixtureGate, fittedFor: MixtureFittedFor, adaptedGate: MixtureGate | null = null): Promise<void> {
  const json: MixtureGateJSON & { fittedFor: MixtureFittedFor; adapted?: MixtureGateJSON } = { ...gate.toJSON(), fittedFor, ...(adaptedGate ? { adapted: adaptedGate.toJSON() } : {}) };
  await writeFileAtomic(file, JSON.stringify(json, null, 1) + '\n');
}

/** Why a stored gate does not belong to this checkpoint and n-gram (null: it does). */
export function mixtureMismatch(stored: StoredMixture, ckpt: LoadedCheckpoint, ngramOrder: number, members: readonly string[] = DEFAULT_GATE): string | null {
  const names = stored.gate.components.map((c) => c.name);
  if (names.join(',') !== members.join(',')) return `its gate mixes ${names.join(', ')}, not ${members.join(', ')}`;
  const f = stored.fittedFor;
  if (!f) return 'it does not say which checkpoint it was fitted for';
  if (f.checksum !== ckpt.header.dataChecksum) return `it was fitted for other weights (${f.checkpoint}, step ${f.step}), not those of ${path.basename(ckpt.path)} (step ${ckpt.header.step})`;
  if (f.ngramOrder !== ngramOrder) return `it was fitted with an n-gram of order ${f.ngramOrder}, not ${ngramOrder}`;
  return null;
}

/** The first `maxChars` symbols of the texts, in order (the last text cut there). */
export function firstChars(texts: readonly string[], vocab: Vocabulary, maxChars: number): Int32Array[] {
  const out: Int32Array[] = [];
  let n = 0;
  for (const t of texts) {
    if (n >= maxChars) break;
    const ids = vocab.encode(t);
    const kept = ids.subarray(0, Math.min(ids.length, maxChars - n));
    if (kept.length) out.push(kept);
    n += kept.length;
  }
  return out;
}

/** The validation texts of a corpus, file by file (a one-file corpus: its validation text). */
export function validationTexts(corpus: Corpus): string[] {
  if (corpus.validationFiles.length) return corpus.validationFiles.map((f) => f.text);
  return corpus.validationText ? [corpus.validationText] : [];
}

export interface GateFit {
  /** One fitted gate per members list asked for, in that order. */
  gates: MixtureGate[];
  positions: number;
  seconds: number;
}

/**
 * Fit gates over subsets of the components (names of DEFAULT_GATE) on the documents, scoring every
 * component once. Throws when there are no positions.
 */
export function fitGates(network: InferenceModel, ngram: NGramModel, documents: readonly Int32Array[], gates: readonly (readonly string[])[] = [DEFAULT_GATE], signal?: AbortSignal): GateFit {
  return fitGatesOver([staticNetworkComponent(network, 'lstm'), corpusNGramComponent(ngram, 'ngram'), localityComponent(network.config.vocabSize, {}, 'cache')], documents, gates, signal);
}

/**
 * fitGates over components given: named lstm, ngram and cache (the `lstm` one may be the adapted
 * network, adaptedNetworkComponent, for the hybrid over the adapted network).
 */
export function fitGatesOver(all: readonly ScoredComponent[], documents: readonly Int32Array[], gates: readonly (readonly string[])[] = [DEFAULT_GATE], signal?: AbortSignal): GateFit {
  const t0 = performance.now();
  const full = new MixtureGate(all.map((c) => c.spec));
  const data = mixtureData(all, documents, full);
  if (data.positions === 0) throw new RangeError('no validation text to fit the mixture on');
  const fitted = gates.map((members) => {
    if (signal?.aborted) throw new Error('Fitting the mixture was cancelled.');
    const idx = members.map((m) => {
      const i = all.findIndex((c) => c.spec.name === m);
      if (i < 0) throw new RangeError(`no component named ${m} (there are ${DEFAULT_GATE.join(', ')})`);
      return i;
    });
    const gate = new MixtureGate(idx.map((i) => all[i].spec));
    fitGate(gate, subsetData(data, full, idx, gate));
    return gate;
  });
  return { gates: fitted, positions: data.positions, seconds: (performance.now() - t0) / 1000 };
}

/** The fitting data of some of the components (indices into `from`'s), laid out for `to`. */
export function subsetData(data: MixtureData, from: MixtureGate, idx: readonly number[], to: MixtureGate): MixtureData {
  const M = from.components.length;
  const F = from.featureCount;
  const N = data.positions;
  const offsets: number[] = [];
  let f = 1;
  for (const c of from.components) {
    offsets.push(f);
    f += 2 + c.extras;
  }
  const targetProbs = new Float32Array(N * idx.length);
  const features = new Float32Array(N * to.featureCount);
  for (let n = 0; n < N; n++) {
    let o = n * to.featureCount;
    features[o++] = 1;
    idx.forEach((m, k) => {
      targetProbs[n * idx.length + k] = data.targetProbs[n * M + m];
      const width = 2 + from.components[m].extras;
      for (let j = 0; j < width; j++) features[o++] = data.features[n * F + offsets[m] + j];
    });
  }
  return { positions: N, targetProbs, features };
}

export interface CheckpointMixtureOptions {
  /** The corpus n-gram, if already built (else it is built from the corpus's training text). */
  ngram?: NGramModel;
  ngramOrder?: number;
  maxChars?: number;
  /** Write mixture.json beside the checkpoint (default true). */
  write?: boolean;
  /** Also fit the gate over the adapted network (default true; it gathers the gradient statistics if they are not kept). */
  adapted?: boolean;
  signal?: AbortSignal;
}

export interface CheckpointMixture {
  gate: MixtureGate;
  adaptedGate: MixtureGate | null;
  file: string;
  written: boolean;
  fittedFor: MixtureFittedFor;
  /** Seconds the n-gram's build took (0 when it was given). */
  ngramSeconds: number;
  ngram: NGramModel;
}

/** Fit the default gate of a checkpoint on its corpus's validation split and (by default) keep it in mixture.json beside it. */
export async function fitCheckpointMixture(ckpt: LoadedCheckpoint, corpus: Corpus, o: CheckpointMixtureOptions = {}): Promise<CheckpointMixture> {
  const t0 = performance.now();
  const vocab = ckpt.vocabulary;
  const order = o.ngram?.order ?? o.ngramOrder ?? NGRAM_DEFAULT_ORDER;
  const docs = firstChars(validationTexts(corpus), vocab, o.maxChars ?? MIXTURE_FIT_CHARS);
  if (docs.length === 0) throw new Error(`${corpus.root} has no validation text to fit the mixture on (${corpus.splitNote ?? 'no validation split'}).`);
  let ngram = o.ngram;
  let ngramSeconds = 0;
  if (!ngram) {
    ngram = NGramModel.build(vocab.encode(corpus.trainText), vocab.size, order);
    ngramSeconds = (performance.now() - t0) / 1000;
  }
  if (o.signal?.aborted) throw new Error('Fitting the mixture was cancelled.');
  const network = new InferenceModel(ckpt.header.model, vocab, ckpt.params);
  let fit: GateFit;
  try {
    fit = fitGates(network, ngram, docs, [DEFAULT_GATE], o.signal);
  } finally {
    network.dispose();
  }
  const gate = fit.gates[0];
  let adaptedGate: MixtureGate | null = null;
  if (o.adapted !== false) {
    if (o.signal?.aborted) throw new Error('Fitting the mixture was cancelled.');
    const { evaluator } = await dynamicEvaluatorFor(ckpt, corpus);
    adaptedGate = fitGatesOver([adaptedNetworkComponent(evaluator, 'lstm'), corpusNGramComponent(ngram, 'ngram'), localityComponent(vocab.size, {}, 'cache')], docs, [DEFAULT_GATE], o.signal).gates[0];
  }
  const file = mixtureFileFor(ckpt.path);
  const fittedFor: MixtureFittedFor = {
    checkpoint: path.basename(ckpt.path), step: ckpt.header.step, checksum: ckpt.header.dataChecksum, ngramOrder: order, corpus: corpus.root,
    positions: fit.positions, seconds: (performance.now() - t0) / 1000,
  };
  const write = o.write !== false;
  if (write) await saveMixture(file, gate, fittedFor, adaptedGate);
  return { gate, adaptedGate, file, written: write, fittedFor, ngramSeconds, ngram };
}

/**
 * The checkpoint's network for dynamic evaluation with the measured defaults: its gradient
 * statistics gathered from the corpus's training text, or read back from beside the checkpoint.
 */
export async function dynamicEvaluatorFor(ckpt: LoadedCheckpoint, corpus: Corpus): Promise<{ evaluator: DynamicEvaluator; file: string; reused: boolean; writeError?: string }> {
  const trainIds = ckpt.vocabulary.encode(corpus.trainText);
  const segment = DEFAULT_DYNAMIC_EVALUATION.segment;
  const file = statisticsFileFor(ckpt.path, segment);
  const key = { checkpointChecksum: ckpt.header.dataChecksum, textSource: corpus.root, textChars: trainIds.length, segment, streams: 1, maxChars: DEFAULT_STATISTICS_CHARS };
  const stored = await loadOrGatherStatistics(file, key, ckpt.header.model, ckpt.params, trainIds);
  const evaluator = new DynamicEvaluator({ config: ckpt.header.model, vocab: ckpt.vocabulary, params: ckpt.params }, stored.stats, { segment });
  return { evaluator, file, reused: stored.reused, writeError: stored.writeError };
}
