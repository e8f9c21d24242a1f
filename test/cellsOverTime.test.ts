/**
 * Cells over time (src/analysis/cellsOverTime.ts, cellsRecord.ts) and the training hook that
 * records them (TrainOptions.afterEvaluation, the run's cells.jsonl): a record's best cell per
 * concept is the top of the full ranking of the same model on the same sample; training with the
 * hook writes one record per evaluation, a resume keeps appending (dropping a torn line and records
 * past its checkpoint), a hook that throws costs its record and not the run, a run without a hook
 * gets no file; readers skip a torn or foreign line; records from checkpoints; the protocol's
 * messages that carry a record accept it and reject wrong shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { corpusFromText } from '../src/engine/data/corpus';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { CharRnn } from '../src/engine/nn/model';
import { InferenceModel } from '../src/engine/inference/inference';
import { traceText } from '../src/engine/inference/trace';
import { readCellsRecords, readMetrics, RUN_FILES } from '../src/engine/training/runFolder';
import { train, TrainEvent, TrainOptions } from '../src/engine/training/train';
import { rankAllConcepts } from '../src/analysis/cellRanking';
import { labelConcepts } from '../src/analysis/conceptLabels';
import { CellsOverTime, cellsFromCheckpoints, readCellsOverTime } from '../src/analysis/cellsOverTime';
import { firstStepReaching, isCellsRecord, recordedConcepts, recordsByStep, type CellsRecord } from '../src/analysis/cellsRecord';
import { isWorkerToHost } from '../src/extension/protocol/trainingWorker';
import { isHostToDashboard } from '../src/extension/protocol/dashboard';
import { runSummary } from '../src/extension/protocol/runs';
import { cellsRecordFixture, cSource, tempDir } from './support/fixtures';

const corpus = () => corpusFromText('fixture.c', cSource(30), 0.1);
const options = (outDir: string, runId: string | undefined, steps: number, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  outDir,
  runId,
  model: { kind: 'lstm', layers: 2, hidden: 16 },
  train: { seqLength: 16, batchSize: 4, steps, evalEvery: 2, evalChars: 300, sampleChars: 0, seed: 5 },
  fitMixture: false,
  ...extra,
});
const validation = () => corpus().validationFiles;

test('a record holds, per concept, the top of the full ranking of the same model on the same sample', async () => {
  await initBackend('auto');
  const text = '#define TWICE(x) ((x) * 2)\n' + cSource(20);
  const vocab = Vocabulary.fromText(text);
  const cfg = { kind: 'lstm' as const, layers: 2, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const model = new InferenceModel(cfg, vocab, CharRnn.create(cfg, 3).values());
  const sample = await CellsOverTime.create([{ path: 'a.c', text }], { maxChars: 2500 });
  assert.equal(sample.sampleChars, 2500);
  const record = sample.record(model, 40, 1234, 5.5);
  assert.ok(isCellsRecord(record));
  assert.deepEqual([record.step, record.chars, record.seconds, record.sampleChars, record.sampleFiles], [40, 1234, 5.5, 2500, 1]);
  assert.ok(record.ms >= 0);

  // The same by another path: a full trace, tanh of its cell states, every cell ranked.
  const cut = Array.from(text).slice(0, 2500).join('');
  const trace = traceText(model, cut, { topK: 1 });
  const sets = trace.layers.map((l) => ({ layer: l.layer, quantity: 'tanh(c)', units: 16, values: l.c!.map(Math.tanh) }));
  const labels = await labelConcepts(cut, 'c');
  const full = rankAllConcepts(sets, labels.concepts);
  const ranked = full.filter((r) => r.cells.length > 0);
  assert.deepEqual(record.concepts.map((c) => c.concept), ranked.map((r) => r.concept));
  assert.ok(record.concepts.some((c) => c.concept === 'in-preprocessor'), 'the #define gives the preprocessor concept positives');
  for (const r of ranked) {
    const best = record.concepts.find((c) => c.concept === r.concept)!;
    assert.equal(best.score, Math.max(...r.cells.map((c) => c.score)), r.concept);
    assert.deepEqual([best.layer, best.cell, best.direction, best.scoreKind, best.title], [r.cells[0].layer, r.cells[0].cell, r.cells[0].direction, r.scoreKind, r.title], r.concept);
  }
});

test('a sample without text is refused; a bad size too', async () => {
  await assert.rejects(CellsOverTime.create([]), /no validation text/);
  await assert.rejects(CellsOverTime.create([{ path: 'a.c', text: '' }]), /no validation text/);
  await assert.rejects(CellsOverTime.create([{ path: 'a.c', text: 'int x;' }], { maxChars: 0 }), /positive whole number/);
});

test('training with the hook writes one record per evaluation; a resume keeps appending past a torn line', async () => {
  await initBackend('auto');
  const out = tempDir();
  const sample = await CellsOverTime.create(validation(), { maxChars: 1500 });
  const events: TrainEvent[] = [];
  const seen: { step: number; kind: string }[] = [];
  const hook = sample.afterEvaluation(1);
  const first = await train(corpus(), options(out, 'r', 6, {
    onEvent: (e) => events.push(e),
    afterEvaluation: async (model, step, chars, seconds) => {
      seen.push({ step, kind: model.config.kind });
      return hook(model, step, chars, seconds);
    },
  }));
  const metrics = await readMetrics(first.dir);
  let read = await readCellsOverTime(first.dir);
  assert.deepEqual(metrics.map((m) => m.step), [2, 4, 6]);
  assert.deepEqual(read.records.map((r) => r.step), [2, 4, 6], 'one record per evaluation');
  assert.deepEqual(read.records.map((r) => [r.chars, r.seconds]), metrics.map((m) => [m.chars, m.seconds]), 'at the evaluation\'s characters and seconds');
  assert.deepEqual(seen, [2, 4, 6].map((step) => ({ step, kind: 'lstm' })));
  const cellsEvents = events.flatMap((e) => (e.event === 'cells' ? [e] : []));
  assert.deepEqual(cellsEvents.map((e) => e.step), [2, 4, 6]);
  assert.deepEqual(cellsEvents.map((e) => e.record), read.records, 'each event carries the record written');
  // After each eval event, its cells event.
  const order = events.filter((e) => e.event === 'eval' || e.event === 'cells').map((e) => `${e.event} ${(e as { step: number }).step}`);
  assert.deepEqual(order, ['eval 2', 'cells 2', 'eval 4', 'cells 4', 'eval 6', 'cells 6']);

  // A crash mid-append leaves a torn line; a line past the checkpoint (written after it) must not survive a resume either.
  const file = path.join(first.dir, RUN_FILES.cells);
  fs.appendFileSync(file, JSON.stringify({ ...read.records[2], step: 8 }) + '\n');
  fs.appendFileSync(file, '{"step":10,"chars":1');
  assert.deepEqual((await readCellsRecords(first.dir)).map((r) => (r as CellsRecord).step), [2, 4, 6, 8], 'the torn line is skipped');
  await train(corpus(), { outDir: out, resume: first.dir, train: { steps: 10 }, fitMixture: false, afterEvaluation: sample.afterEvaluation(1) });
  read = await readCellsOverTime(first.dir);
  assert.deepEqual(read.records.map((r) => r.step), [2, 4, 6, 8, 10], 'kept up to the checkpoint (step 6), then appended');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.ok(lines.every((l) => isCellsRecord(JSON.parse(l))), 'no torn line left');
  assert.deepEqual(recordsByStep(read.records).map((r) => r.step), [2, 4, 6, 8, 10]);
});

test('a hook that throws costs its record, not the run; a run without a hook has no cells.jsonl', async () => {
  await initBackend('auto');
  const out = tempDir();
  const events: TrainEvent[] = [];
  const sample = await CellsOverTime.create(validation(), { maxChars: 800 });
  const good = sample.afterEvaluation(1);
  const done = await train(corpus(), options(out, 'flaky', 6, {
    onEvent: (e) => events.push(e),
    afterEvaluation: async (model, step, chars, seconds) => {
      if (step === 4) throw new Error('out of labels');
      return good(model, step, chars, seconds);
    },
  }));
  assert.equal(done.stopReason, 'steps');
  assert.deepEqual((await readCellsOverTime(done.dir)).records.map((r) => r.step), [2, 6]);
  assert.ok(events.some((e) => e.event === 'note' && e.message === 'the cells of step 4 were not recorded: out of labels'));
  // A hook may also decline to record (null): nothing is written, no event.
  const quiet = await train(corpus(), options(out, 'quiet', 2, { afterEvaluation: async () => null }));
  assert.equal(fs.readFileSync(path.join(quiet.dir, RUN_FILES.cells), 'utf8'), '');
  const none = await train(corpus(), options(out, 'none', 2));
  assert.ok(!fs.existsSync(path.join(none.dir, RUN_FILES.cells)));
  assert.deepEqual(await readCellsOverTime(none.dir), { records: [], file: path.join(none.dir, RUN_FILES.cells), exists: false });
});

test('readers keep the records of cells.jsonl and skip torn and foreign lines', async () => {
  const dir = tempDir();
  const a = cellsRecordFixture(100, { 'in-string': 0.7, 'in-comment': 0.6 });
  const b = cellsRecordFixture(200, { 'in-string': 0.95, 'in-comment': 0.8, column: 0.5 });
  fs.writeFileSync(path.join(dir, RUN_FILES.cells), [JSON.stringify(a), '', JSON.stringify({ step: 150, note: 'not a record' }), JSON.stringify(b), '{"step":300,"conc'].join('\n'));
  assert.equal((await readCellsRecords(dir)).length, 3, 'the engine reader skips only what does not parse');
  const read = await readCellsOverTime(dir);
  assert.deepEqual(read.records, [a, b]);
  assert.equal(read.exists, true);
  assert.deepEqual(recordedConcepts(read.records).map((c) => c.concept), ['in-string', 'in-comment', 'column']);
  assert.equal(firstStepReaching(read.records, 'in-string', 0.9), 200);
  assert.equal(firstStepReaching(read.records, 'in-comment', 0.9), null);
  assert.equal(firstStepReaching(read.records, 'column', 0.5), 200);
});

test('records from checkpoints: one per distinct step of best.ckpt and last.ckpt; none without a checkpoint', async () => {
  await initBackend('auto');
  const out = tempDir();
  const run = await train(corpus(), options(out, 'old', 4));
  const sample = await CellsOverTime.create(validation(), { maxChars: 800 });
  const r = await cellsFromCheckpoints(run.dir, sample);
  assert.ok(r.records.length >= 1 && r.records.length <= 2);
  assert.ok(r.records.every(isCellsRecord));
  assert.equal(r.records[r.records.length - 1].step, 4, 'last.ckpt is at the last step');
  assert.deepEqual(r.records.map((x) => x.step), [...new Set(r.records.map((x) => x.step))].sort((x, y) => x - y));
  await assert.rejects(cellsFromCheckpoints(tempDir(), sample), /has no checkpoint/);
  // On a run that recorded them, the checkpoint's cells are the ones training wrote at its step
  // (its seconds are the checkpoint's, written a moment after the evaluation's).
  const recorded = await train(corpus(), options(out, 'recorded', 4, { afterEvaluation: sample.afterEvaluation(1) }));
  const written = (await readCellsOverTime(recorded.dir)).records;
  const again = (await cellsFromCheckpoints(recorded.dir, sample)).records;
  const same = (r: CellsRecord) => [r.step, r.chars, r.sampleChars, r.sampleFiles, r.concepts];
  for (const r of again) assert.deepEqual(same(r), same(written.find((w) => w.step === r.step)!), `step ${r.step}`);
});

test('the records take at most their share of training time: with a tiny share only the first evaluation is recorded', async () => {
  const out = tempDir();
  const sample = await CellsOverTime.create(validation(), { maxChars: 800 });
  const sparse = await train(corpus(), options(out, 'sparse', 6, { afterEvaluation: sample.afterEvaluation(0.001) }));
  const steps = (await readCellsOverTime(sparse.dir)).records.map((r) => r.step);
  assert.deepEqual(steps, [2], 'a record costs far more than 0.1 % of the time to the next evaluations');
  const every = await train(corpus(), options(out, 'every', 6, { afterEvaluation: sample.afterEvaluation(1) }));
  assert.deepEqual((await readCellsOverTime(every.dir)).records.map((r) => r.step), [2, 4, 6]);
  assert.throws(() => sample.afterEvaluation(0), /share of training time/);
});

test('the protocol carries a record from the worker and to the dashboard, and rejects wrong shapes', () => {
  const record = cellsRecordFixture(100, { 'in-string': 0.9, column: 0.4 });
  assert.ok(isWorkerToHost({ type: 'cells', runId: 'r', record }));
  assert.ok(isHostToDashboard({ type: 'cells', runId: 'r', record }));
  const wrong: unknown[] = [
    { type: 'cells', runId: 'r' },
    { type: 'cells', runId: 7, record },
    { type: 'cells', runId: 'r', record: { ...record, step: 'ten' } },
    { type: 'cells', runId: 'r', record: { ...record, concepts: 'in-string' } },
    { type: 'cells', runId: 'r', record: { ...record, concepts: [{ ...record.concepts[0], score: 1.5 }] } },
    { type: 'cells', runId: 'r', record: { ...record, concepts: [{ ...record.concepts[0], direction: 0 }] } },
    { type: 'cells', runId: 'r', record: { ...record, concepts: [{ ...record.concepts[0], scoreKind: 'f1' }] } },
    { type: 'cells', runId: 'r', record: { ...record, ms: NaN } },
  ];
  for (const m of wrong) {
    assert.equal(isWorkerToHost(m), false, JSON.stringify(m));
    assert.equal(isHostToDashboard(m), false, JSON.stringify(m));
  }
  const summary = {
    runId: 'r', dir: '/runs/r', model: { kind: 'lstm', layers: 2, hidden: 128, embedding: 0 }, parameters: 1, backend: 'cpu', corpus: '/c', status: 'finished',
    startedAt: '2025-01-01T00:00:00Z', durationSeconds: 1, charsPerSec: 1, bestValLoss: null, learningRate: null, step: 100, evals: [],
  };
  assert.ok(runSummary(summary), 'a summary without cells (older runs)');
  assert.ok(runSummary({ ...summary, cells: [record] }));
  assert.equal(runSummary({ ...summary, cells: [{ ...record, concepts: null }] }), false);
  assert.ok(isHostToDashboard({ type: 'runs', runs: [{ ...summary, cells: [record] }], activeRunId: null }));
});
