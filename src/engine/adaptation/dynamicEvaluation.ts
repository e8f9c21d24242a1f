/**
 * Dynamic evaluation (Krause, Kahembwe, Murray & Renals, "Dynamic Evaluation of Neural Sequence
 * Models", ICML 2018): the network's weights adapt to the text as it is read.
 *
 * The text is cut into segments s_1, s_2, … of n characters, read one stream at a time (batch 1) with
 * the hidden state carried across segments. Each segment is first scored with the current weights θ
 * (predict, then adapt: its loss counts before the update it causes), then
 *
 *   θ ← θ − η ∇L(s_k) / (√MS + ε) + λ_i ⊙ (θ_trained − θ)
 *   λ_i = min(1, λ · RMS_i / mean(RMS))          RMS_i = √MS_i
 *
 * with MS_i the mean squared gradient of parameter i over segments of the training text
 * (gradientStatistics.ts), ∇L(s_k) the gradient of the segment's mean loss (nats per character), η
 * the step size, ε a floor on the normaliser, and λ the decay back toward the trained weights scaled
 * per parameter by its RMS: parameters whose gradients are large on training data (those the training
 * text itself moves) are pulled back harder. The clip keeps λ_i ≤ 1 so the decay never overshoots
 * θ_trained (the reference code clips RMS_i / mean(RMS) at 1/λ). A last segment shorter than n is
 * scored and adapted on like the others.
 *
 * One DynamicEvaluator is the adaptation state of one document stream: one adapted copy of the weights
 * and the carried hidden state. The trained weights and the statistics are shared, never written.
 * Everything is deterministic: the same text read from the same state gives the same figures and the
 * same weights, bit for bit.
 */
import { ModelConfig } from '../nn/config';
import { Vocabulary } from '../data/vocabulary';
import { InferenceModel } from '../inference/inference';
import { GradientStatistics } from './gradientStatistics';
import { runSegment, StreamState, zeroStreamState } from './segmentGradient';

export interface DynamicEvaluationOptions {
  /** n: characters per segment (one update per segment). */
  segment: number;
  /** η: step size of the RMS-normalised gradient step. */
  learningRate: number;
  /** λ: decay toward the trained weights per update (scaled per parameter by RMS_i / mean(RMS)). */
  decay: number;
  /** ε: added to √MS before dividing. */
  epsilon: number;
}

/**
 * Defaults measured on config A (2×128 LSTM, one-hot input, 9,300 steps on Linux mm), read on the
 * first 80,000 characters of Linux fs/ext4 (files in path order), gradient statistics from 100,000
 * training characters; nats/char, the same batch-1 stream unadapted 1.849:
 *   n 50, ε 1e-4:  η 1e-3 → 1.099 (λ 0), 1.241 (λ 1e-2);  η 2e-3 → 1.059 (λ 0), 1.048 (λ 1e-3),
 *                  1.136 (λ 1e-2);  η 3e-3, λ 1e-3 → 1.045;  η 4e-3, λ 1e-3 → 1.065
 *   n 50, ε 3e-4, λ 1e-3:  η 2e-3 → 1.055, η 4e-3 → 1.052
 *   n 20, ε 1e-4, λ 1e-3:  η 1e-3 → 1.073, η 2e-3 → 1.035, η 4e-3 → 1.110
 *   n 100, ε 1e-4, λ 1e-3: η 2e-3 → 1.094, η 4e-3 → 1.076
 * ε matters most: on an earlier checkpoint (n 50, η 2e-3, λ 1e-3) ε 1e-6 diverged (7.2 nats/char),
 * 1e-5 gave 1.173, 1e-4 1.097: parameters the statistics barely saw (rows of rare characters) have
 * RMS near 0, and ε bounds their step. n 20 is 0.01 better than n 50 but costs twice the time
 * (one forward and backward per segment), so n 50.
 */
export const DEFAULT_DYNAMIC_EVALUATION: Readonly<DynamicEvaluationOptions> = Object.freeze({
  segment: 50,
  learningRate: 3e-3,
  decay: 1e-3,
  epsilon: 1e-4,
});

export function dynamicEvaluationOptions(o: Partial<DynamicEvaluationOptions> = {}): DynamicEvaluationOptions {
  const r: DynamicEvaluationOptions = { ...DEFAULT_DYNAMIC_EVALUATION };
  for (const k of Object.keys(r) as (keyof DynamicEvaluationOptions)[]) if (o[k] !== undefined) r[k] = o[k]!;
  if (!Number.isInteger(r.segment) || r.segment < 1) throw new RangeError(`The segment length must be a whole number ≥ 1; got ${r.segment}.`);
  if (!(r.learningRate >= 0)) throw new RangeError(`The step size must be ≥ 0; got ${r.learningRate}.`);
  if (!(r.decay >= 0)) throw new RangeError(`The decay must be ≥ 0; got ${r.decay}.`);
  if (!(r.epsilon >= 0)) throw new RangeError(`ε must be ≥ 0; got ${r.epsilon}.`);
  return r;
}

/**
 * The update rule on one flat parameter array, in place (the file docstring's equations):
 * theta ← theta − η·grad/(rms + ε) + min(1, λ·rms/meanRms)·(trained − theta).
 */
export function adaptInPlace(
  theta: Float32Array,
  grad: Float32Array,
  trained: Float32Array,
  rms: Float32Array,
  meanRms: number,
  opts: Pick<DynamicEvaluationOptions, 'learningRate' | 'decay' | 'epsilon'>,
): void {
  const { learningRate: eta, decay, epsilon } = opts;
  const decayPerRms = meanRms > 0 ? decay / meanRms : 0;
  for (let i = 0; i < theta.length; i++) {
    const lambda = Math.min(1, decayPerRms * rms[i]);
    const th = theta[i];
    const step = grad[i] === 0 ? 0 : (eta * grad[i]) / (rms[i] + epsilon); // (no 0/0 when RMS_i = ε = 0)
    theta[i] = th - step + lambda * (trained[i] - th);
  }
}

