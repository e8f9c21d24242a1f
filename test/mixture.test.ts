/**
 * The completion mixture's parts: the cache n-gram (src/engine/ngram/cacheNGram.ts) against a
 * hand-computed Witten-Bell case, its capacity bound and reset; the gate (src/engine/completion/
 * mixture.ts) fitted on data where each component is right in a different regime, its JSON form;
 * the held-out scorers (src/engine/completion/heldOutScores.ts) against a step-by-step reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheNGram } from '../src/engine/ngram/cacheNGram';
import { componentLosses, fitGate, MixtureData, MixtureGate, mixtureLoss } from '../src/engine/completion/mixture';
import { localityComponent, staticNetworkComponent } from '../src/engine/completion/heldOutScores';
import { initBackend } from '../src/engine/runtime/backend';
import { InferenceModel } from '../src/engine/inference/inference';
import { initialParams } from '../src/engine/nn/model';
import { ModelConfig } from '../src/engine/nn/config';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { Random } from '../src/engine/nn/random';
import { NGramModel } from '../src/engine/ngram/ngram';
import { HybridCompleter } from '../src/engine/completion/hybridCompleter';
import { CompletionEngine } from '../src/engine/completion/networkCompleter';

function dist(c: CacheNGram, context?: number[]): Float64Array {
  const out = new Float64Array(c.vocabSize);
  c.into(out, undefined, context);
  return out;
}

test('cache n-gram: interpolated Witten-Bell by hand, and every distribution sums to 1', () => {
  const c = new CacheNGram(2, 3, 64);
  c.observeAll([0, 1, 0, 1]);
  // Length 0: counts 0:2, 1:2 (total 4, 2 types): P(w) = (c(w) + 2/3) / 6.
  const p0 = [(2 + 2 / 3) / 6, (2 + 2 / 3) / 6, 2 / 3 / 6];
  const after1 = dist(c, [1]); // context "1" was followed by 0 once: (c + 1·P0) / 2
  assert.ok(Math.abs(after1[0] - (1 + p0[0]) / 2) < 1e-12);
  assert.ok(Math.abs(after1[1] - p0[1] / 2) < 1e-12);
  assert.ok(Math.abs(after1[2] - p0[2] / 2) < 1e-12);
  const after2 = dist(c, [2]); // never seen: the length-0 level alone
  for (let w = 0; w < 3; w++) assert.ok(Math.abs(after2[w] - p0[w]) < 1e-12);
  assert.equal(c.into(new Float64Array(3), undefined, [1]).longestMatch, 1);
  assert.equal(c.into(new Float64Array(3), undefined, [2]).longestMatch, 0);
  const r = new Random(3);
  const big = new CacheNGram(6, 20, 4096);
  for (let i = 0; i < 3000; i++) big.observe(Math.floor(r.next() * r.next() * 20));
  for (let k = 0; k < 20; k++) {
    const ctx = Array.from({ length: 5 }, () => Math.floor(r.next() * 20));
    const p = dist(big, ctx);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(p.every((v) => v > 0));
  }
});

test('cache n-gram: a repeated phrase is predicted from its longest context; the base distribution is what it backs off to', () => {
  const c = new CacheNGram(4, 5, 1024);
  c.observeAll([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3]);
  const p = new Float64Array(5);
  const m = c.into(p); // after "…1 2 3": 4 came twice
  assert.equal(m.longestMatch, 3);
  assert.equal(m.matchCount, 2);
  assert.ok(p[4] > 0.6, `P(4 | 1 2 3) = ${p[4]}`);
  const base = [0.96, 0.01, 0.01, 0.01, 0.01];
  const empty = new CacheNGram(4, 5, 1024);
  const q = new Float64Array(5);
  assert.equal(empty.into(q, base).longestMatch, -1);
  assert.deepEqual(Array.from(q), base);
});

test('cache n-gram: past its capacity it keeps the recent half and answers as a cache fed only those symbols; reset empties it; bad symbols are refused', () => {
  const r = new Random(5);
  const seq = Array.from({ length: 70 }, () => Math.floor(r.next() * 6));
  const c = new CacheNGram(3, 6, 40);
  c.observeAll(seq);
  assert.ok(c.size <= 40);
  const fresh = new CacheNGram(3, 6, 40);
  fresh.observeAll(seq.slice(seq.length - c.size));
  for (const ctx of [[0, 1], [2, 2], [5, 4], seq.slice(-2)]) assert.deepEqual(Array.from(dist(c, ctx)), Array.from(dist(fresh, ctx)));
  c.reset();
  assert.equal(c.size, 0);
  assert.deepEqual(Array.from(dist(c, [1, 2])), new Array(6).fill(1 / 6));
  assert.throws(() => c.observe(6), RangeError);
  assert.throws(() => c.observe(-1), RangeError);
  assert.throws(() => new CacheNGram(3, 6, 4), RangeError);
});

/** Two components over a binary feature: A is right where x = 1, B where x = 0. */
function regimeData(n: number): { gate: MixtureGate; data: MixtureData } {
  const gate = new MixtureGate([{ name: 'a', extras: 1 }, { name: 'b', extras: 0 }]);
  const r = new Random(11);
  const targetProbs = new Float32Array(n * 2);
  const features = new Float32Array(n * gate.featureCount);
  for (let i = 0; i < n; i++) {
    const x = r.next() < 0.5 ? 1 : 0;
    targetProbs[i * 2] = x ? 0.9 : 0.01;
    targetProbs[i * 2 + 1] = x ? 0.05 : 0.6;
    features.set(gate.features([{ top: 0.9, entropy: 0.2, extra: [x] }, { top: 0.6, entropy: 0.5, extra: [] }]), i * gate.featureCount);
  }
  return { gate, data: { positions: n, targetProbs, features } };
}

