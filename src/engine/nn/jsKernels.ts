/**
 * Pure TypeScript implementation of the recurrence kernel contract (see kernels.ts).
 *
 * It is the fallback for batch-1 sampling and tracing when the native addon is absent, and the
 * reference the native kernels are tested against. It follows the contract literally:
 *
 *   a_t = xProj_t + h_{t-1}·W_h (+ bh)                              pre-activations, [B, G·H]
 *   lstm [i|f|g|o]: c_t = f⊙c_{t-1} + i⊙g,   h_t = o⊙tanh(c_t)
 *   gru  [z|r|n]:   n = tanh(x_n + r⊙(hW_n + bh_n)),   h_t = (1−z)⊙n + z⊙h_{t-1}
 *   rnn  [a]:       h_t = tanh(a)
 *
 * Performance notes: every inner loop runs over contiguous memory. h_{t-1}·W_h is computed row by
 * row of W_h (k outer, four rows at a time; output column j inner), the backward dPreH·W_hᵀ as
 * contiguous dot products per (b, k), four rows of W_h at a time. The gates output row doubles as
 * the pre-activation scratch, so the time loop allocates nothing.
 */

import { GATES, RecurrenceKernels, SeqBackwardInput, SeqBackwardOutput, SeqForwardInput, SeqForwardOutput } from './kernels';

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function checkLength(name: string, arr: Float32Array | null, expected: number, required: boolean): void {
  if (arr === null || arr === undefined) {
    if (required) throw new TypeError(`jsKernels: ${name} is required (expected Float32Array of length ${expected})`);
    return;
  }
  if (!(arr instanceof Float32Array)) throw new TypeError(`jsKernels: ${name} must be a Float32Array`);
  if (arr.length !== expected) {
    throw new RangeError(`jsKernels: ${name} has length ${arr.length}, expected ${expected}`);
  }
}

function checkShape(T: number, B: number, H: number): void {
  for (const [n, v, min] of [['T', T, 0], ['B', B, 1], ['H', H, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`jsKernels: ${n} must be an integer >= ${min}, got ${v}`);
  }
}

function checkForwardInputs(inp: SeqForwardInput): void {
  const { kind, T, B, H } = inp;
  if (!(kind in GATES)) throw new TypeError(`jsKernels: unknown cell kind '${String(kind)}'`);
  checkShape(T, B, H);
  const GH = GATES[kind] * H;
  checkLength('xProj', inp.xProj, T * B * GH, true);
  checkLength('wh', inp.wh, H * GH, true);
  checkLength('bh', inp.bh, GH, false);
  checkLength('h0', inp.h0, B * H, true);
  checkLength('c0', inp.c0, B * H, false);
}

/**
 * pre[b, :] += Σ_k hPrev[b, k]·wh[k, :]   (M=B, N=GH, K=H)
 * k outer (four rows of wh at a time, so each pre element is loaded and stored once per four
 * rows), output column j inner: every access is contiguous. `pre` is a [B, GH] window at `preOff`.
 */
function addHW(
  pre: Float32Array, preOff: number,
  hPrev: Float32Array, hOff: number,
  wh: Float32Array, B: number, H: number, GH: number,
): void {
  for (let b = 0; b < B; b++) {
    const row = preOff + b * GH;
    const hrow = hOff + b * H;
    let k = 0;
    for (; k + 4 <= H; k += 4) {
      const h0 = hPrev[hrow + k], h1 = hPrev[hrow + k + 1], h2 = hPrev[hrow + k + 2], h3 = hPrev[hrow + k + 3];
      const w0 = k * GH, w1 = w0 + GH, w2 = w1 + GH, w3 = w2 + GH;
      for (let j = 0; j < GH; j++) {
        pre[row + j] += h0 * wh[w0 + j] + h1 * wh[w1 + j] + h2 * wh[w2 + j] + h3 * wh[w3 + j];
      }
    }
    for (; k < H; k++) {
      const hk = hPrev[hrow + k];
      const w = k * GH;
      for (let j = 0; j < GH; j++) pre[row + j] += hk * wh[w + j];
    }
  }
}

/**
 * out[b, k] (+)= Σ_j d[b, j]·wh[k, j]   i.e. out = d·W_hᵀ  (M=B, N=H, K=GH)
 * One contiguous dot product per (b, k), four rows of wh at a time sharing each load of d.
 * With accumulate=false out is overwritten.
 */
function mulWhT(
  out: Float32Array, d: Float32Array, dOff: number,
  wh: Float32Array, B: number, H: number, GH: number, accumulate: boolean,
): void {
  for (let b = 0; b < B; b++) {
    const row = dOff + b * GH;
    const o = b * H;
    let k = 0;
    for (; k + 4 <= H; k += 4) {
      const w0 = k * GH, w1 = w0 + GH, w2 = w1 + GH, w3 = w2 + GH;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < GH; j++) {
        const dj = d[row + j];
        s0 += dj * wh[w0 + j];
        s1 += dj * wh[w1 + j];
        s2 += dj * wh[w2 + j];
        s3 += dj * wh[w3 + j];
      }
      if (accumulate) {
        out[o + k] += s0; out[o + k + 1] += s1; out[o + k + 2] += s2; out[o + k + 3] += s3;
      } else {
        out[o + k] = s0; out[o + k + 1] = s1; out[o + k + 2] = s2; out[o + k + 3] = s3;
      }
    }
    for (; k < H; k++) {
      const w = k * GH;
      let s = 0;
      for (let j = 0; j < GH; j++) s += d[row + j] * wh[w + j];
      out[o + k] = accumulate ? out[o + k] + s : s;
    }
  }
}

