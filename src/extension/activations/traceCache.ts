/**
 * TraceCache: what is known of one document's trace, so that an edit never re-runs the file from
 * its start.
 *
 * The document is cut into blocks of `stride` code points. The cache keeps
 *   anchors[k]  the model state after reading code points [0, k·stride) — valid as long as the text
 *               before k·stride is unchanged, whatever is being shown;
 *   blocks[k]   the shown quantity (one layer's c, tanh(c), h or a gate, every cell) over block k,
 *               [block length, units] — valid while the text up to the block's end and the view
 *               (layer, quantity) are unchanged.
 * An edit at code point p keeps the anchors at or before p and the blocks that end at or before p;
 * the next trace starts from the last anchor before the edit. `next()` hands out the pieces still to
 * trace, the ranges the user is looking at first; `accept()` stores what the worker computed.
 *
 * Offsets. Editors count UTF-16 units, the model code points: `unitOfCp[i]` is the UTF-16 offset of
 * code point i (a surrogate pair is one code point; a lone surrogate counts as one, as the
 * vocabulary encodes it; `unitOffsets` and `cpOfUnit`, src/engine/data/codePoints.ts). No `vscode`
 * here: the tests run it with an in-process tracer.
 */
import type { InferenceState } from '../../engine/inference/inference';
import { cpOfUnit, isHighSurrogate, unitOffsets } from '../../engine/data/codePoints';

export interface SegmentRequest {
  /** Code points [start, end) of the document; start is a multiple of the stride. */
  start: number;
  end: number;
  text: string;
  /** The anchor at `start`. */
  state: InferenceState;
  layer: number;
  quantity: string;
  textGeneration: number;
  viewGeneration: number;
}

export interface SegmentResult {
  /** [end − start, units]. */
  values: Float32Array;
  /** Positions (multiples of the stride in (start, end]) and the states there. */
  anchorAt: number[];
  anchors: InferenceState[];
}

export class TraceCache {
  private textValue = '';
  private offsets: Int32Array = new Int32Array(1);
  private anchors: (InferenceState | undefined)[] = [];
  private blocks: (Float32Array | undefined)[] = [];
  private layer = 1;
  private quantity = '';
  private units = 0;
  /** Bumped on every text change (anchors and values) and every view change (values). */
  textGeneration = 0;
  viewGeneration = 0;

  constructor(
    readonly stride: number,
    private readonly zeroState: () => InferenceState,
  ) {
    if (!(Number.isInteger(stride) && stride > 0)) throw new Error(`stride must be a positive integer, got ${stride}`);
    this.anchors = [zeroState()];
  }

  get text(): string {
    return this.textValue;
  }

  /** Code points in the document. */
  get length(): number {
    return this.offsets.length - 1;
  }

  get unitOfCp(): Int32Array {
    return this.offsets;
  }

  get view(): { layer: number; quantity: string; units: number } {
    return { layer: this.layer, quantity: this.quantity, units: this.units };
  }

  /**
   * Take the document's new text. Returns the code point of the first change (−1 if the text is
   * the same): anchors at or before it and blocks ending at or before it stay valid.
   */
  setText(text: string): number {
    const old = this.textValue;
    if (text === old) return -1;
    let u = 0;
    const m = Math.min(old.length, text.length);
    while (u < m && old.charCodeAt(u) === text.charCodeAt(u)) u++;
    // Never split a surrogate pair: if the common prefix ends on a high surrogate, its pair changed.
    if (u > 0) {
      if (isHighSurrogate(old.charCodeAt(u - 1))) u--;
    }
    const p = cpOfUnit(this.offsets, u);
    this.textValue = text;
    this.offsets = unitOffsets(text);
    const n = this.length;
    const s = this.stride;
    const anchorCount = Math.floor(n / s) + 1;
    const blockCount = Math.ceil(n / s);
    const anchors: (InferenceState | undefined)[] = new Array(anchorCount);
    for (let k = 0; k < anchorCount && k * s <= p && k < this.anchors.length; k++) anchors[k] = this.anchors[k];
    anchors[0] ??= this.zeroState();
    const blocks: (Float32Array | undefined)[] = new Array(blockCount);
    for (let k = 0; k < blockCount && (k + 1) * s <= p && k < this.blocks.length; k++) blocks[k] = this.blocks[k];
    this.anchors = anchors;
    this.blocks = blocks;
    this.textGeneration++;
    return p;
  }

  /** Show another layer or quantity: every block's values are dropped, the anchors kept. */
  setView(layer: number, quantity: string, units: number): boolean {
    if (layer === this.layer && quantity === this.quantity && units === this.units) return false;
    this.layer = layer;
    this.quantity = quantity;
    this.units = units;
    this.blocks = new Array(this.blocks.length);
    this.viewGeneration++;
    return true;
  }

  /** Forget everything (another model). */
  reset(): void {
    this.anchors = new Array(this.anchors.length);
    this.anchors[0] = this.zeroState();
    this.blocks = new Array(this.blocks.length);
    this.textGeneration++;
    this.viewGeneration++;
  }

  hasAnchor(k: number): boolean {
    return this.anchors[k] !== undefined;
  }

