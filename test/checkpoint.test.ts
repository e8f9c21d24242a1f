/**
 * Checkpoints: round trip, resume equivalence (a run stopped at step N and resumed matches the
 * uninterrupted run), refusal of corrupt, truncated, foreign or mismatched checkpoints (a changed
 * header included), version 1 files still loading, and atomic writes that leave the old file intact
 * when a write fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { CHECKPOINT_VERSION, CheckpointError, decodeCheckpoint, loadCheckpoint, readCheckpointHeader, writeFileAtomic } from '../src/engine/training/checkpoint';
import { corpusFromText } from '../src/engine/data/corpus';
import { train, TrainEvent, TrainOptions } from '../src/engine/training/train';
import { cSource, tempDir } from './support/fixtures';

const corpus = () => corpusFromText('fixture.c', cSource(40), 0.1);
const options = (outDir: string, runId: string, steps: number, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  outDir,
  runId,
  model: { kind: 'lstm', layers: 2, hidden: 16, dropout: 0.1 },
  train: { seqLength: 16, batchSize: 4, steps, evalEvery: 5, evalChars: 500, sampleChars: 0, seed: 3 },
  ...extra,
});

test('a run stopped and resumed matches the uninterrupted run, learning-rate schedule included', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const lr = (events: TrainEvent[]) => events.flatMap((e) => (e.event === 'eval' ? [e.learningRate] : []));
  const fullEvents: TrainEvent[] = [];
  const full = await train(corpus(), options(dir, 'full', 20, { onEvent: (e) => fullEvents.push(e) }));
  // The same 20-step run, stopped after step 10 (as Ctrl-C would), then resumed with nothing given:
  // it keeps its budget, and so its schedule.
  const stop = new AbortController();
  const splitEvents: TrainEvent[] = [];
  const first = await train(corpus(), options(dir, 'split', 20, {
    signal: stop.signal,
    onEvent: (e) => {
      splitEvents.push(e);
      if (e.event === 'eval' && e.step === 10) stop.abort();
    },
  }));
  assert.equal(first.step, 10);
  assert.equal(first.stopReason, 'cancelled');
  const resumed = await train(corpus(), { outDir: dir, resume: path.join(dir, 'split'), onEvent: (e) => splitEvents.push(e) });
  assert.deepEqual(lr(splitEvents), lr(fullEvents));
  assert.ok(lr(fullEvents)[3] < lr(fullEvents)[0], 'the default schedule decays over the budget');
  assert.equal(resumed.step, 20);
  const a = await loadCheckpoint(path.join(dir, 'full', 'last.ckpt'));
  const b = await loadCheckpoint(path.join(dir, 'split', 'last.ckpt'));
  assert.equal(a.header.step, 20);
  assert.equal(b.header.step, 20);
  assert.deepEqual(b.header.data, a.header.data);
  for (const [k, v] of a.params) {
    const w = b.params.get(k)!;
    let maxDiff = 0;
    for (let i = 0; i < v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(v[i] - w[i]));
    assert.ok(maxDiff < 1e-5, `${k} differs by ${maxDiff}`);
  }
  assert.ok(Math.abs(full.bestValLoss! - resumed.bestValLoss!) < 1e-5);
  const lines = fs.readFileSync(path.join(dir, 'split', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(lines, [5, 10, 15, 20]);
});

test('checkpoint round trip keeps configuration, vocabulary, weights and optimiser state', async () => {
  await initBackend('auto');
  const dir = tempDir();
  await train(corpus(), options(dir, 'rt', 5));
  const c = await loadCheckpoint(path.join(dir, 'rt'), 'last');
  assert.equal(c.header.model.kind, 'lstm');
  assert.equal(c.header.model.hidden, 16);
  assert.equal(c.header.step, 5);
  assert.ok(c.vocabulary.size > 10);
  assert.equal(c.vocabulary.size, c.header.model.vocabSize);
  assert.ok(c.optimizer && c.optimizer.t === 5 && c.optimizer.slots.size === c.params.size);
  assert.ok(c.state && c.state.h.length === 2);
  const again = decodeCheckpoint(fs.readFileSync(c.path), 'again');
  assert.deepEqual(Array.from(again.params.get('l1.wh')!), Array.from(c.params.get('l1.wh')!));  // The header alone, read without the weights, is the same header.
  assert.deepEqual(await readCheckpointHeader(path.join(dir, 'rt'), 'last'), c.header);
  const foreign = path.join(dir, 'foreign.ckpt');
  fs.writeFileSync(foreign, '{"hello": "world"}');
  await assert.rejects(readCheckpointHeader(foreign), (e: Error) => e instanceof CheckpointError && /not an LSTM Lab checkpoint/.test(e.message));
  const cut = path.join(dir, 'cut.ckpt');
  fs.writeFileSync(cut, fs.readFileSync(c.path).subarray(0, 40));
  await assert.rejects(readCheckpointHeader(cut), (e: Error) => e instanceof CheckpointError && /truncated/.test(e.message));
});

test('corrupt, truncated, foreign and mismatched checkpoints are refused with a reason', async () => {
  await initBackend('auto');
  const dir = tempDir();
  await train(corpus(), options(dir, 'bad', 5));
  const good = fs.readFileSync(path.join(dir, 'bad', 'last.ckpt'));
  const expectRefusal = (bytes: Buffer, pattern: RegExp) => {
    assert.throws(() => decodeCheckpoint(bytes, 'x.ckpt'), (e: Error) => e instanceof CheckpointError && pattern.test(e.message));
  };
  expectRefusal(Buffer.from('{"hello": "world"}'), /not an LSTM Lab checkpoint/);
  expectRefusal(good.subarray(0, good.length - 100), /truncated/);
  expectRefusal(good.subarray(0, 40), /truncated|corrupt/);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 7] ^= 0xff;
  expectRefusal(flipped, /checksum/);
  // a header whose vocabulary does not match the model
  const n = good.readUInt32LE(8);
  const header = JSON.parse(good.toString('utf8', 12, 12 + n));
  header.model.vocabSize += 1;
  const hb = Buffer.from(JSON.stringify(header));
  const rebuilt = Buffer.concat([good.subarray(0, 8), Buffer.alloc(4), hb]);
  rebuilt.writeUInt32LE(hb.length, 8);
  expectRefusal(rebuilt, /vocabulary has \d+ symbols but the model expects/);
  await assert.rejects(loadCheckpoint(path.join(dir, 'missing.ckpt')), /No checkpoint at/);
  // resuming on unrelated text is refused
  await assert.rejects(
    train(corpusFromText('greek.txt', 'αβγδεζηθικλμνξοπρστυφχψω '.repeat(200), 0.1), { outDir: dir, resume: path.join(dir, 'bad'), train: { steps: 6 } }),
    /vocabulary covers only/,
  );
});

test('an atomic write that fails leaves the previous file intact and no temp file behind', async () => {
  const dir = tempDir();
  const target = path.join(dir, 'x.ckpt');
  await writeFileAtomic(target, 'old');
  const bad = { [Symbol.iterator]: undefined } as unknown as string; // not writable data
  await assert.rejects(writeFileAtomic(target, bad));
  assert.equal(fs.readFileSync(target, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(dir), ['x.ckpt']);
});

/** The same checkpoint as version 1 wrote it: the header's version 1, no final whole-file hash. */
function asVersion1(v2: Buffer): Buffer {
  const n = v2.readUInt32LE(8);
  const header = JSON.parse(v2.toString('utf8', 12, 12 + n));
  const data = v2.subarray(12 + n + ((4 - ((12 + n) % 4)) % 4), v2.length - 4);
  header.version = 1;
  const hb = Buffer.from(JSON.stringify(header));
  const pad = (4 - ((12 + hb.length) % 4)) % 4;
  const start = Buffer.alloc(12);
  start.write('LSTMLAB1', 0, 'ascii');
  start.writeUInt32LE(hb.length, 8);
  return Buffer.concat([start, hb, Buffer.alloc(pad), data]);
}

