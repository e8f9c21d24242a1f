/**
 * Data-parallel training over worker threads: W workers, each with its own TF.js engine and backend,
 * each owning a contiguous slice of the B streams of a truncated-BPTT batch.
 *
 * One step:
 *   1. the coordinator (this class, on the training thread) writes the batch's [T, B] inputs and
 *      targets (and, with dropout, the step's dropout key drawn from the run's generator) into
 *      shared memory and wakes the workers (Atomics.notify);
 *   2. worker w runs CharRnn.run on its streams [b0, b1) from their carried hidden state, writes its
 *      mean loss, its mean gradient (a flat Float32Array in paramSpecs order) and its streams' new
 *      hidden state into shared memory, and counts itself done (Atomics.add + notify);
 *   3. the coordinator sums the gradients weighted by slice size, Σ (b1 − b0)/B · g_w — exactly the
 *      full-batch mean gradient up to float rounding — clips by global norm (clipScale), applies the
 *      optimiser once, in place on the shared parameter array (the workers pick the new values up at
 *      the start of the next step), and refreshes the main-thread model's tensors from it.
 * A step moves no large message: parameters, gradients, hidden state and batch all live in
 * SharedArrayBuffers; synchronisation is two Atomics counters.
 *
 * The split: B need not divide by W. Slices are contiguous and differ by at most one stream (the
 * first B mod W workers get one more); the weighting by slice size keeps the result the full-batch
 * mean. W must be at most B.
 *
 * It is one of the two TrainingSteppers (stepper.ts); the other, LocalStepper, is single-process.
 * Equivalence with single-process training (CharRnn.run on the whole batch, as LocalStepper does):
 *   - gradients and loss equal within float rounding (test/dataParallel.test.ts checks 1e-5 relative);
 *   - the carried hidden state of stream b is the same (each stream's recurrence is independent);
 *   - dropout: the coordinator draws the step's key from the run's generator as LocalStepper does
 *     (dropoutDraw) and each worker draws the masks of its own rows from it (nn/dropout.ts: a
 *     decision is a hash of key, mask, row of the whole batch and unit). Same masks, same generator
 *     state afterwards, so checkpoints (rngState) and resume work unchanged.
 *
 * The optimiser: optimizer.ts's one update rule (updateInPlace), here on this thread over the flat
 * shared parameter array and flat moment arrays (one loop over all P values, no tensors). Its state
 * is exchanged with the rest of the engine as an OptimizerSnapshot (the checkpoint format, checked by
 * checkOptimizerSnapshot): `optimizerSnapshot()`, `restoreOptimizer()`, and the `optimizer` option
 * of create().
 *
 * The main-thread `model` is kept equal to the shared parameters after every step, so evaluation,
 * sampling and checkpoints read it as before. If something else replaces `model.params` (the
 * training loop's roll-back after NaNs, nanPolicy.ts), the next step notices (identity check) and
 * publishes the new values to the workers.
 *
 * The worker script: `dataParallelWorker.js` next to this file — out/src/engine/training/ when compiled by tsc,
 * dist/ in the extension bundle (both files are then bundled side by side); override with
 * `workerScript`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { BackendName, currentBackend, tf } from '../runtime/backend';
import type { BpttBatch } from '../data/bptt';
import type { ModelConfig } from '../nn/config';
import { CharRnn, Params, paramSpecs } from '../nn/model';
import { nativeAddon, nativeStatus, setNativeThreads } from '../runtime/native';
import type { OptimizerKind } from '../nn/config';
import { checkOptimizerSnapshot, clipScale, OptimizerSnapshot, updateInPlace } from '../nn/optimizer';
import { Random } from '../nn/random';
import { dropoutDraw } from '../nn/dropout';
import type { CarriedState, StepOutcome, TrainingStepper } from './stepper';

export type { CarriedState } from './stepper';

export class DataParallelError extends Error {
  override name = 'DataParallelError';
}

// ---- shared layout (also read by dataParallelWorker.ts) ----

/** Int32 slots of the control array. */
export const CTRL = {
  /** Bumped by the coordinator for every command; workers Atomics.wait on it. */
  GO: 0,
  /** The command: STEP or QUIT. */
  COMMAND: 1,
  /** Bumped by each worker when it has finished a command. */
  DONE: 2,
  /** Bumped by the coordinator whenever the shared parameters change. */
  PARAM_VERSION: 3,
  /** The step's dropout key (DropoutDraw.key as an Int32), with dropout. */
  DROPOUT_KEY: 4,
  /** Per worker w: STATUS + w = 0 (ok) or 1 (error; message in the error bytes). */
  STATUS: 8,
} as const;
export const COMMAND_STEP = 1;
export const COMMAND_QUIT = 2;
/** Bytes of error text per worker. */
export const ERROR_BYTES = 4096;

