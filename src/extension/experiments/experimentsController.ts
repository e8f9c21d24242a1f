/**
 * The experiments of the paper as editor commands: "Compare Architectures" (a grid trained in turn
 * beside n-grams), and on the open file with the active model "Peel the Error Onion", "Long-Range
 * Brackets" and "Gradient Flow". Each runs the command line in a child process (commandLine.ts),
 * one experiment at a time, with a cancellable progress notification; what it finds is kept in the
 * workspace's storage (experimentStore.ts) and shown in the experiments panel, with the command
 * that reproduces it.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunStore } from '../runStore';
import { isAnalysisResult, type AnalysisView, type ExperimentKind, type ExperimentsState, type ExperimentsToHost } from '../protocol/experiments';
import { CommandLineJob, commandLineScript, commandText } from './commandLine';
import { ErrorColouring, textHash } from './errorColouring';
import { ExperimentStore, modelLabel, type ComparisonRecord, type OnionCharacters, type StoredAnalysis } from './experimentStore';

const NGRAM_ORDERS = '1,3,5,10,20';
const POLL_MS = 2000;

const KIND_TITLES: Record<ExperimentKind, string> = { errors: 'Peel the Error Onion', brackets: 'Long-Range Brackets', gradients: 'Gradient Flow' };

interface Busy {
  what: string;
  detail: string;
  fraction: number | null;
  job: CommandLineJob;
  comparisonDir?: string;
}

export interface ExperimentsDeps {
  extensionPath: string;
  storageRoot: string;
  runs: RunStore;
  /** True while a training runs in this window (an experiment would share its cores). */
  trainingRunning: () => boolean;
  log: (line: string) => void;
  /** Bring the experiments panel up. */
  showPanel: () => void;
}

