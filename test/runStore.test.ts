/**
 * The run store (src/extension/runStore.ts) on run folders written here in the engine's layout,
 * with a fake vscode: where the runs live, how a folder becomes a summary (newest first, losses
 * and readings from metrics.jsonl, cells over time from cells.jsonl, a dead "running" run shown as cancelled), which checkpoints a
 * run has, the active model kept in workspace state, and deleting a run.
 */
import * as vscode from './fakes/vscode'; // first: maps 'vscode' for the modules below
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_MODEL, DEFAULT_TRAIN } from '../src/engine/nn/config';
import type { EvalRecord } from '../src/engine/training/checkpoint';
import { RunInfo, RUN_FILES } from '../src/engine/training/runFolder';
import { RunStore } from '../src/extension/runStore';
import { cellsRecordFixture, tempDir } from './support/fixtures';

function storeIn(storage: string | null = tempDir('lstm-lab-store-')): { store: RunStore; workspaceState: vscode.Memento } {
  const { context, workspaceState } = vscode.extensionContext(storage, tempDir('lstm-lab-global-'));
  return { store: new RunStore(context), workspaceState };
}

function writeRun(root: string, runId: string, info: Partial<RunInfo>, evals: Partial<EvalRecord>[] = [], files: ('best' | 'last')[] = []): string {
  const dir = path.join(root, runId);
  fs.mkdirSync(dir, { recursive: true });
  const full: RunInfo = {
    runId, dir, model: { ...DEFAULT_MODEL, vocabSize: 90 }, train: DEFAULT_TRAIN, parameters: 1234, backend: 'cpu',
    corpus: { root: '/src/linux', trainFiles: 9, validationFiles: 1, trainChars: 9000, validationChars: 1000, skipped: {} },
    vocabularySize: 90, startedAt: '2025-01-01T10:00:00.000Z', status: 'finished', ...info,
  };
  fs.writeFileSync(path.join(dir, RUN_FILES.info), JSON.stringify(full));
  const lines = evals.map((e) => JSON.stringify({ event: 'eval', chars: 0, seconds: 0, trainLoss: 3, valBitsPerChar: 0, valPerplexity: 0, charsPerSec: 0, learningRate: 2e-3, ...e }));
  fs.writeFileSync(path.join(dir, RUN_FILES.metrics), lines.map((l) => l + '\n').join(''));
  for (const f of files) fs.writeFileSync(path.join(dir, RUN_FILES[f]), 'checkpoint');
  return dir;
}

test('runs live under the workspace storage, or the global storage without a workspace', () => {
  const storage = tempDir('lstm-lab-store-');
  assert.equal(storeIn(storage).store.root, path.join(storage, 'runs'));
  const { context } = vscode.extensionContext(null, '/global/storage');
  assert.equal(new RunStore(context).root, path.join('/global/storage', 'runs'));
});

test('no runs folder yet: no runs', async () => {
  assert.deepEqual(await storeIn().store.list(), []);
});

test('a run folder becomes a summary: the readings of its last evaluation, its best validation loss', async () => {
  const { store } = storeIn();
  const dir = writeRun(store.root, 'r1', { step: 900, bestValLoss: 9 }, [
    { step: 100, chars: 204_800, seconds: 10, trainLoss: 2.5, valLoss: 2.4, charsPerSec: 20_000, learningRate: 2e-3 },
    { step: 200, chars: 409_600, seconds: 21, trainLoss: 2.0, valLoss: 1.9, charsPerSec: 19_500, learningRate: 1e-3 },
    { step: 300, chars: 614_400, seconds: 33, trainLoss: 1.8, valLoss: 2.1, charsPerSec: 19_000, learningRate: 5e-4 },
  ]);
  fs.appendFileSync(path.join(dir, RUN_FILES.metrics), '{"event":"eval","step":4'); // torn by a crash
  const [r] = await store.list();
  assert.deepEqual(r, {
    runId: 'r1', dir, model: { kind: DEFAULT_MODEL.kind, layers: DEFAULT_MODEL.layers, hidden: DEFAULT_MODEL.hidden, embedding: DEFAULT_MODEL.embedding },
    parameters: 1234, backend: 'cpu', corpus: '/src/linux', status: 'finished', startedAt: '2025-01-01T10:00:00.000Z',
    durationSeconds: 33, charsPerSec: 19_000, bestValLoss: 1.9, learningRate: 5e-4, step: 300,
    evals: [
      { step: 100, chars: 204_800, seconds: 10, trainLoss: 2.5, valLoss: 2.4 },
      { step: 200, chars: 409_600, seconds: 21, trainLoss: 2.0, valLoss: 1.9 },
      { step: 300, chars: 614_400, seconds: 33, trainLoss: 1.8, valLoss: 2.1 },
    ],
  });
});

