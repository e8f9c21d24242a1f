/**
 * The native addon (native/lstm_lab.cc): recurrence kernels on OpenBLAS sgemm + fused pointwise
 * loops, and a TensorFlow.js backend 'native' (the cpu backend with BatchMatMul/_FusedMatMul on
 * sgemm).
 *
 * The addon is optional: loading never throws. `nativeStatus()` says whether it loaded, which
 * BLAS it found, and why not when it did not; `nativeKernels` is null when unavailable.
 *
 * Where it is looked for: $LSTM_LAB_NATIVE (an explicit path to lstm_lab.node), else
 * native/build/Release/lstm_lab.node under the package root (this file is compiled to
 * out/src/engine/runtime/native.js, four levels below the root). Build it with `node native/build.js`.
 */

import * as path from 'path';
import * as fs from 'fs';
import type * as tfjs from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { DropoutRowsKernel } from '../nn/dropout';
import {
  CellKind,
  GATES,
  RecurrenceKernels,
  SeqBackwardInput,
  SeqBackwardOutput,
  SeqForwardInput,
  SeqForwardOutput,
} from '../nn/kernels';

/** What the addon's info() returns. */
export interface NativeInfo {
  available: boolean;
  reason?: string;
  /** The BLAS library file actually loaded ("" when none). */
  blas: string;
  /** openblas_get_config(), when the library is OpenBLAS. */
  config?: string;
  /** True when the loaded BLAS is OpenBLAS (the reference BLAS is ~100x slower). */
  openblas: boolean;
  threads: number;
}

/** The raw addon interface (row-major float32; every array length is validated by the addon). */
export interface NativeAddon {
  info(): NativeInfo;
  setThreads(n: number): number;
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void;
  seqForward(
    kind: CellKind, T: number, B: number, H: number,
    xProj: Float32Array, wh: Float32Array, bh: Float32Array | null, h0: Float32Array, c0: Float32Array | null,
    hs: Float32Array, cs: Float32Array | null, gates: Float32Array, hn: Float32Array | null,
  ): void;
  seqBackward(
    kind: CellKind, T: number, B: number, H: number,
    xProj: Float32Array, wh: Float32Array, bh: Float32Array | null, h0: Float32Array, c0: Float32Array | null,
    hs: Float32Array, cs: Float32Array | null, gates: Float32Array, hn: Float32Array | null,
    dHs: Float32Array, dhT: Float32Array | null, dcT: Float32Array | null,
    dPre: Float32Array, dPreH: Float32Array, dh0: Float32Array, dc0: Float32Array | null,
  ): void;
  /** optimizer.ts's Adam loop (OptimiserLoops.adam), in place on p, m, v. */
  adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, scale: number, beta1: number, beta2: number, stepSize: number, eps: number): void;
  /** optimizer.ts's RMSProp loop (OptimiserLoops.rmsprop), in place on p, ms. */
  rmspropUpdate(p: Float32Array, g: Float32Array, ms: Float32Array, scale: number, decay: number, lr: number, eps: number): void;
  /** out = Σ_w weights[w]·grads[w·P … (w+1)·P) in double, rounded once; returns Σ out². */
  weightedGradientSum(grads: Float32Array, weights: number[], out: Float32Array): number;
  /**
   * linalg.ts's softmaxCrossEntropy over N rows of V logits (native/output_kernels.h): returns
   * Σ_r w_r·(log Σ exp z_r − z_r[target]), and with dLogits writes (softmax − onehot)·w_r/total there.
   */
  softmaxCrossEntropy(N: number, V: number, logits: Float32Array, targets: Int32Array, weights: Float32Array | null, total: number, dLogits: Float32Array | null): number;
  /** out[r] = table[ids[r]] (+ bias), rows of D (native/row_kernels.h); an id outside [0, V) throws. */
  gatherRows(V: number, D: number, table: Float32Array, ids: Int32Array, bias: Float32Array | null, out: Float32Array): void;
  /** out[ids[r]] += x[r], rows of D, in order of r (native/row_kernels.h). */
  scatterAddRows(V: number, D: number, ids: Int32Array, x: Float32Array, out: Float32Array): void;
  /** out = x ⊙ a dropout mask, drawn as nn/dropout.ts's dropoutMask draws it (maskedRows calls it). */
  dropoutRows: DropoutRowsKernel;
}

