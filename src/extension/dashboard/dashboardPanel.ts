/**
 * The training dashboard's host side: the one webview panel (`lstmLab.dashboard`) showing every run's
 * loss curves, a runs table and the latest sample. Its front end is webview/dashboard/main.ts, bundled
 * to dist/webview/dashboard.{js,css}; the two speak only the `HostToDashboard` / `DashboardToHost`
 * messages of ../protocol.ts, and each checks what it receives.
 *
 * Nothing is lost while the panel is hidden. The panel does not keep its page alive in the background
 * (no `retainContextWhenHidden`): a hidden webview receives no messages, and its page is reloaded when
 * shown again. So instead of queueing messages for the page, the panel keeps what the page cannot
 * get again from `RunsSource.listRuns()` — every run's live progress readings, evaluations and cells
 * records (capped per run, older half thinned) and its latest sample — and *resyncs* the page whenever it may have
 * missed something: on every `ready` (each page load, including after being shown again or revived
 * after a restart) and whenever the panel becomes visible. A resync posts, in order, a fresh `runs`
 * snapshot, the recorded evaluations, cells and progress of each run, its latest `sample`, and then any
 * run-set messages (`runs` / `runUpdated`) that arrived while the snapshot was being read.
 * Live messages are posted only while the panel is visible; one posted to a page that is still
 * loading is covered by the resync its `ready` triggers. The page applies every message
 * idempotently (points are keyed by step), so what a resync repeats does no harm.
 */
import * as vscode from 'vscode';
import { PanelSlot, renderWebviewPage } from '../webviewPage';
import { thin } from '../../analysis/trainingCurve';
import { type CellsRecord, type EvalPoint, type ProgressPoint, type RunSummary } from '../protocol/runs';
import { describeRejected } from '../protocol/validation';
import { isDashboardToHost, type DashboardToHost, type HostToDashboard } from '../protocol/dashboard';

/** Where the dashboard gets its data and what it asks the extension to do. */
export interface RunsSource {
  listRuns(): Promise<RunSummary[]>;
  activeRunId(): string | null;
  /** Live messages (progress/eval/cells/sample/runUpdated/runs). */
  readonly onDidPost: vscode.Event<HostToDashboard>;
  exportCsv(runId: string): Promise<void>;
  savePng(bytes: Uint8Array): Promise<void>;
  openRunFolder(runId: string): Promise<void>;
}

type ProgressMessage = Extract<HostToDashboard, { type: 'progress' }>;
type SampleMessage = Extract<HostToDashboard, { type: 'sample' }>;

/** What the panel keeps of one run's live messages, to bring a reloaded page up to date. */
interface RunRecord {
  /** Ascending by step. */
  progress: ProgressMessage[];
  /** Ascending by step. */
  evals: EvalPoint[];
  /** Cells over time, ascending by step. */
  cells: CellsRecord[];
  sample?: SampleMessage;
  /** The latest `runUpdated`, replayed only while `listRuns()` does not list the run yet. */
  update?: RunSummary;
}

/** Insert or replace by step in an ascending list (the usual case, a newer step, is an append). */
function upsertByStep<T>(list: T[], item: T, step: (t: T) => number): void {
  const s = step(item);
  if (list.length === 0 || step(list[list.length - 1]) < s) {
    list.push(item);
    return;
  }
  const i = list.findIndex((x) => step(x) >= s);
  list.splice(i, step(list[i]) === s ? 1 : 0, item);
}

