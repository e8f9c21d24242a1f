/**
 * Completions: the continuation of the text at a cursor, from the trained network
 * (`CompletionEngine`) or from the character n-gram baseline (`NGramCompleter`), behind one
 * interface (`Completer`) that the editor's inline provider and `lstm-lab complete-eval` share.
 * Nothing here knows about VS Code.
 *
 * Context. The network reads the text before the cursor from a zero state, starting at an anchor
 *   s(c) = G·⌊max(0, c − contextChars) / G⌋,   G = max(16, ⌈contextChars / 4⌉)   (UTF-16 offsets)
 * so it always reads at least `contextChars` characters (or the whole text before the cursor), less
 * than 1.25× that, and the anchor only moves once every G characters typed. The suggestion is a pure
 * function of (text, cursor, options, seed): the cache below only makes it cheaper.
 *
 * The state cache. Per document (a key the caller chooses, e.g. its URI) and anchor, a chain of
 * hidden states: one every CHECKPOINT_EVERY code points after the anchor, the one at the latest
 * block boundary reached, and the one at the last cursor. A request re-reads only from the latest
 * state at or before the cursor that the text still supports: typing one character is one step;
 * an edit before the cursor re-reads from the checkpoint before the edit. Validity is checked
 * against the text itself (the first code unit where the new text differs from the text the states
 * were read from), so a missed edit notification can cost time but never a stale suggestion;
 * `invalidate(key, offset)` lets an editor drop states early.
 *
 * Same suggestion, cached or not. The text is fed in blocks of BLOCK = 16 code points counted from
 * the anchor, always split the same way: a whole block is one `InferenceModel.run` call (16 rows:
 * the input projection of upper layers is a TF.js product), the partial block before the cursor is
 * fed in pieces of fewer than 16 rows (a plain loop, row by row, so any split of it gives the same
 * floats). The recurrence is one matrix-vector product per step in every kernel. So the state at a
 * cursor is bit-for-bit the same whichever cached state it was reached from (test/completion.test.ts
 * checks this). BLOCK must stay ≤ inference.ts's SMALL_PRODUCT_ROWS.
 *
 * Decoding (symbols are the vocabulary's code points; the unknown symbol is never produced):
 *   temperature 0, beam width 1   greedy: the most likely symbol each step (ties: lowest id)
 *   temperature 0, beam width W   beam search on the summed log-probability; the W best symbols of
 *                                 each hypothesis are ranked by logits, so width 1 is greedy exactly
 *   temperature T > 0             sampling from softmax(logits / T) with a seeded generator
 * Stopping (`stopAt`): 'line' ends before a line break; 'token' at the end of one token (the rest of
 * the word the cursor is in, or the next token after optional spaces; see `tokenContinues`);
 * 'none' only at `maxLength`. The stop symbol is not part of the suggestion.
 *
 * Cancellation and the host's event loop. The work is a generator that pauses after every block of
 * context read and every symbol generated. `complete()` runs it at once; `completeAsync()` yields
 * to the event loop whenever a slice has run `sliceMs`, and stops (returning null) as soon as the
 * cancellation token says so. States read before a cancellation stay in the cache.
 */
import type { InferenceModel, InferenceState } from '../inference/inference';
import type { NGramModel } from '../ngram/ngram';
import { Random } from '../nn/random';
import { chooseSymbol } from '../inference/sample';
import { UNKNOWN_INDEX, Vocabulary } from '../data/vocabulary';

/** Code points fed per `run` call when reading context (see the file comment). */
export const BLOCK = 16;
/** Code points between stored checkpoints along a chain (a multiple of BLOCK). */
export const CHECKPOINT_EVERY = 256;
/** Anchors (chains) kept per document, most recently used first. */
const CHAINS_PER_DOCUMENT = 3;
/** Documents kept in the cache, least recently used dropped first. */
const MAX_DOCUMENTS = 16;

export type StopAt = 'line' | 'token' | 'none';

