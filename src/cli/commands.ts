/**
 * The lstm-lab commands: each declares its positionals and options (with defaults and help) and a run
 * function returning the exit code. Shared engine calls live in the engine; this file only adapts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OptionSpec, ParsedOptions, schemaOption, UsageError } from './args';
import { ProgressLine } from './progress';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { checkFolderCanBeMade, checkpointFile, loadCheckpoint, readCheckpointHeader } from '../engine/training/checkpoint';
import { checkRunId, liveLockHolder, lockedMessage, resumeKind, RunFolderError } from '../engine/training/runFolder';
import type { ModelConfig, TrainConfig } from '../engine/nn/config';
import { ConfigOption, CORPUS_OPTIONS, MODEL_OPTIONS, RUN_OPTIONS, TRAIN_OPTIONS as T } from '../engine/training/options';
import { Corpus, readCorpus, readRecordedCorpus, describeCorpus } from '../engine/data/corpus';
import { evaluateIds } from '../engine/training/evaluate';
import { InferenceModel } from '../engine/inference/inference';
import { CharRnn } from '../engine/nn/model';
import { sampleStream, sampleText } from '../engine/inference/sample';
import { CellTrace, traceText } from '../engine/inference/trace';
import { ALL_QUANTITIES, CellKind, gatesOf, QUANTITIES } from '../engine/nn/kernels';
import { train, TrainEvent } from '../engine/training/train';
import { runBench } from './bench';
import { discoverCells } from '../analysis/interpretableCells';
import { exportLayersModel } from '../engine/inference/export';
import { completeEvalCommand } from './completeEval';
import { STOP_SIGNALS, stopOnSignalsOf } from './stopSignals';
import { gradientsCommand } from './gradients';
import { errorsCommand } from './errors';
import { bracketsCommand } from './brackets';
import { compareCommand } from './compare';
import { DYNAMIC_EVAL_OPTIONS, dynamicEvalFigures } from './dynamicEval';
import { mixtureCommand } from './mixture';
import { cellsCharsOption, cellsOverTimeCommand } from './cellsOverTime';
import { CELLS_TIME_SHARE, CellsOverTime } from '../analysis/cellsOverTime';
import type { CellsRecord } from '../analysis/cellsRecord';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  positionals: { name: string; required: boolean }[];
  options: OptionSpec[];
  run(pos: Record<string, string | undefined>, o: ParsedOptions): Promise<number>;
}

/**
 * The package root: the nearest folder above this file with a package.json (out/src/cli → ../../..
 * when compiled by tsc, dist → .. in the extension's bundle). Its own sources are the default corpus.
 */
export const PACKAGE_ROOT = ((): string => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..', '..');
  }
})();

const BACKEND: OptionSpec = schemaOption(RUN_OPTIONS.backend, { parsed: true });
const JSON_OPT: OptionSpec = { name: 'json', type: 'bool', help: 'one JSON object per line' };

const str = (o: ParsedOptions, k: string) => o[k] as string | undefined;
const num = (o: ParsedOptions, k: string) => o[k] as number | undefined;
const bool = (o: ParsedOptions, k: string) => o[k] === true;

function out(line: string): void {
  process.stdout.write(line + '\n');
}

async function loadModel(checkpoint: string, backend: string) {
  const info = await initBackend(backend as BackendPreference);
  const ckpt = await loadNoted(checkpoint);
  return { info, ckpt, inference: new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params) };
}

/** Load a checkpoint; what its note says (an older version, say) goes to stderr, off the output. */
async function loadNoted(checkpoint: string) {
  const ckpt = await loadCheckpoint(checkpoint);
  if (ckpt.note) process.stderr.write(`note: ${ckpt.note}\n`);
  return ckpt;
}

