/** Typed access to the `lstmLab.*` settings declared in package.json (defaults live there). */
import * as vscode from 'vscode';
import type { CellKind } from './protocol/runs';

export interface TrainingSettings {
  kind: CellKind;
  layers: number;
  hidden: number;
  seqLength: number;
  batchSize: number;
  learningRate: number;
  minutes: number;
  steps: number;
  evalEvery: number;
  /** Data-parallel worker threads (0 = automatic, decided by the training process). */
  workers: number;
  backend: 'auto' | 'native' | 'node' | 'wasm' | 'cpu';
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  maxTotalBytes: number;
}

export function trainingSettings(scope?: vscode.Uri): TrainingSettings {
  const c = vscode.workspace.getConfiguration('lstmLab', scope);
  const filesExclude = vscode.workspace.getConfiguration('files', scope).get<Record<string, boolean>>('exclude') ?? {};
  return {
    kind: c.get<CellKind>('model.kind', 'lstm'),
    layers: c.get('model.layers', 2),
    hidden: c.get('model.hidden', 128),
    seqLength: c.get('train.seqLength', 64),
    batchSize: c.get('train.batchSize', 32),
    learningRate: c.get('train.learningRate', 0),
    minutes: c.get('train.minutes', 10),
    steps: c.get('train.steps', 0),
    evalEvery: c.get('train.evalEvery', 100),
    workers: c.get('train.workers', 0),
    backend: c.get('train.backend', 'auto'),
    include: c.get<string[]>('corpus.include', []),
    // files.exclude entries set to true are skipped too
    exclude: [...c.get<string[]>('corpus.exclude', []), ...Object.entries(filesExclude).filter(([, on]) => on === true).map(([g]) => g)],
    maxFileBytes: c.get('corpus.maxFileKB', 1024) * 1024,
    maxTotalBytes: Math.round(c.get('corpus.maxTotalMB', 50) * 1e6),
  };
}