function seqForward(inp: SeqForwardInput): SeqForwardOutput {
  checkForwardInputs(inp);
  const { kind, T, B, H, xProj, wh, bh, h0, c0 } = inp;
  const G = GATES[kind];
  const GH = G * H;
  const BH = B * H;

  const hs = new Float32Array(T * BH); // [T, B, H]
  const cs = kind === 'lstm' ? new Float32Array(T * BH) : null; // [T, B, H]
  const gates = new Float32Array(T * B * GH); // [T, B, G·H]
  const hn = kind === 'gru' ? new Float32Array(T * BH) : null; // [T, B, H]

  for (let t = 0; t < T; t++) {
    // h_{t-1}: h0 at t=0, else hs[t-1]
    const hPrev = t === 0 ? h0 : hs;
    const hPrevOff = t === 0 ? 0 : (t - 1) * BH;
    const gOff = t * B * GH; // gates[t] doubles as the pre-activation buffer
    const xOff = t * B * GH;

    if (kind === 'gru') {
      // gates[t] ← h_{t-1}·W_h + bh   (kept apart from xProj: r multiplies the n block of it)
      for (let b = 0; b < B; b++) {
        const row = gOff + b * GH;
        if (bh) for (let j = 0; j < GH; j++) gates[row + j] = bh[j];
      }
      addHW(gates, gOff, hPrev, hPrevOff, wh, B, H, GH);
      const hnv = hn!;
      for (let b = 0; b < B; b++) {
        const row = gOff + b * GH; // [z | r | n] within gates
        const xrow = xOff + b * GH;
        const hrow = t * BH + b * H;
        const prow = hPrevOff + b * H;
        for (let j = 0; j < H; j++) {
          const z = sigmoid(xProj[xrow + j] + gates[row + j]); //            z = σ(x_z + hW_z + bh_z)
          const r = sigmoid(xProj[xrow + H + j] + gates[row + H + j]); //    r = σ(x_r + hW_r + bh_r)
          const hnj = gates[row + 2 * H + j]; //                             hn = hW_n + bh_n
          const n = Math.tanh(xProj[xrow + 2 * H + j] + r * hnj); //         n = tanh(x_n + r⊙hn)
          gates[row + j] = z;
          gates[row + H + j] = r;
          gates[row + 2 * H + j] = n;
          hnv[hrow + j] = hnj;
          hs[hrow + j] = (1 - z) * n + z * hPrev[prow + j]; //               h = (1−z)⊙n + z⊙h_{t-1}
        }
      }
      continue;
    }

    // lstm / rnn: gates[t] ← xProj_t (+ bh) + h_{t-1}·W_h  = a_t
    gates.set(xProj.subarray(xOff, xOff + B * GH), gOff);
    if (bh) {
      for (let b = 0; b < B; b++) {
        const row = gOff + b * GH;
        for (let j = 0; j < GH; j++) gates[row + j] += bh[j];
      }
    }
    addHW(gates, gOff, hPrev, hPrevOff, wh, B, H, GH);

    if (kind === 'rnn') {
      for (let b = 0; b < B; b++) {
        const row = gOff + b * H;
        const hrow = t * BH + b * H;
        for (let j = 0; j < H; j++) {
          const h = Math.tanh(gates[row + j]); // h_t = tanh(a)
          gates[row + j] = h; //                   rnn "gates" = h itself
          hs[hrow + j] = h;
        }
      }
      continue;
    }

    // lstm [i | f | g | o]
    const csv = cs!;
    const cPrev = t === 0 ? c0 : csv;
    for (let b = 0; b < B; b++) {
      const row = gOff + b * GH;
      const hrow = t * BH + b * H;
      const prow = hPrevOff + b * H;
      for (let j = 0; j < H; j++) {
        const i = sigmoid(gates[row + j]); //              i = σ(a_i)
        const f = sigmoid(gates[row + H + j]); //          f = σ(a_f)
        const g = Math.tanh(gates[row + 2 * H + j]); //    g = tanh(a_g)
        const o = sigmoid(gates[row + 3 * H + j]); //      o = σ(a_o)
        const cp = cPrev ? cPrev[prow + j] : 0;
        const c = f * cp + i * g; //                       c_t = f⊙c_{t-1} + i⊙g
        gates[row + j] = i;
        gates[row + H + j] = f;
        gates[row + 2 * H + j] = g;
        gates[row + 3 * H + j] = o;
        csv[hrow + j] = c;
        hs[hrow + j] = o * Math.tanh(c); //                h_t = o⊙tanh(c_t)
      }
    }
  }
  return { hs, cs, gates, hn };
}

