/**
 * Completions (src/engine/completion/, src/cli/completeEval.ts): the state cache gives bit-for-bit
 * the state and the suggestion of a full re-read, whatever was cached and edited before; typing one
 * character reads one symbol; stopping at the end of the line and of the token; beam width 1 is
 * greedy; cancellation stops the work and leaves the cache sound; complete-eval's metrics on
 * hand-checkable cases; the CLI's complete-eval on a tiny trained model and its error paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { ModelConfig } from '../src/engine/nn/config';
import { CancellationLike, Completer, Completion, completionOptions, CompletionOptions, CompletionRequest } from '../src/engine/completion/completer';
import { BLOCK, CompletionEngine, networkStepper } from '../src/engine/completion/networkCompleter';
import { NGramCompleter, ngramStepper } from '../src/engine/completion/ngramCompleter';
import { runDecoder } from '../src/engine/completion/decoders';
import { lineTarget, stopRule, tokenContinues, tokenTarget } from '../src/engine/completion/tokens';
import { InferenceModel, InferenceState } from '../src/engine/inference/inference';
import { initialParams } from '../src/engine/nn/model';
import { NGRAM_MAX_ORDER, NGramModel } from '../src/engine/ngram/ngram';
import { Random } from '../src/engine/nn/random';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { percentile, samplePositions, scoreSuggestions, SuggestionRecord, suggestAll, tokenPositions } from '../src/engine/completion/completionMetrics';
import { codePointWidth, commonPrefixCodePoints } from '../src/engine/data/codePoints';
import { cSource, tempDir, writeTree } from './support/fixtures';
import { assertCleanError, runCli } from './support/cli';


/** Text with accents, CJK, an astral emoji (a surrogate pair) and C, long enough for several anchors. */
function mixedText(lines: number): string {
  const r = new Random(7);
  const words = ['naïve', 'café', 'größe', '日本語', 'x😀y', 'kmalloc', 'page', '->', '==', 'return', 'if', '(', ')', '{', '}', ';', '"é"'];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = 2 + Math.floor(r.next() * 8);
    out.push('\t'.repeat(i % 3) + Array.from({ length: n }, () => words[Math.floor(r.next() * words.length)]).join(r.next() < 0.5 ? ' ' : ''));
  }
  return out.join('\n') + '\n';
}

