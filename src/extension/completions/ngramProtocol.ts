/**
 * Messages between the extension host and the n-gram worker (ngramWorker.ts), which builds the
 * baseline from the active model's corpus (or loads it from `ngram.json` beside the checkpoint) and
 * serves its completions, so that neither the build (seconds) nor parsing the saved model blocks
 * the editor. Both sides check what they receive. No imports at run time.
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
}

export interface NGramInfo {
  order: number;
  distinctNgrams: number;
  trainChars: number;
  /** Built now (true) or read from cachePath (false). */
  built: boolean;
  seconds: number;
}

export type HostToNGram =
  | { type: 'load'; request: NGramLoadRequest }
  /** `before`: the text before the cursor (its last few hundred characters are enough). */
  | { type: 'complete'; id: number; before: string; options: Partial<CompletionOptions> };

export type NGramToHost =
  | { type: 'progress'; phase: 'reading' | 'building' | 'loading'; fraction: number }
  | { type: 'ready'; info: NGramInfo }
  | { type: 'failed'; message: string }
  | { type: 'completion'; id: number; completion: Completion | null; ms: number }
  | { type: 'completionFailed'; id: number; message: string }
  | { type: 'log'; line: string };

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m);
const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export function isHostToNGram(m: unknown): m is HostToNGram {
  if (!isObject(m)) return false;
  if (m.type === 'load') {
    const r = m.request;
    return isObject(r) && isString(r.checkpoint) && Array.isArray(r.corpusPaths) && r.corpusPaths.every(isString) && isObject(r.corpusOptions) && isNumber(r.order) && isString(r.cachePath);
  }
  if (m.type === 'complete') return isNumber(m.id) && isString(m.before) && isObject(m.options);
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
    default:
      return false;
  }
}
