/**
 * End to end, as a person uses LSTM Lab: in code-server (a real VS Code) driven by headless Chromium,
 * open a workspace of C files, train the smallest preset from the command palette, watch the
 * dashboard finish the run, colour a file with activations, see the overlay, accept a ghost-text
 * completion with Tab, sample into an editor; then start a longer training ("char-rnn default") and
 * watch its curve grow (the chart's data-points), press Cancel on the progress notification (the run
 * is "cancelled" and keeps last.ckpt in the Runs view), resume it from the Runs view's context menu
 * (the same run continues past the step it stopped at) and cancel it again. Every step asserts on
 * the DOM and leaves a screenshot in test-results/e2e/; `node out/test/e2e/screenshots.js` then
 * copies the README's pictures from them into media/screenshots/.
 *
 * `npm run test:e2e` runs it with LSTM_LAB_E2E=1; without that variable it does nothing (it is also
 * loaded by `node --test out/test/`). Environment:
 *   LSTM_LAB_E2E_MODE=vsix|dev   vsix (default): install lstm-lab-<version>.vsix (or lstm-lab.vsix) from the repo root;
 *                                dev: load the repo folder through the development path
 *   LSTM_LAB_E2E_EXTENSION       another .vsix (vsix mode) or extension folder (dev mode) to drive
 *   LSTM_LAB_E2E_SETTINGS        JSON merged into the fixture's .vscode/settings.json, e.g.
 *                                '{"lstmLab.train.backend":"wasm"}'
 *   LSTM_LAB_E2E_STRICT=1        a skipped step (command not there yet) fails the run
 *   LSTM_LAB_E2E_TRAIN_TIMEOUT_S training must finish within this (default 600)
 *   LSTM_LAB_E2E_CACHE           code-server cache (default ~/.cache/lstm-lab-e2e)
 *   LSTM_LAB_E2E_ARTIFACTS       screenshots and logs (default test-results/e2e)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import {
  activeEditorText, artifactsDir, clearNotifications, clickContextMenuItem, clickDialogButton, clickNotificationAction,
  CommandNotFound, dialogText, ensureCodeServer, installExtension, launchBrowser, log, notificationTexts, openFile,
  openViewContainer, paletteHasCommand, pickQuickItem, quickInputLabels, quickInputVisible, repoRoot, runCommand,
  screenshot, SEL, startCodeServer, waitForCommand, waitForWorkbench,
} from './codeServer';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Fixture: a few KB of C in several files, written afresh each run (code-server saves edits).

function cFile(seed: number, functions: number): string {
  const types = ['int', 'long', 'unsigned int', 'size_t'];
  const out: string[] = ['#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>', '#include "util.h"', ''];
  out.push(`struct node_${seed} {\n\tint key;\n\tint value;\n\tstruct node_${seed} *next;\n};\n`);
  for (let i = 0; i < functions; i++) {
    const t = types[(seed + i) % types.length];
    const name = ['count', 'find', 'sum', 'push', 'pop', 'check'][(seed * 3 + i) % 6] + `_${seed}_${i}`;
    out.push(`/* ${name}: walks the list and ${i % 2 ? 'sums the values' : 'counts the matches'} */
static ${t} ${name}(struct node_${seed} *head, int key)
{
\t${t} total = 0;
\tstruct node_${seed} *n;

\tfor (n = head; n != NULL; n = n->next) {
\t\tif (n->key == key) {
\t\t\ttotal += ${i % 2 ? 'n->value' : '1'};
\t\t} else if (n->key > ${i + seed}) {
\t\t\tbreak;
\t\t}
\t}
\tif (total == 0)
\t\tfprintf(stderr, "${name}: no key %d\\n", key);
\treturn total;
}
`);
  }
  return out.join('\n');
}

/** The first training's length: a few seconds with the smallest preset. */
const FIRST_STEPS = 400;
/** Steps between evaluations (each one plots a validation point and writes the checkpoints). */
const EVAL_EVERY = 100;
/** The second training's length: far more than it gets before the test cancels it. */
const LONG_STEPS = 20_000;

/** Writes the fixture's .vscode/settings.json (the workbench picks up a change within a second or so). */
export function writeFixtureSettings(dir: string, steps: number): void {
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({
    'lstmLab.train.steps': steps,
    'lstmLab.train.evalEvery': EVAL_EVERY,
    'lstmLab.train.minutes': 0,
    ...(process.env.LSTM_LAB_E2E_SETTINGS ? JSON.parse(process.env.LSTM_LAB_E2E_SETTINGS) as Record<string, unknown> : {}),
  }, null, 2) + '\n');
}

export function writeFixture(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  writeFixtureSettings(dir, FIRST_STEPS);
  // Every file a few KB, so the one the corpus holds out for validation is a real sample.
  const prototypes = Array.from({ length: 40 }, (_, i) => `int ${['count', 'find', 'sum', 'push', 'pop', 'check'][i % 6]}_${i}(struct node *head, int key);\n`).join('');
  fs.writeFileSync(path.join(dir, 'util.h'), `#ifndef UTIL_H\n#define UTIL_H\n\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n#define MIN(a, b) ((a) < (b) ? (a) : (b))\n\nstruct node;\nint util_clamp(int v, int lo, int hi);\n${prototypes}\n#endif\n`);
  for (const [i, name] of ['list.c', 'hash.c', 'queue.c', 'tree.c', 'parse.c'].entries()) {
    fs.writeFileSync(path.join(dir, name), cFile(i + 1, 8));
  }
  fs.writeFileSync(path.join(dir, 'main.c'), '#include <stdio.h>\n#include "util.h"\n\nint util_clamp(int v, int lo, int hi)\n{\n\treturn MIN(MAX(v, lo), hi);\n}\n\nint main(void)\n{\n\tint i;\n\n\tfor (i = 0; i < 10; i++)\n\t\tprintf("%d\\n", util_clamp(i, 2, 8));\n\treturn 0;\n}\n' + cFile(9, 4));
}

