/**
 * The batch-1 inference path: sampling, tracing, completions and the activation overlay run one text
 * at a time, where TF.js's per-op dispatch would cost more than the arithmetic. Here the weights are
 * plain Float32Arrays; the recurrence runs through the fused kernels (native addon, else jsKernels), one
 * call per layer for a whole chunk of text; the input projections of upper layers for a chunk are one
 * matrix product (TF.js for long chunks, a plain loop for a few characters).
 */
import { currentBackend, fusedKernels, tf, tidy } from '../runtime/backend';
import { nativeAddon } from '../runtime/native';
import { ModelConfig } from '../nn/config';
import { jsKernels } from '../nn/jsKernels';
import { GATES, RecurrenceKernels } from '../nn/kernels';
import { Vocabulary } from '../data/vocabulary';

/** Hidden state of a single stream, per layer, [H] each. */
export interface InferenceState {
  h: Float32Array[];
  c: (Float32Array | null)[];
}

/** Everything one layer computed over a run, for traces. */
export interface LayerRecord {
  /** h_t, [N, H]. */
  hs: Float32Array;
  /** c_t, [N, H] (LSTM only). */
  cs: Float32Array | null;
  /** Post-activation gates, [N, G·H] (lstm i,f,g,o; gru z,r,n; rnn h). */
  gates: Float32Array;
}

export interface RunResult {
  state: InferenceState;
  layers?: LayerRecord[];
}

/** Rows processed per kernel call: bounds memory on long texts. */
const CHUNK = 4096;
/** Below this many rows, a plain loop beats a TF.js product. */
const SMALL_PRODUCT_ROWS = 16;

export class InferenceModel {
  readonly config: ModelConfig;
  readonly vocab: Vocabulary;
  private readonly p: Map<string, Float32Array>;
  private readonly tensors = new Map<string, tf.Tensor2D>();
  private readonly kernels: RecurrenceKernels;

  constructor(config: ModelConfig, vocab: Vocabulary, params: Map<string, Float32Array>) {
    this.config = config;
    this.vocab = vocab;
    this.p = params;
    this.kernels = fusedKernels() ?? jsKernels;
  }

  get kernelName(): string {
    return this.kernels.name;
  }

  zeroState(): InferenceState {
    const H = this.config.hidden;
    return {
      h: Array.from({ length: this.config.layers }, () => new Float32Array(H)),
      c: Array.from({ length: this.config.layers }, () => (this.config.kind === 'lstm' ? new Float32Array(H) : null)),
    };
  }

  static cloneState(s: InferenceState): InferenceState {
    return { h: s.h.map((a) => a.slice()), c: s.c.map((a) => (a ? a.slice() : null)) };
  }

  /** Feed `ids` from `state`; returns the state after the last id, and per-layer records if asked. */
  run(ids: Int32Array, state: InferenceState, opts: { record?: boolean } = {}): RunResult {
    const { layers: L, hidden: H, kind } = this.config;
    const G = GATES[kind];
    const N = ids.length;
    const records: LayerRecord[] | undefined = opts.record
      ? Array.from({ length: L }, () => ({
          hs: new Float32Array(N * H),
          cs: kind === 'lstm' ? new Float32Array(N * H) : null,
          gates: new Float32Array(N * G * H),
        }))
      : undefined;
    let cur = InferenceModel.cloneState(state);
    for (let start = 0; start < N; start += CHUNK) {
      const n = Math.min(CHUNK, N - start);
      const chunk = ids.subarray(start, start + n);
      let below: Float32Array | null = null;
      const next: InferenceState = { h: [], c: [] };
      for (let k = 1; k <= L; k++) {
        const xProj = k === 1 ? this.firstLayerProjection(chunk) : this.project(below!, n, `l${k}.wx`, `l${k}.b`, H, G * H);
        const out = this.kernels.seqForward({
          kind, T: n, B: 1, H, xProj,
          wh: this.p.get(`l${k}.wh`)!,
          bh: kind === 'gru' ? this.p.get(`l${k}.bh`)! : null,
          h0: cur.h[k - 1],
          c0: cur.c[k - 1],
        });
        next.h.push(out.hs.slice((n - 1) * H, n * H));
        next.c.push(out.cs ? out.cs.slice((n - 1) * H, n * H) : null);
        if (records) {
          const r = records[k - 1];
          r.hs.set(out.hs, start * H);
          if (r.cs && out.cs) r.cs.set(out.cs, start * H);
          r.gates.set(out.gates, start * G * H);
        }
        below = out.hs;
      }
      cur = next;
    }
    return { state: cur, layers: records };
  }

  /** Unnormalised next-symbol scores from a state: h_top·W_y + b_y, [V]. */
  logits(state: InferenceState): Float32Array {
    return this.project(state.h[this.config.layers - 1], 1, 'out.w', 'out.b', this.config.hidden, this.config.vocabSize);
  }

