/**
 * The character n-gram baseline (interpolated Kneser-Ney, src/engine/ngram) as a completer, behind
 * the same interface and decoders as the network (completer.ts, decoders.ts): it looks at the last
 * order − 1 symbols before the cursor only, so it has nothing to cache.
 */
import type { NGramModel } from '../ngram/ngram';
import type { Vocabulary } from '../data/vocabulary';
import { alignToCodePoint, countCodePoints } from '../data/codePoints';
import {
  checkRequest, Completer, Completion, CompletionOptions, CompletionRequest,
} from './completer';
import { decode, Stepper } from './decoders';
import { now, SlicedCompleter } from './timeSlicing';
import { stopRule } from './tokens';

export class NGramCompleter extends SlicedCompleter implements Completer {
  readonly kind = 'ngram' as const;

  constructor(readonly model: NGramModel, readonly vocab: Vocabulary) {
    super();
    if (model.vocabSize !== vocab.size) {
      throw new Error(`The n-gram model has ${model.vocabSize} symbols but the vocabulary has ${vocab.size}: build it with the checkpoint's vocabulary.`);
    }
  }

  override prime(): void {
    // Nothing to read: the n-gram looks at the last order − 1 symbols only.
  }

  invalidate(): void {}

  forget(): void {}

  protected *work(req: CompletionRequest, opts: CompletionOptions): Generator<void, Completion> {
    checkRequest(req);
    const offset = alignToCodePoint(req.text, req.offset);
    const t0 = now();
    const keep = this.model.order - 1;
    const before = req.text.slice(Math.max(0, offset - 2 * keep - 2), offset);
    const all = this.vocab.encode(before);
    const context = Array.from(all.subarray(Math.max(0, all.length - keep)));
    const t1 = now();
    const stepper = ngramStepper(this.model);
    const text = yield* decode({ stepper, vocab: this.vocab, state: context, opts, stop: stopRule(opts.stopAt) });
    return { text, symbols: countCodePoints(text), model: 'ngram', contextRead: 0, cache: 'none', readMs: t1 - t0, decodeMs: now() - t1 };
  }
}

/** The n-gram model as a Stepper: the state is the last order − 1 symbols. */
export function ngramStepper(model: NGramModel): Stepper<number[]> {
  const keep = model.order - 1;
  return {
    scores: (ctx) => logOf(model.probabilities(ctx)),
    advance: (ctx, id) => (keep === 0 ? [] : ctx.length < keep ? [...ctx, id] : [...ctx.slice(1), id]),
  };
}

function logOf(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.log(p[i]);
  return out;
}
