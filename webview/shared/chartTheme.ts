/**
 * uPlot in the editor's theme, for every LSTM Lab chart: axes in the text colour and the editor's
 * font, grid lines in the widget border colour (softened in high-contrast themes, whose borders are
 * bright, so the curves stay in front), the zoom a drag sets, kept until a double-click, and the
 * chart's size following its box.
 */
import type uPlot from 'uplot';
import { cssVar, withAlpha } from './pageElements';

/** A function making axes with a label and tick texts, in the theme as it is now. */
export function themedAxes(): (label: string, values?: uPlot.Axis.Values) => uPlot.Axis {
  const fg = cssVar('--vscode-foreground');
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const grid = withAlpha(cssVar('--vscode-editorWidget-border', '--vscode-panel-border'), highContrast ? 0.45 : 1);
  const bodyStyle = getComputedStyle(document.body);
  const font = `${bodyStyle.fontSize || '13px'} ${bodyStyle.fontFamily || 'sans-serif'}`;
  return (label, values) => ({
    stroke: fg,
    label,
    font,
    labelFont: font,
    labelSize: 20,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1, size: 4 },
    ...(values ? { values } : {}),
  });
}

/** Whether the user has zoomed a chart (a drag selected a range; a double-click zooms out again). */
export class ZoomTracking {
  zoomed = false;
  /** uPlot's setSelect hook. */
  readonly onSelect = (u: uPlot): void => {
    if (u.select.width > 0) this.zoomed = true;
  };
  /** Listen for the double-click that zooms out. */
  attach(u: uPlot): void {
    u.over.addEventListener('dblclick', () => {
      this.zoomed = false;
    });
  }
}

/** The size of a chart in `box` (at least 200 × 160 CSS pixels). */
export function chartSize(box: HTMLElement): { width: number; height: number } {
  return { width: Math.max(200, Math.floor(box.clientWidth)), height: Math.max(160, Math.floor(box.clientHeight)) };
}

/** Resize the chart `current()` returns (if any) whenever `box` changes size. */
export function followBoxSize(box: HTMLElement, current: () => uPlot | null): void {
  new ResizeObserver(() => {
    const chart = current();
    if (!chart) return;
    const size = chartSize(box);
    if (size.width !== chart.width || size.height !== chart.height) chart.setSize(size);
  }).observe(box);
}