const trainCommand: Command = {
  name: 'train',
  summary: 'train a character-level model on a folder or file',
  usage: 'lstm-lab train [FOLDER] [options]',
  positionals: [{ name: 'folder', required: false }],
  options: [
    ...[MODEL_OPTIONS.kind, MODEL_OPTIONS.layers, MODEL_OPTIONS.hidden, MODEL_OPTIONS.embedding, MODEL_OPTIONS.dropout].map((s) => schemaOption(s)),
    ...[T.seqLength, T.batchSize, T.optimizer, T.learningRate, T.lrDecay, T.lrDecayEvery, T.lrSchedule, T.lrFinal, T.lrWarmup, T.gradClip, T.steps].map((s) => schemaOption(s)),
    schemaOption(T.minutes, { spec: { helpDefault: `${T.minutes.default} when neither --steps nor --minutes is given; a resumed run keeps its own` } }),
    schemaOption(T.evalEvery),
    schemaOption(T.evalChars),
    { name: 'sample-chars', type: 'int', help: 'length of the sample printed at the end', default: T.sampleChars.default, min: 0 },
    cellsCharsOption(0, "characters of the validation files on which each evaluation ranks the cells by concept, for cells.jsonl (`lstm-lab cells-over-time`; 0 = none)"),
    { name: 'cells-share', type: 'number', help: 'at most this share of training time goes to the cell records: an evaluation is recorded once enough time has passed since the last record (1 = every evaluation)', default: CELLS_TIME_SHARE, min: 0.001, max: 1 },
    schemaOption(RUN_OPTIONS.maxVocabulary, { parsed: true }),
    schemaOption(CORPUS_OPTIONS.include),
    schemaOption(CORPUS_OPTIONS.exclude),
    schemaOption(CORPUS_OPTIONS.maxFileKB, { parsed: true }),
    schemaOption(CORPUS_OPTIONS.maxTotalMB, { parsed: true }),
    { name: 'out', type: 'string', help: 'folder for runs', default: 'runs' },
    { name: 'run-id', type: 'string', help: 'name of the run folder (default: time, model and size, with -2, -3, … if taken); a folder that exists is refused (exit 2) unless --resume or --overwrite' },
    { name: 'overwrite', type: 'bool', help: 'with --run-id: start that run folder again from scratch (its run.json, metrics.jsonl and checkpoints are removed; other files stay)' },
    { name: 'resume', type: 'string', help: 'continue a run: its folder or last.ckpt goes on in that folder; its best.ckpt forks a new run beside it; a checkpoint outside a run folder starts a new run under --out from it. A run another process trains in is refused (exit 1)' },
    schemaOption(T.seed),
    // 0, the automatic choice, is passed on for train() to resolve; a negative count is refused here.
    schemaOption(T.workers, { spec: { default: T.workers.default, min: 0 } }),
    BACKEND,
    JSON_OPT,
  ],
  async run(pos, o) {
    const json = bool(o, 'json');
    await checkTrainTarget(o);
    const { steps, minutes } = trainBudget(o);
    const info = await initBackend(str(o, 'backend') as BackendPreference);
    const corpus = await readTrainCorpus(pos, o, info.description);
    const cells = await cellsSample(corpus, num(o, 'cells-chars')!, json);
    const progress = new ProgressLine(process.stderr);
    const controller = new AbortController();
    const stopOnSignals = stopOnSignalsOf(controller, json, progress);
    for (const signal of STOP_SIGNALS) process.on(signal, stopOnSignals);
    try {
      const done = await train(corpus, {
        outDir: str(o, 'out')!,
        runId: str(o, 'run-id'),
        overwrite: bool(o, 'overwrite'),
        resume: str(o, 'resume'),
        maxVocabulary: num(o, 'max-vocab'),
        signal: controller.signal,
        onEvent: trainEventPrinter(json, progress),
        model: fromFlags(MODEL_OPTIONS, o) as Partial<ModelConfig>,
        // The evaluation-time samples are for the dashboard; the CLI samples once at the end.
        // --workers 0 (automatic) is resolved by train() (workerCount.ts), as for the editor.
        train: { ...(fromFlags(T, o) as Partial<TrainConfig>), steps, minutes, sampleChars: 0 },
        afterEvaluation: cells?.afterEvaluation(num(o, 'cells-share')),
      });
      progress.done();
      if (!json) await printTrainResult(done, num(o, 'sample-chars')!, num(o, 'seed'));
    } finally {
      for (const signal of STOP_SIGNALS) process.off(signal, stopOnSignals);
      progress.done();
    }
    return 0;
  },
};

/**
 * The validation sample each evaluation ranks the cells on (--cells-chars; 0: none), labelled once.
 * A corpus without validation text gets none, and a note says so.
 */
async function cellsSample(corpus: Corpus, chars: number, json: boolean): Promise<CellsOverTime | null> {
  if (chars === 0) return null;
  try {
    const cells = await CellsOverTime.create(corpus.validationFiles, { maxChars: chars });
    if (!json) out(cells.describe());
    return cells;
  } catch (e) {
    const message = `cells over time are not recorded: ${e instanceof Error ? e.message : String(e)}`;
    if (json) out(JSON.stringify({ event: 'note', message }));
    else out(`note: ${message}`);
    return null;
  }
}

