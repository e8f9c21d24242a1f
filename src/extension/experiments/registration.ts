/**
 * The experiments feature's registration: its controller, the experiments panel (and its serializer,
 * so it comes back after a reload), and the commands "Compare Architectures", "Show Experiments",
 * "Peel the Error Onion", "Long-Range Brackets", "Gradient Flow" and "Clear Error Colouring".
 */
import * as vscode from 'vscode';
import type { RunStore } from '../runStore';
import { ExperimentsController } from './experimentsController';
import { ExperimentsPanel, type ExperimentsSource } from './experimentsPanel';

export interface ExperimentsServices {
  store: RunStore;
  output: vscode.OutputChannel;
  trainingRunning: () => boolean;
  /** Registers a command whose failure is logged and shown (the composition root's wrapper). */
  command: (id: string, fn: () => unknown) => vscode.Disposable;
}

export function registerExperiments(context: vscode.ExtensionContext, s: ExperimentsServices): ExperimentsController {
  const log = (line: string) => s.output.appendLine(line);
  const base = context.storageUri ?? context.globalStorageUri;
  let source: ExperimentsSource;
  const showPanel = () => void ExperimentsPanel.show(context, source, log);
  const controller = new ExperimentsController({ extensionPath: context.extensionPath, storageRoot: base.fsPath, runs: s.store, trainingRunning: s.trainingRunning, log, showPanel });
  source = { state: () => controller.state(), onDidChange: controller.onDidChange, handle: (m) => controller.handle(m) };
  context.subscriptions.push(
    controller,
    ExperimentsPanel.registerSerializer(context, source, log),
    s.command('lstmLab.compareArchitectures', () => controller.compare()),
    s.command('lstmLab.showExperiments', showPanel),
    s.command('lstmLab.peelErrorOnion', () => controller.analyse('errors')),
    s.command('lstmLab.bracketDistances', () => controller.analyse('brackets')),
    s.command('lstmLab.gradientFlow', () => controller.analyse('gradients')),
    s.command('lstmLab.clearErrorColouring', () => controller.colouring.clear()),
    s.command('lstmLab.cancelExperiment', () => controller.cancel()),
  );
  return controller;
}
