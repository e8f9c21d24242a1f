/**
 * Tests of the interpolated modified Kneser-Ney character n-gram model (src/engine/ngram/ngram.ts):
 * normalisation, hand-computed KN probabilities (continuation counts, discounts, fallbacks),
 * learning curves over the order, serialisation, and completing text through the n-gram completer
 * (src/engine/completion/ngramCompleter.ts) and its decoders (decoders.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NGramModel, estimateDiscounts } from '../src/engine/ngram/ngram';
import { completionOptions, CompletionOptions } from '../src/engine/completion/completer';
import { NGramCompleter, ngramStepper } from '../src/engine/completion/ngramCompleter';
import { runDecoder } from '../src/engine/completion/decoders';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { uniform } from './support/fixtures';

/** Map characters to ids through a fixed alphabet (the tests' stand-in for Vocabulary). */
function encoder(alphabet: string): (text: string) => Int32Array {
  const index = new Map<string, number>();
  for (const ch of alphabet) index.set(ch, index.size);
  return (text: string) =>
    Int32Array.from(Array.from(text), (ch) => {
      const id = index.get(ch);
      if (id === undefined) throw new Error(`test alphabet lacks ${JSON.stringify(ch)}`);
      return id;
    });
}

/** Deterministic PRNG (mulberry32). */
const rng = uniform;

