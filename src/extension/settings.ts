/**
 * Typed access to the `lstmLab.*` training settings: their keys and defaults come from the engine's
 * schema (engine/training/options.ts), which package.json's contributes.configuration agrees with
 * (test/configurationSchema.test.ts).
 */
import * as vscode from 'vscode';
import { CORPUS_OPTIONS as C, MODEL_OPTIONS as M, RUN_OPTIONS, TRAIN_OPTIONS as T } from '../engine/training/options';
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
  /** Data-parallel worker threads (0 = automatic: train() applies the rule of workerCount.ts). */
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
  // The fallback of each setting is the schema's default, which package.json declares as well.
  const get = <V>(option: { setting?: string; default: V }): V => c.get<V>(option.setting!, option.default);
  return {
    kind: get(M.kind) as CellKind,
    layers: get(M.layers),
    hidden: get(M.hidden),
    seqLength: get(T.seqLength),
    batchSize: get(T.batchSize),
    learningRate: get(T.learningRate),
    minutes: get(T.minutes),
    steps: get(T.steps),
    evalEvery: get(T.evalEvery),
    workers: get(T.workers),
    backend: get(RUN_OPTIONS.backend) as TrainingSettings['backend'],
    include: [...get(C.include)],
    // files.exclude entries set to true are skipped too
    exclude: [...get(C.exclude), ...Object.entries(filesExclude).filter(([, on]) => on === true).map(([g]) => g)],
    maxFileBytes: get(C.maxFileKB) * 1024,
    maxTotalBytes: Math.round(get(C.maxTotalMB) * 1e6),
  };
}