  /** Logits for many rows of top-layer h at once, [N, V]. */
  logitsForRows(hs: Float32Array, rows: number): Float32Array {
    return this.project(hs, rows, 'out.w', 'out.b', this.config.hidden, this.config.vocabSize);
  }

  /**
   * Total −ln P(ids[i] | ids[<i]) of a text read from the zero state (ids[0] predicted from the zero
   * state itself): the same cross-entropy the n-gram's `evaluate` computes, for side-by-side figures.
   */
  crossEntropy(ids: Int32Array): { nats: number; chars: number } {
    const { layers: L, hidden: H, vocabSize: V } = this.config;
    let nats = 0;
    let state = this.zeroState();
    for (let start = 0; start < ids.length; start += CHUNK) {
      const chunk = ids.subarray(start, Math.min(ids.length, start + CHUNK));
      const n = chunk.length;
      // Rows of top-layer h that predict chunk[0..n): the state before the chunk, then h after each of its first n − 1 symbols.
      const before = state.h[L - 1];
      const r = this.run(chunk, state, { record: true });
      const hs = new Float32Array(n * H);
      hs.set(before, 0);
      hs.set(r.layers![L - 1].hs.subarray(0, (n - 1) * H), H);
      const logits = this.logitsForRows(hs, n);
      for (let t = 0; t < n; t++) {
        const row = logits.subarray(t * V, (t + 1) * V);
        let max = -Infinity;
        for (let v = 0; v < V; v++) if (row[v] > max) max = row[v];
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
        nats += max + Math.log(sum) - row[chunk[t]];
      }
      state = r.state;
    }
    return { nats, chars: ids.length };
  }

  /** Next-symbol probabilities at a temperature (softmax of logits / temperature). */
  probabilities(state: InferenceState, temperature = 1): Float32Array {
    return softmax(this.logits(state), temperature);
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }

  private firstLayerProjection(ids: Int32Array): Float32Array {
    const { hidden: H, kind, embedding: E, vocabSize: V } = this.config;
    const GH = GATES[kind] * H;
    const n = ids.length;
    if (E > 0) {
      const embed = this.p.get('embed')!;
      const rows = new Float32Array(n * E);
      for (let t = 0; t < n; t++) rows.set(embed.subarray(ids[t] * E, ids[t] * E + E), t * E);
      return this.project(rows, n, 'l1.wx', 'l1.b', E, GH);
    }
    // One-hot input: x_t·W_x is row x_t of W_x.
    const wx = this.p.get('l1.wx')!;
    const b = this.p.get('l1.b')!;
    const out = new Float32Array(n * GH);
    for (let t = 0; t < n; t++) {
      const id = ids[t];
      if (id < 0 || id >= V) throw new RangeError(`Symbol id ${id} is outside the vocabulary (size ${V}).`);
      const row = wx.subarray(id * GH, id * GH + GH);
      const o = t * GH;
      for (let j = 0; j < GH; j++) out[o + j] = row[j] + b[j];
    }
    return out;
  }

  /** rows × [K] · W[K, N] + b → [rows, N]. */
  private project(a: Float32Array, rows: number, wName: string, bName: string, K: number, N: number): Float32Array {
    const w = this.p.get(wName)!;
    const b = this.p.get(bName)!;
    if (rows < SMALL_PRODUCT_ROWS) {
      // Row by row, so any split of the rows gives the same floats (networkCompleter.ts relies on it).
      const out = new Float32Array(rows * N);
      const blas = currentBackend().name === 'native' ? nativeAddon() : null;
      for (let r = 0; r < rows; r++) {
        if (blas) {
          out.set(b, r * N);
          blas.sgemm(false, false, 1, N, K, 1, a.subarray(r * K, (r + 1) * K), K, w, N, 1, out.subarray(r * N, (r + 1) * N), N);
          continue;
        }
        const o = r * N;
        out.set(b, o);
        for (let k = 0; k < K; k++) {
          const x = a[r * K + k];
          if (x === 0) continue;
          const wk = k * N;
          for (let j = 0; j < N; j++) out[o + j] += x * w[wk + j];
        }
      }
      return out;
    }
    let wt = this.tensors.get(wName);
    if (!wt) {
      wt = tf.keep(tf.tensor2d(w, [K, N]));
      this.tensors.set(wName, wt);
    }
    const wtt = wt;
    // (tidy, not tf.tidy: tf.tidy would walk every element of the returned array looking for tensors)
    return tidy(() => tf.fused.matMul({ a: tf.tensor2d(a.subarray(0, rows * K), [rows, K]), b: wtt, bias: tf.tensor1d(b) }).dataSync() as Float32Array);
  }
}

export function softmax(logits: Float32Array, temperature = 1): Float32Array {
  const t = temperature > 0 ? temperature : 1;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] - max) / t);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}
