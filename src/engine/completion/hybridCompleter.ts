/**
 * The hybrid completer: the network, the corpus n-gram and the locality caches (the open file, the
 * documents opened before), mixed per character by a fitted gate (mixture.ts), decoded greedy or with
 * the beam over the mixed distribution. Without a network it is the n-gram with the caches.
 *
 * What it reads: the network reads from its anchor before the cursor through CompletionEngine's state
 * cache (so typing one character reads one symbol); the file cache holds the document's text before
 * the cursor, read once and extended as the cursor moves on (an edit before what was read starts it
 * again); the documents' cache holds the documents given to `rememberDocument` (the editor: the files
 * opened before; complete-eval: the held-out files before this one). Nothing after the cursor is read.
 */
import { Vocabulary } from '../data/vocabulary';
import { InferenceState, softmax } from '../inference/inference';
import { NGramModel } from '../ngram/ngram';
import { Completer, Completion, CompletionOptions, completionOptions, CompletionRequest } from './completer';
import { decode, Stepper } from './decoders';
import { stopRule } from './tokens';
import { now, SlicedCompleter } from './timeSlicing';
import { alignToCodePoint, countCodePoints } from '../data/codePoints';
import { CompletionEngine } from './networkCompleter';
import { LocalityCaches, LocalityOptions } from './heldOutScores';
import { ComponentSummary, MixtureGate, summarise } from './mixture';

/** Documents whose file cache is kept (least recently used dropped first). */
const MAX_FILE_CACHES = 8;

interface FileCache {
  /** The text read into the cache (a prefix of the document when it was read). */
  text: string;
  /** UTF-16 offset read up to. */
  read: number;
  caches: LocalityCaches;
}

/** The decoder's state: the network's state (null without a network) and the symbols since the cursor's context began. */
interface HybridState {
  net: InferenceState | null;
  context: number[];
}

export interface HybridParts {
  /** The network's completer (its state cache); null for the n-gram with the caches. */
  network: CompletionEngine | null;
  /**
   * The network adapted to document `key` (dynamic evaluation), when there is one: it replaces
   * `network` for that document's requests. Its caller keeps its state cache (invalidate, forget).
   */
  adapted?: (key: string) => CompletionEngine | undefined;
  ngram: NGramModel;
  gate: MixtureGate;
  /** The gate for requests an adapted network serves (fitted on the adapted network's scores); default `gate`. */
  adaptedGate?: MixtureGate;
  vocab: Vocabulary;
  locality?: LocalityOptions;
}

export class HybridCompleter extends SlicedCompleter implements Completer {
  readonly kind: 'hybrid' | 'ngram';
  readonly vocab: Vocabulary;
  private readonly files = new Map<string, FileCache>();
  /** The documents' cache, shared by every file (each file's own cache backs off to it). */
  private readonly shared: LocalityCaches;
  private readonly keep: number;
  private readonly names: string[];

  constructor(private readonly parts: HybridParts) {
    super();
    this.vocab = parts.vocab;
    this.kind = parts.network ? 'hybrid' : 'ngram';
    if (parts.ngram.vocabSize !== parts.vocab.size) throw new Error(`The n-gram model has ${parts.ngram.vocabSize} symbols but the vocabulary has ${parts.vocab.size}.`);
    this.names = parts.gate.components.map((c) => c.name);
    const expected = parts.network ? ['lstm', 'ngram', 'cache'] : ['ngram', 'cache'];
    if (this.names.length !== expected.length) throw new Error(`The mixture gate has components ${this.names.join(', ')}; this completer needs ${expected.join(', ')}.`);
    const adapted = parts.adaptedGate?.components.map((c) => `${c.name}:${c.extras}`).join(',');
    if (adapted !== undefined && adapted !== parts.gate.components.map((c) => `${c.name}:${c.extras}`).join(',')) throw new Error(`The adapted gate has components ${adapted}; the gate has ${this.names.join(', ')}.`);
    this.shared = new LocalityCaches(parts.vocab.size, parts.locality);
    this.keep = Math.max(parts.ngram.order, this.shared.file.order) - 1;
  }

  /** Add a whole document to the documents' cache (a file opened before the one being completed). */
  rememberDocument(text: string): void {
    this.shared.documents.observeAll(this.vocab.encode(text));
  }

  invalidate(key: string, offset: number): void {
    this.parts.network?.invalidate(key, offset);
    const f = this.files.get(key);
    if (f && offset < f.read) this.files.delete(key);
  }

  forget(key: string): void {
    this.parts.network?.forget(key);
    this.files.delete(key);
  }

  /** The mixed next-symbol distribution at the cursor (for tests and tools). */
  distributionAt(req: CompletionRequest, o?: Partial<CompletionOptions>): Float64Array {
    const gen = this.readTo(req, completionOptions(o));
    let r = gen.next();
    while (!r.done) r = gen.next();
    const { state, stepper } = r.value;
    return stepper.mixed(state);
  }

