/**
 * Data-parallel training over worker threads (src/engine/training/dataParallel.ts): the weighted sum of the
 * workers' gradients equals the single-process full-batch gradient, the carried state and the
 * parameters after several steps equal those of single-process training (LocalStepper's step, stepper.ts), dropout
 * masks are the same, uneven splits work, checkpoint state round-trips, worker errors surface as
 * errors, and dispose ends the workers (the test process must exit on its own).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { BackendName, initBackend, tf, tidy } from '../src/engine/runtime/backend';
import { TruncatedBptt } from '../src/engine/data/bptt';
import { ModelConfig, OptimizerKind } from '../src/engine/nn/config';
import { DataParallelError, DataParallelStepper, streamSlices } from '../src/engine/training/dataParallel';
import { CharRnn, disposeState, initialParams, keepState, RecurrentState, stateToArrays } from '../src/engine/nn/model';
import { nativeStatus } from '../src/engine/runtime/native';
import { clipScale, globalNorm, Optimizer, OptimizerSnapshot } from '../src/engine/nn/optimizer';
import { Random } from '../src/engine/nn/random';
import { dropoutDraw } from '../src/engine/nn/dropout';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { cSource } from './support/fixtures';

const WORKER = path.join(__dirname, '..', 'src', 'engine', 'training', 'dataParallelWorker.js');
const text = cSource(30);
const vocab = Vocabulary.fromText(text, 256);
const ids = vocab.encode(text);

const modelConfig = (extra: Partial<ModelConfig> = {}): ModelConfig => ({ kind: 'lstm', layers: 2, hidden: 24, embedding: 0, dropout: 0, vocabSize: vocab.size, ...extra });

/** ‖a − b‖∞ / ‖b‖∞ */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

/** Single-process training, exactly LocalStepper's step (stepper.ts). */
class Reference {
  model: CharRnn;
  optimizer: Optimizer;
  state: RecurrentState;
  constructor(
    cfg: ModelConfig,
    seed: number,
    readonly B: number,
    readonly T: number,
    readonly clip: number,
    kind: OptimizerKind = 'adam',
    readonly rng = new Random(seed),
  ) {
    this.optimizer = new Optimizer(kind);
    this.model = new CharRnn(cfg, initialParams(cfg, seed));
    this.state = this.model.zeroState(B);
  }
  step(batch: ReturnType<TruncatedBptt['next']>, lr: number) {
    if (batch.reset) {
      disposeState(this.state);
      this.state = this.model.zeroState(this.B);
    }
    const prev = this.state;
    const draw = this.model.config.dropout > 0 ? dropoutDraw(this.rng, this.B) : undefined;
    const out = tidy(() => {
      const r = this.model.run(batch.inputs, batch.targets, this.T, this.B, prev, true, draw);
      const norm = globalNorm(r.grads!);
      const loss = r.loss.dataSync()[0];
      const grads = new Map(Array.from(r.grads!, ([k, g]) => [k, Float32Array.from(g.dataSync() as Float32Array)]));
      const next = this.optimizer.apply(this.model.params, r.grads!, lr, clipScale(norm, this.clip));
      return { loss, norm, grads, next, state: keepState(r.state) };
    });
    this.model.setParams(out.next);
    disposeState(prev);
    this.state = out.state;
    return out;
  }
  dispose() {
    disposeState(this.state);
    this.optimizer.dispose();
    for (const t of this.model.params.values()) t.dispose();
  }
}

function assertSnapshotsClose(got: OptimizerSnapshot, want: OptimizerSnapshot, tol: number) {
  assert.equal(got.kind, want.kind);
  assert.equal(got.t, want.t);
  assert.deepEqual([...got.slots.keys()].sort(), [...want.slots.keys()].sort());
  for (const [k, arrays] of want.slots) {
    arrays.forEach((a, i) => assert.ok(relDiff(got.slots.get(k)![i], a) <= tol, `optimiser slot ${i} of ${k} differs by ${relDiff(got.slots.get(k)![i], a)}`));
  }
}

