/**
 * Dynamic evaluation (src/engine/adaptation/): on a tiny LSTM trained a few steps on C written here,
 * text that repeats is predicted better adapted than static; each segment is scored before the update
 * it causes (the first segment's loss is the static model's); a large decay pulls the weights back to
 * the trained ones; reset restores them exactly; the same text gives the same figures bit for bit;
 * reading in pieces carries the stream over; the LRU of documents; the statistics file; and
 * `lstm-lab eval --dynamic --json`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, tidy } from '../src/engine/runtime/backend';
import { ModelConfig } from '../src/engine/nn/config';
import { CharRnn, disposeState, keepState } from '../src/engine/nn/model';
import { Optimizer, clipScale, globalNorm } from '../src/engine/nn/optimizer';
import { TruncatedBptt } from '../src/engine/data/bptt';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { adaptInPlace, DynamicEvaluator, TrainedNetwork } from '../src/engine/adaptation/dynamicEvaluation';
import { AdaptedDocuments } from '../src/engine/adaptation/adaptedDocuments';
import {
  decodeStatistics,
  encodeStatistics,
  gatherGradientStatistics,
  GradientStatistics,
  loadOrGatherStatistics,
  StatisticsKey,
} from '../src/engine/adaptation/gradientStatistics';
import { cSource, tempDir, writeTree } from './support/fixtures';
import { runCli } from './support/cli';

const SEGMENT = 16;
/** Text the network never saw, repeated: what adaptation should pick up. */
const REPEATED = 'printk("bad %d\\n", helper_7(b, a) - 3);\n'.repeat(24);

interface Fixture {
  network: TrainedNetwork;
  stats: GradientStatistics;
  trainIds: Int32Array;
}

let fixture: Promise<Fixture> | null = null;

/** A 1×32 LSTM trained 40 steps on cSource, and its gradient statistics (made once per file). */
function trained(): Promise<Fixture> {
  fixture ??= (async () => {
    await initBackend('auto');
    const text = cSource(30);
    const vocab = Vocabulary.fromText(text);
    const trainIds = vocab.encode(text);
    const config: ModelConfig = { kind: 'lstm', layers: 1, hidden: 32, embedding: 0, dropout: 0, vocabSize: vocab.size };
    const m = CharRnn.create(config, 5);
    const opt = new Optimizer('adam');
    const T = 32, B = 8;
    const bptt = new TruncatedBptt(trainIds, B, T);
    let st = m.zeroState(B);
    for (let i = 0; i < 40; i++) {
      const b = bptt.next();
      const prev = st;
      tidy(() => {
        const r = m.run(b.inputs, b.targets, T, B, prev, true);
        m.setParams(opt.apply(m.params, r.grads!, 1e-2, clipScale(globalNorm(r.grads!), 5)));
        st = keepState(r.state);
      });
      disposeState(prev);
    }
    disposeState(st);
    const params = m.values();
    for (const t of m.params.values()) t.dispose();
    const network = { config, vocab, params };
    const stats = await gatherGradientStatistics(config, params, trainIds, { segment: SEGMENT, maxChars: 4000 });
    return { network, stats, trainIds };
  })();
  return fixture;
}

const OPTS = { segment: SEGMENT, learningRate: 3e-3, decay: 1e-3, epsilon: 1e-5 };

function distance(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let s = 0;
  for (const [name, v] of a) {
    const w = b.get(name)!;
    for (let i = 0; i < v.length; i++) s += (v[i] - w[i]) ** 2;
  }
  return Math.sqrt(s);
}

function sameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()], what);
  for (const [name, v] of a) assert.ok(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b.get(name)!.buffer)), `${what}: ${name}`);
}

test('the statistics: one RMS per parameter, finite, and their mean', async () => {
  const { network, stats } = await trained();
  assert.deepEqual([...stats.rms.keys()], [...network.params.keys()]);
  let total = 0, count = 0;
  for (const [name, v] of stats.rms) {
    assert.equal(v.length, network.params.get(name)!.length);
    for (const x of v) assert.ok(Number.isFinite(x) && x >= 0);
    total += v.reduce((a, b) => a + b, 0);
    count += v.length;
  }
  assert.ok(stats.meanRms > 0);
  assert.ok(Math.abs(stats.meanRms - total / count) < 1e-9 * count);
  assert.equal(stats.segment, SEGMENT);
  assert.equal(stats.chars, stats.batches * SEGMENT);
  assert.equal(stats.batches, Math.floor(4000 / SEGMENT));
});

