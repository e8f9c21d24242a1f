/**
 * The model cache (src/extension/modelCache.ts) with a fake vscode and real checkpoints of tiny
 * models: it loads the active model or the one asked for, keeps one model and hands out that same
 * one until another is asked for or the active model changes, disposes what it drops, survives a
 * checkpoint that does not load, and tells the corpus language of a run.
 */
import * as vscode from './fakes/vscode'; // first: maps 'vscode' for the modules below
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ModelConfig } from '../src/engine/nn/config';
import { initialParams } from '../src/engine/nn/model';
import { saveCheckpoint } from '../src/engine/training/checkpoint';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { LoadedModel, ModelCache } from '../src/extension/modelCache';
import { RunStore } from '../src/extension/runStore';
import { tempDir } from './support/fixtures';

const REPO = path.join(__dirname, '..', '..');
const TEXT = 'int main(void) { return 0; }\n';

async function tinyCheckpoint(dir: string, hidden: number): Promise<string> {
  const vocab = Vocabulary.fromText(TEXT, 40);
  const model: ModelConfig = { kind: 'lstm', layers: 1, hidden, embedding: 0, dropout: 0, vocabSize: vocab.size };
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `h${hidden}.ckpt`);
  await saveCheckpoint(file, {
    header: {
      runId: 'model-cache-test', role: 'export', model,
      train: { seqLength: 16, batchSize: 4, optimizer: 'adam', learningRate: 2e-3, lrDecay: 1, lrDecayEvery: 1000, gradClip: 5, steps: 1, minutes: 0, evalEvery: 1, evalChars: 0, sampleChars: 0, seed: 1 },
      vocabulary: vocab.toJSON(), step: 0, charsSeen: 0, secondsTrained: 0, data: { position: 0, epoch: 0 }, rngState: 0, lrScale: 1,
      optimizer: null, bestValLoss: null, lastEval: null, backend: 'cpu', corpus: null,
    },
    params: initialParams(model, hidden), optimizer: null, state: null,
  });
  return file;
}

/** A store, a cache on it, and two checkpoints (hidden 16 and 24) to tell apart. */
async function setUp(): Promise<{ store: RunStore; cache: ModelCache; small: string; large: string; dir: string }> {
  const dir = tempDir('lstm-lab-cache-');
  const store = new RunStore(vscode.extensionContext(dir, dir).context);
  const small = await tinyCheckpoint(path.join(dir, 'a'), 16);
  const large = await tinyCheckpoint(path.join(dir, 'b'), 24);
  return { store, cache: new ModelCache(REPO, store), small, large, dir };
}

/** Notes when the model's inference (its tensors) is disposed. */
function watchDisposal(m: LoadedModel): { disposed: number } {
  const seen = { disposed: 0 };
  const dispose = m.inference.dispose.bind(m.inference);
  m.inference.dispose = () => {
    seen.disposed++;
    dispose();
  };
  return seen;
}

test('without an active model and without a checkpoint, load says there is no model', async () => {
  const { cache } = await setUp();
  assert.equal(cache.activeCheckpoint(), null);
  await assert.rejects(cache.load(), /There is no active model/);
});

test('load reads the checkpoint asked for, and hands out the same model until another is asked for', async () => {
  const { cache, small, large } = await setUp();
  const a = await cache.load(small);
  assert.equal(a.checkpoint, small);
  assert.equal(a.inference.config.hidden, 16);
  assert.strictEqual(await cache.load(small), a);

  const seenA = watchDisposal(a);
  const b = await cache.load(large);
  assert.equal(b.inference.config.hidden, 24);
  assert.equal(seenA.disposed, 1, 'the model it drops is disposed');
  const again = await cache.load(small);
  assert.notStrictEqual(again, a, 'one model is kept: the first is read again');
  cache.dispose();
});

test('two loads of one checkpoint at once read it once', async () => {
  const { cache, small } = await setUp();
  const [a, b] = await Promise.all([cache.load(small), cache.load(small)]);
  assert.strictEqual(a, b);
  assert.strictEqual(await cache.load(small), a);
  cache.dispose();
});

test('load without a checkpoint takes the active model; a new active model drops the cached one', async () => {
  const { store, cache, small, large } = await setUp();
  await store.setActive(small);
  assert.equal(cache.activeCheckpoint(), small);
  const a = await cache.load();
  assert.equal(a.checkpoint, small);
  const seenA = watchDisposal(a);

  await store.setActive(large);
  assert.equal(seenA.disposed, 1, 'changing the active model disposes the cached one');
  const b = await cache.load();
  assert.equal(b.checkpoint, large);
  assert.equal(b.inference.config.hidden, 24);
  cache.dispose();
});

test('a checkpoint that does not load is refused, and the cached model stays', async () => {
  const { cache, small, dir } = await setUp();
  const a = await cache.load(small);
  const seenA = watchDisposal(a);
  const broken = path.join(dir, 'broken.ckpt');
  fs.writeFileSync(broken, 'not a checkpoint');
  await assert.rejects(cache.load(broken), /not an LSTM Lab checkpoint/);
  assert.equal(seenA.disposed, 0);
  assert.strictEqual(await cache.load(small), a);
  await assert.rejects(cache.load(path.join(dir, 'missing.ckpt')));
  assert.strictEqual(await cache.load(small), a);
  cache.dispose();
});

test('the loaded model samples from its vocabulary, the same text for the same seed', async () => {
  const { cache, small } = await setUp();
  const m = await cache.load(small);
  const text = [...m.sample({ length: 30, temperature: 1, seed: 3 })];
  assert.equal(text.length, 30);
  const vocab = m.inference.vocab;
  const symbols = new Set(Array.from({ length: vocab.size }, (_, i) => vocab.symbol(i)));
  for (const ch of text) assert.ok(symbols.has(ch), `symbol ${JSON.stringify(ch)} is not in the vocabulary`);
  assert.deepEqual([...m.sample({ length: 30, temperature: 1, seed: 3 })], text);
  cache.dispose();
});

test('dispose disposes the cached model', async () => {
  const { store, cache, small } = await setUp();
  await store.setActive(small);
  const seen = watchDisposal(await cache.load());
  cache.dispose();
  assert.equal(seen.disposed, 1);
});

test('the corpus language of a run: its run.json says, C when it does not, unknown without one', async () => {
  const { cache, dir } = await setUp();
  const run = (name: string, runJson: string | null) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    if (runJson !== null) fs.writeFileSync(path.join(d, 'run.json'), runJson);
    return path.join(d, 'best.ckpt');
  };
  assert.equal(await cache.corpusLanguage(run('ts', JSON.stringify({ runId: 'ts', language: 'typescript' }))), 'typescript');
  assert.equal(await cache.corpusLanguage(run('old', JSON.stringify({ runId: 'old' }))), 'c');
  assert.equal(await cache.corpusLanguage(run('none', null)), null);
  assert.equal(await cache.corpusLanguage(run('torn', '{"runId": "to')), null);
});
