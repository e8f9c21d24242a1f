/**
 * The hybrid completer as the completion worker serves it (no `vscode`): the engine's
 * HybridCompleter — the network, the corpus n-gram and the caches of the open file and the documents
 * remembered — with the gate of the run's mixture.json, and the network adapted to each document by
 * dynamic evaluation in idle time.
 *
 * The gate. mixture.json (mixture.ts, MIXTURE_FILE) is fitted by `lstm-lab mixture` or at the end of
 * training; a gate over [network, ngram, cache] serves the full hybrid, one over [ngram, cache] the
 * n-gram with the caches. A document its adapted network serves is mixed by the file's `adapted`
 * gate, fitted on the adapted network's own scores (it is more confident than the static one); the
 * others by the static gate. Without a usable file the n-gram with the caches serves, mixed by
 * `unfittedGate` (each component weighted by how sure it is), and `note` says why.
 *
 * Adaptation (only with a network and gradient statistics). Each document's text before the cursor,
 * as the requests bring it, is read by its DynamicEvaluator (AdaptedDocuments, a few documents
 * kept) one segment per unit of work, from at most ADAPT_WINDOW characters before the cursor at
 * first. Every SWAP_EVERY updates (or when it has caught up) a copy of the adapted weights becomes an
 * InferenceModel whose CompletionEngine first reads the document to the cursor, also in units of
 * work, and only then serves that document's requests. `adaptSome()` does one unit (one segment, or
 * one block of 16 characters read) and says whether work is left: the worker calls it when no request
 * has come for a while, so a request waits at most one unit, never for adaptation as a whole.
 */
import { AdaptedDocuments } from '../../engine/adaptation/adaptedDocuments';
import { DynamicEvaluationOptions, dynamicEvaluationOptions, TrainedNetwork } from '../../engine/adaptation/dynamicEvaluation';
import { GradientStatistics } from '../../engine/adaptation/gradientStatistics';
import { CompletionOptions, completionOptions, Completion } from '../../engine/completion/completer';
import { LOCALITY_EXTRAS } from '../../engine/completion/heldOutScores';
import { HybridCompleter } from '../../engine/completion/hybridCompleter';
import { MixtureGate } from '../../engine/completion/mixture';
import { CompletionEngine } from '../../engine/completion/networkCompleter';
import { advanceCodePoints, alignToCodePoint, countCodePoints } from '../../engine/data/codePoints';
import { Vocabulary } from '../../engine/data/vocabulary';
import { InferenceModel } from '../../engine/inference/inference';
import { NGramModel } from '../../engine/ngram/ngram';
import type { AdaptationInfo, HybridInfo } from './ngramProtocol';

/** Characters before the cursor a document's adaptation starts from. */
export const ADAPT_WINDOW = 20_000;
/** Weight updates between two adapted copies of the network for one document. */
export const SWAP_EVERY = 8;
/** Documents adapted at once (one copy of the weights each, twice while a new copy reads). */
const ADAPTED_DOCUMENTS = 4;

/** The gate without a fit: [ngram, cache], each weighted by e^(4·its top probability). */
export function unfittedGate(): MixtureGate {
  const gate = new MixtureGate([{ name: 'ngram', extras: 0 }, { name: 'cache', extras: LOCALITY_EXTRAS }]);
  const F = gate.featureCount;
  gate.weights[1] = 4; // row 0 (ngram), feature 1: the n-gram's top probability
  gate.weights[F + 3] = 4; // row 1 (cache), feature 3: the cache's top probability
  return gate;
}

/**
 * The gate that serves and what it serves, from mixture.json's content (null: no file); with the
 * hybrid, also the gate for documents the adapted network serves (mixture.json's `adapted`), when the
 * file has one.
 */
