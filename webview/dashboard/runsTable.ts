/**
 * The runs table: one row per run with its colour, sortable by any column (the header's buttons), a
 * click selects the run (its sample, CSV export), a double click opens its folder. Rows are kept and
 * moved only when the order changes, so a focused button keeps its focus.
 */
import { el } from '../shared/pageElements';
import { COLUMNS, sortedRuns } from './runColumns';
import type { RunColours } from './runColours';
import type { RunData } from './runStore';
import { nextSort, type SortKey, type UiState } from './uiState';

interface Row {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
  name: HTMLButtonElement;
  swatch: HTMLSpanElement;
}

export interface RunsTableActions {
  /** After a header click changed `ui.sort`. */
  saveState(): void;
  select(runId: string): void;
  openFolder(runId: string): void;
}

export class RunsTable {
  readonly section: HTMLElement;
  private readonly head = el('tr');
  private readonly body = el('tbody');
  private readonly headerButtons = new Map<SortKey, { th: HTMLTableCellElement; button: HTMLButtonElement }>();
  private readonly rows = new Map<string, Row>();
  private readonly emptyRow = el('tr', { class: 'empty-row' }, el('td', { colspan: String(COLUMNS.length) }, 'No runs yet. Start one with “LSTM Lab: Train on Workspace”.'));

  constructor(
    private readonly ui: UiState,
    private readonly runs: ReadonlyMap<string, RunData>,
    private readonly colours: RunColours,
    private readonly actions: RunsTableActions,
  ) {
    const table = el('table', { class: 'runs' }, el('caption', {}, 'Runs'), el('thead', {}, this.head), this.body);
    this.section = el('section', { class: 'runs-section' }, el('div', { class: 'table-wrap' }, table));
    for (const col of COLUMNS) {
      const button = el('button', { type: 'button', class: 'sort' });
      button.addEventListener('click', () => {
        ui.sort = nextSort(ui.sort, col.key, col.numeric);
        actions.saveState();
        this.render();
      });
      const th = el('th', { scope: 'col', class: col.numeric ? 'num' : '' }, button);
      this.headerButtons.set(col.key, { th, button });
      this.head.append(th);
    }
  }

  private makeRow(runId: string): Row {
    const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    const name = el('button', { type: 'button', class: 'run-name', title: 'Select this run (sample, CSV export)' });
    const cells = COLUMNS.map((c, i) => el('td', { class: c.numeric ? 'num' : '' }, ...(i === 0 ? [swatch, name] : [])));
    const tr = el('tr', {}, ...cells);
    name.addEventListener('click', () => this.actions.select(runId));
    tr.addEventListener('click', (e) => {
      if (e.target !== name) this.actions.select(runId);
    });
    tr.addEventListener('dblclick', () => this.actions.openFolder(runId));
    return { tr, cells, name, swatch };
  }

  render(): void {
    const ui = this.ui;
    for (const col of COLUMNS) {
      const h = this.headerButtons.get(col.key)!;
      h.button.textContent = col.title(ui.metric);
      if (ui.sort.key === col.key) h.th.setAttribute('aria-sort', ui.sort.dir === 1 ? 'ascending' : 'descending');
      else h.th.removeAttribute('aria-sort');
    }
    const list = sortedRuns(this.runs.values(), ui.sort);
    for (const [id, row] of this.rows) {
      if (!this.runs.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    list.forEach((run, i) => {
      const id = run.summary.runId;
      let row = this.rows.get(id);
      if (!row) {
        row = this.makeRow(id);
        this.rows.set(id, row);
      }
      row.name.textContent = id;
      row.name.title = `${id}: select this run (sample, CSV export)`;
      row.swatch.style.backgroundColor = `var(${this.colours.colourVar(id)})`;
      COLUMNS.forEach((c, ci) => {
        if (ci === 0) return;
        row!.cells[ci].textContent = c.cell(run, ui.metric);
        if (c.tooltip) row!.cells[ci].title = c.tooltip(run);
      });
      const selected = ui.selected === id;
      row.tr.classList.toggle('selected', selected);
      row.tr.classList.toggle('hidden-run', ui.hidden.includes(id));
      row.name.setAttribute('aria-pressed', String(selected));
      // Move rows only when the order changed, so a focused button keeps its focus.
      if (this.body.children[i] !== row.tr) this.body.insertBefore(row.tr, this.body.children[i] ?? null);
    });
    if (list.length === 0 && this.body.children.length === 0) this.body.append(this.emptyRow);
    else if (list.length > 0) this.emptyRow.remove();
  }
}
