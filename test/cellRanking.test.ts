/**
 * Tests for cell ranking (exact AUC with ties against a brute-force pairwise count, Pearson
 * correlation against a hand computation, directions, constant units and labels, masks), LSTMVis
 * select-to-search, and gate saturation.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Concept } from '../src/analysis/conceptLabels';
import {
  cellsActiveInSpan,
  findSimilarSpans,
  rankAllConcepts,
  rankCells,
  type ActivationSet,
} from '../src/analysis/cellRanking';
import { gateSaturation, gateSaturationClouds } from '../src/analysis/gateSaturation';
import { uniform } from './support/fixtures';

/** Deterministic uniform [0, 1) generator (mulberry32). */
const rng = uniform;

/** Build a row-major [n, units] matrix from per-unit columns. */
function matrix(columns: ArrayLike<number>[]): Float32Array {
  const n = columns[0].length;
  const units = columns.length;
  const m = new Float32Array(n * units);
  for (let u = 0; u < units; u++) for (let t = 0; t < n; t++) m[t * units + u] = columns[u][t];
  return m;
}

function binary(id: string, values: ArrayLike<number>): Concept {
  return { id, title: id, kind: 'binary', values: Float32Array.from(values) };
}

/** P(x_pos > x_neg) + ½ P(x_pos = x_neg) by comparing every pair. */
function bruteForceAuc(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let num = 0;
  let pairs = 0;
  for (let i = 0; i < x.length; i++) {
    if (!y[i]) continue;
    for (let j = 0; j < x.length; j++) {
      if (y[j]) continue;
      pairs++;
      if (x[i] > x[j]) num += 1;
      else if (x[i] === x[j]) num += 0.5;
    }
  }
  return num / pairs;
}

test('a unit equal to the label scores 1, its negation 1 with direction −1, noise about 0.5', () => {
  const n = 5000;
  const r = rng(1);
  const label = Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
  const noise = Array.from({ length: n }, () => r());
  const set: ActivationSet = { layer: 0, quantity: 'c', units: 3, values: matrix([label, label.map((v) => -v), noise]) };
  const ranked = rankCells([set], binary('lab', label));
  assert.equal(ranked.length, 3);
  const byCell = new Map(ranked.map((c) => [c.cell, c]));
  assert.equal(byCell.get(0)!.score, 1);
  assert.equal(byCell.get(0)!.direction, 1);
  assert.equal(byCell.get(1)!.score, 1);
  assert.equal(byCell.get(1)!.direction, -1);
  assert.ok(Math.abs(byCell.get(2)!.score - 0.5) < 0.03, `noise scored ${byCell.get(2)!.score}`);
  assert.equal(ranked[2].cell, 2, 'noise ranks last');
  assert.ok(ranked.every((c) => c.scoreKind === 'auc' && c.layer === 0 && c.quantity === 'c'));
});

test('AUC with ties equals the brute-force pairwise count', () => {
  const r = rng(7);
  for (const n of [2, 3, 17, 200, 333]) {
    const units = 21; // more than one block of 16
    const columns: number[][] = [];
    for (let u = 0; u < units; u++) {
      // Coarse values (many ties), negatives, zeros of both signs, and wide ranges.
      const scale = u % 3 === 0 ? 1e-20 : u % 3 === 1 ? 1 : 1e20;
      columns.push(Array.from({ length: n }, () => (Math.floor(r() * 7) - 3) * scale * (r() < 0.1 ? -0 : 1)));
    }
    let label = Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
    label[0] = 1;
    label[n - 1] = 0;
    const set: ActivationSet = { layer: 2, quantity: 'h', units, values: matrix(columns) };
    const ranked = rankCells([set], binary('lab', label));
    for (const cell of ranked) {
      const col = Array.from(set.values.filter((_, k) => k % units === cell.cell));
      const auc = bruteForceAuc(col, label);
      const expected = Math.max(auc, 1 - auc);
      assert.ok(Math.abs(cell.score - expected) < 1e-12, `n=${n} unit ${cell.cell}: ${cell.score} vs brute force ${expected}`);
      assert.equal(cell.direction, auc >= 0.5 ? 1 : -1);
    }
    // Constant columns (all ties) are left out; every other unit is present.
    const constant = columns.filter((c) => c.every((v) => v === c[0])).length;
    assert.equal(ranked.length, units - constant);
    for (let k = 1; k < ranked.length; k++) assert.ok(ranked[k - 1].score >= ranked[k].score, 'best first');
  }
});

