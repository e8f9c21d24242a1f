/**
 * The training loop: truncated BPTT over the corpus, evaluation every N steps on held-out files,
 * checkpoints (best and last, atomic), NaN/Inf recovery, cancellation, resume.
 *
 * A run lives in a folder:
 *   run.json        what the run is (configuration, corpus summary, backend, status)
 *   metrics.jsonl   one JSON line per evaluation (the curves), fsync'd before each checkpoint
 *   last.ckpt       the latest state — what `--resume` continues from
 *   best.ckpt       the state with the lowest validation loss — what sampling and completions use
 *   train.lock      while training: which process trains there (released on every way out)
 *
 * A new run gets a folder of its own (made exclusively); a resume from last.ckpt continues in its
 * folder, one from best.ckpt forks a new run beside it, one from a loose checkpoint seeds a new run
 * (placeRun). Notes about the folder (a stale lock taken over, leftovers removed) are 'note' events.
 */
import * as fs from 'fs';
import * as path from 'path';
import { currentBackend, tf, tidy } from '../runtime/backend';
import { BpttBatch, TruncatedBptt } from '../data/bptt';
import { appendFileDurably, CheckpointContent, EvalRecord, loadCheckpoint, LoadedCheckpoint, saveCheckpoint, writeFileAtomic } from './checkpoint';
import { automaticLearningRate, ConfigError, DEFAULT_MODEL, DEFAULT_TRAIN, ModelConfig, TrainConfig, validateModelConfig, validateTrainConfig } from '../nn/config';
import type { Corpus } from '../data/corpus';
import { DataParallelStepper } from './dataParallel';
import { evaluateIds } from './evaluate';
import { InferenceModel } from '../inference/inference';
import { CharRnn, disposeState, keepState, RecurrentState, stateFromArrays, stateToArrays } from '../nn/model';
import { budgetFraction } from './budget';
import { clipScale, globalNorm, learningRateAt, Optimizer, OptimizerSnapshot } from '../nn/optimizer';
import { hashSeed, Random } from '../nn/random';
import { sampleText } from '../inference/sample';
import { acquireRunLock, clearRunFiles, createRunFolder, removeStaleTempFiles, resumeKind, RunFolderError, RunInfo, RUN_FILES, StopReason } from './runFolder';
import { Vocabulary } from '../data/vocabulary';

export type { RunInfo, StopReason } from './runFolder';



export type TrainEvent =
  | ({ event: 'start' } & RunInfo)
  | {
      event: 'progress'; step: number; chars: number; trainLoss: number; charsPerSec: number; learningRate: number; seconds: number; fraction: number | null; etaSeconds: number | null;
      /** This step's own loss (trainLoss is its moving average) and gradient norm before clipping. */
      stepLoss: number; gradNorm: number;
    }
  | EvalRecord
  | { event: 'sample'; step: number; text: string }
  | { event: 'checkpoint'; step: number; role: 'best' | 'last'; path: string }
  | { event: 'nan'; step: number; action: string }
  /** Something the user should know that is not an error: a lock taken over, leftovers removed, a fork. */
  | { event: 'note'; message: string }
  | { event: 'done'; runId: string; dir: string; checkpoint: string; bestValLoss: number | null; backend: string; step: number; chars: number; seconds: number; stopReason: StopReason };

export interface TrainOptions {
  model?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  train?: Partial<TrainConfig>;
  /** Folder that holds runs; the run gets its own subfolder. */
  outDir: string;
  /**
   * Continue this run (a run folder or a checkpoint file). Model, vocabulary and data come from it.
   * Its last.ckpt continues in its folder; its best.ckpt, or a checkpoint outside a run folder,
   * starts a new run seeded from it (see placeRun).
   */
  resume?: string;
  /** The run folder's name; a taken one is refused (RunFolderError 'exists') unless `overwrite`. */
  runId?: string;
  /** Start the named run (runId) again from scratch even if its folder exists. */
  overwrite?: boolean;
  maxVocabulary?: number;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** Progress events at most this often (ms). */
  progressEveryMs?: number;
  /**
   * Fault injection for tests: the loss of these optimiser steps is treated as NaN (the step's
   * outcome is discarded exactly as a real non-finite loss would be).
   */
  injectNonFiniteAt?: ReadonlySet<number>;
  /** Start a new run from these weights instead of the seeded initialisation (bench/parity.ts). */
  initialParams?: Map<string, Float32Array>;
}

