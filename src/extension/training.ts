/**
 * TrainingController: runs one training at a time in a child process (trainingWorker.ts says why
 * not a worker thread) and shows it — a progress
 * notification with Cancel, a status bar item, the Output channel, and live messages for the
 * dashboard. It also measures the extension host's event-loop delay while training runs, which is
 * the evidence that training never blocks the editor.
 */
import * as fs from 'fs';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import * as vscode from 'vscode';
import { ChildProcess, fork } from 'child_process';
import { ProgressPoint, RunSummary } from './protocol/runs';
import { describeRejected } from './protocol/validation';
import { HostToWorker, isWorkerToHost, TrainRequest, WorkerToHost } from './protocol/trainingWorker';
import { HostToDashboard } from './protocol/dashboard';
import { RunStore } from './runStore';

interface Session {
  worker: ChildProcess;
  request: TrainRequest;
  runId: string | null;
  run: RunSummary | null;
  finished: Promise<void>;
  resolveFinished: () => void;
  cancelled: boolean;
}

export interface EventLoopDelayReport {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

/** How long to wait for a cancelled worker to write its checkpoint before terminating it. */
const CANCEL_GRACE_MS = 60_000;

export class TrainingController implements vscode.Disposable {
  private session: Session | null = null;
  private readonly posted = new vscode.EventEmitter<HostToDashboard>();
  /** Live dashboard messages (progress, eval, cells, sample, runUpdated). */
  readonly onDidPost = this.posted.event;
  private readonly progressByRun = new Map<string, ProgressPoint[]>();
  private readonly lastSample = new Map<string, string>();
  private readonly statusBar: vscode.StatusBarItem;
  /** Event-loop delay of the last finished training (ms). */
  lastEventLoopDelay: EventLoopDelayReport | null = null;

  constructor(
    private readonly extensionPath: string,
    private readonly store: RunStore,
    private readonly output: vscode.OutputChannel,
  ) {
    this.statusBar = vscode.window.createStatusBarItem('lstmLab.training', vscode.StatusBarAlignment.Left, 50);
    this.statusBar.name = 'LSTM Lab training';
    this.statusBar.command = 'lstmLab.showDashboard';
  }

  get running(): boolean {
    return this.session !== null;
  }

  get runningRunId(): string | null {
    return this.session?.runId ?? null;
  }

  progressOf(runId: string): ProgressPoint[] {
    return this.progressByRun.get(runId) ?? [];
  }

  sampleOf(runId: string): string | undefined {
    return this.lastSample.get(runId);
  }

  /**
   * Start a training. If one is running, ask whether to stop it first; returns false if the user
   * keeps the running one.
   */
  async start(request: TrainRequest): Promise<boolean> {
    if (this.session) {
      const stop = 'Stop It and Start';
      const answer = await vscode.window.showWarningMessage(
        `LSTM Lab is already training${this.session.runId ? ` (run ${this.session.runId})` : ''}. Stop that training and start the new one?`,
        { modal: true },
        stop,
      );
      if (answer !== stop) return false;
      await this.stop();
    }
    const worker = this.createWorker();
    let resolveFinished!: () => void;
    const finished = new Promise<void>((r) => (resolveFinished = r));
    const session: Session = { worker, request, runId: null, run: null, finished, resolveFinished, cancelled: false };
    this.session = session;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    worker.on('message', (m: unknown) => {
      if (!isWorkerToHost(m)) {
        this.output.appendLine(`[host] ignored a ${describeRejected(m)}`);
        return;
      }
      this.onWorkerMessage(session, m);
    });
    worker.on('error', (e) => {
      this.output.appendLine(`[worker] failed: ${e.stack ?? e.message}`);
      void vscode.window.showErrorMessage(`LSTM Lab: the training process failed: ${e.message}`);
    });
    worker.stderr?.on('data', (d: Buffer) => this.output.append(`[worker] ${d.toString()}`));
    worker.on('exit', (code, signal) => {
      delay.disable();
      this.lastEventLoopDelay = {
        p50: delay.percentile(50) / 1e6,
        p99: delay.percentile(99) / 1e6,
        max: delay.max / 1e6,
        samples: delay.count,
      };
      const d = this.lastEventLoopDelay;
      this.output.appendLine(`extension host event-loop delay while training: p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms (${d.samples} samples)`);
      if (code !== 0 && !session.cancelled) this.output.appendLine(`[worker] exited with ${signal ?? `code ${code}`}`);
      if (session.runId) this.store.live.delete(session.runId);
      if (this.session === session) this.session = null;
      this.statusBar.hide();
      session.resolveFinished();
      this.store.fire();
    });
    this.output.appendLine(`— training on ${request.corpusPaths.join(', ')}: ${request.model.kind} ${request.model.layers}×${request.model.hidden}, sequence ${request.train.seqLength}, batch ${request.train.batchSize}${request.resume ? `, resuming ${request.resume}` : ''}`);
    this.post(worker, { type: 'train', request });
    this.statusBar.text = '$(sync~spin) LSTM Lab: reading the workspace…';
    this.statusBar.tooltip = 'LSTM Lab is training. Click to open the dashboard.';
    this.statusBar.show();
    this.showProgress(session);
    return true;
  }

