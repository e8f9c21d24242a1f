/**
 * Evaluation: cross-entropy of a text under the model, in nats per character, bits per character and
 * perplexity. The text is cut into S contiguous streams run side by side, each carrying its hidden state
 * through its part of the text window after window, so every character after the first is predicted
 * from everything before it in its stream (only the start of each stream begins from a zero state).
 */
import { tidy } from '../runtime/backend';
import { CharRnn, disposeState, keepState, RecurrentState } from '../nn/model';

export interface Evaluation {
  natsPerChar: number;
  bitsPerChar: number;
  perplexity: number;
  /** Characters predicted. */
  chars: number;
}

export function metricsFromNats(natsPerChar: number, chars: number): Evaluation {
  return { natsPerChar, bitsPerChar: natsPerChar / Math.LN2, perplexity: Math.exp(natsPerChar), chars };
}

export interface EvaluateOptions {
  /** Parallel streams (default 32, fewer for short texts). */
  streams?: number;
  /** Steps per window (default 128). */
  window?: number;
  /** Evaluate at most this many characters (0 = all). */
  maxChars?: number;
  signal?: AbortSignal;
}

export async function evaluateIds(model: CharRnn, ids: Int32Array, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const limit = opts.maxChars && opts.maxChars > 0 ? Math.min(ids.length, opts.maxChars + 1) : ids.length;
  const n = limit - 1; // predicted positions
  if (n < 1) throw new Error('The text is too short to evaluate (it needs at least two characters).');
  const window = opts.window ?? 128;
  const S = Math.max(1, Math.min(opts.streams ?? 32, Math.floor(n / window) || 1));
  const L = Math.ceil(n / S); // positions per stream; the last stream is padded
  let state: RecurrentState = model.zeroState(S);
  let totalNats = 0;
  try {
    for (let start = 0; start < L; start += window) {
      if (opts.signal?.aborted) throw new Error('Evaluation cancelled.');
      const T = Math.min(window, L - start);
      const inputs = new Int32Array(T * S);
      const targets = new Int32Array(T * S);
      const weights = new Float32Array(T * S);
      let count = 0;
      for (let t = 0; t < T; t++) {
        for (let s = 0; s < S; s++) {
          const pos = s * L + start + t;
          if (pos < n) {
            inputs[t * S + s] = ids[pos];
            targets[t * S + s] = ids[pos + 1];
            weights[t * S + s] = 1;
            count++;
          }
        }
      }
      const prev = state;
      const { lossValue, next } = tidy(() => {
        const r = model.run(inputs, targets, T, S, prev, false, undefined, weights);
        return { lossValue: r.loss.dataSync()[0], next: keepState(r.state) };
      });
      disposeState(prev);
      state = next;
      totalNats += lossValue * count;
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    disposeState(state);
  }
  return metricsFromNats(totalNats / n, n);
}
