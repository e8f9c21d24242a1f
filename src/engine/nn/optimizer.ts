/**
 * Optimisers for the hand-written gradients: Adam (default) and RMSProp (char-rnn's), gradient clipping
 * by global L2 norm, and the learning-rate schedule. State is explicit so checkpoints can carry it and a
 * resumed run continues exactly where it stopped.
 */
import { tf } from '../runtime/backend';
import { OptimizerKind, TrainConfig } from './config';
import type { Params } from './model';
import { phase } from '../runtime/stepProfile';
import { nativeAddon } from '../runtime/native';

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;
const RMSPROP_DECAY = 0.95;
const RMSPROP_EPS = 1e-8;

/** Optimiser state as plain arrays: `slots[name]` = [m, v] for Adam, [meanSquare] for RMSProp. */
export interface OptimizerSnapshot {
  kind: OptimizerKind;
  /** Updates applied so far (Adam's bias correction needs it). */
  t: number;
  slots: Map<string, Float32Array[]>;
}

/**
 * The loops of the update rules over flat arrays, given the per-step constants updateInPlace computes:
 * in JS (below), or the native addon's kernels of the same loops (native/optimiser_kernels.h, in
 * double precision as these are).
 */
export interface OptimiserLoops {
  /** g' = g·scale; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²; p −= m·stepSize / (√v + eps). */
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, scale: number, beta1: number, beta2: number, stepSize: number, eps: number): void;
  /** g' = g·scale; ms = ρ·ms + (1−ρ)·g'²; p −= g'·lr / (√ms + eps). */
  rmsprop(p: Float32Array, g: Float32Array, ms: Float32Array, scale: number, decay: number, lr: number, eps: number): void;
}

export const jsOptimiserLoops: OptimiserLoops = {
  adam(p, g, m, v, scale, beta1, beta2, stepSize, eps) {
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = g[i] * scale;
      const mi = (m[i] = m[i] * beta1 + gi * (1 - beta1));
      const vi = (v[i] = v[i] * beta2 + gi * gi * (1 - beta2));
      p[i] -= (mi * stepSize) / (Math.sqrt(vi) + eps);
    }
  },
  rmsprop(p, g, ms, scale, decay, lr, eps) {
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = g[i] * scale;
      const msi = (ms[i] = ms[i] * decay + gi * gi * (1 - decay));
      p[i] -= (gi * lr) / (Math.sqrt(msi) + eps);
    }
  },
};

/** The addon's kernels of the loops, or null when the addon is not built. */
export function nativeOptimiserLoops(): OptimiserLoops | null {
  const addon = nativeAddon();
  if (!addon) return null;
  return {
    adam: (p, g, m, v, scale, b1, b2, stepSize, eps) => addon.adamUpdate(p, g, m, v, scale, b1, b2, stepSize, eps),
    rmsprop: (p, g, ms, scale, decay, lr, eps) => addon.rmspropUpdate(p, g, ms, scale, decay, lr, eps),
  };
}

let defaultLoops: OptimiserLoops | undefined;
/** Native when the addon is there (README "## Benchmark": config B's data-parallel update 170 → 48 ms), else JS. */
function optimiserLoops(): OptimiserLoops {
  return (defaultLoops ??= nativeOptimiserLoops() ?? jsOptimiserLoops);
}

/**
 * One update of a flat parameter array, in place: Adam with bias correction (slots [m, v]) or
 * RMSProp (slots [meanSquare]). `t` is the update count including this one; the gradient is
 * multiplied by `scale` first (gradient clipping). The only implementation of the update rules:
 * the training loop and the data-parallel stepper both call it; `loops` runs them (tests pass both).
 */
export function updateInPlace(kind: OptimizerKind, p: Float32Array, g: Float32Array, slots: Float32Array[], t: number, lr: number, scale = 1, loops = optimiserLoops()): void {
  if (kind === 'adam') {
    const [m, v] = slots;
    const c2 = Math.sqrt(1 - ADAM_BETA2 ** t);
    const stepSize = (lr * c2) / (1 - ADAM_BETA1 ** t);
    loops.adam(p, g, m, v, scale, ADAM_BETA1, ADAM_BETA2, stepSize, ADAM_EPS * c2);
    return;
  }
  loops.rmsprop(p, g, slots[0], scale, RMSPROP_DECAY, lr, RMSPROP_EPS);
}

export function slotCount(kind: OptimizerKind): number {
  return kind === 'adam' ? 2 : 1;
}

export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
}

/**
 * The one check of an optimiser snapshot (a checkpoint's, or a roll-back's) against the parameters it
 * is to continue, given as name → number of values: a known kind, a whole step count, and for every
 * parameter it names slotCount(kind) arrays of that parameter's size. Parameters it does not name
 * start fresh.
 */
