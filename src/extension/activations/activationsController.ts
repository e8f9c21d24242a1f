/**
 * The activations feature, composed: the model and the chosen view (layer, cell, quantity), the
 * panel's requests, and the commands, over the parts that do the work — the kept document traces,
 * the editor follower, the overlay, the panel feed, the position probes (hovers) and the analyses.
 *
 * Two inference workers: `interactive` (document traces and hover probes) and `analysis` (in
 * ActivationAnalyses), so a long analysis never delays colouring. Nothing runs until the panel is
 * open or the overlay is on.
 */
import * as vscode from 'vscode';
import type { ActivationsToHost, ActivationView, HostToActivations } from '../protocol/activations';
import type { InferenceModelInfo } from '../protocol/inference';
import { ActivationAnalyses } from './activationAnalyses';
import { ActivationsPanel, ActivationsPanelHost } from './activationsPanel';
import { errorMessage, fmtMs, grouped, type ActivationsDeps, type ActivationsSession } from './activationsSession';
import { ColourScale, defaultQuantity, fittedScale, quantitiesOf, scaleFor } from './colourScale';
import { DocumentTraces } from './documentTraces';
import type { TraceProgress } from './documentTrace';
import { EditorFollower } from './editorFollower';
import { InferenceClient } from './inferenceClient';
import { OverlayDecorations } from './overlayDecorations';
import { PanelFeed } from './panelFeed';
import { PositionProbes } from './positionProbes';

const VIEW_KEY = 'lstmLab.activations.view';
const OVERLAY_KEY = 'lstmLab.activations.overlay';

