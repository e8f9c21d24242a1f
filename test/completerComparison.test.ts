/**
 * Every completer on the same positions (src/engine/completion/completerComparison.ts,
 * adaptedCompleter.ts, checkpointMixture.ts, src/cli/completeEval.ts, src/cli/mixture.ts): no
 * completer reads text at or after the cursor; the adapted network adapts on whole segments before
 * the cursor only; mixture.json is written, read back, and refused with a reason when damaged or
 * foreign; complete-eval's `models` map and the mixture kept at the end of training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { ModelConfig } from '../src/engine/nn/config';
import { initialParams } from '../src/engine/nn/model';
import { InferenceModel } from '../src/engine/inference/inference';
import { NGramModel } from '../src/engine/ngram/ngram';
import { CompletionEngine } from '../src/engine/completion/networkCompleter';
import { NGramCompleter } from '../src/engine/completion/ngramCompleter';
import { HybridCompleter } from '../src/engine/completion/hybridCompleter';
import { AdaptedNetworkCompleter } from '../src/engine/completion/adaptedCompleter';
import { AdaptedHybridCompleter } from '../src/engine/completion/adaptedHybridCompleter';
import { DynamicEvaluator } from '../src/engine/adaptation/dynamicEvaluation';
import { gatherGradientStatistics } from '../src/engine/adaptation/gradientStatistics';
import { MixtureGate, mixtureLoss } from '../src/engine/completion/mixture';
import { corpusNGramComponent, localityComponent, mixtureData, staticNetworkComponent } from '../src/engine/completion/heldOutScores';
import { EvalPosition, SuggestionRecord } from '../src/engine/completion/completionMetrics';
import { heldOutMixtureLosses, RemembersDocuments, suggestInFileOrder } from '../src/engine/completion/completerComparison';
import {
  DEFAULT_GATE, fitGates, loadMixture, MixtureFileError, mixtureMismatch, NGRAM_CACHE_GATE, saveMixture, StoredMixture, subsetData,
} from '../src/engine/completion/checkpointMixture';
import type { Completer, CompletionOptions, CompletionRequest } from '../src/engine/completion/completer';
import type { LoadedCheckpoint } from '../src/engine/training/checkpoint';
import { assertCleanError, runCli } from './support/cli';
import { cSource, tempDir, writeTree } from './support/fixtures';

const TRAIN = cSource(12);
const SECRET_A = 'zqxvjw_kmpl(';
const SECRET_B = 'wvkq_jzxmpl(';

async function parts() {
  await initBackend('auto');
  const vocab = Vocabulary.fromText(TRAIN + SECRET_A + SECRET_B);
  const cfg: ModelConfig = { kind: 'lstm', layers: 1, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const params = initialParams(cfg, 3);
  const inference = new InferenceModel(cfg, vocab, params);
  const ngram = NGramModel.build(vocab.encode(TRAIN), vocab.size, 5);
  const stats = await gatherGradientStatistics(cfg, params, vocab.encode(TRAIN), { segment: 8, maxChars: 2000 });
  const fit = fitGates(inference, ngram, [vocab.encode(cSource(3))], [DEFAULT_GATE, NGRAM_CACHE_GATE]);
  return { vocab, cfg, params, inference, ngram, stats, gates: fit.gates };
}

type Parts = Awaited<ReturnType<typeof parts>>;

/** Every completer of complete-eval, made fresh. */
function completers(p: Parts): { name: string; completer: Completer; memory?: RemembersDocuments }[] {
  const adapted = new AdaptedNetworkCompleter(new DynamicEvaluator({ config: p.cfg, vocab: p.vocab, params: p.params }, p.stats, { segment: 8, learningRate: 0.05 }));
  const ngramCache = new HybridCompleter({ network: null, ngram: p.ngram, gate: p.gates[1], vocab: p.vocab });
  const hybrid = new HybridCompleter({ network: new CompletionEngine(p.inference), ngram: p.ngram, gate: p.gates[0], vocab: p.vocab });
  const hybridAdapted = new AdaptedHybridCompleter(new AdaptedNetworkCompleter(new DynamicEvaluator({ config: p.cfg, vocab: p.vocab, params: p.params }, p.stats, { segment: 8, learningRate: 0.05 })), p.ngram, p.gates[0]);
  return [
    { name: 'lstm', completer: new CompletionEngine(p.inference) },
    { name: 'lstm-adapted', completer: adapted, memory: adapted },
    { name: 'ngram', completer: new NGramCompleter(p.ngram, p.vocab) },
    { name: 'ngram-cache', completer: ngramCache, memory: ngramCache },
    { name: 'hybrid', completer: hybrid, memory: hybrid },
    { name: 'hybrid-adapted', completer: hybridAdapted, memory: hybridAdapted },
  ];
}

