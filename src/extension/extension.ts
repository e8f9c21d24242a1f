/**
 * LSTM Lab's composition root: the one place where the extension's services are created, wired
 * together and registered for disposal. Everything here is an adapter; the work is the engine's
 * (src/engine), run in a worker for training and in-process for batch-1 inference.
 */
import * as fs from 'fs';
import * as vscode from 'vscode';
import { runToCsv } from '../analysis/trainingCurve';
import { registerActivations } from './activations/registration';
import { registerCompletions } from './completions/registerCompletions';
import { DashboardPanel, RunsSource } from './dashboard/dashboardPanel';
import { registerExperiments } from './experiments/registration';
import { ModelCache } from './modelCache';
import type { RunSummary } from './protocol/runs';
import { RunStore } from './runStore';
import { RunsNode, RunsView } from './runsView';
import { sampleFromModel } from './sampleCommand';
import { resumeRun, trainOnWorkspace } from './trainCommand';
import { TrainingController } from './training';

/** What activate() returns: used by the in-editor test suite. */
export interface LstmLabApi {
  store: RunStore;
  training: TrainingController;
  models: ModelCache;
}

export function activate(context: vscode.ExtensionContext): LstmLabApi {
  // The host forks (git, ripgrep, terminals); OpenBLAS's fork handler deadlocks if its thread pool is
  // busy. One BLAS thread here means no pool; training runs in its own process with every core.
  process.env.OPENBLAS_NUM_THREADS = '1';
  const output = vscode.window.createOutputChannel('LSTM Lab');
  const store = new RunStore(context);
  const training = new TrainingController(context.extensionPath, store, output);
  const models = new ModelCache(context.extensionPath, store);
  const runsView = new RunsView(store);
  const log = (line: string) => output.appendLine(line);

  const withLive = (r: RunSummary): RunSummary => {
    const sample = training.sampleOf(r.runId);
    return sample ? { ...r, lastSample: sample } : r;
  };
  const source: RunsSource = {
    listRuns: async () => (await store.list()).map(withLive),
    activeRunId: () => training.runningRunId,
    onDidPost: training.onDidPost,
    async exportCsv(runId) {
      const run = await store.read(store.dirOf(runId));
      const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`${runId}.csv`), filters: { CSV: ['csv'] } });
      if (!target) return;
      await vscode.workspace.fs.writeFile(target, Buffer.from(runToCsv(run, training.progressOf(runId)), 'utf8'));
      void vscode.window.showInformationMessage(`LSTM Lab: wrote ${target.fsPath}`);
    },
    async savePng(bytes) {
      const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file('lstm-lab-curves.png'), filters: { PNG: ['png'] } });
      if (!target) return;
      await vscode.workspace.fs.writeFile(target, bytes);
      void vscode.window.showInformationMessage(`LSTM Lab: wrote ${target.fsPath}`);
    },
    async openRunFolder(runId) {
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(store.dirOf(runId)));
    },
  };
  const showDashboard = () => DashboardPanel.show(context, source, log);
  const runOf = (n?: RunsNode) => n?.run;
  const checkpointOf = (n?: RunsNode) => (n?.kind === 'checkpoint' ? n.path : n ? store.checkpoints(n.run.runId)[0]?.path : undefined);

  const command = (id: string, fn: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        await fn(...args);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log(`${id} failed: ${e instanceof Error && e.stack ? e.stack : msg}`);
        void vscode.window.showErrorMessage(`LSTM Lab: ${msg}`);
      }
    });

  context.subscriptions.push(
    output,
    store,
    training,
    models,
    runsView,
    vscode.window.registerTreeDataProvider('lstmLab.runs', runsView),
    DashboardPanel.registerSerializer(context, source, log),
    command('lstmLab.trainOnWorkspace', () => trainOnWorkspace(training, store)),
    command('lstmLab.stopTraining', async () => {
      if (!training.running) return void vscode.window.showInformationMessage('LSTM Lab: no training is running.');
      await training.stop();
    }),
    command('lstmLab.showDashboard', showDashboard),
    command('lstmLab.sampleFromModel', () => sampleFromModel(models)),
    command('lstmLab.runs.refresh', () => runsView.refresh()),
    command('lstmLab.runs.openDashboard', showDashboard),
    command('lstmLab.runs.resume', (n?: RunsNode) => {
      const run = runOf(n);
      if (run) return resumeRun(training, store, run.runId);
    }),
    command('lstmLab.runs.sample', (n?: RunsNode) => sampleFromModel(models, checkpointOf(n))),
    command('lstmLab.runs.setActive', async (n?: RunsNode) => {
      const ckpt = checkpointOf(n);
      if (!ckpt) return;
      await store.setActive(ckpt);
      void vscode.window.showInformationMessage(`LSTM Lab: the active model is now ${ckpt}`);
    }),
    command('lstmLab.runs.reveal', async (n?: RunsNode) => {
      const target = n?.kind === 'checkpoint' ? n.path : n ? store.dirOf(n.run.runId) : undefined;
      if (target && fs.existsSync(target)) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(target));
    }),
    command('lstmLab.runs.delete', async (n?: RunsNode) => {
      const run = runOf(n);
      if (!run) return;
      if (run.status === 'running') return void vscode.window.showWarningMessage('LSTM Lab: stop the training before deleting its run.');
      const del = 'Delete';
      const answer = await vscode.window.showWarningMessage(`Delete run ${run.runId} and its checkpoints? This cannot be undone.`, { modal: true }, del);
      if (answer === del) await store.remove(run.runId);
    }),
  );
  // Features: each registers its own commands, providers and disposables.
  const activationsLog = vscode.window.createOutputChannel('LSTM Lab: Activations', { log: true });
  context.subscriptions.push(activationsLog);
  registerActivations(context, { models, store, output, debugLog: activationsLog });
  const completions = registerCompletions(context, { models, store, output });
  runsView.acceptance = completions.acceptance;
  registerExperiments(context, { store, output, trainingRunning: () => training.running, command });
  context.subscriptions.push(completions.onDidChangeRecord(() => runsView.refresh()));

  return { store, training, models };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
