/**
 * Runs the integration suite (./index.ts) inside code-server's extension host through the
 * development path: the workbench URL carries extensionDevelopmentPath (the repo root, or
 * $LSTM_LAB_INTEGRATION_EXTENSION) and extensionTestsPath (out/test/integration/index.js); the
 * workbench reports the suite's outcome to `window.codeAutomationExit`. Works offline.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureCodeServer, launchBrowser, log, repoRoot, startCodeServer } from '../e2e/codeServer';

/** The extension folder under test; fails clearly when its `main` has not been built. */
export function extensionUnderTest(): string {
  const dir = path.resolve(process.env.LSTM_LAB_INTEGRATION_EXTENSION || repoRoot());
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { main?: string };
  const main = path.resolve(dir, manifest.main ?? 'extension.js');
  if (!fs.existsSync(main) && !fs.existsSync(main + '.js')) {
    throw new Error(`${path.relative(process.cwd(), main) || main} does not exist: build the extension first (esbuild, npm run package)`);
  }
  return dir;
}

/** Logs and report: test-results/integration/ (gitignored), or $LSTM_LAB_INTEGRATION_ARTIFACTS. */
export function integrationArtifacts(): string {
  return process.env.LSTM_LAB_INTEGRATION_ARTIFACTS || path.join(repoRoot(), 'test-results', 'integration');
}

/** A small C workspace that sets no lstmLab settings (the suite checks the defaults). */
export function writeIntegrationWorkspace(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'main.c'), '#include <stdio.h>\n\nint main(void)\n{\n\tprintf("hello\\n");\n\treturn 0;\n}\n');
}

export async function runInCodeServer(): Promise<number> {
  const started = Date.now();
  const extension = extensionUnderTest();
  const suite = path.join(__dirname, 'index.js');
  const entry = ensureCodeServer();
  const base = path.join(os.tmpdir(), 'lstm-lab-integration');
  fs.rmSync(base, { recursive: true, force: true });
  const workspace = path.join(base, 'workspace');
  writeIntegrationWorkspace(workspace);
  const out = integrationArtifacts();
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const reportFile = path.join(out, 'report.txt');
  fs.writeFileSync(reportFile, '');

  const server = await startCodeServer({
    folder: workspace,
    userDataDir: path.join(base, 'user-data'),
    logFile: path.join(out, 'code-server.log'),
    env: { LSTM_LAB_INTEGRATION_REPORT: reportFile },
  }, entry);
  log(`code-server on ${server.url} (${Date.now() - started} ms); extension ${extension}`);
  const browser = await launchBrowser();
  const consoleLog = path.join(out, 'browser-console.log');
  browser.page.on('console', (m) => fs.appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`));
  let code = 1;
  try {
    const timeoutMs = Number(process.env.LSTM_LAB_INTEGRATION_TIMEOUT_MS || 180_000);
    const exit = new Promise<number>((resolve) => {
      void browser.page.exposeFunction('codeAutomationExit', (c: number) => resolve(c));
    });
    await browser.page.goto(server.workbenchUrl({ extensionDevelopmentPath: extension, extensionTestsPath: suite }));
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), timeoutMs).unref());
    code = await Promise.race([exit, timeout]);
    if (code === -1) log(`the suite did not finish within ${timeoutMs} ms`);
    if (code !== 0) await browser.page.screenshot({ path: path.join(out, 'failed.png') }).catch(() => undefined);
  } finally {
    await browser.close();
    await server.stop();
  }
  const lines = fs.readFileSync(reportFile, 'utf8');
  process.stdout.write(lines);
  if (code !== 0 && !/\bfailed\b/.test(lines)) {
    log(`the suite reported nothing (exit ${code}): see ${consoleLog} and ${server.logFile}`);
  }
  if (code !== 0) log(`logs and a screenshot (failed.png) kept in ${out}`);
  log(`integration (code-server) finished in ${((Date.now() - started) / 1000).toFixed(1)} s with exit ${code}`);
  return code === 0 ? 0 : 1;
}