/** Live readings kept per run for resyncs; past this the older half is thinned. */
const MAX_PROGRESS_PER_RUN = 2000;
const MAX_EVALS_PER_RUN = 2000;
const MAX_CELLS_PER_RUN = 2000;
const PNG_DATA_URL = 'data:image/png;base64,';
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export class DashboardPanel implements vscode.Disposable {
  static readonly viewType = 'lstmLab.dashboard';
  private static readonly slot = new PanelSlot<DashboardPanel>(DashboardPanel.viewType, 'LSTM Lab: Training');

  private readonly disposables: vscode.Disposable[] = [];
  private readonly records = new Map<string, RunRecord>();
  /** Run-set messages that arrive while a resync reads the snapshot; null when no resync is under way. */
  private heldBack: HostToDashboard[] | null = null;
  private resyncs = 0;
  private disposed = false;

  /** Reveal the dashboard, creating it beside the active editor if there is none. */
  static show(context: { extensionUri: vscode.Uri }, source: RunsSource, log: (line: string) => void): DashboardPanel {
    return DashboardPanel.slot.show(context.extensionUri, (panel) => new DashboardPanel(panel, context.extensionUri, source, log));
  }

  /** Revive the dashboard after a window reload (the page restores its UI state with getState). */
  static registerSerializer(context: { extensionUri: vscode.Uri }, source: RunsSource, log: (line: string) => void): vscode.Disposable {
    return DashboardPanel.slot.registerSerializer(context.extensionUri, (panel) => new DashboardPanel(panel, context.extensionUri, source, log));
  }

  /** Live progress readings the open dashboard has recorded for a run (empty without a dashboard). */
  static progressOf(runId: string): readonly ProgressPoint[] {
    return DashboardPanel.slot.instance?.records.get(runId)?.progress.map((m) => m.point) ?? [];
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly source: RunsSource,
    private readonly log: (line: string) => void,
  ) {
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible) void this.resync();
      }),
      source.onDidPost((m) => this.onSourceMessage(m)),
    );
    this.render();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    DashboardPanel.slot.release(this);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.records.clear();
  }

  /** Set the page's HTML: strict CSP with a fresh nonce, the bundle and its stylesheet from dist/webview. */
  private render(): void {
    renderWebviewPage(this.panel.webview, this.extensionUri, 'dashboard', 'LSTM Lab: Training');
  }

  private post(message: HostToDashboard): void {
    if (this.disposed) return;
    void this.panel.webview.postMessage(message).then(undefined, (e: unknown) => this.log(`dashboard: could not post ${message.type}: ${String(e)}`));
  }

  private onSourceMessage(m: HostToDashboard): void {
    this.remember(m);
    // Hidden: the page cannot receive it; the resync when it is shown again carries it.
    if (this.disposed || !this.panel.visible) return;
    if (this.heldBack) {
      // Progress, evaluations, cells and samples are in the records the resync is about to post.
      if (m.type === 'runs' || m.type === 'runUpdated') this.heldBack.push(m);
      return;
    }
    this.post(m);
  }

  /** Keep what a reloaded page could not get from `listRuns()` again. */
  private remember(m: HostToDashboard): void {
    if (m.type === 'runs') {
      // Forget runs that are gone (deleted).
      const ids = new Set(m.runs.map((r) => r.runId));
      for (const id of [...this.records.keys()]) if (!ids.has(id)) this.records.delete(id);
      return;
    }
    const runId = m.type === 'runUpdated' ? m.run.runId : m.runId;
    let record = this.records.get(runId);
    if (!record) this.records.set(runId, (record = { progress: [], evals: [], cells: [] }));
    switch (m.type) {
      case 'progress':
        upsertByStep(record.progress, m, (x) => x.point.step);
        thin(record.progress, MAX_PROGRESS_PER_RUN);
        break;
      case 'eval':
        upsertByStep(record.evals, m.point, (x) => x.step);
        thin(record.evals, MAX_EVALS_PER_RUN);
        break;
      case 'cells':
        upsertByStep(record.cells, m.record, (x) => x.step);
        thin(record.cells, MAX_CELLS_PER_RUN);
        break;
      case 'sample':
        if (!record.sample || m.step >= record.sample.step) record.sample = m;
        break;
      case 'runUpdated':
        record.update = m.run;
        break;
    }
  }

  /** Bring the page up to date: snapshot, recorded history, latest samples, then what arrived meanwhile. */
  private async resync(): Promise<void> {
    if (this.disposed || !this.panel.visible) return;
    const generation = ++this.resyncs;
    // A resync already under way hands its held-back messages on to this one.
    this.heldBack ??= [];
    let runs: RunSummary[];
    try {
      runs = await this.source.listRuns();
    } catch (e) {
      this.log(`dashboard: could not list runs: ${e instanceof Error ? e.message : String(e)}`);
      runs = [];
    }
    // A newer resync (another ready or visibility change) supersedes this one.
    if (generation !== this.resyncs || this.disposed) return;
    const heldBack = this.heldBack ?? [];
    this.heldBack = null;
    if (!this.panel.visible) return;
    const listed = new Set(runs.map((r) => r.runId));
    for (const [runId, record] of this.records) if (!listed.has(runId) && record.update) runs.push(record.update);
    this.post({ type: 'runs', runs, activeRunId: this.source.activeRunId() });
    for (const [runId, record] of this.records) {
      for (const point of record.evals) this.post({ type: 'eval', runId, point });
      for (const r of record.cells) this.post({ type: 'cells', runId, record: r });
      for (const m of record.progress) this.post(m);
      if (record.sample) this.post(record.sample);
    }
    for (const m of heldBack) this.post(m);
  }

  private async onMessage(raw: unknown): Promise<void> {
    if (!isDashboardToHost(raw)) {
      this.log(`dashboard: ignored ${describeRejected(raw)}`);
      return;
    }
    const m: DashboardToHost = raw;
    try {
      switch (m.type) {
        case 'ready':
          await this.resync();
          break;
        case 'exportCsv':
          await this.source.exportCsv(m.runId);
          break;
        case 'savePng': {
          const bytes = new Uint8Array(Buffer.from(m.dataUrl.slice(PNG_DATA_URL.length), 'base64'));
          if (bytes.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
            this.log('dashboard: ignored a savePng whose data is not a PNG image');
            return;
          }
          await this.source.savePng(bytes);
          break;
        }
        case 'openRunFolder':
          await this.source.openRunFolder(m.runId);
          break;
        case 'log':
          this.log(`dashboard ${m.level}: ${m.message}`);
          break;
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log(`dashboard: ${m.type} failed: ${e instanceof Error && e.stack ? e.stack : msg}`);
      void vscode.window.showErrorMessage(`LSTM Lab: ${msg}`);
    }
  }
}
