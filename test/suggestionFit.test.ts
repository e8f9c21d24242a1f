/**
 * Tests for the rules a suggestion obeys in the editor (src/extension/completions/suggestionFit.ts):
 * no repeat of the text after the cursor, the rest of a suggestion while it is typed through, and
 * what counts as a partial accept; and for the settings' stop rule (multi-line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPartialAccept, trimOverlap, TypingThrough } from '../src/extension/completions/suggestionFit';

test('trimOverlap: the end that repeats the rest of the line is cut; a bracket the suggestion opened stays', () => {
  assert.equal(trimOverlap('x, y);', ');'), 'x, y', 'the editor closed the call already');
  assert.equal(trimOverlap('count)', ')'), 'count');
  assert.equal(trimOverlap('f(a)', ')'), 'f(a)', 'its own ) closes its own (');
  assert.equal(trimOverlap(');', ');'), null, 'nothing but a repeat');
  assert.equal(trimOverlap('   ', ''), null, 'spaces alone are no suggestion');
  assert.equal(trimOverlap('foo', ''), 'foo');
  assert.equal(trimOverlap('foo', 'bar'), 'foo', 'no overlap: unchanged');
});

test('TypingThrough: typing what the ghost text shows gets the rest of the same suggestion; anything else, nothing', () => {
  const t = new TypingThrough();
  t.shown({ key: 'a.c', line: 3, linePrefix: '\tif (', text: 'err < 0)', offer: 1, completer: 'hybrid' });
  assert.equal(t.rest('a.c', 3, '\tif (er')?.text, 'r < 0)');
  assert.equal(t.rest('a.c', 3, '\tif (')?.text, 'err < 0)', 'asked again at the same place');
  assert.equal(t.rest('a.c', 3, '\tif (x'), null, 'typed something else');
  assert.equal(t.rest('a.c', 4, '\tif (er'), null, 'another line');
  assert.equal(t.rest('b.c', 3, '\tif (er'), null, 'another document');
  assert.equal(t.rest('a.c', 3, '\tif (err < 0)'), null, 'all of it typed: nothing left');
  t.clear();
  assert.equal(t.rest('a.c', 3, '\tif (er'), null);
});

test('a partial accept is one insert at the suggestion of a beginning of it, two characters or more, not all of it', () => {
  const shown = { key: 'a.c', line: 2, linePrefix: 'int ', text: 'ext4_inode_size;', offer: 1, completer: 'hybrid' };
  assert.equal(isPartialAccept(shown, { line: 2, character: 4, rangeLength: 0, text: 'ext4_' }), true);
  assert.equal(isPartialAccept(shown, { line: 2, character: 4, rangeLength: 0, text: 'e' }), false, 'one character is typing');
  assert.equal(isPartialAccept(shown, { line: 2, character: 4, rangeLength: 0, text: 'ext4_inode_size;' }), false, 'all of it is an accept');
  assert.equal(isPartialAccept(shown, { line: 2, character: 5, rangeLength: 0, text: 'ext4_' }), false, 'elsewhere');
  assert.equal(isPartialAccept(shown, { line: 2, character: 4, rangeLength: 0, text: 'exit' }), false, 'not a beginning of it');
});

test('TypingThrough: ghost text shown over the suggestion list\'s item continues once the item is accepted', () => {
  // "struct node_" typed, the list's item "node_9" replaces "node_"; the ghost text "node_9 *n;" is kept from the item's start.
  const t = new TypingThrough();
  t.shown({ key: 'k', line: 3, linePrefix: 'struct ', text: 'node_9 *n;', completer: 'hybrid', offer: 7 });
  assert.deepEqual(t.rest('k', 3, 'struct node_9'), { key: 'k', line: 3, linePrefix: 'struct node_9', text: ' *n;', completer: 'hybrid', offer: 7 });
  assert.equal(t.rest('k', 3, 'struct node_1'), null);
});
