/**
 * A run's training curve — no DOM, no `vscode` — shared by the dashboard webview, the extension host
 * (CSV export, the readings kept per run) and the unit tests: metric conversion, the smoothing of the
 * curve, the merge of a run's evaluations with its live progress readings, its CSV export, and the
 * thinning that keeps a growing series of readings bounded.
 *
 * Losses travel in nats per character everywhere; they are converted only for display.
 */

import type { EvalPoint, ProgressPoint, RunSummary } from '../extension/protocol/runs';
import type { Metric } from '../extension/protocol/dashboard';

/** Convert a loss in nats/char to the displayed metric: nats, bits (nats / ln 2) or perplexity (e^nats). */
export function toMetric(nats: number, metric: Metric): number {
  switch (metric) {
    case 'nats':
      return nats;
    case 'bits':
      return nats / Math.LN2;
    case 'perplexity':
      return Math.exp(nats);
  }
}

/** Short unit label of a metric, for axes and table headers. */
export function metricLabel(metric: Metric): string {
  switch (metric) {
    case 'nats':
      return 'nats/char';
    case 'bits':
      return 'bits/char';
    case 'perplexity':
      return 'perplexity';
  }
}

/**
 * Exponential moving average with bias correction (as TensorBoard smooths): `alpha` is the weight of
 * the past, 0 (no smoothing) to 0.99. The state starts at zero and each output is divided by
 * 1 − alpha^n, so the first point is the first value itself and the early curve is not dragged
 * towards the (high) starting loss. Non-finite values are passed through and leave the state as is.
 */
export function smooth(values: readonly number[], alpha: number): number[] {
  const a = Math.min(Math.max(Number.isFinite(alpha) ? alpha : 0, 0), 0.999);
  if (a === 0) return values.slice();
  const out: number[] = new Array(values.length);
  let state = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    state = a * state + (1 - a) * v;
    n++;
    out[i] = state / (1 - Math.pow(a, n));
  }
  return out;
}

/** One row of a run's curve: a training reading, with the validation loss where an evaluation was made. */
export interface CurveRow {
  step: number;
  chars: number;
  seconds: number;
  trainLoss: number;
  valLoss: number | null;
}

/**
 * A run's training curve: its evaluations and its live progress readings merged by step, ascending.
 * Where both exist at one step the evaluation wins (it carries the validation loss).
 */
export function mergeCurve(evals: readonly EvalPoint[], progress: readonly ProgressPoint[]): CurveRow[] {
  const byStep = new Map<number, CurveRow>();
  for (const p of progress) byStep.set(p.step, { step: p.step, chars: p.chars, seconds: p.seconds, trainLoss: p.trainLoss, valLoss: null });
  for (const e of evals) byStep.set(e.step, { step: e.step, chars: e.chars, seconds: e.seconds, trainLoss: e.trainLoss, valLoss: e.valLoss });
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export const CSV_HEADER = ['step', 'chars', 'seconds', 'trainLoss_nats', 'valLoss_nats', 'valBitsPerChar', 'valPerplexity'] as const;

function cell(v: number | null): string {
  if (v === null || Number.isNaN(v)) return '';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

/**
 * A run's curve as CSV (RFC 4180, `\n` line ends, header first): one row per step that has a training
 * reading or an evaluation; the validation columns are empty on rows without an evaluation.
 */
export function runToCsv(run: RunSummary, progress: readonly ProgressPoint[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const r of mergeCurve(run.evals, progress)) {
    const val = r.valLoss;
    lines.push(
      [
        cell(r.step),
        cell(r.chars),
        cell(r.seconds),
        cell(r.trainLoss),
        cell(val),
        cell(val === null ? null : toMetric(val, 'bits')),
        cell(val === null ? null : toMetric(val, 'perplexity')),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Keep a growing series of readings bounded: past `max` points, drop every second one of the older
 * half (the newest half stays dense, the first point is kept). Mutates and returns `points`.
 */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const half = Math.floor(points.length / 2);
  const older = points.slice(0, half).filter((_, i) => i % 2 === 0);
  points.splice(0, half, ...older);
  return points;
}
