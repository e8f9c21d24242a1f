/**
 * The model's hand-written gradients against finite differences, for every cell type and both input
 * kinds, without and with dropout (its masks fixed: drawn from the same key for the analytic and every
 * numeric pass), and a tiny model learning a periodic text to near-zero loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tidy, tf } from '../src/engine/runtime/backend';
import { ModelConfig } from '../src/engine/nn/config';
import { CharRnn, initialParams, keepState, disposeState } from '../src/engine/nn/model';
import { Optimizer, globalNorm, clipScale } from '../src/engine/nn/optimizer';
import { TruncatedBptt } from '../src/engine/data/bptt';
import { Random } from '../src/engine/nn/random';

function lossOf(cfg: ModelConfig, values: Map<string, Float32Array>, inputs: Int32Array, targets: Int32Array, T: number, B: number, h0seed: number): number {
  const m = new CharRnn(cfg, values);
  const st = randomState(cfg, B, h0seed);
  const l = tidy(() => m.run(inputs, targets, T, B, st, false).loss.dataSync()[0]);
  for (const t of m.params.values()) t.dispose();
  disposeState(st);
  return l;
}

function randomState(cfg: ModelConfig, B: number, seed: number) {
  const rng = new Random(seed);
  const mk = () => tf.keep(tf.tensor2d(rng.fillUniform(new Float32Array(B * cfg.hidden), -0.5, 0.5), [B, cfg.hidden]));
  return { h: Array.from({ length: cfg.layers }, mk), c: Array.from({ length: cfg.layers }, () => (cfg.kind === 'lstm' ? mk() : null)) };
}

for (const backend of ['cpu', 'native'] as const) {
  for (const kind of ['lstm', 'gru', 'rnn'] as const) {
    for (const embedding of [0, 5]) {
      test(`${backend}: ${kind} ${embedding ? 'embedding' : 'one-hot'} gradients match finite differences`, async (t) => {
        const info = await initBackend(backend).catch((e) => e as Error);
        if (info instanceof Error) return t.skip(`backend ${backend} unavailable: ${info.message}`);
        const cfg: ModelConfig = { kind, layers: 2, hidden: 16, embedding, dropout: 0, vocabSize: 7 };
        const T = 5, B = 3;
        const rng = new Random(42);
        const inputs = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * 7));
        const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * 7));
        const values = initialParams(cfg, 3);
        // Larger weights than at init, so every path carries signal.
        for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += (rng.next() - 0.5) * 0.6;
        const m = new CharRnn(cfg, values);
        const st = randomState(cfg, B, 9);
        const grads = tidy(() => {
          const r = m.run(inputs, targets, T, B, st, true);
          return new Map(Array.from(r.grads!, ([k, g]) => [k, Float32Array.from(g.dataSync() as Float32Array)]));
        });
        disposeState(st);
        for (const p of m.params.values()) p.dispose();
        let checked = 0, maxRel = 0;
        for (const [name, v] of values) {
          const g = grads.get(name)!;
          assert.equal(g.length, v.length, name);
          // a few coordinates per parameter, including the largest-gradient one
          let big = 0;
          for (let i = 0; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
          const idx = [big, Math.floor(rng.next() * v.length), Math.floor(rng.next() * v.length)];
          for (const i of idx) {
            const eps = 1e-2;
            const orig = v[i];
            v[i] = orig + eps;
            const lp = lossOf(cfg, values, inputs, targets, T, B, 9);
            v[i] = orig - eps;
            const lm = lossOf(cfg, values, inputs, targets, T, B, 9);
            v[i] = orig;
            const num = (lp - lm) / (2 * eps);
            const err = Math.abs(num - g[i]);
            const rel = err / Math.max(1e-3, Math.abs(num) + Math.abs(g[i]));
            maxRel = Math.max(maxRel, rel);
            assert.ok(err < 2e-3 || rel < 2e-2, `${name}[${i}]: analytic ${g[i]} vs numeric ${num}`);
            checked++;
          }
          assert.ok(Math.abs(g[big]) > 1e-5, `${name}: gradient is all zero`);
        }
        assert.ok(checked >= 15);
      });
    }
  }
}

/** The training loss (dropout on) with the masks of the key maskSeed: the same masks on every call. */
function lossWithMasks(cfg: ModelConfig, values: Map<string, Float32Array>, inputs: Int32Array, targets: Int32Array, T: number, B: number, h0seed: number, maskSeed: number): number {
  const m = new CharRnn(cfg, values);
  const st = randomState(cfg, B, h0seed);
  const l = tidy(() => m.run(inputs, targets, T, B, st, true, { key: maskSeed, streams: B, first: 0 }).loss.dataSync()[0]);
  for (const t of m.params.values()) t.dispose();
  disposeState(st);
  return l;
}