/** One line for an evaluation's cells: each concept's best score. */
function cellsLine(r: CellsRecord): string {
  return `  cells: ${r.concepts.map((c) => `${c.concept} ${c.score.toFixed(2)}`).join(' · ')} (${Math.round(r.ms)} ms)`;
}

/** The schema's fields that have a flag, each with its flag's value (undefined when not given). */
function fromFlags(options: Record<string, ConfigOption>, o: ParsedOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([, s]) => s.flag).map(([field, s]) => [field, o[s.flag!]]));
}

/**
 * The budget: as given (the other of steps and minutes then 0), or the run's own on resume
 * (undefined), or the schema's default minutes for a new run.
 */
function trainBudget(o: ParsedOptions): { steps?: number; minutes?: number } {
  let steps = num(o, 'steps'), minutes = num(o, 'minutes');
  if (steps === undefined && minutes === undefined && !str(o, 'resume')) minutes = T.minutes.default;
  else if (steps !== undefined || minutes !== undefined) {
    steps ??= 0;
    minutes ??= 0;
  }
  if ((steps ?? 0) < 0 || (minutes ?? 0) < 0) throw new UsageError('--steps and --minutes cannot be negative');
  return { steps, minutes };
}

/**
 * Read what to train on: FOLDER, or without one the corpus a resumed run was trained on, or LSTM
 * Lab's own sources; say what was read unless --json.
 */
async function readTrainCorpus(pos: Record<string, string | undefined>, o: ParsedOptions, backend: string): Promise<Corpus> {
  const resumedHeader = str(o, 'resume') ? await readCheckpointHeader(str(o, 'resume')!, 'last') : null;
  const resumedRoot = pos.folder === undefined ? resumedHeader?.corpus?.root : undefined;
  const folder = pos.folder ?? resumedRoot ?? PACKAGE_ROOT;
  const list = (k: string) => str(o, k)?.split(',').map((s) => s.trim()).filter(Boolean);
  const corpus = await (resumedRoot ? readRecordedCorpus : readCorpus)(folder, {
    ...(list('include') ? { include: list('include')! } : {}),
    ...(list('exclude') ? { exclude: list('exclude')! } : {}),
    maxFileBytes: num(o, 'max-file-kb')! * 1024,
    maxTotalBytes: Math.round(num(o, 'max-total-mb')! * 1e6),
  });
  if (!bool(o, 'json')) {
    out(`corpus: ${pos.folder ? folder : resumedRoot ? `${folder} (the run's own corpus)` : `${folder} (LSTM Lab's own sources, the default)`}`);
    out(describeCorpus(corpus).split('\n').map((l) => '  ' + l).join('\n'));
    out(`backend: ${backend}`);
  }
  return corpus;
}

/** The train events as the user sees them: JSON lines (no progress), or lines and a progress bar. */
function trainEventPrinter(json: boolean, progress: ProgressLine): (e: TrainEvent) => void {
  return (e) => {
    if (json) {
      if (e.event !== 'progress') out(JSON.stringify(e));
      return;
    }
    switch (e.event) {
      case 'start':
        out(`run ${e.runId}: ${e.model.kind} ${e.model.layers}×${e.model.hidden}, ${e.parameters.toLocaleString('en-US')} parameters, vocabulary ${e.vocabularySize}, sequence ${e.train.seqLength}, batch ${e.train.batchSize}${e.resumedFrom ? `, resumed from ${e.resumedFrom}` : ''}`);
        out(`  folder ${e.dir}`);
        break;
      case 'progress':
        progress.update(e.fraction, `step ${e.step}  loss ${e.trainLoss.toFixed(3)} nats/char  ${Math.round(e.charsPerSec).toLocaleString('en-US')} chars/s`, e.etaSeconds);
        break;
      case 'eval':
        progress.log(`step ${e.step}: train ${e.trainLoss.toFixed(3)}  validation ${e.valLoss.toFixed(3)} nats/char = ${e.valBitsPerChar.toFixed(3)} bits/char, perplexity ${e.valPerplexity.toFixed(2)}  (${Math.round(e.charsPerSec).toLocaleString('en-US')} chars/s)`);
        break;
      case 'cells':
        progress.log(cellsLine(e.record as CellsRecord));
        break;
      case 'nan':
        progress.log(`warning: ${e.action}`);
        break;
      case 'note':
        progress.log(`note: ${e.message}`);
        break;
      default:
        break;
    }
  };
}


