/**
 * The activation views' pure logic: the colour scale and the overlay's bucket runs, UTF-16 ↔ code
 * point offsets, the trace cache (an edit deep in a file re-traces from the last cached state before
 * it, and the result equals a full re-trace; the lines in sight are traced first), hover probes
 * against the engine's trace, the inference worker end to end, and the activations half of the
 * message protocol.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { initBackend } from '../src/engine/runtime/backend';
import { saveCheckpoint } from '../src/engine/training/checkpoint';
import { ModelConfig } from '../src/engine/nn/config';
import { InferenceModel, InferenceState } from '../src/engine/inference/inference';
import { initialParams } from '../src/engine/nn/model';
import { Random } from '../src/engine/nn/random';
import { traceText } from '../src/engine/inference/trace';
import { Vocabulary } from '../src/engine/data/vocabulary';
import {
  BUCKETS, bucketOf, bucketRuns, bucketValue, colourOf, fittedScale, MIDDLE_BUCKET, niceCeil, normalise, quantitiesOf, scaleFor,
} from '../src/extension/activations/colourScale';
import { DocumentTrace, TraceProgress } from '../src/extension/activations/documentTrace';
import { probePosition, spanCells, traceSegment } from '../src/extension/activations/segmentTrace';
import { SegmentRequest, SegmentResult, TraceCache } from '../src/extension/activations/traceCache';
import { cpOfUnit, unitOffsets } from '../src/engine/data/codePoints';
import { describeRejected } from '../src/extension/protocol/validation';
import { isHostToInference, isInferenceToHost, type InferenceToHost } from '../src/extension/protocol/inference';
import { isActivationsToHost, isHostToActivations, type HostToActivations } from '../src/extension/protocol/activations';
import { cSource, tempDir } from './support/fixtures';

const close = (a: number, b: number, eps: number, what = '') => assert.ok(Math.abs(a - b) <= eps, `${what} ${a} ≉ ${b}`);

// ---------------------------------------------------------------------------------------------
// Colour scale

test('scaleFor: tanh(c), h and candidates in [−1, 1]; sigmoid gates in [0, 1] around 0.5; c ± its largest |c|, rounded up', () => {
  for (const q of ['tanh(c)', 'h', 'g', 'n']) assert.deepEqual(scaleFor(q), { lo: -1, mid: 0, hi: 1 });
  for (const q of ['i', 'f', 'o', 'z', 'r']) assert.deepEqual(scaleFor(q), { lo: 0, mid: 0.5, hi: 1 });
  assert.deepEqual(scaleFor('c', [0.3, NaN, -3.7, 1]), { lo: -5, mid: 0, hi: 5 });
  assert.deepEqual(scaleFor('c', [NaN]), { lo: -1, mid: 0, hi: 1 });
  assert.deepEqual([0.07, 1, 1.01, 2, 2.5, 7, 12].map(niceCeil), [0.1, 1, 2, 2, 5, 10, 20]);
});

test('fittedScale: median neutral, 2nd/98th percentiles at the ends, NaN ignored; constant values fall back', () => {
  const values = new Float32Array(101);
  for (let i = 0; i <= 100; i++) values[i] = 0.9 + i / 1000; // 0.900 … 1.000: a cell near saturation
  values[50] = NaN;
  const s = fittedScale(values, scaleFor('tanh(c)'));
  close(s.lo, 0.902, 2e-3);
  close(s.mid, 0.95, 2e-3);
  close(s.hi, 0.998, 2e-3);
  assert.ok(normalise(0.91, s) < -0.7 && normalise(0.99, s) > 0.7, 'the small range fills the scale');
  assert.deepEqual(fittedScale(new Float32Array(10).fill(0.5), scaleFor('f')), { lo: 0, mid: 0.5, hi: 1 });
  assert.deepEqual(fittedScale(Float32Array.from([NaN, 0.2]), scaleFor('h')), { lo: -1, mid: 0, hi: 1 });
});

test('normalise: lo → −1, mid → 0, hi → +1, clamped; NaN stays NaN', () => {
  const gate = scaleFor('f');
  assert.equal(normalise(0, gate), -1);
  assert.equal(normalise(0.5, gate), 0);
  assert.equal(normalise(1, gate), 1);
  close(normalise(0.75, gate), 0.5, 1e-12);
  close(normalise(0.4, gate), -0.2, 1e-12);
  const c = { lo: -5, mid: 0, hi: 5 };
  assert.equal(normalise(-12, c), -1);
  assert.equal(normalise(9, c), 1);
  assert.ok(Number.isNaN(normalise(NaN, c)));
});

test('buckets: 21, −1 → 0, 0 → the neutral middle, +1 → 20; bucketValue inverts bucketOf at bucket centres', () => {
  assert.equal(BUCKETS, 21);
  assert.equal(MIDDLE_BUCKET, 10);
  assert.equal(bucketOf(-1), 0);
  assert.equal(bucketOf(0), 10);
  assert.equal(bucketOf(1), 20);
  assert.equal(bucketOf(-7), 0);
  assert.equal(bucketOf(NaN), 10);
  assert.equal(bucketOf(0.04), 10); // within half a bucket of 0 stays neutral
  assert.equal(bucketOf(0.06), 11);
  for (let b = 0; b < BUCKETS; b++) assert.equal(bucketOf(bucketValue(b)), b);
  // Monotone.
  let prev = -1;
  for (let t = -1; t <= 1; t += 0.01) {
    const b = bucketOf(t);
    assert.ok(b >= prev);
    prev = b;
  }
});

test('colourOf: transparent at 0 and NaN, blue below, red above, opacity |t| × max', () => {
  assert.equal(colourOf(0), 'transparent');
  assert.equal(colourOf(NaN), 'transparent');
  assert.match(colourOf(-1, 0.8), /^rgba\(45, 110, 235, 0\.8\)$/);
  assert.match(colourOf(1, 0.8), /^rgba\(225, 45, 40, 0\.8\)$/);
  assert.match(colourOf(0.5, 0.8), /, 0\.4\)$/);
  assert.equal(colourOf(3, 0.6), colourOf(1, 0.6));
});

test('bucketRuns: runs of equal buckets in UTF-16 offsets, broken at line ends, neutral and NaN left out', () => {
  const text = 'ab😀c\nde';
  const offs = unitOffsets(text); // a b 😀 c \n d e → 7 code points
  assert.equal(offs.length, 8);
  const s = { lo: -1, mid: 0, hi: 1 };
  const values = Float32Array.from([1, 1, 1, -1, 1, 1, NaN]);
  const runs = bucketRuns(values, 0, offs, text, s, 0, 7);
  assert.deepEqual(runs, [
    { bucket: 20, start: 0, end: 4 }, // a b 😀 (two units)
    { bucket: 0, start: 4, end: 5 }, // c
    { bucket: 20, start: 6, end: 7 }, // d (the newline is never coloured and ends the run)
  ]);
  // A sub-range, with values indexed from their own start.
  assert.deepEqual(bucketRuns(values.subarray(5), 5, offs, text, s, 5, 7), [{ bucket: 20, start: 6, end: 7 }]);
  assert.deepEqual(bucketRuns(new Float32Array(7), 0, offs, text, s, 0, 7), []);
});

test('quantitiesOf: tanh(c) first for LSTMs, h for GRU and RNN', () => {
  assert.deepEqual(quantitiesOf('lstm'), ['tanh(c)', 'c', 'h', 'i', 'f', 'g', 'o']);
  assert.deepEqual(quantitiesOf('gru'), ['h', 'z', 'r', 'n']);
  assert.deepEqual(quantitiesOf('rnn'), ['h']);
});

// ---------------------------------------------------------------------------------------------
// Offsets

test('unitOffsets / cpOfUnit: surrogate pairs are one code point, lone surrogates one each', () => {
  const text = 'x😀y\uD800z\uDC00';
  const offs = unitOffsets(text);
  assert.deepEqual(Array.from(offs), [0, 1, 3, 4, 5, 6, 7]);
  assert.equal(offs.length - 1, Array.from(text).length);
  assert.equal(cpOfUnit(offs, 0), 0);
  assert.equal(cpOfUnit(offs, 1), 1);
  assert.equal(cpOfUnit(offs, 2), 1); // inside the pair → the emoji
  assert.equal(cpOfUnit(offs, 3), 2);
  assert.equal(cpOfUnit(offs, 7), 6);
  assert.equal(cpOfUnit(offs, 99), 6);
  assert.deepEqual(Array.from(unitOffsets('')), [0]);
});

// ---------------------------------------------------------------------------------------------
// A small random LSTM, and an in-process tracer standing in for the worker

const CORPUS = cSource(6) + ' "é😀" ';

function makeModel(hidden = 16, seed = 3): InferenceModel {
  const vocab = Vocabulary.fromText(CORPUS, 80);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const params = initialParams(cfg, seed);
  const rng = new Random(seed + 7);
  for (const v of params.values()) for (let i = 0; i < v.length; i++) v[i] += rng.uniform(-0.4, 0.4);
  return new InferenceModel(cfg, vocab, params);
}

/** ~1,200 lines of C with a multi-byte string every 50 lines. */
function bigFile(): string {
  const lines: string[] = [];
  const body = cSource(120).split('\n');
  for (let i = 0; lines.length < 1200; i++) {
    lines.push(body[i % body.length]);
    if (i % 50 === 7) lines.push('\tputs("naïve 😀 café");');
  }
  return lines.join('\n');
}

