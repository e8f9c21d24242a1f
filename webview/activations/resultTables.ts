/**
 * The analyses' result tables in the panel: interpretable cells (per concept, the best cells with
 * their AUC or correlation) and cells active in the editor's selection; each cell is a button that
 * shows it in the Text tab.
 */
import type { CellsResultMessage, HereResultMessage } from '../../src/extension/protocol/activations';
import { el } from '../shared/pageElements';

export type CellsResult = CellsResultMessage | null;
export type HereResult = HereResultMessage | null;
/** A button that shows layer/cell/quantity in the Text tab. */
export type CellButton = (layer: number, cell: number, quantity: string, text: string, title: string) => HTMLElement;

export function renderCellsTable(cellsBody: HTMLElement, result: CellsResult, cellButton: CellButton): void {
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

export function renderHereTable(hereBody: HTMLElement, result: HereResult, cellButton: CellButton): void {
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
