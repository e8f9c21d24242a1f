/**
 * The hybrid over the adapted network: HybridCompleter (hybridCompleter.ts) mixing the network whose
 * weights dynamic evaluation adapted to the text read so far (AdaptedNetworkCompleter,
 * adaptedCompleter.ts) with the corpus n-gram and the caches, by a gate fitted with the adapted
 * network's scores (it is more confident than the static network, so the static gate would
 * under-weight it). Before each request the adaptation reads the document's whole segments before
 * the cursor, as the adapted completer does alone; nothing at or after the cursor is read.
 */
import type { Vocabulary } from '../data/vocabulary';
import type { NGramModel } from '../ngram/ngram';
import type { AsyncCompletion, AsyncOptions, CancellationLike, Completer, Completion, CompletionOptions, CompletionRequest } from './completer';
import { AdaptedNetworkCompleter } from './adaptedCompleter';
import { HybridCompleter } from './hybridCompleter';
import type { MixtureGate } from './mixture';

export class AdaptedHybridCompleter implements Completer {
  readonly kind = 'hybrid' as const;
  readonly vocab: Vocabulary;
  private readonly hybrid: HybridCompleter;

  constructor(readonly adapted: AdaptedNetworkCompleter, ngram: NGramModel, gate: MixtureGate) {
    this.vocab = adapted.vocab;
    this.hybrid = new HybridCompleter({ network: adapted.currentEngine, adapted: () => adapted.currentEngine, ngram, gate, vocab: this.vocab });
  }

  /** Adapt on the request's text before the cursor first (unless the adapted completer is told not to). */
  private before(req: CompletionRequest): void {
    if (this.adapted.adaptOnRequest) this.adapted.adaptTo(req);
  }

  complete(req: CompletionRequest, opts?: Partial<CompletionOptions>, token?: CancellationLike): Completion | null {
    this.before(req);
    return this.hybrid.complete(req, opts, token);
  }

  completeAsync(req: CompletionRequest, opts?: Partial<CompletionOptions>, a?: AsyncOptions): Promise<AsyncCompletion> {
    this.before(req);
    return this.hybrid.completeAsync(req, opts, a);
  }

  prime(req: CompletionRequest, opts?: Partial<CompletionOptions>): void {
    this.before(req);
    this.hybrid.prime(req, opts);
  }

  /** A document opened before: the adaptation reads it, and so does the documents' cache. */
  rememberDocument(text: string, key?: string): void {
    this.adapted.rememberDocument(text, key);
    this.hybrid.rememberDocument(text);
  }

  invalidate(key: string, offset: number): void {
    this.adapted.invalidate(key, offset);
    this.hybrid.invalidate(key, offset);
  }

  forget(key: string): void {
    this.adapted.forget(key);
    this.hybrid.forget(key);
  }
}
