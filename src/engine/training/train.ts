/**
 * The training loop: truncated BPTT over the corpus, evaluation every N steps on held-out files,
 * checkpoints (best and last, atomic), NaN/Inf recovery, cancellation, resume.
 *
 *   resolveRun (resume.ts)      what the run trains: new, or the checkpoint's model and vocabulary
 *   placeRun, RunRecorder        where it trains and its files: run.json, metrics.jsonl, cells.jsonl,
 *     (runRecorder.ts)           last.ckpt, best.ckpt, train.lock (held until the run ends, however it ends)
 *   TrainingStepper (stepper.ts) one optimiser step: LocalStepper on this thread, or
 *                                DataParallelStepper over worker threads (train.workers > 1)
 *   NanPolicy (nanPolicy.ts)     what a non-finite step leads to: skip, roll back, stop
 * and here the loop over the steps: budget (steps or minutes, over the whole run), learning rate,
 * throughput and ETA, evaluation + checkpoints + sample every evalEvery steps and at the end, and
 * after each evaluation the afterEvaluation hook, if given, whose records go to cells.jsonl.
 * Notes about the folder (a stale lock taken over, leftovers removed, a fork) are 'note' events.
 */
import { BackendInfo, currentBackend, tf } from '../runtime/backend';
import { TruncatedBptt } from '../data/bptt';
import { CheckpointContent, EvalRecord } from './checkpoint';
import type { ModelConfig, TrainConfig } from '../nn/config';
import type { Corpus } from '../data/corpus';
import { DataParallelStepper } from './dataParallel';
import { evaluateIds } from './evaluate';
import { InferenceModel } from '../inference/inference';
import { CharRnn } from '../nn/model';
import { budgetFraction } from './budget';
import { learningRateAt } from '../nn/optimizer';
import { hashSeed, Random } from '../nn/random';
import { sampleText } from '../inference/sample';
import { RunInfo, StopReason } from './runFolder';
import { placeRun, RunRecorder } from './runRecorder';
import { corpusRecordOf, recordCorpus, type CorpusRecord } from '../data/corpusRecord';
import { ResolvedRun, resolveRun } from './resume';
import { LocalStepper, StepOutcome, TrainingStepper } from './stepper';
import { GoodState, NanPolicy } from './nanPolicy';
import { TrainingError } from './trainingError';
import { loadCheckpoint } from './checkpoint';
import { fitCheckpointMixture, MIXTURE_FIT_CHARS } from '../completion/checkpointMixture';
import type { RunMixture } from './runFolder';

export type { RunInfo, StopReason } from './runFolder';
export { newRunId } from './runRecorder';
export { TrainingError } from './trainingError';

export type TrainEvent =
  | ({ event: 'start' } & RunInfo)
  | {
      event: 'progress'; step: number; chars: number; trainLoss: number; charsPerSec: number; learningRate: number; seconds: number; fraction: number | null; etaSeconds: number | null;
      /** This step's own loss (trainLoss is its moving average) and gradient norm before clipping. */
      stepLoss: number; gradNorm: number;
    }
  | EvalRecord
  | { event: 'sample'; step: number; text: string }
  /** What the afterEvaluation hook returned at this evaluation, once appended to cells.jsonl. */
  | { event: 'cells'; step: number; record: AfterEvaluationRecord }
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
  /**
   * Fit the completion mixture on the validation split at the end and keep it beside the
   * checkpoints as mixture.json (default true; never after a cancel). A failure there is recorded in
   * run.json and does not fail the run.
   */
  fitMixture?: boolean;
  /** After every evaluation: a record for cells.jsonl (the CLI and the editor pass one that ranks the cells by concept). */
  afterEvaluation?: AfterEvaluation;
}

/**
 * What an afterEvaluation hook returns: one line of cells.jsonl, its step (and characters and
 * seconds) those of the evaluation it follows; the rest of its fields are the hook's own.
 */
export interface AfterEvaluationRecord {
  step: number;
  chars: number;
  seconds: number;
}

/**
 * Run after every evaluation with the model as it is then (an InferenceModel over a copy of its
 * weights, disposed after the call) and the evaluation's step, characters seen and seconds trained.
 * Its record, unless null, is appended to cells.jsonl (then a 'cells' event). A hook that throws
 * costs its record, never the run: a note says why.
 */
export type AfterEvaluation = (model: InferenceModel, step: number, chars: number, seconds: number) => Promise<AfterEvaluationRecord | null>;

