/**
 * Held-out scores of the completion components, position by position: what the mixture gate is
 * fitted on (the validation split at the end of training) and what `complete-eval` reports as each
 * completer's held-out cross-entropy.
 *
 * Documents are read in a fixed order, each from its start, as files opened one after another: a
 * component sees only the text before the position it predicts, and what it keeps across documents
 * (the cache of documents opened before, an adapted network) comes only from earlier documents.
 * Position i of a document is the prediction of ids[i] from ids[0 … i−1].
 */
import { InferenceModel, InferenceState } from '../inference/inference';
import { DynamicEvaluator } from '../adaptation/dynamicEvaluation';
import { NGramModel } from '../ngram/ngram';
import { CacheNGram } from '../ngram/cacheNGram';
import { ComponentSpec, ComponentSummary, MixtureData, MixtureGate, summarise } from './mixture';

/** One component's scores over one document. */
export interface DocumentScores {
  /** P(ids[i] | ids[<i]) per position. */
  targetProbs: Float32Array;
  /** The summary of its distribution per position. */
  summaries: ComponentSummary[];
}

export interface ScoredComponent {
  readonly spec: ComponentSpec;
  readonly kind: 'network' | 'ngram';
  /** Score the next document in order (documents must be given in the same order every time). */
  scoreDocument(ids: Int32Array): DocumentScores;
  /** Forget what was carried across documents. */
  reset(): void;
}

/** Rows of network logits computed at once. */
const LOGIT_ROWS = 2048;

/** The network, each document read from the zero state, weights unchanged. */
export function staticNetworkComponent(model: InferenceModel, name = 'lstm'): ScoredComponent {
  const V = model.config.vocabSize;
  const H = model.config.hidden;
  return {
    spec: { name, extras: 0 },
    kind: 'network',
    reset() {},
    scoreDocument(ids) {
      const N = ids.length;
      const targetProbs = new Float32Array(N);
      const summaries: ComponentSummary[] = new Array(N);
      if (N === 0) return { targetProbs, summaries };
      const p = new Float64Array(V);
      const score = (i: number, logits: Float32Array, row: number) => {
        softmaxRow(logits, row * V, V, p);
        targetProbs[i] = p[ids[i]];
        summaries[i] = summarise(p);
      };
      score(0, model.logits(model.zeroState()), 0);
      // Read in chunks of LOGIT_ROWS inputs, the state carried, so the records stay small on long files.
      let state = model.zeroState();
      for (let start = 1; start < N; start += LOGIT_ROWS) {
        const rows = Math.min(LOGIT_ROWS, N - start);
        // Position i is predicted from h after ids[i−1]: inputs ids[start−1 …], one row per position.
        const run = model.run(ids.subarray(start - 1, start - 1 + rows), state, { record: true });
        const logits = model.logitsForRows(run.layers![run.layers!.length - 1].hs.subarray(0, rows * H), rows);
        for (let r = 0; r < rows; r++) score(start + r, logits, r);
        state = run.state;
      }
      return { targetProbs, summaries };
    },
  };
}

/** The corpus n-gram; each document starts with an empty context. */
export function corpusNGramComponent(model: NGramModel, name = 'ngram'): ScoredComponent {
  const keep = model.order - 1;
  return {
    spec: { name, extras: 0 },
    kind: 'ngram',
    reset() {},
    scoreDocument(ids) {
      const N = ids.length;
      const targetProbs = new Float32Array(N);
      const summaries: ComponentSummary[] = new Array(N);
      for (let i = 0; i < N; i++) {
        const p = model.probabilities(ids.subarray(Math.max(0, i - keep), i));
        targetProbs[i] = p[ids[i]];
        summaries[i] = summarise(p);
      }
      return { targetProbs, summaries };
    },
  };
}

export interface LocalityOptions {
  /** Order of both caches (default 10). */
  order?: number;
  /** Symbols the documents' cache keeps (default 2^19). */
  documentsCapacity?: number;
  /** Symbols the file's cache keeps (default 2^18). */
  fileCapacity?: number;
}

/**
 * The locality caches, nested as in SLP-Core (Hellendoorn & Devanbu 2017): the cache of the open
 * file backs off to the cache of the documents opened before it, which backs off to uniform. The
 * corpus n-gram stays a component of its own: nesting the caches over it was measured worse (see
 * the README, "Completions, measured").
 */
export class LocalityCaches {
  readonly file: CacheNGram;
  readonly documents: CacheNGram;
  private readonly inner: Float64Array;

  /** `documents`: a documents' cache to share with other files' caches (default: a new one). */
  constructor(vocabSize: number, o: LocalityOptions = {}, documents?: CacheNGram) {
    const order = o.order ?? 10;
    this.file = new CacheNGram(order, vocabSize, o.fileCapacity ?? 1 << 18);
    this.documents = documents ?? new CacheNGram(order, vocabSize, o.documentsCapacity ?? 1 << 19);
    if (this.documents.order !== order || this.documents.vocabSize !== vocabSize) throw new RangeError('the shared documents cache has another order or vocabulary');
    this.inner = new Float64Array(vocabSize);
  }

  /** The next-symbol distribution after `context` (the file's text before the cursor, at least its last order − 1 symbols). */
  into(out: Float64Array, context: ArrayLike<number>): ComponentSummary {
    const docs = this.documents.into(this.inner, undefined, context);
    const file = this.file.into(out, this.inner, context);
    return summarise(out, localityExtras(file.longestMatch, file.matchCount, docs.longestMatch, docs.matchCount, this.file.order));
  }
}

