/**
 * Export to a standard TF.js Layers model: a checkpoint exported and loaded back with plain
 * tfl.loadLayersModel gives, at every position of a text, the next-character probabilities that
 * InferenceModel gives with its state carried — for LSTM (one-hot and embedding input) and RNN.
 * GRU (reset-after) is refused with a clear reason, since TF.js Layers has no reset_after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs';
import { initBackend, tf } from '../src/engine/runtime/backend';
import { saveCheckpoint } from '../src/engine/training/checkpoint';
import { ModelConfig } from '../src/engine/nn/config';
import { exportLayersModel } from '../src/engine/inference/export';
import { InferenceModel } from '../src/engine/inference/inference';
import { initialParams } from '../src/engine/nn/model';
import { Random } from '../src/engine/nn/random';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { cSource, tempDir } from './support/fixtures';

const TEXT = cSource(2);
const PROBE = 'static int helper_7(int a, int b)\n{\n\tif (a > b) return a;\u00e9}';

/** A random (untrained) model saved as a checkpoint; returns its path, vocabulary and weights. */
async function makeCheckpoint(dir: string, model: Omit<ModelConfig, 'vocabSize'>, seed: number) {
  const vocab = Vocabulary.fromText(TEXT);
  const cfg: ModelConfig = { ...model, vocabSize: vocab.size };
  const params = initialParams(cfg, seed);
  const rng = new Random(seed + 100);
  for (const v of params.values()) for (let i = 0; i < v.length; i++) v[i] += rng.uniform(-0.3, 0.3); // biases matter too
  const file = path.join(dir, `${model.kind}-${model.embedding}.ckpt`);
  await saveCheckpoint(file, {
    header: {
      runId: 'export-test',
      role: 'export',
      model: cfg,
      train: { seqLength: 16, batchSize: 4, optimizer: 'adam', learningRate: 2e-3, lrDecay: 1, lrDecayEvery: 1000, gradClip: 5, steps: 1, minutes: 0, evalEvery: 1, evalChars: 0, sampleChars: 0, seed },
      vocabulary: vocab.toJSON(),
      step: 0,
      charsSeen: 0,
      secondsTrained: 0,
      data: { position: 0, epoch: 0 },
      rngState: 0,
      lrScale: 1,
      optimizer: null,
      bestValLoss: null,
      lastEval: null,
      backend: 'cpu',
      corpus: null,
    },
    params,
    optimizer: null,
    state: null,
  });
  return { file, vocab, cfg, params };
}

/** A minimal IOHandler reading model.json + weights.bin from disk (no tfjs-node file:// handler). */
function diskHandler(modelJson: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const manifest = json.weightsManifest as tf.io.WeightsManifestConfig;
      const buffers = manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(modelJson), p))));
      const bytes = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: manifest.flatMap((g) => g.weights),
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      };
    },
  };
}

async function checkRoundTrip(model: Omit<ModelConfig, 'vocabSize'>, seed: number): Promise<void> {
  await initBackend('cpu');
  const dir = tempDir('lstm-lab-export-');
  const { file, vocab, cfg, params } = await makeCheckpoint(dir, model, seed);
  const out = path.join(dir, 'exported');
  const result = await exportLayersModel(file, out);
  assert.deepEqual(fs.readdirSync(out).sort(), ['model.json', 'vocabulary.json', 'weights.bin']);
  assert.equal(result.modelJson, path.join(out, 'model.json'));

  const json = JSON.parse(fs.readFileSync(result.modelJson, 'utf8'));
  assert.equal(json.format, 'layers-model');
  assert.equal(json.convertedBy, null);
  assert.match(json.generatedBy, /TensorFlow\.js/);
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  const nWeights = json.weightsManifest[0].weights.reduce((n: number, w: { shape: number[] }) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(fs.statSync(result.weightsFile).size, nWeights * 4);

  const vjson = JSON.parse(fs.readFileSync(result.vocabularyFile, 'utf8'));
  assert.ok(Vocabulary.fromJSON(vjson).equals(vocab), 'vocabulary.json reads back as the same vocabulary');
  assert.equal(typeof vjson.usage, 'string');
  assert.match(vjson.usage, /unknown/);
  assert.match(vjson.usage, model.embedding > 0 ? /ids/ : /one-hot/);

  const loaded = await tfl.loadLayersModel(diskHandler(result.modelJson));
  try {
    const ids = vocab.encode(PROBE);
    assert.ok(ids.includes(0), 'the probe includes an unknown character');
    const T = ids.length;
    const V = cfg.vocabSize;
    const input =
      cfg.embedding > 0
        ? tf.tensor2d(Float32Array.from(ids), [1, T], 'float32')
        : tf.tidy(() => tf.cast(tf.oneHot(tf.tensor2d(ids, [1, T], 'int32'), V), 'float32'));
    const output = loaded.predict(input) as tf.Tensor;
    assert.deepEqual(output.shape, [1, T, V]);
    const probs = output.dataSync() as Float32Array;
    input.dispose();
    output.dispose();

    const ref = new InferenceModel(cfg, vocab, params);
    let state = ref.zeroState();
    let maxDiff = 0;
    for (let t = 0; t < T; t++) {
      state = ref.run(ids.subarray(t, t + 1), state).state;
      const p = ref.probabilities(state);
      for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(p[v] - probs[t * V + v]));
    }
    ref.dispose();
    assert.ok(maxDiff < 1e-4, `${cfg.kind} (embedding ${cfg.embedding}): probabilities differ by up to ${maxDiff}`);
  } finally {
    loaded.dispose();
  }
}

test('an exported LSTM (one-hot input, 2 layers) gives the same probabilities as the inference path', async () => {
  await checkRoundTrip({ kind: 'lstm', layers: 2, hidden: 16, embedding: 0, dropout: 0.2 }, 11);
});

test('an exported LSTM with an embedding (2 layers) gives the same probabilities as the inference path', async () => {
  await checkRoundTrip({ kind: 'lstm', layers: 2, hidden: 16, embedding: 8, dropout: 0 }, 12);
});

test('an exported RNN (one-hot input, 2 layers) gives the same probabilities as the inference path', async () => {
  await checkRoundTrip({ kind: 'rnn', layers: 2, hidden: 16, embedding: 0, dropout: 0 }, 13);
});

test('GRU export is refused: TF.js Layers has no reset_after GRU', async () => {
  await initBackend('cpu');
  const dir = tempDir('lstm-lab-export-');
  const { file } = await makeCheckpoint(dir, { kind: 'gru', layers: 2, hidden: 16, embedding: 0, dropout: 0 }, 14);
  await assert.rejects(exportLayersModel(file, path.join(dir, 'exported')), /GRU export needs reset_after, which TF\.js Layers does not support/);
  assert.equal(fs.existsSync(path.join(dir, 'exported')), false);
  // and TF.js Layers itself indeed refuses reset_after
  assert.throws(() => tfl.layers.gru({ units: 4, resetAfter: true } as unknown as Parameters<typeof tfl.layers.gru>[0]), /reset_after/);
});
