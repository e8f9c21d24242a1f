/**
 * CharRnn: a character-level language model — input (one-hot or embedding) → 1–4 stacked recurrent
 * layers (LSTM, GRU or RNN; cells.ts) → linear output over the vocabulary → softmax.
 *
 * Gradients are written out by hand rather than taken by autodiff through an unrolled sequence: the
 * weight gradients are then one matrix product per sequence (dW_h = Hprevᵀ·dPreH over all T·B rows),
 * not a tensor per step, which is what lets the 3×512 model train at sequence 64 in a few hundred MB.
 *
 * Parameters (G = 4, 3, 1 for lstm, gru, rnn; In = V for one-hot, E for embedding, H above layer 1):
 *   embed     [V, E]        (embedding > 0 only)
 *   l{k}.wx   [In, G·H]     input weights of layer k (1-based)
 *   l{k}.wh   [H, G·H]      recurrent weights
 *   l{k}.b    [G·H]         bias
 *   l{k}.bh   [G·H]         recurrent bias (GRU only)
 *   out.w     [H, V], out.b [V]
 */
import { currentBackend, tf, fusedKernels } from '../runtime/backend';
import { nativeAddon } from '../runtime/native';
import { previousHidden, RecurrentWeights, SequenceForward, sequenceBackward, sequenceForward } from './cells';
import { ModelConfig, validateModelConfig } from './config';
import { GATES, SeqShape } from './kernels';
import { columnSums, linear, lookupRows, lookupRowsPlusBias, matMulNT, matMulTN, scatterAddRows, softmaxCrossEntropy } from './linalg';
import { Random } from './random';
import { DropoutDraw, maskedRows } from './dropout';
import { phase } from '../runtime/stepProfile';

export type Params = Map<string, tf.Tensor>;

/** Hidden state carried from batch to batch, per layer, [B, H]. */
export interface RecurrentState {
  h: tf.Tensor2D[];
  c: (tf.Tensor2D | null)[];
}

export interface ParamSpec {
  name: string;
  shape: number[];
}

export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  const G = GATES[cfg.kind];
  const { hidden: H, vocabSize: V, embedding: E } = cfg;
  const specs: ParamSpec[] = [];
  if (E > 0) specs.push({ name: 'embed', shape: [V, E] });
  for (let k = 1; k <= cfg.layers; k++) {
    const inSize = k === 1 ? (E > 0 ? E : V) : H;
    specs.push({ name: `l${k}.wx`, shape: [inSize, G * H] });
    specs.push({ name: `l${k}.wh`, shape: [H, G * H] });
    specs.push({ name: `l${k}.b`, shape: [G * H] });
    if (cfg.kind === 'gru') specs.push({ name: `l${k}.bh`, shape: [G * H] });
  }
  specs.push({ name: 'out.w', shape: [H, V] });
  specs.push({ name: 'out.b', shape: [V] });
  return specs;
}