test('mixture gate: fitted where each component is right in its own regime, it beats both alone and follows the feature', () => {
  const { gate, data } = regimeData(2000);
  const alone = componentLosses(data, 2);
  const loss = fitGate(gate, data, { iterations: 400 });
  assert.ok(Math.abs(loss - mixtureLoss(gate, data)) < 1e-6);
  assert.ok(loss < Math.min(...alone) - 0.5, `mixture ${loss} against ${alone}`);
  const f1 = gate.features([{ top: 0.9, entropy: 0.2, extra: [1] }, { top: 0.6, entropy: 0.5, extra: [] }]);
  const f0 = gate.features([{ top: 0.9, entropy: 0.2, extra: [0] }, { top: 0.6, entropy: 0.5, extra: [] }]);
  assert.ok(gate.mixWeights(f1)[0] > 0.8 && gate.mixWeights(f0)[1] > 0.8);
  const mixed = gate.mix([[0.5, 0.5], [0.1, 0.9]], [{ top: 0.5, entropy: 1, extra: [1] }, { top: 0.9, entropy: 0.4, extra: [] }], new Float64Array(2));
  assert.ok(Math.abs(mixed[0] + mixed[1] - 1) < 1e-12);
});

test('mixture gate: the fit (L-BFGS) ends where the penalised loss is stationary, in few passes', () => {
  const { gate, data } = regimeData(2000);
  const l2 = 1e-4;
  fitGate(gate, data, { iterations: 60, l2 });
  const objective = () => mixtureLoss(gate, data) + 0.5 * l2 * gate.weights.reduce((s, w) => s + w * w, 0);
  let largest = 0;
  for (let i = 0; i < gate.weights.length; i++) {
    const w = gate.weights[i], h = 1e-4;
    gate.weights[i] = w + h;
    const up = objective();
    gate.weights[i] = w - h;
    const down = objective();
    gate.weights[i] = w;
    largest = Math.max(largest, Math.abs((up - down) / (2 * h)));
  }
  // From the start (the best component alone) the gradient is of order 0.1–1.
  assert.ok(largest < 1e-3, `largest partial derivative at the fitted weights: ${largest}`);
});

