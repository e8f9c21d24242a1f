/**
 * The dashboard's pure logic — src/analysis/trainingCurve.ts (metric conversion, smoothing, curve
 * merge, CSV export, thinning) and, in webview/dashboard/, uiState.ts (the saved UI state, sorting
 * clicks), runStore.ts (the runs as the host's messages leave them), format.ts (numbers and times),
 * runColumns.ts (the runs table's cells and order), runColours.ts (colour slots), chartModel.ts
 * (curves, chart tables and series, log ticks, legend readings, the PNG's layout) and
 * cellsChartModel.ts (the cells-over-time chart's lines, readings, notes and keys) — and the dashboard
 * half of the message protocol (src/extension/protocol/dashboard.ts): the validators accept the
 * messages both sides send and reject wrong shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type RunSummary } from '../src/extension/protocol/runs';
import { describeRejected } from '../src/extension/protocol/validation';
import { isDashboardToHost, isHostToDashboard } from '../src/extension/protocol/dashboard';
import { CSV_HEADER, mergeCurve, metricLabel, runToCsv, smooth, thin, toMetric } from '../src/analysis/trainingCurve';
import { shortBackend } from '../webview/dashboard/backendLabel';
import { clampSmoothing, nextSort, restoreState, type UiState } from '../webview/dashboard/uiState';
import { RunStore, upsertByStep } from '../webview/dashboard/runStore';
import { fmtClock, fmtDuration, fmtLoss, fmtStarted, fmtTick, fmtX, modelText } from '../webview/dashboard/format';
import { COLUMNS, sortedRuns } from '../webview/dashboard/runColumns';
import { RunColours } from '../webview/dashboard/runColours';
import {
  alignByX, buildCurves, chartDescription, chartKey, chartSeries, chartTables, emptyChartNote, floorIndex, flowRows, legendReadings, logTicks, plottedPoints, pngTitle, WHOLE_INCREMENTS,
} from '../webview/dashboard/chartModel';
import { cellReading, cellsDescription, cellsEmptyNote, cellsKey, cellsPoints, cellsSeries, cellsTable, cellsView, keyedIndex, recordReading } from '../webview/dashboard/cellsChartModel';
import { cellsRecordFixture } from './support/fixtures';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

function run(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 'r1',
    dir: '/tmp/runs/r1',
    model: { kind: 'lstm', layers: 2, hidden: 128, embedding: 0 },
    parameters: 235_000,
    backend: 'wasm',
    corpus: 'workspace',
    status: 'running',
    startedAt: '2025-11-22T10:00:00.000Z',
    durationSeconds: 12,
    learningRate: 2e-3,
    charsPerSec: 2900,
    bestValLoss: 2.5,
    step: 200,
    evals: [
      { step: 100, chars: 204800, seconds: 6, trainLoss: 3, valLoss: 3.1 },
      { step: 200, chars: 409600, seconds: 12, trainLoss: 2.4, valLoss: 2.5 },
    ],
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics

test('toMetric: nats unchanged, bits = nats / ln 2, perplexity = e^nats', () => {
  for (const nats of [0, 0.5, 1, Math.LN2, 1.21, 4.6]) {
    assert.equal(toMetric(nats, 'nats'), nats);
    close(toMetric(nats, 'bits'), nats / Math.log(2));
    close(toMetric(nats, 'perplexity'), Math.exp(nats));
  }
  close(toMetric(Math.LN2, 'bits'), 1);
  close(toMetric(0, 'perplexity'), 1);
  // A uniform guess over 98 characters: ln 98 nats, log2 98 bits, perplexity 98.
  close(toMetric(Math.log(98), 'bits'), Math.log2(98));
  close(toMetric(Math.log(98), 'perplexity'), 98, 1e-12);
  // Karpathy et al.'s 0.84 nats/char is about 1.21 bits/char.
  close(toMetric(0.84, 'bits'), 1.2119, 1e-4);
  assert.equal(metricLabel('bits'), 'bits/char');
});

// ---------------------------------------------------------------------------------------------
// Smoothing

test('smooth: alpha 0 is the identity and returns a copy', () => {
  const v = [3, 1, 4, 1, 5];
  const s = smooth(v, 0);
  assert.deepEqual(s, v);
  assert.notEqual(s, v);
});

test('smooth: bias-corrected EMA — first value kept, constant stays constant, matches the formula', () => {
  assert.deepEqual(smooth([], 0.9), []);
  assert.equal(smooth([7], 0.9)[0], 7);
  for (const x of smooth([2, 2, 2, 2, 2], 0.95)) close(x, 2);
  const a = 0.6;
  const v = [4, 2, 3, 1];
  const out = smooth(v, a);
  // Reference: s_t = a s_{t-1} + (1-a) x_t from s_0 = 0, divided by 1 - a^t.
  let s = 0;
  v.forEach((x, i) => {
    s = a * s + (1 - a) * x;
    close(out[i], s / (1 - a ** (i + 1)));
  });
  // Smoothing a noisy series reduces its variation.
  const noisy = Array.from({ length: 200 }, (_, i) => 2 + (i % 2 === 0 ? 0.5 : -0.5));
  const tv = (xs: number[]) => xs.slice(1).reduce((acc, x, i) => acc + Math.abs(x - xs[i]), 0);
  assert.ok(tv(smooth(noisy, 0.9)) < tv(noisy) / 5);
});

test('smooth: alpha is clamped and non-finite values pass through without poisoning the state', () => {
  assert.deepEqual(smooth([1, 2, 3], -1), [1, 2, 3]);
  const s = smooth([1, 1, 1], 5);
  assert.ok(s.every((x) => Math.abs(x - 1) < 1e-9));
  const withNaN = smooth([2, NaN, 2, Infinity, 2], 0.5);
  assert.ok(Number.isNaN(withNaN[1]));
  assert.equal(withNaN[3], Infinity);
  close(withNaN[4], 2);
});

// ---------------------------------------------------------------------------------------------
// Curve and CSV

test('mergeCurve: progress and evaluations by step, ascending; the evaluation wins a shared step', () => {
  const rows = mergeCurve(run().evals, [
    { step: 150, chars: 307200, seconds: 9, trainLoss: 2.7, learningRate: 2e-3 },
    { step: 50, chars: 102400, seconds: 3, trainLoss: 3.6, learningRate: 2e-3 },
    { step: 200, chars: 409600, seconds: 12, trainLoss: 2.45, learningRate: 2e-3 },
  ]);
  assert.deepEqual(
    rows.map((r) => [r.step, r.trainLoss, r.valLoss]),
    [
      [50, 3.6, null],
      [100, 3, 3.1],
      [150, 2.7, null],
      [200, 2.4, 2.5],
    ],
  );
});

test('runToCsv: header, one row per step, validation columns only on evaluation rows', () => {
  const csv = runToCsv(run(), [{ step: 150, chars: 307200, seconds: 9, trainLoss: 2.7, learningRate: 2e-3 }]);
  assert.ok(csv.endsWith('\n'));
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines[0], 'step,chars,seconds,trainLoss_nats,valLoss_nats,valBitsPerChar,valPerplexity');
  assert.equal(lines[0], CSV_HEADER.join(','));
  assert.equal(lines.length, 4);
  const rows = lines.slice(1).map((l) => l.split(','));
  assert.ok(rows.every((r) => r.length === CSV_HEADER.length));
  assert.deepEqual(rows[0].slice(0, 5), ['100', '204800', '6', '3', '3.1']);
  close(Number(rows[0][5]), 3.1 / Math.LN2);
  close(Number(rows[0][6]), Math.exp(3.1));
  assert.deepEqual(rows[1], ['150', '307200', '9', '2.7', '', '', '']);
  assert.deepEqual(rows[2].slice(0, 5), ['200', '409600', '12', '2.4', '2.5']);
  // Numbers round-trip exactly.
  const precise = runToCsv(run({ evals: [{ step: 1, chars: 2, seconds: 0.1 + 0.2, trainLoss: 1 / 3, valLoss: Math.PI }] }), []);
  const cells = precise.trimEnd().split('\n')[1].split(',');
  assert.equal(Number(cells[2]), 0.1 + 0.2);
  assert.equal(Number(cells[3]), 1 / 3);
  assert.equal(Number(cells[4]), Math.PI);
});

test('runToCsv: a run without readings is just the header; non-finite losses are written as inf or left empty', () => {
  assert.equal(runToCsv(run({ evals: [] }), []), CSV_HEADER.join(',') + '\n');
  const csv = runToCsv(run({ evals: [{ step: 1, chars: 1, seconds: 1, trainLoss: Infinity, valLoss: 800 }] }), [{ step: 2, chars: 2, seconds: 2, trainLoss: NaN, learningRate: 2e-3 }]);
  const [, r1, r2] = csv.trimEnd().split('\n');
  assert.equal(r1, '1,1,1,inf,800,' + String(800 / Math.LN2) + ',inf');
  assert.equal(r2, '2,2,2,,,,');
});

test('thin: bounded length, first and newest points kept, newest half untouched', () => {
  const xs = Array.from({ length: 101 }, (_, i) => i);
  thin(xs, 100);
  assert.ok(xs.length <= 100);
  assert.equal(xs[0], 0);
  assert.equal(xs[xs.length - 1], 100);
  assert.deepEqual(xs.slice(-51), Array.from({ length: 51 }, (_, i) => 50 + i));
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i] > xs[i - 1]);
  const long: number[] = [];
  for (let i = 0; i < 10_000; i++) thin(long, 500).push(i);
  assert.ok(long.length <= 501);
  assert.equal(long[long.length - 1], 9999);
  const short = [1, 2, 3];
  assert.equal(thin(short, 10), short);
  assert.deepEqual(short, [1, 2, 3]);
});

// ---------------------------------------------------------------------------------------------
// Protocol validators

test('isHostToDashboard accepts every message the host sends', () => {
  const r = run({ lastSample: 'int main' });
  const good: unknown[] = [
    { type: 'runs', runs: [r, run({ runId: 'r2', bestValLoss: null, evals: [], status: 'finished' })], activeRunId: 'r1' },
    { type: 'runs', runs: [], activeRunId: null },
    { type: 'runUpdated', run: r },
    { type: 'progress', runId: 'r1', point: { step: 5, chars: 10, seconds: 0.5, trainLoss: 4.2, learningRate: 2e-3 }, charsPerSec: 20, fraction: 0.1 },
    { type: 'progress', runId: 'r1', point: { step: 5, chars: 10, seconds: 0.5, trainLoss: 4.2, learningRate: 2e-3 }, charsPerSec: 20, fraction: null },
    { type: 'eval', runId: 'r1', point: { step: 100, chars: 200, seconds: 3, trainLoss: 2, valLoss: 2.1 } },
    { type: 'sample', runId: 'r1', step: 100, text: 'static int x;\n' },
    { type: 'cells', runId: 'r1', record: cellsRecordFixture(100, { 'in-string': 0.8 }) },
    { type: 'runUpdated', run: run({ cells: [cellsRecordFixture(100, { 'in-string': 0.8 })] }) },
  ];
  for (const m of good) assert.ok(isHostToDashboard(m), JSON.stringify(m));
});

test('isHostToDashboard rejects missing fields, wrong types, unknown types and non-objects', () => {
  const point = { step: 5, chars: 10, seconds: 0.5, trainLoss: 4.2, learningRate: 2e-3 };
  const bad: unknown[] = [
    null,
    undefined,
    42,
    'runs',
    [],
    {},
    { type: 'nope' },
    { type: 'ready' }, // a webview → host message
    { type: 'runs', runs: [] }, // activeRunId missing
    { type: 'runs', runs: {}, activeRunId: null },
    { type: 'runs', runs: [{ ...run(), parameters: '235k' }], activeRunId: null },
    { type: 'runs', runs: [{ ...run(), status: 'paused' }], activeRunId: null },
    { type: 'runs', runs: [{ ...run(), model: { kind: 'transformer', layers: 1, hidden: 1, embedding: 0 } }], activeRunId: null },
    { type: 'runs', runs: [{ ...run(), evals: [{ step: 1 }] }], activeRunId: null },
    { type: 'runs', runs: [run()], activeRunId: 3 },
    { type: 'runUpdated' },
    { type: 'runUpdated', run: { ...run(), lastSample: 5 } },
    { type: 'progress', runId: 'r1', point, charsPerSec: 20 }, // fraction missing
    { type: 'progress', runId: 'r1', point: { ...point, trainLoss: 'high' }, charsPerSec: 20, fraction: null },
    { type: 'progress', runId: 'r1', point: { ...point, trainLoss: NaN }, charsPerSec: 20, fraction: null },
    { type: 'progress', runId: 7, point, charsPerSec: 20, fraction: null },
    { type: 'eval', runId: 'r1', point }, // no valLoss
    { type: 'sample', runId: 'r1', text: 'x' }, // no step
    { type: 'sample', runId: 'r1', step: 1, text: ['x'] },
  ];
  for (const m of bad) assert.ok(!isHostToDashboard(m), JSON.stringify(m) ?? String(m));
});

test('isDashboardToHost accepts what the page sends and rejects wrong shapes and non-PNG data URLs', () => {
  const png = 'data:image/png;base64,iVBORw0KGgo=';
  const good: unknown[] = [
    { type: 'ready' },
    { type: 'exportCsv', runId: 'r1' },
    { type: 'savePng', dataUrl: png },
    { type: 'openRunFolder', runId: 'r1' },
    { type: 'log', level: 'error', message: 'boom' },
    { type: 'log', level: 'info', message: 'hi' },
  ];
  for (const m of good) assert.ok(isDashboardToHost(m), JSON.stringify(m));
  const bad: unknown[] = [
    null,
    'ready',
    { type: 'Ready' },
    { type: 'runs', runs: [], activeRunId: null }, // a host → webview message
    { type: 'exportCsv' },
    { type: 'exportCsv', runId: 1 },
    { type: 'openRunFolder', runId: null },
    { type: 'savePng' },
    { type: 'savePng', dataUrl: 42 },
    { type: 'savePng', dataUrl: 'data:image/jpeg;base64,/9j/4AAQ' },
    { type: 'savePng', dataUrl: 'data:text/html,<script>alert(1)</script>' },
    { type: 'savePng', dataUrl: 'https://example.com/x.png' },
    { type: 'savePng', dataUrl: 'iVBORw0KGgo=' },
    { type: 'log', level: 'warn', message: 'x' },
    { type: 'log', level: 'info' },
  ];
  for (const m of bad) assert.ok(!isDashboardToHost(m), JSON.stringify(m) ?? String(m));
});

test('describeRejected names the type and stays short', () => {
  const text = describeRejected({ type: 'bogus', blob: 'x'.repeat(10_000) });
  assert.match(text, /"bogus"/);
  assert.ok(text.length < 400);
  assert.match(describeRejected(17), /"number"/);
});

test('shortBackend: the runs table shows the backend and its workers; the long description is the tooltip', () => {
  const long = 'native (TF.js cpu + Node-API addon, /lib/x86_64-linux-gnu/libopenblas.so.0 -> /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so, 1 BLAS threads) × 2 workers';
  assert.equal(shortBackend(long), 'native ×2');
  assert.equal(shortBackend('native (TF.js cpu + Node-API addon, x, 2 BLAS threads)'), 'native');
  assert.equal(shortBackend('wasm (SIMD on, 1 thread) × 1 worker'), 'wasm');
  assert.equal(shortBackend('wasm (SIMD on, 1 thread)'), 'wasm');
  assert.equal(shortBackend(''), '');
});

// ---------------------------------------------------------------------------------------------
// UI state

const uiState = (overrides: Partial<UiState> = {}): UiState => ({ ...restoreState(undefined), smoothing: 0, ...overrides });

test('restoreState: defaults for anything missing or wrong, valid fields kept, smoothing clamped', () => {
  const defaults = { metric: 'nats', xAxis: 'step', log: false, smoothing: 0.6, hidden: [], selected: null, sort: { key: 'started', dir: -1 }, hiddenConcepts: [] };
  for (const raw of [undefined, null, 42, 'x', [], {}]) assert.deepEqual(restoreState(raw), defaults);
  const saved: UiState = { metric: 'bits', xAxis: 'seconds', log: true, smoothing: 0.3, hidden: ['r2'], selected: 'r1', sort: { key: 'bestVal', dir: 1 }, hiddenConcepts: ['in-comment'] };
  assert.deepEqual(restoreState(JSON.parse(JSON.stringify(saved))), saved);
  const odd = restoreState({ metric: 'loss', xAxis: 'epoch', log: 'yes', smoothing: 5, hidden: ['a', 1, null], selected: 7, sort: { key: 'colour', dir: 2 }, hiddenConcepts: 'in-string' });
  assert.deepEqual(odd, { ...defaults, smoothing: 0.99, hidden: ['a'] });
  assert.deepEqual(restoreState({ hiddenConcepts: ['column', 3] }).hiddenConcepts, ['column']);
  assert.equal(restoreState({ smoothing: -1 }).smoothing, 0);
  assert.equal(restoreState({ smoothing: NaN }).smoothing, 0.6);
  assert.deepEqual(restoreState({ sort: { key: 'run' } }).sort, { key: 'run', dir: -1 });
});

test('clampSmoothing and nextSort: the slider within 0–0.99; a header click flips its column or starts another', () => {
  assert.deepEqual([clampSmoothing(0.5), clampSmoothing(1), clampSmoothing(-0.2), clampSmoothing(NaN)], [0.5, 0.99, 0, 0]);
  assert.deepEqual(nextSort({ key: 'run', dir: 1 }, 'run', false), { key: 'run', dir: -1 });
  assert.deepEqual(nextSort({ key: 'run', dir: -1 }, 'run', false), { key: 'run', dir: 1 });
  assert.deepEqual(nextSort({ key: 'run', dir: 1 }, 'parameters', true), { key: 'parameters', dir: -1 });
  assert.deepEqual(nextSort({ key: 'run', dir: -1 }, 'model', false), { key: 'model', dir: 1 });
  assert.deepEqual(nextSort({ key: 'run', dir: 1 }, 'started', false), { key: 'started', dir: -1 });
});

// ---------------------------------------------------------------------------------------------
// Runs as the host's messages leave them

const progress = (runId: string, step: number, extra: { charsPerSec?: number; fraction?: number | null; trainLoss?: number } = {}) => ({
  type: 'progress' as const,
  runId,
  point: { step, chars: step * 2048, seconds: step / 10, trainLoss: extra.trainLoss ?? 2, learningRate: 1e-3 },
  charsPerSec: extra.charsPerSec ?? 5000,
  fraction: extra.fraction === undefined ? 0.5 : extra.fraction,
});

test('upsertByStep: appends a newer step, inserts an older one in order, replaces the same step', () => {
  const xs: { step: number; v: string }[] = [];
  upsertByStep(xs, { step: 2, v: 'a' });
  upsertByStep(xs, { step: 5, v: 'b' });
  upsertByStep(xs, { step: 1, v: 'c' });
  upsertByStep(xs, { step: 3, v: 'd' });
  upsertByStep(xs, { step: 5, v: 'e' });
  upsertByStep(xs, { step: 1, v: 'f' });
  assert.deepEqual(xs, [{ step: 1, v: 'f' }, { step: 2, v: 'a' }, { step: 3, v: 'd' }, { step: 5, v: 'e' }]);
});

test('RunStore: a snapshot replaces the runs and selects the active run, else the newest; a selection still there stays', () => {
  const store = new RunStore();
  const ui = { selected: null as string | null };
  assert.deepEqual(store.receive({ type: 'runs', runs: [run(), run({ runId: 'r2' })], activeRunId: 'r1' }, ui), { structure: true, uiChanged: true });
  assert.equal(ui.selected, 'r1');
  assert.deepEqual([...store.runs.keys()], ['r1', 'r2']);
  assert.deepEqual(store.runs.get('r1')!.evals.map((e) => e.step), [100, 200]);
  // r1 is gone: the selection moves to the newest run (the active one is not listed).
  assert.deepEqual(store.receive({ type: 'runs', runs: [run({ runId: 'r2' }), run({ runId: 'r3' })], activeRunId: 'r9' }, ui), { structure: true, uiChanged: true });
  assert.deepEqual([...store.runs.keys()], ['r2', 'r3']);
  assert.equal(ui.selected, 'r3');
  ui.selected = 'r2';
  assert.deepEqual(store.receive({ type: 'runs', runs: [run({ runId: 'r2' }), run({ runId: 'r3' })], activeRunId: 'r3' }, ui), { structure: true, uiChanged: false });
  assert.equal(ui.selected, 'r2');
  assert.deepEqual(store.receive({ type: 'runs', runs: [], activeRunId: null }, ui), { structure: true, uiChanged: true });
  assert.equal(ui.selected, null);
});

test('RunStore: runUpdated rebuilds the series only for a new run and selects it when nothing is selected', () => {
  const store = new RunStore();
  const ui = { selected: null as string | null };
  assert.deepEqual(store.receive({ type: 'runUpdated', run: run({ lastSample: 'int x;' }) }, ui), { structure: true, uiChanged: true });
  assert.equal(ui.selected, 'r1');
  assert.deepEqual(store.runs.get('r1')!.sample, { step: null, text: 'int x;' });
  assert.deepEqual(store.receive({ type: 'runUpdated', run: run({ status: 'finished' }) }, ui), { structure: false, uiChanged: false });
  assert.equal(store.runs.get('r1')!.summary.status, 'finished');
  assert.deepEqual(store.receive({ type: 'runUpdated', run: run({ runId: 'r2' }) }, ui), { structure: true, uiChanged: false });
  assert.equal(ui.selected, 'r1');
});

test('RunStore: live readings update the running run; a message for an unknown run waits for its summary', () => {
  const store = new RunStore();
  const ui = { selected: null as string | null };
  assert.deepEqual(store.receive(progress('r1', 250, { charsPerSec: 7000, fraction: 0.25 }), ui), { structure: false, uiChanged: false });
  assert.equal(store.runs.size, 0);
  store.receive({ type: 'sample', runId: 'r1', step: 250, text: 'for (;;)' }, ui);
  store.receive({ type: 'runUpdated', run: run() }, ui);
  const r = store.runs.get('r1')!;
  assert.deepEqual(r.progress.map((p) => p.step), [250]);
  assert.equal(r.summary.step, 250);
  assert.equal(r.summary.charsPerSec, 7000);
  assert.equal(r.summary.learningRate, 1e-3);
  assert.equal(r.summary.durationSeconds, 25);
  assert.equal(r.fraction, 0.25);
  assert.deepEqual(r.sample, { step: 250, text: 'for (;;)' });
  // An older snapshot of a running run keeps the live figures; an older sample does not replace a newer one.
  store.receive({ type: 'runUpdated', run: run({ step: 200, charsPerSec: 100, learningRate: 2e-3, durationSeconds: 12 }) }, ui);
  assert.deepEqual([r.summary.step, r.summary.charsPerSec, r.summary.learningRate, r.summary.durationSeconds], [250, 7000, 1e-3, 25]);
  store.receive({ type: 'sample', runId: 'r1', step: 200, text: 'old' }, ui);
  assert.equal(r.sample!.text, 'for (;;)');
  // Evaluations: the best validation loss only falls.
  store.receive({ type: 'eval', runId: 'r1', point: { step: 300, chars: 1, seconds: 30, trainLoss: 2, valLoss: 2.2 } }, ui);
  store.receive({ type: 'eval', runId: 'r1', point: { step: 400, chars: 2, seconds: 40, trainLoss: 2, valLoss: 2.3 } }, ui);
  assert.equal(r.summary.bestValLoss, 2.2);
  assert.deepEqual(r.evals.map((e) => e.step), [100, 200, 300, 400]);
  assert.equal(r.summary.step, 400);
});

test('RunStore: readings replayed for a run that has ended keep its final figures', () => {
  const store = new RunStore();
  const ui = { selected: null as string | null };
  store.receive({ type: 'runUpdated', run: run() }, ui);
  store.receive(progress('r1', 210, { fraction: 0.9 }), ui);
  store.receive({ type: 'runUpdated', run: run({ status: 'cancelled', step: 220, charsPerSec: 2900, durationSeconds: 12 }) }, ui);
  const r = store.runs.get('r1')!;
  assert.equal(r.fraction, null);
  store.receive(progress('r1', 230, { charsPerSec: 1 }), ui);
  assert.deepEqual([r.summary.step, r.summary.charsPerSec, r.summary.durationSeconds, r.fraction], [230, 2900, 12, null]);
  assert.deepEqual(r.progress.map((p) => p.step), [210, 230]);
});

test('RunStore: cells records from the summary and live, one per step, for runs known or still to come', () => {
  const store = new RunStore();
  const ui = { selected: null as string | null };
  const at = (step: number, s: number) => cellsRecordFixture(step, { 'in-string': s });
  assert.deepEqual(store.receive({ type: 'cells', runId: 'r1', record: at(300, 0.9) }, ui), { structure: false, uiChanged: false });
  store.receive({ type: 'runs', runs: [run({ cells: [at(100, 0.6), at(200, 0.7)] })], activeRunId: null }, ui);
  const r = store.runs.get('r1')!;
  assert.deepEqual(r.cells.map((c) => c.step), [100, 200, 300], 'the waiting record joins the summary\'s');
  store.receive({ type: 'cells', runId: 'r1', record: at(200, 0.75) }, ui);
  store.receive({ type: 'cells', runId: 'r1', record: at(150, 0.65) }, ui);
  assert.deepEqual(r.cells.map((c) => [c.step, c.concepts[0].score]), [[100, 0.6], [150, 0.65], [200, 0.75], [300, 0.9]]);
  // A later snapshot (a reload) keeps what it does not list.
  store.receive({ type: 'runs', runs: [run()], activeRunId: null }, ui);
  assert.equal(store.runs.get('r1')!.cells.length, 4);
});

// ---------------------------------------------------------------------------------------------
// Cells over time

test('cellsView: one line per concept against the axis, records by step, gaps where a record has none, hidden concepts kept', () => {
  const records = [
    cellsRecordFixture(300, { 'in-string': 0.95, 'in-comment': 0.9, column: 0.4 }),
    cellsRecordFixture(100, { 'in-string': 0.7, column: 0.2 }),
    cellsRecordFixture(200, { 'in-string': 0.8, 'in-comment': 0.85, column: 0.3 }),
    cellsRecordFixture(200, { 'in-string': 0.81, 'in-comment': 0.86, column: 0.31 }),
  ];
  const v = cellsView(records, 'step', ['column']);
  assert.deepEqual(v.x, [100, 200, 300]);
  assert.deepEqual(v.lines.map((l) => [l.concept, l.scoreKind, l.hidden, l.dash.length > 0]), [['in-string', 'auc', false, false], ['column', 'correlation', true, true], ['in-comment', 'auc', false, false]]);
  assert.deepEqual(new Set(v.lines.map((l) => l.colourVar)).size, 3, 'a colour each');
  assert.ok(v.lines.every((l) => l.colourVar.startsWith('--vscode-charts-')));
  const [x, string, column, comment] = cellsTable(v);
  assert.deepEqual([x, string, column, comment], [[100, 200, 300], [0.7, 0.81, 0.95], [0.2, 0.31, 0.4], [null, 0.86, 0.9]]);
  assert.equal(cellsPoints(v), 3 + 2, 'hidden concepts are not counted');
  const series = cellsSeries(v, 'step', (name) => `colour(${name})`);
  assert.deepEqual(series.map((s) => [s.label, s.show ?? true]), [['step', true], ['title of in-string', true], ['title of column', false], ['title of in-comment', true]]);
  assert.equal(series[1].stroke, 'colour(--vscode-charts-blue)');
  // Against characters or seconds: the records' own.
  assert.deepEqual(cellsView(records, 'chars', []).x, [100 * 2048, 200 * 2048, 300 * 2048]);
  assert.deepEqual(cellsView(records, 'seconds', []).x, [10, 20, 30]);
  // The key rebuilds the chart for another run, axis or set of hidden concepts only.
  assert.equal(cellsKey('r1', v, 'step'), cellsKey('r1', cellsView(records.slice(0, 3), 'step', ['column']), 'step'));
  assert.notEqual(cellsKey('r1', v, 'step'), cellsKey('r2', v, 'step'));
  assert.notEqual(cellsKey('r1', v, 'step'), cellsKey('r1', cellsView(records, 'step', []), 'step'));
});

test('cells readings, notes and keyboard moves', () => {
  const v = cellsView([cellsRecordFixture(100, { 'in-string': 0.7 }), cellsRecordFixture(200, { 'in-string': 0.9, 'in-comment': 0.6, column: 0.5 })], 'step', ['column']);
  assert.equal(cellReading(v.lines[0].cells[1]), '0.900 · L1 c0');
  assert.equal(cellReading(v.lines[2].cells[1]), '0.500 · L1 c6 −');
  assert.equal(cellReading(null), '—');
  assert.equal(recordReading(v, 0, 'step'), 'step 100: title of in-string 0.700; title of in-comment none');
  assert.equal(recordReading(v, 5, 'step'), '');
  assert.match(cellsDescription('r1', v, 'step'), /^Best-cell score per concept .* for r1, 2 evaluation\(s\)\. Arrow keys .* step 200: title of in-string 0\.900; title of in-comment 0\.600$/);
  assert.match(cellsEmptyNote(null, null), /Select a run/);
  assert.match(cellsEmptyNote('r1', cellsView([], 'step', [])), /No cells over time for r1 yet: .*--from-checkpoints/);
  assert.match(cellsEmptyNote('r1', cellsView([cellsRecordFixture(1, { 'in-string': 0.5 })], 'step', ['in-string'])), /Every concept is hidden/);
  assert.equal(cellsEmptyNote('r1', v), '');
  assert.deepEqual(['ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown', 'a'].map((k) => keyedIndex(-1, 30, k)), [29, 29, 0, 29, 20, 29, null]);
  assert.deepEqual(['ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown'].map((k) => keyedIndex(5, 30, k)), [4, 6, 0, 15]);
  assert.deepEqual([keyedIndex(0, 30, 'ArrowLeft'), keyedIndex(29, 30, 'ArrowRight'), keyedIndex(-1, 0, 'Home')], [0, 29, null]);
});

// ---------------------------------------------------------------------------------------------
// Formatting

test('format: durations, clock times, losses, ticks and x values as the dashboard writes them', () => {
  assert.deepEqual([NaN, -5, 0, 59.4, 59.6, 3599, 3600, 3725].map(fmtDuration), ['—', '0s', '0s', '59s', '1m 00s', '59m 59s', '1h 00m', '1h 02m']);
  assert.deepEqual([0, 65, 3661].map(fmtClock), ['0:00', '1:05', '1:01:01']);
  assert.deepEqual([null, undefined, NaN, Infinity, 1.23456, 12.5, 150.25, 2500].map(fmtLoss), ['—', '—', '—', '∞', '1.235', '12.50', '150.3', '2.5K']);
  assert.deepEqual([null, Infinity, 1.23456789, 0.1 + 0.2, 12_000].map(fmtTick), ['', '', '1.23457', '0.3', '12K']);
  assert.equal(fmtX(1234, 'step'), '1,234');
  assert.equal(fmtX(12_345, 'chars'), '12.3K');
  assert.equal(fmtX(65, 'seconds'), '1:05');
  assert.equal(fmtStarted('not a date'), 'not a date');
  const now = new Date();
  assert.equal(fmtStarted(now.toISOString()), now.toLocaleTimeString(undefined, { timeStyle: 'short' }));
  const old = new Date('2020-02-03T10:00:00Z');
  assert.equal(fmtStarted(old.toISOString()), old.toLocaleDateString(undefined, { dateStyle: 'short' }));
  assert.equal(modelText(run({ model: { kind: 'gru', layers: 3, hidden: 512, embedding: 0 } })), 'gru 3×512');
});

// ---------------------------------------------------------------------------------------------
// Runs table and colours

test('runs table: cells per column, best val in the chosen metric, rows by the sort with runs without a validation loss last', () => {
  const data = (s: RunSummary, fraction: number | null = null) => ({ summary: s, evals: s.evals, cells: [], progress: [], fraction, sample: null });
  const a = data(run({ runId: 'a', bestValLoss: 2 }));
  const b = data(run({ runId: 'b', bestValLoss: null, learningRate: null }), 0.42);
  const c = data(run({ runId: 'c', bestValLoss: 1.5, status: 'finished' }));
  const col = (key: string) => COLUMNS.find((k) => k.key === key)!;
  assert.equal(col('status').cell(b, 'nats'), 'running 42%');
  assert.equal(col('status').cell(c, 'nats'), 'finished');
  assert.equal(col('learningRate').cell(b, 'nats'), '–');
  assert.equal(col('learningRate').cell(a, 'nats'), '2.0e-3');
  assert.equal(col('bestVal').title('bits'), 'Best val (bits/char)');
  assert.equal(col('bestVal').cell(a, 'bits'), fmtLoss(2 / Math.LN2));
  assert.equal(col('bestVal').cell(b, 'nats'), '—');
  assert.equal(col('parameters').cell(a, 'nats'), '235K');
  assert.equal(col('model').cell(a, 'nats'), 'lstm 2×128');
  const order = (key: UiState['sort']['key'], dir: 1 | -1) => sortedRuns([a, b, c], { key, dir }).map((r) => r.summary.runId);
  assert.deepEqual(order('bestVal', 1), ['c', 'a', 'b']);
  assert.deepEqual(order('bestVal', -1), ['a', 'c', 'b']);
  assert.deepEqual(order('run', -1), ['c', 'b', 'a']);
  // Equal values fall back to the run id, ascending, whichever the direction.
  assert.deepEqual(order('started', -1), ['a', 'b', 'c']);
  assert.deepEqual(order('status', 1), ['c', 'a', 'b']);
});

test('RunColours: one slot per run, a freed slot is taken again, the seventh run reuses a colour dashed', () => {
  const listed = new Set(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
  const colours = new RunColours(listed);
  const vars = [...listed].map((id) => colours.colourVar(id));
  assert.equal(new Set(vars.slice(0, 6)).size, 6);
  assert.ok(vars.every((v) => v.startsWith('--vscode-charts-')));
  assert.equal(vars[6], vars[0]);
  assert.deepEqual(colours.dashOf('r1'), []);
  assert.ok(colours.dashOf('r7').length > 0);
  assert.equal(colours.colourVar('r2'), vars[1]);
  listed.delete('r2');
  listed.add('r8');
  assert.equal(colours.colourVar('r8'), vars[1]);
  assert.deepEqual(colours.dashOf('r8'), []);
});

// ---------------------------------------------------------------------------------------------
// The chart

const style = (id: string) => ({ colour: `colour-${id}`, dash: [] as number[] });

function chartRuns() {
  const store = new RunStore();
  const ui = { selected: null as string | null };
  store.receive({ type: 'runs', runs: [run(), run({ runId: 'r2', evals: [] })], activeRunId: null }, ui);
  store.receive(progress('r1', 150, { trainLoss: 2.7 }), ui);
  return store.runs;
}

test('alignByX: sorts by x and keeps the last of equal xs; sorted input is returned as it is', () => {
  assert.deepEqual(alignByX([1, 3, 2, 3], [10, 30, 20, 31], [1, 3, 2, null]), [[1, 2, 3], [10, 20, 31], [1, 2, null]]);
  const xs = [1, 2, 3];
  const ys = [4, 5, 6];
  const [ax, ay] = alignByX(xs, ys);
  assert.equal(ax, xs);
  assert.equal(ay, ys);
});

test('buildCurves: the shown runs in the metric against the axis; series and tables agree', () => {
  const runs = chartRuns();
  const [c1, c2] = buildCurves(runs, uiState(), style);
  assert.deepEqual([c1.runId, c1.colour, c1.firstSeries, c2.firstSeries], ['r1', 'colour-r1', 1, 3]);
  assert.deepEqual(c1.trainX, [100, 150, 200]);
  assert.deepEqual(c1.train, [3, 2.7, 2.4]);
  assert.deepEqual(c1.trainRaw, c1.train);
  assert.deepEqual([c1.valX, c1.val], [[100, 200], [3.1, 2.5]]);
  assert.deepEqual([c2.trainX, c2.valX], [[], []]);
  assert.equal(plottedPoints([c1, c2]), 5);
  const hidden = buildCurves(runs, uiState({ hidden: ['r2'], xAxis: 'chars', metric: 'bits', smoothing: 0.5 }), style);
  assert.equal(hidden.length, 1);
  assert.deepEqual(hidden[0].trainX, [204800, 307200, 409600]);
  close(hidden[0].val[1]!, 2.5 / Math.LN2);
  assert.deepEqual(hidden[0].trainRaw.map((v) => v! * Math.LN2).map((v) => Number(v.toFixed(9))), [3, 2.7, 2.4]);
  assert.ok(hidden[0].train[1]! > hidden[0].trainRaw[1]!, 'the smoothed curve lags the falling loss');
  const smoothing = buildCurves(runs, uiState({ smoothing: 0.5 }), style);
  assert.deepEqual(smoothing.map((c) => c.firstSeries), [1, 4]);
  for (const [cs, withRaw] of [[[c1, c2], false], [smoothing, true]] as const) {
    const series = chartSeries(cs, 'step', withRaw);
    assert.equal(series.length, chartTables(cs, withRaw).length + 1);
    assert.deepEqual(series.slice(0, 4).map((s) => s.label), withRaw ? ['step', 'r1 training (raw)', 'r1 training', 'r1 validation'] : ['step', 'r1 training', 'r1 validation', 'r2 training']);
  }
  assert.deepEqual(chartTables([c1], false), [[c1.trainX, c1.train], [c1.valX, c1.val]]);
});

test('buildCurves: values the chart cannot show are gaps: not finite, or not positive on a log scale', () => {
  const store = new RunStore();
  store.receive({ type: 'runs', runs: [run({ evals: [{ step: 100, chars: 1, seconds: 1, trainLoss: Infinity, valLoss: 0 }] })], activeRunId: null }, { selected: null });
  const [lin] = buildCurves(store.runs, uiState(), style);
  assert.deepEqual([lin.train, lin.val], [[null], [0]]);
  const [log] = buildCurves(store.runs, uiState({ log: true }), style);
  assert.deepEqual([log.train, log.val], [[null], [null]]);
});

test('chart notes: the empty states, the text alternative, the rebuild key', () => {
  const runs = chartRuns();
  const cs = buildCurves(runs, uiState(), style);
  assert.equal(emptyChartNote(0, []), 'No runs yet.');
  assert.equal(emptyChartNote(2, []), 'All runs are hidden: tick one in the legend above.');
  assert.equal(emptyChartNote(2, [cs[1]]), 'Waiting for the first readings…');
  assert.equal(emptyChartNote(2, cs), '');
  assert.equal(
    chartDescription(cs, uiState()),
    'Loss in nats/char against step, 2 run(s). r1: training 2.4 at 200, validation 2.5 at 200; r2: training none yet, validation none yet',
  );
  const key = chartKey(uiState(), cs);
  assert.equal(chartKey(uiState(), buildCurves(chartRuns(), uiState(), style)), key);
  assert.notEqual(chartKey(uiState({ metric: 'bits' }), cs), key);
  assert.notEqual(chartKey(uiState({ smoothing: 0.2 }), cs), key);
  assert.equal(chartKey(uiState({ smoothing: 0.3 }), cs), chartKey(uiState({ smoothing: 0.2 }), cs));
  assert.notEqual(chartKey(uiState(), cs.slice(0, 1)), key);
});

test('legend readings: at the cursor (the last point at or before it), or the latest', () => {
  assert.deepEqual([0, 1, 3, 4, 9].map((t) => floorIndex([1, 2, 4], t)), [-1, 0, 1, 2, 2]);
  assert.equal(floorIndex([], 5), -1);
  const [c] = buildCurves(chartRuns(), uiState(), style);
  assert.equal(legendReadings(c, null, 'step'), 'train 2.400 · val 2.500 · @ 200');
  assert.equal(legendReadings(c, 160, 'step'), 'train 2.700 · val 3.100 · @ 150');
  assert.equal(legendReadings(c, 50, 'step'), 'train — · val —');
});

test('logTicks: round values inside the range, the densest set whose ticks stay 28 px apart', () => {
  assert.deepEqual(logTicks(1.5, 3, 300), [1.6, 1.8, 2, 2.5, 3]);
  assert.deepEqual(logTicks(1.5, 3, 100), [1.5, 2, 3]);
  assert.deepEqual(logTicks(0, 3, 300), []);
  assert.deepEqual(logTicks(2, 2, 300), []);
  assert.deepEqual(logTicks(2.1, 2.2, 300), []); // no round value inside: uPlot draws the axis bare
  for (const [min, max, h] of [[0.8, 4.6, 400], [1.01, 1.2, 250], [0.3, 90, 200], [1.9, 2.6, 30]]) {
    const ticks = logTicks(min, max, h);
    assert.ok(ticks.length > 0 && ticks.every((t, i) => t >= min && t <= max && (i === 0 || t > ticks[i - 1])), `${min}–${max}: ${ticks}`);
  }
  assert.deepEqual(WHOLE_INCREMENTS.slice(0, 6), [1, 2, 5, 10, 20, 50]);
  assert.ok(WHOLE_INCREMENTS.every(Number.isInteger));
});

test('PNG export: its title, and the legend entries flowed into rows', () => {
  assert.equal(pngTitle(uiState()), 'Loss (nats/char) against step');
  assert.equal(pngTitle(uiState({ metric: 'bits', log: true, xAxis: 'chars', smoothing: 0.6 })), 'Loss (bits/char, log scale) against characters seen — training smoothed 0.60');
  assert.deepEqual(flowRows([50, 50, 50], 10, 120, 20), { at: [{ x: 10, y: 0 }, { x: 60, y: 0 }, { x: 10, y: 20 }], height: 40 });
  assert.deepEqual(flowRows([500, 20], 10, 120, 20), { at: [{ x: 10, y: 0 }, { x: 10, y: 20 }], height: 40 });
  assert.deepEqual(flowRows([], 10, 120, 20), { at: [], height: 0 });
});