/** A randomly initialised network with sharpened weights (so its greedy choices are not near-ties). */
function network(kind: 'lstm' | 'gru', vocab: Vocabulary): InferenceModel {
  const cfg: ModelConfig = { kind, layers: 2, hidden: 32, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const p = initialParams(cfg, 3);
  for (const [name, a] of p) if (name !== 'l1.b' && name !== 'l2.b') for (let i = 0; i < a.length; i++) a[i] *= 4;
  return new InferenceModel(cfg, vocab, p);
}

function sameState(a: InferenceState, b: InferenceState, what: string): void {
  for (let k = 0; k < a.h.length; k++) {
    assert.deepEqual(Array.from(a.h[k]), Array.from(b.h[k]), `${what}: h of layer ${k + 1}`);
    if (a.c[k]) assert.deepEqual(Array.from(a.c[k]!), Array.from(b.c[k]!), `${what}: c of layer ${k + 1}`);
  }
}

/** The fresh answer (no cache) for a request. */
function fresh(model: InferenceModel, req: CompletionRequest, opts: Partial<CompletionOptions>): { state: InferenceState; completion: Completion } {
  const e = new CompletionEngine(model);
  const r = { text: req.text, offset: req.offset };
  return { state: e.stateAt(r, opts), completion: e.complete(r, opts)! };
}

const OPTS: Partial<CompletionOptions> = { contextChars: 300, maxLength: 24, stopAt: 'none' };

test('state cache: typing character by character gives the states and suggestions of a full re-read, one symbol read per character', async () => {
  await initBackend('auto');
  const text = mixedText(60);
  const vocab = Vocabulary.fromText(text);
  for (const kind of ['lstm', 'gru'] as const) {
    const model = network(kind, vocab);
    const engine = new CompletionEngine(model);
    let reads1 = 0;
    let steps = 0;
    // Walk code point by code point over a stretch that crosses anchors (grid 75) and blocks.
    for (let offset = 350; offset < 700; ) {
      const req = { key: 'doc', text, offset };
      const got = engine.complete(req, OPTS)!;
      const want = fresh(model, req, OPTS);
      sameState(engine.stateAt(req, OPTS), want.state, `${kind} at ${offset}`);
      assert.equal(got.text, want.completion.text, `${kind} suggestion at ${offset}`);
      if (steps > 0) {
        assert.ok(got.contextRead <= BLOCK || got.cache === 'none', `${kind} at ${offset}: read ${got.contextRead} (${got.cache})`);
        if (got.contextRead === 1 && got.cache === 'cursor') reads1++;
      }
      steps++;
      offset += codePointWidth(text, offset);
    }
    assert.ok(reads1 > steps * 0.8, `${kind}: ${reads1} of ${steps} characters cost one step`);
  }
});

test('state cache: edits before and after the cached position, jumps back, and explicit invalidation', async () => {
  await initBackend('auto');
  const text = mixedText(80);
  const vocab = Vocabulary.fromText(text + 'Ω');
  const model = network('lstm', vocab);
  const engine = new CompletionEngine(model);
  const check = (t: string, offset: number, what: string) => {
    const req = { key: 'doc', text: t, offset };
    const got = engine.complete(req, OPTS)!;
    const want = fresh(model, req, OPTS);
    sameState(engine.stateAt(req, OPTS), want.state, what);
    assert.equal(got.text, want.completion.text, `${what}: suggestion`);
    return got;
  };
  const cursor = 900;
  check(text, cursor, 'initial');
  // An edit after the cursor: the cached cursor state still serves, nothing is re-read.
  const after = text.slice(0, cursor + 5) + 'Ω inserted 😀 ' + text.slice(cursor + 5);
  const a = check(after, cursor, 'edit after the cursor');
  assert.equal(a.cache, 'cursor');
  assert.equal(a.contextRead, 0);
  // An edit 40 characters before the cursor: re-read from a checkpoint at or before the edit.
  const before = after.slice(0, cursor - 40) + 'é日' + after.slice(cursor - 38);
  const b = check(before, cursor, 'edit before the cursor');
  assert.notEqual(b.cache, 'cursor');
  assert.ok(b.contextRead >= 40 && b.contextRead < 40 + 300, `re-read ${b.contextRead}`);
  // Deleting a surrogate pair's worth of text right before the cursor, then typing on.
  const del = before.slice(0, cursor - 2) + before.slice(cursor);
  check(del, cursor - 2, 'deletion before the cursor');
  for (let i = 0; i < 20; i++) check(del, cursor - 2 + i, `typing after the deletion (+${i})`);
  // Jumping back and forth between two places (two anchors of the same document).
  check(del, 400, 'jump back');
  check(del, cursor, 'jump forward');
  check(del, 401, 'jump back again');
  // An edit before the anchor changes nothing the network reads, and is handled.
  const early = 'Ω' + del;
  check(early, cursor + 1, 'edit before the anchor');
  // invalidate() drops states early; the result is still the re-read's.
  engine.invalidate('doc', 10);
  check(early, cursor + 1, 'after invalidate');
  assert.ok(engine.cacheStats().states > 0);
  engine.forget('doc');
  assert.equal(engine.cacheStats().documents, 0);
});

test('stopping: end of line, end of token (words, operators, leading spaces), maxLength; the n-gram through the same interface', () => {
  const train = 'foo_bar(x);\nfoo_bar(y);\nfoo_bar(x);\np->next = q;\np->next = q;\n'.repeat(20);
  const vocab = Vocabulary.fromText(train);
  const ng = new NGramCompleter(NGramModel.build(vocab.encode(train), vocab.size, 6), vocab);
  const at = (t: string, o: Partial<CompletionOptions>) => ng.complete({ text: t, offset: t.length }, { temperature: 0, beamWidth: 1, ...o })!.text;
  assert.equal(at('x;\nfoo_', { stopAt: 'token' }), 'bar', 'inside a word: the rest of the word');
  assert.equal(at('x;\nfoo_', { stopAt: 'line' }), 'bar(x);');
  assert.equal(at('x;\nfoo_', { stopAt: 'none', maxLength: 12 }), 'bar(x);\nfoo_');
  assert.equal(at('x;\nfoo_', { stopAt: 'line', maxLength: 2 }), 'ba');
  assert.equal(at('q;\np', { stopAt: 'token' }), '->', 'an operator is one token');
  assert.equal(at('q;\np->next', { stopAt: 'token' }), ' =', 'after a word: leading spaces, then one token');
  assert.equal(at('x);\n', { stopAt: 'token' }), 'foo_bar');

  // The rule itself.
  assert.equal(tokenContinues('', 'l'), true);
  assert.equal(tokenContinues('loc', '('), false);
  assert.equal(tokenContinues('', ' '), true);
  assert.equal(tokenContinues(' ', '-'), true);
  assert.equal(tokenContinues(' -', '>'), true);
  assert.equal(tokenContinues(' ->', 'n'), false);
  assert.equal(tokenContinues('x', ' '), false);
  assert.equal(tokenContinues('', '\n'), false);
  assert.equal(tokenContinues('caf', 'é'), true, 'letters beyond ASCII are word characters');
  assert.equal(tokenContinues('日本', '語'), true);
  assert.equal(tokenContinues('x', '😀'), false, 'an emoji is not a word character');
  assert.equal(tokenTarget('return kmalloc(size);', 8), 'malloc');
  assert.equal(tokenTarget('return kmalloc(size);', 14), '(', 'after a word: the next token');
  assert.equal(tokenTarget('return kmalloc(size);', 6), ' kmalloc', 'spaces, then a token');
  assert.equal(tokenTarget('a <<= 2', 2), '<<=');
  assert.equal(tokenTarget('größe = 1', 2), 'öße');
  const line = stopRule('line');
  assert.equal(line('abc', '\n'), true);
  assert.equal(line('abc', ' '), false);

  // The network stops on the same rules: a network that always predicts one symbol.
  const cfg: ModelConfig = { kind: 'lstm', layers: 1, hidden: 16, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const constant = (ch: string) => {
    const p = initialParams(cfg, 1);
    p.get('out.w')!.fill(0);
    p.get('out.b')!.fill(0)[vocab.encode(ch)[0]] = 10;
    return new CompletionEngine(new InferenceModel(cfg, vocab, p));
  };
  const nl = constant('\n');
  assert.equal(nl.complete({ text: 'foo', offset: 3 }, { stopAt: 'line' })!.text, '', 'a line break first: no suggestion');
  assert.equal(nl.complete({ text: 'foo', offset: 3 }, { stopAt: 'none', maxLength: 3 })!.text, '\n\n\n');
  const o = constant('o');
  assert.equal(o.complete({ text: 'f', offset: 1 }, { stopAt: 'token', maxLength: 5 })!.text, 'ooooo', 'maxLength ends a token that never ends');
  const paren = constant('(');
  assert.equal(paren.complete({ text: 'foo', offset: 3 }, { stopAt: 'token' })!.text, '(', 'after a word, "(" is the next token, and one punctuation character is a token');
});

test('beam width 1 is greedy, for the network and the n-gram; wider beams never score worse at the first stop', async () => {
  await initBackend('auto');
  const text = mixedText(40);
  const vocab = Vocabulary.fromText(text);
  const model = network('lstm', vocab);
  const ng = NGramModel.build(vocab.encode(text), vocab.size, 5);
  const engine = new CompletionEngine(model);
  for (const stopAt of ['line', 'token', 'none'] as const) {
    const opts = completionOptions({ maxLength: 30, stopAt, beamWidth: 1, contextChars: 200 });
    for (let offset = 50; offset < text.length; offset += 97) {
      const before = text.slice(0, offset);
      const state = engine.stateAt({ text, offset }, opts);
      const stop = stopRule(stopAt);
      const g = runDecoder('greedy', networkStepper(model), vocab, state, opts, stop);
      assert.equal(runDecoder('beam', networkStepper(model), vocab, state, opts, stop), g, `network, ${stopAt}, at ${offset}`);
      assert.equal(engine.complete({ text, offset }, opts)!.text, g);
      const ctx = Array.from(vocab.encode(before)).slice(-4);
      const ng1 = runDecoder('greedy', ngramStepper(ng), vocab, ctx, opts, stop);
      assert.equal(runDecoder('beam', ngramStepper(ng), vocab, ctx, opts, stop), ng1, `n-gram, ${stopAt}, at ${offset}`);
    }
  }
  // Beam search over the n-gram: width 4 finds a token at least as probable as greedy's.
  const logP = (ctx: number[], s: string, stopCh: string) => {
    let lp = 0;
    const c = ctx.slice();
    for (const id of [...vocab.encode(s), ...vocab.encode(stopCh)]) {
      lp += ng.logProb(c.slice(-4), id);
      c.push(id);
    }
    return lp;
  };
  const opts4 = completionOptions({ maxLength: 12, stopAt: 'line', beamWidth: 4 });
  for (let offset = 60; offset < text.length; offset += 131) {
    const before = text.slice(0, offset);
    const ctx = Array.from(vocab.encode(before)).slice(-4);
    const stop = stopRule('line');
    const g = runDecoder('greedy', ngramStepper(ng), vocab, ctx, { ...opts4, beamWidth: 1 }, stop);
    const b = runDecoder('beam', ngramStepper(ng), vocab, ctx, opts4, stop);
    if (g.length < 12 && b.length < 12) assert.ok(logP(ctx, b, '\n') >= logP(ctx, g, '\n') - 1e-9, `beam at ${offset}: ${JSON.stringify(b)} vs greedy ${JSON.stringify(g)}`);
  }
});

test('cancellation: a cancelled request returns null promptly, completeAsync yields to the event loop, the cache stays sound', async () => {
  await initBackend('auto');
  const text = mixedText(120);
  const vocab = Vocabulary.fromText(text);
  const model = network('lstm', vocab);
  const engine = new CompletionEngine(model);
  const opts: Partial<CompletionOptions> = { contextChars: 2000, maxLength: 40, stopAt: 'none' };
  const afterPolls = (n: number): CancellationLike => {
    let polls = 0;
    return {
      get isCancellationRequested() {
        return ++polls > n;
      },
    };
  };
  const req = { key: 'doc', text, offset: text.length - 10 };
  assert.equal(engine.complete(req, opts, { isCancellationRequested: true }), null, 'cancelled before it starts');
  assert.equal(engine.complete(req, opts, afterPolls(30)), null, 'cancelled while reading the context');
  const partial = engine.cacheStats().states;
  assert.ok(partial > 0, 'what was read before the cancellation is kept');
  const want = fresh(model, req, opts).completion.text;
  assert.equal(engine.complete(req, opts)!.text, want, 'the next request continues from the kept states and agrees with a re-read');

  // Async: cancelled by a token that flips from a timer while the work yields.
  const e2 = new CompletionEngine(model);
  const token = { isCancellationRequested: false };
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    if (ticks === 2) token.isCancellationRequested = true;
  }, 0);
  const r = await e2.completeAsync({ key: 'd', text, offset: text.length }, { ...opts, contextChars: 4000 }, { token, sliceMs: 0 });
  clearInterval(timer);
  assert.equal(r.completion, null, 'cancelled');
  assert.ok(r.slices > 1, 'it yielded to the event loop');
  // Async, not cancelled: the same suggestion as the synchronous path, in several slices.
  const done = await e2.completeAsync(req, opts, { sliceMs: 0 });
  assert.equal(done.completion!.text, want);
  assert.ok(done.slices > 1);
});

