/**
 * Recurrence kernels: jsKernels against finite differences, the native addon against jsKernels,
 * the 'native' TF.js backend against 'cpu', and the addon's input validation.
 * Native tests are skipped, with the reason, when the addon is not built or finds no BLAS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CellKind, GATES, SeqBackwardOutput, SeqForwardInput } from '../src/engine/nn/kernels';
import { jsKernels } from '../src/engine/nn/jsKernels';
import { nativeAddon, nativeKernels, nativeStatus, registerNativeBackend } from '../src/engine/runtime/native';
import { uniform as uniformSource } from './support/fixtures';

const KINDS: CellKind[] = ['lstm', 'gru', 'rnn'];

const status = nativeStatus();
const nativeSkip: string | false = status.available && nativeKernels()
  ? false
  : `native addon unavailable: ${status.reason ?? 'unknown reason'}`;
if (nativeSkip) console.log(`# kernels.test: ${nativeSkip}`);
else console.log(`# kernels.test: native addon loaded (BLAS ${status.blas}, openblas=${status.openblas}, ${status.threads} threads)`);

// ---------------------------------------------------------------------------------------------
// helpers

const rng = uniformSource;

function uniform(r: () => number, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * r() - 1) * scale;
  return a;
}

function makeInput(kind: CellKind, T: number, B: number, H: number, seed: number, withC0 = true): SeqForwardInput {
  const r = rng(seed);
  const GH = GATES[kind] * H;
  return {
    kind, T, B, H,
    xProj: uniform(r, T * B * GH, 1.0),
    wh: uniform(r, H * GH, 1.5 / Math.sqrt(H)),
    bh: kind === 'gru' ? uniform(r, GH, 0.5) : null,
    h0: uniform(r, B * H, 0.5),
    c0: kind === 'lstm' && withC0 ? uniform(r, B * H, 0.5) : null,
  };
}

function maxAbsDiff(a: Float32Array | null, b: Float32Array | null): number {
  if (a === null || b === null) {
    assert.equal(a, b, 'one output is null and the other is not');
    return 0;
  }
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// 1. jsKernels gradients against central finite differences
//
// L = Σ_t w_t·h_t + u·h_T + (lstm) v·c_T, so dHs = w, dhT = u, dcT = v. Every input the backward
// outputs a gradient for is perturbed element by element: xProj (dPre), wh (dWh = Σ_t Hprevᵀ·dPreH),
// bh (GRU: Σ rows of dPreH), h0 (dh0), c0 (dc0).

interface LossWeights {
  w: Float32Array;
  u: Float32Array;
  v: Float32Array | null;
}

function loss(inp: SeqForwardInput, lw: LossWeights): number {
  const { T, B, H } = inp;
  const f = jsKernels.seqForward(inp);
  const BH = B * H;
  let L = 0;
  for (let i = 0; i < T * BH; i++) L += lw.w[i] * f.hs[i];
  for (let i = 0; i < BH; i++) L += lw.u[i] * f.hs[(T - 1) * BH + i];
  if (lw.v && f.cs) for (let i = 0; i < BH; i++) L += lw.v[i] * f.cs[(T - 1) * BH + i];
  return L;
}

/** dWh[k, j] = Σ_t Σ_b h_{t-1}[b, k] · dPreH_t[b, j];  dbh[j] = Σ_t Σ_b dPreH_t[b, j]. */
function weightGrads(inp: SeqForwardInput, hs: Float32Array, g: SeqBackwardOutput): { dWh: Float64Array; dbh: Float64Array } {
  const { kind, T, B, H } = inp;
  const GH = GATES[kind] * H;
  const dWh = new Float64Array(H * GH);
  const dbh = new Float64Array(GH);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = (t * B + b) * GH;
      for (let k = 0; k < H; k++) {
        const hk = t === 0 ? inp.h0[b * H + k] : hs[((t - 1) * B + b) * H + k];
        for (let j = 0; j < GH; j++) dWh[k * GH + j] += hk * g.dPreH[row + j];
      }
      for (let j = 0; j < GH; j++) dbh[j] += g.dPreH[row + j];
    }
  }
  return { dWh, dbh };
}

