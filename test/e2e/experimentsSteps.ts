/**
 * The end-to-end steps of the paper's experiments, as a user runs them from the palette: the error
 * onion of a file the model never saw (a stacked bar in the Experiments panel, the file coloured by
 * category), long-range brackets and gradient flow on it (plots with points), and Compare
 * Architectures over a small grid (a table of every run and n-gram, overlaid curves).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FrameLocator, Page } from 'playwright-core';
import { openFile, pickQuickItem, runCommand, screenshot, SEL } from './codeServer';
import { cFile } from './fixture';
import { errorNotifications, requireCommand, sleep, webviewWith, type Step } from './step';

/** A file written after the first training, so the model has not seen it. */
const FRESH = 'fresh.c';

async function experimentsPanel(page: Page, selector: string, timeoutMs: number): Promise<FrameLocator> {
  try {
    return await webviewWith(page, selector, timeoutMs);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}${await errorNotifications(page)}`);
  }
}

/** Quick open finds a file only once the workbench has indexed it: a new file may take a moment. */
async function openNewFile(page: Page, relPath: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await openFile(page, relPath);
    } catch (e) {
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw e;
      await sleep(1000);
    }
  }
}

async function attribute(panel: FrameLocator, selector: string, name: string): Promise<number> {
  return Number(await panel.locator(selector).first().getAttribute(name));
}

/** A chart's canvas was drawn (uPlot ran without an error): its box says so. */
async function drawn(panel: FrameLocator, selector: string, what: string): Promise<void> {
  const box = panel.locator(`${selector} [data-drawn="true"]`).first();
  try {
    await box.waitFor({ state: 'attached', timeout: 10_000 });
  } catch {
    throw new Error(`the ${what} chart was not drawn (no [data-drawn] box: see the LSTM Lab log for the page's error)`);
  }
}

export const errorOnionColoursFile: Step = {
  name: 'experiments: the error onion of an unseen file, and the file coloured by category',
  fn: async (ctx) => {
    const { page, workspace } = ctx;
    await requireCommand(page, 'LSTM Lab: Peel the Error Onion (Open File)');
    fs.writeFileSync(path.join(workspace, FRESH), cFile(42, 6));
    await openNewFile(page, FRESH);
    await runCommand(page, 'LSTM Lab: Peel the Error Onion (Open File)');
    const panel = await experimentsPanel(page, '[data-testid="onion"]', 180_000);
    const errors = await attribute(panel, '[data-testid="onion"]', 'data-errors');
    if (!(errors > 0)) throw new Error(`the onion counts no errors (data-errors=${errors})`);
    const segments = await panel.locator('[data-testid="onion"] .segment').count();
    if (segments === 0) throw new Error('the onion bar has no segments');
    // The editor shows the colouring: background decorations in the active editor's overlays.
    const coloured = page.locator('.editor-group-container .monaco-editor .view-overlays .cdr');
    const deadline = Date.now() + 15_000;
    while ((await coloured.count()) === 0) {
      if (Date.now() > deadline) throw new Error(`the file is not coloured (no decorations in its editor)${await errorNotifications(page)}`);
      await sleep(250);
    }
    const shown = await coloured.count();
    await screenshot(page, 'error-onion');
    // Clear takes the colours off.
    await runCommand(page, 'LSTM Lab: Clear Error Colouring');
    const clearDeadline = Date.now() + 10_000;
    while ((await coloured.count()) > 0) {
      if (Date.now() > clearDeadline) throw new Error(`Clear Error Colouring left ${await coloured.count()} decorations`);
      await sleep(200);
    }
    return `${errors} errors in ${segments} categories; ${shown} coloured spans visible, cleared by the command`;
  },
};

export const bracketsAndGradients: Step = {
  name: 'experiments: long-range brackets and gradient flow plotted for the unseen file',
  fn: async ({ page }) => {
    await requireCommand(page, 'LSTM Lab: Gradient Flow (Open File)');
    await openFile(page, FRESH);
    await runCommand(page, 'LSTM Lab: Long-Range Brackets (Open File)');
    const panel = await experimentsPanel(page, '[data-testid="brackets"] [data-points]', 120_000);
    const bracketPoints = await attribute(panel, '[data-testid="brackets"] [data-points]', 'data-points');
    if (!(bracketPoints > 0)) throw new Error(`the brackets plot has no points (${bracketPoints})`);
    await drawn(panel, '[data-testid="brackets"]', 'brackets');
    // The panel now has focus: the file is the editor the command works on.
    await openFile(page, FRESH);
    await runCommand(page, 'LSTM Lab: Gradient Flow (Open File)');
    await experimentsPanel(page, '[data-testid="gradients"] [data-points]', 120_000);
    const gradientPoints = await attribute(panel, '[data-testid="gradients"] [data-points]', 'data-points');
    const series = await attribute(panel, '[data-testid="gradients"] [data-series]', 'data-series');
    if (!(gradientPoints >= 64)) throw new Error(`the gradient plot has ${gradientPoints} points, fewer than the 64 lags`);
    await drawn(panel, '[data-testid="gradients"]', 'gradient flow');
    await panel.locator('[data-testid="gradients"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'gradient-flow');
    return `brackets: ${bracketPoints} points; gradients: ${series} series, ${gradientPoints} points`;
  },
};

export const compareArchitectures: Step = {
  name: 'experiments: Compare Architectures over a small grid — every run and n-gram in the table, curves overlaid',
  fn: async ({ page }) => {
    await requireCommand(page, 'LSTM Lab: Compare Architectures');
    await runCommand(page, 'LSTM Lab: Compare Architectures');
    const box = page.locator(SEL.quickInputBox);
    // Cell types (all three checked) and depths (1 and 2 checked): accept as they are.
    for (let i = 0; i < 2; i++) {
      await page.locator(SEL.quickInputRows).first().waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('Enter');
      await sleep(400);
    }
    await box.fill('16');
    await page.keyboard.press('Enter');
    await sleep(400);
    await pickQuickItem(page, /Steps each/);
    await sleep(400);
    await box.fill('40');
    await page.keyboard.press('Enter');
    const panel = await experimentsPanel(page, '[data-testid="comparison"]', 60_000);
    const deadline = Date.now() + 300_000;
    const table = panel.locator('[data-testid="comparison-table"]');
    for (;;) {
      const networks = await table.locator('tr[data-kind="network"]').count();
      const ngrams = await table.locator('tr[data-kind="ngram"]').count();
      if (networks === 6 && ngrams === 5) break;
      const failed = await panel.locator('.comparison .status.failed').count();
      if (failed) throw new Error(`the comparison failed: ${await panel.locator('.comparison .error').first().textContent().catch(() => '')}`);
      if (Date.now() > deadline) throw new Error(`after 300 s the table has ${networks} of 6 runs and ${ngrams} of 5 n-grams${await errorNotifications(page)}`);
      await sleep(1000);
    }
    const series = await attribute(panel, '[data-testid="comparison"] [data-series]', 'data-series');
    if (series !== 11) throw new Error(`the comparison chart draws ${series} series, not 6 runs + 5 n-gram levels`);
    await drawn(panel, '[data-testid="comparison"]', 'comparison');
    const rows = (await table.locator('tbody tr').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    await panel.locator('[data-testid="comparison"]').first().scrollIntoViewIfNeeded();
    await screenshot(page, 'compare-architectures');
    return `table: ${rows.slice(0, 3).join(' | ')} …; chart: ${series} series`;
  },
};