export interface NativeStatus {
  available: boolean;
  reason?: string;
  /** Path of the loaded BLAS library. */
  blas?: string;
  /** Whether that BLAS is OpenBLAS, and its build configuration. */
  openblas?: boolean;
  config?: string;
  threads?: number;
  /** Path of the addon file that was loaded (or tried). */
  addon?: string;
}

function addonCandidates(): string[] {
  const explicit = process.env.LSTM_LAB_NATIVE;
  if (explicit) return [path.resolve(explicit)];
  return [
    // compiled: out/src/engine/runtime/native.js -> <root>/native/build/Release
    path.resolve(__dirname, '..', '..', '..', '..', 'native', 'build', 'Release', 'lstm_lab.node'),
    // run from source (src/engine/runtime/native.ts) -> <root>/native/build/Release
    path.resolve(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'lstm_lab.node'),
  ];
}

function loadAddon(): { addon: NativeAddon | null; status: NativeStatus } {
  const candidates = addonCandidates();
  const file = candidates.find((p) => fs.existsSync(p));
  if (!file) {
    const why = process.env.LSTM_LAB_NATIVE
      ? `LSTM_LAB_NATIVE=${process.env.LSTM_LAB_NATIVE} does not exist`
      : `native addon not built (no ${candidates[0]}; run \`node native/build.js\`)`;
    return { addon: null, status: { available: false, reason: why } };
  }
  let addon: NativeAddon;
  try {
    // process.dlopen rather than require: immune to bundlers rewriting require().
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, file);
    addon = mod.exports;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { addon: null, status: { available: false, reason: `failed to load ${file}: ${msg}`, addon: file } };
  }
  try {
    const info = addon.info();
    const status: NativeStatus = {
      available: info.available,
      blas: info.blas || undefined,
      openblas: info.openblas,
      config: info.config,
      threads: info.threads,
      addon: file,
    };
    if (!info.available) status.reason = info.reason ?? 'BLAS unavailable';
    return { addon: info.available ? addon : null, status };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { addon: null, status: { available: false, reason: `${file}: info() failed: ${msg}`, addon: file } };
  }
}

// Loaded on first use, so a host can set LSTM_LAB_NATIVE (the addon's path in its bundle) first.
let loadedState: ReturnType<typeof loadAddon> | null = null;
function addonState(): ReturnType<typeof loadAddon> {
  return (loadedState ??= loadAddon());
}

/** Whether the native addon loaded (and found a BLAS), and if not, why. Never throws. */
export function nativeStatus(): NativeStatus {
  const loaded = addonState();
  const s = { ...loaded.status };
  if (loaded.addon) s.threads = loaded.addon.info().threads;
  return s;
}

/** The raw addon, or null when unavailable. */
export function nativeAddon(): NativeAddon | null {
  return addonState().addon;
}

/** Sets the BLAS thread count (OpenBLAS only); returns the count now in use, 0 when unavailable. */
export function setNativeThreads(n: number): number {
  const addon = addonState().addon;
  return addon ? addon.setThreads(n) : 0;
}

function checkKind(kind: CellKind): number {
  const G = GATES[kind];
  if (G === undefined) throw new TypeError(`native kernels: unknown cell kind '${String(kind)}'`);
  return G;
}

function makeNativeKernels(addon: NativeAddon): RecurrenceKernels {
  return {
    name: 'native',
    seqForward(inp: SeqForwardInput): SeqForwardOutput {
      const { kind, T, B, H } = inp;
      const G = checkKind(kind);
      const hs = new Float32Array(T * B * H);
      const cs = kind === 'lstm' ? new Float32Array(T * B * H) : null;
      const gates = new Float32Array(T * B * G * H);
      const hn = kind === 'gru' ? new Float32Array(T * B * H) : null;
      addon.seqForward(kind, T, B, H, inp.xProj, inp.wh, inp.bh, inp.h0, inp.c0, hs, cs, gates, hn);
      return { hs, cs, gates, hn };
    },
    seqBackward(inp: SeqBackwardInput): SeqBackwardOutput {
      const { kind, T, B, H, fwd } = inp;
      const G = checkKind(kind);
      const dPre = new Float32Array(T * B * G * H);
      const dPreH = kind === 'gru' ? new Float32Array(T * B * G * H) : dPre; // same array for lstm/rnn
      const dh0 = new Float32Array(B * H);
      const dc0 = kind === 'lstm' ? new Float32Array(B * H) : null;
      addon.seqBackward(
        kind, T, B, H, inp.xProj, inp.wh, inp.bh, inp.h0, inp.c0, fwd.hs, fwd.cs, fwd.gates, fwd.hn,
        inp.dHs, inp.dhT, inp.dcT, dPre, dPreH, dh0, dc0,
      );
      return { dPre, dPreH, dh0, dc0 };
    },
  };
}