// ---------------------------------------------------------------------------------------------
// Steps

class Skip extends Error {}

type Outcome = 'passed' | 'failed' | 'skipped' | 'not run';
interface StepResult { name: string; outcome: Outcome; seconds: number; detail: string }

interface Context {
  page: Page;
  /** The fixture folder the workbench has open. */
  workspace: string;
  /** The dashboard webview, once found. */
  dashboard?: FrameLocator;
  /** The second (long, cancelled, resumed) training. */
  longRun?: { runId: string; cancelledAt?: number };
}

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

/** Opens `file`, types `typed` on a new last line as a person does; returns the ghost-text locator and reader. */
async function typeOnNewLastLine(page: Page, file: string, typed: string, delayMs: number) {
  await requireCommand(page, 'LSTM Lab: Toggle Completions');
  await openFile(page, file);
  await page.locator(`${SEL.activeEditorLines}`).click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type(typed, { delay: delayMs });
  const ghost = page.locator('.editor-group-container.active .monaco-editor :is(.ghost-text-decoration, .ghost-text-decoration-preview)');
  const ghostText = async () => (await ghost.allTextContents()).join('').replace(/\u00a0/g, ' ');
  return { ghost, ghostText };
}

/** Skips (never passes) a step whose command the palette does not list. */
async function requireCommand(page: Page, title: string): Promise<void> {
  if (!(await paletteHasCommand(page, title))) throw new Skip(`command not found: "${title}" (the palette does not list it)`);
}

async function run(page: Page, title: string): Promise<void> {
  try {
    await runCommand(page, title);
  } catch (err) {
    if (err instanceof CommandNotFound) throw new Skip(err.message);
    throw err;
  }
}

/** Accepts the defaults of any further quick pick or input box a command shows (at most `max`). */
async function acceptPrompts(page: Page, max = 3): Promise<string[]> {
  const accepted: string[] = [];
  for (let i = 0; i < max; i++) {
    let visible = false;
    for (let t = 0; t < 8 && !visible; t++) {
      visible = await quickInputVisible(page);
      if (!visible) await sleep(250);
    }
    if (!visible) break;
    const labels = await quickInputLabels(page);
    const placeholder = await page.locator(SEL.quickInputBox).getAttribute('placeholder');
    accepted.push(`${placeholder ?? ''} → ${labels[0] ?? '(input, default)'}`);
    await page.keyboard.press('Enter');
    await sleep(300);
  }
  return accepted;
}

