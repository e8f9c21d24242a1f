/**
 * The trace against a plain step-by-step forward written here from the equations (min-char-rnn style),
 * the same trace taken in chunks with the state carried on, and sampling's contract (seeded,
 * streamed, prime text respected).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/engine/runtime/backend';
import { ModelConfig } from '../src/engine/nn/config';
import { InferenceModel, softmax } from '../src/engine/inference/inference';
import { initialParams } from '../src/engine/nn/model';
import { Random } from '../src/engine/nn/random';
import { sampleText } from '../src/engine/inference/sample';
import { traceText } from '../src/engine/inference/trace';
import { Vocabulary } from '../src/engine/data/vocabulary';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** One LSTM step, scalar loops, straight from the equations. */
function plainForward(cfg: ModelConfig, p: Map<string, Float32Array>, ids: number[]) {
  const H = cfg.hidden, V = cfg.vocabSize, G = 4 * H;
  const h = Array.from({ length: cfg.layers }, () => new Float64Array(H));
  const c = Array.from({ length: cfg.layers }, () => new Float64Array(H));
  const rec: { c: number[][]; h: number[][]; f: number[][]; probs: number[] }[] = [];
  for (const id of ids) {
    const step = { c: [] as number[][], h: [] as number[][], f: [] as number[][], probs: [] as number[] };
    let x: Float64Array | null = null;
    for (let k = 0; k < cfg.layers; k++) {
      const wx = p.get(`l${k + 1}.wx`)!, wh = p.get(`l${k + 1}.wh`)!, b = p.get(`l${k + 1}.b`)!;
      const a = new Float64Array(G);
      for (let j = 0; j < G; j++) {
        let s = b[j];
        if (k === 0) s += wx[id * G + j];
        else for (let q = 0; q < H; q++) s += x![q] * wx[q * G + j];
        for (let q = 0; q < H; q++) s += h[k][q] * wh[q * G + j];
        a[j] = s;
      }
      const f: number[] = [];
      for (let j = 0; j < H; j++) {
        const i = sig(a[j]), fg = sig(a[H + j]), g = Math.tanh(a[2 * H + j]), o = sig(a[3 * H + j]);
        c[k][j] = fg * c[k][j] + i * g;
        h[k][j] = o * Math.tanh(c[k][j]);
        f.push(fg);
      }
      step.c.push(Array.from(c[k]));
      step.h.push(Array.from(h[k]));
      step.f.push(f);
      x = h[k].slice();
    }
    const wy = p.get('out.w')!, by = p.get('out.b')!;
    const logits = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      let s = by[v];
      for (let q = 0; q < H; q++) s += x![q] * wy[q * V + v];
      logits[v] = s;
    }
    step.probs = Array.from(softmax(logits));
    rec.push(step);
  }
  return rec;
}

test('trace matches a plain step-by-step forward, per character, layer, cell and gate', async () => {
  await initBackend('auto');
  const text = 'int main(void) { return "é😀"; }\n';
  const vocab = Vocabulary.fromText(text, 64);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 12, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const params = initialParams(cfg, 11);
  const rng = new Random(2);
  for (const v of params.values()) for (let i = 0; i < v.length; i++) v[i] += (rng.next() - 0.5) * 0.8;
  const model = new InferenceModel(cfg, vocab, params);
  const trace = traceText(model, text, { topK: 3 });
  const symbols = Array.from(text);
  assert.equal(trace.length, symbols.length, 'one position per code point');
  assert.equal(trace.symbols[symbols.indexOf('😀')], '😀');
  assert.equal(trace.layers.length, 2);
  for (const l of trace.layers) {
    assert.equal(l.h.length, symbols.length * 12);
    assert.equal(l.c!.length, symbols.length * 12);
    assert.deepEqual(Object.keys(l.gates), ['i', 'f', 'g', 'o']);
  }
  const ref = plainForward(cfg, params, Array.from(vocab.encode(text)));
  for (let t = 0; t < symbols.length; t++) {
    for (let k = 0; k < 2; k++) {
      for (let j = 0; j < 12; j++) {
        assert.ok(Math.abs(trace.layers[k].c![t * 12 + j] - ref[t].c[k][j]) < 1e-4, `c t=${t} layer=${k + 1} cell=${j}`);
        assert.ok(Math.abs(trace.layers[k].h[t * 12 + j] - ref[t].h[k][j]) < 1e-4, `h t=${t}`);
        assert.ok(Math.abs(trace.layers[k].gates.f[t * 12 + j] - ref[t].f[k][j]) < 1e-4, `f t=${t}`);
      }
    }
    const best = ref[t].probs.indexOf(Math.max(...ref[t].probs));
    assert.equal(trace.top.symbols[t * 3], vocab.symbol(best));
    assert.ok(Math.abs(trace.top.probs[t * 3] - ref[t].probs[best]) < 1e-4);
    if (t + 1 < symbols.length) {
      const next = vocab.encode(symbols[t + 1])[0];
      assert.ok(Math.abs(trace.surprisal[t] + Math.log(ref[t].probs[next])) < 1e-3);
    }
  }
  // Continuing from the returned state equals tracing the concatenation.
  const a = traceText(model, text.slice(0, 10));
  const b = traceText(model, text.slice(10), { state: a.state });
  const whole = traceText(model, text);
  const n10 = Array.from(text.slice(0, 10)).length;
  assert.ok(Math.abs(b.layers[1].h[0] - whole.layers[1].h[n10 * 12]) < 1e-5);
});

