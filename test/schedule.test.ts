/**
 * The learning rate over a run's budget: warm-up, cosine and linear decay to the final fraction,
 * constant without a budget, char-rnn's step decay on top; the budget counted over the whole run
 * (steps or seconds, whichever is further); the budget a resumed run keeps in the editor; and a
 * resumed run that has used its budget refused with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { automaticLearningRate, DEFAULT_TRAIN, validateTrainConfig, ConfigError } from '../src/engine/nn/config';
import { readRunInfo } from '../src/engine/training/runFolder';
import { corpusFromText } from '../src/engine/data/corpus';
import { budgetFraction, resumeBudget } from '../src/engine/training/budget';
import { learningRateAt } from '../src/engine/nn/optimizer';
import { train, TrainingError } from '../src/engine/training/train';
import { cSource, tempDir } from './support/fixtures';

const base = { learningRate: 1e-2, lrDecay: 1, lrDecayEvery: 1000, lrFinal: 0.1, lrWarmup: 0 };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

test('cosine and linear schedules fall from the peak to lrFinal over the budget; constant and no budget stay put', () => {
  const cosine = { ...base, lrSchedule: 'cosine' as const };
  close(learningRateAt(cosine, 0, 1, 0), 1e-2);
  close(learningRateAt(cosine, 50, 1, 0.5), 1e-2 * (0.1 + 0.9 * 0.5));
  close(learningRateAt(cosine, 100, 1, 1), 1e-3);
  close(learningRateAt(cosine, 100, 1, 1.7), 1e-3); // past the end: held at the final rate
  const linear = { ...base, lrSchedule: 'linear' as const };
  close(learningRateAt(linear, 25, 1, 0.25), 1e-2 * (1 - 0.9 * 0.25));
  close(learningRateAt({ ...base, lrSchedule: 'constant' }, 90, 1, 0.9), 1e-2);
  close(learningRateAt(cosine, 90, 1, null), 1e-2); // no budget: nothing to fit a decay to
  // Monotone over the budget.
  let prev = Infinity;
  for (let f = 0; f <= 1; f += 0.05) {
    const lr = learningRateAt(cosine, 0, 1, f);
    assert.ok(lr <= prev + 1e-15);
    prev = lr;
  }
});

test('warm-up rises linearly to the peak; step decay and the NaN halving multiply on top', () => {
  const cfg = { ...base, lrSchedule: 'constant' as const, lrWarmup: 10 };
  close(learningRateAt(cfg, 0, 1, 0), 1e-3);
  close(learningRateAt(cfg, 4, 1, 0), 5e-3);
  close(learningRateAt(cfg, 9, 1, 0), 1e-2);
  close(learningRateAt(cfg, 500, 1, 0), 1e-2);
  close(learningRateAt({ ...cfg, lrDecay: 0.5, lrDecayEvery: 100 }, 250, 0.5, 0), 1e-2 * 0.25 * 0.5);
});

test('the budget is the further of steps and time, over the whole run', () => {
  assert.equal(budgetFraction({ steps: 0, minutes: 0 }, 10, 10), null);
  close(budgetFraction({ steps: 200, minutes: 0 }, 50, 999)!, 0.25);
  close(budgetFraction({ steps: 0, minutes: 10 }, 50, 150)!, 0.25);
  close(budgetFraction({ steps: 200, minutes: 10 }, 50, 300)!, 0.5);
  assert.equal(budgetFraction({ steps: 100, minutes: 0 }, 150, 0), 1);
});

test('schedule settings are validated, and the defaults are a cosine decay to a tenth', () => {
  assert.equal(DEFAULT_TRAIN.lrSchedule, 'cosine');
  assert.equal(DEFAULT_TRAIN.lrFinal, 0.1);
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, lrSchedule: 'step' as 'cosine' }), ConfigError);
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, lrFinal: 2 }), ConfigError);
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, lrWarmup: -1 }), ConfigError);
});

test('the editor resumes a stopped run to its own budget, and extends a finished one by the settings', () => {
  const settings = { steps: 0, minutes: 3 };
  assert.deepEqual(resumeBudget({ status: 'cancelled', step: 440, seconds: 60 }, { steps: 2000, minutes: 0 }, settings), { steps: 2000, minutes: 0 });
  assert.deepEqual(resumeBudget({ status: 'cancelled', step: 440, seconds: 120 }, { steps: 0, minutes: 10 }, settings), { steps: 0, minutes: 10 });
  assert.deepEqual(resumeBudget({ status: 'finished', step: 2000, seconds: 600 }, { steps: 2000, minutes: 0 }, settings), { steps: 0, minutes: 13 });
  assert.deepEqual(resumeBudget({ status: 'finished', step: 2000, seconds: 600 }, { steps: 2000, minutes: 0 }, { steps: 500, minutes: 0 }), { steps: 2500, minutes: 0 });
  // Stopped with nothing left of its budget: extend it too.
  assert.deepEqual(resumeBudget({ status: 'cancelled', step: 2000, seconds: 600 }, { steps: 2000, minutes: 0 }, settings), { steps: 0, minutes: 13 });
});

test('resuming a run that has used its budget is refused with a reason; a larger budget trains on', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const corpus = corpusFromText('fixture.c', cSource(20), 0.1);
  const opts = { outDir: dir, runId: 'r', model: { hidden: 16, layers: 1 }, train: { seqLength: 16, batchSize: 4, steps: 4, evalEvery: 4, sampleChars: 0 } };
  await train(corpus, opts);
  await assert.rejects(train(corpus, { outDir: dir, resume: path.join(dir, 'r') }), (e: Error) => e instanceof TrainingError && /used its budget \(step 4 of 4\)/.test(e.message));
  const more = await train(corpus, { outDir: dir, resume: path.join(dir, 'r'), train: { steps: 8 } });
  assert.equal(more.step, 8);
});

test('a new run given no learning rate takes the automatic one for its width; a given one or a resumed run keeps its own', async () => {
  assert.equal(automaticLearningRate({ hidden: 128 }), DEFAULT_TRAIN.learningRate);
  assert.equal(automaticLearningRate({ hidden: 64 }), DEFAULT_TRAIN.learningRate);
  assert.equal(automaticLearningRate({ hidden: 512 }), DEFAULT_TRAIN.learningRate / 4);
  await initBackend('auto');
  const dir = tempDir();
  const corpus = corpusFromText('fixture.c', cSource(20), 0.1);
  const small = { seqLength: 16, batchSize: 4, steps: 2, evalEvery: 2, sampleChars: 0 };
  const lrOf = async (run: string) => (await readRunInfo(path.join(dir, run))).train.learningRate;
  await train(corpus, { outDir: dir, runId: 'wide', model: { hidden: 256, layers: 1 }, train: small });
  assert.equal(await lrOf('wide'), DEFAULT_TRAIN.learningRate / 2);
  await train(corpus, { outDir: dir, runId: 'given', model: { hidden: 256, layers: 1 }, train: { ...small, learningRate: 1e-3 } });
  assert.equal(await lrOf('given'), 1e-3);
  await train(corpus, { outDir: dir, resume: path.join(dir, 'given'), train: { steps: 4 } });
  assert.equal(await lrOf('given'), 1e-3);
});

test('resuming with a model size or cell type that contradicts the checkpoint is refused, naming both', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const corpus = corpusFromText('fixture.c', cSource(20), 0.1);
  await train(corpus, { outDir: dir, runId: 'r', model: { hidden: 16, layers: 1 }, train: { seqLength: 16, batchSize: 4, steps: 2, evalEvery: 2, sampleChars: 0 } });
  await assert.rejects(
    train(corpus, { outDir: dir, resume: path.join(dir, 'r'), model: { hidden: 256, layers: 3, kind: 'gru' }, train: { steps: 4 } }),
    (e: Error) => e instanceof ConfigError && /keeps its model \(lstm 1×16\); kind gru, layers 3, hidden 256 contradicts it/.test(e.message),
  );
  // The same values as the checkpoint's are fine (the editor passes them).
  const r = await train(corpus, { outDir: dir, resume: path.join(dir, 'r'), model: { hidden: 16, layers: 1, kind: 'lstm' }, train: { steps: 4 } });
  assert.equal(r.step, 4);
});
