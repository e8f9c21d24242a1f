/**
 * Comparing architectures, as Table 1 of Karpathy, Johnson & Fei-Fei (2015) does: a grid of cell
 * kinds × layers × hidden sizes, each trained with the same budget on the same corpus, one run after
 * another, beside n-gram models of several orders built from the same training split and scored on
 * the same validation split.
 *
 * Every grid cell is an ordinary training run (train(), src/engine/training/train.ts) in the
 * comparison's folder, named `<kind>-<layers>x<hidden>`. The folder keeps `compare.json`, the
 * manifest (written atomically after every change): the grid, and each run's state (`done` with its
 * row, or `started`). Running the same comparison again skips the runs that are done, resumes the
 * one that was interrupted, and trains the rest; a cancel ends the current run cleanly (its
 * checkpoint stays, the manifest says `started`) and the table so far is still written.
 * `compare.csv` and `compare.md` hold the table after every run.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Corpus } from '../engine/data/corpus';
import { Vocabulary } from '../engine/data/vocabulary';
import type { CellKind } from '../engine/nn/kernels';
import { parameterCount } from '../engine/nn/model';
import { NGramModel } from '../engine/ngram/ngram';
import { loadCheckpoint, writeFileAtomic } from '../engine/training/checkpoint';
import { readMetrics } from '../engine/training/runFolder';
import { train, TrainEvent, TrainOptions } from '../engine/training/train';
import type { TrainConfig } from '../engine/nn/config';

export const COMPARE_FORMAT = 'lstm-lab/compare';
export const COMPARE_VERSION = 1;
export const COMPARE_FILE = 'compare.json';

export interface CompareGrid {
  models: CellKind[];
  layers: number[];
  /** Hidden sizes; ignored when `matchParams` is set. */
  hidden: number[];
  /** Pick each (kind, layers)'s hidden size so its parameter count is nearest this. */
  matchParams?: number;
  /** Budget of every run: steps, or minutes (one of them > 0). */
  stepsEach: number;
  minutesEach: number;
  ngramOrders: number[];
}

export interface NetworkRow {
  kind: 'network';
  model: CellKind;
  layers: number;
  hidden: number;
  params: number;
  steps: number;
  chars: number;
  /** Training loss (moving average) at the last evaluation, nats/char. */
  trainLoss: number | null;
  /** Best validation loss of the run, nats/char. */
  valLoss: number | null;
  charsPerSec: number | null;
  seconds: number;
  checkpoint: string;
  runId: string;
}

export interface NGramRow {
  kind: 'ngram';
  order: number;
  valLoss: number;
  /** Distinct n-grams stored (orders 1..order). */
  size: number;
}

export type CompareRow = NetworkRow | NGramRow;

export type CompareEvent =
  | ({ event: 'compare-run'; resumed: boolean; skipped: boolean } & Omit<NetworkRow, 'kind'>)
  | { event: 'compare-ngram'; order: number; valLoss: number }
  | { event: 'compare-done'; table: CompareRow[]; cancelled: boolean; dir: string }
  | { event: 'compare-train'; runId: string; index: number; total: number; train: TrainEvent };

export interface ManifestRun {
  runId: string;
  model: CellKind;
  layers: number;
  hidden: number;
  state: 'started' | 'done';
  row?: NetworkRow;
}

export interface Manifest {
  format: typeof COMPARE_FORMAT;
  version: number;
  corpus: string;
  grid: CompareGrid;
  runs: ManifestRun[];
  ngrams: NGramRow[];
}

export class CompareError extends Error {
  override name = 'CompareError';
}

/** The hidden size (16…1024) whose parameter count is nearest `target`, for a kind and depth. */
export function hiddenForParams(kind: CellKind, layers: number, vocabSize: number, target: number): number {
  let best = 16;
  let bestGap = Infinity;
  for (let h = 16; h <= 1024; h++) {
    const gap = Math.abs(parameterCount({ kind, layers, hidden: h, embedding: 0, dropout: 0, vocabSize }) - target);
    if (gap < bestGap) [best, bestGap] = [h, gap];
  }
  return best;
}

/** The runs of a grid, in order: kinds, then layers, then hidden sizes. */
export function gridRuns(grid: CompareGrid, vocabSize: number): { runId: string; model: CellKind; layers: number; hidden: number }[] {
  const out: { runId: string; model: CellKind; layers: number; hidden: number }[] = [];
  for (const model of grid.models) {
    for (const layers of grid.layers) {
      const sizes = grid.matchParams ? [hiddenForParams(model, layers, vocabSize, grid.matchParams)] : grid.hidden;
      for (const hidden of sizes) out.push({ runId: `${model}-${layers}x${hidden}`, model, layers, hidden });
    }
  }
  return out;
}