test('adapted cross-entropy on repeated text is below the static one', async () => {
  const { network, stats } = await trained();
  const ev = new DynamicEvaluator(network, stats, OPTS);
  const fixed = ev.read(REPEATED, { adapt: false });
  assert.equal(ev.updates, 0);
  ev.reset();
  const adapted = ev.read(REPEATED);
  assert.equal(adapted.chars, fixed.chars);
  assert.equal(adapted.chars, REPEATED.length - 1);
  assert.equal(ev.updates, Math.ceil((REPEATED.length - 1) / SEGMENT));
  const s = fixed.nats / fixed.chars, d = adapted.nats / adapted.chars;
  assert.ok(d < s - 0.3, `adapted ${d.toFixed(3)} nats/char should be well below static ${s.toFixed(3)}`);
  // The second half, read after the network has seen the pattern, gains more than the first.
  const half = Math.floor(adapted.segments.length / 2);
  const gain = (from: number, to: number) =>
    fixed.segments.slice(from, to).reduce((a, x) => a + x.nats, 0) - adapted.segments.slice(from, to).reduce((a, x) => a + x.nats, 0);
  assert.ok(gain(half, adapted.segments.length) > gain(0, half));
});

test('predict, then adapt: the first segment scores as the static model, the next ones not', async () => {
  const { network, stats } = await trained();
  const ids = network.vocab.encode(REPEATED);
  const m = new CharRnn(network.config, network.params);
  const st = m.zeroState(1);
  const staticFirst = tidy(() => m.run(ids.slice(0, SEGMENT), ids.slice(1, SEGMENT + 1), SEGMENT, 1, st, false).loss.dataSync()[0]) * SEGMENT;
  disposeState(st);
  for (const t of m.params.values()) t.dispose();
  const adapted = new DynamicEvaluator(network, stats, OPTS).readIds(ids);
  const fixed = new DynamicEvaluator(network, stats, OPTS).readIds(ids, { adapt: false });
  assert.equal(adapted.segments[0].nats, staticFirst);
  assert.equal(fixed.segments[0].nats, staticFirst);
  assert.notEqual(adapted.segments[1].nats, fixed.segments[1].nats);
  // With η = 0 and λ = 0 adapting changes nothing: the same figures as scoring alone.
  const still = new DynamicEvaluator(network, stats, { ...OPTS, learningRate: 0, decay: 0 }).readIds(ids);
  assert.deepEqual(still.segments, fixed.segments);
});

test('the decay: λ_i = min(1, λ·RMS_i/mean RMS) pulls toward the trained weights and never overshoots', () => {
  const trainedW = Float32Array.from([1, 2, 3, 4]);
  const rms = Float32Array.from([0.5, 1, 2, 0]);
  const zero = new Float32Array(4);
  const theta = Float32Array.from([0, 0, 0, 0]);
  adaptInPlace(theta, zero, trainedW, rms, 1, { learningRate: 0.1, decay: 0.5, epsilon: 0 });
  // λ_i = 0.25, 0.5, 1 (clipped from 1), 0
  assert.deepEqual(Array.from(theta), [0.25, 1, 3, 0]);
  const far = Float32Array.from([10, 10, 10, 10]);
  adaptInPlace(far, zero, trainedW, rms, 1, { learningRate: 0.1, decay: 1e6, epsilon: 0 });
  assert.deepEqual(Array.from(far), [1, 2, 3, 10]); // clipped at 1: exactly the trained weights, no further
  const step = Float32Array.from([1, 2, 3, 4]);
  adaptInPlace(step, Float32Array.from([1, 1, 1, 1]), trainedW, Float32Array.from([1, 1, 1, 1]), 1, { learningRate: 0.1, decay: 0, epsilon: 1 });
  assert.deepEqual(Array.from(step), [0.95, 1.95, 2.95, 3.95].map(Math.fround)); // θ − η·g/(RMS + ε)
});

