/**
 * The runs table's columns — title, cell text, tooltip, how it sorts — and the order of the rows
 * under a sort. No DOM (unit-tested in test/dashboardLogic.test.ts); runsTable.ts draws them.
 */
import type { RunSummary } from '../../src/extension/protocol/runs';
import type { Metric } from '../../src/extension/protocol/dashboard';
import { metricLabel, toMetric } from '../../src/analysis/trainingCurve';
import { shortBackend } from './backendLabel';
import { compact2, fmtDuration, fmtLoss, fmtStarted, grouped, modelText } from './format';
import type { RunData } from './runStore';
import type { SortKey, UiState } from './uiState';

export interface Column {
  key: SortKey;
  title: (metric: Metric) => string;
  numeric: boolean;
  cell: (r: RunData, metric: Metric) => string;
  /** The cell's tooltip, when the cell shows less than there is. */
  tooltip?: (r: RunData) => string;
  compare: (a: RunSummary, b: RunSummary) => number;
}

const bestInMetric = (r: RunSummary, metric: Metric): number | null => (r.bestValLoss === null ? null : toMetric(r.bestValLoss, metric));

const cmpNum = (a: number, b: number): number => a - b;
export const COLUMNS: Column[] = [
  { key: 'run', title: () => 'Run', numeric: false, cell: (r) => r.summary.runId, compare: (a, b) => a.runId.localeCompare(b.runId) },
  {
    key: 'model',
    title: () => 'Model',
    numeric: false,
    cell: (r) => modelText(r.summary),
    compare: (a, b) => a.model.kind.localeCompare(b.model.kind) || cmpNum(a.model.layers, b.model.layers) || cmpNum(a.model.hidden, b.model.hidden),
  },
  { key: 'parameters', title: () => 'Parameters', numeric: true, cell: (r) => compact2.format(r.summary.parameters), compare: (a, b) => cmpNum(a.parameters, b.parameters) },
  { key: 'backend', title: () => 'Backend', numeric: false, cell: (r) => shortBackend(r.summary.backend), tooltip: (r) => r.summary.backend, compare: (a, b) => a.backend.localeCompare(b.backend) },
  { key: 'charsPerSec', title: () => 'Chars/s', numeric: true, cell: (r) => grouped.format(r.summary.charsPerSec), compare: (a, b) => cmpNum(a.charsPerSec, b.charsPerSec) },
  {
    key: 'learningRate',
    title: () => 'LR',
    numeric: true,
    // The schedule decays it over the run's budget: the latest value, live while training.
    cell: (r) => (r.summary.learningRate === null ? '–' : r.summary.learningRate.toExponential(1)),
    compare: (a, b) => cmpNum(a.learningRate ?? 0, b.learningRate ?? 0),
  },
  {
    key: 'bestVal',
    title: (metric) => `Best val (${metricLabel(metric)})`,
    numeric: true,
    cell: (r, metric) => fmtLoss(bestInMetric(r.summary, metric)),
    // Runs without a validation loss sort after all others, whichever the direction (see sortedRuns).
    compare: (a, b) => cmpNum(a.bestValLoss ?? 0, b.bestValLoss ?? 0),
  },
  {
    key: 'status',
    title: () => 'Status',
    numeric: false,
    cell: (r) => (r.summary.status === 'running' && r.fraction !== null ? `running ${Math.round(r.fraction * 100)}%` : r.summary.status),
    compare: (a, b) => a.status.localeCompare(b.status),
  },
  { key: 'duration', title: () => 'Duration', numeric: true, cell: (r) => fmtDuration(r.summary.durationSeconds), compare: (a, b) => cmpNum(a.durationSeconds, b.durationSeconds) },
  { key: 'started', title: () => 'Started', numeric: false, cell: (r) => fmtStarted(r.summary.startedAt), tooltip: (r) => new Date(r.summary.startedAt).toLocaleString(), compare: (a, b) => cmpNum(Date.parse(a.startedAt) || 0, Date.parse(b.startedAt) || 0) || a.startedAt.localeCompare(b.startedAt) },
];

/** The runs in the table's order: by the sort's column and direction, then by run id. */
export function sortedRuns(runs: Iterable<RunData>, sort: UiState['sort']): RunData[] {
  const col = COLUMNS.find((c) => c.key === sort.key) ?? COLUMNS[COLUMNS.length - 1];
  const list = [...runs];
  return list.sort((x, y) => {
    if (col.key === 'bestVal') {
      const nx = x.summary.bestValLoss === null;
      const ny = y.summary.bestValLoss === null;
      if (nx !== ny) return nx ? 1 : -1;
    }
    return sort.dir * col.compare(x.summary, y.summary) || x.summary.runId.localeCompare(y.summary.runId);
  });
}
