/**
 * The training controller (src/extension/training.ts) with a fake vscode and a fake training process
 * (test/fakes/trainingWorker.ts, forked as the real one is): what it shows and posts while a run
 * trains and when it ends — finished, cancelled from the notification or by stop(), replaced by a
 * new run, failed, or its process killed — and what it leaves in the run store. Every wait is on an
 * event (a message posted, the notification closing), never on a clock.
 */
import * as vscode from './fakes/vscode'; // first: maps 'vscode' for the modules below
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { HostToDashboard } from '../src/extension/protocol/dashboard';
import type { TrainRequest } from '../src/extension/protocol/trainingWorker';
import { RunStore } from '../src/extension/runStore';
import { TrainingController } from '../src/extension/training';
import { tempDir } from './support/fixtures';

const FAKE_WORKER = path.join(__dirname, 'fakes', 'trainingWorker.js');

interface Bench {
  controller: TrainingController;
  store: RunStore;
  output: vscode.OutputChannel;
  posted: HostToDashboard[];
  /** Checkpoints the store announced as the active model, in order. */
  activated: (string | null)[];
  outDir: string;
  corpus: string;
}

/** A controller whose extension folder holds the fake worker as dist/trainingWorker.js. */
function setUp(): Bench {
  vscode.reset();
  const ext = tempDir('lstm-lab-ext-');
  fs.mkdirSync(path.join(ext, 'dist'));
  fs.writeFileSync(path.join(ext, 'dist', 'trainingWorker.js'), `require(${JSON.stringify(FAKE_WORKER)});\n`);
  const storage = tempDir('lstm-lab-storage-');
  const store = new RunStore(vscode.extensionContext(storage, storage).context);
  const output = new vscode.OutputChannel();
  const controller = new TrainingController(ext, store, output.asOutputChannel());
  const posted: HostToDashboard[] = [];
  controller.onDidPost((m) => posted.push(m));
  const activated: (string | null)[] = [];
  store.onDidChangeActive((p) => activated.push(p));
  const corpus = tempDir('lstm-lab-corpus-');
  return { controller, store, output, posted, activated, outDir: store.root, corpus };
}

function request(b: Bench, train: Partial<TrainRequest['train']>, more: Partial<TrainRequest> = {}): TrainRequest {
  return {
    corpusPaths: [b.corpus], corpusOptions: {},
    model: { kind: 'lstm', layers: 2, hidden: 128, embedding: 0, dropout: 0 },
    train: { seqLength: 64, batchSize: 32, learningRate: 2e-3, steps: 4, minutes: 0, evalEvery: 2, sampleChars: 100, seed: 1, workers: 1, ...train },
    outDir: b.outDir, backend: 'cpu', ...more,
  };
}