async function equivalence(backend: BackendName, cfg: ModelConfig, B: number, W: number, steps: number, kind: OptimizerKind = 'adam', tol = 1e-5, clip = 1) {
  await initBackend(backend);
  const T = 12, seed = 7, lr = 0.01;
  const ref = new Reference(cfg, seed, B, T, clip, kind);
  const model = new CharRnn(cfg, initialParams(cfg, seed));
  const rng = new Random(seed);
  const stepper = await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: W, backend, gradClip: clip, rng, optimizer: kind, workerScript: WORKER });
  try {
    assert.match(stepper.description, new RegExp(`^${backend === 'native' ? 'native' : backend}.* × ${W} workers`));
    const batchesA = new TruncatedBptt(ids, B, T), batchesB = new TruncatedBptt(ids, B, T);
    for (let s = 0; s < steps; s++) {
      const a = batchesA.next(), b = batchesB.next();
      const want = ref.step(a, lr);
      const got = await stepper.step(b, lr);
      assert.ok(got.ok);
      assert.ok(Math.abs(got.loss - want.loss) <= tol * Math.abs(want.loss), `step ${s}: loss ${got.loss} vs ${want.loss}`);
      assert.ok(Math.abs(got.gradNorm - want.norm) <= 1e-4 * want.norm, `step ${s}: norm ${got.gradNorm} vs ${want.norm}`);
      if (s === 0) {
        // gradients() is the gradient the update used: clipped, when it was
        const g = stepper.gradients(), scale = clipScale(want.norm, clip);
        for (const [k, raw] of want.grads) {
          const v = raw.map((x) => x * scale);
          assert.ok(relDiff(g.get(k)!, v) <= tol, `${backend}: gradient ${k} differs by ${relDiff(g.get(k)!, v)} (relative)`);
        }
      }
    }
    // carried state after several steps, and the parameters
    const wantState = stateToArrays(ref.state), gotState = stepper.stateArrays();
    for (let k = 0; k < cfg.layers; k++) {
      assert.ok(relDiff(gotState.h[k], wantState.h[k]) <= 1e-4, `h of layer ${k + 1} differs by ${relDiff(gotState.h[k], wantState.h[k])}`);
      if (cfg.kind === 'lstm') assert.ok(relDiff(gotState.c[k]!, wantState.c[k]!) <= 1e-4, `c of layer ${k + 1} differs`);
      else assert.equal(gotState.c[k], null);
    }
    const wantParams = ref.model.values(), gotParams = model.values();
    for (const [k, v] of wantParams) assert.ok(relDiff(gotParams.get(k)!, v) <= 1e-4, `parameter ${k} differs by ${relDiff(gotParams.get(k)!, v)}`);
    // the run generator advanced exactly as in the single process (one dropout key a step)
    assert.equal(rng.state, ref.rng.state);
    assertSnapshotsClose(stepper.optimizerSnapshot(), ref.optimizer.snapshot(), 1e-4);
  } finally {
    await stepper.dispose();
    ref.dispose();
    for (const t of model.params.values()) t.dispose();
  }
}

test('streams are split into contiguous slices differing by at most one', () => {
  assert.deepEqual(streamSlices(32, 2), [[0, 16], [16, 32]]);
  assert.deepEqual(streamSlices(5, 2), [[0, 3], [3, 5]]);
  assert.deepEqual(streamSlices(7, 3), [[0, 3], [3, 5], [5, 7]]);
  assert.throws(() => streamSlices(2, 3), /3 workers need at least 3 streams/);
  assert.throws(() => streamSlices(4, 0), DataParallelError);
});

test('wasm, W=2: summed gradients, loss, carried state and parameters match single-process training', async () => {
  await equivalence('wasm', modelConfig(), 8, 2, 4);
});

test('cpu, W=2: the same, with an uneven split (B=5), a GRU and RMSProp', async () => {
  await equivalence('cpu', modelConfig({ kind: 'gru' }), 5, 2, 4, 'rmsprop');
});

test('cpu, W=2: every step clipped (clip 0.001): the same parameters, and gradients() is the clipped gradient', async () => {
  await equivalence('cpu', modelConfig(), 6, 2, 3, 'adam', 1e-5, 0.001);
});

test('cpu, W=3: the same, with an RNN', async () => {
  await equivalence('cpu', modelConfig({ kind: 'rnn', layers: 1 }), 7, 3, 3);
});

test('cpu, W=2: dropout masks are the single-process masks (3 layers, embedding)', async () => {
  await equivalence('cpu', modelConfig({ layers: 3, dropout: 0.3, embedding: 8 }), 6, 2, 3);
});

test('native, W=2: the same (when the addon is built)', { skip: !nativeStatus().available && 'native addon unavailable' }, async () => {
  await equivalence('native', modelConfig(), 8, 2, 3);
});

test('checkpoint state round-trips; reset, setParams and external parameter changes reach the workers', async () => {
  await initBackend('cpu');
  const cfg = modelConfig({ kind: 'rnn' }), B = 4, T = 8;
  const model = CharRnn.create(cfg, 3);
  const stepper = await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: 2, workerScript: WORKER });
  try {
    const batches = new TruncatedBptt(ids, B, T);
    const first = batches.next();
    await stepper.step(first, 0.01);
    const saved = stepper.stateArrays();
    assert.ok(saved.h[0].some((x) => x !== 0));
    stepper.resetState();
    assert.ok(stepper.stateArrays().h.every((h) => h.every((x) => x === 0)));
    stepper.restoreState(saved);
    assert.deepEqual(stepper.stateArrays(), saved);
    assert.throws(() => stepper.restoreState({ h: [new Float32Array(3)], c: [null] }), DataParallelError);

    // The loss of a batch from a known state and known parameters, single-process:
    const values = model.values();
    const second = batches.next();
    const want = tidy(() => {
      const m = new CharRnn(cfg, values);
      const st: RecurrentState = { h: saved.h.map((h) => tf.tensor2d(h, [B, cfg.hidden])), c: [null, null] };
      const l = m.run(second.inputs, second.targets, T, B, st, true).loss.dataSync()[0];
      for (const t of m.params.values()) t.dispose();
      return l;
    });
    // Parameters replaced behind the stepper's back (the NaN policy's roll-back) are published before the step:
    model.setParams(new Map(Array.from(values, ([k, v]) => [k, tf.keep(tf.tensor(v, model.params.get(k)!.shape))])));
    const got = await stepper.step(second, 0.01);
    assert.ok(Math.abs(got.loss - want) < 1e-5 * want, `${got.loss} vs ${want}`);
    // setParams
    stepper.setParams(values);
    assert.deepEqual(Array.from(model.values().get('out.b')!), Array.from(values.get('out.b')!));
    assert.throws(() => stepper.setParams(new Map()), /missing/);
    assert.throws(() => stepper.restoreOptimizer({ kind: 'rmsprop', t: 1, slots: new Map() }), /this stepper runs adam/);
    assert.throws(() => stepper.restoreOptimizer({ kind: 'adam', t: 1, slots: new Map([['l1.wh', [new Float32Array(2)]]]) }), /does not have 2 arrays/);
  } finally {
    await stepper.dispose();
  }
  assert.throws(() => stepper.resetState(), /disposed/);
  await stepper.dispose(); // idempotent
});

