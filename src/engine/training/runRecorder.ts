/**
 * The files of a run, as the training loop writes them (the layout is runFolder.ts's):
 *   run.json        what the run is; written when it starts, again when it ends (status, stop reason)
 *   metrics.jsonl   one EvalRecord per evaluation, fsync'd before the checkpoint that follows it
 *   cells.jsonl     one line per evaluation from the afterEvaluation hook, appended and fsync'd
 *                   (only with a hook, or when the run resumed has the file)
 *   last.ckpt       written at every evaluation
 *   best.ckpt       written when the validation loss is the lowest so far
 *   train.lock      held from placing the run until it ends, however it ends
 *
 * Where a run trains (placeRun): a new run gets a folder of its own (made exclusively); a resume from
 * last.ckpt continues in its folder, one from best.ckpt forks a new run beside it, one from a loose
 * checkpoint seeds a new run. What the user should know about the folder (a stale lock taken over,
 * leftovers removed, a fork) comes back as notes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { appendFileDurably, CheckpointContent, EvalRecord, LoadedCheckpoint, saveCheckpoint, writeFileAtomic } from './checkpoint';
import type { ModelConfig } from '../nn/config';
import { acquireRunLock, clearRunFiles, createRunFolder, removeStaleTempFiles, resumeKind, RunFolderError, RunInfo, RunLock, RunMixture, RUN_FILES, StopReason } from './runFolder';

/** Where a run trains: its folder and id, the metrics it carries on, what to tell the user. */
export interface RunPlace {
  dir: string;
  runId: string;
  /** The metrics.jsonl a resumed run keeps (up to its checkpoint's step); null: none. */
  metricsFrom: string | null;
  /** The cells.jsonl a resumed run keeps, the same way (it may not exist); null: none. */
  cellsFrom: string | null;
  /** The folder held an earlier run that is started again from scratch: clear its files. */
  overwrite: boolean;
  note: string | null;
}

/** The options that decide where a run trains (TrainOptions' fields of the same names). */
export interface PlaceRequest {
  outDir: string;
  runId?: string;
  overwrite?: boolean;
}

