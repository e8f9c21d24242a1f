/**
 * Activations: what the trained network tracks, on the code being edited. This module wires the
 * feature into the editor — the "Show Activations" panel, the in-editor overlay, interpretable-cell
 * discovery, select-to-search (cells active here, similar spans) and gate saturation.
 *
 *   ActivationsController  follows the active editor (and its edits, debounced by
 *                          lstmLab.activations.debounceMs), keeps a DocumentTrace per document
 *                          (states every STRIDE code points, so an edit re-traces from the last state
 *                          before it), and feeds the panel and the overlay as pieces arrive — the
 *                          lines in sight first.
 *   two inference workers  `interactive` (document traces and hover probes) and `analysis`
 *                          (discovery, similar spans, saturation over many files; ended when idle),
 *                          so a long analysis never delays colouring.
 *
 * Nothing runs until the panel is open or the overlay is on.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ModelCache } from '../modelCache';
import type { DiscoveryResult, InferenceModelInfo, PositionProbe, RegexConceptSpec, SourceFile, SpanCellResult } from '../protocol/inference';
import type { ActivationsToHost, ActivationView, HostToActivations, ShownDocument } from '../protocol/activations';
import type { RunStore } from '../runStore';
import { ActivationsPanel, ActivationsPanelHost } from './activationsPanel';
import { bucketRuns, ColourScale, defaultQuantity, fittedScale, quantitiesOf, scaleFor } from './colourScale';
import { DocumentTrace, TraceProgress } from './documentTrace';
import { InferenceClient, InferenceTimeout } from './inferenceClient';
import { ActivationOverlay, lineStartsOf } from './overlay';
import { cpOfUnit, SegmentRequest, SegmentResult } from './traceCache';
import { languageOfPath, sourceOfDocument, workspaceSources } from './workspaceSources';

export interface ActivationsDeps {
  models: ModelCache;
  store: RunStore;
  output: vscode.OutputChannel;
  /** Per-edit timings and other chatter, at debug level (Output → LSTM Lab Activations, log level Debug). */
  debugLog: vscode.LogOutputChannel;
}

/** Code points between cached states. */
export const STRIDE = 256;
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
/** Documents whose traces are kept. */
const MAX_TRACES = 3;
/** Characters of workspace text read for the analyses. */
const DISCOVERY_CHARS = 100_000;
const SIMILAR_CHARS = 150_000;
const SATURATION_CHARS = 100_000;
/** Larger documents are not traced (UTF-16 units): the panel and overlay would not help there. */
const MAX_DOCUMENT_CHARS = 2_000_000;
const DEBUG = !!process.env.LSTM_LAB_DEBUG;
/** A trace piece or a probe not answered in this time restarts the interactive worker. */
const REQUEST_TIMEOUT_MS = 20_000;
const VIEW_KEY = 'lstmLab.activations.view';
const OVERLAY_KEY = 'lstmLab.activations.overlay';

interface TracedDocument {
  doc: vscode.TextDocument;
  trace: DocumentTrace;
  lineStarts: Int32Array;
  /** doc.version the cache's text is from. */
  version: number;
  lastUsed: number;
  /** The panel's status line for this document (latest timing). */
  status: string;
}

interface Followed {
  uri: string;
  /** Shown code points [start, end) of the document; end = null for "to the end" (whole file). */
  selection: { start: number; end: number } | null;
}

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

const isTextDocument = (d: vscode.TextDocument) => d.uri.scheme === 'file' || d.uri.scheme === 'untitled';
const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
const grouped = new Intl.NumberFormat('en-US');
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

export function registerActivations(context: vscode.ExtensionContext, deps: ActivationsDeps): void {
  const controller = new ActivationsController(context, deps);
  const log = (line: string) => deps.output.appendLine(line);
  const command = (id: string, fn: () => unknown) =>
    vscode.commands.registerCommand(id, async () => {
      try {
        await fn();
      } catch (e) {
        log(`${id} failed: ${e instanceof Error && e.stack ? e.stack : errorMessage(e)}`);
        void vscode.window.showErrorMessage(`LSTM Lab: ${errorMessage(e)}`);
      }
    });
  context.subscriptions.push(
    controller,
    ActivationsPanel.registerSerializer(context.extensionUri, controller, log),
    command('lstmLab.showActivations', () => controller.showActivations()),
    command('lstmLab.toggleActivationOverlay', () => controller.toggleOverlay()),
    command('lstmLab.findInterpretableCells', () => controller.findInterpretableCells()),
    command('lstmLab.findCellsActiveHere', () => controller.findCellsActiveHere()),
    command('lstmLab.findSimilarSpans', () => controller.findSimilarSpans()),
    command('lstmLab.showGateSaturation', () => controller.showGateSaturation()),
    vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }], { provideHover: (d, p, t) => controller.provideHover(d, p, t) }),
  );
}

/** A character as it reads in a hover: visible whitespace, escaped for Markdown code. */
function shownSymbol(ch: string): string {
  const named: Record<string, string> = { '\n': '↵', '\r': '␍', '\t': '⇥', ' ': '␣' };
  return named[ch] ?? ch;
}

