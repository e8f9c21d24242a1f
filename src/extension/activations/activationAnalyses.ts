/**
 * The analyses, run in the `analysis` inference worker (ended when idle) so that a long one never
 * delays colouring, each with a cancellable progress notification: interpretable-cell discovery
 * (with concepts of the user's own), cells active in a selection and spans like it elsewhere
 * (select-to-search), and gate saturation.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { DiscoveryResult, RegexConceptSpec, SimilarSpanResult, SourceFile, SpanCellResult } from '../protocol/inference';
import { errorMessage, grouped, isTextDocument, type ActivationsSession } from './activationsSession';
import type { ActivationsPanel } from './activationsPanel';
import { defaultQuantity } from './colourScale';
import { InferenceClient } from './inferenceClient';
import { advanceCodePoints, cpOfUnit } from '../../engine/data/codePoints';
import { languageOfPath, sourceOfDocument, workspaceSources } from './workspaceSources';

/** Characters of workspace text read for the analyses. */
const DISCOVERY_CHARS = 100_000;
const SIMILAR_CHARS = 150_000;
const SATURATION_CHARS = 100_000;

interface HereResult {
  uri: vscode.Uri;
  text: string;
  start: number;
  end: number;
  quantity: string;
  cells: SpanCellResult[];
}

interface Scope {
  label: string;
  sources: SourceFile[];
  extra: RegexConceptSpec[];
}

type SimilarSpanItem = vscode.QuickPickItem & { uri: vscode.Uri; start: number; end: number };

/** The quick pick's row of each similar span: the line it is on, where, its score and text. */
function similarSpanItems(matches: SimilarSpanResult[], sources: SourceFile[]): SimilarSpanItem[] {
  const items: SimilarSpanItem[] = [];
  for (const m of matches) {
    const src = sources[m.source];
    // Match positions are code points: walk to their UTF-16 offsets.
    const text = src.text;
    const su = advanceCodePoints(text, 0, m.start);
    const eu = advanceCodePoints(text, su, m.end - m.start);
    const line = text.slice(0, su).split('\n').length - 1;
    const lineText = text.slice(text.lastIndexOf('\n', su - 1) + 1, (text.indexOf('\n', su) + 1 || text.length + 1) - 1);
    const matched = text.slice(su, eu).replace(/\s+/g, ' ');
    const uri = vscode.Uri.file(src.path);
    items.push({
      label: lineText.trim().slice(0, 100) || '(blank line)',
      description: `${vscode.workspace.asRelativePath(uri)}:${line + 1}`,
      detail: `score ${m.score.toFixed(2)} · ${JSON.stringify(matched.slice(0, 60))}${matched.length > 60 ? '…' : ''}`,
      uri, start: su, end: eu,
    });
  }
  return items;
}

export class ActivationAnalyses implements vscode.Disposable {
  private readonly analysis: InferenceClient;
  private lastHere: HereResult | null = null;
  private lastScope: Scope | null = null;

  constructor(
    private readonly s: ActivationsSession,
    /** Open (or bring forward) the panel the results are shown in. */
    private readonly showPanel: () => ActivationsPanel,
  ) {
    this.analysis = new InferenceClient(s.context.extensionPath, (line) => s.deps.output.appendLine(line), 'analysis', 2 * 60_000);
  }

  /** End the analysis worker (a new model, or the user cancelled). */
  stop(): Promise<void> {
    return this.analysis.stop();
  }

