/**
 * Sampling text from a model: prime text, temperature (0 = argmax), top-k, seeded; streamed symbol by
 * symbol so callers can show text as it is generated.
 */
import { InferenceModel, InferenceState } from './inference';
import { Random } from '../nn/random';
import { UNKNOWN_INDEX } from '../data/vocabulary';

export interface SampleOptions {
  /** Symbols to generate. */
  length: number;
  /** Softmax temperature; 0 picks the most likely symbol every time. */
  temperature?: number;
  /** Sample only among the k most likely symbols (0 = all). */
  topK?: number;
  /** Text fed to the model before generating (its state conditions the sample). */
  prime?: string;
  seed?: number;
  /** Never emit the unknown symbol. */
  avoidUnknown?: boolean;
}

/** Choose the next symbol from logits. Exported for completions. */
export function chooseSymbol(logits: Float32Array, temperature: number, topK: number, rng: Random, banned = -1): number {
  const V = logits.length;
  if (temperature <= 0) {
    let best = -1;
    for (let i = 0; i < V; i++) if (i !== banned && (best < 0 || logits[i] > logits[best])) best = i;
    return best;
  }
  let candidates: number[] = [];
  for (let i = 0; i < V; i++) if (i !== banned) candidates.push(i);
  if (topK > 0 && topK < candidates.length) candidates = candidates.sort((a, b) => logits[b] - logits[a]).slice(0, topK);
  let max = -Infinity;
  for (const i of candidates) max = Math.max(max, logits[i]);
  const w = candidates.map((i) => Math.exp((logits[i] - max) / temperature));
  return candidates[rng.categorical(w)];
}

/** Generate symbol by symbol. Yields each generated character. */
export function* sampleStream(model: InferenceModel, opts: SampleOptions): Generator<string, InferenceState> {
  const rng = new Random(opts.seed ?? 1);
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  let state = model.zeroState();
  const prime = opts.prime ?? '';
  if (prime.length > 0) state = model.run(model.vocab.encode(prime), state).state;
  const banned = opts.avoidUnknown === false ? -1 : UNKNOWN_INDEX;
  const one = new Int32Array(1);
  for (let i = 0; i < opts.length; i++) {
    const id = chooseSymbol(model.logits(state), temperature, topK, rng, banned);
    one[0] = id;
    state = model.run(one, state).state;
    yield model.vocab.symbol(id);
  }
  return state;
}

export function sampleText(model: InferenceModel, opts: SampleOptions): string {
  let s = '';
  for (const ch of sampleStream(model, opts)) s += ch;
  return s;
}
