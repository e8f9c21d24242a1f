/**
 * The training process: a child process that runs the engine's training loop, so the extension host's
 * event loop never waits on TensorFlow.js. It receives one `train` request, reports everything as
 * protocol messages, and stops after the current step on `cancel`.
 *
 * A process, not a worker thread: OpenBLAS's thread pool registers a fork handler that joins its
 * threads, and the extension host forks (git, ripgrep, terminals) while a training worker thread is
 * inside a BLAS call — the host deadlocked in blas_thread_shutdown_ (seen in code-server with gdb).
 * In its own process, training keeps every BLAS thread and nothing forks under it.
 *
 * Each evaluation also ranks the cells by concept on the first CELLS_SAMPLE_CHARS characters of the
 * validation files (cells over time, src/analysis/cellsOverTime.ts): the run's cells.jsonl, and a
 * `cells` message per record.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, setWasmDirectory } from '../engine/runtime/backend';
import { describeCorpus, mergeCorpora, readCorpus } from '../engine/data/corpus';
import { train, TrainEvent } from '../engine/training/train';
import { CellsOverTime } from '../analysis/cellsOverTime';
import type { CellsRecord } from '../analysis/cellsRecord';
import type { SourceText } from '../analysis/interpretableCells';
import { RunSummary } from './protocol/runs';
import { describeRejected } from './protocol/validation';
import { HostToWorker, isHostToWorker, TrainRequest, WorkerToHost } from './protocol/trainingWorker';

if (!process.send) throw new Error('trainingWorker.js must run as a child process with an IPC channel (child_process.fork).');
const post = (m: WorkerToHost) => {
  if (process.connected) process.send!(m);
};
// The host going away (window closed, crash) ends the training: stop after the current step and
// its checkpoint, then exit. The host also disconnects after 'done'.
process.on('disconnect', () => {
  controller.abort();
  if (!busy) process.exit(0);
});
const controller = new AbortController();
let busy = false;

process.on('message', (m: unknown) => {
  if (!isHostToWorker(m)) {
    post({ type: 'log', line: `worker ignored a ${describeRejected(m)}` });
    return;
  }
  handle(m);
});

function handle(m: HostToWorker): void {
  if (m.type === 'cancel') {
    controller.abort();
    return;
  }
  if (busy) {
    post({ type: 'failed', runId: null, message: 'This worker is already training.' });
    return;
  }
  busy = true;
  run(m.request)
    .catch((e: unknown) => {
      if (process.connected) post({ type: 'failed', runId: currentRunId, message: e instanceof Error ? e.message : String(e) });
    })
    .finally(() => {
      busy = false;
      if (!process.connected) process.exit(0);
    });
}

let currentRunId: string | null = null;

async function run(req: TrainRequest): Promise<void> {
  setWasmDirectory(path.join(__dirname, 'wasm'));
  const backend = await initBackend(req.backend);
  post({ type: 'log', line: `backend: ${backend.description}` });
  for (const [name, why] of Object.entries(backend.notUsed)) post({ type: 'log', line: `  (${name} not used: ${why})` });
  const corpora = [];
  for (const p of req.corpusPaths) {
    post({ type: 'log', line: `reading ${p}…` });
    corpora.push(await readCorpus(p, { ...req.corpusOptions }, undefined, controller.signal));
  }
  const corpus = mergeCorpora(corpora);
  post({ type: 'corpus', summary: describeCorpus(corpus), files: corpus.files.length, chars: corpus.totalChars, skipped: { ...corpus.skippedByReason } });
  const cells = await cellsSample(corpus.validationFiles);
  if (cells) post({ type: 'log', line: cells.describe() });
  const onEvent = (e: TrainEvent) => {
    switch (e.event) {
      case 'start': {
        currentRunId = e.runId;
        const workers = e.train.workers ?? 1;
        post({ type: 'log', line: `training on ${workers} worker thread${workers === 1 ? '' : 's'}${req.train.workers > 0 ? '' : ` (automatic: ${backend.name} backend, ${os.availableParallelism()} cores)`}` });
        const summary: RunSummary = {
          runId: e.runId,
          dir: e.dir,
          model: { kind: e.model.kind, layers: e.model.layers, hidden: e.model.hidden, embedding: e.model.embedding },
          parameters: e.parameters,
          backend: e.backend,
          corpus: e.corpus.root,
          status: 'running',
          startedAt: e.startedAt,
          durationSeconds: 0,
          learningRate: null,
          charsPerSec: 0,
          bestValLoss: e.bestValLoss ?? null,
          step: e.step ?? 0,
          evals: [],
        };
        post({ type: 'started', run: summary });
        break;
      }
      case 'progress':
        post({ type: 'progress', runId: currentRunId!, point: { step: e.step, chars: e.chars, seconds: e.seconds, trainLoss: e.trainLoss, learningRate: e.learningRate }, charsPerSec: e.charsPerSec, fraction: e.fraction, etaSeconds: e.etaSeconds });
        break;
      case 'eval':
        post({
          type: 'eval', runId: currentRunId!,
          point: { step: e.step, chars: e.chars, seconds: e.seconds, trainLoss: e.trainLoss, valLoss: e.valLoss },
          charsPerSec: e.charsPerSec, valBitsPerChar: e.valBitsPerChar, valPerplexity: e.valPerplexity,
        });
        break;
      case 'cells':
        post({ type: 'cells', runId: currentRunId!, record: e.record as CellsRecord });
        break;
      case 'sample':
        post({ type: 'sample', runId: currentRunId!, step: e.step, text: e.text });
        break;
      case 'checkpoint':
        post({ type: 'checkpoint', runId: currentRunId!, step: e.step, role: e.role, path: e.path });
        break;
      case 'nan':
        post({ type: 'warning', runId: currentRunId!, message: e.action });
        break;
      case 'note': // a stale lock taken over, leftovers removed, a fork: for the log
        post({ type: 'log', line: e.message });
        break;
      case 'done':
        post({ type: 'done', runId: e.runId, status: e.stopReason === 'cancelled' ? 'cancelled' : 'finished', checkpoint: e.checkpoint, bestValLoss: e.bestValLoss, step: e.step, seconds: e.seconds });
        break;
    }
  };
  await train(corpus, {
    outDir: req.outDir,
    runId: req.runId,
    resume: req.resume,
    signal: controller.signal,
    onEvent,
    progressEveryMs: 500,
    model: { ...req.model },
    // On resume, batch and sequence length come from the checkpoint. learningRate 0 and workers 0
    // (the settings' defaults) are the engine's automatic choices (resolveRun, workerCount.ts).
    train: { ...req.train, evalChars: 50_000, ...(req.resume ? { seqLength: undefined, batchSize: undefined } : {}) },
    afterEvaluation: cells?.afterEvaluation(),
  });
}

/**
 * The validation sample the cells are ranked on at each evaluation; none, with a log line, when
 * there is no validation text. Tree-sitter's wasm files are beside the bundle (dist/grammars), else
 * (the compiled sources, in tests) found in node_modules.
 */
async function cellsSample(files: readonly SourceText[]): Promise<CellsOverTime | null> {
  const grammars = path.join(__dirname, 'grammars');
  const bundled = fs.existsSync(path.join(grammars, 'tree-sitter-c.wasm'));
  try {
    return await CellsOverTime.create(files, bundled ? { grammarWasmPath: path.join(grammars, 'tree-sitter-c.wasm'), treeSitterWasmPath: path.join(grammars, 'tree-sitter.wasm') } : {});
  } catch (e) {
    post({ type: 'log', line: `cells over time are not recorded: ${e instanceof Error ? e.message : String(e)}` });
    return null;
  }
}