/** Central differences of the loss w.r.t. every element of `param` (perturbed in place, restored). */
function finiteDiff(inp: SeqForwardInput, lw: LossWeights, param: Float32Array, eps: number): Float64Array {
  const out = new Float64Array(param.length);
  for (let i = 0; i < param.length; i++) {
    const v = param[i];
    param[i] = v + eps;
    const up = param[i];
    const Lp = loss(inp, lw);
    param[i] = v - eps;
    const dn = param[i];
    const Lm = loss(inp, lw);
    param[i] = v;
    out[i] = (Lp - Lm) / (up - dn); // the float32 steps actually taken
  }
  return out;
}

const ABS_TOL = 1e-3;
const REL_TOL = 1e-2;

/** max over i of |an − fd| / (ABS_TOL + REL_TOL·|fd|): <= 1 means the gradient agrees. */
function gradError(an: ArrayLike<number>, fd: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < fd.length; i++) {
    const e = Math.abs(an[i] - fd[i]) / (ABS_TOL + REL_TOL * Math.abs(fd[i]));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

function checkGradient(name: string, an: ArrayLike<number>, fd: Float64Array): void {
  const err = gradError(an, fd);
  assert.ok(err <= 1, `${name}: analytic gradient differs from finite differences (error ratio ${err.toFixed(3)})`);
  // The check must be able to fail: the gradient is not trivially small, and a 10% error or an
  // off-by-one shift in the analytic gradient would be caught.
  let maxAbs = 0;
  let nonTiny = 0;
  for (let i = 0; i < fd.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(fd[i]));
    if (Math.abs(an[i]) > 1e-3) nonTiny++;
  }
  assert.ok(maxAbs > 0.05, `${name}: gradient is too small to check meaningfully (max |g| = ${maxAbs})`);
  assert.ok(nonTiny >= fd.length / 2, `${name}: most gradient entries are ~0 (${nonTiny}/${fd.length} non-tiny)`);
  const scaled = Array.from(an, (x) => x * 1.1);
  assert.ok(gradError(scaled, fd) > 1, `${name}: the check would not detect a 10% error`);
  if (fd.length > 1) {
    const shifted = Array.from(an, (_x, i) => an[(i + 1) % an.length]);
    assert.ok(gradError(shifted, fd) > 1, `${name}: the check would not detect shifted entries`);
  }
}

for (const kind of KINDS) {
  test(`jsKernels ${kind}: gradients match central finite differences`, () => {
    const T = 4, B = 2, H = 3;
    const inp = makeInput(kind, T, B, H, 1234 + kind.length);
    const r = rng(99);
    const lw: LossWeights = {
      w: uniform(r, T * B * H, 1),
      u: uniform(r, B * H, 1),
      v: kind === 'lstm' ? uniform(r, B * H, 1) : null,
    };
    const fwd = jsKernels.seqForward(inp);
    const g = jsKernels.seqBackward({ ...inp, fwd, dHs: lw.w, dhT: lw.u, dcT: lw.v });
    if (kind === 'gru') assert.notEqual(g.dPreH, g.dPre, 'gru: dPreH must be its own array');
    else assert.equal(g.dPreH, g.dPre, `${kind}: dPreH must be the same array as dPre`);
    assert.equal(g.dc0 === null, kind !== 'lstm');

    const eps = 1e-2;
    checkGradient('dPre (d/dxProj)', g.dPre, finiteDiff(inp, lw, inp.xProj, eps));
    const { dWh, dbh } = weightGrads(inp, fwd.hs, g);
    checkGradient('dWh = Hprevᵀ·dPreH', dWh, finiteDiff(inp, lw, inp.wh, eps));
    if (inp.bh) checkGradient('dbh = Σ dPreH', dbh, finiteDiff(inp, lw, inp.bh, eps));
    checkGradient('dh0', g.dh0, finiteDiff(inp, lw, inp.h0, eps));
    if (inp.c0) checkGradient('dc0', g.dc0!, finiteDiff(inp, lw, inp.c0, eps));
  });
}

