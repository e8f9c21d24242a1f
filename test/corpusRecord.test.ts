/**
 * Tests for the run's record of its corpus (src/engine/data/corpusRecord.ts): training writes
 * corpus.json; the corpus read again later is cut back to what the run saw, so a file written after
 * training is held out (never a training file), an edited training file stays a training file, a
 * removed one is noted, and a run without the record reads the corpus as before. Overwrite removes
 * the old record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { heldOutFiles } from '../src/cli/completeEval';
import { readCorpus } from '../src/engine/data/corpus';
import { CORPUS_RECORD_FILE, readCorpusRecord, readTrainingCorpus } from '../src/engine/data/corpusRecord';
import { initBackend } from '../src/engine/runtime/backend';
import { train } from '../src/engine/training/train';
import { cSource, tempDir, writeTree } from './support/fixtures';

const FILES = { 'a.c': cSource(30), 'b.c': cSource(26), 'c.c': cSource(22), 'd.h': cSource(18), 'e.c': cSource(14) };

async function trainedRun(): Promise<{ root: string; ckpt: string; trained: string[]; validated: string[] }> {
  await initBackend('auto');
  const root = tempDir();
  writeTree(root, FILES);
  const out = tempDir();
  const done = await train(await readCorpus(root), { outDir: out, runId: 'r', model: { kind: 'rnn', layers: 1, hidden: 16 }, train: { steps: 2, seqLength: 8, batchSize: 2, evalEvery: 2, sampleChars: 0 }, fitMixture: false });
  const record = (await readCorpusRecord(done.checkpoint))!;
  assert.ok(record, 'training wrote corpus.json beside its checkpoints');
  return { root, ckpt: done.checkpoint, trained: record.train.map((f) => f.path).sort(), validated: record.validation.map((f) => f.path).sort() };
}

test('a file written after training is held out, whatever the split would now make of it', async () => {
  const { root, ckpt, trained, validated } = await trainedRun();
  assert.equal(trained.length + validated.length, 5);
  // Many new files: read again without the record, the split by path hash would now hold out others.
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(root, `new${i}.c`), cSource(40 + i));
  const reread = await readCorpus(root);
  assert.ok(reread.trainFiles.some((f) => f.path.startsWith('new')), 'read again without the record, new files count as training files');
  const { corpus, note } = await readTrainingCorpus(ckpt, root);
  assert.deepEqual(corpus.trainFiles.map((f) => f.path).sort(), trained);
  assert.deepEqual(corpus.validationFiles.map((f) => f.path).sort(), validated);
  assert.match(note!, /6 file\(s\) it never saw are not counted as training text/);
  const held = await heldOutFiles(path.join(root, 'new3.c'), corpus);
  assert.deepEqual(held.files.map((f) => f.text), [cSource(43)]);
  await assert.rejects(heldOutFiles(path.join(root, trained[0]), corpus), /is a training file/);
});

test('an edited training file is still a training file; a removed one is noted; no record, no cut', async () => {
  const { root, ckpt, trained } = await trainedRun();
  fs.appendFileSync(path.join(root, trained[0]), '/* edited after training */\n');
  fs.rmSync(path.join(root, trained[1]));
  const { corpus, note } = await readTrainingCorpus(ckpt, root);
  assert.deepEqual(corpus.trainFiles.map((f) => f.path).sort(), [trained[0], ...trained.slice(2)].sort());
  assert.match(corpus.trainText, /edited after training/);
  assert.match(note!, /1 of its 4 training file\(s\) are gone/);

  fs.rmSync(path.join(path.dirname(ckpt), CORPUS_RECORD_FILE));
  const plain = await readTrainingCorpus(ckpt, root);
  assert.equal(plain.note, null);
  assert.equal(plain.corpus.trainFiles.length + plain.corpus.validationFiles.length, 4, 'read as it is now');
});

test('starting a run folder again (overwrite) records the corpus it trains on now', async () => {
  await initBackend('auto');
  const root = tempDir();
  writeTree(root, FILES);
  const out = tempDir();
  const opts = { outDir: out, runId: 'r', model: { kind: 'rnn' as const, layers: 1, hidden: 16 }, train: { steps: 2, seqLength: 8, batchSize: 2, evalEvery: 2, sampleChars: 0 }, fitMixture: false };
  await train(await readCorpus(root), opts);
  fs.writeFileSync(path.join(root, 'f.c'), cSource(35));
  const again = await train(await readCorpus(root), { ...opts, overwrite: true });
  const record = (await readCorpusRecord(again.checkpoint))!;
  assert.equal(record.train.length + record.validation.length, 6);
});