test('mixture gate: its JSON form gives the same weights back; a foreign or damaged one is refused with a reason', () => {
  const { gate, data } = regimeData(300);
  fitGate(gate, data, { iterations: 50 });
  const back = MixtureGate.fromJSON(JSON.parse(JSON.stringify(gate.toJSON())));
  const f = data.features.subarray(0, gate.featureCount);
  assert.deepEqual(Array.from(back.mixWeights(f)), Array.from(gate.mixWeights(f)));
  assert.equal(back.fit?.positions, 300);
  assert.throws(() => MixtureGate.fromJSON({ format: 'lstm-lab/ngram-kn' }), /not a mixture gate/);
  assert.throws(() => MixtureGate.fromJSON({ ...gate.toJSON(), version: 99 }), /version 99/);
  assert.throws(() => MixtureGate.fromJSON({ ...gate.toJSON(), weights: [1, 2] }), /weights/);
  assert.throws(() => MixtureGate.fromJSON({ ...gate.toJSON(), weights: gate.toJSON().weights.map(() => NaN) }), /malformed weights/);
  assert.throws(() => gate.features([{ top: 1, entropy: 0, extra: [] }]), RangeError);
});

test('held-out scores: the network scorer agrees with a character-by-character reading; the locality cache carries documents opened before', async () => {
  await initBackend('auto');
  const text = 'static int f(int x) { return x + 1; }\n';
  const vocab = Vocabulary.fromText(text);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const model = new InferenceModel(cfg, vocab, initialParams(cfg, 2));
  const ids = vocab.encode(text);
  const scores = staticNetworkComponent(model).scoreDocument(ids);
  let state = model.zeroState();
  for (let i = 0; i < ids.length; i++) {
    const logits = model.logits(state);
    const max = Math.max(...logits);
    const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
    const p = Math.exp(logits[ids[i]] - max) / z;
    assert.ok(Math.abs(scores.targetProbs[i] - p) < 1e-5, `position ${i}: ${scores.targetProbs[i]} against ${p}`);
    state = model.run(ids.subarray(i, i + 1), state).state;
  }
  const cache = localityComponent(vocab.size, { order: 6 });
  const first = cache.scoreDocument(ids);
  const second = cache.scoreDocument(ids);
  const nats = (p: Float32Array) => -p.reduce((s, v) => s + Math.log(v), 0) / p.length;
  assert.ok(nats(second.targetProbs) < nats(first.targetProbs) - 1, `${nats(second.targetProbs)} against ${nats(first.targetProbs)}`);
  cache.reset();
  assert.deepEqual(Array.from(cache.scoreDocument(ids).targetProbs), Array.from(first.targetProbs));
});

test('hybrid completer: the mixed distribution sums to 1; the file cache completes a phrase seen earlier in the file, reads nothing after the cursor, and starts again after an edit before it', async () => {
  await initBackend('auto');
  const train = 'int a = 0;\nint b = 1;\nreturn a + b;\n'.repeat(20);
  const vocab = Vocabulary.fromText(train + 'kmalloc_zeroed(');
  const ngram = NGramModel.build(vocab.encode(train), vocab.size, 4);
  const gate = new MixtureGate([{ name: 'ngram', extras: 0 }, { name: 'cache', extras: 4 }]);
  const W = gate.weights; // lean on the cache when it has matched a long context
  W[gate.featureCount + 5] = 40; // cache component (row 1), its first extra feature: the file match length over the order
  W[gate.featureCount + 7] = 40; // and the documents cache match length
  W[gate.featureCount] = -10;
  const c = new HybridCompleter({ network: null, ngram, gate, vocab });
  assert.equal(c.kind, 'ngram');
  const text = 'kmalloc_zeroed(a);\nint b = 1;\nkmalloc_ze';
  const req = { key: 'doc', text, offset: text.length };
  const p = c.distributionAt(req);
  assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-9);
  assert.equal(c.complete(req, { stopAt: 'token', maxLength: 10 })!.text, 'roed');
  // The same prefix with other text after the cursor gives the same answer.
  const after = { key: 'doc2', text: text + 'XXXXXXXX kmalloc_zebra', offset: text.length };
  assert.equal(c.complete(after, { stopAt: 'token', maxLength: 10 })!.text, 'roed');
  // An edit before what was read: the phrase is gone from the file, and so is the suggestion.
  const edited = 'kmalloc_(a);\nint b = 1;\nkmalloc_ze';
  c.invalidate('doc', 3);
  assert.notEqual(c.complete({ key: 'doc', text: edited, offset: edited.length }, { stopAt: 'token', maxLength: 10 })!.text, 'roed');
  // A document remembered before: its text backs the file cache.
  const other = { key: 'doc3', text: 'x;\nkmalloc_ze', offset: 13 };
  const r = vocab.encode('r')[0];
  const before = c.distributionAt(other)[r];
  c.rememberDocument('kmalloc_zeroed(a);\n');
  c.forget('doc3');
  const afterRemembering = c.distributionAt(other)[r];
  assert.ok(afterRemembering > before + 0.2, `P(r) ${before} → ${afterRemembering}`);
  assert.throws(() => new HybridCompleter({ network: null, ngram, gate: new MixtureGate([{ name: 'ngram', extras: 0 }]), vocab }), /components/);
});

