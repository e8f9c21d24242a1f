/**
 * Tests for the experiments panel's host logic that needs no editor: the command-line job (real
 * `lstm-lab` runs: JSON events, the command line's own error message, cancel), the store's views of
 * a real comparison folder, the analyses' record (capped, with per-character files), the onion's
 * spans over a document's text (CRLF, BOM, surrogate pairs, stale text), and the panel protocol's
 * checks in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { CommandLineJob, commandText } from '../src/extension/experiments/commandLine';
import { ExperimentStore, MAX_ANALYSES, type StoredAnalysis } from '../src/extension/experiments/experimentStore';
import { categorySpans, normalisedOffsets } from '../src/extension/experiments/onionRanges';
import { isAnalysisResult, isExperimentsToHost, isHostToExperiments, ONION_COLOURS, type ExperimentsState } from '../src/extension/protocol/experiments';
import { ERROR_CATEGORIES } from '../src/analysis/errorOnion';
import { CLI } from './support/cli';
import { cSource, tempDir, writeTree } from './support/fixtures';

function corpusFolder(): string {
  const dir = tempDir();
  writeTree(dir, { 'a.c': cSource(30), 'b.c': cSource(25), 'c.h': cSource(20), 'd.c': cSource(12) });
  return dir;
}

const TINY = ['--seq', '16', '--batch', '4', '--eval-every', '2'];

test('a comparison run as a job: its JSON events arrive, and the store reads the folder back as the panel shows it', async () => {
  const corpus = corpusFolder();
  const store = new ExperimentStore(tempDir());
  const dir = store.newComparisonDir(new Date('2026-12-03T06:00:00.123Z'));
  assert.equal(path.basename(dir), 'compare-2026-12-03T06-00-00Z');
  const args = ['compare', corpus, '--models', 'lstm,rnn', '--layers', '1', '--hidden', '16', '--steps-each', '4', ...TINY, '--ngram-orders', '1,3', '--out', dir, '--json'];
  await store.writeComparisonRecord(dir, { args, command: commandText(args), startedAt: new Date().toISOString(), status: 'running', message: null });
  const seen: string[] = [];
  const job = new CommandLineJob(CLI, args, { onEvent: (e) => seen.push(String(e.event)) });
  const r = await job.done;
  assert.equal(r.code, 0, r.message);
  assert.deepEqual(seen, ['compare-run', 'compare-run', 'compare-ngram', 'compare-ngram', 'compare-done']);
  assert.equal(r.events.length, 5);

  // While its job runs, a "running" record is running; without a live job it was interrupted.
  const live = (await store.comparisonView(dir, true))!;
  assert.equal(live.status, 'running');
  assert.equal((await store.comparisonView(dir, false))!.status, 'cancelled');
  assert.equal(live.total, 2);
  assert.equal(live.done, 2);
  assert.match(live.grid, /^lstm, rnn × 1 layer\(s\) × 16 · 4 steps each$/);
  assert.deepEqual(live.table.map((row) => (row.kind === 'network' ? row.runId : `${row.order}-gram`)), ['lstm-1x16', 'rnn-1x16', '1-gram', '3-gram']);
  assert.deepEqual(live.curves.map((c) => [c.label, c.state, c.points.map((p) => p.step)]), [['LSTM 1×16', 'done', [2, 4]], ['RNN 1×16', 'done', [2, 4]]]);
  const state: ExperimentsState = { comparisons: [live], analyses: [], busy: null, activeModel: null };
  assert.ok(isHostToExperiments({ type: 'state', state }), 'the view passes the panel protocol');
  assert.deepEqual(await store.comparisonDirs(), [dir]);
  assert.match(live.command, /^lstm-lab compare \S+ --models lstm,rnn /);
});

test("a failing command gives the command line's own message; a cancel ends the job and says so", async () => {
  const bad = await new CommandLineJob(CLI, ['compare', path.join(tempDir(), 'nothing-here'), '--steps-each', '1', '--json'], {}).done;
  assert.notEqual(bad.code, 0);
  assert.doesNotMatch(bad.message, /^lstm-lab/, 'the prefix is taken off');
  assert.match(bad.message, /nothing-here/);
  const usage = await new CommandLineJob(CLI, ['compare', tempDir(), '--models', 'transformer', '--steps-each', '1'], {}).done;
  assert.equal(usage.code, 2);
  assert.match(usage.message, /--models takes lstm, gru and rnn/);

  const corpus = corpusFolder();
  const out = path.join(tempDir(), 'cmp');
  const job = new CommandLineJob(CLI, ['compare', corpus, '--models', 'lstm', '--layers', '1', '--hidden', '16', '--steps-each', '100000', ...TINY, '--out', out, '--json'], {});
  // Cancel once the run has started (its manifest says so), as a user would from the notification.
  for (let i = 0; i < 600 && !fs.existsSync(path.join(out, 'lstm-1x16', 'metrics.jsonl')); i++) await new Promise((res) => setTimeout(res, 100));
  job.cancel();
  const r = await job.done;
  assert.equal(r.cancelled, true);
  const done = r.events.find((e) => e.event === 'compare-done');
  assert.equal(done?.cancelled, true, 'compare stopped cleanly on SIGINT and said so');
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8'));
  assert.equal(manifest.runs[0].state, 'started', 'the interrupted run is resumable');
});

test('commandText quotes what a shell would split', () => {
  assert.equal(commandText(['errors', '/a b/c.ckpt', "it's.c", '--json']), `lstm-lab errors '/a b/c.ckpt' 'it'\\''s.c' --json`);
});

function analysis(id: string): StoredAnalysis {
  return { id, model: 'LSTM 1×16 · r (best)', checkpoint: '/r/best.ckpt', target: '/w/x.c', createdAt: new Date(0).toISOString(), seconds: 1, command: 'lstm-lab errors …', result: { kind: 'errors', chars: 10, errors: 4, categories: ERROR_CATEGORIES.map((name, i) => ({ name, errors: i < 4 ? 1 : 0 })) } };
}

test('analyses: newest first, at most MAX_ANALYSES, an old one takes its per-character file with it', async () => {
  const root = tempDir();
  const store = new ExperimentStore(root);
  const chars = { categoryNames: [...ERROR_CATEGORIES], file: '/w/x.c', hash: 'h', chars: 10, errors: [[1, 0], [2, 0]] as [number, number][] };
  await store.addAnalysis(analysis('errors-0'), chars);
  assert.deepEqual(await store.readOnionCharacters('errors-0'), chars);
  for (let i = 1; i <= MAX_ANALYSES; i++) await store.addAnalysis(analysis(`errors-${i}`));
  const list = await store.readAnalyses();
  assert.equal(list.length, MAX_ANALYSES);
  assert.equal(list[0].id, `errors-${MAX_ANALYSES}`);
  assert.equal(list.some((a) => a.id === 'errors-0'), false);
  assert.equal(await store.readOnionCharacters('errors-0'), null, 'its per-character file went with it');
  await store.removeAnalysis(`errors-${MAX_ANALYSES}`);
  assert.equal((await store.readAnalyses())[0].id, `errors-${MAX_ANALYSES - 1}`);
  fs.writeFileSync(path.join(root, 'analyses.json'), '{ torn');
  assert.deepEqual(await store.readAnalyses(), [], 'a damaged record reads as empty, never throws');
  await assert.rejects(store.removeComparison('../elsewhere'), /Not a comparison/);
});

test("the onion's spans: code points of the normalised text mapped onto the document's text", () => {
  // BOM dropped, CRLF one code point (its LF), a surrogate pair one code point of two units.
  const text = '\ufeffa\r\nb😀c';
  assert.deepEqual([...normalisedOffsets(text)], [1, 3, 4, 5, 7, 8]);
  // Errors at a, LF, b (category 0, one span), 😀 (category 2), c (category 0).
  assert.deepEqual(categorySpans(text, [[0, 0], [1, 0], [2, 0], [3, 2], [4, 0]], 5), [
    { category: 0, start: 1, end: 5 },
    { category: 2, start: 5, end: 7 },
    { category: 0, start: 7, end: 8 },
  ]);
  assert.equal(categorySpans('ab', [[0, 1]], 3), null, 'a text shorter than what the onion saw');
  assert.equal(categorySpans('abc', [[2, 1]], 2), null, 'an error past what the onion saw');
  assert.deepEqual(categorySpans('abcd', [[1, 1]], 2), [{ category: 1, start: 1, end: 2 }], 'the onion saw the start of a longer text');
});

test('the panel protocol: messages of the right shape pass, others are refused', () => {
  for (const m of [{ type: 'ready' }, { type: 'compare' }, { type: 'continueComparison', id: 'compare-x' }, { type: 'analyse', kind: 'gradients' }, { type: 'cancel' }, { type: 'exportTable', id: 'compare-x', format: 'md' }, { type: 'colourFile', id: 'e', on: true }, { type: 'remove', id: 'e' }]) {
    assert.ok(isExperimentsToHost(m), JSON.stringify(m));
  }
  for (const m of [{ type: 'continueComparison' }, { type: 'analyse', kind: 'cells' }, { type: 'exportTable', id: 'x', format: 'pdf' }, { type: 'colourFile', id: 'e' }, { type: 'toString' }, null, 'ready']) {
    assert.equal(isExperimentsToHost(m), false, JSON.stringify(m));
  }
  assert.ok(isAnalysisResult(analysis('a').result));
  assert.ok(isAnalysisResult({ kind: 'gradients', cell: 'lstm', lags: 2, positions: 3, layers: [{ layer: 1, norms: [1, 0.5], cellNorms: [1, 0.9] }] }));
  assert.ok(isAnalysisResult({ kind: 'brackets', closers: 3, unmatched: 0, ngramOrder: 10, bins: [{ distance: [1, 2], count: 3, network: 0.5, ngram: 0.25 }] }));
  assert.equal(isAnalysisResult({ kind: 'gradients', cell: 'lstm', lags: 2, positions: 3, layers: [{ layer: 1, norms: [1, null] }] }), false, 'a NaN carried as null');
  assert.equal(isAnalysisResult({ kind: 'errors', chars: 1, errors: 1 }), false);
  const state = { comparisons: [], analyses: [{ ...analysis('a'), colouring: 'yes' }], busy: null, activeModel: null };
  assert.equal(isHostToExperiments({ type: 'state', state }), false);
  assert.deepEqual(ONION_COLOURS.map((c) => c.name), [...ERROR_CATEGORIES], "the legend's colours follow the onion's categories, in order");
});
