/**
 * The activations panel's front end (bundled by esbuild into dist/webview/activations.js + .css).
 *
 * Tabs:
 *   Text          the editor's text (or selection) in the editor's font, each character's background
 *                 coloured by the chosen cell (diverging scale, legend in the toolbar); hover or move
 *                 with the arrow keys to see the value, the cell's gates and the model's top-5 next
 *                 characters. Only the lines in sight are in the DOM (one span per code point), so a
 *                 file of thousands of lines scrolls as lightly as a short one.
 *   Interpretable cells   per concept, the best cells with their AUC / correlation; one click shows a cell.
 *   Cells here    LSTMVis's select-to-search: the cells on inside the editor's selection.
 *   Gate saturation  per layer, every gate unit's fraction of time shut (< 0.1) against open (> 0.9).
 *
 * The data always comes from the host; only UI state (the tab) is kept with getState/setState. Every
 * message is checked with `isHostToActivations`; anything else is reported back as a `log` error and
 * ignored. Colours come from `--vscode-*` variables, except the activation scale itself (blue … red).
 */

import '../shared/page.css';
import './activations.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/index.js';

import { describeRejected } from '../../src/extension/protocol/validation';
import { type InferenceModelInfo, type PositionProbe } from '../../src/extension/protocol/inference';
import { isHostToActivations, type ActivationsCommand, type ActivationsTab, type ActivationsToHost, type ActivationView, type ColourScaleSpec, type HostToActivations, type SaturationResultMessage, type ShownDocument } from '../../src/extension/protocol/activations';
import { colourOf, formatValue, normalise, quantitiesOf } from '../../src/extension/activations/colourScale';
import type { Quantity } from '../../src/engine/nn/kernels';
import { connectToHost } from '../shared/hostBridge';
import { renderCellsTable, renderHereTable, type CellsResult, type HereResult } from './resultTables';
import { drawSaturationPlots } from './saturationPlot';
import { button, el } from '../shared/pageElements';
import {
  arrowTarget, clampPosition, describeSymbol, legendLabels, lineWindow, locate, mergeValues, pct, positionCount, restoreState, splitLines, TABS, valuesForText, wrapCell, type ShownLine,
} from './shownText';

// ---------------------------------------------------------------------------------------------
// Host bridge

const host = connectToHost<ActivationsToHost>('activations', (level, message) => ({ type: 'log', level, message }));
const post = host.post;
const reportError = host.reportError;

const TAB_TITLES: Record<ActivationsTab, string> = { text: 'Text', cells: 'Interpretable cells', here: 'Cells here', saturation: 'Gate saturation' };
const QUANTITY_TITLES: Record<string, string> = {
  'tanh(c)': 'tanh(c) — cell state, squashed', c: 'c — cell state', h: 'h — hidden state', i: 'i — input gate', f: 'f — forget gate', g: 'g — candidate',
  o: 'o — output gate', z: 'z — update gate', r: 'r — reset gate', n: 'n — candidate',
} satisfies Record<Quantity, string>;

const ui = restoreState(host.getState());
const saveState = (): void => host.setState(ui);

// ---------------------------------------------------------------------------------------------
// Data from the host

let model: InferenceModelInfo | null = null;
let modelMessage: string | null = null;
let modelKnown = false;
let view: ActivationView = { layer: 1, cell: 0, quantity: 'tanh(c)', stretch: false };
let doc: ShownDocument | null = null;
/** Shown text split into lines: start code point (in the shown text) and the line's code points. */
let lines: ShownLine[] = [];
let values: Float32Array = new Float32Array(0);
let scale: ColourScaleSpec = { lo: -1, mid: 0, hi: 1 };
let status = '';
let overlayOn = false;
let font = { family: 'monospace', size: 13, lineHeight: 18, tabSize: 4, ligatures: false };
let probe: { position: number; probe: PositionProbe } | null = null;

function runCommand(command: ActivationsCommand): void {
  post({ type: 'runCommand', command });
}

// ---------------------------------------------------------------------------------------------
// Layout

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));

