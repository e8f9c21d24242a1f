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
  /** Passes over the data at most (each is one evaluation of the loss and its gradient; default 200). */
  iterations?: number;
  /** L2 penalty on the weights (keeps the gate smooth where the data are thin). */
  l2?: number;
}

/** Floor on a component's probability of the symbol that came, so one confident miss stays finite. */
const PROB_FLOOR = 1e-9;
/** L-BFGS: correction pairs kept, and the change of the objective below which the fit has converged. */
const LBFGS_MEMORY = 10;
const LBFGS_TOLERANCE = 1e-8;

/**
 * Fit the gate's weights on held-out data; returns the mixture's nats/char there.
 *
 * Full-batch L-BFGS (two-loop recursion, backtracking line search on the Armijo condition) on the mean
 * negative log-likelihood plus l2/2·|W|². The weights are few (M × F, ~40) and every pass over the
 * data costs the same, so the fit is counted in passes: on 100,000 positions of kernel C, L-BFGS
 * reaches in ~40 passes what full-batch Adam (lr 0.05, used before) did not reach in 600.
 */
export function fitGate(gate: MixtureGate, data: MixtureData, o: FitOptions = {}): number {
  const M = gate.components.length;
  const F = gate.featureCount;
  const N = data.positions;
  if (N < 1) throw new RangeError('no positions to fit the mixture on');
  if (data.targetProbs.length !== N * M || data.features.length !== N * F) throw new RangeError('mixture data do not match the gate');
  const maxPasses = o.iterations ?? 200;
  const l2 = o.l2 ?? 1e-4;
  const W = gate.weights;
  const P = W.length;
  const pi = new Float64Array(M);
  const f = data.features;
  // The mean NLL at W (returned) and, into grad, the gradient of NLL + l2/2·|W|²; the penalised objective in `.objective`.
  const evaluate = (w: Float64Array, grad: Float64Array): { nll: number; objective: number } => {
    grad.fill(0);
    let nll = 0;
    const saved = gate.weights === w ? null : Float64Array.from(gate.weights);
    if (saved) gate.weights.set(w);
    for (let n = 0; n < N; n++) {
      const at = n * F; // (no subarray per position: this loop runs passes × N times)
      gate.mixWeights(f, pi, at);
      let mixed = 0;
      for (let m = 0; m < M; m++) mixed += pi[m] * Math.max(PROB_FLOOR, data.targetProbs[n * M + m]);
      nll -= Math.log(mixed);
      for (let m = 0; m < M; m++) {
        const r = (pi[m] * Math.max(PROB_FLOOR, data.targetProbs[n * M + m])) / mixed;
        const d = (pi[m] - r) / N;
        for (let j = 0; j < F; j++) grad[m * F + j] += d * f[at + j];
      }
    }
    if (saved) gate.weights.set(saved);
    nll /= N;
    let penalty = 0;
    for (let i = 0; i < P; i++) {
      grad[i] += l2 * w[i];
      penalty += 0.5 * l2 * w[i] * w[i];
    }
    return { nll, objective: nll + penalty };
  };
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < P; i++) s += a[i] * b[i];
    return s;
  };

  // Start from the best single component (weight 4 on its bias), so the fit only improves on it.
  const alone = componentLosses(data, M);
  const best = alone.indexOf(Math.min(...alone));
  W.fill(0);
  W[best * F] = 4;
  let g = new Float64Array(P);
  let current = evaluate(W, g);
  let passes = 1;
  const sList: Float64Array[] = [], yList: Float64Array[] = [], rhoList: number[] = [];
  const dir = new Float64Array(P), alpha = new Float64Array(LBFGS_MEMORY);
  const trial = new Float64Array(P);
  let gTrial = new Float64Array(P);
  while (passes < maxPasses) {
    // dir = −H·g by the two-loop recursion (H₀ = γI, γ = sᵀy / yᵀy of the newest pair).
    dir.set(g);
    for (let k = sList.length - 1; k >= 0; k--) {
      alpha[k] = rhoList[k] * dot(sList[k], dir);
      for (let i = 0; i < P; i++) dir[i] -= alpha[k] * yList[k][i];
    }
    const newest = sList.length - 1;
    const gamma = newest >= 0 ? dot(sList[newest], yList[newest]) / dot(yList[newest], yList[newest]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < P; i++) dir[i] *= gamma;
    for (let k = 0; k < sList.length; k++) {
      const b = rhoList[k] * dot(yList[k], dir);
      for (let i = 0; i < P; i++) dir[i] += sList[k][i] * (alpha[k] - b);
    }
    for (let i = 0; i < P; i++) dir[i] = -dir[i];
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (curvature information gone stale): restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < P; i++) dir[i] = -g[i] / Math.max(1, Math.sqrt(dot(g, g)));
      slope = dot(g, dir);
      if (!(slope < 0)) break; // the gradient is 0
    }
    let step = 1;
    let next: { nll: number; objective: number } | null = null;
    while (passes < maxPasses) {
      for (let i = 0; i < P; i++) trial[i] = W[i] + step * dir[i];
      const r = evaluate(trial, gTrial);
      passes++;
      if (Number.isFinite(r.objective) && r.objective <= current.objective + 1e-4 * step * slope) {
        next = r;
        break;
      }
      step *= 0.5;
      if (step < 1e-10) break;
    }
    if (!next) break;
    const sVec = new Float64Array(P), yVec = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      sVec[i] = trial[i] - W[i];
      yVec[i] = gTrial[i] - g[i];
    }
    const sy = dot(sVec, yVec);
    if (sy > 1e-12) {
      if (sList.length === LBFGS_MEMORY) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(sVec);
      yList.push(yVec);
      rhoList.push(1 / sy);
    }
    W.set(trial);
    [g, gTrial] = [gTrial, g];
    const change = current.objective - next.objective;
    current = next;
    if (change < LBFGS_TOLERANCE * Math.max(1, Math.abs(current.objective))) break;
  }
  gate.fit = { positions: N, natsPerChar: current.nll, components: Object.fromEntries(gate.components.map((c, m) => [c.name, alone[m]])) };
  return current.nll;
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
