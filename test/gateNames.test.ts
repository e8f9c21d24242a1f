/**
 * Gate names, written once in kernels.ts (GATE_ORDER, GATE_ACTIVATION, QUANTITIES), and what derives
 * from them: the column blocks per cell kind, the saturating gates of gateSaturation.ts, the
 * quantities the CLI, the protocol and the panel offer, and the trace's gate order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_QUANTITIES, GATE_ACTIVATION, GATE_ORDER, GATES, gatesOf, QUANTITIES } from '../src/engine/nn/kernels';
import { SATURATING_GATES, saturatingGates } from '../src/analysis/gateSaturation';
import { quantitiesOf, scaleFor } from '../src/extension/activations/colourScale';
import { initBackend } from '../src/engine/runtime/backend';
import { InferenceModel } from '../src/engine/inference/inference';
import { initialParams } from '../src/engine/nn/model';
import { traceText } from '../src/engine/inference/trace';
import { Vocabulary } from '../src/engine/data/vocabulary';

test('gate order per cell kind is the kernels\' column order, Keras\'s', () => {
  assert.deepEqual(GATE_ORDER, { lstm: ['i', 'f', 'g', 'o'], gru: ['z', 'r', 'n'], rnn: [] });
  assert.deepEqual(GATES, { lstm: 4, gru: 3, rnn: 1 }, 'the RNN has one block, h itself');
  assert.deepEqual(gatesOf('gru'), ['z', 'r', 'n']);
  assert.deepEqual(gatesOf('toString'), [], 'an unknown kind has no gates');
  assert.deepEqual(Object.keys(GATE_ACTIVATION).sort(), [...GATE_ORDER.lstm, ...GATE_ORDER.gru].sort());
});

test('saturating gates are the sigmoid ones, in plotting order', () => {
  assert.deepEqual(saturatingGates('lstm'), ['i', 'f', 'o']);
  assert.deepEqual(saturatingGates('gru'), ['z', 'r']);
  assert.deepEqual(saturatingGates('rnn'), []);
  assert.deepEqual(SATURATING_GATES, ['i', 'f', 'o', 'z', 'r']);
  for (const g of SATURATING_GATES) assert.deepEqual(scaleFor(g), { lo: 0, mid: 0.5, hi: 1 }, g);
  for (const g of ['g', 'n']) assert.deepEqual(scaleFor(g), { lo: -1, mid: 0, hi: 1 }, g);
});

test('quantities per cell kind, and all of them once', () => {
  assert.deepEqual(QUANTITIES, { lstm: ['tanh(c)', 'c', 'h', 'i', 'f', 'g', 'o'], gru: ['h', 'z', 'r', 'n'], rnn: ['h'] });
  assert.deepEqual(ALL_QUANTITIES, ['tanh(c)', 'c', 'h', 'i', 'f', 'g', 'o', 'z', 'r', 'n']);
  for (const kind of ['lstm', 'gru', 'rnn'] as const) assert.deepEqual(quantitiesOf(kind), QUANTITIES[kind]);
  assert.deepEqual(quantitiesOf('constructor'), ['h'], 'an unknown kind offers h');
});

test('a trace names its gates in GATE_ORDER', async () => {
  await initBackend('cpu');
  const vocab = Vocabulary.fromText('abc');
  for (const kind of ['lstm', 'gru', 'rnn'] as const) {
    const cfg = { kind, layers: 1, hidden: 4, embedding: 0, dropout: 0, vocabSize: vocab.size };
    const model = new InferenceModel(cfg, vocab, initialParams(cfg, 1));
    const trace = traceText(model, 'abca');
    assert.deepEqual(Object.keys(trace.layers[0].gates), GATE_ORDER[kind], kind);
    model.dispose();
  }
});
