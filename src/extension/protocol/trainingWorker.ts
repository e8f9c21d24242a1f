/**
 * The channel between the extension host and the training worker: the host asks for a run (or
 * cancels it), the worker reports the corpus, progress, evaluations, cells over time, samples,
 * checkpoints and the end.
 */
import { evalPoint, isCellsRecord, progressPoint, runStatus, runSummary, type CellsRecord, type ModelSummary, type ProgressPoint, type EvalPoint, type RunStatus, type RunSummary } from './runs';
import { arr, num, numOrNull, oneOf, opt, record, shape, str, validator } from './validation';

export interface TrainRequest {
  /** Folders or files to read, all into one corpus. */
  corpusPaths: string[];
  corpusOptions: { include?: string[]; exclude?: string[]; maxFileBytes?: number; maxTotalBytes?: number };
  model: ModelSummary & { dropout: number };
  /** workers: data-parallel threads, 0 = automatic; learningRate 0 = automatic (train() resolves both). */
  train: { seqLength: number; batchSize: number; learningRate: number; steps: number; minutes: number; evalEvery: number; sampleChars: number; seed: number; workers: number };
  outDir: string;
  runId?: string;
  /** Continue this run folder instead of starting one. */
  resume?: string;
  backend: 'auto' | 'native' | 'node' | 'wasm' | 'cpu';
}

export type HostToWorker = { type: 'train'; request: TrainRequest } | { type: 'cancel' };

export type WorkerToHost =
  | { type: 'log'; line: string }
  | { type: 'corpus'; summary: string; files: number; chars: number; skipped: Record<string, number> }
  | { type: 'started'; run: RunSummary }
  | { type: 'progress'; runId: string; point: ProgressPoint; charsPerSec: number; fraction: number | null; etaSeconds: number | null }
  | { type: 'eval'; runId: string; point: EvalPoint; charsPerSec: number; valBitsPerChar: number; valPerplexity: number }
  /** An evaluation's best cell per concept, once in the run's cells.jsonl. */
  | { type: 'cells'; runId: string; record: CellsRecord }
  | { type: 'sample'; runId: string; step: number; text: string }
  | { type: 'checkpoint'; runId: string; step: number; role: 'best' | 'last'; path: string }
  | { type: 'warning'; runId: string; message: string }
  | { type: 'done'; runId: string; status: RunStatus; checkpoint: string; bestValLoss: number | null; step: number; seconds: number }
  | { type: 'failed'; runId: string | null; message: string };

const trainRequest = shape<TrainRequest>({
  corpusPaths: arr(str),
  corpusOptions: shape<TrainRequest['corpusOptions']>({ include: opt(arr(str)), exclude: opt(arr(str)), maxFileBytes: opt(num), maxTotalBytes: opt(num) }),
  model: shape<TrainRequest['model']>({ kind: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, embedding: num, dropout: num }),
  train: shape<TrainRequest['train']>({ seqLength: num, batchSize: num, learningRate: num, steps: num, minutes: num, evalEvery: num, sampleChars: num, seed: num, workers: num }),
  outDir: str, runId: opt(str), resume: opt(str), backend: oneOf('auto', 'native', 'node', 'wasm', 'cpu'),
});

export const isHostToWorker = validator<HostToWorker>({
  train: { request: trainRequest },
  cancel: {},
});

export const isWorkerToHost = validator<WorkerToHost>({
  log: { line: str },
  corpus: { summary: str, files: num, chars: num, skipped: record(num) },
  started: { run: runSummary },
  progress: { runId: str, point: progressPoint, charsPerSec: num, fraction: numOrNull, etaSeconds: numOrNull },
  eval: { runId: str, point: evalPoint, charsPerSec: num, valBitsPerChar: num, valPerplexity: num },
  cells: { runId: str, record: isCellsRecord },
  sample: { runId: str, step: num, text: str },
  checkpoint: { runId: str, step: num, role: oneOf('best', 'last'), path: str },
  warning: { runId: str, message: str },
  done: { runId: str, status: runStatus, checkpoint: str, bestValLoss: numOrNull, step: num, seconds: num },
  failed: { runId: (v) => v === null || str(v), message: str },
});