type DoneEvent = Extract<TrainEvent, { event: 'done' }>;

export async function train(corpus: Corpus, opts: TrainOptions): Promise<DoneEvent> {
  const emit = opts.onEvent ?? (() => undefined);
  const backend = currentBackend();
  const run = await resolveRun(corpus, opts, backend.name);
  const recorder = await RunRecorder.open(await placeRun(opts, run.resumed, run.model));
  let loop: TrainingLoop | null = null;
  let failure: { error: unknown } | null = null;
  try {
    const notes = await recorder.prepare(run.resumed?.note);
    loop = await TrainingLoop.create(corpus, run, recorder, backend, opts);
    await loop.start(notes);
    await loop.run();
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    // Every way out (finished, cancelled, failed) records how the run ended, frees its memory and
    // workers, and frees the folder — before 'done', so a listener may resume it.
    await loop?.close(failure);
    if (loop && !failure) await loop.fitMixture(corpus);
    await recorder.release();
  }
  const done = loop.done();
  emit(done);
  return done;
}

/** chars/s over windows of at least a second (the first window reports as it fills). */
class Throughput {
  charsPerSec = 0;
  private windowChars = 0;
  private windowStart = Date.now();

  add(chars: number, now: number): void {
    this.windowChars += chars;
    if (now - this.windowStart >= 1000) {
      this.charsPerSec = (this.windowChars * 1000) / (now - this.windowStart);
      this.windowChars = 0;
      this.windowStart = now;
    } else if (this.charsPerSec === 0) {
      this.charsPerSec = (this.windowChars * 1000) / Math.max(1, now - this.windowStart);
    }
  }
}

/** Where the run stands: what a checkpoint records besides parameters, optimiser and carried state. */
interface RunProgress {
  step: number;
  charsSeen: number;
  /** Seconds trained by earlier processes of this run. */
  secondsBefore: number;
  /** The NaN policy's halvings of the learning rate. */
  lrScale: number;
  bestValLoss: number | null;
  lastEval: EvalRecord | null;
}

/** One run's loop, from its model and stepper to its end (train() above is its outline). */
class TrainingLoop {
  private nan: NanPolicy | null = null;
  private stopReason: StopReason = 'steps';
  private started = Date.now();
  private deadline = Infinity;
  private fractionAtStart = 0;
  private lastProgress = 0;
  /** Optimiser steps attempted in this process, including discarded ones (injectNonFiniteAt counts these). */
  private attempt = 0;
  private smoothLoss: number | null;
  private throughput = new Throughput();
  private readonly emit: (e: TrainEvent) => void;
  private readonly cfg: TrainConfig;
  private readonly corpusSummary: RunInfo['corpus'];
  private readonly corpusRecord: CorpusRecord;

  private constructor(
    private readonly resolved: ResolvedRun,
    private readonly recorder: RunRecorder,
    private readonly backend: BackendInfo,
    private readonly opts: TrainOptions,
    private readonly validationIds: Int32Array,
    private readonly batches: TruncatedBptt,
    private readonly model: CharRnn,
    private readonly rng: Random,
    private readonly stepper: TrainingStepper,
    private readonly progress: RunProgress,
    corpus: Corpus,
    trainChars: number,
  ) {
    this.emit = opts.onEvent ?? (() => undefined);
    this.cfg = resolved.train;
    this.smoothLoss = progress.lastEval?.trainLoss ?? null;
    this.corpusSummary = {
      root: corpus.root,
      trainFiles: corpus.trainFiles.length,
      validationFiles: corpus.validationFiles.length,
      trainChars,
      validationChars: validationIds.length,
      skipped: corpus.skippedByReason as Record<string, number>,
    };
    this.corpusRecord = corpusRecordOf(corpus);
  }