test('a mask restricts the positions scored', () => {
  const r = rng(11);
  const n = 400;
  const x = Array.from({ length: n }, () => Math.round(r() * 10));
  const label = Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  const mask = Uint8Array.from({ length: n }, (_, t) => (t % 3 === 0 ? 1 : 0));
  const set: ActivationSet = { layer: 0, quantity: 'c', units: 1, values: Float32Array.from(x) };
  const [cell] = rankCells([set], binary('lab', label), { mask });
  const auc = bruteForceAuc(x.filter((_, t) => mask[t]), label.filter((_, t) => mask[t]));
  assert.ok(Math.abs(cell.score - Math.max(auc, 1 - auc)) < 1e-12);
  assert.throws(() => rankCells([set], binary('lab', label), { mask: new Uint8Array(3) }), /Mask has 3 entries; the text has 400 positions/);
});

test('count concepts: Pearson correlation matches a hand computation', () => {
  // x = 1 2 3 4, y = 2 4 5 9: dx = −1.5 −0.5 0.5 1.5, dy = −3 −1 0 4,
  // Σdxdy = 4.5 + 0.5 + 0 + 6 = 11, Σdx² = 5, Σdy² = 26, r = 11 / √130.
  const r = 11 / Math.sqrt(130);
  const y: Concept = { id: 'depth', title: 'depth', kind: 'count', values: Float32Array.from([2, 4, 5, 9]) };
  const set: ActivationSet = { layer: 1, quantity: 'tanh(c)', units: 3, values: matrix([[1, 2, 3, 4], [-1, -2, -3, -4], [7, 7, 7, 7]]) };
  const ranked = rankCells([set], y);
  assert.equal(ranked.length, 2, 'the constant unit is left out');
  for (const cell of ranked) {
    assert.equal(cell.scoreKind, 'correlation');
    assert.ok(Math.abs(cell.score - r) < 1e-6, `${cell.score} vs ${r}`);
  }
  assert.deepEqual(ranked.map((c) => [c.cell, c.direction]), [[0, 1], [1, -1]]);
});

test('correlation stays accurate for activations far from zero', () => {
  const r = rng(5);
  const n = 3000;
  const y = Array.from({ length: n }, (_, t) => t % 23);
  const x = y.map((v) => 1000 + 0.001 * v + 0.01 * r());
  const set: ActivationSet = { layer: 0, quantity: 'c', units: 1, values: Float32Array.from(x) };
  // Two-pass reference in float64 on the float32-rounded activations.
  const xs = Array.from(set.values);
  const mx = xs.reduce((a, v) => a + v, 0) / n;
  const my = y.reduce((a, v) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let t = 0; t < n; t++) {
    sxy += (xs[t] - mx) * (y[t] - my);
    sxx += (xs[t] - mx) ** 2;
    syy += (y[t] - my) ** 2;
  }
  const expected = sxy / Math.sqrt(sxx * syy);
  const [cell] = rankCells([set], { id: 'y', title: 'y', kind: 'count', values: Float32Array.from(y) });
  assert.ok(Math.abs(cell.score - Math.abs(expected)) < 1e-9, `${cell.score} vs ${expected}`);
  assert.throws(
    () => rankCells([{ ...set, values: Float32Array.from(xs.map((v, t) => (t === 5 ? NaN : v))) }], { id: 'y', title: 'y', kind: 'count', values: Float32Array.from(y) }),
    /unit 0 is NaN at position 5/,
  );
});

