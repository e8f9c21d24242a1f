/**
 * The local record of inline suggestions: per run (its folder) and per completer (hybrid,
 * ngram+cache, lstm, ngram), how many were shown, accepted (Tab: the whole of it) and partially
 * accepted (word by word, Ctrl/Cmd+→). It is a small JSON file in the extension's global storage
 * on this machine; nothing of it leaves the machine. No `vscode` here, so it is unit-tested.
 *
 * A suggestion typed through or served again unchanged is one offer, counted shown once. The rates
 * are over offers shown: accepted / shown and partially accepted / shown.
 */
import { promises as fs } from 'fs';
import { writeFileAtomic } from '../../engine/training/checkpoint';

export const RECORD_FORMAT = 'lstm-lab/completion-record';
export const RECORD_VERSION = 1;
/** The file in the extension's global storage. */
export const RECORD_FILE = 'completion-record.json';

export interface CompleterCounts {
  shown: number;
  accepted: number;
  partial: number;
}

export type Outcome = keyof CompleterCounts;

interface RecordJSON {
  format: typeof RECORD_FORMAT;
  version: number;
  /** Run folder → completer → counts. */
  runs: Record<string, Record<string, CompleterCounts>>;
}

export class AcceptanceRecord {
  private runs: RecordJSON['runs'] = {};
  private readonly listeners: (() => void)[] = [];
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(readonly file: string) {}

  /** The record in `file`; an empty one when there is none yet. A file of another format is refused. */
  static async open(file: string): Promise<AcceptanceRecord> {
    const r = new AcceptanceRecord(file);
    const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (text === null) return r;
    const json = JSON.parse(text) as Partial<RecordJSON>;
    if (json.format !== RECORD_FORMAT || json.version !== RECORD_VERSION || typeof json.runs !== 'object' || json.runs === null) {
      throw new Error(`${file} is not a completion record of version ${RECORD_VERSION} (format ${String(json.format)}); delete it to start a new one.`);
    }
    for (const [run, byCompleter] of Object.entries(json.runs)) {
      for (const [completer, c] of Object.entries(byCompleter)) {
        if (![c.shown, c.accepted, c.partial].every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`${file}: the counts of ${completer} for ${run} are not whole numbers ≥ 0.`);
      }
    }
    r.runs = json.runs;
    return r;
  }

  /** Count one outcome of an offer. */
  count(run: string, completer: string, outcome: Outcome): void {
    const byCompleter = (this.runs[run] ??= {});
    const c = (byCompleter[completer] ??= { shown: 0, accepted: 0, partial: 0 });
    c[outcome]++;
    this.dirty = true;
    for (const l of this.listeners) l();
  }

  /** The counts of one run, per completer. */
  counts(run: string): Readonly<Record<string, CompleterCounts>> {
    return this.runs[run] ?? {};
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.push(listener);
    return { dispose: () => this.listeners.splice(this.listeners.indexOf(listener), 1) };
  }

  /** Write the record if it changed (writes one after another, atomically). */
  save(): Promise<void> {
    if (!this.dirty) return this.saving;
    this.dirty = false;
    const json: RecordJSON = { format: RECORD_FORMAT, version: RECORD_VERSION, runs: this.runs };
    this.saving = this.saving.then(() => writeFileAtomic(this.file, JSON.stringify(json, null, 1)));
    return this.saving;
  }
}

/** "23 % accepted (12 of 52), 4 % partly" — or "none shown yet". */
export function acceptanceText(c: CompleterCounts | undefined): string {
  if (!c || c.shown === 0) return 'none shown yet';
  const pct = (n: number) => `${Math.round((100 * n) / c.shown)} %`;
  return `${pct(c.accepted)} accepted (${c.accepted} of ${c.shown})${c.partial > 0 ? `, ${pct(c.partial)} partly` : ''}`;
}

/** The completers of a run's record, the most shown first. */
export function completersByUse(counts: Readonly<Record<string, CompleterCounts>>): [string, CompleterCounts][] {
  return Object.entries(counts).sort((a, b) => b[1].shown - a[1].shown || a[0].localeCompare(b[0]));
}
