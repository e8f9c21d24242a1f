/**
 * Tests for the architecture comparison's pure parts (src/analysis/architectureComparison.ts): the
 * grid's run order and names, hidden sizes matched to a parameter count, the table files, and a
 * damaged or foreign manifest refused with a message. The runs themselves: test/cli.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { compareArchitectures, CompareRow, gridRuns, hiddenForParams, tableCsv, tableMarkdown } from '../src/analysis/architectureComparison';
import { parameterCount } from '../src/engine/nn/model';
import { readCorpus } from '../src/engine/data/corpus';
import { cSource, tempDir, writeTree } from './support/fixtures';

const GRID = { models: ['lstm', 'rnn'] as ('lstm' | 'rnn')[], layers: [1, 2], hidden: [32, 64], stepsEach: 1, minutesEach: 0, ngramOrders: [1] };

test('the grid runs kinds, then layers, then sizes; --match-params picks the nearest hidden size per kind and depth', () => {
  assert.deepEqual(gridRuns(GRID, 50).map((r) => r.runId), ['lstm-1x32', 'lstm-1x64', 'lstm-2x32', 'lstm-2x64', 'rnn-1x32', 'rnn-1x64', 'rnn-2x32', 'rnn-2x64']);
  const matched = gridRuns({ ...GRID, matchParams: 100_000 }, 50);
  assert.equal(matched.length, 4);
  for (const r of matched) {
    const n = (h: number) => parameterCount({ kind: r.model, layers: r.layers, hidden: h, embedding: 0, dropout: 0, vocabSize: 50 });
    assert.ok(Math.abs(n(r.hidden) - 100_000) <= Math.abs(n(r.hidden + 1) - 100_000) && Math.abs(n(r.hidden) - 100_000) <= Math.abs(n(r.hidden - 1) - 100_000), r.runId);
  }
  const lstm = matched.find((r) => r.runId.startsWith('lstm-1'))!;
  const rnn = matched.find((r) => r.runId.startsWith('rnn-1'))!;
  assert.ok(rnn.hidden > lstm.hidden, 'an RNN gets more units for the same parameters');
  assert.equal(hiddenForParams('lstm', 1, 50, 1), 16, 'never below the smallest size');
});

test('CSV and Markdown tables: network rows with their figures, n-gram rows with their order', () => {
  const table: CompareRow[] = [
    { kind: 'network', model: 'gru', layers: 2, hidden: 64, params: 1234, steps: 10, chars: 640, trainLoss: 1.5, valLoss: 1.75, charsPerSec: 999.6, seconds: 1, checkpoint: '/x', runId: 'gru-2x64' },
    { kind: 'ngram', order: 5, valLoss: 2.25, size: 77 },
  ];
  assert.equal(tableCsv(table), 'model,layers,hidden,params,steps,chars,train nats/char,validation nats/char,chars/s\ngru,2,64,1234,10,640,1.500,1.750,1000\n5-gram,,,77,,,,2.250,\n');
  assert.match(tableMarkdown(table), /\| gru \| 2 \| 64 \| 1234 \| 10 \| 640 \| 1\.500 \| 1\.750 \| 1000 \|\n\| 5-gram \|/);
});

test('a damaged or foreign compare.json is refused with what to do, and nothing is trained', async () => {
  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(20), 'b.c': cSource(15), 'c.h': cSource(10) });
  const c = await readCorpus(corpus);
  const out = tempDir();
  fs.writeFileSync(path.join(out, 'compare.json'), '{ not json');
  await assert.rejects(compareArchitectures(c, GRID, { outDir: out }), /is not valid JSON: remove it/);
  fs.writeFileSync(path.join(out, 'compare.json'), JSON.stringify({ format: 'something-else' }));
  await assert.rejects(compareArchitectures(c, GRID, { outDir: out }), /is not an LSTM Lab comparison manifest/);
  await assert.rejects(compareArchitectures(c, { ...GRID, stepsEach: 0 }, { outDir: tempDir() }), /needs a budget per run/);
  assert.deepEqual(fs.readdirSync(out), ['compare.json']);
});