test('the checksum covers the header (version 2); version 1 checkpoints still load, with a note, and resume to version 2', async () => {
  await initBackend('auto');
  const dir = tempDir();
  await train(corpus(), options(dir, 'v', 5));
  const file = path.join(dir, 'v', 'last.ckpt');
  const good = fs.readFileSync(file);
  const loaded = decodeCheckpoint(good, 'v2.ckpt');
  assert.equal(loaded.header.version, CHECKPOINT_VERSION);
  assert.equal(loaded.note, undefined);
  // A header changed in a way that still parses and validates: caught by the checksum.
  const n = good.readUInt32LE(8);
  const text = good.toString('utf8', 12, 12 + n);
  assert.ok(text.includes('"step":5,'));
  const changed = Buffer.from(good);
  changed.write(text.replace('"step":5,', '"step":6,'), 12, 'utf8');
  assert.throws(() => decodeCheckpoint(changed, 'x.ckpt'), (e: Error) => e instanceof CheckpointError && /checksum does not match \(header or data changed\)/.test(e.message));
  // Version 1: loads, the same weights, with a note; a resume from it writes version 2.
  const old = asVersion1(good);
  const v1 = decodeCheckpoint(old, 'v1.ckpt');
  assert.equal(v1.header.version, 1);
  assert.match(v1.note!, /version 1 checkpoint, whose header no checksum covers/);
  assert.deepEqual(Array.from(v1.params.get('l1.wh')!), Array.from(loaded.params.get('l1.wh')!));
  fs.writeFileSync(file, old);
  const events: TrainEvent[] = [];
  await train(corpus(), { outDir: dir, resume: path.join(dir, 'v'), train: { steps: 10 }, onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.event === 'note' && /version 1 checkpoint/.test(e.message)));
  assert.equal((await readCheckpointHeader(file)).version, CHECKPOINT_VERSION);
});
