/**
 * The runs the dashboard knows, as the host's messages leave them (rebuilt after every reload): each
 * run's summary, evaluations, cells over time, live training readings, progress fraction and latest
 * sample. A `runs` snapshot replaces the list, `runUpdated` adopts one run, and
 * `progress`/`eval`/`cells`/`sample` update one;
 * a live message for a run not heard of yet waits until its summary arrives. Also which run is
 * selected when the selection is gone. No DOM (unit-tested in test/dashboardLogic.test.ts).
 */
import type { CellsRecord, EvalPoint, ProgressPoint, RunSummary } from '../../src/extension/protocol/runs';
import type { HostToDashboard } from '../../src/extension/protocol/dashboard';
import { thin } from '../../src/analysis/trainingCurve';

export interface RunData {
  summary: RunSummary;
  /** Ascending by step, one per step. */
  evals: EvalPoint[];
  /** The best cell per concept at each evaluation, ascending by step, one per step. */
  cells: CellsRecord[];
  /** Live training readings since this page loaded (or replayed by the host), ascending by step. */
  progress: ProgressPoint[];
  fraction: number | null;
  sample: { step: number | null; text: string } | null;
}

/** Past this many live readings per run the older half is thinned, so a long run stays light. */
export const MAX_PROGRESS = 4000;

/** Insert or replace `p` in `points` (ascending by step). The common case — a newer step — is an append. */
export function upsertByStep<T extends { step: number }>(points: T[], p: T): void {
  const n = points.length;
  if (n === 0 || points[n - 1].step < p.step) {
    points.push(p);
    return;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].step < p.step) lo = mid + 1;
    else hi = mid;
  }
  if (points[lo]?.step === p.step) points[lo] = p;
  else points.splice(lo, 0, p);
}

/** What one message changed: whether the chart's series must be rebuilt, whether the UI state changed. */
export interface Received {
  structure: boolean;
  uiChanged: boolean;
}

export class RunStore {
  readonly runs = new Map<string, RunData>();
  /** Messages for a run the page has not heard of yet (it may arrive in the next `runs`/`runUpdated`). */
  private readonly pending = new Map<string, HostToDashboard[]>();
  private activeRunId: string | null = null;

  /** Apply one message from the host; a selection that is gone moves to a run that is there. */
  receive(m: HostToDashboard, ui: { selected: string | null }): Received {
    switch (m.type) {
      case 'runs': {
        const keep = new Set(m.runs.map((r) => r.runId));
        for (const id of [...this.runs.keys()]) if (!keep.has(id)) this.runs.delete(id);
        for (const r of m.runs) this.adoptSummary(r);
        this.activeRunId = m.activeRunId;
        let uiChanged = false;
        if (ui.selected === null || !this.runs.has(ui.selected)) {
          ui.selected = this.activeRunId !== null && this.runs.has(this.activeRunId) ? this.activeRunId : (m.runs[m.runs.length - 1]?.runId ?? null);
          uiChanged = true;
        }
        return { structure: true, uiChanged };
      }
      case 'runUpdated': {
        const isNew = !this.runs.has(m.run.runId);
        this.adoptSummary(m.run);
        let uiChanged = false;
        if (ui.selected === null) {
          ui.selected = m.run.runId;
          uiChanged = true;
        }
        return { structure: isNew, uiChanged };
      }
      default:
        this.applyLive(m);
        return { structure: false, uiChanged: false };
    }
  }

  private adoptSummary(summary: RunSummary): RunData {
    let run = this.runs.get(summary.runId);
    if (!run) {
      run = { summary, evals: [], cells: [], progress: [], fraction: null, sample: null };
      this.runs.set(summary.runId, run);
    } else {
      // Keep live figures that may be newer than the snapshot.
      const old = run.summary;
      if (summary.status === 'running' && old.step > summary.step) {
        summary = { ...summary, step: old.step, charsPerSec: old.charsPerSec, learningRate: old.learningRate, durationSeconds: Math.max(summary.durationSeconds, old.durationSeconds) };
      }
      run.summary = summary;
    }
    if (summary.status !== 'running') run.fraction = null;
    for (const e of summary.evals) upsertByStep(run.evals, e);
    for (const r of summary.cells ?? []) upsertByStep(run.cells, r);
    if (!run.sample && summary.lastSample) run.sample = { step: null, text: summary.lastSample };
    const waiting = this.pending.get(summary.runId);
    if (waiting) {
      this.pending.delete(summary.runId);
      for (const m of waiting) this.applyLive(m);
    }
    return run;
  }

  private applyLive(m: HostToDashboard): void {
    if (m.type === 'runs' || m.type === 'runUpdated') return;
    const run = this.runs.get(m.runId);
    if (!run) {
      const list = this.pending.get(m.runId) ?? [];
      list.push(m);
      thin(list, MAX_PROGRESS);
      this.pending.set(m.runId, list);
      return;
    }
    const s = run.summary;
    switch (m.type) {
      case 'progress':
        upsertByStep(run.progress, m.point);
        thin(run.progress, MAX_PROGRESS);
        s.step = Math.max(s.step, m.point.step);
        // Readings replayed for a run that has since ended must not overwrite its final figures.
        if (s.status === 'running') {
          s.charsPerSec = m.charsPerSec;
          s.learningRate = m.point.learningRate;
          s.durationSeconds = Math.max(s.durationSeconds, m.point.seconds);
          run.fraction = m.fraction;
        }
        break;
      case 'eval':
        upsertByStep(run.evals, m.point);
        s.step = Math.max(s.step, m.point.step);
        if (Number.isFinite(m.point.valLoss) && (s.bestValLoss === null || m.point.valLoss < s.bestValLoss)) s.bestValLoss = m.point.valLoss;
        break;
      case 'cells':
        upsertByStep(run.cells, m.record);
        break;
      case 'sample':
        if (!run.sample || run.sample.step === null || m.step >= run.sample.step) run.sample = { step: m.step, text: m.text };
        break;
    }
  }
}
