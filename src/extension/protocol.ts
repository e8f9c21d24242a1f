/**
 * The one message protocol of LSTM Lab: every message between the extension host, the training
 * worker and the webviews is declared here, and each side validates what it receives with the
 * validators below (a message of the wrong shape is ignored and logged, never acted on).
 *
 * This module imports nothing from `vscode` or the engine at run time, so the webview bundles,
 * the worker and the host all import it.
 */

// ---------------------------------------------------------------------------------------------
// Shared shapes

export type CellKind = 'lstm' | 'gru' | 'rnn';
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
  step: number;
  evals: EvalPoint[];
  lastSample?: string;
}

// ---------------------------------------------------------------------------------------------
// Host ↔ training worker

export interface TrainRequest {
  /** Folders or files to read, all into one corpus. */
  corpusPaths: string[];
  corpusOptions: { include?: string[]; exclude?: string[]; maxFileBytes?: number; maxTotalBytes?: number };
  model: ModelSummary & { dropout: number };
  train: { seqLength: number; batchSize: number; learningRate: number; steps: number; minutes: number; evalEvery: number; sampleChars: number; seed: number };
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
  | { type: 'sample'; runId: string; step: number; text: string }
  | { type: 'checkpoint'; runId: string; step: number; role: 'best' | 'last'; path: string }
  | { type: 'warning'; runId: string; message: string }
  | { type: 'done'; runId: string; status: RunStatus; checkpoint: string; bestValLoss: number | null; step: number; seconds: number }
  | { type: 'failed'; runId: string | null; message: string };

// ---------------------------------------------------------------------------------------------
// Host ↔ training dashboard webview

export type Metric = 'nats' | 'bits' | 'perplexity';
export type XAxis = 'step' | 'chars' | 'seconds';

export type DashboardToHost =
  | { type: 'ready' }
  | { type: 'exportCsv'; runId: string }
  | { type: 'savePng'; dataUrl: string }
  | { type: 'openRunFolder'; runId: string }
  | { type: 'log'; level: 'info' | 'error'; message: string };

export type HostToDashboard =
  /** The full picture: sent on ready and whenever the set of runs changes. */
  | { type: 'runs'; runs: RunSummary[]; activeRunId: string | null }
  | { type: 'runUpdated'; run: RunSummary }
  | { type: 'progress'; runId: string; point: ProgressPoint; charsPerSec: number; fraction: number | null }
  | { type: 'eval'; runId: string; point: EvalPoint }
  | { type: 'sample'; runId: string; step: number; text: string };

// ---------------------------------------------------------------------------------------------
// Validation: small structural checks, one per message type.

type Check = (v: unknown) => boolean;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && !Number.isNaN(v);
const numOrNull: Check = (v) => v === null || num(v);

const opt = (c: Check): Check => (v) => v === undefined || c(v);
const arr = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
const oneOf = (...xs: string[]): Check => (v) => typeof v === 'string' && xs.includes(v);
const shape = (fields: Record<string, Check>): Check => (v) => isObj(v) && Object.entries(fields).every(([k, c]) => c(v[k]));
const record = (c: Check): Check => (v) => isObj(v) && Object.values(v).every(c);

const modelSummary = shape({ kind: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, embedding: num });
const evalPoint = shape({ step: num, chars: num, seconds: num, trainLoss: num, valLoss: num });
const progressPoint = shape({ step: num, chars: num, seconds: num, trainLoss: num });
const runStatus = oneOf('running', 'finished', 'cancelled', 'failed');
const runSummary = shape({
  runId: str, dir: str, model: modelSummary, parameters: num, backend: str, corpus: str, status: runStatus, startedAt: str,
  durationSeconds: num, charsPerSec: num, bestValLoss: numOrNull, step: num, evals: arr(evalPoint), lastSample: opt(str),
});
const trainRequest = shape({
  corpusPaths: arr(str),
  corpusOptions: shape({ include: opt(arr(str)), exclude: opt(arr(str)), maxFileBytes: opt(num), maxTotalBytes: opt(num) }),
  model: shape({ kind: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, embedding: num, dropout: num }),
  train: shape({ seqLength: num, batchSize: num, learningRate: num, steps: num, minutes: num, evalEvery: num, sampleChars: num, seed: num }),
  outDir: str, runId: opt(str), resume: opt(str), backend: oneOf('auto', 'native', 'node', 'wasm', 'cpu'),
});

function validator<T extends { type: string }>(table: Record<string, Record<string, Check>>): (v: unknown) => v is T {
  return (v: unknown): v is T => {
    if (!isObj(v) || typeof v.type !== 'string') return false;
    const fields = table[v.type];
    return fields !== undefined && Object.entries(fields).every(([k, c]) => c(v[k]));
  };
}

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
  sample: { runId: str, step: num, text: str },
  checkpoint: { runId: str, step: num, role: oneOf('best', 'last'), path: str },
  warning: { runId: str, message: str },
  done: { runId: str, status: runStatus, checkpoint: str, bestValLoss: numOrNull, step: num, seconds: num },
  failed: { runId: (v) => v === null || str(v), message: str },
});

export const isDashboardToHost = validator<DashboardToHost>({
  ready: {},
  exportCsv: { runId: str },
  savePng: { dataUrl: (v) => typeof v === 'string' && v.startsWith('data:image/png;base64,') },
  openRunFolder: { runId: str },
  log: { level: oneOf('info', 'error'), message: str },
});

export const isHostToDashboard = validator<HostToDashboard>({
  runs: { runs: arr(runSummary), activeRunId: (v) => v === null || str(v) },
  runUpdated: { run: runSummary },
  progress: { runId: str, point: progressPoint, charsPerSec: num, fraction: numOrNull },
  eval: { runId: str, point: evalPoint },
  sample: { runId: str, step: num, text: str },
});

/** Describe a rejected message for the log without dumping it whole. */
export function describeRejected(v: unknown): string {
  const type = isObj(v) && typeof v.type === 'string' ? v.type : typeof v;
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return `message of type ${JSON.stringify(type)} does not fit the protocol: ${text.slice(0, 200)}`;
}


