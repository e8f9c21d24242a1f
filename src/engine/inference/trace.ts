/**
 * CellTrace: for a text, per character and per layer, the cell state c, the hidden state h, every gate,
 * and the model's top next-character predictions — what the activation overlay colours the editor with
 * and what interpretable-cell discovery ranks.
 *
 * Positions are Unicode code points of the text (the model's symbols), not UTF-16 units.
 */
import { InferenceModel, InferenceState, softmax } from './inference';
import { CellKind, GATE_ORDER } from '../nn/kernels';

export interface LayerTrace {
  /** 1-based layer number. */
  layer: number;
  /** Cell state c_t, [N, H] (LSTM only). */
  c: Float32Array | null;
  /** Hidden state h_t, [N, H]. */
  h: Float32Array;
  /** Each gate's activation, [N, H]: lstm i, f, g, o; gru z, r, n. */
  gates: Record<string, Float32Array>;
}

export interface CellTrace {
  kind: CellKind;
  /** Code points of the text, one per position. */
  symbols: string[];
  /** Positions (code points). */
  length: number;
  hidden: number;
  layers: LayerTrace[];
  /** After each position, the k most likely next symbols and their probabilities, [N, k]. */
  top: { k: number; symbols: string[]; probs: Float32Array };
  /** −ln p(next symbol) at each position, [N]; NaN at the last. */
  surprisal: Float32Array;
  /** The state after the last position (so a caller can continue). */
  state: InferenceState;
}

export interface TraceOptions {
  topK?: number;
  /** Start from this state (default: zero). */
  state?: InferenceState;
}

export function traceText(model: InferenceModel, text: string, opts: TraceOptions = {}): CellTrace {
  const { kind, hidden: H, vocabSize: V } = model.config;
  const k = Math.max(1, Math.min(opts.topK ?? 5, V));
  const symbols = Array.from(text);
  const ids = model.vocab.encode(text);
  const N = ids.length;
  const run = model.run(ids, opts.state ?? model.zeroState(), { record: true });
  const names: readonly string[] = GATE_ORDER[kind];
  const layers: LayerTrace[] = run.layers!.map((r, idx) => {
    const gates: Record<string, Float32Array> = {};
    names.forEach((g, gi) => {
      const out = new Float32Array(N * H);
      const G = names.length;
      for (let t = 0; t < N; t++) out.set(r.gates.subarray(t * G * H + gi * H, t * G * H + (gi + 1) * H), t * H);
      gates[g] = out;
    });
    return { layer: idx + 1, c: r.cs, h: r.hs, gates };
  });
  const topSymbols: string[] = new Array(N * k);
  const topProbs = new Float32Array(N * k);
  const surprisal = new Float32Array(N).fill(NaN);
  if (N > 0) {
    const logits = model.logitsForRows(layers[layers.length - 1].h, N);
    const order = new Int32Array(V);
    for (let t = 0; t < N; t++) {
      const p = softmax(logits.subarray(t * V, (t + 1) * V));
      for (let i = 0; i < V; i++) order[i] = i;
      // partial selection of the k largest
      for (let a = 0; a < k; a++) {
        let best = a;
        for (let b = a + 1; b < V; b++) if (p[order[b]] > p[order[best]]) best = b;
        const tmp = order[a]; order[a] = order[best]; order[best] = tmp;
        topSymbols[t * k + a] = model.vocab.symbol(order[a]);
        topProbs[t * k + a] = p[order[a]];
      }
      if (t + 1 < N) surprisal[t] = -Math.log(Math.max(p[ids[t + 1]], 1e-30));
    }
  }
  return { kind, symbols, length: N, hidden: H, layers, top: { k, symbols: topSymbols, probs: topProbs }, surprisal, state: run.state };
}
