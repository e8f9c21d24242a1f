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
import { connectToHost } from '../shared/hostBridge';

// ---------------------------------------------------------------------------------------------
// Host bridge

const host = connectToHost<ActivationsToHost>('activations', (level, message) => ({ type: 'log', level, message }));
const post = host.post;
const reportError = host.reportError;

const TABS: readonly ActivationsTab[] = ['text', 'cells', 'here', 'saturation'];
const TAB_TITLES: Record<ActivationsTab, string> = { text: 'Text', cells: 'Interpretable cells', here: 'Cells here', saturation: 'Gate saturation' };
const QUANTITY_TITLES: Record<string, string> = {
  'tanh(c)': 'tanh(c) — cell state, squashed', c: 'c — cell state', h: 'h — hidden state', i: 'i — input gate', f: 'f — forget gate', g: 'g — candidate',
  o: 'o — output gate', z: 'z — update gate', r: 'r — reset gate', n: 'n — candidate',
};

interface UiState {
  tab: ActivationsTab;
}
function restoreState(raw: unknown): UiState {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  return { tab: TABS.includes(s.tab as ActivationsTab) ? (s.tab as ActivationsTab) : 'text' };
}
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
let lines: { start: number; cps: string[]; newline: boolean }[] = [];
let values: Float32Array = new Float32Array(0);
let scale: ColourScaleSpec = { lo: -1, mid: 0, hi: 1 };
let status = '';
let overlayOn = false;
let font = { family: 'monospace', size: 13, lineHeight: 18, tabSize: 4, ligatures: false };
let probe: { position: number; probe: PositionProbe } | null = null;

// ---------------------------------------------------------------------------------------------
// DOM helpers (no inline styles or scripts: the page runs under a strict CSP; CSSOM is allowed)

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function cssVar(name: string, fallback = '--vscode-foreground'): string {
  const style = getComputedStyle(document.documentElement);
  return style.getPropertyValue(name).trim() || style.getPropertyValue(fallback).trim() || getComputedStyle(document.body).color;
}

function button(label: string, title: string, onClick: () => void, secondary = false): HTMLElement {
  const b = el('vscode-button', { title, ...(secondary ? { secondary: '' } : {}) }, label);
  b.addEventListener('click', onClick);
  return b;
}

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
  const H = model?.hidden ?? 1;
  return ((c % H) + H) % H;
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
  // As few significant digits as keep the three labels apart (a stretched scale may span 0.998–1).
  let digits = 2;
  while (digits < 6 && new Set([scale.lo, scale.mid, scale.hi].map((v) => formatScale(v, digits))).size < 3) digits++;
  legendLo.textContent = formatScale(scale.lo, digits);
  legendMid.textContent = formatScale(scale.mid, digits);
  legendHi.textContent = formatScale(scale.hi, digits);
  const stops = [-1, -0.5, 0, 0.5, 1].map((t) => colourOf(t)).join(', ');
  legendBar.style.backgroundImage = `linear-gradient(to right, ${stops})`;
  legendBar.setAttribute('aria-label', `colour scale from ${legendLo.textContent} (blue) through ${legendMid.textContent} (no colour) to ${legendHi.textContent} (red)`);
}

function formatScale(v: number, digits = 2): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(digits)));
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

const OVERSCAN = 30;
let rendered = { first: -1, last: -1 };
let renderQueued = false;
let hovered = -1;
let pinned = -1;
let lastViewport = '';
/** A line to scroll to at the next render (a new document). */
let pendingReveal: number | null = null;

function splitLines(text: string): typeof lines {
  const out: typeof lines = [];
  let cps: string[] = [];
  let start = 0;
  let pos = 0;
  for (const ch of text) {
    if (ch === '\n') {
      out.push({ start, cps, newline: true });
      cps = [];
      start = pos + 1;
    } else cps.push(ch);
    pos++;
  }
  out.push({ start, cps, newline: false });
  return out;
}

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
  const top = scroller.scrollTop;
  const height = scroller.clientHeight || 600;
  const first = Math.max(0, Math.floor(top / lh) - OVERSCAN);
  const last = Math.min(lines.length - 1, Math.ceil((top + height) / lh) + OVERSCAN);
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
  const shownFirst = Math.floor(top / lh);
  const shownLast = Math.min(lines.length - 1, Math.ceil((top + height) / lh));
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

