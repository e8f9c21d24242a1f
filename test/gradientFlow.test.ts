/**
 * Tests for gradient flow through time (src/analysis/gradientFlow.ts): for RNN, GRU and LSTM, the
 * norm at every lag against central finite differences of L_t in the state k characters back
 * (every unit of the perturbed layer's h, and the LSTM's c), for both layers of a 2-layer network;
 * the positions spread over the texts; a too-short text refused with a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/engine/runtime/backend';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { ModelConfig } from '../src/engine/nn/config';
import { initialParams } from '../src/engine/nn/model';
import { InferenceModel, InferenceState, softmax } from '../src/engine/inference/inference';
import { gradientFlow, gradientPositions } from '../src/analysis/gradientFlow';

const TEXT = 'int f(int a) {\n\tif (a > 1)\n\t\treturn a * f(a - 1);\n\treturn 1;\n}\n';

/** L_t = −log p(ids[t+1]) after reading ids[from..t] from `state`. */
function lossFrom(m: InferenceModel, state: InferenceState, ids: Int32Array, from: number, t: number): number {
  const s = from <= t ? m.run(ids.subarray(from, t + 1), state).state : state;
  return -Math.log(softmax(m.logits(s))[ids[t + 1]]);
}

/** ‖∂L_t/∂(layer l's h or c after character t−k)‖ by central differences, one unit at a time. */
function finiteDifferenceNorm(m: InferenceModel, ids: Int32Array, t: number, k: number, layer: number, which: 'h' | 'c'): number {
  const base = m.run(ids.subarray(0, t - k + 1), m.zeroState()).state;
  const eps = 1e-2;
  let s = 0;
  for (let u = 0; u < m.config.hidden; u++) {
    const f = (d: number) => {
      const st = InferenceModel.cloneState(base);
      st[which][layer]![u] += d;
      return lossFrom(m, st, ids, t - k + 1, t);
    };
    const g = (f(eps) - f(-eps)) / (2 * eps);
    s += g * g;
  }
  return Math.sqrt(s);
}

for (const kind of ['rnn', 'gru', 'lstm'] as const) {
  test(`${kind}: gradient norms at every lag agree with finite differences`, async () => {
    await initBackend('cpu');
    const vocab = Vocabulary.fromText(TEXT);
    const config: ModelConfig = { kind, layers: 2, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
    const params = initialParams(config, 7);
    const lags = 6;
    const g = gradientFlow(config, vocab, params, [TEXT], { lags, positions: 1 });
    assert.equal(g.positions, 1);
    assert.equal(g.layers.length, 2);
    const ids = vocab.encode(TEXT);
    const [[, t]] = gradientPositions([ids.length], lags, 1);
    const m = new InferenceModel(config, vocab, params);
    for (const l of g.layers) {
      assert.equal(l.norms.length, lags);
      assert.equal(l.cellNorms !== undefined, kind === 'lstm');
      // Lags ≥ 1 (the carried state) on every layer; lag 0 on the top layer, where it is the state itself.
      for (let k = l.layer === 2 ? 0 : 1; k < lags; k++) {
        const fd = finiteDifferenceNorm(m, ids, t, k, l.layer - 1, 'h');
        assert.ok(Math.abs(l.norms[k] - fd) <= 0.02 * fd + 1e-4, `layer ${l.layer} lag ${k}: ${l.norms[k]} against ${fd}`);
        if (kind === 'lstm' && k >= 1) {
          const fc = finiteDifferenceNorm(m, ids, t, k, l.layer - 1, 'c');
          assert.ok(Math.abs(l.cellNorms![k] - fc) <= 0.02 * fc + 1e-4, `layer ${l.layer} cell lag ${k}: ${l.cellNorms![k]} against ${fc}`);
        }
      }
      assert.ok(l.norms.every((x) => Number.isFinite(x) && x > 0));
    }
  });
}

test('positions spread over the texts long enough, in order; too short a text is refused', async () => {
  assert.deepEqual(gradientPositions([3, 100], 10, 2), [[1, 9 + 22], [1, 9 + 66]]);
  assert.deepEqual(gradientPositions([5], 10, 4), []);
  await initBackend('cpu');
  const vocab = Vocabulary.fromText(TEXT);
  const config: ModelConfig = { kind: 'rnn', layers: 1, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  assert.throws(() => gradientFlow(config, vocab, initialParams(config, 1), ['int x;'], { lags: 64, positions: 4 }), /too short for 64 lags: it needs at least 65 characters/);
  assert.throws(() => gradientFlow(config, vocab, initialParams(config, 1), [TEXT], { lags: 1, positions: 4 }), /lags must be an integer ≥ 2/);
});