  /** Run an analysis in the analysis worker with a cancellable progress notification. */
  private async analyse<T>(title: string, work: () => Promise<T>): Promise<T | undefined> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LSTM Lab: ${title}`, cancellable: true }, async (_p, token) => {
      const sub = token.onCancellationRequested(() => void this.analysis.stop());
      this.s.post({ type: 'busy', message: `${title}…` });
      try {
        return await work();
      } catch (e) {
        if (token.isCancellationRequested) return undefined;
        throw e;
      } finally {
        sub.dispose();
        this.s.post({ type: 'busy', message: null });
      }
    });
  }

  private async pickScope(title: string, what: string, maxChars: number): Promise<Omit<Scope, 'extra'> | undefined> {
    const editor = vscode.window.activeTextEditor ?? this.s.follower.lastEditor;
    const doc = editor?.document;
    type Item = vscode.QuickPickItem & { scope: 'file' | 'workspace' };
    const items: Item[] = [];
    if (doc && isTextDocument(doc)) items.push({ label: '$(file) Current file', description: path.basename(doc.uri.fsPath || doc.uri.path), detail: `${what} in this file`, scope: 'file' });
    items.push({
      label: '$(folder) Workspace files',
      description: doc ? `${doc.languageId} files` : 'source files',
      detail: `${what} in up to ${grouped.format(maxChars)} characters of the workspace (use files the model did not train on for a fair score)`,
      scope: 'workspace',
    });
    const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title, placeHolder: 'Analyse which text?' });
    if (!pick) return undefined;
    if (pick.scope === 'file') return { label: path.basename(doc!.uri.fsPath || doc!.uri.path), sources: [sourceOfDocument(doc!)] };
    const { sources } = await workspaceSources({ languageId: doc?.languageId, maxChars });
    if (sources.length === 0) throw new Error('No workspace files to analyse.');
    return { label: `${sources.length} workspace file${sources.length === 1 ? '' : 's'}`, sources };
  }

  /**
   * Ranks every cell on the active file at once (no questions; a concept of your own is added from the
   * results view); without a text editor, asks for the workspace files instead.
   */
  async findInterpretableCells(): Promise<void> {
    const model = await this.s.requireModel();
    if (!model) return;
    const doc = (vscode.window.activeTextEditor ?? this.s.follower.lastEditor)?.document;
    const scope = doc && isTextDocument(doc)
      ? { label: path.basename(doc.uri.fsPath || doc.uri.path), sources: [sourceOfDocument(doc)] }
      : await this.pickScope('Find Interpretable Cells', 'rank every cell against concepts (strings, comments, if conditions, nesting, indentation, line position)', DISCOVERY_CHARS);
    if (!scope) return;
    await this.discover({ ...scope, extra: [] });
  }

  private async discover(scope: Scope): Promise<void> {
    const model = await this.s.requireModel();
    if (!model) return;
    this.lastScope = scope;
    const panel = this.showPanel();
    panel.post({ type: 'showTab', tab: 'cells' });
    const quantity = defaultQuantity(model.kind);
    const discovery = await this.analyse<DiscoveryResult>(`finding interpretable cells in ${scope.label}`, async () => {
      await this.analysis.ensureModel(model.checkpoint);
      const r = await this.analysis.request({ type: 'discover', sources: scope.sources, top: 5, maxChars: DISCOVERY_CHARS, quantity, extra: scope.extra });
      return r.discovery;
    });
    if (!discovery) return;
    this.s.log(`activations: interpretable cells in ${scope.label} (${grouped.format(discovery.chars)} characters, ${discovery.seconds.toFixed(1)} s):`);
    for (const r of discovery.rankings) {
      const best = r.cells[0];
      this.s.log(`  ${r.concept.padEnd(18)} ${best ? `L${best.layer} cell ${best.cell} ${r.scoreKind} ${best.score.toFixed(3)}${best.direction < 0 ? ' (negative)' : ''}` : `— ${r.skipped ?? 'no cell'}`}`);
    }
    this.s.post({ type: 'cells', result: { scope: scope.label, discovery } });
    this.s.post({ type: 'showTab', tab: 'cells' });
  }

  async addConcept(pattern: string, flags: string): Promise<void> {
    try {
      new RegExp(pattern, flags + 'g');
    } catch (e) {
      this.s.post({ type: 'error', message: `Not a regular expression: ${errorMessage(e)}` });
      return;
    }
    let scope = this.lastScope;
    if (!scope) {
      const doc = (vscode.window.activeTextEditor ?? this.s.follower.lastEditor)?.document;
      if (!doc) {
        this.s.post({ type: 'error', message: 'Open a file first: the concept is ranked on the current file.' });
        return;
      }
      scope = { label: path.basename(doc.uri.fsPath || doc.uri.path), sources: [sourceOfDocument(doc)], extra: [] };
    }
    if (scope.extra.some((e) => e.pattern === pattern && e.flags === flags)) return;
    const extra = [...scope.extra, { id: `regex-${scope.extra.length + 1}`, pattern, flags }];
    await this.discover({ ...scope, extra });
  }

  async findCellsActiveHere(): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? this.s.follower.lastEditor;
    if (!editor || editor.selection.isEmpty) {
      void vscode.window.showInformationMessage('LSTM Lab: select the span to search for first (e.g. a string literal or a comment).');
      return;
    }
    const model = await this.s.requireModel();
    if (!model) return;
    const doc = editor.document;
    const t = this.s.traces.traceFor(doc, model);
    this.s.traces.syncText(t);
    const cache = t.trace.cache;
    const a = cpOfUnit(cache.unitOfCp, doc.offsetAt(editor.selection.start));
    const b = Math.max(a + 1, cpOfUnit(cache.unitOfCp, doc.offsetAt(editor.selection.end)));
    const margin = Math.min(50, Math.max(10, b - a));
    const anchor = cache.anchorBefore(a - margin);
    const end = Math.min(cache.length, b + margin);
    const quantity = this.s.view.quantity === 'c' ? defaultQuantity(model.kind) : this.s.view.quantity;
    const r = await this.s.interactive.request({
      type: 'spanCells', text: cache.text.slice(cache.unitOfCp[anchor.at], cache.unitOfCp[end]), state: anchor.state,
      start: a - anchor.at, end: b - anchor.at, margin, quantity, top: 12,
    });
    const selected = cache.text.slice(cache.unitOfCp[a], cache.unitOfCp[b]);
    this.lastHere = { uri: doc.uri, text: selected, start: a, end: b, quantity, cells: r.cells };
    const panel = this.showPanel();
    panel.post({
      type: 'here',
      result: { fileName: path.basename(doc.uri.fsPath || doc.uri.path), line: editor.selection.start.line, snippet: selected.slice(0, 200), quantity, cells: r.cells },
    });
    panel.post({ type: 'showTab', tab: 'here' });
    if (!this.s.follower.followed) await this.s.follower.follow(editor);
  }

  async findSimilarSpans(): Promise<void> {
    if (!this.lastHere) {
      await this.findCellsActiveHere();
      if (!this.lastHere) return;
    }
    const model = await this.s.requireModel();
    if (!model) return;
    const here = this.lastHere!;
    const best = here.cells[0];
    if (!best || !(best.score > 0)) {
      void vscode.window.showInformationMessage('LSTM Lab: no cell is more on inside the selection than around it; select another span.');
      return;
    }
    const cells = here.cells.filter((c) => c.layer === best.layer && c.score > 0).slice(0, 3);
    const threshold = Math.min(...cells.map((c) => (c.meanInside + c.meanOutside) / 2));
    const minLength = Math.max(1, Math.min(20, Math.round((here.end - here.start) / 2)));
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === here.uri.toString());
    const matches = await this.analyse(`finding spans where layer ${best.layer} cells ${cells.map((c) => c.cell).join(', ')} switch on`, async () => {
      const { sources: others } = await workspaceSources({ languageId: doc?.languageId ?? languageOfPath(here.uri.fsPath), skip: here.uri, maxChars: SIMILAR_CHARS });
      const sources = doc ? [sourceOfDocument(doc), ...others] : others;
      await this.analysis.ensureModel(model.checkpoint);
      const r = await this.analysis.request({
        type: 'similarSpans', sources, layer: best.layer, quantity: here.quantity, cells: cells.map((c) => c.cell), threshold, minLength, limit: 60, maxChars: SIMILAR_CHARS + (doc?.getText().length ?? 0),
      });
      return { r, sources };
    });
    if (!matches) return;
    const { r, sources } = matches;
    const items = similarSpanItems(r.matches, sources);
    if (items.length === 0) {
      void vscode.window.showInformationMessage(`LSTM Lab: layer ${best.layer} cells ${cells.map((c) => c.cell).join(', ')} are never all on (≥ ${threshold.toFixed(2)}) for ${minLength}+ characters elsewhere in ${r.files} file(s).`);
      return;
    }
    const pick = await vscode.window.showQuickPick(items, {
      title: `Similar spans: layer ${best.layer} cells ${cells.map((c) => c.cell).join(', ')} ≥ ${threshold.toFixed(2)} for ${minLength}+ characters (${r.files} files, ${grouped.format(r.chars)} characters)`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!pick) return;
    const target = await vscode.workspace.openTextDocument(pick.uri);
    const range = new vscode.Range(target.positionAt(pick.start), target.positionAt(pick.end));
    const ed = await vscode.window.showTextDocument(target, { selection: range, preview: true });
    ed.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  async showGateSaturation(): Promise<void> {
    const model = await this.s.requireModel();
    if (!model) return;
    if (model.kind === 'rnn') {
      void vscode.window.showInformationMessage('LSTM Lab: a plain RNN has no gates.');
      return;
    }
    const scope = await this.pickScope('Show Gate Saturation', 'count how often each gate is shut (< 0.1) or open (> 0.9)', SATURATION_CHARS);
    if (!scope) return;
    const panel = this.showPanel();
    panel.post({ type: 'showTab', tab: 'saturation' });
    const r = await this.analyse('measuring gate saturation', async () => {
      await this.analysis.ensureModel(model.checkpoint);
      return this.analysis.request({ type: 'saturation', sources: scope.sources, maxChars: SATURATION_CHARS });
    });
    if (!r) return;
    this.s.post({
      type: 'saturation',
      result: {
        scope: scope.label, files: r.files, chars: r.chars,
        clouds: r.clouds.map((c) => ({ layer: c.layer, gate: c.gate, units: c.units, steps: c.steps, left: Array.from(c.left), right: Array.from(c.right) })),
      },
    });
    this.s.post({ type: 'showTab', tab: 'saturation' });
  }

  dispose(): void {
    this.analysis.dispose();
  }
}
