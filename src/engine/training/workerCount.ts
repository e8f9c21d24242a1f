/**
 * How many data-parallel worker threads a run trains on: the number asked for, or for 0 (the CLI's
 * `--workers 0` and default, the editor's `lstmLab.train.workers: 0`) the one automatic rule.
 * resolveRun (resume.ts) applies it, so the CLI and the editor both get it from train().
 */
import * as os from 'os';

/**
 * The automatic choice: two on the native backend with at least two cores — measured 1.18× one
 * process with two BLAS threads for config A on 2 cores (bench/dataParallel.ts) — else one (on wasm
 * a second worker only helps when a core is idle). Never more than the batch's streams.
 */
export function automaticWorkers(backend: string, cores: number, batch: number): number {
  return Math.max(1, Math.min(batch, backend === 'native' && cores >= 2 ? 2 : 1));
}

/** The workers of a run that asks for `requested` (0 = automatic) on this backend with this batch. */
export function chooseWorkers(requested: number, backend: string, batch: number, cores = os.availableParallelism()): number {
  return requested > 0 ? requested : automaticWorkers(backend, cores, batch);
}