const layerSelect = document.createElement('vscode-single-select') as VscodeSingleSelect;
layerSelect.setAttribute('aria-label', 'Layer');
layerSelect.addEventListener('change', () => {
  const layer = Number(layerSelect.value);
  if (Number.isInteger(layer) && layer !== view.layer) setView({ ...view, layer });
});
const quantitySelect = document.createElement('vscode-single-select') as VscodeSingleSelect;
quantitySelect.setAttribute('aria-label', 'Quantity shown');
quantitySelect.addEventListener('change', () => {
  const q = quantitySelect.value;
  if (q && q !== view.quantity) setView({ ...view, quantity: q });
});
const cellInput = el('input', { type: 'number', min: '0', step: '1', id: 'cell', 'aria-label': 'Cell index', class: 'cell-input' });
cellInput.addEventListener('change', () => {
  const c = Math.round(Number(cellInput.value));
  if (Number.isFinite(c)) setView({ ...view, cell: clampCell(c) });
});
const prevCell = button('‹', 'Previous cell ( [ )', () => stepCell(-1), true);
const nextCell = button('›', 'Next cell ( ] )', () => stepCell(1), true);
prevCell.classList.add('step');
nextCell.classList.add('step');
const overlayBox = document.createElement('vscode-checkbox') as VscodeCheckbox;
overlayBox.textContent = 'Overlay in editor';
overlayBox.title = 'Colour the editor\'s own text the same way (LSTM Lab: Toggle Activation Overlay)';
overlayBox.addEventListener('change', () => {
  if (overlayBox.checked !== overlayOn) post({ type: 'toggleOverlay' });
});

const stretchBox = document.createElement('vscode-checkbox') as VscodeCheckbox;
stretchBox.textContent = 'Stretch';
stretchBox.title = 'Stretch the colour scale over this cell\'s own range in the text (median neutral; 2nd and 98th percentiles full blue and red) — for cells that stay near saturation';
stretchBox.addEventListener('change', () => {
  if (stretchBox.checked !== view.stretch) setView({ ...view, stretch: stretchBox.checked });
});

const legendLo = el('span', { class: 'legend-label' });
const legendMid = el('span', { class: 'legend-label' });
const legendHi = el('span', { class: 'legend-label' });
const legendBar = el('span', { class: 'legend-bar', role: 'img' });
const legend = el('div', { class: 'legend', title: 'Colour scale' }, legendLo, el('span', { class: 'legend-track' }, legendBar, legendMid), legendHi);

const toolbar = el(
  'div',
  { class: 'toolbar', role: 'toolbar', 'aria-label': 'What to show' },
  el('label', { class: 'field' }, el('span', { class: 'field-label' }, 'Layer'), layerSelect),
  el('span', { class: 'field cell-field' }, el('label', { class: 'field-label', for: 'cell' }, 'Cell'), prevCell, cellInput, nextCell),
  el('label', { class: 'field' }, el('span', { class: 'field-label' }, 'Show'), quantitySelect),
  overlayBox,
  el('span', { class: 'spacer' }),
  legend,
  stretchBox,
);

const tabList = el('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views' });
const tabButtons = new Map<ActivationsTab, HTMLButtonElement>();
const tabPanels = new Map<ActivationsTab, HTMLElement>();
for (const t of TABS) {
  const b = el('button', { role: 'tab', id: `tab-${t}`, 'aria-controls': `panel-${t}`, class: 'tab' }, TAB_TITLES[t]);
  b.addEventListener('click', () => showTab(t));
  b.addEventListener('keydown', (e) => {
    const i = TABS.indexOf(t);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
      showTab(next);
      tabButtons.get(next)?.focus();
      e.preventDefault();
    }
  });
  tabButtons.set(t, b);
  tabList.append(b);
  tabPanels.set(t, el('section', { role: 'tabpanel', id: `panel-${t}`, 'aria-labelledby': `tab-${t}`, class: `tabpanel panel-${t}` }));
}

const banner = el('div', { class: 'banner', role: 'alert', hidden: '' });
const busy = el('div', { class: 'busy', role: 'status', hidden: '' });
const noModel = el('div', { class: 'no-model', hidden: '' });

app.append(toolbar, tabList, banner, busy, noModel, ...tabPanels.values());

