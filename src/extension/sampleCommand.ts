/**
 * "LSTM Lab: Sample from Model": generate text from the active model (or a chosen checkpoint) into a
 * new untitled editor, streamed as it is generated — the way char-rnn produced "Linux-style C".
 * Prime text = the current selection, if any. Cancellable; yields to the editor between chunks.
 */
import * as vscode from 'vscode';
import { ModelCache } from './modelCache';

export async function sampleFromModel(models: ModelCache, checkpoint?: string): Promise<void> {
  const ckpt = checkpoint ?? models.activeCheckpoint();
  if (!ckpt) {
    const train = 'Train on Workspace';
    const a = await vscode.window.showErrorMessage('LSTM Lab: there is no trained model yet in this workspace.', train);
    if (a === train) void vscode.commands.executeCommand('lstmLab.trainOnWorkspace');
    return;
  }
  const temperature = await vscode.window.showInputBox({
    title: 'Sample from Model',
    prompt: 'Temperature (0 = most likely character every time; 1 = the model\'s own distribution)',
    value: '0.8',
    validateInput: (v) => (/^\d*\.?\d+$/.test(v.trim()) && +v <= 5 ? undefined : 'A number from 0 to 5'),
  });
  if (temperature === undefined) return;
  const length = await vscode.window.showInputBox({
    title: 'Sample from Model',
    prompt: 'Characters to generate',
    value: '2000',
    validateInput: (v) => (/^\d+$/.test(v.trim()) && +v >= 1 && +v <= 1_000_000 ? undefined : 'A whole number from 1 to 1,000,000'),
  });
  if (length === undefined) return;
  const editor = vscode.window.activeTextEditor;
  const prime = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : '';
  const language = editor?.document.languageId ?? (await models.corpusLanguage(ckpt)) ?? 'plaintext';

  const model = await models.load(ckpt);
  const doc = await vscode.workspace.openTextDocument({ language, content: prime });
  const out = await vscode.window.showTextDocument(doc, { preview: false });
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'LSTM Lab: sampling', cancellable: true },
    async (progress, token) => {
      const n = Number(length);
      const gen = model.sample({ length: n, temperature: Number(temperature), prime, seed: Date.now() % 2 ** 31 });
      let done = 0;
      let chunk = '';
      let last = Date.now();
      for (const ch of gen) {
        if (token.isCancellationRequested) break;
        chunk += ch;
        done++;
        // Append in chunks every ~50 ms, letting the editor breathe in between.
        if (Date.now() - last > 50 || done === n) {
          const end = out.document.lineAt(out.document.lineCount - 1).range.end;
          await out.edit((e) => e.insert(end, chunk), { undoStopBefore: false, undoStopAfter: false });
          progress.report({ increment: (chunk.length / n) * 100, message: `${done} / ${n}` });
          chunk = '';
          last = Date.now();
          await new Promise((r) => setImmediate(r));
        }
      }
      if (chunk) {
        const end = out.document.lineAt(out.document.lineCount - 1).range.end;
        await out.edit((e) => e.insert(end, chunk));
      }
    },
  );
}
