/**
 * The end-to-end steps on activations: the panel colours the open file, the overlay decorates the
 * editor and its hover shows a cell's value, gates and predictions, and keystroke echo in a big file
 * with the overlay and panel on against off (measured and printed, not asserted on).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { clearNotifications, log, openFile, screenshot } from './codeServer';
import { cFile } from './fixture';
import { acceptPrompts, requireCommand, run, sleep, webviewWith, type Step } from './step';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN;
};

/**
 * Types `count` characters at the cursor as a person does (~8 a second) and returns, per key, the
 * milliseconds from its keydown to the first repaint of the editor's lines that shows it (the visible
 * text grew by one). Measured in the page, so the test's own round trips do not count.
 */
async function keystrokeEcho(page: Page, count: number): Promise<number[]> {
  // In-page code as a string: this file compiles without the DOM's types.
  await page.evaluate(`(() => {
    const lines = document.querySelector('.editor-group-container.active .monaco-editor .view-lines');
    window.__echo?.stop();
    const rec = { downs: [], paints: [], base: lines?.textContent?.length ?? 0 };
    const onKey = (e) => { if (e.key.length === 1) rec.downs.push(performance.now()); };
    document.addEventListener('keydown', onKey, true);
    const mo = new MutationObserver(() => rec.paints.push([performance.now(), lines?.textContent?.length ?? 0]));
    if (lines) mo.observe(lines, { subtree: true, childList: true, characterData: true });
    rec.stop = () => { mo.disconnect(); document.removeEventListener('keydown', onKey, true); };
    window.__echo = rec;
  })()`);
  for (let i = 0; i < count; i++) {
    await page.keyboard.type('x');
    await sleep(100 + ((i * 37) % 50));
  }
  await sleep(1500);
  const rec = (await page.evaluate(`(() => { window.__echo.stop(); return { downs: window.__echo.downs, paints: window.__echo.paints, base: window.__echo.base }; })()`)) as { downs: number[]; paints: [number, number][]; base: number };
  return rec.downs.map((t, i) => {
    const shown = rec.paints.find(([at, length]) => at >= t && length >= rec.base + i + 1);
    return shown ? shown[0] - t : NaN;
  }).filter((x) => Number.isFinite(x));
}

export const activationsPanel: Step = {
  name: 'activations panel colours the open file',
  fn: async ({ page }) => {
    await requireCommand(page, 'LSTM Lab: Show Activations');
    await clearNotifications(page); // "training finished…" would cover the panel in the screenshots
    await openFile(page, 'list.c');
    await run(page, 'LSTM Lab: Show Activations');
    await acceptPrompts(page);
    const coloured = 'span[style*="background"]';
    const panel = await webviewWith(page, coloured, 60_000);
    const n = await panel.locator(coloured).count();
    if (n < 10) throw new Error(`only ${n} coloured spans in the activation panel`);
    const text = (await panel.locator('body').textContent()) ?? '';
    if (!/struct node_1|count_1_0|fprintf/.test(text)) throw new Error('the activation panel does not show the text of list.c');
    return `${n} coloured spans`;
  },
};

