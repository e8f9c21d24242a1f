/**
 * The output layer's loops on native (the addon's softmax + cross-entropy, native/output_kernels.h,
 * and the row loops of native/row_kernels.h: scatterAddRows's row adds, lookupRows's gathers) against TF.js's generic kernels on the cpu backend: same loss
 * and dLoss/dlogits with and without row weights, logits far from 0, a vocabulary that is not a
 * multiple of any vector width; bad input refused with a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, tidy } from '../src/engine/runtime/backend';
import { lookupRows, lookupRowsPlusBias, scatterAddRows, softmaxCrossEntropy } from '../src/engine/nn/linalg';
import { nativeAddon, nativeStatus } from '../src/engine/runtime/native';
import { Random } from '../src/engine/nn/random';

const status = nativeStatus();
const skip = status.available ? false : `native addon unavailable: ${status.reason}`;

interface Case {
  N: number;
  V: number;
  logits: Float32Array;
  targets: Int32Array;
  weights?: Float32Array;
}

function makeCase(N: number, V: number, spread: number, offset: number, weighted: boolean, seed: number): Case {
  const rng = new Random(seed);
  const logits = Float32Array.from({ length: N * V }, () => offset + (rng.next() * 2 - 1) * spread);
  const targets = Int32Array.from({ length: N }, () => Math.floor(rng.next() * V));
  const weights = weighted ? Float32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 0 : rng.next())) : undefined;
  return { N, V, logits, targets, weights };
}

function lossAndGradient(c: Case): { loss: number; d: Float32Array } {
  return tidy(() => {
    const r = softmaxCrossEntropy(tf.tensor2d(c.logits, [c.N, c.V]), c.targets, c.weights, true);
    return { loss: r.loss.dataSync()[0], d: Float32Array.from(r.dLogits!.dataSync() as Float32Array) };
  });
}

test('native softmax + cross-entropy agrees with the generic kernels', { skip }, async () => {
  const cases = [makeCase(64, 145, 3, 0, false, 1), makeCase(33, 7, 20, 60, true, 2), makeCase(50, 257, 8, -40, true, 3), makeCase(1, 2, 1, 0, false, 4)];
  await initBackend('cpu');
  const want = cases.map(lossAndGradient);
  await initBackend('native');
  cases.forEach((c, k) => {
    const got = lossAndGradient(c);
    assert.ok(Math.abs(got.loss - want[k].loss) <= 1e-5 * (1 + Math.abs(want[k].loss)), `case ${k}: loss ${got.loss} vs ${want[k].loss}`);
    for (let i = 0; i < got.d.length; i++) {
      assert.ok(Math.abs(got.d[i] - want[k].d[i]) <= 1e-6, `case ${k}: dLogits[${i}] ${got.d[i]} vs ${want[k].d[i]}`);
    }
    // the loss alone (evaluation) is the same loss
    const alone = tidy(() => softmaxCrossEntropy(tf.tensor2d(c.logits, [c.N, c.V]), c.targets, c.weights, false).loss.dataSync()[0]);
    assert.equal(alone, got.loss);
  });
});

test('native scatterAddRows (row adds) agrees with the one-hot product', { skip }, async () => {
  const rng = new Random(9);
  const n = 300, V = 37, D = 19;
  const ids = Int32Array.from({ length: n }, () => Math.floor(rng.next() * V));
  const x = Float32Array.from({ length: n * D }, () => rng.next() * 2 - 1);
  const run = () => tidy(() => Float32Array.from(scatterAddRows(tf.tensor1d(ids, 'int32'), V, tf.tensor2d(x, [n, D])).dataSync() as Float32Array));
  await initBackend('cpu');
  const want = run();
  await initBackend('native');
  const got = run();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5, `[${i}] ${got[i]} vs ${want[i]}`);
  assert.throws(() => tidy(() => scatterAddRows(tf.tensor1d(Int32Array.of(0, V), 'int32'), V, tf.tensor2d(new Float32Array(2 * D), [2, D]))), /outside the table/);
});

test('native row gathers (lookupRows, lookupRowsPlusBias) agree with the generic kernels', { skip }, async () => {
  const rng = new Random(10);
  const n = 77, V = 13, D = 21;
  const ids = Int32Array.from({ length: n }, () => Math.floor(rng.next() * V));
  const table = Float32Array.from({ length: V * D }, () => rng.next() * 2 - 1);
  const bias = Float32Array.from({ length: D }, () => rng.next() - 0.5);
  const run = () => tidy(() => {
    const t = tf.tensor2d(table, [V, D]), i = tf.tensor1d(ids, 'int32');
    return [lookupRows(t, i), lookupRowsPlusBias(t, i, tf.tensor1d(bias))].map((r) => Float32Array.from(r.dataSync() as Float32Array));
  });
  await initBackend('cpu');
  const want = run();
  await initBackend('native');
  const got = run();
  for (const k of [0, 1]) for (let j = 0; j < want[k].length; j++) assert.ok(Math.abs(got[k][j] - want[k][j]) <= 1e-6, `${k ? 'with' : 'without'} bias [${j}] ${got[k][j]} vs ${want[k][j]}`);
  assert.throws(() => tidy(() => lookupRows(tf.tensor2d(table, [V, D]), tf.tensor1d(Int32Array.of(1, -1), 'int32'))), /symbol id -1 is outside the table \(size 13\)/);
  const addon = nativeAddon()!;
  assert.throws(() => addon.gatherRows(V, D, table, Int32Array.of(0), null, new Float32Array(D - 1)), /out has length 20, expected ids.length·D = 21/);
  assert.throws(() => addon.gatherRows(V, D, table, Float32Array.of(0) as unknown as Int32Array, null, new Float32Array(D)), /ids must be an Int32Array/);
  assert.throws(() => addon.scatterAddRows(V, D, Int32Array.of(0), new Float32Array(D), new Float32Array(V * D - 1)), /out has length 272, expected V·D = 273/);
});

test('the addon refuses a target outside the vocabulary, wrong lengths and a bad total', { skip }, () => {
  const addon = nativeAddon()!;
  const z = new Float32Array(6);
  assert.throws(() => addon.softmaxCrossEntropy(2, 3, z, Int32Array.of(0, 3), null, 2, null), /target id 3 is outside the vocabulary \(size 3\)/);
  assert.throws(() => addon.softmaxCrossEntropy(2, 3, z, Int32Array.of(0, 1), null, 2, new Float32Array(5)), /dLogits has length 5, expected N·V = 6/);
  assert.throws(() => addon.softmaxCrossEntropy(2, 3, z, Int32Array.of(0), null, 2, null), /targets has length 1, expected N = 2/);
  assert.throws(() => addon.softmaxCrossEntropy(2, 3, z, Float32Array.of(0, 1) as unknown as Int32Array, null, 2, null), /targets must be an Int32Array/);
  assert.throws(() => addon.softmaxCrossEntropy(2, 3, z, Int32Array.of(0, 1), null, 0, null), /total must be positive/);
  assert.throws(() => addon.softmaxCrossEntropy(2, 3, z, Int32Array.of(0, 1), null, 2, z), /must not overlap/);
  // uniform logits: log 3 per row
  assert.ok(Math.abs(addon.softmaxCrossEntropy(2, 3, z, Int32Array.of(0, 1), null, 2, null) - 2 * Math.log(3)) < 1e-6);
});
