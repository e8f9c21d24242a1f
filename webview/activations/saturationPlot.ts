/**
 * The gate-saturation tab's plots: per layer, every gate unit's fraction of time left-saturated
 * (< 0.1, shut) against right-saturated (> 0.9, open), as in Karpathy et al. 2015, figure 3, drawn
 * on a canvas in the theme's chart colours; hover names a unit, a click shows it in the Text tab.
 */
import type { SaturationResultMessage } from '../../src/extension/protocol/activations';
import { cssVar, el } from '../shared/pageElements';
import { integratorCount, nearestPoint, type PlotPoint } from './saturationPoints';

const GATE_COLOURS: Record<string, string> = { i: '--vscode-charts-blue', f: '--vscode-charts-red', o: '--vscode-charts-green', z: '--vscode-charts-orange', r: '--vscode-charts-purple' };
const GATE_TITLES: Record<string, string> = { i: 'input gate i', f: 'forget gate f', o: 'output gate o', z: 'update gate z', r: 'reset gate r' };
const PLOT = 260;
const PAD = { left: 44, right: 10, top: 10, bottom: 38 };

const plotPoints = new Map<HTMLCanvasElement, PlotPoint[]>();

/** Draw the result into `body` (or say how to get one); a click on a unit shows that gate's cell. */
export function drawSaturationPlots(body: HTMLElement, saturation: SaturationResultMessage | null, showCell: (layer: number, cell: number, quantity: string) => void): void {
  plotPoints.clear();
  if (!saturation) {
    body.replaceChildren(el('p', { class: 'empty' }, 'Run "Show Gate Saturation" to plot, for each layer, every gate unit\'s fraction of time left-saturated (< 0.1, shut) against right-saturated (> 0.9, open) — as in Karpathy et al. 2015, figure 3. Forget-gate units near the top-left corner are integrators: they remember over long spans.'));
    return;
  }
  const s = saturation;
  const layers = [...new Set(s.clouds.map((c) => c.layer))].sort((a, b) => a - b);
  const gates = [...new Set(s.clouds.map((c) => c.gate))];
  const legendBox = el('div', { class: 'sat-legend' });
  for (const g of gates) {
    const sw = el('span', { class: 'swatch' });
    sw.style.backgroundColor = cssVar(GATE_COLOURS[g] ?? '--vscode-charts-yellow');
    legendBox.append(el('span', { class: 'sat-key' }, sw, GATE_TITLES[g] ?? g));
  }
  const readout = el('div', { class: 'sat-readout', 'aria-live': 'polite' }, 'Hover a point for its unit; click it to show that gate in the Text tab.');
  const plots = el('div', { class: 'sat-plots' });
  const fg = cssVar('--vscode-foreground');
  const grid = cssVar('--vscode-editorWidget-border', '--vscode-panel-border');
  const family = getComputedStyle(document.body).fontFamily || 'sans-serif';
  const ratio = window.devicePixelRatio || 1;
  for (const layer of layers) {
    const { canvas, points, label } = plotLayer(s, layer, fg, grid, family, ratio);
    plotPoints.set(canvas, points);
    canvas.setAttribute('aria-label', `Layer ${layer} gate saturation scatter. ${label.join('; ')}.`);
    canvas.addEventListener('mousemove', (e) => {
      const p = nearest(canvas, e);
      readout.textContent = p ? `layer ${p.layer} ${GATE_TITLES[p.gate] ?? p.gate} unit ${p.unit}: shut ${(p.left * 100).toFixed(1)}% · open ${(p.right * 100).toFixed(1)}% of the time` : '';
      canvas.classList.toggle('pointing', p !== null);
    });
    canvas.addEventListener('click', (e) => {
      const p = nearest(canvas, e);
      if (p) showCell(p.layer, p.unit, p.gate);
    });
    plots.append(el('figure', { class: 'sat-figure' }, el('figcaption', {}, `Layer ${layer}`), canvas, el('p', { class: 'muted small' }, label.join(' · '))));
  }
  body.replaceChildren(
    el('p', { class: 'muted' }, `${s.scope}: ${s.chars.toLocaleString('en-US')} characters in ${s.files} file(s). Each point is one gate unit; the dashed line is left + right = 1 (never in between).`),
    legendBox, plots, readout,
  );
}

/** One layer's scatter on a canvas: the frame, the diagonal, the axes, and a dot per gate unit. */
function plotLayer(s: SaturationResultMessage, layer: number, fg: string, grid: string, family: string, ratio: number): { canvas: HTMLCanvasElement; points: PlotPoint[]; label: string[] } {
  const canvas = el('canvas', { class: 'sat-canvas', role: 'img', tabindex: '0' });
  canvas.width = PLOT * ratio;
  canvas.height = PLOT * ratio;
  canvas.style.width = `${PLOT}px`;
  canvas.style.height = `${PLOT}px`;
  const g = canvas.getContext('2d')!;
  g.scale(ratio, ratio);
  const w = PLOT - PAD.left - PAD.right;
  const h = PLOT - PAD.top - PAD.bottom;
  const X = (v: number) => PAD.left + v * w;
  const Y = (v: number) => PAD.top + (1 - v) * h;
  g.strokeStyle = grid;
  g.lineWidth = 1;
  g.strokeRect(X(0), Y(1), w, h);
  g.setLineDash([4, 3]);
  g.beginPath();
  g.moveTo(X(0), Y(1));
  g.lineTo(X(1), Y(0));
  g.stroke();
  g.setLineDash([]);
  g.fillStyle = fg;
  g.font = `11px ${family}`;
  g.textAlign = 'center';
  for (const t of [0, 0.5, 1]) {
    g.fillText(String(t), X(t), Y(0) + 13);
    g.textAlign = 'right';
    g.fillText(String(t), X(0) - 5, Y(t) + 4);
    g.textAlign = 'center';
  }
  g.fillText('fraction left-saturated (< 0.1)', X(0.5), PLOT - 6);
  g.save();
  g.translate(11, Y(0.5));
  g.rotate(-Math.PI / 2);
  g.fillText('fraction right-saturated (> 0.9)', 0, 0);
  g.restore();
  const points: PlotPoint[] = [];
  const label: string[] = [];
  for (const c of s.clouds.filter((c) => c.layer === layer)) {
    g.fillStyle = cssVar(GATE_COLOURS[c.gate] ?? '--vscode-charts-yellow');
    g.globalAlpha = 0.75;
    for (let u = 0; u < c.units; u++) {
      const x = X(c.left[u]);
      const y = Y(c.right[u]);
      g.beginPath();
      g.arc(x, y, 2.6, 0, Math.PI * 2);
      g.fill();
      points.push({ x, y, layer, gate: c.gate, unit: u, left: c.left[u], right: c.right[u] });
    }
    g.globalAlpha = 1;
    const integrators = integratorCount(c.left, c.right);
    label.push(`${c.gate}: ${integrators} unit(s) open > 50% of the time and rarely shut`);
  }
  return { canvas, points, label };
}

function nearest(canvas: HTMLCanvasElement, e: MouseEvent): PlotPoint | null {
  const r = canvas.getBoundingClientRect();
  return nearestPoint(plotPoints.get(canvas) ?? [], e.clientX - r.left, e.clientY - r.top);
}
