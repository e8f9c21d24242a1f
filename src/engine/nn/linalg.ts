/**
 * The few tensor operations the model needs outside the recurrence, each done the fast way for the
 * backend in use. Measured on this project's machines: on wasm, transposed-operand flags in a matrix
 * product are ~10× slower than an explicit transpose, while on native (OpenBLAS) and node the flags
 * are free and explicit transposes, row gathers and axis sums run as slow generic JavaScript. So:
 *   matMulTN / matMulNT  aᵀ·b and a·bᵀ — flags on native/node, explicit transposes elsewhere;
 *   linear               x·W + b as one fused product with bias;
 *   columnSums           Σ over rows as a product with a row of ones (a bias gradient);
 *   lookupRows           rows of a table by id (an embedding, or one-hot input times W_x), with
 *                        lookupRowsPlusBias for the one-hot input's x_t·W_x + b;
 *   scatterAddRows       their gradient: rows added into a table by id (row adds on native);
 *   softmaxCrossEntropy  loss and dLoss/dlogits in one pass (the addon's loop on native).
 */
import { currentBackend, tf } from '../runtime/backend';
import { nativeAddon } from '../runtime/native';

function flagsAreFast(): boolean {
  const b = currentBackend().name;
  return b === 'native' || b === 'node';
}

/** aᵀ·b. */
export function matMulTN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return flagsAreFast() ? tf.matMul(a, b, true, false) : tf.matMul(tf.transpose(a), b);
}

/** a·bᵀ. */
export function matMulNT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return flagsAreFast() ? tf.matMul(a, b, false, true) : tf.matMul(a, tf.transpose(b));
}

/** x·W + b. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
}

/** Σ over the rows of x, [cols]. */
export function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  const ones = tf.ones([1, x.shape[0]]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(ones, x), [x.shape[1]]);
}

/** Rows `ids` of `table` [V, D] → [n, D]. */
export function lookupRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (currentBackend().name === 'native') return gatheredRows(table, ids, null);
  if (flagsAreFast()) return tf.matMul(tf.cast(tf.oneHot(ids, table.shape[0]), 'float32') as tf.Tensor2D, table);
  return tf.gather(table, ids) as tf.Tensor2D;
}

/**
 * On native the arrays behind tensors are plain memory: a row gather is n row copies, in the addon's
 * loop (a one-hot product cost 3–6 ms a step for config A; JS row copies with the bias ~1 ms a worker step).
 */
function gatheredRows(table: tf.Tensor2D, ids: tf.Tensor1D, bias: tf.Tensor | null): tf.Tensor2D {
  const [V, D] = table.shape;
  const idv = ids.dataSync() as Int32Array;
  const out = new Float32Array(idv.length * D);
  const t = table.dataSync() as Float32Array, b = bias ? (bias.dataSync() as Float32Array) : null;
  nativeAddon()!.gatherRows(V, D, t, idv, b, out); // the native backend exists only when the addon loaded
  return tf.tensor2d(out, [idv.length, D]);
}

/** Rows `ids` of `table` [V, D] plus `bias` [D] → [n, D]: row copies on native, one fused product on node, gather + add elsewhere. */
export function lookupRowsPlusBias(table: tf.Tensor2D, ids: tf.Tensor1D, bias: tf.Tensor): tf.Tensor2D {
  if (currentBackend().name === 'native') return gatheredRows(table, ids, bias);
  if (flagsAreFast()) return linear(tf.cast(tf.oneHot(ids, table.shape[0]), 'float32') as tf.Tensor2D, table, bias);
  return tf.add(tf.gather(table, ids), bias) as tf.Tensor2D;
}

/** ids one-hot, transposed, times x: Σ of the rows of x into the rows of a [V, D] table (a scatter-add). */
export function scatterAddRows(ids: tf.Tensor1D, vocab: number, x: tf.Tensor2D): tf.Tensor2D {
  if (currentBackend().name === 'native') {
    // Row adds, in the addon's loop: the one-hot product cost V·n·D multiply-adds (3–4 ms a step for
    // config A's W_x), the JS loop ~1.9 ms a config-A worker step.
    const idv = ids.dataSync() as Int32Array, xv = x.dataSync() as Float32Array;
    const D = x.shape[1];
    const out = new Float32Array(vocab * D);
    nativeAddon()!.scatterAddRows(vocab, D, idv, xv, out);
    return tf.tensor2d(out, [vocab, D]);
  }
  return matMulTN(tf.cast(tf.oneHot(ids, vocab), 'float32') as tf.Tensor2D, x);
}

/**
 * Mean cross-entropy of softmax(logits) against target ids (optionally weighted per row), and its
 * gradient with respect to the logits: (softmax − onehot)·w / Σw.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, weights?: Float32Array, withGradient = true): { loss: tf.Scalar; dLogits: tf.Tensor2D | null } {
  const [N, V] = logits.shape;
  for (let i = 0; i < N; i++) {
    if (targets[i] < 0 || targets[i] >= V) throw new RangeError(`Target id ${targets[i]} is outside the vocabulary (size ${V}).`);
  }
  let total = N;
  if (weights) {
    total = 0;
    for (let i = 0; i < N; i++) total += weights[i];
    total = Math.max(total, 1e-9);
  }
  const addon = currentBackend().name === 'native' ? nativeAddon() : null;
  if (addon) {
    // The arrays behind the tensors are plain memory here: one pass of the addon's loop.
    const d = withGradient ? new Float32Array(N * V) : null;
    const loss = addon.softmaxCrossEntropy(N, V, logits.dataSync() as Float32Array, targets, weights ?? null, total, d);
    return { loss: tf.scalar(loss / total), dLogits: d ? tf.tensor2d(d, [N, V]) : null };
  }
  const oneHot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32');
  const logProbs = tf.logSoftmax(logits);
  const nll = tf.neg(tf.sum(tf.mul(oneHot, logProbs), 1));
  const w = weights ? tf.tensor1d(weights) : null;
  const loss = tf.div(tf.sum(w ? tf.mul(nll, w) : nll), total) as tf.Scalar;
  if (!withGradient) return { loss, dLogits: null };
  let d = tf.div(tf.sub(tf.exp(logProbs), oneHot), total);
  if (w) d = tf.mul(d, tf.reshape(w, [N, 1]));
  return { loss, dLogits: d as tf.Tensor2D };
}
