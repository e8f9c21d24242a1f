/**
 * The dashboard's UI state, the part kept with getState/setState so a reload or a panel revived after
 * a restart looks as it was left: metric, x axis, scale, smoothing, hidden runs, selection, the
 * runs table's sort and the concepts hidden in the cells-over-time chart. Restoring checks every field and falls back to the default for anything else.
 * No DOM (unit-tested in test/dashboardLogic.test.ts).
 */
import type { Metric, XAxis } from '../../src/extension/protocol/dashboard';

export type SortKey = 'run' | 'model' | 'parameters' | 'backend' | 'charsPerSec' | 'learningRate' | 'bestVal' | 'status' | 'duration' | 'started';

export interface UiState {
  metric: Metric;
  xAxis: XAxis;
  log: boolean;
  /** EMA weight of the past on the training curve, 0–0.99. */
  smoothing: number;
  hidden: string[];
  selected: string | null;
  sort: { key: SortKey; dir: 1 | -1 };
  /** Concept ids unticked in the cells-over-time legend. */
  hiddenConcepts: string[];
}

export const METRICS: readonly Metric[] = ['nats', 'bits', 'perplexity'];
export const X_AXES: readonly XAxis[] = ['step', 'chars', 'seconds'];
const SORT_KEYS: readonly SortKey[] = ['run', 'model', 'parameters', 'backend', 'charsPerSec', 'learningRate', 'bestVal', 'status', 'duration', 'started'];

export function restoreState(raw: unknown): UiState {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const sort = (typeof s.sort === 'object' && s.sort !== null ? s.sort : {}) as Record<string, unknown>;
  const smoothing = typeof s.smoothing === 'number' && Number.isFinite(s.smoothing) ? Math.min(Math.max(s.smoothing, 0), 0.99) : 0.6;
  return {
    metric: METRICS.includes(s.metric as Metric) ? (s.metric as Metric) : 'nats',
    xAxis: X_AXES.includes(s.xAxis as XAxis) ? (s.xAxis as XAxis) : 'step',
    log: s.log === true,
    smoothing,
    hidden: Array.isArray(s.hidden) ? s.hidden.filter((x): x is string => typeof x === 'string') : [],
    selected: typeof s.selected === 'string' ? s.selected : null,
    sort: {
      key: SORT_KEYS.includes(sort.key as SortKey) ? (sort.key as SortKey) : 'started',
      dir: sort.dir === 1 ? 1 : -1,
    },
    hiddenConcepts: Array.isArray(s.hiddenConcepts) ? s.hiddenConcepts.filter((x): x is string => typeof x === 'string') : [],
  };
}

/** The smoothing slider's value as the state keeps it: 0–0.99, and 0 for anything not a number. */
export function clampSmoothing(v: number): number {
  return Number.isFinite(v) ? Math.min(Math.max(v, 0), 0.99) : 0;
}

/**
 * The sort after a click on a column's header: the same column flips its direction; another column
 * starts descending if it is numeric or the start time (newest, biggest first), ascending otherwise.
 */
export function nextSort(sort: UiState['sort'], key: SortKey, numeric: boolean): UiState['sort'] {
  return sort.key === key ? { key, dir: sort.dir === 1 ? -1 : 1 } : { key, dir: numeric || key === 'started' ? -1 : 1 };
}
