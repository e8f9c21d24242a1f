/**
 * "LSTM Lab: Train on Workspace": choose a preset (or a custom model), choose the folder in a
 * multi-root workspace, and start training in the worker.
 */
import * as vscode from 'vscode';
import { recordedCorpusRoots } from '../engine/data/corpus';
import { resumeBudget } from '../engine/training/budget';
import { MODEL_OPTIONS, NumberOption, rangeText, TRAIN_OPTIONS } from '../engine/training/options';
import { readRunInfo } from '../engine/training/runFolder';
import type { CellKind } from './protocol/runs';
import type { TrainRequest } from './protocol/trainingWorker';
import { RunStore } from './runStore';
import { trainingSettings } from './settings';
import { TrainingController } from './training';

interface Preset extends vscode.QuickPickItem {
  id: string;
  model?: { kind: CellKind; layers: number; hidden: number };
}

export async function trainOnWorkspace(training: TrainingController, store: RunStore): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showErrorMessage('LSTM Lab: open a folder first — the model trains on the files of the workspace.');
    return;
  }
  const s = trainingSettings(folders[0].uri);
  const presets: Preset[] = [
    { id: 'charrnn', label: 'char-rnn default', description: `${s.kind} 2×128`, detail: "Karpathy's char-rnn size; learns C syntax in minutes.", model: { kind: s.kind, layers: 2, hidden: 128 } },
    { id: 'small', label: 'Small (fast)', description: `${s.kind} 1×64`, detail: 'A quick look: trains in seconds to minutes.', model: { kind: s.kind, layers: 1, hidden: 64 } },
    { id: 'large', label: 'Large', description: `${s.kind} 3×512`, detail: "The paper's largest size; slow without the native backend.", model: { kind: s.kind, layers: 3, hidden: 512 } },
    { id: 'settings', label: 'From settings', description: `${s.kind} ${s.layers}×${s.hidden}`, detail: 'lstmLab.model.* and lstmLab.train.*', model: { kind: s.kind, layers: s.layers, hidden: s.hidden } },
    { id: 'custom', label: 'Custom…', detail: 'Choose cell type, layers, hidden size and sequence length.' },
  ];
  // The char-rnn default comes first, so Enter trains it.
  const preset = await vscode.window.showQuickPick(presets, { title: 'LSTM Lab: Train on Workspace (1/2)', placeHolder: 'Model size' });
  if (!preset) return;

  let model = preset.model;
  let seqLength = s.seqLength;
  if (preset.id === 'custom') {
    const kind = await vscode.window.showQuickPick(
      [{ label: 'lstm', detail: 'Long short-term memory (default)' }, { label: 'gru', detail: 'Gated recurrent unit' }, { label: 'rnn', detail: 'Vanilla tanh RNN' }],
      { title: 'Cell type' },
    );
    if (!kind) return;
    const layers = await askInt(MODEL_OPTIONS.layers, s.layers);
    if (layers === undefined) return;
    const hidden = await askInt(MODEL_OPTIONS.hidden, s.hidden);
    if (hidden === undefined) return;
    const seq = await askInt(TRAIN_OPTIONS.seqLength, s.seqLength);
    if (seq === undefined) return;
    model = { kind: kind.label as CellKind, layers, hidden };
    seqLength = seq;
  }
  const duration = await askDuration(s);
  if (!duration) return;
  const { minutes, steps } = duration;

  let targets = folders;
  if (folders.length > 1) {
    const all = { label: 'All folders', folders };
    const picked = await vscode.window.showQuickPick([...folders.map((f) => ({ label: f.name, description: f.uri.fsPath, folders: [f] })), all], { title: 'Train on which folder?' });
    if (!picked) return;
    targets = picked.folders;
  }
  const request: TrainRequest = {
    corpusPaths: targets.map((f) => f.uri.fsPath),
    corpusOptions: { include: s.include.length ? s.include : undefined, exclude: s.exclude, maxFileBytes: s.maxFileBytes, maxTotalBytes: s.maxTotalBytes },
    model: { ...model!, embedding: 0, dropout: MODEL_OPTIONS.dropout.default },
    train: { seqLength, batchSize: s.batchSize, learningRate: s.learningRate, steps, minutes, evalEvery: s.evalEvery, sampleChars: 300, seed: 1, workers: s.workers },
    outDir: store.root,
    backend: s.backend,
  };
  if (await training.start(request)) void vscode.commands.executeCommand('lstmLab.showDashboard');
}

