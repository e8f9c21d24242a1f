/**
 * The dashboard's pure logic (src/analysis/trainingCurve.ts: metric conversion, smoothing, curve merge,
 * CSV export, thinning) and the dashboard half of the message protocol (src/extension/protocol/dashboard.ts):
 * the validators accept the messages both sides send and reject wrong shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type RunSummary } from '../src/extension/protocol/runs';
import { describeRejected } from '../src/extension/protocol/validation';
import { isDashboardToHost, isHostToDashboard } from '../src/extension/protocol/dashboard';
import { CSV_HEADER, mergeCurve, metricLabel, runToCsv, smooth, thin, toMetric } from '../src/analysis/trainingCurve';
import { shortBackend } from '../webview/dashboard/backendLabel';

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
