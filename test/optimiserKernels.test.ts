/**
 * The addon's optimiser kernels (native/optimiser_kernels.h) against optimizer.ts's JS loops of the
 * same rules, and the data-parallel gradient average (weightedGradientSum) against its JS loop: same
 * values to float tolerance over several steps, and bad input refused with a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsOptimiserLoops, nativeOptimiserLoops, updateInPlace } from '../src/engine/nn/optimizer';
import { weightedGradientSum } from '../src/engine/training/dataParallel';
import { nativeAddon, nativeStatus } from '../src/engine/runtime/native';
import { Random } from '../src/engine/nn/random';

const status = nativeStatus();
const skip = status.available ? false : `native addon unavailable: ${status.reason}`;

function filled(n: number, rng: Random, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > tol * (1 + Math.abs(b[i]))) assert.fail(`${what}[${i}]: native ${a[i]} vs JS ${b[i]}`);
  }
}

for (const kind of ['adam', 'rmsprop'] as const) {
  test(`native ${kind} kernel agrees with the JS loop over 5 steps`, { skip }, () => {
    const native = nativeOptimiserLoops()!;
    const rng = new Random(7);
    const n = 1037; // not a multiple of any vector width
    const p0 = filled(n, rng, 1);
    const pJ = p0.slice(), pN = p0.slice();
    const slots = kind === 'adam' ? 2 : 1;
    const sJ = Array.from({ length: slots }, () => new Float32Array(n));
    const sN = Array.from({ length: slots }, () => new Float32Array(n));
    for (let t = 1; t <= 5; t++) {
      const g = filled(n, rng, 0.3);
      updateInPlace(kind, pJ, g, sJ, t, 2e-3, 0.7, jsOptimiserLoops);
      updateInPlace(kind, pN, g, sN, t, 2e-3, 0.7, native);
    }
    assertClose(pN, pJ, 1e-6, 'p');
    for (let s = 0; s < slots; s++) assertClose(sN[s], sJ[s], 1e-6, `slot ${s}`);
    // It moved the parameters at all (a kernel that did nothing would pass the comparison with itself).
    assert.ok(pN.some((v, i) => Math.abs(v - p0[i]) > 1e-4));
  });
}

test('native adamUpdate refuses arrays of different lengths', { skip }, () => {
  const a = nativeAddon()!;
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => a.adamUpdate(f(4), f(3), f(4), f(4), 1, 0.9, 0.999, 1e-3, 1e-8), /adamUpdate: g has length 3, expected p's 4/);
});

for (const W of [2, 3]) {
  test(`weightedGradientSum of ${W} workers: native agrees with JS`, { skip }, () => {
    const rng = new Random(11);
    const P = 999;
    const grads = filled(W * P, rng, 1);
    const weights = W === 2 ? [17 / 32, 15 / 32] : [11 / 32, 11 / 32, 10 / 32];
    const sumN = new Float32Array(P), sumJ = new Float32Array(P);
    const sqN = weightedGradientSum(grads, weights, sumN, P);
    const sqJ = weightedGradientSum(grads, weights, sumJ, P, null);
    assertClose(sumN, sumJ, 1e-6, 'sum');
    assert.ok(Math.abs(sqN - sqJ) <= 1e-6 * sqJ);
    let expect = 0;
    for (let w = 0; w < W; w++) expect += weights[w] * grads[w * P + 5];
    assert.ok(Math.abs(sumJ[5] - expect) < 1e-6);
  });
}
