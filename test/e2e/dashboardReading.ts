/**
 * Reading the training dashboard from its DOM (it is found again each time: a hidden panel reloads
 * when shown): the runs table's rows with their model, status and the legend's latest x, and the
 * number of points the chart plots (its data-points attribute; the curves are on a canvas).
 */
import type { Page } from 'playwright-core';
import { errorNotifications, sleep, webviewWith } from './step';

/** Runs-table rows, whatever the table is made of (HTML table, vscode-table, ARIA grid). */
export const RUN_ROW = ':is(tr, vscode-table-row, [role="row"], [data-run-id])';
export const SAMPLE_BOX = ':is([data-testid="sample"], #sample, .sample, pre)';

/** What the dashboard shows, read in one go (it is re-found each time: a hidden panel reloads when shown). */
export interface DashboardRun { runId: string; model: string; status: string; lastX: number | null; text: string }
export interface DashboardState { points: number | null; runs: DashboardRun[] }

export async function readDashboard(page: Page, timeoutMs = 10_000): Promise<DashboardState> {
  const dash = await webviewWith(page, '.chart[data-points], table.runs', timeoutMs);
  return dash.locator('body').evaluate((body: any) => {
    const chart = body.querySelector('[data-points]');
    const points = chart ? Number(chart.getAttribute('data-points')) : null;
    const legend: string[] = Array.from(body.querySelectorAll('.legend-item') as ArrayLike<any>).map((li) => String(li.textContent ?? ''));
    const rows = Array.from(body.querySelectorAll('table.runs tbody tr') as ArrayLike<any>).filter((tr) => !tr.classList.contains('empty-row'));
    const runs = rows.map((tr) => {
      const cells: string[] = Array.from((tr.cells ?? tr.children) as ArrayLike<any>).map((c) => String(c.textContent ?? '').replace(/\s+/g, ' ').trim());
      const text = cells.join(' | ');
      const runId = String(tr.querySelector('.run-name')?.textContent ?? tr.cells?.[0]?.textContent ?? '').trim();
      const status = /\b(running(?: \d+%)?|finished|cancelled|failed)(?!\w)/.exec(text)?.[1] ?? '';
      const model = /\b(lstm|gru|rnn) \d+×\d+/.exec(text)?.[0] ?? '';
      // The legend shows each run's latest values: "train 1.549 · val 1.752 · @ 400" (x axis: steps).
      const at = /@ ([\d,.]+)\s*([kKmM]?)/.exec(legend.find((t) => runId && t.includes(runId)) ?? '');
      const x = at ? Number(at[1].replace(/,/g, '')) * (({ '': 1, k: 1e3, m: 1e6 } as Record<string, number>)[at[2].toLowerCase()] ?? 1) : NaN;
      const lastX = Number.isFinite(x) ? x : null;
      return { runId, model, status, lastX, text };
    });
    return { points, runs };
  });
}

/** Polls the dashboard until `test` returns a value (not undefined), or throws `why()` after `timeoutMs`. */
export async function waitForDashboard<T>(page: Page, timeoutMs: number, test: (d: DashboardState) => T | undefined, why: (d: DashboardState | null) => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: DashboardState | null = null;
  for (;;) {
    last = await readDashboard(page, 5000).catch(() => last);
    const value = last ? test(last) : undefined;
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${why(last)}${await errorNotifications(page)}`);
    await sleep(400);
  }
}

export const describeRuns = (d: DashboardState | null) => (d ? d.runs.map((r) => `${r.runId} ${r.model} ${r.status}${r.lastX === null ? '' : ` @${r.lastX}`}`).join('; ') || 'no rows' : 'dashboard not found');