function sameGrid(a: CompareGrid, b: CompareGrid): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function readManifest(file: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new CompareError(`${file} is not valid JSON: remove it (or choose another --out) to start the comparison again.`);
  }
  if (m?.format !== COMPARE_FORMAT) throw new CompareError(`${file} is not an LSTM Lab comparison manifest (format ${JSON.stringify(m?.format)}).`);
  if (m.version !== COMPARE_VERSION) throw new CompareError(`${file} has version ${m.version}; this LSTM Lab reads version ${COMPARE_VERSION}.`);
  return m;
}

export interface CompareOptions {
  outDir: string;
  signal?: AbortSignal;
  onEvent?: (e: CompareEvent) => void;
  /** Training settings shared by every run (sequence, batch, learning rate, …). */
  train?: Partial<TrainConfig>;
  /** Fit each run's completion mixture at its end (train()'s fitMixture; default off: a comparison does not complete, and `lstm-lab mixture` fits one later). */
  fitMixture?: boolean;
}

/** The table: network rows in grid order, then n-gram rows by order. */
function tableOf(m: Manifest): CompareRow[] {
  return [...m.runs.filter((r) => r.row).map((r) => r.row!), ...[...m.ngrams].sort((a, b) => a.order - b.order)];
}

/** Run (or go on with) a comparison; resolves with the table once every run and n-gram is done or on cancel. */
export async function compareArchitectures(corpus: Corpus, grid: CompareGrid, o: CompareOptions): Promise<{ table: CompareRow[]; cancelled: boolean }> {
  if (grid.stepsEach <= 0 && grid.minutesEach <= 0) throw new CompareError('A comparison needs a budget per run: --steps-each N or --minutes-each X.');
  if (corpus.validationFiles.length === 0) throw new CompareError(`${corpus.root} has no validation files, so runs cannot be compared (${corpus.splitNote ?? 'too few files'}).`);
  await fs.promises.mkdir(o.outDir, { recursive: true });
  const file = path.join(o.outDir, COMPARE_FILE);
  const emit = o.onEvent ?? (() => undefined);
  let m = await readManifest(file);
  if (m && (!sameGrid(m.grid, grid) || m.corpus !== corpus.root)) {
    throw new CompareError(`${o.outDir} holds another comparison (${m.corpus}, ${JSON.stringify(m.grid)}): give another --out, or the same grid and corpus to go on with it.`);
  }
  m ??= { format: COMPARE_FORMAT, version: COMPARE_VERSION, corpus: corpus.root, grid, runs: [], ngrams: [] };
  const save = async () => {
    await writeFileAtomic(file, JSON.stringify(m, null, 1) + '\n');
    const table = tableOf(m!);
    await writeFileAtomic(path.join(o.outDir, 'compare.csv'), tableCsv(table));
    await writeFileAtomic(path.join(o.outDir, 'compare.md'), tableMarkdown(table));
  };

  // The vocabulary every run will build (the same corpus and defaults): its size fixes parameter counts.
  const vocab = Vocabulary.fromText(corpus.trainText);
  const runs = gridRuns(grid, vocab.size);
  let cancelled = false;
  for (const [index, spec] of runs.entries()) {
    let entry = m.runs.find((r) => r.runId === spec.runId);
    if (entry?.state === 'done' && entry.row) {
      emit({ event: 'compare-run', resumed: false, skipped: true, ...withoutKind(entry.row) });
      continue;
    }
    if (o.signal?.aborted) {
      cancelled = true;
      break;
    }
    const resume = entry?.state === 'started' && fs.existsSync(path.join(o.outDir, spec.runId, 'last.ckpt'));
    if (!entry) {
      entry = { ...spec, state: 'started' };
      m.runs.push(entry);
    }
    entry.state = 'started';
    await save();
    let lastEval: { trainLoss: number; charsPerSec: number } | null = null;
    const opts: TrainOptions = {
      outDir: o.outDir,
      signal: o.signal,
      fitMixture: o.fitMixture ?? false,
      ...(resume ? { resume: path.join(o.outDir, spec.runId) } : { runId: spec.runId, overwrite: true }),
      model: { kind: spec.model, layers: spec.layers, hidden: spec.hidden },
      train: { ...o.train, steps: grid.stepsEach, minutes: grid.minutesEach, sampleChars: 0 },
      onEvent: (e) => {
        if (e.event === 'eval') lastEval = { trainLoss: e.trainLoss, charsPerSec: e.charsPerSec };
        emit({ event: 'compare-train', runId: spec.runId, index, total: runs.length, train: e });
      },
    };
    const done = await train(corpus, opts);
    if (done.stopReason === 'cancelled') {
      cancelled = true;
      await save();
      break;
    }
    const ckpt = await loadCheckpoint(done.checkpoint);
    const ev = lastEval as { trainLoss: number; charsPerSec: number } | null;
    const row: NetworkRow = {
      kind: 'network',
      ...spec,
      params: parameterCount(ckpt.header.model),
      steps: done.step,
      chars: done.chars,
      trainLoss: ev?.trainLoss ?? ckpt.header.lastEval?.trainLoss ?? null,
      valLoss: done.bestValLoss,
      charsPerSec: ev?.charsPerSec ?? (done.seconds > 0 ? done.chars / done.seconds : null),
      seconds: done.seconds,
      checkpoint: done.checkpoint,
    };
    entry.state = 'done';
    entry.row = row;
    await save();
    emit({ event: 'compare-run', resumed: resume, skipped: false, ...withoutKind(row) });
  }

  if (!cancelled) {
    const trainIds = vocab.encode(corpus.trainText);
    const valIds = vocab.encode(corpus.validationText);
    for (const order of grid.ngramOrders) {
      let row = m.ngrams.find((r) => r.order === order);
      if (!row) {
        if (o.signal?.aborted) {
          cancelled = true;
          break;
        }
        const ngram = NGramModel.build(trainIds, vocab.size, order);
        row = { kind: 'ngram', order, valLoss: ngram.evaluate(valIds).natsPerChar, size: ngram.size };
        m.ngrams.push(row);
        await save();
      }
      emit({ event: 'compare-ngram', order: row.order, valLoss: row.valLoss });
    }
  }
  await save();
  const table = tableOf(m);
  emit({ event: 'compare-done', table, cancelled, dir: o.outDir });
  return { table, cancelled };
}