for (const backend of ['cpu', 'native'] as const) {
  for (const kind of ['lstm', 'gru', 'rnn'] as const) {
    test(`${backend}: ${kind} gradients with dropout 0.3 match finite differences (masks fixed)`, async (t) => {
      const info = await initBackend(backend).catch((e) => e as Error);
      if (info instanceof Error) return t.skip(`backend ${backend} unavailable: ${info.message}`);
      const cfg: ModelConfig = { kind, layers: 3, hidden: 16, embedding: 4, dropout: 0.3, vocabSize: 7 };
      const T = 4, B = 3, maskSeed = 5;
      const rng = new Random(43);
      const inputs = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * 7));
      const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * 7));
      const values = initialParams(cfg, 4);
      for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += (rng.next() - 0.5) * 0.6;
      // Dropout is on: the masked loss is not the loss without masks.
      const masked = lossWithMasks(cfg, values, inputs, targets, T, B, 9, maskSeed);
      assert.ok(Math.abs(masked - lossOf(cfg, values, inputs, targets, T, B, 9)) > 1e-4, 'dropout changes the training loss');
      assert.equal(lossWithMasks(cfg, values, inputs, targets, T, B, 9, maskSeed), masked, 'the same generator state gives the same masks');
      const m = new CharRnn(cfg, values);
      const st = randomState(cfg, B, 9);
      const grads = tidy(() => {
        const r = m.run(inputs, targets, T, B, st, true, { key: maskSeed, streams: B, first: 0 });
        return new Map(Array.from(r.grads!, ([k, g]) => [k, Float32Array.from(g.dataSync() as Float32Array)]));
      });
      disposeState(st);
      for (const p of m.params.values()) p.dispose();
      let checked = 0;
      for (const [name, v] of values) {
        const g = grads.get(name)!;
        let big = 0;
        for (let i = 0; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
        for (const i of [big, Math.floor(rng.next() * v.length), Math.floor(rng.next() * v.length)]) {
          const eps = 1e-2, orig = v[i];
          v[i] = orig + eps;
          const lp = lossWithMasks(cfg, values, inputs, targets, T, B, 9, maskSeed);
          v[i] = orig - eps;
          const lm = lossWithMasks(cfg, values, inputs, targets, T, B, 9, maskSeed);
          v[i] = orig;
          const num = (lp - lm) / (2 * eps);
          const err = Math.abs(num - g[i]);
          const rel = err / Math.max(1e-3, Math.abs(num) + Math.abs(g[i]));
          assert.ok(err < 2e-3 || rel < 2e-2, `${name}[${i}]: analytic ${g[i]} vs numeric ${num}`);
          checked++;
        }
        assert.ok(Math.abs(g[big]) > 1e-5, `${name}: gradient is all zero`);
      }
      assert.ok(checked >= 20);
    });
  }
}

test('a tiny LSTM learns a periodic text to near-zero loss', async () => {
  await initBackend('auto');
  const text = 'abcdefgh'.repeat(400);
  const ids = Int32Array.from(text, (c) => c.charCodeAt(0) - 97);
  const cfg: ModelConfig = { kind: 'lstm', layers: 1, hidden: 32, embedding: 0, dropout: 0, vocabSize: 8 };
  const m = CharRnn.create(cfg, 1);
  const opt = new Optimizer('adam');
  const T = 16, B = 8;
  const bptt = new TruncatedBptt(ids, B, T);
  let st = m.zeroState(B);
  let loss = Infinity;
  for (let i = 0; i < 150; i++) {
    const b = bptt.next();
    const prev = st;
    tidy(() => {
      const r = m.run(b.inputs, b.targets, T, B, prev, true);
      loss = r.loss.dataSync()[0];
      const norm = globalNorm(r.grads!);
      m.setParams(opt.apply(m.params, r.grads!, 1e-2, clipScale(norm, 5)));
      st = keepState(r.state);
    });
    disposeState(prev);
  }
  assert.ok(loss < 0.05, `final loss ${loss} nats/char should be near zero (uniform would be ${Math.log(8).toFixed(2)})`);
});
