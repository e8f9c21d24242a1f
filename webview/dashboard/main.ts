/**
 * The training dashboard's front end (bundled by esbuild into dist/webview/dashboard.js + .css).
 *
 * It draws every run's training and validation loss with uPlot, lists the runs in a sortable table,
 * shows the latest generated sample of the selected run, and exports a run's curve (CSV, written by
 * the host) or the chart (PNG). Its data always comes from the host: a `runs` snapshot after every
 * `ready`, then live `progress`/`eval`/`sample`/`runUpdated` messages. Only the UI state (metric, axis,
 * scale, smoothing, hidden runs, selection, sort) is kept with getState/setState, so a reload or a
 * panel revived after a restart looks as it was left.
 *
 * Every message is checked with `isHostToDashboard`; anything else is reported back as a `log` error
 * and ignored. Colours come only from `--vscode-*` variables, so the page follows the theme.
 */

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import '../shared/page.css';
import './dashboard.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/index.js';

import { type EvalPoint, type ProgressPoint, type RunSummary } from '../../src/extension/protocol/runs';
import { describeRejected } from '../../src/extension/protocol/validation';
import { isHostToDashboard, type DashboardToHost, type HostToDashboard, type Metric, type XAxis } from '../../src/extension/protocol/dashboard';
import { mergeCurve, metricLabel, smooth, thin, toMetric } from '../../src/analysis/trainingCurve';
import { shortBackend } from './backendLabel';
import { connectToHost } from '../shared/hostBridge';

// ---------------------------------------------------------------------------------------------
// Host bridge

const host = connectToHost<DashboardToHost>('dashboard', (level, message) => ({ type: 'log', level, message }));
const post = host.post;
const reportError = host.reportError;

// ---------------------------------------------------------------------------------------------
// UI state (persisted)

type SortKey = 'run' | 'model' | 'parameters' | 'backend' | 'charsPerSec' | 'learningRate' | 'bestVal' | 'status' | 'duration' | 'started';

interface UiState {
  metric: Metric;
  xAxis: XAxis;
  log: boolean;
  /** EMA weight of the past on the training curve, 0–0.99. */
  smoothing: number;
  hidden: string[];
  selected: string | null;
  sort: { key: SortKey; dir: 1 | -1 };
}

const METRICS: readonly Metric[] = ['nats', 'bits', 'perplexity'];
const X_AXES: readonly XAxis[] = ['step', 'chars', 'seconds'];
const SORT_KEYS: readonly SortKey[] = ['run', 'model', 'parameters', 'backend', 'charsPerSec', 'learningRate', 'bestVal', 'status', 'duration', 'started'];

function restoreState(raw: unknown): UiState {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const sort = (typeof s.sort === 'object' && s.sort !== null ? s.sort : {}) as Record<string, unknown>;
  const smoothing = typeof s.smoothing === 'number' && Number.isFinite(s.smoothing) ? Math.min(Math.max(s.smoothing, 0), 0.99) : 0.6;
  return {
    metric: METRICS.includes(s.metric as Metric) ? (s.metric as Metric) : 'nats',
    xAxis: X_AXES.includes(s.xAxis as XAxis) ? (s.xAxis as XAxis) : 'step',
    log: s.log === true,
    smoothing,
    hidden: Array.isArray(s.hidden) ? s.hidden.filter((x): x is string => typeof x === 'string') : [],
    selected: typeof s.selected === 'string' ? s.selected : null,
    sort: {
      key: SORT_KEYS.includes(sort.key as SortKey) ? (sort.key as SortKey) : 'started',
      dir: sort.dir === 1 ? 1 : -1,
    },
  };
}

const ui: UiState = restoreState(host.getState());
const saveState = (): void => host.setState(ui);

// ---------------------------------------------------------------------------------------------
// Run data (from the host; rebuilt after every reload)

interface RunData {
  summary: RunSummary;
  /** Ascending by step, one per step. */
  evals: EvalPoint[];
  /** Live training readings since this page loaded (or replayed by the host), ascending by step. */
  progress: ProgressPoint[];
  fraction: number | null;
  sample: { step: number | null; text: string } | null;
}

/** Past this many live readings per run the older half is thinned, so a long run stays light. */
const MAX_PROGRESS = 4000;

const runs = new Map<string, RunData>();
/** Messages for a run the page has not heard of yet (it may arrive in the next `runs`/`runUpdated`). */
const pending = new Map<string, HostToDashboard[]>();
let activeRunId: string | null = null;

/** Insert or replace `p` in `points` (ascending by step). The common case — a newer step — is an append. */
function upsertByStep<T extends { step: number }>(points: T[], p: T): void {
  const n = points.length;
  if (n === 0 || points[n - 1].step < p.step) {
    points.push(p);
    return;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].step < p.step) lo = mid + 1;
    else hi = mid;
  }
  if (points[lo]?.step === p.step) points[lo] = p;
  else points.splice(lo, 0, p);
}

