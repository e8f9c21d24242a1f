/**
 * Code points and UTF-16 offsets (src/engine/data/codePoints.ts): a surrogate pair is one code point,
 * a lone surrogate one of its own — as `Array.from` splits a string — checked on hand-made cases and
 * against `Array.from` and `codePointAt` on random strings full of pairs and lone halves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advanceCodePoints, alignToCodePoint, codePointsFrom, codePointWidth, commonPrefixCodePoints, countCodePoints, isHighSurrogate, isLowSurrogate,
  isSingleCodePoint, isSurrogate, pairCodePoint, splitsPair, unitOffsets,
} from '../src/engine/data/codePoints';
import { Random } from '../src/engine/nn/random';

const HI = '\uD83D';
const LO = '\uDE00'; // HI + LO = 😀 U+1F600

/** A string of `n` units drawn from ASCII, BMP letters, whole pairs, lone high and lone low halves. */
function randomText(rng: Random, n: number): string {
  const pieces = ['a', 'é', '日', '😀', '𝄞', HI, LO, '\uDBFF', '\uDC00', '\n'];
  let s = '';
  while (s.length < n) s += pieces[Math.floor(rng.next() * pieces.length)];
  return s;
}

test('surrogate classes and the code point of a pair', () => {
  assert.ok(isHighSurrogate(0xd800) && isHighSurrogate(0xdbff) && !isHighSurrogate(0xdc00) && !isHighSurrogate(0xd7ff));
  assert.ok(isLowSurrogate(0xdc00) && isLowSurrogate(0xdfff) && !isLowSurrogate(0xdbff) && !isLowSurrogate(0xe000));
  assert.ok(isSurrogate(0xd800) && isSurrogate(0xdfff) && !isSurrogate(0xd7ff) && !isSurrogate(0xe000));
  assert.equal(pairCodePoint(0xd83d, 0xde00), 0x1f600);
  assert.equal(pairCodePoint(0xd800, 0xdc00), 0x10000);
  assert.equal(pairCodePoint(0xdbff, 0xdfff), 0x10ffff);
});

test('widths, counts and steps on hand-made text: a pair is one code point, a lone half one of its own', () => {
  const text = `x😀y${HI}z${LO}${HI}`; // x, pair, y, lone high, z, lone low, lone high at the end
  assert.deepEqual([0, 1, 3, 4, 5, 6, 7].map((i) => codePointWidth(text, i)), [1, 2, 1, 1, 1, 1, 1]);
  assert.equal(countCodePoints(text), 7);
  assert.equal(countCodePoints(''), 0);
  assert.equal(advanceCodePoints(text, 0, 2), 3);
  assert.equal(advanceCodePoints(text, 0, 100), text.length, 'stops at the end');
  assert.equal(advanceCodePoints(text, 3, 0), 3);
  assert.deepEqual([...codePointsFrom(text, 1)], ['😀', 'y', HI, 'z', LO, HI]);
  assert.deepEqual(Array.from(unitOffsets(text)), [0, 1, 3, 4, 5, 6, 7, 8]);
});

test('an offset inside a pair moves to after it; elsewhere it stays', () => {
  const text = 'a😀b';
  assert.ok(splitsPair(text, 2));
  assert.equal(alignToCodePoint(text, 2), 3);
  for (const o of [0, 1, 3, 4]) {
    assert.ok(!splitsPair(text, o));
    assert.equal(alignToCodePoint(text, o), o);
  }
  assert.equal(alignToCodePoint(`${LO}${LO}`, 1), 1, 'two lone lows are no pair');
});

test('one code point: a BMP character or a whole pair, never a lone half or two characters', () => {
  for (const s of ['a', 'é', '😀', '\uFFFD']) assert.ok(isSingleCodePoint(s), s);
  for (const s of ['', 'ab', HI, LO, LO + HI, 'a😀']) assert.ok(!isSingleCodePoint(s), JSON.stringify(s));
});

test('common prefix in code points: a pair and its lone first half differ', () => {
  assert.equal(commonPrefixCodePoints('x😀yz', 'x😀yw'), 3);
  assert.equal(commonPrefixCodePoints(`x${HI}`, 'x😀'), 1);
  assert.equal(commonPrefixCodePoints('x😀', `x${HI}`), 1);
  assert.equal(commonPrefixCodePoints(`x${HI}a`, `x${HI}b`), 2);
  assert.equal(commonPrefixCodePoints('', 'abc'), 0);
  assert.equal(commonPrefixCodePoints('abc', 'abc'), 3);
});

test('agrees with Array.from and codePointAt on random text with pairs and lone surrogates', () => {
  const rng = new Random(3);
  for (let trial = 0; trial < 200; trial++) {
    const text = randomText(rng, 1 + Math.floor(rng.next() * 40));
    const cps = Array.from(text);
    assert.equal(countCodePoints(text), cps.length);
    assert.deepEqual([...codePointsFrom(text, 0)], cps);
    const offsets = Array.from(unitOffsets(text));
    assert.equal(offsets.length, cps.length + 1);
    let unit = 0;
    cps.forEach((ch, k) => {
      assert.equal(offsets[k], unit);
      assert.equal(codePointWidth(text, unit), ch.length);
      assert.equal(advanceCodePoints(text, 0, k), unit);
      if (ch.length === 2) assert.equal(pairCodePoint(ch.charCodeAt(0), ch.charCodeAt(1)), ch.codePointAt(0));
      unit += ch.length;
    });
    assert.equal(offsets[cps.length], text.length);
    for (let o = 0; o <= text.length; o++) assert.equal(alignToCodePoint(text, o), offsets.includes(o) ? o : o + 1);
    // Common prefix against a copy changed at one unit: the code points before the one holding that unit.
    const at = Math.floor(rng.next() * text.length);
    const other = text.slice(0, at) + '#' + text.slice(at + 1);
    const holding = offsets.findIndex((u, k) => u <= at && at < offsets[k + 1]);
    assert.equal(commonPrefixCodePoints(text, other), holding, `${JSON.stringify(text)} changed at ${at}`);
  }
});