function showTab(t: ActivationsTab): void {
  ui.tab = t;
  saveState();
  for (const [k, b] of tabButtons) {
    b.setAttribute('aria-selected', String(k === t));
    b.tabIndex = k === t ? 0 : -1;
  }
  for (const [k, p] of tabPanels) p.hidden = k !== t;
  if (t === 'text') scheduleRender();
  if (t === 'saturation') drawSaturation();
}

function showBanner(message: string | null): void {
  banner.replaceChildren();
  banner.hidden = message === null;
  if (message === null) return;
  const close = el('button', { class: 'link', title: 'Dismiss' }, '×');
  close.addEventListener('click', () => showBanner(null));
  banner.append(el('span', {}, message), close);
}

// ---------------------------------------------------------------------------------------------
// Toolbar state

function clampCell(c: number): number {
  return wrapCell(c, model?.hidden ?? 1);
}

function stepCell(delta: number): void {
  if (!model) return;
  setView({ ...view, cell: clampCell(view.cell + delta) });
}

function setView(v: ActivationView): void {
  view = v;
  renderToolbar();
  post({ type: 'setView', view: v });
  if (probe) requestProbe(probe.position);
}

function fillSelect(sel: VscodeSingleSelect, options: { value: string; label: string }[], current: string): void {
  const key = options.map((o) => o.value).join('|');
  if (sel.dataset.options !== key) {
    sel.replaceChildren(...options.map((o) => el('vscode-option', { value: o.value }, o.label)));
    sel.dataset.options = key;
  }
  if (sel.value !== current) sel.value = current;
}

function renderToolbar(): void {
  const layers = model?.layers ?? 1;
  fillSelect(layerSelect, Array.from({ length: layers }, (_, i) => ({ value: String(i + 1), label: String(i + 1) })), String(view.layer));
  fillSelect(quantitySelect, quantitiesOf(model?.kind ?? 'lstm').map((q) => ({ value: q, label: QUANTITY_TITLES[q] ?? q })), view.quantity);
  cellInput.max = String((model?.hidden ?? 1) - 1);
  if (document.activeElement !== cellInput) cellInput.value = String(view.cell);
  overlayBox.checked = overlayOn;
  stretchBox.checked = view.stretch;
  for (const c of [layerSelect, quantitySelect, cellInput, prevCell, nextCell, overlayBox, stretchBox]) c.toggleAttribute('disabled', !model);
  legend.hidden = !model;
  renderLegend();
}

function renderLegend(): void {
  [legendLo.textContent, legendMid.textContent, legendHi.textContent] = legendLabels(scale.lo, scale.mid, scale.hi);
  const stops = [-1, -0.5, 0, 0.5, 1].map((t) => colourOf(t)).join(', ');
  legendBar.style.backgroundImage = `linear-gradient(to right, ${stops})`;
  legendBar.setAttribute('aria-label', `colour scale from ${legendLo.textContent} (blue) through ${legendMid.textContent} (no colour) to ${legendHi.textContent} (red)`);
}

// ---------------------------------------------------------------------------------------------
// Text tab: virtualised lines, one span per code point

const docTitle = el('span', { class: 'doc-title' });
const docStatus = el('span', { class: 'doc-status' });
const docBar = el('div', { class: 'doc-bar' }, docTitle, el('span', { class: 'spacer' }), docStatus);
const sizer = el('div', { class: 'sizer' });
const linesBox = el('div', { class: 'lines' });
const scroller = el('div', {
  class: 'scroller', tabindex: '0', role: 'region',
  'aria-label': 'Text coloured by the chosen cell. Arrow keys move the inspected character; [ and ] change the cell; Enter shows the character in the editor.',
}, sizer, linesBox);
const tooltip = el('div', { class: 'tooltip', role: 'tooltip', id: 'char-tooltip', hidden: '' });
const keysHint = el('p', { class: 'hint' }, 'Hover a character (or focus the text and use the arrow keys) for its value, gates and next-character predictions. [ / ] previous / next cell · double-click or Enter: show in the editor.');
const emptyText = el('p', { class: 'empty' });
tabPanels.get('text')!.append(docBar, emptyText, scroller, tooltip, keysHint);

let rendered = { first: -1, last: -1 };
let renderQueued = false;
let hovered = -1;
let pinned = -1;
let lastViewport = '';
/** A line to scroll to at the next render (a new document). */
let pendingReveal: number | null = null;

