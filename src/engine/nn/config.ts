/**
 * The configuration of a model and of its training: one object each, with a comment per field, and
 * their defaults and validation, taken from the schema in training/options.ts (bounds, defaults,
 * settings). Checkpoints carry both, so a run describes itself.
 */
import { CellKind } from './kernels';
import { ConfigOption, MODEL_OPTIONS, optionName, rangeProblem, TRAIN_OPTIONS } from '../training/options';

export interface ModelConfig {
  /** Recurrent cell: 'lstm' (default), 'gru' (reset-after variant) or 'rnn' (tanh). */
  kind: CellKind;
  /** Stacked recurrent layers. */
  layers: number;
  /** Hidden units per layer (the LSTM's cell count). */
  hidden: number;
  /** Input embedding size; 0 feeds one-hot characters straight into the first layer. */
  embedding: number;
  /** Dropout on the input of layers ≥ 2 and on the output of the top layer (char-rnn). */
  dropout: number;
  /** Symbols in the vocabulary, the unknown symbol included. Set from the corpus. */
  vocabSize: number;
}

export type OptimizerKind = 'adam' | 'rmsprop';

/**
 * The shape of the learning rate over the run's budget (its steps or minutes): 'constant', or a decay
 * from the peak to `lrFinal`·peak at the end of the budget, along half a cosine or a straight line.
 */
export type LrSchedule = 'constant' | 'cosine' | 'linear';
export const LR_SCHEDULES = TRAIN_OPTIONS.lrSchedule.choices as readonly LrSchedule[];

export interface TrainConfig {
  /** Characters per stream per batch: the truncation length of back-propagation through time. */
  seqLength: number;
  /** Parallel contiguous streams per batch. */
  batchSize: number;
  optimizer: OptimizerKind;
  /** The peak learning rate; 0 asks for the automatic one (automaticLearningRate), or a resumed run's own. */
  learningRate: number;
  /** Multiply the learning rate by this every `lrDecayEvery` steps (1 = no decay). */
  lrDecay: number;
  lrDecayEvery: number;
  /**
   * The learning rate over the budget (see LrSchedule); without a budget it stays constant.
   * Optional: checkpoints written before it existed lack it (= 'constant', what they trained with).
   */
  lrSchedule?: LrSchedule;
  /** The decayed learning rate at the end of the budget, as a fraction of the peak (0–1). */
  lrFinal?: number;
  /** Linear warm-up from 0 to the peak over this many steps (0 = none). */
  lrWarmup?: number;
  /** Clip the gradient to this global L2 norm (0 = no clipping). */
  gradClip: number;
  /** Stop after this many optimiser steps (0 = no step limit). */
  steps: number;
  /** Stop after this many minutes of wall time (0 = no time limit). */
  minutes: number;
  /** Evaluate on the validation files every N steps. */
  evalEvery: number;
  /** At most this many validation characters per evaluation (0 = all). */
  evalChars: number;
  /** Length of the sample generated at each evaluation (0 = none). */
  sampleChars: number;
  /** Seed for initialisation, dropout and sampling. */
  seed: number;
  /**
   * Data-parallel worker threads (1 = train on this thread; 0 asks for the automatic choice,
   * workerCount.ts); each takes a contiguous ~B/W of the streams (dataParallel.ts). Optional:
   * checkpoints written before it existed lack it (= 1).
   */
  workers?: number;
}

/** An option's engine default (see ConfigOption.engine), else the default a user gets. */
function engineDefaults<T extends Record<string, ConfigOption>>(options: T): { [K in keyof T]: T[K]['default'] } {
  return Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.engine ? o.engine.default : o.default])) as { [K in keyof T]: T[K]['default'] };
}

export const DEFAULT_MODEL: Omit<ModelConfig, 'vocabSize'> = engineDefaults(MODEL_OPTIONS) as Omit<ModelConfig, 'vocabSize'>;

export const DEFAULT_TRAIN: TrainConfig = engineDefaults(TRAIN_OPTIONS) as TrainConfig;

/**
 * The peak learning rate of a new run that is not given one: 8e-3 up to 128 hidden units, and
 * 8e-3 · 128/H above (Adam's step is the same size whatever the width, so wider layers take smaller
 * ones). Measured with the cosine schedule: 2×128 on linux-mm learnt best at 8e-3 of 2e-3–1.2e-2
 * (README, Learning); 3×512 at 8e-3 did not learn in 150 steps (3.48 nats/char) where 2e-3, this
 * rule's value, reached 2.25. Sizes in between follow the rule unmeasured.
 */
export function automaticLearningRate(model: Pick<ModelConfig, 'hidden'>): number {
  return DEFAULT_TRAIN.learningRate * Math.min(1, 128 / model.hidden);
}

/** A configuration out of its range; `option` is the schema's entry it breaks, when there is one. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, readonly option?: ConfigOption) {
    super(message);
  }
}

/** Throw a ConfigError naming the option (its setting, else its field) when `value` is out of its range. */
function check(options: Record<string, ConfigOption>, field: string, value: unknown): void {
  const option = options[field];
  const problem = rangeProblem(option, value);
  if (problem) throw new ConfigError(`${optionName(option, field)} ${problem} (got ${value}).`, option);
}

export function validateModelConfig(c: ModelConfig): ModelConfig {
  for (const field of Object.keys(MODEL_OPTIONS)) check(MODEL_OPTIONS, field, c[field as keyof ModelConfig]);
  if (!Number.isInteger(c.vocabSize) || c.vocabSize < 2 || c.vocabSize > 65536) throw new ConfigError(`vocabSize must be a whole number from 2 to 65536 (got ${c.vocabSize}).`);
  return c;
}

/** The fields a checkpoint written before they existed may lack (see TrainConfig). */
const OPTIONAL_TRAIN_FIELDS: readonly (keyof TrainConfig)[] = ['lrSchedule', 'lrFinal', 'lrWarmup', 'workers'];

/**
 * Check every field against TRAIN_OPTIONS. The automatic values (learningRate 0, workers 0) pass:
 * resolveRun (training/resume.ts) turns them into the run's own.
 */
export function validateTrainConfig(c: TrainConfig): TrainConfig {
  for (const field of Object.keys(TRAIN_OPTIONS) as (keyof TrainConfig)[]) {
    if (c[field] === undefined && OPTIONAL_TRAIN_FIELDS.includes(field)) continue;
    check(TRAIN_OPTIONS, field, c[field]);
  }
  const workers = optionName(TRAIN_OPTIONS.workers, 'workers'), batch = optionName(TRAIN_OPTIONS.batchSize, 'batchSize');
  if ((c.workers ?? 1) > c.batchSize) throw new ConfigError(`${workers} (${c.workers}) cannot exceed ${batch} (${c.batchSize}): each worker needs at least one stream.`);
  return c;
}
