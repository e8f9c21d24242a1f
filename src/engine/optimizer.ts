/**
 * Optimisers for the hand-written gradients: Adam (default) and RMSProp (char-rnn's), gradient clipping
 * by global L2 norm, and the learning-rate schedule. State is explicit so checkpoints can carry it and a
 * resumed run continues exactly where it stopped.
 */
import { tf } from './backend';
import { OptimizerKind, TrainConfig } from './config';
import type { Params } from './model';

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

export class Optimizer {
  readonly kind: OptimizerKind;
  t = 0;
  private slots = new Map<string, tf.Tensor[]>();

  constructor(kind: OptimizerKind) {
    this.kind = kind;
  }

  static fromSnapshot(s: OptimizerSnapshot, shapes: Map<string, number[]>): Optimizer {
    const o = new Optimizer(s.kind);
    o.t = s.t;
    for (const [name, arrays] of s.slots) {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`Optimiser state names an unknown parameter ${name}.`);
      o.slots.set(name, arrays.map((a) => tf.keep(tf.tensor(a, shape))));
    }
    return o;
  }

  snapshot(): OptimizerSnapshot {
    const slots = new Map<string, Float32Array[]>();
    for (const [name, ts] of this.slots) slots.set(name, ts.map((t) => Float32Array.from(t.dataSync() as Float32Array)));
    return { kind: this.kind, t: this.t, slots };
  }

  /** Apply one update; returns the new parameters (kept). The caller disposes the old ones. */
  apply(params: Params, grads: Params, lr: number): Params {
    this.t += 1;
    const t = this.t;
    const next: Params = new Map();
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) {
        next.set(name, p);
        continue;
      }
      const old = this.slots.get(name);
      const [newP, newSlots] = tf.tidy(() => {
        if (this.kind === 'adam') {
          const m0 = old?.[0] ?? tf.zerosLike(p);
          const v0 = old?.[1] ?? tf.zerosLike(p);
          const m = tf.add(tf.mul(m0, ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
          const v = tf.add(tf.mul(v0, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
          const stepSize = (lr * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
          const upd = tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), ADAM_EPS * Math.sqrt(1 - ADAM_BETA2 ** t)));
          return [tf.sub(p, upd), [m, v]] as [tf.Tensor, tf.Tensor[]];
        }
        const ms0 = old?.[0] ?? tf.zerosLike(p);
        const ms = tf.add(tf.mul(ms0, RMSPROP_DECAY), tf.mul(tf.square(g), 1 - RMSPROP_DECAY));
        const upd = tf.div(tf.mul(g, lr), tf.add(tf.sqrt(ms), RMSPROP_EPS));
        return [tf.sub(p, upd), [ms]] as [tf.Tensor, tf.Tensor[]];
      });
      // Kept: callers run this inside their own tf.tidy.
      old?.forEach((s) => s.dispose());
      this.slots.set(name, newSlots.map((s) => tf.keep(s)));
      next.set(name, tf.keep(newP));
    }
    return next;
  }

  dispose(): void {
    for (const ts of this.slots.values()) ts.forEach((s) => s.dispose());
    this.slots.clear();
  }
}

/** Global L2 norm of all gradients, as a scalar tensor. */
export function globalNorm(grads: Params): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const g of grads.values()) total = tf.add(total, tf.sum(tf.square(g)));
    return tf.sqrt(total) as tf.Scalar;
  });
}

/** Scale every gradient by min(1, maxNorm/norm). `norm` is the already-read global norm. */
export function clipGradients(grads: Params, norm: number, maxNorm: number): Params {
  if (!(maxNorm > 0) || norm <= maxNorm) return grads;
  const scale = maxNorm / norm;
  const out: Params = new Map();
  for (const [k, g] of grads) out.set(k, tf.mul(g, scale));
  return out;
}

/** Learning rate at a given step: lr · decay^floor(step / every). */
export function learningRateAt(cfg: Pick<TrainConfig, 'learningRate' | 'lrDecay' | 'lrDecayEvery'>, step: number, scale = 1): number {
  return cfg.learningRate * scale * cfg.lrDecay ** Math.floor(step / cfg.lrDecayEvery);
}
