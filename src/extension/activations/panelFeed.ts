/**
 * What the panel is sent about the followed document: the shown text and where it sits in the
 * document, the editor's font, and the chosen cell's values with their colour scale and status.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ShownDocument } from '../protocol/activations';
import type { ActivationsSession } from './activationsSession';
import { ActivationsPanel } from './activationsPanel';
import type { TracedDocument } from './documentTraces';
import { cpOfUnit } from '../../engine/data/codePoints';

export class PanelFeed {
  constructor(private readonly s: ActivationsSession) {}

  postDocument(t: TracedDocument, editor: vscode.TextEditor | undefined): void {
    if (!ActivationsPanel.instance) return;
    const f = this.s.follower;
    const cache = t.trace.cache;
    const { start, end } = f.shownRange(t);
    const startPos = t.doc.positionAt(cache.unitOfCp[start]);
    const lineStartCp = cpOfUnit(cache.unitOfCp, t.lineStarts[startPos.line]);
    const firstVisible = editor?.visibleRanges[0]?.start.line ?? startPos.line;
    const document: ShownDocument = {
      uri: t.doc.uri.toString(),
      version: t.doc.version,
      fileName: t.doc.isUntitled ? t.doc.uri.path : path.basename(t.doc.uri.fsPath),
      languageId: t.doc.languageId,
      text: cache.text.slice(cache.unitOfCp[start], cache.unitOfCp[end]),
      startCp: start,
      startLine: startPos.line,
      startColumn: start - lineStartCp,
      selection: f.followed?.selection != null,
      revealLine: Math.max(0, firstVisible - startPos.line),
    };
    this.s.post({ type: 'document', document });
    this.postFont(editor);
    this.postValues(t, false);
  }

  postFont(editor?: vscode.TextEditor): void {
    if (!ActivationsPanel.instance) return;
    const f = this.s.follower;
    const ed = vscode.workspace.getConfiguration('editor', f.followedTrace()?.doc.uri);
    const size = ed.get<number>('fontSize', 14);
    let lineHeight = ed.get<number>('lineHeight', 0);
    if (!(lineHeight > 0)) lineHeight = Math.round(size * (process.platform === 'darwin' ? 1.5 : 1.35));
    else if (lineHeight < 8) lineHeight = Math.round(lineHeight * size);
    const tab = (editor ?? f.lastEditor)?.options.tabSize;
    const ligatures = ed.get<boolean | string>('fontLigatures', false);
    this.s.post({
      type: 'font',
      font: {
        family: ed.get<string>('fontFamily', 'monospace'),
        size,
        lineHeight,
        tabSize: typeof tab === 'number' ? tab : ed.get<number>('tabSize', 4),
        ligatures: ligatures === true || (typeof ligatures === 'string' && ligatures !== 'false' && ligatures !== ''),
      },
    });
  }

  postValues(t: TracedDocument, complete: boolean): void {
    const followed = this.s.follower.followed;
    if (!ActivationsPanel.instance || !followed || followed.uri !== t.doc.uri.toString()) return;
    const { start, end } = this.s.follower.shownRange(t);
    const view = this.s.view;
    const values = t.trace.cache.cellValues(view.cell, start, end);
    this.s.post({
      type: 'values',
      uri: followed.uri,
      version: t.version,
      view,
      scale: this.s.scaleOf(values),
      start: 0,
      values,
      complete,
      status: t.status,
    });
  }
}