test("a run's cells.jsonl gives its summary the records (torn and foreign lines left out); a run without one has none", async () => {
  const { store } = storeIn();
  const dir = writeRun(store.root, 'r1', {}, [{ step: 100, valLoss: 2 }, { step: 200, valLoss: 1.8 }]);
  const records = [cellsRecordFixture(100, { 'in-string': 0.7 }), cellsRecordFixture(200, { 'in-string': 0.92, column: 0.4 })];
  fs.writeFileSync(path.join(dir, RUN_FILES.cells), [JSON.stringify(records[0]), '{"step":150}', JSON.stringify(records[1]), '{"step":300,"ch'].join('\n'));
  writeRun(store.root, 'older', { startedAt: '2024-01-01T10:00:00.000Z' }, [{ step: 100, valLoss: 2 }]);
  const [r, older] = await store.list();
  assert.deepEqual(r.cells, records);
  assert.ok(!('cells' in older), 'no cells field for a run without cells.jsonl');
});

test('a run without evaluations takes its step, best loss and duration from run.json', async () => {
  const { store } = storeIn();
  writeRun(store.root, 'r1', { step: 40, bestValLoss: 2.75, startedAt: '2025-01-01T10:00:00.000Z', finishedAt: '2025-01-01T10:01:30.000Z' });
  const [r] = await store.list();
  assert.equal(r.step, 40);
  assert.equal(r.bestValLoss, 2.75);
  assert.equal(r.durationSeconds, 90);
  assert.equal(r.charsPerSec, 0);
  assert.equal(r.learningRate, null);
  assert.deepEqual(r.evals, []);
});

test('runs are listed newest first; a folder that is not a run is left out', async () => {
  const { store } = storeIn();
  writeRun(store.root, 'old', { startedAt: '2025-01-01T10:00:00.000Z' });
  writeRun(store.root, 'new', { startedAt: '2025-03-01T10:00:00.000Z' });
  writeRun(store.root, 'mid', { startedAt: '2025-02-01T10:00:00.000Z' });
  fs.mkdirSync(path.join(store.root, 'not-a-run'));
  fs.mkdirSync(path.join(store.root, 'garbled'));
  fs.writeFileSync(path.join(store.root, 'garbled', RUN_FILES.info), '{"runId": ');
  assert.deepEqual((await store.list()).map((r) => r.runId), ['new', 'mid', 'old']);
});

test('a run whose run.json says running is cancelled unless it trains in this window', async () => {
  const { store } = storeIn();
  writeRun(store.root, 'r1', { status: 'running' });
  assert.equal((await store.list())[0].status, 'cancelled');
  store.live.add('r1');
  assert.equal((await store.list())[0].status, 'running');
  store.live.delete('r1');
  writeRun(store.root, 'r2', { status: 'failed' });
  assert.deepEqual((await store.list()).map((r) => r.status), ['cancelled', 'failed']);
});

