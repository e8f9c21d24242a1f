/**
 * A stand-in for the training process (src/extension/trainingWorker.ts) in tests of the training
 * controller: a child process that speaks the same protocol and plays a short fixed run instead of
 * training. From the request it receives:
 *
 *   a corpus path that does not exist   fails before the run starts, as reading the corpus would;
 *   train.steps > 0                     plays that many steps, with an evaluation, its cells record,
 *                                       a sample and a best checkpoint every train.evalEvery steps,
 *                                       then finishes;
 *   train.steps = 0 (no limit)          plays train.evalEvery steps, then waits for `cancel` and
 *                                       ends the run cancelled;
 *   runId 'fails-after-start'           fails after its first step;
 *   runId 'garbled'                     first sends a message the protocol refuses.
 *
 * Step s reports train loss 4/s, evaluations validation loss 4.5/s and a best in-comment cell of AUC 1 − 0.5/s. It writes placeholder best.ckpt
 * and last.ckpt files in the run folder (outDir/runId), logs its pid, and exits when the host
 * disconnects, as the real worker does.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RunSummary } from '../../src/extension/protocol/runs';
import type { HostToWorker, TrainRequest, WorkerToHost } from '../../src/extension/protocol/trainingWorker';

const post = (m: WorkerToHost) => {
  if (process.connected) process.send!(m);
};
process.on('disconnect', () => process.exit(0));

/** The run waiting to be cancelled, with what its `done` will say. */
let waiting: Extract<WorkerToHost, { type: 'done' }> | null = null;

process.on('message', (m: HostToWorker) => {
  if (m.type === 'train') play(m.request);
  else if (m.type === 'cancel' && waiting) {
    post(waiting);
    waiting = null;
  }
});

function play(req: TrainRequest): void {
  post({ type: 'log', line: `fake worker pid ${process.pid}` });
  const corpus = req.corpusPaths[0];
  if (!fs.existsSync(corpus)) {
    post({ type: 'failed', runId: null, message: `${corpus} does not exist.` });
    return;
  }
  post({ type: 'corpus', summary: `1 file, 100 characters from ${corpus}`, files: 1, chars: 100, skipped: {} });
  const runId = req.runId ?? 'fake-run';
  if (runId === 'garbled') process.send!({ type: 'progress', runId });
  const dir = path.join(req.outDir, runId);
  const best = path.join(dir, 'best.ckpt'), last = path.join(dir, 'last.ckpt');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(best, 'checkpoint');
  fs.writeFileSync(last, 'checkpoint');
  const run: RunSummary = {
    runId, dir, model: { kind: req.model.kind, layers: req.model.layers, hidden: req.model.hidden, embedding: req.model.embedding },
    parameters: 1234, backend: 'cpu', corpus, status: 'running', startedAt: new Date().toISOString(),
    durationSeconds: 0, charsPerSec: 0, bestValLoss: null, learningRate: null, step: 0, evals: [],
  };
  post({ type: 'started', run });
  const { steps, evalEvery, seqLength, batchSize, learningRate } = req.train;
  const played = steps > 0 ? steps : evalEvery;
  let bestValLoss: number | null = null;
  for (let step = 1; step <= played; step++) {
    const chars = step * seqLength * batchSize;
    post({ type: 'progress', runId, point: { step, chars, seconds: step, trainLoss: 4 / step, learningRate }, charsPerSec: 1000, fraction: steps > 0 ? step / steps : null, etaSeconds: null });
    if (runId === 'fails-after-start') {
      post({ type: 'failed', runId, message: 'the loss is not a number' });
      return;
    }
    if (step % evalEvery === 0) {
      const valLoss = 4.5 / step;
      bestValLoss = Math.min(bestValLoss ?? Infinity, valLoss);
      post({ type: 'eval', runId, point: { step, chars, seconds: step, trainLoss: 4 / step, valLoss }, charsPerSec: 1000, valBitsPerChar: valLoss / Math.LN2, valPerplexity: Math.exp(valLoss) });
      post({
        type: 'cells', runId,
        record: { step, chars, seconds: step, sampleChars: 100, sampleFiles: 1, ms: 1, concepts: [{ concept: 'in-comment', title: 'Inside a comment', scoreKind: 'auc', score: 1 - 0.5 / step, layer: 1, cell: 3, quantity: 'tanh(c)', direction: 1 }] },
      });
      post({ type: 'sample', runId, step, text: `sample at step ${step}` });
      post({ type: 'checkpoint', runId, step, role: 'best', path: best });
    }
  }
  const done = (status: 'finished' | 'cancelled') => ({ type: 'done', runId, status, checkpoint: last, bestValLoss, step: played, seconds: played }) as const;
  if (steps > 0) post(done('finished'));
  else waiting = done('cancelled');
}
