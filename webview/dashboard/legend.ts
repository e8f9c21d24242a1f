/**
 * The chart's legend: one toggle per run (its colour, id and model) with the values under the cursor,
 * or the latest ones, and a key saying which line is which. Unticking a run hides it in the chart.
 */
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type uPlot from 'uplot';
import type { XAxis } from '../../src/extension/protocol/dashboard';
import { legendReadings, type Curve } from './chartModel';
import { modelText } from './format';
import { el } from '../shared/pageElements';
import type { RunColours } from './runColours';
import type { RunData } from './runStore';
import type { UiState } from './uiState';

interface LegendItem {
  root: HTMLDivElement;
  box: VscodeCheckbox;
  swatch: HTMLSpanElement;
  values: HTMLSpanElement;
}

export class Legend {
  readonly element = el('div', { class: 'legend', role: 'group', 'aria-label': 'Runs shown in the chart' });
  private readonly key = el('span', { class: 'legend-key' }, 'thin line: training · line with dots: validation');
  private readonly items = new Map<string, LegendItem>();

  /** `toggled()` runs after a tick changed `ui.hidden`. */
  constructor(
    private readonly ui: UiState,
    private readonly runs: ReadonlyMap<string, RunData>,
    private readonly colours: RunColours,
    private readonly toggled: () => void,
  ) {}

  /** The key's text (the PNG export writes it under its legend). */
  get keyText(): string {
    return this.key.textContent ?? '';
  }

  render(): void {
    const ui = this.ui;
    for (const [id, item] of this.items) {
      if (!this.runs.has(id)) {
        item.root.remove();
        this.items.delete(id);
      }
    }
    [...this.runs.keys()].forEach((id, i) => {
      let item = this.items.get(id);
      if (!item) {
        const box = document.createElement('vscode-checkbox') as VscodeCheckbox;
        const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        const values = el('span', { class: 'legend-values' });
        box.addEventListener('change', () => {
          const hidden = new Set(ui.hidden);
          if (box.checked) hidden.delete(id);
          else hidden.add(id);
          ui.hidden = [...hidden];
          this.toggled();
        });
        item = { root: el('div', { class: 'legend-item' }, swatch, box, values), box, swatch, values };
        this.items.set(id, item);
      }
      const run = this.runs.get(id)!;
      item.box.textContent = `${id} · ${modelText(run.summary)}`;
      item.box.checked = !ui.hidden.includes(id);
      item.swatch.style.backgroundColor = `var(${this.colours.colourVar(id)})`;
      item.swatch.classList.toggle('dashed', this.colours.dashOf(id).length > 0);
      item.root.classList.toggle('off', ui.hidden.includes(id));
      if (this.element.children[i] !== item.root) this.element.insertBefore(item.root, this.element.children[i] ?? null);
    });
    if (this.runs.size > 0) this.element.append(this.key);
    else this.key.remove();
  }

  /** Each run's readings at the chart's cursor, or its latest ones while the cursor is off the chart. */
  renderValues(chart: uPlot | null, curves: readonly Curve[], xAxis: XAxis): void {
    const left = chart?.cursor.left ?? -1;
    const at = chart && left >= 0 ? chart.posToVal(left, 'x') : null;
    for (const [id, item] of this.items) {
      const c = curves.find((k) => k.runId === id);
      item.values.textContent = c ? legendReadings(c, at, xAxis) : '';
    }
  }
}
