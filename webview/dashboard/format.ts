/**
 * How the dashboard writes its numbers: losses, axis ticks, x values (steps, characters, m:ss),
 * durations, start times, parameter counts, a run's model, and the x axis's title. No DOM
 * (unit-tested in test/dashboardLogic.test.ts).
 */
import type { RunSummary } from '../../src/extension/protocol/runs';
import type { XAxis } from '../../src/extension/protocol/dashboard';

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
export const compact2 = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
export const grouped = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(sec).padStart(2, '0')}s`;
}

export function fmtClock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.abs(s % 60);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function fmtLoss(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return '∞';
  const a = Math.abs(v);
  return a >= 1000 ? compact2.format(v) : a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}

/** An axis tick: as short as the value allows (uPlot picks round ticks). */
export function fmtTick(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  return Math.abs(v) >= 10000 ? compact.format(v) : String(Number(v.toPrecision(6)));
}

export function fmtX(v: number, axis: XAxis): string {
  if (axis === 'seconds') return fmtClock(v);
  return Math.abs(v) >= 10000 ? compact.format(v) : grouped.format(v);
}

export function fmtStarted(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // Today's runs by time only; the full date and time are the cell's tooltip.
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(undefined, { timeStyle: 'short' }) : d.toLocaleDateString(undefined, { dateStyle: 'short' });
}

export const modelText = (r: RunSummary): string => `${r.model.kind} ${r.model.layers}×${r.model.hidden}`;
export const X_LABEL: Record<XAxis, string> = { step: 'step', chars: 'characters seen', seconds: 'wall time (m:ss)' };
