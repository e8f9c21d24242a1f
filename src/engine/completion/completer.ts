/**
 * What a completer is: the continuation of the text at a cursor, from the trained network
 * (`CompletionEngine`, networkCompleter.ts) or from the character n-gram baseline (`NGramCompleter`,
 * ngramCompleter.ts), behind one interface (`Completer`) that the editor's inline provider and
 * `lstm-lab complete-eval` share. Here: that interface, its requests, options (with their defaults
 * and checks) and results. Nothing in src/engine/completion knows about VS Code.
 *
 * A suggestion is a pure function of (text, cursor, options, seed): a completer's cache only makes it
 * cheaper. Decoding (decoders.ts; symbols are the vocabulary's code points, the unknown symbol is
 * never produced):
 *   temperature 0, beam width 1   greedy: the most likely symbol each step (ties: lowest id)
 *   temperature 0, beam width W   beam search on the summed log-probability; the W best symbols of
 *                                 each hypothesis are ranked by logits, so width 1 is greedy exactly
 *   temperature T > 0             sampling from softmax(logits / T) with a seeded generator
 * Stopping (`stopAt`, tokens.ts): 'line' ends before a line break; 'token' at the end of one token
 * (the rest of the word the cursor is in, or the next token after optional spaces; see
 * `tokenContinues`); 'none' only at `maxLength`. The stop symbol is not part of the suggestion.
 *
 * Cancellation and the host's event loop (timeSlicing.ts): the work is a generator that pauses after
 * every block of context read and every symbol generated. `complete()` runs it at once;
 * `completeAsync()` yields to the event loop whenever a slice has run `sliceMs`, and stops (returning
 * null) as soon as the cancellation token says so.
 */
import type { Vocabulary } from '../data/vocabulary';

export type StopAt = 'line' | 'token' | 'none';

export interface CompletionOptions {
  /** Longest suggestion, in code points. */
  maxLength: number;
  stopAt: StopAt;
  /** 0 = greedy or beam search; > 0 samples. */
  temperature: number;
  /** Beam width at temperature 0 (1 = greedy). */
  beamWidth: number;
  /** Characters before the cursor the network reads at least (see networkCompleter.ts). */
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
  model: 'lstm' | 'ngram' | 'hybrid';
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
  readonly kind: 'lstm' | 'ngram' | 'hybrid';
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

/** Throws a RangeError when the cursor is not an offset into the text. */
export function checkRequest(req: CompletionRequest): void {
  if (!Number.isInteger(req.offset) || req.offset < 0 || req.offset > req.text.length) {
    throw new RangeError(`offset ${req.offset} is outside the text (0..${req.text.length})`);
  }
}
