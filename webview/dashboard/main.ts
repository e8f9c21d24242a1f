/**
 * The training dashboard's front end (bundled by esbuild into dist/webview/dashboard.js + .css).
 *
 * It draws every run's training and validation loss with uPlot, beside it the selected run's cells
 * over time (the best cell's score per concept at each evaluation), lists the runs in a sortable
 * table, shows the latest generated sample of the selected run, and exports a run's curve (CSV,
 * written by the host) or the chart (PNG). Its data always comes from the host: a `runs` snapshot
 * after every `ready`, then live `progress`/`eval`/`cells`/`sample`/`runUpdated` messages. Only the
 * UI state (metric, axis, scale, smoothing, hidden runs, selection, sort, hidden concepts) is kept
 * with getState/setState, so a reload or a panel revived after a restart looks as it was left.
 *
 * Every message is checked with `isHostToDashboard`; anything else is reported back as a `log` error
 * and ignored. Colours come only from `--vscode-*` variables, so the page follows the theme.
 *
 * This file composes the page: the toolbar (toolbar.ts), the legend (legend.ts) and chart
 * (lossChart.ts, pngExport.ts), the cells-over-time chart (cellsChart.ts), the runs table
 * (runsTable.ts) and the sample (samplePane.ts), over the runs the host's messages build
 * (runStore.ts) and the saved UI state (uiState.ts); their logic that needs no DOM is in
 * chartModel.ts, cellsChartModel.ts, runColumns.ts, runColours.ts, format.ts and
 * src/analysis/trainingCurve.ts.
 */

import 'uplot/dist/uPlot.min.css';
import '../shared/page.css';
import './dashboard.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';

import { describeRejected } from '../../src/extension/protocol/validation';
import { isHostToDashboard, type DashboardToHost, type HostToDashboard } from '../../src/extension/protocol/dashboard';
import { connectToHost } from '../shared/hostBridge';
import { CellsChart } from './cellsChart';
import { modelText } from './format';
import { Legend } from './legend';
import { LossChart } from './lossChart';
import { cssVar, el } from '../shared/pageElements';
import { chartPng } from './pngExport';
import { RunColours } from './runColours';
import { RunsTable } from './runsTable';
import { RunStore } from './runStore';
import { SamplePane } from './samplePane';
import { buildToolbar } from './toolbar';
import { restoreState } from './uiState';

// ---------------------------------------------------------------------------------------------
// Host bridge, UI state (persisted) and run data (from the host; rebuilt after every reload)

const host = connectToHost<DashboardToHost>('dashboard', (level, message) => ({ type: 'log', level, message }));
const post = host.post;
const reportError = host.reportError;

const ui = restoreState(host.getState());
const saveState = (): void => host.setState(ui);

const store = new RunStore();
const runs = store.runs;
const colours = new RunColours(runs);

function onMessage(m: HostToDashboard): void {
  const { structure, uiChanged } = store.receive(m, ui);
  if (uiChanged) saveState();
  scheduleRender({ structure });
}

// ---------------------------------------------------------------------------------------------
// Layout

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));

const { toolbar, pngButton } = buildToolbar(
  ui,
  (structure) => {
    saveState();
    scheduleRender({ structure });
  },
  () => exportPng(),
);
app.append(toolbar);

const legend = new Legend(ui, runs, colours, () => {
  saveState();
  scheduleRender({ structure: true });
});
const lossChart = new LossChart(ui, runs, (id) => ({ colour: cssVar(colours.colourVar(id)), dash: colours.dashOf(id) }), pngButton, () =>
  legend.renderValues(lossChart.chart, lossChart.curves, ui.xAxis),
);
const cellsChart = new CellsChart(ui, runs, () => {
  saveState();
  scheduleRender({ structure: false });
});
// Side by side where the page is wide enough, the cells below the losses where it is not.
app.append(el('div', { class: 'charts' }, el('section', { class: 'chart-section', 'aria-label': 'Loss curves' }, legend.element, lossChart.box, lossChart.emptyNote), cellsChart.section));

const table = new RunsTable(ui, runs, colours, {
  saveState,
  select: (runId) => selectRun(runId),
  openFolder: (runId) => post({ type: 'openRunFolder', runId }),
});
app.append(table.section);

const sample = new SamplePane(() => ui.selected, {
  exportCsv: (runId) => post({ type: 'exportCsv', runId }),
  openFolder: (runId) => post({ type: 'openRunFolder', runId }),
});
app.append(sample.section);

const renderSample = (): void => sample.render(ui.selected ? runs.get(ui.selected) : undefined);

function selectRun(runId: string): void {
  if (ui.selected === runId) return;
  ui.selected = runId;
  saveState();
  table.render();
  renderSample();
  cellsChart.render(false);
}

function exportPng(): void {
  const chart = lossChart.chart;
  if (!chart) {
    post({ type: 'log', level: 'info', message: 'dashboard: nothing to save: the chart is empty' });
    return;
  }
  const label = (c: { runId: string }): string => `${c.runId} · ${modelText(runs.get(c.runId)!.summary)}`;
  post({ type: 'savePng', dataUrl: chartPng(chart, lossChart.curves, label, ui, legend.keyText) });
}

// ---------------------------------------------------------------------------------------------
// Rendering, coalesced to one frame

let pendingStructure = false;
let frame = 0;

function scheduleRender(opts: { structure: boolean }): void {
  pendingStructure ||= opts.structure;
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const structure = pendingStructure;
    pendingStructure = false;
    try {
      legend.render();
      table.render();
      renderSample();
      lossChart.render(structure);
      cellsChart.render(structure);
    } catch (e) {
      reportError(`render failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  });
}

// The theme changes the body's class and the variables on <html>: redraw with the new colours.
const themeObserver = new MutationObserver(() => scheduleRender({ structure: true }));
themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class'] });
themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const m = event.data;
  if (!isHostToDashboard(m)) {
    reportError(describeRejected(m));
    return;
  }
  onMessage(m);
});

window.addEventListener('error', (e) => reportError(`${e.message} (${e.filename}:${e.lineno})`));
window.addEventListener('unhandledrejection', (e) => reportError(`unhandled rejection: ${String(e.reason)}`));

scheduleRender({ structure: true });
post({ type: 'ready' });
