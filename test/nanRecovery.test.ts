/**
 * Non-finite losses are detected, the step is discarded, and the run recovers: one bad step skips its
 * batch; three in a row roll back to the last good state with the learning rate halved; a run that
 * keeps diverging stops with a clear message and its last good checkpoint intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { loadCheckpoint } from '../src/engine/training/checkpoint';
import { corpusFromText } from '../src/engine/data/corpus';
import { train, TrainEvent, TrainOptions } from '../src/engine/training/train';
import { cSource, tempDir } from './support/fixtures';

const base = (dir: string, id: string, inject: number[], events: TrainEvent[]): TrainOptions => ({
  outDir: dir,
  runId: id,
  model: { layers: 1, hidden: 16 },
  train: { seqLength: 16, batchSize: 4, steps: 12, evalEvery: 4, evalChars: 300, sampleChars: 0, seed: 2 },
  injectNonFiniteAt: new Set(inject),
  onEvent: (e) => events.push(e),
});

test('one non-finite step is skipped and training continues', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const events: TrainEvent[] = [];
  const done = await train(corpusFromText('a.c', cSource(30), 0.1), base(dir, 'one', [6], events));
  assert.equal(done.step, 12);
  const nans = events.filter((e) => e.event === 'nan');
  assert.equal(nans.length, 1);
  assert.match((nans[0] as { action: string }).action, /batch skipped/);
  const ck = await loadCheckpoint(path.join(dir, 'one', 'last.ckpt'));
  assert.equal(ck.header.lrScale, 1);
});

test('three in a row roll back to the last good state and halve the learning rate', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const events: TrainEvent[] = [];
  const done = await train(corpusFromText('a.c', cSource(30), 0.1), base(dir, 'three', [6, 7, 8], events));
  assert.equal(done.step, 12);
  const actions = events.filter((e) => e.event === 'nan').map((e) => (e as { action: string }).action);
  assert.equal(actions.length, 3);
  assert.match(actions[2], /rolled back to the state of step 4, learning rate halved/);
  const ck = await loadCheckpoint(path.join(dir, 'three', 'last.ckpt'));
  assert.equal(ck.header.lrScale, 0.5);
  for (const v of ck.params.values()) assert.ok(v.every(Number.isFinite));
});

test('a run that keeps diverging stops with a clear message', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const events: TrainEvent[] = [];
  const always = Array.from({ length: 100 }, (_, i) => i + 5);
  await assert.rejects(train(corpusFromText('a.c', cSource(30), 0.1), base(dir, 'bad', always, events)), /Training diverged: .*The last good checkpoint is/);
  const ck = await loadCheckpoint(path.join(dir, 'bad', 'last.ckpt'));
  assert.equal(ck.header.step, 4);
});