export interface CompletionOptions {
  /** Longest suggestion, in code points. */
  maxLength: number;
  stopAt: StopAt;
  /** 0 = greedy or beam search; > 0 samples. */
  temperature: number;
  /** Beam width at temperature 0 (1 = greedy). */
  beamWidth: number;
  /** Characters before the cursor the network reads at least (see the file comment). */
  contextChars: number;
  seed: number;
}

export const DEFAULT_COMPLETION_OPTIONS: Readonly<CompletionOptions> = Object.freeze({
  maxLength: 40,
  stopAt: 'line',
  temperature: 0,
  beamWidth: 1,
  contextChars: 4000,
  seed: 1,
});

export interface CompletionRequest {
  /** Identity of the document for the state cache; without one nothing is cached. */
  key?: string;
  text: string;
  /** The cursor, a UTF-16 offset into `text`. */
  offset: number;
}

export interface Completion {
  /** The suggested continuation ('' when the model's first choice is to stop). */
  text: string;
  /** Its length in code points. */
  symbols: number;
  model: 'lstm' | 'ngram';
  /** Code points read into the network for this request (0 for the n-gram). */
  contextRead: number;
  /** Where reading started: the state at the last cursor, a stored checkpoint, or the zero state. */
  cache: 'cursor' | 'checkpoint' | 'none';
  readMs: number;
  decodeMs: number;
}

/** What an editor passes to stop work early (VS Code's CancellationToken fits). */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
}

export interface AsyncOptions {
  token?: CancellationLike;
  /** Longest stretch of work before yielding to the event loop (ms). */
  sliceMs?: number;
}

export interface AsyncCompletion {
  /** null when cancelled. */
  completion: Completion | null;
  /** Longest synchronous stretch of the run (ms): how long the caller's event loop was held. */
  longestSliceMs: number;
  slices: number;
}

/** A source of completions: the network or the n-gram baseline. */
export interface Completer {
  readonly kind: 'lstm' | 'ngram';
  readonly vocab: Vocabulary;
  /** Complete at once (the caller's thread is busy until it returns). null only when cancelled. */
  complete(req: CompletionRequest, opts?: Partial<CompletionOptions>, token?: CancellationLike): Completion | null;
  /** Complete in slices, yielding to the event loop between them. */
  completeAsync(req: CompletionRequest, opts?: Partial<CompletionOptions>, async?: AsyncOptions): Promise<AsyncCompletion>;
  /** Read the context up to `offset` into the cache without decoding (a no-op for the n-gram). */
  prime(req: CompletionRequest, opts?: Partial<CompletionOptions>): void;
  /** The text of document `key` changed from `offset` on: drop the states that depended on it. */
  invalidate(key: string, offset: number): void;
  /** Drop everything cached for document `key`. */
  forget(key: string): void;
}

// ---------------------------------------------------------------------------------------------
// Tokens and stopping

const WORD = /[\p{L}\p{N}_]/u;
const HSPACE = /[ \t\f\v\u00a0]/;
/** Multi-character operators of C-like languages: a punctuation token grows while it is a prefix of one. */
const OPERATORS = [
  '->', '++', '--', '==', '!=', '<=', '>=', '&&', '||', '<<', '>>', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '<<=', '>>=', '...', '::', '##', '/*', '*/', '//', '=>', '**',
];
const OPERATOR_PREFIXES = new Set(OPERATORS.flatMap((op) => Array.from({ length: op.length }, (_, i) => op.slice(0, i + 1))));

export function isWordChar(ch: string): boolean {
  return WORD.test(ch);
}

/**
 * Whether `ch` continues the token that the suggestion `generated` has begun. A token is a run of
 * word characters (letters, digits, _ — the rest of the word when the cursor is inside one), or one
 * punctuation character grown into a multi-character operator (`->`, `<<=` …); spaces before the
 * token has begun are part of the suggestion; a line break, or a space after the token, ends it.
 * (What precedes the cursor does not matter: inside a word, the rest of the word is a run of word
 * characters; after a word, the next token.)
 */
