/**
 * Every backend that loads here gives the same loss and gradients (within float tolerance) for the
 * same model and batch as the plain JavaScript cpu backend; the ones that do not load are skipped
 * with their reason (cpu and wasm always load).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_ORDER, BackendName, initBackend, tidy } from '../src/engine/runtime/backend';
import { ModelConfig } from '../src/engine/nn/config';
import { CharRnn, initialParams, disposeState } from '../src/engine/nn/model';
import { Random } from '../src/engine/nn/random';

const ALWAYS_LOADS: BackendName[] = ['cpu', 'wasm'];

interface LossAndGradients {
  loss: number;
  grads: Map<string, Float32Array>;
}

test('all available backends agree on loss and gradients', async (t) => {
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 24, embedding: 0, dropout: 0, vocabSize: 11 };
  const T = 8, B = 4;
  const rng = new Random(5);
  const inputs = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * 11));
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * 11));
  const values = initialParams(cfg, 7);
  const lossAndGradients = (): LossAndGradients => {
    const m = new CharRnn(cfg, values);
    const st = m.zeroState(B);
    const r = tidy(() => {
      const out = m.run(inputs, targets, T, B, st, true);
      return { loss: out.loss.dataSync()[0], grads: new Map(Array.from(out.grads!, ([k, g]) => [k, Float32Array.from(g.dataSync() as Float32Array)])) };
    });
    disposeState(st);
    for (const p of m.params.values()) p.dispose();
    return r;
  };

  await initBackend('cpu');
  const ref = lossAndGradients();
  t.diagnostic(`cpu: loss ${ref.loss}`);
  for (const name of BACKEND_ORDER.filter((n) => n !== 'cpu')) {
    await t.test(`${name} agrees with cpu`, async (st) => {
      const info = await initBackend(name).catch((e: Error) => e);
      if (info instanceof Error) {
        assert.ok(!ALWAYS_LOADS.includes(name), `${name} always loads: ${info.message}`);
        st.skip(info.message);
        return;
      }
      const r = lossAndGradients();
      st.diagnostic(`${name}: loss ${r.loss}`);
      assert.ok(Math.abs(r.loss - ref.loss) < 1e-4, `${name} loss ${r.loss} vs cpu ${ref.loss}`);
      for (const [k, g] of r.grads) {
        const gr = ref.grads.get(k)!;
        let maxAbs = 0, maxDiff = 0;
        for (let i = 0; i < g.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(gr[i]));
          maxDiff = Math.max(maxDiff, Math.abs(g[i] - gr[i]));
        }
        assert.ok(maxDiff <= 1e-4 + 1e-3 * maxAbs, `${name} ${k}: max difference ${maxDiff} (max |g| ${maxAbs})`);
      }
    });
  }
});
