/**
 * Tests of the character vocabulary (src/engine/data/vocabulary.ts): code-point symbols, frequency
 * order, the cap and the unknown symbol, JSON round trip and validation, speed of encode.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UNKNOWN_INDEX, UNKNOWN_SYMBOL, Vocabulary, VocabularyError } from '../src/engine/data/vocabulary';

test('symbols are code points, most frequent first, ties broken by code point, unknown at 0', () => {
  const v = Vocabulary.fromText('banana 😀😀 a');
  // a ×4, n ×2, space ×2, 😀 ×2 (one symbol, not two surrogates), b ×1
  assert.deepEqual(v.symbols, [UNKNOWN_SYMBOL, 'a', ' ', 'n', '😀', 'b']);
  assert.equal(v.size, 6);
  assert.equal(UNKNOWN_INDEX, 0);
  assert.equal(v.indexOf('a'), 1);
  assert.equal(v.indexOf('😀'), 4);
  assert.equal(v.indexOf('z'), -1);
  assert.equal(v.indexOf('ab'), -1);
  assert.equal(v.indexOf(UNKNOWN_SYMBOL), 0);
  assert.equal(v.symbol(4), '😀');
});

test('non-ASCII text round-trips: é, 中, emoji, combining marks', () => {
  const text = 'café 中文 😀👍🏽 e\u0301 ñ\n\ttab';
  const v = Vocabulary.fromText(text);
  const ids = v.encode(text);
  assert.equal(ids.length, [...text].length);
  assert.equal(ids.length, 21);
  assert.equal(v.decode(ids), text);
  // The combining acute accent is its own symbol, after the 'e' it modifies.
  const e = v.indexOf('e');
  const acute = v.indexOf('\u0301');
  assert.ok(e > 0 && acute > 0 && e !== acute);
  assert.deepEqual(Array.from(v.encode('e\u0301')), [e, acute]);
  assert.deepEqual(Array.from(v.encode('😀')), [v.indexOf('😀')]);
});

test('unknown code points encode to 0 and decode to U+FFFD; U+FFFD itself never gets an index', () => {
  const v = Vocabulary.fromText('abc\uFFFD\uFFFD\uFFFD');
  assert.deepEqual(v.symbols, [UNKNOWN_SYMBOL, 'a', 'b', 'c']);
  assert.deepEqual(Array.from(v.encode('axc😀\uFFFD')), [1, 0, 3, 0, 0]);
  assert.equal(v.decode(v.encode('axc😀')), 'a\uFFFDc\uFFFD');
  // Lone surrogates are unknown, and never symbols.
  const lone = Vocabulary.fromText('\uD800\uD800x');
  assert.deepEqual(lone.symbols, [UNKNOWN_SYMBOL, 'x']);
  assert.deepEqual(Array.from(lone.encode('\uD800x\uDC00')), [0, 1, 0]);
  assert.throws(() => v.decode([1, 4]), {
    name: 'VocabularyError',
    message: 'Symbol index 4 is outside the vocabulary (valid indices are 0 to 3). The model and the vocabulary probably come from different checkpoints.',
  });
  assert.throws(() => v.symbol(-1), VocabularyError);
  assert.throws(() => v.symbol(1.5), VocabularyError);
});

test('the cap keeps the most frequent symbols, unknown included in the count', () => {
  const text = 'aaaaa' + 'bbbb' + 'ccc' + 'dd' + 'e';
  const v = Vocabulary.fromText(text, 4);
  assert.deepEqual(v.symbols, [UNKNOWN_SYMBOL, 'a', 'b', 'c']);
  assert.deepEqual(Array.from(v.encode('abcde')), [1, 2, 3, 0, 0]);
  assert.equal(v.coverage(text), 12 / 15);
  assert.equal(v.coverage(''), 1);
  assert.equal(Vocabulary.fromText('x'.repeat(10) + String.fromCodePoint(...Array.from({ length: 400 }, (_, i) => 0x4e00 + i))).size, 256);
  assert.throws(() => Vocabulary.fromText('abc', 1), {
    message: 'The vocabulary size must be a whole number of at least 2 (the unknown symbol and one character); got 1.',
  });
});

test('JSON round trip gives an equal vocabulary with the same fingerprint', () => {
  const v = Vocabulary.fromText('héllo wörld 中 😀 e\u0301');
  const json = JSON.parse(JSON.stringify(v.toJSON()));
  assert.equal(json.format, 'lstm-lab-vocabulary');
  assert.equal(json.version, 1);
  assert.equal(json.symbols[0], '\uFFFD');
  const back = Vocabulary.fromJSON(json);
  assert.ok(back.equals(v));
  assert.deepEqual(back.symbols, v.symbols);
  assert.equal(back.fingerprint(), v.fingerprint());
  assert.match(v.fingerprint(), /^[0-9a-f]{16}$/);
  // Exact value: the fingerprint must not change between versions, or old checkpoints stop matching.
  assert.equal(Vocabulary.fromText('abc').fingerprint(), Vocabulary.fromText('cba').fingerprint());
  assert.equal(Vocabulary.fromText('abc').fingerprint(), '0bb08f01c3865c16');
  const other = Vocabulary.fromText('abd');
  assert.notEqual(other.fingerprint(), v.fingerprint());
  assert.equal(other.equals(v), false);
  // Order matters.
  assert.notEqual(Vocabulary.fromText('aab').fingerprint(), Vocabulary.fromText('abb').fingerprint());
});

test('malformed JSON is refused with a message saying what is wrong', () => {
  const good = Vocabulary.fromText('abc').toJSON();
  const cases: [unknown, string][] = [
    [null, 'The saved vocabulary is malformed: expected an object with "format", "version" and "symbols", got null.'],
    [['a', 'b'], 'The saved vocabulary is malformed: expected an object with "format", "version" and "symbols", got an array of 2.'],
    [{ ...good, format: 'other' }, 'The saved vocabulary is malformed: "format" should be "lstm-lab-vocabulary", got "other".'],
    [
      { ...good, version: 2 },
      'The saved vocabulary is malformed: version 2 is not supported (this LSTM Lab reads version 1). Retrain the model or use the LSTM Lab version that saved it.',
    ],
    [{ ...good, symbols: 'abc' }, 'The saved vocabulary is malformed: "symbols" should be a non-empty array of one-character strings, got "abc".'],
    [{ ...good, symbols: ['a', 'b'] }, 'The saved vocabulary is malformed: symbols[0] should be the unknown symbol "\\uFFFD", got "a".'],
    [
      { ...good, symbols: ['\uFFFD', 'a', 'bc'] },
      'The saved vocabulary is malformed: symbols[2] should be a string of exactly one character (code point), got "bc".',
    ],
    [
      { ...good, symbols: ['\uFFFD', 7] },
      'The saved vocabulary is malformed: symbols[1] should be a string of exactly one character (code point), got 7.',
    ],
    [{ ...good, symbols: ['\uFFFD', 'a', 'a'] }, 'The saved vocabulary is malformed: symbols[2] ("a") appears twice.'],
    [
      { ...good, symbols: ['\uFFFD', '\uFFFD'] },
      'The saved vocabulary is malformed: symbols[1] is the unknown symbol "\\uFFFD", which may only appear at index 0.',
    ],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => Vocabulary.fromJSON(json), { name: 'VocabularyError', message });
  }
});

// Speed is measured by the benchmark, not asserted here (timed tests flake on a shared machine).
test('encode handles a 5 MB text with astral symbols', () => {
  const chunk = 'function f(x) { return x * 2; } // café 中文 😀\n';
  const text = chunk.repeat(Math.ceil(5_000_000 / chunk.length));
  const v = Vocabulary.fromText(text);
  const ids = v.encode(text);
  assert.equal(ids.length, [...chunk].length * Math.ceil(5_000_000 / chunk.length));
  assert.equal(v.decode(ids.subarray(0, [...chunk].length)), chunk);
});