  /** The latest valid anchor at or before code point `cp`: its position and state. */
  anchorBefore(cp: number): { at: number; state: InferenceState } {
    let k = Math.min(Math.floor(Math.max(0, cp) / this.stride), this.anchors.length - 1);
    while (k > 0 && !this.anchors[k]) k--;
    return { at: k * this.stride, state: this.anchors[k]! };
  }

  /** Whether every block overlapping each range [from, to) has values. */
  covered(ranges: readonly (readonly [number, number])[]): boolean {
    if (!this.quantity) return false;
    for (const [a, b] of ranges) {
      const from = Math.max(0, Math.min(a, this.length));
      const to = Math.max(0, Math.min(b, this.length));
      for (let k = Math.floor(from / this.stride); k * this.stride < to; k++) if (!this.blocks[k]) return false;
    }
    return true;
  }

  /**
   * The next piece to trace: the first block without values in the first range of `priority` that
   * has one (then anywhere in the document), traced from the latest anchor before it, at most
   * `maxLength` code points (rounded up to whole blocks) and, for a priority range, not past its end.
   * Null when everything is traced (or there is no view yet).
   */
  next(priority: readonly (readonly [number, number])[], maxLength: number): SegmentRequest | null {
    const n = this.length;
    if (!this.quantity || n === 0) return null;
    const s = this.stride;
    const nb = this.blocks.length;
    const maxBlocks = Math.max(1, Math.ceil(maxLength / s));
    const ranges: (readonly [number, number])[] = [...priority, [0, n]];
    for (const [a, b] of ranges) {
      const from = Math.max(0, Math.min(a, n));
      const to = Math.max(0, Math.min(b, n));
      if (to <= from) continue;
      const lastBlock = Math.ceil(to / s); // exclusive
      for (let k = Math.floor(from / s); k < lastBlock; k++) {
        if (this.blocks[k]) continue;
        let j = k;
        while (j > 0 && !this.anchors[j]) j--;
        let e = j + 1;
        while (e < nb && e < j + maxBlocks && (e < k || (!this.blocks[e] && e < lastBlock))) e++;
        // Reaching block k may take more than maxLength: stop at the limit and continue next time.
        const start = j * s;
        const end = Math.min(n, e * s);
        return {
          start, end,
          text: this.textValue.slice(this.offsets[start], this.offsets[end]),
          state: this.anchors[j]!,
          layer: this.layer,
          quantity: this.quantity,
          textGeneration: this.textGeneration,
          viewGeneration: this.viewGeneration,
        };
      }
    }
    return null;
  }

  /** Store a traced piece. Returns false (and stores nothing) if the text changed meanwhile. */
  accept(req: SegmentRequest, res: SegmentResult): boolean {
    if (req.textGeneration !== this.textGeneration) return false;
    const s = this.stride;
    res.anchorAt.forEach((at, i) => {
      const k = at / s;
      if (Number.isInteger(k) && k < this.anchors.length) this.anchors[k] = res.anchors[i];
    });
    if (req.viewGeneration !== this.viewGeneration) return true;
    const U = this.units;
    const n = this.length;
    if (res.values.length !== (req.end - req.start) * U) throw new Error(`trace returned ${res.values.length} values for ${req.end - req.start} positions × ${U} units`);
    for (let k = req.start / s; k * s < req.end; k++) {
      const a = k * s;
      const b = Math.min(n, a + s);
      if (b > req.end) break;
      this.blocks[k] = res.values.slice((a - req.start) * U, (b - req.start) * U);
    }
    return true;
  }

  /** One cell's values over code points [from, to); NaN where not traced yet. */
  cellValues(cell: number, from = 0, to = this.length): Float32Array {
    const out = new Float32Array(Math.max(0, to - from)).fill(NaN);
    const U = this.units;
    if (cell < 0 || cell >= U) return out;
    const s = this.stride;
    for (let k = Math.floor(from / s); k * s < to; k++) {
      const block = this.blocks[k];
      if (!block) continue;
      const a = Math.max(from, k * s);
      const b = Math.min(to, k * s + block.length / U);
      for (let t = a; t < b; t++) out[t - from] = block[(t - k * s) * U + cell];
    }
    return out;
  }

  /**
   * The cell whose value varies most (largest variance) over the traced positions of [from, to),
   * or −1 when none is traced: a better first cell to show than cell 0, which may be constant.
   */
  mostVariableCell(from = 0, to = this.length): number {
    const U = this.units;
    const s = this.stride;
    const sum = new Float64Array(U);
    const sq = new Float64Array(U);
    let count = 0;
    for (let k = Math.floor(Math.max(0, from) / s); k * s < Math.min(to, this.length); k++) {
      const block = this.blocks[k];
      if (!block) continue;
      const rows = block.length / U;
      for (let t = 0; t < rows; t++) {
        for (let u = 0; u < U; u++) {
          const x = block[t * U + u];
          sum[u] += x;
          sq[u] += x * x;
        }
      }
      count += rows;
    }
    if (count === 0) return -1;
    let best = 0;
    let bestVar = -1;
    for (let u = 0; u < U; u++) {
      const v = sq[u] / count - (sum[u] / count) ** 2;
      if (v > bestVar) {
        bestVar = v;
        best = u;
      }
    }
    return best;
  }

  /** Code points traced with values, for status lines. */
  tracedLength(): number {
    let total = 0;
    for (const b of this.blocks) if (b) total += b.length / this.units;
    return total;
  }
}
