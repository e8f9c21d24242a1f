/**
 * Decoding, shared by both completers: a model seen as a `Stepper` (scores for the next symbol, the
 * state after a symbol) is decoded greedily, by sampling, or by beam search, until the stopping rule
 * or `maxLength` ends the suggestion:
 *   temperature 0, beam width 1   greedy: the most likely symbol each step (ties: lowest id)
 *   temperature 0, beam width W   beam search on the summed log-probability; the W best symbols of
 *                                 each hypothesis are ranked by logits, so width 1 is greedy exactly
 *   temperature T > 0             sampling from softmax(logits / T) with a seeded generator
 * The unknown symbol is never produced. Decoders are generators that pause after every symbol.
 */
import { Random } from '../nn/random';
import { chooseSymbol } from '../inference/sample';
import { UNKNOWN_INDEX, Vocabulary } from '../data/vocabulary';
import type { CompletionOptions } from './completer';
import type { StopRule } from './tokens';

/** One model as the decoder sees it: scores for the next symbol, and the state after a symbol. */
export interface Stepper<S> {
  /** Scores whose softmax is the next-symbol distribution (logits, or log-probabilities). */
  scores(state: S): Float32Array;
  advance(state: S, id: number): S;
}

export interface DecodeInput<S> {
  stepper: Stepper<S>;
  vocab: Vocabulary;
  state: S;
  opts: CompletionOptions;
  stop: StopRule;
}

/** Decode; yields after every symbol (a pause point); returns the suggestion. */
export function* decode<S>(d: DecodeInput<S>): Generator<void, string> {
  const { opts } = d;
  if (opts.temperature > 0 || opts.beamWidth <= 1) return yield* decodeGreedyOrSampled(d);
  return yield* decodeBeam(d);
}

function* decodeGreedyOrSampled<S>({ stepper, vocab, state, opts, stop }: DecodeInput<S>): Generator<void, string> {
  const rng = new Random(opts.seed);
  let out = '';
  let s = state;
  for (let i = 0; i < opts.maxLength; i++) {
    const id = chooseSymbol(stepper.scores(s), opts.temperature, 0, rng, UNKNOWN_INDEX);
    const ch = vocab.symbol(id);
    if (stop(out, ch)) break;
    out += ch;
    if (i + 1 < opts.maxLength) {
      s = stepper.advance(s, id);
      yield;
    }
  }
  return out;
}

interface Hypothesis<S> {
  text: string;
  score: number;
  state: S;
}

/**
 * Beam search: keeps the W best hypotheses by summed log-probability. A hypothesis whose next
 * symbol is a stop ends there (the stop's probability counts in its score). Returns the best
 * finished hypothesis, or the best unfinished one at maxLength if it scores higher.
 */
function* decodeBeam<S>({ stepper, vocab, state, opts, stop }: DecodeInput<S>): Generator<void, string> {
  const W = opts.beamWidth;
  let beams: Hypothesis<S>[] = [{ text: '', score: 0, state }];
  let best = null as { text: string; score: number } | null;
  for (let step = 0; step < opts.maxLength && beams.length > 0; step++) {
    const candidates: { parent: Hypothesis<S>; id: number; text: string; score: number }[] = [];
    for (const beam of beams) {
      const scores = stepper.scores(beam.state);
      const logZ = logSumExp(scores);
      for (const id of topIds(scores, W, UNKNOWN_INDEX)) {
        const score = beam.score + (scores[id] - logZ);
        const ch = vocab.symbol(id);
        if (stop(beam.text, ch)) {
          if (best === null || score > best.score) best = { text: beam.text, score };
        } else {
          candidates.push({ parent: beam, id, text: beam.text + ch, score });
        }
      }
    }
    candidates.sort((a, b) => b.score - a.score); // stable: ties keep beam order, then rank order
    const last = step + 1 >= opts.maxLength;
    beams = candidates.slice(0, W).map((c) => ({ text: c.text, score: c.score, state: last ? c.parent.state : stepper.advance(c.parent.state, c.id) }));
    // Scores only fall as hypotheses grow: no live beam can overtake a better finished one.
    if (best !== null && (beams.length === 0 || beams[0].score <= best.score)) return best.text;
    yield;
  }
  if (best !== null && (beams.length === 0 || best.score >= beams[0].score)) return best.text;
  return beams.length > 0 ? beams[0].text : '';
}

/**
 * Run one decoder to the end, at once: 'greedy' (temperature 0; or sampling when opts.temperature > 0)
 * or 'beam' (beam search of width opts.beamWidth, even 1). For tests and tools; the completers pick
 * the decoder from the options.
 */
export function runDecoder<S>(which: 'greedy' | 'beam', stepper: Stepper<S>, vocab: Vocabulary, state: S, opts: CompletionOptions, stop: StopRule): string {
  const gen = which === 'beam' ? decodeBeam({ stepper, vocab, state, opts, stop }) : decodeGreedyOrSampled({ stepper, vocab, state, opts, stop });
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
  }
}

/** Ids of the k largest scores, largest first, ties by lowest id, `banned` left out. */
function topIds(scores: Float32Array, k: number, banned: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (i === banned) continue;
    const v = scores[i];
    if (out.length === k && v <= scores[out[k - 1]]) continue;
    let j = out.length < k ? out.length : k - 1;
    out[j] = i;
    while (j > 0 && scores[out[j - 1]] < v) {
      out[j] = out[j - 1];
      out[j - 1] = i;
      j--;
    }
  }
  return out;
}

function logSumExp(a: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > max) max = a[i];
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.exp(a[i] - max);
  return max + Math.log(sum);
}
