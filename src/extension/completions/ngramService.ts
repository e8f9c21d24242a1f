/**
 * The n-gram baseline as the editor uses it: one worker (dist/ngramWorker.js) per active model, which
 * builds the model from the corpus the network was trained on (or reads ngram.json beside the
 * checkpoint) and serves completions. The host never builds, parses or queries the n-gram itself.
 * With `hybrid` in the load request the same worker serves the hybrid (network + n-gram + caches):
 * it is then sent the whole text before the cursor and told which documents to remember.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { CancellationLike, Completion, CompletionOptions } from '../../engine/completion/completer';
import { AdaptationInfo, isNGramToHost, NGramInfo, NGramLoadRequest, NGramToHost } from './ngramProtocol';

export type NGramStatus =
  | { state: 'idle' }
  | { state: 'loading'; phase: string; fraction: number }
  | { state: 'ready'; info: NGramInfo }
  | { state: 'failed'; message: string };

/** Characters before the cursor sent with a request: the model reads at most order − 1, the token rule a word. */
const CONTEXT_SENT = 512;

/** Modification time of a file in ms, or null when it is not there. */
function mtimeOf(file: string): number | null {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

export class NGramService {
  private worker: Worker | null = null;
  /** What the worker was loaded for: the checkpoint and whether it serves the hybrid. */
  private identity: string | null = null;
  private hybrid = false;
  /** Dynamic evaluation in the worker (hybrid only). */
  adaptation: AdaptationInfo = { state: 'off', note: '', documents: 0, chars: 0, updates: 0 };
  private nextId = 1;
  private readonly pending = new Map<number, (r: { completion: Completion | null; ms: number } | Error) => void>();
  status: NGramStatus = { state: 'idle' };

  constructor(
    private readonly extensionPath: string,
    private readonly log: (line: string) => void,
    private readonly onStatus: (s: NGramStatus) => void,
  ) {}

  /** Start building or loading the baseline (or the hybrid) for `req.checkpoint` (no-op if it is that one already). */
  ensure(req: NGramLoadRequest): void {
    // The hybrid loads again when its mixture.json changes (fitted at the end of a run, or by `lstm-lab mixture`).
    const identity = JSON.stringify([req.checkpoint, req.hybrid ?? null, req.hybrid ? mtimeOf(req.hybrid.mixturePath) : null]);
    if (this.identity === identity && this.worker) return;
    this.stop();
    this.identity = identity;
    this.hybrid = req.hybrid !== undefined;
    const worker = new Worker(path.join(this.extensionPath, 'dist', 'ngramWorker.js'), { stdout: false, stderr: false });
    this.worker = worker;
    this.setStatus({ state: 'loading', phase: 'starting', fraction: 0 });
    worker.on('message', (m: unknown) => {
      if (worker !== this.worker) return;
      if (!isNGramToHost(m)) return this.log('n-gram worker sent a malformed message');
      this.onMessage(m);
    });
    worker.on('error', (e) => {
      if (worker !== this.worker) return;
      this.setStatus({ state: 'failed', message: e.message });
      this.log(`n-gram worker failed: ${e.stack ?? e.message}`);
    });
    worker.on('exit', (code) => {
      if (worker !== this.worker) return;
      this.failPending(new Error(`the n-gram worker exited (${code})`));
      this.worker = null;
      if (this.status.state !== 'failed') this.setStatus({ state: 'failed', message: `the n-gram worker exited (${code})` });
    });
    worker.postMessage({ type: 'load', request: req });
    this.log(`n-gram: loading the baseline for ${req.checkpoint} (order ${req.order}; saved as ${req.cachePath})`);
  }

  get ready(): boolean {
    return this.status.state === 'ready';
  }

  /** A completion from the worker; null when cancelled (the worker's answer is then dropped). */
  async complete(text: string, offset: number, options: Partial<CompletionOptions>, token?: CancellationLike, key?: string): Promise<{ completion: Completion | null; ms: number } | null> {
    const worker = this.worker;
    if (!worker || !this.ready) return null;
    const id = this.nextId++;
    // The hybrid's file cache reads the whole text before the cursor (it reads only what is new).
    const before = text.slice(this.hybrid ? 0 : Math.max(0, offset - CONTEXT_SENT), offset);
    const answer = new Promise<{ completion: Completion | null; ms: number } | Error>((resolve) => this.pending.set(id, resolve));
    worker.postMessage({ type: 'complete', id, before, options, ...(this.hybrid && key !== undefined ? { key } : {}) });
    const r = await answer;
    if (r instanceof Error) throw r;
    return token?.isCancellationRequested ? null : r;
  }

  /** What the worker serves as the hybrid once ready: 'hybrid' or, without a fitted gate for the network, 'ngram+cache'. */
  get hybridCompleter(): string | null {
    return this.status.state === 'ready' ? (this.status.info.hybrid?.completer ?? null) : null;
  }

  /** Whether the worker serves the hybrid (and so wants documents to remember). */
  get servesHybrid(): boolean {
    return this.hybrid && this.worker !== null;
  }

  /** Add a document to the hybrid's documents' cache. */
  remember(key: string, text: string): void {
    if (this.servesHybrid) this.worker!.postMessage({ type: 'remember', key, text });
  }

  /** The document was closed. */
  forget(key: string): void {
    if (this.servesHybrid) this.worker!.postMessage({ type: 'forget', key });
  }

  private onMessage(m: NGramToHost): void {
    switch (m.type) {
      case 'progress':
        if (this.status.state !== 'ready') this.setStatus({ state: 'loading', phase: m.phase, fraction: m.fraction });
        break;
      case 'ready':
        this.setStatus({ state: 'ready', info: m.info });
        this.log(`n-gram: ready, order ${m.info.order}, ${m.info.distinctNgrams.toLocaleString('en-US')} n-grams from ${m.info.trainChars.toLocaleString('en-US')} characters, ${m.info.built ? 'built' : 'read from ngram.json'} in ${m.info.seconds.toFixed(1)} s`);
        break;
      case 'failed':
        this.setStatus({ state: 'failed', message: m.message });
        this.log(`n-gram: ${m.message}`);
        break;
      case 'completion':
        this.pending.get(m.id)?.({ completion: m.completion, ms: m.ms });
        this.pending.delete(m.id);
        break;
      case 'completionFailed':
        this.pending.get(m.id)?.(new Error(m.message));
        this.pending.delete(m.id);
        break;
      case 'log':
        this.log(m.line);
        break;
      case 'adaptation':
        this.adaptation = m.info;
        if (m.info.state === 'failed') this.log(`adaptation: ${m.info.note}`);
        this.onStatus(this.status);
        break;
    }
  }

  private setStatus(s: NGramStatus): void {
    this.status = s;
    this.onStatus(s);
  }

  private failPending(e: Error): void {
    for (const resolve of this.pending.values()) resolve(e);
    this.pending.clear();
  }

  /** Stop the worker (the active model changed, or completions switched to the network). */
  stop(): void {
    const w = this.worker;
    this.worker = null;
    this.identity = null;
    this.adaptation = { state: 'off', note: '', documents: 0, chars: 0, updates: 0 };
    this.failPending(new Error('the n-gram model was unloaded'));
    if (w) void w.terminate();
    if (this.status.state !== 'idle') this.setStatus({ state: 'idle' });
  }

  dispose(): void {
    this.stop();
  }
}
