/**
 * Export a checkpoint as a standard TensorFlow.js Layers model (model.json + weights.bin), loadable with
 * plain `tfl.loadLayersModel` in a browser or Node without LSTM Lab, plus vocabulary.json.
 *
 * The exported model is a `tfl.sequential()`:
 *   embedding > 0:  embedding(V, E) on int ids [batch, T]          (name 'embed')
 *   embedding = 0:  one-hot float input [batch, T, V]
 *   then per layer k: lstm | simpleRNN, returnSequences: true       (names 'l1', 'l2', …)
 *   then dense(V, softmax) over the last axis → [batch, T, V]       (name 'out')
 * Probabilities at position t are those for the character after input t, starting from a zero state
 * (exactly what InferenceModel gives from zeroState()). Dropout is training-only and is not
 * exported.
 *
 * The weight layouts are already Keras's (kernels.ts), so weights are copied as they are:
 *   kernel = l{k}.wx, recurrent_kernel = l{k}.wh, bias = l{k}.b; dense kernel = out.w, bias = out.b.
 *
 * GRU is refused: LSTM Lab's GRU is the reset-after variant (r multiplies h·W_n + b_hn), and TF.js
 * Layers 4.22's GRUCell implements only reset-before (it throws on resetAfter: true). Exporting it as
 * a reset-before GRU would silently give a different model.
 */
import * as path from 'path';
// The @tensorflow/tfjs umbrella, here only: TF.js Layers needs the chained tensor methods
// (t.flatten()…) that the umbrella registers; the editor bundles do not include this file.
import * as tfl from '@tensorflow/tfjs';
import { BackendError, currentBackend, initBackend, tf } from '../runtime/backend';
import { checkFolderCanBeMade, loadCheckpoint, writeFileAtomic } from '../training/checkpoint';
import { ModelConfig } from '../nn/config';

export class ExportError extends Error {
  override name = 'ExportError';
}

export interface ExportResult {
  modelJson: string;
  weightsFile: string;
  vocabularyFile: string;
}

export const GRU_EXPORT_UNSUPPORTED = 'GRU export needs reset_after, which TF.js Layers does not support';

/** Build the Sequential equivalent of a model and set its weights from the checkpoint arrays. */
export function buildLayersModel(cfg: ModelConfig, params: Map<string, Float32Array>): tfl.Sequential {
  const { kind, layers: L, hidden: H, vocabSize: V, embedding: E } = cfg;
  if (kind === 'gru') throw new ExportError(`${GRU_EXPORT_UNSUPPORTED} (TF.js ${tfl.version_layers}).`);
  const get = (name: string, shape: number[]): tf.Tensor => {
    const v = params.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!v || v.length !== size) throw new ExportError(`Parameter ${name} is missing or has the wrong size (expected ${size}).`);
    return tf.tensor(v, shape, 'float32');
  };
  const G = kind === 'lstm' ? 4 : 1;
  const model = tfl.sequential({ name: `lstm_lab_${kind}` });
  if (E > 0) model.add(tfl.layers.embedding({ name: 'embed', inputDim: V, outputDim: E, inputShape: [null] as unknown as number[] }));
  for (let k = 1; k <= L; k++) {
    const first = k === 1 && E === 0 ? { inputShape: [null, V] as unknown as number[] } : {};
    const common = { name: `l${k}`, units: H, returnSequences: true, activation: 'tanh' as const, ...first };
    model.add(kind === 'lstm' ? tfl.layers.lstm({ ...common, recurrentActivation: 'sigmoid' }) : tfl.layers.simpleRNN(common));
  }
  model.add(tfl.layers.dense({ name: 'out', units: V, activation: 'softmax' }));

  const created: tf.Tensor[] = [];
  const set = (layerName: string, tensors: tf.Tensor[]) => {
    created.push(...tensors);
    model.getLayer(layerName).setWeights(tensors);
  };
  try {
    if (E > 0) set('embed', [get('embed', [V, E])]);
    for (let k = 1; k <= L; k++) {
      const inSize = k === 1 ? (E > 0 ? E : V) : H;
      set(`l${k}`, [get(`l${k}.wx`, [inSize, G * H]), get(`l${k}.wh`, [H, G * H]), get(`l${k}.b`, [G * H])]);
    }
    set('out', [get('out.w', [H, V]), get('out.b', [V])]);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const t of created) t.dispose();
  }
  return model;
}

function usageText(cfg: ModelConfig): string {
  const V = cfg.vocabSize;
  const input =
    cfg.embedding > 0
      ? `Input: int32 symbol ids, shape [batch, T]; id i is symbols[i].`
      : `Input: float32 one-hot vectors, shape [batch, T, ${V}]; a 1 at index i means symbols[i].`;
  return [
    `Character-level ${cfg.kind.toUpperCase()} language model exported by LSTM Lab (${cfg.layers} layer(s) of ${cfg.hidden} units).`,
    `Encode text one code point at a time: a character's index is its position in "symbols"; a character not in the list maps to 0, since symbols[0] ("\\uFFFD") is the unknown symbol.`,
    input,
    `Output: float32 [batch, T, ${V}]; row t is the probability of each symbol being the character after input t.`,
    `The model is stateless: every call starts from a zero hidden state, so feed the whole text (or a long enough suffix) each time.`,
    `Load with tfl.loadLayersModel('…/model.json').`,
  ].join(' ');
}

function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (!data) throw new ExportError('TF.js produced no weight data while saving the model.');
  return Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
}

/**
 * Export `checkpointPath` (a .ckpt file, or a run folder: its best.ckpt) to `outDir` as model.json,
 * weights.bin and vocabulary.json. Each file is written atomically; model.json, the entry point, last.
 */
export async function exportLayersModel(checkpointPath: string, outDir: string): Promise<ExportResult> {
  await checkFolderCanBeMade(outDir); // refused before the work, not after
  const ckpt = await loadCheckpoint(checkpointPath);
  const cfg = ckpt.header.model;
  if (cfg.kind === 'gru') throw new ExportError(`${GRU_EXPORT_UNSUPPORTED} (TF.js ${tfl.version_layers}).`);
  try {
    currentBackend();
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    await initBackend('auto');
  }

  const model = buildLayersModel(cfg, ckpt.params);
  let artifacts: tf.io.ModelArtifacts | null = null;
  try {
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  } finally {
    model.dispose();
  }
  const a = artifacts as tf.io.ModelArtifacts | null;
  if (!a || !a.modelTopology || !a.weightSpecs) throw new ExportError('TF.js did not hand over the model artifacts while saving.');

  const modelJson = path.join(outDir, 'model.json');
  const weightsFile = path.join(outDir, 'weights.bin');
  const vocabularyFile = path.join(outDir, 'vocabulary.json');
  const weights = new Uint8Array(joinWeightData(a.weightData));
  const json = {
    modelTopology: a.modelTopology,
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: null,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
  };
  const vocabulary = {
    ...(ckpt.vocabulary.toJSON() as unknown as Record<string, unknown>),
    usage: usageText(cfg),
    model: { kind: cfg.kind, layers: cfg.layers, hidden: cfg.hidden, embedding: cfg.embedding, vocabSize: cfg.vocabSize },
    input: cfg.embedding > 0 ? 'ids' : 'one-hot',
  };
  await writeFileAtomic(weightsFile, weights);
  await writeFileAtomic(vocabularyFile, JSON.stringify(vocabulary, null, 2) + '\n');
  await writeFileAtomic(modelJson, JSON.stringify(json));
  return { modelJson, weightsFile, vocabularyFile };
}