export function parameterCount(cfg: ModelConfig): number {
  return paramSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The spread of the one-hot input rows of W_x (layer 1 without an embedding): each row is the
 * pre-activation a character adds to every gate, the role an embedding times W_x plays. At ±1/√H
 * (PyTorch's default for these rows, and this engine's before) a character moves a gate by ~0.05,
 * the first layer barely sees its input, and learning crawls: bench/parity.ts measured 2.25 nats/char
 * after 1,000 steps of config A against 1.61 for PyTorch with nn.Embedding(V, 64) (N(0, 1) rows).
 * Measured with N(0, σ²) rows, mean loss of steps 501–600 on Linux net/ipv4 (LSTM, forget bias 0):
 * σ 0.4 → 2.25, 1 → 1.78, 2 → 1.72, 3 → 1.70; GRU σ 1 → 1.57, 2 → 1.55; RNN σ 1 → 1.73, 2 → 1.70.
 * 2 is past the knee without driving every gate into saturation.
 */
export const ONE_HOT_INPUT_STD = 2;

/**
 * Initial values (bench/parity.ts compares them with PyTorch's defaults, step by step):
 *   one-hot input rows (l1.wx, embedding 0)  N(0, ONE_HOT_INPUT_STD²)
 *   embed                                    N(0, 1), as nn.Embedding
 *   other wx, wh, out.w                      uniform ±1/√H, as PyTorch's recurrent layers
 *   biases                                   0. No forget-gate bias of 1: measured over 600 steps of
 *                                            config A it learned 0.06 nats/char slower than 0.
 */
export function initialParams(cfg: ModelConfig, seed: number): Map<string, Float32Array> {
  const rng = new Random(seed);
  const H = cfg.hidden;
  const out = new Map<string, Float32Array>();
  for (const spec of paramSpecs(cfg)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    if (spec.name === 'embed') fillNormal(rng, v, 1);
    else if (spec.name === 'l1.wx' && cfg.embedding === 0) fillNormal(rng, v, ONE_HOT_INPUT_STD);
    else if (/\.(wx|wh)$/.test(spec.name) || spec.name === 'out.w') rng.fillUniform(v, -1 / Math.sqrt(H), 1 / Math.sqrt(H));
    out.set(spec.name, v);
  }
  return out;
}

function fillNormal(rng: Random, v: Float32Array, std: number): void {
  for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
}

export interface BatchResult {
  /** Mean cross-entropy in nats per character. */
  loss: tf.Scalar;
  grads: Params | null;
  state: RecurrentState;
  /** With `stateGradients` (training only): how the loss depends on the hidden states, per layer. */
  stateGradients?: StateGradients;
}

/** Gradients of the mean loss with respect to hidden states, per layer (index 0 = layer 1). */
export interface StateGradients {
  /** dLoss/dh_{-1}: the carried state the layer starts the batch from, [B, H]. */
  dh0: tf.Tensor2D[];
  /** dLoss/dc_{-1} (LSTM only), [B, H]. */
  dc0: (tf.Tensor2D | null)[];
  /** dLoss/dh_t through the layers above (or the output layer), every step, [T·B, H]: what the layer's backward pass receives. */
  fromAbove: tf.Tensor2D[];
}

export class CharRnn {
  readonly config: ModelConfig;
  params: Params;

  constructor(config: ModelConfig, values: Map<string, Float32Array>) {
    this.config = validateModelConfig(config);
    this.params = new Map();
    for (const spec of paramSpecs(config)) {
      const v = values.get(spec.name);
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (!v || v.length !== size) {
        throw new Error(`Parameter ${spec.name} is missing or has ${v?.length ?? 0} values instead of ${size}.`);
      }
      this.params.set(spec.name, tf.keep(tf.tensor(v, spec.shape)));
    }
  }

  static create(config: ModelConfig, seed: number): CharRnn {
    return new CharRnn(config, initialParams(config, seed));
  }

  get parameterCount(): number {
    return parameterCount(this.config);
  }

  /** A copy of every parameter as plain arrays (for checkpoints and the inference path). */
  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, t] of this.params) out.set(k, Float32Array.from(t.dataSync() as Float32Array));
    return out;
  }

  /** Replace the parameters (disposing the old ones). */
  setParams(next: Params): void {
    for (const [k, t] of this.params) if (next.get(k) !== t) t.dispose();
    this.params = next;
  }

  zeroState(batch: number): RecurrentState {
    const H = this.config.hidden;
    return {
      h: Array.from({ length: this.config.layers }, () => tf.keep(tf.zeros([batch, H])) as tf.Tensor2D),
      c: Array.from({ length: this.config.layers }, () => (this.config.kind === 'lstm' ? (tf.keep(tf.zeros([batch, H])) as tf.Tensor2D) : null)),
    };
  }

  /**
   * Forward (and, when `train`, backward) over one batch of T steps × B streams.
   * inputs/targets: [T, B] time-major ids. Call inside tf.tidy; keep what you need from the result.
   * dropout: what the step's masks are drawn from when training with dropout (dropout.ts); the rows
   * here are its streams [first, first + B).
   */
  run(
    inputs: Int32Array,
    targets: Int32Array,
    T: number,
    B: number,
    state: RecurrentState,
    train: boolean,
    dropoutDraw?: DropoutDraw,
    targetWeights?: Float32Array,
    stateGradients = false,
  ): BatchResult {
    const cfg = this.config;
    const { hidden: H, vocabSize: V, kind } = cfg;
    const kernels = fusedKernels();
    const p = (n: string) => this.params.get(n)!;
    const ids = tf.tensor1d(inputs, 'int32');
    const shape: SeqShape = { kind, T, B, H };
    const dropout = train && cfg.dropout > 0 ? cfg.dropout : 0;
    if (dropout > 0 && !dropoutDraw) throw new Error('Training with dropout needs the step\'s dropout draw.');
    // x ⊙ mask `index`: one loop over the arrays (tf.mul cost ~1 ms per [T·B, H] product on native, 4
    // of them a step); on native the addon's, which draws the decisions as it goes (no mask stored).
    const rowsKernel = currentBackend().name === 'native' ? nativeAddon()?.dropoutRows ?? null : null;
    const masked = (x: tf.Tensor2D, index: number) =>
      tf.tensor2d(maskedRows(dropoutDraw!, index, T, B, H, dropout, x.dataSync() as Float32Array, rowsKernel), x.shape);

    // ---- forward ----
    const layerIn: (tf.Tensor2D | null)[] = []; // input rows of layer k (after dropout), [T·B, In]; null = one-hot
    const masks: (number | null)[] = []; // the dropout mask of layer k's input, by index; null = none
    const fwd: SequenceForward[] = [];
    let below: tf.Tensor2D | null = null;
    for (let k = 1; k <= cfg.layers; k++) {
      const wx = p(`l${k}.wx`) as tf.Tensor2D;
      const b = p(`l${k}.b`);
      let xProj: tf.Tensor2D; // [T·B, G·H]
      if (k === 1) {
        if (cfg.embedding > 0) {
          const embedded = phase('input projection', () => lookupRows(p('embed') as tf.Tensor2D, ids)); // [T·B, E]
          layerIn.push(embedded);
          xProj = phase('input projection', () => linear(embedded, wx, b));
        } else {
          layerIn.push(null); // one-hot input: x_t·W_x is row x_t of W_x
          xProj = phase('input projection', () => lookupRowsPlusBias(wx, ids, b));
        }
        masks.push(null);
      } else {
        const m = dropout > 0 ? k - 2 : null;
        const x = m !== null ? masked(below!, m) : below!;
        masks.push(m);
        layerIn.push(x);
        xProj = phase('input projection', () => linear(x, wx, b));
      }
      const w: RecurrentWeights = { wh: p(`l${k}.wh`) as tf.Tensor2D, bh: kind === 'gru' ? (p(`l${k}.bh`) as tf.Tensor1D) : null };
      const f = phase('forward recurrence', () => sequenceForward(shape, xProj, w, state.h[k - 1], state.c[k - 1], kernels));
      fwd.push(f);
      below = f.hs;
    }
    const topMask = dropout > 0 ? cfg.layers - 1 : null;
    const top = topMask !== null ? masked(below!, topMask) : below!; // [T·B, H]
    const logits = phase('output projection', () => linear(top, p('out.w') as tf.Tensor2D, p('out.b'))); // [T·B, V]
    const { loss, dLogits } = phase('softmax + cross-entropy', () => softmaxCrossEntropy(logits, targets, targetWeights, train));
    const nextState: RecurrentState = { h: fwd.map((f) => f.hLast), c: fwd.map((f) => f.cLast) };
    if (!train) return { loss, grads: null, state: nextState };

    // ---- backward ----
    const grads: Params = new Map();
    let dHs = phase('output gradients', () => {
      grads.set('out.w', matMulTN(top, dLogits!));
      grads.set('out.b', columnSums(dLogits!));
      return matMulNT(dLogits!, p('out.w') as tf.Tensor2D); // [T·B, H]
    });
    if (topMask !== null) dHs = masked(dHs, topMask);
    const probe: StateGradients | undefined = stateGradients ? { dh0: [], dc0: [], fromAbove: [] } : undefined;
    for (let k = cfg.layers; k >= 1; k--) {
      const w: RecurrentWeights = { wh: p(`l${k}.wh`) as tf.Tensor2D, bh: kind === 'gru' ? (p(`l${k}.bh`) as tf.Tensor1D) : null };
      const back = phase('backward recurrence', () => sequenceBackward(shape, fwd[k - 1], w, dHs, kernels));
      if (probe) {
        probe.dh0.unshift(back.dh0);
        probe.dc0.unshift(back.dc0);
        probe.fromAbove.unshift(dHs);
      }
      // Weight gradients: one product over all T·B rows.
      const x = layerIn[k - 1];
      phase('weight gradients', () => {
        const hPrev = previousHidden(state.h[k - 1], fwd[k - 1].hs, T, B);
        grads.set(`l${k}.wh`, matMulTN(hPrev, back.dPreH));
        grads.set(`l${k}.b`, columnSums(back.dPre));
        if (kind === 'gru') grads.set(`l${k}.bh`, columnSums(back.dPreH));
        grads.set(`l${k}.wx`, x === null ? scatterAddRows(ids, V, back.dPre) : matMulTN(x, back.dPre));
      });
      if (x === null) continue;
      let dx = phase('input projection', () => matMulNT(back.dPre, p(`l${k}.wx`) as tf.Tensor2D)); // [T·B, In]
      if (k > 1) {
        const m = masks[k - 1];
        if (m !== null) dx = masked(dx, m);
        dHs = dx;
      } else {
        grads.set('embed', phase('input projection', () => scatterAddRows(ids, V, dx)));
      }
    }
    return { loss, grads, state: nextState, stateGradients: probe };
  }
}

export function disposeState(s: RecurrentState | null | undefined): void {
  if (!s) return;
  for (const t of s.h) t.dispose();
  for (const t of s.c) t?.dispose();
}

export function keepState(s: RecurrentState): RecurrentState {
  return { h: s.h.map((t) => tf.keep(t)), c: s.c.map((t) => (t ? tf.keep(t) : null)) };
}

export function stateToArrays(s: RecurrentState): { h: Float32Array[]; c: (Float32Array | null)[] } {
  return {
    h: s.h.map((t) => Float32Array.from(t.dataSync() as Float32Array)),
    c: s.c.map((t) => (t ? Float32Array.from(t.dataSync() as Float32Array) : null)),
  };
}

export function stateFromArrays(a: { h: Float32Array[]; c: (Float32Array | null)[] }, batch: number, hidden: number): RecurrentState {
  return {
    h: a.h.map((v) => tf.keep(tf.tensor2d(v, [batch, hidden]))),
    c: a.c.map((v) => (v ? tf.keep(tf.tensor2d(v, [batch, hidden])) : null)),
  };
}
