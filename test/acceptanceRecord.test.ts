/**
 * Tests for the local record of suggestions (src/extension/completions/acceptanceRecord.ts) and the
 * offers behind it (suggestionOffers.ts): an offer typed through is shown once; accepted and
 * partially accepted at most once each; the record survives a save and a reopen; a foreign file is
 * refused with what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { AcceptanceRecord, acceptanceText, completersByUse } from '../src/extension/completions/acceptanceRecord';
import { SuggestionOffers } from '../src/extension/completions/suggestionOffers';
import { tempDir } from './support/fixtures';

test('offers: shown once however typed through; accepted and partly accepted once each; saved and read back', async () => {
  const file = path.join(tempDir(), 'completion-record.json');
  const record = await AcceptanceRecord.open(file);
  const offers = new SuggestionOffers(() => record);
  const a = offers.shownNew('/runs/r1', { key: 'a.c', line: 1, linePrefix: 'int ', text: 'ext4_size(inode);', completer: 'hybrid' });
  offers.didEdit('a.c', { line: 1, character: 4, rangeLength: 0, text: 'ext4_' }); // Ctrl+→: a word of it
  const rest = offers.rest('a.c', 1, 'int ext4_')!; // then the provider is asked again: the same offer
  assert.equal(rest.text, 'size(inode);');
  assert.equal(rest.offer, a.offer);
  offers.shownAgain(rest);
  offers.didEdit('a.c', { line: 1, character: 9, rangeLength: 0, text: 'size(' });
  offers.didAccept(a.offer);
  offers.didAccept(a.offer);
  offers.shownNew('/runs/r1', { key: 'a.c', line: 2, linePrefix: '', text: 'return 0;', completer: 'hybrid' });
  offers.shownNew('/runs/r1', { key: 'a.c', line: 3, linePrefix: '', text: '}', completer: 'lstm' });
  assert.deepEqual(record.counts('/runs/r1'), { hybrid: { shown: 2, accepted: 1, partial: 1 }, lstm: { shown: 1, accepted: 0, partial: 0 } });
  assert.equal(acceptanceText(record.counts('/runs/r1').hybrid), '50 % accepted (1 of 2), 50 % partly');
  assert.equal(acceptanceText(undefined), 'none shown yet');
  assert.deepEqual(completersByUse(record.counts('/runs/r1')).map(([n]) => n), ['hybrid', 'lstm']);
  await record.save();
  const again = await AcceptanceRecord.open(file);
  assert.deepEqual(again.counts('/runs/r1'), record.counts('/runs/r1'));
  assert.deepEqual(again.counts('/runs/other'), {});
});

test('a record of another format is refused with what to do', async () => {
  const file = path.join(tempDir(), 'completion-record.json');
  fs.writeFileSync(file, JSON.stringify({ format: 'something', version: 1, runs: {} }));
  await assert.rejects(AcceptanceRecord.open(file), /is not a completion record of version 1.*delete it to start a new one/);
});
