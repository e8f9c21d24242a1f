/**
 * The shapes every channel shares: a model's summary and a training run's summary with its
 * evaluations, live readings and cells over time (the training worker reports them, the dashboard
 * draws them), and their checks. The cell kind is the engine's own type (a type-only import: nothing
 * of the engine reaches a bundle through the protocol); a cells record and its check are those of
 * the analysis that writes it (src/analysis/cellsRecord.ts, which imports nothing).
 */
import type { CellKind } from '../../engine/nn/kernels';
import { isCellsRecord, type CellsRecord } from '../../analysis/cellsRecord';
import { arr, num, numOrNull, oneOf, opt, shape, str } from './validation';

export type { CellKind, CellsRecord };
export { isCellsRecord };
export type RunStatus = 'running' | 'finished' | 'cancelled' | 'failed';

export interface ModelSummary {
  kind: CellKind;
  layers: number;
  hidden: number;
  embedding: number;
}

/** One evaluation, as stored in a run's metrics.jsonl. Losses in nats per character. */
export interface EvalPoint {
  step: number;
  chars: number;
  seconds: number;
  trainLoss: number;
  valLoss: number;
}

/** A live training-loss reading between evaluations. */
export interface ProgressPoint {
  step: number;
  chars: number;
  seconds: number;
  trainLoss: number;
  /** The learning rate of this step (the schedule over the run's budget). */
  learningRate: number;
}

export interface RunSummary {
  runId: string;
  dir: string;
  model: ModelSummary;
  parameters: number;
  backend: string;
  corpus: string;
  status: RunStatus;
  startedAt: string;
  durationSeconds: number;
  charsPerSec: number;
  bestValLoss: number | null;
  /** The latest learning rate (the schedule over the run's budget); null before the first reading. */
  learningRate: number | null;
  step: number;
  evals: EvalPoint[];
  lastSample?: string;
  /** The best cell per concept at each evaluation (the run's cells.jsonl), when the run has them. */
  cells?: CellsRecord[];
}

export const cellKind = oneOf('lstm', 'gru', 'rnn');
export const modelSummary = shape<ModelSummary>({ kind: cellKind, layers: num, hidden: num, embedding: num });
export const evalPoint = shape<EvalPoint>({ step: num, chars: num, seconds: num, trainLoss: num, valLoss: num });
export const progressPoint = shape<ProgressPoint>({ step: num, chars: num, seconds: num, trainLoss: num, learningRate: num });
export const runStatus = oneOf('running', 'finished', 'cancelled', 'failed');
export const runSummary = shape<RunSummary>({
  runId: str, dir: str, model: modelSummary, parameters: num, backend: str, corpus: str, status: runStatus, startedAt: str,
  durationSeconds: num, charsPerSec: num, bestValLoss: numOrNull, learningRate: numOrNull, step: num, evals: arr(evalPoint), lastSample: opt(str), cells: opt(arr(isCellsRecord)),
});