export function tokenContinues(generated: string, ch: string): boolean {
  if (ch === '\n' || ch === '\r') return false;
  const soFar = generated.replace(/^[ \t\f\v\u00a0]+/, '');
  if (soFar === '') return true; // leading spaces, or the first character of the token
  if (HSPACE.test(ch)) return false;
  const first = String.fromCodePoint(soFar.codePointAt(0)!);
  if (isWordChar(first)) return isWordChar(ch);
  return OPERATOR_PREFIXES.has(soFar + ch);
}

/** The stopping rule of a request: does `ch`, after `generated`, end the suggestion? */
export type StopRule = (generated: string, ch: string) => boolean;

export function stopRule(stopAt: StopAt): StopRule {
  switch (stopAt) {
    case 'none':
      return () => false;
    case 'line':
      return (_g, ch) => ch === '\n' || ch === '\r';
    case 'token':
      return (g, ch) => !tokenContinues(g, ch);
  }
}

/** What the author actually wrote from `offset` to the end of the token (the rule of stopAt 'token'). */
export function tokenTarget(text: string, offset: number): string {
  let out = '';
  for (const ch of codePointsFrom(text, offset)) {
    if (!tokenContinues(out, ch)) break;
    out += ch;
  }
  return out;
}

/** What the author actually wrote from `offset` to the end of the line. */
export function lineTarget(text: string, offset: number): string {
  const eol = text.indexOf('\n', offset);
  const line = text.slice(offset, eol < 0 ? text.length : eol);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function* codePointsFrom(text: string, offset: number): Generator<string> {
  for (let i = offset; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    yield ch;
    i += ch.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding, shared by both models

/** One model as the decoder sees it: scores for the next symbol, and the state after a symbol. */
export interface Stepper<S> {
  /** Scores whose softmax is the next-symbol distribution (logits, or log-probabilities). */
  scores(state: S): Float32Array;
  advance(state: S, id: number): S;
}

interface DecodeInput<S> {
  stepper: Stepper<S>;
  vocab: Vocabulary;
  state: S;
  opts: CompletionOptions;
  stop: StopRule;
}

/** Decode; yields after every symbol (a pause point); returns the suggestion. */
function* decode<S>(d: DecodeInput<S>): Generator<void, string> {
  const { opts } = d;
  if (opts.temperature > 0 || opts.beamWidth <= 1) return yield* decodeGreedyOrSampled(d);
  return yield* decodeBeam(d);
}

function* decodeGreedyOrSampled<S>({ stepper, vocab, state, opts, stop }: DecodeInput<S>): Generator<void, string> {
  const rng = new Random(opts.seed);
  let out = '';
  let s = state;
  for (let i = 0; i < opts.maxLength; i++) {
    const id = chooseSymbol(stepper.scores(s), opts.temperature, 0, rng, UNKNOWN_INDEX);
    const ch = vocab.symbol(id);
    if (stop(out, ch)) break;
    out += ch;
    if (i + 1 < opts.maxLength) {
      s = stepper.advance(s, id);
      yield;
    }
  }
  return out;
}

interface Hypothesis<S> {
  text: string;
  score: number;
  state: S;
}

/**
 * Beam search: keeps the W best hypotheses by summed log-probability. A hypothesis whose next
 * symbol is a stop ends there (the stop's probability counts in its score). Returns the best
 * finished hypothesis, or the best unfinished one at maxLength if it scores higher.
 */
function* decodeBeam<S>({ stepper, vocab, state, opts, stop }: DecodeInput<S>): Generator<void, string> {
  const W = opts.beamWidth;
  let beams: Hypothesis<S>[] = [{ text: '', score: 0, state }];
  let best = null as { text: string; score: number } | null;
  for (let step = 0; step < opts.maxLength && beams.length > 0; step++) {
    const candidates: { parent: Hypothesis<S>; id: number; text: string; score: number }[] = [];
    for (const beam of beams) {
      const scores = stepper.scores(beam.state);
      const logZ = logSumExp(scores);
      for (const id of topIds(scores, W, UNKNOWN_INDEX)) {
        const score = beam.score + (scores[id] - logZ);
        const ch = vocab.symbol(id);
        if (stop(beam.text, ch)) {
          if (best === null || score > best.score) best = { text: beam.text, score };
        } else {
          candidates.push({ parent: beam, id, text: beam.text + ch, score });
        }
      }
    }
    candidates.sort((a, b) => b.score - a.score); // stable: ties keep beam order, then rank order
    const last = step + 1 >= opts.maxLength;
    beams = candidates.slice(0, W).map((c) => ({ text: c.text, score: c.score, state: last ? c.parent.state : stepper.advance(c.parent.state, c.id) }));
    // Scores only fall as hypotheses grow: no live beam can overtake a better finished one.
    if (best !== null && (beams.length === 0 || beams[0].score <= best.score)) return best.text;
    yield;
  }
  if (best !== null && (beams.length === 0 || best.score >= beams[0].score)) return best.text;
  return beams.length > 0 ? beams[0].text : '';
}

/**
 * Run one decoder to the end, at once: 'greedy' (temperature 0; or sampling when opts.temperature > 0)
 * or 'beam' (beam search of width opts.beamWidth, even 1). For tests and tools; the completers pick
 * the decoder from the options.
 */
export function runDecoder<S>(which: 'greedy' | 'beam', stepper: Stepper<S>, vocab: Vocabulary, state: S, opts: CompletionOptions, stop: StopRule): string {
  const gen = which === 'beam' ? decodeBeam({ stepper, vocab, state, opts, stop }) : decodeGreedyOrSampled({ stepper, vocab, state, opts, stop });
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
  }
}

/** The network as a Stepper: logits of a state; one step per symbol. */
export function networkStepper(model: InferenceModel): Stepper<InferenceState> {
  return {
    scores: (s) => model.logits(s),
    advance: (s, id) => model.run(Int32Array.of(id), s).state,
  };
}

/** The n-gram model as a Stepper: the state is the last order − 1 symbols. */
export function ngramStepper(model: NGramModel): Stepper<number[]> {
  const keep = model.order - 1;
  return {
    scores: (ctx) => logOf(model.probabilities(ctx)),
    advance: (ctx, id) => (keep === 0 ? [] : ctx.length < keep ? [...ctx, id] : [...ctx.slice(1), id]),
  };
}

/** Ids of the k largest scores, largest first, ties by lowest id, `banned` left out. */
function topIds(scores: Float32Array, k: number, banned: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (i === banned) continue;
    const v = scores[i];
    if (out.length === k && v <= scores[out[k - 1]]) continue;
    let j = out.length < k ? out.length : k - 1;
    out[j] = i;
    while (j > 0 && scores[out[j - 1]] < v) {
      out[j] = out[j - 1];
      out[j - 1] = i;
      j--;
    }
  }
  return out;
}

function logSumExp(a: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > max) max = a[i];
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.exp(a[i] - max);
  return max + Math.log(sum);
}

