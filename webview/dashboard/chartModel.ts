/**
 * What the loss chart plots, worked out without the DOM (unit-tested in test/dashboardLogic.test.ts):
 * each shown run's curves (training, smoothed and raw, and validation) against the chosen x axis in
 * the chosen metric, the tables and series uPlot draws them from, the ticks of the log scale, the
 * legend's readings at the cursor, the chart's text alternative and empty-state note, and the PNG
 * export's title and legend rows. lossChart.ts and pngExport.ts draw what this computes.
 */
import type uPlot from 'uplot';
import type { XAxis } from '../../src/extension/protocol/dashboard';
import { mergeCurve, metricLabel, smooth, toMetric } from '../../src/analysis/trainingCurve';
import { fmtLoss, fmtTick, fmtX, X_LABEL } from './format';
import type { RunData } from './runStore';
import type { UiState } from './uiState';

export interface Curve {
  runId: string;
  colour: string;
  dash: number[];
  trainX: number[];
  trainRaw: (number | null)[];
  train: (number | null)[];
  valX: number[];
  val: (number | null)[];
  /** Series index of the run's first series in the chart. */
  firstSeries: number;
}

/** How a run is drawn: its colour (for the canvas) and dash pattern. */
export type RunStyle = (runId: string) => { colour: string; dash: number[] };

/** Sort parallel arrays by x and keep the last of equal xs (uPlot.join needs unique ascending x). */
export function alignByX(xs: number[], ...ys: (number | null)[][]): [number[], ...(number | null)[][]] {
  let sorted = true;
  for (let i = 1; i < xs.length && sorted; i++) sorted = xs[i] > xs[i - 1];
  if (sorted) return [xs, ...ys];
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const outX: number[] = [];
  const outY = ys.map(() => [] as (number | null)[]);
  for (const i of order) {
    if (outX.length > 0 && outX[outX.length - 1] === xs[i]) {
      ys.forEach((y, k) => (outY[k][outY[k].length - 1] = y[i]));
    } else {
      outX.push(xs[i]);
      ys.forEach((y, k) => outY[k].push(y[i]));
    }
  }
  return [outX, ...outY];
}

/**
 * The curves of every run not hidden, in the runs' order. A value the chart cannot show (not finite,
 * or not positive on a log scale) is a gap (null); a reading without the x axis's value is left out.
 */
export function buildCurves(runs: ReadonlyMap<string, RunData>, ui: UiState, style: RunStyle): Curve[] {
  const shown = (v: number): number | null => (Number.isFinite(v) && (!ui.log || v > 0) ? v : null);
  const xOf = (p: { step: number; chars: number; seconds: number }): number => p[ui.xAxis];
  const withRaw = ui.smoothing > 0;
  const out: Curve[] = [];
  let series = 1;
  for (const [id, run] of runs) {
    if (ui.hidden.includes(id)) continue;
    const rows = mergeCurve(run.evals, run.progress).filter((r) => Number.isFinite(xOf(r)));
    const nats = rows.map((r) => r.trainLoss);
    const smoothed = smooth(nats, ui.smoothing);
    const [trainX, trainRaw, train] = alignByX(
      rows.map(xOf),
      nats.map((v) => shown(toMetric(v, ui.metric))),
      smoothed.map((v) => shown(toMetric(v, ui.metric))),
    );
    const evals = run.evals.filter((e) => Number.isFinite(xOf(e)));
    const [valX, val] = alignByX(evals.map(xOf), evals.map((e) => shown(toMetric(e.valLoss, ui.metric))));
    const { colour, dash } = style(id);
    out.push({ runId: id, colour, dash, trainX, trainRaw, train, valX, val, firstSeries: series });
    series += withRaw ? 3 : 2;
  }
  return out;
}

/** One table per series for uPlot.join: per run the raw training curve (while smoothing), the training curve, the validation points. */
export function chartTables(cs: readonly Curve[], withRaw: boolean): uPlot.AlignedData[] {
  const tables: uPlot.AlignedData[] = [];
  for (const c of cs) {
    if (withRaw) tables.push([c.trainX, c.trainRaw]);
    tables.push([c.trainX, c.train]);
    tables.push([c.valX, c.val]);
  }
  return tables;
}

/** The chart's series, in the order of chartTables: the x axis, then per run its raw (while smoothing), training and validation series. */
export function chartSeries(cs: readonly Curve[], xAxis: XAxis, withRaw: boolean): uPlot.Series[] {
  const series: uPlot.Series[] = [{ label: X_LABEL[xAxis] }];
  for (const c of cs) {
    if (withRaw) series.push({ label: `${c.runId} training (raw)`, stroke: c.colour, width: 1, alpha: 0.25, spanGaps: true, dash: c.dash, points: { show: false } });
    series.push({ label: `${c.runId} training`, stroke: c.colour, width: 1.25, spanGaps: true, dash: c.dash, points: { show: false } });
    series.push({
      label: `${c.runId} validation`,
      stroke: c.colour,
      width: 2,
      spanGaps: true,
      dash: c.dash,
      points: { show: true, size: 6, width: 1, stroke: c.colour, fill: c.colour },
    });
  }
  return series;
}