/** How the run ended, its checkpoint, and a sample of `sampleChars` characters from it (0: none). */
async function printTrainResult(done: Awaited<ReturnType<typeof train>>, sampleChars: number, seed: number | undefined): Promise<void> {
  out(`done (${done.stopReason}): ${done.step} steps, ${done.chars.toLocaleString('en-US')} characters in ${formatSeconds(done.seconds)}; best validation loss ${done.bestValLoss?.toFixed(3) ?? '–'} nats/char`);
  out(`checkpoint: ${done.checkpoint}`);
  if (sampleChars <= 0) return;
  const ckpt = await loadCheckpoint(done.checkpoint);
  const inf = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);
  out(`\n--- sample (temperature 0.8, ${sampleChars} characters) ---`);
  out(sampleText(inf, { length: sampleChars, temperature: 0.8, seed }));
  out('---');
}


/**
 * Refuse at once, before the corpus is read, a train command that cannot write where it would:
 * --overwrite without --run-id or with --resume, a --run-id that is not a folder name or whose
 * folder exists (exit 2), a run folder another process trains in (exit 1), an --out that cannot be
 * made (/proc/x, a path through a file, a read-only disk).
 */
async function checkTrainTarget(o: ParsedOptions): Promise<void> {
  const runId = str(o, 'run-id'), resume = str(o, 'resume'), outDir = str(o, 'out')!;
  if (bool(o, 'overwrite') && resume) throw new UsageError('--overwrite starts a run again from scratch; it cannot go with --resume');
  if (bool(o, 'overwrite') && runId === undefined) throw new UsageError('--overwrite needs --run-id, the run folder to start again');
  if (runId !== undefined) checkRunId(runId);
  if (resume) {
    const file = await checkpointFile(resume, 'last');
    const kind = resumeKind(file);
    if (kind === 'continue') return refuseLocked(path.dirname(file));
    const parent = kind === 'fork' ? path.dirname(path.dirname(file)) : outDir; // where the new run goes
    if (runId !== undefined && fs.existsSync(path.join(parent, runId))) {
      throw new UsageError(`--run-id ${runId}: the run folder ${path.join(parent, runId)} already exists; choose another --run-id for the run started from ${file}`);
    }
    await checkFolderCanBeMade(parent);
    return;
  }
  if (runId !== undefined && fs.existsSync(path.join(outDir, runId))) {
    const dir = path.join(outDir, runId);
    if (!bool(o, 'overwrite')) {
      throw new UsageError(`--run-id ${runId}: the run folder ${dir} already exists; give --resume ${dir} to continue it, --overwrite to start it again from scratch, or another --run-id`);
    }
    await refuseLocked(dir);
  }
  await checkFolderCanBeMade(outDir);
}