/** Extra features of the locality component: the longest context each cache has seen followed (over its order) and that context's count. */
export const LOCALITY_EXTRAS = 4;

function localityExtras(fileMatch: number, fileCount: number, docsMatch: number, docsCount: number, order: number): number[] {
  return [(fileMatch + 1) / order, Math.log1p(fileCount) / 8, (docsMatch + 1) / order, Math.log1p(docsCount) / 8];
}

/** The locality caches as a scored component: the file cache starts empty per document; the documents' cache keeps every earlier one. */
export function localityComponent(vocabSize: number, o: LocalityOptions = {}, name = 'cache'): ScoredComponent {
  let caches = new LocalityCaches(vocabSize, o);
  const keep = (o.order ?? 10) - 1;
  return {
    spec: { name, extras: LOCALITY_EXTRAS },
    kind: 'ngram',
    reset() {
      caches = new LocalityCaches(vocabSize, o);
    },
    scoreDocument(ids) {
      const N = ids.length;
      const targetProbs = new Float32Array(N);
      const summaries: ComponentSummary[] = new Array(N);
      const p = new Float64Array(vocabSize);
      caches.file.reset();
      for (let i = 0; i < N; i++) {
        summaries[i] = caches.into(p, ids.subarray(Math.max(0, i - keep), i));
        targetProbs[i] = p[ids[i]];
        caches.file.observe(ids[i]);
      }
      caches.documents.observeAll(ids);
      return { targetProbs, summaries };
    },
  };
}

/** Scores of every component over the documents, in order, as the gate's fitting data. */
export function mixtureData(components: readonly ScoredComponent[], documents: readonly Int32Array[], gate: MixtureGate): MixtureData {
  const M = components.length;
  const F = gate.featureCount;
  const N = documents.reduce((n, d) => n + d.length, 0);
  const targetProbs = new Float32Array(N * M);
  const features = new Float32Array(N * F);
  const f = new Float64Array(F);
  let base = 0;
  for (const c of components) c.reset();
  for (const ids of documents) {
    const scores = components.map((c) => c.scoreDocument(ids));
    for (let i = 0; i < ids.length; i++) {
      for (let m = 0; m < M; m++) targetProbs[(base + i) * M + m] = scores[m].targetProbs[i];
      gate.features(scores.map((s) => s.summaries[i]), f);
      features.set(f, (base + i) * F);
    }
    base += ids.length;
  }
  return { positions: N, targetProbs, features };
}

function softmaxRow(logits: Float32Array, offset: number, V: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += out[i] = Math.exp(logits[offset + i] - max);
  for (let i = 0; i < V; i++) out[i] /= sum;
}

/**
 * The network adapted by dynamic evaluation as it reads (src/engine/adaptation): one stream over the
 * documents in order, each segment scored by the weights as they were before it, then learnt from.
 * Segments are the evaluator's own (the scores here use an InferenceModel over the same weights and
 * the same carried state, so they are the evaluator's up to float rounding).
 */
export function adaptedNetworkComponent(evaluator: DynamicEvaluator, name = 'lstm-adapted'): ScoredComponent {
  const { config, vocab } = evaluator.network;
  const V = config.vocabSize;
  const H = config.hidden;
  const T0 = evaluator.options.segment;
  let state: InferenceState | null = null;
  let last: number | null = null;
  return {
    spec: { name, extras: 0 },
    kind: 'network',
    reset() {
      evaluator.reset();
      state = null;
      last = null;
    },
    scoreDocument(ids) {
      const N = ids.length;
      const targetProbs = new Float32Array(N);
      const summaries: ComponentSummary[] = new Array(N);
      const p = new Float64Array(V);
      let i = 0;
      while (i < N) {
        const model = new InferenceModel(config, vocab, evaluator.adaptedWeights());
        state ??= model.zeroState();
        if (last === null) {
          // The very first symbol: predicted from the zero state; the evaluator reads it as an input only.
          softmaxRow(model.logits(state), 0, V, p);
          targetProbs[0] = p[ids[0]];
          summaries[0] = summarise(p);
          const T = Math.min(T0, N - 1);
          scoreSegment(model, ids, 1, T);
          evaluator.readIds(ids.subarray(0, 1 + T));
          i = 1 + T;
        } else {
          const T = Math.min(T0, N - i);
          scoreSegment(model, ids, i, T);
          evaluator.readIds(ids.subarray(i, i + T));
          i += T;
        }
      }
      return { targetProbs, summaries };

      /** Positions from … from+T−1, each predicted after the symbol before it (the carried `last` first). */
      function scoreSegment(model: InferenceModel, ids: Int32Array, from: number, T: number): void {
        if (T <= 0) {
          last = ids[from - 1];
          return;
        }
        const inputs = new Int32Array(T);
        inputs[0] = last ?? ids[from - 1];
        inputs.set(ids.subarray(from, from + T - 1), 1);
        if (last === null) inputs[0] = ids[0];
        const run = model.run(inputs, state!, { record: true });
        const hs = run.layers![run.layers!.length - 1].hs;
        const logits = model.logitsForRows(hs.subarray(0, T * H), T);
        for (let r = 0; r < T; r++) {
          softmaxRow(logits, r * V, V, p);
          targetProbs[from + r] = p[ids[from + r]];
          summaries[from + r] = summarise(p);
        }
        state = run.state;
        last = ids[from + T - 1];
      }
    },
  };
}