function inProcessTracer(model: InferenceModel, log: SegmentRequest[]) {
  return {
    async trace(req: SegmentRequest, stride: number): Promise<SegmentResult> {
      log.push(req);
      const r = traceSegment(model, req.text, req.state, req.start, stride, req.layer, req.quantity);
      return { values: r.values, anchorAt: r.anchorAt, anchors: r.anchors };
    },
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

test('traceSegment: pieces from anchors reproduce one trace of the whole text; anchors are the states at stride multiples', async () => {
  await initBackend('auto');
  const model = makeModel();
  const text = CORPUS.slice(0, 700);
  const H = model.config.hidden;
  const whole = traceSegment(model, text, null, 0, 64, 2, 'tanh(c)');
  const n = Array.from(text).length;
  assert.equal(whole.values.length, n * H);
  assert.deepEqual(whole.anchorAt, Array.from({ length: Math.floor(n / 64) }, (_, k) => (k + 1) * 64));
  // Continue from the anchor at 256 over the rest: same values.
  const cps = Array.from(text);
  const k = whole.anchorAt.indexOf(256);
  const rest = traceSegment(model, cps.slice(256).join(''), whole.anchors[k], 256, 64, 2, 'tanh(c)');
  assert.ok(maxDiff(rest.values, whole.values.subarray(256 * H)) < 1e-5);
  assert.deepEqual(rest.anchorAt, whole.anchorAt.filter((a) => a > 256));
  // The engine's trace agrees on every quantity at a few positions.
  const ref = traceText(model, text, { topK: 1 });
  for (const q of ['c', 'h', 'f', 'g']) {
    const r = traceSegment(model, text, null, 0, 64, 1, q);
    const want = q === 'c' ? ref.layers[0].c! : q === 'h' ? ref.layers[0].h : ref.layers[0].gates[q];
    assert.ok(maxDiff(r.values, want) < 1e-5, q);
  }
});

test('trace cache: an edit at line 1000 re-traces from the last state before it, and equals a full re-trace', async () => {
  await initBackend('auto');
  const model = makeModel();
  const H = model.config.hidden;
  const stride = 256;
  const log: SegmentRequest[] = [];
  const events: TraceProgress[] = [];
  const dt = new DocumentTrace(stride, () => model.zeroState(), inProcessTracer(model, log), (p) => events.push(p));
  const text = bigFile();
  dt.setView(1, 'tanh(c)', H);
  dt.setText(text);
  await dt.pump();
  const n = dt.cache.length;
  assert.equal(n, Array.from(text).length);
  assert.ok(dt.cache.covered([[0, n]]));
  assert.equal(events.at(-1)?.kind, 'complete');
  const tracedFirst = log.reduce((s, r) => s + r.end - r.start, 0);
  assert.equal(tracedFirst, n, 'the first trace reads the file once');

  // Edit inside line 1000 (after several multi-byte strings: UTF-16 offsets ≠ code points there).
  const lines = text.split('\n');
  const editUnit = lines.slice(0, 999).join('\n').length + 1 + 3;
  const edited = text.slice(0, editUnit) + 'x = "ü";' + text.slice(editUnit);
  const editCp = Array.from(text.slice(0, editUnit)).length;
  assert.ok(editCp < editUnit, 'multi-byte characters before the edit');
  log.length = 0;
  events.length = 0;
  // The lines in sight: 990–1030.
  const startsAt = (l: number) => Array.from(edited.split('\n').slice(0, l).join('\n')).length + (l > 0 ? 1 : 0);
  const sight: [number, number] = [startsAt(990), startsAt(1030)];
  const first = dt.setText(edited);
  assert.equal(first, editCp, 'the first changed code point');
  dt.setPriority([sight]);
  await dt.pump();
  const firstPiece = log[0];
  assert.equal(firstPiece.start, Math.floor(editCp / stride) * stride, 're-trace starts at the last anchor before the edit');
  assert.ok(firstPiece.start > 0);
  assert.ok(firstPiece.end >= sight[1] && firstPiece.end <= Math.ceil(sight[1] / stride) * stride, 'the lines in sight first, and no further');
  assert.equal(events[0].kind, 'visible');
  assert.equal(events.at(-1)?.kind, 'complete');
  const retraced = log.reduce((s, r) => s + r.end - r.start, 0);
  assert.equal(retraced, dt.cache.length - firstPiece.start, 'nothing before the edit is traced again');

  // Equal to tracing the edited text from scratch.
  const fresh = traceSegment(model, edited, null, 0, stride, 1, 'tanh(c)');
  const n2 = dt.cache.length;
  for (const cell of [0, 5, H - 1]) {
    const want = new Float32Array(n2);
    for (let t = 0; t < n2; t++) want[t] = fresh.values[t * H + cell];
    assert.ok(maxDiff(dt.cache.cellValues(cell), want) < 1e-5, `cell ${cell}`);
  }
});

test('trace cache: another layer or quantity keeps the states, traces the lines in sight first from the nearest one', async () => {
  await initBackend('auto');
  const model = makeModel();
  const H = model.config.hidden;
  const log: SegmentRequest[] = [];
  const dt = new DocumentTrace(256, () => model.zeroState(), inProcessTracer(model, log), () => undefined);
  const text = bigFile();
  dt.setView(1, 'tanh(c)', H);
  dt.setText(text);
  await dt.pump();
  log.length = 0;
  const n = dt.cache.length;
  const sight: [number, number] = [Math.floor(n * 0.7), Math.floor(n * 0.7) + 900];
  dt.setView(2, 'f', H);
  dt.setPriority([sight]);
  await dt.pump();
  assert.equal(log[0].start, Math.floor(sight[0] / 256) * 256);
  assert.equal(log.reduce((s, r) => s + r.end - r.start, 0), n, 'every position once');
  const fresh = traceSegment(model, text, null, 0, 256, 2, 'f');
  const want = new Float32Array(n);
  for (let t = 0; t < n; t++) want[t] = fresh.values[t * H + 3];
  assert.ok(maxDiff(dt.cache.cellValues(3), want) < 1e-5);
});

test('trace cache: a piece traced for an outdated text is dropped; values not traced yet read as NaN', () => {
  const zero = (): InferenceState => ({ h: [new Float32Array(2)], c: [new Float32Array(2)] });
  const cache = new TraceCache(4, zero);
  cache.setView(1, 'h', 2);
  cache.setText('abcdefghij');
  const req = cache.next([], 100)!;
  assert.deepEqual([req.start, req.end, req.text], [0, 10, 'abcdefghij']);
  cache.setText('abcdefghijk'); // typed meanwhile
  const res: SegmentResult = { values: new Float32Array(20).fill(1), anchorAt: [4, 8], anchors: [zero(), zero()] };
  assert.equal(cache.accept(req, res), false);
  assert.ok(Number.isNaN(cache.cellValues(0)[0]));
  assert.equal(cache.hasAnchor(1), false);
  // Pieces are capped (rounded to whole blocks) and stop at a priority range's end.
  assert.deepEqual([cache.next([], 5)!.start, cache.next([], 5)!.end], [0, 8]);
  assert.deepEqual([cache.next([[1, 3]], 100)!.start, cache.next([[1, 3]], 100)!.end], [0, 4]);
  // An edit keeps the anchors at or before it.
  const r2 = cache.next([], 100)!;
  cache.accept(r2, { values: new Float32Array(22).fill(0.5), anchorAt: [4, 8], anchors: [zero(), zero()] });
  assert.ok(cache.covered([[0, 11]]));
  assert.equal(cache.setText('abcdefgXhijk'), 7);
  assert.ok(cache.hasAnchor(1));
  assert.equal(cache.hasAnchor(2), false);
  assert.deepEqual(Array.from(cache.cellValues(1, 2, 6)), [0.5, 0.5, NaN, NaN]);
  assert.equal(cache.next([], 100)!.start, 4);
  // The most variable cell over the traced positions (cell 1 varies, cell 0 is constant).
  const c3 = new TraceCache(2, zero);
  c3.setView(1, 'h', 2);
  c3.setText('abcd');
  const r3 = c3.next([], 100)!;
  c3.accept(r3, { values: Float32Array.from([0.5, -1, 0.5, 1, 0.5, -1, 0.5, 1]), anchorAt: [2, 4], anchors: [zero(), zero()] });
  assert.equal(c3.mostVariableCell(), 1);
  assert.equal(new TraceCache(2, zero).mostVariableCell(), -1);
  // A surrogate pair whose second half changes counts as changed from its first half.
  const c2 = new TraceCache(4, zero);
  c2.setText('ab😀');
  assert.equal(c2.setText('ab😁'), 2);
});

// ---------------------------------------------------------------------------------------------
// Probes and select-to-search

test('probePosition: the cell\'s quantities, top-5 and the next symbol\'s probability agree with the engine\'s trace', async () => {
  await initBackend('auto');
  const model = makeModel();
  const text = CORPUS.slice(0, 300);
  const ref = traceText(model, text, { topK: 5 });
  const cps = Array.from(text);
  const t = 200;
  const whole = traceSegment(model, text, null, 0, 64, 1, 'h');
  const anchor = whole.anchors[whole.anchorAt.indexOf(192)];
  const p = probePosition(model, cps.slice(192, t + 1).join(''), anchor, 2, 7, 5, cps[t + 1]);
  const H = model.config.hidden;
  close(p.values.h, ref.layers[1].h[t * H + 7], 1e-5, 'h');
  close(p.values.c, ref.layers[1].c![t * H + 7], 1e-5, 'c');
  close(p.values['tanh(c)'], Math.tanh(ref.layers[1].c![t * H + 7]), 1e-5, 'tanh(c)');
  for (const g of ['i', 'f', 'g', 'o']) close(p.values[g], ref.layers[1].gates[g][t * H + 7], 1e-5, g);
  assert.deepEqual(p.top.map((x) => x.symbol), ref.top.symbols.slice(t * 5, t * 5 + 5));
  p.top.forEach((x, k) => close(x.prob, ref.top.probs[t * 5 + k], 1e-5, 'prob'));
  close(-Math.log(p.next!.prob), ref.surprisal[t], 1e-4, 'surprisal');
});

test('spanCells: best first across layers, the winner is on inside and off around', async () => {
  await initBackend('auto');
  const model = makeModel();
  const text = CORPUS.slice(0, 400);
  const cells = spanCells(model, text, null, 100, 130, 10, 'tanh(c)', 6);
  assert.equal(cells.length, 6);
  for (let i = 1; i < cells.length; i++) assert.ok(cells[i - 1].score >= cells[i].score);
  close(cells[0].score, cells[0].meanInside - cells[0].meanOutside, 1e-9);
  assert.ok(cells.every((c) => c.layer === 1 || c.layer === 2));
});

// ---------------------------------------------------------------------------------------------
// The worker, end to end

test('inference worker: loads a checkpoint, traces with transferred arrays, probes, and refuses malformed requests', async () => {
  await initBackend('auto');
  const model = makeModel(16, 5);
  const dir = tempDir('lstm-lab-activations-');
  const file = path.join(dir, 'model.ckpt');
  const params = new Map<string, Float32Array>();
  // The model's own weights (InferenceModel keeps them private: rebuild them from the same seed).
  {
    const cfg = model.config;
    const p = initialParams(cfg, 5);
    const rng = new Random(12);
    for (const v of p.values()) for (let i = 0; i < v.length; i++) v[i] += rng.uniform(-0.4, 0.4);
    for (const [k, v] of p) params.set(k, v);
  }
  const cfg = model.config;
  await saveCheckpoint(file, {
    header: {
      runId: 'activations-test', role: 'export', model: cfg,
      train: { seqLength: 16, batchSize: 4, optimizer: 'adam', learningRate: 2e-3, lrDecay: 1, lrDecayEvery: 1000, gradClip: 5, steps: 1, minutes: 0, evalEvery: 1, evalChars: 0, sampleChars: 0, seed: 5 },
      vocabulary: model.vocab.toJSON(), step: 0, charsSeen: 0, secondsTrained: 0, data: { position: 0, epoch: 0 }, rngState: 0, lrScale: 1,
      optimizer: null, bestValLoss: null, lastEval: null, backend: 'cpu', corpus: null,
    },
    params, optimizer: null, state: null,
  });
  const local = new InferenceModel(cfg, model.vocab, params);
  const worker = new Worker(path.join(__dirname, '..', 'src', 'extension', 'inferenceWorker.js'));
  const replies: InferenceToHost[] = [];
  const waiters = new Map<number, (m: InferenceToHost) => void>();
  worker.on('message', (m: unknown) => {
    assert.ok(isInferenceToHost(m), `worker sent ${describeRejected(m)}`);
    replies.push(m);
    if ('id' in m) waiters.get(m.id)?.(m);
  });
  const ask = (m: Record<string, unknown> & { id: number }) => new Promise<InferenceToHost>((resolve) => {
    waiters.set(m.id, resolve);
    worker.postMessage(m);
  });
  try {
    const loaded = await ask({ type: 'load', id: 1, checkpoint: file });
    assert.equal(loaded.type, 'loaded', JSON.stringify(loaded));
    if (loaded.type === 'loaded') assert.equal(loaded.model.hidden, 16);
    const text = CORPUS.slice(0, 600);
    const traced = await ask({ type: 'trace', id: 2, text, state: null, offset: 0, stride: 128, layer: 2, quantity: 'tanh(c)' });
    assert.equal(traced.type, 'traced');
    if (traced.type !== 'traced') return;
    const want = traceSegment(local, text, null, 0, 128, 2, 'tanh(c)');
    assert.ok(traced.values instanceof Float32Array);
    assert.ok(maxDiff(traced.values, want.values) < 1e-5);
    assert.deepEqual(traced.anchorAt, want.anchorAt);
    const cps = Array.from(text);
    const probe = await ask({ type: 'probe', id: 3, text: cps.slice(256, 301).join(''), state: traced.anchors[traced.anchorAt.indexOf(256)], layer: 2, cell: 4, topK: 5, next: cps[301] });
    assert.equal(probe.type, 'probed');
    if (probe.type === 'probed') close(probe.probe.values['tanh(c)'], want.values[300 * 16 + 4], 1e-5);
    const bad = await ask({ type: 'trace', id: 4, text: 1, state: null });
    assert.equal(bad.type, 'failed');
    const wrongLayer = await ask({ type: 'trace', id: 5, text: 'abc', state: null, offset: 0, stride: 64, layer: 9, quantity: 'h' });
    assert.equal(wrongLayer.type, 'failed');
    assert.match((wrongLayer as { message: string }).message, /Layer 9/);
    const sat = await ask({ type: 'saturation', id: 6, sources: [{ path: 'a.c', text: CORPUS.repeat(3), languageId: 'c' }], maxChars: 2000 });
    assert.equal(sat.type, 'saturationComputed');
    if (sat.type === 'saturationComputed') {
      assert.deepEqual(sat.clouds.map((c) => `${c.layer}${c.gate}`), ['1i', '1f', '1o', '2i', '2f', '2o']);
      assert.equal(sat.chars, 2000);
      for (const c of sat.clouds) for (let u = 0; u < c.units; u++) assert.ok(c.left[u] + c.right[u] <= 1 + 1e-6);
    }
  } finally {
    await worker.terminate();
  }
});

// ---------------------------------------------------------------------------------------------
// Protocol

const view = { layer: 1, cell: 3, quantity: 'tanh(c)', stretch: false };
const state = { h: [new Float32Array(4)], c: [new Float32Array(4)] };

test('protocol: host ↔ inference worker messages are checked', () => {
  assert.ok(isHostToInference({ type: 'load', id: 1, checkpoint: '/x/best.ckpt' }));
  assert.ok(isHostToInference({ type: 'trace', id: 2, text: 'abc', state: null, offset: 0, stride: 256, layer: 1, quantity: 'h' }));
  assert.ok(isHostToInference({ type: 'trace', id: 2, text: 'abc', state, offset: 256, stride: 256, layer: 1, quantity: 'h' }));
  assert.ok(isHostToInference({ type: 'discover', id: 3, sources: [{ path: 'a.c', text: 'x', languageId: 'c' }], top: 5, maxChars: 10, quantity: 'tanh(c)', extra: [{ id: 'r', pattern: 'NULL', flags: '' }] }));
  assert.ok(!isHostToInference({ type: 'trace', id: 2, text: 'abc', state: { h: [[0, 0]], c: [null] }, offset: 0, stride: 256, layer: 1, quantity: 'h' }), 'states are Float32Arrays');
  assert.ok(!isHostToInference({ type: 'trace', id: 2, text: 'abc', state: null, offset: 0, stride: 0, layer: 1, quantity: 'h' }), 'stride > 0');
  assert.ok(!isHostToInference({ type: 'trace', id: 1.5, text: 'abc', state: null, offset: 0, stride: 1, layer: 1, quantity: 'h' }), 'integer ids');
  assert.ok(!isHostToInference({ type: 'similarSpans', id: 1, sources: [], layer: 1, quantity: 'h', cells: [1.5], threshold: 0, minLength: 1, limit: 5, maxChars: 1 }));
  assert.ok(!isHostToInference({ type: 'nope', id: 1 }));
  assert.ok(isInferenceToHost({ type: 'traced', id: 2, length: 1, units: 4, values: new Float32Array(4), anchorAt: [], anchors: [], state, ms: 1 }));
  assert.ok(!isInferenceToHost({ type: 'traced', id: 2, length: 1, units: 4, values: [0, 0, 0, 0], anchorAt: [], anchors: [], state, ms: 1 }));
  assert.ok(isInferenceToHost({ type: 'probed', id: 3, probe: { layer: 1, cell: 0, values: { h: 0.5, f: 0.9 }, top: [{ symbol: 'a', prob: 0.5 }], next: null } }));
  assert.ok(isInferenceToHost({ type: 'saturationComputed', id: 4, clouds: [{ layer: 1, gate: 'f', units: 2, steps: 10, left: new Float32Array(2), right: new Float32Array(2) }], files: 1, chars: 10 }));
  assert.ok(isInferenceToHost({ type: 'failed', id: 4, message: 'no' }));
  assert.ok(!isInferenceToHost({ type: 'failed', id: null, message: 'no' }));
});

test('protocol: host → activations webview messages are checked', () => {
  const good: HostToActivations[] = [
    { type: 'model', model: null, message: 'no model' },
    { type: 'model', model: { kind: 'lstm', layers: 2, hidden: 128, embedding: 0, vocabSize: 100, checkpoint: '/r/best.ckpt', kernel: 'native', backend: 'native' }, message: null },
    { type: 'font', font: { family: 'Fira Code', size: 14, lineHeight: 19, tabSize: 8, ligatures: false } },
    { type: 'view', view },
    { type: 'document', document: null },
    { type: 'document', document: { uri: 'file:///a.c', version: 3, fileName: 'a.c', languageId: 'c', text: 'int x;', startCp: 0, startLine: 0, startColumn: 0, selection: false, revealLine: 0 } },
    { type: 'values', uri: 'file:///a.c', version: 3, view, scale: { lo: -1, mid: 0, hi: 1 }, start: 0, values: new Float32Array([0.1, NaN]), complete: false, status: '' },
    { type: 'overlay', on: true },
    { type: 'busy', message: null },
    { type: 'cells', result: null },
    { type: 'here', result: { fileName: 'a.c', line: 2, snippet: '"x"', quantity: 'tanh(c)', cells: [{ layer: 1, cell: 2, score: 0.5, meanInside: 0.7, meanOutside: 0.2 }] } },
    { type: 'saturation', result: { scope: 'a.c', files: 1, chars: 10, clouds: [{ layer: 1, gate: 'f', units: 1, steps: 10, left: [0.1], right: [0.8] }] } },
    { type: 'showTab', tab: 'cells' },
    { type: 'scrollTo', uri: 'file:///a.c', line: 40 },
    { type: 'error', message: 'x' },
  ];
  for (const m of good) assert.ok(isHostToActivations(m), m.type);
  // Values that went through JSON: NaN became null — still accepted.
  assert.ok(isHostToActivations({ type: 'values', uri: 'u', version: 1, view, scale: { lo: 0, mid: 0.5, hi: 1 }, start: 0, values: [0.2, null], complete: true, status: '' }));
  assert.ok(!isHostToActivations({ type: 'view', view: { layer: 0, cell: 0, quantity: 'h', stretch: false } }), 'layers are 1-based');
  assert.ok(!isHostToActivations({ type: 'view', view: { layer: 1, cell: 0, quantity: 'x', stretch: false } }), 'known quantities only');
  assert.ok(!isHostToActivations({ type: 'view', view: { layer: 1, cell: 0, quantity: 'h' } }), 'stretch is required');
  assert.ok(!isHostToActivations({ type: 'showTab', tab: 'other' }));
  assert.ok(!isHostToActivations({ type: 'values', uri: 'u', version: 1, view, scale: { lo: 0, mid: 0.5 }, start: 0, values: [], complete: true, status: '' }));
});

test('protocol: activations webview → host messages are checked', () => {
  assert.ok(isActivationsToHost({ type: 'ready' }));
  assert.ok(isActivationsToHost({ type: 'setView', view }));
  assert.ok(isActivationsToHost({ type: 'probe', uri: 'file:///a.c', version: 2, position: 10 }));
  assert.ok(isActivationsToHost({ type: 'viewport', uri: 'file:///a.c', firstLine: 0, lastLine: 40 }));
  assert.ok(isActivationsToHost({ type: 'toggleOverlay' }));
  assert.ok(isActivationsToHost({ type: 'runCommand', command: 'findSimilarSpans' }));
  assert.ok(isActivationsToHost({ type: 'addConcept', pattern: '\\bNULL\\b', flags: 'i' }));
  assert.ok(!isActivationsToHost({ type: 'probe', uri: 'file:///a.c', version: 2, position: -1 }));
  assert.ok(!isActivationsToHost({ type: 'runCommand', command: 'workbench.action.quit' }), 'only our commands');
  assert.ok(!isActivationsToHost({ type: 'addConcept', pattern: '', flags: '' }));
  assert.ok(!isActivationsToHost({ type: 'addConcept', pattern: 'x', flags: 'g;' }));
  assert.ok(!isActivationsToHost({ type: 'setView', view: { ...view, cell: -1 } }));
  assert.ok(!isActivationsToHost(null));
});