test('a worker error is reported, not hung on; bad arguments are refused', async () => {
  await initBackend('cpu');
  const cfg = modelConfig(), B = 4, T = 8;
  const model = CharRnn.create(cfg, 1);
  await assert.rejects(DataParallelStepper.create({ model, batchSize: 2, seqLength: T, workers: 3, workerScript: WORKER }), /3 workers need at least 3 streams/);
  await assert.rejects(DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: 2, workerScript: '/nonexistent/worker.js' }), /does not exist/);
  await assert.rejects(DataParallelStepper.create({ model: CharRnn.create(modelConfig({ dropout: 0.2 }), 1), batchSize: B, seqLength: T, workers: 2, workerScript: WORKER }), /needs the run generator/);
  const stepper = await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: 2, workerScript: WORKER });
  try {
    const batch = new TruncatedBptt(ids, B, T).next();
    const bad = { ...batch, targets: batch.targets.slice() };
    bad.targets[T * B - 1] = vocab.size + 5; // stream 3, in worker 1
    await assert.rejects(stepper.step(bad, 0.01), /worker 1 \(streams 2–3\): Target id \d+ is outside the vocabulary/);
    await assert.rejects(stepper.step({ ...batch, inputs: batch.inputs.subarray(1) }, 0.01), /this stepper takes T·B/);
    const ok = await stepper.step(batch, 0.01); // still usable
    assert.ok(ok.ok && Number.isFinite(ok.loss));
    // A non-finite step leaves parameters and optimiser alone and resets the carried state:
    const before = model.values().get('out.w')!, snap = stepper.optimizerSnapshot();
    model.setParams(new Map(Array.from(model.values(), ([k, v]) => [k, tf.keep(tf.tensor(k === 'out.b' ? v.map(() => NaN) : v, model.params.get(k)!.shape))])));
    const nan = await stepper.step(new TruncatedBptt(ids, B, T).next(), 0.01);
    assert.equal(nan.ok, false);
    assert.deepEqual(Array.from(model.values().get('out.w')!), Array.from(before));
    assert.equal(stepper.optimizerSnapshot().t, snap.t);
    assert.ok(stepper.stateArrays().h.every((h) => h.every((x) => x === 0)));
  } finally {
    await stepper.dispose();
  }
});

test('resume: a stepper rebuilt from parameters, optimiser snapshot, carried state and rng continues like the uninterrupted run', async () => {
  await initBackend('cpu');
  const cfg = modelConfig({ dropout: 0.2 }), B = 6, T = 10, seed = 5, lr = 0.02, clip = 2;
  const run = async (split: boolean) => {
    const batches = new TruncatedBptt(ids, B, T);
    const rng = new Random(seed);
    let model = new CharRnn(cfg, initialParams(cfg, seed));
    let stepper = await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: 2, gradClip: clip, rng, workerScript: WORKER });
    for (let s = 0; s < 5; s++) {
      if (split && s === 2) {
        // what a checkpoint holds: parameters, optimiser, carried state, batch position, rng
        const params = model.values(), opt = stepper.optimizerSnapshot(), state = stepper.stateArrays(), data = batches.state(), rngState = rng.state;
        await stepper.dispose();
        for (const t of model.params.values()) t.dispose();
        batches.restore(data);
        rng.state = rngState;
        model = new CharRnn(cfg, params);
        stepper = await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: 2, gradClip: clip, rng, optimizer: opt, workerScript: WORKER });
        stepper.restoreState(state);
      }
      assert.ok((await stepper.step(batches.next(), lr)).ok);
    }
    const out = { params: model.values(), state: stepper.stateArrays(), opt: stepper.optimizerSnapshot() };
    await stepper.dispose();
    for (const t of model.params.values()) t.dispose();
    return out;
  };
  const a = await run(false), b = await run(true);
  for (const [k, v] of a.params) assert.deepEqual(Array.from(b.params.get(k)!), Array.from(v), k);
  assert.deepEqual(b.state, a.state);
  assertSnapshotsClose(b.opt, a.opt, 0);
});