export interface SharedBuffers {
  /** Int32 [CTRL.STATUS + W]. */
  ctrl: SharedArrayBuffer;
  /** Float32 [P]: the parameters, paramSpecs order, each row-major. */
  params: SharedArrayBuffer;
  /** Float32 [W, P]: worker w's mean gradient over its slice. */
  grads: SharedArrayBuffer;
  /** Float64 [2W]: worker w's mean loss over its slice at w, the milliseconds its last step took at W + w. */
  loss: SharedArrayBuffer;
  /** Int32 [T, B] (time-major, as BpttBatch). */
  inputs: SharedArrayBuffer;
  targets: SharedArrayBuffer;
  /** Float32 [S, B, H], S = layers (h) + layers more for the LSTM's c: slot k is h of layer k+1, slot L + k its c. */
  state: SharedArrayBuffer;
  /** Uint8 [W, ERROR_BYTES]: UTF-8 error text; its length is written at the start as a uint32. */
  errors: SharedArrayBuffer;
}

/** workerData of a data-parallel worker. */
export interface WorkerInit {
  index: number;
  workers: number;
  /** This worker's streams: [b0, b1). */
  b0: number;
  b1: number;
  batchSize: number;
  seqLength: number;
  model: ModelConfig;
  backend: BackendName;
  wasmDirectory: string | null;
  shared: SharedBuffers;
}

export type WorkerMessage = { type: 'ready'; backend: string } | { type: 'error'; message: string };

// ---- the coordinator ----

export interface DataParallelOptions {
  /** The main-thread model: its parameters are the ones trained (the stepper replaces them each step). */
  model: CharRnn;
  batchSize: number;
  seqLength: number;
  /** Worker threads, 1 ≤ W ≤ batchSize. */
  workers: number;
  /** Backend of every worker (default: the backend of this thread, currentBackend()). */
  backend?: BackendName;
  /** Clip the summed gradient to this global L2 norm (0 = no clipping). */
  gradClip?: number;
  /** A fresh optimiser of this kind (default 'adam'), or the state to continue from (a checkpoint's). */
  optimizer?: OptimizerKind | OptimizerSnapshot;
  /** The run's generator; required when the model has dropout (each step's dropout key is drawn from it). */
  rng?: Random;
  /** Path of the compiled worker script (default: dataParallelWorker.js next to this file). */
  workerScript?: string;
  /** Where the TF.js .wasm files are, for bundled builds (default: `wasm/` next to the worker script when it exists). */
  wasmDirectory?: string;
  /**
   * OpenBLAS threads while the workers compute ('native' only; OpenBLAS's thread count is
   * process-wide). Default max(1, floor(cores / W)), so W workers do not oversubscribe the cores.
   * The previous count is restored between steps (evaluation on the main thread gets all threads).
   */
  blasThreads?: number;
  /** How long to wait for the workers to start (ms, default 120 000). */
  startupTimeoutMs?: number;
}

/** A step's outcome (stepper.ts): the gradient norm is that of the summed gradient, before clipping. */
export type DataParallelStepResult = StepOutcome;

