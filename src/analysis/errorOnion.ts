/**
 * "Peeling the onion" (Karpathy, Johnson & Fei-Fei 2015, section 4.4): the characters of held-out
 * text a network gets wrong — the probability it gave the character that came is below 0.5 — each
 * put in exactly one category, the first of these that explains it, in the paper's order:
 *
 *   n-gram          an n-gram oracle gets it right: one of the interpolated Kneser-Ney models built
 *                   on the training split, of orders up to 20, gives it ≥ 0.5 (the paper's oracle
 *                   takes every order 1…20; `lstm-lab errors` builds a spread of them, one at a time,
 *                   as each costs seconds and hundreds of MB on a corpus of megabytes)
 *   dynamic memory  the character completes a string that already occurred in the text read so far:
 *                   the (n+1)-gram ending at it, n = 5 by default, was seen earlier in the held-out
 *                   text (files read in order) — what a model that remembers the document would copy
 *   rare words      it lies in a word (a run of letters, digits and _) seen at most 5 times in the
 *                   training text
 *   word model      it is the first character of a word: which word comes next
 *   punctuation     it is an ASCII punctuation character
 *   boost           the rest: errors only a better model in general would remove
 *
 * Code differs from the paper's Wikipedia text in one place: a word there follows a space or a
 * newline; in code it as often follows `(`, `->` or `.`, so "word model" is the first character of
 * any word, whatever precedes it. Everything is in code points (the model's symbols).
 */
import { InferenceModel, softmax } from '../engine/inference/inference';
import { NGramModel } from '../engine/ngram/ngram';
import type { Vocabulary } from '../engine/data/vocabulary';

/** What the onion asks of a network: its vocabulary and the probability it gives each symbol of a text. */
export interface PredictingNetwork {
  vocab: Vocabulary;
  /** Per symbol of `ids`, the probability given to it from the symbols before it (entry 0: NaN). */
  probabilities(ids: Int32Array): Float32Array;
}

export function predictingNetwork(model: InferenceModel): PredictingNetwork {
  return { vocab: model.vocab, probabilities: (ids) => networkProbabilities(model, ids) };
}

export const ERROR_CATEGORIES = ['n-gram', 'dynamic memory', 'rare words', 'word model', 'punctuation', 'boost'] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export interface OnionOptions {
  /** A character is an error when the network gives it less than this (the paper: 0.5). */
  threshold?: number;
  /** n of the dynamic memory: the (n+1)-gram ending at the character was seen before. */
  memoryLength?: number;
  /** A word seen at most this many times in training is rare (the paper: 5). */
  rareCount?: number;
}

export interface OnionFile {
  /** Code points of the file. */
  chars: number;
  /** Per code point: the index into ERROR_CATEGORIES of its error, −1 where the network was right. */
  categories: Int8Array;
}

export interface Onion {
  /** Characters predicted (every code point but the first of each file). */
  chars: number;
  errors: number;
  categories: { name: ErrorCategory; errors: number }[];
  files: OnionFile[];
  threshold: number;
  memoryLength: number;
  rareCount: number;
}

