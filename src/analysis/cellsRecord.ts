/**
 * Cells over time, the record: at one evaluation of a training run, the best cell of the model for
 * each concept (cellsOverTime.ts computes it; the run's cells.jsonl keeps one record per line), the
 * check of its shape, and what is read off a run's records — the concepts they cover, one concept's
 * best score at each record, the first step at which it reaches a score.
 *
 * No Node, no DOM, no `vscode`: the CLI, the editor's host, the protocol's checks and the dashboard
 * webview all import it.
 */

/** The best cell for one concept (cellRanking.ts's RankedCell, with the concept it was ranked for). */
export interface BestCell {
  concept: string;
  title: string;
  scoreKind: 'auc' | 'correlation';
  /** AUC: max(AUC, 1 − AUC) in [0.5, 1]; correlation: |r| in [0, 1]. */
  score: number;
  /** 1-based. */
  layer: number;
  cell: number;
  /** What was ranked: 'tanh(c)' for LSTM, 'h' otherwise (or a gate). */
  quantity: string;
  /** +1: high activation means the concept; −1: low activation does. */
  direction: 1 | -1;
}

/** One evaluation's best cells. */
export interface CellsRecord {
  step: number;
  /** Characters trained on by then. */
  chars: number;
  /** Seconds trained by then (the evaluation's). */
  seconds: number;
  /** Code points of the run's validation sample that were ranked, and the files they come from. */
  sampleChars: number;
  sampleFiles: number;
  /** What this record cost, in milliseconds: reading the sample through the model and ranking (its labels are made once per run). */
  ms: number;
  /** One per concept the sample can rank (one without a positive position in it has none), in the labeller's order. */
  concepts: BestCell[];
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isBestCell(v: unknown): v is BestCell {
  return (
    isObj(v) && typeof v.concept === 'string' && typeof v.title === 'string' && (v.scoreKind === 'auc' || v.scoreKind === 'correlation') &&
    isNum(v.score) && v.score >= 0 && v.score <= 1 && Number.isInteger(v.layer) && (v.layer as number) >= 1 &&
    Number.isInteger(v.cell) && (v.cell as number) >= 0 && typeof v.quantity === 'string' && (v.direction === 1 || v.direction === -1)
  );
}

/** Whether `v` has the shape of a CellsRecord (what a line of cells.jsonl or a message must hold). */
export function isCellsRecord(v: unknown): v is CellsRecord {
  return (
    isObj(v) && isNum(v.step) && isNum(v.chars) && isNum(v.seconds) && isNum(v.sampleChars) && isNum(v.sampleFiles) && isNum(v.ms) &&
    Array.isArray(v.concepts) && v.concepts.every(isBestCell)
  );
}

/** A concept the records cover: its id, title and kind of score. */
export interface RecordedConcept {
  concept: string;
  title: string;
  scoreKind: BestCell['scoreKind'];
}

/** Every concept of the records, in the order they first appear. */
export function recordedConcepts(records: readonly CellsRecord[]): RecordedConcept[] {
  const seen = new Map<string, RecordedConcept>();
  for (const r of records) {
    for (const c of r.concepts) if (!seen.has(c.concept)) seen.set(c.concept, { concept: c.concept, title: c.title, scoreKind: c.scoreKind });
  }
  return [...seen.values()];
}

/** The best cell of `concept` in a record, or null when the record has none for it. */
export function bestCellOf(record: CellsRecord, concept: string): BestCell | null {
  return record.concepts.find((c) => c.concept === concept) ?? null;
}

/** The step of the first record whose best cell for `concept` scores at least `threshold`, or null. */
export function firstStepReaching(records: readonly CellsRecord[], concept: string, threshold: number): number | null {
  for (const r of [...records].sort((a, b) => a.step - b.step)) {
    const c = bestCellOf(r, concept);
    if (c && c.score >= threshold) return r.step;
  }
  return null;
}

/** The records ascending by step, the last of each step kept (a resumed run may record a step twice). */
export function recordsByStep(records: readonly CellsRecord[]): CellsRecord[] {
  const byStep = new Map<number, CellsRecord>();
  for (const r of records) byStep.set(r.step, r);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}