function adoptSummary(summary: RunSummary): RunData {
  let run = runs.get(summary.runId);
  if (!run) {
    run = { summary, evals: [], progress: [], fraction: null, sample: null };
    runs.set(summary.runId, run);
  } else {
    // Keep live figures that may be newer than the snapshot.
    const old = run.summary;
    if (summary.status === 'running' && old.step > summary.step) {
      summary = { ...summary, step: old.step, charsPerSec: old.charsPerSec, learningRate: old.learningRate, durationSeconds: Math.max(summary.durationSeconds, old.durationSeconds) };
    }
    run.summary = summary;
  }
  if (summary.status !== 'running') run.fraction = null;
  for (const e of summary.evals) upsertByStep(run.evals, e);
  if (!run.sample && summary.lastSample) run.sample = { step: null, text: summary.lastSample };
  const waiting = pending.get(summary.runId);
  if (waiting) {
    pending.delete(summary.runId);
    for (const m of waiting) applyLive(m);
  }
  return run;
}

function applyLive(m: HostToDashboard): void {
  if (m.type === 'runs' || m.type === 'runUpdated') return;
  const run = runs.get(m.runId);
  if (!run) {
    const list = pending.get(m.runId) ?? [];
    list.push(m);
    thin(list, MAX_PROGRESS);
    pending.set(m.runId, list);
    return;
  }
  const s = run.summary;
  switch (m.type) {
    case 'progress':
      upsertByStep(run.progress, m.point);
      thin(run.progress, MAX_PROGRESS);
      s.step = Math.max(s.step, m.point.step);
      // Readings replayed for a run that has since ended must not overwrite its final figures.
      if (s.status === 'running') {
        s.charsPerSec = m.charsPerSec;
        s.learningRate = m.point.learningRate;
        s.durationSeconds = Math.max(s.durationSeconds, m.point.seconds);
        run.fraction = m.fraction;
      }
      break;
    case 'eval':
      upsertByStep(run.evals, m.point);
      s.step = Math.max(s.step, m.point.step);
      if (Number.isFinite(m.point.valLoss) && (s.bestValLoss === null || m.point.valLoss < s.bestValLoss)) s.bestValLoss = m.point.valLoss;
      break;
    case 'sample':
      if (!run.sample || run.sample.step === null || m.step >= run.sample.step) run.sample = { step: m.step, text: m.text };
      break;
  }
}

function onMessage(m: HostToDashboard): void {
  switch (m.type) {
    case 'runs': {
      const keep = new Set(m.runs.map((r) => r.runId));
      for (const id of [...runs.keys()]) if (!keep.has(id)) runs.delete(id);
      for (const r of m.runs) adoptSummary(r);
      activeRunId = m.activeRunId;
      if (ui.selected === null || !runs.has(ui.selected)) {
        ui.selected = activeRunId !== null && runs.has(activeRunId) ? activeRunId : (m.runs[m.runs.length - 1]?.runId ?? null);
        saveState();
      }
      scheduleRender({ structure: true });
      break;
    }
    case 'runUpdated': {
      const isNew = !runs.has(m.run.runId);
      adoptSummary(m.run);
      if (ui.selected === null) {
        ui.selected = m.run.runId;
        saveState();
      }
      scheduleRender({ structure: isNew });
      break;
    }
    default:
      applyLive(m);
      scheduleRender({ structure: false });
  }
}

// ---------------------------------------------------------------------------------------------
// Colours: one per run, from the theme's chart palette (defined by VS Code for light, dark and
// high-contrast themes). Runs past the sixth reuse a colour with a dash pattern.

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const DASHES: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3]];
const colourSlot = new Map<string, number>();

function slotOf(runId: string): number {
  let slot = colourSlot.get(runId);
  if (slot === undefined) {
    const used = new Set([...colourSlot.entries()].filter(([id]) => runs.has(id)).map(([, s]) => s));
    slot = 0;
    while (used.has(slot)) slot++;
    colourSlot.set(runId, slot);
  }
  return slot;
}
const colourVar = (runId: string): string => PALETTE[slotOf(runId) % PALETTE.length];
const dashOf = (runId: string): number[] => DASHES[Math.floor(slotOf(runId) / PALETTE.length) % DASHES.length];

function cssVar(name: string, fallbackVar = '--vscode-foreground'): string {
  const style = getComputedStyle(document.documentElement);
  return style.getPropertyValue(name).trim() || style.getPropertyValue(fallbackVar).trim() || getComputedStyle(document.body).color;
}

/** A CSS colour with an opacity, for the canvas (which cannot read CSS variables). */
function withAlpha(colour: string, alpha: number): string {
  if (alpha >= 1) return colour;
  const g = document.createElement('canvas').getContext('2d');
  if (!g) return colour;
  g.fillStyle = colour;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(g.fillStyle));
  return hex ? `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${alpha})` : colour;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const compact2 = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
