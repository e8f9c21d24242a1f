/**
 * The integration suite's entry, loaded by the extension host through `extensionTestsPath`
 * (code-server's development path or @vscode/test-electron): VS Code calls `run()`, and a rejected
 * promise makes the editor exit with 1. Loading this module does nothing.
 */
import type * as vscodeApi from 'vscode';
import { extensionTests } from './extensionTests';
import { runSequentially } from './runner';

export async function run(): Promise<void> {
  // Only the extension host has a `vscode` module; require it here, not at load time.
  const vscode = require('vscode') as typeof vscodeApi;
  await runSequentially(`LSTM Lab in VS Code ${vscode.version}`, extensionTests(vscode));
}
