/**
 * Running a completer's work — a generator that pauses after every block of context read and every
 * symbol generated — at once, or in slices on the caller's event loop: `runSliced` yields to the
 * event loop (setImmediate) whenever a slice has run `sliceMs`, and stops, returning null, as soon
 * as the cancellation token says so.
 */
import type { AsyncOptions, CancellationLike } from './completer';

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
