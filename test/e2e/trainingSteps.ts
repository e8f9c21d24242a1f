/**
 * The end-to-end steps that train: the workbench opens the fixture, the smallest preset trains from
 * the palette and the dashboard shows it finish; later a longer training ("char-rnn default") whose
 * curve grows, Cancel in its progress notification (the run is "cancelled" and keeps last.ckpt in the
 * Runs view), and Resume Training from the Runs view (the same run continues) cancelled again.
 */
import type { Locator, Page } from 'playwright-core';
import {
  clearNotifications, clickContextMenuItem, clickDialogButton, clickNotificationAction, dialogText, log, notificationTexts,
  openViewContainer, pickQuickItem, quickInputLabels, runCommand, screenshot, SEL, waitForCommand, waitForWorkbench,
} from './codeServer';
import { describeRuns, RUN_ROW, SAMPLE_BOX, waitForDashboard } from './dashboardReading';
import { EVAL_EVERY, LONG_STEPS, writeFixtureSettings } from './fixture';
import { acceptPrompts, errorNotifications, firstNonEmpty, sleep, webviewWith, type Step } from './step';

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

export const workbenchOpens: Step = {
  name: 'workbench opens the fixture workspace',
  fn: async ({ page }) => {
    await waitForWorkbench(page);
    await page.locator(SEL.explorerRows, { hasText: 'list.c' }).first().waitFor({ timeout: 15_000 });
    const rows = await page.locator(SEL.explorerRows).allTextContents();
    // The extension's contributions show up in the palette a little after the workbench.
    if (!(await waitForCommand(page, TRAIN, 60_000))) throw new Error(`the palette never listed "${TRAIN}": is the extension installed? see code-server-logs/`);
    return `explorer: ${rows.map((r) => r.trim()).join(', ')}; "${TRAIN}" is in the palette`;
  },
};

export const trainSmallestPreset: Step = {
  name: 'train the smallest preset from the palette',
  fn: async (ctx) => {
    const { page } = ctx;
    await runCommand(page, TRAIN); // not skippable: everything after needs a trained model
    const picked = await pickQuickItem(page, /small/i);
    const more = await acceptPrompts(page);
    ctx.dashboard = await webviewWith(page, RUN_ROW, 60_000);
    return `picked "${picked}"${more.length ? `; accepted ${more.join('; ')}` : ''}; dashboard open`;
  },
};

export const firstRunFinishes: Step = {
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
};

export const longerTraining: Step = {
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
};

export const cancelTraining: Step = {
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
};

export const resumeTraining: Step = {
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
};
