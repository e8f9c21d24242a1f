/**
 * Gradient flow through time (CS231n lecture 10; Karpathy et al. 2015): how strongly the loss at one
 * character, L_t, still depends on the hidden state k characters back — the norm ‖∂L_t/∂h_{t−k}‖ (and
 * for the LSTM ‖∂L_t/∂c_{t−k}‖) against the lag k, per layer, averaged over positions t of a text.
 * A vanilla RNN's norms fall geometrically (each step multiplies by W_hᵀ and the tanh derivative);
 * the LSTM's additive cell path keeps them.
 *
 * What each lag means, per layer l:
 *   k = 0   ∂L_t/∂h^l_t, the whole dependence of the loss on the layer's output at t (through the
 *           layers above, or the output layer for the top one); for the LSTM ∂L_t/∂c^l_t =
 *           ∂L_t/∂h^l_t ⊙ o_t ⊙ (1 − tanh² c_t), the derivative of h_t = o_t ⊙ tanh(c_t).
 *   k ≥ 1   ∂L_t/∂h^l_{t−k} through the state the layer carries from step t−k to step t−k+1 — the
 *           recurrent path the vanishing-gradient argument is about. For the top layer that is the
 *           whole derivative; for a lower one the path through the layers above at step t−k itself
 *           is left out.
 *
 * It is the training path's own hand-written backward pass (CharRnn.run, cells.ts, the recurrence
 * kernels), asked for the gradients of its initial state: for a position t, stream j (j = 0…N−2)
 * starts from the network's state after character t−j−1 and carries one weighted target, the
 * character after t, at its step j; its initial-state gradient is then ∂L_t/∂h_{t−j−1}, lag j+1.
 * All N−1 lags of one position are one batch of N−1 streams × N−1 steps.
 */
import { tidy } from '../engine/runtime/backend';
import { ModelConfig } from '../engine/nn/config';
import { CharRnn, disposeState, stateFromArrays } from '../engine/nn/model';
import { GATE_ORDER } from '../engine/nn/kernels';
import { InferenceModel, InferenceState } from '../engine/inference/inference';
import { Vocabulary } from '../engine/data/vocabulary';

export interface GradientFlowOptions {
  /** Lags 0 … lags−1 (≥ 2). */
  lags: number;
  /** Positions t averaged over (spread evenly over the texts that are long enough). */
  positions: number;
}

export const DEFAULT_GRADIENT_LAGS = 64;
export const DEFAULT_GRADIENT_POSITIONS = 32;

export interface LayerGradientFlow {
  /** 1-based. */
  layer: number;
  /** Mean over positions of ‖∂L_t/∂h_{t−k}‖₂, k = 0 … lags−1. */
  norms: number[];
  /** The same for the LSTM's cell state c (absent for GRU and RNN). */
  cellNorms?: number[];
}

export interface GradientFlow {
  kind: string;
  lags: number;
  /** Positions actually averaged over. */
  positions: number;
  layers: LayerGradientFlow[];
}

const norm = (a: Float32Array, from: number, n: number): number => {
  let s = 0;
  for (let i = from; i < from + n; i++) s += a[i] * a[i];
  return Math.sqrt(s);
};

/** Evenly spread positions t (need lags−1 characters before them and one after), as [text, t] pairs. */
export function gradientPositions(lengths: readonly number[], lags: number, count: number): [number, number][] {
  const room = lengths.map((n) => Math.max(0, n - lags - 1)); // t ∈ [lags−1, n−2]
  const total = room.reduce((a, b) => a + b, 0);
  if (total === 0 || count <= 0) return [];
  const picks: [number, number][] = [];
  const gap = total / count;
  for (let i = 0; i < count; i++) {
    let at = Math.floor((i + 0.5) * gap);
    let f = 0;
    while (at >= room[f]) at -= room[f++];
    picks.push([f, lags - 1 + at]);
  }
  return picks;
}

/**
 * The gradient norms of one network over texts. Throws with a clear message when no text is long
 * enough for `lags`.
 */