test('constant concepts give an empty ranking that says why', () => {
  const set: ActivationSet = { layer: 0, quantity: 'h', units: 2, values: matrix([[1, 2, 3], [3, 1, 2]]) };
  const [allOff, allOn, flat, ok] = rankAllConcepts([set], [
    binary('none', [0, 0, 0]),
    binary('all', [1, 1, 1]),
    { id: 'flat', title: 'flat', kind: 'count', values: Float32Array.from([4, 4, 4]) },
    binary('some', [0, 1, 1]),
  ]);
  assert.deepEqual(allOff.cells, []);
  assert.match(allOff.skipped ?? '', /no included position/);
  assert.deepEqual(allOn.cells, []);
  assert.match(allOn.skipped ?? '', /every included position/);
  assert.deepEqual(flat.cells, []);
  assert.match(flat.skipped ?? '', /constant/);
  assert.equal(ok.cells.length, 2);
  assert.equal(ok.positives, 2);
  assert.equal(ok.positions, 3);
});

test('several layers and concepts at once agree with one concept at a time; top keeps the best', () => {
  const r = rng(3);
  const n = 300;
  const label = Array.from({ length: n }, () => (r() < 0.2 ? 1 : 0));
  const count = Array.from({ length: n }, (_, t) => t % 17);
  const sets: ActivationSet[] = [0, 1, 2].map((layer) => ({
    layer,
    quantity: 'c',
    units: 5,
    values: Float32Array.from({ length: n * 5 }, (_, k) => {
      const t = Math.floor(k / 5);
      return layer === 1 && k % 5 === 3 ? label[t] * 2 + r() : layer === 2 && k % 5 === 0 ? count[t] + r() : r();
    }),
  }));
  const concepts: Concept[] = [binary('lab', label), { id: 'cnt', title: 'cnt', kind: 'count', values: Float32Array.from(count) }];
  const all = rankAllConcepts(sets, concepts);
  assert.deepEqual(all[0].cells, rankCells(sets, concepts[0]));
  assert.deepEqual(all[1].cells, rankCells(sets, concepts[1]));
  assert.equal(all[0].cells.length, 15);
  assert.deepEqual([all[0].cells[0].layer, all[0].cells[0].cell], [1, 3]);
  assert.deepEqual([all[1].cells[0].layer, all[1].cells[0].cell], [2, 0]);
  const top = rankCells(sets, concepts[0], { top: 4 });
  assert.deepEqual(top, all[0].cells.slice(0, 4));
});

test('mismatched shapes and NaN are clear errors', () => {
  const set: ActivationSet = { layer: 0, quantity: 'c', units: 2, values: new Float32Array(6) };
  assert.throws(() => rankCells([set], binary('lab', [0, 1])), /Concept "lab" has 2 values; the activations have 3 rows/);
  assert.throws(() => rankCells([{ ...set, values: new Float32Array(5) }], binary('lab', [0, 1])), /not a whole number of rows/);
  assert.throws(
    () => rankCells([set, { layer: 1, quantity: 'c', units: 2, values: new Float32Array(8) }], binary('lab', [0, 1, 0])),
    /layer 1 'c' has 4 rows; layer 0 'c' has 3/,
  );
  assert.throws(() => rankCells([], binary('lab', [0, 1, 0])), /No activation sets/);
  assert.throws(
    () => rankCells([{ ...set, values: Float32Array.from([0, 1, NaN, 2, 3, 4]) }], binary('lab', [0, 1, 0])),
    /unit 0 is NaN at position 1/,
  );
});

