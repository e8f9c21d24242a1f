/**
 * The kept document traces: a DocumentTrace per document (states every STRIDE code points, so an
 * edit re-traces from the last state before it), the few most recently used, each with its line
 * starts and the panel's status line. Pieces are traced in the interactive worker, after any
 * pending hover probe.
 */
import type * as vscode from 'vscode';
import type { InferenceModelInfo } from '../protocol/inference';
import { DEBUG, errorMessage, REQUEST_TIMEOUT_MS, type ActivationsSession } from './activationsSession';
import { DocumentTrace, TraceProgress } from './documentTrace';
import { InferenceTimeout } from './inferenceClient';
import { lineStartsOf } from './overlay';
import type { SegmentRequest, SegmentResult } from './traceCache';

/** Code points between cached states. */
export const STRIDE = 256;
/** Documents whose traces are kept. */
const MAX_TRACES = 3;

export interface TracedDocument {
  doc: vscode.TextDocument;
  trace: DocumentTrace;
  lineStarts: Int32Array;
  /** doc.version the cache's text is from. */
  version: number;
  lastUsed: number;
  /** The panel's status line for this document (latest timing). */
  status: string;
}

export class DocumentTraces {
  private readonly traces = new Map<string, TracedDocument>();

  constructor(
    private readonly s: ActivationsSession,
    /** Called with every piece of progress of a document's trace. */
    private readonly onProgress: (key: string, p: TraceProgress) => void,
  ) {}

  get(key: string): TracedDocument | undefined {
    return this.traces.get(key);
  }

  /** The document's trace, made (and the least recently used dropped) if there is none. */
  traceFor(doc: vscode.TextDocument, model: InferenceModelInfo): TracedDocument {
    const key = doc.uri.toString();
    let t = this.traces.get(key);
    if (!t) {
      const H = model.hidden;
      const L = model.layers;
      const lstm = model.kind === 'lstm';
      const zero = () => ({ h: Array.from({ length: L }, () => new Float32Array(H)), c: Array.from({ length: L }, () => (lstm ? new Float32Array(H) : null)) });
      const tracer = { trace: (req: SegmentRequest, stride: number) => this.traceSegment(req, stride) };
      const trace = new DocumentTrace(STRIDE, zero, tracer, (p) => {
        try {
          this.onProgress(key, p);
        } catch (e) {
          this.s.log(`activations: ${e instanceof Error && e.stack ? e.stack : errorMessage(e)}`);
        }
      });
      t = { doc, trace, lineStarts: new Int32Array(1), version: -1, lastUsed: Date.now(), status: '' };
      this.traces.set(key, t);
      // Keep the most recently used few.
      if (this.traces.size > MAX_TRACES) {
        const oldest = [...this.traces.entries()].filter(([k]) => k !== key).sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
        if (oldest) this.drop(oldest[0]);
      }
    }
    t.lastUsed = Date.now();
    t.doc = doc;
    return t;
  }

  /** One piece in the interactive worker, retried once after a timeout (which restarts the worker). */
  private async traceSegment(req: SegmentRequest, stride: number): Promise<SegmentResult> {
    for (let attempt = 0; ; attempt++) {
      // A hover waits for at most the piece in flight: pieces wait for pending probes.
      while (this.s.probes.gate) await this.s.probes.gate;
      if (DEBUG) this.s.log(`[debug] trace ${req.start}–${req.end} gen ${req.textGeneration}/${req.viewGeneration}`);
      try {
        // (Reloads the model if the worker was restarted.)
        if (!(await this.s.ensureModel())) throw new Error('the model is gone');
        const r = await this.s.interactive.request({ type: 'trace', text: req.text, state: req.state, offset: req.start, stride, layer: req.layer, quantity: req.quantity }, [], REQUEST_TIMEOUT_MS);
        if (DEBUG) this.s.log(`[debug] traced ${req.start}–${req.end} in ${r.ms.toFixed(0)} ms`);
        return { values: r.values, anchorAt: r.anchorAt, anchors: r.anchors };
      } catch (e) {
        if (attempt > 0 || !(e instanceof InferenceTimeout)) throw e;
      }
    }
  }

  /** Bring a trace's text up to the document's. */
  syncText(t: TracedDocument, changedAt?: number): void {
    if (t.version === t.doc.version && t.trace.cache.length > 0) return;
    const text = t.doc.getText();
    t.trace.setText(text, changedAt);
    t.lineStarts = lineStartsOf(text);
    t.version = t.doc.version;
  }

  drop(key: string): void {
    const t = this.traces.get(key);
    if (!t) return;
    t.trace.dispose();
    this.traces.delete(key);
  }

  /** Forget every trace (another model, or the feature is disposed). */
  clear(): void {
    for (const t of this.traces.values()) t.trace.dispose();
    this.traces.clear();
  }
}
