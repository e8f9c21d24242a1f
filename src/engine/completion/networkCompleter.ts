/**
 * The network as a completer (`CompletionEngine`), with its hidden states cached by position so that
 * typing one character costs one step. The interface, options and decoders it shares with the
 * n-gram baseline are in completer.ts, decoders.ts and tokens.ts.
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
 * States read before a cancellation stay in the cache.
 */
import type { InferenceModel, InferenceState } from '../inference/inference';
import type { Vocabulary } from '../data/vocabulary';
import { advanceCodePoints, alignToCodePoint, countCodePoints } from '../data/codePoints';
import {
  checkRequest, Completer, Completion, completionOptions, CompletionOptions, CompletionRequest,
} from './completer';
import { decode, Stepper } from './decoders';
import { now, SlicedCompleter } from './timeSlicing';
import { stopRule } from './tokens';

/** Code points fed per `run` call when reading context (see the file comment). */
export const BLOCK = 16;
/** Code points between stored checkpoints along a chain (a multiple of BLOCK). */
export const CHECKPOINT_EVERY = 256;
/** Anchors (chains) kept per document, most recently used first. */
const CHAINS_PER_DOCUMENT = 3;
/** Documents kept in the cache, least recently used dropped first. */
const MAX_DOCUMENTS = 16;

/** The network as a Stepper: logits of a state; one step per symbol. */
export function networkStepper(model: InferenceModel): Stepper<InferenceState> {
  return {
    scores: (s) => model.logits(s),
    advance: (s, id) => model.run(Int32Array.of(id), s).state,
  };
}

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

export class CompletionEngine extends SlicedCompleter implements Completer {
  readonly kind = 'lstm' as const;
  readonly vocab: Vocabulary;
  /** Document key → its chains, most recently used first; the Map's order is the documents' LRU order. */
  private readonly docs = new Map<string, Chain[]>();

  constructor(readonly model: InferenceModel) {
    super();
    this.vocab = model.vocab;
  }

  /** The anchor where the network starts reading for a cursor at `offset` (see the file comment). */
  static anchorFor(text: string, offset: number, contextChars: number): number {
    const grid = Math.max(BLOCK, Math.ceil(contextChars / 4));
    const s = grid * Math.floor(Math.max(0, offset - contextChars) / grid);
    return alignToCodePoint(text, s);
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

  /** Read the context up to the cursor through the cache, as a generator of pause points (for completers built on this one). */
  *readTo(req: CompletionRequest, opts: CompletionOptions): Generator<void, { state: InferenceState; read: number; cache: Completion['cache'] }> {
    checkRequest(req);
    const chain = this.chainFor(req, opts);
    const { mark, read, cache } = yield* this.read(chain, req.text, alignToCodePoint(req.text, req.offset));
    return { state: mark.state, read, cache };
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

  protected *work(req: CompletionRequest, opts: CompletionOptions, decodeToo: boolean): Generator<void, Completion> {
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