  /** The model (new, seeded, or the checkpoint's), the data position, the metrics so far, the stepper. */
  static async create(corpus: Corpus, run: ResolvedRun, recorder: RunRecorder, backend: BackendInfo, opts: TrainOptions): Promise<TrainingLoop> {
    const { resumed, model: modelCfg, train: cfg } = run;
    const trainIds = run.vocab.encode(corpus.trainText), validationIds = run.vocab.encode(corpus.validationText);
    const B = cfg.batchSize, T = cfg.seqLength;
    const batches = new TruncatedBptt(trainIds, B, T);
    const init = resumed?.params ?? opts.initialParams;
    const model = init ? new CharRnn(modelCfg, init) : CharRnn.create(modelCfg, cfg.seed);
    const rng = new Random(cfg.seed);
    const h = resumed?.header;
    const progress: RunProgress = h
      ? { step: h.step, charsSeen: h.charsSeen, secondsBefore: h.secondsTrained, lrScale: h.lrScale, bestValLoss: h.bestValLoss, lastEval: h.lastEval }
      : { step: 0, charsSeen: 0, secondsBefore: 0, lrScale: 1, bestValLoss: null, lastEval: null };
    let stepper: TrainingStepper | null = null;
    try {
      if (h) {
        rng.state = h.rngState;
        batches.restore(h.data);
      }
      await recorder.startMetrics(h ? h.step : null);
      await recorder.startCells(h ? h.step : null, opts.afterEvaluation !== undefined);
      const optimizer = resumed?.optimizer ?? cfg.optimizer;
      const workers = cfg.workers ?? 1;
      // workers > 1: forward/backward in worker threads, which then own the optimiser state and the carried state.
      stepper = workers > 1
        ? await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers, gradClip: cfg.gradClip, rng, optimizer })
        : new LocalStepper(model, { batchSize: B, seqLength: T, gradClip: cfg.gradClip, rng, optimizer, description: backend.description });
      if (resumed?.state) stepper.restoreState(resumed.state);
    } catch (e) {
      await stepper?.dispose();
      for (const t of model.params.values()) t.dispose();
      throw e;
    }
    return new TrainingLoop(run, recorder, backend, opts, validationIds, batches, model, rng, stepper, progress, corpus, trainIds.length);
  }

  /** run.json, the 'start' event and the notes; then the clock starts. */
  async start(notes: string[]): Promise<void> {
    const info: RunInfo = {
      runId: this.recorder.runId,
      dir: this.recorder.dir,
      model: this.resolved.model,
      train: this.cfg,
      parameters: this.model.parameterCount,
      backend: this.stepper.description,
      corpus: this.corpusSummary,
      vocabularySize: this.resolved.vocab.size,
      startedAt: new Date().toISOString(),
      resumedFrom: this.resolved.resumed?.path,
      status: 'running',
    };
    await this.recorder.start(info);
    // What it trains on, file by file, for the tools that read the corpus again later (corpusRecord.ts).
    await recordCorpus(this.recorder.dir, this.corpusRecord);
    this.emit({ event: 'start', ...info });
    for (const message of notes) this.emit({ event: 'note', message });
    this.nan = new NanPolicy(this.goodState());
    this.started = Date.now();
    this.throughput = new Throughput();
    // The budget is the whole run's: a resumed run stops where the uninterrupted one would have.
    const cfg = this.cfg, before = this.progress.secondsBefore;
    this.deadline = cfg.minutes > 0 ? this.started + Math.max(0, cfg.minutes * 60 - before) * 1000 : Infinity;
    this.fractionAtStart = this.fraction() ?? 0;
  }

  /** Steps until the budget is used or the run is cancelled, then a last evaluation if the last step had none. */
  async run(): Promise<void> {
    const p = this.progress, cfg = this.cfg;
    for (;;) {
      const stop = this.stopNow();
      if (stop) {
        this.stopReason = stop;
        break;
      }
      const batch = this.batches.next();
      const lr = this.learningRate();
      this.attempt++;
      const outcome = await this.stepper.step(batch, lr, this.opts.injectNonFiniteAt?.has(this.attempt) ?? false);
      if (!outcome.ok) {
        this.nonFinite(outcome);
        continue;
      }
      this.nan!.finite();
      p.step++;
      p.charsSeen += cfg.seqLength * cfg.batchSize;
      this.smoothLoss = this.smoothLoss === null ? outcome.loss : 0.95 * this.smoothLoss + 0.05 * outcome.loss;
      const now = Date.now();
      this.throughput.add(cfg.seqLength * cfg.batchSize, now);
      if (now - this.lastProgress >= (this.opts.progressEveryMs ?? 250)) this.reportProgress(now, lr, outcome);
      if (p.step % cfg.evalEvery === 0) await this.evaluateAndSave();
      await new Promise((r) => setImmediate(r)); // let cancellation and messages in
    }
    if (p.lastEval?.step !== p.step) await this.evaluateAndSave();
  }

  /** How the run ended, in run.json; the stepper's workers and memory and the model freed. */
  async close(failure: { error: unknown } | null): Promise<void> {
    const p = this.progress;
    const status = failure ? 'failed' : this.stopReason === 'cancelled' ? 'cancelled' : 'finished';
    await this.recorder.finish(status, p.step, p.bestValLoss, this.stopReason, failure?.error);
    await this.stepper.dispose();
    for (const t of this.model.params.values()) t.dispose();
  }

  /**
   * The completion mixture of the checkpoint completions use, fitted on (a bounded part of) the
   * validation split and written beside it; how long it took, or why it was not, goes to run.json and
   * a note. Never throws: the run is already saved.
   */
  async fitMixture(corpus: Corpus): Promise<void> {
    if (this.opts.fitMixture === false) return;
    const t0 = Date.now();
    let record: RunMixture;
    if (this.stopReason === 'cancelled') record = { skipped: 'the run was cancelled', seconds: 0 };
    else {
      try {
        const ckpt = await loadCheckpoint(this.recorder.checkpointToUse());
        // Said before it starts: the fit runs past the budget (about a minute for config A), and stopping keeps the run.
        this.emit({ event: 'note', message: `fitting the completion mixture on up to ${MIXTURE_FIT_CHARS.toLocaleString('en-US')} validation characters (the run is saved; stopping now skips it)` });
        const r = await fitCheckpointMixture(ckpt, corpus, { signal: this.opts.signal });
        record = { file: r.file, seconds: (Date.now() - t0) / 1000, positions: r.fittedFor.positions, natsPerChar: r.gate.fit!.natsPerChar };
        const adapted = r.adaptedGate?.fit ? `, ${r.adaptedGate.fit.natsPerChar.toFixed(3)} over the adapted network` : '';
        this.emit({ event: 'note', message: `fitted the completion mixture on ${r.fittedFor.positions.toLocaleString('en-US')} validation characters in ${record.seconds.toFixed(1)} s: ${r.gate.fit!.natsPerChar.toFixed(3)} nats/char${adapted} (${r.file})` });
      } catch (e) {
        record = { skipped: e instanceof Error ? e.message : String(e), seconds: (Date.now() - t0) / 1000 };
        this.emit({ event: 'note', message: `the completion mixture was not fitted: ${record.skipped} (\`lstm-lab mixture\` fits it later)` });
      }
    }
    try {
      await this.recorder.recordMixture(record);
    } catch (e) {
      this.emit({ event: 'note', message: `run.json could not record the mixture: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  done(): DoneEvent {
    const p = this.progress;
    return {
      event: 'done' as const,
      runId: this.recorder.runId,
      dir: this.recorder.dir,
      checkpoint: this.recorder.checkpointToUse(),
      bestValLoss: p.bestValLoss,
      backend: this.backend.name,
      step: p.step,
      chars: p.charsSeen,
      seconds: this.seconds(),
      stopReason: this.stopReason,
    };
  }

  private stopNow(): StopReason | null {
    if (this.opts.signal?.aborted) return 'cancelled';
    if (this.cfg.steps > 0 && this.progress.step >= this.cfg.steps) return 'steps';
    if (Date.now() >= this.deadline) return 'time';
    return null;
  }

  /** A discarded step: the NaN policy says skip, roll back (learning rate halved), or stop. */
  private nonFinite(outcome: StepOutcome): void {
    const step = this.progress.step;
    const action = this.nan!.nonFinite(step, Number.isFinite(outcome.loss));
    if (action.kind === 'diverged') {
      this.stopReason = 'diverged';
      throw new TrainingError(`Training diverged: ${action.message}. Try a lower --lr or --grad-clip. The last good checkpoint is ${this.recorder.lastPath}.`);
    }
    if (action.kind === 'roll back') {
      this.progress.lrScale /= 2;
      const good = action.to;
      this.model.setParams(new Map(Array.from(good.params, ([k, v]) => [k, tf.keep(tf.tensor(v, this.model.params.get(k)!.shape))])));
      this.stepper.restoreOptimizer(good.optimizer); // (a data-parallel stepper sends the restored parameters to its workers at the next step)
    }
    this.emit({ event: 'nan', step, action: action.message });
  }

  private reportProgress(now: number, lr: number, outcome: StepOutcome): void {
    this.lastProgress = now;
    const p = this.progress;
    const fr = this.fraction();
    const elapsed = (now - this.started) / 1000;
    this.emit({
      event: 'progress', step: p.step, chars: p.charsSeen, trainLoss: this.smoothLoss!, charsPerSec: this.throughput.charsPerSec, learningRate: lr, seconds: this.seconds(), fraction: fr,
      etaSeconds: fr !== null && fr > this.fractionAtStart ? (elapsed * (1 - fr)) / (fr - this.fractionAtStart) : null, stepLoss: outcome.loss, gradNorm: outcome.gradNorm,
    });
  }

  /** Evaluate on the held-out files, record it, save last.ckpt (and best.ckpt), emit a sample. */
  private async evaluateAndSave(): Promise<void> {
    const p = this.progress, cfg = this.cfg;
    const ev = await evaluateIds(this.model, this.validationIds, { maxChars: cfg.evalChars, signal: undefined });
    const rec: EvalRecord = {
      event: 'eval',
      step: p.step,
      chars: p.charsSeen,
      seconds: this.seconds(),
      trainLoss: this.smoothLoss ?? NaN,
      valLoss: ev.natsPerChar,
      valBitsPerChar: ev.bitsPerChar,
      valPerplexity: ev.perplexity,
      charsPerSec: this.throughput.charsPerSec,
      learningRate: this.learningRate(),
    };
    p.lastEval = rec;
    await this.recorder.recordEval(rec); // fsync'd: the checkpoint below counts on it
    this.emit(rec);
    const isBest = p.bestValLoss === null || ev.natsPerChar < p.bestValLoss;
    if (isBest) p.bestValLoss = ev.natsPerChar;
    const last = await this.recorder.saveCheckpoint('last', this.checkpoint('last'));
    this.emit({ event: 'checkpoint', step: p.step, role: 'last', path: last });
    if (isBest) {
      const best = await this.recorder.saveCheckpoint('best', this.checkpoint('best'));
      this.emit({ event: 'checkpoint', step: p.step, role: 'best', path: best });
    }
    this.nan!.remember(this.goodState());
    const hook = this.opts.afterEvaluation;
    if (cfg.sampleChars <= 0 && !hook) return;
    const inf = new InferenceModel(this.resolved.model, this.resolved.vocab, this.model.values());
    try {
      if (cfg.sampleChars > 0) {
        const text = sampleText(inf, { length: cfg.sampleChars, temperature: 0.8, seed: hashSeed(cfg.seed, p.step), prime: '' });
        this.emit({ event: 'sample', step: p.step, text });
      }
      if (hook) await this.recordCells(hook, inf, rec);
    } finally {
      inf.dispose();
    }
  }

  /** The hook's record of this evaluation, appended to cells.jsonl; a failure is a note, not the run's end. */
  private async recordCells(hook: AfterEvaluation, inf: InferenceModel, ev: EvalRecord): Promise<void> {
    let record: AfterEvaluationRecord | null;
    try {
      record = await hook(inf, ev.step, ev.chars, ev.seconds);
      if (record) await this.recorder.recordCells(record);
    } catch (e) {
      this.emit({ event: 'note', message: `the cells of step ${ev.step} were not recorded: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    if (record) this.emit({ event: 'cells', step: ev.step, record });
  }

  private checkpoint(role: 'best' | 'last'): CheckpointContent {
    const p = this.progress;
    return {
      header: {
        runId: this.recorder.runId,
        role,
        model: this.resolved.model,
        train: this.cfg,
        vocabulary: this.resolved.vocab.toJSON(),
        step: p.step,
        charsSeen: p.charsSeen,
        secondsTrained: this.seconds(),
        data: this.batches.state(),
        rngState: this.rng.state,
        lrScale: p.lrScale,
        optimizer: null,
        bestValLoss: p.bestValLoss,
        lastEval: p.lastEval,
        backend: this.backend.name,
        corpus: this.corpusSummary,
      },
      params: this.model.values(),
      optimizer: this.stepper.optimizerSnapshot(),
      state: this.stepper.stateArrays(),
    };
  }

  /** The state a roll-back returns to: this one. */
  private goodState(): GoodState {
    return { params: this.model.values(), optimizer: this.stepper.optimizerSnapshot(), step: this.progress.step };
  }

  /** Seconds trained over the whole run (earlier processes included). */
  private seconds(): number {
    return this.progress.secondsBefore + (Date.now() - this.started) / 1000;
  }

  private fraction(): number | null {
    return budgetFraction(this.cfg, this.progress.step, this.seconds());
  }

  private learningRate(): number {
    return learningRateAt(this.cfg, this.progress.step, this.progress.lrScale, this.fraction());
  }
}