function applyFont(): void {
  const s = scroller.style;
  s.fontFamily = `${font.family}, monospace`;
  s.fontSize = `${font.size}px`;
  s.lineHeight = `${font.lineHeight}px`;
  s.setProperty('tab-size', String(font.tabSize));
  s.fontVariantLigatures = font.ligatures ? 'normal' : 'none';
  scheduleRender(true);
}

function scheduleRender(force = false): void {
  if (force) rendered = { first: -1, last: -1 };
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderLines();
  });
}

function colourFor(position: number): string {
  return position < values.length ? colourOf(normalise(values[position], scale)) : 'transparent';
}

function renderLines(): void {
  if (ui.tab !== 'text') return;
  const lh = font.lineHeight;
  sizer.style.height = `${lines.length * lh}px`;
  if (pendingReveal !== null && !scroller.hidden) {
    scroller.scrollTop = Math.max(0, pendingReveal - 3) * lh;
    pendingReveal = null;
  }
  const { first, last, shownFirst, shownLast } = lineWindow(scroller.scrollTop, scroller.clientHeight || 600, lh, lines.length);
  if (first !== rendered.first || last !== rendered.last) {
    const frag = document.createDocumentFragment();
    const startLine = doc?.startLine ?? 0;
    for (let i = first; i <= last; i++) {
      const line = lines[i];
      const div = el('div', { class: 'line' });
      div.append(el('span', { class: 'ln', 'aria-hidden': 'true' }, String(startLine + i + 1)));
      const code = el('span', { class: 'code' });
      line.cps.forEach((ch, k) => {
        const s = el('span', { 'data-i': String(line.start + k) }, ch);
        code.append(s);
      });
      if (line.newline) code.append(el('span', { 'data-i': String(line.start + line.cps.length), class: 'nl' }, ' '));
      div.append(code);
      frag.append(div);
    }
    linesBox.replaceChildren(frag);
    linesBox.style.transform = `translateY(${first * lh}px)`;
    rendered = { first, last };
  }
  recolour();
  const key = `${doc?.uri}|${shownFirst}|${shownLast}`;
  if (doc && key !== lastViewport) {
    lastViewport = key;
    viewportChanged(doc.uri, shownFirst, shownLast);
  }
}

let viewportTimer: number | undefined;
function viewportChanged(uri: string, firstLine: number, lastLine: number): void {
  clearTimeout(viewportTimer);
  viewportTimer = window.setTimeout(() => post({ type: 'viewport', uri, firstLine, lastLine }), 120);
}

function recolour(): void {
  linesBox.querySelectorAll<HTMLElement>('span[data-i]').forEach((s) => {
    const i = Number(s.dataset.i);
    s.style.backgroundColor = colourFor(i);
    s.classList.toggle('pinned', i === pinned);
  });
}

scroller.addEventListener('scroll', () => {
  hideTooltip();
  scheduleRender();
});
window.addEventListener('resize', () => scheduleRender());

function spanOf(position: number): HTMLElement | null {
  return linesBox.querySelector<HTMLElement>(`span[data-i="${position}"]`);
}

scroller.addEventListener('mouseover', (e) => {
  const s = (e.target as HTMLElement).closest<HTMLElement>('span[data-i]');
  if (!s) return;
  const i = Number(s.dataset.i);
  if (i === hovered) return;
  hovered = i;
  inspect(i, s);
});
scroller.addEventListener('mouseleave', () => {
  hovered = -1;
  if (pinned >= 0) inspect(pinned, spanOf(pinned));
  else hideTooltip();
});
scroller.addEventListener('click', (e) => {
  const s = (e.target as HTMLElement).closest<HTMLElement>('span[data-i]');
  if (!s) return;
  pinned = Number(s.dataset.i);
  recolour();
  inspect(pinned, s);
});
scroller.addEventListener('dblclick', (e) => {
  const s = (e.target as HTMLElement).closest<HTMLElement>('span[data-i]');
  if (s && doc) post({ type: 'reveal', uri: doc.uri, position: Number(s.dataset.i) });
});

