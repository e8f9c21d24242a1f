/**
 * The experiments panel's host side (`lstmLab.experiments`, "LSTM Lab: Experiments"): the webview
 * that shows comparisons (table, overlaid validation curves, n-gram lines), onions, bracket and
 * gradient plots. Its front end is webview/experiments/main.ts; the two speak only the messages of
 * ../protocol/experiments.ts, and each checks what it receives.
 *
 * The page holds no data of its own: on every `ready` (each load, after being shown again or revived
 * after a restart) and on every change the host posts one `state` snapshot, which the page draws
 * whole. A hidden panel gets nothing; it is brought up to date when it is shown again.
 */
import * as vscode from 'vscode';
import { PanelSlot, renderWebviewPage } from '../webviewPage';
import { describeRejected } from '../protocol/validation';
import { isExperimentsToHost, type ExperimentsState, type ExperimentsToHost, type HostToExperiments } from '../protocol/experiments';

/** What the panel shows and what it asks the extension to do. */
export interface ExperimentsSource {
  state(): Promise<ExperimentsState>;
  readonly onDidChange: vscode.Event<void>;
  handle(m: Exclude<ExperimentsToHost, { type: 'ready' } | { type: 'log' }>): Promise<void>;
}

export class ExperimentsPanel implements vscode.Disposable {
  static readonly viewType = 'lstmLab.experiments';
  private static readonly slot = new PanelSlot<ExperimentsPanel>(ExperimentsPanel.viewType, 'LSTM Lab: Experiments');

  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  private posting: Promise<void> = Promise.resolve();
  private again = false;
  private inFlight = false;

  static show(context: { extensionUri: vscode.Uri }, source: ExperimentsSource, log: (line: string) => void): ExperimentsPanel {
    return ExperimentsPanel.slot.show(context.extensionUri, (panel) => new ExperimentsPanel(panel, context.extensionUri, source, log));
  }

  static registerSerializer(context: { extensionUri: vscode.Uri }, source: ExperimentsSource, log: (line: string) => void): vscode.Disposable {
    return ExperimentsPanel.slot.registerSerializer(context.extensionUri, (panel) => new ExperimentsPanel(panel, context.extensionUri, source, log));
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly source: ExperimentsSource,
    private readonly log: (line: string) => void,
  ) {
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible) this.refresh();
      }),
      source.onDidChange(() => this.refresh()),
    );
    renderWebviewPage(panel.webview, extensionUri, 'experiments', 'LSTM Lab: Experiments');
  }

  /** Post a fresh snapshot (coalesced: one read at a time, one more if something changed meanwhile). */
  refresh(): void {
    if (this.disposed || !this.panel.visible) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    this.posting = this.source
      .state()
      .then((state) => {
        const m: HostToExperiments = { type: 'state', state };
        if (!this.disposed) return this.panel.webview.postMessage(m).then(() => undefined);
      })
      .catch((e: unknown) => this.log(`experiments: could not post the state: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.inFlight = false;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private async onMessage(raw: unknown): Promise<void> {
    if (!isExperimentsToHost(raw)) {
      this.log(`experiments: ignored ${describeRejected(raw)}`);
      return;
    }
    const m = raw;
    if (m.type === 'ready') return this.refresh();
    if (m.type === 'log') return this.log(`experiments ${m.level}: ${m.message}`);
    try {
      await this.source.handle(m);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log(`experiments: ${m.type} failed: ${e instanceof Error && e.stack ? e.stack : msg}`);
      void vscode.window.showErrorMessage(`LSTM Lab: ${msg}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    ExperimentsPanel.slot.release(this);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