/** A small network on a repeated line, its weights scaled for sharper choices (no near-ties). */
async function sharpNetwork() {
  await initBackend('auto');
  const train = 'static int count(int x) { return x + 1; }\n'.repeat(10);
  const vocab = Vocabulary.fromText(train);
  const cfg: ModelConfig = { kind: 'lstm', layers: 1, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const p = initialParams(cfg, 5);
  for (const a of p.values()) for (let i = 0; i < a.length; i++) a[i] *= 4;
  const engine = () => new CompletionEngine(new InferenceModel(cfg, vocab, p));
  return { train, vocab, engine };
}

test('hybrid completer with a network: a gate that gives the network all the weight completes as the network alone does', async () => {
  const { train, vocab, engine } = await sharpNetwork();
  const network = engine();
  const gate = new MixtureGate([{ name: 'lstm', extras: 0 }, { name: 'ngram', extras: 0 }, { name: 'cache', extras: 4 }]);
  gate.weights[0] = 60; // the network's bias
  const hybrid = new HybridCompleter({ network: new CompletionEngine(network.model), ngram: NGramModel.build(vocab.encode(train), vocab.size, 3), gate, vocab });
  assert.equal(hybrid.kind, 'hybrid');
  const text = train + 'static int co';
  const req = { key: 'd', text, offset: text.length };
  const opts = { stopAt: 'none' as const, maxLength: 12 };
  const mine = hybrid.complete(req, opts)!;
  assert.equal(mine.model, 'hybrid');
  assert.equal(mine.text, network.complete(req, opts)!.text);
});

test('hybrid completer: a document its adapted network serves is mixed by the adapted gate, the others by the static gate', async () => {
  const { train, vocab, engine } = await sharpNetwork();
  const network = engine();
  const adaptedNetwork = engine();
  const ngram = NGramModel.build(vocab.encode(train), vocab.size, 3);
  const components = [{ name: 'lstm', extras: 0 }, { name: 'ngram', extras: 0 }, { name: 'cache', extras: 4 }];
  const toNgram = new MixtureGate(components);
  toNgram.weights[toNgram.featureCount] = 60; // row 1 (ngram): its bias
  const toNetwork = new MixtureGate(components);
  toNetwork.weights[0] = 60;
  const hybrid = new HybridCompleter({ network, adapted: (key) => (key === 'adapted' ? adaptedNetwork : undefined), ngram, gate: toNgram, adaptedGate: toNetwork, vocab });
  const text = train + 'static int co';
  const opts = { stopAt: 'none' as const, maxLength: 12 };
  const asNetwork = network.complete({ key: 'n', text, offset: text.length }, opts)!.text;
  assert.equal(hybrid.complete({ key: 'adapted', text, offset: text.length }, opts)!.text, asNetwork, 'the adapted gate gives the network all the weight');
  const other = hybrid.complete({ key: 'other', text, offset: text.length }, opts)!.text;
  // The static gate gives the 3-gram all the weight.
  assert.notEqual(other, asNetwork, 'the two gates choose differently here');
  const wrong = new MixtureGate([{ name: 'lstm', extras: 0 }, { name: 'ngram', extras: 0 }, { name: 'cache', extras: 2 }]);
  assert.throws(() => new HybridCompleter({ network, ngram, gate: toNgram, adaptedGate: wrong, vocab }), /adapted gate has components/);
});
