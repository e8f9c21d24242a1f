/**
 * End to end, as a person uses LSTM Lab: in code-server (a real VS Code) driven by headless Chromium,
 * open a workspace of C files, train the smallest preset from the command palette, watch the
 * dashboard finish the run, colour a file with activations, see the overlay, accept a ghost-text
 * completion with Tab, sample into an editor. Every step asserts on the DOM and leaves a screenshot
 * in test-results/e2e/.
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
  activeEditorText, artifactsDir, CommandNotFound, dialogText, ensureCodeServer, installExtension, launchBrowser, log,
  notificationTexts, openFile, paletteHasCommand, pickQuickItem, quickInputLabels, quickInputVisible, repoRoot,
  runCommand, screenshot, SEL, startCodeServer, waitForCommand, waitForWorkbench,
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

export function writeFixture(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({
    'lstmLab.train.steps': 400,
    'lstmLab.train.evalEvery': 100,
    'lstmLab.train.minutes': 0,
    ...(process.env.LSTM_LAB_E2E_SETTINGS ? JSON.parse(process.env.LSTM_LAB_E2E_SETTINGS) as Record<string, unknown> : {}),
  }, null, 2) + '\n');
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
  /** The dashboard webview, once found. */
  dashboard?: FrameLocator;
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
      // Toggle back so the next steps see a plain editor.
      await run(page, 'LSTM Lab: Toggle Activation Overlay');
      return `${n} decorations`;
    },
  },
  {
    name: 'typing shows ghost text; Tab accepts it',
    fn: async ({ page }) => {
      await requireCommand(page, 'LSTM Lab: Toggle Completions');
      await openFile(page, 'main.c');
      await page.locator(`${SEL.activeEditorLines}`).click();
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Enter');
      const typed = 'static int ';
      await page.keyboard.type(typed, { delay: 60 });
      const ghost = page.locator('.editor-group-container.active .monaco-editor :is(.ghost-text-decoration, .ghost-text-decoration-preview)');
      const ghostText = async () => (await ghost.allTextContents()).join('').replace(/\u00a0/g, ' ');
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
    const ctx: Context = { page };
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
