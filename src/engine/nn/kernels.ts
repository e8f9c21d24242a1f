/**
 * The recurrence kernel contract: one recurrent layer run over a whole sequence, forward and backward.
 *
 * Everything outside the recurrence (input projections, output layer, loss, weight gradients,
 * optimiser) is a handful of large TensorFlow.js ops per batch. The recurrence itself is T small
 * dependent steps, where per-op dispatch dominates; so it is one kernel call per layer per batch.
 * Two implementations honour this contract and are tested against each other and against finite
 * differences:
 *   - `composite` (cells.ts): TF.js ops step by step, runs on every TF.js backend;
 *   - `native` (native.ts + native/lstm_lab.cc): a Node-API addon, OpenBLAS sgemm + fused loops,
 *     used when it loads.
 *
 * Layout conventions (all row-major, time-major, float32):
 *   G        gates per cell: lstm 4, gru 3, rnn 1
 *   xProj    [T, B, G·H]  x_t·W_x + b   (input part of the pre-activations, input bias included)
 *   wh       [H, G·H]     recurrent weights
 *   bh       [G·H] | null recurrent bias (GRU only: needed because r multiplies h·W_hn + b_hn)
 *   h0, c0   [B, H]       initial state (c0 only for LSTM)
 *
 * Gate column order is Keras's, so an export is a plain copy:
 *   lstm [i | f | g | o]:  i=σ(a_i) f=σ(a_f) g=tanh(a_g) o=σ(a_o)
 *                          c_t = f⊙c_{t-1} + i⊙g,   h_t = o⊙tanh(c_t)
 *   gru  [z | r | n]:      z=σ(x_z + hW_z + bh_z)  r=σ(x_r + hW_r + bh_r)
 *                          n=tanh(x_n + r⊙(hW_n + bh_n)),   h_t = (1−z)⊙n + z⊙h_{t-1}
 *                          ("reset after", as cuDNN, PyTorch and Keras reset_after=True)
 *   rnn  [a]:              h_t = tanh(x_t + h_{t-1}W_h)
 * where a = xProj_t + h_{t-1}·wh (+ bh).
 */

export type CellKind = 'lstm' | 'gru' | 'rnn';

/**
 * The gates of each cell kind by name, in their column order above. The RNN's one block is the
 * pre-activation of h itself, not a gate. Every list of gate names in the code derives from this one.
 */
export const GATE_ORDER = { lstm: ['i', 'f', 'g', 'o'], gru: ['z', 'r', 'n'], rnn: [] } as const satisfies Record<CellKind, readonly string[]>;

export type GateName = (typeof GATE_ORDER)[CellKind][number];

/** Each gate's activation: σ (a gate proper, in [0, 1]) or tanh (a candidate, g and n, in [−1, 1]). */
export const GATE_ACTIVATION: Readonly<Record<GateName, 'sigmoid' | 'tanh'>> = { i: 'sigmoid', f: 'sigmoid', g: 'tanh', o: 'sigmoid', z: 'sigmoid', r: 'sigmoid', n: 'tanh' };

/** The gate names of a cell kind, in column order ([] for a kind this engine does not know). */
export function gatesOf(kind: string): readonly GateName[] {
  return Object.hasOwn(GATE_ORDER, kind) ? GATE_ORDER[kind as CellKind] : [];
}

/**
 * What a trace can show of one cell at each step (the hs, cs and gates of SeqForwardOutput), in menu
 * order: the LSTM's cell state squashed, tanh(c), and raw, c; the hidden state h; then the gates.
 */
export const QUANTITIES = {
  lstm: ['tanh(c)', 'c', 'h', ...GATE_ORDER.lstm],
  gru: ['h', ...GATE_ORDER.gru],
  rnn: ['h', ...GATE_ORDER.rnn],
} as const satisfies Record<CellKind, readonly string[]>;

export type Quantity = (typeof QUANTITIES)[CellKind][number];

/** Every quantity of any cell kind, once each: tanh(c), c, h, then the LSTM's gates and the GRU's. */
export const ALL_QUANTITIES: readonly Quantity[] = [...new Set<Quantity>([...QUANTITIES.lstm, ...QUANTITIES.gru, ...QUANTITIES.rnn])];

/** G, the blocks of G·H columns per cell kind. */
export const GATES: Record<CellKind, number> = { lstm: GATE_ORDER.lstm.length, gru: GATE_ORDER.gru.length, rnn: 1 };

/** One layer's run: its cell kind, T steps, B streams, H units. */
export interface SeqShape {
  kind: CellKind;
  T: number;
  B: number;
  H: number;
}

export interface SeqForwardInput extends SeqShape {
  xProj: Float32Array; // [T, B, G·H]
  wh: Float32Array; // [H, G·H]
  bh: Float32Array | null; // [G·H], GRU only
  h0: Float32Array; // [B, H]
  c0: Float32Array | null; // [B, H], LSTM only
}

/** What the forward pass keeps for the backward pass (and what a trace reads). */
export interface SeqForwardOutput {
  /** h_t for t = 0..T-1, [T, B, H]. The last step is the carried state h_T. */
  hs: Float32Array;
  /** c_t for t = 0..T-1, [T, B, H] (LSTM only, else null). */
  cs: Float32Array | null;
  /** Post-activation gates, [T, B, G·H]: lstm i,f,g,o; gru z,r,n; rnn: h itself. */
  gates: Float32Array;
  /** GRU only: h_{t-1}·W_n + bh_n, [T, B, H] (needed for the gradient of r). */
  hn: Float32Array | null;
}

export interface SeqBackwardInput extends SeqForwardInput {
  fwd: SeqForwardOutput;
  /** dLoss/dh_t from above (next layer or output), [T, B, H]. */
  dHs: Float32Array;
  /** dLoss/dh_T and dLoss/dc_T flowing in from the future (zeros in truncated BPTT), [B, H]. */
  dhT: Float32Array | null;
  dcT: Float32Array | null;
}

export interface SeqBackwardOutput {
  /** dLoss/dxProj, [T, B, G·H]; also dLoss/db (input bias) summed over rows. */
  dPre: Float32Array;
  /**
   * dLoss/d(h_{t-1}·W_h + bh), [T, B, G·H]: the rows that dW_h = Hprevᵀ·dPreH and dbh sum over.
   * Identical to dPre (same array) for lstm and rnn; differs in the n block for gru.
   */
  dPreH: Float32Array;
  dh0: Float32Array; // [B, H]
  dc0: Float32Array | null; // [B, H], LSTM only
}

/** A kernel implementation working on plain arrays (the native addon; a JS reference in tests). */
export interface RecurrenceKernels {
  readonly name: string;
  seqForward(input: SeqForwardInput): SeqForwardOutput;
  seqBackward(input: SeqBackwardInput): SeqBackwardOutput;
}
