/**
 * A learned mixture of next-character distributions: the network (static or adapted), the corpus
 * n-gram and the locality caches each propose a distribution, and a small gate weighs them per
 * character from how sure each one is.
 *
 *   P(w | context) = Σ_m π_m · P_m(w | context),      π = softmax(W · f)          (M components)
 *
 * f is the feature vector of this position (F entries): a constant 1, and per component the
 * probability of its most likely symbol and its entropy over ln V; then the extra features the
 * components report (for a cache: the longest context it has seen followed, over its order, and
 * how often that context was seen, as ln(1 + count) / 8). W is M × F. This is the "mixture of
 * experts with a gate on confidences" of Hellendoorn & Devanbu (FSE 2017, the dynamic mixture of
 * n-gram and cache) and of Karampatsis et al. (ICSE 2020), small enough to fit in seconds.
 *
 * Fitting minimises −Σ_n ln Σ_m π_m(f_n) P_m(y_n) over held-out positions (the validation split) by
 * full-batch Adam; the gradient for the gate logits is π_m − r_m with r_m = π_m P_m(y) / Σ_k π_k P_k(y),
 * the responsibility of component m for the symbol that came. A gate that puts weight 1 on one
 * component is that component, so the fit can only match or beat the best single one on the data it
 * was fitted on.
 */

export const MIXTURE_FORMAT = 'lstm-lab/mixture';
export const MIXTURE_VERSION = 1;
/** The file beside a run's checkpoints that holds its fitted gate. */
export const MIXTURE_FILE = 'mixture.json';

/** What one component says about one position, besides its distribution. */
export interface ComponentSummary {
  /** Probability of its most likely symbol. */
  top: number;
  /** Entropy of its distribution over ln V (0 … 1). */
  entropy: number;
  /** Component-specific features (for a cache: match length and count), in a fixed order per component. */
  extra: readonly number[];
}

/** Summary of a normalised distribution. */
export function summarise(p: ArrayLike<number>, extra: readonly number[] = []): ComponentSummary {
  let top = 0;
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (v > top) top = v;
    if (v > 0) h -= v * Math.log(v);
  }
  return { top, entropy: p.length > 1 ? h / Math.log(p.length) : 0, extra };
}

/** How a component is described in a gate: its name and how many extra features it reports. */
export interface ComponentSpec {
  name: string;
  extras: number;
}

export interface MixtureGateJSON {
  format: typeof MIXTURE_FORMAT;
  version: number;
  components: ComponentSpec[];
  /** M × F, row-major. */
  weights: number[];
  /** Held-out figures of the fit (nats/char of the mixture and of each component alone). */
  fit?: { positions: number; natsPerChar: number; components: Record<string, number> };
}

export class MixtureGate {
  readonly components: readonly ComponentSpec[];
  /** Features per position. */
  readonly featureCount: number;
  /** M × F. */
  readonly weights: Float64Array;
  fit: MixtureGateJSON['fit'];

  constructor(components: readonly ComponentSpec[], weights?: ArrayLike<number>) {
    if (components.length < 1) throw new RangeError('a mixture needs at least one component');
    this.components = components.map((c) => ({ name: c.name, extras: c.extras }));
    this.featureCount = 1 + components.reduce((n, c) => n + 2 + c.extras, 0);
    const size = components.length * this.featureCount;
    if (weights && weights.length !== size) throw new RangeError(`the gate has ${weights.length} weights, ${size} expected for these components`);
    this.weights = weights ? Float64Array.from(weights) : new Float64Array(size);
  }

  /** The feature vector of one position from its components' summaries (in component order). */
  features(summaries: readonly ComponentSummary[], out = new Float64Array(this.featureCount)): Float64Array {
    if (summaries.length !== this.components.length) throw new RangeError(`${summaries.length} summaries for ${this.components.length} components`);
    let f = 0;
    out[f++] = 1;
    summaries.forEach((s, m) => {
      if (s.extra.length !== this.components[m].extras) throw new RangeError(`component ${this.components[m].name} reported ${s.extra.length} extra features, ${this.components[m].extras} expected`);
      out[f++] = s.top;
      out[f++] = s.entropy;
      for (const x of s.extra) out[f++] = x;
    });
    return out;
  }

  /** π for one feature vector (the F entries of `f` from `at`), written into `out` (length M). */
  mixWeights(f: ArrayLike<number>, out = new Float64Array(this.components.length), at = 0): Float64Array {
    const F = this.featureCount;
    let max = -Infinity;
    for (let m = 0; m < out.length; m++) {
      let z = 0;
      for (let j = 0; j < F; j++) z += this.weights[m * F + j] * f[at + j];
      out[m] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let m = 0; m < out.length; m++) sum += out[m] = Math.exp(out[m] - max);
    for (let m = 0; m < out.length; m++) out[m] /= sum;
    return out;
  }

  /** The mixed distribution of one position: Σ π_m P_m, written into `out`. */
  mix(dists: readonly ArrayLike<number>[], summaries: readonly ComponentSummary[], out: Float64Array): Float64Array {
    const pi = this.mixWeights(this.features(summaries));
    out.fill(0);
    dists.forEach((p, m) => {
      const w = pi[m];
      for (let i = 0; i < out.length; i++) out[i] += w * p[i];
    });
    return out;
  }