test('a large decay keeps the adapted weights near the trained ones; none lets them drift', async () => {
  const { network, stats } = await trained();
  const free = new DynamicEvaluator(network, stats, { ...OPTS, decay: 0 });
  free.read(REPEATED);
  const held = new DynamicEvaluator(network, stats, { ...OPTS, decay: 1e6 });
  held.read(REPEATED);
  const oneStep = new DynamicEvaluator(network, stats, { ...OPTS, decay: 0 });
  oneStep.read(REPEATED.slice(0, SEGMENT + 1));
  assert.equal(oneStep.updates, 1);
  const dFree = distance(free.adaptedWeights(), network.params);
  const dHeld = distance(held.adaptedWeights(), network.params);
  const dOne = distance(oneStep.adaptedWeights(), network.params);
  assert.ok(dFree > 0 && dHeld > 0);
  assert.ok(dHeld < 0.25 * dFree, `λ large: ${dHeld} against ${dFree} without decay`);
  assert.ok(dHeld < 3 * dOne, `λ large: ${dHeld}, about one step from the trained weights (${dOne})`);
});

test('reset restores the trained weights exactly, and reading again gives the first figures', async () => {
  const { network, stats } = await trained();
  const before = Array.from(network.params, ([k, v]) => [k, v.slice()] as const);
  const ev = new DynamicEvaluator(network, stats, OPTS);
  const first = ev.read(REPEATED);
  assert.ok(distance(ev.adaptedWeights(), network.params) > 0);
  ev.reset();
  assert.equal(ev.updates, 0);
  sameWeights(ev.adaptedWeights(), network.params, 'after reset');
  sameWeights(network.params, new Map(before), 'the trained weights are never written');
  assert.deepEqual(ev.read(REPEATED), first);
});

test('deterministic: the same text twice gives identical figures and weights', async () => {
  const { network, stats } = await trained();
  const a = new DynamicEvaluator(network, stats, OPTS);
  const b = new DynamicEvaluator(network, stats, OPTS);
  const text = cSource(3) + REPEATED;
  assert.deepEqual(a.read(text), b.read(text));
  sameWeights(a.adaptedWeights(), b.adaptedWeights(), 'two evaluators');
});

test('reading in pieces continues the stream: split at a segment boundary, the same figures as in one go', async () => {
  const { network, stats } = await trained();
  const whole = new DynamicEvaluator(network, stats, OPTS);
  const all = whole.read(REPEATED);
  const pieces = new DynamicEvaluator(network, stats, OPTS);
  const cut = 5 * SEGMENT + 1; // the first read predicts 5 segments, the second the rest
  const p1 = pieces.read(REPEATED.slice(0, cut));
  const p2 = pieces.read(REPEATED.slice(cut));
  assert.equal(p1.chars + p2.chars, all.chars);
  assert.deepEqual([...p1.segments, ...p2.segments], all.segments);
  sameWeights(pieces.adaptedWeights(), whole.adaptedWeights(), 'pieces against whole');
});