async function refuseLocked(dir: string): Promise<void> {
  const holder = await liveLockHolder(dir);
  if (holder) throw new RunFolderError(lockedMessage(dir, holder), 'locked');
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s - m * 60)} s` : `${s.toFixed(1)} s`;
}

const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint on a folder or file (nats/char, bits/char, perplexity)',
  usage: 'lstm-lab eval CHECKPOINT PATH [--dynamic [--dyn-segment N --dyn-lr X --dyn-decay X]] [--json]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: [{ name: 'max-chars', type: 'int', help: 'evaluate at most this many characters (0 = all)', default: 0, min: 0 }, ...DYNAMIC_EVAL_OPTIONS, BACKEND, JSON_OPT],
  async run(pos, o) {
    const info = await initBackend(str(o, 'backend') as BackendPreference);
    const ckpt = await loadNoted(pos.checkpoint!);
    const corpus = await readCorpus(pos.path!, { validationFraction: 0 });
    const text = corpus.files.map((f) => (f.text.endsWith('\n') ? f.text : f.text + '\n')).join('');
    const ids = ckpt.vocabulary.encode(text);
    const model = new CharRnn(ckpt.header.model, ckpt.params);
    const t0 = Date.now();
    const maxChars = num(o, 'max-chars');
    const ev = await evaluateIds(model, ids, { maxChars });
    const seconds = (Date.now() - t0) / 1000;
    const dynamic = bool(o, 'dynamic') ? await dynamicEvalFigures(ckpt, maxChars ? ids.subarray(0, maxChars + 1) : ids, o) : undefined;
    const result = {
      ...ev,
      ...(dynamic ? { dynamic } : {}),
      files: corpus.files.length,
      vocabularyCoverage: ckpt.vocabulary.coverage(text),
      checkpoint: ckpt.path,
      backend: info.name,
      seconds,
    };
    if (bool(o, 'json')) out(JSON.stringify(result));
    else {
      out(`${ev.natsPerChar.toFixed(4)} nats/char  ${ev.bitsPerChar.toFixed(4)} bits/char  perplexity ${ev.perplexity.toFixed(3)}`);
      out(`${ev.chars.toLocaleString('en-US')} characters in ${corpus.files.length} file(s); vocabulary covers ${(result.vocabularyCoverage * 100).toFixed(2)} %; backend ${info.description}`);
      if (dynamic) {
        out(`dynamic evaluation: ${dynamic.natsPerChar.toFixed(4)} nats/char, against ${dynamic.staticNatsPerChar.toFixed(4)} for the same batch-1 stream unadapted (${dynamic.gain.toFixed(4)} less)`);
        out(`  segment ${dynamic.segment}, η ${dynamic.lr}, λ ${dynamic.decay}, ε ${dynamic.epsilon}; gradient statistics of ${dynamic.statistics.chars.toLocaleString('en-US')} training characters ${dynamic.statistics.reused ? 'read from' : 'written to'} ${dynamic.statistics.file}`);
      }
    }
    return 0;
  },
};

const sampleCommand: Command = {
  name: 'sample',
  summary: 'generate text from a checkpoint',
  usage: 'lstm-lab sample CHECKPOINT [--prime TEXT] [--length N] [--temperature X] [--top-k N] [--seed N]',
  positionals: [{ name: 'checkpoint', required: true }],
  options: [
    { name: 'prime', type: 'string', help: 'text to start from', default: '' },
    { name: 'length', type: 'int', help: 'characters to generate', default: 1000, min: 0 },
    { name: 'temperature', type: 'number', help: 'softmax temperature (0 = argmax)', default: 1, min: 0 },
    { name: 'top-k', type: 'int', help: 'sample among the k most likely characters (0 = all)', default: 0, min: 0 },
    { name: 'argmax', type: 'bool', help: 'always take the most likely character (same as --temperature 0)' },
    { name: 'seed', type: 'int', help: 'random seed', default: 1 },
    BACKEND,
  ],
  async run(pos, o) {
    const { inference } = await loadModel(pos.checkpoint!, str(o, 'backend')!);
    const prime = str(o, 'prime')!;
    process.stdout.write(prime);
    let buf = '';
    for (const ch of sampleStream(inference, {
      length: num(o, 'length')!,
      temperature: bool(o, 'argmax') ? 0 : num(o, 'temperature')!,
      topK: num(o, 'top-k'),
      prime,
      seed: num(o, 'seed'),
    })) {
      buf += ch;
      if (buf.length >= 64 || ch === '\n') {
        process.stdout.write(buf);
        buf = '';
      }
    }
    process.stdout.write(buf + '\n');
    return 0;
  },
};

/** Characters `trace` reads from a file unless --max-chars says otherwise. */
const TRACE_MAX_CHARS = 100_000;
/** Memory one traced chunk may take; longer texts are traced chunk by chunk, the state carried on. */
const TRACE_CHUNK_BYTES = 32 * 1024 * 1024;

const traceCommand: Command = {
  name: 'trace',
  summary: 'cell states, hidden units and gates per character of a file',
  usage: 'lstm-lab trace CHECKPOINT FILE [--layer N] [--cell N] [--max-chars N] [--json]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'file', required: true }],
  options: [
    { name: 'layer', type: 'int', help: 'layer to show (1-based)', default: 1, min: 1 },
    { name: 'cell', type: 'int', help: 'cell to colour by (default: the one with the largest variance)', min: 0 },
    { name: 'show', type: 'string', help: 'what to colour by', default: 'tanh(c)', choices: [...ALL_QUANTITIES] },
    { name: 'top-k', type: 'int', help: 'next-character predictions kept per position', default: 5, min: 1 },
    { name: 'max-chars', type: 'int', help: 'trace at most the first N characters of FILE, saying so when it is longer (0 = all of it)', default: TRACE_MAX_CHARS, min: 0 },
    BACKEND,
    JSON_OPT,
  ],
  async run(pos, o) {
    const { inference } = await loadModel(pos.checkpoint!, str(o, 'backend')!);
    const maxChars = num(o, 'max-chars')!;
    const { symbols, truncated } = readTraceText(pos.file!, maxChars);
    if (truncated) process.stderr.write(`note: ${pos.file} is longer than ${maxChars.toLocaleString('en-US')} characters: tracing its first ${maxChars.toLocaleString('en-US')} (give a larger --max-chars, or 0 for all of it).\n`);
    const { kind, layers: L, hidden: H } = inference.config;
    const topK = num(o, 'top-k')!;
    const chunk = traceChunkLength(inference.config);
    if (bool(o, 'json')) {
      const round = (a: Float32Array, t: number) => Array.from(a.subarray(t * H, t * H + H), (v) => Math.round(v * 1e4) / 1e4);
      let first = true;
      traceInChunks(inference, symbols, topK, chunk, (trace, start, secs) => {
        // The timing is that of the first chunk (all of a text of up to `timedChars` characters).
        if (first) out(JSON.stringify({ event: 'trace', kind: trace.kind, length: symbols.length, hidden: H, layers: trace.layers.length, kernel: inference.kernelName, seconds: secs, charsPerSec: trace.length / secs, timedChars: trace.length, truncated }));
        first = false;
        for (let t = 0; t < trace.length; t++) {
          out(JSON.stringify({
            t: start + t,
            char: trace.symbols[t],
            top: Array.from({ length: trace.top.k }, (_, j) => [trace.top.symbols[t * trace.top.k + j], Math.round(trace.top.probs[t * trace.top.k + j] * 1e4) / 1e4]),
            layers: trace.layers.map((l) => ({
              c: l.c ? round(l.c, t) : undefined,
              h: round(l.h, t),
              gates: Object.fromEntries(Object.entries(l.gates).map(([g, a]) => [g, round(a, t)])),
            })),
          }));
        }
      });
      if (first) out(JSON.stringify({ event: 'trace', kind, length: 0, hidden: H, layers: L, kernel: inference.kernelName, seconds: 0, charsPerSec: 0, timedChars: 0, truncated }));
      return 0;
    }
    const layer = num(o, 'layer')!;
    if (layer > L) throw new UsageError(`--layer must be from 1 to ${L}`);
    const show = str(o, 'show')!;
    if (!traceHas(kind, show)) throw new UsageError(`--show ${show} does not exist for a ${kind} model`);
    const pick = (trace: CellTrace) => {
      const lt = trace.layers[layer - 1];
      return show === 'tanh(c)' || show === 'c' ? lt.c! : show === 'h' ? lt.h : lt.gates[show];
    };
    let cell = num(o, 'cell');
    if (cell !== undefined && cell >= H) throw new UsageError(`--cell must be from 0 to ${H - 1}`);
    let only: { trace: CellTrace; seconds: number } | null = null; // a text of one chunk is traced once
    if (cell === undefined) {
      const moments = { n: 0, s: new Float64Array(H), s2: new Float64Array(H) };
      traceInChunks(inference, symbols, topK, chunk, (trace, _start, seconds) => {
        addMoments(moments, pick(trace), trace.length, H);
        if (trace.length === symbols.length) only = { trace, seconds };
      });
      cell = mostVariable(moments);
    }
    const values = new Float32Array(symbols.length);
    let secs = 0;
    const take = (trace: CellTrace, start: number, s: number) => {
      const source = pick(trace);
      for (let t = 0; t < trace.length; t++) values[start + t] = show === 'tanh(c)' ? Math.tanh(source[t * H + cell!]) : source[t * H + cell!];
      secs += s;
    };
    const once = only as { trace: CellTrace; seconds: number } | null;
    if (once) take(once.trace, 0, once.seconds);
    else traceInChunks(inference, symbols, topK, chunk, take);
    const timing = secs > 0 ? ` in ${secs.toFixed(3)} s (${Math.round(symbols.length / secs).toLocaleString('en-US')} chars/s, ${inference.kernelName} kernels)` : ` (${inference.kernelName} kernels)`;
    out(`# ${symbols.length} characters traced${timing}${truncated ? ` (the first ${maxChars.toLocaleString('en-US')} of the file)` : ''}; layer ${layer}, cell ${cell}, ${show}: blue −1 … red +1`);
    process.stdout.write(colourise(symbols, values) + '\n');
    return 0;
  },
};

