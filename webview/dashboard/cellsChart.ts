/**
 * The "Cells over time" chart of the selected run, drawn with uPlot: one line per concept, its best
 * cell's score at each evaluation (AUC solid, |correlation| dashed), against the loss chart's x axis,
 * in the theme's colours — when did a cell for comments, strings or `if` conditions appear? A legend
 * names the concepts (tick to show or hide one) with the best cell at the cursor, or the latest one.
 *
 * Keyboard: the chart takes focus; ←/→ step through the evaluations, PageUp/PageDown ten at a time,
 * Home/End to the first and last, Escape lets go; the reading at the cursor is announced (a live
 * region). Drag to zoom, double-click to zoom out, as on the loss chart. For tests (the lines are on
 * a canvas) the box carries the number of plotted scores in `data-points`.
 */
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import uPlot from 'uplot';
import { cellReading, cellsDescription, cellsEmptyNote, cellsKey, cellsPoints, cellsSeries, cellsTable, cellsView, keyedIndex, recordReading, type CellsView } from './cellsChartModel';
import { WHOLE_INCREMENTS } from './chartModel';
import { fmtX, X_LABEL } from './format';
import { cssVar, el } from '../shared/pageElements';
import { chartSize, followBoxSize, themedAxes, ZoomTracking } from '../shared/chartTheme';
import type { RunData } from './runStore';
import type { UiState } from './uiState';

interface LegendItem {
  root: HTMLDivElement;
  box: VscodeCheckbox;
  swatch: HTMLSpanElement;
  value: HTMLSpanElement;
}

export class CellsChart {
  readonly box = el('div', { class: 'cells-chart', role: 'img', tabindex: '0', 'aria-label': 'Cells over time' });
  private readonly heading = el('h2', {}, 'Cells over time');
  private readonly meta = el('span', { class: 'cells-meta' });
  private readonly legend = el('div', { class: 'cells-legend', role: 'group', 'aria-label': 'Concepts shown in the cells-over-time chart' });
  private readonly key = el('span', { class: 'legend-key' }, 'solid: AUC · dashed: |correlation| · value: score · layer · cell (− : low means yes)');
  private readonly note = el('p', { class: 'empty' });
  private readonly announcer = el('div', { class: 'visually-hidden', 'aria-live': 'polite' });
  readonly section: HTMLElement;
  private readonly items = new Map<string, LegendItem>();
  private chart: uPlot | null = null;
  private view: CellsView | null = null;
  private chartKey = '';
  private readonly zoom = new ZoomTracking();
  /** The record the keyboard put the cursor on (-1: none). */
  private index = -1;

  /** `toggled()` runs after a tick changed `ui.hiddenConcepts`. */
  constructor(
    private readonly ui: UiState,
    private readonly runs: ReadonlyMap<string, RunData>,
    private readonly toggled: () => void,
  ) {
    this.section = el(
      'section',
      { class: 'cells-section', 'aria-label': 'Cells over time of the selected run' },
      el('div', { class: 'cells-head' }, this.heading, this.meta),
      this.legend,
      this.box,
      this.note,
      this.announcer,
    );
    this.box.addEventListener('keydown', (e) => this.onKey(e));
    this.box.addEventListener('blur', () => this.moveTo(-1));
    followBoxSize(this.box, () => this.chart);
  }

  private size(): { width: number; height: number } {
    return chartSize(this.box);
  }

  /** Draw the selected run's records as they are now; `structure`: rebuild the chart even if its series look the same. */
  render(structure: boolean): void {
    const runId = this.ui.selected;
    const run = runId ? this.runs.get(runId) : undefined;
    const v = run ? cellsView(run.cells, this.ui.xAxis, this.ui.hiddenConcepts) : null;
    this.view = v;
    this.meta.textContent = run ? `${run.summary.runId}${v && v.records.length ? ` · best cell per concept on ${v.records[v.records.length - 1].sampleChars.toLocaleString('en-US')} validation characters` : ''}` : '';
    this.renderLegend(v);
    this.box.setAttribute('data-points', String(v ? cellsPoints(v) : 0));
    const message = cellsEmptyNote(run ? run.summary.runId : null, v);
    this.note.textContent = message;
    this.note.hidden = message === '';
    this.box.classList.toggle('no-data', message !== '');
    if (message !== '' || !v) {
      this.chart?.destroy();
      this.chart = null;
      this.chartKey = '';
      this.box.setAttribute('aria-label', message);
      return;
    }
    if (this.index >= v.records.length) this.index = -1;
    const data = cellsTable(v);
    const key = cellsKey(run!.summary.runId, v, this.ui.xAxis);
    if (!this.chart || structure || key !== this.chartKey) {
      this.chart?.destroy();
      this.zoom.zoomed = false;
      this.chart = this.make(v, data);
      this.chartKey = key;
    } else {
      this.chart.setData(data, !this.zoom.zoomed);
    }
    this.box.setAttribute('aria-label', cellsDescription(run!.summary.runId, v, this.ui.xAxis));
    this.renderValues();
  }

