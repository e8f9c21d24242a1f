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
 * This file lists the steps in their order and runs them. The steps are in trainingSteps.ts,
 * activationsSteps.ts and completionSteps.ts; what a step is and the actions they share in step.ts;
 * reading the dashboard in dashboardReading.ts; the workspace in fixture.ts; code-server and the
 * browser in codeServer.ts.
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
import { artifactsDir, ensureCodeServer, installExtension, launchBrowser, log, repoRoot, screenshot, startCodeServer, waitForWorkbench } from './codeServer';
import { activationOverlay, activationsPanel, keystrokeEchoMeasured } from './activationsSteps';
import { ghostTextAccepted, ghostTextWithSuggestionList, samplingIntoEditor } from './completionSteps';
import { bracketsAndGradients, compareArchitectures, errorOnionColoursFile } from './experimentsSteps';
import { writeFixture } from './fixture';
import { Skip, type Context, type Step } from './step';
import { cancelTraining, firstRunFinishes, longerTraining, resumeTraining, trainSmallestPreset, workbenchOpens } from './trainingSteps';

type Outcome = 'passed' | 'failed' | 'skipped' | 'not run';
interface StepResult { name: string; outcome: Outcome; seconds: number; detail: string }

/** The steps, in the order they run: each one starts where the one before left the workbench. */
const STEPS: Step[] = [
  workbenchOpens,
  trainSmallestPreset,
  firstRunFinishes,
  activationsPanel,
  activationOverlay,
  ghostTextAccepted,
  ghostTextWithSuggestionList,
  keystrokeEchoMeasured,
  samplingIntoEditor,
  errorOnionColoursFile,
  bracketsAndGradients,
  compareArchitectures,
  longerTraining,
  cancelTraining,
  resumeTraining,
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