test('complete-eval metrics: positions, exact match, characters saved and percentiles on hand-checkable cases', () => {
  // Token starts and insides: "int x = foo(a->b);"
  const t = 'int x = foo(a->b);';
  const p = tokenPositions(t);
  assert.deepEqual(p.starts.map((i) => t[i]), ['i', 'x', '=', 'f', '(', 'a', '-', 'b', ')', ';']);
  assert.deepEqual(p.inside.map((i) => t[i]), ['n', 't', 'o', 'o'], 'inside word tokens only ("->" is one token)');
  const texts = [t, 'return kmalloc(size, GFP_KERNEL);\n'];
  const s1 = samplePositions(texts, 6, 5);
  assert.deepEqual(samplePositions(texts, 6, 5), s1, 'seeded');
  assert.equal(s1.filter((x) => x.kind === 'start').length, 3);
  assert.equal(s1.filter((x) => x.kind === 'inside').length, 3);

  assert.equal(commonPrefixCodePoints('kmalloc(size)', 'kmalloc(sizeof'), 12);
  assert.equal(commonPrefixCodePoints('x😀yz', 'x😀yw'), 3, 'code points, not UTF-16 units');
  assert.equal(commonPrefixCodePoints('', 'abc'), 0);
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 95), 19);

  // Four suggestions: token hits 2 of 4 (start 1/2, inside 1/2), line hits 1 of 4, saved (4+0+8+1)/4.
  const rec = (kind: 'start' | 'inside', tok: [string, string], line: [string, string]): SuggestionRecord => ({
    position: { file: 0, offset: 0, kind },
    token: { target: tok[0], suggestion: tok[1] },
    line: { target: line[0], suggestion: line[1] },
  });
  const s = scoreSuggestions('lstm', [
    rec('start', ['foo', 'foo'], ['foo(a);', 'foo(b);']), // common prefix 'foo('
    rec('start', ['bar', 'baz'], ['bar;', '']),
    rec('inside', ['lloc', 'lloc'], ['lloc(n);', 'lloc(n);']),
    rec('inside', ['ze', 'z'], ['ze);', 'zz']),
  ]);
  assert.equal(s.positions, 4);
  assert.equal(s.tokenExact, 0.5);
  assert.equal(s.tokenExactAtStart, 0.5);
  assert.equal(s.tokenExactInside, 0.5);
  assert.equal(s.lineExact, 0.25);
  assert.equal(s.charsSavedPerSuggestion, (4 + 0 + 8 + 1) / 4);
  assert.equal(s.meanLineSuggestion, (7 + 0 + 8 + 2) / 4);

  // suggestAll computes the targets from the text: a completer that always says "oo(".
  const fixed: Completer = {
    kind: 'ngram',
    vocab: Vocabulary.fromText('fo('),
    complete: (_r, o) => ({ text: o?.stopAt === 'token' ? 'oo' : 'oo(', symbols: 2, model: 'ngram', contextRead: 0, cache: 'none', readMs: 0, decodeMs: 0 }),
    completeAsync: async () => ({ completion: null, longestSliceMs: 0, slices: 0 }),
    prime: () => undefined,
    invalidate: () => undefined,
    forget: () => undefined,
  };
  const doc = ['foo(x);\nfoo(\n'];
  const recs = suggestAll(fixed, doc, [{ file: 0, offset: 1, kind: 'inside' }, { file: 0, offset: 9, kind: 'inside' }, { file: 0, offset: 3, kind: 'start' }], { contextChars: 100, beamWidth: 1, maxTokenLength: 10, maxLineLength: 10 });
  assert.deepEqual(recs.map((r) => [r.token.target, r.line.target]), [['oo', 'oo(x);'], ['oo', 'oo('], ['(', '(x);']]);
  const sc = scoreSuggestions('ngram', recs);
  assert.equal(sc.tokenExact, 2 / 3);
  assert.equal(sc.lineExact, 1 / 3);
  assert.equal(sc.charsSavedPerSuggestion, (3 + 3 + 0) / 3);
});