test('sampling is seeded, honours the prime text, and argmax is deterministic', async () => {
  await initBackend('auto');
  const text = 'abcabcabd';
  const vocab = Vocabulary.fromText(text);
  const cfg: ModelConfig = { kind: 'gru', layers: 1, hidden: 16, embedding: 4, dropout: 0, vocabSize: vocab.size };
  const model = new InferenceModel(cfg, vocab, initialParams(cfg, 4));
  const s1 = sampleText(model, { length: 40, temperature: 1, seed: 5, prime: 'ab' });
  const s2 = sampleText(model, { length: 40, temperature: 1, seed: 5, prime: 'ab' });
  const s3 = sampleText(model, { length: 40, temperature: 1, seed: 6, prime: 'ab' });
  assert.equal(Array.from(s1).length, 40);
  assert.equal(s1, s2);
  assert.notEqual(s1, s3);
  assert.ok(!s1.includes('\uFFFD'), 'the unknown symbol is never emitted');
  const g1 = sampleText(model, { length: 20, temperature: 0, seed: 1 });
  const g2 = sampleText(model, { length: 20, temperature: 0, seed: 99 });
  assert.equal(g1, g2);
});

test('crossEntropy of a text equals −ln P summed symbol by symbol, across the 4,096-row chunks', async () => {
  await initBackend('auto');
  const base = 'static int f(void)\n{\n\treturn "x";\n}\n';
  const text = base.repeat(Math.ceil(4500 / base.length)) + 'é';
  const vocab = Vocabulary.fromText(text, 64);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 12, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const params = initialParams(cfg, 7);
  const rng = new Random(3);
  for (const v of params.values()) for (let i = 0; i < v.length; i++) v[i] += (rng.next() - 0.5) * 0.8;
  const model = new InferenceModel(cfg, vocab, params);
  const ids = vocab.encode(text);
  assert.ok(ids.length > 4096);
  let expected = 0;
  let state = model.zeroState();
  for (const id of ids) {
    expected -= Math.log(softmax(model.logits(state), 1)[id]);
    state = model.run(Int32Array.of(id), state).state;
  }
  const got = model.crossEntropy(ids);
  assert.equal(got.chars, ids.length);
  assert.ok(Math.abs(got.nats - expected) / expected < 1e-4, `${got.nats} vs ${expected}`);
});

test('a text traced in chunks, the state carried on, equals the text traced at once (what `lstm-lab trace` does with long files)', async () => {
  await initBackend('auto');
  const text = 'static int f(int a)\n{\n\treturn a + 1;\n}\n'.repeat(6);
  const vocab = Vocabulary.fromText(text);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const model = new InferenceModel(cfg, vocab, initialParams(cfg, 9));
  const whole = traceText(model, text, { topK: 3 });
  const cut = 100;
  const a = traceText(model, text.slice(0, cut), { topK: 3 });
  const b = traceText(model, text.slice(cut), { topK: 3, state: a.state });
  for (let k = 0; k < 2; k++) {
    const joined = new Float32Array([...a.layers[k].h, ...b.layers[k].h]);
    for (let i = 0; i < joined.length; i++) assert.ok(Math.abs(joined[i] - whole.layers[k].h[i]) < 1e-6, `layer ${k + 1} h[${i}]`);
  }
  assert.deepEqual([...a.top.symbols, ...b.top.symbols], whole.top.symbols);
});