/** Contiguous slices of B streams over W workers; sizes differ by at most one. */
export function streamSlices(batchSize: number, workers: number): Array<[number, number]> {
  if (!Number.isInteger(workers) || workers < 1) throw new DataParallelError(`The number of workers must be a whole number of at least 1; got ${workers}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataParallelError(`The batch size must be a whole number of at least 1; got ${batchSize}.`);
  if (workers > batchSize) {
    throw new DataParallelError(`${workers} workers need at least ${workers} streams per batch (one each); the batch has ${batchSize}. Use --workers ≤ --batch.`);
  }
  const base = Math.floor(batchSize / workers), extra = batchSize % workers;
  const out: Array<[number, number]> = [];
  let b = 0;
  for (let w = 0; w < workers; w++) {
    const n = base + (w < extra ? 1 : 0);
    out.push([b, b + n]);
    b += n;
  }
  return out;
}

/** Where each parameter lives in the shared parameter array (and in a worker's gradient row): paramSpecs order, row-major. */
export interface Layout {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export function parameterLayout(cfg: ModelConfig): Layout[] {
  let offset = 0;
  return paramSpecs(cfg).map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const l = { name: s.name, shape: s.shape, offset, size };
    offset += size;
    return l;
  });
}

/** Each parameter as a view of the shared parameter array (no copy). */
export function sharedParameterViews(params: SharedArrayBuffer, layout: Layout[]): Map<string, Float32Array> {
  return new Map(layout.map((l) => [l.name, new Float32Array(params, 4 * l.offset, l.size)]));
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<'ok' | 'not-equal' | 'timed-out'> | 'ok' | 'not-equal' | 'timed-out' };

export class DataParallelStepper implements TrainingStepper {
  readonly workers: number;
  readonly batchSize: number;
  readonly seqLength: number;
  readonly slices: ReadonlyArray<readonly [number, number]>;
  /** The workers' backend, e.g. "wasm (SIMD on, 1 thread) × 2 workers". */
  readonly description: string;
  private readonly model: CharRnn;
  private readonly layout: Layout[];
  private readonly P: number;
  private readonly threads: Worker[];
  private readonly shared: SharedBuffers;
  private readonly ctrl: Int32Array;
  private readonly paramsView: Float32Array;
  private readonly gradsView: Float32Array;
  private readonly lossView: Float64Array;
  private readonly inputsView: Int32Array;
  private readonly targetsView: Int32Array;
  private readonly stateView: Float32Array;
  private readonly errorsView: Uint8Array;
  private readonly summed: Float32Array;
  /** The clipping scale of the last step's update (1: not clipped); gradients() applies it. */
  private clipped = 1;
  /** Whether the main-thread model's tensors are views of the shared parameters (refreshModel). */
  private modelIsShared = false;
  private readonly gradClip: number;
  private readonly optKind: OptimizerKind;
  /** Optimiser updates applied so far. */
  private optT = 0;
  /** Adam: first and second moments; RMSProp: the mean square in slot1, slot2 unused. Zero = fresh. */
  private readonly slot1: Float32Array;
  private readonly slot2: Float32Array | null;
  private readonly rng: Random | undefined;
  private readonly blas: { during: number; between: number } | null;
  /**
   * Milliseconds spent so far in step(): waiting for the workers (`workers`; of which the slowest
   * worker's own compute time, `compute`), summing the gradients, updating (optimiser + broadcast).
   * `idle`: what the other workers waited for the slowest, Σ_w (slowest − compute_w) / W.
   */
  readonly timings = { steps: 0, workers: 0, compute: 0, idle: 0, reduce: 0, update: 0 };
  private published: Params | null = null;
  private busy = false;
  private disposed = false;
  private failure: Error | null = null;
  private onFailure: (() => void) | null = null;

  private constructor(
    opts: DataParallelOptions,
    init: { slices: Array<[number, number]>; layout: Layout[]; shared: SharedBuffers; threads: Worker[]; description: string; blas: { during: number; between: number } | null },
  ) {
    this.model = opts.model;
    this.workers = opts.workers;
    this.batchSize = opts.batchSize;
    this.seqLength = opts.seqLength;
    this.slices = init.slices;
    this.layout = init.layout;
    this.P = init.layout.reduce((n, l) => n + l.size, 0);
    this.shared = init.shared;
    this.threads = init.threads;
    this.description = init.description;
    this.gradClip = opts.gradClip ?? 0;
    this.rng = opts.rng;
    this.blas = init.blas;
    const s = init.shared;
    this.ctrl = new Int32Array(s.ctrl);
    this.paramsView = new Float32Array(s.params);
    this.gradsView = new Float32Array(s.grads);
    this.lossView = new Float64Array(s.loss);
    this.inputsView = new Int32Array(s.inputs);
    this.targetsView = new Int32Array(s.targets);
    this.stateView = new Float32Array(s.state);
    this.errorsView = new Uint8Array(s.errors);
    this.summed = new Float32Array(this.P);
    this.published = this.model.params; // create() wrote these values before starting the workers
    const o = opts.optimizer ?? 'adam';
    this.optKind = typeof o === 'string' ? o : o.kind;
    if (this.optKind !== 'adam' && this.optKind !== 'rmsprop') throw new DataParallelError(`Unknown optimiser ${String(this.optKind)}.`);
    this.slot1 = new Float32Array(this.P);
    this.slot2 = this.optKind === 'adam' ? new Float32Array(this.P) : null;
    if (typeof o !== 'string') this.restoreOptimizer(o);
  }

  /** Start W workers and wait until every one has loaded its backend and model. */
  static async create(opts: DataParallelOptions): Promise<DataParallelStepper> {
    const cfg = opts.model.config;
    const B = opts.batchSize, T = opts.seqLength, W = opts.workers;
    if (!Number.isInteger(T) || T < 1) throw new DataParallelError(`The sequence length must be a whole number of at least 1; got ${T}.`);
    const slices = streamSlices(B, W);
    if (cfg.dropout > 0 && !opts.rng) throw new DataParallelError('A model with dropout needs the run generator (option rng) to draw its masks.');
    const backend = opts.backend ?? currentBackend().name;
    const workerScript = opts.workerScript ?? path.join(__dirname, 'dataParallelWorker.js');
    if (!fs.existsSync(workerScript)) {
      throw new DataParallelError(`The data-parallel worker script ${workerScript} does not exist (build with \`npx tsc -p .\`, or pass workerScript).`);
    }
    const defaultWasm = path.join(path.dirname(workerScript), 'wasm');
    const wasmDirectory = opts.wasmDirectory ?? (fs.existsSync(defaultWasm) ? defaultWasm : null);

    const layout = parameterLayout(cfg);
    const P = layout.reduce((n, l) => n + l.size, 0);
    const o = opts.optimizer ?? 'adam';
    if (typeof o === 'string') {
      if (o !== 'adam' && o !== 'rmsprop') throw new DataParallelError(`Unknown optimiser ${String(o)}.`);
    } else {
      checkOptimizerSnapshot(o, layoutSizes(layout));
    }
    const H = cfg.hidden, L = cfg.layers;
    const stateSlots = cfg.kind === 'lstm' ? 2 * L : L;
    const shared: SharedBuffers = {
      ctrl: new SharedArrayBuffer(4 * (CTRL.STATUS + W)),
      params: new SharedArrayBuffer(4 * P),
      grads: new SharedArrayBuffer(4 * W * P),
      loss: new SharedArrayBuffer(8 * 2 * W),
      inputs: new SharedArrayBuffer(4 * T * B),
      targets: new SharedArrayBuffer(4 * T * B),
      state: new SharedArrayBuffer(4 * stateSlots * B * H),
      errors: new SharedArrayBuffer(W * ERROR_BYTES),
    };
    const paramsView = new Float32Array(shared.params);
    for (const l of layout) paramsView.set(opts.model.params.get(l.name)!.dataSync() as Float32Array, l.offset);

    // OpenBLAS's thread count is process-wide: W workers × all cores each would oversubscribe.
    let blas: { during: number; between: number } | null = null;
    if (backend === 'native') {
      const st = nativeStatus();
      if (st.available && st.openblas && st.threads) {
        const during = Math.max(1, Math.floor(opts.blasThreads ?? cpuCount() / W));
        blas = { during, between: st.threads };
      }
    }

    if (blas) setNativeThreads(blas.during); // so that the workers describe themselves with it
    const threads: Worker[] = [];
    const ready: Promise<string>[] = [];
    const timeout = opts.startupTimeoutMs ?? 120_000;
    for (let w = 0; w < W; w++) {
      const init: WorkerInit = { index: w, workers: W, b0: slices[w][0], b1: slices[w][1], batchSize: B, seqLength: T, model: cfg, backend, wasmDirectory, shared };
      const worker = new Worker(workerScript, { workerData: init });
      threads.push(worker);
      ready.push(
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new DataParallelError(`Data-parallel worker ${w} did not start within ${timeout / 1000} s.`)), timeout);
          const done = () => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            worker.off('error', onError);
            worker.off('exit', onExit);
          };
          const onMessage = (m: WorkerMessage) => {
            done();
            if (m.type === 'ready') resolve(m.backend);
            else reject(new DataParallelError(`Data-parallel worker ${w} could not start: ${m.message}`));
          };
          const onError = (e: Error) => {
            done();
            reject(new DataParallelError(`Data-parallel worker ${w} failed to start: ${e.message}`));
          };
          const onExit = (code: number) => {
            done();
            reject(new DataParallelError(`Data-parallel worker ${w} exited (code ${code}) while starting.`));
          };
          worker.on('message', onMessage);
          worker.on('error', onError);
          worker.on('exit', onExit);
        }),
      );
    }
    let backends: string[];
    try {
      backends = await Promise.all(ready);
    } catch (e) {
      await Promise.all(threads.map((t) => t.terminate().catch(() => undefined)));
      throw e;
    } finally {
      if (blas) setNativeThreads(blas.between);
    }
    const description = `${backends[0]} × ${W} worker${W === 1 ? '' : 's'}`;
    const stepper = new DataParallelStepper(opts, { slices, layout, shared, threads, description, blas });
    stepper.watchWorkers();
    return stepper;
  }

  private watchWorkers(): void {
    this.threads.forEach((t, w) => {
      t.on('error', (e: Error) => this.fail(new DataParallelError(`Data-parallel worker ${w} crashed: ${e.message}`)));
      t.on('exit', (code: number) => {
        if (!this.disposed) this.fail(new DataParallelError(`Data-parallel worker ${w} exited unexpectedly (code ${code}).`));
      });
      t.unref(); // idle workers never keep the process alive; step() refs them while they compute
    });
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    this.onFailure?.();
  }

  /**
   * One training step on a [T, B] batch: parallel forward/backward, weighted gradient sum, clipping,
   * one optimiser update (shared parameters and main-thread model).
   * Honours `batch.reset` (zeroes the carried state first), as LocalStepper does.
   * `treatAsNonFinite` (fault injection for tests, TrainOptions.injectNonFiniteAt): handle this step as
   * if its loss were NaN.
   */
  async step(batch: BpttBatch, lr: number, treatAsNonFinite = false): Promise<DataParallelStepResult> {
    this.checkUsable();
    const T = this.seqLength, B = this.batchSize;
    if (batch.inputs.length !== T * B || batch.targets.length !== T * B) {
      throw new DataParallelError(`The batch has ${batch.inputs.length} inputs and ${batch.targets.length} targets; this stepper takes T·B = ${T}·${B} = ${T * B}.`);
    }
    this.busy = true;
    try {
      if (batch.reset) this.stateView.fill(0);
      if (this.model.params !== this.published) this.publish();
      this.inputsView.set(batch.inputs);
      this.targetsView.set(batch.targets);
      if (this.model.config.dropout > 0) Atomics.store(this.ctrl, CTRL.DROPOUT_KEY, dropoutDraw(this.rng!, B).key | 0);
      const t0 = performance.now();
      await this.command(COMMAND_STEP);
      const t1 = performance.now();
      this.throwWorkerErrors();

      // Σ_w (B_w / B) · g_w, accumulated in double precision.
      const W = this.workers, P = this.P, g = this.gradsView, sum = this.summed;
      const weights = this.slices.map(([b0, b1]) => (b1 - b0) / B);
      let loss = 0;
      for (let w = 0; w < W; w++) loss += weights[w] * this.lossView[w];
      if (treatAsNonFinite) loss = NaN;
      const gradNorm = Math.sqrt(weightedGradientSum(g, weights, sum, P));
      const t2 = performance.now();
      this.timings.steps++;
      this.timings.workers += t1 - t0;
      let slowest = 0, total = 0;
      for (let w = 0; w < W; w++) {
        slowest = Math.max(slowest, this.lossView[W + w]);
        total += this.lossView[W + w];
      }
      this.timings.compute += slowest;
      this.timings.idle += slowest - total / W;
      this.timings.reduce += t2 - t1;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        this.clipped = 1;
        this.stateView.fill(0);
        return { loss, gradNorm, ok: false };
      }
      // Clipping is the update's gradient scale (as in LocalStepper), not a pass over the P values;
      // gradients() applies it to what it returns.
      this.clipped = clipScale(gradNorm, this.gradClip);
      this.applyUpdate(lr, this.clipped);
      this.refreshModel();
      Atomics.add(this.ctrl, CTRL.PARAM_VERSION, 1);
      this.timings.update += performance.now() - t2;
      return { loss, gradNorm, ok: true };
    } finally {
      this.busy = false;
    }
  }

  /** The summed mean gradient of the last step (clipped, when it was), per parameter (copies). */
  gradients(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const l of this.layout) {
      const g = this.summed.slice(l.offset, l.offset + l.size);
      if (this.clipped !== 1) for (let i = 0; i < g.length; i++) g[i] = g[i] * this.clipped;
      out.set(l.name, g);
    }
    return out;
  }

  /** The optimiser state in optimizer.ts's snapshot format (what checkpoints store). */
  optimizerSnapshot(): OptimizerSnapshot {
    const slots = new Map<string, Float32Array[]>();
    if (this.optT > 0) {
      for (const l of this.layout) {
        const a = this.slot1.slice(l.offset, l.offset + l.size);
        slots.set(l.name, this.slot2 ? [a, this.slot2.slice(l.offset, l.offset + l.size)] : [a]);
      }
    }
    return { kind: this.optKind, t: this.optT, slots };
  }

  /** Continue from an optimiser snapshot (of the same kind); parameters it does not name start fresh. */
  restoreOptimizer(s: OptimizerSnapshot): void {
    if (this.disposed) throw new DataParallelError('This data-parallel stepper has been disposed.');
    if (s.kind !== this.optKind) throw new DataParallelError(`The optimiser state is ${s.kind}; this stepper runs ${this.optKind}.`);
    checkOptimizerSnapshot(s, layoutSizes(this.layout));
    const byName = new Map(this.layout.map((l) => [l.name, l]));
    this.slot1.fill(0);
    this.slot2?.fill(0);
    for (const [name, arrays] of s.slots) {
      const l = byName.get(name)!;
      this.slot1.set(arrays[0], l.offset);
      if (this.slot2) this.slot2.set(arrays[1], l.offset);
    }
    this.optT = s.t;
  }

  /** Zero the carried hidden state of every stream. */
  resetState(): void {
    this.checkUsable();
    this.stateView.fill(0);
  }

  /** The carried hidden state of all B streams, in stateToArrays' format (for checkpoints). */
  stateArrays(): CarriedState {
    const cfg = this.model.config, L = cfg.layers, n = this.batchSize * cfg.hidden;
    const slot = (k: number) => this.stateView.slice(k * n, (k + 1) * n);
    return {
      h: Array.from({ length: L }, (_, k) => slot(k)),
      c: Array.from({ length: L }, (_, k) => (cfg.kind === 'lstm' ? slot(L + k) : null)),
    };
  }

  /** Continue from a checkpoint's carried state (stateToArrays' format, [B·H] per layer). */
  restoreState(a: CarriedState): void {
    this.checkUsable();
    const cfg = this.model.config, L = cfg.layers, n = this.batchSize * cfg.hidden;
    const lstm = cfg.kind === 'lstm';
    if (a.h.length !== L || a.c.length !== L) throw new DataParallelError(`The saved state has ${a.h.length} layers; the model has ${L}.`);
    for (let k = 0; k < L; k++) {
      const c = a.c[k];
      if (a.h[k].length !== n || (lstm && (!c || c.length !== n))) {
        throw new DataParallelError(`The saved state of layer ${k + 1} does not have B·H = ${this.batchSize}·${cfg.hidden} values per array.`);
      }
    }
    for (let k = 0; k < L; k++) {
      this.stateView.set(a.h[k], k * n);
      if (lstm) this.stateView.set(a.c[k]!, (L + k) * n);
    }
  }

  /** Replace the parameters (of the main-thread model and of the workers). */
  setParams(values: Map<string, Float32Array>): void {
    this.checkUsable();
    const next: Params = new Map();
    for (const l of this.layout) {
      const v = values.get(l.name);
      if (!v || v.length !== l.size) {
        for (const t of next.values()) t.dispose();
        throw new DataParallelError(`Parameter ${l.name} is missing or has ${v?.length ?? 0} values instead of ${l.size}.`);
      }
      next.set(l.name, tf.keep(tf.tensor(v, l.shape)));
    }
    this.model.setParams(next);
    this.publish();
  }

  /** Stop the workers (they finish, or are terminated after a second). Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const exited = this.threads.map((t) => new Promise<void>((resolve) => {
      t.once('exit', () => resolve());
      t.ref();
    }));
    Atomics.store(this.ctrl, CTRL.COMMAND, COMMAND_QUIT);
    Atomics.add(this.ctrl, CTRL.GO, 1);
    Atomics.notify(this.ctrl, CTRL.GO);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 1000).unref());
    if ((await Promise.race([Promise.all(exited), timer])) === 'timeout') {
      await Promise.all(this.threads.map((t) => t.terminate().catch(() => undefined)));
    }
    this.onFailure?.();
  }

  // ---- internals ----

  private checkUsable(): void {
    if (this.disposed) throw new DataParallelError('This data-parallel stepper has been disposed.');
    if (this.failure) throw this.failure;
    if (this.busy) throw new DataParallelError('A data-parallel step is already running; await it first.');
  }

  /** Write the main-thread model's parameters into the shared array and tell the workers. */
  private publish(): void {
    this.modelIsShared = false;
    for (const l of this.layout) {
      const t = this.model.params.get(l.name);
      if (!t || t.size !== l.size) throw new DataParallelError(`The model's parameter ${l.name} is missing or has the wrong size.`);
      this.paramsView.set(t.dataSync() as Float32Array, l.offset);
    }
    this.published = this.model.params;
    Atomics.add(this.ctrl, CTRL.PARAM_VERSION, 1);
  }

  /** optimizer.ts's update on the flat arrays, in place. */
  private applyUpdate(lr: number, scale: number): void {
    const t = ++this.optT;
    updateInPlace(this.optKind, this.paramsView, this.summed, this.slot2 ? [this.slot1, this.slot2] : [this.slot1], t, lr, scale);
  }

  /**
   * Make the main-thread model's tensors equal to the shared parameters. Its tensors are made over
   * views of the shared array: the cpu and native backends keep a tensor's Float32Array as given, so
   * from then on every update is already in them and there is nothing to copy (the array is written
   * only between steps, when nothing reads the model); wasm copies it, and then this runs every step.
   */
  private refreshModel(): void {
    if (this.modelIsShared && this.model.params === this.published) return;
    const next: Params = new Map();
    const views = sharedParameterViews(this.shared.params, this.layout);
    let shared = true;
    for (const l of this.layout) {
      const view = views.get(l.name)!;
      const t = tf.keep(tf.tensor(view, l.shape));
      shared &&= t.dataSync() === view;
      next.set(l.name, t);
    }
    this.model.setParams(next);
    this.published = next;
    this.modelIsShared = shared;
  }

  /** Issue a command to every worker and wait (without blocking this thread) until all are done. */
  private async command(cmd: number): Promise<void> {
    const c = this.ctrl;
    for (let w = 0; w < this.workers; w++) Atomics.store(c, CTRL.STATUS + w, 0);
    const target = Atomics.load(c, CTRL.DONE) + this.workers;
    if (this.blas) setNativeThreads(this.blas.during);
    for (const t of this.threads) t.ref();
    try {
      Atomics.store(c, CTRL.COMMAND, cmd);
      Atomics.add(c, CTRL.GO, 1);
      Atomics.notify(c, CTRL.GO);
      const failed = new Promise<'failed'>((resolve) => {
        this.onFailure = () => resolve('failed');
      });
      if (this.failure) this.onFailure?.();
      const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
      for (;;) {
        const cur = Atomics.load(c, CTRL.DONE);
        if (cur - target >= 0) break;
        const r = waitAsync(c, CTRL.DONE, cur);
        const outcome = r.async ? await Promise.race([r.value as Promise<string>, failed]) : r.value;
        if (outcome === 'failed') throw this.failure ?? new DataParallelError('The data-parallel workers were stopped during a step.');
      }
    } finally {
      this.onFailure = null;
      for (const t of this.threads) t.unref();
      if (this.blas) setNativeThreads(this.blas.between);
    }
  }

  private throwWorkerErrors(): void {
    const msgs: string[] = [];
    for (let w = 0; w < this.workers; w++) {
      if (Atomics.load(this.ctrl, CTRL.STATUS + w) === 0) continue;
      const bytes = this.errorsView.subarray(w * ERROR_BYTES, (w + 1) * ERROR_BYTES);
      const len = Math.min(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true), ERROR_BYTES - 4);
      const [b0, b1] = this.slices[w];
      msgs.push(`worker ${w} (streams ${b0}–${b1 - 1}): ${Buffer.from(bytes.slice(4, 4 + len)).toString('utf8')}`);
    }
    if (msgs.length) throw new DataParallelError(`Data-parallel step failed: ${msgs.join('; ')}`);
  }
}

function layoutSizes(layout: Layout[]): Map<string, number> {
  return new Map(layout.map((l) => [l.name, l.size]));
}

function cpuCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * The workers' gradients averaged: sum = Σ_w weights[w]·grads[w·P …], in double precision, rounded
 * once; returns Σ sum². On the addon's kernel of this loop when it is built (config B, 2 workers,
 * measured on a loaded machine: 213 ms a step in JS, 19 ms native), else in JS.
 */
export function weightedGradientSum(grads: Float32Array, weights: number[], sum: Float32Array, P: number, addon = nativeAddon()): number {
  if (addon && grads.length === weights.length * P && sum.length === P) return addon.weightedGradientSum(grads, weights, sum);
  const W = weights.length;
  let sq = 0;
  for (let i = 0; i < P; i++) {
    let s = 0;
    for (let w = 0, o = i; w < W; w++, o += P) s += weights[w] * grads[o];
    sum[i] = s;
    sq += sum[i] * sum[i];
  }
  return sq;
}
