/**
 * The host side of one inference worker (dist/inferenceWorker.js): starts it the way the training
 * controller starts its worker (LSTM_LAB_NATIVE pointing at the built addon when there is one),
 * loads a checkpoint into it, and turns requests into promises matched by id. A crashed worker
 * fails its pending requests and is started afresh on the next one. An idle timeout (for the
 * analysis worker) ends it when it has had nothing to do for a while.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { describeRejected } from '../protocol/validation';
import { HostToInference, InferenceModelInfo, InferenceToHost, isInferenceToHost } from '../protocol/inference';

type Request = HostToInference extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;
type Reply = Exclude<InferenceToHost, { type: 'log' } | { type: 'failed' }>;

interface Pending {
  resolve(m: Reply): void;
  reject(e: Error): void;
  expect: Reply['type'];
  timer?: NodeJS.Timeout;
}

/** A request the worker did not answer in time (the worker has been restarted). */
export class InferenceTimeout extends Error {
  override name = 'InferenceTimeout';
}

interface ReplyFor {
  load: 'loaded';
  trace: 'traced';
  probe: 'probed';
  spanCells: 'spanCellsFound';
  discover: 'discovered';
  similarSpans: 'similarSpansFound';
  saturation: 'saturationComputed';
}

const EXPECT: ReplyFor = {
  load: 'loaded',
  trace: 'traced',
  probe: 'probed',
  spanCells: 'spanCellsFound',
  discover: 'discovered',
  similarSpans: 'similarSpansFound',
  saturation: 'saturationComputed',
};

export class InferenceClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private model: InferenceModelInfo | null = null;
  private loading: { checkpoint: string; promise: Promise<InferenceModelInfo> } | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(
    private readonly extensionPath: string,
    private readonly log: (line: string) => void,
    private readonly name: string,
    /** End the worker after this long without a request (0 = keep it). */
    private readonly idleMs = 0,
    /** The worker script (default: the bundled dist/inferenceWorker.js). */
    private readonly script = path.join(extensionPath, 'dist', 'inferenceWorker.js'),
  ) {}

  get loaded(): InferenceModelInfo | null {
    return this.model;
  }

  /** Load `checkpoint` unless it is the one loaded already. */
  async ensureModel(checkpoint: string): Promise<InferenceModelInfo> {
    if (this.model?.checkpoint === checkpoint && this.worker) return this.model;
    if (this.loading?.checkpoint === checkpoint) return this.loading.promise;
    const promise = this.request({ type: 'load', checkpoint }).then((m) => {
      this.model = m.model;
      this.log(`[${this.name}] model ${path.basename(path.dirname(checkpoint))}/${path.basename(checkpoint)}: ${m.model.kind} ${m.model.layers}×${m.model.hidden}, kernels ${m.model.kernel}, ${m.model.backend}`);
      return m.model;
    });
    this.loading = { checkpoint, promise };
    try {
      return await promise;
    } finally {
      if (this.loading?.promise === promise) this.loading = null;
    }
  }

  /**
   * Send a request; resolves with the worker's answer of the matching type. With `timeoutMs`, a
   * worker that has not answered by then is ended (it is restarted by the next request) and the
   * request fails with InferenceTimeout.
   */
  request<R extends Request>(req: R, transfer: ArrayBuffer[] = [], timeoutMs = 0): Promise<Extract<Reply, { type: ReplyFor[R['type']] }>> {
    if (this.disposed) return Promise.reject(new Error('the inference worker is closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    this.touch();
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve: resolve as (m: Reply) => void, reject, expect: EXPECT[req.type] };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          if (!this.pending.has(id)) return;
          this.log(`[${this.name}] the worker did not answer a ${req.type} request in ${timeoutMs / 1000} s: restarting it`);
          void this.stop(new InferenceTimeout(`the inference worker did not answer in ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      worker.postMessage({ ...req, id } as HostToInference, transfer);
    });
  }

  private touch(): void {
    if (!this.idleMs) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0) void this.stop();
      else this.touch();
    }, this.idleMs);
    this.idleTimer.unref?.();
  }

  /** Workers this client is terminating: their exit is expected, not an error to log. */
  private readonly stopping = new WeakSet<Worker>();

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const script = this.script;
    const addon = path.join(this.extensionPath, 'native', 'build', 'Release', 'lstm_lab.node');
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (fs.existsSync(addon) && !env.LSTM_LAB_NATIVE) env.LSTM_LAB_NATIVE = addon;
    const worker = new Worker(script, { env, stdout: false, stderr: false });
    worker.on('message', (m: unknown) => this.onMessage(m));
    worker.on('error', (e) => {
      this.log(`[${this.name}] worker crashed: ${e.stack ?? e.message}`);
      this.failAll(new Error(`the inference worker crashed: ${e.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        this.worker = null;
        this.model = null;
      }
      // terminate() (idle, restart, dispose) ends a worker with code 1: that is its normal end here.
      const stopped = this.stopping.delete(worker);
      if (code !== 0 && !stopped && !this.disposed) {
        const busy = [...this.pending.values()].map((p) => p.expect);
        this.log(`[${this.name}] worker ended unexpectedly with exit code ${code}${busy.length ? ` while ${busy.length} request(s) waited (${busy.join(', ')})` : ''}; the next request starts a new one`);
      }
      this.failAll(new Error('the inference worker stopped'));
    });
    this.worker = worker;
    this.model = null;
    return worker;
  }

  private onMessage(m: unknown): void {
    if (!isInferenceToHost(m)) {
      this.log(`[${this.name}] ignored a ${describeRejected(m)}`);
      return;
    }
    if (m.type === 'log') {
      this.log(`[${this.name}] ${m.line}`);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (p.timer) clearTimeout(p.timer);
    if (m.type === 'failed') p.reject(new Error(m.message));
    else if (m.type !== p.expect) p.reject(new Error(`the inference worker answered ${m.type} to a request for ${p.expect}`));
    else p.resolve(m);
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e);
    }
  }

  /** End the worker (a later request starts a new one); pending requests fail with `reason`. */
  async stop(reason: Error = new Error('the inference worker was stopped')): Promise<void> {
    const w = this.worker;
    if (w) this.stopping.add(w);
    this.worker = null;
    this.model = null;
    this.loading = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.failAll(reason);
    if (w) await w.terminate();
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
  }
}
