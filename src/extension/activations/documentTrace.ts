/**
 * DocumentTrace: keeps one document's TraceCache up to date. After every change (text, view or the
 * ranges in sight) it asks the tracer (the inference worker) for the missing pieces one at a time,
 * the ranges in sight first, and says when those are coloured-ready (`visible`) and when the whole
 * document is (`complete`), with the time since the change. A change while a piece is being traced
 * takes effect at the next piece; a piece traced for an outdated text is dropped.
 *
 * No `vscode` here: the tests drive it with an in-process tracer.
 */
import type { InferenceState } from '../../engine/inference/inference';
import { SegmentRequest, SegmentResult, TraceCache } from './traceCache';

export interface SegmentTracer {
  trace(req: SegmentRequest, stride: number): Promise<SegmentResult>;
}

export interface TraceProgress {
  kind: 'visible' | 'partial' | 'complete' | 'error';
  /** Milliseconds since the change that started this round. */
  ms: number;
  /** Code points traced in this round. */
  traced: number;
  /** What went wrong ('error'). */
  message?: string;
}

/** Largest piece per worker request: bounds how long a new edit waits for the piece in flight. */
export const MAX_PIECE = 2048;

export class DocumentTrace {
  readonly cache: TraceCache;
  private priority: (readonly [number, number])[] = [];
  private pumping: Promise<void> | null = null;
  private again = false;
  private changedAt = Date.now();
  private tracedThisRound = 0;
  private announcedVisible = '';
  private announcedComplete = '';
  private disposed = false;
  private kickQueued = false;
  /** Last error of the tracer (the pump stops until the next change). */
  lastError: string | null = null;

  constructor(
    stride: number,
    zeroState: () => InferenceState,
    private readonly tracer: SegmentTracer,
    private readonly onProgress: (p: TraceProgress) => void,
    private readonly now: () => number = () => Date.now(),
    private readonly maxPiece = MAX_PIECE,
  ) {
    this.cache = new TraceCache(stride, zeroState);
  }

  /** The text changed (or may have): returns the first changed code point, −1 if none. */
  setText(text: string, changedAt = this.now()): number {
    const p = this.cache.setText(text);
    if (p >= 0) this.changed(changedAt);
    return p;
  }

  setView(layer: number, quantity: string, units: number): void {
    if (this.cache.setView(layer, quantity, units)) this.changed(this.now());
  }

  /** Ranges of code points in sight (editors, panel), traced first. */
  setPriority(ranges: (readonly [number, number])[]): void {
    this.priority = ranges.filter(([a, b]) => b > a);
    this.kick();
  }

  /** Pump once the caller's synchronous updates (text, view, priority) are all in. */
  private kick(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      void this.pump();
    });
  }

  reset(): void {
    this.cache.reset();
    this.changed(this.now());
  }

  get busy(): boolean {
    return this.pumping !== null;
  }

  private key(): string {
    return `${this.cache.textGeneration}/${this.cache.viewGeneration}`;
  }

  private changed(at: number): void {
    // Latencies are measured from the latest change.
    this.changedAt = at;
    this.tracedThisRound = 0;
    this.lastError = null;
    this.kick();
  }

  /** Trace until the cache is complete; resolves then (or on an error). */
  pump(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.pumping) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false;
          await this.round();
        } while (this.again && !this.disposed);
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  private async round(): Promise<void> {
    let lastPartial = this.now();
    for (;;) {
      if (this.disposed || this.lastError) return;
      const key = this.key();
      if (this.announcedVisible !== key && this.announcedComplete !== key && this.priority.length > 0 && this.cache.covered(this.priority)) {
        this.announcedVisible = key;
        this.onProgress({ kind: 'visible', ms: this.now() - this.changedAt, traced: this.tracedThisRound });
      }
      const req = this.cache.next(this.priority, this.maxPiece);
      if (!req) {
        if (this.announcedComplete !== key && this.cache.length > 0) {
          this.announcedComplete = key;
          this.onProgress({ kind: 'complete', ms: this.now() - this.changedAt, traced: this.tracedThisRound });
        }
        return;
      }
      let res: SegmentResult;
      try {
        res = await this.tracer.trace(req, this.cache.stride);
      } catch (e) {
        if (this.disposed) return;
        this.lastError = e instanceof Error ? e.message : String(e);
        this.onProgress({ kind: 'error', ms: this.now() - this.changedAt, traced: this.tracedThisRound, message: this.lastError });
        return;
      }
      if (this.disposed) return;
      if (this.cache.accept(req, res)) this.tracedThisRound += req.end - req.start;
      if (this.now() - lastPartial > 400) {
        lastPartial = this.now();
        this.onProgress({ kind: 'partial', ms: lastPartial - this.changedAt, traced: this.tracedThisRound });
      }
    }
  }

  dispose(): void {
    this.disposed = true;
  }
}
