/**
 * A data-parallel training worker (see dataParallel.ts): its own TF.js engine and backend, a CharRnn
 * over streams [b0, b1) of every batch. Started by DataParallelStepper with a WorkerInit as
 * workerData; after posting 'ready' it serves commands from shared memory:
 *
 *   wait until CTRL.GO changes → STEP: read the parameters again if CTRL.PARAM_VERSION changed (on wasm;
 *   elsewhere its tensors are the shared parameters, usesSharedParams), run
 *   forward + backward on its slice from the carried state in shared memory (with dropout, the masks of
 *   its rows drawn from the step's key, nn/dropout.ts), write loss, gradient and
 *   new carried state back, bump CTRL.DONE → QUIT: exit.
 *
 * Blocking in Atomics.wait is fine here: this thread has nothing else to do.
 */
import { parentPort, workerData } from 'worker_threads';
import { initBackend, setWasmDirectory, tf, tidy } from '../runtime/backend';
import { COMMAND_QUIT, COMMAND_STEP, CTRL, ERROR_BYTES, parameterLayout, sharedParameterViews, WorkerInit, WorkerMessage } from './dataParallel';
import { CharRnn, RecurrentState } from '../nn/model';
import type { DropoutDraw } from '../nn/dropout';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('dataParallelWorker.js must run in a worker thread.');
  const init = workerData as WorkerInit;
  const post = (m: WorkerMessage) => port.postMessage(m);
  const ctrl = new Int32Array(init.shared.ctrl);
  // Read both counters before the parameters and before 'ready': the coordinator may publish new
  // parameters, or issue the first command, as soon as it has every worker's 'ready'.
  const counters = { go: Atomics.load(ctrl, CTRL.GO), version: Atomics.load(ctrl, CTRL.PARAM_VERSION) };
  let model: CharRnn;
  let info;
  try {
    if (init.wasmDirectory) setWasmDirectory(init.wasmDirectory);
    info = await initBackend(init.backend);
    model = new CharRnn(init.model, sharedParameterViews(init.shared.params, parameterLayout(init.model)));
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    return;
  }
  post({ type: 'ready', backend: info.description });
  serve(init, model, counters);
  process.exit(0);
}

/**
 * Whether the model's tensors hold the shared parameter views themselves (sharedParameterViews): on
 * the cpu and native backends they do, and the coordinator's updates (written only between steps) are
 * in them without a copy; wasm copies a tensor's values into its heap, and then each new version of
 * the parameters is read again.
 */
function usesSharedParams(model: CharRnn, views: Map<string, Float32Array>): boolean {
  return [...model.params].every(([name, t]) => {
    const values = t.dataSync() as Float32Array, view = views.get(name)!;
    return values.buffer === view.buffer && values.byteOffset === view.byteOffset;
  });
}

function serve(init: WorkerInit, model: CharRnn, counters: { go: number; version: number }): void {
  const { index, b0, b1, batchSize: B, seqLength: T, shared } = init;
  const cfg = init.model;
  const Bw = b1 - b0, H = cfg.hidden, L = cfg.layers, lstm = cfg.kind === 'lstm';
  const ctrl = new Int32Array(shared.ctrl);
  const layout = parameterLayout(cfg);
  const P = layout.reduce((n, l) => n + l.size, 0);
  const grads = new Float32Array(shared.grads, 4 * index * P, P);
  const loss = new Float64Array(shared.loss);
  const inputs = new Int32Array(shared.inputs);
  const targets = new Int32Array(shared.targets);
  const state = new Float32Array(shared.state);
  const errors = new Uint8Array(shared.errors, index * ERROR_BYTES, ERROR_BYTES);
  const myInputs = new Int32Array(T * Bw);
  const myTargets = new Int32Array(T * Bw);
  const n = B * H;
  const views = sharedParameterViews(shared.params, layout);
  const live = usesSharedParams(model, views);
  let version = counters.version;
  let seen = counters.go;

  for (;;) {
    Atomics.wait(ctrl, CTRL.GO, seen);
    seen = Atomics.load(ctrl, CTRL.GO);
    const cmd = Atomics.load(ctrl, CTRL.COMMAND);
    if (cmd === COMMAND_QUIT) return;
    if (cmd !== COMMAND_STEP) continue;
    const started = performance.now();
    try {
      const v = Atomics.load(ctrl, CTRL.PARAM_VERSION);
      if (v !== version) {
        if (!live) model.setParams(new Map(layout.map((l) => [l.name, tf.keep(tf.tensor(views.get(l.name)!, l.shape))])));
        version = v;
      }
      for (let t = 0; t < T; t++) {
        myInputs.set(inputs.subarray(t * B + b0, t * B + b1), t * Bw);
        myTargets.set(targets.subarray(t * B + b0, t * B + b1), t * Bw);
      }
      const draw: DropoutDraw | undefined = cfg.dropout > 0 ? { key: Atomics.load(ctrl, CTRL.DROPOUT_KEY) >>> 0, streams: B, first: b0 } : undefined;
      tidy(() => {
        const rows = (k: number) => tf.tensor2d(state.slice(k * n + b0 * H, k * n + b1 * H), [Bw, H]);
        const carried: RecurrentState = {
          h: Array.from({ length: L }, (_, k) => rows(k)),
          c: Array.from({ length: L }, (_, k) => (lstm ? rows(L + k) : null)),
        };
        const r = model.run(myInputs, myTargets, T, Bw, carried, true, draw);
        loss[index] = r.loss.dataSync()[0];
        for (const l of layout) grads.set(r.grads!.get(l.name)!.dataSync() as Float32Array, l.offset);
        for (let k = 0; k < L; k++) {
          state.set(r.state.h[k].dataSync() as Float32Array, k * n + b0 * H);
          if (lstm) state.set(r.state.c[k]!.dataSync() as Float32Array, (L + k) * n + b0 * H);
        }
      });
    } catch (e) {
      const text = Buffer.from(e instanceof Error ? e.message : String(e), 'utf8').subarray(0, ERROR_BYTES - 4);
      new DataView(errors.buffer, errors.byteOffset, 4).setUint32(0, text.length, true);
      errors.set(text, 4);
      Atomics.store(ctrl, CTRL.STATUS + index, 1);
    }
    loss[init.workers + index] = performance.now() - started;
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
}

main().catch((e) => {
  parentPort?.postMessage({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies WorkerMessage);
});
