/**
 * The layout of a run folder, shared by the training loop that writes it and the editor that lists it:
 *   run.json        what the run is (RunInfo)
 *   metrics.jsonl   one EvalRecord per line, one line per evaluation
 *   cells.jsonl     one line per evaluation from the training's afterEvaluation hook, when it has
 *                   one (the CLI and the editor record which cells track which concepts); absent
 *                   for runs trained without it
 *   last.ckpt       the latest state: what a resume continues from
 *   best.ckpt       the lowest validation loss: what sampling and completions use
 *   train.lock      while a process trains in the folder: its pid and host (RunLock)
 *
 * Also the rules that keep two processes apart: a new run folder is made exclusively (a taken name
 * gets -2, -3, …), one process at a time trains in a folder (the lock, taken over when its holder on
 * this host is dead), and temporary files left by dead writers are removed when a run starts there.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CORPUS_RECORD_FILE } from '../data/corpusRecord';
import { makeFolder, tempFileWriter } from './checkpoint';
import type { EvalRecord } from './checkpoint';
import type { ModelConfig, TrainConfig } from '../nn/config';

export const RUN_FILES = { info: 'run.json', metrics: 'metrics.jsonl', cells: 'cells.jsonl', last: 'last.ckpt', best: 'best.ckpt', lock: 'train.lock' } as const;

export type StopReason = 'steps' | 'time' | 'cancelled' | 'diverged';

export interface RunInfo {
  runId: string;
  dir: string;
  model: ModelConfig;
  train: TrainConfig;
  parameters: number;
  backend: string;
  corpus: { root: string; trainFiles: number; validationFiles: number; trainChars: number; validationChars: number; skipped: Record<string, number> };
  vocabularySize: number;
  startedAt: string;
  resumedFrom?: string;
  status: 'running' | 'finished' | 'cancelled' | 'failed';
  stopReason?: StopReason;
  finishedAt?: string;
  step?: number;
  bestValLoss?: number | null;
  error?: string;
  /** The completion mixture fitted at the end of training (mixture.json beside best.ckpt), or why it was not. */
  mixture?: RunMixture;
}

/** What fitting the completion mixture at the end of training came to. */
export type RunMixture =
  | { file: string; seconds: number; positions: number; natsPerChar: number }
  | { skipped: string; seconds: number };

export async function readRunInfo(runDir: string): Promise<RunInfo> {
  return JSON.parse(await fs.promises.readFile(path.join(runDir, RUN_FILES.info), 'utf8'));
}

/** The evaluations of a run; a torn last line (a crash mid-append) is skipped. */
export async function readMetrics(runDir: string): Promise<EvalRecord[]> {
  return readJsonLines<EvalRecord>(path.join(runDir, RUN_FILES.metrics));
}

/**
 * What a run's afterEvaluation hook recorded (cells.jsonl), one object per evaluation, in the order
 * written; [] for a run without the file. A torn line (a crash mid-append) is skipped. The objects'
 * shape is the hook's: whoever reads them checks it.
 */
export async function readCellsRecords(runDir: string): Promise<unknown[]> {
  return readJsonLines<unknown>(path.join(runDir, RUN_FILES.cells));
}

/** The JSON objects of a file of one object per line; blank lines and lines that do not parse (torn) are skipped; a missing file has none. */
async function readJsonLines<T>(file: string): Promise<T[]> {
  const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
  const out: T[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* torn line */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Making run folders and keeping processes apart

/**
 * A run folder that cannot be used: `reason` says why — 'exists' (the name is taken), 'locked' (another
 * process trains in it) or 'name' (not a folder name).
 */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
  constructor(message: string, readonly reason: 'exists' | 'locked' | 'name') {
    super(message);
  }
}

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * How a resume from checkpoint file `ckpt` goes on: 'continue' in its own run folder (it is the
 * folder's last.ckpt); 'fork' a new run beside that folder (another of its checkpoints, best.ckpt
 * say, whose step is behind the run's metrics, which must not be cut back); 'seed' a new run (the
 * file is not in a run folder: no run.json beside it), so nothing is written next to it.
 */
export function resumeKind(ckpt: string): 'continue' | 'fork' | 'seed' {
  if (!fs.existsSync(path.join(path.dirname(ckpt), RUN_FILES.info))) return 'seed';
  return path.basename(ckpt) === RUN_FILES.last ? 'continue' : 'fork';
}

/** Taken names get -2, -3, … up to this before giving up. */
const MAX_SUFFIX = 1000;

/**
 * Make a new run folder under `outDir`, exclusively (mkdir of the last component fails when it
 * exists, so two processes never share one). `exact`: the name was asked for, and a taken one is a
 * RunFolderError ('exists'); otherwise a taken name gets the first free suffix -2, -3, ….
 */
export async function createRunFolder(outDir: string, runId: string, exact: boolean): Promise<string> {
  checkRunId(runId);
  await makeFolder(outDir);
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const dir = path.join(outDir, n === 1 ? runId : `${runId}-${n}`);
    try {
      await fs.promises.mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (exact) throw new RunFolderError(runExistsMessage(dir), 'exists');
    }
  }
  throw new RunFolderError(`${MAX_SUFFIX} run folders named ${runId}(-N) already exist in ${outDir}: choose another run id or clean up ${outDir}.`, 'exists');
}

export function runExistsMessage(dir: string): string {
  return `The run folder ${dir} already exists: resume that run, overwrite it, or choose another run id.`;
}

/** A run id is one folder name: no separators, not '.' or '..'. */
export function checkRunId(runId: string): void {
  if (!runId || runId === '.' || runId === '..' || /[\\/]/.test(runId) || runId.includes('\0')) {
    throw new RunFolderError(`The run id ${JSON.stringify(runId)} is not a folder name: use letters, digits, '-', '_' or '.', without '/'.`, 'name');
  }
}