export function servingGate(json: unknown | null, hasNetwork: boolean): { gate: MixtureGate; adaptedGate?: MixtureGate; info: HybridInfo } {
  const fallback = (note: string) => ({ gate: unfittedGate(), info: { completer: 'ngram+cache' as const, note } });
  if (json === null) return fallback('no mixture is fitted for this run: run `lstm-lab mixture` on it (the n-gram with the caches serves until then)');
  let gate: MixtureGate;
  try {
    gate = MixtureGate.fromJSON(json);
  } catch (e) {
    return fallback(`mixture.json cannot be used (${(e as Error).message}); the n-gram with the caches serves`);
  }
  const extras = gate.components.map((c) => c.extras).join(',');
  const fitNatsPerChar = gate.fit?.natsPerChar;
  if (extras === `0,0,${LOCALITY_EXTRAS}`) {
    if (!hasNetwork) return fallback('the network could not be loaded; the n-gram with the caches serves');
    const adapted = (json as { adapted?: unknown }).adapted;
    let adaptedGate: MixtureGate | undefined;
    let note = '';
    try {
      adaptedGate = adapted === undefined ? undefined : MixtureGate.fromJSON(adapted);
      if (adaptedGate && adaptedGate.components.map((c) => c.extras).join(',') !== extras) throw new Error('its components are not [network, ngram, cache]');
    } catch (e) {
      adaptedGate = undefined;
      note = `the adapted gate of mixture.json cannot be used (${(e as Error).message}): adapted documents are served with the static gate`;
    }
    if (adapted === undefined) note = 'mixture.json has no gate for the adapted network (fitted before it was kept): adapted documents are served with the static gate; `lstm-lab mixture` fits both';
    return { gate, adaptedGate, info: { completer: 'hybrid', note, fitNatsPerChar } };
  }
  if (extras === `0,${LOCALITY_EXTRAS}`) return { gate, info: { completer: 'ngram+cache', note: 'the fitted gate mixes the n-gram and the caches only', fitNatsPerChar } };
  return fallback(`mixture.json has components ${gate.components.map((c) => c.name).join(', ')}, not [network, ngram, cache]; the n-gram with the caches serves`);
}

interface DocumentAdaptation {
  /** The latest text before the cursor. */
  text: string;
  /** UTF-16 offset the evaluator has read to. */
  read: number;
  /** Updates since the serving copy was made. */
  sinceCopy: number;
  /** A new copy reading the document, and what is left of its reading. */
  copy: { engine: CompletionEngine; reading: Generator<void, unknown> } | null;
}

export interface AdaptiveHybridParts {
  vocab: Vocabulary;
  ngram: NGramModel;
  /** The trained network (null: none to mix). */
  network: TrainedNetwork | null;
  /** mixture.json's content, or null when there is none. */
  mixture: unknown | null;
}

export class AdaptiveHybrid {
  readonly completer: HybridCompleter;
  readonly info: HybridInfo;
  private readonly model: InferenceModel | null;
  private adaptation: { docs: AdaptedDocuments; segment: number } | null = null;
  private readonly docs = new Map<string, DocumentAdaptation>();
  private readonly engines = new Map<string, CompletionEngine>();
  private contextChars: number = completionOptions(undefined).contextChars;
  private readChars = 0;
  private updates = 0;

  constructor(private readonly parts: AdaptiveHybridParts) {
    const { gate, adaptedGate, info } = servingGate(parts.mixture, parts.network !== null);
    this.info = info;
    this.model = info.completer === 'hybrid' && parts.network ? new InferenceModel(parts.network.config, parts.vocab, parts.network.params) : null;
    this.completer = new HybridCompleter({
      network: this.model ? new CompletionEngine(this.model) : null,
      adapted: (key) => this.engines.get(key),
      ngram: parts.ngram,
      gate,
      adaptedGate,
      vocab: parts.vocab,
    });
  }

  /** Whether the network is mixed in (so adaptation can help). */
  get mixesNetwork(): boolean {
    return this.model !== null;
  }

  /** Start adapting the network to the documents completed (needs the gradient statistics). */
  startAdaptation(stats: GradientStatistics, options: Partial<DynamicEvaluationOptions> = {}): void {
    if (!this.parts.network || !this.model) throw new Error('There is no network in the mix to adapt.');
    this.adaptation = { docs: new AdaptedDocuments(this.parts.network, stats, options, ADAPTED_DOCUMENTS), segment: dynamicEvaluationOptions(options).segment };
  }

  /** A completion at the end of `before` (the document's text before the cursor). */
  complete(key: string | undefined, before: string, options: Partial<CompletionOptions>): Completion | null {
    this.contextChars = completionOptions(options).contextChars;
    if (key !== undefined) this.noteText(key, before);
    return this.completer.complete({ key, text: before, offset: before.length }, options);
  }

