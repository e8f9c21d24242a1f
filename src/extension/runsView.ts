/**
 * The "Runs" tree in the LSTM Lab activity-bar container: every run of this workspace with its
 * checkpoints; the active model is marked. Context values drive the menus in package.json:
 * run.running, run.stopped (cancelled or failed: can resume), run.finished, checkpoint.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunSummary } from './protocol/runs';
import { RunStore } from './runStore';

export type RunsNode = { kind: 'run'; run: RunSummary } | { kind: 'checkpoint'; run: RunSummary; role: 'best' | 'last'; path: string };

export class RunsView implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subs: vscode.Disposable[];

  /** The acceptance rates of a run's suggestions (set by the completions feature). */
  acceptance: (runDir: string) => string | null = () => null;

  constructor(private readonly store: RunStore) {
    this.subs = [store.onDidChange(() => this.changed.fire(undefined))];
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) return (await this.store.list()).map((run) => ({ kind: 'run', run }));
    if (node.kind === 'run') return this.store.checkpoints(node.run.runId).map((c) => ({ kind: 'checkpoint', run: node.run, role: c.role, path: c.path }));
    return [];
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const active = this.store.active();
    if (node.kind === 'run') {
      const r = node.run;
      const item = new vscode.TreeItem(`${r.model.kind} ${r.model.layers}×${r.model.hidden}`, vscode.TreeItemCollapsibleState.Collapsed);
      const best = r.bestValLoss === null ? '–' : r.bestValLoss.toFixed(3);
      // Short enough for the default side bar width; the whole story is in the tooltip.
      item.description = `${r.status} · step ${r.step} · ${best}`;
      item.tooltip = new vscode.MarkdownString(
        `**${r.runId}** — ${r.status} at step ${r.step.toLocaleString('en-US')} after ${Math.round(r.durationSeconds / 60)} min\n\n` +
          `best validation loss: ${best} nats/char${r.learningRate === null ? '' : ` · learning rate ${r.learningRate.toExponential(1)}`}\n\n` +
          `${r.parameters.toLocaleString('en-US')} parameters · ${r.backend}\n\ncorpus: ${r.corpus}\n\nstarted ${new Date(r.startedAt).toLocaleString()}` +
          (this.acceptance(r.dir) ? `\n\nsuggestions: ${this.acceptance(r.dir)}` : ''),
      );
      item.accessibilityInformation = { label: `${r.model.kind} ${r.model.layers} by ${r.model.hidden}, ${r.status} at step ${r.step}, best validation loss ${best} nats per character` };
      item.id = `run:${r.runId}`;
      item.contextValue = r.status === 'running' ? 'run.running' : r.status === 'finished' ? 'run.finished' : 'run.stopped';
      item.iconPath = new vscode.ThemeIcon(r.status === 'running' ? 'sync~spin' : r.status === 'failed' ? 'error' : active?.startsWith(r.dir + path.sep) ? 'pass-filled' : 'circuit-board');
      return item;
    }
    const isActive = active === node.path;
    const item = new vscode.TreeItem(`${node.role}.ckpt${isActive ? ' (active model)' : ''}`, vscode.TreeItemCollapsibleState.None);
    item.id = `ckpt:${node.path}`;
    item.description = node.role === 'best' ? 'lowest validation loss' : 'latest state';
    item.resourceUri = vscode.Uri.file(node.path);
    item.contextValue = 'checkpoint';
    item.iconPath = new vscode.ThemeIcon(isActive ? 'check' : 'save');
    return item;
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
    this.changed.dispose();
  }
}