  /** Cancel the running training; resolves when its worker has exited (after its last checkpoint). */
  async stop(): Promise<void> {
    const s = this.session;
    if (!s) return;
    s.cancelled = true;
    this.post(s.worker, { type: 'cancel' });
    // Unref'd: the grace period alone must not keep the process alive once the worker has gone.
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), CANCEL_GRACE_MS).unref());
    if ((await Promise.race([s.finished.then(() => 'done' as const), timeout])) === 'timeout') {
      this.output.appendLine('[host] the training process did not stop in time; ending it');
      s.worker.kill();
    }
  }

  private createWorker(): ChildProcess {
    const script = path.join(this.extensionPath, 'dist', 'trainingWorker.js');
    const addon = path.join(this.extensionPath, 'native', 'build', 'Release', 'lstm_lab.node');
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (fs.existsSync(addon) && !env.LSTM_LAB_NATIVE) env.LSTM_LAB_NATIVE = addon;
    // The host pins its own BLAS to one thread (extension.ts); training gets every core.
    delete env.OPENBLAS_NUM_THREADS;
    return fork(script, [], { env, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  }

  private post(worker: ChildProcess, m: HostToWorker): void {
    if (worker.connected) worker.send(m);
  }

  private showProgress(session: Session): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'LSTM Lab', cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => {
          if (this.session === session) {
            progress.report({ message: 'stopping after this step, saving a checkpoint…' });
            void this.stop();
          }
        });
        let reported = 0;
        const sub = this.onDidPost((m) => {
          if (m.type !== 'progress' || m.runId !== session.runId) return;
          const pct = m.fraction === null ? null : Math.min(100, Math.max(0, m.fraction * 100));
          const increment = pct === null ? undefined : pct - reported;
          if (pct !== null) reported = pct;
          progress.report({
            increment,
            message: `${pct === null ? '' : `${pct.toFixed(0)}% · `}step ${m.point.step} · loss ${m.point.trainLoss.toFixed(3)} nats/char · ${Math.round(m.charsPerSec).toLocaleString('en-US')} chars/s`,
          });
        });
        progress.report({ message: 'reading the workspace…' });
        return session.finished.finally(() => sub.dispose());
      },
    );
  }

  private onWorkerMessage(s: Session, m: WorkerToHost): void {
    switch (m.type) {
      case 'log':
        this.output.appendLine(m.line);
        break;
      case 'corpus':
        this.output.appendLine(m.summary);
        break;
      case 'started':
        s.runId = m.run.runId;
        s.run = m.run;
        this.store.live.add(m.run.runId);
        this.progressByRun.set(m.run.runId, []);
        this.output.appendLine(`run ${m.run.runId}: ${m.run.parameters.toLocaleString('en-US')} parameters on ${m.run.backend}; folder ${m.run.dir}`);
        this.store.fire();
        this.posted.fire({ type: 'runUpdated', run: m.run });
        break;
      case 'progress': {
        const list = this.progressByRun.get(m.runId) ?? [];
        list.push(m.point);
        this.progressByRun.set(m.runId, list);
        if (s.run) {
          s.run = { ...s.run, step: m.point.step, charsPerSec: m.charsPerSec, durationSeconds: m.point.seconds, learningRate: m.point.learningRate };
        }
        this.statusBar.text = `$(sync~spin) LSTM Lab: step ${m.point.step} · ${m.point.trainLoss.toFixed(3)} nats/char`;
        this.posted.fire({ type: 'progress', runId: m.runId, point: m.point, charsPerSec: m.charsPerSec, fraction: m.fraction });
        break;
      }
      case 'eval':
        this.output.appendLine(`step ${m.point.step}: train ${m.point.trainLoss.toFixed(3)}, validation ${m.point.valLoss.toFixed(3)} nats/char (${m.valBitsPerChar.toFixed(3)} bits/char, perplexity ${m.valPerplexity.toFixed(2)}), ${Math.round(m.charsPerSec).toLocaleString('en-US')} chars/s`);
        if (s.run) {
          s.run = { ...s.run, evals: [...s.run.evals, m.point], bestValLoss: s.run.bestValLoss === null ? m.point.valLoss : Math.min(s.run.bestValLoss, m.point.valLoss) };
        }
        this.posted.fire({ type: 'eval', runId: m.runId, point: m.point });
        this.store.fire(); // the Runs view shows the step and best loss of each evaluation
        break;
      case 'cells':
        if (s.run) s.run = { ...s.run, cells: [...(s.run.cells ?? []), m.record] };
        this.posted.fire({ type: 'cells', runId: m.runId, record: m.record });
        break;
      case 'sample':
        this.lastSample.set(m.runId, m.text);
        this.posted.fire({ type: 'sample', runId: m.runId, step: m.step, text: m.text });
        break;
      case 'checkpoint':
        if (m.role === 'best' && !this.store.active()) void this.store.setActive(m.path);
        break;
      case 'warning':
        this.output.appendLine(`warning: ${m.message}`);
        break;
      case 'done': {
        this.output.appendLine(`done (${m.status}): step ${m.step}, best validation loss ${m.bestValLoss?.toFixed(3) ?? '–'} nats/char; checkpoint ${m.checkpoint}`);
        if (m.status === 'finished' || m.status === 'cancelled') void this.store.setActive(m.checkpoint);
        const verb = m.status === 'cancelled' ? 'stopped' : 'finished';
        void vscode.window
          .showInformationMessage(`LSTM Lab: training ${verb} at step ${m.step}; best validation loss ${m.bestValLoss?.toFixed(3) ?? '–'} nats/char.`, 'Sample from Model')
          .then((a) => {
            if (a === 'Sample from Model') void vscode.commands.executeCommand('lstmLab.sampleFromModel');
          });
        if (s.run) this.posted.fire({ type: 'runUpdated', run: { ...s.run, status: m.status, step: m.step, bestValLoss: m.bestValLoss, durationSeconds: m.seconds } });
        s.worker.disconnect();
        break;
      }
      case 'failed':
        this.output.appendLine(`training failed: ${m.message}`);
        this.output.show(true);
        void vscode.window.showErrorMessage(`LSTM Lab: ${m.message}`);
        if (s.run) this.posted.fire({ type: 'runUpdated', run: { ...s.run, status: 'failed' } });
        s.worker.disconnect();
        break;
    }
  }

  dispose(): void {
    const s = this.session;
    if (s) {
      // Closing the window: ask the worker to stop and give it a moment to write its checkpoint.
      s.cancelled = true;
      this.post(s.worker, { type: 'cancel' });
      setTimeout(() => s.worker.kill(), 5_000).unref();
    }
    this.statusBar.dispose();
    this.posted.dispose();
  }
}
