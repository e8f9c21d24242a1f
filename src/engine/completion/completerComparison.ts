/**
 * Every completer on the same cursor positions, as `lstm-lab complete-eval` compares them: the
 * static network, the network adapted by dynamic evaluation, the corpus n-gram, the n-gram with the
 * file and documents caches, and the hybrid (network, n-gram and caches mixed by the fitted gate).
 *
 * What each may have read: the text before the cursor; completers that carry something across
 * documents (the caches, the adapted weights) also the held-out files before this one, in file
 * order, each read whole once its positions are done (as files opened before), never text after the
 * cursor of the file being completed. `suggestInFileOrder` drives that; `heldOutMixtureLosses` gives
 * the held-out cross-entropy of the mixtures and of their components over the same reading.
 */
import type { Completer } from './completer';
import { EvalPosition, SuggestionRecord, suggestAll, SuggestOptions } from './completionMetrics';
import { corpusNGramComponent, localityComponent, ScoredComponent, staticNetworkComponent } from './heldOutScores';
import { MixtureGate } from './mixture';
import type { InferenceModel } from '../inference/inference';
import type { NGramModel } from '../ngram/ngram';

/** The names complete-eval knows, in the order of its report. */
export const COMPLETER_NAMES = ['lstm', 'lstm-adapted', 'ngram', 'ngram-cache', 'hybrid', 'hybrid-adapted'] as const;
export type CompleterName = (typeof COMPLETER_NAMES)[number];
/** The editor's default completer: `auto` serves the hybrid over the network adapted to each document, with the gate fitted on the adapted network's scores (mixture.json's `adapted`). */
export const DEFAULT_COMPLETER: CompleterName = 'hybrid-adapted';

/** A completer that reads whole documents opened before (the caches, the adapted network). */
export interface RemembersDocuments {
  rememberDocument(text: string, key?: string): void;
}

/** The key complete-eval's suggestions use for file `f` (suggestAll's). */
export const evalKey = (f: number): string => `eval:${f}`;

/**
 * Both suggestions of the completer at every position (positions in file order), with every file
 * before a position's file remembered first, and every file remembered at the end (so what the
 * completer carries has read all of them, in order, once).
 */
export function suggestInFileOrder(c: Completer, texts: readonly string[], positions: readonly EvalPosition[], o: SuggestOptions, memory?: RemembersDocuments): SuggestionRecord[] {
  for (let i = 1; i < positions.length; i++) {
    const a = positions[i - 1];
    const b = positions[i];
    if (b.file < a.file || (b.file === a.file && b.offset < a.offset)) throw new RangeError('positions must come in file order');
  }
  if (!memory) return suggestAll(c, texts, positions, o);
  let next = 0; // the first file not remembered yet
  const out: SuggestionRecord[] = [];
  for (let i = 0; i < positions.length; ) {
    const f = positions[i].file;
    for (; next < f; next++) memory.rememberDocument(texts[next], evalKey(next));
    let j = i;
    while (j < positions.length && positions[j].file === f) j++;
    // suggestAll forgets the states it cached for the file; the reading the completer carries stays.
    out.push(...suggestAll(c, texts, positions.slice(i, j), o));
    i = j;
  }
  for (; next < texts.length; next++) memory.rememberDocument(texts[next], evalKey(next));
  return out;
}

/** A mixture to score: its name and its gate (over components named lstm, ngram, cache). */
export interface NamedGate {
  name: string;
  gate: MixtureGate;
}

export interface HeldOutLosses {
  /** Positions scored (every symbol of every document). */
  positions: number;
  /** Nats/char per component alone (lstm, ngram, cache) and per mixture, by name. */
  natsPerChar: Record<string, number>;
}

/**
 * Held-out cross-entropy of the components and of the mixtures over the documents read in order,
 * one document at a time (memory stays that of one document). Each position i of a document is
 * P(ids[i] | ids[<i]); the documents' cache has read the documents before.
 */
export function heldOutMixtureLosses(network: InferenceModel | ScoredComponent | null, ngram: NGramModel, documents: readonly Int32Array[], gates: readonly NamedGate[]): HeldOutLosses {
  const components: ScoredComponent[] = [corpusNGramComponent(ngram, 'ngram'), localityComponent(ngram.vocabSize, {}, 'cache')];
  // The network: the static one, or a component named lstm given whole (the adapted network).
  if (network) components.unshift('scoreDocument' in network ? network : staticNetworkComponent(network, 'lstm'));
  const names = components.map((c) => c.spec.name);
  const plans = gates.map((g) => {
    const idx = g.gate.components.map((c) => {
      const i = names.indexOf(c.name);
      if (i < 0) throw new RangeError(`the mixture ${g.name} needs a component ${c.name}, which is not scored here`);
      return i;
    });
    return { ...g, idx, pi: new Float64Array(idx.length), f: new Float64Array(g.gate.featureCount) };
  });
  const sums = new Map<string, number>([...names, ...gates.map((g) => g.name)].map((n) => [n, 0]));
  let positions = 0;
  for (const ids of documents) {
    const scores = components.map((c) => c.scoreDocument(ids));
    for (let i = 0; i < ids.length; i++) {
      scores.forEach((s, m) => sums.set(names[m], sums.get(names[m])! - Math.log(Math.max(1e-9, s.targetProbs[i]))));
      for (const p of plans) {
        p.gate.mixWeights(p.gate.features(p.idx.map((m) => scores[m].summaries[i]), p.f), p.pi);
        let mixed = 0;
        p.idx.forEach((m, k) => (mixed += p.pi[k] * Math.max(1e-9, scores[m].targetProbs[i])));
        sums.set(p.name, sums.get(p.name)! - Math.log(mixed));
      }
    }
    positions += ids.length;
  }
  return { positions, natsPerChar: Object.fromEntries(Array.from(sums, ([n, s]) => [n, positions ? s / positions : NaN])) };
}
