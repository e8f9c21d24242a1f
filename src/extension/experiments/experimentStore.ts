/**
 * Where the experiments of a workspace are kept, under the extension's storage:
 *
 *   experiments/compare-<time>/        a comparison: the command line's own folder (compare.json,
 *                                      compare.csv, compare.md, one run folder per grid cell) and
 *                                      experiment.json (the command, when it started, how it ended)
 *   experiments/analyses.json          every onion, bracket and gradient analysis: the command line's
 *                                      JSON result, the model and target, the command
 *   experiments/onion-<id>.json        an onion's per-character categories (for the file colouring)
 *
 * Every write is atomic (a kill mid-write leaves the old file). Nothing here imports `vscode`: the
 * views it builds are the protocol's (../protocol/experiments.ts), and a test reads a folder with it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readComparison, type CompareGrid } from '../../analysis/architectureComparison';
import { writeFileAtomic } from '../../engine/training/checkpoint';
import type { AnalysisView, ComparisonView } from '../protocol/experiments';

export const EXPERIMENT_FILE = 'experiment.json';
const ANALYSES_FILE = 'analyses.json';
/** Analyses kept; older ones (and their per-character files) are dropped. */
export const MAX_ANALYSES = 40;

export interface ComparisonRecord {
  args: string[];
  command: string;
  startedAt: string;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  message: string | null;
}

export type StoredAnalysis = Omit<AnalysisView, 'colouring'>;

/** One onion's per-character categories, for the file it was peeled on: [code point index, category index] of each error. */
export interface OnionCharacters {
  categoryNames: string[];
  /** The document's file, and the hash of the text the onion was computed on (errorColouring.ts). */
  file: string;
  hash: string;
  /** Code points the onion saw (the start of the text, at most --max-chars). */
  chars: number;
  errors: [number, number][];
}

const CELL_NAMES: Record<string, string> = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' };
export const modelLabel = (kind: string, layers: number, hidden: number) => `${CELL_NAMES[kind] ?? kind} ${layers}×${hidden}`;

/** The grid in words: "lstm, gru × 1, 2 layers × 128 · 1,500 steps each". */
export function gridText(g: CompareGrid): string {
  const sizes = g.matchParams ? `≈${g.matchParams.toLocaleString('en-US')} parameters` : g.hidden.join(', ');
  const budget = g.stepsEach > 0 ? `${g.stepsEach.toLocaleString('en-US')} steps each` : `${g.minutesEach} min each`;
  return `${g.models.join(', ')} × ${g.layers.join(', ')} layer(s) × ${sizes} · ${budget}`;
}

/** Runs in a grid (a matched-parameter grid has one size per kind and depth). */
export const gridTotal = (g: CompareGrid) => g.models.length * g.layers.length * (g.matchParams ? 1 : g.hidden.length);

export class ExperimentStore {
  constructor(readonly root: string) {}

  newComparisonDir(now = new Date()): string {
    const stamp = now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
    let dir = path.join(this.root, `compare-${stamp}`);
    for (let k = 2; fs.existsSync(dir); k++) dir = path.join(this.root, `compare-${stamp}-${k}`);
    return dir;
  }

  async writeComparisonRecord(dir: string, record: ComparisonRecord): Promise<void> {
    await fs.promises.mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, EXPERIMENT_FILE), JSON.stringify(record, null, 1) + '\n');
  }

  async readComparisonRecord(dir: string): Promise<ComparisonRecord | null> {
    try {
      return JSON.parse(await fs.promises.readFile(path.join(dir, EXPERIMENT_FILE), 'utf8')) as ComparisonRecord;
    } catch {
      return null;
    }
  }

  /** Every comparison folder, newest first. */
  async comparisonDirs(): Promise<string[]> {
    const names = await fs.promises.readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith('compare-')).sort().reverse().map((n) => path.join(this.root, n));
  }

  /**
   * A comparison as the panel shows it. `live` says the job that writes it runs now; a record that
   * says running without a live job was interrupted (the window closed) and shows as cancelled.
   */
  async comparisonView(dir: string, live: boolean): Promise<ComparisonView | null> {
    const record = await this.readComparisonRecord(dir);
    if (!record) return null;
    let snapshot: Awaited<ReturnType<typeof readComparison>> = null;
    let message = record.message;
    try {
      snapshot = await readComparison(dir);
    } catch (e) {
      message = e instanceof Error ? e.message : String(e);
    }
    const status = record.status === 'running' && !live ? 'cancelled' : record.status;
    const runs = snapshot?.runs ?? [];
    return {
      id: path.basename(dir),
      dir,
      corpus: snapshot?.corpus ?? '',
      grid: snapshot ? gridText(snapshot.grid) : '',
      total: snapshot ? gridTotal(snapshot.grid) : 0,
      done: runs.filter((r) => r.state === 'done').length,
      status,
      message,
      table: snapshot?.table ?? [],
      curves: runs.map((r) => ({ runId: r.runId, label: modelLabel(r.model, r.layers, r.hidden), state: r.state, points: r.evals.filter((e) => Number.isFinite(e.valLoss) && Number.isFinite(e.trainLoss)) })),
      command: record.command,
    };
  }

  async readAnalyses(): Promise<StoredAnalysis[]> {
    try {
      const list = JSON.parse(await fs.promises.readFile(path.join(this.root, ANALYSES_FILE), 'utf8')) as unknown;
      return Array.isArray(list) ? (list as StoredAnalysis[]) : [];
    } catch {
      return [];
    }
  }

  /** Add an analysis (newest first), keeping at most MAX_ANALYSES; its per-character file beside it. */
  async addAnalysis(a: StoredAnalysis, characters?: OnionCharacters): Promise<void> {
    await fs.promises.mkdir(this.root, { recursive: true });
    if (characters) await writeFileAtomic(this.onionFile(a.id), JSON.stringify(characters));
    const list = [a, ...(await this.readAnalyses()).filter((x) => x.id !== a.id)];
    for (const old of list.splice(MAX_ANALYSES)) await fs.promises.rm(this.onionFile(old.id), { force: true });
    await writeFileAtomic(path.join(this.root, ANALYSES_FILE), JSON.stringify(list) + '\n');
  }

  async removeAnalysis(id: string): Promise<void> {
    const list = (await this.readAnalyses()).filter((x) => x.id !== id);
    await writeFileAtomic(path.join(this.root, ANALYSES_FILE), JSON.stringify(list) + '\n');
    await fs.promises.rm(this.onionFile(id), { force: true });
  }

  async removeComparison(id: string): Promise<void> {
    const dir = path.join(this.root, id);
    if (!id.startsWith('compare-') || path.dirname(dir) !== this.root) throw new Error(`Not a comparison of this workspace: ${id}`);
    await fs.promises.rm(dir, { recursive: true, force: true });
  }

  async readOnionCharacters(id: string): Promise<OnionCharacters | null> {
    try {
      return JSON.parse(await fs.promises.readFile(this.onionFile(id), 'utf8')) as OnionCharacters;
    } catch {
      return null;
    }
  }

  private onionFile(id: string): string {
    return path.join(this.root, `onion-${id.replace(/[^\w.-]/g, '_')}.json`);
  }
}