/** English-like sentences: a small grammar over a few word lists, with random variation. */
function sentences(count: number, seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const det = ['the', 'a', 'every', 'one', 'that'];
  const adj = ['quick', 'brown', 'lazy', 'small', 'green', 'old', 'happy', 'quiet'];
  const noun = ['fox', 'dog', 'cat', 'bird', 'farmer', 'child', 'river', 'house', 'teacher'];
  const verb = ['jumps over', 'looks at', 'runs past', 'sings to', 'walks with', 'sleeps near', 'sees'];
  const adv = ['slowly', 'today', 'again', 'quietly', 'at night'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = `${pick(det)} ${r() < 0.6 ? pick(adj) + ' ' : ''}${pick(noun)} ${pick(verb)} ${pick(det)} ${pick(noun)}`;
    if (r() < 0.4) s += ' ' + pick(adv);
    out.push(s.charAt(0).toUpperCase() + s.slice(1) + (r() < 0.8 ? '.' : '!'));
  }
  return out.join(' ') + '\n';
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .!\n';
const close = (actual: number, expected: number, tol = 1e-12, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected}, got ${actual}`);

test('distributions sum to 1 and are positive for seen, unseen and over-long contexts', () => {
  const enc = encoder(LETTERS + 'xyz#@');
  const V = LETTERS.length + 5;
  const train = enc(sentences(400, 1));
  for (const order of [1, 2, 3, 5, 10, 16]) {
    const m = NGramModel.build(train, V, order);
    const r = rng(order);
    const contexts: number[][] = [[], Array.from(enc('The quick brown f')), Array.from(enc('#@#@')), Array.from(enc('the dog@'))];
    for (let i = 0; i < 40; i++) {
      const start = Math.floor(r() * (train.length - 30));
      contexts.push(Array.from(train.subarray(start, start + Math.floor(r() * 25))));
      contexts.push(Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * V))); // mostly unseen
    }
    for (const ctx of contexts) {
      const p = m.probabilities(ctx);
      assert.equal(p.length, V);
      let sum = 0;
      for (let w = 0; w < V; w++) {
        assert.ok(p[w] > 0, `order ${order}: P(${w} | ${ctx}) must be > 0`);
        sum += p[w];
      }
      close(sum, 1, 1e-5, `order ${order} sum`);
      // logProb agrees with probabilities
      const w = Math.floor(r() * V);
      close(m.logProb(ctx, w), Math.log(p[w]), 1e-6, 'logProb vs probabilities');
    }
  }
});

test('a periodic text is predicted with near-certainty at order >= 2', () => {
  const enc = encoder('abcd');
  const train = enc('abc'.repeat(1000));
  const next = { a: 'b', b: 'c', c: 'a' } as const;
  for (const order of [2, 3, 6, 16]) {
    const m = NGramModel.build(train, 4, order);
    // Contexts of at least order − 1 symbols: the top order's raw counts decide. (Shorter ones
    // use continuation counts, which are 1 for every n-gram of a periodic text.)
    for (const ctx of ['cabca', 'bcabcab', 'abcabcabcabcabcabc', 'bcabcabcabcabcabcabca'].filter((c) => c.length >= order - 1)) {
      const want = next[ctx[ctx.length - 1] as 'a' | 'b' | 'c'];
      const p = m.probabilities(enc(ctx))[enc(want)[0]];
      assert.ok(p > 0.998, `order ${order}: P(${want} | ${ctx}) = ${p}`);
    }
    const ev = m.evaluate(enc('abc'.repeat(200)));
    assert.ok(ev.bitsPerChar < 0.05, `order ${order}: ${ev.bitsPerChar} bits/char`);
    assert.equal(ev.chars, 600);
  }
  // Exactly, at order 2: raw bigram counts ab 1000, bc 1000, ca 999 (no count ≤ 4, so D3+ falls
  // back to 1.5); unigram continuation counts a 2 (c, boundary), b 1, c 1 → n1 = 2, n2 = 1,
  // Y = 1/2, D1 = 1/2, D2 = 2 − 0 = 2 (not < 2: fallback 1), γ1 = (0.5·2 + 1·1)/4 = 1/2,
  // P1(b) = 0.5/4 + 0.5/4 = 0.25;  P(b | a) = (1000 − 1.5)/1000 + (1.5/1000)·0.25 = 0.998875.
  close(Math.exp(NGramModel.build(train, 4, 2).logProb(enc('a'), 1)), 0.998875, 1e-14, 'P(b|a)');
  // Order 1 cannot do it: a, b, c are equally likely.
  const p1 = NGramModel.build(train, 4, 1).probabilities(enc('a'));
  close(p1[0], p1[1], 1e-7);
  close(p1[1], p1[2], 1e-7);
});

test('held-out cross-entropy falls from order 1 to 2 to 3 on English-like text', () => {
  const enc = encoder(LETTERS);
  const train = enc(sentences(3000, 7));
  const heldOut = enc(sentences(300, 8));
  const bits = [1, 2, 3, 5].map((order) => NGramModel.build(train, LETTERS.length, order).evaluate(heldOut).bitsPerChar);
  assert.ok(bits[0] > bits[1] + 0.5, `orders 1→2: ${bits}`);
  assert.ok(bits[1] > bits[2] + 0.2, `orders 2→3: ${bits}`);
  assert.ok(bits[2] > bits[3], `orders 3→5: ${bits}`);
  assert.ok(bits[0] > 3.5 && bits[0] < 4.5, `unigram entropy of English-like text: ${bits[0]}`);
  const ev = NGramModel.build(train, LETTERS.length, 3).evaluate(heldOut);
  close(ev.bitsPerChar, ev.natsPerChar / Math.LN2, 1e-12);
  close(ev.perplexity, Math.exp(ev.natsPerChar), 1e-9);
  assert.equal(ev.chars, heldOut.length);
});

test('evaluate is the mean of -logProb with the context restarting at the start', () => {
  const enc = encoder('ab');
  const m = NGramModel.build(enc('abbabaabbbab'), 2, 3);
  const text = enc('babba');
  let nats = 0;
  for (let i = 0; i < text.length; i++) nats -= m.logProb(text.subarray(Math.max(0, i - 2), i), text[i]);
  close(m.evaluate(text).natsPerChar, nats / text.length, 1e-12);
  // Older symbols than order − 1 do not matter.
  close(m.logProb(enc('aaaab'), 0), m.logProb(enc('ab'), 0), 0);
});

/*
 * Hand-computed Kneser-Ney. Text "ququququaebecedeadbdfg", alphabet q u a b c d e f g z (V = 10).
 * Distinct bigrams: qu uq ua ae eb be ec ce ed de ea ad db bd df fg.
 * Unigram-level counts are continuation counts N1+(•w) (+1 for the text's first symbol, q):
 *   q 2 (boundary, u)   u 1 (q)   a 2 (u, e)   b 2 (e, d)   c 1 (e)   d 3 (e, a, b)
 *   e 4 (a, b, c, d)    f 1 (d)   g 1 (f)      z 0          total 17
 * while the raw counts of u and e are both 4 (of 22).
 * Count-of-counts n1 = 4 (u c f g), n2 = 3 (q a b), n3 = 1 (d), n4 = 1 (e):
 *   Y = 4 / (4 + 2·3) = 0.4
 *   D1 = 1 − 2·0.4·3/4 = 0.4,  D2 = 2 − 3·0.4·1/3 = 1.6,  D3+ = 3 − 4·0.4·1/1 = 1.4
 *   γ = (0.4·4 + 1.6·3 + 1.4·2) / 17 = 9.2 / 17, interpolating with uniform 1/10:
 *   P1(u) = (1 − 0.4)/17 + 0.92/17 = 1.52/17     P1(e) = (4 − 1.4)/17 + 0.92/17 = 3.52/17
 *   P1(q) = (2 − 1.6)/17 + 0.92/17 = 1.32/17     P1(d) = (3 − 1.4)/17 + 0.92/17 = 2.52/17
 *   P1(z) = 0.92/17
 */
const KN_ALPHABET = 'quabcdefgz';
const KN_TEXT = 'ququququaebecedeadbdfg';

test('unigram level uses KN continuation counts, not raw frequencies (hand-computed)', () => {
  const enc = encoder(KN_ALPHABET);
  for (const order of [2, 3, 7]) {
    const m = NGramModel.build(enc(KN_TEXT), 10, order);
    const [d1, d2, d3] = m.discountsOf(1);
    close(d1, 0.4, 1e-12, 'D1');
    close(d2, 1.6, 1e-12, 'D2');
    close(d3, 1.4, 1e-12, 'D3+');
    const p = m.probabilities([]);
    const P = (ch: string) => p[KN_ALPHABET.indexOf(ch)];
    close(P('u'), 1.52 / 17, 1e-7, 'P1(u)');
    close(P('e'), 3.52 / 17, 1e-7, 'P1(e)');
    close(P('q'), 1.32 / 17, 1e-7, 'P1(q)');
    close(P('d'), 2.52 / 17, 1e-7, 'P1(d)');
    close(P('z'), 0.92 / 17, 1e-7, 'P1(z)');
    close(Math.exp(m.logProb([], KN_ALPHABET.indexOf('u'))), 1.52 / 17, 1e-15, 'exp logProb(u)');
    // Same raw count (4 each), but e follows four different symbols and u only q.
    assert.ok(P('e') > 2 * P('u'));
  }
});

/*
 * Order 2, context q. Top-order (raw) bigram counts: qu 4, uq 3, the other 14 bigrams 1 each:
 *   n1 = 14, n2 = 0, n3 = 1, n4 = 1  →  Y = 1, D1 = 1 − 0 = 1 (not < 1: fallback 0.5),
 *   D2 = 2 − 3·1·1/0 (undefined: fallback 1), D3+ = 3 − 4·1·1/1 = −1 (fallback 1.5).
 * q is followed only by u (4 times): P(u | q) = (4 − 1.5)/4 + (1.5/4)·P1(u) = 0.625 + 0.375·1.52/17
 * and P(e | q) = 0.375·P1(e).
 */
test('bigram level: raw counts at the top order, discount fallbacks, interpolation (hand-computed)', () => {
  const enc = encoder(KN_ALPHABET);
  const m = NGramModel.build(enc(KN_TEXT), 10, 2);
  assert.deepEqual(m.discountsOf(2), [0.5, 1, 1.5]);
  const q = enc('q');
  close(Math.exp(m.logProb(q, KN_ALPHABET.indexOf('u'))), 0.625 + (0.375 * 1.52) / 17, 1e-15, 'P(u|q)');
  close(Math.exp(m.logProb(q, KN_ALPHABET.indexOf('e'))), (0.375 * 3.52) / 17, 1e-15, 'P(e|q)');
  // An unseen context (z) falls back to the unigram level unchanged.
  close(Math.exp(m.logProb(enc('z'), KN_ALPHABET.indexOf('e'))), 3.52 / 17, 1e-15, 'P(e|z)');
});

test('discount estimates follow Chen & Goodman, with KenLM fallbacks', () => {
  assert.deepEqual(estimateDiscounts(4, 3, 1, 1).slice(1).map((d) => +d.toFixed(12)), [0.4, 1.6, 1.4]);
  assert.deepEqual(estimateDiscounts(0, 0, 0, 0).slice(1), [0.5, 1, 1.5]);
  assert.deepEqual(estimateDiscounts(10, 0, 0, 0).slice(1), [0.5, 1, 1.5]); // D1 = 1 is refused
  assert.deepEqual(estimateDiscounts(2, 1, 0, 0).slice(1), [0.5, 1, 1.5]); // D2 = 2 is refused
});

test('JSON round trip gives identical probabilities', () => {
  const enc = encoder(LETTERS);
  const V = LETTERS.length;
  const train = enc(sentences(500, 3));
  const m = NGramModel.build(train, V, 6);
  const text = JSON.stringify(m);
  const back = NGramModel.fromJSON(JSON.parse(text));
  const back2 = NGramModel.fromJSON(text); // the JSON text itself is accepted too
  assert.equal(back.order, 6);
  assert.equal(back.vocabSize, V);
  assert.equal(back.size, m.size);
  const heldOut = enc(sentences(20, 4));
  for (let i = 0; i < heldOut.length; i += 7) {
    const ctx = heldOut.subarray(Math.max(0, i - 8), i);
    assert.deepEqual(back.probabilities(ctx), m.probabilities(ctx));
    assert.deepEqual(back2.probabilities(ctx), m.probabilities(ctx));
  }
  assert.deepEqual(back.evaluate(heldOut), m.evaluate(heldOut));
  assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(text));
  // Compact: well under the size of the text the model was built from, per stored n-gram.
  assert.ok(text.length < 6 * m.size, `${text.length} chars for ${m.size} n-grams`);
});

test('malformed JSON is refused with a clear error', () => {
  const enc = encoder(KN_ALPHABET);
  const good = NGramModel.build(enc(KN_TEXT), 10, 3).toJSON();
  const varints = (xs: number[]) => Buffer.from(xs).toString('base64');
  const cases: [unknown, RegExp][] = [
    ['{not json', /not valid JSON/],
    [null, /expected an object/],
    [[1, 2], /expected an object/],
    [{ ...good, format: 'something-else' }, /format is "something-else"/],
    [{ ...good, version: 99 }, /unsupported version 99/],
    [{ ...good, order: 0 }, /order must be an integer in 1\.\.20/],
    [{ ...good, order: 21 }, /order must be an integer in 1\.\.20/],
    [{ ...good, vocabSize: 2.5 }, /vocabSize must be an integer/],
    [{ ...good, nodes: -1 }, /nodes must be a positive integer/],
    [{ ...good, counts: 42 }, /counts must be a base64 string/],
    [{ ...good, symbols: 'not base64!' }, /symbols is not valid base64/],
    [{ ...good, counts: good.counts.slice(0, 8) }, /counts ends after \d+ of \d+ values/],
    [{ ...good, nodes: good.nodes + 1 }, /ends after|describe/],
    [{ ...good, vocabSize: 8 }, /node 0 has 9 children but vocabSize is 8/],
    [{ ...good, vocabSize: 5, nodes: 2, childCounts: varints([1, 0]), symbols: varints([7]), counts: varints([1]) }, /node 1 has symbol 7, outside the vocabulary \[0, 5\)/],
    [{ ...good, order: 1 }, /has children but order is 1/],
    // Node 0 claims no children, so node 1 has no parent.
    [{ ...good, nodes: 3, childCounts: varints([0, 1, 1]), symbols: varints([0, 0]), counts: varints([1, 1]) }, /node 1 has no parent/],
    [{ ...good, nodes: 2, childCounts: varints([1, 0]), symbols: varints([0]), counts: varints([0]) }, /count 0/],
    [{ ...good, nodes: 2, childCounts: varints([1, 0, 0]), symbols: varints([0]), counts: varints([1]) }, /childCounts has 1 trailing bytes/],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => NGramModel.fromJSON(json), (e: unknown) => e instanceof Error && /^NGramModel\.fromJSON: /.test(e.message) && message.test(e.message), `expected ${message}`);
  }
  // A minimal hand-written model loads: root → a(2), b(1) at order 1.
  const tiny = NGramModel.fromJSON({ ...good, order: 1, vocabSize: 3, nodes: 3, childCounts: varints([2, 0, 0]), symbols: varints([0, 0]), counts: varints([2, 1]) });
  const built = NGramModel.build(Int32Array.from([0, 1, 0]), 3, 1);
  assert.deepEqual(tiny.probabilities([]), built.probabilities([]));
});

test('build refuses bad arguments', () => {
  assert.throws(() => NGramModel.build(Int32Array.from([0, 3]), 3, 2), /ids\[1\] = 3 is outside the vocabulary \[0, 3\)/);
  assert.throws(() => NGramModel.build(Int32Array.from([0, -1]), 3, 2), /ids\[1\] = -1/);
  assert.throws(() => NGramModel.build(Int32Array.from([0]), 3, 0), /order must be an integer in 1\.\.20/);
  assert.throws(() => NGramModel.build(Int32Array.from([0]), 3, 21), /order must be an integer in 1\.\.20/);
  assert.throws(() => NGramModel.build(Int32Array.from([0]), 0, 2), /vocabSize must be an integer/);
  assert.throws(() => NGramModel.build([0, 1] as unknown as Int32Array, 3, 2), /Int32Array/);
  assert.throws(() => NGramModel.build(Int32Array.from([0]), 3).logProb([], 3), /symbol 3 is outside/);
  assert.throws(() => NGramModel.build(Int32Array.from([0]), 3).evaluate(new Int32Array(0)), /at least one symbol/);
  // An empty text gives the uniform model.
  const empty = NGramModel.build(new Int32Array(0), 4, 3);
  assert.deepEqual(Array.from(empty.probabilities([1, 2])), [0.25, 0.25, 0.25, 0.25]);
});

test('progress is reported up to 1', () => {
  const seen: number[] = [];
  NGramModel.build(encoder(LETTERS)(sentences(200, 5)), LETTERS.length, 4, (f) => seen.push(f));
  assert.equal(seen[seen.length - 1], 1);
  assert.ok(seen.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= seen[i - 1])));
});

test('the n-gram completer finishes a seen word, greedily and by beam search', () => {
  const train = sentences(2000, 11);
  const vocab = Vocabulary.fromText(train);
  const completer = new NGramCompleter(NGramModel.build(vocab.encode(train), vocab.size, 6), vocab);
  const finish = (text: string, o: Partial<CompletionOptions>) =>
    completer.complete({ text, offset: text.length }, { stopAt: 'token', maxLength: 20, temperature: 0, ...o })!.text;
  for (const beamWidth of [1, 3]) {
    assert.equal(finish('The quick brown fox jumps o', { beamWidth }), 'ver');
    assert.equal(finish('a small teac', { beamWidth }), 'her');
    assert.equal(finish('The farmer sleeps n', { beamWidth }), 'ear');
  }
  // maxLength caps the suggestion; a width below 1 is refused.
  assert.equal(finish('the far', { stopAt: 'none', maxLength: 3 }), 'mer');
  assert.equal(finish('the far', { stopAt: 'none', maxLength: 0 }), '');
  assert.throws(() => finish('the far', { beamWidth: 0 }), /beamWidth must be a whole number ≥ 1/);

  // The decoders over the n-gram's stepper: the stop rule is asked about each candidate given what
  // was generated before it, and a stop before the first symbol leaves nothing.
  const stepper = ngramStepper(completer.model);
  const context = Array.from(vocab.encode('the far')).slice(-(completer.model.order - 1));
  for (const decoder of ['greedy', 'beam'] as const) {
    const opts = completionOptions({ maxLength: 3, temperature: 0, beamWidth: 1 });
    const calls: string[] = [];
    const text = runDecoder(decoder, stepper, vocab, context, opts, (generated) => {
      calls.push(generated);
      return false;
    });
    assert.equal(text, 'mer', decoder);
    assert.deepEqual(calls, ['', 'm', 'me'], decoder);
    assert.equal(runDecoder(decoder, stepper, vocab, context, completionOptions({ maxLength: 5, beamWidth: 3 }), () => true), '', decoder);
  }
});
