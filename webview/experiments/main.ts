/**
 * The experiments panel's front end (bundled by esbuild into dist/webview/experiments.js + .css):
 * the paper's experiments as the command line computed them, from the host's `state` snapshots.
 *
 *   Comparisons   per comparison its table (like the paper's Table 1: parameters, train and
 *                 validation cross-entropy, chars/s), exportable as CSV and Markdown, and the runs'
 *                 validation curves overlaid with the n-grams' levels as dashed horizontal lines
 *   Error onions  one stacked bar per analysis (the paper's section 4.4), bars on one scale so two
 *                 models' onions stand side by side; a button colours the analysed file by category
 *   Brackets      p(correct closer) against the distance to its opener, network and n-gram
 *   Gradients     ‖∂L_t/∂h_{t−k}‖ (and the LSTM's ‖∂L_t/∂c_{t−k}‖) against the lag k, per layer,
 *                 on a log scale; several checkpoints side by side
 *
 * Every view shows the command that reproduces it. Every message is checked with
 * `isHostToExperiments`; anything else is reported back as a `log` error and ignored. Colours come
 * from `--vscode-*` variables (the onion's from the protocol's ONION_COLOURS, the same as the file
 * colouring's), so the page follows the theme.
 */
import 'uplot/dist/uPlot.min.css';
import '../shared/page.css';
import './experiments.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';

import { describeRejected } from '../../src/extension/protocol/validation';
import {
  isHostToExperiments,
  ONION_CATEGORY_HELP,
  ONION_COLOURS,
  type AnalysisView,
  type BracketsView,
  type ComparisonView,
  type ExperimentsState,
  type ExperimentsToHost,
  type GradientsView,
  type OnionView,
} from '../../src/extension/protocol/experiments';
import { connectToHost } from '../shared/hostBridge';
import { button, el } from '../shared/pageElements';
import { lineChart, PALETTE, type LineSeries } from './lineChart';

const host = connectToHost<ExperimentsToHost>('experiments', (level, message) => ({ type: 'log', level, message }));
const post = host.post;

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));

