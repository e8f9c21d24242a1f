/**
 * Tests for "peeling the onion" (src/analysis/errorOnion.ts) on a small fixture where each category
 * is decided by construction: a network that is wrong everywhere but one place, a corpus n-gram that
 * knows "int " and "beta", an identifier seen twice in the held-out text and never in training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { NGramModel } from '../src/engine/ngram/ngram';
import { ERROR_CATEGORIES, peelOnion, PredictingNetwork, wordCounts } from '../src/analysis/errorOnion';

const TRAIN = 'int alpha;\nint beta;\nint gamma;\n'.repeat(200);
const HELD_OUT = 'int beta;\nint zeta_value;\nzeta_value = 1;\n';

test('every error lands in exactly one category, the first that explains it, in the paper order', () => {
  const vocab = Vocabulary.fromText(TRAIN + HELD_OUT);
  const oracle = [1, 3, 6, 20].map((n) => NGramModel.build(vocab.encode(TRAIN), vocab.size, n));
  const right = HELD_OUT.indexOf('int zeta') + 1; // the 'n' of the second int: the network gets it right
  const network: PredictingNetwork = {
    vocab,
    probabilities: (ids) => Float32Array.from(ids, (_, i) => (i === 0 ? NaN : i === right ? 0.9 : 0.1)),
  };
  const onion = peelOnion(network, oracle, wordCounts(TRAIN), [HELD_OUT]);
  assert.equal(onion.chars, HELD_OUT.length - 1);
  assert.equal(onion.errors, HELD_OUT.length - 2);
  assert.equal(onion.categories.reduce((s, c) => s + c.errors, 0), onion.errors);
  assert.deepEqual(onion.categories.map((c) => c.name), [...ERROR_CATEGORIES]);
  const cat = (i: number) => (onion.files[0].categories[i] < 0 ? 'right' : ERROR_CATEGORIES[onion.files[0].categories[i]]);
  assert.equal(cat(0), 'right', 'the first character has no context and is not counted');
  assert.equal(cat(right), 'right');
  assert.equal(cat(1), 'n-gram', "'n' after 'i'");
  assert.equal(cat(3), 'n-gram', "' ' after 'int'");
  assert.equal(cat(5), 'n-gram', "'e' after 'int b'");
  assert.equal(cat(4), 'word model', "'b' of beta: a common word, its first character");
  const second = HELD_OUT.lastIndexOf('zeta_value');
  assert.equal(cat(second), 'rare words', 'zeta_value never occurs in training');
  for (let i = second + 5; i < second + 10; i++) assert.equal(cat(i), 'dynamic memory', `${HELD_OUT[i]} (${i}): its 6-gram occurred earlier`);
  assert.equal(cat(HELD_OUT.indexOf('=')), 'punctuation');
  assert.equal(cat(HELD_OUT.indexOf(' =')), 'boost', 'a space no other category explains');
});

test('the threshold decides what an error is; no errors, no categories', () => {
  const vocab = Vocabulary.fromText(TRAIN + HELD_OUT);
  const ngram = [NGramModel.build(vocab.encode(TRAIN), vocab.size, 5)];
  const sure: PredictingNetwork = { vocab, probabilities: (ids) => new Float32Array(ids.length).fill(0.6) };
  const a = peelOnion(sure, ngram, wordCounts(TRAIN), [HELD_OUT, 'x']);
  assert.equal(a.errors, 0);
  assert.ok(a.categories.every((c) => c.errors === 0));
  assert.equal(a.chars, HELD_OUT.length - 1, 'a one-character file predicts nothing');
  const b = peelOnion(sure, ngram, wordCounts(TRAIN), [HELD_OUT], { threshold: 0.7 });
  assert.equal(b.errors, HELD_OUT.length - 1);
});

test('wordCounts counts runs of letters, digits and underscores, Unicode letters included', () => {
  const w = wordCounts('a_b = a_b + 1; größe(x2);');
  assert.equal(w.get('a_b'), 2);
  assert.equal(w.get('größe'), 1);
  assert.equal(w.get('x2'), 1);
  assert.equal(w.get('1'), 1);
});