/**
 * Remove the files of a previous run from a folder being started again from scratch (overwrite):
 * only the run's own files, never anything else the folder holds.
 */
export async function clearRunFiles(dir: string): Promise<void> {
  for (const name of [RUN_FILES.info, RUN_FILES.metrics, RUN_FILES.cells, RUN_FILES.last, RUN_FILES.best, CORPUS_RECORD_FILE]) {
    await fs.promises.rm(path.join(dir, name), { force: true });
  }
}

/**
 * Remove the temporary files (`*.tmp-PID-*`, see checkpoint.ts's writeFileAtomic) that processes no
 * longer running on this host left in a run folder. Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    const pid = tempFileWriter(name);
    if (pid === null || processAlive(pid)) continue;
    await fs.promises.rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Who holds a run folder's lock: what train.lock holds. */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

export interface RunLock {
  file: string;
  /** The dead holder whose lock was taken over, if there was one. */
  tookOver: LockHolder | null;
  release(): Promise<void>;
}

/** A lock file without a readable holder (its writer died between creating and filling it) is stale after this. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

/**
 * Take the lock of a run folder: create train.lock exclusively ('wx') with this process's pid and
 * host. Held by a live process, or by one on another host (whose liveness cannot be checked): a
 * RunFolderError ('locked') naming it. Held by a dead process on this host: taken over
 * (RunLock.tookOver says by whom it was held).
 */
export async function acquireRunLock(dir: string): Promise<RunLock> {
  const file = path.join(dir, RUN_FILES.lock);
  const me: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  let tookOver: LockHolder | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = await readLockHolder(file);
      if (holder === 'gone') continue;
      if (holder === 'stale-unreadable' || (holder !== 'unreadable' && isStale(holder))) {
        if (await removeStaleLock(file, holder)) tookOver = holder === 'stale-unreadable' ? { pid: 0, host: me.host, startedAt: '' } : holder;
        continue;
      }
      throw new RunFolderError(lockedMessage(dir, holder === 'unreadable' ? UNKNOWN_HOLDER : holder), 'locked');
    }
    try {
      await fh.writeFile(JSON.stringify(me) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return heldLock(file, tookOver);
  }
  throw new RunFolderError(`Could not take the lock ${file}: other processes keep taking it. Try again.`, 'locked');
}

/**
 * Who holds a run folder's lock, when that is a live process (or one on another host); null when
 * the folder is free or its lock is stale. For refusing at once, before reading a corpus.
 */
export async function liveLockHolder(dir: string): Promise<LockHolder | null> {
  const holder = await readLockHolder(path.join(dir, RUN_FILES.lock));
  if (holder === 'unreadable') return UNKNOWN_HOLDER;
  return typeof holder === 'object' && !isStale(holder) ? holder : null;
}

/** The holder of a lock file that is still being written (pid 0: not known yet). */
const UNKNOWN_HOLDER: LockHolder = { pid: 0, host: '', startedAt: '' };

/** Why a locked run folder is refused, naming the holder, and what to do. */
export function lockedMessage(dir: string, holder: LockHolder): string {
  const who = holder.pid ? `process ${holder.pid} on ${holder.host}${holder.startedAt ? ` (since ${holder.startedAt})` : ''}` : 'a process that is starting';
  return `The run folder ${dir} is in use: ${who} is training in it. Wait for it to finish or stop it; if that process is gone, delete ${path.join(dir, RUN_FILES.lock)}.`;
}

/**
 * Remove a stale lock file without removing a fresh one that another process put there meanwhile
 * (after taking over the same stale lock): move it aside, and if what was moved is not the stale
 * holder, put it back (link fails if yet another lock is there by then). True when the stale one went.
 */
async function removeStaleLock(file: string, stale: LockHolder | 'stale-unreadable'): Promise<boolean> {
  const aside = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await fs.promises.rename(file, aside);
  } catch {
    return false; // gone already
  }
  const moved = await readLockHolder(aside);
  const same = typeof moved === 'object' && typeof stale === 'object'
    ? moved.pid === stale.pid && moved.host === stale.host && moved.startedAt === stale.startedAt
    : moved === stale;
  if (!same) await fs.promises.link(aside, file).catch(() => undefined);
  await fs.promises.rm(aside, { force: true });
  return same;
}

/** A holder on this host that no longer runs (one on another host cannot be checked: never stale). */
function isStale(holder: LockHolder): boolean {
  return holder.host === os.hostname() && !processAlive(holder.pid);
}

async function readLockHolder(file: string): Promise<LockHolder | 'gone' | 'unreadable' | 'stale-unreadable'> {
  let text: string;
  let mtime: number;
  try {
    text = await fs.promises.readFile(file, 'utf8');
    mtime = (await fs.promises.stat(file)).mtimeMs;
  } catch {
    return 'gone';
  }
  try {
    const h = JSON.parse(text);
    if (Number.isInteger(h.pid) && typeof h.host === 'string') return { pid: h.pid, host: h.host, startedAt: String(h.startedAt ?? '') };
  } catch {
    /* torn or empty: see below */
  }
  return Date.now() - mtime > UNREADABLE_LOCK_STALE_MS ? 'stale-unreadable' : 'unreadable';
}

/** A taken lock: released once, by release() or, if the process exits first, on exit. */
function heldLock(file: string, tookOver: LockHolder | null): RunLock {
  let held = true;
  const onExit = () => {
    if (!held) return;
    try {
      fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', onExit);
  return {
    file,
    tookOver,
    async release() {
      if (!held) return;
      held = false;
      process.off('exit', onExit);
      await fs.promises.rm(file, { force: true });
    },
  };
}