/** The network a DynamicEvaluator adapts: its configuration, vocabulary and trained weights. */
export interface TrainedNetwork {
  config: ModelConfig;
  vocab: Vocabulary;
  /** Never written: every evaluator adapts its own copy. */
  params: Map<string, Float32Array>;
}

/** Score of one segment, taken before the update it caused. */
export interface SegmentScore {
  chars: number;
  nats: number;
}

export interface ReadResult {
  /** Total −ln P of the characters predicted. */
  nats: number;
  /** Characters predicted. */
  chars: number;
  segments: SegmentScore[];
}

export interface ReadOptions {
  /** false: score only, the weights stay as they are (default true). */
  adapt?: boolean;
  signal?: AbortSignal;
}

export class DynamicEvaluator {
  readonly network: TrainedNetwork;
  readonly stats: GradientStatistics;
  readonly options: DynamicEvaluationOptions;
  private weights: Map<string, Float32Array>;
  private state: StreamState;
  /** The last symbol read: the input that predicts the next text's first symbol (null at the start). */
  private last: number | null = null;
  private updateCount = 0;

  constructor(network: TrainedNetwork, stats: GradientStatistics, options: Partial<DynamicEvaluationOptions> = {}) {
    this.network = network;
    this.stats = stats;
    this.options = dynamicEvaluationOptions(options);
    for (const [name, v] of network.params) {
      const r = stats.rms.get(name);
      if (!r || r.length !== v.length) throw new Error(`The gradient statistics do not match the network: ${name} has ${r?.length ?? 0} values instead of ${v.length}.`);
    }
    this.weights = copyWeights(network.params);
    this.state = zeroStreamState(network.config, 1);
  }

  /** Updates applied since the trained weights (or the last reset). */
  get updates(): number {
    return this.updateCount;
  }

  /** Back to the trained weights and the zero state, as if nothing had been read. */
  reset(): void {
    for (const [name, v] of this.network.params) this.weights.get(name)!.set(v);
    this.state = zeroStreamState(this.network.config, 1);
    this.last = null;
    this.updateCount = 0;
  }

  /**
   * Read `text` after what was read before: each character is scored, then the weights adapt after
   * each segment. The first character ever read is only an input (nothing predicts it), as in
   * evaluateIds.
   */
  read(text: string, opts: ReadOptions = {}): ReadResult {
    return this.readIds(this.network.vocab.encode(text), opts);
  }

  readIds(ids: Int32Array, opts: ReadOptions = {}): ReadResult {
    const seq = this.last === null ? ids : prepend(this.last, ids);
    const n = seq.length - 1; // predicted positions
    const T0 = this.options.segment;
    const segments: SegmentScore[] = [];
    let nats = 0;
    for (let start = 0; start < n; start += T0) {
      if (opts.signal?.aborted) throw new Error('Dynamic evaluation was cancelled.');
      const T = Math.min(T0, n - start);
      const inputs = seq.slice(start, start + T);
      const targets = seq.slice(start + 1, start + 1 + T);
      nats += this.step(inputs, targets, T, opts.adapt !== false, segments);
    }
    if (seq.length > 0) this.last = seq[seq.length - 1];
    return { nats, chars: Math.max(0, n), segments };
  }

  /** A copy of the adapted weights (for an InferenceModel, or to compare). */
  adaptedWeights(): Map<string, Float32Array> {
    return copyWeights(this.weights);
  }

  /**
   * An InferenceModel over a copy of the adapted weights as they are now (it does not follow later
   * adaptation; make another). For next-character distributions after a context.
   */
  inferenceModel(): InferenceModel {
    return new InferenceModel(this.network.config, this.network.vocab, this.adaptedWeights());
  }

  /**
   * An InferenceModel over the adapted weights themselves, not a copy: valid until the next read
   * adapts them (dispose it then and make another: it caches TF.js tensors of the weights). For a
   * reader that follows the adaptation segment by segment without copying the weights each time.
   */
  liveModel(): InferenceModel {
    return new InferenceModel(this.network.config, this.network.vocab, this.weights);
  }

  /** Next-character probabilities after `context` read from the zero state by the adapted weights. */
  nextDistribution(context: string, temperature = 1): Float32Array {
    const model = this.inferenceModel();
    try {
      return model.probabilities(model.run(this.network.vocab.encode(context), model.zeroState()).state, temperature);
    } finally {
      model.dispose();
    }
  }

  private step(inputs: Int32Array, targets: Int32Array, T: number, adapt: boolean, segments: SegmentScore[]): number {
    const r = runSegment(this.network.config, this.weights, inputs, targets, T, 1, this.state, adapt);
    const nats = r.loss * T;
    segments.push({ chars: T, nats });
    this.state = r.state;
    if (!r.grads) return nats;
    for (const [name, theta] of this.weights) {
      adaptInPlace(theta, r.grads.get(name)!, this.network.params.get(name)!, this.stats.rms.get(name)!, this.stats.meanRms, this.options);
    }
    this.updateCount++;
    return nats;
  }
}

function copyWeights(w: Map<string, Float32Array>): Map<string, Float32Array> {
  return new Map(Array.from(w, ([name, v]) => [name, v.slice()]));
}

function prepend(first: number, ids: Int32Array): Int32Array {
  const out = new Int32Array(ids.length + 1);
  out[0] = first;
  out.set(ids, 1);
  return out;
}
