/**
 * The experiments panel's line charts, drawn with uPlot on a canvas in the theme's colours: a set of
 * series over one x axis (steps, distances, lags), optionally on a log y scale, with dashed series
 * for references (the n-gram levels, the LSTM's cell-state norms). Each chart carries what it plots
 * as text (aria-label, and `data-series` / `data-points` / `data-drawn` for tests), since a canvas has none.
 */
import uPlot from 'uplot';
import { themedAxes } from '../shared/chartTheme';
import { cssVar, el } from '../shared/pageElements';

export interface LineSeries {
  label: string;
  /** One value per x (null where the series has none). */
  values: (number | null)[];
  /** A theme variable for the colour (--vscode-charts-…). */
  colourVar: string;
  dash?: boolean;
  /** Draw points only (no line). */
  pointsOnly?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: LineSeries[];
  log?: boolean;
  /** Text of an x tick (default: the number). */
  xTick?: (v: number) => string;
  /** The chart's text alternative (what a screen reader hears). */
  description: string;
}

export const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];

/** A tick's text; uPlot passes null for the ticks of a log axis it leaves unlabelled. */
const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? '' : Math.abs(v) >= 1000 ? v.toLocaleString('en-US') : Math.abs(v) >= 0.01 || v === 0 ? String(+v.toPrecision(3)) : v.toExponential(0));

/** A chart in a figure with its title and a key; it resizes with its box. */
export function lineChart(spec: LineChartSpec): HTMLElement {
  // Focusable, so the keyboard reaches the chart and a screen reader reads its figures (aria-label).
  const box = el('div', { class: 'chart-box', role: 'img', tabindex: '0', 'aria-label': spec.description });
  const points = spec.series.reduce((n, s) => n + s.values.filter((v) => v !== null && Number.isFinite(v)).length, 0);
  box.setAttribute('data-series', String(spec.series.length));
  box.setAttribute('data-points', String(points));
  const key = el('ul', { class: 'chart-key', 'aria-hidden': 'true' });
  for (const s of spec.series) {
    const swatch = el('span', { class: `swatch${s.dash ? ' dashed' : ''}` });
    swatch.style.borderColor = cssVar(s.colourVar);
    key.append(el('li', {}, swatch, s.label));
  }
  const figure = el('figure', { class: 'chart' }, el('figcaption', {}, spec.title), box, key);
  let chart: uPlot | null = null;
  const draw = () => {
    const width = Math.max(220, Math.floor(box.clientWidth));
    const height = Math.max(160, Math.floor(box.clientHeight));
    if (chart) {
      if (chart.width !== width || chart.height !== height) chart.setSize({ width, height });
      return;
    }
    if (!box.isConnected || box.clientWidth === 0) return;
    const axis = themedAxes();
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: false },
      scales: { x: { time: false }, y: spec.log ? { distr: 3, log: 10 } : { distr: 1 } },
      series: [
        {},
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.colourVar),
          width: 2,
          dash: s.dash ? [6, 4] : undefined,
          spanGaps: true,
          ...(s.pointsOnly ? { paths: () => null, points: { show: true, size: 7 } } : { points: { show: spec.x.length <= 24 } }),
        })),
      ],
      axes: [axis(spec.xLabel, (_u, splits) => splits.map((v) => (v === null ? '' : spec.xTick ? spec.xTick(v) : fmt(v)))), { ...axis(spec.yLabel, (_u, splits) => splits.map(fmt)), size: 60 }],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 } },
    };
    const data = [spec.x, ...spec.series.map((s) => s.values.map((v) => (v !== null && Number.isFinite(v) && (!spec.log || v > 0) ? v : null)))] as uPlot.AlignedData;
    chart = new uPlot(opts, data, box);
    // For tests: the canvas was drawn (a failure to draw is reported to the host's log instead).
    box.setAttribute('data-drawn', 'true');
  };
  new ResizeObserver(draw).observe(box);
  return figure;
}