  private *readTo(req: CompletionRequest, opts: CompletionOptions): Generator<void, { state: HybridState; stepper: HybridStepper; read: number; cache: Completion['cache'] }> {
    const offset = alignToCodePoint(req.text, req.offset);
    const file = yield* this.fileCacheFor(req, offset);
    let net: InferenceState | null = null;
    let read = 0;
    let cache: Completion['cache'] = 'none';
    const network = this.networkFor(req.key);
    const gate = network && network !== this.parts.network && this.parts.adaptedGate ? this.parts.adaptedGate : this.parts.gate;
    if (network) {
      const r = yield* network.readTo({ key: req.key, text: req.text, offset }, opts);
      net = r.state;
      read = r.read;
      cache = r.cache;
    }
    const before = req.text.slice(Math.max(0, offset - 2 * this.keep - 2), offset);
    const ids = this.vocab.encode(before);
    const context = Array.from(ids.subarray(Math.max(0, ids.length - this.keep)));
    return { state: { net, context }, stepper: new HybridStepper(this.parts, gate, network, file, this.keep), read, cache };
  }

  /** The network that serves document `key`: its adapted copy when there is one, else the trained one. */
  private networkFor(key: string | undefined): CompletionEngine | null {
    if (!this.parts.network) return null;
    return (key !== undefined ? this.parts.adapted?.(key) : undefined) ?? this.parts.network;
  }

  /** The file cache of this document, extended to `offset` (started again when the text before it changed). */
  private *fileCacheFor(req: CompletionRequest, offset: number): Generator<void, LocalityCaches> {
    const key = req.key;
    let f = key !== undefined ? this.files.get(key) : undefined;
    if (f && (f.read > offset || !sameUpTo(f.text, req.text, f.read))) f = undefined;
    if (!f) {
      f = { text: '', read: 0, caches: new LocalityCaches(this.vocab.size, this.parts.locality, this.shared.documents) };
    }
    if (key !== undefined) {
      this.files.delete(key);
      this.files.set(key, f);
      while (this.files.size > MAX_FILE_CACHES) this.files.delete(this.files.keys().next().value as string);
    }
    const ids = this.vocab.encode(req.text.slice(f.read, offset));
    for (let i = 0; i < ids.length; i += 4096) {
      f.caches.file.observeAll(ids.subarray(i, i + 4096));
      if (i + 4096 < ids.length) yield;
    }
    f.text = req.text;
    f.read = offset;
    return f.caches;
  }

  protected *work(req: CompletionRequest, opts: CompletionOptions, decodeToo: boolean): Generator<void, Completion> {
    const t0 = now();
    const { state, stepper, read, cache } = yield* this.readTo(req, opts);
    const t1 = now();
    const text = decodeToo ? yield* decode({ stepper, vocab: this.vocab, state, opts, stop: stopRule(opts.stopAt) }) : '';
    return { text, symbols: countCodePoints(text), model: this.kind, contextRead: read, cache, readMs: t1 - t0, decodeMs: now() - t1 };
  }
}

/** The mixture as the decoder sees it: log of the mixed distribution; a step advances the network and the context. */
class HybridStepper implements Stepper<HybridState> {
  private readonly V: number;
  private readonly cacheP: Float64Array;
  private readonly out: Float64Array;

  constructor(private readonly parts: HybridParts, private readonly gate: MixtureGate, private readonly net: CompletionEngine | null, private readonly caches: LocalityCaches, private readonly keep: number) {
    this.V = parts.vocab.size;
    this.cacheP = new Float64Array(this.V);
    this.out = new Float64Array(this.V);
  }

  mixed(s: HybridState): Float64Array {
    const ngramOrder = this.parts.ngram.order - 1;
    const ngramP = this.parts.ngram.probabilities(s.context.slice(Math.max(0, s.context.length - ngramOrder)));
    const cacheSummary = this.caches.into(this.cacheP, s.context);
    const dists: ArrayLike<number>[] = [];
    const summaries: ComponentSummary[] = [];
    const net = this.net;
    if (net && s.net) {
      const netP = softmax(net.model.logits(s.net));
      dists.push(netP);
      summaries.push(summarise(netP));
    }
    dists.push(ngramP, this.cacheP);
    summaries.push(summarise(ngramP), cacheSummary);
    return this.gate.mix(dists, summaries, this.out);
  }

  scores(s: HybridState): Float32Array {
    const p = this.mixed(s);
    const out = new Float32Array(this.V);
    for (let i = 0; i < this.V; i++) out[i] = Math.log(p[i]);
    return out;
  }

  advance(s: HybridState, id: number): HybridState {
    const net = this.net;
    const context = s.context.length < this.keep ? [...s.context, id] : [...s.context.slice(1), id];
    return { net: net && s.net ? net.model.run(Int32Array.of(id), s.net).state : null, context };
  }
}

/** Whether a and b agree on their first n UTF-16 units. */
function sameUpTo(a: string, b: string, n: number): boolean {
  return a.length >= n && b.length >= n && b.startsWith(n === a.length ? a : a.slice(0, n));
}
