/**
 * The open file coloured by the error onion: every character the network got wrong gets the colour
 * of its category (the paper's section 4.4), with the category in its hover. One decoration type per
 * category; the colours are the panel's legend's (ONION_COLOURS). The colouring belongs to one text:
 * it is shown only while the document holds the text the onion was computed on (same hash), and an
 * edit of that document takes it off, so it never points at characters it was not computed for.
 */
import { createHash } from 'crypto';
import * as vscode from 'vscode';
import { ONION_CATEGORY_HELP, ONION_COLOURS } from '../protocol/experiments';
import { categorySpans } from './onionRanges';

export const textHash = (text: string) => createHash('sha256').update(text).digest('hex');

export interface Colouring {
  analysisId: string;
  /** The document's file (its fsPath). */
  file: string;
  /** Hash of the document text the onion was computed on. */
  hash: string;
  chars: number;
  categoryNames: string[];
  errors: [number, number][];
}

export class ErrorColouring implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[];
  private current: Colouring | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<string | null>();
  /** Fires with the analysis whose colouring is shown, or null when it was taken off. */
  readonly onDidChange = this.changed.event;

  constructor() {
    this.types = ONION_COLOURS.map((c) =>
      vscode.window.createTextEditorDecorationType({ backgroundColor: c.background, overviewRulerColor: c.ruler, overviewRulerLane: vscode.OverviewRulerLane.Center }),
    );
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.apply()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.current && e.contentChanges.length > 0 && e.document.uri.fsPath === this.current.file) this.clear();
      }),
    );
  }

  get shown(): string | null {
    return this.current?.analysisId ?? null;
  }

  /** Colour the file; false (and nothing shown) when its text is no longer the analysed one. */
  show(c: Colouring): boolean {
    this.current = c;
    const ok = this.apply();
    if (!ok) this.current = null;
    this.changed.fire(this.shown);
    return ok;
  }

  clear(): void {
    if (!this.current) return;
    this.current = null;
    for (const e of vscode.window.visibleTextEditors) for (const t of this.types) e.setDecorations(t, []);
    this.changed.fire(null);
  }

  /** (Re)apply to the visible editors of the file; false when the file is open with other text. */
  private apply(): boolean {
    const c = this.current;
    if (!c) return true;
    let ok = true;
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.fsPath !== c.file) continue;
      const text = editor.document.getText();
      const spans = textHash(text) === c.hash ? categorySpans(text, c.errors, c.chars) : null;
      if (!spans) {
        ok = false;
        continue;
      }
      const byCategory: vscode.DecorationOptions[][] = this.types.map(() => []);
      for (const s of spans) {
        const name = c.categoryNames[s.category] ?? String(s.category);
        byCategory[s.category]?.push({
          range: new vscode.Range(editor.document.positionAt(s.start), editor.document.positionAt(s.end)),
          hoverMessage: `Error onion: **${name}** — ${ONION_CATEGORY_HELP[name] ?? ''}`,
        });
      }
      this.types.forEach((t, k) => editor.setDecorations(t, byCategory[k]));
    }
    return ok;
  }

  dispose(): void {
    this.clear();
    for (const t of this.types) t.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.changed.dispose();
  }
}