  /** Add a document to the documents' cache. */
  remember(text: string): void {
    this.completer.rememberDocument(text);
  }

  forget(key: string): void {
    this.completer.forget(key);
    this.docs.delete(key);
    this.adaptation?.docs.delete(key);
    this.dropEngine(key);
  }

  status(): AdaptationInfo {
    const on = this.adaptation !== null;
    return { state: on ? 'on' : 'off', note: on ? '' : 'not started', documents: this.engines.size, chars: this.readChars, updates: this.updates };
  }

  /** One unit of adaptation work (one segment read, or one block read by a new copy); false when none is left. */
  adaptSome(): boolean {
    const a = this.adaptation;
    if (!a) return false;
    // Most recently completed documents first (the Map's last entries).
    for (const key of Array.from(this.docs.keys()).reverse()) {
      const d = this.docs.get(key)!;
      if (d.copy) {
        if (d.copy.reading.next().done) {
          this.dropEngine(key);
          this.engines.set(key, d.copy.engine);
          d.copy = null;
        }
        return true;
      }
      if (!hasSegment(d.text, d.read, a.segment)) continue;
      const end = advanceCodePoints(d.text, d.read, a.segment);
      a.docs.get(key).readIds(this.parts.vocab.encode(d.text.slice(d.read, end)));
      this.readChars += end - d.read;
      this.updates++;
      d.read = end;
      d.sinceCopy++;
      if (d.sinceCopy >= SWAP_EVERY || !hasSegment(d.text, d.read, a.segment)) {
        const weights = a.docs.peek(key)!.adaptedWeights();
        const engine = new CompletionEngine(new InferenceModel(this.parts.network!.config, this.parts.vocab, weights));
        const reading = engine.readTo({ key, text: d.text, offset: d.text.length }, completionOptions({ contextChars: this.contextChars }));
        d.copy = { engine, reading };
        d.sinceCopy = 0;
      }
      return true;
    }
    return false;
  }

  /** Whether `adaptSome` has work left. */
  get busy(): boolean {
    if (!this.adaptation) return false;
    for (const d of this.docs.values()) if (d.copy || hasSegment(d.text, d.read, this.adaptation.segment)) return true;
    return false;
  }

  /** The documents with an adapted network serving them. */
  adaptedKeys(): string[] {
    return Array.from(this.engines.keys());
  }

  dispose(): void {
    for (const key of Array.from(this.engines.keys())) this.dropEngine(key);
    this.model?.dispose();
  }

  /** A request brought the document's text before the cursor: adaptation follows it. */
  private noteText(key: string, text: string): void {
    if (!this.adaptation) return;
    let d = this.docs.get(key);
    if (d) {
      this.docs.delete(key);
      // An edit before what was read: read again from it (the weights keep what they learnt).
      if (d.read > text.length || !text.startsWith(d.text.slice(0, d.read))) d.read = alignToCodePoint(text, firstDifference(d.text, text, d.read));
      d.text = text;
    } else {
      d = { text, read: alignToCodePoint(text, Math.max(0, text.length - ADAPT_WINDOW)), sinceCopy: 0, copy: null };
    }
    this.docs.set(key, d);
    // Keep only what AdaptedDocuments keeps (plus this one, which it will take in).
    while (this.docs.size > ADAPTED_DOCUMENTS) {
      const oldest = this.docs.keys().next().value as string;
      this.forgetAdaptation(oldest);
    }
  }

  private forgetAdaptation(key: string): void {
    this.docs.delete(key);
    this.adaptation?.docs.delete(key);
    this.dropEngine(key);
    this.completer.invalidate(key, 0);
  }

  private dropEngine(key: string): void {
    const e = this.engines.get(key);
    if (!e) return;
    this.engines.delete(key);
    e.model.dispose();
  }
}

/** Whether `text` has a whole segment (n code points) after `from`. */
function hasSegment(text: string, from: number, n: number): boolean {
  return text.length - from >= n && countCodePoints(text.slice(from, advanceCodePoints(text, from, n))) >= n;
}

/** First UTF-16 index below `limit` where a and b differ (or the shorter length, or `limit`). */
function firstDifference(a: string, b: string, limit: number): number {
  const end = Math.min(limit, a.length, b.length);
  for (let i = 0; i < end; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return end;
}
