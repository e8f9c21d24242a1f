/**
 * Runs the integration suite (./index.ts) in desktop VS Code through @vscode/test-electron, on a
 * machine that can download VS Code (this one cannot: use runInCodeServer). The package is not a
 * dependency of the project: install it where this runs (`npm i --no-save @vscode/test-electron`).
 * Never skips silently: a missing package or a failed download is an error saying so.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { log } from '../e2e/codeServer';
import { extensionUnderTest, integrationArtifacts, writeIntegrationWorkspace } from './runInCodeServer';

interface TestElectron {
  runTests(options: {
    version?: string;
    extensionDevelopmentPath: string;
    extensionTestsPath: string;
    launchArgs?: string[];
    extensionTestsEnv?: Record<string, string | undefined>;
  }): Promise<number>;
}

export async function runInElectron(): Promise<number> {
  let testElectron: TestElectron;
  try {
    testElectron = require('@vscode/test-electron') as TestElectron;
  } catch {
    throw new Error('@vscode/test-electron is not installed: `npm i --no-save @vscode/test-electron`, on a machine that can download VS Code ' +
      '(or run LSTM_LAB_INTEGRATION=code-server, which works offline)');
  }
  const extension = extensionUnderTest();
  const base = path.join(os.tmpdir(), 'lstm-lab-integration-electron');
  fs.rmSync(base, { recursive: true, force: true });
  const workspace = path.join(base, 'workspace');
  writeIntegrationWorkspace(workspace);
  const out = path.join(integrationArtifacts(), 'electron');
  fs.mkdirSync(out, { recursive: true });
  const reportFile = path.join(out, 'report.txt');
  fs.writeFileSync(reportFile, '');
  if (process.platform === 'linux' && !process.env.DISPLAY) log('warning: DISPLAY is not set; run under xvfb-run if VS Code cannot open a window');

  const launchArgs = [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes',
    '--disable-gpu', '--user-data-dir', path.join(base, 'user-data'), '--extensions-dir', path.join(base, 'extensions')];
  if (typeof process.getuid === 'function' && process.getuid() === 0) launchArgs.push('--no-sandbox');
  try {
    const code = await testElectron.runTests({
      version: process.env.LSTM_LAB_VSCODE_VERSION || 'stable',
      extensionDevelopmentPath: extension,
      extensionTestsPath: path.join(__dirname, 'index.js'),
      launchArgs,
      extensionTestsEnv: { LSTM_LAB_INTEGRATION_REPORT: reportFile },
    });
    return code === 0 ? 0 : 1;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|getaddrinfo|download/i.test(message)) {
      throw new Error(`@vscode/test-electron could not download VS Code (${message}); this machine is offline: use LSTM_LAB_INTEGRATION=code-server`);
    }
    log(`VS Code exited with a failure: ${message}`);
    return 1;
  } finally {
    if (fs.existsSync(reportFile)) process.stdout.write(fs.readFileSync(reportFile, 'utf8'));
  }
}