/** A completer that cheats: it suggests what follows the cursor. */
const peeking: Completer = {
  kind: 'ngram',
  vocab: Vocabulary.fromText('x'),
  complete: (req: CompletionRequest, o?: Partial<CompletionOptions>) => ({ text: req.text.slice(req.offset, req.offset + (o?.maxLength ?? 5)).split('\n')[0], symbols: 0, model: 'ngram', contextRead: 0, cache: 'none', readMs: 0, decodeMs: 0 }),
  completeAsync: () => Promise.reject(new Error('not used')),
  prime: () => undefined,
  invalidate: () => undefined,
  forget: () => undefined,
};

const suggestions = (rs: SuggestionRecord[]) => rs.map((r) => [r.token.suggestion, r.line.suggestion]);

test('no completer reads text at or after the cursor: the same text before every cursor, another after it, gives the same suggestions', async () => {
  const p = await parts();
  // File 1 repeats a phrase after the cursor many times: a completer that had read past the cursor
  // (the file cache, the adapted weights) could copy it.
  const before = cSource(2) + '\nstatic int ';
  const after = (s: string) => `${s}a, b);\n`.repeat(40) + `int main(void) { return ${s}1, 2); }\n`;
  const earlier = cSource(4);
  const textsA = [earlier, before + after(SECRET_A)];
  const textsB = [earlier, before + after(SECRET_B)];
  const positions: EvalPosition[] = [
    { file: 0, offset: 40, kind: 'inside' },
    { file: 0, offset: 300, kind: 'start' },
    { file: 1, offset: 60, kind: 'start' },
    { file: 1, offset: 200, kind: 'inside' },
    { file: 1, offset: before.length, kind: 'start' }, // the cursor right before the phrase
  ];
  const so = { contextChars: 400, beamWidth: 1, maxTokenLength: 12, maxLineLength: 30 };
  const a = completers(p);
  const b = completers(p);
  for (let i = 0; i < a.length; i++) {
    const ra = suggestInFileOrder(a[i].completer, textsA, positions, so, a[i].memory);
    const rb = suggestInFileOrder(b[i].completer, textsB, positions, so, b[i].memory);
    assert.deepEqual(suggestions(ra), suggestions(rb), `${a[i].name} saw text after the cursor`);
    assert.ok(!ra.at(-1)!.line.suggestion.includes(SECRET_A.slice(0, 6)), `${a[i].name} suggested the phrase after the cursor`);
  }
  // The check catches a completer that reads past the cursor.
  assert.notDeepEqual(suggestions(suggestInFileOrder(peeking, textsA, positions, so)), suggestions(suggestInFileOrder(peeking, textsB, positions, so)));
  // Positions out of file order are refused (the reading of earlier files relies on it).
  assert.throws(() => suggestInFileOrder(a[0].completer, textsA, [positions[3], positions[2]], so), /file order/);
});

test('the adapted network adapts on whole segments before the cursor, goes on from where it stopped, and its suggestions follow the adapted weights', async () => {
  const p = await parts();
  const evaluator = new DynamicEvaluator({ config: p.cfg, vocab: p.vocab, params: p.params }, p.stats, { segment: 8, learningRate: 0.05 });
  const c = new AdaptedNetworkCompleter(evaluator);
  const text = 'kmalloc_zeroed(x);\n'.repeat(30);
  c.adaptTo({ key: 'd', text, offset: 7 });
  assert.equal(c.totals.chars, 0, 'fewer than a segment before the cursor: nothing read');
  c.adaptTo({ key: 'd', text, offset: 30 });
  assert.equal(c.totals.segments, 3); // 1 input + 3 × 8 predicted ≤ 30
  assert.equal(c.totals.chars, 24);
  c.adaptTo({ key: 'd', text, offset: 41 });
  assert.equal(c.totals.segments, 5, 'goes on from where it stopped');
  const req = { key: 'd', text, offset: 400 };
  const opts = { stopAt: 'line' as const, maxLength: 20 };
  const adaptedText = c.complete(req, opts)!.text;
  assert.equal(c.totals.chars, 392, 'read up to the last whole segment before the cursor (1 input + 49 × 8)');
  assert.equal(evaluator.updates, 49);
  // The suggestion is that of the network with the weights as adapted now, reading from the cursor's anchor.
  const same = new CompletionEngine(new InferenceModel(p.cfg, p.vocab, evaluator.adaptedWeights()));
  assert.equal(same.complete(req, opts)!.text, adaptedText);
  assert.notDeepEqual(Array.from(evaluator.adaptedWeights().get('l1.wh')!), Array.from(p.params.get('l1.wh')!), 'the weights moved');
  // Without adaptOnRequest the weights stay as they are.
  c.adaptOnRequest = false;
  c.complete({ key: 'd', text, offset: 560 }, opts);
  assert.equal(evaluator.updates, 49);
  // Remembering the document reads the rest of it (the same text), not all of it again.
  c.rememberDocument(text, 'd');
  assert.equal(c.totals.chars, text.length - 1);
  c.rememberDocument('int x;\n');
  assert.equal(c.totals.chars, text.length - 1 + 7);
});

