/**
 * Running a completer's work — a generator that pauses after every block of context read and every
 * symbol generated — at once, or in slices on the caller's event loop: `runSliced` yields to the
 * event loop (setImmediate) whenever a slice has run `sliceMs`, and stops, returning null, as soon
 * as the cancellation token says so.
 */
import { AsyncCompletion, AsyncOptions, CancellationLike, Completion, CompletionOptions, completionOptions, CompletionRequest } from './completer';

export const now = (): number => performance.now();

/** Run the work to its end at once; null when the token is (or becomes) cancelled between pauses. */
export function runNow<T>(work: Generator<void, T>, token?: CancellationLike): T | null {
  for (;;) {
    if (token?.isCancellationRequested) return null;
    const r = work.next();
    if (r.done) return r.value;
  }
}

/** Run the work in slices of about `a.sliceMs` (default 8 ms); reports the longest slice and their count. */
export async function runSliced<T>(work: Generator<void, T>, a: AsyncOptions): Promise<{ value: T | null; longestSliceMs: number; slices: number }> {
  const sliceMs = a.sliceMs ?? 8;
  let longest = 0;
  let slices = 1;
  let sliceStart = now();
  for (;;) {
    if (a.token?.isCancellationRequested) return { value: null, longestSliceMs: Math.max(longest, now() - sliceStart), slices };
    const r = work.next();
    if (r.done) return { value: r.value, longestSliceMs: Math.max(longest, now() - sliceStart), slices };
    const t = now();
    if (t - sliceStart >= sliceMs) {
      longest = Math.max(longest, t - sliceStart);
      await new Promise<void>((resolve) => setImmediate(resolve));
      slices++;
      sliceStart = now();
    }
  }
}

/**
 * The three ways to run a completer's work, written once: at once, in slices, or reading without
 * decoding (prime). A completer supplies `work`, its generator over one request.
 */
export abstract class SlicedCompleter {
  protected abstract work(req: CompletionRequest, opts: CompletionOptions, decodeToo: boolean): Generator<void, Completion>;

  complete(req: CompletionRequest, o?: Partial<CompletionOptions>, token?: CancellationLike): Completion | null {
    return runNow(this.work(req, completionOptions(o), true), token);
  }

  async completeAsync(req: CompletionRequest, o?: Partial<CompletionOptions>, a: AsyncOptions = {}): Promise<AsyncCompletion> {
    const r = await runSliced(this.work(req, completionOptions(o), true), a);
    return { completion: r.value, longestSliceMs: r.longestSliceMs, slices: r.slices };
  }

  prime(req: CompletionRequest, o?: Partial<CompletionOptions>): void {
    runNow(this.work(req, completionOptions(o), false));
  }
}