/**
 * The first `maxChars` code points of a file (0: all), reading no more of it than they can take
 * (4 bytes each at most), and whether the file holds more.
 */
function readTraceText(file: string, maxChars: number): { symbols: string[]; truncated: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new Error(`Cannot read ${file}.`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const want = maxChars > 0 ? Math.min(size, maxChars * 4) : size;
    const bytes = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(fd, bytes, got, want - got, got);
      if (n === 0) break;
      got += n;
    }
    const symbols = Array.from(bytes.toString('utf8', 0, got));
    const truncated = maxChars > 0 && (symbols.length > maxChars || got < size);
    return { symbols: truncated ? symbols.slice(0, maxChars) : symbols, truncated };
  } catch (e) {
    throw new Error(`Cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Characters per traced chunk, so that one chunk's activations stay within TRACE_CHUNK_BYTES. */
function traceChunkLength(cfg: { layers: number; hidden: number; vocabSize: number; kind: string }): number {
  const gates = gatesOf(cfg.kind).length;
  const perChar = 4 * (cfg.layers * cfg.hidden * (2 + 2 * gates) + cfg.vocabSize);
  return Math.max(64, Math.min(65_536, Math.floor(TRACE_CHUNK_BYTES / perChar)));
}

/** Trace `symbols` chunk by chunk, the state carried from one to the next, handing each chunk on with its seconds. */
function traceInChunks(inference: InferenceModel, symbols: string[], topK: number, chunk: number, each: (trace: CellTrace, start: number, seconds: number) => void): void {
  let state = inference.zeroState();
  for (let start = 0; start < symbols.length; start += chunk) {
    const t0 = process.hrtime.bigint();
    const trace = traceText(inference, symbols.slice(start, start + chunk).join(''), { topK, state });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    state = trace.state;
    each(trace, start, secs);
  }
}

/** Whether a model of this kind records what --show names. */
function traceHas(kind: CellKind, show: string): boolean {
  return (QUANTITIES[kind] as readonly string[]).includes(show);
}

/** Per-cell sums of tanh(v) and tanh(v)² over a text, added chunk by chunk. */
function addMoments(m: { n: number; s: Float64Array; s2: Float64Array }, a: Float32Array, N: number, H: number): void {
  for (let t = 0; t < N; t++) {
    for (let j = 0; j < H; j++) {
      const v = Math.tanh(a[t * H + j]);
      m.s[j] += v;
      m.s2[j] += v * v;
    }
  }
  m.n += N;
}

/** The cell whose tanh(value) varies most over the text. */
function mostVariable(m: { n: number; s: Float64Array; s2: Float64Array }): number {
  let best = 0, bestVar = -1;
  const n = Math.max(1, m.n);
  for (let j = 0; j < m.s.length; j++) {
    const variance = m.s2[j] / n - (m.s[j] / n) ** 2;
    if (variance > bestVar) {
      bestVar = variance;
      best = j;
    }
  }
  return best;
}

/** ANSI 24-bit background colours on a diverging blue–white–red scale. */
function colourise(symbols: string[], values: Float32Array): string {
  if (!process.stdout.isTTY && !process.env.FORCE_COLOR) {
    return symbols.map((s, t) => (s === '\n' ? '\n' : `${s}`)).join('') + `\n# (not a terminal: colours omitted; use --json for the values)`;
  }
  let outText = '';
  for (let t = 0; t < symbols.length; t++) {
    const v = Math.max(-1, Math.min(1, values[t]));
    const [r, g, b] = v >= 0 ? [255, Math.round(255 * (1 - v)), Math.round(255 * (1 - v))] : [Math.round(255 * (1 + v)), Math.round(255 * (1 + v)), 255];
    const s = symbols[t];
    outText += s === '\n' ? '\x1b[0m\n' : `\x1b[48;2;${r};${g};${b}m\x1b[38;2;0;0;0m${s}`;
  }
  return outText + '\x1b[0m';
}

