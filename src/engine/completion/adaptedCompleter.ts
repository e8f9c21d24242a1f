/**
 * The network adapted to the code at hand, as a completer: dynamic evaluation
 * (src/engine/adaptation/dynamicEvaluation.ts) has read the documents given to `rememberDocument`
 * (files opened before, in order) and the text of this document before the cursor up to its last
 * whole segment; the suggestion is the network's with those weights, reading the context before the
 * cursor through a CompletionEngine (networkCompleter.ts) exactly as the static network does.
 * Nothing at or after the cursor is read, by the weights or by the state.
 *
 * One stream of reading, as in `lstm-lab eval --dynamic`: a request in the document being read goes
 * on from where its reading stopped (in complete-eval, cursor positions come in file order, so the
 * adaptation advances with them); a request in another document starts reading that one; an edit
 * before what was read, or a cursor moved back, goes on reading from there (the weights keep what
 * they learnt). `rememberDocument(text, key)` reads the rest of the document being read when it is
 * that one, else the whole text.
 *
 * No copy of the weights per segment: the engine runs on the evaluator's own weights (`liveModel`),
 * and is made again, with an empty state cache, whenever a read has changed them.
 */
import type { Vocabulary } from '../data/vocabulary';
import { advanceCodePoints, alignToCodePoint, countCodePoints } from '../data/codePoints';
import { DynamicEvaluator } from '../adaptation/dynamicEvaluation';
import type { InferenceModel } from '../inference/inference';
import { checkRequest, Completer, Completion, CompletionOptions, CompletionRequest } from './completer';
import { decode } from './decoders';
import { CompletionEngine, networkStepper } from './networkCompleter';
import { now, SlicedCompleter } from './timeSlicing';
import { stopRule } from './tokens';

/** What the adaptation has read: −ln P of each segment taken before its update. */
export interface AdaptationTotals {
  nats: number;
  /** Characters predicted (the first character of the stream is only an input). */
  chars: number;
  /** Updates of the weights. */
  segments: number;
  /** Time spent reading and adapting (ms). */
  ms: number;
}

interface Reading {
  key: string;
  /** The text the reading followed. */
  text: string;
  /** UTF-16 offset read up to. */
  read: number;
}

export class AdaptedNetworkCompleter extends SlicedCompleter implements Completer {
  readonly kind = 'lstm' as const;
  readonly vocab: Vocabulary;
  /** Adapt on the text before the cursor at each request; false: complete with the weights as they are (to time completions alone). */
  adaptOnRequest = true;
  private model: InferenceModel;
  private engine: CompletionEngine;
  private reading: Reading | null = null;
  /** Whether the stream has read anything (its first symbol is an input only). */
  private started = false;
  private readonly sums: AdaptationTotals = { nats: 0, chars: 0, segments: 0, ms: 0 };

  constructor(readonly evaluator: DynamicEvaluator) {
    super();
    this.vocab = evaluator.network.vocab;
    this.model = evaluator.liveModel();
    this.engine = new CompletionEngine(this.model);
  }

  /** The network engine over the weights as they are now (renewed whenever a read changes them). */
  get currentEngine(): CompletionEngine {
    return this.engine;
  }

  /** What the adaptation has read so far: its cross-entropy is the adapted network's held-out figure. */
  get totals(): Readonly<AdaptationTotals> {
    return { ...this.sums };
  }

  /** Read a document opened before the one being completed: the rest of it when it is the one being read (same key, same text so far), else all of it. */
  rememberDocument(text: string, key?: string): void {
    const r = this.reading;
    const from = key !== undefined && r && r.key === key && sameUpTo(r.text, text, r.read) ? r.read : 0;
    if (from < text.length) this.readSymbols(this.vocab.encode(text.slice(from)));
    if (r && r.key === key) this.reading = null;
  }

  /** Adapt on the whole segments of the document's text before the cursor (what a request does first, when adaptOnRequest). */
  adaptTo(req: CompletionRequest): void {
    checkRequest(req);
    const gen = this.advance(req);
    while (!gen.next().done);
  }

  invalidate(key: string, offset: number): void {
    this.engine.invalidate(key, offset);
  }

  /** Drops the states cached for the document; what the weights learnt, and where its reading stopped, stay. */
  forget(key: string): void {
    this.engine.forget(key);
  }

  protected *work(req: CompletionRequest, opts: CompletionOptions, decodeToo: boolean): Generator<void, Completion> {
    checkRequest(req);
    if (this.adaptOnRequest) yield* this.advance(req);
    const t0 = now();
    const { state, read, cache } = yield* this.engine.readTo(req, opts);
    const t1 = now();
    const text = decodeToo ? yield* decode({ stepper: networkStepper(this.model), vocab: this.vocab, state, opts, stop: stopRule(opts.stopAt) }) : '';
    return { text, symbols: countCodePoints(text), model: 'lstm', contextRead: read, cache, readMs: t1 - t0, decodeMs: now() - t1 };
  }

  /** Read the document up to the last whole segment before the cursor, one segment per pause. */
  private *advance(req: CompletionRequest): Generator<void> {
    if (req.key === undefined) return; // a text without identity: nothing to follow
    const offset = alignToCodePoint(req.text, req.offset);
    let r = this.reading;
    if (!r || r.key !== req.key) r = { key: req.key, text: req.text, read: 0 };
    else if (r.text !== req.text || r.read > offset) r = { key: req.key, text: req.text, read: Math.min(offset, firstDifference(r.text, req.text, r.read)) }; // go on from an edit or the cursor, whichever is first
    this.reading = r;
    const T = this.evaluator.options.segment;
    const ids = this.vocab.encode(req.text.slice(r.read, offset));
    const first = this.started ? 0 : 1; // the stream's first symbol predicts, it is not predicted
    const whole = ids.length < first ? 0 : Math.floor((ids.length - first) / T);
    if (whole === 0) return;
    let at = 0;
    for (let k = 0; k < whole; k++) {
      const n = T + (k === 0 ? first : 0);
      this.readSymbols(ids.subarray(at, at + n), false);
      at += n;
      if (k + 1 < whole) yield;
    }
    r.read = advanceCodePoints(req.text, r.read, at);
    this.renew();
  }

  /** Read symbols into the stream (adapting), counting what they scored; renew the engine unless told not to. */
  private readSymbols(ids: Int32Array, renew = true): void {
    if (ids.length === 0) return;
    const t = now();
    const before = this.evaluator.updates;
    const r = this.evaluator.readIds(ids);
    this.started = true;
    this.sums.nats += r.nats;
    this.sums.chars += r.chars;
    this.sums.segments += this.evaluator.updates - before;
    this.sums.ms += now() - t;
    if (renew) this.renew();
  }

  /** A new engine over the weights as they are now (the old one's states and tensors are stale). */
  private renew(): void {
    this.model.dispose();
    this.model = this.evaluator.liveModel();
    this.engine = new CompletionEngine(this.model);
  }
}

/** Whether a and b agree on their first n UTF-16 units. */
function sameUpTo(a: string, b: string, n: number): boolean {
  return a.length >= n && b.length >= n && (a === b || a.slice(0, n) === b.slice(0, n));
}

/** First UTF-16 index before `upTo` where a and b differ (`upTo`, or the shorter length, when they agree there). */
function firstDifference(a: string, b: string, upTo: number): number {
  const end = Math.min(upTo, a.length, b.length);
  for (let j = 0; j < end; j++) if (a.charCodeAt(j) !== b.charCodeAt(j)) return j;
  return end;
}