const grouped = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(sec).padStart(2, '0')}s`;
}

function fmtClock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.abs(s % 60);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

function fmtLoss(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return '∞';
  const a = Math.abs(v);
  return a >= 1000 ? compact2.format(v) : a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}

/** An axis tick: as short as the value allows (uPlot picks round ticks). */
function fmtTick(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  return Math.abs(v) >= 10000 ? compact.format(v) : String(Number(v.toPrecision(6)));
}

function fmtX(v: number, axis: XAxis): string {
  if (axis === 'seconds') return fmtClock(v);
  return Math.abs(v) >= 10000 ? compact.format(v) : grouped.format(v);
}

function fmtStarted(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // Today's runs by time only; the full date and time are the cell's tooltip.
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(undefined, { timeStyle: 'short' }) : d.toLocaleDateString(undefined, { dateStyle: 'short' });
}

const modelText = (r: RunSummary): string => `${r.model.kind} ${r.model.layers}×${r.model.hidden}`;
const X_LABEL: Record<XAxis, string> = { step: 'step', chars: 'characters seen', seconds: 'wall time (m:ss)' };
const bestInMetric = (r: RunSummary): number | null => (r.bestValLoss === null ? null : toMetric(r.bestValLoss, ui.metric));

// ---------------------------------------------------------------------------------------------
// DOM helpers (no inline styles or scripts: the page runs under a strict CSP)

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function select<T extends string>(label: string, values: readonly T[], labels: Record<T, string>, current: T, onChange: (v: T) => void): HTMLElement {
  const sel = document.createElement('vscode-single-select') as VscodeSingleSelect;
  sel.setAttribute('aria-label', label);
  for (const v of values) {
    const opt = el('vscode-option', { value: v }, labels[v]);
    if (v === current) opt.setAttribute('selected', '');
    sel.append(opt);
  }
  sel.addEventListener('change', () => {
    const v = sel.value as T;
    if (values.includes(v)) onChange(v);
  });
  return el('label', { class: 'field' }, el('span', { class: 'field-label' }, label), sel);
}

// ---------------------------------------------------------------------------------------------
// Layout

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));

const metricSelect = select('Metric', METRICS, { nats: 'nats / char', bits: 'bits / char', perplexity: 'perplexity' }, ui.metric, (v) => {
  ui.metric = v;
  saveState();
  scheduleRender({ structure: true });
});
const xSelect = select('X axis', X_AXES, { step: 'steps', chars: 'characters seen', seconds: 'wall time' }, ui.xAxis, (v) => {
  ui.xAxis = v;
  saveState();
  scheduleRender({ structure: true });
});

const logBox = document.createElement('vscode-checkbox') as VscodeCheckbox;
logBox.textContent = 'Log scale';
logBox.checked = ui.log;
logBox.addEventListener('change', () => {
  ui.log = logBox.checked;
  saveState();
  scheduleRender({ structure: true });
});

const smoothInput = el('input', { type: 'range', min: '0', max: '0.99', step: '0.01', id: 'smoothing', 'aria-describedby': 'smoothing-value' });
smoothInput.value = String(ui.smoothing);
const smoothOut = el('output', { id: 'smoothing-value', for: 'smoothing' }, ui.smoothing.toFixed(2));
smoothInput.addEventListener('input', () => {
  const v = Number(smoothInput.value);
  const hadRaw = ui.smoothing > 0;
  ui.smoothing = Number.isFinite(v) ? Math.min(Math.max(v, 0), 0.99) : 0;
  smoothOut.value = ui.smoothing.toFixed(2);
  saveState();
  // The faint raw curve appears only while smoothing, so toggling it changes the series.
  scheduleRender({ structure: hadRaw !== ui.smoothing > 0 });
});

const pngButton = el('vscode-button', { secondary: '', title: 'Save the chart with its legend as a PNG image' }, 'Save chart as PNG');
pngButton.addEventListener('click', () => exportPng());

app.append(
  el(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Chart options' },
    metricSelect,
    xSelect,
    logBox,
    el('label', { class: 'field smoothing', for: 'smoothing' }, el('span', { class: 'field-label' }, 'Smoothing'), smoothInput, smoothOut),
    el('span', { class: 'spacer' }),
    pngButton,
  ),
);

const legend = el('div', { class: 'legend', role: 'group', 'aria-label': 'Runs shown in the chart' });
const chartBox = el('div', { class: 'chart', role: 'img', 'aria-label': 'Loss curves' });
const chartEmpty = el('p', { class: 'empty' });
app.append(el('section', { class: 'chart-section', 'aria-label': 'Loss curves' }, legend, chartBox, chartEmpty));

const tableHead = el('tr');
const tableBody = el('tbody');
const table = el('table', { class: 'runs' }, el('caption', {}, 'Runs'), el('thead', {}, tableHead), tableBody);
app.append(el('section', { class: 'runs-section' }, el('div', { class: 'table-wrap' }, table)));

const sampleTitle = el('h2', {}, 'Sample');
const sampleMeta = el('span', { class: 'sample-meta' });
const sampleText = el('pre', { class: 'sample', tabindex: '0', 'aria-label': 'Latest generated sample' });
const csvButton = el('vscode-button', { title: "Save the selected run's curve as CSV" }, 'Export CSV');
const folderButton = el('vscode-button', { secondary: '', title: "Open the selected run's folder" }, 'Open run folder');
csvButton.addEventListener('click', () => {
  if (ui.selected) post({ type: 'exportCsv', runId: ui.selected });
});
folderButton.addEventListener('click', () => {
  if (ui.selected) post({ type: 'openRunFolder', runId: ui.selected });
});
app.append(
  el(
    'section',
    { class: 'sample-section', 'aria-label': 'Selected run' },
    el('div', { class: 'sample-head' }, sampleTitle, sampleMeta, el('span', { class: 'spacer' }), csvButton, folderButton),
    sampleText,
  ),
);

// ---------------------------------------------------------------------------------------------
// Runs table

interface Column {
  key: SortKey;
  title: () => string;
  numeric: boolean;
  cell: (r: RunData) => string;
  /** The cell's tooltip, when the cell shows less than there is. */
  tooltip?: (r: RunData) => string;
  compare: (a: RunSummary, b: RunSummary) => number;
}

const cmpNum = (a: number, b: number): number => a - b;
const COLUMNS: Column[] = [
  { key: 'run', title: () => 'Run', numeric: false, cell: (r) => r.summary.runId, compare: (a, b) => a.runId.localeCompare(b.runId) },
  {
    key: 'model',
    title: () => 'Model',
    numeric: false,
    cell: (r) => modelText(r.summary),
    compare: (a, b) => a.model.kind.localeCompare(b.model.kind) || cmpNum(a.model.layers, b.model.layers) || cmpNum(a.model.hidden, b.model.hidden),
  },
  { key: 'parameters', title: () => 'Parameters', numeric: true, cell: (r) => compact2.format(r.summary.parameters), compare: (a, b) => cmpNum(a.parameters, b.parameters) },
  { key: 'backend', title: () => 'Backend', numeric: false, cell: (r) => shortBackend(r.summary.backend), tooltip: (r) => r.summary.backend, compare: (a, b) => a.backend.localeCompare(b.backend) },
  { key: 'charsPerSec', title: () => 'Chars/s', numeric: true, cell: (r) => grouped.format(r.summary.charsPerSec), compare: (a, b) => cmpNum(a.charsPerSec, b.charsPerSec) },
  {
    key: 'learningRate',
    title: () => 'LR',
    numeric: true,
    // The schedule decays it over the run's budget: the latest value, live while training.
    cell: (r) => (r.summary.learningRate === null ? '–' : r.summary.learningRate.toExponential(1)),
    compare: (a, b) => cmpNum(a.learningRate ?? 0, b.learningRate ?? 0),
  },
  {
    key: 'bestVal',
    title: () => `Best val (${metricLabel(ui.metric)})`,
    numeric: true,
    cell: (r) => fmtLoss(bestInMetric(r.summary)),
    // Runs without a validation loss sort after all others, whichever the direction (see sortedRuns).
    compare: (a, b) => cmpNum(a.bestValLoss ?? 0, b.bestValLoss ?? 0),
  },
  {
    key: 'status',
    title: () => 'Status',
    numeric: false,
    cell: (r) => (r.summary.status === 'running' && r.fraction !== null ? `running ${Math.round(r.fraction * 100)}%` : r.summary.status),
    compare: (a, b) => a.status.localeCompare(b.status),
  },
  { key: 'duration', title: () => 'Duration', numeric: true, cell: (r) => fmtDuration(r.summary.durationSeconds), compare: (a, b) => cmpNum(a.durationSeconds, b.durationSeconds) },
  { key: 'started', title: () => 'Started', numeric: false, cell: (r) => fmtStarted(r.summary.startedAt), tooltip: (r) => new Date(r.summary.startedAt).toLocaleString(), compare: (a, b) => cmpNum(Date.parse(a.startedAt) || 0, Date.parse(b.startedAt) || 0) || a.startedAt.localeCompare(b.startedAt) },
];

function sortedRuns(): RunData[] {
  const col = COLUMNS.find((c) => c.key === ui.sort.key) ?? COLUMNS[COLUMNS.length - 1];
  const list = [...runs.values()];
  return list.sort((x, y) => {
    if (col.key === 'bestVal') {
      const nx = x.summary.bestValLoss === null;
      const ny = y.summary.bestValLoss === null;
      if (nx !== ny) return nx ? 1 : -1;
    }
    return ui.sort.dir * col.compare(x.summary, y.summary) || x.summary.runId.localeCompare(y.summary.runId);
  });
}

const headerButtons = new Map<SortKey, { th: HTMLTableCellElement; button: HTMLButtonElement }>();
for (const col of COLUMNS) {
  const button = el('button', { type: 'button', class: 'sort' });
  button.addEventListener('click', () => {
    ui.sort = ui.sort.key === col.key ? { key: col.key, dir: ui.sort.dir === 1 ? -1 : 1 } : { key: col.key, dir: col.numeric || col.key === 'started' ? -1 : 1 };
    saveState();
    renderTable();
  });
  const th = el('th', { scope: 'col', class: col.numeric ? 'num' : '' }, button);
  headerButtons.set(col.key, { th, button });
  tableHead.append(th);
}

interface Row {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
  name: HTMLButtonElement;
  swatch: HTMLSpanElement;
}
const rows = new Map<string, Row>();

function selectRun(runId: string): void {
  if (ui.selected === runId) return;
  ui.selected = runId;
  saveState();
  renderTable();
  renderSample();
}

function makeRow(runId: string): Row {
  const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
  const name = el('button', { type: 'button', class: 'run-name', title: 'Select this run (sample, CSV export)' });
  const cells = COLUMNS.map((c, i) => el('td', { class: c.numeric ? 'num' : '' }, ...(i === 0 ? [swatch, name] : [])));
  const tr = el('tr', {}, ...cells);
  name.addEventListener('click', () => selectRun(runId));
  tr.addEventListener('click', (e) => {
    if (e.target !== name) selectRun(runId);
  });
  tr.addEventListener('dblclick', () => post({ type: 'openRunFolder', runId }));
  return { tr, cells, name, swatch };
}

function renderTable(): void {
  for (const col of COLUMNS) {
    const h = headerButtons.get(col.key)!;
    h.button.textContent = col.title();
    if (ui.sort.key === col.key) h.th.setAttribute('aria-sort', ui.sort.dir === 1 ? 'ascending' : 'descending');
    else h.th.removeAttribute('aria-sort');
  }
  const list = sortedRuns();
  for (const [id, row] of rows) {
    if (!runs.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  list.forEach((run, i) => {
    const id = run.summary.runId;
    let row = rows.get(id);
    if (!row) {
      row = makeRow(id);
      rows.set(id, row);
    }
    row.name.textContent = id;
    row.name.title = `${id}: select this run (sample, CSV export)`;
    row.swatch.style.backgroundColor = `var(${colourVar(id)})`;
    COLUMNS.forEach((c, ci) => {
      if (ci === 0) return;
      row!.cells[ci].textContent = c.cell(run);
      if (c.tooltip) row!.cells[ci].title = c.tooltip(run);
    });
    const selected = ui.selected === id;
    row.tr.classList.toggle('selected', selected);
    row.tr.classList.toggle('hidden-run', ui.hidden.includes(id));
    row.name.setAttribute('aria-pressed', String(selected));
    // Move rows only when the order changed, so a focused button keeps its focus.
    if (tableBody.children[i] !== row.tr) tableBody.insertBefore(row.tr, tableBody.children[i] ?? null);
  });
  if (list.length === 0 && tableBody.children.length === 0) tableBody.append(emptyRow);
  else if (list.length > 0) emptyRow.remove();
}
const emptyRow = el('tr', { class: 'empty-row' }, el('td', { colspan: String(COLUMNS.length) }, 'No runs yet. Start one with “LSTM Lab: Train on Workspace”.'));

// ---------------------------------------------------------------------------------------------
// Sample

function renderSample(): void {
  const run = ui.selected ? runs.get(ui.selected) : undefined;
  csvButton.toggleAttribute('disabled', !run);
  folderButton.toggleAttribute('disabled', !run);
  if (!run) {
    sampleMeta.textContent = '';
    sampleText.textContent = 'Select a run in the table.';
    sampleText.classList.add('placeholder');
    return;
  }
  const s = run.sample;
  sampleMeta.textContent = s ? `${run.summary.runId} · ${s.step === null ? 'latest saved' : `step ${grouped.format(s.step)}`}` : run.summary.runId;
  sampleText.textContent = s ? s.text : 'No sample yet: one is generated at each evaluation.';
  sampleText.classList.toggle('placeholder', !s);
}

// ---------------------------------------------------------------------------------------------
// Legend: one toggle per run, with the values under the cursor (or the latest ones)

interface LegendItem {
  root: HTMLDivElement;
  box: VscodeCheckbox;
  swatch: HTMLSpanElement;
  values: HTMLSpanElement;
}
const legendItems = new Map<string, LegendItem>();

function renderLegend(): void {
  for (const [id, item] of legendItems) {
    if (!runs.has(id)) {
      item.root.remove();
      legendItems.delete(id);
    }
  }
  [...runs.keys()].forEach((id, i) => {
    let item = legendItems.get(id);
    if (!item) {
      const box = document.createElement('vscode-checkbox') as VscodeCheckbox;
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      const values = el('span', { class: 'legend-values' });
      box.addEventListener('change', () => {
        const hidden = new Set(ui.hidden);
        if (box.checked) hidden.delete(id);
        else hidden.add(id);
        ui.hidden = [...hidden];
        saveState();
        scheduleRender({ structure: true });
      });
      item = { root: el('div', { class: 'legend-item' }, swatch, box, values), box, swatch, values };
      legendItems.set(id, item);
    }
    const run = runs.get(id)!;
    item.box.textContent = `${id} · ${modelText(run.summary)}`;
    item.box.checked = !ui.hidden.includes(id);
    item.swatch.style.backgroundColor = `var(${colourVar(id)})`;
    item.swatch.classList.toggle('dashed', dashOf(id).length > 0);
    item.root.classList.toggle('off', ui.hidden.includes(id));
    if (legend.children[i] !== item.root) legend.insertBefore(item.root, legend.children[i] ?? null);
  });
  if (runs.size > 0) legend.append(legendKey);
  else legendKey.remove();
}
const legendKey = el('span', { class: 'legend-key' }, 'thin line: training · line with dots: validation');

// ---------------------------------------------------------------------------------------------
// Chart

interface Curve {
  runId: string;
  colour: string;
  dash: number[];
  trainX: number[];
  trainRaw: (number | null)[];
  train: (number | null)[];
  valX: number[];
  val: (number | null)[];
  /** Series index of the run's first series in the chart. */
  firstSeries: number;
}

let chart: uPlot | null = null;
let chartKey = '';
let curves: Curve[] = [];
let zoomed = false;

/** Sort parallel arrays by x and keep the last of equal xs (uPlot.join needs unique ascending x). */
function alignByX(xs: number[], ...ys: (number | null)[][]): [number[], ...(number | null)[][]] {
  let sorted = true;
  for (let i = 1; i < xs.length && sorted; i++) sorted = xs[i] > xs[i - 1];
  if (sorted) return [xs, ...ys];
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const outX: number[] = [];
  const outY = ys.map(() => [] as (number | null)[]);
  for (const i of order) {
    if (outX.length > 0 && outX[outX.length - 1] === xs[i]) {
      ys.forEach((y, k) => (outY[k][outY[k].length - 1] = y[i]));
    } else {
      outX.push(xs[i]);
      ys.forEach((y, k) => outY[k].push(y[i]));
    }
  }
  return [outX, ...outY];
}

function buildCurves(): Curve[] {
  const shown = (v: number): number | null => (Number.isFinite(v) && (!ui.log || v > 0) ? v : null);
  const xOf = (p: { step: number; chars: number; seconds: number }): number => p[ui.xAxis];
  const withRaw = ui.smoothing > 0;
  const out: Curve[] = [];
  let series = 1;
  for (const [id, run] of runs) {
    if (ui.hidden.includes(id)) continue;
    const rows = mergeCurve(run.evals, run.progress).filter((r) => Number.isFinite(xOf(r)));
    const nats = rows.map((r) => r.trainLoss);
    const smoothed = smooth(nats, ui.smoothing);
    const [trainX, trainRaw, train] = alignByX(
      rows.map(xOf),
      nats.map((v) => shown(toMetric(v, ui.metric))),
      smoothed.map((v) => shown(toMetric(v, ui.metric))),
    );
    const evals = run.evals.filter((e) => Number.isFinite(xOf(e)));
    const [valX, val] = alignByX(evals.map(xOf), evals.map((e) => shown(toMetric(e.valLoss, ui.metric))));
    out.push({ runId: id, colour: cssVar(colourVar(id)), dash: dashOf(id), trainX, trainRaw, train, valX, val, firstSeries: series });
    series += withRaw ? 3 : 2;
  }
  return out;
}

function chartData(cs: Curve[]): uPlot.AlignedData {
  const withRaw = ui.smoothing > 0;
  const tables: uPlot.AlignedData[] = [];
  for (const c of cs) {
    if (withRaw) tables.push([c.trainX, c.trainRaw]);
    tables.push([c.trainX, c.train]);
    tables.push([c.valX, c.val]);
  }
  return uPlot.join(tables);
}

function chartSize(): { width: number; height: number } {
  return { width: Math.max(200, Math.floor(chartBox.clientWidth)), height: Math.max(160, Math.floor(chartBox.clientHeight)) };
}

/**
 * Ticks of the log-scale y axis. The range fits the data (often less than a decade), where uPlot's
 * own log ticks (powers of ten) would leave it almost bare: take the densest of a few sets of round
 * mantissas whose ticks stay at least 28 px apart.
 */
function logSplits(u: uPlot, _axis: number, min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return [];
  const heightPx = (u.bbox.height || chartBox.clientHeight * uPlot.pxRatio) / uPlot.pxRatio;
  const span = Math.log(max) - Math.log(min);
  const levels = [[1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 5, 7], [1, 2, 5], [1]];
  let best: number[] = [];
  for (const mantissas of levels) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(6));
        if (v >= min && v <= max) ticks.push(v);
      }
    }
    let gap = Infinity;
    for (let i = 1; i < ticks.length; i++) gap = Math.min(gap, ((Math.log(ticks[i]) - Math.log(ticks[i - 1])) / span) * heightPx);
    if (ticks.length >= 2 || best.length === 0) best = ticks;
    if (gap >= 28) break;
  }
  return best;
}

/** Tick spacings for whole-number axes: 1, 2, 5, 10, 20, 50, … */
const WHOLE_INCREMENTS = Array.from({ length: 13 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

function makeChart(cs: Curve[], data: uPlot.AlignedData): uPlot {
  const fg = cssVar('--vscode-foreground');
  // High-contrast themes make borders bright: soften the grid there so the curves stay in front.
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const grid = withAlpha(cssVar('--vscode-editorWidget-border', '--vscode-panel-border'), highContrast ? 0.45 : 1);
  const bodyStyle = getComputedStyle(document.body);
  const font = `${bodyStyle.fontSize || '13px'} ${bodyStyle.fontFamily || 'sans-serif'}`;
  const axis = (label: string, values: uPlot.Axis.Values | undefined): uPlot.Axis => ({
    stroke: fg,
    label,
    font,
    labelFont: font,
    labelSize: 20,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1, size: 4 },
    ...(values ? { values } : {}),
  });
  const x = ui.xAxis;
  const series: uPlot.Series[] = [{ label: X_LABEL[x] }];
  for (const c of cs) {
    if (ui.smoothing > 0) series.push({ label: `${c.runId} training (raw)`, stroke: c.colour, width: 1, alpha: 0.25, spanGaps: true, dash: c.dash, points: { show: false } });
    series.push({ label: `${c.runId} training`, stroke: c.colour, width: 1.25, spanGaps: true, dash: c.dash, points: { show: false } });
    series.push({
      label: `${c.runId} validation`,
      stroke: c.colour,
      width: 2,
      spanGaps: true,
      dash: c.dash,
      points: { show: true, size: 6, width: 1, stroke: c.colour, fill: c.colour },
    });
  }
  const opts: uPlot.Options = {
    ...chartSize(),
    series,
    legend: { show: false },
    scales: {
      x: { time: false },
      // Log scale: fit the data instead of snapping to whole decades (losses span well under one).
      y: ui.log ? { distr: 3, log: 10, range: (_u, min, max) => (min > 0 && max > 0 ? [min / 1.08, max * 1.08] : [min, max]) } : { distr: 1 },
    },
    axes: [
      // Steps and characters are whole numbers: ticks at whole steps only (never "1 1 1 2 2 2").
      { ...axis(X_LABEL[x], (_u, splits) => splits.map((v) => fmtX(v, x))), ...(x === 'seconds' ? {} : { incrs: WHOLE_INCREMENTS }) },
      { ...axis(metricLabel(ui.metric), (_u, splits) => splits.map(fmtTick)), size: 56, ...(ui.log ? { splits: logSplits, filter: (_u: uPlot, splits: number[]) => splits } : {}) },
    ],
    // Hover marks a series only where it has a point near the cursor (runs end at different x).
    cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 }, hover: { prox: 24 } },
    hooks: {
      setCursor: [() => renderLegendValues()],
      setSelect: [
        (u) => {
          if (u.select.width > 0) zoomed = true;
        },
      ],
    },
  };
  const u = new uPlot(opts, data, chartBox);
  u.over.addEventListener('dblclick', () => {
    zoomed = false;
  });
  return u;
}

function renderChart(structure: boolean): void {
  curves = buildCurves();
  const points = curves.reduce((n, c) => n + c.trainX.length + c.valX.length, 0);
  // For tests (the curves are drawn on a canvas): how many train + validation points are plotted.
  chartBox.setAttribute('data-points', String(points));
  const message =
    runs.size === 0 ? 'No runs yet.' : curves.length === 0 ? 'All runs are hidden: tick one in the legend above.' : points === 0 ? 'Waiting for the first readings…' : '';
  chartEmpty.textContent = message;
  chartEmpty.hidden = message === '';
  chartBox.classList.toggle('no-data', message !== '');
  pngButton.toggleAttribute('disabled', message !== '');
  if (message !== '') {
    chart?.destroy();
    chart = null;
    chartKey = '';
    renderLegendValues();
    return;
  }
  const data = chartData(curves);
  const key = JSON.stringify([ui.metric, ui.xAxis, ui.log, ui.smoothing > 0, curves.map((c) => [c.runId, c.colour, c.dash])]);
  if (!chart || structure || key !== chartKey) {
    chart?.destroy();
    zoomed = false;
    chart = makeChart(curves, data);
    chartKey = key;
  } else {
    chart.setData(data, !zoomed);
  }
  // The text alternative of the canvas: what it plots and each run's latest readings.
  const latest = (xs: number[], ys: (number | null)[]) => {
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && Number.isFinite(ys[i])) return `${fmtTick(ys[i]!)} at ${fmtX(xs[i], ui.xAxis)}`;
    return 'none yet';
  };
  chartBox.setAttribute(
    'aria-label',
    `Loss in ${metricLabel(ui.metric)} against ${X_LABEL[ui.xAxis]}, ${curves.length} run(s). ` +
      curves.map((c) => `${c.runId}: training ${latest(c.trainX, c.train)}, validation ${latest(c.valX, c.val)}`).join('; '),
  );
  renderLegendValues();
}

/** Index of the last x ≤ target in ascending xs, or -1. */
function floorIndex(xs: number[], target: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function renderLegendValues(): void {
  const left = chart?.cursor.left ?? -1;
  const at = chart && left >= 0 ? chart.posToVal(left, 'x') : null;
  for (const [id, item] of legendItems) {
    const c = curves.find((k) => k.runId === id);
    if (!c) {
      item.values.textContent = '';
      continue;
    }
    const ti = at === null ? c.trainX.length - 1 : floorIndex(c.trainX, at);
    const vi = at === null ? c.valX.length - 1 : floorIndex(c.valX, at);
    const parts = [`train ${fmtLoss(ti >= 0 ? c.train[ti] : null)}`, `val ${fmtLoss(vi >= 0 ? c.val[vi] : null)}`];
    if (ti >= 0) parts.push(`@ ${fmtX(c.trainX[ti], ui.xAxis)}`);
    item.values.textContent = parts.join(' · ');
  }
}

// ---------------------------------------------------------------------------------------------
// PNG export: the chart canvas on the theme's editor background, with a title and the legend.

function exportPng(): void {
  if (!chart) {
    post({ type: 'log', level: 'info', message: 'dashboard: nothing to save: the chart is empty' });
    return;
  }
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
  const entries = curves.map((c) => ({ c, text: `${c.runId} · ${modelText(runs.get(c.runId)!.summary)}` }));
  const swatchW = 28 * ratio;
  const layout: { x: number; y: number; c: Curve; text: string }[] = [];
  let x = pad;
  let y = 0;
  for (const e of entries) {
    const w = swatchW + 6 * ratio + measure.measureText(e.text).width + 18 * ratio;
    if (x > pad && x + w > src.width - pad) {
      x = pad;
      y += line;
    }
    layout.push({ x, y, ...e });
    x += w;
  }
  const titleH = line + pad;
  const legendH = (entries.length > 0 ? y + line : 0) + line + pad;

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
  g.fillText(`Loss (${metricLabel(ui.metric)}${ui.log ? ', log scale' : ''}) against ${X_LABEL[ui.xAxis]}${ui.smoothing > 0 ? ` — training smoothed ${ui.smoothing.toFixed(2)}` : ''}`, pad, pad + line / 2);
  g.drawImage(src, 0, titleH);

  const top = titleH + src.height + pad / 2;
  g.font = `${fontPx}px ${family}`;
  for (const item of layout) {
    const cy = top + item.y + line / 2;
    g.strokeStyle = item.c.colour;
    g.fillStyle = item.c.colour;
    g.setLineDash(item.c.dash.map((d) => d * ratio));
    g.lineWidth = 2 * ratio;
    g.beginPath();
    g.moveTo(item.x, cy);
    g.lineTo(item.x + swatchW, cy);
    g.stroke();
    g.setLineDash([]);
    g.beginPath();
    g.arc(item.x + swatchW / 2, cy, 3 * ratio, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = fg;
    g.fillText(item.text, item.x + swatchW + 6 * ratio, cy);
  }
  g.globalAlpha = 0.75;
  g.fillText(legendKey.textContent ?? '', pad, top + (entries.length > 0 ? y + line : 0) + line / 2);
  g.globalAlpha = 1;
  post({ type: 'savePng', dataUrl: out.toDataURL('image/png') });
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
      renderLegend();
      renderTable();
      renderSample();
      renderChart(structure);
    } catch (e) {
      reportError(`render failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  });
}

new ResizeObserver(() => {
  if (chart) {
    const size = chartSize();
    if (size.width !== chart.width || size.height !== chart.height) chart.setSize(size);
  }
}).observe(chartBox);

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
