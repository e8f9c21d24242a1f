/**
 * The selected run's section: its latest generated sample (the one saved with the run until an
 * evaluation sends a new one), and the buttons that export its curve as CSV and open its folder.
 */
import { grouped } from './format';
import { el } from '../shared/pageElements';
import type { RunData } from './runStore';

export class SamplePane {
  readonly section: HTMLElement;
  private readonly meta = el('span', { class: 'sample-meta' });
  private readonly text = el('pre', { class: 'sample', tabindex: '0', 'aria-label': 'Latest generated sample' });
  private readonly csvButton = el('vscode-button', { title: "Save the selected run's curve as CSV" }, 'Export CSV');
  private readonly folderButton = el('vscode-button', { secondary: '', title: "Open the selected run's folder" }, 'Open run folder');

  /** `selected()`: the id of the selected run, if any, when a button is pressed. */
  constructor(selected: () => string | null, actions: { exportCsv(runId: string): void; openFolder(runId: string): void }) {
    this.csvButton.addEventListener('click', () => {
      const runId = selected();
      if (runId) actions.exportCsv(runId);
    });
    this.folderButton.addEventListener('click', () => {
      const runId = selected();
      if (runId) actions.openFolder(runId);
    });
    this.section = el(
      'section',
      { class: 'sample-section', 'aria-label': 'Selected run' },
      el('div', { class: 'sample-head' }, el('h2', {}, 'Sample'), this.meta, el('span', { class: 'spacer' }), this.csvButton, this.folderButton),
      this.text,
    );
  }

  render(run: RunData | undefined): void {
    this.csvButton.toggleAttribute('disabled', !run);
    this.folderButton.toggleAttribute('disabled', !run);
    if (!run) {
      this.meta.textContent = '';
      this.text.textContent = 'Select a run in the table.';
      this.text.classList.add('placeholder');
      return;
    }
    const s = run.sample;
    this.meta.textContent = s ? `${run.summary.runId} · ${s.step === null ? 'latest saved' : `step ${grouped.format(s.step)}`}` : run.summary.runId;
    this.text.textContent = s ? s.text : 'No sample yet: one is generated at each evaluation.';
    this.text.classList.toggle('placeholder', !s);
  }
}