const benchCommand: Command = {
  name: 'bench',
  summary: 'training and inference speed against PyTorch, measured in the same run',
  usage: 'lstm-lab bench [--config A|B|all] [--json]',
  positionals: [],
  options: [
    { name: 'config', type: 'string', help: 'A = 2×128, B = 3×512 (sequence 64, batch 32)', default: 'all', choices: ['A', 'B', 'all'] },
    { name: 'seconds', type: 'number', help: 'measured seconds per engine and config per round', default: 20 },
    { name: 'rounds', type: 'int', help: 'alternating rounds (ours, peer, ours, peer…)', default: 2 },
    { name: 'text', type: 'string', help: 'training text (default: ../shared/corpora/linux-mm if present, else LSTM Lab\'s sources)' },
    { name: 'no-peer', type: 'bool', help: 'do not run the PyTorch peer' },
    { name: 'out', type: 'string', help: 'write the figures as JSON here', default: 'bench/results/latest.json' },
    BACKEND,
    JSON_OPT,
  ],
  async run(_pos, o) {
    return runBench({
      config: str(o, 'config') as 'A' | 'B' | 'all',
      seconds: num(o, 'seconds')!,
      rounds: num(o, 'rounds')!,
      text: str(o, 'text'),
      peer: !bool(o, 'no-peer'),
      out: str(o, 'out')!,
      backend: str(o, 'backend') as BackendPreference,
      json: bool(o, 'json'),
      packageRoot: PACKAGE_ROOT,
    });
  },
};