test('checkpoints lists the ones on disk, best first', () => {
  const { store } = storeIn();
  writeRun(store.root, 'both', {}, [], ['last', 'best']);
  writeRun(store.root, 'lastOnly', {}, [], ['last']);
  writeRun(store.root, 'none', {});
  assert.deepEqual(store.checkpoints('both'), [
    { role: 'best', path: path.join(store.root, 'both', RUN_FILES.best) },
    { role: 'last', path: path.join(store.root, 'both', RUN_FILES.last) },
  ]);
  assert.deepEqual(store.checkpoints('lastOnly'), [{ role: 'last', path: path.join(store.root, 'lastOnly', RUN_FILES.last) }]);
  assert.deepEqual(store.checkpoints('none'), []);
  assert.equal(store.dirOf('both'), path.join(store.root, 'both'));
});

test('the active model is kept in workspace state, announced, and only while its file exists', async () => {
  const { store, workspaceState } = storeIn();
  const dir = writeRun(store.root, 'r1', {}, [], ['best']);
  const best = path.join(dir, RUN_FILES.best);
  const announced: (string | null)[] = [];
  let changes = 0;
  store.onDidChangeActive((p) => announced.push(p));
  store.onDidChange(() => changes++);
  assert.equal(store.active(), null);

  await store.setActive(best);
  assert.equal(store.active(), best);
  assert.deepEqual(workspaceState.keys(), ['lstmLab.activeCheckpoint']);
  assert.deepEqual(announced, [best]);
  assert.equal(changes, 1);

  // A second store on the same workspace state (the window reloaded) sees it too.
  const again = new RunStore(vscode.extensionContext(path.dirname(store.root), '/g', workspaceState).context);
  assert.equal(again.active(), best);

  fs.rmSync(best);
  assert.equal(store.active(), null, 'a deleted checkpoint is not the active model');

  await store.setActive(null);
  assert.deepEqual(workspaceState.keys(), []);
  assert.deepEqual(announced, [best, null]);
  assert.equal(changes, 2);
});

test('removing a run deletes its folder, clears the active model it held, and announces both', async () => {
  const { store } = storeIn();
  const keep = writeRun(store.root, 'keep', {}, [], ['best']);
  const gone = writeRun(store.root, 'gone', {}, [], ['best', 'last']);
  await store.setActive(path.join(gone, RUN_FILES.last));
  const announced: (string | null)[] = [];
  let changes = 0;
  store.onDidChangeActive((p) => announced.push(p));
  store.onDidChange(() => changes++);

  await store.remove('gone');
  assert.equal(fs.existsSync(gone), false);
  assert.equal(store.active(), null);
  assert.deepEqual(announced, [null]);
  assert.ok(changes >= 1);
  assert.deepEqual((await store.list()).map((r) => r.runId), ['keep']);

  // Removing another run leaves the active model alone.
  await store.setActive(path.join(keep, RUN_FILES.best));
  writeRun(store.root, 'other', {});
  announced.length = 0;
  await store.remove('other');
  assert.equal(store.active(), path.join(keep, RUN_FILES.best));
  assert.deepEqual(announced, []);
});

test('remove refuses anything that is not a folder inside the runs folder', async () => {
  const { store } = storeIn();
  writeRun(store.root, 'r1', {});
  const outside = path.join(path.dirname(store.root), 'precious');
  fs.mkdirSync(outside);
  await assert.rejects(store.remove('../precious'), /Not a run folder: \.\.\/precious/);
  await assert.rejects(store.remove(''), /Not a run folder/);
  await assert.rejects(store.remove('.'), /Not a run folder/);
  assert.ok(fs.existsSync(outside));
  assert.ok(fs.existsSync(path.join(store.root, 'r1')));
});

test('after dispose the store announces nothing', async () => {
  const { store } = storeIn();
  let heard = 0;
  store.onDidChange(() => heard++);
  store.onDidChangeActive(() => heard++);
  store.fire();
  assert.equal(heard, 1);
  store.dispose();
  store.fire();
  await store.setActive(null);
  assert.equal(heard, 1);
});
