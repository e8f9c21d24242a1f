/**
 * The activations panel's pure logic (webview/activations/shownText.ts and saturationPoints.ts):
 * lines of code points, locating a position, merging values as they arrive, the virtualised window,
 * keyboard moves, cell stepping, legend labels, the saved UI state and the saturation plot's picking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arrowTarget, clampPosition, describeSymbol, legendLabels, lineWindow, locate, mergeValues, OVERSCAN, pct, positionCount, restoreState, splitLines, valuesForText, wrapCell,
} from '../webview/activations/shownText';
import { integratorCount, nearestPoint, type PlotPoint } from '../webview/activations/saturationPoints';

test('splitLines: code points per line, newline positions, astral symbols count once', () => {
  const lines = splitLines('ab\n😀c\n');
  assert.deepEqual(lines, [
    { start: 0, cps: ['a', 'b'], newline: true },
    { start: 3, cps: ['😀', 'c'], newline: true },
    { start: 6, cps: [], newline: false },
  ]);
  assert.equal(positionCount(lines), 6);
  assert.deepEqual(splitLines(''), [{ start: 0, cps: [], newline: false }]);
});

test('locate: the line and column of every position, the newline at the end of its line', () => {
  const lines = splitLines('ab\n😀c\nxyz');
  assert.deepEqual(locate(lines, 0), { line: 0, col: 0 });
  assert.deepEqual(locate(lines, 2), { line: 0, col: 2 }); // the '\n'
  assert.deepEqual(locate(lines, 3), { line: 1, col: 0 });
  assert.deepEqual(locate(lines, 4), { line: 1, col: 1 });
  assert.deepEqual(locate(lines, 8), { line: 2, col: 2 });
  assert.deepEqual(locate([], 5), { line: 0, col: 5 });
});

test('valuesForText: kept for a text of the same length, else NaN of the new length', () => {
  const v = Float32Array.of(1, 2, 3);
  assert.equal(valuesForText(v, 'a😀c'), v);
  const fresh = valuesForText(v, 'abcd');
  assert.equal(fresh.length, 4);
  assert.ok(Array.from(fresh).every(Number.isNaN));
  assert.equal(valuesForText(v, null).length, 0);
});

test('mergeValues: a full array from 0 replaces, a piece is copied in and cut at the end, JSON nulls are NaN', () => {
  const current = new Float32Array(4).fill(NaN);
  const full = Float32Array.of(1, 2, 3, 4, 5);
  assert.equal(mergeValues(current, full, 0), full);
  const merged = mergeValues(new Float32Array(4).fill(NaN), Float32Array.of(7, 8, 9), 2);
  assert.deepEqual(Array.from(merged).slice(2), [7, 8]);
  assert.ok(Number.isNaN(merged[0]) && Number.isNaN(merged[1]));
  const fromJson = mergeValues(new Float32Array(3), [0.5, null], 0);
  assert.deepEqual(Array.from(fromJson.subarray(0, 1)), [0.5]);
  assert.ok(Number.isNaN(fromJson[1]));
  assert.equal(fromJson[2], 0);
});

test('lineWindow: the lines in sight ± OVERSCAN, clamped to the text', () => {
  assert.deepEqual(lineWindow(0, 100, 10, 1000), { first: 0, last: 10 + OVERSCAN, shownFirst: 0, shownLast: 10 });
  assert.deepEqual(lineWindow(5000, 100, 10, 1000), { first: 500 - OVERSCAN, last: 510 + OVERSCAN, shownFirst: 500, shownLast: 510 });
  assert.deepEqual(lineWindow(9950, 100, 10, 1000), { first: 995 - OVERSCAN, last: 999, shownFirst: 995, shownLast: 999 });
});

test('arrowTarget: the first move pins where it is, then moves; up and down keep the column, cut at the line end', () => {
  const lines = splitLines('abcd\nx\nefgh');
  assert.equal(arrowTarget(lines, 'ArrowRight', 2, -1), 2);
  assert.equal(arrowTarget(lines, 'ArrowRight', 2, 2), 3);
  assert.equal(arrowTarget(lines, 'ArrowLeft', 2, 2), 1);
  assert.equal(arrowTarget(lines, 'ArrowDown', 3, 3), 5 + 1); // line 1 has one code point: its end
  assert.equal(arrowTarget(lines, 'ArrowDown', 5, 5), 7); // column 0 of line 2
  assert.equal(arrowTarget(lines, 'ArrowUp', 9, 9), 6); // line 2 column 2 → line 1, cut at its end
  assert.equal(arrowTarget(lines, 'ArrowUp', 1, 1), 1); // the first line stays
  assert.equal(arrowTarget(lines, 'Enter', 1, 1), null);
  assert.equal(clampPosition(-1, 10), 0);
  assert.equal(clampPosition(12, 10), 9);
});

test('wrapCell: stepping past either end comes round', () => {
  assert.equal(wrapCell(-1, 8), 7);
  assert.equal(wrapCell(8, 8), 0);
  assert.equal(wrapCell(3, 8), 3);
});

test('legendLabels: as few significant digits as keep the three apart', () => {
  assert.deepEqual(legendLabels(-1, 0, 1), ['-1', '0', '1']);
  assert.deepEqual(legendLabels(0.25, 0.5, 0.75), ['0.25', '0.5', '0.75']);
  assert.deepEqual(legendLabels(0.998, 0.999, 1), ['0.998', '0.999', '1']);
});

test('describeSymbol and pct: visible whitespace, never 0 % or 100 %', () => {
  assert.equal(describeSymbol('\n'), '⏎');
  assert.equal(describeSymbol(' '), '␠');
  assert.equal(describeSymbol('\uFFFD'), '<unknown>');
  assert.equal(describeSymbol('x'), 'x');
  assert.equal(pct(0.999), '>99%');
  assert.equal(pct(0.001), '<1%');
  assert.equal(pct(0.42), '42%');
});

test('restoreState: a known tab is kept, anything else opens the Text tab', () => {
  assert.deepEqual(restoreState({ tab: 'saturation' }), { tab: 'saturation' });
  assert.deepEqual(restoreState({ tab: 'nope' }), { tab: 'text' });
  assert.deepEqual(restoreState(undefined), { tab: 'text' });
  assert.deepEqual(restoreState('text'), { tab: 'text' });
});

test('nearestPoint: the closest unit within 8 pixels; integratorCount: open > 50 %, shut < 10 %', () => {
  const p = (x: number, y: number, unit: number): PlotPoint => ({ x, y, layer: 1, gate: 'f', unit, left: 0, right: 0 });
  const points = [p(10, 10, 0), p(14, 10, 1), p(100, 100, 2)];
  assert.equal(nearestPoint(points, 13, 10)?.unit, 1);
  assert.equal(nearestPoint(points, 11, 10)?.unit, 0);
  assert.equal(nearestPoint(points, 50, 50), null);
  assert.equal(nearestPoint(points, 108, 100), null); // exactly 8 px is out
  assert.equal(integratorCount([0.05, 0.2, 0.0], [0.6, 0.9, 0.4]), 1);
});
