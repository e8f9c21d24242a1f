/**
 * `lstm-lab cells-over-time RUN`: when, during a run, the cells that track strings, comments, `if`
 * conditions, depth, indentation and line position appeared — the best cell's score per concept at
 * every evaluation, from the run's cells.jsonl (src/analysis/cellsOverTime.ts), as a table step ×
 * concept, with the first step at which each concept's best cell reaches --threshold.
 * A run trained without records (older runs, --cells-chars 0) is refused with a hint; with
 * --from-checkpoints the records are computed from the checkpoints it has (best.ckpt, last.ckpt)
 * on the first --cells-chars characters of its corpus's validation files, and printed (not saved).
 * `--json` prints one line:
 *   {"event":"cells-over-time","run","source":"cells.jsonl"|"checkpoints","concepts":[ids…],
 *    "titles":{id: title},"threshold","firstReaching":{id: step|null},"records":[CellsRecord…]}
 */
import * as fs from 'fs';
import * as path from 'path';
import type { OptionSpec, ParsedOptions } from './args';
import type { Command } from './commands';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { readRunInfo, RUN_FILES } from '../engine/training/runFolder';
import { CELLS_SAMPLE_CHARS, CellsOverTime, cellsFromCheckpoints, readCellsOverTime } from '../analysis/cellsOverTime';
import { bestCellOf, CellsRecord, firstStepReaching, RecordedConcept, recordedConcepts, recordsByStep } from '../analysis/cellsRecord';
import { trainingCorpus } from './completeEval';

/** The --cells-chars option, shared with `lstm-lab train` (where 0 turns the records off). */
export function cellsCharsOption(min: number, help: string): OptionSpec {
  return { name: 'cells-chars', type: 'int', help, default: CELLS_SAMPLE_CHARS, min };
}

const OPTIONS: OptionSpec[] = [
  { name: 'from-checkpoints', type: 'bool', help: "compute the records from the run's checkpoints (best.ckpt, last.ckpt) instead of reading cells.jsonl: for runs trained without it" },
  cellsCharsOption(1, 'with --from-checkpoints: characters of the validation files ranked'),
  { name: 'corpus', type: 'string', help: 'with --from-checkpoints: the training corpus of the run (default: the one its run.json records)' },
  { name: 'threshold', type: 'number', help: 'the score whose first step is reported per concept', default: 0.9, min: 0, max: 1 },
  { name: 'backend', type: 'string', help: 'TF.js backend (with --from-checkpoints)', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

/** The table step × concept: one row per record, one column per concept (its best cell's score). */
export function formatCellsTable(records: readonly CellsRecord[], concepts: readonly RecordedConcept[]): string {
  const widths = concepts.map((c) => Math.max(5, c.concept.length));
  const head = `${'step'.padStart(8)}  ${concepts.map((c, i) => c.concept.padStart(widths[i])).join('  ')}`;
  const rows = records.map((r) => `${String(r.step).padStart(8)}  ${concepts.map((c, i) => (bestCellOf(r, c.concept)?.score.toFixed(3) ?? '–').padStart(widths[i])).join('  ')}`);
  return [head, ...rows].join('\n');
}

/** A run folder: its path, or a clear Error for a path that is not one. */
function runFolder(run: string): string {
  const dir = path.resolve(run);
  if (!fs.existsSync(dir)) throw new Error(`There is no run folder ${dir}.`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a run folder but a file: give the folder lstm-lab train made (its run.json, metrics.jsonl and checkpoints).`);
  if (!fs.existsSync(path.join(dir, RUN_FILES.info))) throw new Error(`${dir} is not a run folder: it has no ${RUN_FILES.info} (give the folder lstm-lab train made, such as runs/<run id>).`);
  return dir;
}

export const cellsOverTimeCommand: Command = {
  name: 'cells-over-time',
  summary: "the best cell's score per concept (strings, comments, if conditions, depth, indentation, line position) at every evaluation of a run",
  usage: 'lstm-lab cells-over-time RUN [--json] [--threshold X] [--from-checkpoints [--cells-chars N] [--corpus PATH]]',
  positionals: [{ name: 'run', required: true }],
  options: OPTIONS,
  async run(pos, o: ParsedOptions) {
    const json = o.json === true;
    const dir = runFolder(pos.run!);
    const threshold = o.threshold as number;
    let records: CellsRecord[];
    let source: 'cells.jsonl' | 'checkpoints';
    let note: string;
    if (o['from-checkpoints'] === true) {
      await initBackend(o.backend as BackendPreference);
      const info = await readRunInfo(dir);
      // A file in the run folder, so the corpus read again is cut back to the run's corpus.json.
      const corpus = await trainingCorpus({ corpus: info.corpus }, o.corpus as string | undefined, path.join(dir, RUN_FILES.info));
      const sample = await CellsOverTime.create(corpus.validationFiles, { maxChars: o['cells-chars'] as number });
      const r = await cellsFromCheckpoints(dir, sample);
      records = r.records;
      source = 'checkpoints';
      note = `computed from ${r.checkpoints.map((f) => path.basename(f)).join(' and ')} on ${sample.sampleChars.toLocaleString('en-US')} characters of ${sample.sampleFiles} validation file(s); not saved`;
    } else {
      const read = await readCellsOverTime(dir);
      if (read.records.length === 0) {
        throw new Error(
          `${dir} has no cells over time: ${read.exists ? `its ${RUN_FILES.cells} holds no records` : `it has no ${RUN_FILES.cells}`} ` +
            `(the run was trained before they were recorded, or with --cells-chars 0). Give --from-checkpoints to compute them from the checkpoints it has (${RUN_FILES.best}, ${RUN_FILES.last}).`,
        );
      }
      records = recordsByStep(read.records);
      source = 'cells.jsonl';
      const last = records[records.length - 1];
      note = `${records.length} record(s) from ${RUN_FILES.cells}, ${last.sampleChars.toLocaleString('en-US')} validation characters of ${last.sampleFiles} file(s) each`;
    }
    const concepts = recordedConcepts(records);
    const firstReaching = Object.fromEntries(concepts.map((c) => [c.concept, firstStepReaching(records, c.concept, threshold)]));
    if (json) {
      process.stdout.write(JSON.stringify({
        event: 'cells-over-time', run: dir, source, concepts: concepts.map((c) => c.concept), titles: Object.fromEntries(concepts.map((c) => [c.concept, c.title])),
        threshold, firstReaching, records,
      }) + '\n');
      return 0;
    }
    const ms = records.map((r) => r.ms).sort((a, b) => a - b);
    const lines = [
      `cells over time of ${dir} (${note}): the best cell's score per concept`,
      formatCellsTable(records, concepts),
      '',
      ...concepts.map((c) => `  ${c.concept.padEnd(18)} ${c.title} (${c.scoreKind === 'auc' ? 'AUC' : '|correlation|'}); first ≥ ${threshold}: ${firstReaching[c.concept] === null ? 'never' : `step ${firstReaching[c.concept]}`}`),
      `one record took ${ms[Math.floor(ms.length / 2)].toFixed(0)} ms (median of ${ms.length})`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