export function newRunId(cfg: Pick<ModelConfig, 'kind' | 'layers' | 'hidden'>): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${cfg.kind}-${cfg.layers}x${cfg.hidden}`;
}

/**
 * The folder a run trains in (made if new, exclusively). A new run: a new folder under outDir (with
 * `overwrite`, the named one even if it exists). A resume (see resumeKind): its last.ckpt continues
 * in its own folder; a run's best.ckpt (or another of its checkpoints) forks a new folder beside the
 * run, which keeps its metrics; a checkpoint outside any run folder seeds a new run under outDir.
 */
export async function placeRun(opts: PlaceRequest, resumed: LoadedCheckpoint | null, modelCfg: ModelConfig): Promise<RunPlace> {
  const exact = opts.runId !== undefined;
  if (!resumed) {
    const runId = opts.runId ?? newRunId(modelCfg);
    try {
      const dir = await createRunFolder(opts.outDir, runId, exact);
      return { dir, runId: path.basename(dir), metricsFrom: null, cellsFrom: null, overwrite: false, note: null };
    } catch (e) {
      if (!(opts.overwrite && e instanceof RunFolderError && e.reason === 'exists')) throw e;
      const dir = path.join(opts.outDir, runId);
      return { dir, runId, metricsFrom: null, cellsFrom: null, overwrite: true, note: `started ${dir} again from scratch (overwrite): its earlier run files were removed` };
    }
  }
  const h = resumed.header;
  const source = path.dirname(resumed.path);
  const kind = resumeKind(resumed.path);
  if (kind === 'continue') return { dir: source, runId: h.runId, metricsFrom: path.join(source, RUN_FILES.metrics), cellsFrom: path.join(source, RUN_FILES.cells), overwrite: false, note: null };
  if (kind === 'fork') {
    const dir = await createRunFolder(path.dirname(source), opts.runId ?? `${path.basename(source)}-from-step-${h.step}`, exact);
    return {
      dir, runId: path.basename(dir), metricsFrom: path.join(source, RUN_FILES.metrics), cellsFrom: path.join(source, RUN_FILES.cells), overwrite: false,
      note: `resuming from ${path.basename(resumed.path)} (step ${h.step}) of ${source} forks a new run, ${dir}: ${source} and its metrics stay as they are`,
    };
  }
  const dir = await createRunFolder(opts.outDir, opts.runId ?? newRunId(modelCfg), exact);
  return {
    dir, runId: path.basename(dir), metricsFrom: null, cellsFrom: null, overwrite: false,
    note: `${resumed.path} is not in a run folder: training goes on from it (step ${h.step}) in a new run, ${dir}`,
  };
}

export class RunRecorder {
  readonly dir: string;
  readonly runId: string;
  readonly lastPath: string;
  readonly bestPath: string;
  private readonly metricsPath: string;
  private readonly cellsPath: string;
  /** An append to cells.jsonl failed part-way, perhaps: the next one starts on a new line. */
  private cellsTorn = false;
  /** run.json as written at the start; null until then. */
  private info: RunInfo | null = null;

  private constructor(
    private readonly place: RunPlace,
    private readonly lock: RunLock,
  ) {
    this.dir = place.dir;
    this.runId = place.runId;
    this.lastPath = path.join(place.dir, RUN_FILES.last);
    this.bestPath = path.join(place.dir, RUN_FILES.best);
    this.metricsPath = path.join(place.dir, RUN_FILES.metrics);
    this.cellsPath = path.join(place.dir, RUN_FILES.cells);
  }

  /** Take the lock of the run's folder; release() it on every way out. */
  static async open(place: RunPlace): Promise<RunRecorder> {
    return new RunRecorder(place, await acquireRunLock(place.dir));
  }

  /**
   * Make the folder ready: temporary files of dead writers removed, an overwritten run's files
   * cleared. Returns what the user should know (with `resumeNote`, the checkpoint loader's).
   */
  async prepare(resumeNote: string | undefined): Promise<string[]> {
    const notes: string[] = [];
    const h = this.lock.tookOver;
    if (h) notes.push(`took over the lock of ${this.dir} from ${h.pid ? `process ${h.pid} on ${h.host}, which is no longer running` : 'a process that died while taking it'}`);
    const leftovers = await removeStaleTempFiles(this.dir);
    if (leftovers.length) notes.push(`removed ${leftovers.length} temporary file(s) left in ${this.dir} by processes no longer running: ${leftovers.join(', ')}`);
    if (resumeNote) notes.push(resumeNote);
    if (this.place.note) notes.push(this.place.note);
    if (this.place.overwrite) await clearRunFiles(this.dir);
    return notes;
  }

  /**
   * Start metrics.jsonl: a resumed run (resumedStep ≠ null) keeps the lines of its metrics up to its
   * checkpoint's step (lines written after it are dropped); a new run starts it empty.
   */
  async startMetrics(resumedStep: number | null): Promise<void> {
    if (resumedStep === null) await writeFileAtomic(this.metricsPath, '');
    else await writeFileAtomic(this.metricsPath, await linesUpTo(this.place.metricsFrom, resumedStep));
  }

  /**
   * Start cells.jsonl as metrics.jsonl is started: a resumed run keeps the lines of its run's file
   * up to its checkpoint's step, so the records appended from here on continue it; a new run with a
   * hook (`recording`) starts it empty. A run without a hook whose run has no such file gets none.
   */
  async startCells(resumedStep: number | null, recording: boolean): Promise<void> {
    const from = this.place.cellsFrom;
    if (resumedStep !== null && from && fs.existsSync(from)) await writeFileAtomic(this.cellsPath, await linesUpTo(from, resumedStep));
    else if (recording) await writeFileAtomic(this.cellsPath, '');
  }

  /** run.json at the start (status 'running'). */
  async start(info: RunInfo): Promise<void> {
    await writeFileAtomic(path.join(this.dir, RUN_FILES.info), JSON.stringify(info, null, 2));
    this.info = info;
  }

  /** One evaluation, fsync'd: the checkpoint saved after it counts on it. */
  async recordEval(rec: EvalRecord): Promise<void> {
    await appendFileDurably(this.metricsPath, JSON.stringify(rec) + '\n');
  }

  /**
   * One line of cells.jsonl, appended and fsync'd. Earlier lines are never rewritten; a line torn by
   * a crash is skipped by readCellsRecords (and dropped when the run resumes), and after a failed
   * append the next line starts on a line of its own.
   */
  async recordCells(rec: object): Promise<void> {
    const line = (this.cellsTorn ? '\n' : '') + JSON.stringify(rec) + '\n';
    this.cellsTorn = true;
    await appendFileDurably(this.cellsPath, line);
    this.cellsTorn = false;
  }

  /** Save last.ckpt or best.ckpt (atomically); returns its path. */
  async saveCheckpoint(role: 'best' | 'last', content: CheckpointContent): Promise<string> {
    const file = role === 'best' ? this.bestPath : this.lastPath;
    await saveCheckpoint(file, content);
    return file;
  }

  /** What sampling and completions use: best.ckpt, or last.ckpt when there is none. */
  checkpointToUse(): string {
    return fs.existsSync(this.bestPath) ? this.bestPath : this.lastPath;
  }

  /** run.json at the end, if the run got to start: how it ended (and the error when it failed). */
  async finish(status: RunInfo['status'], step: number, best: number | null, reason: StopReason, err?: unknown): Promise<void> {
    if (!this.info) return;
    const next: RunInfo = { ...this.info, status, step, bestValLoss: best, stopReason: reason, finishedAt: new Date().toISOString() };
    if (err) next.error = err instanceof Error ? err.message : String(err);
    await writeFileAtomic(path.join(this.dir, RUN_FILES.info), JSON.stringify(next, null, 2));
    this.info = next;
  }

  /** run.json again, with what fitting the completion mixture came to (after finish). */
  async recordMixture(mixture: RunMixture): Promise<void> {
    if (!this.info) return;
    this.info = { ...this.info, mixture };
    await writeFileAtomic(path.join(this.dir, RUN_FILES.info), JSON.stringify(this.info, null, 2));
  }

  /** Free the folder (before the 'done' event, so a listener may resume it). */
  release(): Promise<void> {
    return this.lock.release();
  }
}

/** The lines of `from` (a run's metrics.jsonl or cells.jsonl) up to `step`, as text; '' when there is none. */
async function linesUpTo(from: string | null, step: number): Promise<string> {
  let text = '';
  try {
    if (from) text = await fs.promises.readFile(from, 'utf8');
  } catch {
    /* no lines yet */
  }
  const kept = text.split('\n').filter((l) => {
    if (!l.trim()) return false;
    try {
      return JSON.parse(l).step <= step;
    } catch {
      return false;
    }
  });
  return kept.map((l) => l + '\n').join('');
}