  private make(v: CellsView, data: uPlot.AlignedData): uPlot {
    const axis = themedAxes();
    const x = this.ui.xAxis;
    const opts: uPlot.Options = {
      ...this.size(),
      series: cellsSeries(v, x, (name) => cssVar(name)),
      legend: { show: false },
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [
        { ...axis(X_LABEL[x], (_u, splits) => splits.map((s) => fmtX(s, x))), ...(x === 'seconds' ? {} : { incrs: WHOLE_INCREMENTS }) },
        { ...axis('best-cell score', (_u, splits) => splits.map((s) => s.toFixed(1))), size: 44 },
      ],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 }, hover: { prox: 24 } },
      hooks: {
        setCursor: [() => this.renderValues()],
        setSelect: [this.zoom.onSelect],
      },
    };
    const u = new uPlot(opts, data, this.box);
    this.zoom.attach(u);
    return u;
  }

  private renderLegend(v: CellsView | null): void {
    const lines = v?.lines ?? [];
    const ids = new Set(lines.map((l) => l.concept));
    for (const [id, item] of this.items) {
      if (!ids.has(id)) {
        item.root.remove();
        this.items.delete(id);
      }
    }
    lines.forEach((l, i) => {
      let item = this.items.get(l.concept);
      if (!item) {
        const box = document.createElement('vscode-checkbox') as VscodeCheckbox;
        const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        const value = el('span', { class: 'legend-values' });
        const concept = l.concept;
        box.addEventListener('change', () => {
          const hidden = new Set(this.ui.hiddenConcepts);
          if (box.checked) hidden.delete(concept);
          else hidden.add(concept);
          this.ui.hiddenConcepts = [...hidden];
          this.toggled();
        });
        item = { root: el('div', { class: 'cells-legend-item' }, swatch, box, value), box, swatch, value };
        this.items.set(l.concept, item);
      }
      item.box.textContent = l.title;
      item.box.title = `${l.concept}: ${l.scoreKind === 'auc' ? 'AUC of the best cell' : '|correlation| of the best cell'}`;
      item.box.checked = !l.hidden;
      item.swatch.style.backgroundColor = `var(${l.colourVar})`;
      item.swatch.classList.toggle('dashed', l.dash.length > 0);
      item.root.classList.toggle('off', l.hidden);
      if (this.legend.children[i] !== item.root) this.legend.insertBefore(item.root, this.legend.children[i] ?? null);
    });
    if (lines.length > 0) this.legend.append(this.key);
    else this.key.remove();
  }

  /** Each concept's best cell at the cursor (mouse or keyboard), or at the latest record when there is none. */
  private renderValues(): void {
    const v = this.view;
    if (!v) return;
    const u = this.chart;
    const hovered = u && u.cursor.idx !== null && u.cursor.idx !== undefined && (u.cursor.left ?? -1) >= 0 ? u.cursor.idx : null;
    const i = hovered ?? v.records.length - 1;
    for (const l of v.lines) this.items.get(l.concept)!.value.textContent = cellReading(l.cells[i] ?? null);
  }

  private onKey(e: KeyboardEvent): void {
    const v = this.view;
    if (!v || !this.chart) return;
    if (e.key === 'Escape') {
      this.moveTo(-1);
      return;
    }
    const next = keyedIndex(this.index, v.records.length, e.key);
    if (next === null) return;
    e.preventDefault();
    this.moveTo(next);
  }

  /** Put the cursor on record `i` (-1: take it off) and announce its reading. */
  private moveTo(i: number): void {
    const v = this.view, u = this.chart;
    this.index = i;
    if (!v || !u) return;
    if (i < 0) {
      u.setCursor({ left: -10, top: -10 });
      this.announcer.textContent = '';
      return;
    }
    const shown = v.lines.findIndex((l) => !l.hidden && l.cells[i]);
    const y = shown >= 0 ? v.lines[shown].cells[i]!.score : 0.5;
    u.setCursor({ left: u.valToPos(v.x[i], 'x'), top: u.valToPos(y, 'y') });
    this.announcer.textContent = recordReading(v, i, this.ui.xAxis);
  }
}