const statusBar = () => vscode.window.statusBarItems[vscode.window.statusBarItems.length - 1];
const runUpdates = (b: Bench) => b.posted.flatMap((m) => (m.type === 'runUpdated' ? [`${m.run.runId} ${m.run.status} ${m.run.step}`] : []));
const stepPosted = (b: Bench, step: number) => vscode.nextEvent(b.controller.onDidPost, (m) => m.type === 'progress' && m.point.step === step);
/** Timers that keep the process alive. */
const liveTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('a run that trains to its end: status bar, notification, live messages, the active model, the message at the end', async () => {
  const b = setUp();
  vscode.window.answer = (m) => (m.items.includes('Sample from Model') ? 'Sample from Model' : undefined);
  let whileRunning: { running: boolean; runId: string | null; live: boolean; statusText: string } | null = null;
  b.controller.onDidPost((m) => {
    if (m.type === 'progress' && m.point.step === 1) {
      whileRunning = { running: b.controller.running, runId: b.controller.runningRunId, live: b.store.live.has(m.runId), statusText: statusBar().text };
    }
  });

  assert.equal(b.controller.running, false);
  assert.equal(await b.controller.start(request(b, { steps: 4, evalEvery: 2 })), true);
  assert.equal(b.controller.running, true);
  assert.equal(b.controller.runningRunId, null, 'no run id before the worker has started the run');
  assert.equal(statusBar().visible, true);
  assert.equal(statusBar().command, 'lstmLab.showDashboard');
  assert.match(statusBar().text, /reading the workspace/);
  const [notification] = vscode.window.progress;
  assert.deepEqual(notification.options, { location: vscode.ProgressLocation.Notification, title: 'LSTM Lab', cancellable: true });
  await notification.ended;

  assert.deepEqual(whileRunning, { running: true, runId: 'fake-run', live: true, statusText: '$(sync~spin) LSTM Lab: step 1 · 4.000 nats/char' });
  assert.deepEqual(b.posted.map((m) => m.type), ['runUpdated', 'progress', 'progress', 'eval', 'cells', 'sample', 'progress', 'progress', 'eval', 'cells', 'sample', 'runUpdated']);
  assert.deepEqual(b.posted.flatMap((m) => (m.type === 'cells' ? [[m.runId, m.record.step, m.record.concepts[0].score]] : [])), [['fake-run', 2, 0.75], ['fake-run', 4, 0.875]]);
  assert.deepEqual(runUpdates(b), ['fake-run running 0', 'fake-run finished 4']);
  const end = b.posted[b.posted.length - 1];
  assert.ok(end.type === 'runUpdated');
  assert.equal(end.run.bestValLoss, 1.125);
  assert.deepEqual(end.run.evals.map((e) => e.valLoss), [2.25, 1.125]);
  assert.deepEqual(end.run.cells?.map((c) => c.step), [2, 4], 'the run at its end carries its cells records');
  assert.deepEqual(b.controller.progressOf('fake-run').map((p) => p.step), [1, 2, 3, 4]);
  assert.deepEqual(b.controller.progressOf('another'), []);
  assert.equal(b.controller.sampleOf('fake-run'), 'sample at step 4');

  assert.deepEqual(notification.reports.map((r) => r.message), [
    'reading the workspace…',
    '25% · step 1 · loss 4.000 nats/char · 1,000 chars/s',
    '50% · step 2 · loss 2.000 nats/char · 1,000 chars/s',
    '75% · step 3 · loss 1.333 nats/char · 1,000 chars/s',
    '100% · step 4 · loss 1.000 nats/char · 1,000 chars/s',
  ]);
  assert.equal(notification.reports.reduce((s, r) => s + (r.increment ?? 0), 0), 100);

  // The first best checkpoint becomes the active model (there was none); the end makes last.ckpt it.
  const dir = path.join(b.outDir, 'fake-run');
  assert.deepEqual(b.activated, [path.join(dir, 'best.ckpt'), path.join(dir, 'last.ckpt')]);
  assert.equal(b.store.active(), path.join(dir, 'last.ckpt'));
  assert.deepEqual(vscode.window.messages.map((m) => [m.severity, m.message]), [
    ['information', 'LSTM Lab: training finished at step 4; best validation loss 1.125 nats/char.'],
  ]);
  assert.deepEqual(vscode.commands.executed.map((c) => c.command), ['lstmLab.sampleFromModel']);

  assert.equal(b.controller.running, false);
  assert.equal(b.controller.runningRunId, null);
  assert.equal(b.store.live.size, 0);
  assert.equal(statusBar().visible, false);
  assert.ok(b.controller.lastEventLoopDelay !== null && b.controller.lastEventLoopDelay.samples >= 0);
  const out = b.output.lines;
  assert.ok(out.some((l) => l.startsWith('— training on ') && l.endsWith(': lstm 2×128, sequence 64, batch 32')), out.join('\n'));
  assert.ok(out.includes(`run fake-run: 1,234 parameters on cpu; folder ${dir}`), out.join('\n'));
  assert.ok(out.includes('step 2: train 2.000, validation 2.250 nats/char (3.246 bits/char, perplexity 9.49), 1,000 chars/s'), out.join('\n'));
  assert.ok(out.includes(`done (finished): step 4, best validation loss 1.125 nats/char; checkpoint ${path.join(dir, 'last.ckpt')}`), out.join('\n'));
  assert.ok(out.some((l) => l.startsWith('extension host event-loop delay while training: p50 ')), out.join('\n'));
  assert.ok(!out.some((l) => l.startsWith('[worker] exited')), out.join('\n'));
  b.controller.dispose();
});

test('Cancel in the notification stops the run after its step: cancelled, last.ckpt active, no timer left behind', async () => {
  const b = setUp();
  const timersBefore = liveTimers();
  await b.controller.start(request(b, { steps: 0, evalEvery: 2 }));
  const [notification] = vscode.window.progress;
  await stepPosted(b, 2);
  assert.equal(b.controller.running, true);
  notification.cancel();
  assert.equal(notification.reports[notification.reports.length - 1].message, 'stopping after this step, saving a checkpoint…');
  await notification.ended;

  assert.equal(b.controller.running, false);
  assert.deepEqual(runUpdates(b), ['fake-run running 0', 'fake-run cancelled 2']);
  assert.equal(b.store.active(), path.join(b.outDir, 'fake-run', 'last.ckpt'));
  assert.deepEqual(vscode.window.messages.map((m) => m.message), ['LSTM Lab: training stopped at step 2; best validation loss 2.250 nats/char.']);
  assert.deepEqual(vscode.commands.executed, [], 'the message was dismissed');
  assert.ok(!b.output.lines.some((l) => l.startsWith('[worker] exited')), 'a cancelled run is not reported as a crash');
  assert.equal(liveTimers(), timersBefore, "the cancel grace period's timer does not keep the process alive");
  b.controller.dispose();
});