function seqBackward(inp: SeqBackwardInput): SeqBackwardOutput {
  checkForwardInputs(inp);
  const { kind, T, B, H, wh, h0, c0, fwd, dHs, dhT, dcT } = inp;
  const G = GATES[kind];
  const GH = G * H;
  const BH = B * H;
  checkLength('fwd.hs', fwd.hs, T * BH, true);
  checkLength('fwd.cs', fwd.cs, T * BH, kind === 'lstm');
  checkLength('fwd.gates', fwd.gates, T * B * GH, true);
  checkLength('fwd.hn', fwd.hn, T * BH, kind === 'gru');
  checkLength('dHs', dHs, T * BH, true);
  checkLength('dhT', dhT, BH, false);
  checkLength('dcT', dcT, BH, false);
  const { hs, cs, gates, hn } = fwd;

  const dPre = new Float32Array(T * B * GH); // [T, B, G·H]  dL/dxProj
  const dPreH = kind === 'gru' ? new Float32Array(T * B * GH) : dPre; // [T, B, G·H]  dL/d(hW_h + bh)
  // dh0 doubles as the carry dL/dh_{t} flowing back from step t+1; dc0 likewise for c.
  const dh0 = new Float32Array(BH);
  const dc0 = kind === 'lstm' ? new Float32Array(BH) : null;
  if (dhT) dh0.set(dhT);
  if (dc0 && dcT) dc0.set(dcT);
  const dh = new Float32Array(BH); // total dL/dh_t at the current step, [B, H]

  for (let t = T - 1; t >= 0; t--) {
    const hPrev = t === 0 ? h0 : hs;
    const hPrevOff = t === 0 ? 0 : (t - 1) * BH;
    const gOff = t * B * GH;

    // dh = dHs_t + carry
    for (let q = 0; q < BH; q++) dh[q] = dHs[t * BH + q] + dh0[q];

    if (kind === 'lstm') {
      const csv = cs!;
      const dcv = dc0!;
      const cPrev = t === 0 ? c0 : csv;
      for (let b = 0; b < B; b++) {
        const row = gOff + b * GH;
        const hrow = t * BH + b * H;
        const prow = hPrevOff + b * H;
        for (let j = 0; j < H; j++) {
          const i = gates[row + j], f = gates[row + H + j], g = gates[row + 2 * H + j], o = gates[row + 3 * H + j];
          const tc = Math.tanh(csv[hrow + j]);
          const dhj = dh[b * H + j];
          const dc = dcv[b * H + j] + dhj * o * (1 - tc * tc); // dc_t = carry + dh⊙o⊙(1−tanh²c)
          const cp = cPrev ? cPrev[prow + j] : 0;
          dPre[row + j] = dc * g * i * (1 - i); //               da_i = dc⊙g⊙i(1−i)
          dPre[row + H + j] = dc * cp * f * (1 - f); //          da_f = dc⊙c_{t-1}⊙f(1−f)
          dPre[row + 2 * H + j] = dc * i * (1 - g * g); //       da_g = dc⊙i⊙(1−g²)
          dPre[row + 3 * H + j] = dhj * tc * o * (1 - o); //     da_o = dh⊙tanh(c)⊙o(1−o)
          dcv[b * H + j] = dc * f; //                            dc_{t-1} = dc⊙f
        }
      }
    } else if (kind === 'rnn') {
      for (let b = 0; b < B; b++) {
        const row = gOff + b * H;
        for (let j = 0; j < H; j++) {
          const h = gates[row + j];
          dPre[row + j] = dh[b * H + j] * (1 - h * h); //        da = dh⊙(1−h²)
        }
      }
    } else {
      const hnv = hn!;
      for (let b = 0; b < B; b++) {
        const row = gOff + b * GH;
        const hrow = t * BH + b * H;
        const prow = hPrevOff + b * H;
        for (let j = 0; j < H; j++) {
          const z = gates[row + j], r = gates[row + H + j], n = gates[row + 2 * H + j];
          const dhj = dh[b * H + j];
          const dan = dhj * (1 - z) * (1 - n * n); //                   da_n = dh⊙(1−z)⊙(1−n²)
          dPre[row + j] = dhj * (hPrev[prow + j] - n) * z * (1 - z); // da_z = dh⊙(h_{t-1}−n)⊙z(1−z)
          dPre[row + H + j] = dan * hnv[hrow + j] * r * (1 - r); //     da_r = da_n⊙hn⊙r(1−r)
          dPre[row + 2 * H + j] = dan; //                               d x_n = da_n
          dPreH[row + j] = dPre[row + j];
          dPreH[row + H + j] = dPre[row + H + j];
          dPreH[row + 2 * H + j] = dan * r; //                          d hn = da_n⊙r
        }
      }
    }

    // carry: dh_{t-1} = (gru: dh⊙z) + dPreH_t·W_hᵀ
    if (kind === 'gru') {
      for (let b = 0; b < B; b++) {
        const row = gOff + b * GH;
        for (let k = 0; k < H; k++) dh0[b * H + k] = dh[b * H + k] * gates[row + k]; // dh⊙z
      }
    }
    mulWhT(dh0, dPreH, gOff, wh, B, H, GH, kind === 'gru');
  }
  return { dPre, dPreH, dh0, dc0 };
}

export const jsKernels: RecurrenceKernels = { name: 'js', seqForward, seqBackward };