test('jsKernels: forward matches a direct step-by-step evaluation of the contract equations', () => {
  // An independent, unoptimised restatement of the equations in kernels.ts (float64), T=3,B=2,H=2.
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  for (const kind of KINDS) {
    const T = 3, B = 2, H = 2, G = GATES[kind], GH = G * H;
    const inp = makeInput(kind, T, B, H, 7 + kind.length);
    const f = jsKernels.seqForward(inp);
    for (let b = 0; b < B; b++) {
      let h = Array.from({ length: H }, (_, j) => inp.h0[b * H + j]);
      let c = Array.from({ length: H }, (_, j) => (inp.c0 ? inp.c0[b * H + j] : 0));
      for (let t = 0; t < T; t++) {
        const x = (j: number) => inp.xProj[(t * B + b) * GH + j];
        const hw = (j: number) => {
          let s = inp.bh ? inp.bh[j] : 0;
          for (let k = 0; k < H; k++) s += h[k] * inp.wh[k * GH + j];
          return s;
        };
        const nh: number[] = [];
        const nc: number[] = [];
        for (let j = 0; j < H; j++) {
          if (kind === 'lstm') {
            const i = sig(x(j) + hw(j)), fg = sig(x(H + j) + hw(H + j));
            const gg = Math.tanh(x(2 * H + j) + hw(2 * H + j)), o = sig(x(3 * H + j) + hw(3 * H + j));
            nc[j] = fg * c[j] + i * gg;
            nh[j] = o * Math.tanh(nc[j]);
          } else if (kind === 'gru') {
            const z = sig(x(j) + hw(j)), r = sig(x(H + j) + hw(H + j));
            const n = Math.tanh(x(2 * H + j) + r * hw(2 * H + j));
            nh[j] = (1 - z) * n + z * h[j];
          } else {
            nh[j] = Math.tanh(x(j) + hw(j));
          }
        }
        for (let j = 0; j < H; j++) {
          assert.ok(Math.abs(f.hs[(t * B + b) * H + j] - nh[j]) < 1e-5, `${kind} h[t=${t},b=${b},j=${j}]`);
          if (kind === 'lstm') assert.ok(Math.abs(f.cs![(t * B + b) * H + j] - nc[j]) < 1e-5, `${kind} c`);
        }
        h = nh;
        c = nc;
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// 2. native kernels against jsKernels

const NATIVE_TOL = 1e-4;
const SIZES: Array<[number, number, number]> = [
  [7, 3, 5],
  [16, 8, 64],
  [5, 1, 16], // batch-1 inference shape
  [6, 11, 40], // rows past a block of 8, a last panel of 8 of 32 columns (recurrent_products.h)
];

// LSTM_LAB_PACKED=0 turns the packed recurrent products off (sgemm instead); the addon reads it per call.
const PRODUCT_PATHS = [{ name: 'packed W_h where the CPU has AVX-512', env: undefined }, { name: 'cblas_sgemm', env: '0' }];

for (const kind of KINDS) {
  for (const [T, B, H] of SIZES) for (const products of PRODUCT_PATHS) {
    test(`native ${kind} T=${T} B=${B} H=${H}, ${products.name}: seqForward/seqBackward equal jsKernels within ${NATIVE_TOL}`, { skip: nativeSkip }, (t) => {
      const before = process.env.LSTM_LAB_PACKED;
      if (products.env === undefined) delete process.env.LSTM_LAB_PACKED;
      else process.env.LSTM_LAB_PACKED = products.env;
      t.after(() => {
        if (before === undefined) delete process.env.LSTM_LAB_PACKED;
        else process.env.LSTM_LAB_PACKED = before;
      });
      const nk = nativeKernels()!;
      const inp = makeInput(kind, T, B, H, 4242 + T * 31 + H);
      const fj = jsKernels.seqForward(inp);
      const fn = nk.seqForward(inp);
      for (const key of ['hs', 'cs', 'gates', 'hn'] as const) {
        const d = maxAbsDiff(fj[key], fn[key]);
        assert.ok(d <= NATIVE_TOL, `forward ${key}: max |js − native| = ${d}`);
      }
      const r = rng(17 + H);
      const dHs = uniform(r, T * B * H, 1);
      const dhT = uniform(r, B * H, 1);
      const dcT = kind === 'lstm' ? uniform(r, B * H, 1) : null;
      const gj = jsKernels.seqBackward({ ...inp, fwd: fj, dHs, dhT, dcT });
      const gn = nk.seqBackward({ ...inp, fwd: fj, dHs, dhT, dcT });
      for (const key of ['dPre', 'dPreH', 'dh0', 'dc0'] as const) {
        const d = maxAbsDiff(gj[key], gn[key]);
        assert.ok(d <= NATIVE_TOL, `backward ${key}: max |js − native| = ${d}`);
      }
      if (kind === 'gru') assert.notEqual(gn.dPreH, gn.dPre);
      else assert.equal(gn.dPreH, gn.dPre, 'native: dPreH is the same array as dPre for lstm/rnn');
      // Not all zero: the comparison is meaningful.
      assert.ok(gn.dPre.some((x) => Math.abs(x) > 1e-3), 'dPre is all ~0');
      assert.ok(gn.dh0.some((x) => Math.abs(x) > 1e-3), 'dh0 is all ~0');
    });
  }
}

test('native: optional inputs (lstm without c0, no dhT/dcT) and a separate dPreH array', { skip: nativeSkip }, () => {
  const nk = nativeKernels()!;
  const addon = nativeAddon()!;
  const inp = makeInput('lstm', 6, 2, 8, 555, false);
  const fj = jsKernels.seqForward(inp);
  const fn = nk.seqForward(inp);
  assert.ok(maxAbsDiff(fj.hs, fn.hs) <= NATIVE_TOL && maxAbsDiff(fj.cs, fn.cs) <= NATIVE_TOL);
  const dHs = uniform(rng(5), 6 * 2 * 8, 1);
  const gj = jsKernels.seqBackward({ ...inp, fwd: fj, dHs, dhT: null, dcT: null });
  const gn = nk.seqBackward({ ...inp, fwd: fj, dHs, dhT: null, dcT: null });
  for (const key of ['dPre', 'dh0', 'dc0'] as const) assert.ok(maxAbsDiff(gj[key], gn[key]) <= NATIVE_TOL, key);
  // The addon also accepts a distinct dPreH for lstm/rnn and fills it with a copy of dPre.
  const n = 6 * 2 * 32;
  const dPre = new Float32Array(n), dPreH = new Float32Array(n), dh0 = new Float32Array(16), dc0 = new Float32Array(16);
  addon.seqBackward('lstm', 6, 2, 8, inp.xProj, inp.wh, null, inp.h0, null, fj.hs, fj.cs, fj.gates, null,
    dHs, null, null, dPre, dPreH, dh0, dc0);
  assert.ok(maxAbsDiff(dPre, gj.dPre) <= NATIVE_TOL);
  assert.deepEqual(dPreH, dPre);
});

test('native: T=0 passes dhT/dcT straight through', { skip: nativeSkip }, () => {
  const inp = makeInput('lstm', 0, 2, 3, 1);
  const f = nativeKernels()!.seqForward(inp);
  assert.equal(f.hs.length, 0);
  const dhT = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const dcT = Float32Array.from([6, 5, 4, 3, 2, 1]);
  const g = nativeKernels()!.seqBackward({ ...inp, fwd: f, dHs: new Float32Array(0), dhT, dcT });
  assert.deepEqual(g.dh0, dhT);
  assert.deepEqual(g.dc0, dcT);
});

// ---------------------------------------------------------------------------------------------
// 3. the 'native' TF.js backend against 'cpu'

async function onBackend(name: string, fn: () => tf.Tensor): Promise<Float32Array> {
  assert.ok(await tf.setBackend(name), `setBackend(${name})`);
  // Quiet the cpu backend's one-time "install tfjs-node" banner.
  const be = tf.engine().registry[name] as unknown as { firstUse?: boolean };
  if (be && 'firstUse' in be) be.firstUse = false;
  const t = tf.tidy(fn);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

test("registerNativeBackend: tf.matMul on 'native' equals 'cpu'", { skip: nativeSkip }, async () => {
  assert.equal(registerNativeBackend(tf), true);
  assert.equal(registerNativeBackend(tf), true, 'idempotent');
  const cpuMatMul = tf.getKernel('BatchMatMul', 'cpu').kernelFunc;
  assert.notEqual(tf.getKernel('BatchMatMul', 'native').kernelFunc, cpuMatMul, 'native BatchMatMul is its own kernel');
  assert.ok(tf.getKernel('Add', 'native'), "the cpu kernels are registered under 'native'");
  const prev = tf.getBackend() || 'cpu';
  try {
    const r = rng(3);
    const M = 5, K = 7, N = 4, Bt = 3;
    const cases: Array<{ name: string; make: () => tf.Tensor }> = [];
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = uniform(r, M * K, 1), b = uniform(r, K * N, 1);
        cases.push({
          name: `rank-2 transposeA=${tA} transposeB=${tB}`,
          make: () => tf.matMul(tf.tensor2d(a, tA ? [K, M] : [M, K]), tf.tensor2d(b, tB ? [N, K] : [K, N]), tA, tB),
        });
        const a3 = uniform(r, Bt * M * K, 1), b3 = uniform(r, Bt * K * N, 1);
        cases.push({
          name: `rank-3 batch transposeA=${tA} transposeB=${tB}`,
          make: () => tf.matMul(tf.tensor3d(a3, tA ? [Bt, K, M] : [Bt, M, K]), tf.tensor3d(b3, tB ? [Bt, N, K] : [Bt, K, N]), tA, tB),
        });
        cases.push({
          name: `rank-2 × rank-3 broadcast transposeA=${tA} transposeB=${tB}`,
          make: () => tf.matMul(tf.tensor2d(a, tA ? [K, M] : [M, K]), tf.tensor3d(b3, tB ? [Bt, N, K] : [Bt, K, N]), tA, tB),
        });
        cases.push({
          name: `rank-3 × rank-2 broadcast transposeA=${tA} transposeB=${tB}`,
          make: () => tf.matMul(tf.tensor3d(a3, tA ? [Bt, K, M] : [Bt, M, K]), tf.tensor2d(b, tB ? [N, K] : [K, N]), tA, tB),
        });
      }
    }
    const a = uniform(r, M * K, 1), b = uniform(r, K * N, 1), bias = uniform(r, N, 1);
    for (const activation of ['linear', 'relu', 'sigmoid', 'elu', 'relu6', 'leakyrelu'] as const) {
      cases.push({
        name: `fused matMul + bias + ${activation}`,
        make: () => tf.fused.matMul({ a: tf.tensor2d(a, [M, K]), b: tf.tensor2d(b, [K, N]), bias: tf.tensor1d(bias), activation }),
      });
    }
    cases.push({
      name: 'gradient of sum(matMul(a, b)) w.r.t. a',
      make: () => tf.grad((x: tf.Tensor) => tf.matMul(x as tf.Tensor2D, tf.tensor2d(b, [K, N])).sum())(tf.tensor2d(a, [M, K])),
    });
    for (const c of cases) {
      const want = await onBackend('cpu', c.make);
      const got = await onBackend('native', c.make);
      assert.equal(got.length, want.length, `${c.name}: size`);
      const d = maxAbsDiff(want, got);
      assert.ok(d <= 1e-4, `${c.name}: max |cpu − native| = ${d}`);
    }
    // And a shape check on the rank-3 batch result.
    await tf.setBackend('native');
    const t = tf.matMul(tf.ones([2, 3, 4]), tf.ones([2, 4, 5]));
    assert.deepEqual(t.shape, [2, 3, 5]);
    assert.deepEqual(Array.from(t.dataSync()).slice(0, 3), [4, 4, 4]);
    t.dispose();
  } finally {
    await tf.setBackend(prev);
  }
});

// ---------------------------------------------------------------------------------------------
// 4. addon input validation

test('native addon: wrong lengths and types throw clear errors', { skip: nativeSkip }, () => {
  const addon = nativeAddon()!;
  const T = 2, B = 2, H = 3, GH = 4 * H;
  const xProj = new Float32Array(T * B * GH), wh = new Float32Array(H * GH), h0 = new Float32Array(B * H);
  const c0 = new Float32Array(B * H), hs = new Float32Array(T * B * H), cs = new Float32Array(T * B * H);
  const gates = new Float32Array(T * B * GH);
  // baseline works
  addon.seqForward('lstm', T, B, H, xProj, wh, null, h0, c0, hs, cs, gates, null);
  assert.throws(
    () => addon.seqForward('lstm', T, B, H, new Float32Array(T * B * GH - 1), wh, null, h0, c0, hs, cs, gates, null),
    (e: Error) => e instanceof RangeError && /xProj has length 47, expected .* = 48/.test(e.message),
  );
  assert.throws(
    () => addon.seqForward('lstm', T, B, H, xProj, wh, null, h0, c0, new Float32Array(5), cs, gates, null),
    (e: Error) => e instanceof RangeError && /hs has length 5/.test(e.message),
  );
  assert.throws(
    () => addon.seqForward('lstm', T, B, H, xProj, wh, null, h0, c0, hs, null, gates, null),
    (e: Error) => e instanceof TypeError && /cs must be a Float32Array/.test(e.message),
  );
  assert.throws(
    () => addon.seqForward('lstm', T, B, H, xProj, new Float64Array(H * GH) as unknown as Float32Array, null, h0, c0, hs, cs, gates, null),
    (e: Error) => e instanceof TypeError && /wh must be a Float32Array/.test(e.message),
  );
  assert.throws(
    () => addon.seqForward('lstn' as CellKind, T, B, H, xProj, wh, null, h0, c0, hs, cs, gates, null),
    (e: Error) => e instanceof TypeError && /kind must be/.test(e.message),
  );
  assert.throws(
    () => addon.seqForward('lstm', T, 1.5, H, xProj, wh, null, h0, c0, hs, cs, gates, null),
    (e: Error) => e instanceof RangeError && /B must be an integer/.test(e.message),
  );
  assert.throws(
    () => addon.seqForward('lstm', T, B, H, xProj, wh, null, h0, c0, hs, cs, xProj, null),
    (e: Error) => /gates overlaps xProj/.test(e.message),
  );
  // backward: GRU needs separate dPre/dPreH, wrong dHs length
  const G3 = 3 * H;
  const gx = new Float32Array(T * B * G3), gw = new Float32Array(H * G3), gg = new Float32Array(T * B * G3);
  const hn = new Float32Array(T * B * H), dHs = new Float32Array(T * B * H), dPre = new Float32Array(T * B * G3);
  assert.throws(
    () => addon.seqBackward('gru', T, B, H, gx, gw, null, h0, null, hs, null, gg, hn, dHs, null, null, dPre, dPre, new Float32Array(B * H), null),
    (e: Error) => e instanceof RangeError && /dPre and dPreH must be separate/.test(e.message),
  );
  assert.throws(
    () => addon.seqBackward('gru', T, B, H, gx, gw, null, h0, null, hs, null, gg, hn, new Float32Array(3), null, null, dPre,
      new Float32Array(T * B * G3), new Float32Array(B * H), null),
    (e: Error) => e instanceof RangeError && /dHs has length 3/.test(e.message),
  );
  // sgemm: row-major 2×3 · 3×2
  const A = Float32Array.from([1, 2, 3, 4, 5, 6]), Bm = Float32Array.from([1, 0, 0, 1, 1, 1]), C = new Float32Array(4);
  addon.sgemm(false, false, 2, 2, 3, 1, A, 3, Bm, 2, 0, C, 2);
  assert.deepEqual(Array.from(C), [4, 5, 10, 11]);
  assert.throws(
    () => addon.sgemm(false, false, 2, 2, 3, 1, A, 3, Bm, 2, 0, new Float32Array(3), 2),
    (e: Error) => e instanceof RangeError && /C has length 3, needs at least 4/.test(e.message),
  );
  assert.throws(
    () => addon.sgemm(false, false, 2, 2, 3, 1, A.subarray(1), 3, Bm, 2, 0, C, 2),
    (e: Error) => e instanceof RangeError && /A has length 5/.test(e.message),
  );
  assert.throws(
    () => addon.sgemm(false, false, 2, 2, 3, 1, A, 2, Bm, 2, 0, C, 2),
    (e: Error) => e instanceof RangeError && /lda=2 must be >= 3/.test(e.message),
  );
  assert.throws(
    () => (addon.sgemm as unknown as (...a: unknown[]) => void)(false, false, 2, 2, 3, 1, A, 3, Bm, 2, 0, C),
    (e: Error) => e instanceof TypeError && /expected 13 arguments/.test(e.message),
  );
});

test('nativeStatus never throws and explains itself', () => {
  const s = nativeStatus();
  assert.equal(typeof s.available, 'boolean');
  if (!s.available) assert.ok(s.reason && s.reason.length > 0, 'a reason is given when unavailable');
  else {
    assert.ok(s.blas, 'the BLAS path is reported');
    assert.ok((s.threads ?? 0) >= 1);
  }
});