const WORD_CHAR = /^[\p{L}\p{N}_]$/u;
const isWord = (cp: number) => (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95 || (cp > 127 && WORD_CHAR.test(String.fromCodePoint(cp)));
const isPunctuation = (cp: number) => (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96 && cp !== 95) || (cp >= 123 && cp <= 126);

/** How often each word (maximal run of word characters) occurs in a text. */
export function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const re = /[\p{L}\p{N}_]+/gu;
  for (const m of text.matchAll(re)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  return counts;
}

/** Probability the network gave each symbol of `ids` (entry 0, which has no context, is NaN). */
export function networkProbabilities(model: InferenceModel, ids: Int32Array): Float32Array {
  const p = new Float32Array(ids.length).fill(NaN);
  const CHUNK = 2048;
  const top = model.config.layers - 1;
  const V = model.config.vocabSize;
  let state = model.zeroState();
  for (let start = 0; start + 1 < ids.length; start += CHUNK) {
    const n = Math.min(CHUNK, ids.length - 1 - start); // rows predicting ids[start+1 … start+n]
    const r = model.run(ids.subarray(start, start + n), state, { record: true });
    state = r.state;
    const logits = model.logitsForRows(r.layers![top].hs, n);
    for (let row = 0; row < n; row++) {
      const probs = softmax(logits.subarray(row * V, (row + 1) * V));
      p[start + row + 1] = probs[ids[start + row + 1]];
    }
  }
  return p;
}

/**
 * The onion of one network over held-out files (read in order), with the corpus n-gram and the
 * training text's word counts. `texts` and `ids` are the same files, as text and as vocabulary ids.
 */
export function peelOnion(network: PredictingNetwork, oracle: Iterable<NGramModel>, trainingWords: Map<string, number>, texts: readonly string[], o: OnionOptions = {}): Onion {
  const threshold = o.threshold ?? 0.5;
  const encoded = texts.map((t) => network.vocab.encode(t));
  const probabilities = encoded.map((ids) => network.probabilities(ids));
  // The oracle: per symbol, the most any of the n-gram models (taken one at a time) gives it.
  const best = encoded.map((ids) => new Float32Array(ids.length));
  for (const ngram of oracle) {
    encoded.forEach((ids, f) => {
      const p = probabilities[f];
      for (let i = 1; i < ids.length; i++) {
        if (p[i] < threshold && best[f][i] < threshold) {
          best[f][i] = Math.max(best[f][i], Math.exp(ngram.logProb(ids.subarray(Math.max(0, i - ngram.order + 1), i), ids[i])));
        }
      }
    });
  }
  const memoryLength = o.memoryLength ?? 5;
  const rareCount = o.rareCount ?? 5;
  const counts = new Array<number>(ERROR_CATEGORIES.length).fill(0);
  const seen = new Set<string>(); // (memoryLength+1)-grams of the held-out text read so far
  const files: OnionFile[] = [];
  let chars = 0;
  let errors = 0;
  texts.forEach((text, f) => {
    const cps = Array.from(text, (ch) => ch.codePointAt(0)!);
    const ids = encoded[f];
    const p = probabilities[f];
    // The word each code point belongs to ('' outside words), and whether it starts it.
    const word: string[] = new Array(cps.length).fill('');
    for (let i = 0; i < cps.length; ) {
      if (!isWord(cps[i])) {
        i++;
        continue;
      }
      let j = i;
      while (j < cps.length && isWord(cps[j])) j++;
      const w = String.fromCodePoint(...cps.slice(i, j));
      for (let k = i; k < j; k++) word[k] = w;
      i = j;
    }
    const categories = new Int8Array(cps.length).fill(-1);
    const gram = (i: number) => String.fromCodePoint(...cps.slice(i - memoryLength, i + 1));
    for (let i = 1; i < cps.length; i++) {
      chars++;
      if (p[i] < threshold) {
        errors++;
        let c: number;
        if (best[f][i] >= threshold) c = 0;
        else if (i >= memoryLength && seen.has(gram(i))) c = 1;
        else if (word[i] !== '' && (trainingWords.get(word[i]) ?? 0) <= rareCount) c = 2;
        else if (word[i] !== '' && (i === 0 || word[i - 1] === '')) c = 3;
        else if (isPunctuation(cps[i])) c = 4;
        else c = 5;
        categories[i] = c;
        counts[c]++;
      }
      if (i >= memoryLength) seen.add(gram(i));
    }
    files.push({ chars: cps.length, categories });
  });
  return {
    chars,
    errors,
    categories: ERROR_CATEGORIES.map((name, k) => ({ name, errors: counts[k] })),
    files,
    threshold,
    memoryLength,
    rareCount,
  };
}