export class ExperimentsController implements vscode.Disposable {
  readonly store: ExperimentStore;
  readonly colouring = new ErrorColouring();
  private busy: Busy | null = null;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed, this.colouring];

  constructor(private readonly deps: ExperimentsDeps) {
    this.store = new ExperimentStore(path.join(deps.storageRoot, 'experiments'));
    this.disposables.push(this.colouring.onDidChange(() => this.changed.fire()), deps.runs.onDidChangeActive(() => this.changed.fire()));
  }

  get running(): boolean {
    return this.busy !== null;
  }

  async state(): Promise<ExperimentsState> {
    const dirs = await this.store.comparisonDirs();
    const comparisons = (await Promise.all(dirs.map((d) => this.store.comparisonView(d, this.busy?.comparisonDir === d)))).filter((v) => v !== null);
    const shown = this.colouring.shown;
    const analyses: AnalysisView[] = (await this.store.readAnalyses()).map((a) => ({ ...a, colouring: a.id === shown }));
    const active = this.deps.runs.active();
    return {
      comparisons,
      analyses,
      busy: this.busy ? { what: this.busy.what, detail: this.busy.detail, fraction: this.busy.fraction } : null,
      activeModel: active ? await this.modelOf(active) : null,
    };
  }

  async handle(m: Exclude<ExperimentsToHost, { type: 'ready' } | { type: 'log' }>): Promise<void> {
    switch (m.type) {
      case 'compare':
        return this.compare();
      case 'continueComparison':
        return this.continueComparison(m.id);
      case 'analyse':
        return this.analyse(m.kind);
      case 'cancel':
        return this.cancel();
      case 'exportTable':
        return this.exportTable(m.id, m.format);
      case 'colourFile':
        return this.colourFile(m.id, m.on);
      case 'remove':
        return this.remove(m.id);
    }
  }

  cancel(): void {
    this.busy?.job.cancel();
  }

  // -------------------------------------------------------------------------------------------
  // Compare Architectures

  async compare(): Promise<void> {
    if (this.refuseSecond()) return;
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) return void vscode.window.showErrorMessage('LSTM Lab: open a folder first — the comparison trains on the files of the workspace.');
    let folder = folders[0];
    if (folders.length > 1) {
      const picked = await vscode.window.showQuickPick(folders.map((f) => ({ label: f.name, description: f.uri.fsPath, f })), { title: 'Compare Architectures: on which folder?' });
      if (!picked) return;
      folder = picked.f;
    }
    const title = 'LSTM Lab: Compare Architectures';
    const kinds = await vscode.window.showQuickPick(
      [
        { label: 'lstm', detail: 'Long short-term memory', picked: true },
        { label: 'gru', detail: 'Gated recurrent unit', picked: true },
        { label: 'rnn', detail: 'Vanilla tanh RNN', picked: true },
      ],
      { title: `${title} (1/4)`, placeHolder: 'Cell types to compare', canPickMany: true },
    );
    if (!kinds?.length) return;
    const layers = await vscode.window.showQuickPick(
      [1, 2, 3].map((n) => ({ label: String(n), description: n === 1 ? 'layer' : 'layers', picked: n <= 2 })),
      { title: `${title} (2/4)`, placeHolder: 'Depths (layers)', canPickMany: true },
    );
    if (!layers?.length) return;
    const hidden = await vscode.window.showInputBox({
      title: `${title} (3/4)`,
      prompt: 'Hidden sizes, comma-separated (16–1024)',
      value: '128',
      validateInput: (v) => (/^\s*\d+(\s*,\s*\d+)*\s*$/.test(v) && v.split(',').every((x) => +x >= 16 && +x <= 1024) ? null : 'whole numbers from 16 to 1024, separated by commas'),
    });
    if (hidden === undefined) return;
    const runs = kinds.length * layers.length * hidden.split(',').length;
    const budget = await vscode.window.showQuickPick(
      [
        { label: '1,000 steps each', args: ['--steps-each', '1000'], detail: `${runs} run(s) of 1,000 steps` },
        { label: '3 minutes each', args: ['--minutes-each', '3'], detail: `${runs} run(s), about ${runs * 3} minutes in all` },
        { label: "10 minutes each (the paper's comparison)", args: ['--minutes-each', '10'], detail: `${runs} run(s), about ${runs * 10} minutes in all` },
        { label: 'Steps each…', args: [] as string[], detail: 'Choose the number of steps' },
      ],
      { title: `${title} (4/4)`, placeHolder: `Budget of each run (then n-grams of orders ${NGRAM_ORDERS})` },
    );
    if (!budget) return;
    let budgetArgs = budget.args;
    if (budgetArgs.length === 0) {
      const steps = await vscode.window.showInputBox({ title, prompt: 'Steps per run', value: '300', validateInput: (v) => (/^\d+$/.test(v.trim()) && +v > 0 ? null : 'a whole number of steps > 0') });
      if (steps === undefined) return;
      budgetArgs = ['--steps-each', steps.trim()];
    }
    if (this.deps.trainingRunning()) {
      const go = 'Compare anyway';
      const answer = await vscode.window.showWarningMessage('LSTM Lab: a training is running; the comparison would share the cores with it, and both would be slower.', go);
      if (answer !== go) return;
    }
    const dir = this.store.newComparisonDir();
    const args = [
      'compare', folder.uri.fsPath,
      '--models', kinds.map((k) => k.label).join(','),
      '--layers', layers.map((l) => l.label).join(','),
      '--hidden', hidden.replace(/\s+/g, ''),
      ...budgetArgs,
      '--ngram-orders', NGRAM_ORDERS,
      '--out', dir,
      '--json',
    ];
    await this.runComparison(dir, args);
  }

  /** Go on with a cancelled, interrupted or failed comparison: the same command in its folder skips what is done. */
  async continueComparison(id: string): Promise<void> {
    if (this.refuseSecond()) return;
    const dir = path.join(this.store.root, id);
    const record = id.startsWith('compare-') && path.dirname(dir) === this.store.root ? await this.store.readComparisonRecord(dir) : null;
    if (!record) return void vscode.window.showErrorMessage(`LSTM Lab: there is no comparison ${id} in this workspace.`);
    if (record.status === 'done') return void vscode.window.showInformationMessage('LSTM Lab: this comparison is done.');
    await this.runComparison(dir, record.args, record.startedAt);
  }

  /** Run (or go on with) the comparison in DIR with ARGS; resolves when it ends. */
  private async runComparison(dir: string, args: string[], startedAt = new Date().toISOString()): Promise<void> {
    const record: ComparisonRecord = { args, command: commandText(args), startedAt, status: 'running', message: null };
    await this.store.writeComparisonRecord(dir, record);
    this.deps.showPanel();
    const job = this.start(args, 'Comparing architectures', 'starting…', dir);
    const poll = setInterval(() => void this.pollComparison(dir), POLL_MS);
    try {
      const r = await this.withProgress('Comparing architectures', job);
      record.status = r.cancelled ? 'cancelled' : r.code === 0 ? 'done' : 'failed';
      record.message = r.code === 0 || r.cancelled ? null : r.message;
      await this.store.writeComparisonRecord(dir, record);
      if (record.status === 'failed') void vscode.window.showErrorMessage(`LSTM Lab: the comparison failed: ${record.message}`);
      else if (record.status === 'done') void vscode.window.showInformationMessage('LSTM Lab: the comparison is done; its table is in the Experiments panel.');
    } finally {
      clearInterval(poll);
      this.finish();
    }
  }

  private async pollComparison(dir: string): Promise<void> {
    const busy = this.busy;
    if (!busy || busy.comparisonDir !== dir) return;
    const view = await this.store.comparisonView(dir, true).catch(() => null);
    if (view && view.total > 0) {
      const current = view.curves.find((c) => c.state === 'started');
      const args = busy.job.args;
      const stepsEach = Number(args[args.indexOf('--steps-each') + 1]) || 0;
      const minutesEach = Number(args[args.indexOf('--minutes-each') + 1]) || 0;
      const last = current?.points[current.points.length - 1];
      const part = !last ? 0 : stepsEach > 0 ? Math.min(1, last.step / stepsEach) : minutesEach > 0 ? Math.min(1, last.seconds / (minutesEach * 60)) : 0;
      busy.fraction = Math.min(1, (view.done + part) / view.total);
      busy.detail =
        view.done >= view.total
          ? 'building the n-grams…'
          : `run ${Math.min(view.total, view.done + 1)} of ${view.total}${current ? ` · ${current.label}${last ? ` · step ${last.step} · validation ${last.valLoss.toFixed(3)} nats/char` : ''}` : ''}`;
    }
    this.changed.fire();
  }

  // -------------------------------------------------------------------------------------------
  // Analyses of the open file with the active model

  async analyse(kind: ExperimentKind): Promise<void> {
    if (this.refuseSecond()) return;
    const checkpoint = this.deps.runs.active();
    if (!checkpoint) return void vscode.window.showErrorMessage('LSTM Lab: there is no active model: train one (LSTM Lab: Train on Workspace) or choose one in the Runs view.');
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    if (!editor) return void vscode.window.showErrorMessage(`LSTM Lab: ${KIND_TITLES[kind]} works on the open file: open a file first.`);
    const doc = editor.document;
    const text = doc.getText();
    if (text.length === 0) return void vscode.window.showErrorMessage(`LSTM Lab: ${path.basename(doc.fileName)} is empty.`);
    // The command line reads a file: the document itself when it is saved, else a copy of its text.
    let target = doc.uri.fsPath;
    if (doc.isUntitled || doc.isDirty || doc.uri.scheme !== 'file') {
      const copies = path.join(this.store.root, 'texts');
      await fs.promises.mkdir(copies, { recursive: true });
      target = path.join(copies, path.basename(doc.fileName) || 'untitled.txt');
      await fs.promises.writeFile(target, text, 'utf8');
    }
    const args =
      kind === 'errors'
        ? ['errors', checkpoint, target, '--per-char', '--json']
        : kind === 'brackets'
          ? ['brackets', checkpoint, target, '--language', doc.languageId, '--json']
          : ['gradients', checkpoint, target, '--json'];
    const model = await this.modelOf(checkpoint);
    this.deps.showPanel();
    const detail = kind === 'errors' ? `${path.basename(doc.fileName)}: building n-gram oracles of orders 1–20 on the training text…` : path.basename(doc.fileName);
    const job = this.start(args, KIND_TITLES[kind], detail);
    try {
      const r = await this.withProgress(KIND_TITLES[kind], job);
      if (r.cancelled) return;
      const e = r.events.find((x) => x.event === kind);
      if (r.code !== 0 || !e) {
        let msg = r.message || `lstm-lab ${kind} printed no result`;
        if (/training file/.test(msg)) msg = `${path.basename(doc.fileName)} is one of the model's training files, and the experiments are measured on text it has not seen. Open a file outside its training corpus (one of its validation files, or code from elsewhere).`;
        void vscode.window.showErrorMessage(`LSTM Lab: ${KIND_TITLES[kind]}: ${msg}`);
        return;
      }
      const result = resultOf(kind, e);
      if (!isAnalysisResult(result)) {
        void vscode.window.showErrorMessage(`LSTM Lab: ${KIND_TITLES[kind]}: lstm-lab printed a result of another shape than this extension reads (${JSON.stringify(e).slice(0, 160)}); is the command line from another version?`);
        return;
      }
      const id = `${kind}-${Date.now().toString(36)}`;
      const stored: StoredAnalysis = {
        id,
        model,
        checkpoint,
        target: doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString(),
        createdAt: new Date().toISOString(),
        seconds: typeof e.seconds === 'number' ? e.seconds : 0,
        command: commandText(args),
        result,
      };
      let characters: OnionCharacters | undefined;
      const files = kind === 'errors' && Array.isArray(e.files) ? (e.files as { chars: number; errors: [number, number][] }[]) : [];
      if (files.length === 1) characters = { categoryNames: (e.categoryNames as string[]) ?? [], file: doc.uri.fsPath, hash: textHash(text), chars: files[0].chars, errors: files[0].errors };
      await this.store.addAnalysis(stored, characters);
      if (characters) await this.colourFile(id, true);
      this.changed.fire();
    } finally {
      this.finish();
    }
  }

  async colourFile(id: string, on: boolean): Promise<void> {
    if (!on) {
      if (this.colouring.shown === id) this.colouring.clear();
      return;
    }
    const c = await this.store.readOnionCharacters(id);
    if (!c) return void vscode.window.showWarningMessage('LSTM Lab: this onion has no per-character record to colour the file with.');
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.fsPath === c.file);
    if (!editor) await vscode.window.showTextDocument(vscode.Uri.file(c.file), { viewColumn: vscode.ViewColumn.One, preserveFocus: true });
    if (!this.colouring.show({ analysisId: id, ...c })) {
      void vscode.window.showWarningMessage(`LSTM Lab: ${path.basename(c.file)} has changed since its onion was peeled; peel it again to colour it.`);
    }
  }

  // -------------------------------------------------------------------------------------------

  private async exportTable(id: string, format: 'csv' | 'md'): Promise<void> {
    const source = path.join(this.store.root, id, format === 'csv' ? 'compare.csv' : 'compare.md');
    if (!id.startsWith('compare-') || !fs.existsSync(source)) return void vscode.window.showWarningMessage('LSTM Lab: this comparison has no table yet.');
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`${id}.${format}`), filters: format === 'csv' ? { CSV: ['csv'] } : { Markdown: ['md'] } });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, await fs.promises.readFile(source));
    void vscode.window.showInformationMessage(`LSTM Lab: wrote ${target.fsPath}`);
  }

  private async remove(id: string): Promise<void> {
    if (id.startsWith('compare-')) {
      if (this.busy?.comparisonDir === path.join(this.store.root, id)) return void vscode.window.showWarningMessage('LSTM Lab: cancel the comparison before removing it.');
      const del = 'Delete';
      const answer = await vscode.window.showWarningMessage(`Delete comparison ${id} and its runs? This cannot be undone.`, { modal: true }, del);
      if (answer !== del) return;
      await this.store.removeComparison(id);
    } else {
      if (this.colouring.shown === id) this.colouring.clear();
      await this.store.removeAnalysis(id);
    }
    this.changed.fire();
  }

  private refuseSecond(): boolean {
    if (!this.busy) return false;
    void vscode.window.showWarningMessage(`LSTM Lab: ${this.busy.what} is running; cancel it or wait for it to end.`);
    this.deps.showPanel();
    return true;
  }

  private start(args: string[], what: string, detail: string, comparisonDir?: string): CommandLineJob {
    const script = commandLineScript(this.deps.extensionPath);
    this.deps.log(`experiments: ${commandText(args)}`);
    const job = new CommandLineJob(script, args, {
      addon: path.join(this.deps.extensionPath, 'native', 'build', 'Release', 'lstm_lab.node'),
      onLog: (line) => this.deps.log(`  ${line}`),
    });
    this.busy = { what, detail, fraction: null, job, comparisonDir };
    this.changed.fire();
    return job;
  }

  private finish(): void {
    this.busy = null;
    this.changed.fire();
  }

  private withProgress(title: string, job: CommandLineJob): Promise<Awaited<CommandLineJob['done']>> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LSTM Lab: ${title}`, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(() => {
          progress.report({ message: 'stopping…' });
          job.cancel();
        });
        let reported = 0;
        const sub = this.onDidChange(() => {
          const b = this.busy;
          if (!b || b.job !== job) return;
          const pct = b.fraction === null ? null : Math.round(b.fraction * 100);
          progress.report({ message: `${pct === null ? '' : `${pct}% · `}${b.detail}`, increment: pct === null ? undefined : Math.max(0, pct - reported) });
          if (pct !== null) reported = Math.max(reported, pct);
        });
        return job.done.finally(() => sub.dispose());
      }),
    );
  }

  private async modelOf(checkpoint: string): Promise<string> {
    const role = path.basename(checkpoint, '.ckpt');
    try {
      const r = await this.deps.runs.read(path.dirname(checkpoint));
      return `${modelLabel(r.model.kind, r.model.layers, r.model.hidden)} · ${r.runId} (${role})`;
    } catch {
      return `${path.basename(path.dirname(checkpoint))} (${role})`;
    }
  }

  dispose(): void {
    this.busy?.job.cancel();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The panel's view of the command line's JSON result. */
function resultOf(kind: ExperimentKind, e: Record<string, unknown>): StoredAnalysis['result'] {
  if (kind === 'errors') {
    return { kind, chars: e.chars as number, errors: e.errors as number, categories: e.categories as { name: string; errors: number }[] };
  }
  if (kind === 'brackets') {
    // Bins no closer fell in have no mean: they are left out (JSON would carry their NaN as null).
    const bins = Array.isArray(e.bins) ? (e.bins as { count: number; network: number; ngram: number }[]).filter((b) => b && b.count > 0 && Number.isFinite(b.network) && Number.isFinite(b.ngram)) : e.bins;
    return { kind, closers: e.closers as number, unmatched: e.unmatched as number, ngramOrder: e.ngramOrder as number, bins: bins as never };
  }
  return { kind, cell: String(e.kind), lags: e.lags as number, positions: e.positions as number, layers: e.layers as never };
}