export class ActivationsController implements ActivationsSession, ActivationsPanelHost, vscode.Disposable {
  readonly interactive: InferenceClient;
  readonly traces: DocumentTraces;
  readonly follower: EditorFollower;
  readonly overlay: OverlayDecorations;
  readonly panel: PanelFeed;
  readonly probes: PositionProbes;
  readonly analyses: ActivationAnalyses;
  private readonly disposables: vscode.Disposable[] = [];
  model: InferenceModelInfo | null = null;
  view: ActivationView;
  /** The user has chosen a cell (this workspace); otherwise the most variable cell in sight is shown first. */
  private viewChosen: boolean;
  disposed = false;

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly deps: ActivationsDeps,
  ) {
    const log = (line: string) => deps.output.appendLine(line);
    this.interactive = new InferenceClient(context.extensionPath, log, 'activations', 10 * 60_000);
    this.traces = new DocumentTraces(this, (key, p) => this.onProgress(key, p));
    this.overlay = new OverlayDecorations(this);
    this.follower = new EditorFollower(this);
    this.panel = new PanelFeed(this);
    this.probes = new PositionProbes(this);
    this.analyses = new ActivationAnalyses(this, () => ActivationsPanel.show(this.context.extensionUri, this, (l) => this.log(l)));
    this.view = this.restoredView();
    this.viewChosen = this.context.workspaceState.get<ActivationView>(VIEW_KEY) !== undefined;
    this.disposables.push(
      this.overlay,
      deps.store.onDidChangeActive(() => void this.modelChanged()),
      vscode.window.onDidChangeActiveTextEditor((e) => this.follower.onActiveEditor(e)),
      vscode.window.onDidChangeVisibleTextEditors(() => {
        if (this.overlay.on) this.overlay.decorate('full');
      }),
      vscode.workspace.onDidChangeTextDocument((e) => this.follower.onEdit(e)),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.follower.onScroll(e.textEditor)),
      vscode.workspace.onDidCloseTextDocument((d) => this.traces.drop(d.uri.toString())),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('editor')) this.panel.postFont();
      }),
    );
  }

  /** The panel is open or the overlay is on: follow the editor. */
  get active(): boolean {
    return !this.disposed && (ActivationsPanel.instance !== undefined || this.overlay.on);
  }

  log(line: string): void {
    this.deps.output.appendLine(line);
  }

  post(m: HostToActivations): void {
    ActivationsPanel.instance?.post(m);
  }

  // -------------------------------------------------------------------------------------------
  // Model and view

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
  async ensureModel(): Promise<InferenceModelInfo | null> {
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
      this.traces.clear();
      this.view = this.clampView(this.view, info);
      this.post({ type: 'model', model: info, message: null });
      this.post({ type: 'view', view: this.view });
    }
    return info;
  }

  private async modelChanged(): Promise<void> {
    this.model = null;
    this.traces.clear();
    await this.analyses.stop();
    if (!this.active) return;
    this.overlay.decorations.clearAll();
    if (await this.ensureModel()) await this.follower.follow(this.follower.lastEditor);
  }

  /** The active checkpoint, or an error message with a button to train one. */
  async requireModel(): Promise<InferenceModelInfo | null> {
    const info = await this.ensureModel();
    if (info) return info;
    const train = 'Train on Workspace';
    const message = this.deps.store.active() ? 'LSTM Lab: the active model could not be loaded (see the LSTM Lab output).' : 'LSTM Lab: there is no trained model yet in this workspace.';
    void vscode.window.showErrorMessage(message, train).then((a) => {
      if (a === train) void vscode.commands.executeCommand('lstmLab.trainOnWorkspace');
    });
    return null;
  }

  /** The colour scale of the view for one cell's values (the same in the panel and the overlay). */
  scaleOf(values: Float32Array): ColourScale {
    const natural = scaleFor(this.view.quantity, values);
    return this.view.stretch ? fittedScale(values, natural) : natural;
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
    const t = this.follower.followedTrace();
    if (!t) return;
    if (same) {
      // Another cell of the same layer and quantity: every value is in the cache already.
      this.panel.postValues(t, t.trace.cache.covered([[0, t.trace.cache.length]]));
      if (this.overlay.on) this.overlay.decorate(t.trace.busy ? 'visible' : 'full');
    } else {
      t.trace.setView(next.layer, next.quantity, model.hidden);
      t.trace.setPriority(this.follower.priorityRanges(t));
    }
  }

  /** A piece of a document's trace arrived: colour it (overlay, panel) and say how long it took. */
  private onProgress(key: string, p: TraceProgress): void {
    const t = this.traces.get(key);
    const followed = this.follower.followed;
    if (p.kind === 'error') {
      this.log(`activations: tracing ${key} failed: ${p.message}`);
      if (followed?.uri === key) this.post({ type: 'error', message: `Tracing failed: ${p.message}` });
      return;
    }
    if (!t || followed?.uri !== key) return;
    const cache = t.trace.cache;
    const n = cache.length;
    if ((p.kind === 'visible' || p.kind === 'complete') && !this.viewChosen) {
      // First look at a model: show the cell that varies most in sight rather than cell 0.
      this.viewChosen = true;
      const sight = this.follower.priorityRanges(t);
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
    if (this.overlay.on && p.kind !== 'partial') {
      const t0 = performance.now();
      this.overlay.decorateAfterTyping(complete ? 'full' : 'visible');
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
    this.panel.postValues(t, complete);
  }

  // -------------------------------------------------------------------------------------------
  // Panel

  async onPanelMessage(m: Exclude<ActivationsToHost, { type: 'ready' } | { type: 'log' }>): Promise<void> {
    const f = this.follower;
    switch (m.type) {
      case 'setView':
        await this.setView(m.view);
        break;
      case 'probe':
        this.probes.want({ uri: m.uri, version: m.version, position: m.position });
        break;
      case 'viewport': {
        f.panelViewport = { uri: m.uri, firstLine: m.firstLine, lastLine: m.lastLine };
        const t = f.followedTrace();
        if (t && f.followed?.uri === m.uri) t.trace.setPriority(f.priorityRanges(t));
        break;
      }
      case 'toggleOverlay':
        await this.toggleOverlay();
        break;
      case 'reveal': {
        const t = f.followedTrace();
        if (!t || f.followed?.uri !== m.uri) return;
        const cp = Math.min(f.shownRange(t).start + m.position, t.trace.cache.length);
        const pos = t.doc.positionAt(t.trace.cache.unitOfCp[cp]);
        const column = vscode.window.visibleTextEditors.find((e) => e.document === t.doc)?.viewColumn ?? vscode.ViewColumn.One;
        await vscode.window.showTextDocument(t.doc, { viewColumn: column, selection: new vscode.Range(pos, pos), preserveFocus: false });
        break;
      }
      case 'runCommand':
        await vscode.commands.executeCommand(`lstmLab.${m.command}`);
        break;
      case 'addConcept':
        await this.analyses.addConcept(m.pattern, m.flags);
        break;
    }
  }

  onPanelReady(): void {
    void (async () => {
      const model = await this.ensureModel();
      if (!model) return;
      this.post({ type: 'model', model, message: null });
      this.post({ type: 'view', view: this.view });
      this.post({ type: 'overlay', on: this.overlay.on });
      const t = this.follower.followedTrace();
      if (t) {
        const ed = vscode.window.visibleTextEditors.find((e) => e.document === t.doc);
        this.panel.postDocument(t, ed);
        t.trace.setPriority(this.follower.priorityRanges(t));
      } else {
        await this.follower.follow(vscode.window.activeTextEditor ?? this.follower.lastEditor);
      }
    })();
  }

  onPanelClosed(): void {
    this.follower.panelViewport = null;
    if (!this.overlay.on) this.follower.followed = null;
  }

  // -------------------------------------------------------------------------------------------
  // Commands (the analyses' are in ActivationAnalyses)

  async showActivations(): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? this.follower.lastEditor;
    ActivationsPanel.show(this.context.extensionUri, this, (l) => this.log(l));
    if (!(await this.ensureModel())) return;
    await this.follower.follow(editor, editor?.selection ?? new vscode.Selection(0, 0, 0, 0));
  }

  async toggleOverlay(): Promise<void> {
    if (this.overlay.on) {
      this.overlay.on = false;
      this.overlay.decorations.clearAll();
      this.post({ type: 'overlay', on: false });
      void this.context.workspaceState.update(OVERLAY_KEY, false);
      if (!ActivationsPanel.instance) this.follower.followed = null;
      return;
    }
    if (!(await this.requireModel())) return;
    this.overlay.on = true;
    void this.context.workspaceState.update(OVERLAY_KEY, true);
    this.post({ type: 'overlay', on: true });
    const editor = vscode.window.activeTextEditor ?? this.follower.lastEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lab: the overlay colours the active editor — open a file.');
      return;
    }
    await this.follower.follow(editor);
  }

  dispose(): void {
    this.disposed = true;
    this.follower.dispose();
    ActivationsPanel.instance?.dispose();
    this.traces.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.interactive.dispose();
    this.analyses.dispose();
  }
}
