/**
 * Run folders kept apart and durable: one process at a time trains in a folder (a lock naming its
 * holder, taken over from a dead one, released on every path); new folders are made exclusively, so
 * ids never collide; a resume from best.ckpt forks and one from a checkpoint outside a run folder
 * seeds a new run, never cutting back or writing beside what it resumes from; leftovers of dead
 * writers are removed; renames and metrics are fsync'd; folders that cannot be made are refused at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { FolderError, loadCheckpoint, makeFolder, writeFileAtomic } from '../src/engine/training/checkpoint';
import { corpusFromText } from '../src/engine/data/corpus';
import { acquireRunLock, createRunFolder, readMetrics, readRunInfo, removeStaleTempFiles, RunFolderError, RUN_FILES } from '../src/engine/training/runFolder';
import { train, TrainEvent, TrainOptions } from '../src/engine/training/train';
import { cSource, tempDir } from './support/fixtures';

const corpus = () => corpusFromText('fixture.c', cSource(30), 0.1);
const options = (outDir: string, runId: string | undefined, steps: number, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  outDir,
  runId,
  model: { kind: 'lstm', layers: 1, hidden: 16 },
  train: { seqLength: 16, batchSize: 4, steps, evalEvery: 2, evalChars: 300, sampleChars: 0, seed: 5 },
  ...extra,
});
const notes = (events: TrainEvent[]) => events.flatMap((e) => (e.event === 'note' ? [e.message] : []));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid && r.pid > 0);
  return r.pid!;
}

test('a run folder lock names its holder, refuses a second holder, and is taken over from a dead process', async () => {
  const dir = tempDir();
  const lock = await acquireRunLock(dir);
  const held = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.lock), 'utf8'));
  assert.equal(held.pid, process.pid);
  assert.equal(held.host, os.hostname());
  await assert.rejects(acquireRunLock(dir), (e: Error) =>
    e instanceof RunFolderError && e.reason === 'locked' && e.message.includes(`process ${process.pid} on ${os.hostname()}`));
  await lock.release();
  assert.ok(!fs.existsSync(path.join(dir, RUN_FILES.lock)), 'released');

  // A lock left by a dead process on this host is taken over; one on another host is not.
  const dead = deadPid();
  fs.writeFileSync(path.join(dir, RUN_FILES.lock), JSON.stringify({ pid: dead, host: os.hostname(), startedAt: 'then' }));
  const again = await acquireRunLock(dir);
  assert.equal(again.tookOver?.pid, dead);
  await again.release();
  fs.writeFileSync(path.join(dir, RUN_FILES.lock), JSON.stringify({ pid: dead, host: 'elsewhere.example', startedAt: 'then' }));
  await assert.rejects(acquireRunLock(dir), /process \d+ on elsewhere\.example/);
});

test('train() says when it takes over a stale lock, and releases the lock when it finishes, is cancelled or fails', async () => {
  await initBackend('auto');
  const dir = tempDir();
  const lockOf = (id: string) => path.join(dir, id, RUN_FILES.lock);
  // Finished.
  const seen: boolean[] = [];
  await train(corpus(), options(dir, 'r', 2, { onEvent: (e) => e.event === 'checkpoint' && seen.push(fs.existsSync(lockOf('r'))) }));
  assert.ok(seen.length > 0 && seen.every(Boolean), 'held while training');
  assert.ok(!fs.existsSync(lockOf('r')));
  // A stale lock (a process killed with SIGKILL, say) is taken over on resume, with a note.
  const dead = deadPid();
  fs.writeFileSync(lockOf('r'), JSON.stringify({ pid: dead, host: os.hostname(), startedAt: 'then' }));
  const events: TrainEvent[] = [];
  const stop = new AbortController();
  // Cancelled.
  const done = await train(corpus(), {
    outDir: dir, resume: path.join(dir, 'r'), train: { steps: 20 }, signal: stop.signal,
    onEvent: (e) => {
      events.push(e);
      if (e.event === 'eval' && e.step === 4) stop.abort();
    },
  });
  assert.equal(done.stopReason, 'cancelled');
  assert.ok(notes(events).some((m) => m.includes(`took over the lock`) && m.includes(`process ${dead}`)), notes(events).join('\n'));
  assert.ok(!fs.existsSync(lockOf('r')));
  // Failed (diverged).
  const always = new Set(Array.from({ length: 100 }, (_, i) => i + 3));
  await assert.rejects(train(corpus(), options(dir, 'bad', 12, { injectNonFiniteAt: always })), /Training diverged/);
  assert.ok(!fs.existsSync(lockOf('bad')));
  // A folder another live process trains in is refused before anything is written.
  const other = await acquireRunLock(path.join(dir, 'r'));
  await assert.rejects(train(corpus(), { outDir: dir, resume: path.join(dir, 'r'), train: { steps: 30 } }), (e: Error) => e instanceof RunFolderError && e.reason === 'locked');
  assert.equal((await readRunInfo(path.join(dir, 'r'))).status, 'cancelled');
  await other.release();
});

test('run folders are made exclusively: a taken id gets -2, -3; runs started in the same second get their own folders', async () => {
  const out = tempDir();
  assert.equal(await createRunFolder(out, 'x', false), path.join(out, 'x'));
  assert.equal(await createRunFolder(out, 'x', false), path.join(out, 'x-2'));
  assert.equal(await createRunFolder(out, 'x', false), path.join(out, 'x-3'));
  await assert.rejects(createRunFolder(out, 'x', true), (e: Error) => e instanceof RunFolderError && e.reason === 'exists');
  await assert.rejects(createRunFolder(out, '../x', true), (e: Error) => e instanceof RunFolderError && e.reason === 'name');
  await initBackend('auto');
  const [a, b] = await Promise.all([train(corpus(), options(out, undefined, 2)), train(corpus(), options(out, undefined, 2))]);
  assert.notEqual(a.dir, b.dir);
  assert.equal(a.runId, path.basename(a.dir));
  assert.equal(b.runId, path.basename(b.dir));
});

test('a run id that exists is refused unless overwrite, which starts it again and keeps other files', async () => {
  await initBackend('auto');
  const out = tempDir();
  await train(corpus(), options(out, 'r', 4));
  fs.writeFileSync(path.join(out, 'r', 'notes.txt'), 'mine');
  await assert.rejects(train(corpus(), options(out, 'r', 2)), (e: Error) => e instanceof RunFolderError && e.reason === 'exists' && /already exists/.test(e.message));
  const events: TrainEvent[] = [];
  const again = await train(corpus(), options(out, 'r', 2, { overwrite: true, onEvent: (e) => events.push(e) }));
  assert.equal(again.dir, path.join(out, 'r'));
  assert.deepEqual((await readMetrics(again.dir)).map((m) => m.step), [2]);
  assert.equal(fs.readFileSync(path.join(out, 'r', 'notes.txt'), 'utf8'), 'mine');
  assert.ok(notes(events).some((m) => /again from scratch/.test(m)));
});

test('resuming a checkpoint outside a run folder seeds a new run under outDir and writes nothing beside it', async () => {
  await initBackend('auto');
  const runs = tempDir();
  const first = await train(corpus(), options(runs, 'r', 4));
  const loose = tempDir();
  const file = path.join(loose, 'model.ckpt');
  fs.copyFileSync(path.join(first.dir, RUN_FILES.last), file);
  const out = tempDir();
  const events: TrainEvent[] = [];
  const done = await train(corpus(), { outDir: out, resume: file, train: { steps: 8 }, onEvent: (e) => events.push(e) });
  assert.deepEqual(fs.readdirSync(loose), ['model.ckpt'], 'nothing written next to the checkpoint');
  assert.equal(path.dirname(done.dir), out);
  assert.equal(done.step, 8);
  const ck = await loadCheckpoint(path.join(done.dir, RUN_FILES.last));
  assert.equal(ck.header.step, 8, 'step counters carried on from the checkpoint');
  assert.equal(ck.header.runId, done.runId);
  assert.equal(ck.optimizer?.t, 8, 'optimiser state carried on');
  assert.deepEqual((await readMetrics(done.dir)).map((m) => m.step), [6, 8]);
  assert.ok(notes(events).some((m) => /is not in a run folder/.test(m)));
});

test('resuming from best.ckpt forks a new run beside the run and leaves the run and its metrics alone', async () => {
  await initBackend('auto');
  const runs = tempDir();
  const first = await train(corpus(), options(runs, 'r', 8));
  const best = await loadCheckpoint(path.join(first.dir, RUN_FILES.best));
  const before = fs.readFileSync(path.join(first.dir, RUN_FILES.metrics), 'utf8');
  const events: TrainEvent[] = [];
  const fork = await train(corpus(), { outDir: tempDir(), resume: path.join(first.dir, RUN_FILES.best), train: { steps: 12 }, onEvent: (e) => events.push(e) });
  assert.equal(path.dirname(fork.dir), runs, 'beside the run');
  assert.equal(fork.runId, `r-from-step-${best.header.step}`);
  assert.equal(fs.readFileSync(path.join(first.dir, RUN_FILES.metrics), 'utf8'), before, "the run's metrics are not cut back");
  const steps = (await readMetrics(fork.dir)).map((m) => m.step);
  assert.deepEqual(steps.filter((s) => s <= best.header.step), [2, 4, 6, 8].filter((s) => s <= best.header.step), 'the fork keeps the history up to its checkpoint');
  assert.equal(steps[steps.length - 1], 12);
  assert.ok(notes(events).some((m) => /forks a new run/.test(m)));
});

test('temporary files of dead writers are removed when a run resumes; those of live processes stay', async () => {
  await initBackend('auto');
  const runs = tempDir();
  const first = await train(corpus(), options(runs, 'r', 2));
  const dead = deadPid();
  const stale = `${RUN_FILES.last}.tmp-${dead}-abc123`;
  const live = `${RUN_FILES.info}.tmp-${process.pid}-zz9zz9`;
  fs.writeFileSync(path.join(first.dir, stale), 'half a checkpoint');
  fs.writeFileSync(path.join(first.dir, live), 'being written');
  fs.writeFileSync(path.join(first.dir, 'notes.tmp'), 'not ours');
  const events: TrainEvent[] = [];
  await train(corpus(), { outDir: runs, resume: first.dir, train: { steps: 4 }, onEvent: (e) => events.push(e) });
  const names = fs.readdirSync(first.dir);
  assert.ok(!names.includes(stale));
  assert.ok(names.includes(live) && names.includes('notes.tmp'));
  assert.ok(notes(events).some((m) => m.includes(stale)));
  assert.deepEqual(await removeStaleTempFiles(first.dir), []);
});

test("atomic writes fsync the folder after the rename; metrics.jsonl is fsync'd with each checkpoint", async () => {
  await initBackend('auto');
  const synced: string[] = [];
  const open = fs.promises.open;
  fs.promises.open = (async (...args: Parameters<typeof open>) => {
    const fh = await open(...args);
    const sync = fh.sync.bind(fh);
    fh.sync = async () => {
      synced.push(path.resolve(String(args[0])));
      return sync();
    };
    return fh;
  }) as typeof open;
  try {
    const dir = tempDir();
    await writeFileAtomic(path.join(dir, 'a.json'), '{}');
    assert.ok(synced.includes(path.resolve(dir)), 'the folder is synced');
    synced.length = 0;
    const done = await train(corpus(), options(dir, 'r', 4));
    const metricsSyncs = synced.filter((p) => p === path.join(done.dir, RUN_FILES.metrics)).length;
    assert.equal(metricsSyncs, 2, 'once per evaluation, before its checkpoint');
    assert.ok(synced.includes(done.dir));
  } finally {
    fs.promises.open = open;
  }
});

test('a folder that cannot be made is refused at once: under /proc, or through a file', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const started = Date.now();
  await assert.rejects(makeFolder('/proc/x/y'), (e: Error) => e instanceof FolderError && /\/proc is a virtual filesystem/.test(e.message));
  await assert.rejects(writeFileAtomic('/proc/x/model.json', '{}'), FolderError);
  const file = path.join(tempDir(), 'file');
  fs.writeFileSync(file, '');
  await assert.rejects(makeFolder(path.join(file, 'runs')), /is a file, not a folder/);
  assert.ok(Date.now() - started < 5000, 'at once');
  const fresh = path.join(tempDir(), 'a', 'b', 'c');
  await makeFolder(fresh);
  assert.ok(fs.statSync(fresh).isDirectory());
  assert.deepEqual(fs.readdirSync(path.dirname(path.dirname(fresh))), ['b'], 'no probe left behind');
});
