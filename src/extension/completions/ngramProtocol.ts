/**
 * Messages between the extension host and the n-gram worker (ngramWorker.ts), which builds the
 * baseline from the active model's corpus (or loads it from `ngram.json` beside the checkpoint) and
 * serves its completions, so that neither the build (seconds) nor parsing the saved model blocks
 * the editor. With `hybrid` in the load request it serves the hybrid instead (the network, the
 * n-gram and the caches of the documents it is told about, with the gate of mixture.json), and
 * adapts the network to the documents being completed in idle time. Both sides check what they
 * receive. No imports at run time.
 */
import type { Completion, CompletionOptions } from '../../engine/completion/completer';

export interface NGramLoadRequest {
  checkpoint: string;
  /** Roots of the corpus the model was trained on ([] = the checkpoint header's corpus.root). */
  corpusPaths: string[];
  corpusOptions: { include?: string[]; exclude: string[]; maxFileBytes: number; maxTotalBytes: number };
  order: number;
  /** Where the built model is saved and looked for (ngram.json beside the checkpoint). */
  cachePath: string;
  /** Serve the hybrid completer rather than the n-gram alone. */
  hybrid?: HybridLoadRequest;
}

export interface HybridLoadRequest {
  /** The fitted gate (mixture.json beside the checkpoint); without it, the n-gram with the caches. */
  mixturePath: string;
  /** Adapt the network to the documents being completed (dynamic evaluation) in idle time. */
  adapt: boolean;
}

/** What serves in the worker. */
export interface HybridInfo {
  /** 'hybrid': network + n-gram + caches; 'ngram+cache': no fitted gate for the network, so the n-gram with the caches. */
  completer: 'hybrid' | 'ngram+cache';
  /** Why it is not the full hybrid (no mixture.json, or one that does not fit), or '' when it is. */
  note: string;
  /** Held-out nats/char of the fitted mixture, when mixture.json records it. */
  fitNatsPerChar?: number;
}

/** Dynamic evaluation in the worker. */
export interface AdaptationInfo {
  state: 'off' | 'preparing' | 'on' | 'failed';
  /** Why off or failed, or what it is preparing. */
  note: string;
  /** Documents with adapted weights now. */
  documents: number;
  /** Characters read by the adaptation, all documents, since the worker started. */
  chars: number;
  /** Weight updates since the worker started. */
  updates: number;
}

export interface NGramInfo {
  order: number;
  distinctNgrams: number;
  trainChars: number;
  /** Built now (true) or read from cachePath (false). */
  built: boolean;
  seconds: number;
  /** Set when the worker serves the hybrid. */
  hybrid?: HybridInfo;
}

export type HostToNGram =
  | { type: 'load'; request: NGramLoadRequest }
  /**
   * `before`: the text before the cursor (for the n-gram its last few hundred characters are
   * enough; the hybrid gets all of it). `key`: the document, for the hybrid's caches.
   */
  | { type: 'complete'; id: number; before: string; options: Partial<CompletionOptions>; key?: string }
  /** A document to add to the documents' cache (opened, or edited and left). */
  | { type: 'remember'; key: string; text: string }
  /** The document was closed: drop what is kept for it. */
  | { type: 'forget'; key: string };

export type NGramToHost =
  | { type: 'progress'; phase: 'reading' | 'building' | 'loading'; fraction: number }
  | { type: 'ready'; info: NGramInfo }
  | { type: 'failed'; message: string }
  | { type: 'completion'; id: number; completion: Completion | null; ms: number }
  | { type: 'completionFailed'; id: number; message: string }
  | { type: 'log'; line: string }
  | { type: 'adaptation'; info: AdaptationInfo };

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m);
const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export function isHostToNGram(m: unknown): m is HostToNGram {
  if (!isObject(m)) return false;
  if (m.type === 'load') {
    const r = m.request;
    return isObject(r) && isString(r.checkpoint) && Array.isArray(r.corpusPaths) && r.corpusPaths.every(isString) && isObject(r.corpusOptions) && isNumber(r.order) && isString(r.cachePath)
      && (r.hybrid === undefined || (isObject(r.hybrid) && isString(r.hybrid.mixturePath) && typeof r.hybrid.adapt === 'boolean'));
  }
  if (m.type === 'complete') return isNumber(m.id) && isString(m.before) && isObject(m.options) && (m.key === undefined || isString(m.key));
  if (m.type === 'remember') return isString(m.key) && isString(m.text);
  if (m.type === 'forget') return isString(m.key);
  return false;
}

export function isNGramToHost(m: unknown): m is NGramToHost {
  if (!isObject(m)) return false;
  switch (m.type) {
    case 'progress':
      return isString(m.phase) && isNumber(m.fraction);
    case 'ready':
      return isObject(m.info) && isNumber(m.info.order);
    case 'failed':
      return isString(m.message);
    case 'completion':
      return isNumber(m.id) && isNumber(m.ms) && (m.completion === null || (isObject(m.completion) && isString(m.completion.text)));
    case 'completionFailed':
      return isNumber(m.id) && isString(m.message);
    case 'log':
      return isString(m.line);
    case 'adaptation':
      return isObject(m.info) && isString(m.info.state) && isNumber(m.info.documents) && isNumber(m.info.updates);
    default:
      return false;
  }
}
