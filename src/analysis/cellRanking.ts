/**
 * Cell ranking: which units of which layer track a concept (conceptLabels.ts), and LSTMVis's
 * "select to search" (Strobelt et al., LSTMVis): the cells that are on over a selected span, and
 * the other spans where those cells are on together.
 *
 * Activations arrive as one row-major matrix per (layer, quantity), [N code points, U units],
 * row t being the state after reading code point t — the same alignment as the concept tracks.
 *
 * Scores.
 *   binary concept  ROC AUC of the unit's activation as a predictor of the label, exact, with
 *                   ties counted one half (the Mann–Whitney U statistic with mid-ranks). A cell
 *                   that is strongly NEGATIVE inside strings is as interpretable as a positive
 *                   one, so the score is max(AUC, 1 − AUC) in [0.5, 1] with direction +1 when
 *                   high activation means "inside" and −1 otherwise. A label value > 0.5 is
 *                   positive.
 *   count concept   Pearson correlation r; score |r|, direction sign(r) (+1 when r = 0).
 * A unit that is constant over the included positions carries no information and is left out of
 * the ranking (it gets no entry, rather than a score of 0 that would tie with real cells). A
 * concept that is constant over the included positions (no positives, no negatives, or a constant
 * count) cannot be ranked against: its ranking is empty and `skipped` says why. NaN activations
 * are an error.
 *
 * Speed. Binary concepts: units are processed in blocks of 64 columns gathered in one pass over
 * the rows, each column is arg-sorted once by an LSD radix sort on order-preserving 32-bit keys
 * (O(N), typed arrays), and one linear walk over the sorted order then scores every binary concept
 * at once (their labels packed one bit per concept), so ranking many concepts costs one sort and
 * one walk per unit. Count concepts need no sort: one row-major pass per activation set
 * accumulates every unit's sums for every count concept.
 */

import type { Concept } from './conceptLabels';
import type { Quantity } from '../engine/nn/kernels';

/** What a trace shows of a cell: 'tanh(c)' | 'c' | 'h' | a gate (QUANTITIES, kernels.ts). */
export type { Quantity };

export interface ActivationSet {
  layer: number;
  quantity: Quantity | string;
  units: number;
  /** Row-major [N, units]. */
  values: Float32Array;
}

export interface RankedCell {
  layer: number;
  quantity: string;
  cell: number;
  /** AUC-based: max(AUC, 1 − AUC) in [0.5, 1]; correlation: |r| in [0, 1]. */
  score: number;
  direction: 1 | -1;
  scoreKind: 'auc' | 'correlation';
}

export interface RankOptions {
  /** Keep only the best `top` cells (default: all). */
  top?: number;
  /** Positions to include (non-zero) — length N. */
  mask?: Uint8Array;
}

export interface CellRanking {
  concept: string;
  title: string;
  kind: Concept['kind'];
  scoreKind: 'auc' | 'correlation';
  /** Positions that entered the scores. */
  positions: number;
  /** Binary concepts: included positions labelled 1. */
  positives?: number;
  /** Why the ranking is empty, when the concept is constant over the included positions. */
  skipped?: string;
  /** Best first. */
  cells: RankedCell[];
}

const BLOCK = 64;

// ---------------------------------------------------------------------------------------------
// Validation

function rowsOf(set: ActivationSet): number {
  if (!Number.isInteger(set.units) || set.units <= 0) {
    throw new Error(`Activation set layer ${set.layer} '${set.quantity}': units must be a positive integer, got ${set.units}`);
  }
  if (!(set.values instanceof Float32Array)) {
    throw new Error(`Activation set layer ${set.layer} '${set.quantity}': values must be a Float32Array`);
  }
  if (set.values.length % set.units !== 0) {
    throw new Error(
      `Activation set layer ${set.layer} '${set.quantity}': ${set.values.length} values is not a whole number of rows of ${set.units} units`,
    );
  }
  return set.values.length / set.units;
}