test('lstm-lab complete-eval: --json on a tiny trained model, and its error paths', () => {
  const empty = tempDir();
  assertCleanError(runCli(['complete-eval', path.join(empty, 'nope.ckpt'), empty]), 1, /No checkpoint at/);
  assertCleanError(runCli(['complete-eval', path.join(empty, 'nope.ckpt')]), 2, /missing PATH/);

  const corpus = tempDir();
  writeTree(corpus, { 'a.c': cSource(30), 'b.c': cSource(25), 'c.c': cSource(20), 'd.c': cSource(12) });
  const out = tempDir();
  const tr = runCli(['train', corpus, '--steps', '4', '--eval-every', '4', '--hidden', '16', '--seq', '16', '--batch', '4', '--out', out, '--run-id', 'r', '--json']);
  assert.equal(tr.code, 0, tr.stderr);
  const ckpt = path.join(out, 'r', 'best.ckpt');
  assert.ok(fs.existsSync(ckpt));

  assertCleanError(runCli(['complete-eval', ckpt, empty]), 1, /No text files to evaluate in/);
  assertCleanError(runCli(['complete-eval', ckpt, corpus, '--ngram-order', '40']), 2, new RegExp(`--ngram-order must be from 1 to ${NGRAM_MAX_ORDER}`));
  assertCleanError(runCli(['complete-eval', ckpt, path.join(corpus, 'a.c'), '--corpus', path.join(empty, 'gone')]), 1, /No such file or folder/);

  const r = runCli(['complete-eval', ckpt, corpus, '--json', '--positions', '40', '--latency-positions', '3', '--cold-context', '200', '--ngram-order', '5']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.event, 'complete-eval');
  assert.match(rep.heldOut.note, /validation file/);
  assert.equal(rep.positions.total, 40);
  for (const m of [rep.lstm, rep.baseline]) {
    for (const k of ['tokenExact', 'tokenExactAtStart', 'tokenExactInside', 'lineExact']) assert.ok(m[k] >= 0 && m[k] <= 1, k);
    assert.ok(m.charsSavedPerSuggestion >= 0);
    assert.ok(Number.isFinite(m.heldOutNatsPerChar) && m.heldOutNatsPerChar > 0);
    assert.equal(m.latencyMs.warm.samples, 3);
    assert.ok(m.latencyMs.cold.p95 >= m.latencyMs.cold.p50);
  }
  // The same positions and suggestions again (latency aside).
  const again = JSON.parse(runCli(['complete-eval', ckpt, corpus, '--json', '--positions', '40', '--latency-positions', '0', '--ngram-order', '5']).stdout);
  assert.equal(again.lstm.tokenExact, rep.lstm.tokenExact);
  assert.equal(again.baseline.charsSavedPerSuggestion, rep.baseline.charsSavedPerSuggestion);
  assert.equal(again.lstm.heldOutNatsPerChar, rep.lstm.heldOutNatsPerChar);
  // Beam search for both models: reported, and the same cross-entropy (decoding does not change the models).
  const beam = JSON.parse(runCli(['complete-eval', ckpt, corpus, '--json', '--positions', '40', '--latency-positions', '0', '--ngram-order', '5', '--beam', '3']).stdout);
  assert.equal(beam.settings.beamWidth, 3);
  assert.equal(beam.baseline.heldOutNatsPerChar, rep.baseline.heldOutNatsPerChar);
  assertCleanError(runCli(['complete-eval', ckpt, corpus, '--beam', '0']), 2, /--beam must be from 1 to 64 \(got 0\)/);

  // A file of the corpus given as PATH is a training file unless held out.
  const text = runCli(['complete-eval', ckpt, path.join(corpus, 'a.c'), '--positions', '10', '--latency-positions', '0']);
  assert.ok(text.code === 0 || /nothing is held out/.test(text.stderr), text.stderr);
});