function movePinned(pos: number): void {
  pinned = clampPosition(pos, values.length || positionCount(lines));
  const { line } = locate(lines, pinned);
  const lh = font.lineHeight;
  if (line * lh < scroller.scrollTop) scroller.scrollTop = line * lh;
  else if ((line + 1) * lh > scroller.scrollTop + scroller.clientHeight - 24) scroller.scrollTop = (line + 1) * lh - scroller.clientHeight + 24;
  renderLines();
  inspect(pinned, spanOf(pinned));
}

scroller.addEventListener('keydown', (e) => {
  if (e.key === ']' || e.key === '[') {
    stepCell(e.key === ']' ? 1 : -1);
    e.preventDefault();
    return;
  }
  if (!doc) return;
  const at = pinned >= 0 ? pinned : (() => {
    const l = lines[Math.min(lines.length - 1, Math.ceil(scroller.scrollTop / font.lineHeight))];
    return l ? l.start : 0;
  })();
  const target = arrowTarget(lines, e.key, at, pinned);
  switch (e.key) {
    case 'ArrowRight':
    case 'ArrowLeft':
    case 'ArrowDown':
    case 'ArrowUp':
      movePinned(target!);
      break;
    case 'Enter':
      if (pinned >= 0) post({ type: 'reveal', uri: doc.uri, position: pinned });
      break;
    case 'Escape':
      pinned = -1;
      recolour();
      hideTooltip();
      break;
    default:
      return;
  }
  e.preventDefault();
});

let probeTimer: number | undefined;
function requestProbe(position: number): void {
  if (!doc) return;
  const d = doc;
  clearTimeout(probeTimer);
  probeTimer = window.setTimeout(() => post({ type: 'probe', uri: d.uri, version: d.version, position }), 40);
}

/** The position whose details the tooltip shows (hovered, or moved to with the keyboard). */
let inspected = -1;

function inspect(position: number, span: HTMLElement | null): void {
  if (!doc || !model) return;
  inspected = position;
  requestProbe(position);
  renderTooltip(position, span);
}

function hideTooltip(): void {
  tooltip.hidden = true;
}


function renderTooltip(position: number, span: HTMLElement | null): void {
  const { line, col } = locate(lines, position);
  const l = lines[line];
  const ch = l ? (col < l.cps.length ? l.cps[col] : '\n') : '';
  const v = position < values.length ? values[position] : NaN;
  const rows: (Node | string)[] = [];
  rows.push(el('div', { class: 'tt-head' },
    el('span', { class: 'tt-char' }, describeSymbol(ch)),
    ` line ${(doc?.startLine ?? 0) + line + 1}, column ${(line === 0 ? (doc?.startColumn ?? 0) : 0) + col + 1}`));
  rows.push(el('div', { class: 'tt-value' }, `layer ${view.layer} cell ${view.cell} ${view.quantity} = `, el('strong', {}, Number.isNaN(v) ? 'not traced yet' : formatValue(v))));
  const p = probe && probe.position === position && probe.probe.layer === view.layer && probe.probe.cell === view.cell ? probe.probe : null;
  if (p) {
    const gates = Object.entries(p.values).filter(([k]) => !['tanh(c)', 'c', 'h'].includes(k));
    const states = Object.entries(p.values).filter(([k]) => ['tanh(c)', 'c', 'h'].includes(k));
    rows.push(el('div', { class: 'tt-row' }, el('span', { class: 'tt-label' }, 'state'), ...states.map(([k, x]) => el('span', { class: 'tt-kv' }, `${k} ${formatValue(x)}`))));
    if (gates.length) rows.push(el('div', { class: 'tt-row' }, el('span', { class: 'tt-label' }, 'gates'), ...gates.map(([k, x]) => el('span', { class: 'tt-kv' }, `${k} ${x.toFixed(2)}`))));
    const top = el('ol', { class: 'tt-top' });
    for (const t of p.top) {
      const bar = el('span', { class: 'tt-bar' });
      bar.style.width = `${Math.max(1, Math.round(t.prob * 60))}px`;
      top.append(el('li', {}, el('code', {}, describeSymbol(t.symbol)), bar, el('span', { class: 'tt-prob' }, pct(t.prob))));
    }
    rows.push(el('div', { class: 'tt-label' }, 'next character'), top);
    if (p.next) rows.push(el('div', { class: 'tt-actual' }, 'actually next: ', el('code', {}, describeSymbol(p.next.symbol)), ` (${pct(p.next.prob)})`));
  } else {
    rows.push(el('div', { class: 'tt-label' }, 'gates and predictions…'));
  }
  tooltip.replaceChildren(...rows);
  tooltip.hidden = false;
  // Place it below the character (above if there is no room), inside the panel.
  const host = tabPanels.get('text')!.getBoundingClientRect();
  const r = span?.getBoundingClientRect();
  const tw = tooltip.offsetWidth;
  const th = tooltip.offsetHeight;
  let x = r ? r.left - host.left : 16;
  let y = r ? r.bottom - host.top + 4 : 40;
  if (r && r.bottom + th + 8 > window.innerHeight) y = r.top - host.top - th - 4;
  x = Math.max(4, Math.min(x, host.width - tw - 4));
  tooltip.style.left = `${x}px`;
  tooltip.style.top = `${Math.max(0, y)}px`;
}