export function gradientFlow(config: ModelConfig, vocab: Vocabulary, params: Map<string, Float32Array>, texts: readonly string[], o: GradientFlowOptions): GradientFlow {
  const N = o.lags;
  if (!Number.isInteger(N) || N < 2) throw new RangeError(`lags must be an integer ≥ 2 (got ${N}).`);
  const encoded = texts.map((t) => vocab.encode(t));
  const picks = gradientPositions(encoded.map((e) => e.length), N, o.positions);
  if (picks.length === 0) {
    const longest = Math.max(0, ...encoded.map((e) => e.length));
    throw new Error(`The text is too short for ${N} lags: it needs at least ${N + 1} characters in one file (the longest has ${longest}).`);
  }
  const { layers: L, hidden: H, kind } = config;
  const lstm = kind === 'lstm';
  const inference = new InferenceModel(config, vocab, params);
  const model = new CharRnn({ ...config, dropout: 0 }, params);
  const sums = Array.from({ length: L }, () => ({ h: new Float64Array(N), c: new Float64Array(N) }));
  const B = N - 1; // streams: lags 1 … N−1
  const T = N - 1;
  const oGate = lstm ? GATE_ORDER.lstm.indexOf('o') : -1;
  try {
    let file = -1;
    let state: InferenceState = inference.zeroState();
    let read = 0; // characters of the current file fed into `state`
    for (const [f, t] of picks) {
      if (f !== file) {
        file = f;
        state = inference.zeroState();
        read = 0;
      }
      const ids = encoded[f];
      const first = t - N + 1; // window of N characters t−N+1 … t
      if (first > read) state = inference.run(ids.subarray(read, first), state).state;
      else if (first < read) {
        state = inference.run(ids.subarray(0, first), inference.zeroState()).state;
      }
      const rec = inference.run(ids.subarray(first, t + 1), state, { record: true });
      state = rec.state;
      read = t + 1;
      const layers = rec.layers!;
      // Streams' initial states: stream j starts after character t−j−1, record row N−2−j.
      const start = {
        h: layers.map((r) => {
          const a = new Float32Array(B * H);
          for (let j = 0; j < B; j++) a.set(r.hs.subarray((N - 2 - j) * H, (N - 1 - j) * H), j * H);
          return a;
        }),
        c: layers.map((r) => {
          if (!r.cs) return null;
          const a = new Float32Array(B * H);
          for (let j = 0; j < B; j++) a.set(r.cs.subarray((N - 2 - j) * H, (N - 1 - j) * H), j * H);
          return a;
        }),
      };
      // Inputs [T, B]: stream j reads characters t−j, t−j+1, …; only its step j carries a target.
      const inputs = new Int32Array(T * B);
      const targets = new Int32Array(T * B);
      const weights = new Float32Array(T * B);
      for (let s = 0; s < T; s++) {
        for (let j = 0; j < B; j++) inputs[s * B + j] = ids[Math.min(t - j + s, ids.length - 1)];
      }
      for (let j = 0; j < B; j++) {
        targets[j * B + j] = ids[t + 1];
        weights[j * B + j] = 1;
      }
      const s0 = stateFromArrays(start, B, H);
      try {
        tidy(() => {
          const r = model.run(inputs, targets, T, B, s0, true, undefined, weights, true);
          const g = r.stateGradients!;
          for (let l = 0; l < L; l++) {
            // The mean over B weighted targets: × B gives each stream's own ∂L_t.
            const dh0 = g.dh0[l].dataSync() as Float32Array;
            const dc0 = g.dc0[l]?.dataSync() as Float32Array | undefined;
            for (let j = 0; j < B; j++) {
              sums[l].h[j + 1] += B * norm(dh0, j * H, H);
              if (dc0) sums[l].c[j + 1] += B * norm(dc0, j * H, H);
            }
            // Lag 0: stream 0's gradient from above at its step 0 (position t).
            const above = g.fromAbove[l].dataSync() as Float32Array;
            const dh = above.subarray(0, H);
            sums[l].h[0] += B * norm(dh, 0, H);
            if (lstm) {
              const r0 = layers[l];
              const c = r0.cs!.subarray((N - 1) * H, N * H);
              const og = r0.gates.subarray((N - 1) * 4 * H + oGate * H, (N - 1) * 4 * H + (oGate + 1) * H);
              let s = 0;
              for (let u = 0; u < H; u++) {
                const th = Math.tanh(c[u]);
                const d = dh[u] * og[u] * (1 - th * th);
                s += d * d;
              }
              sums[l].c[0] += B * Math.sqrt(s);
            }
          }
        });
      } finally {
        disposeState(s0);
      }
    }
  } finally {
    for (const t of model.params.values()) t.dispose();
  }
  const n = picks.length;
  return {
    kind,
    lags: N,
    positions: n,
    layers: sums.map((s, l) => ({
      layer: l + 1,
      norms: Array.from(s.h, (v) => v / n),
      ...(lstm ? { cellNorms: Array.from(s.c, (v) => v / n) } : {}),
    })),
  };
}