// ---------------------------------------------------------------------------------------------
// Running a generator of work: at once, or in slices on an event loop

const now = () => performance.now();

function runNow<T>(work: Generator<void, T>, token?: CancellationLike): T | null {
  for (;;) {
    if (token?.isCancellationRequested) return null;
    const r = work.next();
    if (r.done) return r.value;
  }
}

async function runSliced<T>(work: Generator<void, T>, a: AsyncOptions): Promise<{ value: T | null; longestSliceMs: number; slices: number }> {
  const sliceMs = a.sliceMs ?? 8;
  let longest = 0;
  let slices = 1;
  let sliceStart = now();
  for (;;) {
    if (a.token?.isCancellationRequested) return { value: null, longestSliceMs: Math.max(longest, now() - sliceStart), slices };
    const r = work.next();
    if (r.done) return { value: r.value, longestSliceMs: Math.max(longest, now() - sliceStart), slices };
    const t = now();
    if (t - sliceStart >= sliceMs) {
      longest = Math.max(longest, t - sliceStart);
      await new Promise<void>((resolve) => setImmediate(resolve));
      slices++;
      sliceStart = now();
    }
  }
}

/** Options with defaults filled in, checked (RangeError when out of range). */
export function completionOptions(o: Partial<CompletionOptions> | undefined): CompletionOptions {
  const given = Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
  const opts: CompletionOptions = { ...DEFAULT_COMPLETION_OPTIONS, ...given };
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 0) throw new RangeError(`maxLength must be a whole number ≥ 0, got ${opts.maxLength}`);
  if (!Number.isInteger(opts.beamWidth) || opts.beamWidth < 1) throw new RangeError(`beamWidth must be a whole number ≥ 1, got ${opts.beamWidth}`);
  if (!(opts.temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${opts.temperature}`);
  if (!Number.isInteger(opts.contextChars) || opts.contextChars < 1) throw new RangeError(`contextChars must be a whole number ≥ 1, got ${opts.contextChars}`);
  if (!['line', 'token', 'none'].includes(opts.stopAt)) throw new RangeError(`stopAt must be line, token or none, got ${opts.stopAt}`);
  return opts;
}

function checkRequest(req: CompletionRequest): void {
  if (!Number.isInteger(req.offset) || req.offset < 0 || req.offset > req.text.length) {
    throw new RangeError(`offset ${req.offset} is outside the text (0..${req.text.length})`);
  }
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) i++;
    n++;
  }
  return n;
}

function isLowSurrogate(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}

/** Move an offset that falls between the halves of a surrogate pair to after the pair. */
function alignToCodePoint(text: string, offset: number): number {
  return offset > 0 && offset < text.length && isLowSurrogate(text.charCodeAt(offset)) && text.charCodeAt(offset - 1) >= 0xd800 && text.charCodeAt(offset - 1) <= 0xdbff
    ? offset + 1
    : offset;
}

/** Offset `n` code points after `offset` (or the end). */
function advanceCodePoints(text: string, offset: number, n: number): number {
  let i = offset;
  for (let k = 0; k < n && i < text.length; k++) {
    const u = text.charCodeAt(i);
    i += u >= 0xd800 && u <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// The network, with a state cache by position

/** A state of the chain at a position: `symbols` code points read since the anchor, ending at `offset`. */
interface Mark {
  offset: number;
  symbols: number;
  state: InferenceState;
}

/** The states read from one anchor of one document. */
interface Chain {
  anchor: number;
  /** The text the states were read from. */
  text: string;
  /** States every CHECKPOINT_EVERY symbols, in order (the zero state at the anchor is implicit). */
  checkpoints: Mark[];
  /** The state at the latest block boundary reached. */
  block: Mark | null;
  /** The state at the last cursor. */
  cursor: Mark | null;
}

export interface CacheStats {
  documents: number;
  chains: number;
  states: number;
}

export class CompletionEngine implements Completer {
  readonly kind = 'lstm' as const;
  readonly vocab: Vocabulary;
  /** Document key → its chains, most recently used first; the Map's order is the documents' LRU order. */
  private readonly docs = new Map<string, Chain[]>();

  constructor(readonly model: InferenceModel) {
    this.vocab = model.vocab;
  }

  /** The anchor where the network starts reading for a cursor at `offset` (see the file comment). */
  static anchorFor(text: string, offset: number, contextChars: number): number {
    const grid = Math.max(BLOCK, Math.ceil(contextChars / 4));
    const s = grid * Math.floor(Math.max(0, offset - contextChars) / grid);
    return alignToCodePoint(text, s);
  }

  complete(req: CompletionRequest, o?: Partial<CompletionOptions>, token?: CancellationLike): Completion | null {
    return runNow(this.work(req, completionOptions(o), true), token);
  }

  async completeAsync(req: CompletionRequest, o?: Partial<CompletionOptions>, a: AsyncOptions = {}): Promise<AsyncCompletion> {
    const r = await runSliced(this.work(req, completionOptions(o), true), a);
    return { completion: r.value, longestSliceMs: r.longestSliceMs, slices: r.slices };
  }

  prime(req: CompletionRequest, o?: Partial<CompletionOptions>): void {
    runNow(this.work(req, completionOptions(o), false));
  }

  /** The hidden state at the cursor (through the cache), for tests and tools. */
  stateAt(req: CompletionRequest, o?: Partial<CompletionOptions>): InferenceState {
    checkRequest(req);
    const opts = completionOptions(o);
    const chain = this.chainFor(req, opts);
    const gen = this.read(chain, req.text, alignToCodePoint(req.text, req.offset));
    for (;;) {
      const r = gen.next();
      if (r.done) return r.value.mark.state;
    }
  }

  invalidate(key: string, offset: number): void {
    const chains = this.docs.get(key);
    if (!chains) return;
    for (const c of chains) dropAfter(c, offset);
  }

  forget(key: string): void {
    this.docs.delete(key);
  }

  clear(): void {
    this.docs.clear();
  }

  cacheStats(): CacheStats {
    let chains = 0;
    let states = 0;
    for (const cs of this.docs.values()) {
      chains += cs.length;
      for (const c of cs) states += c.checkpoints.length + (c.block ? 1 : 0) + (c.cursor ? 1 : 0);
    }
    return { documents: this.docs.size, chains, states };
  }

  private *work(req: CompletionRequest, opts: CompletionOptions, decodeToo: boolean): Generator<void, Completion> {
    checkRequest(req);
    const offset = alignToCodePoint(req.text, req.offset);
    const chain = this.chainFor(req, opts);
    const t0 = now();
    const { mark, read, cache } = yield* this.read(chain, req.text, offset);
    const t1 = now();
    let text = '';
    if (decodeToo) {
      const stepper = networkStepper(this.model);
      text = yield* decode({ stepper, vocab: this.vocab, state: mark.state, opts, stop: stopRule(opts.stopAt) });
    }
    return { text, symbols: countCodePoints(text), model: 'lstm', contextRead: read, cache, readMs: t1 - t0, decodeMs: now() - t1 };
  }

  /** The chain for this request's anchor: from the cache (moved to the front), or a new one. */
  private chainFor(req: CompletionRequest, opts: CompletionOptions): Chain {
    const anchor = CompletionEngine.anchorFor(req.text, alignToCodePoint(req.text, req.offset), opts.contextChars);
    const fresh = (): Chain => ({ anchor, text: req.text, checkpoints: [], block: null, cursor: null });
    if (req.key === undefined) return fresh();
    let chains = this.docs.get(req.key);
    if (chains) this.docs.delete(req.key); // re-inserted below: most recently used last
    else chains = [];
    let chain = chains.find((c) => c.anchor === anchor);
    if (chain) chains.splice(chains.indexOf(chain), 1);
    else chain = fresh();
    chains.unshift(chain);
    chains.length = Math.min(chains.length, CHAINS_PER_DOCUMENT);
    this.docs.set(req.key, chains);
    while (this.docs.size > MAX_DOCUMENTS) this.docs.delete(this.docs.keys().next().value as string);
    return chain;
  }

  /**
   * The state at `target`, read from the best valid state of the chain; stores the states it
   * passes. Pauses after every block.
   */
  private *read(chain: Chain, text: string, target: number): Generator<void, { mark: Mark; read: number; cache: Completion['cache'] }> {
    // Drop what the text no longer supports.
    const reach = Math.max(chain.cursor?.offset ?? 0, chain.block?.offset ?? 0, chain.checkpoints.at(-1)?.offset ?? 0);
    if (chain.text !== text) {
      dropAfter(chain, firstDifference(chain.text, text, chain.anchor, reach));
      chain.text = text;
    }

    // The latest usable state: the cursor's if the target is in its block, else a block boundary.
    let base: Mark = { offset: chain.anchor, symbols: 0, state: this.model.zeroState() };
    let cache: Completion['cache'] = 'none';
    const c = chain.cursor;
    if (c && c.offset <= target && (c.symbols % BLOCK) + countCodePoints(text.slice(c.offset, target)) < BLOCK) {
      base = c;
      cache = 'cursor';
    } else {
      for (const m of [chain.block, ...chain.checkpoints]) {
        if (m && m.offset <= target && m.offset > base.offset) {
          base = m;
          cache = 'checkpoint';
        }
      }
    }

    const ids = this.vocab.encode(text.slice(base.offset, target));
    let at = base;
    let i = 0;
    // Whole blocks first (only when starting at a boundary).
    if (base.symbols % BLOCK === 0) {
      while (ids.length - i >= BLOCK) {
        const state = this.model.run(ids.subarray(i, i + BLOCK), at.state).state;
        const offset = advanceCodePoints(text, at.offset, BLOCK);
        at = { offset, symbols: at.symbols + BLOCK, state };
        i += BLOCK;
        chain.block = at;
        if (at.symbols % CHECKPOINT_EVERY === 0) chain.checkpoints.push(at);
        yield;
      }
    }
    // The partial block up to the cursor: fewer than BLOCK rows.
    if (i < ids.length) {
      const state = this.model.run(ids.subarray(i), at.state).state;
      at = { offset: target, symbols: at.symbols + ids.length - i, state };
    }
    chain.cursor = at;
    return { mark: at, read: ids.length, cache };
  }
}

/** Drop the chain's states that depend on text at or after `offset`. */
function dropAfter(chain: Chain, offset: number): void {
  chain.checkpoints = chain.checkpoints.filter((m) => m.offset <= offset);
  if (chain.block && chain.block.offset > offset) chain.block = null;
  if (chain.cursor && chain.cursor.offset > offset) chain.cursor = null;
}

/** First UTF-16 index in [from, to) where a and b differ (or `to` when they agree there). */
function firstDifference(a: string, b: string, from: number, to: number): number {
  const end = Math.min(to, a.length, b.length);
  for (let i = from; i < end; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return end < to ? end : to;
}

// ---------------------------------------------------------------------------------------------
// The n-gram baseline behind the same interface

export class NGramCompleter implements Completer {
  readonly kind = 'ngram' as const;

  constructor(readonly model: NGramModel, readonly vocab: Vocabulary) {
    if (model.vocabSize !== vocab.size) {
      throw new Error(`The n-gram model has ${model.vocabSize} symbols but the vocabulary has ${vocab.size}: build it with the checkpoint's vocabulary.`);
    }
  }

  complete(req: CompletionRequest, o?: Partial<CompletionOptions>, token?: CancellationLike): Completion | null {
    return runNow(this.work(req, completionOptions(o)), token);
  }

  async completeAsync(req: CompletionRequest, o?: Partial<CompletionOptions>, a: AsyncOptions = {}): Promise<AsyncCompletion> {
    const r = await runSliced(this.work(req, completionOptions(o)), a);
    return { completion: r.value, longestSliceMs: r.longestSliceMs, slices: r.slices };
  }

  prime(): void {
    // Nothing to read: the n-gram looks at the last order − 1 symbols only.
  }

  invalidate(): void {}

  forget(): void {}

  private *work(req: CompletionRequest, opts: CompletionOptions): Generator<void, Completion> {
    checkRequest(req);
    const offset = alignToCodePoint(req.text, req.offset);
    const t0 = now();
    const keep = this.model.order - 1;
    const before = req.text.slice(Math.max(0, offset - 2 * keep - 2), offset);
    const all = this.vocab.encode(before);
    const context = Array.from(all.subarray(Math.max(0, all.length - keep)));
    const t1 = now();
    const stepper = ngramStepper(this.model);
    const text = yield* decode({ stepper, vocab: this.vocab, state: context, opts, stop: stopRule(opts.stopAt) });
    return { text, symbols: countCodePoints(text), model: 'ngram', contextRead: 0, cache: 'none', readMs: t1 - t0, decodeMs: now() - t1 };
  }
}

function logOf(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.log(p[i]);
  return out;
}