/** What rebuilds the chart when it changes (otherwise new data is set into the chart as it is). */
export function chartKey(ui: UiState, cs: readonly Curve[]): string {
  return JSON.stringify([ui.metric, ui.xAxis, ui.log, ui.smoothing > 0, cs.map((c) => [c.runId, c.colour, c.dash])]);
}

/** How many training and validation points are plotted. */
export const plottedPoints = (cs: readonly Curve[]): number => cs.reduce((n, c) => n + c.trainX.length + c.valX.length, 0);

/** The note shown instead of an empty chart, or '' when there is something to draw. */
export function emptyChartNote(runCount: number, cs: readonly Curve[]): string {
  const points = plottedPoints(cs);
  return runCount === 0 ? 'No runs yet.' : cs.length === 0 ? 'All runs are hidden: tick one in the legend above.' : points === 0 ? 'Waiting for the first readings…' : '';
}

/** The text alternative of the canvas: what it plots and each run's latest readings. */
export function chartDescription(cs: readonly Curve[], ui: UiState): string {
  const latest = (xs: number[], ys: (number | null)[]) => {
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && Number.isFinite(ys[i])) return `${fmtTick(ys[i]!)} at ${fmtX(xs[i], ui.xAxis)}`;
    return 'none yet';
  };
  return (
    `Loss in ${metricLabel(ui.metric)} against ${X_LABEL[ui.xAxis]}, ${cs.length} run(s). ` +
    cs.map((c) => `${c.runId}: training ${latest(c.trainX, c.train)}, validation ${latest(c.valX, c.val)}`).join('; ')
  );
}

/** Index of the last x ≤ target in ascending xs, or -1. */
export function floorIndex(xs: number[], target: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** A run's readings in the legend: at the cursor's x (`at`), or the latest ones when the cursor is off the chart (null). */
export function legendReadings(c: Curve, at: number | null, xAxis: XAxis): string {
  const ti = at === null ? c.trainX.length - 1 : floorIndex(c.trainX, at);
  const vi = at === null ? c.valX.length - 1 : floorIndex(c.valX, at);
  const parts = [`train ${fmtLoss(ti >= 0 ? c.train[ti] : null)}`, `val ${fmtLoss(vi >= 0 ? c.val[vi] : null)}`];
  if (ti >= 0) parts.push(`@ ${fmtX(c.trainX[ti], xAxis)}`);
  return parts.join(' · ');
}

/**
 * Ticks of the log-scale y axis. The range fits the data (often less than a decade), where uPlot's
 * own log ticks (powers of ten) would leave it almost bare: take the densest of a few sets of round
 * mantissas whose ticks stay at least 28 px apart on an axis `heightPx` high.
 */
export function logTicks(min: number, max: number, heightPx: number): number[] {
  if (!(min > 0) || !(max > min)) return [];
  const span = Math.log(max) - Math.log(min);
  const levels = [[1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 5, 7], [1, 2, 5], [1]];
  let best: number[] = [];
  for (const mantissas of levels) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(6));
        if (v >= min && v <= max) ticks.push(v);
      }
    }
    let gap = Infinity;
    for (let i = 1; i < ticks.length; i++) gap = Math.min(gap, ((Math.log(ticks[i]) - Math.log(ticks[i - 1])) / span) * heightPx);
    if (ticks.length >= 2 || best.length === 0) best = ticks;
    if (gap >= 28) break;
  }
  return best;
}

/** Tick spacings for whole-number axes: 1, 2, 5, 10, 20, 50, … */
export const WHOLE_INCREMENTS = Array.from({ length: 13 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** The PNG export's title: what the chart plots, with its scale and smoothing. */
export function pngTitle(ui: UiState): string {
  return `Loss (${metricLabel(ui.metric)}${ui.log ? ', log scale' : ''}) against ${X_LABEL[ui.xAxis]}${ui.smoothing > 0 ? ` — training smoothed ${ui.smoothing.toFixed(2)}` : ''}`;
}

/**
 * Items of the given widths laid out in rows from `left`, wrapping before one would pass `right`
 * (an item wider than a row still starts its own): each item's corner, and the rows' height (0 for none).
 */
export function flowRows(widths: readonly number[], left: number, right: number, rowHeight: number): { at: { x: number; y: number }[]; height: number } {
  const at: { x: number; y: number }[] = [];
  let x = left;
  let y = 0;
  for (const w of widths) {
    if (x > left && x + w > right) {
      x = left;
      y += rowHeight;
    }
    at.push({ x, y });
    x += w;
  }
  return { at, height: widths.length > 0 ? y + rowHeight : 0 };
}
