/**
 * The activation overlay: the panel's colouring drawn on the editor's own text with decorations.
 * Decoration types are costly, so the colour scale is quantised into BUCKETS buckets and one
 * TextEditorDecorationType per bucket is created once (the neutral bucket has none); an update only
 * sets each type's ranges, and only for the buckets whose ranges changed since the last update of that
 * editor (after an edit of its document, every bucket is sent again: the editor has moved the old
 * ranges with the text). The caller decorates the lines in sight (a big file is never decorated whole).
 */
import * as vscode from 'vscode';
import { BucketRun, BUCKETS, bucketValue, colourOf, MIDDLE_BUCKET } from './colourScale';

/** Opacity of the strongest overlay colour: lighter than the panel's, the editor's text must stay readable. */
const OVERLAY_ALPHA = 0.6;

/** UTF-16 offsets of line starts. */
export function lineStartsOf(text: string): Int32Array {
  let count = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  const out = new Int32Array(count);
  let k = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out[k++] = i + 1;
  return out;
}

export class ActivationOverlay implements vscode.Disposable {
  private types: (vscode.TextEditorDecorationType | null)[] | null = null;
  private readonly decorated = new Set<vscode.TextEditor>();
  /** Per editor, what each bucket's ranges were at the last update ("" = none), to skip unchanged buckets. */
  private readonly sent = new Map<vscode.TextEditor, string[]>();

  private ensureTypes(): (vscode.TextEditorDecorationType | null)[] {
    this.types ??= Array.from({ length: BUCKETS }, (_, b) =>
      b === MIDDLE_BUCKET
        ? null
        : vscode.window.createTextEditorDecorationType({
            backgroundColor: colourOf(bucketValue(b), OVERLAY_ALPHA),
            rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
          }),
    );
    return this.types;
  }

  /**
   * Set the editor's decorations to `runs` (UTF-16 offsets in its document; lineStarts of the same
   * text). Returns how many buckets were sent (the others had not changed).
   */
  apply(editor: vscode.TextEditor, runs: BucketRun[], lineStarts: Int32Array): number {
    const types = this.ensureTypes();
    const byBucket: vscode.Range[][] = Array.from({ length: BUCKETS }, () => []);
    const keys: string[][] = Array.from({ length: BUCKETS }, () => []);
    let line = 0;
    for (const r of runs) {
      if (r.start < lineStarts[line]) line = 0; // runs come in order; restart if not
      while (line + 1 < lineStarts.length && lineStarts[line + 1] <= r.start) line++;
      const base = lineStarts[line];
      byBucket[r.bucket].push(new vscode.Range(line, r.start - base, line, r.end - base));
      keys[r.bucket].push(`${r.start}-${r.end}`);
    }
    const before = this.sent.get(editor);
    const now = keys.map((k) => k.join(','));
    let sentBuckets = 0;
    types.forEach((t, b) => {
      if (!t || (before && before[b] === now[b])) return;
      editor.setDecorations(t, byBucket[b]);
      sentBuckets++;
    });
    this.sent.set(editor, now);
    this.decorated.add(editor);
    return sentBuckets;
  }

  /** The editor's document was edited: the ranges it holds have moved, send every bucket next time. */
  edited(document: vscode.TextDocument): void {
    for (const e of this.sent.keys()) if (e.document === document) this.sent.delete(e);
  }

  clear(editor: vscode.TextEditor): void {
    if (!this.types) return;
    for (const t of this.types) if (t) editor.setDecorations(t, []);
    this.decorated.delete(editor);
    this.sent.delete(editor);
  }

  clearAll(): void {
    for (const e of [...this.decorated]) this.clear(e);
  }

  /** Editors this overlay has decorated (and not cleared). */
  get editors(): vscode.TextEditor[] {
    return [...this.decorated];
  }

  forget(editor: vscode.TextEditor): void {
    this.decorated.delete(editor);
    this.sent.delete(editor);
  }

  dispose(): void {
    for (const t of this.types ?? []) t?.dispose();
    this.types = null;
    this.decorated.clear();
    this.sent.clear();
  }
}