/** Continue a stopped run from its last checkpoint. */
export async function resumeRun(training: TrainingController, store: RunStore, runId: string): Promise<void> {
  const run = await store.read(store.dirOf(runId));
  const s = trainingSettings();
  // A stopped run continues to its own budget; a finished one goes on for as long again as the settings say.
  const budget = resumeBudget({ ...run, seconds: run.durationSeconds }, (await readRunInfo(run.dir)).train, s);
  const request: TrainRequest = {
    corpusPaths: recordedCorpusRoots(run.corpus),
    corpusOptions: { include: s.include.length ? s.include : undefined, exclude: s.exclude, maxFileBytes: s.maxFileBytes, maxTotalBytes: s.maxTotalBytes },
    // The checkpoint's own model (dropout included) wins on resume (engine/training/resume.ts).
    model: { ...run.model, dropout: MODEL_OPTIONS.dropout.default },
    train: { seqLength: s.seqLength, batchSize: s.batchSize, learningRate: s.learningRate, ...budget, evalEvery: s.evalEvery, sampleChars: 300, seed: 1, workers: s.workers },
    outDir: store.root,
    resume: run.dir,
    backend: s.backend,
  };
  // batch and sequence come from the checkpoint on resume
  if (await training.start(request)) void vscode.commands.executeCommand('lstmLab.showDashboard');
}

/**
 * How long to train: the setting first (so Enter keeps it), then 1, 3, 10 or 30 minutes, or any
 * number of minutes or steps. The learning rate is scheduled over this budget.
 */
async function askDuration(s: { steps: number; minutes: number }): Promise<{ minutes: number; steps: number } | undefined> {
  type Item = vscode.QuickPickItem & { budget?: { minutes: number; steps: number } };
  const setting = s.steps > 0 ? { minutes: 0, steps: s.steps } : { minutes: s.minutes, steps: 0 };
  const label = (b: { minutes: number; steps: number }) => (b.steps > 0 ? `${b.steps.toLocaleString('en-US')} steps` : `${b.minutes} minute${b.minutes === 1 ? '' : 's'}`);
  const items: Item[] = [
    { label: label(setting), description: 'lstmLab.train.minutes / steps', budget: setting },
    ...[1, 3, 10, 30].filter((m) => setting.steps > 0 || m !== setting.minutes).map((m) => ({ label: label({ minutes: m, steps: 0 }), budget: { minutes: m, steps: 0 } })),
    { label: 'Other…', detail: 'Any number of minutes, or of steps (e.g. 2000 steps)' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'LSTM Lab: Train on Workspace (2/2)', placeHolder: 'Duration (the learning rate decays over it)' });
  if (!picked) return undefined;
  if (picked.budget) return picked.budget;
  const typed = await vscode.window.showInputBox({
    title: 'Duration',
    prompt: 'Minutes (e.g. 10) or steps (e.g. 2000 steps)',
    value: setting.steps > 0 ? `${setting.steps} steps` : String(setting.minutes),
    validateInput: (v) => (parseDuration(v) ? undefined : 'A number of minutes, or N steps'),
  });
  return typed ? parseDuration(typed)! : undefined;
}

/** Ask for a whole-number option within the schema's bounds, `value` (the setting's) filled in. */
async function askInt(option: NumberOption, value: number): Promise<number | undefined> {
  const { min, max } = option;
  const v = await vscode.window.showInputBox({
    prompt: `${option.prompt} (${rangeText(option)})`,
    value: String(value),
    validateInput: (x) => (/^\d+$/.test(x.trim()) && +x >= min && +x <= max ? undefined : `A whole number from ${min} to ${max}`),
  });
  return v === undefined ? undefined : Number(v);
}

export function parseDuration(v: string): { minutes: number; steps: number } | null {
  const t = v.trim().toLowerCase();
  const steps = /^(\d+)\s*steps?$/.exec(t);
  if (steps && +steps[1] > 0) return { minutes: 0, steps: +steps[1] };
  const minutes = /^(\d+(?:\.\d+)?)\s*(m|min|minutes?)?$/.exec(t);
  if (minutes && +minutes[1] > 0) return { minutes: +minutes[1], steps: 0 };
  return null;
}
