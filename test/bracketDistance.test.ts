/**
 * Tests for long-range interactions (src/analysis/bracketDistance.ts): pairs and distances on a
 * hand-made C text, brackets in strings, comments and char literals left out, bad nesting counted as
 * unmatched, the power-of-two bins, and the report's counts adding up to the closers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binRange, bracketPairs, bracketReport, distanceBin } from '../src/analysis/bracketDistance';
import { lexerConfig } from '../src/analysis/conceptLexer';

const C = lexerConfig('c');

test('pairs and distances in code points; strings, comments and char literals are skipped', () => {
  const text = 'f(a[1]) { s = ")"; /* } */ c = \'}\'; g(); } é)';
  const { pairs, unmatched } = bracketPairs(text, C);
  const at = (s: string, from = 0) => Array.from(text.slice(0, text.indexOf(s, from))).length;
  assert.deepEqual(
    pairs.map((p) => [p.closer, p.open, p.close]),
    [
      [']', at('['), at(']')],
      [')', at('('), at(')')],
      [')', at('g(') + 1, at('g(') + 2],
      ['}', at('{'), at('} é')],
    ],
  );
  assert.equal(pairs[2].close - pairs[2].open, 1, '() has distance 1');
  assert.equal(unmatched, 1, 'the last ) has no partner');
});

test('a closer whose partner is not on top of the stack is unmatched, not paired across', () => {
  const { pairs, unmatched } = bracketPairs('( [ ) ]', C);
  assert.deepEqual(pairs, [{ open: 2, close: 6, closer: ']' }]);
  assert.equal(unmatched, 1);
});

test('bins are 1–2, 3–4, 5–8, …; the report averages each model per bin and counts every closer once', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 8, 9, 16, 17].map(distanceBin), [0, 0, 1, 1, 2, 2, 3, 3, 4]);
  assert.deepEqual([0, 1, 2, 3].map(binRange), [[1, 2], [3, 4], [5, 8], [9, 16]]);
  const texts = ['(a)', 'x(  ) [1234567]'];
  const net = texts.map((t) => Float32Array.from(Array.from(t), (_, i) => i / 10));
  const ng = texts.map((t) => new Float32Array(Array.from(t).length).fill(0.5));
  const r = bracketReport(texts, C, net, ng);
  assert.equal(r.closers, 3);
  assert.equal(r.bins.reduce((s, b) => s + b.count, 0), r.closers);
  // (a): distance 2, closer at 2 → 0.2; (  ): distance 3, closer at 4 → 0.4; [1234567]: distance 8, closer at 14 → 1.4.
  assert.deepEqual(r.bins.map((b) => [b.distance, b.count, Number(b.network.toFixed(6)), b.ngram]), [
    [[1, 2], 1, 0.2, 0.5],
    [[3, 4], 1, 0.4, 0.5],
    [[5, 8], 1, 1.4, 0.5],
  ]);
});