function withoutKind(row: NetworkRow): Omit<NetworkRow, 'kind'> {
  const { kind: _kind, ...rest } = row;
  return rest;
}

const COLUMNS = ['model', 'layers', 'hidden', 'params', 'steps', 'chars', 'train nats/char', 'validation nats/char', 'chars/s'] as const;

function cells(r: CompareRow): (string | number)[] {
  const f = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? '' : x.toFixed(d));
  if (r.kind === 'ngram') return [`${r.order}-gram`, '', '', r.size, '', '', '', f(r.valLoss), ''];
  return [r.model, r.layers, r.hidden, r.params, r.steps, r.chars, f(r.trainLoss), f(r.valLoss), f(r.charsPerSec, 0)];
}

export function tableCsv(table: readonly CompareRow[]): string {
  return [COLUMNS.join(','), ...table.map((r) => cells(r).join(','))].join('\n') + '\n';
}

export function tableMarkdown(table: readonly CompareRow[]): string {
  return [`| ${COLUMNS.join(' | ')} |`, `| ${COLUMNS.map(() => '---').join(' | ')} |`, ...table.map((r) => `| ${cells(r).join(' | ')} |`)].join('\n') + '\n';
}

/** One run of a comparison as read back from its folder: the manifest's entry and its evaluations so far. */
export interface ComparisonRun extends ManifestRun {
  /** Validation (and training) loss at each evaluation, from the run's metrics.jsonl. */
  evals: { step: number; chars: number; seconds: number; trainLoss: number; valLoss: number }[];
}

/** A comparison as its folder holds it (for a view drawn while it runs, or after): null when DIR has no manifest yet. */
export interface ComparisonSnapshot {
  dir: string;
  corpus: string;
  grid: CompareGrid;
  runs: ComparisonRun[];
  table: CompareRow[];
}

/** Read a comparison folder: compare.json and each run's metrics (a run not started yet has none). */
export async function readComparison(dir: string): Promise<ComparisonSnapshot | null> {
  const m = await readManifest(path.join(dir, COMPARE_FILE));
  if (!m) return null;
  const runs = await Promise.all(
    m.runs.map(async (r) => {
      const evals = (await readMetrics(path.join(dir, r.runId))).map((e) => ({ step: e.step, chars: e.chars, seconds: e.seconds, trainLoss: e.trainLoss, valLoss: e.valLoss }));
      return { ...r, evals };
    }),
  );
  return { dir, corpus: m.corpus, grid: m.grid, runs, table: tableOf(m) };
}