/** The native recurrence kernels, or null when the addon (or its BLAS) is unavailable. */
let kernels: RecurrenceKernels | null | undefined;
/** The addon's recurrence kernels, or null when it is unavailable. */
export function nativeKernels(): RecurrenceKernels | null {
  if (kernels === undefined) {
    const addon = addonState().addon;
    kernels = addon ? makeNativeKernels(addon) : null;
  }
  return kernels;
}

// ---------------------------------------------------------------------------------------------
// TensorFlow.js backend 'native'

type Tf = typeof tfjs;
interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}
interface FusedAttrs extends MatMulAttrs {
  activation?: string;
  leakyreluAlpha?: number;
}

const registeredWith = new WeakSet<object>();

function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function f32Values(backend: MathBackendCPU, t: TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

function makeBatchMatMul(tf: Tf, addon: NativeAddon): KernelFunc {
  const cpu = tf.getKernel('BatchMatMul', 'cpu').kernelFunc;
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    const aVals = f32Values(backend, a);
    const bVals = f32Values(backend, b);
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    if (!aVals || !bVals || aRank < 2 || bRank < 2) return cpu(args);
    const K = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
    const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
    const M = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
    const N = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
    if (K !== kB) return cpu(args); // the cpu kernel throws TF.js's own error message
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = sizeOf(outerA);
    const batchB = sizeOf(outerB);
    // Batch dims: equal, or one side a single matrix broadcast over the other's batch.
    let outer: number[];
    if (outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])) outer = outerA;
    else if (batchB === 1) outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    else if (batchA === 1) outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    else return cpu(args);
    const batch = sizeOf(outer);
    if (batch !== Math.max(batchA, batchB)) return cpu(args);
    const out = new Float32Array(batch * M * N);
    if (M > 0 && N > 0 && K > 0 && batch > 0) {
      const lda = transposeA ? M : K;
      const ldb = transposeB ? K : N;
      if (batchB === 1 && !transposeA && batchA === batch) {
        // A's batch stacks into one (batch·M)×K matrix times the shared B: one sgemm.
        addon.sgemm(false, transposeB, batch * M, N, K, 1, aVals, K, bVals, ldb, 0, out, N);
      } else {
        const sa = M * K, sb = K * N, so = M * N;
        for (let i = 0; i < batch; i++) {
          const ao = batchA === 1 ? 0 : i * sa;
          const bo = batchB === 1 ? 0 : i * sb;
          addon.sgemm(
            transposeA, transposeB, M, N, K, 1,
            aVals.subarray(ao, ao + sa), lda, bVals.subarray(bo, bo + sb), ldb,
            0, out.subarray(i * so, (i + 1) * so), N,
          );
        }
      }
    }
    return backend.makeTensorInfo([...outer, M, N], 'float32', out);
  };
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: 'Relu',
  elu: 'Elu',
  relu6: 'Relu6',
  sigmoid: 'Sigmoid',
  prelu: 'Prelu',
  leakyrelu: 'LeakyRelu',
};

const activationNeeded = (activation: string | undefined): boolean => !!activation && activation !== 'linear';

