/**
 * The dashboard's toolbar: the metric, the x axis, the log scale, the smoothing of the training curve
 * and "Save chart as PNG". Each control writes the UI state and says whether the chart's series change.
 */
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { el } from '../shared/pageElements';
import { clampSmoothing, METRICS, X_AXES, type UiState } from './uiState';

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

/**
 * `changed(structure)` runs after a control changed `ui`; `structure` is true when the chart's series
 * change (a new metric, axis or scale, or the faint raw curve appearing or going).
 */
export function buildToolbar(ui: UiState, changed: (structure: boolean) => void, savePng: () => void): { toolbar: HTMLElement; pngButton: HTMLElement } {
  const metricSelect = select('Metric', METRICS, { nats: 'nats / char', bits: 'bits / char', perplexity: 'perplexity' }, ui.metric, (v) => {
    ui.metric = v;
    changed(true);
  });
  const xSelect = select('X axis', X_AXES, { step: 'steps', chars: 'characters seen', seconds: 'wall time' }, ui.xAxis, (v) => {
    ui.xAxis = v;
    changed(true);
  });

  const logBox = document.createElement('vscode-checkbox') as VscodeCheckbox;
  logBox.textContent = 'Log scale';
  logBox.checked = ui.log;
  logBox.addEventListener('change', () => {
    ui.log = logBox.checked;
    changed(true);
  });

  const smoothInput = el('input', { type: 'range', min: '0', max: '0.99', step: '0.01', id: 'smoothing', 'aria-describedby': 'smoothing-value' });
  smoothInput.value = String(ui.smoothing);
  const smoothOut = el('output', { id: 'smoothing-value', for: 'smoothing' }, ui.smoothing.toFixed(2));
  smoothInput.addEventListener('input', () => {
    const hadRaw = ui.smoothing > 0;
    ui.smoothing = clampSmoothing(Number(smoothInput.value));
    smoothOut.value = ui.smoothing.toFixed(2);
    // The faint raw curve appears only while smoothing, so toggling it changes the series.
    changed(hadRaw !== ui.smoothing > 0);
  });

  const pngButton = el('vscode-button', { secondary: '', title: 'Save the chart with its legend as a PNG image' }, 'Save chart as PNG');
  pngButton.addEventListener('click', () => savePng());

  const toolbar = el(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Chart options' },
    metricSelect,
    xSelect,
    logBox,
    el('label', { class: 'field smoothing', for: 'smoothing' }, el('span', { class: 'field-label' }, 'Smoothing'), smoothInput, smoothOut),
    el('span', { class: 'spacer' }),
    pngButton,
  );
  return { toolbar, pngButton };
}
