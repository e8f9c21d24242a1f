/**
 * What a run trains: its vocabulary, model and training configuration, either new (from the corpus
 * and the options over the defaults) or resumed (from a checkpoint, with the options over what the
 * checkpoint trained with). A resume is refused when it contradicts its checkpoint: another model
 * size or cell type (ConfigError), another batch or sequence length, a corpus the vocabulary does not
 * cover, a budget already used (TrainingError).
 */
import type { Corpus } from '../data/corpus';
import { Vocabulary } from '../data/vocabulary';
import { automaticLearningRate, ConfigError, DEFAULT_MODEL, DEFAULT_TRAIN, ModelConfig, TrainConfig, validateModelConfig, validateTrainConfig } from '../nn/config';
import { budgetFraction } from './budget';
import { loadCheckpoint, LoadedCheckpoint } from './checkpoint';
import { RUN_OPTIONS } from './options';
import { TrainingError } from './trainingError';
import { chooseWorkers } from './workerCount';

/** The options that decide what a run trains (TrainOptions' fields of the same names). */
export interface RunRequest {
  model?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  train?: Partial<TrainConfig>;
  /** A run folder or a checkpoint file to continue. */
  resume?: string;
  maxVocabulary?: number;
}

export interface ResolvedRun {
  /** The checkpoint resumed from; null for a new run. */
  resumed: LoadedCheckpoint | null;
  vocab: Vocabulary;
  model: ModelConfig;
  train: TrainConfig;
}

/** The options without their undefined fields (an undefined option does not override a default). */
function given<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `backend` (its name) decides the automatic number of workers (workerCount.ts) of a run that asks
 * for 0; a learning rate of 0 is the automatic one for a new run and the checkpoint's for a resumed one.
 */
export async function resolveRun(corpus: Corpus, opts: RunRequest, backend: string): Promise<ResolvedRun> {
  const resumed = opts.resume ? await loadCheckpoint(opts.resume, 'last') : null;
  const vocab = resumed ? resumed.vocabulary : Vocabulary.fromText(corpus.trainText, opts.maxVocabulary ?? RUN_OPTIONS.maxVocabulary.default);
  const model: ModelConfig = resumed ? resumed.header.model : validateModelConfig({ ...DEFAULT_MODEL, ...given(opts.model), vocabSize: vocab.size });
  // A checkpoint from before learning-rate schedules trained at a constant rate: keep it so.
  const before = resumed ? { lrSchedule: 'constant' as const, lrWarmup: 0, ...resumed.header.train } : {};
  const automatic = resumed ? {} : { learningRate: automaticLearningRate(model) };
  const unasked: TrainConfig = { ...DEFAULT_TRAIN, ...automatic, ...before };
  const train: TrainConfig = validateTrainConfig({ ...unasked, ...given(opts.train) });
  if (train.learningRate === 0) train.learningRate = unasked.learningRate;
  train.workers = chooseWorkers(train.workers ?? 1, backend, train.batchSize);
  if (resumed) checkResume(corpus, opts, { resumed, vocab, model, train });
  return { resumed, vocab, model, train };
}

function checkResume(corpus: Corpus, opts: RunRequest, run: ResolvedRun & { resumed: LoadedCheckpoint }): void {
  const { resumed, vocab, model, train } = run;
  // The model is the checkpoint's: a given size or cell type that differs is refused, not dropped.
  const asked = given(opts.model);
  const differs = (['kind', 'layers', 'hidden', 'embedding'] as const).filter((k) => asked[k] !== undefined && asked[k] !== model[k]);
  if (differs.length) {
    throw new ConfigError(
      `A resumed run keeps its model (${model.kind} ${model.layers}×${model.hidden}${model.embedding ? `, embedding ${model.embedding}` : ''}); ` +
        `${differs.map((k) => `${k} ${asked[k]}`).join(', ')} contradicts it. Resume without them, or start a new run.`,
    );
  }
  const b = resumed.header.train.batchSize, t = resumed.header.train.seqLength;
  if (train.batchSize !== b || train.seqLength !== t) {
    throw new TrainingError(`A resumed run keeps its batch (${b}) and sequence length (${t}); do not change them on resume.`);
  }
  const coverage = vocab.coverage(corpus.trainText);
  if (coverage < 0.9) {
    throw new TrainingError(
      `The checkpoint's vocabulary covers only ${(coverage * 100).toFixed(1)} % of this corpus's characters: it was trained on different text. Resume on the same corpus, or start a new run.`,
    );
  }
  const h = resumed.header;
  if ((budgetFraction(train, h.step, h.secondsTrained) ?? 0) >= 1) {
    throw new TrainingError(
      `This run has used its budget (${train.steps > 0 ? `step ${h.step} of ${train.steps}` : `${(h.secondsTrained / 60).toFixed(1)} of ${train.minutes} minutes`}). ` +
        'Resume with a larger budget (steps or minutes, counted over the whole run) to train on.',
    );
  }
}