function includedRows(n: number, mask: Uint8Array | undefined): Uint32Array | null {
  if (!mask) return null;
  if (mask.length !== n) throw new Error(`Mask has ${mask.length} entries; the text has ${n} positions`);
  let count = 0;
  for (let t = 0; t < n; t++) if (mask[t]) count++;
  const rows = new Uint32Array(count);
  for (let t = 0, k = 0; t < n; t++) if (mask[t]) rows[k++] = t;
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Sorting

/** Order-preserving map from IEEE-754 float bits to unsigned integers (-0 folds into +0). */
function sortKey(bits: number): number {
  if (bits === 0x80000000) return 0x80000000; // -0 → the key of +0
  return (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
}

/** Reusable buffers for arg-sorting float columns of length m (LSD radix sort, 3 × 11 bits). */
class ArgSorter {
  keys: Uint32Array;
  order: Uint32Array;
  private spareKeys: Uint32Array;
  private spareOrder: Uint32Array;
  private readonly counts = new Uint32Array(3 * 2048);

  constructor(readonly m: number) {
    this.keys = new Uint32Array(m);
    this.order = new Uint32Array(m);
    this.spareKeys = new Uint32Array(m);
    this.spareOrder = new Uint32Array(m);
  }

  /**
   * Sort a column given as its float bit patterns; afterwards `keys` holds the sorted keys and
   * `order` the original positions. Returns false if the column holds a NaN.
   */
  sort(bits: Uint32Array): boolean {
    const m = this.m;
    const counts = this.counts;
    counts.fill(0);
    let nan = false;
    for (let k = 0; k < m; k++) {
      const u = bits[k];
      if ((u & 0x7fffffff) > 0x7f800000) nan = true;
      const key = sortKey(u);
      counts[key & 0x7ff]++;
      counts[2048 + ((key >>> 11) & 0x7ff)]++;
      counts[4096 + (key >>> 22)]++;
    }
    if (nan) return false;
    const active: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const base = pass * 2048;
      let sum = 0;
      let shared = false; // a digit common to every key leaves the order unchanged
      for (let d = 0; d < 2048; d++) {
        const c = counts[base + d];
        if (c === m) shared = true;
        counts[base + d] = sum;
        sum += c;
      }
      if (!shared) active.push(pass);
    }
    let keys = this.spareKeys;
    let order = this.spareOrder;
    let keysIn = this.keys;
    let orderIn = this.order;
    if (active.length === 0) {
      for (let k = 0; k < m; k++) {
        this.keys[k] = sortKey(bits[k]);
        this.order[k] = k;
      }
      return true;
    }
    // The first pass reads the floats directly.
    {
      const base = active[0] * 2048;
      const shift = active[0] * 11;
      for (let k = 0; k < m; k++) {
        const key = sortKey(bits[k]);
        const at = counts[base + ((key >>> shift) & 0x7ff)]++;
        keys[at] = key;
        order[at] = k;
      }
    }
    for (let a = 1; a < active.length; a++) {
      [keysIn, keys] = [keys, keysIn];
      [orderIn, order] = [order, orderIn];
      const base = active[a] * 2048;
      const shift = active[a] * 11;
      for (let k = 0; k < m; k++) {
        const key = keysIn[k];
        const at = counts[base + ((key >>> shift) & 0x7ff)]++;
        keys[at] = key;
        order[at] = orderIn[k];
      }
    }
    if (keys !== this.keys) {
      // Swap buffers instead of copying.
      this.spareKeys = this.keys;
      this.spareOrder = this.order;
      this.keys = keys;
      this.order = order;
    }
    return true;
  }
}

/**
 * Exact AUCs, P(x_pos > x_neg) + ½ P(x_pos = x_neg), of up to 32 binary concepts from one sorted
 * column in one walk: bit c of `labels[t]` is position t's label for concept c. Each concept's sums
 * are the same, in the same order, as a walk of its own would make.
 */
class AucWalk {
  private readonly negBelow: Float64Array;
  private readonly numerator: Float64Array;
  private readonly p: Int32Array;
  private readonly q: Int32Array;
  readonly aucs: Float64Array;

  constructor(private readonly labels: Uint32Array, private readonly positives: readonly number[]) {
    const C = positives.length;
    this.negBelow = new Float64Array(C);
    this.numerator = new Float64Array(C);
    this.p = new Int32Array(C);
    this.q = new Int32Array(C);
    this.aucs = new Float64Array(C);
  }

  walk(keys: Uint32Array, order: Uint32Array): Float64Array {
    const { labels, negBelow, numerator, p, q } = this;
    const C = this.positives.length;
    const m = keys.length;
    negBelow.fill(0);
    numerator.fill(0);
    let k = 0;
    while (k < m) {
      const key = keys[k];
      if (k + 1 === m || keys[k + 1] !== key) {
        // A value of its own (the usual case): a positive adds the negatives below it, a negative counts one more.
        const bits = labels[order[k]];
        for (let c = 0; c < C; c++) {
          if ((bits >>> c) & 1) numerator[c] += negBelow[c];
          else negBelow[c]++;
        }
        k++;
        continue;
      }
      p.fill(0);
      q.fill(0);
      do {
        const bits = labels[order[k]];
        for (let c = 0; c < C; c++) {
          if ((bits >>> c) & 1) p[c]++;
          else q[c]++;
        }
        k++;
      } while (k < m && keys[k] === key);
      for (let c = 0; c < C; c++) {
        numerator[c] += p[c] * (negBelow[c] + 0.5 * q[c]);
        negBelow[c] += q[c];
      }
    }
    for (let c = 0; c < C; c++) this.aucs[c] = numerator[c] / (this.positives[c] * (m - this.positives[c]));
    return this.aucs;
  }
}

/** The binary concepts in groups of up to 32, each group's labels as one bit per concept. */
function aucWalks(binary: PreparedConcept[], m: number): { concepts: PreparedConcept[]; walk: AucWalk }[] {
  const groups: { concepts: PreparedConcept[]; walk: AucWalk }[] = [];
  for (let g = 0; g < binary.length; g += 32) {
    const concepts = binary.slice(g, g + 32);
    const labels = new Uint32Array(m);
    concepts.forEach((p, c) => {
      const l = p.labels!;
      for (let k = 0; k < m; k++) if (l[k]) labels[k] |= 1 << c;
    });
    groups.push({ concepts, walk: new AucWalk(labels, concepts.map((p) => p.positives)) });
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Ranking

interface PreparedConcept {
  concept: Concept;
  ranking: CellRanking;
  labels?: Uint8Array; // binary, per included position
  positives: number;
  centred?: Float64Array; // count, per included position, mean removed
  sumSquares: number;
}

function prepare(concept: Concept, rows: Uint32Array | null, n: number): PreparedConcept {
  if (!concept || !(concept.values instanceof Float32Array)) throw new Error('A concept needs a Float32Array of values');
  if (concept.values.length !== n) {
    throw new Error(`Concept "${concept.id}" has ${concept.values.length} values; the activations have ${n} rows`);
  }
  const m = rows ? rows.length : n;
  const y = concept.values;
  const binary = concept.kind === 'binary';
  const ranking: CellRanking = {
    concept: concept.id,
    title: concept.title,
    kind: concept.kind,
    scoreKind: binary ? 'auc' : 'correlation',
    positions: m,
    cells: [],
  };
  const prepared: PreparedConcept = { concept, ranking, positives: 0, sumSquares: 0 };
  if (m === 0) {
    ranking.skipped = 'no positions included';
    return prepared;
  }
  if (binary) {
    const labels = new Uint8Array(m);
    let positives = 0;
    for (let k = 0; k < m; k++) {
      const v = y[rows ? rows[k] : k] > 0.5 ? 1 : 0;
      labels[k] = v;
      positives += v;
    }
    ranking.positives = positives;
    prepared.positives = positives;
    if (positives === 0) ranking.skipped = 'no included position has the concept';
    else if (positives === m) ranking.skipped = 'every included position has the concept';
    else prepared.labels = labels;
  } else {
    let mean = 0;
    for (let k = 0; k < m; k++) mean += y[rows ? rows[k] : k];
    mean /= m;
    const centred = new Float64Array(m);
    let ss = 0;
    for (let k = 0; k < m; k++) {
      const d = y[rows ? rows[k] : k] - mean;
      centred[k] = d;
      ss += d * d;
    }
    if (!(ss > 0)) ranking.skipped = 'the count is constant over the included positions';
    else {
      prepared.centred = centred;
      prepared.sumSquares = ss;
    }
  }
  return prepared;
}

function compareCells(a: RankedCell, b: RankedCell): number {
  return b.score - a.score || a.layer - b.layer || (a.quantity < b.quantity ? -1 : a.quantity > b.quantity ? 1 : 0) || a.cell - b.cell;
}

function nanError(set: ActivationSet, unit: number, rows: Uint32Array | null, m: number): Error {
  for (let k = 0; k < m; k++) {
    const t = rows ? rows[k] : k;
    if (Number.isNaN(set.values[t * set.units + unit])) {
      return new Error(`Activation layer ${set.layer} '${set.quantity}' unit ${unit} is NaN at position ${t}`);
    }
  }
  return new Error(`Activation layer ${set.layer} '${set.quantity}' unit ${unit} is not finite`);
}

/** AUC for every unit and binary concept: columns gathered BLOCK at a time, one arg-sort and one walk each. */
function rankBinary(activations: ActivationSet[], binary: PreparedConcept[], rows: Uint32Array | null, m: number): void {
  const sorter = new ArgSorter(m);
  const groups = aucWalks(binary, m);
  const block = new Float32Array(Math.min(BLOCK, Math.max(...activations.map((a) => a.units))) * m);
  const blockBits = new Uint32Array(block.buffer);
  for (const set of activations) {
    const U = set.units;
    const values = set.values;
    for (let u0 = 0; u0 < U; u0 += BLOCK) {
      const width = Math.min(BLOCK, U - u0);
      for (let k = 0; k < m; k++) {
        const base = (rows ? rows[k] : k) * U + u0;
        for (let b = 0, at = k; b < width; b++, at += m) block[at] = values[base + b];
      }
      for (let b = 0; b < width; b++) {
        const cell = u0 + b;
        if (!sorter.sort(blockBits.subarray(b * m, (b + 1) * m))) throw nanError(set, cell, rows, m);
        const keys = sorter.keys;
        if (keys[0] === keys[m - 1]) continue; // constant unit: left out
        for (const { concepts, walk } of groups) {
          const aucs = walk.walk(keys, sorter.order);
          concepts.forEach((p, c) => {
            const auc = aucs[c];
            p.ranking.cells.push({
              layer: set.layer,
              quantity: set.quantity,
              cell,
              score: auc >= 0.5 ? auc : 1 - auc,
              direction: auc >= 0.5 ? 1 : -1,
              scoreKind: 'auc',
            });
          });
        }
      }
    }
  }
}

/**
 * Pearson r for every unit and count concept in one row-major pass per activation set. Sums are
 * taken about each unit's first value (exact zeros for a constant unit, little cancellation
 * otherwise); the concept is already centred, so Σ x·y needs no x mean.
 */
function rankCounts(activations: ActivationSet[], counts: PreparedConcept[], rows: Uint32Array | null, m: number): void {
  const C = counts.length;
  const ys = counts.map((p) => p.centred!);
  for (const set of activations) {
    const U = set.units;
    const values = set.values;
    const origin = new Float64Array(U);
    const first = (rows ? rows[0] : 0) * U;
    for (let u = 0; u < U; u++) origin[u] = values[first + u];
    const sx = new Float64Array(U);
    const sxx = new Float64Array(U);
    const sxy = new Float64Array(C * U);
    const yk = new Float64Array(C);
    const xk = new Float64Array(U); // the row about the origin, once for every concept
    for (let k = 0; k < m; k++) {
      const base = (rows ? rows[k] : k) * U;
      for (let c = 0; c < C; c++) yk[c] = ys[c][k];
      for (let u = 0; u < U; u++) {
        const x = values[base + u] - origin[u];
        xk[u] = x;
        sx[u] += x;
        sxx[u] += x * x;
      }
      for (let c = 0; c < C; c++) {
        const y = yk[c];
        if (y === 0) continue;
        const off = c * U;
        for (let u = 0; u < U; u++) sxy[off + u] += xk[u] * y;
      }
    }
    for (let u = 0; u < U; u++) {
      if (Number.isNaN(sx[u]) || Number.isNaN(sxx[u])) throw nanError(set, u, rows, m);
      const varX = sxx[u] - (sx[u] * sx[u]) / m;
      if (!(varX > 0) || sxx[u] === 0) continue; // constant unit: left out
      for (let c = 0; c < C; c++) {
        const r = sxy[c * U + u] / Math.sqrt(varX * counts[c].sumSquares);
        counts[c].ranking.cells.push({
          layer: set.layer,
          quantity: set.quantity,
          cell: u,
          score: Math.min(1, Math.abs(r)),
          direction: r >= 0 ? 1 : -1,
          scoreKind: 'correlation',
        });
      }
    }
  }
}

/** Rank every unit of every activation set against every concept (one sort per unit). */
export function rankAllConcepts(activations: ActivationSet[], concepts: Concept[], options: RankOptions = {}): CellRanking[] {
  if (!Array.isArray(activations) || activations.length === 0) throw new Error('No activation sets to rank');
  if (!Array.isArray(concepts)) throw new Error('concepts must be an array');
  const n = rowsOf(activations[0]);
  for (const set of activations) {
    const rowsHere = rowsOf(set);
    if (rowsHere !== n) {
      throw new Error(`Activation set layer ${set.layer} '${set.quantity}' has ${rowsHere} rows; layer ${activations[0].layer} '${activations[0].quantity}' has ${n}`);
    }
  }
  if (options.top !== undefined && !(Number.isInteger(options.top) && options.top >= 0)) {
    throw new Error(`top must be a non-negative integer, got ${options.top}`);
  }
  const rows = includedRows(n, options.mask);
  const m = rows ? rows.length : n;
  const prepared = concepts.map((c) => prepare(c, rows, n));
  const binary = prepared.filter((p) => p.labels);
  const counts = prepared.filter((p) => p.centred);

  if (m > 0 && binary.length > 0) rankBinary(activations, binary, rows, m);
  if (m > 0 && counts.length > 0) rankCounts(activations, counts, rows, m);

  return prepared.map((p) => {
    p.ranking.cells.sort(compareCells);
    if (options.top !== undefined && p.ranking.cells.length > options.top) p.ranking.cells.length = options.top;
    return p.ranking;
  });
}

/** Rank every unit of every activation set against one concept, best first. */
export function rankCells(activations: ActivationSet[], concept: Concept, options: RankOptions = {}): RankedCell[] {
  return rankAllConcepts(activations, [concept], options)[0].cells;
}

// ---------------------------------------------------------------------------------------------
// Select to search (LSTMVis)

export interface SpanCell {
  cell: number;
  /** meanInside − meanOutside. */
  score: number;
  meanInside: number;
  meanOutside: number;
  minInside: number;
}

export interface SpanOptions {
  /** Positions on each side of the span that form the "outside" (default 10, clipped to the text). */
  margin?: number;
  /** If given, only cells whose activation is ≥ threshold at every position of the span. */
  threshold?: number;
}

function matrixRows(values: Float32Array, units: number): number {
  if (!Number.isInteger(units) || units <= 0) throw new Error(`units must be a positive integer, got ${units}`);
  if (values.length % units !== 0) throw new Error(`${values.length} values is not a whole number of rows of ${units} units`);
  return values.length / units;
}

/**
 * The cells that are on over text positions [start, end) and off around it: ranked by the mean
 * activation inside minus the mean over `margin` positions on each side (when the span covers the
 * whole text there is no outside and meanOutside is 0).
 */
export function cellsActiveInSpan(values: Float32Array, units: number, start: number, end: number, options: SpanOptions = {}): SpanCell[] {
  const n = matrixRows(values, units);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start >= end) {
    throw new Error(`Span [${start}, ${end}) is not a non-empty range of positions in [0, ${n})`);
  }
  const margin = options.margin ?? 10;
  if (!Number.isInteger(margin) || margin < 0) throw new Error(`margin must be a non-negative integer, got ${margin}`);
  const inside = new Float64Array(units);
  const outside = new Float64Array(units);
  const minInside = new Float64Array(units).fill(Infinity);
  for (let t = start; t < end; t++) {
    const base = t * units;
    for (let u = 0; u < units; u++) {
      const x = values[base + u];
      inside[u] += x;
      if (x < minInside[u]) minInside[u] = x;
    }
  }
  const before = Math.max(0, start - margin);
  const after = Math.min(n, end + margin);
  const outsideCount = start - before + (after - end);
  for (const [a, b] of [[before, start], [end, after]]) {
    for (let t = a; t < b; t++) {
      const base = t * units;
      for (let u = 0; u < units; u++) outside[u] += values[base + u];
    }
  }
  const result: SpanCell[] = [];
  for (let u = 0; u < units; u++) {
    if (options.threshold !== undefined && !(minInside[u] >= options.threshold)) continue;
    const meanInside = inside[u] / (end - start);
    const meanOutside = outsideCount > 0 ? outside[u] / outsideCount : 0;
    result.push({ cell: u, score: meanInside - meanOutside, meanInside, meanOutside, minInside: minInside[u] });
  }
  result.sort((a, b) => b.score - a.score || a.cell - b.cell);
  return result;
}

export interface SpanMatch {
  start: number;
  /** Exclusive. */
  end: number;
  /** Mean activation of the chosen cells over the span. */
  score: number;
}

export interface SimilarSpanOptions {
  /** 'position' (default: text order) or 'score' (best first). */
  order?: 'position' | 'score';
  limit?: number;
}

/**
 * LSTMVis's matching: the maximal runs of positions, at least `minLength` long, where every cell
 * in `cellIds` is ≥ threshold.
 */
export function findSimilarSpans(
  values: Float32Array,
  units: number,
  cellIds: number[],
  threshold: number,
  minLength = 1,
  options: SimilarSpanOptions = {},
): SpanMatch[] {
  const n = matrixRows(values, units);
  if (!Array.isArray(cellIds) || cellIds.length === 0) throw new Error('findSimilarSpans needs at least one cell');
  for (const c of cellIds) {
    if (!Number.isInteger(c) || c < 0 || c >= units) throw new Error(`Cell ${c} is not in [0, ${units})`);
  }
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) throw new Error('threshold must be a number');
  if (!Number.isInteger(minLength) || minLength < 1) throw new Error(`minLength must be a positive integer, got ${minLength}`);
  const cells = Int32Array.from(cellIds);
  const matches: SpanMatch[] = [];
  let runStart = -1;
  let runSum = 0;
  for (let t = 0; t <= n; t++) {
    let on = t < n;
    let sum = 0;
    if (on) {
      const base = t * units;
      for (let j = 0; j < cells.length; j++) {
        const x = values[base + cells[j]];
        if (!(x >= threshold)) {
          on = false;
          break;
        }
        sum += x;
      }
    }
    if (on) {
      if (runStart < 0) {
        runStart = t;
        runSum = 0;
      }
      runSum += sum;
    } else if (runStart >= 0) {
      if (t - runStart >= minLength) matches.push({ start: runStart, end: t, score: runSum / ((t - runStart) * cells.length) });
      runStart = -1;
    }
  }
  if (options.order === 'score') matches.sort((a, b) => b.score - a.score || a.start - b.start);
  if (options.limit !== undefined && matches.length > options.limit) matches.length = options.limit;
  return matches;
}
