/**
 * Activations: what the trained network tracks, on the code being edited. This module registers
 * the feature with the editor — the "Show Activations" panel (and its serializer), the in-editor
 * overlay, interpretable-cell discovery, select-to-search (cells active here, similar spans), gate
 * saturation and the editor hover — over the ActivationsController that composes the parts
 * (activationsController.ts).
 */
import * as vscode from 'vscode';
import { ActivationsController } from './activationsController';
import { ActivationsPanel } from './activationsPanel';
import { errorMessage, type ActivationsDeps } from './activationsSession';


export function registerActivations(context: vscode.ExtensionContext, deps: ActivationsDeps): void {
  const controller = new ActivationsController(context, deps);
  const log = (line: string) => deps.output.appendLine(line);
  const command = (id: string, fn: () => unknown) =>
    vscode.commands.registerCommand(id, async () => {
      try {
        await fn();
      } catch (e) {
        log(`${id} failed: ${e instanceof Error && e.stack ? e.stack : errorMessage(e)}`);
        void vscode.window.showErrorMessage(`LSTM Lab: ${errorMessage(e)}`);
      }
    });
  const analyses = controller.analyses;
  context.subscriptions.push(
    controller,
    ActivationsPanel.registerSerializer(context.extensionUri, controller, log),
    command('lstmLab.showActivations', () => controller.showActivations()),
    command('lstmLab.toggleActivationOverlay', () => controller.toggleOverlay()),
    command('lstmLab.findInterpretableCells', () => analyses.findInterpretableCells()),
    command('lstmLab.findCellsActiveHere', () => analyses.findCellsActiveHere()),
    command('lstmLab.findSimilarSpans', () => analyses.findSimilarSpans()),
    command('lstmLab.showGateSaturation', () => analyses.showGateSaturation()),
    vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }], { provideHover: (d, p, t) => controller.probes.provideHover(d, p, t) }),
  );
}
