/**
 * The runs of this workspace, as folders under the extension's workspace storage (the engine's run
 * layout: run.json, metrics.jsonl, cells.jsonl, best.ckpt, last.ckpt), and which checkpoint is the
 * active model (used by the activation overlay and completions).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { readCellsRecords, readMetrics, readRunInfo, RUN_FILES } from '../engine/training/runFolder';
import { isCellsRecord, type RunSummary } from './protocol/runs';


const ACTIVE_KEY = 'lstmLab.activeCheckpoint';

export class RunStore implements vscode.Disposable {
  readonly root: string;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly activeChanged = new vscode.EventEmitter<string | null>();
  readonly onDidChangeActive = this.activeChanged.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    const base = context.storageUri ?? context.globalStorageUri;
    this.root = path.join(base.fsPath, 'runs');
  }

  fire(): void {
    this.changed.fire();
  }

  async list(): Promise<RunSummary[]> {
    let names: string[] = [];
    try {
      names = await fs.promises.readdir(this.root);
    } catch {
      return [];
    }
    const runs = await Promise.all(names.map((n) => this.read(path.join(this.root, n)).catch(() => null)));
    return runs.filter((r): r is RunSummary => r !== null).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  async read(dir: string): Promise<RunSummary> {
    const info = await readRunInfo(dir);
    const evals = await readMetrics(dir);
    const cells = (await readCellsRecords(dir)).filter(isCellsRecord);
    const last = evals[evals.length - 1];
    const end = info.finishedAt ? Date.parse(info.finishedAt) : Date.now();
    let status = info.status;
    // A run.json that says running but whose process is gone (window closed) was interrupted.
    if (status === 'running' && !this.live.has(info.runId)) status = 'cancelled';
    return {
      runId: info.runId,
      dir,
      model: { kind: info.model.kind, layers: info.model.layers, hidden: info.model.hidden, embedding: info.model.embedding },
      parameters: info.parameters,
      backend: info.backend,
      corpus: info.corpus.root,
      status,
      startedAt: info.startedAt,
      durationSeconds: last?.seconds ?? Math.max(0, (end - Date.parse(info.startedAt)) / 1000),
      charsPerSec: last?.charsPerSec ?? 0,
      bestValLoss: evals.length ? Math.min(...evals.map((e) => e.valLoss)) : info.bestValLoss ?? null,
      learningRate: last && Number.isFinite(last.learningRate) ? last.learningRate : null,
      step: last?.step ?? info.step ?? 0,
      evals: evals.map((e) => ({ step: e.step, chars: e.chars, seconds: e.seconds, trainLoss: e.trainLoss, valLoss: e.valLoss })),
      // Cells over time, for runs that recorded them (older runs have no cells.jsonl).
      ...(cells.length ? { cells } : {}),
    };
  }

  /** Runs training right now in this window (their run.json says running and means it). */
  readonly live = new Set<string>();

  async remove(runId: string): Promise<void> {
    const dir = path.join(this.root, runId);
    if (!dir.startsWith(this.root + path.sep)) throw new Error(`Not a run folder: ${runId}`);
    if (this.active()?.startsWith(dir + path.sep)) await this.setActive(null);
    await fs.promises.rm(dir, { recursive: true, force: true });
    this.changed.fire();
  }

  dirOf(runId: string): string {
    return path.join(this.root, runId);
  }

  checkpoints(runId: string): { role: 'best' | 'last'; path: string }[] {
    return (['best', 'last'] as const).map((role) => ({ role, path: path.join(this.dirOf(runId), RUN_FILES[role]) })).filter((c) => fs.existsSync(c.path));
  }

  active(): string | null {
    const p = this.context.workspaceState.get<string>(ACTIVE_KEY) ?? null;
    return p && fs.existsSync(p) ? p : null;
  }

  async setActive(checkpoint: string | null): Promise<void> {
    await this.context.workspaceState.update(ACTIVE_KEY, checkpoint ?? undefined);
    this.activeChanged.fire(checkpoint);
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
    this.activeChanged.dispose();
  }
}
