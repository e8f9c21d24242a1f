/**
 * What the inference worker computes for the activation views, on the engine's batch-1 inference
 * path (no `vscode` here: the worker and the tests run it).
 *
 *   traceSegment   one piece of a document, from a cached state: one (layer, quantity) for every
 *                  position and cell, plus the model state at every stride boundary (the trace
 *                  cache's anchors) and at the end.
 *   probePosition  everything about one position for one cell: all its quantities, the top-k next
 *                  symbols and the probability of the symbol that really follows.
 *   spanCells      LSTMVis's "select to search": cells on inside a span and off around it.
 *
 * A "state after position t" is the (h, c) of every layer after reading code point t; a document
 * anchor at position a is the state after reading code points [0, a).
 */
import { InferenceModel, InferenceState, LayerRecord, softmax } from '../../engine/inference/inference';
import { GATES, gatesOf } from '../../engine/nn/kernels';
import { cellsActiveInSpan } from '../../analysis/cellRanking';
import type { PositionProbe, SpanCellResult } from '../protocol/inference';

/** One layer's quantity as [n, H] (a new array for tanh(c) and gates, the record's own for c and h). */
export function quantityValues(kind: string, rec: LayerRecord, quantity: string, H: number, n: number): Float32Array {
  if (quantity === 'h') return rec.hs;
  if (quantity === 'c' || quantity === 'tanh(c)') {
    if (!rec.cs) throw new Error(`A ${kind.toUpperCase()} has no cell state c; choose h or a gate.`);
    if (quantity === 'c') return rec.cs;
    const out = new Float32Array(n * H);
    for (let i = 0; i < out.length; i++) out[i] = Math.tanh(rec.cs[i]);
    return out;
  }
  const gi = (gatesOf(kind) as readonly string[]).indexOf(quantity); // the column block of LayerRecord.gates
  if (gi < 0) throw new Error(`A ${kind.toUpperCase()} has no quantity '${quantity}'.`);
  const G = GATES[kind as keyof typeof GATES];
  const out = new Float32Array(n * H);
  for (let t = 0; t < n; t++) out.set(rec.gates.subarray(t * G * H + gi * H, t * G * H + (gi + 1) * H), t * H);
  return out;
}

/** The state after position t of a recorded run. */
export function stateAt(records: LayerRecord[], t: number, H: number): InferenceState {
  return {
    h: records.map((r) => r.hs.slice(t * H, (t + 1) * H)),
    c: records.map((r) => (r.cs ? r.cs.slice(t * H, (t + 1) * H) : null)),
  };
}

export interface SegmentTrace {
  /** [n, H] for the requested layer and quantity. */
  values: Float32Array;
  /** Document positions (multiples of stride in (offset, offset + n]) and the states there. */
  anchorAt: number[];
  anchors: InferenceState[];
  /** The state after the last position. */
  state: InferenceState;
}

export function traceSegment(
  model: InferenceModel, text: string, state: InferenceState | null, offset: number, stride: number, layer: number, quantity: string,
): SegmentTrace {
  const { kind, hidden: H, layers: L } = model.config;
  if (!(layer >= 1 && layer <= L)) throw new Error(`Layer ${layer} is not in 1…${L}.`);
  const ids = model.vocab.encode(text);
  const n = ids.length;
  const run = model.run(ids, state ?? model.zeroState(), { record: true });
  const records = run.layers!;
  const values = n > 0 ? quantityValues(kind, records[layer - 1], quantity, H, n) : new Float32Array(0);
  const anchorAt: number[] = [];
  const anchors: InferenceState[] = [];
  for (let a = Math.ceil((offset + 1) / stride) * stride; a <= offset + n; a += stride) {
    anchorAt.push(a);
    anchors.push(stateAt(records, a - offset - 1, H));
  }
  return { values, anchorAt, anchors, state: run.state };
}

/** Describe the last position of `text` (read from `state`) for one cell. */
export function probePosition(
  model: InferenceModel, text: string, state: InferenceState | null, layer: number, cell: number, topK: number, next: string | null,
): PositionProbe {
  const { kind, hidden: H, layers: L } = model.config;
  if (!(layer >= 1 && layer <= L)) throw new Error(`Layer ${layer} is not in 1…${L}.`);
  if (!(cell >= 0 && cell < H)) throw new Error(`Cell ${cell} is not in 0…${H - 1}.`);
  const ids = model.vocab.encode(text);
  const n = ids.length;
  if (n === 0) throw new Error('Nothing to probe: the text is empty.');
  const before = n > 1 ? model.run(ids.subarray(0, n - 1), state ?? model.zeroState()).state : (state ?? model.zeroState());
  const last = model.run(ids.subarray(n - 1), before, { record: true });
  const rec = last.layers![layer - 1];
  const values: Record<string, number> = {};
  if (rec.cs) {
    values['tanh(c)'] = Math.tanh(rec.cs[cell]);
    values.c = rec.cs[cell];
  }
  values.h = rec.hs[cell];
  gatesOf(kind).forEach((g, gi) => (values[g] = rec.gates[gi * H + cell]));
  const p = softmax(model.logits(last.state));
  const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, Math.max(1, topK));
  const top = order.map((i) => ({ symbol: model.vocab.symbol(i), prob: p[i] }));
  let nextInfo: PositionProbe['next'] = null;
  if (next !== null && next !== '') {
    const id = model.vocab.encode(next)[0];
    nextInfo = { symbol: next, prob: p[id] };
  }
  return { layer, cell, values, top, next: nextInfo };
}

/**
 * The cells of every layer most on inside [start, end) of `text` against `margin` positions
 * around it (cellsActiveInSpan), best first across layers.
 */
export function spanCells(
  model: InferenceModel, text: string, state: InferenceState | null, start: number, end: number, margin: number, quantity: string, top: number,
): SpanCellResult[] {
  const { kind, hidden: H } = model.config;
  const ids = model.vocab.encode(text);
  const n = ids.length;
  const run = model.run(ids, state ?? model.zeroState(), { record: true });
  const out: SpanCellResult[] = [];
  run.layers!.forEach((rec, k) => {
    const values = quantityValues(kind, rec, quantity, H, n);
    for (const c of cellsActiveInSpan(values, H, start, end, { margin }).slice(0, top)) {
      out.push({ layer: k + 1, cell: c.cell, score: c.score, meanInside: c.meanInside, meanOutside: c.meanOutside });
    }
  });
  out.sort((a, b) => b.score - a.score || a.layer - b.layer || a.cell - b.cell);
  return out.slice(0, top);
}