test('stop() resolves once the training process has ended; with nothing running it resolves at once', async () => {
  const b = setUp();
  await b.controller.stop();
  await b.controller.start(request(b, { steps: 0, evalEvery: 1 }));
  await stepPosted(b, 1);
  await b.controller.stop();
  assert.equal(b.controller.running, false);
  assert.equal(b.store.live.size, 0);
  assert.deepEqual(runUpdates(b), ['fake-run running 0', 'fake-run cancelled 1']);
  b.controller.dispose();
});

test('starting while a run trains asks first: keeping it starts nothing, stopping it starts the new one', async () => {
  const b = setUp();
  await b.controller.start(request(b, { steps: 0, evalEvery: 1 }, { runId: 'first' }));
  await stepPosted(b, 1);

  assert.equal(await b.controller.start(request(b, { steps: 2, evalEvery: 1 }, { runId: 'second' })), false);
  const [asked] = vscode.window.messages;
  assert.deepEqual(asked, {
    severity: 'warning', message: 'LSTM Lab is already training (run first). Stop that training and start the new one?',
    options: { modal: true }, items: ['Stop It and Start'],
  });
  assert.equal(b.controller.runningRunId, 'first');
  assert.equal(vscode.window.progress.length, 1);

  vscode.window.answer = (m) => (m.severity === 'warning' ? 'Stop It and Start' : undefined);
  assert.equal(await b.controller.start(request(b, { steps: 2, evalEvery: 1 }, { runId: 'second' })), true);
  assert.equal(vscode.window.progress.length, 2);
  await vscode.window.progress[1].ended;
  assert.deepEqual(runUpdates(b), ['first running 0', 'first cancelled 1', 'second running 0', 'second finished 2']);
  assert.equal(b.store.active(), path.join(b.outDir, 'second', 'last.ckpt'));
  assert.equal(b.controller.running, false);
  b.controller.dispose();
});

test('a corpus that cannot be read fails before the run: the error is shown with the log, no model becomes active', async () => {
  const b = setUp();
  const missing = path.join(b.corpus, 'gone');
  await b.controller.start(request(b, {}, { corpusPaths: [missing] }));
  await vscode.window.progress[0].ended;
  assert.deepEqual(vscode.window.messages.map((m) => [m.severity, m.message]), [['error', `LSTM Lab: ${missing} does not exist.`]]);
  assert.ok(b.output.lines.includes(`training failed: ${missing} does not exist.`));
  assert.equal(b.output.shown, 1);
  assert.deepEqual(b.posted, [], 'no run started, so none to update');
  assert.equal(b.store.active(), null);
  assert.equal(b.controller.running, false);
  assert.equal(statusBar().visible, false);
  b.controller.dispose();
});

test('a run that fails after it started is posted as failed', async () => {
  const b = setUp();
  await b.controller.start(request(b, {}, { runId: 'fails-after-start' }));
  await vscode.window.progress[0].ended;
  assert.deepEqual(runUpdates(b), ['fails-after-start running 0', 'fails-after-start failed 1']);
  assert.deepEqual(vscode.window.messages.map((m) => [m.severity, m.message]), [['error', 'LSTM Lab: the loss is not a number']]);
  assert.deepEqual(b.activated, []);
  b.controller.dispose();
});

test('a training process that is killed is cleaned up and reported', async () => {
  const b = setUp();
  await b.controller.start(request(b, { steps: 0, evalEvery: 1 }));
  await stepPosted(b, 1);
  const pid = Number(/^fake worker pid (\d+)$/m.exec(b.output.text)?.[1]);
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  await vscode.window.progress[0].ended;
  assert.ok(b.output.lines.includes('[worker] exited with SIGKILL'), b.output.text);
  assert.equal(b.controller.running, false);
  assert.equal(b.store.live.size, 0);
  assert.equal(statusBar().visible, false);
  assert.deepEqual(runUpdates(b), ['fake-run running 0'], 'no end was reported');
  assert.deepEqual(vscode.window.messages, []);
  b.controller.dispose();
});

test('a message the protocol refuses is logged and ignored; the run goes on', async () => {
  const b = setUp();
  await b.controller.start(request(b, { steps: 2, evalEvery: 1 }, { runId: 'garbled' }));
  await vscode.window.progress[0].ended;
  assert.ok(b.output.lines.some((l) => l.startsWith('[host] ignored a ') && l.includes('progress')), b.output.text);
  assert.deepEqual(runUpdates(b), ['garbled running 0', 'garbled finished 2']);
  b.controller.dispose();
});

test('dispose while training cancels the run and goes quiet: status bar gone, nothing more posted', async () => {
  const b = setUp();
  await b.controller.start(request(b, { steps: 0, evalEvery: 1 }));
  await stepPosted(b, 1);
  const postedBefore = b.posted.length;
  b.controller.dispose();
  assert.equal(statusBar().disposed, true);
  await vscode.window.progress[0].ended; // the worker got the cancel, ended the run and exited
  assert.equal(b.posted.length, postedBefore);
  assert.equal(b.controller.running, false);
  assert.equal(b.store.active(), path.join(b.outDir, 'fake-run', 'last.ckpt'));
});
