/**
 * Dropout masks drawn by counter (src/engine/nn/dropout.ts): a slice of the streams draws the rows the
 * whole batch draws, the dropped share is p, the kept units are scaled by 1/(1 − p), and masks of other
 * keys or of other layers are not related to each other; the addon's loop (native/row_kernels.h), which
 * draws and applies a mask in one pass, gives bit for bit the product of the JS mask.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMask, DropoutDraw, dropoutDraw, dropoutMask, maskedRows } from '../src/engine/nn/dropout';
import { Random } from '../src/engine/nn/random';
import { nativeAddon, nativeStatus } from '../src/engine/runtime/native';

const T = 16, B = 10, H = 64, p = 0.25;

test('a slice of the streams draws the rows of the whole batch, for every split', () => {
  const whole: DropoutDraw = { key: 12345, streams: B, first: 0 };
  const full = dropoutMask(whole, 1, T, B, H, p);
  for (const [b0, b1] of [[0, 5], [5, 10], [3, 4], [0, 10], [7, 10]]) {
    const part = dropoutMask({ ...whole, first: b0 }, 1, T, b1 - b0, H, p);
    for (let t = 0; t < T; t++) {
      for (let b = b0; b < b1; b++) {
        const got = part.subarray((t * (b1 - b0) + b - b0) * H, (t * (b1 - b0) + b - b0 + 1) * H);
        const want = full.subarray((t * B + b) * H, (t * B + b + 1) * H);
        assert.deepEqual(Array.from(got), Array.from(want), `row t=${t} b=${b} of slice [${b0}, ${b1})`);
      }
    }
  }
  assert.throws(() => dropoutMask({ ...whole, first: 8 }, 0, T, 3, H, p), /outside the batch/);
});

test('a share p is dropped, the rest scaled by 1/(1 − p), and the expected multiplier is 1', () => {
  for (const q of [0.1, 0.25, 0.5]) {
    const m = dropoutMask({ key: 7, streams: B, first: 0 }, 0, T, B, H, q);
    const dropped = m.filter((v) => v === 0).length;
    assert.ok(m.every((v) => v === 0 || Math.abs(v - 1 / (1 - q)) < 1e-6));
    // 10,240 units: the standard error of the share is below 0.005.
    assert.ok(Math.abs(dropped / m.length - q) < 0.02, `p=${q}: dropped ${dropped / m.length}`);
    const mean = m.reduce((a, v) => a + v, 0) / m.length;
    assert.ok(Math.abs(mean - 1) < 0.04, `p=${q}: mean multiplier ${mean}`);
  }
  assert.throws(() => dropoutMask({ key: 1, streams: B, first: 0 }, 0, T, B, H, 0), /dropout must be in \(0, 1\)/);
});

/** Correlation of the drop indicators of two masks. */
function correlation(a: Float32Array, b: Float32Array): number {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i] === 0 ? 1 : 0;
    mb += b[i] === 0 ? 1 : 0;
  }
  ma /= a.length;
  mb /= b.length;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] === 0 ? 1 : 0) - ma, y = (b[i] === 0 ? 1 : 0) - mb;
    cov += x * y;
    va += x * x;
    vb += y * y;
  }
  return cov / Math.sqrt(va * vb);
}

test('masks of consecutive keys, of other layers and of shifted units are uncorrelated', () => {
  const rng = new Random(3);
  const d1 = dropoutDraw(rng, B), d2 = dropoutDraw(rng, B);
  assert.notEqual(d1.key, d2.key);
  const a = dropoutMask(d1, 0, T, B, H, p);
  const pairs: [string, Float32Array][] = [
    ['next key', dropoutMask(d2, 0, T, B, H, p)],
    ['key + 1', dropoutMask({ ...d1, key: (d1.key + 1) >>> 0 }, 0, T, B, H, p)],
    ['other layer', dropoutMask(d1, 1, T, B, H, p)],
    ['unit shifted by one', Float32Array.from(a.subarray(1).values()).slice(0, a.length - 1)],
  ];
  const base = a.subarray(0, a.length - 1);
  for (const [what, b] of pairs) {
    const r = correlation(base, b.subarray(0, base.length));
    // 10,239 pairs: |r| of independent masks is below 0.03 with overwhelming probability.
    assert.ok(Math.abs(r) < 0.04, `${what}: correlation ${r}`);
  }
  assert.deepEqual(Array.from(dropoutMask(d1, 0, T, B, H, p)), Array.from(a), 'the same draw gives the same mask');
});

const native = nativeStatus();

test('the addon\'s masked rows are bit for bit the JS mask\'s product, for slices, odd widths and signed values', { skip: native.available ? false : `native addon unavailable: ${native.reason}` }, () => {
  const kernel = nativeAddon()!.dropoutRows;
  const rng = new Random(11);
  for (const [t, streams, first, b, h, q] of [[16, 10, 0, 10, 64, 0.25], [5, 12, 7, 5, 33, 0.1], [3, 4, 1, 2, 1, 0.5], [2, 3, 0, 3, 129, 0.9]]) {
    const draw: DropoutDraw = { key: Math.floor(rng.next() * 4294967296) >>> 0, streams, first };
    const x = Float32Array.from({ length: t * b * h }, (_, i) => (i % 7 === 0 ? -0 : (rng.next() * 2 - 1) * 10 ** Math.floor(rng.next() * 6 - 3)));
    for (const index of [0, 1, 5]) {
      const want = applyMask(x, dropoutMask(draw, index, t, b, h, q));
      const got = maskedRows(draw, index, t, b, h, q, x, kernel);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `T=${t} rows [${first}, ${first + b}) of ${streams}, H=${h}, p=${q}, mask ${index}`);
      assert.deepEqual(maskedRows(draw, index, t, b, h, q, x, null), want, 'without the addon: the JS product');
    }
  }
  const draw: DropoutDraw = { key: 1, streams: 4, first: 3 };
  assert.throws(() => maskedRows(draw, 0, 2, 2, 8, 0.1, new Float32Array(32), kernel), /outside the batch/);
  assert.throws(() => maskedRows(draw, 0, 2, 1, 8, 0.1, new Float32Array(15), kernel), /15 values to mask, expected T·B·H = 16/);
  assert.throws(() => kernel(2, 1, 8, 4, 3, 1, 2, 6554, 1.1, new Float32Array(16), new Float32Array(15)), /out has length 15, expected T·B·H = 16/);
  const x = new Float32Array(16);
  assert.throws(() => kernel(2, 1, 8, 4, 3, 1, 2, 6554, 1.1, x, x), /must not overlap/);
});
