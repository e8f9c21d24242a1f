/**
 * What the "Cells over time" chart plots, worked out without the DOM (unit-tested in
 * test/dashboardLogic.test.ts): for the selected run, one line per concept — its best cell's score
 * (AUC for the in-… concepts, |correlation| for the counts; src/analysis/cellsRecord.ts) at each
 * evaluation — against the chosen x axis; the table and series uPlot draws them from, each concept's
 * style, the readings at a record (what the legend and the keyboard cursor show), the chart's text
 * alternative and its empty-state note. cellsChart.ts draws what this computes.
 */
import type uPlot from 'uplot';
import type { XAxis } from '../../src/extension/protocol/dashboard';
import { bestCellOf, recordedConcepts, recordsByStep, type BestCell, type CellsRecord } from '../../src/analysis/cellsRecord';
import { fmtX, X_LABEL } from './format';

/** The theme's chart palette (VS Code defines it for light, dark and high-contrast themes). */
const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
/** Counts (|correlation|) are dashed, binary concepts (AUC) solid. */
const COUNT_DASH = [6, 3];

export interface ConceptLine {
  concept: string;
  title: string;
  scoreKind: BestCell['scoreKind'];
  /** The CSS variable of its colour, and its dash pattern ([] solid). */
  colourVar: string;
  dash: number[];
  /** Its best cell at each of the run's records (null where a record has none), in the order of CellsView.x. */
  cells: (BestCell | null)[];
  hidden: boolean;
}

/** A run's records as the chart shows them: one x per record (ascending by step), one line per concept. */
export interface CellsView {
  records: CellsRecord[];
  x: number[];
  lines: ConceptLine[];
}

/**
 * The lines of a run's records against `xAxis`: every concept the records cover, in their order,
 * each with a colour of the palette (by position; past six the colours repeat) and a dash by kind.
 * Records without the axis's value are left out. `hidden`: concepts unticked in the legend.
 */
export function cellsView(records: readonly CellsRecord[], xAxis: XAxis, hidden: readonly string[]): CellsView {
  const shown = recordsByStep(records).filter((r) => Number.isFinite(r[xAxis]));
  // Several records at one x (a resumed run's seconds, say): the last one by step is kept.
  const atX = new Map<number, CellsRecord>();
  for (const r of shown) atX.set(r[xAxis], r);
  const kept = [...atX.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  const lines = recordedConcepts(kept).map((c, i) => ({
    concept: c.concept,
    title: c.title,
    scoreKind: c.scoreKind,
    colourVar: PALETTE[i % PALETTE.length],
    dash: c.scoreKind === 'correlation' ? COUNT_DASH : [],
    cells: kept.map((r) => bestCellOf(r, c.concept)),
    hidden: hidden.includes(c.concept),
  }));
  return { records: kept, x: kept.map((r) => r[xAxis]), lines };
}

/** uPlot's data: the x values, then one score series per concept (null: none at that record). */
export function cellsTable(v: CellsView): uPlot.AlignedData {
  return [v.x, ...v.lines.map((l) => l.cells.map((c) => (c ? c.score : null)))];
}

/** uPlot's series in the order of cellsTable: hidden concepts are kept but not shown. */
export function cellsSeries(v: CellsView, xAxis: XAxis, colour: (cssVar: string) => string): uPlot.Series[] {
  return [
    { label: X_LABEL[xAxis] },
    ...v.lines.map((l) => {
      const stroke = colour(l.colourVar);
      return { label: l.title, show: !l.hidden, stroke, width: 1.75, dash: l.dash, spanGaps: true, points: { show: true, size: 5, width: 1, stroke, fill: stroke } };
    }),
  ];
}

/** How many scores are plotted (concepts shown × records that have them): the box's data-points. */
export function cellsPoints(v: CellsView): number {
  return v.lines.reduce((n, l) => n + (l.hidden ? 0 : l.cells.filter((c) => c !== null).length), 0);
}

/** What rebuilds the chart when it changes (otherwise new data goes into the chart as it is). */
export function cellsKey(runId: string, v: CellsView, xAxis: XAxis): string {
  return JSON.stringify([runId, xAxis, v.lines.map((l) => [l.concept, l.hidden])]);
}

/** A best cell as the legend shows it: "0.973 · L2 c17 −" (− : the cell is low where the concept holds). */
export function cellReading(c: BestCell | null): string {
  return c ? `${c.score.toFixed(3)} · L${c.layer} c${c.cell}${c.direction < 0 ? ' −' : ''}` : '—';
}

/** The record at index `i` read aloud: its x, then each shown concept's score. */
export function recordReading(v: CellsView, i: number, xAxis: XAxis): string {
  if (i < 0 || i >= v.records.length) return '';
  const scores = v.lines.filter((l) => !l.hidden).map((l) => `${l.title} ${l.cells[i] ? l.cells[i]!.score.toFixed(3) : 'none'}`);
  return `${X_LABEL[xAxis]} ${fmtX(v.x[i], xAxis)}: ${scores.join('; ')}`;
}

/** The text alternative of the canvas: what it plots and each concept's latest score. */
export function cellsDescription(runId: string, v: CellsView, xAxis: XAxis): string {
  return `Best-cell score per concept (AUC for the in-… concepts, |correlation| for the counts) against ${X_LABEL[xAxis]} for ${runId}, ${v.records.length} evaluation(s). ` +
    'Arrow keys step through the evaluations. ' + recordReading(v, v.records.length - 1, xAxis);
}

/** The note shown instead of an empty chart, or '' when there is something to draw. */
export function cellsEmptyNote(runId: string | null, v: CellsView | null): string {
  if (runId === null || v === null) return 'Select a run in the table to see when its cells for strings, comments, conditions, depth and indentation appeared.';
  if (v.records.length === 0) return `No cells over time for ${runId} yet: each evaluation records them (runs trained before this feature have none; \`lstm-lab cells-over-time RUN --from-checkpoints\` computes them from its checkpoints).`;
  if (v.lines.every((l) => l.hidden)) return 'Every concept is hidden: tick one in the legend above.';
  return '';
}

/** The record the keyboard moves to from `current` (-1: none yet) on `key`, or null for a key that does not move. */
export function keyedIndex(current: number, count: number, key: string): number | null {
  if (count === 0) return null;
  const from = current < 0 ? count : current;
  switch (key) {
    case 'ArrowLeft':
      return Math.max(0, from - 1);
    case 'ArrowRight':
      return current < 0 ? count - 1 : Math.min(count - 1, from + 1);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    case 'PageUp':
      return Math.max(0, from - 10);
    case 'PageDown':
      return current < 0 ? count - 1 : Math.min(count - 1, from + 10);
    default:
      return null;
  }
}
