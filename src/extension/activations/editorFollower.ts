/**
 * Following the editor: which document (and which part of it, for a selection) the panel and the
 * overlay show, its edits (debounced by lstmLab.activations.debounceMs) and scrolling, and the
 * code-point ranges in sight, traced first.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { grouped, isTextDocument, type ActivationsSession } from './activationsSession';
import type { TracedDocument } from './documentTraces';
import { ActivationsPanel } from './activationsPanel';
import { cpOfUnit } from '../../engine/data/codePoints';

/** Larger documents are not traced (UTF-16 units): the panel and overlay would not help there. */
const MAX_DOCUMENT_CHARS = 2_000_000;

export interface Followed {
  uri: string;
  /** Shown code points [start, end) of the document; end = null for "to the end" (whole file). */
  selection: { start: number; end: number } | null;
}

export class EditorFollower implements vscode.Disposable {
  followed: Followed | null = null;
  lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  /** The lines the panel shows, once it has said. */
  panelViewport: { uri: string; firstLine: number; lastLine: number } | null = null;
  private editTimer: NodeJS.Timeout | null = null;
  private lastChangeAt: number | null = null;
  private scrollTimer: NodeJS.Timeout | null = null;

  constructor(private readonly s: ActivationsSession) {}

  followedTrace(): TracedDocument | undefined {
    return this.followed ? this.s.traces.get(this.followed.uri) : undefined;
  }

  /** The active editor changed. */
  onActiveEditor(e: vscode.TextEditor | undefined): void {
    if (e && isTextDocument(e.document)) this.lastEditor = e;
    if (e && this.s.active && isTextDocument(e.document)) void this.follow(e);
  }

  /** Follow an editor's document: trace it, the part in sight first, and show it. */
  async follow(editor: vscode.TextEditor | undefined, selection?: vscode.Selection): Promise<void> {
    const model = await this.s.ensureModel();
    if (!model) return;
    const ed = editor && isTextDocument(editor.document) ? editor : undefined;
    if (!ed) {
      if (!this.followed) this.s.post({ type: 'document', document: null });
      return;
    }
    if (ed.document.getText().length > MAX_DOCUMENT_CHARS) {
      this.s.post({ type: 'error', message: `${path.basename(ed.document.uri.fsPath || ed.document.uri.path)} is too large to trace (over ${grouped.format(MAX_DOCUMENT_CHARS)} characters).` });
      return;
    }
    const t = this.s.traces.traceFor(ed.document, model);
    const key = ed.document.uri.toString();
    const keepSelection = this.followed?.uri === key && selection === undefined ? this.followed.selection : null;
    this.s.traces.syncText(t);
    const unitOfCp = t.trace.cache.unitOfCp;
    const sel = selection && !selection.isEmpty
      ? { start: cpOfUnit(unitOfCp, ed.document.offsetAt(selection.start)), end: cpOfUnit(unitOfCp, ed.document.offsetAt(selection.end)) }
      : keepSelection;
    const overlay = this.s.overlay;
    if (this.followed && this.followed.uri !== key && overlay.on) {
      for (const e of overlay.decorations.editors) if (e.document.uri.toString() !== key) overlay.decorations.clear(e);
    }
    this.followed = { uri: key, selection: sel };
    t.trace.setView(this.s.view.layer, this.s.view.quantity, model.hidden);
    this.s.panel.postDocument(t, ed);
    t.trace.setPriority(this.priorityRanges(t));
    if (overlay.on && t.trace.cache.covered([[0, t.trace.cache.length]])) overlay.decorate('full');
  }

  onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (!this.s.active || e.contentChanges.length === 0) return;
    this.s.overlay.edited(e.document);
    const t = this.s.traces.get(e.document.uri.toString());
    if (!t || this.followed?.uri !== e.document.uri.toString()) return;
    // Latency counts from the last keystroke (the debounce waits for a pause).
    this.lastChangeAt = Date.now();
    if (this.editTimer) clearTimeout(this.editTimer);
    const debounce = vscode.workspace.getConfiguration('lstmLab').get<number>('activations.debounceMs', 150);
    this.editTimer = setTimeout(() => {
      this.editTimer = null;
      const at = this.lastChangeAt ?? Date.now();
      this.lastChangeAt = null;
      if (this.s.disposed) return;
      this.s.traces.syncText(t, at);
      const ed = vscode.window.visibleTextEditors.find((x) => x.document === t.doc);
      this.s.panel.postDocument(t, ed);
      t.trace.setPriority(this.priorityRanges(t));
    }, Math.max(0, debounce));
  }

  onScroll(editor: vscode.TextEditor): void {
    const t = this.followedTrace();
    if (!this.s.active || !t || editor.document !== t.doc) return;
    if (this.scrollTimer) clearTimeout(this.scrollTimer);
    this.scrollTimer = setTimeout(() => {
      this.scrollTimer = null;
      if (this.s.disposed) return;
      t.trace.setPriority(this.priorityRanges(t));
      if (this.s.overlay.on && !t.trace.busy) this.s.overlay.decorate('full');
      // The panel follows the editor (whole-file view).
      const first = editor.visibleRanges[0]?.start.line;
      if (first !== undefined && this.followed && !this.followed.selection && ActivationsPanel.instance?.visible) {
        this.s.post({ type: 'scrollTo', uri: this.followed.uri, line: first });
      }
    }, 60);
  }

  /** Code-point ranges in sight: the editors' visible lines, then the panel's. */
  priorityRanges(t: TracedDocument): [number, number][] {
    const ranges: [number, number][] = [];
    const cache = t.trace.cache;
    const lineRange = (first: number, last: number): [number, number] => {
      const a = t.lineStarts[Math.max(0, Math.min(first, t.lineStarts.length - 1))];
      const b = last + 1 < t.lineStarts.length ? t.lineStarts[last + 1] : cache.text.length;
      return [cpOfUnit(cache.unitOfCp, a), cpOfUnit(cache.unitOfCp, b)];
    };
    if (this.s.overlay.on) {
      for (const e of vscode.window.visibleTextEditors) {
        if (e.document !== t.doc) continue;
        for (const r of e.visibleRanges) ranges.push(lineRange(r.start.line, r.end.line));
      }
    }
    const panel = ActivationsPanel.instance;
    if (panel?.visible && this.followed) {
      const shownStartLine = this.shownStartLine(t);
      if (this.panelViewport?.uri === this.followed.uri) {
        ranges.push(lineRange(shownStartLine + this.panelViewport.firstLine, shownStartLine + this.panelViewport.lastLine));
      } else {
        const ed = vscode.window.visibleTextEditors.find((e) => e.document === t.doc);
        const first = ed?.visibleRanges[0]?.start.line ?? shownStartLine;
        ranges.push(lineRange(first, first + 80));
      }
      if (this.followed.selection) ranges.push([this.followed.selection.start, this.followed.selection.end]);
    }
    return ranges;
  }

  /** The shown code points of the followed document: the selection, or all of it. */
  shownRange(t: TracedDocument): { start: number; end: number } {
    const sel = this.followed?.selection;
    const n = t.trace.cache.length;
    return sel ? { start: Math.min(sel.start, n), end: Math.min(sel.end, n) } : { start: 0, end: n };
  }

  shownStartLine(t: TracedDocument): number {
    const { start } = this.shownRange(t);
    return t.doc.positionAt(t.trace.cache.unitOfCp[start]).line;
  }

  dispose(): void {
    if (this.editTimer) clearTimeout(this.editTimer);
    if (this.scrollTimer) clearTimeout(this.scrollTimer);
  }
}