export const activationOverlay: Step = {
  name: 'activation overlay decorates the editor',
  fn: async ({ page }) => {
    await requireCommand(page, 'LSTM Lab: Toggle Activation Overlay');
    await openFile(page, 'list.c');
    await run(page, 'LSTM Lab: Toggle Activation Overlay');
    // TextEditorDecorationType renders as elements with ced-* classes.
    const decorations = page.locator('.editor-group-container.active .monaco-editor [class*="ced-"]');
    await decorations.first().waitFor({ timeout: 30_000 });
    const n = await decorations.count();
    await screenshot(page, 'overlay-on');
    // Hovering a coloured character shows the cell's value, its gates and the next-character predictions.
    const hover = page.locator('.monaco-hover', { hasText: 'LSTM Lab' });
    // (Background decorations are drawn in a layer under the text: hover the text's own tokens.)
    const inText = page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line span > span');
    const m = await inText.count();
    let hoverText = '';
    for (let k = 0; k < 6 && !hoverText; k++) {
      await page.mouse.move(0, 0);
      try {
        await inText.nth(Math.min(m - 1, 10 + k * 9)).hover({ timeout: 5_000 });
      } catch {
        continue; // scrolled out of sight: another one
      }
      try {
        await hover.first().waitFor({ timeout: 5_000 });
        hoverText = ((await hover.first().textContent()) ?? '').replace(/\s+/g, ' ');
      } catch {
        // a hover can be dismissed by a repaint; try another character
      }
    }
    if (!/layer \d+, cell \d+/.test(hoverText) || !/next/.test(hoverText)) throw new Error(`no LSTM Lab hover over the coloured text (got ${JSON.stringify(hoverText.slice(0, 200))})`);
    await screenshot(page, 'overlay-hover');
    await page.keyboard.press('Escape');
    // Toggle back so the next steps see a plain editor.
    await run(page, 'LSTM Lab: Toggle Activation Overlay');
    return `${n} decorations; hover: ${hoverText.slice(0, 140)}`;
  },
};

export const keystrokeEchoMeasured: Step = {
  // Typing must feel the same with the overlay on, in a big file with the panel open. Keystroke echo
  // (keydown → the typed character on screen) is measured in the page and printed, not asserted on.
  name: 'keystroke echo in a big file: overlay and panel on against off (measured)',
  fn: async ({ page, workspace }) => {
    await requireCommand(page, 'LSTM Lab: Toggle Activation Overlay');
    const big = Array.from({ length: 60 }, (_, i) => cFile(20 + i, 6)).join('\n');
    fs.writeFileSync(path.join(workspace, 'big.c'), big);
    // Quick open may not have indexed a file this new yet: try again until it has.
    for (let attempt = 1; ; attempt++) {
      try {
        await openFile(page, 'big.c');
        break;
      } catch (e) {
        if (attempt >= 4) throw e;
        await page.keyboard.press('Escape');
        await sleep(2000);
      }
    }
    const middle = Math.round(big.split('\n').length / 2);
    await page.keyboard.press('Control+G');
    await page.keyboard.type(String(middle));
    await page.keyboard.press('Enter');
    await sleep(300);
    await page.keyboard.press('End');
    const off = await keystrokeEcho(page, 30);
    await run(page, 'LSTM Lab: Show Activations');
    await acceptPrompts(page);
    await run(page, 'LSTM Lab: Toggle Activation Overlay');
    await openFile(page, 'big.c');
    const decorations = page.locator('.editor-group-container.active .monaco-editor [class*="ced-"]');
    await decorations.first().waitFor({ timeout: 60_000 });
    await page.keyboard.press('Control+G');
    await page.keyboard.type(String(middle + 2));
    await page.keyboard.press('Enter');
    await sleep(300);
    await page.keyboard.press('End');
    const on = await keystrokeEcho(page, 30);
    // After a pause the lines in sight are coloured again.
    await sleep(3000);
    const after = await decorations.count();
    await screenshot(page, 'overlay-big-file');
    await run(page, 'LSTM Lab: Toggle Activation Overlay');
    if (after === 0) throw new Error('the overlay did not colour the lines in sight again after typing paused');
    const fmt = (e: number[]) => `median ${quantile(e, 0.5).toFixed(0)} ms, p95 ${quantile(e, 0.95).toFixed(0)} ms, max ${Math.max(...e).toFixed(0)} ms`;
    const line = `keystroke echo in big.c (${big.length.toLocaleString('en-US')} chars, 30 keys at ~8/s): overlay off ${fmt(off)}; overlay + panel on ${fmt(on)}; ${after} decorations after the pause`;
    log(line);
    return line;
  },
};
