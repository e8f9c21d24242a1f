/**
 * Cells over time: when, during training, does a cell that tracks comments (or strings, `if`
 * conditions, bracket depth, indentation, line position…) appear? At every evaluation of a run the
 * model's cells are ranked against the concepts of a fixed sample of the run's validation text —
 * discoverCells (interpretableCells.ts) with the best cell kept per concept — and the best cells go
 * to the run's cells.jsonl as one CellsRecord (cellsRecord.ts) per evaluation.
 *
 * The sample is the first `maxChars` code points of the validation files (each file read from a
 * zero state, as discovery reads them), labelled once when the run starts; each record then costs
 * one batch-1 pass of the sample through the model and one ranking (measured: README, Experiments).
 * The training loop knows nothing of this: it calls the hook that `afterEvaluation` returns.
 *
 * For runs trained without records, cellsFromCheckpoints computes records from the checkpoints the
 * run still has (best.ckpt, last.ckpt).
 */
import * as fs from 'fs';
import * as path from 'path';
import { InferenceModel } from '../engine/inference/inference';
import { loadCheckpoint } from '../engine/training/checkpoint';
import { readCellsRecords, RUN_FILES } from '../engine/training/runFolder';
import type { AfterEvaluation } from '../engine/training/train';
import type { CellRanking } from './cellRanking';
import { type BestCell, type CellsRecord, isCellsRecord } from './cellsRecord';
import { labelSources, LabelledSources, rankLabelled, SourceText } from './interpretableCells';

/**
 * Code points of the validation text ranked at each evaluation unless told otherwise. Measured for
 * a 2×128 LSTM on a shared 2-core machine (README, Experiments): a record on 10,000 took 0.86× the
 * evaluation it follows (50,000 characters), one on 20,000 1.75×, the sort of every cell's
 * activations growing faster than the text.
 */
export const CELLS_SAMPLE_CHARS = 10_000;

export interface CellsSampleOptions {
  /** Code points of the files taken, in all (default CELLS_SAMPLE_CHARS). */
  maxChars?: number;
  /** Where tree-sitter's wasm files are (a bundle passes them; by default they come from node_modules). */
  grammarWasmPath?: string;
  treeSitterWasmPath?: string;
}

/** The best cell of each ranking that has one, as a record keeps it. */
export function bestCells(rankings: readonly CellRanking[]): BestCell[] {
  return rankings.flatMap((r) => {
    const c = r.cells[0];
    return c ? [{ concept: r.concept, title: r.title, scoreKind: r.scoreKind, score: c.score, layer: c.layer, cell: c.cell, quantity: c.quantity, direction: c.direction }] : [];
  });
}

/** A run's validation sample, labelled once, ranked against the model of each evaluation. */
export class CellsOverTime {
  private constructor(private readonly labelled: LabelledSources) {}

  /**
   * Label the first `maxChars` code points of `files` (a run's validation files). An Error when they
   * hold no text (a corpus without a validation split).
   */
  static async create(files: readonly SourceText[], opts: CellsSampleOptions = {}): Promise<CellsOverTime> {
    const maxChars = opts.maxChars ?? CELLS_SAMPLE_CHARS;
    if (!Number.isInteger(maxChars) || maxChars <= 0) throw new Error(`The cells sample must be a positive whole number of characters, got ${maxChars}.`);
    const labelled = await labelSources([...files], { maxChars, grammarWasmPath: opts.grammarWasmPath, treeSitterWasmPath: opts.treeSitterWasmPath });
    if (labelled.chars === 0) throw new Error('There is no validation text to rank the cells on.');
    return new CellsOverTime(labelled);
  }

  /** Code points and files of the sample. */
  get sampleChars(): number {
    return this.labelled.chars;
  }

  get sampleFiles(): number {
    return this.labelled.parts.length;
  }

  /** What labelled the sample, as "tree-sitter-c: 2, lexer: 1". */
  get labellers(): string {
    return Object.entries(this.labelled.labellers).map(([k, v]) => `${k}: ${v}`).join(', ');
  }

