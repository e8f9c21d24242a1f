/**
 * Tests for what the completion worker serves as the hybrid (src/extension/completions/adaptiveHybrid.ts):
 * the gate chosen from mixture.json's content (the full hybrid, the n-gram with the caches, or the
 * unfitted fallback with the reason), and completions that read only the text before the cursor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveHybrid, servingGate, unfittedGate } from '../src/extension/completions/adaptiveHybrid';
import { MixtureGate } from '../src/engine/completion/mixture';
import { LOCALITY_EXTRAS } from '../src/engine/completion/heldOutScores';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { NGramModel } from '../src/engine/ngram/ngram';

const FULL = new MixtureGate([{ name: 'lstm', extras: 0 }, { name: 'ngram', extras: 0 }, { name: 'cache', extras: LOCALITY_EXTRAS }]).toJSON();

test('servingGate: a [network, ngram, cache] gate serves the hybrid; without a file, a damaged one or no network, the n-gram with the caches, saying why', () => {
  assert.equal(servingGate(FULL, true).info.completer, 'hybrid');
  assert.match(servingGate(FULL, true).info.note, /no gate for the adapted network/);
  assert.equal(servingGate(FULL, true).adaptedGate, undefined);
  // With the adapted network's gate (mixture.json's `adapted`): both serve, nothing to say.
  const adapted = new MixtureGate([{ name: 'lstm', extras: 0 }, { name: 'ngram', extras: 0 }, { name: 'cache', extras: LOCALITY_EXTRAS }]);
  adapted.weights[1] = 2.5;
  const both = servingGate({ ...FULL, adapted: adapted.toJSON() }, true);
  assert.equal(both.info.note, '');
  assert.deepEqual(Array.from(both.adaptedGate!.weights), Array.from(adapted.weights));
  const badAdapted = servingGate({ ...FULL, adapted: unfittedGate().toJSON() }, true);
  assert.equal(badAdapted.adaptedGate, undefined);
  assert.match(badAdapted.info.note, /the adapted gate of mixture\.json cannot be used/);
  assert.equal(badAdapted.info.completer, 'hybrid', 'the static gate still serves');
  const none = servingGate(null, true);
  assert.equal(none.info.completer, 'ngram+cache');
  assert.match(none.info.note, /no mixture is fitted for this run: run `lstm-lab mixture`/);
  assert.deepEqual(none.gate.components.map((c) => c.name), ['ngram', 'cache']);
  assert.match(servingGate({ format: 'other' }, true).info.note, /mixture\.json cannot be used/);
  assert.match(servingGate(FULL, false).info.note, /the network could not be loaded/);
  assert.equal(unfittedGate().components.length, 2);
});

test('the n-gram with the caches completes from the text before the cursor, and the file cache copies what the file already has', () => {
  const train = 'int a;\nint b;\n'.repeat(50);
  const vocab = Vocabulary.fromText(train + 'zeta_valuexyq();\n');
  const ngram = NGramModel.build(vocab.encode(train), vocab.size, 5);
  const h = new AdaptiveHybrid({ vocab, ngram, network: null, mixture: null });
  assert.equal(h.info.completer, 'ngram+cache');
  const before = 'zeta_valuexyq();\nzeta_valuexyq();\nzeta_val';
  const c = h.complete('doc', before, { maxLength: 12, stopAt: 'line' });
  assert.ok(c);
  assert.equal(c.text, 'uexyq();', 'the file cache has seen this line twice');
  h.dispose();
});
