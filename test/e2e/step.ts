/**
 * What an end-to-end step is — a name and a function of the shared context that returns what it saw
 * — and the workbench actions the steps share: running a command (a missing one skips the step),
 * accepting a command's prompts, finding a webview by its content, and what the notifications say.
 */
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { CommandNotFound, dialogText, notificationTexts, paletteHasCommand, quickInputLabels, quickInputVisible, runCommand, SEL } from './codeServer';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Skip extends Error {}

export interface Context {
  page: Page;
  /** The fixture folder the workbench has open. */
  workspace: string;
  /** The dashboard webview, once found. */
  dashboard?: FrameLocator;
  /** The second (long, cancelled, resumed) training. */
  longRun?: { runId: string; cancelledAt?: number };
}

/** One step: `fn` asserts on the workbench and returns what it saw (the report's detail). */
export interface Step {
  name: string;
  fn: (ctx: Context) => Promise<string>;
}

/** Skips (never passes) a step whose command the palette does not list. */
export async function requireCommand(page: Page, title: string): Promise<void> {
  if (!(await paletteHasCommand(page, title))) throw new Skip(`command not found: "${title}" (the palette does not list it)`);
}

export async function run(page: Page, title: string): Promise<void> {
  try {
    await runCommand(page, title);
  } catch (err) {
    if (err instanceof CommandNotFound) throw new Skip(err.message);
    throw err;
  }
}

/** Accepts the defaults of any further quick pick or input box a command shows (at most `max`). */
export async function acceptPrompts(page: Page, max = 3): Promise<string[]> {
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
export async function webviewWith(page: Page, selector: string, timeoutMs: number): Promise<FrameLocator> {
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

export async function firstNonEmpty(loc: Locator): Promise<string> {
  const texts = await loc.allTextContents();
  return texts.map((t) => t.trim()).find((t) => t.length > 0) ?? '';
}

/** What the workbench says right now: toasts and a modal dialog, for failure messages. */
export async function errorNotifications(page: Page): Promise<string> {
  const texts = await notificationTexts(page);
  const dialog = await dialogText(page);
  return (texts.length ? ` (notifications: ${texts.join(' | ')})` : '') + (dialog ? ` (dialog: ${dialog.replace(/\s+/g, ' ')})` : '');
}
