/**
 * Ghost text with the suggestion list open: a completion is offered only when it extends the selected
 * item (VS Code's contract), from the network's own continuation when it runs through the item, else
 * from the continuation read after the item's text; the text after the cursor is never read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreeingCompletion, completionAfterItem, textWithItem } from '../src/extension/completions/selectedSuggestion';

test('a continuation at the cursor that runs through the selected item extends it', () => {
  // typed "ext4_", list selects "ext4_inode_info", the network continues "inode_info *ei"
  assert.equal(agreeingCompletion('ext4_', 'ext4_inode_info', 'inode_info *ei'), 'ext4_inode_info *ei');
  // it must go beyond the item: the same word alone adds nothing to the list
  assert.equal(agreeingCompletion('ext4_', 'ext4_inode_info', 'inode_info'), null);
  // nor only spaces after it
  assert.equal(agreeingCompletion('ext4_', 'ext4_inode_info', 'inode_info   '), null);
  // a different word does not extend the item
  assert.equal(agreeingCompletion('ext4_', 'ext4_inode_info', 'sb_info *sbi'), null);
  assert.equal(agreeingCompletion('ext4_', 'ext4_inode_info', 'inode'), null);
});

test('otherwise the network reads the item as if accepted, and only what precedes the range', () => {
  const doc = 'int f(void)\n{\n\tstruct ext4_\n\treturn 0;\n}\n';
  const start = doc.indexOf('ext4_');
  const item = { start, end: start + 'ext4_'.length, text: 'ext4_inode_info' };
  const v = textWithItem(doc, item);
  assert.equal(v.text, 'int f(void)\n{\n\tstruct ext4_inode_info');
  assert.equal(v.offset, v.text.length);
  assert.ok(!v.text.includes('return'), 'never the text after the cursor');
  assert.equal(completionAfterItem('ext4_inode_info', ' *ei = EXT4_I(inode);'), 'ext4_inode_info *ei = EXT4_I(inode);');
  assert.equal(completionAfterItem('ext4_inode_info', '  '), null);
});
