/**
 * The layout of a run folder, shared by the training loop that writes it and the editor that lists it:
 *   run.json        what the run is (RunInfo)
 *   metrics.jsonl   one EvalRecord per line, one line per evaluation
 *   last.ckpt       the latest state: what a resume continues from
 *   best.ckpt       the lowest validation loss: what sampling and completions use
 */
import * as fs from 'fs';
import * as path from 'path';
import type { EvalRecord } from './checkpoint';
import type { ModelConfig, TrainConfig } from './config';

export const RUN_FILES = { info: 'run.json', metrics: 'metrics.jsonl', last: 'last.ckpt', best: 'best.ckpt' } as const;

export type StopReason = 'steps' | 'time' | 'cancelled' | 'diverged';

export interface RunInfo {
  runId: string;
  dir: string;
  model: ModelConfig;
  train: TrainConfig;
  parameters: number;
  backend: string;
  corpus: { root: string; trainFiles: number; validationFiles: number; trainChars: number; validationChars: number; skipped: Record<string, number> };
  vocabularySize: number;
  startedAt: string;
  resumedFrom?: string;
  status: 'running' | 'finished' | 'cancelled' | 'failed';
  stopReason?: StopReason;
  finishedAt?: string;
  step?: number;
  bestValLoss?: number | null;
  error?: string;
}

export async function readRunInfo(runDir: string): Promise<RunInfo> {
  return JSON.parse(await fs.promises.readFile(path.join(runDir, RUN_FILES.info), 'utf8'));
}

/** The evaluations of a run; a torn last line (a crash mid-append) is skipped. */
export async function readMetrics(runDir: string): Promise<EvalRecord[]> {
  const text = await fs.promises.readFile(path.join(runDir, RUN_FILES.metrics), 'utf8').catch(() => '');
  const out: EvalRecord[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* torn last line */
    }
  }
  return out;
}
