/**
 * The configuration of a model and of its training: one object each, with a comment per field,
 * defaults, bounds and validation. Checkpoints carry both, so a run describes itself.
 */
import { CellKind } from './kernels';

export interface ModelConfig {
  /** Recurrent cell: 'lstm' (default), 'gru' (reset-after variant) or 'rnn' (tanh). */
  kind: CellKind;
  /** Stacked recurrent layers, 1–4. */
  layers: number;
  /** Hidden units per layer (the LSTM's cell count), 16–1024. */
  hidden: number;
  /** Input embedding size; 0 feeds one-hot characters straight into the first layer. */
  embedding: number;
  /** Dropout on the input of layers ≥ 2 and on the output of the top layer (char-rnn), 0–0.9. */
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
export const LR_SCHEDULES: readonly LrSchedule[] = ['constant', 'cosine', 'linear'];

export interface TrainConfig {
  /** Characters per stream per batch: the truncation length of back-propagation through time. */
  seqLength: number;
  /** Parallel contiguous streams per batch. */
  batchSize: number;
  optimizer: OptimizerKind;
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
   * Data-parallel worker threads (1 = train on this thread); each takes a contiguous ~B/W of the
   * streams (dataParallel.ts). Optional: checkpoints written before it existed lack it (= 1).
   */
  workers?: number;
}

export const DEFAULT_MODEL: Omit<ModelConfig, 'vocabSize'> = {
  kind: 'lstm',
  layers: 2,
  hidden: 128,
  embedding: 0,
  dropout: 0,
};

export const DEFAULT_TRAIN: TrainConfig = {
  seqLength: 64,
  batchSize: 32,
  optimizer: 'adam',
  // A new run that is given none takes automaticLearningRate(model) instead.
  learningRate: 8e-3,
  lrDecay: 1,
  lrDecayEvery: 1000,
  lrSchedule: 'cosine',
  lrFinal: 0.1,
  lrWarmup: 0,
  gradClip: 5,
  steps: 0,
  minutes: 0,
  evalEvery: 100,
  evalChars: 50_000,
  sampleChars: 200,
  seed: 1,
  workers: 1,
};

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

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new ConfigError(`${name} must be a whole number from ${lo} to ${hi} (got ${v}).`);
  }
}

function checkNum(name: string, v: number, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new ConfigError(`${name} must be a number from ${lo} to ${hi} (got ${v}).`);
  }
}

export function validateModelConfig(c: ModelConfig): ModelConfig {
  if (!['lstm', 'gru', 'rnn'].includes(c.kind)) throw new ConfigError(`model must be lstm, gru or rnn (got ${c.kind}).`);
  checkInt('layers', c.layers, 1, 4);
  checkInt('hidden', c.hidden, 16, 1024);
  checkInt('embedding', c.embedding, 0, 1024);
  checkNum('dropout', c.dropout, 0, 0.9);
  checkInt('vocabSize', c.vocabSize, 2, 65536);
  return c;
}

export function validateTrainConfig(c: TrainConfig): TrainConfig {
  checkInt('seq', c.seqLength, 1, 1024);
  checkInt('batch', c.batchSize, 1, 1024);
  if (!['adam', 'rmsprop'].includes(c.optimizer)) throw new ConfigError(`optimizer must be adam or rmsprop (got ${c.optimizer}).`);
  checkNum('lr', c.learningRate, 1e-7, 1);
  checkNum('lr-decay', c.lrDecay, 0.01, 1);
  checkInt('lr-decay-every', c.lrDecayEvery, 1, 1e9);
  if (!LR_SCHEDULES.includes(c.lrSchedule ?? 'constant')) throw new ConfigError(`lr-schedule must be ${LR_SCHEDULES.join(', ')} (got ${c.lrSchedule}).`);
  checkNum('lr-final', c.lrFinal ?? 0.1, 0, 1);
  checkInt('lr-warmup', c.lrWarmup ?? 0, 0, 1e9);
  checkNum('grad-clip', c.gradClip, 0, 1e6);
  checkInt('steps', c.steps, 0, 1e9);
  checkNum('minutes', c.minutes, 0, 1e6);
  checkInt('eval-every', c.evalEvery, 1, 1e9);
  checkInt('eval-chars', c.evalChars, 0, 1e9);
  checkInt('sample-chars', c.sampleChars, 0, 100_000);
  checkInt('seed', c.seed, 0, 2 ** 31 - 1);
  checkInt('workers', c.workers ?? 1, 1, 64);
  if ((c.workers ?? 1) > c.batchSize) throw new ConfigError(`workers (${c.workers}) cannot exceed batch (${c.batchSize}): each worker needs at least one stream.`);
  return c;
}
