/**
 * The PNG export: the chart's canvas on the theme's editor background, with a title above it (what
 * it plots) and under it the legend (each run's line and model) and the key, at the canvas's pixel ratio.
 */
import type uPlot from 'uplot';
import { flowRows, pngTitle, type Curve } from './chartModel';
import { cssVar } from '../shared/pageElements';
import type { UiState } from './uiState';

/** The image as a data: URL. `label(curve)`: the legend's text for a run; `keyText`: the legend's key. */
export function chartPng(chart: uPlot, curves: readonly Curve[], label: (c: Curve) => string, ui: UiState, keyText: string): string {
  const src = chart.ctx.canvas;
  const ratio = src.width / Math.max(1, chart.width);
  const bodyStyle = getComputedStyle(document.body);
  const family = bodyStyle.fontFamily || 'sans-serif';
  const fontPx = 13 * ratio;
  const pad = 12 * ratio;
  const line = 20 * ratio;

  const measure = document.createElement('canvas').getContext('2d')!;
  measure.font = `${fontPx}px ${family}`;
  // Lay the legend entries out in rows that fit the image width.
  const entries = curves.map((c) => ({ c, text: label(c) }));
  const swatchW = 28 * ratio;
  const rows = flowRows(
    entries.map((e) => swatchW + 6 * ratio + measure.measureText(e.text).width + 18 * ratio),
    pad,
    src.width - pad,
    line,
  );
  const titleH = line + pad;
  const legendH = rows.height + line + pad;

  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = Math.ceil(titleH + src.height + legendH);
  const g = out.getContext('2d')!;
  g.fillStyle = cssVar('--vscode-editor-background', '--vscode-sideBar-background');
  g.fillRect(0, 0, out.width, out.height);
  const fg = cssVar('--vscode-foreground');
  g.fillStyle = fg;
  g.textBaseline = 'middle';
  g.font = `600 ${fontPx * 1.1}px ${family}`;
  g.fillText(pngTitle(ui), pad, pad + line / 2);
  g.drawImage(src, 0, titleH);

  const top = titleH + src.height + pad / 2;
  g.font = `${fontPx}px ${family}`;
  entries.forEach((item, i) => {
    const { x, y } = rows.at[i];
    const cy = top + y + line / 2;
    g.strokeStyle = item.c.colour;
    g.fillStyle = item.c.colour;
    g.setLineDash(item.c.dash.map((d) => d * ratio));
    g.lineWidth = 2 * ratio;
    g.beginPath();
    g.moveTo(x, cy);
    g.lineTo(x + swatchW, cy);
    g.stroke();
    g.setLineDash([]);
    g.beginPath();
    g.arc(x + swatchW / 2, cy, 3 * ratio, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = fg;
    g.fillText(item.text, x + swatchW + 6 * ratio, cy);
  });
  g.globalAlpha = 0.75;
  g.fillText(keyText, pad, top + rows.height + line / 2);
  g.globalAlpha = 1;
  return out.toDataURL('image/png');
}
