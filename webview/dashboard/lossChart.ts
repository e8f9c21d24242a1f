/**
 * The loss chart, drawn with uPlot on a canvas: per shown run the training curve (and its raw
 * readings, faint, while smoothing) and the validation points, against the chosen x axis, in the
 * theme's colours. Drag to zoom, double-click to zoom out; new readings keep the zoom. The chart is
 * rebuilt when its series change and otherwise only given new data. For tests (the curves are on a
 * canvas) the box carries the number of plotted points in `data-points`.
 */
import uPlot from 'uplot';
import { metricLabel } from '../../src/analysis/trainingCurve';
import { buildCurves, chartDescription, chartKey, chartSeries, chartTables, emptyChartNote, logTicks, plottedPoints, WHOLE_INCREMENTS, type Curve, type RunStyle } from './chartModel';
import { fmtTick, fmtX, X_LABEL } from './format';
import { cssVar, el } from '../shared/pageElements';
import { chartSize, followBoxSize, themedAxes, ZoomTracking } from '../shared/chartTheme';
import type { RunData } from './runStore';
import type { UiState } from './uiState';

export class LossChart {
  readonly box = el('div', { class: 'chart', role: 'img', 'aria-label': 'Loss curves' });
  readonly emptyNote = el('p', { class: 'empty' });
  chart: uPlot | null = null;
  curves: Curve[] = [];
  private key = '';
  private readonly zoom = new ZoomTracking();

  /**
   * `readingsChanged()` runs when the legend's readings may have changed (the cursor moved, the
   * chart was drawn); `pngButton` is enabled only while there is a chart to save.
   */
  constructor(
    private readonly ui: UiState,
    private readonly runs: ReadonlyMap<string, RunData>,
    private readonly style: RunStyle,
    private readonly pngButton: HTMLElement,
    private readonly readingsChanged: () => void,
  ) {
    followBoxSize(this.box, () => this.chart);
  }

  private size(): { width: number; height: number } {
    return chartSize(this.box);
  }

  /** Ticks of the log-scale y axis (see logTicks), for the chart's height in CSS pixels. */
  private readonly logSplits = (u: uPlot, _axis: number, min: number, max: number): number[] => {
    const heightPx = (u.bbox.height || this.box.clientHeight * uPlot.pxRatio) / uPlot.pxRatio;
    return logTicks(min, max, heightPx);
  };

  private make(cs: Curve[], data: uPlot.AlignedData): uPlot {
    const ui = this.ui;
    const axis = themedAxes();
    const x = ui.xAxis;
    const opts: uPlot.Options = {
      ...this.size(),
      series: chartSeries(cs, x, ui.smoothing > 0),
      legend: { show: false },
      scales: {
        x: { time: false },
        // Log scale: fit the data instead of snapping to whole decades (losses span well under one).
        y: ui.log ? { distr: 3, log: 10, range: (_u, min, max) => (min > 0 && max > 0 ? [min / 1.08, max * 1.08] : [min, max]) } : { distr: 1 },
      },
      axes: [
        // Steps and characters are whole numbers: ticks at whole steps only (never "1 1 1 2 2 2").
        { ...axis(X_LABEL[x], (_u, splits) => splits.map((v) => fmtX(v, x))), ...(x === 'seconds' ? {} : { incrs: WHOLE_INCREMENTS }) },
        { ...axis(metricLabel(ui.metric), (_u, splits) => splits.map(fmtTick)), size: 56, ...(ui.log ? { splits: this.logSplits, filter: (_u: uPlot, splits: number[]) => splits } : {}) },
      ],
      // Hover marks a series only where it has a point near the cursor (runs end at different x).
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 }, hover: { prox: 24 } },
      hooks: {
        setCursor: [() => this.readingsChanged()],
        setSelect: [this.zoom.onSelect],
      },
    };
    const u = new uPlot(opts, data, this.box);
    this.zoom.attach(u);
    return u;
  }

  /** Draw the runs as they are now; `structure`: rebuild the chart even if its series look the same. */
  render(structure: boolean): void {
    const ui = this.ui;
    this.curves = buildCurves(this.runs, ui, this.style);
    const curves = this.curves;
    // For tests (the curves are drawn on a canvas): how many train + validation points are plotted.
    this.box.setAttribute('data-points', String(plottedPoints(curves)));
    const message = emptyChartNote(this.runs.size, curves);
    this.emptyNote.textContent = message;
    this.emptyNote.hidden = message === '';
    this.box.classList.toggle('no-data', message !== '');
    this.pngButton.toggleAttribute('disabled', message !== '');
    if (message !== '') {
      this.chart?.destroy();
      this.chart = null;
      this.key = '';
      this.readingsChanged();
      return;
    }
    const data = uPlot.join(chartTables(curves, ui.smoothing > 0));
    const key = chartKey(ui, curves);
    if (!this.chart || structure || key !== this.key) {
      this.chart?.destroy();
      this.zoom.zoomed = false;
      this.chart = this.make(curves, data);
      this.key = key;
    } else {
      this.chart.setData(data, !this.zoom.zoomed);
    }
    // The text alternative of the canvas: what it plots and each run's latest readings.
    this.box.setAttribute('aria-label', chartDescription(curves, ui));
    this.readingsChanged();
  }
}