const nats = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(3));
const whole = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)} %` : '–');

function commandLine(text: string): HTMLElement {
  return el('p', { class: 'command' }, el('span', { class: 'field-label' }, 'Reproduce: '), el('code', {}, text));
}

// ---------------------------------------------------------------------------------------------

function toolbar(s: ExperimentsState): HTMLElement {
  const busy = s.busy;
  const bar = el('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Experiments' });
  const disabled = busy !== null;
  const action = (label: string, title: string, m: ExperimentsToHost, secondary = true) => {
    const b = button(label, title, () => post(m), secondary);
    if (disabled) b.setAttribute('disabled', '');
    return b;
  };
  bar.append(
    action('Compare Architectures…', 'Train a grid of cell types, depths and sizes in turn beside n-grams (lstm-lab compare)', { type: 'compare' }, false),
    action('Peel the Error Onion', "Attribute the active model's errors on the open file to the paper's categories, and colour the file", { type: 'analyse', kind: 'errors' }),
    action('Long-Range Brackets', 'p(correct closing bracket) against the distance to its opener, network and n-gram, on the open file', { type: 'analyse', kind: 'brackets' }),
    action('Gradient Flow', '‖∂L_t/∂h_{t−k}‖ against the lag k, per layer, on the open file', { type: 'analyse', kind: 'gradients' }),
    el('span', { class: 'spacer' }),
    el('span', { class: 'field-label', 'data-testid': 'active-model' }, s.activeModel ? `Active model: ${s.activeModel}` : 'No active model: train one first'),
  );
  if (!busy) return bar;
  const status = el('div', { class: 'busy', role: 'status', 'aria-live': 'polite', 'data-testid': 'busy' });
  const meter = el('progress', { max: '1', 'aria-label': busy.what });
  if (busy.fraction !== null) meter.value = busy.fraction;
  status.append(el('strong', {}, busy.what), meter, el('span', {}, busy.detail), button('Cancel', 'Stop it (a comparison can be continued later)', () => post({ type: 'cancel' })));
  return el('div', { class: 'top' }, bar, status);
}

// ---------------------------------------------------------------------------------------------
// Comparisons

function comparisonSection(c: ComparisonView): HTMLElement {
  const section = el('section', { class: 'card comparison', 'data-testid': 'comparison', 'data-id': c.id, 'aria-label': `Comparison ${c.id}` });
  const status = { running: `running · ${c.done} of ${c.total} runs done`, done: `${c.total} runs done`, cancelled: `stopped after ${c.done} of ${c.total} runs (Continue goes on)`, failed: 'failed' }[c.status];
  const head = el('header', {}, el('h3', {}, c.grid || c.id), el('span', { class: `status ${c.status}` }, status), el('span', { class: 'spacer' }));
  const exportButton = (format: 'csv' | 'md', label: string) => {
    const b = button(label, `Save the table as ${label}`, () => post({ type: 'exportTable', id: c.id, format }), true);
    if (c.table.length === 0) b.setAttribute('disabled', '');
    return b;
  };
  if (c.status === 'cancelled' || c.status === 'failed') {
    const go = button('Continue', 'Go on where it stopped: the runs that are done are kept, an interrupted one resumes', () => post({ type: 'continueComparison', id: c.id }), false);
    go.setAttribute('data-testid', 'continue-comparison');
    head.append(go);
  }
  head.append(exportButton('csv', 'CSV'), exportButton('md', 'Markdown'), button('Delete', 'Delete this comparison and its runs', () => post({ type: 'remove', id: c.id }), true));
  section.append(head, el('p', { class: 'field-label' }, `on ${c.corpus}`));
  if (c.message) section.append(el('p', { class: 'error', role: 'alert' }, c.message));

  const table = el('table', { class: 'results', 'data-testid': 'comparison-table' });
  table.append(el('thead', {}, el('tr', {}, ...['model', 'layers', 'hidden', 'parameters', 'steps', 'train nats/char', 'validation nats/char', 'chars/s'].map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  const bestVal = Math.min(...c.table.map((r) => r.valLoss ?? Infinity));
  for (const r of c.table) {
    const best = r.valLoss === bestVal ? ' best' : '';
    if (r.kind === 'network') {
      body.append(el('tr', { 'data-kind': 'network', class: best }, el('th', { scope: 'row' }, r.model.toUpperCase()), el('td', {}, String(r.layers)), el('td', {}, String(r.hidden)), el('td', {}, whole(r.params)), el('td', {}, whole(r.steps)), el('td', {}, nats(r.trainLoss)), el('td', {}, nats(r.valLoss)), el('td', {}, whole(r.charsPerSec))));
    } else {
      body.append(el('tr', { 'data-kind': 'ngram', class: best }, el('th', { scope: 'row' }, `${r.order}-gram`), el('td', {}, ''), el('td', {}, ''), el('td', { title: 'distinct n-grams stored' }, whole(r.size)), el('td', {}, ''), el('td', {}, ''), el('td', {}, nats(r.valLoss)), el('td', {}, '')));
    }
  }
  const started = c.curves.filter((k) => !c.table.some((r) => r.kind === 'network' && r.runId === k.runId));
  for (const k of started) {
    const last = k.points[k.points.length - 1];
    body.append(el('tr', { 'data-kind': 'running', class: 'pending' }, el('th', { scope: 'row' }, k.label), el('td', { colspan: '5' }, last ? `step ${whole(last.step)} · training…` : 'starting…'), el('td', {}, nats(last?.valLoss ?? null)), el('td', {}, '')));
  }
  table.append(body);
  if (c.table.length + started.length > 0) section.append(el('div', { class: 'table-scroll' }, table));

  // Validation curves of the runs against steps, the n-grams as horizontal lines.
  const curves = c.curves.filter((k) => k.points.length > 0);
  if (curves.length > 0) {
    const xs = [...new Set(curves.flatMap((k) => k.points.map((p) => p.step)))].sort((a, b) => a - b);
    const series: LineSeries[] = curves.map((k, i) => {
      const byStep = new Map(k.points.map((p) => [p.step, p.valLoss]));
      return { label: k.label, values: xs.map((x) => byStep.get(x) ?? null), colourVar: PALETTE[i % PALETTE.length] };
    });
    const ngrams = c.table.filter((r) => r.kind === 'ngram');
    // The n-gram levels span the whole axis, from step 0.
    if (ngrams.length > 0 && xs[0] !== 0) {
      xs.unshift(0);
      for (const s of series) s.values.unshift(null);
    }
    ngrams.forEach((r, i) => series.push({ label: `${r.order}-gram`, values: xs.map(() => r.valLoss), colourVar: PALETTE[(curves.length + i) % PALETTE.length], dash: true }));
    section.append(
      lineChart({
        title: 'Validation cross-entropy during training (n-grams dashed)',
        xLabel: 'step',
        yLabel: 'nats/char',
        x: xs,
        series,
        description: `Validation loss against step for ${curves.map((k) => `${k.label} (last ${nats(k.points[k.points.length - 1].valLoss)})`).join(', ')}${ngrams.length ? `; n-gram levels ${ngrams.map((r) => `${r.order}-gram ${nats(r.valLoss)}`).join(', ')}` : ''}.`,
      }),
    );
  }
  section.append(commandLine(c.command));
  return section;
}

// ---------------------------------------------------------------------------------------------
// Analyses

function analysisHead(a: AnalysisView, title: string): HTMLElement {
  const target = a.target.split(/[\\/]/).pop() ?? a.target;
  return el(
    'header',
    {},
    el('h3', {}, `${title}: ${target}`),
    el('span', { class: 'field-label' }, `${a.model} · ${new Date(a.createdAt).toLocaleString()} · ${a.seconds.toFixed(1)} s`),
    el('span', { class: 'spacer' }),
    button('Remove', 'Remove this result', () => post({ type: 'remove', id: a.id }), true),
  );
}

function onionsSection(list: AnalysisView[]): HTMLElement | null {
  const onions = list.filter((a): a is AnalysisView & { result: OnionView } => a.result.kind === 'errors');
  if (onions.length === 0) return null;
  const section = el('section', { class: 'card', 'aria-label': 'Error onions', 'data-testid': 'onions' });
  section.append(el('h2', {}, 'Error onions'));
  const legend = el('ul', { class: 'onion-legend' });
  for (const c of ONION_COLOURS) {
    const swatch = el('span', { class: 'swatch-box' });
    swatch.style.background = c.ruler;
    legend.append(el('li', { title: ONION_CATEGORY_HELP[c.name] ?? '' }, swatch, c.name));
  }
  section.append(legend);
  // One scale for every bar: the largest error rate fills the width.
  const widest = Math.max(...onions.map((o) => o.result.errors / Math.max(1, o.result.chars)));
  for (const a of onions) {
    const o = a.result;
    const row = el('div', { class: 'onion', 'data-testid': 'onion', 'data-errors': String(o.errors) });
    row.append(analysisHead(a, 'Onion'));
    const bar = el('div', { class: 'onion-bar', role: 'img', 'aria-label': `${o.errors} errors in ${o.chars} characters: ${o.categories.map((c) => `${c.name} ${c.errors}`).join(', ')}` });
    bar.style.width = `${(100 * (o.errors / Math.max(1, o.chars))) / widest}%`;
    for (const c of o.categories) {
      if (c.errors === 0) continue;
      const seg = el('span', { class: 'segment', title: `${c.name}: ${c.errors.toLocaleString('en-US')} (${pct(c.errors, o.errors)} of the errors)` });
      seg.style.flexGrow = String(c.errors);
      seg.style.background = ONION_COLOURS.find((k) => k.name === c.name)?.ruler ?? 'transparent';
      bar.append(seg);
    }
    row.append(bar, el('p', {}, `${o.errors.toLocaleString('en-US')} errors in ${o.chars.toLocaleString('en-US')} characters (${pct(o.errors, o.chars)}): ${o.categories.map((c) => `${c.name} ${c.errors.toLocaleString('en-US')}`).join(' · ')}`));
    const toggle = button(a.colouring ? 'Clear the colouring' : 'Colour the file', a.colouring ? 'Take the colours off the file' : 'Colour every wrong character of the file by its category', () => post({ type: 'colourFile', id: a.id, on: !a.colouring }), !a.colouring);
    toggle.setAttribute('data-testid', 'colour-file');
    row.append(el('div', { class: 'actions' }, toggle), commandLine(a.command));
    section.append(row);
  }
  return section;
}

/** A section of charts side by side, one card per analysis of one kind (brackets, gradients). */
function chartsSection<V extends AnalysisView['result']>(list: AnalysisView[], kind: V['kind'], title: string, testId: string, card: (a: AnalysisView & { result: V }) => { head: string; chart: HTMLElement }): HTMLElement | null {
  const items = list.filter((a): a is AnalysisView & { result: V } => a.result.kind === kind);
  if (items.length === 0) return null;
  const grid = el('div', { class: 'chart-grid' });
  for (const a of items) {
    const { head, chart } = card(a);
    grid.append(el('div', { class: 'analysis' }, analysisHead(a, head), chart, commandLine(a.command)));
  }
  return el('section', { class: 'card', 'aria-label': title, 'data-testid': testId }, el('h2', {}, title), grid);
}

function bracketsSection(list: AnalysisView[]): HTMLElement | null {
  return chartsSection<BracketsView>(list, 'brackets', 'Long-range brackets', 'brackets', (a) => {
    const r = a.result;
    const tick = (v: number) => {
      const b = r.bins[Math.round(v)];
      return b && Math.abs(v - Math.round(v)) < 1e-6 ? (b.distance[0] === b.distance[1] ? String(b.distance[0]) : `${b.distance[0]}–${b.distance[1]}`) : '';
    };
    const chart = lineChart({
      title: `p(correct closer) against the distance to its opener · ${r.closers.toLocaleString('en-US')} closers`,
      xLabel: 'distance (characters)',
      yLabel: 'mean probability',
      x: r.bins.map((_b, i) => i),
      xTick: tick,
      series: [
        { label: 'network', values: r.bins.map((b) => b.network), colourVar: PALETTE[0] },
        { label: `${r.ngramOrder}-gram`, values: r.bins.map((b) => b.ngram), colourVar: PALETTE[1], dash: true },
      ],
      description: `Mean probability of the correct closing bracket by distance: ${r.bins.map((b, i) => `${tick(i)}: network ${b.network.toFixed(3)}, n-gram ${b.ngram.toFixed(3)} (${b.count})`).join('; ')}.`,
    });
    return { head: 'Brackets', chart };
  });
}

function gradientsSection(list: AnalysisView[]): HTMLElement | null {
  return chartsSection<GradientsView>(list, 'gradients', 'Gradient flow through time', 'gradients', (a) => {
    const g = a.result;
    const series = g.layers.flatMap((l, i) => [
      { label: `layer ${l.layer} ‖∂L/∂h‖`, values: l.norms, colourVar: PALETTE[i % PALETTE.length] },
      ...(l.cellNorms ? [{ label: `layer ${l.layer} ‖∂L/∂c‖`, values: l.cellNorms, colourVar: PALETTE[i % PALETTE.length], dash: true }] : []),
    ]);
    const last = (v: number[]) => v[v.length - 1];
    const chart = lineChart({
      title: `Mean gradient norm against the lag, ${g.positions} positions`,
      xLabel: 'lag k (characters back)',
      yLabel: 'norm (log)',
      x: Array.from({ length: g.lags }, (_v, k) => k),
      series,
      log: true,
      description: `Gradient norm against lag for ${g.cell}: ${g.layers.map((l) => `layer ${l.layer} from ${l.norms[0].toExponential(2)} at lag 0 to ${last(l.norms).toExponential(2)} at lag ${g.lags - 1}`).join('; ')}.`,
    });
    return { head: `Gradients (${g.cell.toUpperCase()})`, chart };
  });
}

// ---------------------------------------------------------------------------------------------

let lastKey = '';
let lastState: ExperimentsState | null = null;

function render(s: ExperimentsState): void {
  const key = JSON.stringify(s);
  if (key === lastKey) return;
  lastKey = key;
  lastState = s;
  const scroll = window.scrollY;
  const children: HTMLElement[] = [toolbar(s)];
  const comparisons = el('section', { class: 'group', 'aria-label': 'Comparisons' }, el('h2', {}, 'Architecture comparisons'));
  if (s.comparisons.length === 0) comparisons.append(el('p', { class: 'empty' }, "No comparison yet. Compare Architectures trains cell types, depths and sizes one after another on this workspace, beside n-grams of orders 1 to 20, as in the paper's Table 1."));
  for (const c of s.comparisons) comparisons.append(comparisonSection(c));
  children.push(comparisons);
  const analyses = [onionsSection(s.analyses), bracketsSection(s.analyses), gradientsSection(s.analyses)].filter((x): x is HTMLElement => x !== null);
  if (analyses.length === 0) children.push(el('p', { class: 'empty' }, 'No analysis yet. Open a file the active model has not trained on, then Peel the Error Onion, Long-Range Brackets or Gradient Flow.'));
  children.push(...analyses);
  app.replaceChildren(...children);
  window.scrollTo(0, scroll);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const m = event.data;
  if (!isHostToExperiments(m)) {
    host.reportError(describeRejected(m));
    return;
  }
  try {
    render(m.state);
  } catch (e) {
    host.reportError(`render failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
});
// The theme changes the body's class and the variables on <html>: redraw with the new colours.
const themeObserver = new MutationObserver(() => {
  if (!lastState) return;
  lastKey = '';
  render(lastState);
});
themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class'] });
themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });

window.addEventListener('error', (e) => host.reportError(`${e.message} (${e.filename}:${e.lineno})`));
window.addEventListener('unhandledrejection', (e) => host.reportError(`unhandled rejection: ${String(e.reason)}`));

app.replaceChildren(el('p', { class: 'empty' }, 'Loading the experiments…'));
post({ type: 'ready' });