/** The editor hover's text for one probe: the shown quantity first, then every quantity and the predictions. */
export function probeMarkdown(p: PositionProbe, shown: string, ch: string): vscode.MarkdownString {
  const fmt = (v: number) => (v >= 0 ? ' ' : '') + v.toFixed(3);
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**LSTM Lab** · layer ${p.layer}, cell ${p.cell}, at `).appendText(`“${shownSymbol(ch)}”`).appendMarkdown('\n\n');
  const rows = Object.entries(p.values).sort(([a], [b]) => (a === shown ? -1 : b === shown ? 1 : 0));
  md.appendCodeblock(rows.map(([k, v]) => `${k.padEnd(8)}${fmt(v)}`).join('\n'), 'text');
  const top = p.top.map((x) => `${shownSymbol(x.symbol)} ${(x.prob * 100).toFixed(1)} %`).join('   ');
  md.appendCodeblock(`next     ${top}${p.next ? `\nactual   ${shownSymbol(p.next.symbol)} ${(p.next.prob * 100).toFixed(1)} %` : ''}`, 'text');
  return md;
}

export class ActivationsController implements ActivationsPanelHost, vscode.Disposable {
  private readonly interactive: InferenceClient;
  private readonly analysis: InferenceClient;
  private readonly overlay = new ActivationOverlay();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly traces = new Map<string, TracedDocument>();
  private model: InferenceModelInfo | null = null;
  private view: ActivationView;
  private overlayOn: boolean;
  private followed: Followed | null = null;
  private lastEditor: vscode.TextEditor | undefined;
  private panelViewport: { uri: string; firstLine: number; lastLine: number } | null = null;
  private editTimer: NodeJS.Timeout | null = null;
  private lastChangeAt: number | null = null;
  private scrollTimer: NodeJS.Timeout | null = null;
  /** The latest probe asked for (position relative to the shown range); `reply` for an editor hover, else the panel gets it. */
  private probeWanted: { uri: string; version: number; position: number; reply?: (p: PositionProbe | null) => void } | null = null;
  private probing = false;
  /** Resolves when the pending probes are answered; null when there are none. */
  private probeGate: Promise<void> | null = null;
  /** The user has chosen a cell (this workspace); otherwise the most variable cell in sight is shown first. */
  private viewChosen: boolean;
  private lastHere: HereResult | null = null;
  private lastScope: Scope | null = null;
  private disposed = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: ActivationsDeps,
  ) {
    const log = (line: string) => deps.output.appendLine(line);
    this.interactive = new InferenceClient(context.extensionPath, log, 'activations', 10 * 60_000);
    this.analysis = new InferenceClient(context.extensionPath, log, 'analysis', 2 * 60_000);
    this.view = this.restoredView();
    this.viewChosen = this.context.workspaceState.get<ActivationView>(VIEW_KEY) !== undefined;
    this.overlayOn = false; // the overlay starts off in a new window; the panel's checkbox shows it
    this.lastEditor = vscode.window.activeTextEditor;
    this.disposables.push(
      this.overlay,
      deps.store.onDidChangeActive(() => void this.modelChanged()),
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e && isTextDocument(e.document)) this.lastEditor = e;
        if (e && this.active && isTextDocument(e.document)) void this.follow(e);
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => {
        if (this.overlayOn) this.decorate('full');
      }),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.onScroll(e.textEditor)),
      vscode.workspace.onDidCloseTextDocument((d) => this.drop(d.uri.toString())),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('editor')) this.postFont();
      }),
    );
  }

  /** The panel is open or the overlay is on: follow the editor. */
  private get active(): boolean {
    return !this.disposed && (ActivationsPanel.instance !== undefined || this.overlayOn);
  }

  private log(line: string): void {
    this.deps.output.appendLine(line);
  }

  private post(m: HostToActivations): void {
    ActivationsPanel.instance?.post(m);
  }

  // -------------------------------------------------------------------------------------------
  // Model

  private restoredView(): ActivationView {
    const v = this.context.workspaceState.get<ActivationView>(VIEW_KEY);
    return v && Number.isInteger(v.layer) && Number.isInteger(v.cell) && typeof v.quantity === 'string'
      ? { layer: v.layer, cell: v.cell, quantity: v.quantity, stretch: v.stretch === true }
      : { layer: 1, cell: 0, quantity: 'tanh(c)', stretch: false };
  }

  /** Keep the view inside the model (layers, cells, quantities of its kind). */
  private clampView(v: ActivationView, m: InferenceModelInfo): ActivationView {
    const quantities = quantitiesOf(m.kind);
    return {
      layer: Math.min(Math.max(1, v.layer), m.layers),
      cell: Math.min(Math.max(0, v.cell), m.hidden - 1),
      quantity: quantities.includes(v.quantity) ? v.quantity : defaultQuantity(m.kind),
      stretch: v.stretch,
    };
  }

  /** Load the active model into the interactive worker; null (and the panel told why) when there is none. */
  private async ensureModel(): Promise<InferenceModelInfo | null> {
    const checkpoint = this.deps.store.active();
    if (!checkpoint) {
      this.model = null;
      this.post({ type: 'model', model: null, message: 'There is no trained model in this workspace yet. Train one, and its best checkpoint becomes the active model.' });
      return null;
    }
    let info: InferenceModelInfo;
    try {
      info = await this.interactive.ensureModel(checkpoint);
    } catch (e) {
      this.model = null;
      this.post({ type: 'model', model: null, message: `Could not load the active model ${checkpoint}: ${errorMessage(e)}` });
      return null;
    }
    if (this.model?.checkpoint !== info.checkpoint || this.model.layers !== info.layers) {
      this.model = info;
      for (const t of this.traces.values()) t.trace.dispose();
      this.traces.clear();
      this.view = this.clampView(this.view, info);
      this.post({ type: 'model', model: info, message: null });
      this.post({ type: 'view', view: this.view });
    }
    return info;
  }

  private async modelChanged(): Promise<void> {
    this.model = null;
    for (const t of this.traces.values()) t.trace.dispose();
    this.traces.clear();
    await this.analysis.stop();
    if (!this.active) return;
    this.overlay.clearAll();
    if (await this.ensureModel()) await this.follow(this.lastEditor);
  }

  /** The active checkpoint, or an error message with a button to train one. */
  private async requireModel(): Promise<InferenceModelInfo | null> {
    const info = await this.ensureModel();
    if (info) return info;
    const train = 'Train on Workspace';
    const message = this.deps.store.active() ? 'LSTM Lab: the active model could not be loaded (see the LSTM Lab output).' : 'LSTM Lab: there is no trained model yet in this workspace.';
    void vscode.window.showErrorMessage(message, train).then((a) => {
      if (a === train) void vscode.commands.executeCommand('lstmLab.trainOnWorkspace');
    });
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // Documents and traces

  private traceFor(doc: vscode.TextDocument, model: InferenceModelInfo): TracedDocument {
    const key = doc.uri.toString();
    let t = this.traces.get(key);
    if (!t) {
      const H = model.hidden;
      const L = model.layers;
      const lstm = model.kind === 'lstm';
      const zero = () => ({ h: Array.from({ length: L }, () => new Float32Array(H)), c: Array.from({ length: L }, () => (lstm ? new Float32Array(H) : null)) });
      const tracer = {
        trace: async (req: SegmentRequest, stride: number): Promise<SegmentResult> => {
          for (let attempt = 0; ; attempt++) {
            // A hover waits for at most the piece in flight: pieces wait for pending probes.
            while (this.probeGate) await this.probeGate;
            if (DEBUG) this.log(`[debug] trace ${req.start}–${req.end} gen ${req.textGeneration}/${req.viewGeneration}`);
            try {
              // (Reloads the model if the worker was restarted.)
              if (!(await this.ensureModel())) throw new Error('the model is gone');
              const r = await this.interactive.request({ type: 'trace', text: req.text, state: req.state, offset: req.start, stride, layer: req.layer, quantity: req.quantity }, [], REQUEST_TIMEOUT_MS);
              if (DEBUG) this.log(`[debug] traced ${req.start}–${req.end} in ${r.ms.toFixed(0)} ms`);
              return { values: r.values, anchorAt: r.anchorAt, anchors: r.anchors };
            } catch (e) {
              if (attempt > 0 || !(e instanceof InferenceTimeout)) throw e;
            }
          }
        },
      };
      const trace = new DocumentTrace(STRIDE, zero, tracer, (p) => {
        try {
          this.onProgress(key, p);
        } catch (e) {
          this.log(`activations: ${e instanceof Error && e.stack ? e.stack : errorMessage(e)}`);
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

  /** Bring a trace's text up to the document's. */
  private syncText(t: TracedDocument, changedAt?: number): void {
    if (t.version === t.doc.version && t.trace.cache.length > 0) return;
    const text = t.doc.getText();
    t.trace.setText(text, changedAt);
    t.lineStarts = lineStartsOf(text);
    t.version = t.doc.version;
  }

  private drop(key: string): void {
    const t = this.traces.get(key);
    if (!t) return;
    t.trace.dispose();
    this.traces.delete(key);
  }

  private followedTrace(): TracedDocument | undefined {
    return this.followed ? this.traces.get(this.followed.uri) : undefined;
  }

  /** Follow an editor's document: trace it, the part in sight first, and show it. */
  private async follow(editor: vscode.TextEditor | undefined, selection?: vscode.Selection): Promise<void> {
    const model = await this.ensureModel();
    if (!model) return;
    const ed = editor && isTextDocument(editor.document) ? editor : undefined;
    if (!ed) {
      if (!this.followed) this.post({ type: 'document', document: null });
      return;
    }
    if (ed.document.getText().length > MAX_DOCUMENT_CHARS) {
      this.post({ type: 'error', message: `${path.basename(ed.document.uri.fsPath || ed.document.uri.path)} is too large to trace (over ${grouped.format(MAX_DOCUMENT_CHARS)} characters).` });
      return;
    }
    const t = this.traceFor(ed.document, model);
    const key = ed.document.uri.toString();
    const keepSelection = this.followed?.uri === key && selection === undefined ? this.followed.selection : null;
    this.syncText(t);
    const unitOfCp = t.trace.cache.unitOfCp;
    const sel = selection && !selection.isEmpty
      ? { start: cpOfUnit(unitOfCp, ed.document.offsetAt(selection.start)), end: cpOfUnit(unitOfCp, ed.document.offsetAt(selection.end)) }
      : keepSelection;
    if (this.followed && this.followed.uri !== key && this.overlayOn) {
      for (const e of this.overlay.editors) if (e.document.uri.toString() !== key) this.overlay.clear(e);
    }
    this.followed = { uri: key, selection: sel };
    t.trace.setView(this.view.layer, this.view.quantity, model.hidden);
    this.postDocument(t, ed);
    t.trace.setPriority(this.priorityRanges(t));
    if (this.overlayOn && t.trace.cache.covered([[0, t.trace.cache.length]])) this.decorate('full');
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (!this.active || e.contentChanges.length === 0) return;
    this.overlay.edited(e.document);
    this.typedAt = Date.now();
    const t = this.traces.get(e.document.uri.toString());
    if (!t || this.followed?.uri !== e.document.uri.toString()) return;
    // Latency counts from the last keystroke (the debounce waits for a pause).
    this.lastChangeAt = Date.now();
    if (this.editTimer) clearTimeout(this.editTimer);
    const debounce = vscode.workspace.getConfiguration('lstmLab').get<number>('activations.debounceMs', 150);
    this.editTimer = setTimeout(() => {
      this.editTimer = null;
      const at = this.lastChangeAt ?? Date.now();
      this.lastChangeAt = null;
      if (this.disposed) return;
      this.syncText(t, at);
      const ed = vscode.window.visibleTextEditors.find((x) => x.document === t.doc);
      this.postDocument(t, ed);
      t.trace.setPriority(this.priorityRanges(t));
    }, Math.max(0, debounce));
  }

  private onScroll(editor: vscode.TextEditor): void {
    const t = this.followedTrace();
    if (!this.active || !t || editor.document !== t.doc) return;
    if (this.scrollTimer) clearTimeout(this.scrollTimer);
    this.scrollTimer = setTimeout(() => {
      this.scrollTimer = null;
      if (this.disposed) return;
      t.trace.setPriority(this.priorityRanges(t));
      if (this.overlayOn && !t.trace.busy) this.decorate('full');
      // The panel follows the editor (whole-file view).
      const first = editor.visibleRanges[0]?.start.line;
      if (first !== undefined && this.followed && !this.followed.selection && ActivationsPanel.instance?.visible) {
        this.post({ type: 'scrollTo', uri: this.followed.uri, line: first });
      }
    }, 60);
  }

  /** Code-point ranges in sight: the editors' visible lines, then the panel's. */
  private priorityRanges(t: TracedDocument): [number, number][] {
    const ranges: [number, number][] = [];
    const cache = t.trace.cache;
    const lineRange = (first: number, last: number): [number, number] => {
      const a = t.lineStarts[Math.max(0, Math.min(first, t.lineStarts.length - 1))];
      const b = last + 1 < t.lineStarts.length ? t.lineStarts[last + 1] : cache.text.length;
      return [cpOfUnit(cache.unitOfCp, a), cpOfUnit(cache.unitOfCp, b)];
    };
    if (this.overlayOn) {
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

  private shownRange(t: TracedDocument): { start: number; end: number } {
    const sel = this.followed?.selection;
    const n = t.trace.cache.length;
    return sel ? { start: Math.min(sel.start, n), end: Math.min(sel.end, n) } : { start: 0, end: n };
  }

  private shownStartLine(t: TracedDocument): number {
    const { start } = this.shownRange(t);
    return t.doc.positionAt(t.trace.cache.unitOfCp[start]).line;
  }

  private postDocument(t: TracedDocument, editor: vscode.TextEditor | undefined): void {
    if (!ActivationsPanel.instance) return;
    const cache = t.trace.cache;
    const { start, end } = this.shownRange(t);
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
      selection: this.followed?.selection != null,
      revealLine: Math.max(0, firstVisible - startPos.line),
    };
    this.post({ type: 'document', document });
    this.postFont(editor);
    this.postValues(t, false);
  }

  private postFont(editor?: vscode.TextEditor): void {
    if (!ActivationsPanel.instance) return;
    const ed = vscode.workspace.getConfiguration('editor', this.followedTrace()?.doc.uri);
    const size = ed.get<number>('fontSize', 14);
    let lineHeight = ed.get<number>('lineHeight', 0);
    if (!(lineHeight > 0)) lineHeight = Math.round(size * (process.platform === 'darwin' ? 1.5 : 1.35));
    else if (lineHeight < 8) lineHeight = Math.round(lineHeight * size);
    const tab = (editor ?? this.lastEditor)?.options.tabSize;
    const ligatures = ed.get<boolean | string>('fontLigatures', false);
    this.post({
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

  private postValues(t: TracedDocument, complete: boolean): void {
    if (!ActivationsPanel.instance || !this.followed || this.followed.uri !== t.doc.uri.toString()) return;
    const { start, end } = this.shownRange(t);
    const values = t.trace.cache.cellValues(this.view.cell, start, end);
    this.post({
      type: 'values',
      uri: this.followed.uri,
      version: t.version,
      view: this.view,
      scale: this.scaleOf(values),
      start: 0,
      values,
      complete,
      status: t.status,
    });
  }

  /** The colour scale of the view for one cell's values (the same in the panel and the overlay). */
  private scaleOf(values: Float32Array): ColourScale {
    const natural = scaleFor(this.view.quantity, values);
    return this.view.stretch ? fittedScale(values, natural) : natural;
  }

  private onProgress(key: string, p: TraceProgress): void {
    const t = this.traces.get(key);
    if (p.kind === 'error') {
      this.log(`activations: tracing ${key} failed: ${p.message}`);
      if (this.followed?.uri === key) this.post({ type: 'error', message: `Tracing failed: ${p.message}` });
      return;
    }
    if (!t || this.followed?.uri !== key) return;
    const cache = t.trace.cache;
    const n = cache.length;
    if ((p.kind === 'visible' || p.kind === 'complete') && !this.viewChosen) {
      // First look at a model: show the cell that varies most in sight rather than cell 0.
      this.viewChosen = true;
      const sight = this.priorityRanges(t);
      const from = Math.min(...sight.map((r) => r[0]), n);
      const to = Math.max(...sight.map((r) => r[1]), 0);
      const cell = cache.mostVariableCell(from, to > from ? to : n);
      if (cell >= 0 && cell !== this.view.cell) {
        this.view = { ...this.view, cell };
        this.post({ type: 'view', view: this.view });
        this.log(`activations: showing layer ${this.view.layer} cell ${cell}, the most variable in sight (choose another in the panel)`);
      }
    }
    const complete = p.kind === 'complete' || cache.covered([[0, n]]);
    let decorateMs = 0;
    if (this.overlayOn && p.kind !== 'partial') {
      const t0 = performance.now();
      this.decorateAfterTyping(complete ? 'full' : 'visible');
      decorateMs = performance.now() - t0;
    }
    if (p.kind === 'visible') {
      t.status = `lines in sight coloured in ${fmtMs(p.ms + decorateMs)}`;
      this.deps.debugLog.debug(`activations: ${t.doc.fileName.split(/[\\/]/).pop()} v${t.version}: lines in sight coloured ${fmtMs(p.ms + decorateMs)} after the change (debounce included; traced ${grouped.format(p.traced)} code points; overlay ${fmtMs(decorateMs)})`);
    } else if (p.kind === 'complete') {
      t.status = `${grouped.format(n)} code points · all coloured in ${fmtMs(p.ms + decorateMs)}`;
      this.log(`activations: ${t.doc.fileName.split(/[\\/]/).pop()} v${t.version}: whole file (${grouped.format(n)} code points) coloured ${fmtMs(p.ms + decorateMs)} after the change (traced ${grouped.format(p.traced)}; overlay ${fmtMs(decorateMs)})`);
    } else {
      t.status = `tracing… ${grouped.format(cache.tracedLength())} / ${grouped.format(n)} code points`;
    }
    this.postValues(t, complete);
  }

  /** decorate(), now if typing has paused for TYPING_PAUSE_MS, else once it has. */
  private decorateAfterTyping(mode: 'visible' | 'full'): void {
    if (this.decorateTimer) clearTimeout(this.decorateTimer);
    this.decorateTimer = null;
    const wait = this.typedAt === null ? 0 : this.typedAt + TYPING_PAUSE_MS - Date.now();
    if (wait <= 0) return this.decorate(mode);
    this.decorateTimer = setTimeout(() => {
      this.decorateTimer = null;
      if (!this.disposed) this.decorateAfterTyping(this.followedTrace()?.trace.busy ? 'visible' : mode);
    }, wait);
  }
  private decorateTimer: NodeJS.Timeout | null = null;
  /** When the followed document was last edited (for TYPING_PAUSE_MS). */
  private typedAt: number | null = null;

  /**
   * Colour the followed document's editors: the lines in sight (± a margin), or everything traced
   * ('full') when the document is small enough to decorate whole.
   */
  private decorate(mode: 'visible' | 'full'): void {
    const t = this.followedTrace();
    if (!this.overlayOn || !t) return;
    const cache = t.trace.cache;
    if (t.version !== t.doc.version) return; // an edit is pending: the next trace redraws
    const n = cache.length;
    const values = cache.cellValues(this.view.cell, 0, n);
    const scale = this.scaleOf(values);
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
      this.overlay.apply(e, runs, t.lineStarts);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Panel

  async onPanelMessage(m: Exclude<ActivationsToHost, { type: 'ready' } | { type: 'log' }>): Promise<void> {
    switch (m.type) {
      case 'setView':
        await this.setView(m.view);
        break;
      case 'probe':
        this.wantProbe({ uri: m.uri, version: m.version, position: m.position });
        break;
      case 'viewport': {
        this.panelViewport = { uri: m.uri, firstLine: m.firstLine, lastLine: m.lastLine };
        const t = this.followedTrace();
        if (t && this.followed?.uri === m.uri) t.trace.setPriority(this.priorityRanges(t));
        break;
      }
      case 'toggleOverlay':
        await this.toggleOverlay();
        break;
      case 'reveal': {
        const t = this.followedTrace();
        if (!t || this.followed?.uri !== m.uri) return;
        const cp = Math.min(this.shownRange(t).start + m.position, t.trace.cache.length);
        const pos = t.doc.positionAt(t.trace.cache.unitOfCp[cp]);
        const column = vscode.window.visibleTextEditors.find((e) => e.document === t.doc)?.viewColumn ?? vscode.ViewColumn.One;
        await vscode.window.showTextDocument(t.doc, { viewColumn: column, selection: new vscode.Range(pos, pos), preserveFocus: false });
        break;
      }
      case 'runCommand':
        await vscode.commands.executeCommand(`lstmLab.${m.command}`);
        break;
      case 'addConcept':
        await this.addConcept(m.pattern, m.flags);
        break;
    }
  }

  onPanelReady(): void {
    void (async () => {
      const model = await this.ensureModel();
      if (!model) return;
      this.post({ type: 'model', model, message: null });
      this.post({ type: 'view', view: this.view });
      this.post({ type: 'overlay', on: this.overlayOn });
      const t = this.followedTrace();
      if (t) {
        const ed = vscode.window.visibleTextEditors.find((e) => e.document === t.doc);
        this.postDocument(t, ed);
        t.trace.setPriority(this.priorityRanges(t));
      } else {
        await this.follow(vscode.window.activeTextEditor ?? this.lastEditor);
      }
    })();
  }

  onPanelClosed(): void {
    this.panelViewport = null;
    if (!this.overlayOn) this.followed = null;
  }

  private async setView(v: ActivationView): Promise<void> {
    const model = this.model ?? (await this.ensureModel());
    if (!model) return;
    const next = this.clampView(v, model);
    const same = next.layer === this.view.layer && next.quantity === this.view.quantity;
    if (same && next.cell === this.view.cell && next.stretch === this.view.stretch) return;
    this.view = next;
    this.viewChosen = true;
    void this.context.workspaceState.update(VIEW_KEY, next);
    this.post({ type: 'view', view: next });
    const t = this.followedTrace();
    if (!t) return;
    if (same) {
      // Another cell of the same layer and quantity: every value is in the cache already.
      this.postValues(t, t.trace.cache.covered([[0, t.trace.cache.length]]));
      if (this.overlayOn) this.decorate(t.trace.busy ? 'visible' : 'full');
    } else {
      t.trace.setView(next.layer, next.quantity, model.hidden);
      t.trace.setPriority(this.priorityRanges(t));
    }
  }

  /** Ask for a probe; one asked earlier and not started yet is dropped (an editor hover gets null). */
  private wantProbe(want: NonNullable<ActivationsController['probeWanted']>): void {
    this.probeWanted?.reply?.(null);
    this.probeWanted = want;
    void this.runProbes();
  }

  /**
   * Hover in the editor while the overlay colours it: the shown cell's value there, every
   * quantity of that cell, and the model's top next characters (the panel's hover, in the editor).
   */
  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const t = this.followedTrace();
    if (!this.overlayOn || !t || t.doc !== doc || t.version !== doc.version || !this.model) return undefined;
    const cache = t.trace.cache;
    const cp = cpOfUnit(cache.unitOfCp, doc.offsetAt(position));
    const { start, end } = this.shownRange(t);
    if (cp < start || cp >= end || cp >= cache.length) return undefined;
    const probe = await new Promise<PositionProbe | null>((reply) => this.wantProbe({ uri: this.followed!.uri, version: t.version, position: cp - start, reply }));
    if (!probe || token.isCancellationRequested) return undefined;
    const at = doc.positionAt(cache.unitOfCp[cp]);
    const range = new vscode.Range(at, doc.positionAt(cache.unitOfCp[cp + 1]));
    return new vscode.Hover(probeMarkdown(probe, this.view.quantity, cache.text.slice(cache.unitOfCp[cp], cache.unitOfCp[cp + 1])), range);
  }

  /** Hover: answer the latest request; requests made while one runs are coalesced. */
  private async runProbes(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let open!: () => void;
    this.probeGate = new Promise<void>((r) => (open = r));
    try {
      while (this.probeWanted) {
        const want = this.probeWanted;
        this.probeWanted = null;
        const t = this.followedTrace();
        const cp = t ? this.shownRange(t).start + want.position : 0;
        if (!t || this.followed?.uri !== want.uri || t.version !== want.version || cp >= t.trace.cache.length) {
          want.reply?.(null);
          continue;
        }
        const cache = t.trace.cache;
        const anchor = cache.anchorBefore(cp);
        const text = cache.text.slice(cache.unitOfCp[anchor.at], cache.unitOfCp[cp + 1]);
        const next = cp + 1 < cache.length ? cache.text.slice(cache.unitOfCp[cp + 1], cache.unitOfCp[cp + 2]) : null;
        try {
          const r = await this.interactive.request({ type: 'probe', text, state: anchor.state, layer: this.view.layer, cell: this.view.cell, topK: 5, next }, [], REQUEST_TIMEOUT_MS);
          if (want.reply) want.reply(r.probe);
          else this.post({ type: 'probe', uri: want.uri, version: want.version, position: want.position, probe: r.probe });
        } catch (e) {
          want.reply?.(null);
          this.log(`activations: probe failed: ${errorMessage(e)}`);
        }
      }
    } finally {
      this.probing = false;
      this.probeGate = null;
      open();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  async showActivations(): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
    ActivationsPanel.show(this.context.extensionUri, this, (l) => this.log(l));
    if (!(await this.ensureModel())) return;
    await this.follow(editor, editor?.selection ?? new vscode.Selection(0, 0, 0, 0));
  }

  async toggleOverlay(): Promise<void> {
    if (this.overlayOn) {
      this.overlayOn = false;
      this.overlay.clearAll();
      this.post({ type: 'overlay', on: false });
      void this.context.workspaceState.update(OVERLAY_KEY, false);
      if (!ActivationsPanel.instance) this.followed = null;
      return;
    }
    if (!(await this.requireModel())) return;
    this.overlayOn = true;
    void this.context.workspaceState.update(OVERLAY_KEY, true);
    this.post({ type: 'overlay', on: true });
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lab: the overlay colours the active editor — open a file.');
      return;
    }
    await this.follow(editor);
  }

  /** Run an analysis in the analysis worker with a cancellable progress notification. */
  private async analyse<T>(title: string, work: () => Promise<T>): Promise<T | undefined> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LSTM Lab: ${title}`, cancellable: true }, async (_p, token) => {
      const sub = token.onCancellationRequested(() => void this.analysis.stop());
      this.post({ type: 'busy', message: `${title}…` });
      try {
        return await work();
      } catch (e) {
        if (token.isCancellationRequested) return undefined;
        throw e;
      } finally {
        sub.dispose();
        this.post({ type: 'busy', message: null });
      }
    });
  }

  private async pickScope(title: string, what: string, maxChars: number): Promise<Omit<Scope, 'extra'> | undefined> {
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
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
    const model = await this.requireModel();
    if (!model) return;
    const doc = (vscode.window.activeTextEditor ?? this.lastEditor)?.document;
    const scope = doc && isTextDocument(doc)
      ? { label: path.basename(doc.uri.fsPath || doc.uri.path), sources: [sourceOfDocument(doc)] }
      : await this.pickScope('Find Interpretable Cells', 'rank every cell against concepts (strings, comments, if conditions, nesting, indentation, line position)', DISCOVERY_CHARS);
    if (!scope) return;
    await this.discover({ ...scope, extra: [] });
  }

  private async discover(scope: Scope): Promise<void> {
    const model = await this.requireModel();
    if (!model) return;
    this.lastScope = scope;
    const panel = ActivationsPanel.show(this.context.extensionUri, this, (l) => this.log(l));
    panel.post({ type: 'showTab', tab: 'cells' });
    const quantity = defaultQuantity(model.kind);
    const discovery = await this.analyse<DiscoveryResult>(`finding interpretable cells in ${scope.label}`, async () => {
      await this.analysis.ensureModel(model.checkpoint);
      const r = await this.analysis.request({ type: 'discover', sources: scope.sources, top: 5, maxChars: DISCOVERY_CHARS, quantity, extra: scope.extra });
      return r.discovery;
    });
    if (!discovery) return;
    this.log(`activations: interpretable cells in ${scope.label} (${grouped.format(discovery.chars)} characters, ${discovery.seconds.toFixed(1)} s):`);
    for (const r of discovery.rankings) {
      const best = r.cells[0];
      this.log(`  ${r.concept.padEnd(18)} ${best ? `L${best.layer} cell ${best.cell} ${r.scoreKind} ${best.score.toFixed(3)}${best.direction < 0 ? ' (negative)' : ''}` : `— ${r.skipped ?? 'no cell'}`}`);
    }
    this.post({ type: 'cells', result: { scope: scope.label, discovery } });
    this.post({ type: 'showTab', tab: 'cells' });
  }

  private async addConcept(pattern: string, flags: string): Promise<void> {
    try {
      new RegExp(pattern, flags + 'g');
    } catch (e) {
      this.post({ type: 'error', message: `Not a regular expression: ${errorMessage(e)}` });
      return;
    }
    let scope = this.lastScope;
    if (!scope) {
      const doc = (vscode.window.activeTextEditor ?? this.lastEditor)?.document;
      if (!doc) {
        this.post({ type: 'error', message: 'Open a file first: the concept is ranked on the current file.' });
        return;
      }
      scope = { label: path.basename(doc.uri.fsPath || doc.uri.path), sources: [sourceOfDocument(doc)], extra: [] };
    }
    if (scope.extra.some((e) => e.pattern === pattern && e.flags === flags)) return;
    const extra = [...scope.extra, { id: `regex-${scope.extra.length + 1}`, pattern, flags }];
    await this.discover({ ...scope, extra });
  }

  async findCellsActiveHere(): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
    if (!editor || editor.selection.isEmpty) {
      void vscode.window.showInformationMessage('LSTM Lab: select the span to search for first (e.g. a string literal or a comment).');
      return;
    }
    const model = await this.requireModel();
    if (!model) return;
    const doc = editor.document;
    const t = this.traceFor(doc, model);
    this.syncText(t);
    const cache = t.trace.cache;
    const a = cpOfUnit(cache.unitOfCp, doc.offsetAt(editor.selection.start));
    const b = Math.max(a + 1, cpOfUnit(cache.unitOfCp, doc.offsetAt(editor.selection.end)));
    const margin = Math.min(50, Math.max(10, b - a));
    const anchor = cache.anchorBefore(a - margin);
    const end = Math.min(cache.length, b + margin);
    const quantity = this.view.quantity === 'c' ? defaultQuantity(model.kind) : this.view.quantity;
    const r = await this.interactive.request({
      type: 'spanCells', text: cache.text.slice(cache.unitOfCp[anchor.at], cache.unitOfCp[end]), state: anchor.state,
      start: a - anchor.at, end: b - anchor.at, margin, quantity, top: 12,
    });
    const selected = cache.text.slice(cache.unitOfCp[a], cache.unitOfCp[b]);
    this.lastHere = { uri: doc.uri, text: selected, start: a, end: b, quantity, cells: r.cells };
    const panel = ActivationsPanel.show(this.context.extensionUri, this, (l) => this.log(l));
    panel.post({
      type: 'here',
      result: { fileName: path.basename(doc.uri.fsPath || doc.uri.path), line: editor.selection.start.line, snippet: selected.slice(0, 200), quantity, cells: r.cells },
    });
    panel.post({ type: 'showTab', tab: 'here' });
    if (!this.followed) await this.follow(editor);
  }

  async findSimilarSpans(): Promise<void> {
    if (!this.lastHere) {
      await this.findCellsActiveHere();
      if (!this.lastHere) return;
    }
    const model = await this.requireModel();
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
    type Item = vscode.QuickPickItem & { uri: vscode.Uri; start: number; end: number };
    const items: Item[] = [];
    for (const m of r.matches) {
      const src = sources[m.source];
      // Match positions are code points: walk to their UTF-16 offsets.
      let unit = 0;
      let cp = 0;
      const text = src.text;
      const toUnit = (target: number) => {
        while (cp < target && unit < text.length) {
          const c = text.charCodeAt(unit);
          unit += c >= 0xd800 && c <= 0xdbff && unit + 1 < text.length && (text.charCodeAt(unit + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
          cp++;
        }
        return unit;
      };
      const su = toUnit(m.start);
      const eu = toUnit(m.end);
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
    const model = await this.requireModel();
    if (!model) return;
    if (model.kind === 'rnn') {
      void vscode.window.showInformationMessage('LSTM Lab: a plain RNN has no gates.');
      return;
    }
    const scope = await this.pickScope('Show Gate Saturation', 'count how often each gate is shut (< 0.1) or open (> 0.9)', SATURATION_CHARS);
    if (!scope) return;
    const panel = ActivationsPanel.show(this.context.extensionUri, this, (l) => this.log(l));
    panel.post({ type: 'showTab', tab: 'saturation' });
    const r = await this.analyse('measuring gate saturation', async () => {
      await this.analysis.ensureModel(model.checkpoint);
      return this.analysis.request({ type: 'saturation', sources: scope.sources, maxChars: SATURATION_CHARS });
    });
    if (!r) return;
    this.post({
      type: 'saturation',
      result: {
        scope: scope.label, files: r.files, chars: r.chars,
        clouds: r.clouds.map((c) => ({ layer: c.layer, gate: c.gate, units: c.units, steps: c.steps, left: Array.from(c.left), right: Array.from(c.right) })),
      },
    });
    this.post({ type: 'showTab', tab: 'saturation' });
  }

  dispose(): void {
    this.disposed = true;
    if (this.editTimer) clearTimeout(this.editTimer);
    if (this.scrollTimer) clearTimeout(this.scrollTimer);
    if (this.decorateTimer) clearTimeout(this.decorateTimer);
    ActivationsPanel.instance?.dispose();
    for (const t of this.traces.values()) t.trace.dispose();
    this.traces.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.interactive.dispose();
    this.analysis.dispose();
  }
}