export function checkOptimizerSnapshot(s: OptimizerSnapshot, sizes: ReadonlyMap<string, number>): void {
  if (s.kind !== 'adam' && s.kind !== 'rmsprop') throw new OptimizerStateError(`Unknown optimiser ${String(s.kind)}.`);
  if (!Number.isInteger(s.t) || s.t < 0) throw new OptimizerStateError(`The optimiser step count must be a whole number ≥ 0; got ${s.t}.`);
  const nSlots = slotCount(s.kind);
  for (const [name, arrays] of s.slots) {
    const size = sizes.get(name);
    if (size === undefined) throw new OptimizerStateError(`Optimiser state names an unknown parameter ${name}.`);
    if (arrays.length !== nSlots || arrays.some((a) => a.length !== size)) {
      throw new OptimizerStateError(`The optimiser state of ${name} does not have ${nSlots} arrays of ${size} values.`);
    }
  }
}

/**
 * The optimiser of a training run. Its state is plain arrays and the update is one loop over them:
 * measured on the native backend, the same update as a dozen TF.js ops per parameter took 70–90 ms
 * of a ~200 ms step; the loop takes ~2 ms.
 */
export class Optimizer {
  readonly kind: OptimizerKind;
  t = 0;
  private slots = new Map<string, Float32Array[]>();

  constructor(kind: OptimizerKind) {
    this.kind = kind;
  }

  static fromSnapshot(s: OptimizerSnapshot, shapes: Map<string, number[]>): Optimizer {
    checkOptimizerSnapshot(s, new Map(Array.from(shapes, ([name, shape]) => [name, shape.reduce((a, b) => a * b, 1)])));
    const o = new Optimizer(s.kind);
    o.t = s.t;
    for (const [name, arrays] of s.slots) o.slots.set(name, arrays.map((a) => a.slice()));
    return o;
  }

  snapshot(): OptimizerSnapshot {
    const slots = new Map<string, Float32Array[]>();
    for (const [name, arrays] of this.slots) slots.set(name, arrays.map((a) => a.slice()));
    return { kind: this.kind, t: this.t, slots };
  }

  /**
   * Apply one update with the gradients scaled by `scale` (see clipScale); returns the new
   * parameters as kept tensors (callers may run this inside tf.tidy). The caller disposes the old.
   */
  apply(params: Params, grads: Params, lr: number, scale = 1): Params {
    return phase('optimiser', () => this.applyNow(params, grads, lr, scale));
  }

  private applyNow(params: Params, grads: Params, lr: number, scale: number): Params {
    this.t += 1;
    const next: Params = new Map();
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) {
        next.set(name, p);
        continue;
      }
      const values = Float32Array.from(p.dataSync() as Float32Array); // never write into a tensor's storage
      let slots = this.slots.get(name);
      if (!slots) {
        slots = Array.from({ length: slotCount(this.kind) }, () => new Float32Array(values.length));
        this.slots.set(name, slots);
      }
      updateInPlace(this.kind, values, g.dataSync() as Float32Array, slots, this.t, lr, scale);
      next.set(name, tf.keep(tf.tensor(values, p.shape)));
    }
    return next;
  }

  dispose(): void {
    this.slots.clear();
  }
}

/** Global L2 norm of all gradients. */
export function globalNorm(grads: Params): number {
  return phase('gradient norm', () => l2Norm(grads));
}

function l2Norm(grads: Params): number {
  let total = 0;
  for (const g of grads.values()) {
    const a = g.dataSync() as Float32Array;
    for (let i = 0; i < a.length; i++) total += a[i] * a[i];
  }
  return Math.sqrt(total);
}

/** The factor that clips a gradient of global norm `norm` to `maxNorm` (1 when within it or off). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1;
}

/**
 * Learning rate at a step:
 *   lr · scale · warm-up(step) · schedule(fraction of the budget) · decay^floor(step / every)
 * warm-up rises linearly over `lrWarmup` steps; the schedule (LrSchedule) falls from 1 to `lrFinal`
 * as the budget is used, and is 1 when there is no budget (`fraction` null); `lrDecay` is char-rnn's
 * step decay, on top. `scale` is the NaN policy's halving.
 */
export function learningRateAt(
  cfg: Pick<TrainConfig, 'learningRate' | 'lrDecay' | 'lrDecayEvery' | 'lrSchedule' | 'lrFinal' | 'lrWarmup'>,
  step: number,
  scale = 1,
  fraction: number | null = null,
): number {
  const warmup = cfg.lrWarmup && cfg.lrWarmup > 0 ? Math.min(1, (step + 1) / cfg.lrWarmup) : 1;
  const final = cfg.lrFinal ?? 0.1;
  const f = fraction === null ? 0 : Math.min(1, Math.max(0, fraction));
  let shape = 1;
  if (fraction !== null && cfg.lrSchedule === 'cosine') shape = final + (1 - final) * 0.5 * (1 + Math.cos(Math.PI * f));
  else if (fraction !== null && cfg.lrSchedule === 'linear') shape = 1 - (1 - final) * f;
  return cfg.learningRate * scale * warmup * shape * cfg.lrDecay ** Math.floor(step / cfg.lrDecayEvery);
}