function renderDocument(): void {
  const title = doc
    ? `${doc.fileName}${doc.selection ? ` — selection from line ${doc.startLine + 1}` : ''} · layer ${view.layer}, cell ${view.cell}, ${view.quantity}`
    : '';
  docTitle.textContent = title;
  docStatus.textContent = status;
  emptyText.textContent = !model ? '' : !doc ? 'Open a text file: the panel shows the active editor\'s text.' : doc.text.length === 0 ? 'The file is empty.' : '';
  emptyText.hidden = emptyText.textContent === '';
  scroller.hidden = !doc || !model;
}

// ---------------------------------------------------------------------------------------------
// Interpretable cells tab

const cellsBody = el('div', { class: 'results' });
const conceptInput = el('input', { type: 'text', class: 'text-input', placeholder: 'e.g. \\bNULL\\b or ->\\w+', 'aria-label': 'Regular expression of a concept to add', id: 'concept' });
const conceptForm = el('form', { class: 'concept-form' },
  el('label', { for: 'concept', class: 'field-label' }, 'Add a concept from a regular expression'), conceptInput);
const addConcept = button('Add and rank', 'Rank every cell against the characters this regular expression matches', () => submitConcept());
conceptForm.append(addConcept);
conceptForm.addEventListener('submit', (e) => {
  e.preventDefault();
  submitConcept();
});
function submitConcept(): void {
  const v = conceptInput.value.trim();
  if (!v) return;
  try {
    new RegExp(v, 'g');
  } catch (err) {
    showBanner(`Not a regular expression: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  post({ type: 'addConcept', pattern: v, flags: '' });
}
tabPanels.get('cells')!.append(
  el('div', { class: 'tab-actions' },
    button('Find Interpretable Cells…', 'Rank every cell of every layer against concepts from a parser (current file or workspace)', () => runCommand('findInterpretableCells')),
    conceptForm),
  cellsBody,
);

function showCell(layer: number, cell: number, quantity: string): void {
  setView({ ...view, layer, cell, quantity: quantitiesOf(model?.kind ?? 'lstm').includes(quantity) ? quantity : view.quantity });
  showTab('text');
}

function cellButton(layer: number, cell: number, quantity: string, text: string, title: string): HTMLElement {
  const b = el('button', { class: 'cell-link', title }, text);
  b.addEventListener('click', () => showCell(layer, cell, quantity));
  return b;
}

function renderCells(result: CellsResult): void {
  renderCellsTable(cellsBody, result, cellButton);
}

// ---------------------------------------------------------------------------------------------
// Cells here tab

const hereBody = el('div', { class: 'results' });
tabPanels.get('here')!.append(
  el('div', { class: 'tab-actions' },
    button('Find Cells Active Here', 'Rank the cells that are on inside the editor\'s selection and off around it', () => runCommand('findCellsActiveHere')),
    button('Find Similar Spans…', 'Where in the workspace the best of these cells switch on together', () => runCommand('findSimilarSpans'), true)),
  hereBody,
);

function renderHere(result: HereResult): void {
  renderHereTable(hereBody, result, cellButton);
}

// ---------------------------------------------------------------------------------------------
// Gate saturation tab: one scatter per layer on a canvas

const saturationBody = el('div', { class: 'results saturation' });
let saturation: SaturationResultMessage | null = null;
tabPanels.get('saturation')!.append(
  el('div', { class: 'tab-actions' },
    button('Show Gate Saturation…', 'Measure every gate unit on the current file or a workspace sample', () => runCommand('showGateSaturation'))),
  saturationBody,
);

function drawSaturation(): void {
  drawSaturationPlots(saturationBody, saturation, showCell);
}

// ---------------------------------------------------------------------------------------------
// No model

function renderModel(): void {
  noModel.replaceChildren();
  const missing = modelKnown && !model;
  noModel.hidden = !missing;
  tabList.hidden = missing;
  for (const [k, p] of tabPanels) p.hidden = missing || k !== ui.tab;
  if (missing) {
    noModel.append(
      el('h2', {}, 'No active model'),
      el('p', {}, modelMessage ?? 'There is no trained model in this workspace yet.'),
      button('Train on Workspace', 'Train a character-level model on this workspace\'s files (LSTM Lab: Train on Workspace)', () => runCommand('trainOnWorkspace')),
    );
  }
  renderToolbar();
}

// ---------------------------------------------------------------------------------------------
// Messages

function onMessage(m: HostToActivations): void {
  switch (m.type) {
    case 'model':
      model = m.model;
      modelMessage = m.message;
      modelKnown = true;
      renderModel();
      renderDocument();
      break;
    case 'font':
      font = m.font;
      applyFont();
      break;
    case 'view':
      view = m.view;
      renderToolbar();
      renderDocument();
      break;
    case 'document': {
      const previous = doc;
      doc = m.document;
      lines = doc ? splitLines(doc.text) : [];
      values = valuesForText(values, doc ? doc.text : null);
      if (!previous || !doc || previous.uri !== doc.uri || previous.startCp !== doc.startCp) {
        pinned = -1;
        probe = null;
        hideTooltip();
        pendingReveal = doc?.revealLine ?? 0;
      }
      renderDocument();
      scheduleRender(true);
      break;
    }
    case 'values': {
      if (!doc || m.uri !== doc.uri) return;
      values = mergeValues(values, m.values as Float32Array | (number | null)[], m.start);
      scale = m.scale;
      view = m.view;
      status = m.status;
      renderToolbar();
      renderDocument();
      scheduleRender();
      if (pinned >= 0 && !tooltip.hidden) renderTooltip(pinned, spanOf(pinned));
      break;
    }
    case 'probe':
      if (!doc || m.uri !== doc.uri) return;
      probe = { position: m.position, probe: m.probe };
      if (m.position === inspected && !tooltip.hidden) renderTooltip(m.position, spanOf(m.position));
      break;
    case 'overlay':
      overlayOn = m.on;
      renderToolbar();
      break;
    case 'busy':
      busy.hidden = m.message === null;
      busy.textContent = m.message ?? '';
      break;
    case 'cells':
      renderCells(m.result);
      break;
    case 'here':
      renderHere(m.result);
      break;
    case 'saturation':
      saturation = m.result;
      drawSaturation();
      break;
    case 'showTab':
      showTab(m.tab);
      break;
    case 'scrollTo':
      if (doc && m.uri === doc.uri && !doc.selection) {
        scroller.scrollTop = m.line * font.lineHeight;
        scheduleRender();
      }
      break;
    case 'error':
      showBanner(m.message);
      break;
  }
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const m = e.data;
  if (!isHostToActivations(m)) {
    reportError(`ignored ${describeRejected(m)}`);
    return;
  }
  try {
    onMessage(m);
  } catch (err) {
    reportError(`${m.type} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  }
});

// Theme changes: canvases read colours once.
new MutationObserver(() => {
  if (ui.tab === 'saturation') drawSaturation();
  renderLegend();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

document.addEventListener('keydown', (e) => {
  if ((e.key === ']' || e.key === '[') && !(e.target instanceof HTMLInputElement) && e.target !== scroller) {
    stepCell(e.key === ']' ? 1 : -1);
    e.preventDefault();
  }
});

renderCells(null);
renderHere(null);
drawSaturation();
renderToolbar();
renderDocument();
showTab(ui.tab);
post({ type: 'ready' });
