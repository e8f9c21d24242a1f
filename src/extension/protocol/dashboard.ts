/**
 * The channel between the extension host and the training dashboard webview: the host sends the
 * runs and their live readings (losses, cells over time), the dashboard asks for exports and the run folder.
 */
import { evalPoint, isCellsRecord, progressPoint, runSummary, type CellsRecord, type EvalPoint, type ProgressPoint, type RunSummary } from './runs';
import { arr, num, numOrNull, oneOf, str, validator } from './validation';

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
  /** One evaluation's best cell per concept (cells over time). */
  | { type: 'cells'; runId: string; record: CellsRecord }
  | { type: 'sample'; runId: string; step: number; text: string };

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
  cells: { runId: str, record: isCellsRecord },
  sample: { runId: str, step: num, text: str },
});