test('held-out losses of the mixtures come from their own gates; a subset of the fitting data is that of the subset of components', async () => {
  const p = await parts();
  const docs = [p.vocab.encode(cSource(2)), p.vocab.encode(cSource(5))];
  const all = [staticNetworkComponent(p.inference, 'lstm'), corpusNGramComponent(p.ngram, 'ngram'), localityComponent(p.vocab.size, {}, 'cache')];
  const full = new MixtureGate(all.map((c) => c.spec));
  const data = mixtureData(all, docs, full);
  const sub = new MixtureGate(all.slice(1).map((c) => c.spec));
  const direct = mixtureData(all.slice(1), docs, sub);
  const picked = subsetData(data, full, [1, 2], sub);
  assert.deepEqual(Array.from(picked.features), Array.from(direct.features));
  assert.deepEqual(Array.from(picked.targetProbs), Array.from(direct.targetProbs));
  const losses = heldOutMixtureLosses(p.inference, p.ngram, docs, [{ name: 'hybrid', gate: p.gates[0] }, { name: 'ngram-cache', gate: p.gates[1] }]).natsPerChar;
  assert.ok(Math.abs(losses.hybrid - mixtureLoss(p.gates[0], data)) < 1e-4, `${losses.hybrid} against ${mixtureLoss(p.gates[0], data)}`);
  assert.ok(Math.abs(losses['ngram-cache'] - mixtureLoss(p.gates[1], direct)) < 1e-4);
  assert.notEqual(losses.hybrid, losses['ngram-cache']);
  assert.throws(() => heldOutMixtureLosses(null, p.ngram, docs, [{ name: 'hybrid', gate: p.gates[0] }]), /needs a component lstm/);
});

test('mixture.json: written atomically and read back; damaged, foreign or fitted for other weights, it is refused with a reason', async () => {
  const p = await parts();
  const dir = tempDir();
  const file = path.join(dir, 'mixture.json');
  assert.equal(await loadMixture(file), null);
  const fittedFor = { checkpoint: 'best.ckpt', step: 7, checksum: 'abc123', ngramOrder: 5, corpus: '/c', positions: 100, seconds: 1 };
  await saveMixture(file, p.gates[0], fittedFor);
  assert.deepEqual(fs.readdirSync(dir), ['mixture.json'], 'no temporary file left');
  const back = (await loadMixture(file))!;
  assert.deepEqual(Array.from(back.gate.weights), Array.from(p.gates[0].weights));
  assert.deepEqual(back.fittedFor, fittedFor);
  const ckpt = (checksum: string) => ({ path: path.join(dir, 'best.ckpt'), header: { dataChecksum: checksum, step: 7 } }) as unknown as LoadedCheckpoint;
  assert.equal(mixtureMismatch(back, ckpt('abc123'), 5), null);
  assert.match(mixtureMismatch(back, ckpt('fff'), 5)!, /other weights/);
  assert.match(mixtureMismatch(back, ckpt('abc123'), 10)!, /order 5, not 10/);
  assert.match(mixtureMismatch({ gate: p.gates[1], fittedFor } as StoredMixture, ckpt('abc123'), 5)!, /mixes ngram, cache/);

  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(0, text.length / 2));
  await assert.rejects(loadMixture(file), (e: Error) => e instanceof MixtureFileError && /mixture\.json cannot be used: it is not JSON.*lstm-lab mixture/.test(e.message));
  fs.writeFileSync(file, JSON.stringify({ format: 'someone-else', weights: [] }));
  await assert.rejects(loadMixture(file), /cannot be used: not a mixture gate \(format someone-else/);
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(text), weights: [1, 2, 3] }));
  await assert.rejects(loadMixture(file), /cannot be used: .*weights/);
});

