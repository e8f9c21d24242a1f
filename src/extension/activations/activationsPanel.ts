/**
 * The activations panel's host side: one webview panel (`lstmLab.activations`) beside the editor.
 * Its front end is webview/activations/main.ts, bundled to dist/webview/activations.{js,css}; the two
 * speak only the `HostToActivations` / `ActivationsToHost` messages of ../protocol.ts, and each
 * checks what it receives.
 *
 * Nothing is lost while the panel is hidden: the page is not kept alive in the background (no
 * `retainContextWhenHidden`), so the panel remembers the latest message of each kind (model, font,
 * view, document, values, overlay, busy and each result) and replays them, in that order, whenever
 * the page (re)loads and says `ready`. Messages are posted only while the panel is visible.
 */
import * as vscode from 'vscode';
import { PanelSlot, renderWebviewPage } from '../webviewPage';
import { describeRejected } from '../protocol/validation';
import { ActivationsTab, ActivationsToHost, HostToActivations, isActivationsToHost } from '../protocol/activations';

/** What the panel asks of the activations controller. */
export interface ActivationsPanelHost {
  onPanelMessage(m: Exclude<ActivationsToHost, { type: 'ready' } | { type: 'log' }>): Promise<void> | void;
  /** The page (re)loaded: the replay has been posted. */
  onPanelReady(): void;
  onPanelClosed(): void;
}

/** Message kinds the panel replays on `ready`, in this order. */
const REPLAYED: HostToActivations['type'][] = ['model', 'font', 'view', 'document', 'values', 'overlay', 'busy', 'cells', 'here', 'saturation'];

export class ActivationsPanel implements vscode.Disposable {
  static readonly viewType = 'lstmLab.activations';
  private static readonly slot = new PanelSlot<ActivationsPanel>(ActivationsPanel.viewType, 'LSTM Lab: Activations');

  private readonly disposables: vscode.Disposable[] = [];
  private readonly latest = new Map<HostToActivations['type'], HostToActivations>();
  /** A tab to show that the page has not been told about yet. */
  private pendingTab: ActivationsTab | null = null;
  private disposed = false;

  static get instance(): ActivationsPanel | undefined {
    return ActivationsPanel.slot.instance;
  }

  /** Reveal the panel beside the active editor, creating it if needed. */
  static show(extensionUri: vscode.Uri, host: ActivationsPanelHost, log: (line: string) => void, preserveFocus = true): ActivationsPanel {
    return ActivationsPanel.slot.show(extensionUri, (panel) => new ActivationsPanel(panel, extensionUri, host, log), preserveFocus);
  }

  /** Revive the panel after a window reload (the page restores its UI state with getState). */
  static registerSerializer(extensionUri: vscode.Uri, host: ActivationsPanelHost, log: (line: string) => void): vscode.Disposable {
    return ActivationsPanel.slot.registerSerializer(extensionUri, (panel) => new ActivationsPanel(panel, extensionUri, host, log));
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly host: ActivationsPanelHost,
    private readonly log: (line: string) => void,
  ) {
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
    );
    this.render();
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  reveal(): void {
    if (!this.disposed) this.panel.reveal(undefined, true);
  }

  /** Post a message (remembered for the replay; sent now only if the page can receive it). */
  post(message: HostToActivations): void {
    if (this.disposed) return;
    if (message.type === 'showTab') {
      this.pendingTab = message.tab;
      if (!this.panel.visible) return;
      this.pendingTab = null;
    } else if (REPLAYED.includes(message.type)) {
      this.latest.set(message.type, message);
    }
    if (!this.panel.visible) return;
    void this.panel.webview.postMessage(message).then(undefined, (e: unknown) => this.log(`activations: could not post ${message.type}: ${String(e)}`));
  }

  private replay(): void {
    for (const type of REPLAYED) {
      const m = this.latest.get(type);
      if (m) void this.panel.webview.postMessage(m);
    }
    if (this.pendingTab) {
      void this.panel.webview.postMessage({ type: 'showTab', tab: this.pendingTab } satisfies HostToActivations);
      this.pendingTab = null;
    }
  }

  /** Strict CSP with a fresh nonce; the bundle and its stylesheet from dist/webview. */
  private render(): void {
    renderWebviewPage(this.panel.webview, this.extensionUri, 'activations', 'LSTM Lab: Activations');
  }

  private async onMessage(raw: unknown): Promise<void> {
    if (!isActivationsToHost(raw)) {
      this.log(`activations: ignored ${describeRejected(raw)}`);
      return;
    }
    const m = raw;
    try {
      if (m.type === 'ready') {
        this.replay();
        this.host.onPanelReady();
      } else if (m.type === 'log') {
        this.log(`activations ${m.level}: ${m.message}`);
      } else {
        await this.host.onPanelMessage(m);
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log(`activations: ${m.type} failed: ${e instanceof Error && e.stack ? e.stack : msg}`);
      void vscode.window.showErrorMessage(`LSTM Lab: ${msg}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    ActivationsPanel.slot.release(this);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.latest.clear();
    this.host.onPanelClosed();
  }
}