/** Finds the webview whose content has `selector`, within `timeoutMs`. */
async function webviewWith(page: Page, selector: string, timeoutMs: number): Promise<FrameLocator> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await page.locator(SEL.webviewOuter).count();
    for (let i = 0; i < n; i++) {
      const frame = page.locator(SEL.webviewOuter).nth(i).contentFrame().frameLocator('iframe#active-frame');
      if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector} within ${timeoutMs / 1000} s (${n} webviews open)`);
    await sleep(500);
  }
}

/** Runs-table rows, whatever the table is made of (HTML table, vscode-table, ARIA grid). */
const RUN_ROW = ':is(tr, vscode-table-row, [role="row"], [data-run-id])';
const SAMPLE_BOX = ':is([data-testid="sample"], #sample, .sample, pre)';

async function firstNonEmpty(loc: Locator): Promise<string> {
  const texts = await loc.allTextContents();
  return texts.map((t) => t.trim()).find((t) => t.length > 0) ?? '';
}

/** What the workbench says right now: toasts and a modal dialog, for failure messages. */
async function errorNotifications(page: Page): Promise<string> {
  const texts = await notificationTexts(page);
  const dialog = await dialogText(page);
  return (texts.length ? ` (notifications: ${texts.join(' | ')})` : '') + (dialog ? ` (dialog: ${dialog.replace(/\s+/g, ' ')})` : '');
}

/** What the dashboard shows, read in one go (it is re-found each time: a hidden panel reloads when shown). */
interface DashboardRun { runId: string; model: string; status: string; lastX: number | null; text: string }
interface DashboardState { points: number | null; runs: DashboardRun[] }

async function readDashboard(page: Page, timeoutMs = 10_000): Promise<DashboardState> {
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
async function waitForDashboard<T>(page: Page, timeoutMs: number, test: (d: DashboardState) => T | undefined, why: (d: DashboardState | null) => string): Promise<T> {
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

const describeRuns = (d: DashboardState | null) => (d ? d.runs.map((r) => `${r.runId} ${r.model} ${r.status}${r.lastX === null ? '' : ` @${r.lastX}`}`).join('; ') || 'no rows' : 'dashboard not found');

/** After starting a training: answers "LSTM Lab is already training… Stop that training?" when it shows. */
async function stopRunningTrainingIfAsked(page: Page, waitMs = 2500): Promise<string> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const text = await dialogText(page);
    if (/already training/i.test(text)) {
      await clickDialogButton(page, /Stop It and Start/i);
      return 'answered "already training" with "Stop It and Start"; ';
    }
    if (text) throw new Error(`unexpected dialog: ${text.replace(/\s+/g, ' ')}`);
    await sleep(250);
  }
  return '';
}

/** The Runs view's row of a run (matched by its model and status texts), in the LSTM Lab side bar. */
async function runsViewRow(page: Page, model: string, status: RegExp, timeoutMs = 20_000): Promise<{ row: Locator; text: string }> {
  const sidebar = await openViewContainer(page, 'LSTM Lab');
  const row = sidebar.locator('.monaco-list-row').filter({ hasText: model }).filter({ hasText: status }).first();
  try {
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const rows = await sidebar.locator('.monaco-list-row').allTextContents();
    throw new Error(`the Runs view shows no "${model}" run that is ${status} within ${timeoutMs / 1000} s (rows: ${rows.map((r) => r.trim()).join(' | ') || 'none'})`);
  }
  return { row, text: ((await row.textContent()) ?? '').replace(/\s+/g, ' ').trim() };
}

/**
 * The first training step the workbench reports: the progress notification ("LSTM Lab: 3% · step
 * 650 · loss …") or the status bar item ("LSTM Lab: step 650 · …").
 */
async function firstReportedStep(page: Page, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const texts = [...(await notificationTexts(page)), ...(await page.locator('.part.statusbar .statusbar-item').allTextContents())];
    for (const t of texts) {
      const m = /LSTM Lab:.*\bstep (\d+) · /.exec(t.replace(/\s+/g, ' '));
      if (m) return Number(m[1]);
    }
    if (Date.now() > deadline) throw new Error(`no training step reported (progress notification, status bar) within ${timeoutMs / 1000} s${await errorNotifications(page)}`);
    await sleep(200);
  }
}

/** The model of the second training: the "char-rnn default" preset. */
const LONG_MODEL = '2×128';

const TRAIN = 'LSTM Lab: Train on Workspace';
const trainTimeoutS = Number(process.env.LSTM_LAB_E2E_TRAIN_TIMEOUT_S || 600);

const STEPS: { name: string; fn: (ctx: Context) => Promise<string> }[] = [
  {
    name: 'workbench opens the fixture workspace',
    fn: async ({ page }) => {
      await waitForWorkbench(page);
      await page.locator(SEL.explorerRows, { hasText: 'list.c' }).first().waitFor({ timeout: 15_000 });
      const rows = await page.locator(SEL.explorerRows).allTextContents();
      // The extension's contributions show up in the palette a little after the workbench.
      if (!(await waitForCommand(page, TRAIN, 60_000))) throw new Error(`the palette never listed "${TRAIN}": is the extension installed? see code-server-logs/`);
      return `explorer: ${rows.map((r) => r.trim()).join(', ')}; "${TRAIN}" is in the palette`;
    },
  },
  {
    name: 'train the smallest preset from the palette',
    fn: async (ctx) => {
      const { page } = ctx;
      await runCommand(page, TRAIN); // not skippable: everything after needs a trained model
      const picked = await pickQuickItem(page, /small/i);
      const more = await acceptPrompts(page);
      ctx.dashboard = await webviewWith(page, RUN_ROW, 60_000);
      return `picked "${picked}"${more.length ? `; accepted ${more.join('; ')}` : ''}; dashboard open`;
    },
  },
  {
    name: 'dashboard: the run finishes, the chart has points, a sample is shown',
    fn: async (ctx) => {
      const { page } = ctx;
      const dash = ctx.dashboard ?? (await webviewWith(page, RUN_ROW, 30_000));
      const deadline = Date.now() + trainTimeoutS * 1000;
      let lastShot = Date.now();
      for (;;) {
        if ((await dash.locator(RUN_ROW, { hasText: /finished/i }).count()) > 0) break;
        const bad = await firstNonEmpty(dash.locator(RUN_ROW, { hasText: /failed|cancelled/i }));
        if (bad) throw new Error(`the run ended without finishing: ${bad}${await errorNotifications(page)}`);
        if (Date.now() > deadline) throw new Error(`no runs-table row became "finished" within ${trainTimeoutS} s${await errorNotifications(page)}`);
        if (Date.now() - lastShot > 30_000) {
          lastShot = Date.now();
          log(`  training… ${await firstNonEmpty(dash.locator(RUN_ROW, { hasText: /running/i }))}`.slice(0, 200));
        }
        await sleep(1000);
      }
      const row = await firstNonEmpty(dash.locator(RUN_ROW, { hasText: /finished/i }));
      // uPlot draws on a canvas: count points through the dashboard's data-points attribute when it has one.
      const withPoints = dash.locator('[data-points]');
      let chart: string;
      if ((await withPoints.count()) > 0) {
        const points = Number(await withPoints.first().getAttribute('data-points'));
        if (!(points > 0)) throw new Error(`the chart has no points (data-points=${points})`);
        chart = `chart: ${points} points`;
      } else {
        if ((await dash.locator('canvas').count()) === 0) throw new Error('the dashboard has no chart (no canvas, no [data-points])');
        chart = 'chart: canvas present (no [data-points] to count)';
      }
      let sample = '';
      const sampleDeadline = Date.now() + 30_000;
      while (!(sample = await firstNonEmpty(dash.locator(SAMPLE_BOX))) && Date.now() < sampleDeadline) await sleep(500);
      if (!sample) throw new Error(`the sample box is empty or missing (${SAMPLE_BOX})`);
      return `row: ${row.replace(/\s+/g, ' ').slice(0, 120)}; ${chart}; sample: ${JSON.stringify(sample.slice(0, 60))}`;
    },
  },
  {
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
  },
  {
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
  },
  {
    name: 'typing shows ghost text; Tab accepts it',
    fn: async ({ page }) => {
      const typed = 'static int ';
      const { ghost, ghostText } = await typeOnNewLastLine(page, 'main.c', typed, 60);
      const currentLine = async () => (await activeEditorText(page)).split('\n').reverse().find((l) => l.startsWith(typed)) ?? '';
      const deadline = Date.now() + 40_000;
      let suggestion = '';
      let triggered = false;
      while (!(suggestion = (await ghost.count()) > 0 ? await ghostText() : '')) {
        if (Date.now() > deadline) throw new Error(`no ghost text within 40 s of typing ${JSON.stringify(typed)}${await errorNotifications(page)}`);
        if (!triggered && Date.now() > deadline - 20_000) {
          triggered = true;
          await page.keyboard.press('Alt+Backslash'); // editor.action.inlineSuggest.trigger
        }
        await sleep(250);
      }
      await screenshot(page, 'ghost-text');
      const before = await currentLine();
      await page.keyboard.press('Tab');
      await sleep(500);
      const after = await currentLine();
      // The first line of the suggestion lands after what was typed (a model trained for a few
      // steps may well suggest only spaces: that still has to be accepted whole, not indented).
      const expected = before + suggestion.split('\n')[0];
      if (after !== expected) {
        throw new Error(`Tab did not accept the ghost text ${JSON.stringify(suggestion)}: line ${JSON.stringify(before)} became ${JSON.stringify(after)}`);
      }
      return `accepted ${JSON.stringify(suggestion)}${suggestion.trim() ? '' : ' (whitespace only: the model is barely trained)'} → ${JSON.stringify(after)}`;
    },
  },
  {
    // The most common way people type names: the word-suggestion list opens, and the ghost text must
    // still appear, extending the list's selected item (issue: it never did while the list was open).
    name: 'ghost text with the suggestion list open extends the selected item; Tab accepts it',
    fn: async ({ page }) => {
      const typed = 'struct node_'; // main.c has struct node_9: the word list offers it
      const { ghost, ghostText } = await typeOnNewLastLine(page, 'main.c', typed, 80);
      const suggestWidget = page.locator('.editor-group-container.active .monaco-editor .suggest-widget.visible');
      const currentLine = async () => (await activeEditorText(page)).split('\n').reverse().find((l) => l.startsWith('struct node')) ?? '';
      const started = Date.now();
      const deadline = started + 40_000;
      let suggestion = '';
      let listSeen = false;
      let listSeenAt = 0;
      let triggered = false;
      while (!(listSeen && (suggestion = (await ghost.count()) > 0 ? await ghostText() : ''))) {
        if (!listSeen && (await suggestWidget.count()) > 0) {
          listSeen = true;
          listSeenAt = Date.now();
        }
        if (Date.now() > deadline) throw new Error(`no ghost text within 40 s of typing ${JSON.stringify(typed)} (suggestion list ${listSeen ? 'open' : 'never opened'})${await errorNotifications(page)}`);
        // Quick suggestions stay closed where the editor thinks it is inside a string (an earlier
        // accepted suggestion may have left a quote open): open the list by hand then.
        if (!listSeen && !triggered && Date.now() > started + 1_500) {
          triggered = true;
          await page.keyboard.press('Control+Space');
        }
        await sleep(200);
      }
      const listOpen = (await suggestWidget.count()) > 0;
      const shownAfterMs = Date.now() - listSeenAt;
      await screenshot(page, 'ghost-text-with-suggestions');
      if (!listOpen) throw new Error(`the suggestion list closed before the ghost text came (${JSON.stringify(suggestion)})`);
      const before = await currentLine();
      const expected = before + suggestion.split('\n')[0];
      // Tab takes the list's item; the ghost text that extends it stays and a second Tab takes the rest.
      let tabs = 0;
      let after = before;
      while (tabs < 3 && after !== expected) {
        await page.keyboard.press('Tab');
        tabs++;
        await sleep(500);
        after = await currentLine();
      }
      if (after !== expected) throw new Error(`Tab did not accept the ghost text ${JSON.stringify(suggestion)}: line ${JSON.stringify(before)} became ${JSON.stringify(after)}`);
      await page.keyboard.press('Escape');
      return `list open${triggered ? ' (with Ctrl+Space)' : ''}, ghost text ${JSON.stringify(suggestion)} ~${shownAfterMs} ms after the list opened; ${tabs} Tab(s) → ${JSON.stringify(after)}`;
    },
  },
  {
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
  },
  {
    name: 'sampling opens an editor with generated text',
    fn: async ({ page }) => {
      await requireCommand(page, 'LSTM Lab: Sample from Model');
      const tabsBefore = await page.locator('.tabs-container .tab').allTextContents();
      await run(page, 'LSTM Lab: Sample from Model');
      const prompts = await acceptPrompts(page);
      const deadline = Date.now() + 60_000;
      let text = '';
      for (;;) {
        const tabs = await page.locator('.tabs-container .tab').allTextContents();
        text = await activeEditorText(page).catch(() => '');
        const newTab = tabs.length > tabsBefore.length || tabs.some((t) => !tabsBefore.includes(t));
        if (newTab && text.trim().length >= 20) break;
        if (Date.now() > deadline) throw new Error(`no new editor with generated text within 60 s (tabs: ${tabs.join(', ')})${await errorNotifications(page)}`);
        await sleep(500);
      }
      return `${prompts.length ? `accepted ${prompts.join('; ')}; ` : ''}sample: ${JSON.stringify(text.slice(0, 80))}`;
    },
  },
  {
    name: 'a longer training: the dashboard curves grow',
    fn: async (ctx) => {
      const { page } = ctx;
      await clearNotifications(page);
      // Long enough never to finish before the test cancels it.
      writeFixtureSettings(ctx.workspace, LONG_STEPS);
      const want = `${LONG_STEPS} steps`;
      const deadline = Date.now() + 30_000;
      let picked = '';
      for (;;) {
        await runCommand(page, TRAIN);
        await page.locator(SEL.quickInputRows).first().waitFor({ state: 'visible', timeout: 15_000 });
        const first = (await quickInputLabels(page))[0] ?? '';
        // The default comes first, so Enter trains it.
        if (!/char-rnn/i.test(first)) throw new Error(`the first preset is not "char-rnn default"; items: ${(await quickInputLabels(page)).join(' | ')}`);
        picked = await pickQuickItem(page, /char-rnn/i);
        await sleep(300);
        await page.locator(SEL.quickInputRows).first().waitFor({ state: 'visible', timeout: 15_000 });
        const duration = (await quickInputLabels(page))[0] ?? '';
        if (duration.replace(/,/g, '').includes(want)) {
          await page.keyboard.press('Enter'); // the setting, pre-selected
          picked += `, ${duration}`;
          break;
        }
        // The workbench has not read the new .vscode/settings.json yet.
        await page.keyboard.press('Escape');
        if (Date.now() > deadline) throw new Error(`the duration never offered "${want}" first after .vscode/settings.json changed: ${duration}`);
        await sleep(1000);
      }
      const answered = await stopRunningTrainingIfAsked(page);
      // First reading: once the new run is running and has points of its own.
      const first = await waitForDashboard(page, 90_000,
        (d) => {
          const r = d.runs.find((x) => x.status.startsWith('running') && x.model.includes(LONG_MODEL));
          return r && r.lastX !== null && d.points ? { run: r, points: d.points } : undefined;
        },
        (d) => `the dashboard shows no running ${LONG_MODEL} run with points within 90 s (data-points ${d?.points ?? '–'}; runs: ${describeRuns(d)})`);
      ctx.longRun = { runId: first.run.runId };
      // Second reading: more points, and past the first evaluation (a validation point, a checkpoint).
      const second = await waitForDashboard(page, 90_000,
        (d) => {
          const r = d.runs.find((x) => x.runId === first.run.runId);
          return d.points !== null && d.points > first.points && r && r.lastX !== null && r.lastX > EVAL_EVERY ? { run: r, points: d.points } : undefined;
        },
        (d) => `the chart did not grow past step ${EVAL_EVERY} within 90 s: data-points ${first.points} → ${d?.points ?? '–'} (runs: ${describeRuns(d)})`);
      return `${answered}picked "${picked.split(',')[0]}"; run ${first.run.runId}: data-points ${first.points} → ${second.points}, step ${first.run.lastX} → ${second.run.lastX} (${second.run.status})`;
    },
  },
  {
    name: 'Cancel in the progress notification stops the run and keeps a checkpoint',
    fn: async (ctx) => {
      const { page } = ctx;
      const runId = ctx.longRun?.runId;
      if (!runId) throw new Error('no long training to cancel (the previous step failed)');
      const clicked = await clickNotificationAction(page, /LSTM Lab/, 'Cancel', 20_000);
      const cancelled = await waitForDashboard(page, 90_000,
        (d) => {
          const r = d.runs.find((x) => x.runId === runId);
          if (r && /finished|failed/.test(r.status)) throw new Error(`run ${runId} ended "${r.status}", not "cancelled"`);
          return r?.status === 'cancelled' ? r : undefined;
        },
        (d) => `run ${runId} did not become "cancelled" within 90 s of pressing Cancel (runs: ${describeRuns(d)})`);
      await page.mouse.move(1, 1); // keep the pointer off the chart: the legend would show the hovered values
      const { row, text } = await runsViewRow(page, LONG_MODEL, /cancelled/);
      const step = Number(/step (\d+)/.exec(text)?.[1]);
      if (!(step > 0)) throw new Error(`the Runs view does not say at which step the run stopped: "${text}"`);
      ctx.longRun = { runId, cancelledAt: step };
      // Expand the run: its checkpoints are its children.
      if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
      const sidebar = page.locator('.part.sidebar');
      const last = sidebar.locator('.monaco-list-row', { hasText: /last\.ckpt/ }).first();
      try {
        await last.waitFor({ state: 'visible', timeout: 15_000 });
      } catch {
        throw new Error(`the cancelled run has no last.ckpt in the Runs view (rows: ${(await sidebar.locator('.monaco-list-row').allTextContents()).map((t) => t.trim()).join(' | ')})`);
      }
      const ckpts = (await sidebar.locator('.monaco-list-row', { hasText: /\.ckpt/ }).allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
      const stopped = (await notificationTexts(page)).find((t) => /training stopped at step/.test(t));
      return `pressed Cancel on "${clicked.slice(0, 80)}"; dashboard: ${cancelled.runId} ${cancelled.status} @${cancelled.lastX}; Runs view: "${text}", checkpoints: ${ckpts.join(', ')}${stopped ? `; "${stopped.replace(/\s+/g, ' ').slice(0, 80)}"` : ''}`;
    },
  },
  {
    name: 'Resume Training from the Runs view continues the cancelled run',
    fn: async (ctx) => {
      const { page } = ctx;
      const { runId, cancelledAt } = ctx.longRun ?? {};
      if (!runId || !cancelledAt) throw new Error('no cancelled run to resume (the previous step failed)');
      await clearNotifications(page);
      const { row } = await runsViewRow(page, LONG_MODEL, /cancelled/);
      await row.click({ button: 'right' });
      await clickContextMenuItem(page, 'Resume Training');
      const answered = await stopRunningTrainingIfAsked(page, 1000);
      await page.mouse.move(1, 1);
      // The first step the workbench reports (progress notification, status bar) continues the
      // cancelled run: a run started afresh would report a handful of steps.
      const firstStep = await firstReportedStep(page, 60_000);
      if (firstStep <= cancelledAt) throw new Error(`the resumed training reported step ${firstStep} first: it did not continue from step ${cancelledAt}`);
      // Let it run to its next evaluation (a validation point and checkpoints after the resume).
      const nextEval = (Math.floor(cancelledAt / EVAL_EVERY) + 1) * EVAL_EVERY;
      const resumed = await waitForDashboard(page, 120_000,
        (d) => {
          const r = d.runs.find((x) => x.runId === runId);
          if (r?.status === 'failed') throw new Error(`the resumed run ${runId} failed`);
          const running = d.runs.filter((x) => x.status.startsWith('running'));
          if (running.some((x) => x.runId !== runId)) throw new Error(`resuming started another run: ${running.map((x) => x.runId).join(', ')} (expected ${runId} to continue)`);
          return r && r.status.startsWith('running') && r.lastX !== null && r.lastX >= nextEval ? r : undefined;
        },
        (d) => `run ${runId} did not run again from step ${cancelledAt} to ${nextEval} within 120 s (runs: ${describeRuns(d)})`);
      const runsRunning = (await runsViewRow(page, LONG_MODEL, /running/, 10_000)).text;
      await screenshot(page, 'resumed-run-running');
      // Cancel again: the resumed run stops later than the first time, with its checkpoint.
      await clickNotificationAction(page, /LSTM Lab/, 'Cancel', 20_000);
      const again = await waitForDashboard(page, 90_000,
        (d) => {
          const r = d.runs.find((x) => x.runId === runId);
          return r?.status === 'cancelled' ? r : undefined;
        },
        (d) => `the resumed run ${runId} did not become "cancelled" within 90 s (runs: ${describeRuns(d)})`);
      const { text } = await runsViewRow(page, LONG_MODEL, /cancelled/);
      const step = Number(/step (\d+)/.exec(text)?.[1]);
      if (!(step > cancelledAt)) throw new Error(`the resumed run stopped at step ${step}, not after ${cancelledAt}: "${text}"`);
      // The picture of the dashboard for the README: both runs, the Runs view beside it.
      await clearNotifications(page);
      await runCommand(page, 'LSTM Lab: Show Training Dashboard').catch(() => undefined);
      await runCommand(page, 'View: Toggle Maximize Editor Group').catch(() => undefined);
      await page.mouse.move(1, 1);
      await sleep(500);
      return `${answered}${runId} resumed: first reported step ${firstStep} (cancelled at ${cancelledAt}), dashboard "${resumed.status}" @${resumed.lastX}; Runs view: "${runsRunning}"; cancelled again: dashboard @${again.lastX}, Runs view "${text}"`;
    },
  },
];

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const t0 = Date.now();
  const mode = process.env.LSTM_LAB_E2E_MODE || 'vsix';
  if (mode !== 'vsix' && mode !== 'dev') throw new Error(`LSTM_LAB_E2E_MODE must be vsix or dev, not "${mode}"`);
  const strict = process.env.LSTM_LAB_E2E_STRICT === '1';
  const root = repoRoot();
  const artifacts = artifactsDir();
  for (const f of fs.readdirSync(artifacts)) fs.rmSync(path.join(artifacts, f), { recursive: true, force: true });
  const timings: string[] = [];
  const mark = (what: string, since: number) => timings.push(`${what} ${((Date.now() - since) / 1000).toFixed(1)} s`);

  let t = Date.now();
  const entry = ensureCodeServer();
  mark('code-server install/check', t);

  const base = path.join(os.tmpdir(), 'lstm-lab-e2e');
  fs.rmSync(base, { recursive: true, force: true });
  const workspace = path.join(base, 'workspace');
  writeFixture(workspace);
  const extensionsDir = path.join(base, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });

  let dev: { extensionDevelopmentPath: string } | undefined;
  if (mode === 'vsix') {
    const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
    const candidates = process.env.LSTM_LAB_E2E_EXTENSION
      ? [path.resolve(process.env.LSTM_LAB_E2E_EXTENSION)]
      : [path.join(root, `lstm-lab-${version}.vsix`), path.join(root, 'lstm-lab.vsix')];
    const vsix = candidates.find((f) => fs.existsSync(f));
    if (!vsix) throw new Error(`no ${candidates.map((f) => path.basename(f)).join(' or ')} at the repo root: run \`npm run package\` first, or LSTM_LAB_E2E_MODE=dev`);
    t = Date.now();
    installExtension(entry, vsix, extensionsDir, path.join(artifacts, 'install-extension.log'));
    mark('vsix install', t);
    log(`installed ${path.basename(vsix)}`);
  } else {
    const folder = path.resolve(process.env.LSTM_LAB_E2E_EXTENSION || root);
    if (!fs.existsSync(path.join(folder, 'dist', 'extension.js'))) throw new Error(`${path.join(folder, 'dist', 'extension.js')} is missing: build the extension first (esbuild)`);
    dev = { extensionDevelopmentPath: folder };
  }

  t = Date.now();
  const server = await startCodeServer({ folder: workspace, userDataDir: path.join(base, 'user-data'), extensionsDir, logFile: path.join(artifacts, 'code-server.log') }, entry);
  mark('code-server start (/healthz)', t);
  const browser = await launchBrowser();
  const { page } = browser;
  const consoleLog = path.join(artifacts, 'browser-console.log');
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') fs.appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`); });
  page.setDefaultTimeout(30_000);

  const results: StepResult[] = [];
  try {
    t = Date.now();
    await page.goto(server.workbenchUrl(dev));
    await waitForWorkbench(page);
    mark('workbench ready', t);
    log(`workbench ready (${mode} mode, ${server.url})`);
    const ctx: Context = { page, workspace };
    let failed = false;
    for (const step of STEPS) {
      if (failed) {
        results.push({ name: step.name, outcome: 'not run', seconds: 0, detail: 'after a failure' });
        continue;
      }
      const s = Date.now();
      log(`step: ${step.name}`);
      try {
        const detail = await step.fn(ctx);
        const shot = await screenshot(page, step.name);
        results.push({ name: step.name, outcome: 'passed', seconds: (Date.now() - s) / 1000, detail: `${detail} [${path.basename(shot)}]` });
      } catch (err) {
        const shot = await screenshot(page, `${err instanceof Skip && !strict ? 'SKIPPED' : 'FAILED'}-${step.name}`).catch(() => '');
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof Skip && !strict) {
          results.push({ name: step.name, outcome: 'skipped', seconds: (Date.now() - s) / 1000, detail: `SKIPPED: ${message}` });
          await page.keyboard.press('Escape').catch(() => undefined);
        } else {
          failed = true;
          results.push({ name: step.name, outcome: 'failed', seconds: (Date.now() - s) / 1000, detail: `${message} [${path.basename(shot)}]` });
          if (!(err instanceof Skip) && err instanceof Error && err.stack) fs.writeFileSync(path.join(artifacts, 'failure.txt'), `${step.name}\n${err.stack}\n`);
          // The workbench's DOM at the failure, to see what a selector missed (webviews are iframes: not in it).
          await page.content().then((html) => fs.writeFileSync(path.join(artifacts, 'failure.html'), html)).catch(() => undefined);
        }
      }
      const r = results[results.length - 1];
      log(`  ${r.outcome.toUpperCase()} (${r.seconds.toFixed(1)} s): ${r.detail}`);
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  mark('whole e2e', t0);

  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  console.log('\nLSTM Lab end to end, in code-server ' + (mode === 'vsix' ? '(packaged .vsix)' : '(development path)'));
  for (const r of results) console.log(`  ${r.outcome.padEnd(7)} ${r.name}${r.outcome === 'passed' ? '' : `: ${r.detail}`}`);
  console.log(`timings: ${timings.join('; ')}`);
  const failedStep = results.find((r) => r.outcome === 'failed');
  if (failedStep) {
    console.log(`FAILED at step "${failedStep.name}": ${failedStep.detail}`);
    console.log(`screenshots and logs kept in ${artifacts} (code-server.log, code-server-logs/, browser-console.log)`);
  }
  if (count('not run')) console.log(`${count('not run')} steps not run after the failure`);
  console.log(`e2e: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
  return failedStep ? 1 : 0;
}

if (require.main === module) {
  if (process.env.LSTM_LAB_E2E !== '1') {
    console.log('skipped: set LSTM_LAB_E2E=1');
  } else if (process.env.NODE_TEST_CONTEXT) {
    console.log('skipped: the end-to-end test runs with `npm run test:e2e`, not under node --test');
  } else {
    main().then((code) => process.exit(code), (err) => {
      console.error(`e2e: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  }
}
