/**
 * The command line as a user meets it: bad input gets one line on stderr and a non-zero exit (2 for
 * usage and out-of-range values), never a stack trace; a short training run on a fixture folder ends
 * with a checkpoint that eval, sample and trace accept; --json prints the documented fields; a taken
 * --run-id, a run another process trains in and an --out that cannot be made are refused at once;
 * SIGTERM stops a run as Ctrl-C does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCheckpoint } from '../src/engine/training/checkpoint';
import { cSource, tempDir, writeTree } from './support/fixtures';
import { assertCleanError, CLI, runCli } from './support/cli';

const SMALL = ['--hidden', '16', '--seq', '16', '--batch', '4', '--sample-chars', '0'];

/** A fixture corpus and a 2-step run trained on it, made once for the tests that need a checkpoint. */
let trained: { corpus: string; out: string; run: string } | null = null;
function trainedRun(): { corpus: string; out: string; run: string } {
  if (trained) return trained;
  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(20), 'b.c': cSource(15), 'c.h': cSource(10) });
  const out = tempDir();
  const r = runCli(['train', corpus, '--steps', '2', '--eval-every', '2', ...SMALL, '--out', out, '--run-id', 'r', '--json']);
  assert.equal(r.code, 0, r.stderr);
  trained = { corpus, out, run: path.join(out, 'r') };
  return trained;
}



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
  assertCleanError(runCli(['train', tiny, '--layers', '9', '--steps', '1']), 2, /layers must be a whole number from 1 to 4/);
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

test('usage and range errors exit 2: out-of-range sizes, negative temperature, top-k and max-chars, too wide a beam', () => {
  const tiny = tempDir();
  writeTree(tiny, { 'a.c': 'int x;\n' });
  assertCleanError(runCli(['train', tiny, '--hidden', '5', '--steps', '1']), 2, /hidden must be a whole number from 16 to 1024 \(got 5\)/);
  assertCleanError(runCli(['train', tiny, '--workers', '-1']), 2, /--workers must be at least 0 \(got -1\)/);
  assertCleanError(runCli(['sample', 'x.ckpt', '--temperature', '-1']), 2, /--temperature must be at least 0 \(got -1\)/);
  assertCleanError(runCli(['sample', 'x.ckpt', '--top-k', '-3']), 2, /--top-k must be at least 0 \(got -3\)/);
  assertCleanError(runCli(['sample', 'x.ckpt', '--length', '-1']), 2, /--length must be at least 0/);
  assertCleanError(runCli(['eval', 'x.ckpt', tiny, '--max-chars', '-5']), 2, /--max-chars must be at least 0 \(got -5\)/);
  assertCleanError(runCli(['complete-eval', 'x.ckpt', tiny, '--beam', '65']), 2, /--beam must be from 1 to 64 \(got 65\)/);
  assertCleanError(runCli(['train', '--overwrite']), 2, /--overwrite needs --run-id/);
  assertCleanError(runCli(['train', '--run-id', '../elsewhere']), 2, /is not a folder name/);
  const help = runCli(['train', '--help']).stdout;
  assert.match(help, /--minutes X .*0 = no time limit/);
  assert.match(help, /--overwrite /);
  assert.match(runCli(['complete-eval', '--help']).stdout, /--beam N .*\(1–64\)/);
});