test('cellsActiveInSpan ranks cells on inside the span and off around it', () => {
  const n = 40;
  const units = 4;
  const v = new Float32Array(n * units);
  for (let t = 0; t < n; t++) {
    const inside = t >= 15 && t < 20;
    v[t * units + 0] = 0.4; // constant: score 0
    v[t * units + 1] = inside ? 0.9 : 0.1; // the span's cell
    v[t * units + 2] = 0.8; // always on: score 0
    v[t * units + 3] = inside ? (t === 17 ? 0.2 : 0.9) : 0; // on except one position
  }
  const cells = cellsActiveInSpan(v, units, 15, 20, { margin: 5 });
  assert.deepEqual(cells.map((c) => c.cell), [1, 3, 0, 2]);
  assert.ok(Math.abs(cells[0].score - 0.8) < 1e-6);
  assert.ok(Math.abs(cells[1].score - (0.9 * 4 + 0.2) / 5) < 1e-6);
  assert.equal(cells[2].score, 0);
  const strict = cellsActiveInSpan(v, units, 15, 20, { margin: 5, threshold: 0.5 });
  assert.deepEqual(strict.map((c) => c.cell), [1, 2]);
  assert.throws(() => cellsActiveInSpan(v, units, 20, 20), /not a non-empty range/);
  const whole = cellsActiveInSpan(v, units, 0, n);
  assert.ok(whole.every((c) => c.meanOutside === 0));
});

test('findSimilarSpans returns maximal runs where all chosen cells are on', () => {
  const units = 3;
  //            0    1    2    3    4    5    6    7    8    9
  const a = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.2, 0.9, 0.9, 0.9];
  const b = [0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.7];
  const c = a.map(() => 0);
  const v = matrix([a, b, c]);
  assert.deepEqual(
    findSimilarSpans(v, units, [0, 1], 0.5, 1).map((s) => [s.start, s.end]),
    [[0, 2], [3, 4], [5, 6], [7, 10]],
  );
  const long = findSimilarSpans(v, units, [0, 1], 0.5, 2);
  assert.deepEqual(long.map((s) => [s.start, s.end]), [[0, 2], [7, 10]]);
  assert.ok(Math.abs(long[1].score - (0.9 * 3 + 0.9 * 2 + 0.7) / 6) < 1e-6);
  assert.deepEqual(findSimilarSpans(v, units, [0, 1], 0.5, 2, { order: 'score' }).map((s) => s.start), [0, 7]);
  assert.deepEqual(findSimilarSpans(v, units, [2], 0.5), []);
  assert.throws(() => findSimilarSpans(v, units, [3], 0.5), /Cell 3 is not in \[0, 3\)/);
});

test('gate saturation fractions and the per-layer clouds', () => {
  const gate = matrix([
    [0.05, 0.5, 0.95, 0.99],
    [0.1, 0.9, 0.0, 1.0],
  ]);
  const { left, right } = gateSaturation(gate, 2);
  assert.deepEqual(Array.from(left), [0.25, 0.25]); // 0.1 is not < 0.1
  assert.deepEqual(Array.from(right), [0.5, 0.25]); // 0.9 is not > 0.9
  const masked = gateSaturation(gate, 2, 0.1, 0.9, Uint8Array.from([1, 0, 0, 1]));
  assert.deepEqual(Array.from(masked.right), [0.5, 0.5]);
  assert.throws(() => gateSaturation(gate, 2, 0.9, 0.1), /low \(0.9\) must be below high \(0.1\)/);

  const sets: ActivationSet[] = [
    { layer: 1, quantity: 'f', units: 2, values: gate },
    { layer: 0, quantity: 'c', units: 2, values: gate },
    { layer: 0, quantity: 'o', units: 2, values: gate },
    { layer: 0, quantity: 'i', units: 2, values: gate },
    { layer: 0, quantity: 'g', units: 2, values: gate },
  ];
  const clouds = gateSaturationClouds(sets);
  assert.deepEqual(clouds.map((c) => [c.layer, c.gate]), [[0, 'i'], [0, 'o'], [1, 'f']]);
  assert.equal(clouds[0].steps, 4);
  assert.deepEqual(Array.from(clouds[2].right), [0.5, 0.25]);
});
