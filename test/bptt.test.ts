/**
 * Tests of the truncated-BPTT batcher (src/engine/data/bptt.ts). The stream used is 0, 1, 2, ... so a
 * symbol's value is its position in the text, which makes contiguity directly checkable.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpttError, TruncatedBptt, sequentialWindows } from '../src/engine/data/bptt';

const positions = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** Stream b, step t of a time-major [T, B] array. */
const at = (a: Int32Array, B: number, t: number, b: number) => a[t * B + b];

test('shapes, stream layout and sizes', () => {
  const bptt = new TruncatedBptt(positions(103), 4, 5); // L = floor(103 / 4) = 25
  assert.equal(bptt.streamLength, 25);
  assert.equal(bptt.batchesPerEpoch, 4); // floor((25 - 1) / 5)
  assert.equal(bptt.charsPerBatch, 20);
  const first = bptt.next();
  assert.equal(first.inputs.length, 20);
  assert.equal(first.targets.length, 20);
  assert.deepEqual(
    Array.from(first.inputs),
    [0, 25, 50, 75, 1, 26, 51, 76, 2, 27, 52, 77, 3, 28, 53, 78, 4, 29, 54, 79],
  );
  assert.equal(first.reset, true);
  assert.equal(first.epoch, 0);
  assert.equal(first.position, 0);
});

test('targets are the inputs shifted by one, and each stream continues where the previous batch ended', () => {
  const B = 3;
  const T = 4;
  const bptt = new TruncatedBptt(positions(200), B, T); // L = 66, 16 batches an epoch
  let previous = bptt.next();
  for (let k = 1; k < bptt.batchesPerEpoch; k++) {
    const batch = bptt.next();
    assert.equal(batch.reset, false);
    assert.equal(batch.position, k * T);
    for (let b = 0; b < B; b++) {
      assert.equal(at(batch.inputs, B, 0, b), at(previous.inputs, B, T - 1, b) + 1);
      assert.equal(at(batch.inputs, B, 0, b), at(previous.targets, B, T - 1, b));
      for (let t = 0; t < T; t++) {
        assert.equal(at(batch.targets, B, t, b), at(batch.inputs, B, t, b) + 1);
        assert.equal(at(batch.inputs, B, t, b), b * 66 + k * T + t);
      }
    }
    previous = batch;
  }
  // The last batch of the epoch stays inside each stream: its last target is at most stream end.
  for (let b = 0; b < B; b++) assert.ok(at(previous.targets, B, T - 1, b) <= b * 66 + 65);
});

test('the streams wrap when fewer than T+1 symbols remain: reset is set and the epoch goes up', () => {
  const bptt = new TruncatedBptt(positions(103), 4, 5);
  const batches = Array.from({ length: 9 }, () => bptt.next());
  assert.deepEqual(
    batches.map((x) => [x.position, x.epoch, x.reset]),
    [
      [0, 0, true],
      [5, 0, false],
      [10, 0, false],
      [15, 0, false],
      [0, 1, true],
      [5, 1, false],
      [10, 1, false],
      [15, 1, false],
      [0, 2, true],
    ],
  );
  assert.deepEqual(batches[4].inputs, batches[0].inputs);
  assert.deepEqual(batches[4].targets, batches[0].targets);
  // Stream 3 at position 15 reads symbols 90..94 and targets 91..95: no symbol after 99 (4 × 25) is used.
  assert.deepEqual(Array.from({ length: 5 }, (_, t) => at(batches[3].targets, 4, t, 3)), [91, 92, 93, 94, 95]);
});

test('restore reproduces exactly the batches that followed the saved state', () => {
  const reference = new TruncatedBptt(positions(103), 4, 5);
  const states = [];
  const batches = [];
  for (let i = 0; i < 10; i++) {
    states.push(reference.state());
    batches.push(reference.next());
  }
  assert.deepEqual(states[0], { position: 0, epoch: 0 });
  assert.deepEqual(states[4], { position: 20, epoch: 0 }); // end of epoch 0: the wrap happens on next()
  assert.deepEqual(states[5], { position: 5, epoch: 1 });
  for (const from of [2, 4, 5, 9]) {
    const resumed = new TruncatedBptt(positions(103), 4, 5);
    resumed.restore(JSON.parse(JSON.stringify(states[from])));
    for (let i = from; i < 10; i++) assert.deepEqual(resumed.next(), batches[i], `resumed at ${from}, batch ${i}`);
  }
});

test('restore refuses a state that does not fit the stream', () => {
  const bptt = new TruncatedBptt(positions(103), 4, 5);
  assert.throws(() => bptt.restore({ position: 26, epoch: 0 }), {
    name: 'BpttError',
    message:
      'Cannot resume the batches: the saved position 26 is beyond the stream length 25. ' +
      'The training text or the batch size changed since the checkpoint; start a new run instead of resuming.',
  });
  assert.throws(() => bptt.restore({ position: -1, epoch: 0 }), BpttError);
  assert.throws(() => bptt.restore({ position: 0.5, epoch: 0 }), BpttError);
  assert.throws(() => bptt.restore({ position: 0, epoch: Number.NaN }), BpttError);
});

test('a stream shorter than one batch is refused with the numbers and what to do', () => {
  assert.throws(() => new TruncatedBptt(positions(39), 4, 9), {
    name: 'BpttError',
    message: 'The training text has 39 characters; one batch needs at least 4·(9+1) = 40. Use a smaller --batch or --seq, or a larger corpus.',
  });
  const exact = new TruncatedBptt(positions(40), 4, 9);
  assert.equal(exact.batchesPerEpoch, 1);
  const only = exact.next();
  assert.equal(at(only.targets, 4, 8, 3), 39);
  assert.equal(exact.next().reset, true);
  assert.throws(() => new TruncatedBptt(positions(40), 0, 9), {
    message: 'The batch size must be a whole number of at least 1; got 0.',
  });
  assert.throws(() => new TruncatedBptt(positions(40), 4, 2.5), {
    message: 'The sequence length must be a whole number of at least 1; got 2.5.',
  });
});

test('sequentialWindows covers every (input, target) pair once, in windows of at most T', () => {
  const windows = [...sequentialWindows(positions(11), 4)];
  assert.deepEqual(
    windows.map((w) => [w.position, Array.from(w.inputs), Array.from(w.targets)]),
    [
      [0, [0, 1, 2, 3], [1, 2, 3, 4]],
      [4, [4, 5, 6, 7], [5, 6, 7, 8]],
      [8, [8, 9], [9, 10]],
    ],
  );
  assert.deepEqual([...sequentialWindows(positions(9), 4)].map((w) => w.inputs.length), [4, 4]);
  assert.equal([...sequentialWindows(positions(1), 4)].length, 0);
  assert.equal([...sequentialWindows(new Int32Array(0), 4)].length, 0);
  assert.throws(() => [...sequentialWindows(positions(5), 0)], {
    message: 'The evaluation window length must be a whole number of at least 1; got 0.',
  });
});