test('--run-id naming an existing run is refused (exit 2) unless --resume or --overwrite is given', () => {
  const { corpus, out, run } = trainedRun();
  const before = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8');
  assertCleanError(runCli(['train', corpus, '--steps', '2', ...SMALL, '--out', out, '--run-id', 'r']), 2, /--run-id r: the run folder .* already exists; give --resume .* --overwrite/);
  assert.equal(fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8'), before, 'untouched');
  assertCleanError(runCli(['train', '--resume', run, '--overwrite']), 2, /cannot go with --resume/);
  const again = runCli(['train', corpus, '--steps', '4', '--eval-every', '4', ...SMALL, '--out', out, '--run-id', 'r2', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const over = runCli(['train', corpus, '--steps', '2', '--eval-every', '2', ...SMALL, '--out', out, '--run-id', 'r2', '--overwrite', '--json']);
  assert.equal(over.code, 0, over.stderr);
  const events = over.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.some((e) => e.event === 'note' && /again from scratch/.test(e.message)));
  assert.deepEqual(fs.readFileSync(path.join(out, 'r2', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), [2]);
});

test('--out and export to /proc/x fail at once with a clear message', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  const { corpus, run } = trainedRun();
  const started = Date.now();
  assertCleanError(runCli(['train', corpus, '--steps', '1', '--out', '/proc/x']), 1, /Cannot write to \/proc\/x: \/proc is a virtual filesystem/);
  assertCleanError(runCli(['export', path.join(run, 'best.ckpt'), '/proc/x']), 1, /Cannot write to \/proc\/x/);
  assert.ok(Date.now() - started < 60_000, 'at once, not spinning');
});

test('SIGTERM stops training like Ctrl-C; meanwhile a second train --resume of the run is refused, naming the holder', async () => {
  const { corpus } = trainedRun();
  const out = tempDir();
  const run = path.join(out, 'long');
  const child = spawn(process.execPath, [CLI, 'train', corpus, '--steps', '1000000', '--eval-every', '2', ...SMALL, '--out', out, '--run-id', 'long', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const guard = setTimeout(() => child.kill('SIGKILL'), 180_000); // never left running
  let stdout = '', stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (/"event":"checkpoint"/.test(stdout)) resolve();
    });
    child.on('exit', () => reject(new Error(`training ended before its first checkpoint:\n${stderr}`)));
  });
  const second = runCli(['train', '--resume', run, '--steps', '2000000']);
  assertCleanError(second, 1, new RegExp(`in use: process ${child.pid} on ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  child.kill('SIGTERM');
  const code = await exited;
  clearTimeout(guard);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /SIGTERM: stopping after this step/);
  const events = stdout.trim().split('\n').map((l) => JSON.parse(l)); // --json stays JSON lines
  const done = events[events.length - 1];
  assert.equal(done.event, 'done');
  assert.equal(done.stopReason, 'cancelled');
  const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
  assert.equal(info.status, 'cancelled');
  const last = await loadCheckpoint(path.join(run, 'last.ckpt'));
  assert.equal(last.header.step, done.step);
  assert.ok(!fs.existsSync(path.join(run, 'train.lock')), 'the lock is released');
});

test('trace on a long file is bounded: --max-chars caps it with a note; a file longer than one chunk is traced in chunks', () => {
  const { run } = trainedRun();
  const dir = tempDir();
  const long = path.join(dir, 'long.c');
  const text = cSource(400); // ~70,000 characters: several chunks of this model's trace
  fs.writeFileSync(long, text);
  const capped = runCli(['trace', path.join(run, 'best.ckpt'), long, '--json', '--max-chars', '500']);
  assert.equal(capped.code, 0, capped.stderr);
  assert.match(capped.stderr, /is longer than 500 characters: tracing its first 500 \(give a larger --max-chars, or 0 for all of it\)/);
  const lines = capped.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].event, 'trace');
  assert.equal(lines[0].length, 500);
  assert.equal(lines[0].truncated, true);
  assert.equal(lines.length - 1, 500);
  assert.equal(lines[500].t, 499);
  const whole = runCli(['trace', path.join(run, 'best.ckpt'), long, '--max-chars', '0']);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(whole.stderr, '');
  assert.match(whole.stdout, new RegExp(`^# ${Array.from(text).length} characters traced`));
  assert.ok(whole.stdout.includes(text.slice(-200)), 'all of it, in order');
  assertCleanError(runCli(['trace', path.join(run, 'best.ckpt'), long, '--max-chars', '-1']), 2, /--max-chars must be at least 0/);
});

test('gradients --json: one object with a norm per lag and layer (and the LSTM cell); a too-short file is a clean error', () => {
  const { corpus, run } = trainedRun();
  const ckpt = path.join(run, 'best.ckpt');
  const r = runCli(['gradients', ckpt, path.join(corpus, 'a.c'), '--lags', '16', '--positions', '3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const g = JSON.parse(r.stdout);
  assert.equal(g.event, 'gradients');
  assert.equal(g.lags, 16);
  assert.equal(g.positions, 3);
  assert.deepEqual(g.layers.map((l: { layer: number }) => l.layer), [1, 2]);
  for (const l of g.layers) {
    assert.equal(l.norms.length, 16);
    assert.equal(l.cellNorms.length, 16);
    assert.ok(l.norms.every((x: number) => Number.isFinite(x) && x >= 0));
  }
  const dir = tempDir();
  writeTree(dir, { 'tiny.c': 'int x;\n' });
  assertCleanError(runCli(['gradients', ckpt, path.join(dir, 'tiny.c')]), 1, /too short for 64 lags/);
});

test('errors --json: the categories in the paper order sum to the errors; --per-char lists them; bad orders exit 2', () => {
  const { corpus, run } = trainedRun();
  const ckpt = path.join(run, 'best.ckpt');
  const r = runCli(['errors', ckpt, corpus, '--oracle-orders', '1,3', '--per-char', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.event, 'errors');
  assert.deepEqual(e.categories.map((c: { name: string }) => c.name), ['n-gram', 'dynamic memory', 'rare words', 'word model', 'punctuation', 'boost']);
  assert.equal(e.categories.reduce((s: number, c: { errors: number }) => s + c.errors, 0), e.errors);
  assert.ok(e.chars > 0 && e.errors > 0 && e.errors <= e.chars, 'a 2-step model gets most characters wrong');
  assert.deepEqual(e.oracleOrders, [1, 3]);
  assert.equal(e.files.reduce((s: number, f: { errors: unknown[] }) => s + f.errors.length, 0), e.errors);
  for (const f of e.files) for (const [i, c] of f.errors) assert.ok(Number.isInteger(i) && c >= 0 && c < 6);
  assertCleanError(runCli(['errors', ckpt, corpus, '--oracle-orders', '0,25']), 2, /--oracle-orders must be a comma-separated list of orders from 1 to 20/);
});

test('brackets --json: bins of closers by distance with both models\' mean probability', () => {
  const { corpus, run } = trainedRun();
  const r = runCli(['brackets', path.join(run, 'best.ckpt'), corpus, '--ngram-order', '3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  assert.equal(b.event, 'brackets');
  assert.ok(b.closers > 0);
  assert.equal(b.bins.reduce((s: number, x: { count: number }) => s + x.count, 0), b.closers);
  for (const x of b.bins) {
    assert.equal(x.distance.length, 2);
    assert.ok(x.network > 0 && x.network < 1 && x.ngram > 0 && x.ngram < 1);
  }
  assert.equal(b.ngramOrder, 3);
});

test('compare --json: a run per grid cell and a line per n-gram order; the same command again skips what is done; another grid in the folder is refused', () => {
  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(20), 'b.c': cSource(15), 'c.h': cSource(10) });
  const out = path.join(tempDir(), 'cmp');
  const args = ['compare', corpus, '--models', 'lstm,rnn', '--layers', '1', '--hidden', '16', '--steps-each', '2', '--seq', '16', '--batch', '4', '--eval-every', '2', '--ngram-orders', '1,3', '--out', out, '--json'];
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.event), ['compare-run', 'compare-run', 'compare-ngram', 'compare-ngram', 'compare-done']);
  for (const e of events.slice(0, 2)) {
    for (const k of ['model', 'layers', 'hidden', 'params', 'steps', 'chars', 'trainLoss', 'valLoss', 'checkpoint']) assert.ok(k in e, k);
    assert.equal(e.steps, 2);
    assert.ok(fs.existsSync(e.checkpoint));
    assert.equal(e.skipped, false);
  }
  assert.deepEqual(events.slice(0, 2).map((e) => e.model), ['lstm', 'rnn']);
  assert.ok(events[0].params > events[1].params, 'an LSTM has four times the recurrent weights of an RNN');
  assert.deepEqual(events.slice(2, 4).map((e) => e.order), [1, 3]);
  assert.ok(events[3].valLoss < events[2].valLoss, 'a 3-gram beats a unigram');
  assert.equal(events[4].table.length, 4);
  const csv = fs.readFileSync(path.join(out, 'compare.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'model,layers,hidden,params,steps,chars,train nats/char,validation nats/char,chars/s');
  assert.equal(csv.length, 5);
  assert.match(csv[3], /^1-gram,/);
  assert.match(fs.readFileSync(path.join(out, 'compare.md'), 'utf8'), /^\| model \| layers \|/);

  const again = runCli(args);
  assert.equal(again.code, 0, again.stderr);
  const second = again.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(second.filter((e) => e.event === 'compare-run').map((e) => e.skipped), [true, true]);
  assert.deepEqual(second[second.length - 1].table, events[4].table, 'nothing trained again, the same table');

  const other = runCli([...args.slice(0, 3), 'gru', ...args.slice(4)]);
  assertCleanError(other, 1, /holds another comparison/);
  assertCleanError(runCli(['compare', corpus, '--models', 'lstm,transformer', '--steps-each', '1']), 2, /--models takes lstm, gru and rnn/);
  assertCleanError(runCli(['compare', corpus, '--layers', '1,9', '--steps-each', '1']), 2, /--layers must be a comma-separated list of whole numbers from 1 to 4/);
  assertCleanError(runCli(['compare', corpus, '--steps-each', '1', '--minutes-each', '1']), 2, /not both/);
});

test('cells over time: train records one per evaluation; cells-over-time prints them (--json), refuses a folder with no run or no records, and computes them from checkpoints', () => {
  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(20), 'b.c': cSource(15), 'c.h': cSource(10) });
  const out = tempDir();
  const r = runCli(['train', corpus, '--steps', '6', '--eval-every', '3', ...SMALL, '--out', out, '--run-id', 'with', '--json', '--cells-chars', '2000', '--cells-share', '1']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.filter((e) => e.event === 'cells').map((e) => [e.step, e.record.step, e.record.sampleChars]), [[3, 3, 2000], [6, 6, 2000]]);

  const run = path.join(out, 'with');
  const c = runCli(['cells-over-time', run, '--json']);
  assert.equal(c.code, 0, c.stderr);
  const lines = c.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'one line');
  const j = JSON.parse(lines[0]);
  assert.equal(j.event, 'cells-over-time');
  assert.equal(j.run, run);
  assert.equal(j.source, 'cells.jsonl');
  assert.deepEqual(j.records.map((x: { step: number }) => x.step), [3, 6]);
  assert.ok(j.concepts.includes('in-string') && j.concepts.includes('in-comment') && j.concepts.includes('column'), j.concepts.join(','));
  assert.deepEqual(j.concepts, j.records[0].concepts.map((x: { concept: string }) => x.concept));
  assert.equal(j.titles['in-comment'], 'Inside a comment');
  assert.equal(j.threshold, 0.9);
  assert.deepEqual(Object.keys(j.firstReaching), j.concepts);
  for (const rec of j.records) {
    for (const k of ['step', 'chars', 'seconds', 'sampleChars', 'sampleFiles', 'ms']) assert.equal(typeof rec[k], 'number', k);
    for (const b of rec.concepts) {
      assert.ok(b.score >= 0 && b.score <= 1 && [1, 2].includes(b.layer) && b.cell >= 0 && b.cell < 16 && b.quantity === 'tanh(c)' && Math.abs(b.direction) === 1, JSON.stringify(b));
      assert.equal(b.scoreKind, b.concept.startsWith('in-') ? 'auc' : 'correlation');
    }
  }
  const table = runCli(['cells-over-time', run]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^\s+step\s+in-string\s+in-comment/m);
  assert.match(table.stdout, /^\s+6\s+\d\.\d{3}\s/m);
  assert.match(table.stdout, /in-comment\s+Inside a comment \(AUC\); first ≥ 0\.9: (never|step \d+)/);

  // A run trained without them: a clear error with the way out, which works.
  const old = runCli(['train', corpus, '--steps', '4', '--eval-every', '2', ...SMALL, '--out', out, '--run-id', 'without', '--json', '--cells-chars', '0']);
  assert.equal(old.code, 0, old.stderr);
  assert.ok(!old.stdout.includes('"event":"cells"'));
  assert.ok(!fs.existsSync(path.join(out, 'without', 'cells.jsonl')));
  assertCleanError(runCli(['cells-over-time', path.join(out, 'without')]), 1, /has no cells over time: it has no cells\.jsonl .*--from-checkpoints/);
  const computed = runCli(['cells-over-time', path.join(out, 'without'), '--from-checkpoints', '--cells-chars', '1000', '--json']);
  assert.equal(computed.code, 0, computed.stderr);
  const k = JSON.parse(computed.stdout);
  assert.equal(k.source, 'checkpoints');
  assert.equal(k.records[k.records.length - 1].step, 4);
  assert.equal(k.records[0].sampleChars, 1000);
  assert.ok(!fs.existsSync(path.join(out, 'without', 'cells.jsonl')), 'computed records are not saved');

  // Not a run folder, not there, a file, no argument.
  assertCleanError(runCli(['cells-over-time', corpus]), 1, /is not a run folder: it has no run\.json/);
  assertCleanError(runCli(['cells-over-time', path.join(out, 'nope')]), 1, /There is no run folder .*nope/);
  assertCleanError(runCli(['cells-over-time', path.join(corpus, 'a.c')]), 1, /is not a run folder but a file/);
  assertCleanError(runCli(['cells-over-time']), 2, /missing RUN/);
  assertCleanError(runCli(['cells-over-time', run, '--threshold', '2']), 2, /--threshold must be from 0 to 1/);
});