  toJSON(): MixtureGateJSON {
    return { format: MIXTURE_FORMAT, version: MIXTURE_VERSION, components: this.components.map((c) => ({ ...c })), weights: Array.from(this.weights), fit: this.fit };
  }

  static fromJSON(json: unknown): MixtureGate {
    const j = json as Partial<MixtureGateJSON> | null;
    if (!j || typeof j !== 'object' || j.format !== MIXTURE_FORMAT) throw new Error(`not a mixture gate (format ${String(j?.format)}, expected ${MIXTURE_FORMAT})`);
    if (j.version !== MIXTURE_VERSION) throw new Error(`mixture gate version ${String(j.version)} is not supported (expected ${MIXTURE_VERSION}): fit it again with \`lstm-lab mixture\``);
    if (!Array.isArray(j.components) || !j.components.every((c) => c && typeof c.name === 'string' && Number.isInteger(c.extras) && c.extras >= 0)) throw new Error('mixture gate: malformed components');
    if (!Array.isArray(j.weights) || !j.weights.every((w) => typeof w === 'number' && Number.isFinite(w))) throw new Error('mixture gate: malformed weights');
    const g = new MixtureGate(j.components, j.weights);
    g.fit = j.fit;
    return g;
  }
}

/** Held-out positions for fitting: per position, each component's probability of the symbol that came, and the features. */
export interface MixtureData {
  positions: number;
  /** positions × M. */
  targetProbs: Float32Array;
  /** positions × F. */
  features: Float32Array;
}

export interface FitOptions {
  iterations?: number;
  learningRate?: number;
  /** L2 penalty on the weights (keeps the gate smooth where the data are thin). */
  l2?: number;
}

/** Floor on a component's probability of the symbol that came, so one confident miss stays finite. */
const PROB_FLOOR = 1e-9;

/** Fit the gate's weights on held-out data (full-batch Adam); returns the mixture's nats/char there. */
export function fitGate(gate: MixtureGate, data: MixtureData, o: FitOptions = {}): number {
  const M = gate.components.length;
  const F = gate.featureCount;
  const N = data.positions;
  if (N < 1) throw new RangeError('no positions to fit the mixture on');
  if (data.targetProbs.length !== N * M || data.features.length !== N * F) throw new RangeError('mixture data do not match the gate');
  const iterations = o.iterations ?? 300;
  const lr = o.learningRate ?? 0.05;
  const l2 = o.l2 ?? 1e-4;
  const W = gate.weights;
  // Start from the best single component (weight 1 on it), so the fit only improves on it.
  const alone = componentLosses(data, M);
  const best = alone.indexOf(Math.min(...alone));
  W.fill(0);
  W[best * F] = 4;
  const m1 = new Float64Array(W.length);
  const m2 = new Float64Array(W.length);
  const grad = new Float64Array(W.length);
  const pi = new Float64Array(M);
  let loss = 0;
  for (let it = 1; it <= iterations + 1; it++) {
    grad.fill(0);
    loss = 0;
    const f = data.features;
    for (let n = 0; n < N; n++) {
      const at = n * F; // (no subarray per position: this loop runs iterations × N times)
      gate.mixWeights(f, pi, at);
      let mixed = 0;
      for (let m = 0; m < M; m++) mixed += pi[m] * Math.max(PROB_FLOOR, data.targetProbs[n * M + m]);
      loss -= Math.log(mixed);
      if (it > iterations) continue;
      for (let m = 0; m < M; m++) {
        const r = (pi[m] * Math.max(PROB_FLOOR, data.targetProbs[n * M + m])) / mixed;
        const d = (pi[m] - r) / N;
        for (let j = 0; j < F; j++) grad[m * F + j] += d * f[at + j];
      }
    }
    loss /= N;
    if (it > iterations) break;
    for (let i = 0; i < W.length; i++) {
      const g = grad[i] + l2 * W[i];
      m1[i] = 0.9 * m1[i] + 0.1 * g;
      m2[i] = 0.999 * m2[i] + 0.001 * g * g;
      const mh = m1[i] / (1 - 0.9 ** it);
      const vh = m2[i] / (1 - 0.999 ** it);
      W[i] -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  gate.fit = { positions: N, natsPerChar: loss, components: Object.fromEntries(gate.components.map((c, m) => [c.name, alone[m]])) };
  return loss;
}

/** Nats/char of each component alone on the data. */
export function componentLosses(data: MixtureData, M: number): number[] {
  const out = new Array<number>(M).fill(0);
  for (let n = 0; n < data.positions; n++) for (let m = 0; m < M; m++) out[m] -= Math.log(Math.max(PROB_FLOOR, data.targetProbs[n * M + m]));
  return out.map((s) => s / data.positions);
}

/** Nats/char of the gate's mixture on the data (no fitting). */
export function mixtureLoss(gate: MixtureGate, data: MixtureData): number {
  const M = gate.components.length;
  const F = gate.featureCount;
  const pi = new Float64Array(M);
  let loss = 0;
  for (let n = 0; n < data.positions; n++) {
    gate.mixWeights(data.features, pi, n * F);
    let mixed = 0;
    for (let m = 0; m < M; m++) mixed += pi[m] * Math.max(PROB_FLOOR, data.targetProbs[n * M + m]);
    loss -= Math.log(mixed);
  }
  return loss / data.positions;
}