/** Line index and column of a shown position. */
function locate(position: number): { line: number; col: number } {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lines[mid].start <= position) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, col: position - (lines[lo]?.start ?? 0) };
}

function movePinned(pos: number): void {
  const total = values.length || lines.reduce((n, l) => n + l.cps.length + (l.newline ? 1 : 0), 0);
  pinned = Math.max(0, Math.min(pos, total - 1));
  const { line } = locate(pinned);
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
  const { line, col } = locate(at);
  switch (e.key) {
    case 'ArrowRight':
      movePinned(pinned < 0 ? at : at + 1);
      break;
    case 'ArrowLeft':
      movePinned(pinned < 0 ? at : at - 1);
      break;
    case 'ArrowDown':
    case 'ArrowUp': {
      const target = lines[Math.max(0, Math.min(lines.length - 1, line + (e.key === 'ArrowDown' ? 1 : -1)))];
      movePinned(target.start + Math.min(col, target.cps.length));
      break;
    }
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

const describeSymbol = (s: string): string => (s === '\n' ? '⏎' : s === '\t' ? '⇥' : s === ' ' ? '␠' : s === '\uFFFD' ? '<unknown>' : s);
const pct = (p: number): string => (p >= 0.995 ? '>99%' : p < 0.005 ? '<1%' : `${Math.round(p * 100)}%`);

function renderTooltip(position: number, span: HTMLElement | null): void {
  const { line, col } = locate(position);
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

function renderCells(result: Extract<HostToActivations, { type: 'cells' }>['result']): void {
  if (!result) {
    cellsBody.replaceChildren(el('p', { class: 'empty' }, 'No results yet. "Find Interpretable Cells" ranks every cell by how well it tracks strings, comments, if conditions, nesting depth, indentation and position in the line.'));
    return;
  }
  const d = result.discovery;
  const labellers = Object.entries(d.labellers).map(([k, n]) => `${k} × ${n}`).join(', ');
  const table = el('table', { class: 'ranking' },
    el('caption', {}, `${result.scope}: ${d.chars.toLocaleString('en-US')} characters in ${d.files} file(s), labelled by ${labellers}; ${d.seconds.toFixed(1)} s`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Concept'), el('th', { scope: 'col' }, 'Score'), el('th', { scope: 'col' }, 'Best cells (layer · cell: score; ↓ = on when the concept is absent)'))));
  const body = el('tbody');
  for (const r of d.rankings) {
    const kind = r.scoreKind === 'auc' ? 'AUC' : 'correlation';
    const cells = el('td', { class: 'cells' });
    if (r.cells.length === 0) cells.append(el('span', { class: 'muted' }, r.skipped ?? 'no cell varies'));
    for (const c of r.cells) {
      const good = r.scoreKind === 'auc' ? c.score >= 0.8 : c.score >= 0.5;
      const b = cellButton(c.layer, c.cell, c.quantity, `L${c.layer} · ${c.cell}: ${c.score.toFixed(3)}${c.direction < 0 ? ' ↓' : ''}`,
        `Show layer ${c.layer} cell ${c.cell} (${c.quantity}); ${kind} ${c.score.toFixed(3)}${c.direction < 0 ? ', on when the concept is absent' : ''}`);
      if (good) b.classList.add('good');
      cells.append(b);
    }
    const extra = r.scoreKind === 'auc' && r.positives !== undefined ? ` · ${r.positives.toLocaleString('en-US')} of ${r.positions.toLocaleString('en-US')} characters` : '';
    body.append(el('tr', {},
      el('th', { scope: 'row' }, el('div', {}, r.title), el('div', { class: 'muted' }, `${r.concept}${extra}`)),
      el('td', { class: 'kind' }, kind),
      cells));
  }
  table.append(body);
  cellsBody.replaceChildren(table, el('p', { class: 'hint' }, 'AUC: 0.5 is chance, 1 a perfect detector. Correlation: |r| of the activation with the count. Scores ≥ 0.8 (AUC) or ≥ 0.5 (|r|) are highlighted; a concept with no highlighted cell has no good cell in this model.'));
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

function renderHere(result: Extract<HostToActivations, { type: 'here' }>['result']): void {
  if (!result) {
    hereBody.replaceChildren(el('p', { class: 'empty' }, 'Select a span in the editor (a string, a comment, a condition…) and run "Find Cells Active Here" (also in the editor\'s context menu).'));
    return;
  }
  const table = el('table', { class: 'ranking' },
    el('caption', {}, `Selection in ${result.fileName} at line ${result.line + 1}: `, el('code', { class: 'snippet' }, result.snippet), ` — ${result.quantity} inside vs around`),
    el('thead', {}, el('tr', {}, ...['Cell', 'Inside − around', 'Mean inside', 'Mean around'].map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  for (const c of result.cells) {
    body.append(el('tr', {},
      el('td', {}, cellButton(c.layer, c.cell, result.quantity, `L${c.layer} · ${c.cell}`, `Show layer ${c.layer} cell ${c.cell}`)),
      el('td', { class: 'num' }, c.score.toFixed(3)),
      el('td', { class: 'num' }, c.meanInside.toFixed(3)),
      el('td', { class: 'num' }, c.meanOutside.toFixed(3))));
  }
  table.append(body);
  hereBody.replaceChildren(table);
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

const GATE_COLOURS: Record<string, string> = { i: '--vscode-charts-blue', f: '--vscode-charts-red', o: '--vscode-charts-green', z: '--vscode-charts-orange', r: '--vscode-charts-purple' };
const GATE_TITLES: Record<string, string> = { i: 'input gate i', f: 'forget gate f', o: 'output gate o', z: 'update gate z', r: 'reset gate r' };
const PLOT = 260;
const PAD = { left: 44, right: 10, top: 10, bottom: 38 };

interface PlotPoint { x: number; y: number; layer: number; gate: string; unit: number; left: number; right: number }
const plotPoints = new Map<HTMLCanvasElement, PlotPoint[]>();

function drawSaturation(): void {
  plotPoints.clear();
  if (!saturation) {
    saturationBody.replaceChildren(el('p', { class: 'empty' }, 'Run "Show Gate Saturation" to plot, for each layer, every gate unit\'s fraction of time left-saturated (< 0.1, shut) against right-saturated (> 0.9, open) — as in Karpathy et al. 2015, figure 3. Forget-gate units near the top-left corner are integrators: they remember over long spans.'));
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
      const integrators = Array.from(c.right).filter((r, u) => r > 0.5 && c.left[u] < 0.1).length;
      label.push(`${c.gate}: ${integrators} unit(s) open > 50% of the time and rarely shut`);
    }
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
  saturationBody.replaceChildren(
    el('p', { class: 'muted' }, `${s.scope}: ${s.chars.toLocaleString('en-US')} characters in ${s.files} file(s). Each point is one gate unit; the dashed line is left + right = 1 (never in between).`),
    legendBox, plots, readout,
  );
}

function nearest(canvas: HTMLCanvasElement, e: MouseEvent): PlotPoint | null {
  const r = canvas.getBoundingClientRect();
  const x = e.clientX - r.left;
  const y = e.clientY - r.top;
  let best: PlotPoint | null = null;
  let bestD = 64; // within 8 px
  for (const p of plotPoints.get(canvas) ?? []) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  return best;
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
      const total = doc ? Array.from(doc.text).length : 0;
      if (values.length !== total) values = new Float32Array(total).fill(NaN);
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
      const incoming = m.values instanceof Float32Array ? m.values : Float32Array.from(m.values as (number | null)[], (x) => (x === null ? NaN : x));
      if (m.start === 0 && incoming.length >= values.length) values = incoming;
      else values.set(incoming.subarray(0, Math.max(0, values.length - m.start)), m.start);
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