export class TrainingError extends Error {
  override name = 'TrainingError';
}

/** After this many consecutive non-finite steps, roll back to the last good state. */
const NAN_STRIKES = 3;
/** After this many roll-backs, stop. */
const MAX_ROLLBACKS = 4;

export function newRunId(cfg: Pick<ModelConfig, 'kind' | 'layers' | 'hidden'>): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${cfg.kind}-${cfg.layers}x${cfg.hidden}`;
}

export async function train(corpus: Corpus, opts: TrainOptions): Promise<Extract<TrainEvent, { event: 'done' }>> {
  const emit = opts.onEvent ?? (() => undefined);
  const backend = currentBackend();
  let resumed: LoadedCheckpoint | null = null;
  if (opts.resume) resumed = await loadCheckpoint(opts.resume, 'last');

  const given = <T extends object>(o: T | undefined): Partial<T> => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const vocab = resumed ? resumed.vocabulary : Vocabulary.fromText(corpus.trainText, opts.maxVocabulary ?? 256);
  const modelCfg: ModelConfig = resumed
    ? resumed.header.model
    : validateModelConfig({ ...DEFAULT_MODEL, ...given(opts.model), vocabSize: vocab.size });
  // A checkpoint from before learning-rate schedules trained at a constant rate: keep it so.
  const before = resumed ? { lrSchedule: 'constant' as const, lrWarmup: 0, ...resumed.header.train } : {};
  const automatic = resumed ? {} : { learningRate: automaticLearningRate(modelCfg) };
  const trainCfg: TrainConfig = validateTrainConfig({ ...DEFAULT_TRAIN, ...automatic, ...before, ...given(opts.train) });
  if (resumed) {
    // The model is the checkpoint's: a given size or cell type that differs is refused, not dropped.
    const asked = given(opts.model);
    const differs = (['kind', 'layers', 'hidden', 'embedding'] as const).filter((k) => asked[k] !== undefined && asked[k] !== modelCfg[k]);
    if (differs.length) {
      throw new ConfigError(
        `A resumed run keeps its model (${modelCfg.kind} ${modelCfg.layers}×${modelCfg.hidden}${modelCfg.embedding ? `, embedding ${modelCfg.embedding}` : ''}); ` +
          `${differs.map((k) => `${k} ${asked[k]}`).join(', ')} contradicts it. Resume without them, or start a new run.`,
      );
    }
    const b = resumed.header.train.batchSize, t = resumed.header.train.seqLength;
    if (trainCfg.batchSize !== b || trainCfg.seqLength !== t) {
      throw new TrainingError(`A resumed run keeps its batch (${b}) and sequence length (${t}); do not change them on resume.`);
    }
    const coverage = vocab.coverage(corpus.trainText);
    if (coverage < 0.9) {
      throw new TrainingError(
        `The checkpoint's vocabulary covers only ${(coverage * 100).toFixed(1)} % of this corpus's characters: it was trained on different text. Resume on the same corpus, or start a new run.`,
      );
    }
  }
  if (resumed && (budgetFraction(trainCfg, resumed.header.step, resumed.header.secondsTrained) ?? 0) >= 1) {
    const h = resumed.header;
    throw new TrainingError(
      `This run has used its budget (${trainCfg.steps > 0 ? `step ${h.step} of ${trainCfg.steps}` : `${(h.secondsTrained / 60).toFixed(1)} of ${trainCfg.minutes} minutes`}). ` +
        'Resume with a larger budget (steps or minutes, counted over the whole run) to train on.',
    );
  }
  const trainIds = vocab.encode(corpus.trainText);
  const valIds = vocab.encode(corpus.validationText);
  const T = trainCfg.seqLength, B = trainCfg.batchSize;
  const batches = new TruncatedBptt(trainIds, B, T);

  const place = await placeRun(opts, resumed, modelCfg);
  const { dir: runDir, runId } = place;
  const lock = await acquireRunLock(runDir);
  let done: Extract<TrainEvent, { event: 'done' }>;
  try {
    // What the user should know about the folder, told right after the 'start' event.
    const notes: string[] = [];
    if (lock.tookOver) {
      const h = lock.tookOver;
      notes.push(`took over the lock of ${runDir} from ${h.pid ? `process ${h.pid} on ${h.host}, which is no longer running` : 'a process that died while taking it'}`);
    }
    const leftovers = await removeStaleTempFiles(runDir);
    if (leftovers.length) notes.push(`removed ${leftovers.length} temporary file(s) left in ${runDir} by processes no longer running: ${leftovers.join(', ')}`);
    if (resumed?.note) notes.push(resumed.note);
    if (place.note) notes.push(place.note);
    if (place.overwrite) await clearRunFiles(runDir);
    const lastPath = path.join(runDir, RUN_FILES.last);
    const bestPath = path.join(runDir, RUN_FILES.best);
    const metricsPath = path.join(runDir, RUN_FILES.metrics);

    const model = resumed ? new CharRnn(modelCfg, resumed.params) : opts.initialParams ? new CharRnn(modelCfg, opts.initialParams) : CharRnn.create(modelCfg, trainCfg.seed);
    let optimizer = resumed?.optimizer
      ? Optimizer.fromSnapshot(resumed.optimizer, new Map(Array.from(model.params, ([k, t]) => [k, t.shape])))
      : new Optimizer(trainCfg.optimizer);
    const rng = new Random(trainCfg.seed);
    let step = 0, charsSeen = 0, secondsBefore = 0, lrScale = 1;
    let bestValLoss: number | null = null;
    let lastEval: EvalRecord | null = null;
    let state: RecurrentState;
    if (resumed) {
      const h = resumed.header;
      step = h.step;
      charsSeen = h.charsSeen;
      secondsBefore = h.secondsTrained;
      lrScale = h.lrScale;
      bestValLoss = h.bestValLoss;
      lastEval = h.lastEval;
      rng.state = h.rngState;
      batches.restore(h.data);
      state = resumed.state ? stateFromArrays(resumed.state, B, modelCfg.hidden) : model.zeroState(B);
      await copyMetricsUpTo(place.metricsFrom, metricsPath, step);
    } else {
      state = model.zeroState(B);
      await writeFileAtomic(metricsPath, '');
    }
    // workers > 1: forward/backward in worker threads; the stepper then owns the optimiser state and the carried state.
    const workers = trainCfg.workers ?? 1;
    const stepper = workers > 1
      ? await DataParallelStepper.create({
          model, batchSize: B, seqLength: T, workers, gradClip: trainCfg.gradClip, rng,
          optimizer: resumed?.optimizer ?? trainCfg.optimizer,
        })
      : null;
    stepper?.restoreState(stateToArrays(state));
    const optimizerSnapshot = () => (stepper ? stepper.optimizerSnapshot() : optimizer.snapshot());

    const corpusSummary = {
      root: corpus.root,
      trainFiles: corpus.trainFiles.length,
      validationFiles: corpus.validationFiles.length,
      trainChars: trainIds.length,
      validationChars: valIds.length,
      skipped: corpus.skippedByReason as Record<string, number>,
    };
    const info: RunInfo = {
      runId,
      dir: runDir,
      model: modelCfg,
      train: trainCfg,
      parameters: model.parameterCount,
      backend: stepper ? stepper.description : backend.description,
      corpus: corpusSummary,
      vocabularySize: vocab.size,
      startedAt: new Date().toISOString(),
      resumedFrom: resumed?.path,
      status: 'running',
    };
    await writeFileAtomic(path.join(runDir, RUN_FILES.info), JSON.stringify(info, null, 2));
    emit({ event: 'start', ...info });
    for (const message of notes) emit({ event: 'note', message });

    const content = (role: 'best' | 'last', seconds: number): CheckpointContent => ({
      header: {
        runId,
        role,
        model: modelCfg,
        train: trainCfg,
        vocabulary: vocab.toJSON(),
        step,
        charsSeen,
        secondsTrained: seconds,
        data: batches.state(),
        rngState: rng.state,
        lrScale,
        optimizer: null,
        bestValLoss,
        lastEval,
        backend: backend.name,
        corpus: corpusSummary,
      },
      params: model.values(),
      optimizer: optimizerSnapshot(),
      state: stepper ? stepper.stateArrays() : stateToArrays(state),
    });

    // The last good state, for rolling back after repeated non-finite losses.
    let good: { params: Map<string, Float32Array>; optimizer: OptimizerSnapshot; step: number } = {
      params: model.values(),
      optimizer: optimizerSnapshot(),
      step,
    };
    let nanStrikes = 0, rollbacks = 0;
    let attempt = 0; // optimiser steps attempted in this process, including discarded ones

    const started = Date.now();
    const seconds = () => secondsBefore + (Date.now() - started) / 1000;
    // The budget is the whole run's: a resumed run stops where the uninterrupted one would have.
    const deadline = trainCfg.minutes > 0 ? started + Math.max(0, trainCfg.minutes * 60 - secondsBefore) * 1000 : Infinity;
    let lastProgress = 0;
    let smoothLoss: number | null = lastEval?.trainLoss ?? null;
    let windowChars = 0, windowStart = Date.now(), charsPerSec = 0;
    let stopReason: StopReason = 'steps';
    const fraction = () => budgetFraction(trainCfg, step, seconds());
    const fractionAtStart = fraction() ?? 0;
    const lrNow = () => learningRateAt(trainCfg, step, lrScale, fraction());

    const evaluateAndSave = async () => {
      const ev = await evaluateIds(model, valIds, { maxChars: trainCfg.evalChars, signal: undefined });
      const rec: EvalRecord = {
        event: 'eval',
        step,
        chars: charsSeen,
        seconds: seconds(),
        trainLoss: smoothLoss ?? NaN,
        valLoss: ev.natsPerChar,
        valBitsPerChar: ev.bitsPerChar,
        valPerplexity: ev.perplexity,
        charsPerSec,
        learningRate: lrNow(),
      };
      lastEval = rec;
      await appendFileDurably(metricsPath, JSON.stringify(rec) + '\n'); // fsync'd: the checkpoint below counts on it
      emit(rec);
      const isBest = bestValLoss === null || ev.natsPerChar < bestValLoss;
      if (isBest) bestValLoss = ev.natsPerChar;
      await saveCheckpoint(lastPath, content('last', seconds()));
      emit({ event: 'checkpoint', step, role: 'last', path: lastPath });
      if (isBest) {
        await saveCheckpoint(bestPath, content('best', seconds()));
        emit({ event: 'checkpoint', step, role: 'best', path: bestPath });
      }
      good = { params: model.values(), optimizer: optimizerSnapshot(), step };
      if (trainCfg.sampleChars > 0) {
        const inf = new InferenceModel(modelCfg, vocab, model.values());
        const text = sampleText(inf, { length: trainCfg.sampleChars, temperature: 0.8, seed: hashSeed(trainCfg.seed, step), prime: '' });
        emit({ event: 'sample', step, text });
      }
    };

    try {
      while (true) {
        if (opts.signal?.aborted) {
          stopReason = 'cancelled';
          break;
        }
        if (trainCfg.steps > 0 && step >= trainCfg.steps) {
          stopReason = 'steps';
          break;
        }
        if (Date.now() >= deadline) {
          stopReason = 'time';
          break;
        }
        const batch = batches.next();
        if (batch.reset) {
          disposeState(state);
          state = model.zeroState(B);
        }
        const lr = lrNow();
        const prevState = state;
        attempt++;
        const outcome = stepper ? await parallelStep(stepper, batch, lr, opts.injectNonFiniteAt?.has(attempt) ?? false) : tidy(() => {
          const r = model.run(batch.inputs, batch.targets, T, B, prevState, true, rng);
          const grads = r.grads!;
          const normV = globalNorm(grads);
          let lossV = r.loss.dataSync()[0];
          if (opts.injectNonFiniteAt?.has(attempt)) lossV = NaN;
          if (!Number.isFinite(lossV) || !Number.isFinite(normV)) return { ok: false as const, lossV, normV };
          const next = optimizer.apply(model.params, grads, lr, clipScale(normV, trainCfg.gradClip));
          return { ok: true as const, lossV, normV, next, state: keepState(r.state) };
        });
        if (!outcome.ok) {
          // Discard the step: parameters are untouched; restart the streams from a clean state.
          nanStrikes++;
          disposeState(state);
          state = model.zeroState(B);
          if (nanStrikes < NAN_STRIKES) {
            emit({ event: 'nan', step, action: `non-finite ${Number.isFinite(outcome.lossV) ? 'gradient' : 'loss'} at step ${step}: batch skipped, hidden state reset` });
            continue;
          }
          rollbacks++;
          if (rollbacks > MAX_ROLLBACKS) {
            stopReason = 'diverged';
            throw new TrainingError(
              `Training diverged: the loss was NaN or infinite ${NAN_STRIKES} times in a row after ${MAX_ROLLBACKS} roll-backs. Try a lower --lr or --grad-clip. The last good checkpoint is ${lastPath}.`,
            );
          }
          lrScale /= 2;
          model.setParams(new Map(Array.from(good.params, ([k, v]) => [k, tf.keep(tf.tensor(v, model.params.get(k)!.shape))])));
          optimizer.dispose();
          optimizer = Optimizer.fromSnapshot(good.optimizer, new Map(Array.from(model.params, ([k, t]) => [k, t.shape])));
          stepper?.restoreOptimizer(good.optimizer); // (the restored parameters reach the workers at the next step)
          nanStrikes = 0;
          emit({ event: 'nan', step, action: `${NAN_STRIKES} non-finite steps in a row: rolled back to the state of step ${good.step}, learning rate halved` });
          continue;
        }
        nanStrikes = 0;
        if (outcome.next) model.setParams(outcome.next); // null: the stepper has updated the model
        disposeState(prevState);
        state = outcome.state;
        step++;
        charsSeen += T * B;
        windowChars += T * B;
        smoothLoss = smoothLoss === null ? outcome.lossV : 0.95 * smoothLoss + 0.05 * outcome.lossV;
        const now = Date.now();
        if (now - windowStart >= 1000) {
          charsPerSec = (windowChars * 1000) / (now - windowStart);
          windowChars = 0;
          windowStart = now;
        } else if (charsPerSec === 0) {
          charsPerSec = (windowChars * 1000) / Math.max(1, now - windowStart);
        }
        if (now - lastProgress >= (opts.progressEveryMs ?? 250)) {
          lastProgress = now;
          const fr = fraction();
          const elapsed = (now - started) / 1000;
          emit({
            event: 'progress', step, chars: charsSeen, trainLoss: smoothLoss, charsPerSec, learningRate: lr, seconds: seconds(), fraction: fr,
            etaSeconds: fr !== null && fr > fractionAtStart ? (elapsed * (1 - fr)) / (fr - fractionAtStart) : null, stepLoss: outcome.lossV, gradNorm: outcome.normV,
          });
        }
        if (step % trainCfg.evalEvery === 0) await evaluateAndSave();
        await new Promise((r) => setImmediate(r)); // let cancellation and messages in
      }
      if (lastEval?.step !== step) await evaluateAndSave();
    } catch (e) {
      await finishRunInfo(runDir, info, stopReason === 'diverged' ? 'failed' : 'failed', step, bestValLoss, stopReason, e);
      await stepper?.dispose();
      disposeState(state);
      optimizer.dispose();
      for (const t of model.params.values()) t.dispose();
      throw e;
    }
    const status = stopReason === 'cancelled' ? 'cancelled' : 'finished';
    await finishRunInfo(runDir, info, status, step, bestValLoss, stopReason);
    await stepper?.dispose();
    disposeState(state);
    optimizer.dispose();
    for (const t of model.params.values()) t.dispose();
    done = {
      event: 'done' as const,
      runId,
      dir: runDir,
      checkpoint: fs.existsSync(bestPath) ? bestPath : lastPath,
      bestValLoss,
      backend: backend.name,
      step,
      chars: charsSeen,
      seconds: seconds(),
      stopReason,
    };
  } finally {
    // Every path (finished, cancelled, failed) frees the folder, before 'done' so a listener may resume it.
    await lock.release();
  }
  emit(done);
  return done;
}

/** A data-parallel step in the shape of the single-thread outcome (the stepper has applied the update and carries the state). */
async function parallelStep(stepper: DataParallelStepper, batch: BpttBatch, lr: number, injectNaN: boolean) {
  const r = await stepper.step(batch, lr, injectNaN);
  if (!r.ok) return { ok: false as const, lossV: r.loss, normV: r.gradNorm };
  return { ok: true as const, lossV: r.loss, normV: r.gradNorm, next: null, state: { h: [], c: [] } as RecurrentState };
}

async function finishRunInfo(dir: string, info: RunInfo, status: RunInfo['status'], step: number, best: number | null, reason: StopReason, err?: unknown) {
  const next: RunInfo = { ...info, status, step, bestValLoss: best, stopReason: reason, finishedAt: new Date().toISOString() };
  if (err) next.error = err instanceof Error ? err.message : String(err);
  await writeFileAtomic(path.join(dir, RUN_FILES.info), JSON.stringify(next, null, 2));
}

/**
 * The metrics of a resumed run: the lines of `from` (its own metrics.jsonl, or that of the run a fork
 * comes from) up to the checkpoint's step, written to `to`; lines written after it are dropped.
 */
async function copyMetricsUpTo(from: string | null, to: string, step: number): Promise<void> {
  let text = '';
  try {
    if (from) text = await fs.promises.readFile(from, 'utf8');
  } catch {
    /* no metrics yet */
  }
  const kept = text.split('\n').filter((l) => {
    if (!l.trim()) return false;
    try {
      return JSON.parse(l).step <= step;
    } catch {
      return false;
    }
  });
  await writeFileAtomic(to, kept.map((l) => l + '\n').join(''));
}

/** Where a run trains: its folder and id, the metrics it carries on, what to tell the user. */
interface RunPlace {
  dir: string;
  runId: string;
  /** The metrics.jsonl a resumed run keeps (up to its checkpoint's step); null: none. */
  metricsFrom: string | null;
  /** The folder held an earlier run that is started again from scratch: clear its files. */
  overwrite: boolean;
  note: string | null;
}

/**
 * The folder a run trains in (made if new, exclusively). A new run: a new folder under outDir (with
 * `overwrite`, the named one even if it exists). A resume (see resumeKind): its last.ckpt continues
 * in its own folder; a run's best.ckpt (or another of its checkpoints) forks a new folder beside the
 * run, which keeps its metrics; a checkpoint outside any run folder seeds a new run under outDir.
 */
async function placeRun(opts: TrainOptions, resumed: LoadedCheckpoint | null, modelCfg: ModelConfig): Promise<RunPlace> {
  const exact = opts.runId !== undefined;
  if (!resumed) {
    const runId = opts.runId ?? newRunId(modelCfg);
    try {
      const dir = await createRunFolder(opts.outDir, runId, exact);
      return { dir, runId: path.basename(dir), metricsFrom: null, overwrite: false, note: null };
    } catch (e) {
      if (!(opts.overwrite && e instanceof RunFolderError && e.reason === 'exists')) throw e;
      const dir = path.join(opts.outDir, runId);
      return { dir, runId, metricsFrom: null, overwrite: true, note: `started ${dir} again from scratch (overwrite): its earlier run files were removed` };
    }
  }
  const h = resumed.header;
  const source = path.dirname(resumed.path);
  const kind = resumeKind(resumed.path);
  if (kind === 'continue') return { dir: source, runId: h.runId, metricsFrom: path.join(source, RUN_FILES.metrics), overwrite: false, note: null };
  if (kind === 'fork') {
    const dir = await createRunFolder(path.dirname(source), opts.runId ?? `${path.basename(source)}-from-step-${h.step}`, exact);
    return {
      dir, runId: path.basename(dir), metricsFrom: path.join(source, RUN_FILES.metrics), overwrite: false,
      note: `resuming from ${path.basename(resumed.path)} (step ${h.step}) of ${source} forks a new run, ${dir}: ${source} and its metrics stay as they are`,
    };
  }
  const dir = await createRunFolder(opts.outDir, opts.runId ?? newRunId(modelCfg), exact);
  return {
    dir, runId: path.basename(dir), metricsFrom: null, overwrite: false,
    note: `${resumed.path} is not in a run folder: training goes on from it (step ${h.step}) in a new run, ${dir}`,
  };
}