const cellsCommand: Command = {
  name: 'cells',
  summary: 'rank every cell by how well it tracks concepts (strings, comments, if conditions, depth, indentation, line position)',
  usage: 'lstm-lab cells CHECKPOINT PATH [--top N] [--json]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: [
    { name: 'top', type: 'int', help: 'best cells shown per concept', default: 5, min: 1 },
    { name: 'max-chars', type: 'int', help: 'analyse at most this many characters', default: 200_000, min: 1 },
    { name: 'quantity', type: 'string', help: 'comma-separated activations to rank: tanh(c), c, h or a gate (default tanh(c) for LSTM, h otherwise)' },
    { name: 'concept', type: 'string', help: 'extra concept from a regular expression, as ID=PATTERN (repeatable with commas is not supported; one per run)' },
    BACKEND,
    JSON_OPT,
  ],
  async run(pos, o) {
    const { inference, ckpt } = await loadModel(pos.checkpoint!, str(o, 'backend')!);
    const corpus = await readCorpus(pos.path!, { validationFraction: 0 });
    const extraSpec = str(o, 'concept');
    let extra;
    if (extraSpec) {
      const eq = extraSpec.indexOf('=');
      if (eq <= 0) throw new UsageError('--concept must look like ID=PATTERN');
      extra = [{ id: extraSpec.slice(0, eq), pattern: extraSpec.slice(eq + 1) }];
    }
    const t0 = Date.now();
    const d = await discoverCells(inference, corpus.files, {
      top: num(o, 'top'),
      maxChars: num(o, 'max-chars'),
      quantities: str(o, 'quantity')?.split(',').map((q) => q.trim()),
      extra,
    });
    if (bool(o, 'json')) {
      out(JSON.stringify({ event: 'cells', checkpoint: ckpt.path, files: d.files, chars: d.chars, labellers: d.labellers, seconds: (Date.now() - t0) / 1000, concepts: d.rankings }));
      return 0;
    }
    out(`${d.chars.toLocaleString('en-US')} characters in ${d.files} file(s) (labelled by ${Object.entries(d.labellers).map(([k, v]) => `${k}: ${v}`).join(', ')})`);
    for (const r of d.rankings) {
      const head = `${r.title} (${r.concept}, ${r.scoreKind === 'auc' ? 'AUC' : '|correlation|'}${r.positives !== undefined ? `, ${r.positives} of ${r.positions} positions` : ''})`;
      out(head);
      if (r.skipped) {
        out(`  no ranking: ${r.skipped}`);
        continue;
      }
      for (const c of r.cells) out(`  layer ${c.layer} cell ${String(c.cell).padStart(4)} ${c.quantity.padEnd(8)} ${c.score.toFixed(3)}  ${c.direction > 0 ? 'on (+)' : 'on (−)'}`);
    }
    return 0;
  },
};

const exportCommand: Command = {
  name: 'export',
  summary: 'export a checkpoint as a standard TF.js Layers model (model.json + weights.bin + vocabulary.json)',
  usage: 'lstm-lab export CHECKPOINT DIR',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'dir', required: true }],
  options: [BACKEND],
  async run(pos, o) {
    await initBackend(str(o, 'backend') as BackendPreference);
    const r = await exportLayersModel(pos.checkpoint!, pos.dir!);
    out(`wrote ${r.modelJson}, ${r.weightsFile} and ${r.vocabularyFile}; load with tf.loadLayersModel (see vocabulary.json "usage")`);
    return 0;
  },
};

export const COMMANDS: Command[] = [trainCommand, evalCommand, sampleCommand, traceCommand, cellsCommand, cellsOverTimeCommand, completeEvalCommand, exportCommand, benchCommand, mixtureCommand, gradientsCommand, errorsCommand, bracketsCommand, compareCommand];
