/**
 * The in-editor overlay: whether it is on, and colouring the followed document's editors with the
 * shown cell — the lines in sight (± VISIBLE_MARGIN_LINES) or, for a small document, all of it —
 * never between two keystrokes (recoloured once typing has paused).
 */
import * as vscode from 'vscode';
import type { ActivationsSession } from './activationsSession';
import { bucketRuns } from './colourScale';
import { ActivationOverlay } from './overlay';
import { cpOfUnit } from '../../engine/data/codePoints';

/** Lines above and below the visible ones decorated in the first pass. */
const VISIBLE_MARGIN_LINES = 60;
/**
 * A document up to this many code points is decorated whole; a bigger one only around the lines in
 * sight (± VISIBLE_MARGIN_LINES, again after each scroll): sending tens of thousands of ranges to the
 * editor after every keystroke is what made typing lag with the overlay on.
 */
const WHOLE_DOCUMENT_OVERLAY_CODE_POINTS = 40_000;
/** The overlay is recoloured once typing has paused this long (ms): never between two keystrokes. */
const TYPING_PAUSE_MS = 400;

export class OverlayDecorations implements vscode.Disposable {
  readonly decorations = new ActivationOverlay();
  /** The overlay starts off in a new window; the panel's checkbox shows it. */
  on = false;
  private decorateTimer: NodeJS.Timeout | null = null;
  /** When the followed document was last edited (for TYPING_PAUSE_MS). */
  private typedAt: number | null = null;

  constructor(private readonly s: ActivationsSession) {}

  /** A document was edited: its decorations are stale, and typing has not paused. */
  edited(doc: vscode.TextDocument): void {
    this.decorations.edited(doc);
    this.typedAt = Date.now();
  }

  /** decorate(), now if typing has paused for TYPING_PAUSE_MS, else once it has. */
  decorateAfterTyping(mode: 'visible' | 'full'): void {
    if (this.decorateTimer) clearTimeout(this.decorateTimer);
    this.decorateTimer = null;
    const wait = this.typedAt === null ? 0 : this.typedAt + TYPING_PAUSE_MS - Date.now();
    if (wait <= 0) return this.decorate(mode);
    this.decorateTimer = setTimeout(() => {
      this.decorateTimer = null;
      if (!this.s.disposed) this.decorateAfterTyping(this.s.follower.followedTrace()?.trace.busy ? 'visible' : mode);
    }, wait);
  }

  /**
   * Colour the followed document's editors: the lines in sight (± a margin), or everything traced
   * ('full') when the document is small enough to decorate whole.
   */
  decorate(mode: 'visible' | 'full'): void {
    const t = this.s.follower.followedTrace();
    if (!this.on || !t) return;
    const cache = t.trace.cache;
    if (t.version !== t.doc.version) return; // an edit is pending: the next trace redraws
    const n = cache.length;
    const values = cache.cellValues(this.s.view.cell, 0, n);
    const scale = this.s.scaleOf(values);
    for (const e of vscode.window.visibleTextEditors) {
      if (e.document !== t.doc) continue;
      let runs;
      if (mode === 'full' && n <= WHOLE_DOCUMENT_OVERLAY_CODE_POINTS) runs = bucketRuns(values, 0, cache.unitOfCp, cache.text, scale, 0, n);
      else {
        runs = [];
        for (const r of e.visibleRanges) {
          const first = Math.max(0, r.start.line - VISIBLE_MARGIN_LINES);
          const last = Math.min(t.lineStarts.length - 1, r.end.line + VISIBLE_MARGIN_LINES);
          const a = cpOfUnit(cache.unitOfCp, t.lineStarts[first]);
          const b = last + 1 < t.lineStarts.length ? cpOfUnit(cache.unitOfCp, t.lineStarts[last + 1]) : n;
          runs.push(...bucketRuns(values, 0, cache.unitOfCp, cache.text, scale, a, b));
        }
      }
      this.decorations.apply(e, runs, t.lineStarts);
    }
  }

  dispose(): void {
    if (this.decorateTimer) clearTimeout(this.decorateTimer);
    this.decorations.dispose();
  }
}