  /** One line for people: what each evaluation ranks. */
  describe(): string {
    return `cells over time: each evaluation ranks the cells on ${this.sampleChars.toLocaleString('en-US')} characters of ${this.sampleFiles} validation file(s) (labelled by ${this.labellers})`;
  }

  /** The best cell per concept of `model` on the sample, as the record of the evaluation at `step`. */
  record(model: InferenceModel, step: number, chars: number, seconds: number): CellsRecord {
    const t0 = performance.now();
    const d = rankLabelled(model, this.labelled, { top: 1 });
    const ms = performance.now() - t0;
    return { step, chars, seconds, sampleChars: d.chars, sampleFiles: d.files, ms: Math.round(ms * 10) / 10, concepts: bestCells(d.rankings) };
  }

  /**
   * The training loop's hook (TrainOptions.afterEvaluation). A record costs about as much as an
   * evaluation (config A, 10,000 characters: ~0.8 s), so it is made at an evaluation only once the
   * training time since the last record is enough for the records to take at most `maxShare` of
   * it (default CELLS_TIME_SHARE), judged by what the last one cost: a long run gets a record every
   * few evaluations, a short one at each. The first evaluation is always recorded; `maxShare` 1
   * records every evaluation.
   */
  afterEvaluation(maxShare = CELLS_TIME_SHARE): AfterEvaluation {
    if (!(maxShare > 0 && maxShare <= 1)) throw new RangeError(`The share of training time for cell records must be in (0, 1], got ${maxShare}.`);
    let last: { seconds: number; ms: number } | null = null;
    return async (model, step, chars, seconds) => {
      if (last && maxShare < 1 && (seconds - last.seconds) * 1000 * maxShare < last.ms) return null;
      const t0 = performance.now();
      const r = this.record(model, step, chars, seconds);
      last = { seconds, ms: performance.now() - t0 };
      return r;
    };
  }
}

/**
 * The records of a run folder's cells.jsonl, ascending as written; a line that is not a record (torn
 * by a crash, or of another shape) is left out. `file`: the file's path; `exists`: whether it is there.
 */
/** The share of training time records may take, at most, by default (afterEvaluation). */
export const CELLS_TIME_SHARE = 0.04;

export async function readCellsOverTime(runDir: string): Promise<{ records: CellsRecord[]; file: string; exists: boolean }> {
  const file = path.join(runDir, RUN_FILES.cells);
  return { records: (await readCellsRecords(runDir)).filter(isCellsRecord), file, exists: fs.existsSync(file) };
}

/** The checkpoints of a run folder that exist: best.ckpt, last.ckpt. */
export function runCheckpoints(runDir: string): string[] {
  return [RUN_FILES.best, RUN_FILES.last].map((f) => path.join(runDir, f)).filter((f) => fs.existsSync(f));
}

/**
 * Records computed afterwards from a run's checkpoints (best.ckpt, last.ckpt: those it has), for a
 * run trained without them: one per distinct step, ascending, each at the step, characters and
 * seconds its checkpoint records. An Error when the run has no checkpoint.
 */
export async function cellsFromCheckpoints(runDir: string, sample: CellsOverTime): Promise<{ records: CellsRecord[]; checkpoints: string[] }> {
  const files = runCheckpoints(runDir);
  if (files.length === 0) throw new Error(`${runDir} has no checkpoint (${RUN_FILES.best} or ${RUN_FILES.last}) to compute cells from.`);
  const byStep = new Map<number, { record: CellsRecord; file: string }>();
  for (const file of files) {
    const ckpt = await loadCheckpoint(file);
    const model = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);
    try {
      const h = ckpt.header;
      byStep.set(h.step, { record: sample.record(model, h.step, h.charsSeen, h.secondsTrained), file });
    } finally {
      model.dispose();
    }
  }
  const kept = [...byStep.values()].sort((a, b) => a.record.step - b.record.step);
  return { records: kept.map((k) => k.record), checkpoints: kept.map((k) => k.file) };
}
