/**
 * The command line as a user meets it: bad input gets one line on stderr and a non-zero exit, never a
 * stack trace; a short training run on a fixture folder ends with a checkpoint that eval, sample and
 * trace accept; --json prints the documented fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { cSource, tempDir, writeTree } from './support/fixtures';
import { assertCleanError, runCli } from './support/cli';



test('usage errors: unknown command, unknown flag, bad number, missing argument', () => {
  assertCleanError(runCli(['fly']), 2, /unknown command "fly"/);
  assertCleanError(runCli(['train', '--wings', '2']), 2, /unknown option --wings/);
  assertCleanError(runCli(['train', '--layers', 'two']), 2, /--layers needs a number/);
  assertCleanError(runCli(['train', '--layers', '1.5']), 2, /--layers needs a whole number/);
  assertCleanError(runCli(['eval']), 2, /missing CHECKPOINT/);
  assertCleanError(runCli(['train', '--model', 'transformer']), 2, /--model must be one of lstm, gru, rnn/);
});

test('bad input: empty folder, binary folder, too-short corpus, bad config, missing checkpoint', () => {
  const empty = tempDir();
  assertCleanError(runCli(['train', empty, '--steps', '1']), 1, /No text files to train on/);
  const bin = tempDir();
  writeTree(bin, { 'a.c': Buffer.from([0, 1, 2, 3, 0, 255]), 'b.h': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]) });
  assertCleanError(runCli(['train', bin, '--steps', '1']), 1, /binary: 2/);
  const tiny = tempDir();
  writeTree(tiny, { 'a.c': 'int x;\n', 'b.c': 'int y;\n' });
  assertCleanError(runCli(['train', tiny, '--steps', '1']), 1, /one batch needs at least/);
  assertCleanError(runCli(['train', tiny, '--layers', '9', '--steps', '1']), 1, /layers must be a whole number from 1 to 4/);
  assertCleanError(runCli(['sample', path.join(empty, 'nope.ckpt')]), 1, /No checkpoint at/);
  const foreign = path.join(empty, 'foreign.ckpt');
  fs.writeFileSync(foreign, 'PK\u0003\u0004 definitely a zip file');
  assertCleanError(runCli(['eval', foreign, tiny]), 1, /not an LSTM Lab checkpoint/);
});

test('train --json, then eval, sample and trace on the checkpoint', () => {
  const corpus = tempDir();
  writeTree(corpus, { 'src/a.c': cSource(20), 'src/b.c': cSource(15), 'include/c.h': cSource(10), 'build/skip.c': cSource(50), 'img.png': Buffer.from([137, 80, 78, 71, 0, 0]) });
  const out = tempDir();
  const r = runCli(['train', corpus, '--steps', '12', '--eval-every', '6', '--hidden', '16', '--seq', '16', '--batch', '4', '--out', out, '--json', '--run-id', 'r1']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const evals = events.filter((e) => e.event === 'eval');
  assert.deepEqual(evals.map((e) => e.step), [6, 12]);
  for (const e of evals) {
    for (const k of ['step', 'chars', 'trainLoss', 'valLoss', 'valBitsPerChar', 'valPerplexity', 'charsPerSec']) assert.equal(typeof e[k], 'number', k);
    assert.ok(Math.abs(e.valBitsPerChar - e.valLoss / Math.LN2) < 1e-9);
    assert.ok(Math.abs(e.valPerplexity - Math.exp(e.valLoss)) < 1e-6);
  }
  const done = events[events.length - 1];
  assert.equal(done.event, 'done');
  assert.ok(fs.existsSync(done.checkpoint));
  assert.equal(typeof done.bestValLoss, 'number');
  assert.match(done.backend, /^(native|node|wasm|cpu)$/);
  const start = events.find((e) => e.event === 'start');
  assert.equal(start.corpus.trainFiles + start.corpus.validationFiles, 3, 'build/ and the binary are skipped');

  const ev = runCli(['eval', done.checkpoint, path.join(corpus, 'src', 'a.c'), '--json']);
  assert.equal(ev.code, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  assert.ok(m.natsPerChar > 0 && m.natsPerChar < 6);
  assert.ok(Math.abs(m.bitsPerChar - m.natsPerChar / Math.LN2) < 1e-9);
  assert.equal(m.chars, Array.from(cSource(20)).length - 1 + (cSource(20).endsWith('\n') ? 0 : 1));

  const s = runCli(['sample', done.checkpoint, '--prime', 'static ', '--length', '50', '--seed', '3']);
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith('static '));
  assert.equal(Array.from(s.stdout.trimEnd()).length >= 7, true);
  const s2 = runCli(['sample', done.checkpoint, '--prime', 'static ', '--length', '50', '--seed', '3']);
  assert.equal(s2.stdout, s.stdout, 'seeded sampling is reproducible');

  const file = path.join(corpus, 'include', 'c.h');
  const tr = runCli(['trace', done.checkpoint, file, '--json']);
  assert.equal(tr.code, 0, tr.stderr);
  const lines = tr.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].event, 'trace');
  assert.equal(lines.length - 1, Array.from(fs.readFileSync(file, 'utf8')).length);
  assert.equal(lines[1].layers.length, 2);
  assert.equal(lines[1].layers[0].c.length, 16);
  assert.deepEqual(Object.keys(lines[1].layers[0].gates), ['i', 'f', 'g', 'o']);
  assert.equal(lines[1].top.length, 5);
});

test('train --resume without a FOLDER continues on the corpus the run recorded; a vanished corpus is a clean error', () => {
  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(20), 'b.c': cSource(15), 'c.h': cSource(10) });
  const out = tempDir();
  const first = runCli(['train', corpus, '--steps', '4', '--eval-every', '4', '--hidden', '16', '--seq', '16', '--batch', '4', '--out', out, '--run-id', 'r', '--json', '--sample-chars', '0']);
  assert.equal(first.code, 0, first.stderr);
  const run = path.join(out, 'r');
  // Run from another folder: the default corpus (LSTM Lab's sources) must not be read instead.
  const again = runCli(['train', '--resume', run, '--steps', '8', '--eval-every', '4', '--json', '--sample-chars', '0'], tempDir());
  assert.equal(again.code, 0, again.stderr);
  const events = again.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.find((e) => e.event === 'start').corpus.root, corpus);
  assert.deepEqual(events.filter((e) => e.event === 'eval').map((e) => e.step), [8]);

  fs.rmSync(corpus, { recursive: true, force: true });
  assertCleanError(runCli(['train', '--resume', run, '--steps', '12']), 1, /is not there any more/);
});