test('training keeps the mixture beside the checkpoint; lstm-lab mixture fits it again; complete-eval compares every completer and uses it', () => {
  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(30), 'b.c': cSource(25), 'c.c': cSource(20), 'd.c': cSource(12) });
  const out = tempDir();
  const tr = runCli(['train', corpus, '--steps', '4', '--eval-every', '4', '--hidden', '16', '--seq', '16', '--batch', '4', '--out', out, '--run-id', 'r', '--json']);
  assert.equal(tr.code, 0, tr.stderr);
  const run = path.join(out, 'r');
  const ckpt = path.join(run, 'best.ckpt');
  const mixtureFile = path.join(run, 'mixture.json');
  assert.ok(fs.existsSync(mixtureFile), 'mixture.json written at the end of training');
  const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
  assert.equal(info.status, 'finished');
  assert.equal(info.mixture.file, mixtureFile);
  assert.ok(info.mixture.positions > 0 && info.mixture.seconds >= 0 && Number.isFinite(info.mixture.natsPerChar));

  const args = ['complete-eval', ckpt, corpus, '--json', '--positions', '30', '--latency-positions', '2', '--cold-context', '200', '--ngram-order', '5'];
  // Fitted with another n-gram order than training's (10): complete-eval says so and fits its own.
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.default, 'hybrid-adapted');
  assert.deepEqual(Object.keys(rep.models), ['lstm', 'lstm-adapted', 'ngram', 'ngram-cache', 'hybrid', 'hybrid-adapted']);
  const kinds = Object.fromEntries(Object.entries(rep.models).map(([n, m]) => [n, (m as { kind: string }).kind]));
  assert.deepEqual(kinds, { lstm: 'network', 'lstm-adapted': 'network', ngram: 'ngram', 'ngram-cache': 'ngram', hybrid: 'hybrid', 'hybrid-adapted': 'hybrid' });
  for (const [name, m] of Object.entries(rep.models) as [string, Record<string, any>][]) {
    for (const k of ['tokenExact', 'tokenExactAtStart', 'tokenExactInside', 'lineExact']) assert.ok(m[k] >= 0 && m[k] <= 1, `${name} ${k}`);
    assert.ok(m.charsSavedPerSuggestion >= 0, name);
    assert.ok(Number.isFinite(m.heldOutNatsPerChar) && m.heldOutNatsPerChar > 0, name);
    for (const w of ['warm', 'cold']) {
      assert.equal(m.latencyMs[w].samples, 2, `${name} ${w}`);
      assert.ok(m.latencyMs[w].p95 >= m.latencyMs[w].p50);
    }
  }
  // Six completers, six cross-entropies: the mixtures' and the caches' figures are their own.
  const ce = Object.values(rep.models).map((m) => (m as { heldOutNatsPerChar: number }).heldOutNatsPerChar);
  assert.equal(new Set(ce).size, 6, JSON.stringify(ce));
  assert.equal(rep.models['lstm-adapted'].adaptation.segments > 0, true);
  // The top-level figures are the static network's and the n-gram's.
  assert.equal(rep.lstm.tokenExact, rep.models.lstm.tokenExact);
  assert.equal(rep.baseline.heldOutNatsPerChar, rep.models.ngram.heldOutNatsPerChar);
  assert.equal(rep.mixture.source, 'fitted');
  assert.equal(rep.mixture.adaptedSource, 'fitted');
  assert.match(rep.mixture.note, /order 10, not 5/);

  // lstm-lab mixture fits it again for this order; complete-eval then uses it.
  const m = runCli(['mixture', ckpt, '--ngram-order', '5', '--json']);
  assert.equal(m.code, 0, m.stderr);
  const fitted = JSON.parse(m.stdout);
  assert.deepEqual(fitted.components, ['lstm', 'ngram', 'cache']);
  assert.equal(fitted.file, mixtureFile);
  const subset = JSON.parse(runCli([...args, '--models', 'hybrid']).stdout);
  assert.deepEqual(Object.keys(subset.models), ['lstm', 'ngram', 'hybrid']);
  assert.equal(subset.mixture.source, 'mixture.json');
  // The same fit (same validation text, same n-gram), now read from the file.
  assert.equal(subset.models.hybrid.heldOutNatsPerChar, rep.models.hybrid.heldOutNatsPerChar);
  // The gate over the adapted network is kept too, and the default completer reads it.
  assert.ok(fitted.adaptedFit && Number.isFinite(fitted.adaptedFit.natsPerChar), JSON.stringify(fitted.adaptedFit));
  const adapted = JSON.parse(runCli([...args, '--models', 'hybrid-adapted']).stdout);
  assert.equal(adapted.mixture.adaptedSource, 'mixture.json');
  assert.equal(adapted.models['hybrid-adapted'].heldOutNatsPerChar, rep.models['hybrid-adapted'].heldOutNatsPerChar);

  // A damaged mixture.json is refused, with the reason, and the gate fitted instead.
  fs.writeFileSync(mixtureFile, '{"format": "lstm-lab/mixture", "vers');
  const damaged = JSON.parse(runCli([...args, '--models', 'hybrid']).stdout);
  assert.equal(damaged.mixture.source, 'fitted');
  assert.match(damaged.mixture.note, /mixture\.json cannot be used: it is not JSON/);
  assertCleanError(runCli([...args, '--models', 'hybrid,gpt']), 2, /--models: no completer named gpt/);
  const text = runCli(['complete-eval', ckpt, corpus, '--positions', '10', '--latency-positions', '0', '--ngram-order', '5', '--models', 'ngram-cache']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /lstm +ngram +ngram-cache/);
});