test('the adapted weights serve next-character distributions: after reading the pattern it is predicted better', async () => {
  const { network, stats } = await trained();
  const ev = new DynamicEvaluator(network, stats, OPTS);
  const context = 'printk("bad %d\\n", helper_7(b, a) - ';
  const next = network.vocab.encode('3')[0];
  const before = ev.nextDistribution(context);
  ev.read(REPEATED);
  const after = ev.nextDistribution(context);
  assert.ok(Math.abs(after.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  assert.ok(after[next] > before[next] + 0.1, `P('3') ${before[next].toFixed(3)} → ${after[next].toFixed(3)}`);
  // The same figures through an InferenceModel of the adapted weights.
  const model = ev.inferenceModel();
  const p = model.probabilities(model.run(network.vocab.encode(context), model.zeroState()).state);
  assert.deepEqual(Array.from(p), Array.from(after));
  model.dispose();
});

test('documents: at most K adaptation states, the least recently used dropped first', async () => {
  const { network, stats } = await trained();
  const docs = new AdaptedDocuments(network, stats, OPTS, 2);
  const a = docs.get('a.c');
  a.read(REPEATED.slice(0, 3 * SEGMENT));
  docs.get('b.c');
  assert.equal(docs.get('a.c'), a, 'a kept, now the most recent');
  docs.get('c.c');
  assert.deepEqual(docs.keys(), ['a.c', 'c.c']);
  assert.equal(docs.has('b.c'), false);
  assert.equal(docs.get('b.c').updates, 0, 'b comes back from the trained weights');
  assert.deepEqual(docs.keys(), ['c.c', 'b.c']);
  assert.throws(() => new AdaptedDocuments(network, stats, OPTS, 0), /capacity/);
});

test('the statistics file: round trip, refused for another checkpoint or segment, reused when it matches', async () => {
  const { network, stats, trainIds } = await trained();
  const key: StatisticsKey = { checkpointChecksum: 'abc', textSource: '/corpus', textChars: trainIds.length, segment: SEGMENT, streams: 1, maxChars: 4000 };
  const bytes = encodeStatistics(stats, key);
  const back = decodeStatistics(bytes, key, network.config)!;
  assert.equal(back.meanRms, stats.meanRms);
  sameWeights(back.rms, stats.rms, 'decoded RMS');
  assert.equal(decodeStatistics(bytes, { ...key, checkpointChecksum: 'abd' }, network.config), null);
  assert.equal(decodeStatistics(bytes, { ...key, segment: SEGMENT + 1 }, network.config), null);
  assert.equal(decodeStatistics(bytes.subarray(0, bytes.length - 4), key, network.config), null);
  const file = path.join(tempDir(), 'dyneval-stats-best-n16.bin');
  const made = await loadOrGatherStatistics(file, key, network.config, network.params, trainIds);
  assert.equal(made.reused, false);
  sameWeights(made.stats.rms, stats.rms, 'gathered again: the same statistics');
  const again = await loadOrGatherStatistics(file, key, network.config, network.params, trainIds);
  assert.equal(again.reused, true);
  sameWeights(again.stats.rms, stats.rms, 'read back');
});

test('lstm-lab eval --dynamic --json: the static figures and a dynamic object, statistics kept beside the checkpoint', () => {
  const dir = tempDir();
  const corpus = path.join(dir, 'corpus');
  writeTree(corpus, { 'a.c': cSource(12), 'b.c': cSource(9), 'c.c': cSource(7) });
  const held = path.join(dir, 'held');
  writeTree(held, { 'x.c': REPEATED, 'y.c': REPEATED });
  const out = path.join(dir, 'runs');
  const t = runCli(['train', corpus, '--steps', '6', '--eval-every', '6', '--hidden', '16', '--seq', '16', '--batch', '4', '--out', out, '--run-id', 'r', '--json', '--sample-chars', '0']);
  assert.equal(t.code, 0, t.stderr);
  const ckpt = path.join(out, 'r', 'best.ckpt');
  const args = ['eval', ckpt, held, '--dynamic', '--dyn-segment', '20', '--dyn-lr', '0.003', '--dyn-stats-chars', '2000', '--json'];
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  for (const k of ['natsPerChar', 'bitsPerChar', 'perplexity', 'chars', 'files', 'vocabularyCoverage', 'checkpoint', 'backend', 'seconds']) assert.ok(k in j, k);
  const d = j.dynamic;
  assert.equal(d.segment, 20);
  assert.equal(d.lr, 0.003);
  assert.equal(typeof d.decay, 'number');
  assert.equal(d.chars, 2 * REPEATED.length - 1);
  assert.ok(d.natsPerChar < d.staticNatsPerChar, `${d.natsPerChar} < ${d.staticNatsPerChar}`);
  assert.ok(Math.abs(d.gain - (d.staticNatsPerChar - d.natsPerChar)) < 1e-12);
  assert.equal(d.statistics.reused, false);
  assert.ok(fs.existsSync(d.statistics.file) && path.dirname(d.statistics.file) === path.dirname(ckpt));
  const again = JSON.parse(runCli(args).stdout);
  assert.equal(again.dynamic.statistics.reused, true);
  assert.equal(again.dynamic.natsPerChar, d.natsPerChar);
  const plain = runCli(['eval', ckpt, held, '--json']);
  assert.equal('dynamic' in JSON.parse(plain.stdout), false);
  assert.equal(JSON.parse(plain.stdout).natsPerChar, j.natsPerChar);
});