function makeFusedMatMul(tf: Tf, addon: NativeAddon, batchMatMul: KernelFunc): KernelFunc {
  const cpu = tf.getKernel('_FusedMatMul', 'cpu').kernelFunc;
  const cpuKernel = (name: string): KernelFunc => tf.getKernel(name, 'cpu').kernelFunc;
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo;
    };
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as FusedAttrs;
    if (activation && activation !== 'linear' && !(activation in ACTIVATION_KERNELS)) return cpu(args);
    // The common case, x·W + b with 2-D operands and a bias row: the bias is copied into every row of
    // the output and sgemm adds the product to it (beta = 1). TF.js's broadcasting Add, which walks
    // indices element by element, took most of an input projection's time (bench).
    const aVals = f32Values(backend, a), bVals = f32Values(backend, b);
    const biasValues = bias ? f32Values(backend, bias) : null;
    // (tf.fused.matMul hands the kernel rank-3 operands: a batch of one is the 2-D case.)
    const single = (t: TensorInfo) => t.shape.length >= 2 && sizeOf(t.shape.slice(0, -2)) === 1;
    if (aVals && bVals && biasValues && single(a) && single(b) && !activationNeeded(activation)) {
      const [ra, ca] = a.shape.slice(-2), [rb, cb] = b.shape.slice(-2);
      const M = transposeA ? ca : ra, K = transposeA ? ra : ca;
      const kB = transposeB ? cb : rb, N = transposeB ? rb : cb;
      if (K === kB && biasValues.length === N && sizeOf(bias!.shape) === N) {
        const out = new Float32Array(M * N);
        for (let o = 0; o < out.length; o += N) out.set(biasValues, o);
        if (K > 0 && M > 0 && N > 0) addon.sgemm(transposeA, transposeB, M, N, K, 1, aVals, transposeA ? M : K, bVals, transposeB ? K : N, 1, out, N);
        const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
        return backend.makeTensorInfo([...outer, M, N], 'float32', out);
      }
    }
    let cur = batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } }) as TensorInfo;
    if (bias) {
      const next = cpuKernel('Add')({ inputs: { a: cur, b: bias }, backend, attrs: {} }) as TensorInfo;
      backend.disposeIntermediateTensorInfo(cur);
      cur = next;
    }
    if (activation && activation !== 'linear') {
      const kernel = cpuKernel(ACTIVATION_KERNELS[activation]);
      let next: TensorInfo;
      if (activation === 'prelu') {
        next = kernel({ inputs: { x: cur, alpha: preluActivationWeights! }, backend, attrs: {} }) as TensorInfo;
      } else if (activation === 'leakyrelu') {
        next = kernel({ inputs: { x: cur }, backend, attrs: { alpha: leakyreluAlpha ?? 0.2 } }) as TensorInfo;
      } else {
        next = kernel({ inputs: { x: cur }, backend, attrs: {} }) as TensorInfo;
      }
      backend.disposeIntermediateTensorInfo(cur);
      cur = next;
    }
    return cur;
  };
}

/**
 * Registers the TensorFlow.js backend 'native': a MathBackendCPU with every 'cpu' kernel, except
 * BatchMatMul and _FusedMatMul, which run on the addon's sgemm. Select it with
 * `await tf.setBackend('native')`. Priority 0 by default, so it is never picked over 'cpu'
 * implicitly. Returns false (registering nothing) when the addon is unavailable. Idempotent.
 */
export function registerNativeBackend(tf: Tf, options: { priority?: number } = {}): boolean {
  const addon = addonState().addon;
  if (!addon) return false;
  if (registeredWith.has(tf)) return true;
  const hasFactory = (() => {
    try {
      return !!tf.findBackendFactory('native');
    } catch {
      return false;
    }
  })();
  const hasKernel = (() => {
    try {
      return !!tf.getKernel('BatchMatMul', 'native');
    } catch {
      return false;
    }
  })();
  if (hasFactory && hasKernel) {
    registeredWith.add(tf);
    return true;
  }
  // Lazy: only pull in the cpu backend package when the backend is actually wanted.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { MathBackendCPU: CpuBackend } = require('@tensorflow/tfjs-backend-cpu') as typeof import('@tensorflow/tfjs-backend-cpu');
  if (!hasFactory) {
    tf.registerBackend(
      'native',
      () => {
        const backend = new CpuBackend();
        // The cpu backend's one-time "install tfjs-node for speed" notice does not apply here.
        (backend as unknown as { firstUse: boolean }).firstUse = false;
        return backend;
      },
      options.priority ?? 0,
    );
  }
  if (!hasKernel) {
    const batchMatMul = makeBatchMatMul(tf, addon);
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (k.kernelName === 'BatchMatMul' || k.kernelName === '_FusedMatMul') continue;
      tf.registerKernel({ ...k, backendName: 'native' } as KernelConfig);
    }
    tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'native', kernelFunc: batchMatMul });
    tf.registerKernel({ kernelName: '_FusedMatMul', backendName: 'native', kernelFunc: makeFusedMatMul(tf, addon, batchMatMul) });
  }
  registeredWith.add(tf);
  return true;
}
