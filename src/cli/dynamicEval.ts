/**
 * `lstm-lab eval --dynamic`: the held-out text read again with dynamic evaluation
 * (src/engine/adaptation/dynamicEvaluation.ts), the files in eval's order (sorted by path) as one
 * stream, so what was adapted on one file carries over to the next, as files opened before. Also the
 * same batch-1 stream without adaptation, so the gain is measured on exactly the same reading. The
 * gradient statistics come from the training split of the checkpoint's corpus (or --dyn-train) and are
 * kept beside the checkpoint for the next run.
 */
import * as path from 'path';
import { OptionSpec, ParsedOptions } from './args';
import { CorpusError, readCorpus } from '../engine/data/corpus';
import { readTrainingCorpus } from '../engine/data/corpusRecord';
import { LoadedCheckpoint } from '../engine/training/checkpoint';
import { DEFAULT_DYNAMIC_EVALUATION, DynamicEvaluator, dynamicEvaluationOptions } from '../engine/adaptation/dynamicEvaluation';
import { DEFAULT_STATISTICS_CHARS, loadOrGatherStatistics, statisticsFileFor } from '../engine/adaptation/gradientStatistics';

const D = DEFAULT_DYNAMIC_EVALUATION;

export const DYNAMIC_EVAL_OPTIONS: OptionSpec[] = [
  { name: 'dynamic', type: 'bool', help: 'also measure dynamic evaluation: the weights adapt to the text as it is read (Krause et al., 2018)' },
  { name: 'dyn-segment', type: 'int', help: 'characters per adaptation segment', default: D.segment, min: 1 },
  { name: 'dyn-lr', type: 'number', help: 'step size η of the RMS-normalised update', default: D.learningRate, min: 0 },
  { name: 'dyn-decay', type: 'number', help: 'decay λ toward the trained weights per update', default: D.decay, min: 0 },
  { name: 'dyn-epsilon', type: 'number', help: 'ε added to the gradient RMS', default: D.epsilon, min: 0 },
  { name: 'dyn-train', type: 'string', help: "training text for the gradient statistics (default: the checkpoint's corpus; its training split is used)" },
  { name: 'dyn-stats-chars', type: 'int', help: 'training characters the gradient statistics read (0 = all)', default: DEFAULT_STATISTICS_CHARS, min: 0 },
];

export interface DynamicFigures {
  /** Cross-entropy with adaptation, each segment scored before its update. */
  natsPerChar: number;
  bitsPerChar: number;
  /** The same batch-1 stream, the weights left as trained. */
  staticNatsPerChar: number;
  /** staticNatsPerChar − natsPerChar. */
  gain: number;
  chars: number;
  segment: number;
  lr: number;
  decay: number;
  epsilon: number;
  updates: number;
  statistics: { file: string; reused: boolean; chars: number; source: string };
  seconds: number;
}

/** The text of the training split the statistics are gathered on, and where it came from. */
async function trainingText(ckpt: LoadedCheckpoint, explicit: string | undefined): Promise<{ text: string; source: string }> {
  if (explicit) return { text: (await readCorpus(explicit)).trainText, source: path.resolve(explicit) };
  const root = ckpt.header.corpus?.root;
  if (!root) throw new Error(`${ckpt.path} does not say which corpus it was trained on; give its training text with --dyn-train PATH.`);
  try {
    return { text: (await readTrainingCorpus(ckpt.path, root)).corpus.trainText, source: root };
  } catch (e) {
    if (e instanceof CorpusError && e.code === 'not-found') throw new Error(`The training corpus of ${ckpt.path} (${root}) is not there any more; give it with --dyn-train PATH.`);
    throw e;
  }
}

export async function dynamicEvalFigures(ckpt: LoadedCheckpoint, ids: Int32Array, o: ParsedOptions): Promise<DynamicFigures> {
  const options = dynamicEvaluationOptions({
    segment: o['dyn-segment'] as number,
    learningRate: o['dyn-lr'] as number,
    decay: o['dyn-decay'] as number,
    epsilon: o['dyn-epsilon'] as number,
  });
  const t0 = Date.now();
  const train = await trainingText(ckpt, o['dyn-train'] as string | undefined);
  const trainIds = ckpt.vocabulary.encode(train.text);
  const key = {
    checkpointChecksum: ckpt.header.dataChecksum,
    textSource: train.source,
    textChars: trainIds.length,
    segment: options.segment,
    streams: 1,
    maxChars: o['dyn-stats-chars'] as number,
  };
  const file = statisticsFileFor(ckpt.path, options.segment);
  const stored = await loadOrGatherStatistics(file, key, ckpt.header.model, ckpt.params, trainIds);
  if (stored.writeError) process.stderr.write(`note: the gradient statistics could not be kept in ${file}: ${stored.writeError}\n`);
  const network = { config: ckpt.header.model, vocab: ckpt.vocabulary, params: ckpt.params };
  const evaluator = new DynamicEvaluator(network, stored.stats, options);
  const unadapted = evaluator.readIds(ids, { adapt: false });
  evaluator.reset();
  const adapted = evaluator.readIds(ids);
  const natsPerChar = adapted.nats / adapted.chars;
  const staticNatsPerChar = unadapted.nats / unadapted.chars;
  return {
    natsPerChar,
    bitsPerChar: natsPerChar / Math.LN2,
    staticNatsPerChar,
    gain: staticNatsPerChar - natsPerChar,
    chars: adapted.chars,
    segment: options.segment,
    lr: options.learningRate,
    decay: options.decay,
    epsilon: options.epsilon,
    updates: evaluator.updates,
    statistics: { file, reused: stored.reused, chars: stored.stats.chars, source: train.source },
    seconds: (Date.now() - t0) / 1000,
  };
}
